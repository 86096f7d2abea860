//! Amazon Cognito's SRP-6a variant (`USER_SRP_AUTH` → `PASSWORD_VERIFIER`), server side.
//!
//! Group: the RFC 5054 3072-bit prime `N`, generator `g = 2`, hash SHA-256.
//!
//! Cognito's integer encoding ("pad"): the shortest big-endian byte string of a
//! non-negative integer, with one `0x00` byte prepended when the top bit of the first
//! byte is set (so it reads as a positive two's-complement number); zero is `00`.
//! In hex terms: hex digits, a leading `0` nibble for odd length, then `00` when the
//! first digit is `8`–`f`.
//!
//! * `k = H(pad(N) | pad(g))`
//! * `x = H(pad(salt) | H(pool_name | user_id | ":" | password))`, where `pool_name` is
//!   the part of the user pool id after the underscore (`us-east-1_AbC` → `AbC`)
//! * `v = g^x mod N` (stored per user, with the salt)
//! * `B = (k·v + g^b) mod N`, `B ≠ 0`
//! * `u = H(pad(A) | pad(B))`, `u ≠ 0`
//! * `S = (A · v^u)^b mod N`
//! * `key = HKDF-SHA256(ikm = pad(S), salt = pad(u), info = "Caldera Derived Key")[..16]`
//! * `PASSWORD_CLAIM_SIGNATURE = base64(HMAC-SHA256(key, pool_name | user_id |
//!   base64_decode(SECRET_BLOCK) | TIMESTAMP))`
//! * `TIMESTAMP` looks like `Mon Jan 2 03:04:05 UTC 2026`: English weekday and month,
//!   day of month not zero-padded, hours/minutes/seconds zero-padded, always UTC.
//!
//! `SALT` and `SRP_B` go to clients as hex of the padded encoding ([`hex_pad`],
//! [`Verifier::salt_hex`], [`ServerChallenge::srp_b_hex`]); that form is the one both
//! pycognito (which pads the salt *string* it receives) and amazon-cognito-identity-js
//! (which re-encodes the salt *integer*) hash identically. `SRP_A` arrives as
//! unpadded hex, possibly of odd length.
//!
//! Everything that involves the server secret `b`, the verifier `v` or the password
//! exponent `x` runs on `crypto-bigint`'s constant-time Montgomery arithmetic with
//! exponent lengths that depend only on public sizes. What is not constant-time, by
//! the protocol's own design: the length of `pad(S)` (leading zero bytes are stripped
//! before hashing, exactly as every client does).
//!
//! The [`client`] submodule is the client half of the protocol, for tests and
//! benchmark harnesses only.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{CtLt as _, U3072};
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

mod group {
    crypto_bigint::const_monty_params!(
        Rfc5054N3072,
        crypto_bigint::U3072,
        concat!(
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
            "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
            "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
            "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
            "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
            "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
            "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
            "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
            "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
            "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64",
            "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7",
            "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B",
            "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C",
            "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31",
            "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
        ),
        "The RFC 5054 3072-bit SRP group prime used by Cognito"
    );
}

use crypto_bigint::modular::ConstMontyParams as _;
use group::Rfc5054N3072;

/// An element of Z/NZ in Montgomery form (constant-time arithmetic).
type Fe = ConstMontyForm<Rfc5054N3072, { U3072::LIMBS }>;

/// Bytes in N.
const N_BYTES: usize = 384;
/// Generator.
const G: u8 = 2;
/// HKDF info string.
const HKDF_INFO: &[u8] = b"Caldera Derived Key";
/// Bytes of random salt for new verifiers (Cognito uses 16).
const SALT_BYTES: usize = 16;
/// Bytes of the server's random secret exponent b (256 bits).
const SERVER_SECRET_BYTES: usize = 32;
/// Longest hex string accepted for a public value (a padded 3072-bit number is 770).
const MAX_HEX_CHARS: usize = 1024;
/// Longest base64 accepted for a signature (32 bytes encode to 44 characters).
const MAX_SIGNATURE_B64: usize = 64;

/// The modulus N as a plain integer.
fn modulus() -> U3072 {
    *Rfc5054N3072::PARAMS.modulus().as_ref()
}

/// The group's modulus N, big-endian (384 bytes).
pub fn group_modulus() -> Vec<u8> {
    modulus().to_be_bytes().as_ref().to_vec()
}

/// N for AWS-LC's constant-time exponentiation (cognate-bn), which is about
/// twice as fast as crypto-bigint's; crypto-bigint keeps the cheap steps
/// (products, sums) in Montgomery form.
static N_BN: std::sync::LazyLock<cognate_bn::Modulus> =
    std::sync::LazyLock::new(|| cognate_bn::Modulus::new(&group_modulus()).expect("N is an odd modulus"));

/// `base^exp mod N`, in time that depends on `exp.len()` only. `base` is a
/// group element (below N), so AWS-LC cannot refuse it.
fn pow_n(base: &U3072, exp: &[u8]) -> U3072 {
    match N_BN.pow(&pad_uint(base), exp) {
        Some(r) => U3072::from_be_slice(&r),
        // Only an allocation failure in AWS-LC comes here.
        None => std::process::abort(),
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why an SRP step was refused. Messages are safe to log; none carries secret data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrpError {
    /// A hex value was empty, too long, or had a non-hex character.
    InvalidHex,
    /// The client's `SRP_A` is ≡ 0 mod N (or not reduced below N).
    InvalidA,
    /// `SRP_B` is ≡ 0 mod N or not below N.
    InvalidB,
    /// The stored verifier is not in `[1, N)`.
    InvalidVerifier,
    /// A secret exponent is zero, empty, or longer than N.
    InvalidSecret,
    /// `u = H(pad(A) | pad(B))` came out zero.
    ZeroU,
    /// The secret block was not valid base64.
    InvalidSecretBlock,
    /// The `PASSWORD_CLAIM_SIGNATURE` did not match (or was not valid base64).
    SignatureMismatch,
    /// Key derivation failed (cannot happen with the fixed 16-byte output).
    KeyDerivation,
}

impl fmt::Display for SrpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SrpError::InvalidHex => "malformed hex integer",
            SrpError::InvalidA => "SRP_A is not a valid group element",
            SrpError::InvalidB => "SRP_B is not a valid group element",
            SrpError::InvalidVerifier => "stored SRP verifier is not a valid group element",
            SrpError::InvalidSecret => "invalid SRP secret exponent",
            SrpError::ZeroU => "SRP scrambling parameter u is zero",
            SrpError::InvalidSecretBlock => "secret block is not valid base64",
            SrpError::SignatureMismatch => "password claim signature mismatch",
            SrpError::KeyDerivation => "SRP key derivation failed",
        })
    }
}

impl std::error::Error for SrpError {}

// ---------------------------------------------------------------------------------------
// Encoding helpers
// ---------------------------------------------------------------------------------------

/// Cognito's padded encoding of the non-negative integer whose big-endian bytes are
/// `be` (leading zero bytes allowed): leading zeros stripped, then one `0x00` byte
/// prepended if the top bit is set; zero encodes as `[0x00]`.
pub fn pad_bytes(be: &[u8]) -> Vec<u8> {
    let digits: Vec<u8> = be.iter().copied().skip_while(|&byte| byte == 0).collect();
    match digits.first() {
        None => vec![0],
        Some(&first) if first & 0x80 != 0 => {
            let mut out = Vec::with_capacity(digits.len() + 1);
            out.push(0);
            out.extend_from_slice(&digits);
            out
        }
        Some(_) => digits,
    }
}

/// Lower-case hex of [`pad_bytes`]: the form in which Cognito sends `SALT` and `SRP_B`
/// and hashes every integer.
pub fn hex_pad(be: &[u8]) -> String {
    hex::encode(pad_bytes(be))
}

/// Decodes a hex integer as clients send it: upper or lower case, any length from 1 to
/// 1024 digits, odd lengths meaning an implicit leading `0` nibble. No prefix, no
/// whitespace. Returns big-endian bytes (leading zeros kept).
pub fn decode_hex_int(s: &str) -> Result<Vec<u8>, SrpError> {
    let digits = s.as_bytes();
    if digits.is_empty() || digits.len() > MAX_HEX_CHARS {
        return Err(SrpError::InvalidHex);
    }
    let nibble = |c: u8| -> Result<u8, SrpError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(SrpError::InvalidHex),
        }
    };
    let mut out = Vec::with_capacity(digits.len().div_ceil(2));
    let (head, rest) = digits.split_at(digits.len() % 2);
    if let Some(&c) = head.first() {
        out.push(nibble(c)?);
    }
    for pair in rest.chunks_exact(2) {
        if let [hi, lo] = pair {
            out.push((nibble(*hi)? << 4) | nibble(*lo)?);
        }
    }
    Ok(out)
}

/// The user pool's SRP name: the part of the pool id after the underscore, as both
/// reference clients take it (`pool_id.split('_')[1]`). Returns the input unchanged if
/// it has no underscore.
pub fn pool_name(pool_id: &str) -> &str {
    pool_id.split('_').nth(1).unwrap_or(pool_id)
}

/// Big-endian bytes → U3072. Longer inputs are accepted only if the excess leading
/// bytes are zero. Runs in time depending only on `bytes.len()`.
fn uint_from_be(bytes: &[u8]) -> Option<U3072> {
    let (excess, digits) = bytes.split_at_checked(bytes.len().saturating_sub(N_BYTES)).unwrap_or((&[], bytes));
    if excess.iter().fold(0u8, |acc, &byte| acc | byte) != 0 {
        return None;
    }
    let mut buf = [0u8; N_BYTES];
    let start = N_BYTES.checked_sub(digits.len())?;
    buf.get_mut(start..)?.copy_from_slice(digits);
    let value = U3072::from_be_slice(&buf);
    wipe(&mut buf);
    Some(value)
}

/// Padded big-endian encoding of an integer.
fn pad_uint(x: &U3072) -> Vec<u8> {
    pad_bytes(x.to_be_bytes().as_ref())
}

/// A public value or stored verifier: must lie in `[1, N)`. Constant-time check.
fn group_element(bytes: &[u8]) -> Option<U3072> {
    let x = uint_from_be(bytes)?;
    let ok = x.ct_lt(&modulus()) & x.is_nonzero();
    ok.to_bool().then_some(x)
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Best-effort wipe of a buffer that held secret material.
fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    std::hint::black_box(buf);
}

fn generator() -> Fe {
    Fe::new(&U3072::from_u8(G))
}

/// `k = H(pad(N) | pad(g))` as a field element.
fn multiplier_k() -> Fe {
    let k = k_hash();
    Fe::new(&uint_from_hash(&k))
}

fn k_hash() -> [u8; 32] {
    let n = pad_uint(&modulus());
    let g = pad_bytes(&[G]);
    sha256(&[&n, &g])
}

fn uint_from_hash(h: &[u8; 32]) -> U3072 {
    let mut buf = [0u8; N_BYTES];
    if let Some(tail) = buf.get_mut(N_BYTES - 32..) {
        tail.copy_from_slice(h);
    }
    let value = U3072::from_be_slice(&buf);
    wipe(&mut buf);
    value
}

/// `x = H(pad(salt) | H(pool_name | user_id | ":" | password))`.
fn compute_x(pool_name: &str, user_id: &str, password: &str, salt: &[u8]) -> [u8; 32] {
    let mut inner = sha256(&[pool_name.as_bytes(), user_id.as_bytes(), b":", password.as_bytes()]);
    let x = sha256(&[&pad_bytes(salt), &inner]);
    wipe(&mut inner);
    x
}

/// `u = H(pad(A) | pad(B))`.
fn compute_u(big_a: &U3072, big_b: &U3072) -> [u8; 32] {
    sha256(&[&pad_uint(big_a), &pad_uint(big_b)])
}

/// `HKDF-SHA256(ikm = pad(S), salt = pad(u), info = "Caldera Derived Key")`, 16 bytes.
fn derive_key(s: &U3072, u_hash: &[u8; 32]) -> Result<[u8; 16], SrpError> {
    let mut ikm = pad_uint(s);
    let salt = pad_bytes(u_hash);
    let mut okm = [0u8; 16];
    let result = hkdf::Hkdf::<Sha256>::new(Some(&salt), &ikm).expand(HKDF_INFO, &mut okm);
    wipe(&mut ikm);
    result.map_err(|_| SrpError::KeyDerivation)?;
    Ok(okm)
}

// ---------------------------------------------------------------------------------------
// Secret exponents
// ---------------------------------------------------------------------------------------

/// A secret exponent (the server's `b`; also the client's `a` in [`client`]).
///
/// Exponentiation with it is constant-time for a given byte length. Its value is
/// overwritten on drop (best effort: without `unsafe` or the `zeroize` crate, copies the
/// compiler made elsewhere cannot be reached). `Debug` prints no digits.
pub struct SecretExponent {
    value: U3072,
    /// Number of exponent bits processed: 8 × the byte length it was made from.
    /// Public by construction (it never depends on the value).
    bits: u32,
}

impl SecretExponent {
    /// Imports an exponent from big-endian bytes: 1 to 384 bytes, not all zero.
    /// Use it to restore `b` that was sealed between InitiateAuth and
    /// RespondToAuthChallenge.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SrpError> {
        if bytes.is_empty() || bytes.len() > N_BYTES {
            return Err(SrpError::InvalidSecret);
        }
        let value = uint_from_be(bytes).ok_or(SrpError::InvalidSecret)?;
        let bits = u32::try_from(bytes.len()).map_err(|_| SrpError::InvalidSecret)?.saturating_mul(8);
        let secret = SecretExponent { value, bits };
        if !secret.value.is_nonzero().to_bool() {
            return Err(SrpError::InvalidSecret);
        }
        Ok(secret)
    }

    /// A fresh random exponent of `len` bytes from the OS RNG (never zero).
    fn random(len: usize) -> Self {
        let mut buf = vec![0u8; len];
        loop {
            rand::rngs::OsRng.fill_bytes(&mut buf);
            if let Ok(secret) = SecretExponent::from_bytes(&buf) {
                wipe(&mut buf);
                return secret;
            }
        }
    }

    /// Exports the exponent as big-endian bytes of the length it was made from, e.g. to
    /// seal it into the challenge state. The caller should wipe the returned buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let len = usize::try_from(self.bits / 8).unwrap_or(N_BYTES).min(N_BYTES);
        let mut full = self.value.to_be_bytes();
        let out = full.as_ref().get(N_BYTES - len..).map(<[u8]>::to_vec).unwrap_or_default();
        wipe(full.as_mut());
        out
    }

    /// `base^self`, constant-time for the exponent's byte length.
    fn pow(&self, base: &Fe) -> Fe {
        let mut exp = self.to_bytes();
        let r = pow_n(&base.retrieve(), &exp);
        wipe(&mut exp);
        Fe::new(&r)
    }
}

impl Drop for SecretExponent {
    fn drop(&mut self) {
        self.value = U3072::ZERO;
        self.bits = 0;
        std::hint::black_box(&mut self.value);
    }
}

impl fmt::Debug for SecretExponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretExponent({} bits, redacted)", self.bits)
    }
}

// ---------------------------------------------------------------------------------------
// Verifier
// ---------------------------------------------------------------------------------------

/// What is stored per user instead of the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The salt in padded encoding ([`pad_bytes`]); `hex::encode(salt)` is `SALT`.
    pub salt: Vec<u8>,
    /// `v = g^x mod N` in padded encoding.
    pub verifier: Vec<u8>,
}

impl Verifier {
    /// `SALT` as sent in the `PASSWORD_VERIFIER` challenge.
    pub fn salt_hex(&self) -> String {
        hex_pad(&self.salt)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("salt", &hex::encode(&self.salt)).field("verifier", &"<redacted>").finish()
    }
}

/// A new verifier with a random 16-byte salt. `pool_name` is the short pool name (see
/// [`pool_name`]), `user_id` is what goes out as `USER_ID_FOR_SRP`.
pub fn make_verifier(pool_name: &str, user_id: &str, password: &str) -> Verifier {
    let mut salt = [0u8; SALT_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    crate::meter::measure(crate::meter::Kind::SrpVerifier, || verifier_with_salt(pool_name, user_id, password, &salt))
}

/// Deterministic verifier for a given salt (any big-endian bytes; stored normalised to
/// the padded encoding).
pub fn verifier_with_salt(pool_name: &str, user_id: &str, password: &str, salt: &[u8]) -> Verifier {
    let salt = pad_bytes(salt);
    let mut x_hash = compute_x(pool_name, user_id, password, &salt);
    let v = pow_n(&U3072::from_u8(G), &x_hash);
    wipe(&mut x_hash);
    Verifier { salt, verifier: pad_uint(&v) }
}

// ---------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------

/// The server's half of the `PASSWORD_VERIFIER` challenge.
#[derive(Debug)]
pub struct ServerChallenge {
    /// `b`: keep it (sealed) until RespondToAuthChallenge; never send it.
    pub b_secret: SecretExponent,
    /// `B = (k·v + g^b) mod N`, padded encoding; `hex::encode(big_b)` is `SRP_B`.
    pub big_b: Vec<u8>,
}

impl ServerChallenge {
    /// `SRP_B` as sent in the challenge.
    pub fn srp_b_hex(&self) -> String {
        hex_pad(&self.big_b)
    }
}

/// A fresh challenge: random 256-bit `b` and `B = (k·v + g^b) mod N`.
/// Fails only if the stored verifier is not a valid group element.
pub fn server_challenge(verifier: &[u8]) -> Result<ServerChallenge, SrpError> {
    crate::meter::measure(crate::meter::Kind::SrpServer, || draw_challenge(verifier))
}

fn draw_challenge(verifier: &[u8]) -> Result<ServerChallenge, SrpError> {
    loop {
        let b = SecretExponent::random(SERVER_SECRET_BYTES);
        match challenge_for(verifier, b) {
            // B ≡ 0 has probability ~2^-3072; draw again rather than fail.
            Err(SrpError::InvalidB) => {}
            other => return other,
        }
    }
}

/// The challenge for a given `b` (big-endian bytes, 1–384 bytes, non-zero): for test
/// vectors, and to recompute `B` from a restored `b`.
pub fn server_challenge_with_b(verifier: &[u8], b: &[u8]) -> Result<ServerChallenge, SrpError> {
    challenge_for(verifier, SecretExponent::from_bytes(b)?)
}

fn challenge_for(verifier: &[u8], b: SecretExponent) -> Result<ServerChallenge, SrpError> {
    let v = group_element(verifier).ok_or(SrpError::InvalidVerifier)?;
    let big_b = multiplier_k().mul(&Fe::new(&v)).add(&b.pow(&generator())).retrieve();
    if !big_b.is_nonzero().to_bool() {
        return Err(SrpError::InvalidB);
    }
    Ok(ServerChallenge { b_secret: b, big_b: pad_uint(&big_b) })
}

/// The 16-byte session key. `a_hex` is the client's `SRP_A` as received; `big_b` and
/// `b_secret` come from [`server_challenge`]; `verifier` is the stored `v`.
///
/// Refuses `A` that is zero or not below N (so `A ≡ 0 mod N` can never pass) and
/// `u = 0`. A wrong password is *not* detected here: it shows up as a signature
/// mismatch in [`verify_claim`].
pub fn session_key(
    a_hex: &str,
    big_b: &[u8],
    b_secret: &SecretExponent,
    verifier: &[u8],
) -> Result<[u8; 16], SrpError> {
    crate::meter::measure(crate::meter::Kind::SrpServer, || server_key(a_hex, big_b, b_secret, verifier))
}

fn server_key(a_hex: &str, big_b: &[u8], b_secret: &SecretExponent, verifier: &[u8]) -> Result<[u8; 16], SrpError> {
    let a_bytes = decode_hex_int(a_hex)?;
    let big_a = group_element(&a_bytes).ok_or(SrpError::InvalidA)?;
    let big_b = group_element(big_b).ok_or(SrpError::InvalidB)?;
    let v = group_element(verifier).ok_or(SrpError::InvalidVerifier)?;

    let u_hash = compute_u(&big_a, &big_b);
    let u = uint_from_hash(&u_hash);
    if !u.is_nonzero().to_bool() {
        return Err(SrpError::ZeroU);
    }
    // S = (A · v^u)^b mod N
    let base = Fe::new(&big_a).mul(&Fe::new(&pow_n(&v, &u_hash)));
    let mut s = b_secret.pow(&base).retrieve();
    let key = derive_key(&s, &u_hash);
    s = U3072::ZERO;
    std::hint::black_box(&mut s);
    key
}

/// HMAC-SHA256 over `pool_name | user_id | secret_block | timestamp`.
fn claim_tag(
    key: &[u8; 16],
    pool_name: &str,
    user_id: &str,
    secret_block_b64: &str,
    timestamp: &str,
) -> Result<[u8; 32], SrpError> {
    let secret_block = BASE64.decode(secret_block_b64).map_err(|_| SrpError::InvalidSecretBlock)?;
    let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(key).map_err(|_| SrpError::KeyDerivation)?;
    mac.update(pool_name.as_bytes());
    mac.update(user_id.as_bytes());
    mac.update(&secret_block);
    mac.update(timestamp.as_bytes());
    Ok(mac.finalize().into_bytes().into())
}

/// Checks `PASSWORD_CLAIM_SIGNATURE` = base64(HMAC-SHA256(key, pool_name | user_id |
/// base64-decoded secret block | timestamp)), comparing in constant time.
/// The timestamp's age is not checked here: see [`parse_timestamp`].
pub fn verify_claim(
    key: &[u8; 16],
    pool_name: &str,
    user_id: &str,
    secret_block_b64: &str,
    timestamp: &str,
    signature_b64: &str,
) -> Result<(), SrpError> {
    let expected = claim_tag(key, pool_name, user_id, secret_block_b64, timestamp)?;
    if signature_b64.len() > MAX_SIGNATURE_B64 {
        return Err(SrpError::SignatureMismatch);
    }
    let given = BASE64.decode(signature_b64).map_err(|_| SrpError::SignatureMismatch)?;
    if bool::from(expected.as_slice().ct_eq(given.as_slice())) { Ok(()) } else { Err(SrpError::SignatureMismatch) }
}

// ---------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SECS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 → (year, month 1–12, day 1–31), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146096
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era.saturating_add(era.saturating_mul(400)).saturating_add(i64::from(month <= 2));
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

/// (year, month 1–12, day 1–31) → days since 1970-01-01. Inputs are small (checked by
/// the caller), so plain arithmetic cannot overflow.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12); // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = 365 * year_of_era + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Weekday index (0 = Sunday) of a day count since 1970-01-01 (a Thursday).
fn weekday(days: i64) -> usize {
    usize::try_from((days.rem_euclid(7) + 4) % 7).unwrap_or(0)
}

/// Formats a Unix time the way the Cognito clients build `TIMESTAMP`:
/// `"Mon Jan 2 03:04:05 UTC 2026"` (day not padded; time fields padded to 2 digits).
pub fn format_timestamp(unix: i64) -> String {
    let days = unix.div_euclid(SECS_PER_DAY);
    let secs = unix.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let weekday_name = WEEKDAYS.get(weekday(days)).copied().unwrap_or("Sun");
    let month_index = usize::try_from(month.saturating_sub(1)).unwrap_or(0);
    let month_name = MONTHS.get(month_index).copied().unwrap_or("Jan");
    format!("{weekday_name} {month_name} {day} {:02}:{:02}:{:02} UTC {year}", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Parses a decimal field of `min..=max` ASCII digits (no sign, no spaces).
fn parse_digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a client `TIMESTAMP` back to Unix seconds so the server can bound its age.
///
/// Accepts exactly `Www Mmm D HH:MM:SS UTC YYYY` with single spaces; day and hour may
/// have one or two digits, minutes and seconds two, year four. The weekday must be one
/// of the seven English abbreviations but is not checked against the date (the shared
/// test vectors carry weekdays that do not match their dates, and the signature covers
/// the exact string anyway). Anything else is `None`.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let mut fields = s.split(' ');
    if !WEEKDAYS.contains(&fields.next()?) {
        return None;
    }
    let month_name = fields.next()?;
    let day = parse_digits(fields.next()?, 1, 2)?;
    let time = fields.next()?;
    if fields.next()? != "UTC" {
        return None;
    }
    let year = i64::from(parse_digits(fields.next()?, 4, 4)?);
    if fields.next().is_some() {
        return None;
    }

    let month = u32::try_from(MONTHS.iter().position(|&m| m == month_name)?).ok()? + 1;
    if day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut hms = time.split(':');
    let hour = parse_digits(hms.next()?, 1, 2)?;
    let minute = parse_digits(hms.next()?, 2, 2)?;
    let second = parse_digits(hms.next()?, 2, 2)?;
    if hms.next().is_some() || hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let days = days_from_civil(year, month, day);
    Some(days * SECS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second))
}

// ---------------------------------------------------------------------------------------
// Client side — FOR TESTS AND BENCHMARK HARNESSES ONLY
// ---------------------------------------------------------------------------------------

/// The client half of Cognito SRP (what pycognito / amazon-cognito-identity-js do).
///
/// **Not for the server.** It exists so that tests and Cognate's own benchmark harness
/// can sign in without an external SDK.
pub mod client {
    use super::{
        BASE64, Fe, SecretExponent, SrpError, claim_tag, compute_u, compute_x, decode_hex_int, derive_key, generator,
        group_element, multiplier_k, pad_bytes, pad_uint, uint_from_hash,
    };
    use base64::Engine as _;

    /// Bytes of the client's random `a` (the SDKs use 128).
    const CLIENT_SECRET_BYTES: usize = 128;

    /// A random 1024-bit `a` and the matching `A = g^a mod N` (padded encoding).
    /// Send `SRP_A` as `hex::encode(A)` or unpadded hex — the server takes either.
    pub fn generate_a() -> (SecretExponent, Vec<u8>) {
        let a = SecretExponent::random(CLIENT_SECRET_BYTES);
        let big_a = public_a(&a);
        (a, big_a)
    }

    /// `A = g^a mod N`, padded encoding. (Non-zero for any non-zero `a`: N is prime.)
    pub fn public_a(a: &SecretExponent) -> Vec<u8> {
        pad_uint(&a.pow(&generator()).retrieve())
    }

    /// The client's session key: `S = (B − k·g^x)^(a + u·x) mod N`, then the HKDF key.
    #[allow(clippy::too_many_arguments)]
    pub fn session_key(
        a: &SecretExponent,
        big_a: &[u8],
        srp_b_hex: &str,
        salt_hex: &str,
        pool_name: &str,
        user_id: &str,
        password: &str,
    ) -> Result<[u8; 16], SrpError> {
        let big_a = group_element(big_a).ok_or(SrpError::InvalidA)?;
        let big_b = group_element(&decode_hex_int(srp_b_hex)?).ok_or(SrpError::InvalidB)?;
        let salt = decode_hex_int(salt_hex)?;

        let u_hash = compute_u(&big_a, &big_b);
        let u = uint_from_hash(&u_hash);
        if !u.is_nonzero().to_bool() {
            return Err(SrpError::ZeroU);
        }
        let x = uint_from_hash(&compute_x(pool_name, user_id, password, &pad_bytes(&salt)));
        let g_x = generator().pow_bounded_exp(&x, 256);
        let base = Fe::new(&big_b).sub(&multiplier_k().mul(&g_x));
        // base^(a + u·x) = base^a · (base^u)^x
        let s = a.pow(&base).mul(&base.pow_bounded_exp(&u, 256).pow_bounded_exp(&x, 256)).retrieve();
        derive_key(&s, &u_hash)
    }

    /// `PASSWORD_CLAIM_SIGNATURE` for the given key and challenge data.
    pub fn claim_signature(
        key: &[u8; 16],
        pool_name: &str,
        user_id: &str,
        secret_block_b64: &str,
        timestamp: &str,
    ) -> Result<String, SrpError> {
        let tag = claim_tag(key, pool_name, user_id, secret_block_b64, timestamp)?;
        Ok(BASE64.encode(tag))
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const VECTORS: &str = include_str!("../testdata/cognito-srp-vectors.json");

    // A minimal JSON reader for the vector file (no serde in this crate's dependencies):
    // objects, arrays, strings (with the common escapes); numbers/literals skipped.
    #[derive(Debug, Clone)]
    enum Json {
        Str(String),
        Other,
        Arr(Vec<Json>),
        Obj(BTreeMap<String, Json>),
    }

    struct Reader<'a> {
        chars: std::iter::Peekable<std::str::Chars<'a>>,
    }

    impl Reader<'_> {
        fn ws(&mut self) {
            while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
                self.chars.next();
            }
        }

        fn expect_char(&mut self, want: char) {
            self.ws();
            assert_eq!(self.chars.next(), Some(want), "malformed vector JSON");
        }

        fn string(&mut self) -> String {
            self.expect_char('"');
            let mut out = String::new();
            loop {
                match self.chars.next().expect("unterminated string") {
                    '"' => return out,
                    '\\' => match self.chars.next().expect("bad escape") {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'u' => {
                            let code: String = (0..4).filter_map(|_| self.chars.next()).collect();
                            let code = u32::from_str_radix(&code, 16).expect("bad \\u escape");
                            out.push(char::from_u32(code).expect("surrogates unsupported"));
                        }
                        other => out.push(other),
                    },
                    c => out.push(c),
                }
            }
        }

        fn value(&mut self) -> Json {
            self.ws();
            match self.chars.peek().copied() {
                Some('"') => Json::Str(self.string()),
                Some('[') => {
                    self.chars.next();
                    let mut items = Vec::new();
                    self.ws();
                    if self.chars.peek() == Some(&']') {
                        self.chars.next();
                        return Json::Arr(items);
                    }
                    loop {
                        items.push(self.value());
                        self.ws();
                        match self.chars.next() {
                            Some(',') => continue,
                            Some(']') => return Json::Arr(items),
                            other => panic!("malformed array at {other:?}"),
                        }
                    }
                }
                Some('{') => {
                    self.chars.next();
                    let mut map = BTreeMap::new();
                    self.ws();
                    if self.chars.peek() == Some(&'}') {
                        self.chars.next();
                        return Json::Obj(map);
                    }
                    loop {
                        let key = self.string();
                        self.expect_char(':');
                        map.insert(key, self.value());
                        self.ws();
                        match self.chars.next() {
                            Some(',') => continue,
                            Some('}') => return Json::Obj(map),
                            other => panic!("malformed object at {other:?}"),
                        }
                    }
                }
                _ => {
                    // Numbers and literals: skipped (the vector file has none we need).
                    while let Some(&c) = self.chars.peek() {
                        if c == ',' || c == '}' || c == ']' || c.is_whitespace() {
                            break;
                        }
                        self.chars.next();
                    }
                    Json::Other
                }
            }
        }
    }

    fn parse_json(s: &str) -> Json {
        Reader { chars: s.chars().peekable() }.value()
    }

    impl Json {
        fn get(&self, key: &str) -> &Json {
            match self {
                Json::Obj(map) => map.get(key).unwrap_or_else(|| panic!("missing {key}")),
                _ => panic!("not an object"),
            }
        }
        fn str(&self) -> &str {
            match self {
                Json::Str(s) => s,
                other => panic!("not a string: {other:?}"),
            }
        }
        fn arr(&self) -> &[Json] {
            match self {
                Json::Arr(items) => items,
                _ => panic!("not an array"),
            }
        }
    }

    fn vectors() -> Json {
        parse_json(VECTORS)
    }

    /// Integer value of a hex field, in padded encoding (so padded and unpadded vector
    /// fields compare alike).
    fn int(v: &Json, key: &str) -> Vec<u8> {
        pad_bytes(&decode_hex_int(v.get(key).str()).expect("vector hex"))
    }

    fn raw(v: &Json, key: &str) -> Vec<u8> {
        hex::decode(v.get(key).str()).expect("vector hex")
    }

    #[test]
    fn group_constants_match_vectors() {
        let doc = vectors();
        assert!(doc.get("about").str().contains("Caldera Derived Key"));
        assert_eq!(int(&doc, "N_hex"), pad_uint(&modulus()));
        assert_eq!(int(&doc, "g_hex"), vec![G]);
        assert_eq!(pad_bytes(&k_hash()), int(&doc, "k_hex"));
        assert_eq!(multiplier_k().retrieve(), uint_from_hash(&k_hash()));
    }

    #[test]
    fn every_vector() {
        let doc = vectors();
        let list = doc.get("vectors").arr();
        assert_eq!(list.len(), 4);
        for (i, v) in list.iter().enumerate() {
            let pool = v.get("pool_name").str();
            let user = v.get("user_id_for_srp").str();
            let password = v.get("password").str();
            assert_eq!(pool_name(v.get("pool_id").str()), pool, "vector {i}: pool name");

            // x and v
            let salt = raw(v, "salt_hex");
            let x = compute_x(pool, user, password, &salt);
            assert_eq!(pad_bytes(&x), int(v, "x_hex"), "vector {i}: x");
            let ver = verifier_with_salt(pool, user, password, &salt);
            assert_eq!(ver.verifier, int(v, "verifier_hex"), "vector {i}: v");
            assert_eq!(ver.salt, int(v, "salt_hex"), "vector {i}: stored salt");
            // The SALT we send is the padded hex of the integer; the vector's salt_hex
            // is already in that form.
            assert_eq!(ver.salt_hex(), v.get("salt_hex").str(), "vector {i}: SALT");

            // B
            let b = raw(v, "server_secret_b_hex");
            let ch = server_challenge_with_b(&ver.verifier, &b).expect("challenge");
            assert_eq!(ch.big_b, int(v, "srp_b_hex"), "vector {i}: B");
            assert_eq!(ch.b_secret.to_bytes(), b, "vector {i}: b export");

            // A from a
            let a = SecretExponent::from_bytes(&raw(v, "client_secret_a_hex")).expect("a");
            let big_a = client::public_a(&a);
            assert_eq!(big_a, int(v, "srp_a_hex"), "vector {i}: A");

            // u
            let a_int = group_element(&big_a).expect("A");
            let b_int = group_element(&ch.big_b).expect("B");
            let u = compute_u(&a_int, &b_int);
            assert_eq!(pad_bytes(&u), int(v, "u_hex"), "vector {i}: u");

            // S (server formula)
            let s = b_secret_pow_for_test(&ch.b_secret, &a_int, &ver.verifier, &u);
            assert_eq!(pad_uint(&s), int(v, "s_hex"), "vector {i}: S");

            // key, server side, from the vector's own SRP_A text
            let key =
                session_key(v.get("srp_a_hex").str(), &ch.big_b, &ch.b_secret, &ver.verifier).expect("server key");
            assert_eq!(key.to_vec(), raw(v, "hkdf_key_hex"), "vector {i}: key");

            // key, client side
            let ckey = client::session_key(
                &a,
                &big_a,
                v.get("srp_b_hex").str(),
                v.get("salt_hex").str(),
                pool,
                user,
                password,
            )
            .expect("client key");
            assert_eq!(ckey, key, "vector {i}: client key");

            // signature
            let block = v.get("secret_block_b64").str();
            let ts = v.get("timestamp").str();
            let sig = v.get("password_claim_signature").str();
            assert_eq!(
                client::claim_signature(&key, pool, user, block, ts).expect("sig"),
                sig,
                "vector {i}: signature"
            );
            verify_claim(&key, pool, user, block, ts, sig).expect("verify_claim");

            // Timestamp: same layout as ours. (The vectors' weekdays do not match their
            // dates, so compare everything after the weekday.)
            let unix = parse_timestamp(ts).expect("vector timestamp parses");
            let ours = format_timestamp(unix);
            assert_eq!(ours.split_once(' ').map(|p| p.1), ts.split_once(' ').map(|p| p.1));
        }
    }

    fn b_secret_pow_for_test(b: &SecretExponent, a: &U3072, verifier: &[u8], u: &[u8; 32]) -> U3072 {
        let v = group_element(verifier).expect("v");
        let base = Fe::new(a).mul(&Fe::new(&v).pow_bounded_exp(&uint_from_hash(u), 256));
        b.pow(&base).retrieve()
    }

    fn strip_leading_zero_digits(hex: &str) -> &str {
        let t = hex.trim_start_matches('0');
        if t.is_empty() { "0" } else { t }
    }

    #[test]
    fn random_round_trip() {
        for round in 0..3 {
            let pool = "Xy12Ab34C";
            let user = format!("user-{round}");
            let password = "P@ssw0rd-ünïcødé";
            let ver = make_verifier(pool, &user, password);
            assert_eq!(ver.salt, pad_bytes(&ver.salt), "salt stored padded");
            let ch = server_challenge(&ver.verifier).expect("challenge");
            assert_eq!(ch.b_secret.to_bytes().len(), SERVER_SECRET_BYTES);

            let (a, big_a) = client::generate_a();
            // pycognito sends unpadded (possibly odd-length) hex; JS likewise.
            let a_hex = hex::encode(&big_a);
            let a_hex_unpadded = strip_leading_zero_digits(&a_hex).to_uppercase();
            let server_key = session_key(&a_hex_unpadded, &ch.big_b, &ch.b_secret, &ver.verifier).expect("srv");
            assert_eq!(session_key(&a_hex, &ch.big_b, &ch.b_secret, &ver.verifier).expect("srv"), server_key);
            let client_key = client::session_key(&a, &big_a, &ch.srp_b_hex(), &ver.salt_hex(), pool, &user, password)
                .expect("client");
            assert_eq!(server_key, client_key);

            // The b can be sealed and restored.
            let restored = SecretExponent::from_bytes(&ch.b_secret.to_bytes()).expect("restore");
            let again = server_challenge_with_b(&ver.verifier, &ch.b_secret.to_bytes()).expect("re");
            assert_eq!(again.big_b, ch.big_b);
            assert_eq!(session_key(&a_hex, &ch.big_b, &restored, &ver.verifier).expect("srv"), server_key);

            let block = BASE64.encode(b"opaque secret block \x00\xff");
            let ts = format_timestamp(1_800_000_000 + round);
            let sig = client::claim_signature(&client_key, pool, &user, &block, &ts).expect("sig");
            verify_claim(&server_key, pool, &user, &block, &ts, &sig).expect("verify");
        }
    }

    #[test]
    fn salts_with_leading_zero_or_high_bit() {
        // Salt integers whose natural encodings are 15, 16 and 17 bytes must round-trip
        // through the SALT hex we send and the client's decoding.
        let (a, big_a) = client::generate_a();
        for salt in [
            [0x00u8, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
            [0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
            [0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        ] {
            let ver = verifier_with_salt("Pool", "bob", "pw", &salt);
            let ch = server_challenge(&ver.verifier).expect("challenge");
            let server = session_key(&hex::encode(&big_a), &ch.big_b, &ch.b_secret, &ver.verifier).expect("srv");
            let client =
                client::session_key(&a, &big_a, &ch.srp_b_hex(), &ver.salt_hex(), "Pool", "bob", "pw").expect("cli");
            assert_eq!(server, client);
            // pycognito pads the SALT string as received; identical to ours.
            assert_eq!(hex_pad(&decode_hex_int(&ver.salt_hex()).expect("hex")), ver.salt_hex());
        }
    }

    #[test]
    fn rejects_bad_a() {
        let ver = verifier_with_salt("Pool", "bob", "pw", b"salt");
        let ch = server_challenge(&ver.verifier).expect("challenge");
        let n_hex = hex::encode(modulus().to_be_bytes().as_ref());
        let cases: Vec<String> = vec![
            "0".into(),
            "00".into(),
            "0000000000".into(),
            n_hex.clone(),
            format!("00{n_hex}"),
            n_hex.to_uppercase(),
            // N + 1 (≥ N, not reduced): refused too.
            hex::encode(modulus().wrapping_add(&U3072::ONE).to_be_bytes().as_ref()),
            // 2^3072 + 1: does not fit.
            format!("1{}1", "0".repeat(767)),
        ];
        for a_hex in &cases {
            assert_eq!(
                session_key(a_hex, &ch.big_b, &ch.b_secret, &ver.verifier),
                Err(SrpError::InvalidA),
                "A = {}…",
                a_hex.get(..16).unwrap_or(a_hex)
            );
        }
    }

    #[test]
    fn garbage_hex_is_an_error_not_a_panic() {
        let ver = verifier_with_salt("Pool", "bob", "pw", b"salt");
        let ch = server_challenge(&ver.verifier).expect("challenge");
        for a_hex in ["", "0x1234", "12 34", "zz", "-1", "+1", "１２", "é", "abc\n", &"f".repeat(5000)] {
            assert_eq!(
                session_key(a_hex, &ch.big_b, &ch.b_secret, &ver.verifier),
                Err(SrpError::InvalidHex),
                "{a_hex:?}"
            );
        }
        // Odd length is valid hex for a small A (pycognito emits it): no panic, valid.
        assert!(session_key("abc", &ch.big_b, &ch.b_secret, &ver.verifier).is_ok());
        assert_eq!(decode_hex_int("abc").expect("odd"), vec![0x0a, 0xbc]);
        assert_eq!(decode_hex_int("ABCD").expect("even"), vec![0xab, 0xcd]);
        // 1 is a group element; so is N-1. Neither panics.
        assert!(session_key("1", &ch.big_b, &ch.b_secret, &ver.verifier).is_ok());
        let n_minus_1 = modulus().wrapping_sub(&U3072::ONE);
        let hex_nm1 = hex::encode(n_minus_1.to_be_bytes().as_ref());
        assert!(session_key(&hex_nm1, &ch.big_b, &ch.b_secret, &ver.verifier).is_ok());
    }

    #[test]
    fn bad_stored_values_are_errors() {
        let n = pad_uint(&modulus());
        assert_eq!(server_challenge(&n).err(), Some(SrpError::InvalidVerifier));
        assert_eq!(server_challenge(&[]).err(), Some(SrpError::InvalidVerifier));
        assert_eq!(server_challenge(&[0; 10]).err(), Some(SrpError::InvalidVerifier));
        assert_eq!(server_challenge(&[1; 400]).err(), Some(SrpError::InvalidVerifier));
        let ver = verifier_with_salt("Pool", "bob", "pw", b"salt");
        assert_eq!(server_challenge_with_b(&ver.verifier, &[]).err(), Some(SrpError::InvalidSecret));
        assert_eq!(server_challenge_with_b(&ver.verifier, &[0; 32]).err(), Some(SrpError::InvalidSecret));
        assert_eq!(server_challenge_with_b(&ver.verifier, &[1; 385]).err(), Some(SrpError::InvalidSecret));
        let ch = server_challenge(&ver.verifier).expect("challenge");
        let (_, big_a) = client::generate_a();
        let a_hex = hex::encode(&big_a);
        assert_eq!(session_key(&a_hex, &n, &ch.b_secret, &ver.verifier), Err(SrpError::InvalidB));
        assert_eq!(session_key(&a_hex, &[], &ch.b_secret, &ver.verifier), Err(SrpError::InvalidB));
        assert_eq!(session_key(&a_hex, &ch.big_b, &ch.b_secret, &n), Err(SrpError::InvalidVerifier));
        // Client refuses B ≡ 0.
        let (a, big_a) = client::generate_a();
        assert_eq!(client::session_key(&a, &big_a, &hex::encode(&n), "00", "P", "u", "p"), Err(SrpError::InvalidB));
        assert_eq!(client::session_key(&a, &big_a, "0", "00", "P", "u", "p"), Err(SrpError::InvalidB));
    }

    /// One full sign-in; returns (server key, client key) and the challenge data.
    fn sign_in(password_used: &str) -> ([u8; 16], [u8; 16]) {
        let ver = verifier_with_salt("AbC", "alice", "right password", &[7; 16]);
        let ch = server_challenge(&ver.verifier).expect("challenge");
        let (a, big_a) = client::generate_a();
        let server = session_key(&hex::encode(&big_a), &ch.big_b, &ch.b_secret, &ver.verifier).expect("srv");
        let client = client::session_key(&a, &big_a, &ch.srp_b_hex(), &ver.salt_hex(), "AbC", "alice", password_used)
            .expect("cli");
        (server, client)
    }

    #[test]
    fn wrong_password_fails_signature() {
        let (server, client) = sign_in("wrong password");
        assert_ne!(server, client);
        let block = BASE64.encode([1u8; 64]);
        let ts = "Mon Jan 2 03:04:05 UTC 2026";
        let sig = client::claim_signature(&client, "AbC", "alice", &block, ts).expect("sig");
        assert_eq!(verify_claim(&server, "AbC", "alice", &block, ts, &sig), Err(SrpError::SignatureMismatch));
    }

    #[test]
    fn tampering_fails_signature() {
        let (server, client) = sign_in("right password");
        assert_eq!(server, client);
        let block = BASE64.encode([9u8; 48]);
        let ts = "Mon Jan 2 03:04:05 UTC 2026";
        let sig = client::claim_signature(&client, "AbC", "alice", &block, ts).expect("sig");
        verify_claim(&server, "AbC", "alice", &block, ts, &sig).expect("genuine");

        let mismatch = Err(SrpError::SignatureMismatch);
        for ts2 in ["Mon Jan 2 03:04:06 UTC 2026", "Mon Jan 02 03:04:05 UTC 2026", ""] {
            assert_eq!(verify_claim(&server, "AbC", "alice", &block, ts2, &sig), mismatch);
        }
        assert_eq!(verify_claim(&server, "AbC", "alicE", &block, ts, &sig), mismatch);
        assert_eq!(verify_claim(&server, "AbD", "alice", &block, ts, &sig), mismatch);
        let other_block = BASE64.encode([8u8; 48]);
        assert_eq!(verify_claim(&server, "AbC", "alice", &other_block, ts, &sig), mismatch);
        // Malformed signatures: mismatch, not panic.
        for bad in ["", "!!!!", "AAAA", &sig[..sig.len() - 1], &"A".repeat(10_000)] {
            assert_eq!(verify_claim(&server, "AbC", "alice", &block, ts, bad), mismatch);
        }
        // Malformed secret block.
        assert_eq!(verify_claim(&server, "AbC", "alice", "not base64!", ts, &sig), Err(SrpError::InvalidSecretBlock));
    }

    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp(0), "Thu Jan 1 00:00:00 UTC 1970");
        assert_eq!(format_timestamp(951_782_400), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(format_timestamp(1_767_323_045), "Fri Jan 2 03:04:05 UTC 2026");
        assert_eq!(format_timestamp(-1), "Wed Dec 31 23:59:59 UTC 1969");
        // Every day over a span (incl. leap years and 2100) round-trips.
        let mut t = 4_102_444_800 - 3 * 366 * 86_400; // around 2097
        while t < 4_102_444_800 + 800 * 86_400 {
            let s = format_timestamp(t);
            assert_eq!(parse_timestamp(&s), Some(t), "{s}");
            t += 86_400 + 3_599;
        }
        for t in [0, 1_700_000_000, 1_767_323_045, 253_402_300_799] {
            assert_eq!(parse_timestamp(&format_timestamp(t)), Some(t));
        }
        // Leniency that does not matter for the signature: padded day, unpadded hour.
        assert_eq!(parse_timestamp("Fri Jan 02 03:04:05 UTC 2026"), Some(1_767_323_045));
        assert_eq!(parse_timestamp("Fri Jan 2 3:04:05 UTC 2026"), Some(1_767_323_045));
        // Weekday not cross-checked (see parse_timestamp).
        assert_eq!(parse_timestamp("Mon Jan 2 03:04:05 UTC 2026"), Some(1_767_323_045));
        for bad in [
            "",
            "Xyz Jan 2 03:04:05 UTC 2026",
            "fri Jan 2 03:04:05 UTC 2026",
            "Fri Jan 2 03:04:05 GMT 2026",
            "Fri Jan  2 03:04:05 UTC 2026",
            "Fri Jan 2 03:04:05 UTC 2026 ",
            "Fri Jan 2 03:04 UTC 2026",
            "Fri Jan 2 03:04:5 UTC 2026",
            "Fri Jan 2 24:00:00 UTC 2026",
            "Fri Jan 2 03:60:00 UTC 2026",
            "Fri Jan 2 03:04:+5 UTC 2026",
            "Fri Jan 32 03:04:05 UTC 2026",
            "Sun Feb 29 00:00:00 UTC 2026",
            "Fri Jan 0 03:04:05 UTC 2026",
            "Fri Jan 2 03:04:05 UTC 26",
            "Fri jan 2 03:04:05 UTC 2026",
            "Fri Jan 2 03:04:05:06 UTC 2026",
            "Fri Jan 2 03:04:05 UTC +026",
            "Frí Jan 2 03:04:05 UTC 2026",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
        // Extreme inputs do not panic.
        let _ = format_timestamp(i64::MAX);
        let _ = format_timestamp(i64::MIN);
    }

    #[test]
    fn padding_rule() {
        assert_eq!(pad_bytes(&[]), vec![0]);
        assert_eq!(pad_bytes(&[0, 0]), vec![0]);
        assert_eq!(pad_bytes(&[0x7f]), vec![0x7f]);
        assert_eq!(pad_bytes(&[0x80]), vec![0, 0x80]);
        assert_eq!(pad_bytes(&[0, 0, 0x0f, 0xff]), vec![0x0f, 0xff]);
        assert_eq!(pad_bytes(&[0, 0xab]), vec![0, 0xab]);
        assert_eq!(hex_pad(&[0x02]), "02");
        assert_eq!(hex_pad(&decode_hex_int("fff").expect("hex")), "0fff");
        assert_eq!(hex_pad(&decode_hex_int("8ff").expect("hex")), "08ff");
        assert_eq!(hex_pad(&decode_hex_int("ff").expect("hex")), "00ff");
        assert_eq!(pool_name("us-east-1_AbC"), "AbC");
        assert_eq!(pool_name("AbC"), "AbC");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let b = SecretExponent::from_bytes(&[0xab; 32]).expect("b");
        let shown = format!("{b:?}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        let ver = verifier_with_salt("P", "u", "p", &[1; 16]);
        assert!(format!("{ver:?}").contains("redacted"));
    }
}
