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

mod base;
mod flows;
mod model;

// The paths other crates use.
pub use base::{crypto_threads, passwords};

pub use flows::oauth;
pub use model::{audit, directory, domains, keys, messages, resource_servers, senders, tokens, triggers, ui, users};

pub use base::caller::{Action, Caller, Principal};
pub use base::clock::{Clock, ManualClock, SystemClock};
pub use base::error::{Cause, Error, Fault, Result};

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
    keys: model::tokens::KeyCache,
    verified: model::tokens::VerifiedCache,
    invoker: Arc<dyn model::triggers::Invoker>,
    email: Option<Arc<dyn model::messages::EmailSender>>,
    sms: Option<Arc<dyn model::messages::SmsSender>>,
    login_site: model::domains::LoginSite,
    hosts: model::domains::HostCache,
    extensions: flows::oauth::Extensions,
    hashing: base::passwords::Hashing,
}

impl Idp {
    pub fn new(store: Store, key: MasterKey, clock: Arc<dyn Clock>, account_id: String, issuer: Issuer) -> Self {
        let public_url = match &issuer {
            Issuer::PublicUrl(u) | Issuer::Cognito(u) => u.clone(),
        };
        Idp {
            login_site: model::domains::LoginSite::of_public_url(&public_url, "localhost"),
            hosts: model::domains::HostCache::default(),
            extensions: flows::oauth::Extensions::default(),
            hashing: base::passwords::Hashing::default(),
            store,
            key,
            clock,
            account_id,
            issuer,
            keys: model::tokens::KeyCache::default(),
            verified: model::tokens::VerifiedCache::default(),
            invoker: Arc::new(model::triggers::NoInvoker),
            email: None,
            sms: None,
        }
    }

    /// Delivers email through `sender` (an SMTP relay) instead of the outbox.
    pub fn with_email_sender(mut self, sender: Arc<dyn model::messages::EmailSender>) -> Self {
        self.email = Some(sender);
        self
    }

    /// Delivers SMS through `sender` instead of the outbox.
    pub fn with_sms_sender(mut self, sender: Arc<dyn model::messages::SmsSender>) -> Self {
        self.sms = Some(sender);
        self
    }

    /// Serves prefix domains at `{prefix}.auth.{region}.{base}` (default
    /// `localhost`), with the scheme and port of the public URL.
    pub fn with_login_base(mut self, base: &str) -> Self {
        self.login_site.base = base.trim_matches('.').to_ascii_lowercase();
        self
    }

    /// The OAuth extensions the operator turned on.
    pub fn oauth_extensions(&self) -> flows::oauth::Extensions {
        self.extensions
    }

    /// Hashes new passwords with `hashing` instead of OWASP's argon2id
    /// setting (stored hashes keep theirs).
    pub fn with_password_hashing(mut self, hashing: base::passwords::Hashing) -> Self {
        self.hashing = hashing;
        self
    }

    /// Turns on OAuth features Cognito does not have (each off by default).
    pub fn with_oauth_extensions(mut self, extensions: flows::oauth::Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// Runs the pools' Lambda triggers with `invoker`.
    pub fn with_invoker(mut self, invoker: Arc<dyn model::triggers::Invoker>) -> Self {
        self.invoker = invoker;
        self
    }

    /// The store itself, for tests and the benchmark's dataset loader; the
    /// server and the command line go through the methods here.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether the database answers (`/ready`).
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Which database engine holds the data (`sqlite` or `postgres`).
    pub fn engine(&self) -> &'static str {
        self.store.engine()
    }

    /// Closes the database, at shutdown.
    pub async fn close(&self) {
        self.store.close().await
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

#[cfg(test)]
mod tests;
