//! A user's attributes as stored: a JSON object of names to strings, with
//! Cognate's own bookkeeping (changes waiting for verification) kept apart
//! from what clients see.

use cognate_wire::idp::AttributeType;
use std::collections::BTreeMap;

/// Attributes as the wire lists them: `sub` first, then by name.
pub(crate) fn attribute_list(attrs: &BTreeMap<String, String>) -> Vec<AttributeType> {
    let mut out: Vec<AttributeType> = Vec::with_capacity(attrs.len());
    if let Some(sub) = attrs.get("sub") {
        out.push(AttributeType { name: "sub".into(), value: Some(sub.clone()) });
    }
    out.extend(
        attrs
            .iter()
            .filter(|(k, _)| *k != "sub")
            .map(|(k, v)| AttributeType { name: k.clone(), value: Some(v.clone()) }),
    );
    out
}

/// Where an attribute change waits for verification when the pool says
/// changes need it first. Never shown to clients.
pub(crate) const PENDING: &str = "cognate:pending:";

/// Attributes as clients see them (no internal bookkeeping).
pub(crate) fn visible(attrs: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    attrs.iter().filter(|(k, _)| !k.starts_with(PENDING)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// An attribute value as stored: `email_verified` and
/// `phone_number_verified` given as `True` or `FALSE` (any case, as Cognito
/// accepts them) are kept as `true` / `false`.
pub(crate) fn attribute_value(name: &str, value: Option<&str>) -> String {
    let value = value.unwrap_or_default();
    let flag = name == "email_verified" || name == "phone_number_verified";
    if flag && (value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")) {
        value.to_ascii_lowercase()
    } else {
        value.to_string()
    }
}
