//! AWS JSON 1.0 / 1.1: `POST /`, `X-Amz-Target: <prefix>.<Operation>`, a JSON
//! object in and out.

use crate::dispatch;
use crate::{ApiError, App};
use axum::body::Bytes;
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};

pub async fn handle(app: App, parts: Parts, body: Bytes, request_id: String) -> Response {
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let Some((prefix, op_name)) = target.rsplit_once('.') else {
        return ApiError::bad_request("UnknownOperationException", "Missing or malformed X-Amz-Target header.")
            .into_json();
    };
    let Some(service) =
        dispatch::SERVICES.iter().find(|s| !s.info.target_prefix.is_empty() && s.info.target_prefix == prefix)
    else {
        return ApiError::bad_request("UnknownOperationException", format!("Unknown operation {target}")).into_json();
    };
    let Some(op) = service.operations.iter().find(|o| o.name == op_name) else {
        return ApiError::bad_request("UnknownOperationException", format!("Unknown operation {target}")).into_json();
    };
    let result = super::invoke(&app, service, op, &parts, &body, &request_id, || {
        let input = parse_json(&body)?;
        if let Some(root) = op.input {
            service.schema.validate(root, &input)?;
        }
        Ok(input)
    })
    .await;
    match result {
        Ok(value) => {
            let content_type = match service.info.json_version {
                "1.0" => "application/x-amz-json-1.0",
                _ => "application/x-amz-json-1.1",
            };
            let mut resp = value.to_string().into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            resp
        }
        Err(e) => e.into_json(),
    }
}

/// The body as a JSON object; an empty body is an empty object.
fn parse_json(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("SerializationException", format!("Malformed JSON request body: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("SerializationException", "The request body must be a JSON object."));
    }
    Ok(v)
}
