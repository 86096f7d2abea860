//! The one envelope for sign-in state that travels between calls.
//!
//! A multi-step sign-in (SRP's PASSWORD_VERIFIER, NEW_PASSWORD_REQUIRED, an
//! MFA challenge, a CUSTOM_AUTH round, device SRP) keeps no state on the
//! server: the step's state is sealed (XChaCha20-Poly1305 under the master
//! key, see `cognate_crypto::seal`) into the Session or SECRET_BLOCK the
//! client carries back. Every envelope names the pool, the client and the
//! user it was made for, and when it expires (the client's
//! AuthSessionValidity, three minutes by default); each kind of step seals
//! under its own context, so a state of one kind never opens as another.
//!
//! Opening checks all of that in one place: a state that does not open,
//! belongs to another pool or client, or has expired is refused with
//! Cognito's "Invalid session for the user." (", session is expired.").

use crate::base::context::ClientCtx;
use crate::{Error, Result};
use cognate_crypto::seal::MasterKey;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The kinds of sealed sign-in state, each under its own sealing context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// USER_SRP_AUTH's PASSWORD_VERIFIER (in SECRET_BLOCK and Session).
    Srp,
    /// NEW_PASSWORD_REQUIRED.
    NewPassword,
    /// An MFA challenge or MFA_SETUP.
    Mfa,
    /// A CUSTOM_AUTH round.
    Custom,
    /// DEVICE_SRP_AUTH's DEVICE_PASSWORD_VERIFIER.
    DeviceSrp,
    /// A hosted sign-up, which signs the user in once the code confirms it.
    SignedUp,
}

impl Step {
    fn context(self) -> &'static str {
        match self {
            Step::Srp => "cognate/sign-in/srp/v2",
            Step::NewPassword => "cognate/sign-in/new-password/v2",
            Step::Mfa => "cognate/sign-in/mfa/v2",
            Step::Custom => "cognate/sign-in/custom/v2",
            Step::DeviceSrp => "cognate/sign-in/device-srp/v2",
            Step::SignedUp => "cognate/sign-in/signed-up/v1",
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    /// Pool, client, user (the username key; empty for SRP's decoy of an
    /// unknown name), expiry (ms since the epoch).
    p: String,
    c: String,
    u: String,
    e: i64,
    s: T,
}

/// An opened state: the user it was sealed for, and the step's own state.
pub(crate) struct Opened<T> {
    pub user: String,
    pub state: T,
}

pub(crate) fn invalid_session() -> Error {
    Error::NotAuthorized("Invalid session for the user.".into())
}

/// Seals `state` of `step` for `user` (a username key) signing in through
/// `c`, valid for the client's AuthSessionValidity from `now`.
pub(crate) fn seal<T: Serialize>(
    key: &MasterKey,
    step: Step,
    c: &ClientCtx,
    user: &str,
    now: i64,
    state: T,
) -> Result<String> {
    let validity_ms = i64::from(c.client.auth_session_validity.unwrap_or(3)) * 60_000;
    let envelope =
        Envelope { p: c.pool_row.id.clone(), c: c.row.id.clone(), u: user.to_string(), e: now + validity_ms, s: state };
    Ok(key.seal(step.context(), &serde_json::to_vec(&envelope)?))
}

/// Opens a state of `step` that must have been sealed for `c`'s pool and
/// client and not have expired at `now`.
pub(crate) fn open<T: DeserializeOwned>(
    key: &MasterKey,
    step: Step,
    c: &ClientCtx,
    sealed: Option<&str>,
    now: i64,
) -> Result<Opened<T>> {
    let envelope: Envelope<T> = sealed
        .and_then(|s| key.open(step.context(), s).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid_session)?;
    if envelope.p != c.pool_row.id || envelope.c != c.row.id {
        return Err(invalid_session());
    }
    if envelope.e <= now {
        return Err(Error::NotAuthorized("Invalid session for the user, session is expired.".into()));
    }
    Ok(Opened { user: envelope.u, state: envelope.s })
}

/// Whether `sealed` is a state of `step` at all (whatever it is for), for a
/// call that answers one of two kinds of step with one Session.
pub(crate) fn is_step(key: &MasterKey, step: Step, sealed: Option<&str>) -> bool {
    sealed.is_some_and(|s| key.open(step.context(), s).is_ok())
}

/// The client a state of `step` was sealed for, for calls that name no
/// client (VerifySoftwareToken with a Session); `open` then checks it all.
pub(crate) fn client_of(key: &MasterKey, step: Step, sealed: &str) -> Result<String> {
    let envelope: Envelope<serde::de::IgnoredAny> = key
        .open(step.context(), sealed)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(invalid_session)?;
    Ok(envelope.c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cognate_store::{ClientRow, PoolRow};

    fn ctx(pool: &str, client: &str) -> ClientCtx {
        crate::base::context::Client {
            pool_row: PoolRow { id: pool.into(), ..Default::default() },
            pool: Default::default(),
            row: ClientRow { id: client.into(), ..Default::default() },
            client: Default::default(),
            metadata: Default::default(),
        }
        .issued()
    }

    #[test]
    fn a_state_opens_only_where_and_while_it_was_made_for() {
        let key = MasterKey::generate();
        let c = ctx("us-east-1_a", "client1");
        let sealed = seal(&key, Step::Mfa, &c, "ann", 1_000, 42u32).unwrap();
        let opened: Opened<u32> = open(&key, Step::Mfa, &c, Some(&sealed), 1_000 + 179_999).unwrap();
        assert_eq!((opened.user.as_str(), opened.state), ("ann", 42));

        let message = |r: Result<Opened<u32>>| r.err().map(|e| e.message().to_string());
        let invalid = Some("Invalid session for the user.".to_string());
        // Three minutes by default, then expired.
        assert_eq!(
            message(open(&key, Step::Mfa, &c, Some(&sealed), 1_000 + 180_000)),
            Some("Invalid session for the user, session is expired.".into())
        );
        // Another client, another pool, another kind of step, another key.
        assert_eq!(message(open(&key, Step::Mfa, &ctx("us-east-1_a", "client2"), Some(&sealed), 1_000)), invalid);
        assert_eq!(message(open(&key, Step::Mfa, &ctx("us-east-1_b", "client1"), Some(&sealed), 1_000)), invalid);
        assert_eq!(message(open(&key, Step::Custom, &c, Some(&sealed), 1_000)), invalid);
        assert_eq!(message(open(&MasterKey::generate(), Step::Mfa, &c, Some(&sealed), 1_000)), invalid);
        // Edited, or absent.
        let mut edited = sealed.clone().into_bytes();
        let at = edited.len() / 2;
        edited[at] = if edited[at] == b'A' { b'B' } else { b'A' };
        assert_eq!(message(open(&key, Step::Mfa, &c, Some(std::str::from_utf8(&edited).unwrap()), 1_000)), invalid);
        assert_eq!(message(open(&key, Step::Mfa, &c, None, 1_000)), invalid);
    }
}
