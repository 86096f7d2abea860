//! AWS Encryption SDK messages, encrypt side only: what Cognito hands the
//! CustomEmailSender and CustomSMSSender functions as `request.code`, so
//! that a function decrypts it with the official SDK (Python
//! `aws-encryption-sdk`, JavaScript `@aws-crypto/client-node`, ...) and a KMS
//! keyring, unchanged.
//!
//! The message is format version 2 with algorithm suite 0x0478
//! (AES-256-GCM, HKDF-SHA512, key commitment, no signature), one frame
//! length of 4096 bytes, and one encrypted data key from the `aws-kms`
//! provider whose provider info is the KMS key ARN. (Cognito itself sends
//! version 1 with the signed suite 0x0378; SDKs since 1.7 read both, and a
//! function configured as Cognito's documentation shows,
//! `REQUIRE_ENCRYPT_ALLOW_DECRYPT`, accepts either.)
//!
//! Layout (all integers big-endian), from the Encryption SDK specification's
//! data-format pages:
//!
//! ```text
//! header body: 02 | 04 78 | message id (32) | u16 aad len | aad
//!              | u16 key count | (u16 len, provider id, u16 len, provider info,
//!              u16 len, encrypted key)* | 02 (framed) | u32 frame length
//!              | commit key (32)
//! header auth: AES-GCM tag (16) over no plaintext, IV zero, AAD = header body
//! body:        regular frames: u32 seq | IV (12) | ciphertext | tag (16)
//!              final frame:    ff ff ff ff | u32 seq | IV (12) | u32 len
//!                              | ciphertext | tag (16)
//! ```
//!
//! The aad is the encryption context: nothing at all when it is empty, else
//! a u16 count and (u16 len, key, u16 len, value) pairs sorted by key bytes.
//! Keys come from HKDF-SHA512 with the message id as salt: the content key
//! with info `04 78 "DERIVEKEY"`, the commit key with info `"COMMITKEY"`.
//! Frame IVs are the sequence number (from 1) right-aligned in 12 bytes; each
//! frame's AAD is message id | content string | u32 seq | u64 plaintext len.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use sha2::Sha512;

/// The suite: AES_256_GCM_HKDF_SHA512_COMMIT_KEY.
const SUITE: u16 = 0x0478;
/// Bytes of plaintext per frame (the SDKs' default, and Cognito's).
pub const FRAME_LENGTH: usize = 4096;
const FRAME: &[u8] = b"AWSKMSEncryptionClient Frame";
const FINAL_FRAME: &[u8] = b"AWSKMSEncryptionClient Final Frame";

/// One encrypted data key of a message.
#[derive(Debug, Clone)]
pub struct DataKey<'a> {
    /// `aws-kms` for a KMS keyring.
    pub provider_id: &'a str,
    /// For KMS: the key ARN, exactly as the function's keyring names it.
    pub provider_info: &'a str,
    /// The data key as the provider wrapped it (for KMS, a ciphertext blob
    /// that its Decrypt opens).
    pub encrypted: &'a [u8],
}

/// Why a message could not be made: a field longer than its length prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong(pub &'static str);

impl std::fmt::Display for TooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is too long for an Encryption SDK message", self.0)
    }
}

impl std::error::Error for TooLong {}

/// Encrypts `plaintext` into a message under `data_key` (32 random bytes,
/// wrapped in `key`) with a fresh random message id.
pub fn encrypt(
    plaintext: &[u8],
    data_key: &[u8; 32],
    key: &DataKey<'_>,
    context: &[(&str, &str)],
) -> Result<Vec<u8>, TooLong> {
    let mut message_id = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut message_id);
    encrypt_with_id(plaintext, data_key, &message_id, key, context)
}

/// [`encrypt`] with a given message id (tests use fixed ones).
pub fn encrypt_with_id(
    plaintext: &[u8],
    data_key: &[u8; 32],
    message_id: &[u8; 32],
    key: &DataKey<'_>,
    context: &[(&str, &str)],
) -> Result<Vec<u8>, TooLong> {
    let hk = Hkdf::<Sha512>::new(Some(message_id), data_key);
    let mut content_key = [0u8; 32];
    let mut info = SUITE.to_be_bytes().to_vec();
    info.extend_from_slice(b"DERIVEKEY");
    let mut commit_key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA512's limit: these cannot fail.
    let _ = hk.expand(&info, &mut content_key);
    let _ = hk.expand(b"COMMITKEY", &mut commit_key);
    let cipher = Aes256Gcm::new((&content_key).into());

    let mut out = vec![0x02];
    out.extend_from_slice(&SUITE.to_be_bytes());
    out.extend_from_slice(message_id);
    let aad = serialize_context(context)?;
    put_u16(&mut out, aad.len(), "encryption context")?;
    out.extend_from_slice(&aad);
    out.extend_from_slice(&1u16.to_be_bytes());
    put_field(&mut out, key.provider_id.as_bytes(), "provider id")?;
    put_field(&mut out, key.provider_info.as_bytes(), "provider info")?;
    put_field(&mut out, key.encrypted, "encrypted data key")?;
    out.push(0x02);
    out.extend_from_slice(&(FRAME_LENGTH as u32).to_be_bytes());
    out.extend_from_slice(&commit_key);
    let header_tag = seal(&cipher, &[0u8; 12], &[], &out);
    out.extend_from_slice(&header_tag);

    // Regular frames, then a final frame with the rest: 1 to FRAME_LENGTH
    // bytes (all of an exact multiple's last frame), or none for no plaintext.
    let whole = plaintext.len().saturating_sub(1) / FRAME_LENGTH;
    let mut seq: u32 = 1;
    let mut chunks = plaintext.chunks(FRAME_LENGTH);
    for _ in 0..whole {
        let chunk = chunks.next().unwrap_or_default();
        let iv = frame_iv(seq);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&iv);
        out.extend_from_slice(&seal(&cipher, &iv, chunk, &frame_aad(message_id, FRAME, seq, chunk.len())));
        seq += 1;
    }
    let last = chunks.next().unwrap_or_default();
    let iv = frame_iv(seq);
    out.extend_from_slice(&[0xff; 4]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&iv);
    out.extend_from_slice(&(last.len() as u32).to_be_bytes());
    out.extend_from_slice(&seal(&cipher, &iv, last, &frame_aad(message_id, FINAL_FRAME, seq, last.len())));
    Ok(out)
}

/// The encryption context as the header's AAD field carries it.
fn serialize_context(context: &[(&str, &str)]) -> Result<Vec<u8>, TooLong> {
    if context.is_empty() {
        return Ok(Vec::new());
    }
    let mut pairs = context.to_vec();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::new();
    put_u16(&mut out, pairs.len(), "encryption context")?;
    for (k, v) in pairs {
        put_field(&mut out, k.as_bytes(), "encryption context key")?;
        put_field(&mut out, v.as_bytes(), "encryption context value")?;
    }
    Ok(out)
}

fn put_u16(out: &mut Vec<u8>, n: usize, what: &'static str) -> Result<(), TooLong> {
    let n = u16::try_from(n).map_err(|_| TooLong(what))?;
    out.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

fn put_field(out: &mut Vec<u8>, bytes: &[u8], what: &'static str) -> Result<(), TooLong> {
    put_u16(out, bytes.len(), what)?;
    out.extend_from_slice(bytes);
    Ok(())
}

fn frame_iv(seq: u32) -> [u8; 12] {
    let mut iv = [0u8; 12];
    iv[8..].copy_from_slice(&seq.to_be_bytes());
    iv
}

fn frame_aad(message_id: &[u8], content: &[u8], seq: u32, len: usize) -> Vec<u8> {
    let mut aad = Vec::with_capacity(message_id.len() + content.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(content);
    aad.extend_from_slice(&seq.to_be_bytes());
    aad.extend_from_slice(&(len as u64).to_be_bytes());
    aad
}

/// AES-256-GCM: ciphertext followed by its 16-byte tag.
fn seal(cipher: &Aes256Gcm, iv: &[u8; 12], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    // AES-GCM fails only past 2^36 bytes; a frame is 4096.
    cipher.encrypt(Nonce::from_slice(iv), Payload { msg: plaintext, aad }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555";

    fn key() -> DataKey<'static> {
        DataKey { provider_id: "aws-kms", provider_info: ARN, encrypted: b"edk" }
    }

    fn fixed(n: u8) -> [u8; 32] {
        std::array::from_fn(|i| n + i as u8)
    }

    /// A message whose bytes the official Python and JavaScript Encryption
    /// SDKs decrypted (with a KMS keyring answering "edk" with the data key).
    #[test]
    fn matches_a_message_the_official_sdks_decrypt() {
        let m = encrypt_with_id(b"123456", &fixed(0), &fixed(0x20), &key(), &[("userpool-id", "us-east-1_example")])
            .unwrap();
        assert_eq!(
            hex::encode(&m),
            "020478202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f00220001000b75736572706f6f6c2d6964\
             001175732d656173742d315f6578616d706c65000100076177732d6b6d73004b61726e3a6177733a6b6d733a75732d656173742d\
             313a3132333435363738393031323a6b65792f31313131313131312d323232322d333333332d343434342d35353535353535353535\
             3535000365646b020000100016bbdf5f77e52a6d45b8cad7f30e0bbf69b304b0d51de9d153b822934fd32d470cea83b32e69883d\
             bf838c8bf74d81adffffffff0000000100000000000000000000000100000006d9408c9e3a6b34bf73b225c79e1dc34cd7096dda4296"
        );
    }

    #[test]
    fn frames_long_plaintexts_and_ends_with_a_final_frame() {
        let plain = vec![7u8; FRAME_LENGTH * 2];
        let m = encrypt_with_id(&plain, &fixed(0), &fixed(0x20), &key(), &[]).unwrap();
        // Header: 1+2+32 + 2 (empty aad) + 2 + (2+7)+(2+ARN)+(2+3) + 1+4+32 + 16.
        let header = 1 + 2 + 32 + 2 + 2 + 9 + 2 + ARN.len() + 5 + 1 + 4 + 32 + 16;
        let frame = 4 + 12 + FRAME_LENGTH + 16;
        // One regular frame, then a final frame holding the second 4096 bytes.
        assert_eq!(m.len(), header + frame + (4 + 4 + 12 + 4 + FRAME_LENGTH + 16));
        assert_eq!(&m[header..header + 4], &1u32.to_be_bytes());
        assert_eq!(&m[header + frame..header + frame + 8], &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2]);
        // An empty plaintext is one empty final frame.
        let empty = encrypt_with_id(b"", &fixed(0), &fixed(0x20), &key(), &[]).unwrap();
        assert_eq!(empty.len(), header + 4 + 4 + 12 + 4 + 16);
    }

    #[test]
    fn random_ids_make_different_messages() {
        let a = encrypt(b"1", &fixed(0), &key(), &[]).unwrap();
        let b = encrypt(b"1", &fixed(0), &key(), &[]).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), b.len());
    }

    #[test]
    fn refuses_fields_too_long_for_their_prefix() {
        let long = "x".repeat(70_000);
        assert_eq!(encrypt(b"1", &fixed(0), &key(), &[("k", long.as_str())]), Err(TooLong("encryption context value")));
    }
}
