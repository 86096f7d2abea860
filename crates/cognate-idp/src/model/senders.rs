//! CustomEmailSender and CustomSMSSender: a pool that names one sends no
//! message on that channel itself; it hands the function the code (or the
//! temporary password) encrypted, as Cognito does, and the function sends.
//!
//! Cognito encrypts with the AWS Encryption SDK under the pool's KMS key
//! (`LambdaConfig.KMSKeyID`); the function decrypts with the SDK and a KMS
//! keyring, which calls KMS `Decrypt` on the message's wrapped data key.
//! Here the message is made by [`cognate_crypto::esdk`] and the data key is
//! wrapped by Cognate's master key, bound to the key ARN and the encryption
//! context; Cognate answers that KMS `Decrypt` itself (signed with a Cognate
//! access key; the function's `AWS_ENDPOINT_URL_KMS` points at Cognate), so
//! the function's code runs unchanged. The encryption context is
//! `{"userpool-id": <pool id>}`, as Cognito's.

use crate::base::context::ClientCtx;
use crate::model::channel::Channel;
use crate::model::triggers::Trigger;
use crate::model::users::User;
use crate::{Error, Fault, Idp, Result};
use cognate_crypto::esdk;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Associated data of a wrapped data key: it opens only for its key ARN and
/// its encryption context.
const DATA_KEY_CONTEXT: &str = "cognate/kms-data-key/v1";
/// The first bytes of a ciphertext blob Cognate's KMS made.
const BLOB_MAGIC: &[u8] = b"CGK1";

/// Why Cognate's KMS refuses a Decrypt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmsRefusal {
    /// Not a blob this Cognate made, or the encryption context differs.
    InvalidCiphertext,
    /// The call named another key than the one the blob was made under.
    IncorrectKey,
}

impl Idp {
    /// Hands a code to the pool's custom sender for `channel`, if it has one:
    /// true when it did (then nothing else is sent).
    pub(crate) async fn custom_send(
        &self,
        c: &ClientCtx,
        user: &User,
        channel: Channel,
        source: &str,
        code: &str,
    ) -> Result<bool> {
        let lambda = c.pool.lambda_config.clone().unwrap_or_default();
        let (trigger, prefix, kind) = match channel {
            Channel::Email if lambda.custom_email_sender.is_some() => {
                (Trigger::CustomEmailSender, "CustomEmailSender", "customEmailSenderRequestV1")
            }
            Channel::Sms if lambda.custom_sms_sender.is_some() => {
                (Trigger::CustomSmsSender, "CustomSMSSender", "customSMSSenderRequestV1")
            }
            _ => return Ok(false),
        };
        // CreateUserPool and UpdateUserPool refuse a sender without a key.
        let key_arn = lambda.kms_key_id.as_deref().ok_or_else(|| {
            Error::UnexpectedLambda(format!("{prefix} is configured without a KMSKeyID to encrypt codes with."))
        })?;
        let encrypted = self.encrypt_code(&c.pool_row.id, key_arn, code)?;
        let mut attributes = crate::model::triggers::attributes_json(&user.attrs);
        if let Some(m) = attributes.as_object_mut() {
            m.insert("cognito:user_status".into(), json!(user.status));
        }
        let request = json!({
            "type": kind,
            "code": encrypted,
            "clientMetadata": if c.metadata.is_empty() { Value::Null } else { json!(c.metadata) },
            "userAttributes": attributes,
        });
        // Cognito ignores what a sender returns.
        self.run_trigger(c, trigger, &format!("{prefix}_{source}"), &user.username, request).await?;
        Ok(true)
    }

    /// An Encryption SDK message of `code` under a fresh data key wrapped
    /// for `key_arn`, base64 as the event carries it.
    fn encrypt_code(&self, pool_id: &str, key_arn: &str, code: &str) -> Result<String> {
        use base64::Engine as _;
        let mut data_key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut data_key);
        let context = [("userpool-id", pool_id)];
        let blob = self.wrap_data_key(key_arn, &context_map(&context), &data_key);
        let key = esdk::DataKey { provider_id: "aws-kms", provider_info: key_arn, encrypted: &blob };
        let message = esdk::encrypt(code.as_bytes(), &data_key, &key, &context)
            .map_err(|e| Error::internal(Fault::Other, format!("custom sender message: {e}")))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(message))
    }

    /// A KMS ciphertext blob of `data_key`: magic, the key ARN, and the key
    /// sealed by the master key bound to the ARN and the context.
    fn wrap_data_key(&self, key_arn: &str, context: &BTreeMap<String, String>, data_key: &[u8]) -> Vec<u8> {
        let sealed = self.key.seal(&data_key_context(key_arn, context), data_key);
        let mut blob = BLOB_MAGIC.to_vec();
        blob.extend_from_slice(&(key_arn.len() as u16).to_be_bytes());
        blob.extend_from_slice(key_arn.as_bytes());
        blob.extend_from_slice(sealed.as_bytes());
        blob
    }

    /// KMS `Decrypt` of a blob [`Idp::wrap_data_key`] made: the key ARN and
    /// the data key, when `context` is the one it was made with and
    /// `key_id` (if given) names its key, as a key ARN or a key id.
    pub fn kms_decrypt(
        &self,
        blob: &[u8],
        key_id: Option<&str>,
        context: &BTreeMap<String, String>,
    ) -> std::result::Result<(String, Vec<u8>), KmsRefusal> {
        let rest = blob.strip_prefix(BLOB_MAGIC).ok_or(KmsRefusal::InvalidCiphertext)?;
        let (len, rest) = rest.split_first_chunk::<2>().ok_or(KmsRefusal::InvalidCiphertext)?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (arn, sealed) = (rest.get(..len), rest.get(len..));
        let arn = arn.and_then(|a| std::str::from_utf8(a).ok()).ok_or(KmsRefusal::InvalidCiphertext)?;
        let sealed = sealed.and_then(|s| std::str::from_utf8(s).ok()).ok_or(KmsRefusal::InvalidCiphertext)?;
        if let Some(id) = key_id
            && id != arn
            && arn.strip_suffix(id).is_none_or(|head| !head.ends_with("key/"))
        {
            return Err(KmsRefusal::IncorrectKey);
        }
        let data_key =
            self.key.open(&data_key_context(arn, context), sealed).map_err(|_| KmsRefusal::InvalidCiphertext)?;
        Ok((arn.to_string(), data_key))
    }
}

fn context_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The context, canonical: a BTreeMap serialises with its keys sorted.
fn data_key_context(key_arn: &str, context: &BTreeMap<String, String>) -> String {
    format!("{DATA_KEY_CONTEXT}/{key_arn}/{}", json!(context))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";

    #[tokio::test]
    async fn a_wrapped_key_opens_only_with_its_key_and_context() {
        let (idp, _) = crate::tests::idp().await;
        let ctx = context_map(&[("userpool-id", "eu-west-1_abc")]);
        let blob = idp.wrap_data_key(ARN, &ctx, &[9u8; 32]);
        assert_eq!(idp.kms_decrypt(&blob, Some(ARN), &ctx), Ok((ARN.to_string(), vec![9u8; 32])));
        assert_eq!(idp.kms_decrypt(&blob, None, &ctx).map(|r| r.1), Ok(vec![9u8; 32]));
        assert_eq!(
            idp.kms_decrypt(&blob, Some("0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"), &ctx).map(|r| r.0),
            Ok(ARN.to_string())
        );
        let other = "arn:aws:kms:eu-west-1:123456789012:key/ffffffff-aaaa-bbbb-cccc-0123456789ab";
        assert_eq!(idp.kms_decrypt(&blob, Some(other), &ctx), Err(KmsRefusal::IncorrectKey));
        assert_eq!(idp.kms_decrypt(&blob, Some("89ab"), &ctx), Err(KmsRefusal::IncorrectKey));
        let wrong_ctx = context_map(&[("userpool-id", "eu-west-1_other")]);
        assert_eq!(idp.kms_decrypt(&blob, Some(ARN), &wrong_ctx), Err(KmsRefusal::InvalidCiphertext));
        assert_eq!(idp.kms_decrypt(&blob, Some(ARN), &BTreeMap::new()), Err(KmsRefusal::InvalidCiphertext));
        // Another master key, a cut blob, garbage: all invalid, none a panic.
        let (stranger, _) = crate::tests::idp().await;
        assert_eq!(stranger.kms_decrypt(&blob, None, &ctx), Err(KmsRefusal::InvalidCiphertext));
        for bad in [&blob[..3], &blob[..6], &blob[..20], b"CGK1\xff\xff".as_slice(), b"".as_slice()] {
            assert_eq!(idp.kms_decrypt(bad, None, &ctx), Err(KmsRefusal::InvalidCiphertext));
        }
    }
}
