//! The three AWS protocols, each a thin adapter over [`crate::dispatch`].

pub mod awsjson;
pub mod query;
pub mod restjson;

use crate::{ApiError, App, RequestId};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;

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
