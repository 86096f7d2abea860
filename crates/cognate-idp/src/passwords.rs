//! Passwords: the pool's policy, and argon2id hashes.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`) with the
//! OWASP-recommended parameters, so they can be exported and verified by any
//! argon2 implementation. Verification is constant-time in the hash library.

use crate::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use cognate_wire::idp::PasswordPolicyType;

/// OWASP's argon2id setting: 19 MiB, two passes, one lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        Error::Internal
    })
}

/// True when `password` matches the stored PHC string. An unreadable stored
/// hash is an internal error, not a mismatch.
pub fn verify(password: &str, phc: &str) -> Result<bool> {
    let parsed = PasswordHash::new(phc).map_err(|e| {
        tracing::error!(error = %e, "stored password hash unreadable");
        Error::Internal
    })?;
    Ok(hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// The characters Cognito counts as symbols.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/// Checks `password` against the pool's policy with Cognito's messages.
pub fn check_policy(password: &str, policy: &PasswordPolicyType) -> Result<()> {
    let fail = |why: &str| Err(Error::InvalidPassword(format!("Password did not conform with policy: {why}")));
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
        let msg = |p: &str| check_policy(p, &strict()).err().map(|e| e.message().to_string());
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
        assert!(check_policy("password", &PasswordPolicyType::default()).is_ok());
    }

    #[test]
    fn hashes_verify_and_differ() {
        let h1 = hash("Passw0rd!").unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("Passw0rd!", &h1).unwrap());
        assert!(!verify("Passw0rd?", &h1).unwrap());
        assert_ne!(h1, hash("Passw0rd!").unwrap(), "salted");
        assert_eq!(verify("x", "not a hash"), Err(Error::Internal));
    }
}
