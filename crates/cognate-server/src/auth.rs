//! SigV4 for admin operations: who signed, and is the signature right.
//!
//! Every operation the model does not mark `noAuth` goes through [`verify`],
//! and the domain's `Idp::authorize` then decides whether the verified
//! caller may run it. There is no other path to an admin operation and no
//! bypass setting.

use crate::{ApiError, AppState};
use axum::http::{HeaderMap, Method, Uri};
use cognate_crypto::sigv4;
use cognate_idp::{Caller, Principal};

fn sig_error(e: sigv4::Error) -> ApiError {
    ApiError::bad_request(e.aws_error_code(), e.message())
}

/// Checks the request's SigV4 signature for `service` against the admin keys.
pub async fn verify(
    app: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    service: &str,
) -> Result<Caller, ApiError> {
    let pairs: Vec<(&str, &str)> =
        headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))).collect();
    let req = sigv4::Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        headers: &pairs,
        body,
    };
    let parsed = sigv4::parse(&req).map_err(sig_error)?;
    let key_id = parsed.credential.access_key_id.clone();
    let secret = app.idp.admin_secret(&key_id).await.map_err(ApiError::from)?;
    let Some(secret) = secret else {
        return Err(sig_error(sigv4::Error::UnknownKey));
    };
    let now = app.idp.clock().now_ms().div_euclid(1000);
    sigv4::verify(&req, &parsed, &secret, service, now).map_err(sig_error)?;
    Ok(Caller { access_key_id: key_id, region: parsed.credential.region, principal: Principal::AdminKey })
}
