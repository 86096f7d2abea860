//! Cognito's SRP as the sign-in flows use it: the server's half of an
//! exchange (its secret b and public B) sealed between the two calls, the
//! PASSWORD_VERIFIER challenge, and the check of the client's proof. The
//! same pieces serve USER_SRP_AUTH, SRP inside CUSTOM_AUTH and device SRP.

use crate::base::sealed::invalid_session;
use crate::flows::signin::outcome::Challenge;
use crate::{Error, Fault, Result};
use cognate_crypto::srp;
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The PASSWORD_VERIFIER challenge: the user's salt, B, the sealed state as
/// the Session and (base64) the SECRET_BLOCK the client signs.
pub(crate) fn password_verifier(
    salt_hex: String,
    challenge: &srp::ServerChallenge,
    sealed: String,
    user_id: &str,
) -> Challenge {
    use base64::Engine as _;
    let p = BTreeMap::from([
        ("SALT".to_string(), salt_hex),
        ("SECRET_BLOCK".to_string(), base64::engine::general_purpose::STANDARD.encode(sealed.as_bytes())),
        ("SRP_B".to_string(), challenge.srp_b_hex()),
        ("USERNAME".to_string(), user_id.to_string()),
        ("USER_ID_FOR_SRP".to_string(), user_id.to_string()),
    ]);
    Challenge { name: ChallengeNameType::PasswordVerifier, parameters: p, session: Some(sealed) }
}

/// The server's side of an SRP exchange, sealed between the challenge and
/// the client's proof (USER_SRP_AUTH, device SRP, SRP inside CUSTOM_AUTH).
#[derive(Serialize, Deserialize)]
pub(crate) struct SrpHalf {
    /// The client's A, hex as sent.
    a: String,
    /// The server's secret b, and its public B, hex.
    b: String,
    bb: String,
}

impl SrpHalf {
    pub(crate) fn new(a_hex: &str, challenge: &srp::ServerChallenge) -> SrpHalf {
        SrpHalf {
            a: a_hex.to_string(),
            b: hex::encode(challenge.b_secret.to_bytes()),
            bb: hex::encode(&challenge.big_b),
        }
    }

    /// Whether the client's PASSWORD_CLAIM_SIGNATURE over `block` and
    /// `timestamp` proves the password (or device secret) behind
    /// `verifier`, for `group` and `user_id` (pool name and USER_ID_FOR_SRP,
    /// or device group key and device key). A state that does not decode is
    /// an invalid session.
    pub(crate) async fn proves(
        &self,
        verifier: Vec<u8>,
        group: &str,
        user_id: &str,
        (block, timestamp, signature): (&str, &str, &str),
    ) -> Result<bool> {
        let b = hex::decode(&self.b).ok().and_then(|b| srp::SecretExponent::from_bytes(&b).ok());
        let (Some(b), Ok(big_b)) = (b, hex::decode(&self.bb)) else { return Err(invalid_session()) };
        let a = self.a.clone();
        let [group, user_id, block, timestamp, signature] =
            [group, user_id, block, timestamp, signature].map(str::to_string);
        crate::base::crypto_threads::run_short(move || {
            srp::session_key(&a, &big_b, &b, &verifier)
                .and_then(|key| srp::verify_claim(&key, &group, &user_id, &block, &timestamp, &signature))
                .is_ok()
        })
        .await
    }
}

/// The server's half of an SRP exchange (its secret b and public B) for
/// `verifier`, computed on the crypto threads.
pub(crate) async fn server_challenge(verifier: Vec<u8>) -> Result<srp::ServerChallenge> {
    crate::base::crypto_threads::run_short(move || srp::server_challenge(&verifier))
        .await?
        .map_err(|e| Error::internal(Fault::Other, format!("SRP challenge: {e:?}")))
}
