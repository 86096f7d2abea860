//! Users: lookup by username or alias, usernames and aliases, attribute
//! checks against the schema, writing a user with its aliases and search
//! entries, setting a password (with its history).
//!
//! A user is found by its username key (case-folded when the pool's
//! UsernameConfiguration says so) or by an alias. Aliases (email, phone,
//! preferred_username) live in their own table whose primary key makes each
//! unique in the pool, so two sign-ups racing for one email are settled by the
//! database.

use crate::base::context::ClientCtx;
use crate::base::passwords::{self, verify_password};
use crate::{Error, Fault, Idp, Result};
use cognate_store::SearchEntry;
use cognate_store::{AliasRow, PoolRow, StoreError, UserKey, UserRow};
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// A user as the flows see it: its stored row and its attributes, parsed
/// once when the user is read. `attrs` is the truth while a request runs;
/// [`User::synced`] writes it back into the row just before the row is
/// stored, so no step reads or writes the row's attribute JSON itself.
#[derive(Debug, Clone)]
pub struct User {
    row: UserRow,
    pub attrs: BTreeMap<String, String>,
}

impl User {
    /// Parses a stored row's attributes.
    pub(crate) fn read(row: UserRow) -> Result<User> {
        let attrs = serde_json::from_str(&row.attributes)?;
        Ok(User { row, attrs })
    }

    pub(crate) fn read_opt(row: Option<UserRow>) -> Result<Option<User>> {
        row.map(User::read).transpose()
    }

    /// The row to store, its attribute JSON written from `attrs`.
    pub(crate) fn synced(&mut self) -> Result<&UserRow> {
        self.row.attributes = serde_json::to_string(&self.attrs)?;
        Ok(&self.row)
    }

    pub(crate) fn into_row(mut self) -> Result<UserRow> {
        self.synced()?;
        Ok(self.row)
    }
}

impl std::ops::Deref for User {
    type Target = UserRow;
    fn deref(&self) -> &UserRow {
        &self.row
    }
}

impl std::ops::DerefMut for User {
    fn deref_mut(&mut self) -> &mut UserRow {
        &mut self.row
    }
}

/// A user's status, read from its row (stored by its wire name; a name
/// this build does not know reads as UNKNOWN, which no flow accepts).
pub(crate) fn status_of(user: &UserRow) -> UserStatusType {
    UserStatusType::parse(&user.status).unwrap_or(UserStatusType::Unknown)
}

pub(crate) fn set_status(user: &mut UserRow, status: UserStatusType) {
    user.status = status.as_str().to_string();
}

fn case_insensitive(pool: &UserPoolType) -> bool {
    pool.username_configuration.as_ref().is_some_and(|u| !u.case_sensitive)
}

pub(crate) fn username_key(pool: &UserPoolType, username: &str) -> String {
    if case_insensitive(pool) { username.to_lowercase() } else { username.to_string() }
}

pub(crate) fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

pub(crate) fn looks_like_phone(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| (2..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()))
}

pub(crate) fn username_attrs(pool: &UserPoolType) -> Vec<UsernameAttributeType> {
    pool.username_attributes.clone().unwrap_or_default()
}

fn alias_attrs(pool: &UserPoolType) -> Vec<AliasAttributeType> {
    pool.alias_attributes.clone().unwrap_or_default()
}

/// The aliases a user with these attributes holds in this pool.
pub(crate) fn aliases_for(
    pool_id: &str,
    pool: &UserPoolType,
    key: &str,
    attrs: &BTreeMap<String, String>,
) -> Vec<AliasRow> {
    let fold = |v: &str| username_key(pool, v);
    let verified = |name: &str| attrs.get(&format!("{name}_verified")).map(String::as_str) == Some("true");
    let mut out = Vec::new();
    let mut add = |kind: &str, value: &str| {
        out.push(AliasRow {
            pool_id: pool_id.into(),
            kind: kind.into(),
            value_key: fold(value),
            username_key: key.into(),
        })
    };
    let by_username = username_attrs(pool);
    let by_alias = alias_attrs(pool);
    if let Some(email) = attrs.get("email")
        && (by_username.contains(&UsernameAttributeType::Email)
            || (by_alias.contains(&AliasAttributeType::Email) && verified("email")))
    {
        add("email", email);
    }
    if let Some(phone) = attrs.get("phone_number")
        && (by_username.contains(&UsernameAttributeType::PhoneNumber)
            || (by_alias.contains(&AliasAttributeType::PhoneNumber) && verified("phone_number")))
    {
        add("phone_number", phone);
    }
    if let Some(pu) = attrs.get("preferred_username")
        && by_alias.contains(&AliasAttributeType::PreferredUsername)
    {
        add("preferred_username", pu);
    }
    out
}

/// Standard attributes ListUsers can filter on (besides username,
/// cognito:user_status, status and sub).
pub(crate) const SEARCHABLE: &[&str] =
    &["email", "phone_number", "name", "given_name", "family_name", "preferred_username"];

/// What a user can be found by: the username (its lookup key), the sub, the
/// searchable standard attributes and, as Cognate's extension, every custom
/// attribute.
pub(crate) fn search_entries(user: &User) -> Vec<SearchEntry> {
    let mut out = vec![SearchEntry::new("username", &user.username_key), SearchEntry::new("sub", &user.sub)];
    for (name, value) in &user.attrs {
        if SEARCHABLE.contains(&name.as_str()) || name.starts_with("custom:") {
            out.push(SearchEntry::new(name.clone(), value));
        }
    }
    out
}

impl Idp {
    /// Finds a user by username, then by alias, as sign-in does.
    pub(crate) async fn find_user(
        &self,
        pool_row: &PoolRow,
        pool: &UserPoolType,
        username: &str,
    ) -> Result<Option<User>> {
        let key = username_key(pool, username);
        if let Some(u) = self.store.get_user(UserKey { pool_id: &pool_row.id, username_key: &key }).await? {
            return Ok(Some(User::read(u)?));
        }
        let kind = if looks_like_email(username) {
            "email"
        } else if looks_like_phone(username) {
            "phone_number"
        } else {
            "preferred_username"
        };
        User::read_opt(self.store.get_user_by_alias(&pool_row.id, kind, &key).await?)
    }

    /// Checks attributes a client writes against the pool's schema and the
    /// client's WriteAttributes; returns them as a map.
    pub(crate) fn client_attributes(&self, c: &ClientCtx, given: &[AttributeType]) -> Result<BTreeMap<String, String>> {
        let schema = c.pool.schema_attributes.as_deref().unwrap_or_default();
        let writable = c.client.write_attributes.as_ref();
        let mut out = BTreeMap::new();
        for a in given {
            let value = a.value.clone().unwrap_or_default();
            let Some(def) = schema.iter().find(|s| s.name.as_deref() == Some(a.name.as_str())) else {
                return Err(Error::InvalidParameter(format!(
                    "Attributes did not conform to the schema: {}: Attribute does not exist in the schema.",
                    a.name
                )));
            };
            let system = a.name == "sub" || a.name.ends_with("_verified") || a.name.starts_with("dev:");
            if system || writable.is_some_and(|w| !w.contains(&a.name)) {
                return Err(Error::NotAuthorized("A client attempted to write unauthorized attribute".into()));
            }
            check_value(def, &a.name, &value)?;
            out.insert(a.name.clone(), value);
        }
        Ok(out)
    }

    /// Writes a user and its aliases; a taken alias is AliasExistsException
    /// unless `force`, which moves the alias to this user.
    pub(crate) async fn write_user_with_aliases(
        &self,
        user: &mut User,
        aliases: &[AliasRow],
        force: bool,
    ) -> Result<()> {
        let search = search_entries(user);
        let user = user.synced()?;
        match self.store.update_user(user, Some((aliases, &search))).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::ConcurrentModification("The user was modified concurrently; try again.".into())),
            Err(StoreError::Conflict) if force => {
                for a in aliases {
                    let holder = self.store.get_user_by_alias(&a.pool_id, &a.kind, &a.value_key).await?;
                    if holder.is_some_and(|h| h.username_key != user.username_key) {
                        self.store.delete_alias(&a.pool_id, &a.kind, &a.value_key).await?;
                    }
                }
                match self.store.update_user(user, Some((aliases, &search))).await {
                    Ok(true) => Ok(()),
                    Ok(false) | Err(StoreError::Conflict) => {
                        Err(Error::ConcurrentModification("The user was modified concurrently; try again.".into()))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(StoreError::Conflict) => Err(alias_taken(self.taken_alias(user, aliases).await?.as_deref())),
            Err(e) => Err(e.into()),
        }
    }

    /// Which of `aliases` another user holds (the kind), if any.
    pub(crate) async fn taken_alias(&self, user: &UserRow, aliases: &[AliasRow]) -> Result<Option<String>> {
        for a in aliases {
            let holder = self.store.get_user_by_alias(&a.pool_id, &a.kind, &a.value_key).await?;
            if holder.is_some_and(|h| h.username_key != user.username_key) {
                return Ok(Some(a.kind.clone()));
            }
        }
        Ok(None)
    }

    /// Sets a new password (hash and SRP verifier) on `user` and saves it.
    pub(crate) async fn set_password(&self, c: &ClientCtx, user: &mut User, password: &str) -> Result<()> {
        let policy = c.pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        passwords::check_policy(password, &policy, passwords::Wording::DidNotConform)?;
        // PasswordHistorySize: the current password and the ones before it.
        let remembered = i64::from(policy.password_history_size.unwrap_or(0));
        let old_hash = user.password_hash.clone();
        if remembered > 0 {
            let mut hashes: Vec<String> = old_hash.iter().cloned().collect();
            hashes.extend(self.store.password_history(user.key(), remembered - 1).await?);
            for h in hashes {
                if verify_password(password.to_string(), h).await? {
                    return Err(Error::PasswordHistoryPolicyViolation("Password has previously been used".into()));
                }
            }
        }
        let material = self.hashing.material(password.to_string(), user.pool_id.clone(), user.username.clone()).await?;
        crate::model::users::set_password_fields(user, material, self.now());
        if !self.store.update_user(user.synced()?, None).await? {
            return Err(Error::ConcurrentModification("The user was modified concurrently; try again.".into()));
        }
        user.version += 1;
        if let (true, Some(old)) = (remembered > 1, old_hash) {
            self.store.push_password_history(user.key(), &old, self.now(), remembered - 1).await?;
        }
        Ok(())
    }
}

/// AdminCreateUserConfig.AllowAdminCreateUserOnly: users may not create
/// themselves (SignUp, and later the hosted sign-up page and federation).
pub(crate) fn admin_creates_users_only(pool: &UserPoolType) -> bool {
    pool.admin_create_user_config.as_ref().and_then(|a| a.allow_admin_create_user_only) == Some(true)
}

/// A user's SRP salt (hex) and verifier; a user without them (created
/// from a password hash alone) is refused SRP until a password sign-in.
pub(crate) fn srp_material(user: &UserRow) -> Result<(String, Vec<u8>)> {
    let (Some(salt), Some(v)) = (&user.srp_salt, &user.srp_verifier) else {
        return Err(Error::NotAuthorized(
            "SRP is not available for this user: sign in with USER_PASSWORD_AUTH once.".into(),
        ));
    };
    let v = hex::decode(v).map_err(|e| Error::internal(Fault::Document, format!("SRP verifier: {e}")))?;
    Ok((salt.clone(), v))
}

/// AliasExistsException, worded as Cognito words it for the alias's kind.
pub(crate) fn alias_taken(kind: Option<&str>) -> Error {
    Error::AliasExists(format!("An account with the given {} already exists.", alias_word(kind)))
}

/// How Cognito names an alias in its messages: `email` or `phone_number`.
pub(crate) fn alias_word(kind: Option<&str>) -> &'static str {
    if kind == Some("phone_number") { "phone_number" } else { "email" }
}

/// Checks one attribute value against its schema definition.
pub(crate) fn check_value(def: &SchemaAttributeType, name: &str, value: &str) -> Result<()> {
    let bad =
        |why: String| Err(Error::InvalidParameter(format!("Attributes did not conform to the schema: {name}: {why}")));
    match def.attribute_data_type.unwrap_or(AttributeDataType::String) {
        AttributeDataType::String => {
            let len = value.encode_utf16().count() as i64;
            let c = def.string_attribute_constraints.clone().unwrap_or_default();
            if let Some(max) = c.max_length.and_then(|m| m.parse::<i64>().ok())
                && len > max
            {
                return bad(format!("String must be no longer than {max} characters"));
            }
            if let Some(min) = c.min_length.and_then(|m| m.parse::<i64>().ok())
                && len < min
                && !value.is_empty()
            {
                return bad(format!("String must be at least {min} characters"));
            }
        }
        AttributeDataType::Number => {
            let Ok(n) = value.parse::<i64>() else { return bad("Number expected".into()) };
            let c = def.number_attribute_constraints.clone().unwrap_or_default();
            if let Some(max) = c.max_value.and_then(|m| m.parse::<i64>().ok())
                && n > max
            {
                return bad(format!("Number must be at most {max}"));
            }
            if let Some(min) = c.min_value.and_then(|m| m.parse::<i64>().ok())
                && n < min
            {
                return bad(format!("Number must be at least {min}"));
            }
        }
        AttributeDataType::Boolean => {
            if value != "true" && value != "false" {
                return bad("Boolean expected".into());
            }
        }
        AttributeDataType::DateTime => {}
    }
    if name == "email" && !looks_like_email(value) {
        return Err(Error::InvalidParameter("Invalid email address format.".into()));
    }
    if name == "phone_number" && !looks_like_phone(value) {
        return Err(Error::InvalidParameter("Invalid phone number format.".into()));
    }
    Ok(())
}

/// Every attribute the schema marks required must be present.
pub(crate) fn check_required(pool: &UserPoolType, attrs: &BTreeMap<String, String>) -> Result<()> {
    for a in pool.schema_attributes.iter().flatten() {
        let name = a.name.as_deref().unwrap_or_default();
        if a.required == Some(true) && name != "sub" && !attrs.contains_key(name) {
            return Err(Error::InvalidParameter(format!(
                "Attributes did not conform to the schema: {name}: The attribute is required"
            )));
        }
    }
    Ok(())
}

/// `[{Name, Value}]` as a trigger's flat map.
pub(crate) fn name_values(list: Option<&[AttributeType]>) -> serde_json::Value {
    serde_json::Value::Object(
        list.unwrap_or_default()
            .iter()
            .map(|a| (a.name.clone(), serde_json::Value::String(a.value.clone().unwrap_or_default())))
            .collect(),
    )
}

/// The username a new user is stored under. With email or phone as the
/// username, the given name must be one (it becomes that attribute) and the
/// stored username is the sub; with aliases, it must not look like one.
pub(crate) fn resolve_username(
    pool: &UserPoolType,
    given: &str,
    sub: &str,
    attrs: &mut BTreeMap<String, String>,
) -> Result<String> {
    let by_username = username_attrs(pool);
    if by_username.is_empty() {
        let alias = alias_attrs(pool);
        if alias.contains(&AliasAttributeType::Email) && looks_like_email(given) {
            return Err(Error::InvalidParameter(
                "Username cannot be of email format, since user pool is configured for email alias.".into(),
            ));
        }
        if alias.contains(&AliasAttributeType::PhoneNumber) && looks_like_phone(given) {
            return Err(Error::InvalidParameter(
                "Username cannot be of phone number format, since user pool is configured for phone number alias."
                    .into(),
            ));
        }
        return Ok(given.to_string());
    }
    let email_ok = by_username.contains(&UsernameAttributeType::Email);
    let phone_ok = by_username.contains(&UsernameAttributeType::PhoneNumber);
    if email_ok && looks_like_email(given) {
        attrs.insert("email".into(), given.to_string());
    } else if phone_ok && looks_like_phone(given) {
        attrs.insert("phone_number".into(), given.to_string());
    } else {
        return Err(Error::InvalidParameter(
            match (email_ok, phone_ok) {
                (true, true) => "Username should be either an email or a phone number.",
                (true, false) => "Username should be an email.",
                _ => "Username should be a phone number.",
            }
            .into(),
        ));
    }
    Ok(sub.to_string())
}

/// A new user row: stored username and key, sub, status, attributes, and the
/// password's hash and SRP verifier.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_user_row(
    pool: &UserPoolType,
    pool_id: &str,
    username: &str,
    sub: &str,
    status: UserStatusType,
    attrs: BTreeMap<String, String>,
    password: (String, cognate_crypto::srp::Verifier),
    now: i64,
) -> Result<User> {
    let mut row = UserRow {
        pool_id: pool_id.to_string(),
        username: username.to_string(),
        username_key: username_key(pool, username),
        sub: sub.to_string(),
        status: status.as_str().to_string(),
        enabled: 1,
        created_at: now,
        version: 1,
        ..Default::default()
    };
    set_password_fields(&mut row, password, now);
    let mut user = User { row, attrs };
    user.synced()?;
    Ok(user)
}

/// Puts a new password (hash and SRP verifier) on a row and clears the
/// failure count; the caller writes the row.
pub(crate) fn set_password_fields(
    user: &mut UserRow,
    (hash, verifier): (String, cognate_crypto::srp::Verifier),
    now: i64,
) {
    user.password_hash = Some(hash);
    user.srp_salt = Some(verifier.salt_hex());
    user.srp_verifier = Some(hex::encode(&verifier.verifier));
    user.password_changed_at = now;
    user.updated_at = now;
    user.failed_attempts = 0;
    user.locked_until = 0;
}
