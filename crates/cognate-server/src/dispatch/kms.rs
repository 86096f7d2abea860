//! KMS, one operation: `Decrypt` of the data keys in the codes Cognate hands
//! CustomEmailSender and CustomSMSSender functions (see
//! `cognate_idp::senders`). A function decrypts a code with the AWS
//! Encryption SDK and a KMS keyring; pointed at Cognate
//! (`AWS_ENDPOINT_URL_KMS`) and signing with a Cognate access key, its KMS
//! call lands here. Cognate is not a KMS: it opens only what it wrapped.
//!
//! The table is written by hand (KMS is not among the vendored models); the
//! request and answer members are KMS's.

use super::{Ctx, Handler, HandlerFuture};
use crate::ApiError;
use base64::Engine as _;
use cognate_idp::senders::KmsRefusal;
use cognate_wire::schema::Schema;
use cognate_wire::{OperationInfo, ServiceInfo};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub static SERVICE: ServiceInfo = ServiceInfo {
    endpoint_prefix: "kms",
    signing_name: "kms",
    target_prefix: "TrentService",
    protocol: "json",
    json_version: "1.1",
    api_version: "2014-11-01",
    xml_namespace: "",
};

pub static OPERATIONS: &[OperationInfo] = &[OperationInfo {
    name: "Decrypt",
    no_auth: false,
    input: None,
    output: None,
    method: "POST",
    uri: "/",
    errors: &["InvalidCiphertextException", "IncorrectKeyException", "ValidationException"],
}];

/// No shapes: [`decrypt`] checks its few members itself.
pub static SCHEMA: Schema = Schema { shapes: &[], patterns: &[], regexes: OnceLock::new() };

pub fn handler(name: &str) -> Option<Handler> {
    match name {
        "Decrypt" => Some(decrypt),
        _ => None,
    }
}

fn decrypt(ctx: Ctx, input: Value) -> HandlerFuture {
    Box::pin(async move {
        let invalid = |m: &str| ApiError::bad_request("ValidationException", m.to_string());
        let blob = match input.get("CiphertextBlob") {
            Some(Value::String(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|_| ApiError::bad_request("SerializationException", "CiphertextBlob is not base64."))?,
            Some(_) => return Err(ApiError::bad_request("SerializationException", "CiphertextBlob must be a string.")),
            None => {
                return Err(invalid(
                    "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null",
                ));
            }
        };
        let key_id = match input.get("KeyId") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(ApiError::bad_request("SerializationException", "KeyId must be a string.")),
        };
        let context: BTreeMap<String, String> = match input.get("EncryptionContext") {
            None | Some(Value::Null) => BTreeMap::new(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
                ApiError::bad_request("SerializationException", "EncryptionContext must map strings to strings.")
            })?,
        };
        match ctx.app.idp.kms_decrypt(&blob, key_id, &context) {
            Ok((arn, plaintext)) => Ok(json!({
                "KeyId": arn,
                "Plaintext": base64::engine::general_purpose::STANDARD.encode(plaintext),
                "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            })),
            Err(KmsRefusal::InvalidCiphertext) => Err(ApiError::bad_request(
                "InvalidCiphertextException",
                "The ciphertext was not made by this Cognate, or its encryption context differs.",
            )),
            Err(KmsRefusal::IncorrectKey) => Err(ApiError::bad_request(
                "IncorrectKeyException",
                "The key ID in the request does not identify a CMK that can perform this operation.",
            )),
        }
    })
}
