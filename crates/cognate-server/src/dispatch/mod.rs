//! Operation tables: for each service, which operations have a handler.
//!
//! A handler is a plain function from the request context and the validated
//! JSON input to the JSON output. `handler(name)` returning `None` means "not
//! supported yet"; the protocol answers `UnsupportedOperationException`, and
//! docs/compatibility.md (rendered by [`compatibility_markdown`]) says so. The
//! tables are the single source of both.

mod idp;
mod kms;
mod sts;

use crate::{ApiError, App};
use cognate_wire::schema::Schema;
use cognate_wire::{OperationInfo, ServiceInfo};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;

/// What a handler knows about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub app: App,
    /// The region the call acts in.
    pub region: String,
    /// The verified signer of a signed operation, already authorized for it.
    pub caller: Option<cognate_idp::Caller>,
    pub request_id: String,
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, ApiError>> + Send>>;
pub type Handler = fn(Ctx, Value) -> HandlerFuture;

/// A service as the edge sees it.
#[derive(Debug)]
pub struct Service {
    /// The model's endpoint prefix, e.g. `cognito-idp`.
    pub name: &'static str,
    pub info: &'static ServiceInfo,
    pub operations: &'static [OperationInfo],
    pub schema: &'static Schema,
    pub handler: fn(&str) -> Option<Handler>,
}

fn none(_: &str) -> Option<Handler> {
    None
}

pub static IDP: Service = Service {
    name: "cognito-idp",
    info: &cognate_wire::idp::SERVICE,
    operations: cognate_wire::idp::OPERATIONS,
    schema: &cognate_wire::idp::SCHEMA,
    handler: idp::handler,
};
pub static IDENTITY: Service = Service {
    name: "cognito-identity",
    info: &cognate_wire::identity::SERVICE,
    operations: cognate_wire::identity::OPERATIONS,
    schema: &cognate_wire::identity::SCHEMA,
    handler: none,
};
pub static SYNC: Service = Service {
    name: "cognito-sync",
    info: &cognate_wire::sync::SERVICE,
    operations: cognate_wire::sync::OPERATIONS,
    schema: &cognate_wire::sync::SCHEMA,
    handler: none,
};
pub static STS: Service = Service {
    name: "sts",
    info: &cognate_wire::sts::SERVICE,
    operations: cognate_wire::sts::OPERATIONS,
    schema: &cognate_wire::sts::SCHEMA,
    handler: sts::handler,
};
pub static AVP: Service = Service {
    name: "verifiedpermissions",
    info: &cognate_wire::avp::SERVICE,
    operations: cognate_wire::avp::OPERATIONS,
    schema: &cognate_wire::avp::SCHEMA,
    handler: none,
};

/// Not one of the vendored models: the one KMS call custom sender functions
/// make, answered for the codes Cognate encrypted (see `kms.rs`).
pub static KMS: Service = Service {
    name: "kms",
    info: &kms::SERVICE,
    operations: kms::OPERATIONS,
    schema: &kms::SCHEMA,
    handler: kms::handler,
};

pub static SERVICES: &[&Service] = &[&IDP, &IDENTITY, &SYNC, &STS, &AVP, &KMS];

/// Deserialises the validated input into the operation's request type. A
/// JSON `null` anywhere means "absent", as AWS reads it (SDKs send
/// `{"DEVICE_KEY": null}` inside AuthParameters, for one).
pub(crate) fn input<T: serde::de::DeserializeOwned>(mut v: Value) -> Result<T, ApiError> {
    strip_nulls(&mut v);
    serde_json::from_value(v).map_err(|e| ApiError::bad_request("SerializationException", format!("{e}")))
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => {
            items.retain(|x| !x.is_null());
            items.iter_mut().for_each(strip_nulls);
        }
        _ => {}
    }
}

/// Serialises a domain answer.
pub(crate) fn output<T: serde::Serialize, E: Into<ApiError>>(r: Result<T, E>) -> Result<Value, ApiError> {
    let v = r.map_err(Into::into)?;
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "response does not serialise");
        ApiError::internal()
    })
}

/// docs/compatibility.md, from the operation tables.
pub fn compatibility_markdown() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# Compatibility\n\n\
         Generated from the operation tables in `crates/cognate-server/src/dispatch/` by the test\n\
         `dispatch::tests::compatibility_doc_is_current`; do not edit by hand (run the tests with\n\
         `UPDATE_DOCS=1` to rewrite it).\n\n\
         Every operation of the five AWS models is routed; of KMS, only `Decrypt`, for the codes\n\
         Cognate hands custom sender functions (docs/triggers.md). **supported** operations are served;\n\
         **not yet** operations answer `UnsupportedOperationException` (HTTP 400) with a message\n\
         naming the operation. Auth: **SigV4** operations require a signature from an admin\n\
         access key; **public** operations are marked `noAuth` in the model and authorise\n\
         themselves with tokens, sessions or codes.\n",
    );
    for s in SERVICES {
        let supported = s.operations.iter().filter(|o| (s.handler)(o.name).is_some()).count();
        let _ = write!(
            out,
            "\n## {} ({}, protocol {})\n\n{} of {} operations supported.\n\n| Operation | Status | Auth |\n|---|---|---|\n",
            s.name,
            s.info.api_version,
            s.info.protocol,
            supported,
            s.operations.len()
        );
        for o in s.operations {
            let status = if (s.handler)(o.name).is_some() { "supported" } else { "not yet" };
            let auth = if o.no_auth { "public" } else { "SigV4" };
            let _ = writeln!(out, "| {} | {status} | {auth} |", o.name);
        }
    }
    out.push('\n');
    out.push_str(include_str!("../../../../docs/compatibility-notes.md"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_doc_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/compatibility.md");
        let want = compatibility_markdown();
        if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
            std::fs::write(&path, &want).expect("write docs/compatibility.md");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/compatibility.md is stale: run `UPDATE_DOCS=1 cargo test -p cognate-server compatibility`"
        );
    }

    #[test]
    fn every_model_operation_is_routed_once() {
        for s in SERVICES {
            let mut names: Vec<_> = s.operations.iter().map(|o| o.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), s.operations.len(), "{}", s.name);
        }
        assert_eq!(IDP.operations.len(), 141);
    }
}
