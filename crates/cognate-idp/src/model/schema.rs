//! A pool's attribute schema: Cognito's standard attributes, in the order
//! Cognito lists them, and the rules for custom attributes.

use crate::{Error, Result};
use cognate_wire::idp::{
    AttributeDataType, NumberAttributeConstraintsType, SchemaAttributeType, StringAttributeConstraintsType,
};

/// The most custom attributes a pool may have.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;

/// A standard attribute: name, type, mutable, required, min length (or min
/// value), max length.
struct Standard(&'static str, AttributeDataType, bool, bool, Option<&'static str>, Option<&'static str>);

const STANDARD: &[Standard] = &[
    Standard("sub", AttributeDataType::String, false, true, Some("1"), Some("2048")),
    Standard("name", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("given_name", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("family_name", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("middle_name", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("nickname", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("preferred_username", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("profile", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("picture", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("website", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("email", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("email_verified", AttributeDataType::Boolean, true, false, None, None),
    Standard("gender", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("birthdate", AttributeDataType::String, true, false, Some("10"), Some("10")),
    Standard("zoneinfo", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("locale", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("phone_number", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("phone_number_verified", AttributeDataType::Boolean, true, false, None, None),
    Standard("address", AttributeDataType::String, true, false, Some("0"), Some("2048")),
    Standard("updated_at", AttributeDataType::Number, true, false, Some("0"), None),
];

pub fn is_standard(name: &str) -> bool {
    STANDARD.iter().any(|s| s.0 == name)
}

fn standard_attribute(entry: &Standard) -> SchemaAttributeType {
    let Standard(name, ty, mutable, required, min, max) = *entry;
    let mut a = SchemaAttributeType {
        name: Some(name.to_string()),
        attribute_data_type: Some(ty),
        developer_only_attribute: Some(false),
        mutable: Some(mutable),
        required: Some(required),
        ..Default::default()
    };
    match ty {
        AttributeDataType::String => {
            a.string_attribute_constraints = Some(StringAttributeConstraintsType {
                min_length: min.map(str::to_string),
                max_length: max.map(str::to_string),
            })
        }
        AttributeDataType::Number => {
            a.number_attribute_constraints = Some(NumberAttributeConstraintsType {
                min_value: min.map(str::to_string),
                max_value: max.map(str::to_string),
            })
        }
        _ => {}
    }
    a
}

/// The schema of a new pool: the standard attributes, adjusted by the
/// request's entries for them, then the request's custom attributes.
pub fn initial(requested: &[SchemaAttributeType]) -> Result<Vec<SchemaAttributeType>> {
    let mut out: Vec<SchemaAttributeType> = STANDARD.iter().map(standard_attribute).collect();
    let mut custom = Vec::new();
    for r in requested {
        let name = r.name.clone().unwrap_or_default();
        if let Some(std_attr) = out.iter_mut().find(|a| a.name.as_deref() == Some(name.as_str())) {
            adjust_standard(std_attr, r)?;
        } else {
            custom.push(r.clone());
        }
    }
    add_custom(&mut out, &custom)?;
    Ok(out)
}

/// A standard attribute may be made required, made immutable, or given
/// other string or number bounds; its type and developer-only flag are fixed.
fn adjust_standard(a: &mut SchemaAttributeType, r: &SchemaAttributeType) -> Result<()> {
    let name = a.name.clone().unwrap_or_default();
    if name == "sub" {
        // sub is fixed; Cognito accepts it restated but changes nothing.
        return Ok(());
    }
    let type_changes = r.attribute_data_type.is_some_and(|t| Some(t) != a.attribute_data_type);
    if type_changes || r.developer_only_attribute == Some(true) {
        return Err(Error::InvalidParameter(format!(
            "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute {name}"
        )));
    }
    if let Some(m) = r.mutable {
        a.mutable = Some(m);
    }
    if let Some(req) = r.required {
        a.required = Some(req);
    }
    if let (Some(given), Some(current)) = (&r.string_attribute_constraints, a.string_attribute_constraints.as_mut()) {
        check_string_constraints(&name, given)?;
        if given.min_length.is_some() {
            current.min_length = given.min_length.clone();
        }
        if given.max_length.is_some() {
            current.max_length = given.max_length.clone();
        }
    }
    // Number bounds (updated_at) are checked as a custom attribute's are.
    if let (Some(given), Some(current)) = (&r.number_attribute_constraints, a.number_attribute_constraints.as_mut()) {
        check_number_constraints(&name, given)?;
        if given.min_value.is_some() {
            current.min_value = given.min_value.clone();
        }
        if given.max_value.is_some() {
            current.max_value = given.max_value.clone();
        }
    }
    Ok(())
}

fn check_string_constraints(name: &str, c: &StringAttributeConstraintsType) -> Result<()> {
    let parse = |v: &Option<String>| -> Result<Option<i64>> {
        match v {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                Error::InvalidParameter(format!("Invalid string attribute constraints for attribute {name}."))
            }),
        }
    };
    let (min, max) = (parse(&c.min_length)?, parse(&c.max_length)?);
    let bad = min.is_some_and(|m| !(0..=2048).contains(&m))
        || max.is_some_and(|m| !(0..=2048).contains(&m))
        || matches!((min, max), (Some(a), Some(b)) if a > b);
    if bad {
        return Err(Error::InvalidParameter(format!("Invalid string attribute constraints for attribute {name}.")));
    }
    Ok(())
}

fn check_number_constraints(name: &str, c: &NumberAttributeConstraintsType) -> Result<()> {
    let parse = |v: &Option<String>| -> Result<Option<i64>> {
        match v {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                Error::InvalidParameter(format!("Invalid number attribute constraints for attribute {name}."))
            }),
        }
    };
    if let (Some(a), Some(b)) = (parse(&c.min_value)?, parse(&c.max_value)?)
        && a > b
    {
        return Err(Error::InvalidParameter(format!("Invalid number attribute constraints for attribute {name}.")));
    }
    Ok(())
}

/// Appends custom attributes (`custom:name`, or `dev:custom:name` when
/// developer-only) to a schema, with Cognito's checks.
pub fn add_custom(schema: &mut Vec<SchemaAttributeType>, custom: &[SchemaAttributeType]) -> Result<()> {
    for c in custom {
        let base = c.name.clone().unwrap_or_default();
        let dev = c.developer_only_attribute == Some(true);
        let full = if dev { format!("dev:custom:{base}") } else { format!("custom:{base}") };
        if c.required == Some(true) {
            return Err(Error::InvalidParameter("Required custom attributes are not supported currently.".into()));
        }
        let exists = schema.iter().any(|a| {
            let n = a.name.as_deref().unwrap_or("");
            n == full || n == format!("custom:{base}") || n == format!("dev:custom:{base}")
        });
        if exists {
            return Err(Error::InvalidParameter(format!("{full}: Existing attribute already has name {full}.")));
        }
        let ty = c.attribute_data_type.ok_or_else(|| {
            Error::InvalidParameter(
                "Invalid AttributeDataType input, consider using the provided AttributeDataType enum.".into(),
            )
        })?;
        let mut a = SchemaAttributeType {
            name: Some(full.clone()),
            attribute_data_type: Some(ty),
            developer_only_attribute: Some(dev),
            mutable: Some(c.mutable.unwrap_or(true)),
            required: Some(false),
            ..Default::default()
        };
        match ty {
            AttributeDataType::String => {
                let given = c.string_attribute_constraints.clone().unwrap_or_default();
                check_string_constraints(&full, &given)?;
                a.string_attribute_constraints = Some(given);
            }
            AttributeDataType::Number => {
                let given = c.number_attribute_constraints.clone().unwrap_or_default();
                check_number_constraints(&full, &given)?;
                a.number_attribute_constraints = Some(given);
            }
            _ => {}
        }
        schema.push(a);
    }
    let customs = schema.iter().filter(|a| !is_standard(a.name.as_deref().unwrap_or(""))).count();
    if customs > MAX_CUSTOM_ATTRIBUTES {
        return Err(Error::LimitExceeded(format!(
            "A user pool can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes."
        )));
    }
    Ok(())
}

/// The columns of a user import CSV: every attribute but `sub`, then
/// `cognito:mfa_enabled` and `cognito:username`.
pub fn csv_header(schema: &[SchemaAttributeType]) -> Vec<String> {
    let mut cols: Vec<String> = schema
        .iter()
        .filter_map(|a| a.name.clone())
        .filter(|n| n != "sub" && n != "identities" && !n.starts_with("dev:"))
        .collect();
    cols.push("cognito:mfa_enabled".into());
    cols.push("cognito:username".into());
    cols
}
