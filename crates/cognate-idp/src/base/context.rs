//! The request context: a public call's client and pool, and how the caller
//! proved it may act for that client; and reading the string parameters of
//! AuthParameters / ChallengeResponses.
//!
//! A client id alone proves nothing: resolving it gives a [`Client`], and
//! the flows need a [`ClientCtx`], which only this module makes, and only
//! by one of the ways a caller proves itself:
//!
//! * [`Client::prove_secret_hash`]: SECRET_HASH over the username (or any of
//!   the names the caller may have hashed), required exactly when the client
//!   has a secret;
//! * [`Client::prove_client_secret`]: the client secret itself
//!   (GetTokensFromRefreshToken, RevokeToken);
//! * [`Client::issued`]: the client is named by a credential Cognate issued
//!   and checked (a signed access token, a sealed Session);
//! * [`Client::for_hosted_pages`]: the hosted sign-in pages, for a request
//!   that /oauth2/authorize accepted (the secret is proven when the code is
//!   redeemed);
//! * [`ClientCtx::admin`]: a SigV4-signed admin call, which acts for the pool
//!   without a client.
//!
//! So a flow cannot forget the secret check: it has to choose one of these
//! by name.

use crate::{Error, Result};
use cognate_store::{ClientRow, PoolRow};
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// A public call's client and pool, resolved from the client id; nothing
/// about the caller is proven yet.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    pub pool_row: PoolRow,
    pub pool: UserPoolType,
    pub row: ClientRow,
    pub client: UserPoolClientType,
    /// The call's ClientMetadata, for the triggers it runs.
    pub metadata: BTreeMap<String, String>,
}

/// A client the caller has proven it may act for (see the module doc). It
/// reads as the [`Client`] it wraps.
#[derive(Debug, Clone)]
pub(crate) struct ClientCtx {
    resolved: Client,
}

impl std::ops::Deref for ClientCtx {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.resolved
    }
}

impl Client {
    /// The client with the call's ClientMetadata (absent: none).
    pub fn with_metadata(mut self, metadata: &Option<BTreeMap<String, String>>) -> Client {
        self.metadata = metadata.clone().unwrap_or_default();
        self
    }

    /// `SECRET_HASH = Base64(HMAC-SHA256(client secret, username + client
    /// id))`, required exactly when the client has `secrets`; any current
    /// secret (rotation) and any of `names` (a refresh may be hashed over
    /// the username or the sub) is accepted.
    pub fn prove_secret_hash(self, secrets: &[String], names: &[&str], given: Option<&str>) -> Result<ClientCtx> {
        if secrets.is_empty() {
            return Ok(ClientCtx { resolved: self });
        }
        let id = &self.row.id;
        let Some(given) = given else {
            return Err(Error::NotAuthorized(format!(
                "Client {id} is configured for secret but secret was not received"
            )));
        };
        use base64::Engine as _;
        let given = base64::engine::general_purpose::STANDARD.decode(given.trim()).unwrap_or_default();
        let mut ok = false;
        for name in names {
            let msg = format!("{name}{id}");
            for secret in secrets {
                ok |= cognate_crypto::ct_eq(&cognate_crypto::hmac_sha256(secret.as_bytes(), msg.as_bytes()), &given);
            }
        }
        if !ok {
            return Err(Error::NotAuthorized(format!("Unable to verify secret hash for client {id}")));
        }
        Ok(ClientCtx { resolved: self })
    }

    /// The client secret itself, required exactly when the client has
    /// `secrets` (any current one).
    pub fn prove_client_secret(self, secrets: &[String], given: Option<&str>) -> Result<ClientCtx> {
        let given = given.unwrap_or_default();
        let mut ok = secrets.is_empty();
        for secret in secrets {
            ok |= cognate_crypto::ct_eq(secret.as_bytes(), given.as_bytes());
        }
        if !ok {
            return Err(Error::NotAuthorized(format!("Unable to verify secret for client {}", self.row.id)));
        }
        Ok(ClientCtx { resolved: self })
    }

    /// A client named by a credential Cognate issued and has checked: a
    /// signed access token, or a sealed Session (whose issuing call proved
    /// the secret).
    pub fn issued(self) -> ClientCtx {
        ClientCtx { resolved: self }
    }

    /// The hosted pages acting for a client whose request /oauth2/authorize
    /// accepted (the client allows OAuth, and the redirect URI is one of its
    /// own). The browser never holds a client secret: whoever redeems the
    /// authorization code proves it at the token endpoint.
    pub fn for_hosted_pages(self) -> ClientCtx {
        ClientCtx { resolved: self }
    }
}

impl ClientCtx {
    /// The context of a SigV4-signed admin call on `pool`: no client.
    pub fn admin(pool_row: PoolRow, pool: UserPoolType) -> ClientCtx {
        let resolved = Client {
            pool_row,
            pool,
            row: Default::default(),
            client: Default::default(),
            metadata: Default::default(),
        };
        ClientCtx { resolved }
    }

    /// The context with the call's ClientMetadata (absent: none).
    pub fn with_metadata(mut self, metadata: &Option<BTreeMap<String, String>>) -> ClientCtx {
        self.resolved.metadata = metadata.clone().unwrap_or_default();
        self
    }

    pub fn prevents_existence_errors(&self) -> bool {
        self.client.prevent_user_existence_errors == Some(PreventUserExistenceErrorTypes::Enabled)
    }
}

pub(crate) fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| Error::InvalidParameter(format!("Missing required parameter {name}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Client {
        Client {
            pool_row: Default::default(),
            pool: Default::default(),
            row: ClientRow { id: id.into(), ..Default::default() },
            client: Default::default(),
            metadata: Default::default(),
        }
    }

    fn hash(secret: &str, name: &str, id: &str) -> String {
        use base64::Engine as _;
        let mac = cognate_crypto::hmac_sha256(secret.as_bytes(), format!("{name}{id}").as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac)
    }

    #[test]
    fn a_secret_hash_proves_the_caller_only_when_it_is_right() {
        let secrets = vec!["old".to_string(), "new".to_string()];
        let ok = |names: &[&str], given: Option<&str>| client("c1").prove_secret_hash(&secrets, names, given);
        assert!(ok(&["ann"], Some(&hash("new", "ann", "c1"))).is_ok());
        assert!(ok(&["ann"], Some(&hash("old", "ann", "c1"))).is_ok(), "any current secret");
        assert!(ok(&["ann", "sub-1"], Some(&hash("new", "sub-1", "c1"))).is_ok(), "any of the names");
        let message = |r: Result<ClientCtx>| r.err().map(|e| e.message().to_string());
        assert_eq!(
            message(ok(&["bob"], Some(&hash("new", "ann", "c1")))),
            Some("Unable to verify secret hash for client c1".into())
        );
        assert_eq!(
            message(ok(&["ann"], Some(&hash("new", "ann", "c2")))),
            Some("Unable to verify secret hash for client c1".into())
        );
        assert_eq!(
            message(ok(&["ann"], Some("not base64!"))),
            Some("Unable to verify secret hash for client c1".into())
        );
        assert_eq!(
            message(ok(&["ann"], None)),
            Some("Client c1 is configured for secret but secret was not received".into())
        );
        // A client without a secret needs no hash.
        assert!(client("c1").prove_secret_hash(&[], &["ann"], None).is_ok());
    }

    #[test]
    fn a_client_secret_proves_the_caller_only_when_it_is_right() {
        let secrets = vec!["s3cret".to_string()];
        assert!(client("c1").prove_client_secret(&secrets, Some("s3cret")).is_ok());
        assert!(client("c1").prove_client_secret(&secrets, Some("s3cre")).is_err());
        assert!(client("c1").prove_client_secret(&secrets, None).is_err());
        assert!(client("c1").prove_client_secret(&[], None).is_ok());
    }
}
