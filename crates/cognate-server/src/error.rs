//! Errors as AWS clients parse them. One type for every protocol; each
//! protocol renders it its own way (JSON body and `x-amzn-ErrorType`, or the
//! query protocol's XML).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// The AWS error name, e.g. `ResourceNotFoundException`.
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError { status, code: code.to_string(), message: message.into() }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unsupported(service: &str, op: &str) -> Self {
        Self::bad_request(
            "UnsupportedOperationException",
            format!("Cognate does not support {service} {op} yet; see docs/compatibility.md."),
        )
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalErrorException", "Internal server error.")
    }

    /// The JSON protocols' rendering: `{"__type": ..., "message": ...}` and
    /// the `x-amzn-ErrorType` header.
    pub fn into_json(self) -> Response {
        let body = serde_json::json!({ "__type": self.code, "message": self.message }).to_string();
        let mut resp = (self.status, [(header::CONTENT_TYPE, "application/x-amz-json-1.1")], body).into_response();
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
        resp
    }

    /// The query protocol's rendering.
    pub fn into_xml(self, request_id: &str) -> Response {
        let kind = if self.status.is_server_error() { "Receiver" } else { "Sender" };
        let body = format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            xml_escape(&self.code),
            xml_escape(&self.message),
            xml_escape(request_id)
        );
        (self.status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
    }
}

impl From<cognate_idp::Error> for ApiError {
    /// The client sees the error's name and message; an internal fault's
    /// cause is logged here, once, inside the request's span.
    fn from(e: cognate_idp::Error) -> Self {
        let status = match e.cause() {
            Some(cause) => {
                tracing::error!(cause = %cause, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            None => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.message())
    }
}

impl From<cognate_wire::schema::Invalid> for ApiError {
    fn from(e: cognate_wire::schema::Invalid) -> Self {
        ApiError::bad_request(e.error_code(), e.message())
    }
}

pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
