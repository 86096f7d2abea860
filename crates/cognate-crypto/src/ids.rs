//! Identifiers and generated secrets in the formats Cognito uses.

use rand::Rng as _;
use rand::rngs::OsRng;

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn draw(alphabet: &[u8], len: usize) -> String {
    let mut rng = OsRng;
    (0..len)
        .map(|_| {
            let i = rng.gen_range(0..alphabet.len());
            char::from(alphabet.get(i).copied().unwrap_or(b'a'))
        })
        .collect()
}

/// `us-east-1_AbC123xYz`: the region, `_`, nine mixed-case alphanumerics.
pub fn user_pool_id(region: &str) -> String {
    format!("{region}_{}", draw(ALNUM, 9))
}

/// 26 lowercase alphanumerics, as Cognito's app client ids.
pub fn client_id() -> String {
    draw(LOWER_ALNUM, 26)
}

/// 52 lowercase alphanumerics (about 268 bits), as Cognito's client secrets.
pub fn client_secret() -> String {
    draw(LOWER_ALNUM, 52)
}

/// An id for one of a client's secrets: the client id, `--`, 13 digits of
/// time-free randomness.
pub fn client_secret_id(client_id: &str) -> String {
    format!("{client_id}--{}", draw(b"0123456789", 13))
}

/// An admin access key id: `AKIA` and 16 uppercase alphanumerics, like IAM's.
pub fn access_key_id() -> String {
    format!("AKIA{}", draw(UPPER_ALNUM, 16))
}

/// A 40-character secret access key, like IAM's.
pub fn secret_access_key() -> String {
    draw(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
}

/// A random UUID (version 4), for request ids, `sub` and token ids. Drawn
/// from the thread's CSPRNG (ChaCha, seeded and periodically reseeded from
/// the OS): one per request, without a system call each.
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let p = user_pool_id("eu-west-1");
        assert!(p.starts_with("eu-west-1_") && p.len() == "eu-west-1_".len() + 9);
        assert!(p["eu-west-1_".len()..].chars().all(|c| c.is_ascii_alphanumeric()));
        let c = client_id();
        assert_eq!(c.len(), 26);
        assert!(c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit()));
        assert_eq!(client_secret().len(), 52);
        let k = access_key_id();
        assert!(k.starts_with("AKIA") && k.len() == 20);
        assert_eq!(secret_access_key().len(), 40);
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(u.as_bytes()[14], b'4');
        assert!(matches!(u.as_bytes()[19], b'8' | b'9' | b'a' | b'b'), "{u}");
        for (i, c) in u.chars().enumerate() {
            assert_eq!(c == '-', matches!(i, 8 | 13 | 18 | 23), "{u}");
            assert!(c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{u}");
        }
        assert_ne!(client_id(), client_id());
    }
}
