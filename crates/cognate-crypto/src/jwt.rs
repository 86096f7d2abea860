//! RS256 JSON Web Tokens: signing Cognate's ID and access tokens, the JWKS
//! that verifies them, and verification of tokens against a key set.
//!
//! Tokens must verify with any ordinary JWT library (PyJWT, aws-jwt-verify,
//! jose) against the JWKS Cognate serves, so the shapes follow Cognito:
//!
//! * header `{"kid":"…","alg":"RS256"}` (kid first, no `typ`);
//! * JWK `{"alg":"RS256","e":"AQAB","kid":"…","kty":"RSA","n":"…","use":"sig"}`;
//! * every segment base64url without padding.
//!
//! Verification accepts RS256 only: the algorithm is fixed here, never taken
//! from the token, so `alg: none`, `HS256` (key confusion) and any other value
//! are rejected before a key is looked up. Keys are found by `kid` only;
//! header members that point elsewhere (`jku`, `jwk`, `x5u`, …) are ignored,
//! and a `crit` member is refused. The payload is decoded only after the
//! signature has been checked.
//!
//! [`verify`] checks the signature and returns the claims; the caller checks
//! `exp`, `iss`, `aud`/`client_id` and `token_use` against its own clock and
//! configuration. [`check_time`] does the time part.
//!
//! Signing uses RSA blinding (a fresh random blind per signature), since the
//! private-key operation in the `rsa` crate is not constant-time.

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The only algorithm signed or accepted.
pub const ALG: &str = "RS256";

/// Size of keys made by [`SigningKey::generate`], as Cognito uses.
pub const KEY_BITS: usize = 2048;

/// Smallest modulus accepted, for signing keys and for keys read from a JWKS.
pub const MIN_KEY_BITS: usize = 2048;

/// Largest modulus accepted (no RSA key of a JWKS needs more; it bounds
/// what a verification costs).
pub const MAX_KEY_BITS: usize = 4096;

/// Longest token [`verify`] looks at; anything longer is malformed.
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Why a token or key was refused. Carries no token content, so it is safe
/// to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url segments, a header or payload that is not a JSON
    /// object, a `kid` that is not a string, or longer than [`MAX_TOKEN_LEN`].
    Malformed,
    /// The header's `alg` is not exactly `RS256` (`none`, `HS256`, missing,
    /// …), or the header has a `crit` member.
    BadAlgorithm,
    /// The header has no `kid`.
    MissingKid,
    /// No key with the header's `kid`.
    UnknownKid,
    /// The signature does not verify under the key named by `kid`.
    BadSignature,
    /// A key that cannot be used; the text says which part is wrong.
    BadKey(&'static str),
    /// `exp` has passed (allowing for leeway).
    Expired,
    /// `nbf` or `iat` lies in the future (allowing for leeway).
    NotYetValid,
    /// A time claim is missing (`exp`) or is not a number.
    BadClaim(&'static str),
    /// Key generation, encoding or signing failed inside the RSA library.
    Crypto,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed => f.write_str("malformed token"),
            JwtError::BadAlgorithm => f.write_str("token algorithm is not RS256"),
            JwtError::MissingKid => f.write_str("token header has no kid"),
            JwtError::UnknownKid => f.write_str("token kid matches no known key"),
            JwtError::BadSignature => f.write_str("token signature does not verify"),
            JwtError::BadKey(what) => write!(f, "unusable key: {what}"),
            JwtError::Expired => f.write_str("token has expired"),
            JwtError::NotYetValid => f.write_str("token is not yet valid"),
            JwtError::BadClaim(name) => write!(f, "claim {name} is missing or not a number"),
            JwtError::Crypto => f.write_str("RSA operation failed"),
        }
    }
}

impl std::error::Error for JwtError {}

/// Private key bytes, overwritten when dropped (best effort: copies the
/// compiler or allocator made are out of reach).
pub struct Zeroizing(Vec<u8>);

impl std::ops::Deref for Zeroizing {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl Drop for Zeroizing {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

impl std::fmt::Debug for Zeroizing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Zeroizing({} bytes)", self.0.len())
    }
}

/// The JOSE header, serialised with `kid` first as Cognito does.
#[derive(Serialize)]
struct Header<'a> {
    kid: &'a str,
    alg: &'a str,
}

/// An RSA signing key with its `kid`, parsed once and kept: building the
/// key (and its CRT values) per token would multiply the cost of signing.
/// Signing is AWS-LC's (blinded), the fastest RS256 on these CPUs.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: Arc<KeyPair>,
    /// The public modulus and exponent, big-endian without leading zeros.
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random 2048-bit key (public exponent 65537).
    pub fn generate(kid: &str) -> Result<Self, JwtError> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| JwtError::Crypto)?;
        Self::from_key(kid, key)
    }

    /// Reads a PKCS#8 DER private key (as written by [`Self::to_pkcs8_der`]).
    /// The key is validated; keys outside 2048–4096 bits are refused.
    pub fn from_pkcs8_der(kid: &str, der: &[u8]) -> Result<Self, JwtError> {
        let key = KeyPair::from_pkcs8(der).map_err(|_| JwtError::BadKey("not an RSA PKCS#8 private key"))?;
        Self::from_key(kid, key)
    }

    fn from_key(kid: &str, key: KeyPair) -> Result<Self, JwtError> {
        if kid.is_empty() {
            return Err(JwtError::BadKey("empty kid"));
        }
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        check_modulus(&n)?;
        Ok(SigningKey { kid: kid.to_owned(), key: Arc::new(key), n, e })
    }

    /// The private key as PKCS#8 DER, for sealing at rest. The buffer is
    /// wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing, JwtError> {
        let der = self.key.as_der().map_err(|_| JwtError::Crypto)?;
        Ok(Zeroizing(der.as_ref().to_vec()))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public modulus, big-endian without leading zeros.
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public JWK, in the shape and member order of Cognito's JWKS.
    pub fn jwk(&self) -> Value {
        // Members are written in alphabetical order, which is Cognito's order
        // and also what serde_json keeps whether or not `preserve_order` is on.
        json!({
            "alg": ALG,
            "e": B64.encode(&self.e),
            "kid": self.kid,
            "kty": "RSA",
            "n": B64.encode(&self.n),
            "use": "sig",
        })
    }

    /// Signs `claims` as a compact RS256 JWT with header `{"kid":…,"alg":"RS256"}`.
    pub fn sign<C: serde::Serialize + ?Sized>(&self, claims: &C) -> Result<String, JwtError> {
        let header = serde_json::to_vec(&Header { kid: &self.kid, alg: ALG }).map_err(|_| JwtError::Crypto)?;
        let payload = serde_json::to_vec(claims).map_err(|_| JwtError::Crypto)?;
        let mut token = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 350);
        B64.encode_string(&header, &mut token);
        token.push('.');
        B64.encode_string(&payload, &mut token);
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        crate::meter::measure(crate::meter::Kind::Rs256Sign, || {
            self.key.sign(&RSA_PKCS1_SHA256, &rng, token.as_bytes(), &mut signature)
        })
        .map_err(|_| JwtError::Crypto)?;
        token.push('.');
        B64.encode_string(&signature, &mut token);
        Ok(token)
    }
}

/// `{"keys":[…]}` for the given keys, as served at `/.well-known/jwks.json`.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// Public keys by `kid`, against which tokens are verified; each parsed
/// once (AWS-LC).
#[derive(Clone, Default)]
pub struct VerifyingKeys {
    keys: BTreeMap<String, ParsedPublicKey>,
}

impl std::fmt::Debug for VerifyingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKeys").field("kids", &self.keys.keys().collect::<Vec<_>>()).finish()
    }
}

impl VerifyingKeys {
    /// The public halves of Cognate's own signing keys.
    pub fn from_signing_keys(keys: &[&SigningKey]) -> Result<Self, JwtError> {
        let mut out = VerifyingKeys::default();
        for k in keys {
            out.insert(&k.kid, &k.n, &k.e)?;
        }
        Ok(out)
    }

    /// Reads a JWKS document (`{"keys":[…]}`). Keys that are not RSA, are
    /// marked for another algorithm (`alg` other than RS256) or for
    /// encryption (`use` other than `sig`) are skipped; an RSA signing key
    /// that is malformed, smaller than 2048 bits or repeats a `kid` is an
    /// error.
    pub fn from_jwks(jwks: &Value) -> Result<Self, JwtError> {
        let list = jwks.get("keys").and_then(Value::as_array).ok_or(JwtError::BadKey("JWKS has no keys array"))?;
        let mut out = VerifyingKeys::default();
        for jwk in list {
            let jwk = jwk.as_object().ok_or(JwtError::BadKey("JWK is not an object"))?;
            let member = |name: &str| jwk.get(name).and_then(Value::as_str);
            if member("kty") != Some("RSA")
                || member("alg").is_some_and(|a| a != ALG)
                || member("use").is_some_and(|u| u != "sig")
            {
                continue;
            }
            let kid = member("kid").filter(|k| !k.is_empty()).ok_or(JwtError::BadKey("JWK has no kid"))?;
            let n = member("n").and_then(|n| B64.decode(n).ok()).ok_or(JwtError::BadKey("JWK n is not base64url"))?;
            let e = member("e").and_then(|e| B64.decode(e).ok()).ok_or(JwtError::BadKey("JWK e is not base64url"))?;
            out.insert(kid, strip_zeros(&n), strip_zeros(&e))?;
        }
        Ok(out)
    }

    fn insert(&mut self, kid: &str, n: &[u8], e: &[u8]) -> Result<(), JwtError> {
        check_modulus(n)?;
        let invalid = || JwtError::BadKey("JWK is not a valid RSA public key");
        // A public exponent of 3 to 2^32 - 1 (AWS-LC's own bounds), odd.
        if e.is_empty() || e.len() > 4 || e.last().is_none_or(|b| b & 1 == 0) || e == [1] {
            return Err(invalid());
        }
        if self.keys.contains_key(kid) {
            return Err(JwtError::BadKey("duplicate kid"));
        }
        let spki = PublicKeyComponents { n, e }.as_der().map_err(|_| invalid())?;
        let key = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki.as_ref()).map_err(|_| invalid())?;
        self.keys.insert(kid.to_owned(), key);
        Ok(())
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Verifies an RS256 compact JWT and returns its claims.
///
/// Checks, in order: three base64url segments; a JSON-object header whose
/// `alg` is exactly `RS256` and which has no `crit`; a string `kid` naming a
/// key in `keys`; the signature; then that the payload is a JSON object. It
/// does not check `exp` or any other claim: see [`check_time`].
pub fn verify(token: &str, keys: &VerifyingKeys) -> Result<Map<String, Value>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };

    let header = decode_object(header_b64)?;
    if header.get("alg").and_then(Value::as_str) != Some(ALG) || header.contains_key("crit") {
        return Err(JwtError::BadAlgorithm);
    }
    let kid = match header.get("kid") {
        Some(Value::String(kid)) => kid,
        Some(_) => return Err(JwtError::Malformed),
        None => return Err(JwtError::MissingKid),
    };
    let key = keys.keys.get(kid.as_str()).ok_or(JwtError::UnknownKid)?;

    let signature = B64.decode(signature_b64).map_err(|_| JwtError::Malformed)?;
    let signing_input = token.get(..header_b64.len() + 1 + payload_b64.len()).ok_or(JwtError::Malformed)?;
    crate::meter::measure(crate::meter::Kind::Rs256Verify, || key.verify_sig(signing_input.as_bytes(), &signature))
        .map_err(|_| JwtError::BadSignature)?;

    decode_object(payload_b64)
}

/// Checks the time claims at `now` (seconds since the Unix epoch), allowing
/// `leeway` seconds of clock skew either way: `exp` must be present and
/// `now < exp + leeway`; `nbf` and `iat`, when present, must be no later than
/// `now + leeway`. The rules are PyJWT's. NumericDate values may be
/// fractional.
pub fn check_time(claims: &Map<String, Value>, now: u64, leeway: u64) -> Result<(), JwtError> {
    let late = now.saturating_sub(leeway) as f64;
    let early = now.saturating_add(leeway) as f64;
    let exp = numeric_claim(claims, "exp")?.ok_or(JwtError::BadClaim("exp"))?;
    if exp <= late {
        return Err(JwtError::Expired);
    }
    for name in ["nbf", "iat"] {
        if numeric_claim(claims, name)?.is_some_and(|t| t > early) {
            return Err(JwtError::NotYetValid);
        }
    }
    Ok(())
}

fn numeric_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>, JwtError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or(JwtError::BadClaim(name)),
    }
}

fn decode_object(segment: &str) -> Result<Map<String, Value>, JwtError> {
    let bytes = B64.decode(segment).map_err(|_| JwtError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)
}

/// Big-endian bytes without their leading zeros (JWKs may carry them,
/// though RFC 7518 §6.3.1 says not to).
fn strip_zeros(x: &[u8]) -> &[u8] {
    &x[x.iter().position(|b| *b != 0).unwrap_or(x.len())..]
}

/// Bits in a big-endian unsigned number without leading zeros.
fn bit_len(x: &[u8]) -> usize {
    match x.first() {
        None => 0,
        Some(top) => (x.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

fn check_modulus(n: &[u8]) -> Result<(), JwtError> {
    let bits = bit_len(strip_zeros(n));
    if bits < MIN_KEY_BITS {
        return Err(JwtError::BadKey("RSA modulus smaller than 2048 bits"));
    }
    if bits > MAX_KEY_BITS {
        return Err(JwtError::BadKey("RSA modulus larger than 4096 bits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    // Key generation dominates test time, so each test key is made once.
    fn key_a() -> &'static SigningKey {
        static K: OnceLock<SigningKey> = OnceLock::new();
        K.get_or_init(|| SigningKey::generate("key-a").unwrap())
    }

    fn key_b() -> &'static SigningKey {
        static K: OnceLock<SigningKey> = OnceLock::new();
        K.get_or_init(|| SigningKey::generate("key-b").unwrap())
    }

    fn keys_ab() -> VerifyingKeys {
        VerifyingKeys::from_jwks(&jwks(&[key_a(), key_b()])).unwrap()
    }

    fn claims() -> Map<String, Value> {
        let Value::Object(m) = json!({
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin",
            "auth_time": 1_700_000_000,
            "exp": 1_700_003_600,
            "iat": 1_700_000_000,
            "jti": "0f0e0d0c",
            "client_id": "3n4b5urk1ft4fl3mg5e62d9ado",
            "username": "alice",
            "cognito:groups": ["admins", "ünïcödé"],
        }) else {
            unreachable!()
        };
        m
    }

    fn b64json(v: &Value) -> String {
        B64.encode(serde_json::to_vec(v).unwrap())
    }

    fn segments(token: &str) -> Vec<&str> {
        token.split('.').collect()
    }

    /// Signs an arbitrary signing input with the raw RSA key, to build tokens
    /// with a valid signature over a header or payload `sign` would not make.
    fn raw_sign(key: &SigningKey, header: &str, payload: &str) -> String {
        let input = format!("{header}.{payload}");
        format!("{input}.{}", B64.encode(raw_signature(key, &input)))
    }

    fn raw_signature(key: &SigningKey, input: &str) -> Vec<u8> {
        let mut sig = vec![0u8; key.key.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        key.key.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig).unwrap();
        sig
    }

    fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        use sha2::{Digest as _, Sha256};
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let inner = Sha256::new().chain_update(k.map(|b| b ^ 0x36)).chain_update(msg).finalize();
        Sha256::new().chain_update(k.map(|b| b ^ 0x5c)).chain_update(inner).finalize().to_vec()
    }

    #[test]
    fn round_trip() {
        let c = claims();
        let token = key_a().sign(&c).unwrap();
        assert_eq!(verify(&token, &keys_ab()).unwrap(), c);
        let via_signing = VerifyingKeys::from_signing_keys(&[key_a()]).unwrap();
        assert_eq!(verify(&token, &via_signing).unwrap(), c);
        let token_b = key_b().sign(&c).unwrap();
        assert_eq!(verify(&token_b, &keys_ab()).unwrap(), c);
    }

    #[test]
    fn header_is_kid_then_alg() {
        let token = key_a().sign(&claims()).unwrap();
        let header = B64.decode(segments(&token)[0]).unwrap();
        assert_eq!(header, br#"{"kid":"key-a","alg":"RS256"}"#);
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
        // 2048-bit signature: 256 bytes, 342 base64url characters.
        assert_eq!(segments(&token)[2].len(), 342);
    }

    #[test]
    fn tampered_payload_fails() {
        let token = key_a().sign(&claims()).unwrap();
        let s = segments(&token);
        let mut c = claims();
        c.insert("username".into(), json!("mallory"));
        let forged = format!("{}.{}.{}", s[0], b64json(&Value::Object(c)), s[2]);
        assert_eq!(verify(&forged, &keys_ab()), Err(JwtError::BadSignature));
    }

    #[test]
    fn tampered_header_fails() {
        let token = key_a().sign(&claims()).unwrap();
        let s = segments(&token);
        let h = b64json(&json!({"kid": "key-a", "alg": "RS256", "typ": "JWT"}));
        let forged = format!("{h}.{}.{}", s[1], s[2]);
        assert_eq!(verify(&forged, &keys_ab()), Err(JwtError::BadSignature));
        // Pointing the signature at the other key fails too.
        let h = b64json(&json!({"kid": "key-b", "alg": "RS256"}));
        let forged = format!("{h}.{}.{}", s[1], s[2]);
        assert_eq!(verify(&forged, &keys_ab()), Err(JwtError::BadSignature));
    }

    #[test]
    fn tampered_signature_fails() {
        let token = key_a().sign(&claims()).unwrap();
        let s = segments(&token);
        let mut sig = B64.decode(s[2]).unwrap();
        sig[100] ^= 1;
        let forged = format!("{}.{}.{}", s[0], s[1], B64.encode(&sig));
        assert_eq!(verify(&forged, &keys_ab()), Err(JwtError::BadSignature));
        // Truncated, extended and empty signatures.
        let short = format!("{}.{}.{}", s[0], s[1], B64.encode(&sig[..255]));
        assert_eq!(verify(&short, &keys_ab()), Err(JwtError::BadSignature));
        sig.push(0);
        let long = format!("{}.{}.{}", s[0], s[1], B64.encode(&sig));
        assert_eq!(verify(&long, &keys_ab()), Err(JwtError::BadSignature));
        let empty = format!("{}.{}.", s[0], s[1]);
        assert_eq!(verify(&empty, &keys_ab()), Err(JwtError::BadSignature));
        // Another key's valid signature over the same input.
        let other = raw_signature(key_b(), &format!("{}.{}", s[0], s[1]));
        let swapped = format!("{}.{}.{}", s[0], s[1], B64.encode(&other));
        assert_eq!(verify(&swapped, &keys_ab()), Err(JwtError::BadSignature));
    }

    #[test]
    fn alg_none_rejected_even_with_matching_kid() {
        let p = b64json(&Value::Object(claims()));
        let real = key_a().sign(&claims()).unwrap();
        let real_sig = segments(&real)[2];
        for alg in ["none", "None", "NONE"] {
            let h = b64json(&json!({"kid": "key-a", "alg": alg}));
            assert_eq!(verify(&format!("{h}.{p}."), &keys_ab()), Err(JwtError::BadAlgorithm));
            assert_eq!(verify(&format!("{h}.{p}.{real_sig}"), &keys_ab()), Err(JwtError::BadAlgorithm));
        }
    }

    #[test]
    fn hs256_rejected_even_with_matching_kid() {
        // The classic key-confusion forgery: HMAC keyed with the public key
        // as a verifier that trusted the header's alg would see it.
        let p = b64json(&Value::Object(claims()));
        let h = b64json(&json!({"kid": "key-a", "alg": "HS256"}));
        let input = format!("{h}.{p}");
        for secret in [serde_json::to_vec(&key_a().jwk()).unwrap(), key_a().modulus().to_vec(), b"key-a".to_vec()] {
            let mac = hmac_sha256(&secret, input.as_bytes());
            let forged = format!("{input}.{}", B64.encode(mac));
            assert_eq!(verify(&forged, &keys_ab()), Err(JwtError::BadAlgorithm));
        }
    }

    #[test]
    fn other_alg_headers_rejected() {
        let p = b64json(&Value::Object(claims()));
        for header in [
            json!({"kid": "key-a"}),
            json!({"kid": "key-a", "alg": "rs256"}),
            json!({"kid": "key-a", "alg": "RS256 "}),
            json!({"kid": "key-a", "alg": "RS384"}),
            json!({"kid": "key-a", "alg": "PS256"}),
            json!({"kid": "key-a", "alg": "ES256"}),
            json!({"kid": "key-a", "alg": ["RS256"]}),
            json!({"kid": "key-a", "alg": null}),
            json!({"kid": "key-a", "alg": "RS256", "crit": ["exp"]}),
        ] {
            // Validly signed by key-a, so only the header check can refuse it.
            let token = raw_sign(key_a(), &b64json(&header), &p);
            assert_eq!(verify(&token, &keys_ab()), Err(JwtError::BadAlgorithm), "{header}");
        }
    }

    #[test]
    fn kid_checks() {
        let stranger = SigningKey::from_pkcs8_der("key-c", &key_b().to_pkcs8_der().unwrap()).unwrap();
        let token = stranger.sign(&claims()).unwrap();
        assert_eq!(verify(&token, &keys_ab()), Err(JwtError::UnknownKid));
        assert_eq!(verify(&token, &VerifyingKeys::default()), Err(JwtError::UnknownKid));

        let p = b64json(&Value::Object(claims()));
        let no_kid = raw_sign(key_a(), &b64json(&json!({"alg": "RS256"})), &p);
        assert_eq!(verify(&no_kid, &keys_ab()), Err(JwtError::MissingKid));
        let num_kid = raw_sign(key_a(), &b64json(&json!({"alg": "RS256", "kid": 1})), &p);
        assert_eq!(verify(&num_kid, &keys_ab()), Err(JwtError::Malformed));
        // Extra header members (jku, jwk, typ) do not change how the key is found.
        let jku = raw_sign(
            key_a(),
            &b64json(&json!({"alg": "RS256", "kid": "key-a", "jku": "http://127.0.0.1/evil", "typ": "JWT"})),
            &p,
        );
        assert_eq!(verify(&jku, &keys_ab()).unwrap(), claims());
    }

    #[test]
    fn malformed_tokens_are_errors() {
        let token = key_a().sign(&claims()).unwrap();
        let s = segments(&token);
        let good_h = s[0];
        let cases = [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            "abc".into(),
            format!("{good_h}.{}", s[1]),
            format!("{token}.{}", s[2]),
            format!("{token}."),
            format!("!!!.{}.{}", s[1], s[2]),
            format!("{good_h}=.{}.{}", s[1], s[2]),
            format!("{}.{}.{}", B64.encode("not json"), s[1], s[2]),
            format!("{}.{}.{}", B64.encode("[1,2]"), s[1], s[2]),
            format!("{}.{}.{}", B64.encode("\"RS256\""), s[1], s[2]),
            format!("{}.{}.{}", B64.encode([0xff, 0xfe]), s[1], s[2]),
            format!("{good_h}.{}.%%%", s[1]),
            format!("{good_h}.{}.{}=", s[1], s[2]),
            "x".repeat(MAX_TOKEN_LEN + 1),
            "é.é.é".into(),
        ];
        for t in &cases {
            let r = verify(t, &keys_ab());
            assert!(r.is_err(), "accepted {t:?}");
        }
        assert_eq!(verify("a.b", &keys_ab()), Err(JwtError::Malformed));
        assert_eq!(verify(&format!("{token}.x"), &keys_ab()), Err(JwtError::Malformed));
        // A correctly signed token whose payload is not a JSON object.
        for payload in [B64.encode("not json"), B64.encode("[]"), B64.encode("42"), String::new()] {
            let t = raw_sign(key_a(), good_h, &payload);
            assert_eq!(verify(&t, &keys_ab()), Err(JwtError::Malformed));
        }
    }

    #[test]
    fn jwk_shape_and_encoding() {
        let k = key_a();
        let jwk = k.jwk();
        assert_eq!(
            serde_json::to_string(&jwk).unwrap(),
            format!(
                r#"{{"alg":"RS256","e":"AQAB","kid":"key-a","kty":"RSA","n":"{}","use":"sig"}}"#,
                jwk["n"].as_str().unwrap()
            )
        );
        let n = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 256);
        assert_ne!(n[0], 0);
        assert_eq!(n, k.modulus());
        assert_eq!(B64.decode("AQAB").unwrap(), [1, 0, 1]);
        // Minimal big-endian encoding: no leading zero bytes.
        assert_eq!(strip_zeros(&[0, 0, 0x80, 1]), [0x80, 1]);
        assert_eq!(strip_zeros(&[0, 0]), [0u8; 0]);
        assert_eq!((bit_len(&[0x80, 1]), bit_len(&[1]), bit_len(&[])), (16, 1, 0));
        assert_eq!(jwks(&[k, key_b()])["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn der_round_trip_keeps_key() {
        let der = key_a().to_pkcs8_der().unwrap();
        let back = SigningKey::from_pkcs8_der("key-a", &der).unwrap();
        assert_eq!(back.modulus(), key_a().modulus());
        assert_eq!(back.jwk(), key_a().jwk());
        // PKCS#1 v1.5 is deterministic: same key, same claims, same token.
        assert_eq!(back.sign(&claims()).unwrap(), key_a().sign(&claims()).unwrap());
        assert_eq!(verify(&back.sign(&claims()).unwrap(), &keys_ab()).unwrap(), claims());

        assert!(matches!(SigningKey::from_pkcs8_der("k", b"garbage"), Err(JwtError::BadKey(_))));
        assert!(matches!(SigningKey::from_pkcs8_der("k", &der[..der.len() - 1]), Err(JwtError::BadKey(_))));
        assert!(matches!(SigningKey::from_pkcs8_der("", &der), Err(JwtError::BadKey(_))));
        assert!(format!("{back:?}").contains("key-a"));
    }

    #[test]
    fn jwks_parsing() {
        let a = key_a().jwk();
        let mut lenient = a.clone();
        // A leading zero byte on n is tolerated on input.
        let mut n = vec![0u8];
        n.extend(B64.decode(a["n"].as_str().unwrap()).unwrap());
        lenient["n"] = json!(B64.encode(&n));
        lenient["kid"] = json!("padded");
        let mut bare = key_b().jwk();
        bare.as_object_mut().unwrap().remove("alg");
        bare.as_object_mut().unwrap().remove("use");
        let set = json!({"keys": [
            a,
            lenient,
            bare,
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AA", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AA", "e": "AQAB"},
        ]});
        let keys = VerifyingKeys::from_jwks(&set).unwrap();
        assert_eq!(keys.len(), 3);
        assert!(keys.contains("key-a") && keys.contains("padded") && keys.contains("key-b"));
        assert!(!keys.contains("ec") && !keys.contains("enc") && !keys.contains("ps"));

        let mut small = vec![0u8; 128];
        (small[0], small[127]) = (0x80, 1);
        let small_n = B64.encode(&small);
        for bad in [
            json!({}),
            json!({"keys": {}}),
            json!({"keys": [1]}),
            json!({"keys": [{"kty": "RSA", "n": a_n(), "e": "AQAB"}]}),
            json!({"keys": [{"kty": "RSA", "kid": "", "n": a_n(), "e": "AQAB"}]}),
            json!({"keys": [{"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"}]}),
            json!({"keys": [{"kty": "RSA", "kid": "x", "n": a_n()}]}),
            json!({"keys": [{"kty": "RSA", "kid": "x", "n": a_n(), "e": "AA"}]}),
            json!({"keys": [{"kty": "RSA", "kid": "x", "n": small_n, "e": "AQAB"}]}),
            json!({"keys": [key_a().jwk(), key_a().jwk()]}),
        ] {
            assert!(matches!(VerifyingKeys::from_jwks(&bad), Err(JwtError::BadKey(_))), "{bad}");
        }
    }

    fn a_n() -> String {
        key_a().jwk()["n"].as_str().unwrap().to_owned()
    }

    /// An independent implementation's token: PyJWT 2.15.1 signed it with the
    /// PKCS#8 DER of a key exported by this module (`jwt.encode` with
    /// `headers={"kid": …}`, so its header is `{"alg","kid","typ"}`). The other
    /// direction, PyJWT verifying tokens signed here, runs in the conformance
    /// suite (conformance/python/test_signin.py) against the served JWKS.
    const PYJWT_JWK: &str = r#"{"alg":"RS256","e":"AQAB","kid":"xcheck-kid-1","kty":"RSA","n":"0AHcG6ny8Owonks2DF3er4DnN-tZcTdaVCWAb9-dPKcs66hduL2oa-3j76siyphymEmSEO22L6cbjzib9E1DQLk9TSgzxF07Z3TlYqHSAS1vX7da01vELSKCXEYpaAosc-X_MjnR0YnQnJTae4ONrUf6_dgm92rn07NYvK9ARmXbT4CdmxGQktw7wot4JTda-qfquF8yhtCIkH2PprLpFSJ5Bj62bEa_51io6LdRvCT9_cusmbMMjT1S3YYVJvGqOzO78ATzWMQDj6lDuRiHhrPt4YLaJLz3kbSqGCFHMRev0CK-0vwzqjdb1C00yEjEm2QIarZNNtDtYYfYdIFgOw","use":"sig"}"#;
    const PYJWT_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InhjaGVjay1raWQtMSIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJweWp3dCIsInN1YiI6ImJvYiIsIm4iOjEsImxpc3QiOlsieCIsIlx1MDBmYyJdfQ.HEA7MLWf4Rk4JOrlAB6jMHNL7oxVhrUerUNncwsEXKrRH0C7dl9v2qKx2blOp_mWme_s5ZdnJUSiAW2pB7MiwEAFAEvMQdWX2Fru-TbTZyufoDy_NBRqnBuhpYpbdGbRYm3F1wIGWc_6efDmogbUTWHvCmGLIVjUlTaCmMcLiX44ay0ByaLyPxr3l5nN21KniP8BLVcB2SuwPEXZ30Jn4C7brIuZIYuP3lSfz_qLhHry4CQrWcC8Gvxa2VmzSkylbKx6_ghurUg59657EF42gJPSu89_abRXRJNcdGEm2svQSm_-FePDNcVSWFAGKdB6ICwgUsnEEiLVLs_Joy7shg";

    /// AWS-LC's signatures verify with an independent implementation (the
    /// `rsa` crate), and that crate's signatures verify here.
    #[test]
    fn signatures_cross_check_with_another_rsa_implementation() {
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::signature::{SignatureEncoding as _, Signer as _, Verifier as _};
        let der = key_a().to_pkcs8_der().unwrap();
        let other = rsa::RsaPrivateKey::from_pkcs8_der(&der).unwrap();
        let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(other.to_public_key());
        let token = key_a().sign(&claims()).unwrap();
        let s = segments(&token);
        let sig = rsa::pkcs1v15::Signature::try_from(B64.decode(s[2]).unwrap().as_slice()).unwrap();
        verifier.verify(format!("{}.{}", s[0], s[1]).as_bytes(), &sig).unwrap();
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(other);
        let input = format!("{}.{}", s[0], b64json(&json!({"sub": "from-rsa-crate"})));
        let theirs = format!("{input}.{}", B64.encode(signer.sign(input.as_bytes()).to_bytes()));
        assert_eq!(verify(&theirs, &keys_ab()).unwrap()["sub"], "from-rsa-crate");
        // PKCS#1 v1.5 is deterministic: both make the same signature.
        assert_eq!(B64.decode(s[2]).unwrap(), signer.sign(format!("{}.{}", s[0], s[1]).as_bytes()).to_bytes().to_vec());
    }

    #[test]
    fn pyjwt_vector_verifies() {
        let keys =
            VerifyingKeys::from_jwks(&json!({"keys": [serde_json::from_str::<Value>(PYJWT_JWK).unwrap()]})).unwrap();
        let got = verify(PYJWT_TOKEN, &keys).unwrap();
        assert_eq!(Value::Object(got), json!({"iss": "pyjwt", "sub": "bob", "n": 1, "list": ["x", "ü"]}));
        let s = segments(PYJWT_TOKEN);
        let forged = format!("{}.{}.{}", s[0], b64json(&json!({"iss": "pyjwt", "sub": "mallory"})), s[2]);
        assert_eq!(verify(&forged, &keys), Err(JwtError::BadSignature));
    }

    #[test]
    fn time_checks() {
        let mut c = claims(); // iat 1_700_000_000, exp 1_700_003_600
        assert_eq!(check_time(&c, 1_700_000_000, 0), Ok(()));
        assert_eq!(check_time(&c, 1_700_003_599, 0), Ok(()));
        assert_eq!(check_time(&c, 1_700_003_600, 0), Err(JwtError::Expired));
        assert_eq!(check_time(&c, 1_700_003_600, 5), Ok(()));
        assert_eq!(check_time(&c, 1_700_003_605, 5), Err(JwtError::Expired));
        assert_eq!(check_time(&c, 1_699_999_999, 0), Err(JwtError::NotYetValid));
        assert_eq!(check_time(&c, 1_699_999_990, 10), Ok(()));
        c.insert("nbf".into(), json!(1_700_000_100));
        assert_eq!(check_time(&c, 1_700_000_050, 0), Err(JwtError::NotYetValid));
        assert_eq!(check_time(&c, 1_700_000_100, 0), Ok(()));
        c.insert("exp".into(), json!(1_700_003_600.5));
        assert_eq!(check_time(&c, 1_700_003_600, 0), Ok(()));
        c.insert("exp".into(), json!("1700003600"));
        assert_eq!(check_time(&c, 1_700_000_100, 0), Err(JwtError::BadClaim("exp")));
        c.remove("exp");
        assert_eq!(check_time(&c, 1_700_000_100, 0), Err(JwtError::BadClaim("exp")));
        c.insert("exp".into(), json!(1_700_003_600));
        c.insert("iat".into(), json!(null));
        assert_eq!(check_time(&c, 1_700_000_100, 0), Err(JwtError::BadClaim("iat")));
        assert_eq!(check_time(&c, 0, u64::MAX), Err(JwtError::BadClaim("iat")));
        c.remove("iat");
        assert_eq!(check_time(&c, u64::MAX, u64::MAX), Ok(()));
        assert_eq!(check_time(&c, u64::MAX, 0), Err(JwtError::Expired));
    }
}
