//! The AWS query protocol (STS): `Action=<Operation>&Version=...` as a form
//! body (or in the URL of a GET), XML answers and errors.
//!
//! The flat parameters are read as the operation's input shape says
//! (`A.member.N` lists, `A.entry.N.key` / `.value` maps, `A.B` nested members,
//! numbers and booleans by their shape) into the same JSON the JSON protocols
//! carry, and checked against the model before a handler sees them; a
//! violation is a `ValidationError` worded as AWS words it.

use crate::dispatch;
use crate::error::xml_escape;
use crate::{ApiError, App, RequestId};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, request::Parts};
use axum::response::{IntoResponse, Response};
use cognate_wire::schema::{Kind, Schema};
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
    let result = super::invoke(&app, service, op, &parts, &body, &request_id, || {
        let Some(root) = op.input else { return Ok(Value::Object(Map::new())) };
        let input = structured(service.schema, root, "", &params).unwrap_or_else(|| Value::Object(Map::new()));
        service.schema.validate(root, &input).map_err(|e| ApiError::bad_request("ValidationError", e.message()))?;
        Ok(input)
    })
    .await;
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
    cognate_wire::form::pairs(raw).into_iter().map(|(k, v)| (k, Value::String(v))).collect()
}

/// The parameters under `prefix` as the JSON of shape `ix`, or `None` when
/// none is given. Parameters the shape does not name are left out, as AWS
/// ignores them; a number or boolean that does not parse stays a string, for
/// validation to refuse.
fn structured(schema: &Schema, ix: usize, prefix: &str, params: &Map<String, Value>) -> Option<Value> {
    let shape = schema.shapes.get(ix)?;
    let under = |p: &str| params.keys().any(|k| k == p || k.starts_with(&format!("{p}.")));
    let scalar = params.get(prefix).and_then(Value::as_str);
    match &shape.kind {
        Kind::Structure { members, .. } => {
            let mut out = Map::new();
            for m in *members {
                let key = if prefix.is_empty() { m.name.to_string() } else { format!("{prefix}.{}", m.name) };
                if let Some(v) = structured(schema, m.shape, &key, params) {
                    out.insert(m.name.to_string(), v);
                }
            }
            (prefix.is_empty() || !out.is_empty()).then_some(Value::Object(out))
        }
        Kind::List { member, .. } => {
            let mut items = Vec::new();
            for n in 1.. {
                let key = format!("{prefix}.member.{n}");
                if !under(&key) {
                    break;
                }
                items.extend(structured(schema, *member, &key, params));
            }
            // `A=` with no members is how the protocol says "an empty list".
            (!items.is_empty() || scalar == Some("")).then_some(Value::Array(items))
        }
        Kind::Map { key, value, .. } => {
            let mut out = Map::new();
            for n in 1.. {
                let entry = format!("{prefix}.entry.{n}");
                if !under(&entry) {
                    break;
                }
                let k = structured(schema, *key, &format!("{entry}.key"), params);
                let v = structured(schema, *value, &format!("{entry}.value"), params);
                if let (Some(Value::String(k)), Some(v)) = (k, v) {
                    out.insert(k, v);
                }
            }
            (!out.is_empty() || scalar == Some("")).then_some(Value::Object(out))
        }
        Kind::Integer { .. } => scalar.map(|s| s.parse::<i64>().map_or_else(|_| Value::String(s.into()), Value::from)),
        Kind::Double => scalar.map(|s| s.parse::<f64>().map_or_else(|_| Value::String(s.into()), Value::from)),
        Kind::Boolean => scalar.map(|s| match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::String(other.into()),
        }),
        _ => scalar.map(|s| Value::String(s.into())),
    }
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

    /// STS's AssumeRole, as the AWS SDKs send it over the query protocol.
    #[test]
    fn lists_maps_and_numbers_take_the_shape_of_the_input() {
        let schema = &cognate_wire::sts::SCHEMA;
        let root = cognate_wire::sts::OPERATIONS.iter().find(|o| o.name == "AssumeRole").and_then(|o| o.input).unwrap();
        let form = parse_form(
            b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp\
              &RoleSessionName=s1&DurationSeconds=900&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FA\
              &PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FB&Tags.member.1.Key=team&Tags.member.1.Value=id\
              &TransitiveTagKeys.member.1=team&Unknown=x",
        );
        let input = structured(schema, root, "", &form).unwrap();
        assert_eq!(
            input,
            serde_json::json!({
                "RoleArn": "arn:aws:iam::123456789012:role/app",
                "RoleSessionName": "s1",
                "DurationSeconds": 900,
                "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/A"}, {"arn": "arn:aws:iam::aws:policy/B"}],
                "Tags": [{"Key": "team", "Value": "id"}],
                "TransitiveTagKeys": ["team"],
            })
        );
        assert!(schema.validate(root, &input).is_ok());
        // Required members and bounds are the model's.
        let check = |form: &[u8]| schema.validate(root, &structured(schema, root, "", &parse_form(form)).unwrap());
        let missing = check(b"Action=AssumeRole&RoleSessionName=s1").unwrap_err().message();
        assert!(missing.contains("Value null at 'roleArn'"), "{missing}");
        let word = check(b"Action=AssumeRole&RoleArn=x&RoleSessionName=s1&DurationSeconds=soon").unwrap_err().message();
        assert!(word.contains("durationSeconds"), "{word}");
        let form = parse_form(b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fapp&RoleSessionName=s1&DurationSeconds=5");
        let short = schema.validate(root, &structured(schema, root, "", &form).unwrap()).unwrap_err();
        assert!(
            short.message().contains("durationSeconds") || short.message().contains("DurationSeconds"),
            "{}",
            short.message()
        );
    }

    #[test]
    fn xml_escapes() {
        let v = serde_json::json!({"A": "<&>", "L": ["x", "y"]});
        assert_eq!(to_xml(&v), "<A>&lt;&amp;&gt;</A><L><member>x</member><member>y</member></L>");
    }
}
