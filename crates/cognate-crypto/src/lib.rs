//! Cryptography that Cognate cannot get wrong, kept apart from everything else.
//!
//! * [`sigv4`]: verifying (and, for tests, producing) AWS Signature Version 4,
//!   the only way an admin call is authorised.
//! * [`seal`]: the master key and the AEAD that seals secrets at rest (admin
//!   secret keys, client secrets; later signing keys and TOTP secrets).
//! * [`ids`]: identifiers and generated secrets in Cognito's formats, drawn
//!   from the operating system's CSPRNG.
//!
//! Nothing here does I/O beyond reading randomness, knows HTTP or SQL, or
//! logs. Comparisons of secrets are constant-time.

pub mod ids;
pub mod seal;
pub mod sigv4;

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
