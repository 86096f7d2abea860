//! The AWS query protocol (STS): `Action=<Operation>&Version=...` as a form
//! body (or in the URL of a GET), XML answers and errors.
//!
//! Parameters reach a handler as a flat JSON object of strings. No STS
//! operation served so far takes structured (`member.N`) parameters; their
//! decoding arrives with the first one that does.

use crate::dispatch;
use crate::error::xml_escape;
use crate::{ApiError, App, RequestId};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// `GET /` carries the query protocol in its URL (presigned STS calls).
pub async fn get_root(State(app): State<App>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    if parts.uri.query().is_none() {
        return ApiError::bad_request("UnknownOperationException", "GET / needs an Action.").into_json();
    }
    handle(app, parts, Bytes::new(), request_id).await
}

pub async fn handle(app: App, parts: Parts, body: Bytes, request_id: String) -> Response {
    let raw = if parts.method == axum::http::Method::GET {
        parts.uri.query().unwrap_or("").as_bytes().to_vec()
    } else {
        body.to_vec()
    };
    let params = parse_form(&raw);
    let action = params.get("Action").and_then(Value::as_str).unwrap_or("").to_string();
    let service = &dispatch::STS;
    let Some(op) = service.operations.iter().find(|o| o.name == action) else {
        return ApiError::bad_request(
            "InvalidAction",
            format!("Could not find operation {action} for version 2011-06-15"),
        )
        .into_xml(&request_id);
    };
    let result = super::invoke(&app, service, op, &parts, &body, &request_id, || Ok(Value::Object(params))).await;
    match result {
        Ok(v) => {
            let body = format!(
                "<{op}Response xmlns=\"{ns}\"><{op}Result>{inner}</{op}Result><ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata></{op}Response>",
                op = op.name,
                ns = service.info.xml_namespace,
                inner = to_xml(&v),
                rid = xml_escape(&request_id),
            );
            ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
        }
        Err(e) => e.into_xml(&request_id),
    }
}

/// `a=1&b=x%20y` into a JSON object of strings (the last value of a repeated key wins).
fn parse_form(raw: &[u8]) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut kv = pair.splitn(2, |b| *b == b'=');
        let k = decode(kv.next().unwrap_or_default());
        let v = decode(kv.next().unwrap_or_default());
        out.insert(k, Value::String(v));
    }
    out
}

fn decode(s: &[u8]) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A handler's JSON answer as query-protocol XML: members become elements,
/// lists become `<member>` elements.
fn to_xml(v: &Value) -> String {
    match v {
        Value::Object(m) => m.iter().map(|(k, v)| format!("<{k}>{}</{k}>", to_xml(v))).collect(),
        Value::Array(items) => items.iter().map(|i| format!("<member>{}</member>", to_xml(i))).collect(),
        Value::String(s) => xml_escape(s),
        Value::Null => String::new(),
        other => xml_escape(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode() {
        let m = parse_form(b"Action=GetCallerIdentity&Version=2011-06-15&X=a+b%2Fc&Bad=%zz&=&Empty");
        assert_eq!(m["Action"], "GetCallerIdentity");
        assert_eq!(m["X"], "a b/c");
        assert_eq!(m["Bad"], "%zz");
        assert_eq!(m["Empty"], "");
    }

    #[test]
    fn xml_escapes() {
        let v = serde_json::json!({"A": "<&>", "L": ["x", "y"]});
        assert_eq!(to_xml(&v), "<A>&lt;&amp;&gt;</A><L><member>x</member><member>y</member></L>");
    }
}
