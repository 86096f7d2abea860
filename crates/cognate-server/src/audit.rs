//! The audit log writer: every admin call and every authentication call is
//! recorded with time, caller, operation, pool, target, outcome and source.
//!
//! Records are written by one background task in batches (one transaction
//! per batch), so a burst of calls costs one database write per batch rather
//! than one per call. The queue is bounded: when the database falls behind,
//! callers wait for room rather than records being dropped. `flush` waits
//! until everything queued before it is written; shutdown flushes.
//!
//! Only names go in a record (access key ids, usernames, client ids, group
//! names), never a password, code, token or secret.

use cognate_store::{AuditRow, Store};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Public operations that are authentication events; every SigV4 operation is
/// audited as well.
const AUDITED_PUBLIC: &[&str] = &[
    "SignUp",
    "ConfirmSignUp",
    "ResendConfirmationCode",
    "InitiateAuth",
    "RespondToAuthChallenge",
    "ForgotPassword",
    "ConfirmForgotPassword",
    "ChangePassword",
    "GlobalSignOut",
    "RevokeToken",
    "GetTokensFromRefreshToken",
    "DeleteUser",
    "UpdateUserAttributes",
    "DeleteUserAttributes",
    "VerifyUserAttribute",
    "GetUserAttributeVerificationCode",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "SetUserMFAPreference",
    "SetUserSettings",
    "ConfirmDevice",
    "ForgetDevice",
    "UpdateDeviceStatus",
];

const QUEUE: usize = 4096;
const BATCH: usize = 256;

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
    pub fn start(store: Store) -> Auditor {
        let (tx, mut rx) = mpsc::channel::<Item>(QUEUE);
        tokio::spawn(async move {
            let mut rows: Vec<AuditRow> = Vec::with_capacity(BATCH);
            // Public calls name a client, not a pool: the writer fills the
            // pool in, remembering what it looked up.
            let mut pools: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
            while let Some(first) = rx.recv().await {
                let mut next = Some(first);
                while let Some(item) = next.take() {
                    match item {
                        Item::Row(r) => rows.push(*r),
                        Item::Flush(done) => waiting.push(done),
                    }
                    if rows.len() < BATCH {
                        next = rx.try_recv().ok();
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

/// Whether a call to `operation` is audited.
pub fn audited(operation: &str, signed: bool) -> bool {
    signed || AUDITED_PUBLIC.contains(&operation)
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}

/// The username a call names, wherever the operation carries it.
fn named_user(input: &Value) -> Option<String> {
    text(input, &["Username"])
        .or_else(|| text(input, &["AuthParameters", "USERNAME"]))
        .or_else(|| text(input, &["ChallengeResponses", "USERNAME"]))
}

/// The pool and username an access token claims, read without verifying it:
/// used only for a call that succeeded, which means the token was verified.
fn token_identity(input: &Value) -> Option<(String, String)> {
    use base64::Engine as _;
    let token = text(input, &["AccessToken"])?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let pool = claims.get("iss")?.as_str()?.rsplit('/').next()?.to_string();
    let user = claims.get("username")?.as_str()?.to_string();
    Some((pool, user))
}

/// What a record says about a call, from its input; nothing secret is read.
#[derive(Debug)]
pub struct Subject {
    pub caller: String,
    pub pool_id: String,
    pub client_id: String,
    pub target: String,
}

/// `caller`: the verified access key id of a signed call (`unauthenticated`
/// when its signature was refused); for a public call `user:<name>` when the
/// call names or proves its user, else `client:<id>`, else `anonymous`.
/// `target`: the user (or group, or client) the call acts on.
pub fn subject(input: &Value, signed: bool, access_key: Option<&str>, succeeded: bool) -> Subject {
    let from_token = if succeeded { token_identity(input) } else { None };
    let user = named_user(input).or_else(|| from_token.as_ref().map(|(_, u)| u.clone()));
    let pool_id = text(input, &["UserPoolId"]).or_else(|| from_token.map(|(p, _)| p)).unwrap_or_default();
    let client = text(input, &["ClientId"]);
    let target = user
        .clone()
        .or_else(|| text(input, &["GroupName"]).map(|g| format!("group:{g}")))
        .or_else(|| client.clone().map(|c| format!("client:{c}")))
        .unwrap_or_default();
    let caller = match (signed, access_key, &user, &client) {
        (true, Some(k), _, _) => k.to_string(),
        (true, None, _, _) => "unauthenticated".to_string(),
        (false, _, Some(u), _) => format!("user:{u}"),
        (false, _, None, Some(c)) => format!("client:{c}"),
        (false, _, None, None) => "anonymous".to_string(),
    };
    Subject { caller, pool_id, client_id: client.unwrap_or_default(), target }
}

/// Trigger invocations are recorded here too (`cognate_outbound::lambda`).
impl cognate_outbound::AuditSink for Auditor {
    fn record(
        &self,
        row: cognate_store::AuditRow,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(Auditor::record(self, row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_name_users_never_secrets() {
        let s = subject(
            &json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c1",
                    "AuthParameters": {"USERNAME": "ann", "PASSWORD": "Secret-1"}}),
            false,
            None,
            false,
        );
        assert_eq!((s.caller.as_str(), s.pool_id.as_str(), s.target.as_str()), ("user:ann", "", "ann"));

        let s = subject(&json!({"UserPoolId": "us-east-1_x", "Username": "bob"}), true, Some("AKIA1"), true);
        assert_eq!((s.caller.as_str(), s.pool_id.as_str(), s.target.as_str()), ("AKIA1", "us-east-1_x", "bob"));

        let s = subject(&json!({"UserPoolId": "us-east-1_x", "GroupName": "admins"}), true, Some("AKIA1"), true);
        assert_eq!(s.target, "group:admins");
        // A refused signature never makes the named user the caller.
        let s = subject(&json!({"UserPoolId": "us-east-1_x", "Username": "bob"}), true, None, false);
        assert_eq!((s.caller.as_str(), s.target.as_str()), ("unauthenticated", "bob"));

        let s = subject(&json!({"Token": "opaque", "ClientId": "c1"}), false, None, true);
        assert_eq!((s.caller.as_str(), s.target.as_str()), ("client:c1", "client:c1"));

        // An access token names its user only when the call succeeded.
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"iss":"http://h/us-east-1_p","username":"cat"}"#,
        );
        let token = format!("e30.{payload}.sig");
        let s = subject(&json!({"AccessToken": token}), false, None, true);
        assert_eq!((s.caller.as_str(), s.pool_id.as_str(), s.target.as_str()), ("user:cat", "us-east-1_p", "cat"));
        let s = subject(&json!({"AccessToken": token}), false, None, false);
        assert_eq!(s.caller, "anonymous");
    }
}
