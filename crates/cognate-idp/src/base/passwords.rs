//! Passwords: the pool's policy, and argon2id hashes.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`) with the
//! OWASP-recommended parameters, so they can be exported and verified by any
//! argon2 implementation. Hashes are compared in constant time.

use crate::{Error, Fault, Result};
use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Params, Version};
use cognate_crypto::meter::{Kind, measure};
use cognate_crypto::srp;
use cognate_wire::idp::PasswordPolicyType;

/// OWASP's argon2id setting: 19 MiB, two passes, one lane.
fn owasp() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or_default()
}

thread_local! {
    /// Argon2's working memory, kept per thread and reused: allocating and
    /// freeing 19 MiB per hash makes the allocator's heap grow without bound.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Argon2id of `password` with `salt` and `params` into `out`.
fn argon2id(password: &[u8], salt: &[u8], params: Params, out: &mut [u8]) -> Result<()> {
    let blocks = params.block_count();
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    MEMORY
        .with(|m| {
            let mut m = m.borrow_mut();
            if m.len() != blocks {
                m.clear();
                m.resize(blocks, argon2::Block::new());
                m.shrink_to_fit();
            }
            hasher.hash_password_into_with_memory(password, salt, out, &mut m[..])
        })
        .map_err(|e| Error::internal(Fault::Other, format!("argon2: {e}")))
}

/// A PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.
pub fn hash(password: &str) -> Result<String> {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let params = owasp();
    let mut out = [0u8; 32];
    measure(Kind::Argon2, || argon2id(password.as_bytes(), &salt, params.clone(), &mut out))?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        b64.encode(salt),
        b64.encode(out)
    ))
}

/// True when `password` matches the stored PHC string (argon2id, any
/// parameters). An unreadable stored hash is an internal error, not a
/// mismatch.
pub fn verify(password: &str, phc: &str) -> Result<bool> {
    let unreadable = |what: &str| Error::internal(Fault::Document, format!("stored password hash: {what}"));
    let parsed = PasswordHash::new(phc).map_err(|_| unreadable("not a PHC string"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(unreadable("not argon2id"));
    }
    let params = Params::try_from(&parsed).map_err(|_| unreadable("bad parameters"))?;
    let mut salt_buf = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| unreadable("no salt"))?
        .decode_b64(&mut salt_buf)
        .map_err(|_| unreadable("bad salt"))?;
    let expected = parsed.hash.ok_or_else(|| unreadable("no hash"))?;
    let mut out = vec![0u8; expected.len()];
    measure(Kind::Argon2, || argon2id(password.as_bytes(), salt, params, &mut out))?;
    Ok(cognate_crypto::ct_eq(&out, expected.as_bytes()))
}

/// The characters Cognito counts as symbols.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/// How Cognito words a refused password: it depends on the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// SignUp (and, without a source saying otherwise, ChangePassword and
    /// AdminSetUserPassword): "Password did not conform with policy: …".
    DidNotConform,
    /// AdminCreateUser's TemporaryPassword: "Password did not conform with
    /// password policy: …".
    Temporary,
    /// ConfirmForgotPassword and NEW_PASSWORD_REQUIRED: "Password does not
    /// conform to policy: …".
    DoesNotConform,
}

impl Wording {
    fn prefix(self) -> &'static str {
        match self {
            Wording::DidNotConform => "Password did not conform with policy",
            Wording::Temporary => "Password did not conform with password policy",
            Wording::DoesNotConform => "Password does not conform to policy",
        }
    }
}

/// Checks `password` against the pool's policy with Cognito's messages: the
/// first rule broken, worded for the operation.
pub fn check_policy(password: &str, policy: &PasswordPolicyType, wording: Wording) -> Result<()> {
    let fail = |why: &str| Err(Error::InvalidPassword(format!("{}: {why}", wording.prefix())));
    let min = policy.minimum_length.unwrap_or(8).max(6) as usize;
    if password.chars().count() < min {
        return fail("Password not long enough");
    }
    if policy.require_lowercase == Some(true) && !password.chars().any(|c| c.is_lowercase()) {
        return fail("Password must have lowercase characters");
    }
    if policy.require_uppercase == Some(true) && !password.chars().any(|c| c.is_uppercase()) {
        return fail("Password must have uppercase characters");
    }
    if policy.require_numbers == Some(true) && !password.chars().any(|c| c.is_ascii_digit()) {
        return fail("Password must have numeric characters");
    }
    if policy.require_symbols == Some(true) && !password.chars().any(|c| SYMBOLS.contains(c)) {
        return fail("Password must have symbol characters");
    }
    Ok(())
}

/// A valid argon2id hash of a random password, for constant-time refusals.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$0gYFsWvJL2HzSJlQdnYeBH9bq1pUQ0sL1fXe0zR3P0s";

/// Argon2 off the async threads: it is deliberately slow.
pub(crate) async fn verify_password(password: String, hash: String) -> Result<bool> {
    crate::base::crypto_threads::run(move || verify(&password, &hash)).await?
}

/// Hashes a password and makes its SRP verifier, off the async threads.
pub(crate) async fn password_material(
    password: String,
    pool_id: String,
    username: String,
) -> Result<(String, srp::Verifier)> {
    crate::base::crypto_threads::run(move || {
        let hash = hash(&password)?;
        let verifier = srp::make_verifier(srp::pool_name(&pool_id), &username, &password);
        Ok((hash, verifier))
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> PasswordPolicyType {
        PasswordPolicyType {
            minimum_length: Some(8),
            require_lowercase: Some(true),
            require_uppercase: Some(true),
            require_numbers: Some(true),
            require_symbols: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn policy_messages() {
        let msg = |p: &str| check_policy(p, &strict(), Wording::DidNotConform).err().map(|e| e.message().to_string());
        assert_eq!(msg("Aa1!"), Some("Password did not conform with policy: Password not long enough".into()));
        assert_eq!(
            msg("AAAAAA1!"),
            Some("Password did not conform with policy: Password must have lowercase characters".into())
        );
        assert_eq!(
            msg("aaaaaa1!"),
            Some("Password did not conform with policy: Password must have uppercase characters".into())
        );
        assert_eq!(
            msg("aaaaaAa!"),
            Some("Password did not conform with policy: Password must have numeric characters".into())
        );
        assert_eq!(
            msg("aaaaaAa1"),
            Some("Password did not conform with policy: Password must have symbol characters".into())
        );
        assert_eq!(msg("Passw0rd!"), None);
        assert!(check_policy("password", &PasswordPolicyType::default(), Wording::DidNotConform).is_ok());
    }

    #[test]
    fn hashes_verify_and_differ() {
        let h1 = hash("Passw0rd!").unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("Passw0rd!", &h1).unwrap());
        assert!(!verify("Passw0rd?", &h1).unwrap());
        assert_ne!(h1, hash("Passw0rd!").unwrap(), "salted");
        assert_eq!(verify("x", "not a hash").map_err(|e| e.cause().map(|c| c.kind)), Err(Some(Fault::Document)));
        // A hash made by the argon2 crate's own PHC encoder verifies here.
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp())
            .hash_password(b"Passw0rd!", &SaltString::generate(&mut rand::rngs::OsRng))
            .unwrap()
            .to_string();
        assert!(verify("Passw0rd!", &other).unwrap());
        assert!(!verify("passw0rd!", &other).unwrap());
    }
}
