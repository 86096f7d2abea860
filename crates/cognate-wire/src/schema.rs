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
    pub regexes: OnceLock<Vec<OnceLock<Option<Pattern>>>>,
}

/// A compiled model pattern. Most of Cognito's patterns are one character
/// class repeated (`[\p{L}\p{M}\p{S}\p{N}\p{P}]+` for usernames,
/// `[A-Za-z0-9-_=.]+` for tokens); for those, an ASCII value is checked
/// against a table of the class's ASCII members, built from the regex
/// engine's own reading of the class, instead of running the regex over a
/// thousand-character token.
#[derive(Debug)]
pub struct Pattern {
    regex: Regex,
    class: Option<RepeatedClass>,
}

#[derive(Debug)]
struct RepeatedClass {
    /// Indexed by byte; false for every non-ASCII byte.
    ascii: [bool; 256],
    min: usize,
    max: Option<usize>,
}

impl Pattern {
    fn new(pattern: &str) -> Option<Pattern> {
        let regex = Regex::new(&format!("^(?:{pattern})$")).ok()?;
        Some(Pattern { regex, class: RepeatedClass::of(pattern) })
    }

    /// Whether all of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.class {
            // All bytes in the table: ASCII and in the class. Otherwise an
            // ASCII value has a byte outside the class; anything else goes
            // to the regex.
            Some(c) if s.bytes().all(|b| c.ascii[usize::from(b)]) => {
                (c.min..=c.max.unwrap_or(usize::MAX)).contains(&s.len())
            }
            Some(_) if s.is_ascii() => false,
            _ => self.regex.is_match(s),
        }
    }
}

impl RepeatedClass {
    /// The class and bounds of a pattern that is exactly `[class]{min,max}`
    /// (`+`, `*` included), as the regex crate parses it.
    fn of(pattern: &str) -> Option<RepeatedClass> {
        use regex_syntax::hir::{Class, HirKind};
        let hir = regex_syntax::parse(pattern).ok()?;
        let HirKind::Repetition(rep) = hir.kind() else { return None };
        let contains: Box<dyn Fn(u8) -> bool> = match rep.sub.kind() {
            HirKind::Class(Class::Unicode(c)) => {
                let ranges = c.ranges().to_vec();
                Box::new(move |b| ranges.iter().any(|r| (r.start()..=r.end()).contains(&char::from(b))))
            }
            HirKind::Class(Class::Bytes(c)) => {
                let ranges = c.ranges().to_vec();
                Box::new(move |b| ranges.iter().any(|r| (r.start()..=r.end()).contains(&b)))
            }
            _ => return None,
        };
        let mut ascii = [false; 256];
        for (b, member) in (0u8..128).zip(ascii.iter_mut()) {
            *member = contains(b);
        }
        Some(RepeatedClass {
            ascii,
            min: usize::try_from(rep.min).ok()?,
            max: rep.max.map(usize::try_from).transpose().ok()?,
        })
    }
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

/// Patterns the service accepts more than: Cognito takes a custom domain's
/// full name (`auth.example.com`) in the `Domain` member whose pattern
/// (`DomainType`) allows only a prefix. The domain layer checks both forms.
const WIDER_THAN_MODEL: &[&str] = &["^[a-z0-9](?:[a-z0-9\\-]{0,61}[a-z0-9])?$"];

impl Schema {
    /// The compiled form of pattern `i`, or `None` when the model's (Java)
    /// pattern has no equivalent in Rust's regex syntax (see the test listing
    /// them); such a pattern is not enforced.
    pub fn regex(&self, i: usize) -> Option<&Pattern> {
        let all = self.regexes.get_or_init(|| self.patterns.iter().map(|_| OnceLock::new()).collect());
        let cell = all.get(i)?;
        cell.get_or_init(|| Pattern::new(self.patterns.get(i)?)).as_ref()
    }

    pub fn shape_index(&self, name: &str) -> Option<usize> {
        self.shapes.binary_search_by(|s| s.name.cmp(name)).ok()
    }

    /// Checks `value` against shape `root` (an operation's input).
    pub fn validate(&self, root: usize, value: &Value) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        self.check(root, value, &Path::Root, &mut errors)?;
        if errors.is_empty() { Ok(()) } else { Err(Invalid::Constraints(errors)) }
    }

    fn check(&self, ix: usize, value: &Value, path: &Path<'_>, errors: &mut Vec<String>) -> Result<(), Invalid> {
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
                    let child_path = Path::Member(path, m.name);
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
                let len = if s.is_ascii() { s.len() } else { s.encode_utf16().count() } as i64;
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
                    && !WIDER_THAN_MODEL.contains(&self.patterns.get(*p as usize).copied().unwrap_or(""))
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
                    self.check(*member, item, &Path::Item(path, i), errors)?;
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
                        self.check(*v, item, &Path::Key(path, k), errors)?;
                    }
                }
            }
            Kind::Document | Kind::Unknown(_) => {}
        }
        Ok(())
    }
}

/// Where a value sits in the request, written out only when an error names
/// it. AWS writes member paths in lower camel case: `policies.passwordPolicy`;
/// list items as `attributes.2.member`.
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'static str),
    Item(&'a Path<'a>, usize),
    Key(&'a Path<'a>, &'a str),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(parent, name) => {
                if !matches!(parent, Path::Root) {
                    write!(f, "{parent}.")?;
                }
                let mut c = name.chars();
                if let Some(first) = c.next() {
                    write!(f, "{}{}", first.to_lowercase(), c.as_str())?;
                }
                Ok(())
            }
            Path::Item(parent, i) => write!(f, "{parent}.{}.member", i + 1),
            Path::Key(parent, k) => write!(f, "{parent}.{k}"),
        }
    }
}

fn type_error(path: &Path<'_>, expected: &str, got: &Value) -> Invalid {
    let found = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a structure",
    };
    let at = if matches!(path, Path::Root) { "the request body".to_string() } else { format!("'{path}'") };
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

    /// The ASCII table of a repeated-class pattern answers exactly as the
    /// regex does, for every model pattern that has one.
    #[test]
    fn class_tables_agree_with_the_regex() {
        let schemas =
            [&idp::SCHEMA, &crate::identity::SCHEMA, &crate::sync::SCHEMA, &crate::sts::SCHEMA, &crate::avp::SCHEMA];
        let mut with_table = 0;
        for s in schemas {
            for i in 0..s.patterns.len() {
                let Some(p) = s.regex(i) else { continue };
                let Some(class) = &p.class else { continue };
                with_table += 1;
                let lengths = [0, 1, 2, class.min, class.min + 1, class.max.unwrap_or(3), class.max.unwrap_or(3) + 1];
                for b in 0u8..128 {
                    for n in lengths {
                        let text = char::from(b).to_string().repeat(n);
                        assert_eq!(p.is_match(&text), p.regex.is_match(&text), "{:?} on {text:?}", s.patterns[i]);
                        let mixed = format!("a{text}Z9");
                        assert_eq!(p.is_match(&mixed), p.regex.is_match(&mixed), "{:?} on {mixed:?}", s.patterns[i]);
                    }
                }
            }
        }
        // Usernames, tokens, passwords, client ids ... take the table.
        assert!(with_table > 20, "{with_table}");
        let token = &idp::SCHEMA;
        let ix = token.patterns.iter().position(|p| *p == "[A-Za-z0-9-_=.]+").expect("the token pattern");
        let p = token.regex(ix).expect("compiles");
        assert!(p.class.is_some());
        assert!(p.is_match("eyJraWQiOi.x-_=") && !p.is_match("a b") && !p.is_match("") && !p.is_match("ä"));
    }

    #[test]
    fn shapes_are_sorted_for_lookup() {
        assert!(idp::SHAPES.windows(2).all(|w| w[0].name < w[1].name));
        assert!(idp::SCHEMA.shape_index("CreateUserPoolRequest").is_some());
    }
}
