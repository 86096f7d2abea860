//! AWS JSON 1.0 / 1.1: `POST /`, `X-Amz-Target: <prefix>.<Operation>`, a JSON
//! object in and out.

use crate::dispatch::{self, Ctx};
use crate::{ApiError, App, auth};
use axum::body::Bytes;
use axum::http::{HeaderValue, header, request::Parts};
use axum::response::{IntoResponse, Response};
use std::time::Instant;

pub async fn handle(app: App, parts: Parts, body: Bytes, request_id: String) -> Response {
    let started = Instant::now();
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
    let result = run(&app, service, op, &parts, &body, request_id.clone()).await;
    let outcome = match &result {
        Ok(_) => "ok".to_string(),
        Err(e) => e.code.clone(),
    };
    app.metrics.record(service.name, op.name, &outcome, started.elapsed());
    tracing::info!(
        request_id,
        service = service.name,
        operation = op.name,
        outcome,
        elapsed_us = started.elapsed().as_micros() as u64,
        "request"
    );
    match result {
        Ok(value) => {
            let content_type = format!("application/x-amz-json-{}", service.info.json_version);
            let mut resp = value.to_string().into_response();
            if let Ok(v) = HeaderValue::from_str(&content_type) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp
        }
        Err(e) => e.into_json(),
    }
}

async fn run(
    app: &App,
    service: &'static dispatch::Service,
    op: &'static cognate_wire::OperationInfo,
    parts: &Parts,
    body: &[u8],
    request_id: String,
) -> Result<serde_json::Value, ApiError> {
    let caller = if op.no_auth {
        None
    } else {
        Some(auth::verify(app, &parts.method, &parts.uri, &parts.headers, body, service.info.signing_name).await?)
    };
    let handler = (service.handler)(op.name).ok_or_else(|| ApiError::unsupported(service.name, op.name))?;
    let input = parse_json(body)?;
    if let Some(root) = op.input {
        service.schema.validate(root, &input)?;
    }
    let region = caller.as_ref().map(|c| c.region.clone()).unwrap_or_else(|| app.config.default_region.clone());
    handler(Ctx { app: app.clone(), region, caller, request_id }, input).await
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
