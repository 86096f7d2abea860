//! User pools: the Cognito identity-provider domain.
//!
//! This crate decides what Cognito would decide: defaults, validation beyond
//! the model's bounds, identifiers, the shape of every answer. It takes wire
//! requests (already checked against the model by `cognate-wire`) and returns
//! wire responses or an [`Error`] that names the Cognito error. It knows no
//! HTTP and no SQL: rows go to and come from `cognate-store`, and the current
//! time comes from a [`Clock`] so that expiry is tested with a moved clock.
//!
//! Configuration documents (a pool's or a client's settings) are stored as the
//! JSON of their wire type, already normalised with Cognito's defaults, so
//! every field the model has round-trips without a column of its own.

mod account;
mod admin;
mod auth;
mod clients;
mod clock;
pub mod crypto_threads;
mod custom_auth;
mod devices;
pub mod directory;
mod error;
pub mod keys;
pub mod messages;
mod mfa;
pub mod passwords;
mod pools;
mod schema;
pub mod senders;
pub mod smtp;
pub mod tokens;
pub mod triggers;
mod unknown;
pub mod users;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Result};

use cognate_crypto::seal::MasterKey;
use cognate_store::Store;
use std::sync::Arc;

/// How token issuers are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issuer {
    /// `{base}/{poolId}`, where base is Cognate's public URL.
    PublicUrl(String),
    /// `https://cognito-idp.{region}.amazonaws.com/{poolId}`, for code that
    /// hard-codes Cognito's issuer; the keys are still served by Cognate, at
    /// this public URL.
    Cognito(String),
}

/// The user-pool service: one per process, shared by every request.
#[derive(Debug, Clone)]
pub struct Idp {
    store: Store,
    key: MasterKey,
    clock: Arc<dyn Clock>,
    account_id: String,
    issuer: Issuer,
    keys: tokens::KeyCache,
    verified: tokens::VerifiedCache,
    invoker: Arc<dyn triggers::Invoker>,
    smtp: Option<smtp::SmtpConfig>,
    sms: Option<Arc<dyn messages::SmsSender>>,
}

impl Idp {
    pub fn new(store: Store, key: MasterKey, clock: Arc<dyn Clock>, account_id: String, issuer: Issuer) -> Self {
        Idp {
            store,
            key,
            clock,
            account_id,
            issuer,
            keys: tokens::KeyCache::default(),
            verified: tokens::VerifiedCache::default(),
            invoker: Arc::new(triggers::NoInvoker),
            smtp: None,
            sms: None,
        }
    }

    /// Delivers email through this SMTP relay instead of the outbox.
    pub fn with_smtp(mut self, smtp: smtp::SmtpConfig) -> Self {
        self.smtp = Some(smtp);
        self
    }

    /// Delivers SMS through `sender` instead of the outbox.
    pub fn with_sms_sender(mut self, sender: Arc<dyn messages::SmsSender>) -> Self {
        self.sms = Some(sender);
        self
    }

    /// Runs the pools' Lambda triggers with `invoker`.
    pub fn with_invoker(mut self, invoker: Arc<dyn triggers::Invoker>) -> Self {
        self.invoker = invoker;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The service's clock, in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// `arn:aws:cognito-idp:{region}:{account}:userpool/{id}`.
    pub fn pool_arn(&self, region: &str, pool_id: &str) -> String {
        format!("arn:aws:cognito-idp:{region}:{}:userpool/{pool_id}", self.account_id)
    }
}

/// Opaque pagination tokens: the last key of the page, base64url.
pub(crate) mod token {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(last_key: &str) -> String {
        URL_SAFE_NO_PAD.encode(last_key.as_bytes())
    }

    pub fn decode(token: Option<&str>) -> crate::Result<Option<String>> {
        let Some(t) = token else { return Ok(None) };
        URL_SAFE_NO_PAD
            .decode(t.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| crate::Error::InvalidParameter("Invalid pagination token.".into()))
    }
}

#[cfg(test)]
mod tests;
