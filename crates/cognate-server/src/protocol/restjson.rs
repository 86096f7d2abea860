//! REST-JSON (Cognito Sync): the operation is chosen by method and path
//! template, e.g. `GET /identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets`.
//! The body and the path's labels make the input, checked against the model
//! before a handler sees it (query-string members are not read yet: no Sync
//! operation is served so far).

use crate::dispatch;
use crate::{ApiError, App, RequestId};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

pub async fn handle(State(app): State<App>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let body = match super::read_body(body, app.config.body_limit).await {
        Ok(b) => b,
        Err(e) => return e.into_json(),
    };
    let service = &dispatch::SYNC;
    let path = parts.uri.path().to_string();
    let found = service.operations.iter().find_map(|op| {
        (op.method == parts.method.as_str()).then(|| match_template(op.uri, &path).map(|labels| (op, labels))).flatten()
    });
    let Some((op, labels)) = found else {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "No operation is served at this path.",
        )
        .into_json();
    };
    let result =
        super::invoke(&app, service, op, &parts, &body, &request_id, || input(service, op, &body, labels)).await;
    match result {
        Ok(v) => ([(axum::http::header::CONTENT_TYPE, "application/json")], v.to_string()).into_response(),
        Err(e) => e.into_json(),
    }
}

/// The operation's input: the JSON body with the path's labels, checked
/// against the model.
fn input(
    service: &dispatch::Service,
    op: &cognate_wire::OperationInfo,
    body: &[u8],
    labels: Vec<(String, String)>,
) -> Result<Value, ApiError> {
    let mut input = if body.is_empty() {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(ApiError::bad_request("SerializationException", "The request body must be a JSON object."));
            }
        }
    };
    input.extend(labels.into_iter().map(|(k, v)| (k, Value::String(v))));
    let input = Value::Object(input);
    if let Some(root) = op.input {
        service.schema.validate(root, &input)?;
    }
    Ok(input)
}

/// Matches a path against a template such as `/identitypools/{IdentityPoolId}`,
/// returning the labels (percent-decoded).
fn match_template(template: &str, path: &str) -> Option<Vec<(String, String)>> {
    let template = template.split('?').next().unwrap_or(template);
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut labels = Vec::new();
    for (ts, ps) in t.iter().zip(p.iter()) {
        if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if ps.is_empty() {
                return None;
            }
            labels.push((name.to_string(), super::percent_decode(ps)));
        } else if ts != ps {
            return None;
        }
    }
    Some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_with_labels() {
        let l = match_template(
            "/identitypools/{IdentityPoolId}/identities/{IdentityId}/datasets",
            "/identitypools/us-east-1%3Aab/identities/x/datasets",
        )
        .unwrap();
        assert_eq!(l, vec![("IdentityPoolId".into(), "us-east-1:ab".into()), ("IdentityId".into(), "x".into())]);
        assert!(match_template("/identitypools/{IdentityPoolId}", "/identitypools/a/b").is_none());
        assert!(match_template("/identitypools/{IdentityPoolId}", "/identitypools/").is_none());
    }

    /// UpdateRecords, as a Sync client sends it: labels and body, checked.
    #[test]
    fn bodies_and_labels_are_checked_against_the_model() {
        let service = &dispatch::SYNC;
        let op = service.operations.iter().find(|o| o.name == "UpdateRecords").unwrap();
        let path = "/identitypools/us-east-1%3A0c0c5a3a-1111-2222-3333-444455556666/identities/us-east-1%3A0c0c5a3a-1111-2222-3333-444455556667/datasets/prefs";
        let labels = || match_template(op.uri, path).unwrap();
        let ok = input(service, op, br#"{"SyncSessionToken": "t"}"#, labels()).unwrap();
        assert_eq!(ok["DatasetName"], "prefs");
        let missing = input(service, op, b"{}", labels()).unwrap_err();
        assert_eq!(missing.code, "InvalidParameterException");
        assert!(missing.message.contains("syncSessionToken"), "{}", missing.message);
        let wrong = input(service, op, br#"{"SyncSessionToken": 5}"#, labels()).unwrap_err();
        assert_eq!(wrong.code, "SerializationException");
        let bad_label = match_template(op.uri, &path.replace("/prefs", "/has%20space")).unwrap();
        let bad = input(service, op, br#"{"SyncSessionToken": "t"}"#, bad_label).unwrap_err();
        assert!(bad.message.contains("datasetName"), "{}", bad.message);
    }
}
