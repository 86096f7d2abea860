//! Cryptography that Cognate cannot get wrong, kept apart from everything else.
//!
//! * [`sigv4`]: verifying (and, for tests, producing) AWS Signature Version 4,
//!   the only way an admin call is authorised.
//! * [`seal`]: the master key and the AEAD that seals secrets at rest (admin
//!   secret keys, client secrets; later signing keys and TOTP secrets).
//! * [`srp`]: Cognito's SRP-6a variant (server side, constant-time for the
//!   server's secret), checked against shared test vectors.
//! * [`jwt`]: RS256 tokens and JWKS, with keys parsed once and kept.
//! * [`esdk`]: AWS Encryption SDK messages, for the codes handed to custom
//!   sender functions.
//! * [`meter`]: CPU time spent in that cryptography, for the benchmark.
//! * [`ids`]: identifiers and generated secrets in Cognito's formats, drawn
//!   from the operating system's CSPRNG.
//!
//! Nothing here does I/O beyond reading randomness, knows HTTP or SQL, or
//! logs. Comparisons of secrets are constant-time.

pub mod esdk;
pub mod ids;
pub mod jwt;
pub mod meter;
pub mod seal;
pub mod sigv4;
pub mod srp;
pub mod totp;

/// HMAC-SHA256 with a key of any length (RFC 2104 key padding), without a
/// fallible constructor.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(key);
        block.iter_mut().zip(digest.iter()).for_each(|(b, d)| *b = *d);
    } else {
        block.iter_mut().zip(key.iter()).for_each(|(b, k)| *b = *k);
    }
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new(&block.into());
    hmac::Mac::update(&mut mac, data);
    hmac::Mac::finalize(mac).into_bytes().into()
}

/// Constant-time equality of two byte strings (length is not secret).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
