//! Request validation against the model, worded as AWS words it.
//!
//! AWS services check a request against the model before any business logic
//! runs: required members, string lengths, numeric ranges, enum values and
//! patterns. Cognito reports every violation at once as an
//! `InvalidParameterException` such as
//! `1 validation error detected: Value null at 'poolName' failed to satisfy
//! constraint: Member must not be null`. A value of the wrong JSON type is a
//! `SerializationException` instead. Members the model does not know are
//! ignored, as AWS ignores them.

use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub sensitive: bool,
    pub kind: Kind,
}

#[derive(Debug)]
pub enum Kind {
    Structure { members: &'static [Member], union: bool },
    String { min: Option<i64>, max: Option<i64>, pattern: Option<i64>, enum_values: &'static [&'static str] },
    Integer { min: Option<i64>, max: Option<i64> },
    Double,
    Boolean,
    Blob { min: Option<i64>, max: Option<i64> },
    Timestamp,
    List { member: usize, min: Option<i64>, max: Option<i64> },
    Map { key: usize, value: usize, min: Option<i64>, max: Option<i64> },
    Document,
    Unknown(&'static str),
}

#[derive(Debug)]
pub struct Member {
    pub name: &'static str,
    pub shape: usize,
    pub required: bool,
}

/// A service's shapes and patterns, with the patterns compiled on first use.
#[derive(Debug)]
pub struct Schema {
    pub shapes: &'static [Shape],
    pub patterns: &'static [&'static str],
    pub regexes: OnceLock<Vec<OnceLock<Option<Regex>>>>,
}

/// Why a request body does not fit its operation's input shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Invalid {
    /// One or more constraint violations: `InvalidParameterException`.
    Constraints(Vec<String>),
    /// A value of the wrong JSON type: `SerializationException`.
    Type(String),
}

impl Invalid {
    pub fn error_code(&self) -> &'static str {
        match self {
            Invalid::Constraints(_) => "InvalidParameterException",
            Invalid::Type(_) => "SerializationException",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Invalid::Constraints(v) => {
                let noun = if v.len() == 1 { "error" } else { "errors" };
                format!("{} validation {noun} detected: {}", v.len(), v.join("; "))
            }
            Invalid::Type(m) => m.clone(),
        }
    }
}

impl Schema {
    /// The compiled form of pattern `i`, or `None` when the model's (Java)
    /// pattern has no equivalent in Rust's regex syntax (see the test listing
    /// them); such a pattern is not enforced.
    pub fn regex(&self, i: usize) -> Option<&Regex> {
        let all = self.regexes.get_or_init(|| self.patterns.iter().map(|_| OnceLock::new()).collect());
        let cell = all.get(i)?;
        cell.get_or_init(|| {
            let p = self.patterns.get(i)?;
            Regex::new(&format!("^(?:{p})$")).ok()
        })
        .as_ref()
    }

    pub fn shape_index(&self, name: &str) -> Option<usize> {
        self.shapes.binary_search_by(|s| s.name.cmp(name)).ok()
    }

    /// Checks `value` against shape `root` (an operation's input).
    pub fn validate(&self, root: usize, value: &Value) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        self.check(root, value, "", &mut errors)?;
        if errors.is_empty() { Ok(()) } else { Err(Invalid::Constraints(errors)) }
    }

    fn check(&self, ix: usize, value: &Value, path: &str, errors: &mut Vec<String>) -> Result<(), Invalid> {
        let Some(shape) = self.shapes.get(ix) else { return Ok(()) };
        let shown = |v: &Value| -> String {
            if shape.sensitive {
                "Value".to_string()
            } else {
                match v {
                    Value::String(s) => format!("Value '{s}'"),
                    other => format!("Value '{other}'"),
                }
            }
        };
        let fail = |errors: &mut Vec<String>, what: String| {
            errors.push(format!("{} at '{path}' failed to satisfy constraint: {what}", shown(value)));
        };
        match &shape.kind {
            Kind::Structure { members, .. } => {
                let Some(obj) = value.as_object() else {
                    return Err(type_error(path, "a structure", value));
                };
                for m in *members {
                    let child_path = join(path, m.name);
                    match obj.get(m.name) {
                        None | Some(Value::Null) => {
                            if m.required {
                                errors.push(format!(
                                    "Value null at '{child_path}' failed to satisfy constraint: Member must not be null"
                                ));
                            }
                        }
                        Some(v) => self.check(m.shape, v, &child_path, errors)?,
                    }
                }
            }
            Kind::String { min, max, pattern, enum_values } => {
                let Some(s) = value.as_str() else {
                    return Err(type_error(path, "a string", value));
                };
                // Java strings count UTF-16 code units, and so do AWS's bounds.
                let len = s.encode_utf16().count() as i64;
                if !enum_values.is_empty() && !enum_values.contains(&s) {
                    fail(errors, format!("Member must satisfy enum value set: [{}]", enum_values.join(", ")));
                }
                if let Some(max) = max
                    && len > *max
                {
                    fail(errors, format!("Member must have length less than or equal to {max}"));
                }
                if let Some(min) = min
                    && len < *min
                {
                    fail(errors, format!("Member must have length greater than or equal to {min}"));
                }
                if let Some(p) = pattern
                    && let Some(re) = self.regex(*p as usize)
                    && !re.is_match(s)
                {
                    let text = self.patterns.get(*p as usize).copied().unwrap_or("");
                    fail(errors, format!("Member must satisfy regular expression pattern: {text}"));
                }
            }
            Kind::Integer { min, max } => {
                let Some(n) = value.as_i64() else {
                    return Err(type_error(path, "an integer", value));
                };
                if let Some(max) = max
                    && n > *max
                {
                    fail(errors, format!("Member must have value less than or equal to {max}"));
                }
                if let Some(min) = min
                    && n < *min
                {
                    fail(errors, format!("Member must have value greater than or equal to {min}"));
                }
            }
            Kind::Double | Kind::Timestamp => {
                if !value.is_number() {
                    return Err(type_error(path, "a number", value));
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    return Err(type_error(path, "a boolean", value));
                }
            }
            Kind::Blob { min, max } => {
                let Some(s) = value.as_str() else {
                    return Err(type_error(path, "a base64 string", value));
                };
                use base64::Engine as _;
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s) else {
                    return Err(Invalid::Type(format!("Base64 encoded value expected at '{path}'")));
                };
                let len = bytes.len() as i64;
                if let Some(max) = max
                    && len > *max
                {
                    fail(errors, format!("Member must have length less than or equal to {max}"));
                }
                if let Some(min) = min
                    && len < *min
                {
                    fail(errors, format!("Member must have length greater than or equal to {min}"));
                }
            }
            Kind::List { member, min, max } => {
                let Some(items) = value.as_array() else {
                    return Err(type_error(path, "a list", value));
                };
                let len = items.len() as i64;
                if let Some(max) = max
                    && len > *max
                {
                    fail(errors, format!("Member must have length less than or equal to {max}"));
                }
                if let Some(min) = min
                    && len < *min
                {
                    fail(errors, format!("Member must have length greater than or equal to {min}"));
                }
                for (i, item) in items.iter().enumerate() {
                    if item.is_null() {
                        continue;
                    }
                    self.check(*member, item, &format!("{path}.{}.member", i + 1), errors)?;
                }
            }
            Kind::Map { key, value: v, min, max } => {
                let Some(obj) = value.as_object() else {
                    return Err(type_error(path, "a map", value));
                };
                let len = obj.len() as i64;
                if let Some(max) = max
                    && len > *max
                {
                    fail(errors, format!("Member must have length less than or equal to {max}"));
                }
                if let Some(min) = min
                    && len < *min
                {
                    fail(errors, format!("Member must have length greater than or equal to {min}"));
                }
                for (k, item) in obj {
                    self.check(*key, &Value::String(k.clone()), path, errors)?;
                    if !item.is_null() {
                        self.check(*v, item, &format!("{path}.{k}"), errors)?;
                    }
                }
            }
            Kind::Document | Kind::Unknown(_) => {}
        }
        Ok(())
    }
}

/// AWS writes member paths in lower camel case: `policies.passwordPolicy`.
fn join(path: &str, member: &str) -> String {
    let mut c = member.chars();
    let camel = match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    if path.is_empty() { camel } else { format!("{path}.{camel}") }
}

fn type_error(path: &str, expected: &str, got: &Value) -> Invalid {
    let found = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a structure",
    };
    let at = if path.is_empty() { "the request body".to_string() } else { format!("'{path}'") };
    Invalid::Type(format!("Expected {expected} at {at} but found {found}"))
}

#[cfg(test)]
mod tests {
    use crate::idp;
    use serde_json::json;

    fn input(op: idp::Op) -> usize {
        op.info().input.expect("input shape")
    }

    #[test]
    fn missing_required_member_is_worded_as_aws_words_it() {
        let err = idp::SCHEMA.validate(input(idp::Op::CreateUserPool), &json!({})).unwrap_err();
        assert_eq!(
            err.message(),
            "1 validation error detected: Value null at 'poolName' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(err.error_code(), "InvalidParameterException");
    }

    #[test]
    fn nested_and_list_paths_and_several_errors() {
        let body = json!({
            "PoolName": "p",
            "Policies": {"PasswordPolicy": {"MinimumLength": 3}},
            "Schema": [{"Name": "ok"}, {"Name": ""}],
        });
        let err = idp::SCHEMA.validate(input(idp::Op::CreateUserPool), &body).unwrap_err();
        let m = err.message();
        // An empty name breaks both its length bound and its pattern.
        assert!(m.starts_with("3 validation errors detected: "), "{m}");
        assert!(m.contains("Value '3' at 'policies.passwordPolicy.minimumLength' failed to satisfy constraint: Member must have value greater than or equal to 6"), "{m}");
        assert!(m.contains("at 'schema.2.member.name' failed to satisfy constraint: Member must have length greater than or equal to 1"), "{m}");
    }

    #[test]
    fn enums_patterns_and_sensitive_values() {
        let body = json!({"UserPoolId": "not a pool", "ClientId": "c", "AuthFlow": "NOPE"});
        let err = idp::SCHEMA.validate(input(idp::Op::AdminInitiateAuth), &body).unwrap_err();
        let m = err.message();
        assert!(
            m.contains(
                "Value 'NOPE' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: ["
            ),
            "{m}"
        );
        assert!(m.contains("Value 'not a pool' at 'userPoolId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+"), "{m}");
        // ClientId is sensitive in the model: its value is never echoed.
        let body = json!({"UserPoolId": "us-east-1_abc", "ClientId": "", "AuthFlow": "USER_PASSWORD_AUTH"});
        let m = idp::SCHEMA.validate(input(idp::Op::AdminInitiateAuth), &body).unwrap_err().message();
        assert!(m.contains("Value at 'clientId' failed"), "{m}");
    }

    #[test]
    fn wrong_json_types_are_serialization_errors() {
        let err = idp::SCHEMA.validate(input(idp::Op::ListUserPools), &json!({"MaxResults": "ten"})).unwrap_err();
        assert_eq!(err.error_code(), "SerializationException");
        let err = idp::SCHEMA.validate(input(idp::Op::ListUserPools), &json!([1])).unwrap_err();
        assert_eq!(err.error_code(), "SerializationException");
        assert!(idp::SCHEMA.validate(input(idp::Op::ListUserPools), &json!({"MaxResults": 60, "Unknown": 1})).is_ok());
    }

    /// Every model pattern compiles in Rust's syntax except the ones listed
    /// here (Java look-behind), which are therefore not enforced.
    #[test]
    fn model_patterns_compile() {
        let schemas =
            [&idp::SCHEMA, &crate::identity::SCHEMA, &crate::sync::SCHEMA, &crate::sts::SCHEMA, &crate::avp::SCHEMA];
        let mut failing = Vec::new();
        for s in schemas {
            for (i, p) in s.patterns.iter().enumerate() {
                if s.regex(i).is_none() {
                    failing.push(*p);
                }
            }
        }
        assert_eq!(failing, vec!["^[0-9A-Za-z\\.\\-_]*(?<!\\.)$"]);
    }

    #[test]
    fn shapes_are_sorted_for_lookup() {
        assert!(idp::SHAPES.windows(2).all(|w| w[0].name < w[1].name));
        assert!(idp::SCHEMA.shape_index("CreateUserPoolRequest").is_some());
    }
}
