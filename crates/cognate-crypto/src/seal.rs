//! Sealing secrets at rest under the master key.
//!
//! A sealed value is `v1.` followed by base64 of a 24-byte random nonce and
//! the XChaCha20-Poly1305 ciphertext. The caller supplies a context string
//! (for example `admin-key:AKIA...`) that is bound as associated data, so a
//! sealed value copied into another row does not open there.
//!
//! The master key is 32 random bytes. It comes from the environment
//! (`COGNATE_MASTER_KEY`, 64 hex digits) or from a key file that is created on
//! first start with mode 0600.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use rand::rngs::OsRng;
use std::path::Path;

const PREFIX: &str = "v1.";

#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// A key for MACs of low-entropy secrets (one-time codes), derived from
    /// the master key so that a stolen database alone does not let an
    /// attacker test guesses offline.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SealError {
    /// Not a sealed value, tampered with, sealed under another key or context.
    Unseal,
    /// The key material given is not 32 bytes of hex.
    BadKey,
    Io(String),
}

impl std::fmt::Display for SealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SealError::Unseal => f.write_str("sealed value does not open under this master key"),
            SealError::BadKey => f.write_str("master key must be 64 hexadecimal digits (32 bytes)"),
            SealError::Io(e) => write!(f, "master key file: {e}"),
        }
    }
}

impl std::error::Error for SealError {}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let mac_key = crate::hmac_sha256(bytes, b"cognate/mac-key/v1");
        MasterKey { cipher: XChaCha20Poly1305::new(bytes.into()), mac_key }
    }

    /// HMAC-SHA256 under the derived MAC key, bound to `context`, as hex.
    pub fn mac(&self, context: &str, data: &[u8]) -> String {
        let mut msg = Vec::with_capacity(context.len() + 1 + data.len());
        msg.extend_from_slice(context.as_bytes());
        msg.push(0);
        msg.extend_from_slice(data);
        hex::encode(crate::hmac_sha256(&self.mac_key, &msg))
    }

    pub fn from_hex(hex_key: &str) -> Result<Self, SealError> {
        let raw = hex::decode(hex_key.trim()).map_err(|_| SealError::BadKey)?;
        let bytes: [u8; 32] = raw.try_into().map_err(|_| SealError::BadKey)?;
        Ok(Self::from_bytes(&bytes))
    }

    pub fn generate() -> Self {
        let mut b = [0u8; 32];
        OsRng.fill_bytes(&mut b);
        Self::from_bytes(&b)
    }

    /// Reads the key file, or creates it (mode 0600, never overwriting) with
    /// a fresh key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut b = [0u8; 32];
                OsRng.fill_bytes(&mut b);
                write_new_private_file(path, hex::encode(b).as_bytes()).map_err(|e| SealError::Io(e.to_string()))?;
                // Another process may have won the race to create it: read back.
                let text = std::fs::read_to_string(path).map_err(|e| SealError::Io(e.to_string()))?;
                Self::from_hex(&text)
            }
            Err(e) => Err(SealError::Io(e.to_string())),
        }
    }

    pub fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            // XChaCha20-Poly1305 encryption fails only for inputs beyond 256 GiB.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(24 + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(out))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        let body = sealed.strip_prefix(PREFIX).ok_or(SealError::Unseal)?;
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD.decode(body).map_err(|_| SealError::Unseal)?;
        if raw.len() < 24 + 16 {
            return Err(SealError::Unseal);
        }
        let (nonce, ct) = raw.split_at(24);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| SealError::Unseal)
    }
}

#[cfg(unix)]
fn write_new_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(mut f) => {
            f.write_all(contents)?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn write_new_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trip_and_context_binding() {
        let k = MasterKey::generate();
        let s = k.seal("admin-key:A", b"secret");
        assert!(s.starts_with("v1."));
        assert_eq!(k.open("admin-key:A", &s).unwrap(), b"secret");
        assert_eq!(k.open("admin-key:B", &s), Err(SealError::Unseal));
        assert_eq!(MasterKey::generate().open("admin-key:A", &s), Err(SealError::Unseal));
        assert_ne!(k.seal("c", b"x"), k.seal("c", b"x"), "fresh nonce every time");
        assert_eq!(k.mac("code", b"123456"), k.mac("code", b"123456"));
        assert_ne!(k.mac("code", b"123456"), k.mac("code2", b"123456"));
        assert_ne!(k.mac("code", b"123456"), MasterKey::generate().mac("code", b"123456"));
        for bad in ["", "v1.", "v1.AAAA", "v2.abc", "v1.!!!"] {
            assert_eq!(k.open("c", bad), Err(SealError::Unseal));
        }
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("cognate-seal-{}", crate::ids::uuid_v4()));
        let path = dir.join("master.key");
        let k1 = MasterKey::load_or_create(&path).unwrap();
        let sealed = k1.seal("c", b"v");
        let k2 = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(k2.open("c", &sealed).unwrap(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(MasterKey::from_hex("abcd").err(), Some(SealError::BadKey));
        let _ = std::fs::remove_dir_all(dir);
    }
}
