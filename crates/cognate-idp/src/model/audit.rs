//! The audit log writer: one background task writes the records of calls
//! and trigger invocations in batches (one transaction per batch), so a burst
//! of calls costs one database write per batch rather than one per call (the
//! writer waits up to 2 ms after a first record for more to join it). The
//! queue is bounded: when the database falls behind, callers wait for room
//! rather than records being dropped. `flush` waits until everything queued
//! before it is written; shutdown flushes. What a record names is decided by
//! whoever records it (the HTTP edge, the trigger invokers); records hold
//! names only, never a password, code, token or secret.

use crate::Idp;
use cognate_store::{AuditFilter, AuditRow, Store};
use tokio::sync::{mpsc, oneshot};

const QUEUE: usize = 4096;
const BATCH: usize = 256;
/// How long the writer waits for more records before writing a batch.
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);

enum Item {
    Row(Box<AuditRow>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone)]
pub struct Auditor {
    tx: mpsc::Sender<Item>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Item::Row(_) => "Row",
            Item::Flush(_) => "Flush",
        })
    }
}

impl Auditor {
    /// Starts the writer task on the current runtime.
    fn start(store: Store) -> Auditor {
        let (tx, mut rx) = mpsc::channel::<Item>(QUEUE);
        tokio::spawn(async move {
            let mut rows: Vec<AuditRow> = Vec::with_capacity(BATCH);
            // Public calls name a client, not a pool: the writer fills the
            // pool in, remembering what it looked up.
            let mut pools: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
            while let Some(first) = rx.recv().await {
                let mut next = Some(first);
                let mut gather_until = None;
                while let Some(item) = next.take() {
                    match item {
                        Item::Row(r) => rows.push(*r),
                        Item::Flush(done) => waiting.push(done),
                    }
                    if rows.len() < BATCH {
                        next = rx.try_recv().ok();
                    }
                    // Under load, calls arrive a little apart: waiting a
                    // moment for them makes one transaction of several
                    // records. A flush is never kept waiting.
                    if next.is_none() && rows.len() < BATCH && waiting.is_empty() {
                        let gather = gather_until.get_or_insert_with(|| tokio::time::Instant::now() + GATHER);
                        next = tokio::time::timeout_at(*gather, rx.recv()).await.ok().flatten();
                    }
                }
                for r in rows.iter_mut().filter(|r| r.pool_id.is_empty() && !r.client_id.is_empty()) {
                    if !pools.contains_key(&r.client_id) {
                        if pools.len() > 10_000 {
                            pools.clear();
                        }
                        if let Ok(Some(c)) = store.get_client_by_id(&r.client_id).await {
                            pools.insert(r.client_id.clone(), c.pool_id);
                        }
                    }
                    r.pool_id = pools.get(&r.client_id).cloned().unwrap_or_default();
                }
                if !rows.is_empty() {
                    if let Err(e) = store.insert_audit(&rows).await {
                        tracing::error!(error = %e, records = rows.len(), "audit records could not be written");
                    }
                    rows.clear();
                }
                for done in waiting.drain(..) {
                    let _ = done.send(());
                }
            }
        });
        Auditor { tx }
    }

    pub async fn record(&self, row: AuditRow) {
        if self.tx.send(Item::Row(Box::new(row))).await.is_err() {
            tracing::error!("audit writer has stopped; a record was lost");
        }
    }

    /// Waits until every record queued before this call is written.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Item::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

impl Idp {
    /// Starts the audit log writer (on the current runtime).
    pub fn start_auditor(&self) -> Auditor {
        Auditor::start(self.store.clone())
    }

    /// Audit records matching `filter`, oldest first, at most `limit`.
    pub async fn audit_records(&self, filter: &AuditFilter, limit: i64) -> crate::Result<Vec<AuditRow>> {
        Ok(self.store.list_audit(filter, limit).await?)
    }

    /// Deletes the records older than `before` (ms); returns how many.
    pub async fn delete_audit_before(&self, before: i64) -> crate::Result<u64> {
        Ok(self.store.delete_audit_before(before).await?)
    }
}
