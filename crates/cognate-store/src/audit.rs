//! The audit log (who did what, from where, with what outcome) and users'
//! authentication events (what AdminListUserAuthEvents reports).

use crate::{Arg, FromRow, Result, Store, UserKey, execute, fetch_all, q, transaction};
use Arg::{Int, OptText, Text};
use sqlx::Row as _;
use sqlx::{postgres::PgRow, sqlite::SqliteRow};

/// Rows per audit INSERT: a few fixed sizes, so that the prepared
/// statements stay few.
const AUDIT_CHUNKS: [usize; 4] = [64, 16, 4, 1];

/// The largest chunk size that fits `n` rows, and its INSERT statement.
fn audit_insert_for(n: usize) -> (usize, &'static str) {
    static SQL: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        AUDIT_CHUNKS
            .iter()
            .map(|&size| {
                let values: Vec<String> = (0..size)
                    .map(|row| {
                        let params: Vec<String> = (1..=10).map(|col| format!("${}", row * 10 + col)).collect();
                        format!("({})", params.join(", "))
                    })
                    .collect();
                format!(
                    "INSERT INTO audit_log (id, at, caller, operation, pool_id, client_id, target, outcome, source, \
                     request_id) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    let i = AUDIT_CHUNKS.iter().position(|&size| size <= n).unwrap_or(AUDIT_CHUNKS.len() - 1);
    (AUDIT_CHUNKS[i], SQL[i].as_str())
}

row_struct! {
    /// One audited call. No secret ever goes in here: the caller is an
    /// access key id or a username, the target a username or client id.
    pub struct AuditRow {
        pub id: String,
        pub at: i64,
        pub caller: String,
        pub operation: String,
        pub pool_id: String,
        pub client_id: String,
        pub target: String,
        pub outcome: String,
        pub source: String,
        pub request_id: String,
    }
}

/// Which audit rows to read. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub pool_id: Option<String>,
    pub operation: Option<String>,
    pub caller: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
    /// Rows at or after this time (ms).
    pub since: Option<i64>,
    /// Rows strictly after this (at, id), for following the log.
    pub after: Option<(i64, String)>,
}

row_struct! {
    /// One authentication event of a user. `challenges` is a JSON array of
    /// `{ChallengeName, ChallengeResponse}`.
    pub struct AuthEventRow {
        pub id: String,
        pub pool_id: String,
        pub username_key: String,
        pub event_type: String,
        pub response: String,
        pub challenges: String,
        pub ip: String,
        pub created_at: i64,
    }
}

impl Store {
    /// Appends audit rows in one transaction, several rows per statement
    /// (each statement is a round trip to the database's thread or server).
    pub async fn insert_audit(&self, rows: &[AuditRow]) -> Result<()> {
        let mut stmts = Vec::new();
        let mut rest = rows;
        while !rest.is_empty() {
            let (size, sql) = audit_insert_for(rest.len());
            let (chunk, after) = rest.split_at(size);
            let args = chunk
                .iter()
                .flat_map(|r| {
                    [
                        Text(&r.id),
                        Int(r.at),
                        Text(&r.caller),
                        Text(&r.operation),
                        Text(&r.pool_id),
                        Text(&r.client_id),
                        Text(&r.target),
                        Text(&r.outcome),
                        Text(&r.source),
                        Text(&r.request_id),
                    ]
                })
                .collect();
            stmts.push(q(sql, args));
            rest = after;
        }
        transaction(self, stmts, None).await.map(|_| ())
    }

    /// Audit rows matching `f`, oldest first, at most `limit`.
    pub async fn list_audit(&self, f: &AuditFilter, limit: i64) -> Result<Vec<AuditRow>> {
        let (after_at, after_id) = match &f.after {
            Some((at, id)) => (Some(*at), Some(id.as_str())),
            None => (None, None),
        };
        fetch_all(
            self,
            q(
                "SELECT id, at, caller, operation, pool_id, client_id, target, outcome, source, request_id FROM audit_log \
                 WHERE ($1 IS NULL OR pool_id = $1) AND ($2 IS NULL OR operation = $2) AND ($3 IS NULL OR caller = $3) \
                 AND ($4 IS NULL OR target = $4) AND ($5 IS NULL OR outcome = $5) AND at >= $6 \
                 AND ($7 IS NULL OR at > $8 OR (at = $8 AND id > $7)) ORDER BY at, id LIMIT $9 + 0",
                vec![
                    OptText(f.pool_id.as_deref()),
                    OptText(f.operation.as_deref()),
                    OptText(f.caller.as_deref()),
                    OptText(f.target.as_deref()),
                    OptText(f.outcome.as_deref()),
                    Int(f.since.unwrap_or(0)),
                    OptText(after_id),
                    Int(after_at.unwrap_or(0)),
                    Int(limit),
                ],
            ),
        )
        .await
    }

    /// Deletes audit rows older than `before` (ms); returns how many.
    pub async fn delete_audit_before(&self, before: i64) -> Result<u64> {
        execute(self, q("DELETE FROM audit_log WHERE at < $1", vec![Int(before)])).await
    }

    pub async fn insert_auth_event(&self, e: &AuthEventRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO user_auth_events (id, pool_id, username_key, event_type, response, challenges, ip, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    Text(&e.id),
                    Text(&e.pool_id),
                    Text(&e.username_key),
                    Text(&e.event_type),
                    Text(&e.response),
                    Text(&e.challenges),
                    Text(&e.ip),
                    Int(e.created_at),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A user's events, newest first, before `before` = (created_at, id).
    pub async fn list_auth_events(
        &self,
        user: UserKey<'_>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<AuthEventRow>> {
        let UserKey { pool_id, username_key } = user;
        let (at, id) = match before {
            Some((at, id)) => (at, Some(id)),
            None => (0, None),
        };
        fetch_all(
            self,
            q(
                "SELECT id, pool_id, username_key, event_type, response, challenges, ip, created_at FROM user_auth_events \
                 WHERE pool_id = $1 AND username_key = $2 AND ($3 IS NULL OR created_at < $4 OR (created_at = $4 AND id < $3)) \
                 ORDER BY created_at DESC, id DESC LIMIT $5 + 0",
                vec![Text(pool_id), Text(username_key), OptText(id), Int(at), Int(limit)],
            ),
        )
        .await
    }
}
