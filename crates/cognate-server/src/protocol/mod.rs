//! The three AWS protocols, each a thin adapter over [`crate::dispatch`].

pub mod awsjson;
pub mod query;
pub mod restjson;

use crate::dispatch::{Ctx, Service};
use crate::{ApiError, App, RequestId, auth};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::response::Response;
use cognate_wire::OperationInfo;
use serde_json::Value;
use std::time::Instant;
use tracing::Instrument as _;

/// `POST /`: the JSON protocols carry `X-Amz-Target`; a form body without it
/// is the query protocol.
pub async fn post_root(State(app): State<App>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let has_target = parts.headers.contains_key("x-amz-target");
    let body = match read_body(body, app.config.body_limit).await {
        Ok(b) => b,
        Err(e) if is_form && !has_target => return e.into_xml(&request_id),
        Err(e) => return e.into_json(),
    };
    if is_form && !has_target {
        query::handle(app, parts, body, request_id).await
    } else {
        awsjson::handle(app, parts, body, request_id).await
    }
}

/// Reads a body up to `limit` bytes; a larger one is refused whole.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!("Request body exceeds the limit of {limit} bytes."),
        )
    })
}

/// What every protocol does once it knows the operation: authenticate (SigV4
/// unless the model marks the operation `noAuth`), find the handler or refuse
/// with "not supported yet", build the input, call, and record the outcome.
pub(crate) async fn invoke(
    app: &App,
    service: &'static Service,
    op: &'static OperationInfo,
    parts: &Parts,
    body: &[u8],
    request_id: &str,
    input: impl FnOnce() -> Result<Value, ApiError>,
) -> Result<Value, ApiError> {
    let started = Instant::now();
    // What the audit record needs: the verified signer and the input.
    let audited = crate::audit::audited(op.name, !op.no_auth);
    let mut signer: Option<String> = None;
    let mut audit_input: Option<Value> = None;
    // Every line logged while the request runs (an internal fault's cause,
    // a trigger's failure) names it.
    let span = tracing::info_span!(
        "request",
        request_id,
        service = service.name,
        operation = op.name,
        pool = tracing::field::Empty,
        client = tracing::field::Empty
    );
    let result = async {
        let caller = if op.no_auth {
            None
        } else {
            let caller =
                auth::verify(app, &parts.method, &parts.uri, &parts.headers, body, service.info.signing_name).await?;
            app.idp
                .authorize(&caller, cognate_idp::Action { service: service.info.signing_name, operation: op.name })?;
            Some(caller)
        };
        signer = caller.as_ref().map(|c| c.access_key_id.clone());
        let handler = (service.handler)(op.name).ok_or_else(|| ApiError::unsupported(service.name, op.name))?;
        let input = input()?;
        let span = tracing::Span::current();
        if let Some(pool) = input.get("UserPoolId").and_then(Value::as_str) {
            span.record("pool", pool);
        }
        if let Some(client) = input.get("ClientId").and_then(Value::as_str) {
            span.record("client", client);
        }
        if audited {
            audit_input = Some(input.clone());
        }
        let region = caller.as_ref().map(|c| c.region.clone()).unwrap_or_else(|| app.config.default_region.clone());
        handler(Ctx { app: app.clone(), region, caller, request_id: request_id.to_string() }, input).await
    }
    .instrument(span.clone())
    .await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code.as_str(),
    };
    if audited {
        // A call refused before its input was read is still recorded, with
        // whatever its body names.
        let input = audit_input.unwrap_or_else(|| serde_json::from_slice(body).unwrap_or(Value::Null));
        let s = crate::audit::subject(&input, !op.no_auth, signer.as_deref(), result.is_ok());
        let source = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default();
        app.audit
            .record(cognate_store::AuditRow {
                id: cognate_crypto::ids::uuid_v4(),
                at: app.idp.now_ms(),
                caller: s.caller,
                operation: op.name.to_string(),
                pool_id: s.pool_id,
                client_id: s.client_id,
                target: s.target,
                outcome: outcome.to_string(),
                source,
                request_id: request_id.to_string(),
            })
            .await;
    }
    let elapsed = started.elapsed();
    app.metrics.record(service.name, op.name, outcome, elapsed);
    let _entered = span.enter();
    let elapsed_us = elapsed.as_micros() as u64;
    // No 500 without a line at error level, whatever produced it.
    match &result {
        Err(e) if e.status.is_server_error() => tracing::error!(outcome, elapsed_us, "request failed"),
        _ => tracing::info!(outcome, elapsed_us, "request"),
    }
    result
}

/// Percent-decoding of a URL component (`+` stays `+`).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = (b == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
