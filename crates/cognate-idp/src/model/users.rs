//! Users: sign-up, confirmation, lookup by username or alias, attributes.
//!
//! A user is found by its username key (case-folded when the pool's
//! UsernameConfiguration says so) or by an alias. Aliases (email, phone,
//! preferred_username) live in their own table whose primary key makes each
//! unique in the pool, so two sign-ups racing for one email are settled by the
//! database.

use crate::model::messages::Channel;
use crate::model::triggers::{self, Trigger};
use crate::{Error, Idp, Result};
use crate::base::passwords;
use cognate_store::{AliasRow, ClientRow, CodeRow, PoolRow, StoreError, UserRow};
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// How long a sign-up confirmation code lives.
pub const SIGNUP_CODE_TTL_MS: i64 = 24 * 3600 * 1000;
/// Wrong tries of one code before it is burnt.
pub const CODE_MAX_ATTEMPTS: i64 = 5;

pub const CODE_SIGNUP: &str = "signup";

/// Cognito's user statuses, as stored.
pub mod status {
    pub const UNCONFIRMED: &str = "UNCONFIRMED";
    pub const CONFIRMED: &str = "CONFIRMED";
    pub const FORCE_CHANGE_PASSWORD: &str = "FORCE_CHANGE_PASSWORD";
    pub const RESET_REQUIRED: &str = "RESET_REQUIRED";
}

/// A public call's client and pool, resolved from the client id.
#[derive(Debug, Clone)]
pub(crate) struct ClientCtx {
    pub pool_row: PoolRow,
    pub pool: UserPoolType,
    pub row: ClientRow,
    pub client: UserPoolClientType,
    /// The call's ClientMetadata, for the triggers it runs.
    pub metadata: BTreeMap<String, String>,
}

impl ClientCtx {
    /// The context with the call's ClientMetadata (absent: none).
    pub fn with_metadata(mut self, metadata: &Option<BTreeMap<String, String>>) -> ClientCtx {
        self.metadata = metadata.clone().unwrap_or_default();
        self
    }

    pub fn prevents_existence_errors(&self) -> bool {
        self.client.prevent_user_existence_errors == Some(PreventUserExistenceErrorTypes::Enabled)
    }
}

pub(crate) fn attrs_of(user: &UserRow) -> Result<BTreeMap<String, String>> {
    Ok(serde_json::from_str(&user.attributes)?)
}

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

fn case_insensitive(pool: &UserPoolType) -> bool {
    pool.username_configuration.as_ref().is_some_and(|u| !u.case_sensitive)
}

pub(crate) fn username_key(pool: &UserPoolType, username: &str) -> String {
    if case_insensitive(pool) { username.to_lowercase() } else { username.to_string() }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

fn looks_like_phone(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| (2..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()))
}

fn username_attrs(pool: &UserPoolType) -> Vec<UsernameAttributeType> {
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

impl Idp {
    /// Resolves the client of a public call and checks its SECRET_HASH.
    pub(crate) async fn public_client(&self, client_id: &str) -> Result<ClientCtx> {
        let not_found = || Error::ResourceNotFound(format!("User pool client {client_id} does not exist."));
        let row = self.store.get_client_by_id(client_id).await?.ok_or_else(not_found)?;
        let client: UserPoolClientType = serde_json::from_str(&row.config)?;
        let (pool_row, pool) = self.load_pool(&row.pool_id).await?;
        Ok(ClientCtx { pool_row, pool, row, client, metadata: BTreeMap::new() })
    }

    /// `SECRET_HASH = Base64(HMAC-SHA256(client secret, username + client id))`,
    /// required exactly when the client has a secret; any current secret of
    /// the client is accepted (rotation).
    pub(crate) async fn check_secret_hash(
        &self,
        c: &ClientCtx,
        username: &str,
        secret_hash: Option<&str>,
    ) -> Result<()> {
        let secrets = self.client_secrets(&c.row.id).await?;
        if secrets.is_empty() {
            return Ok(());
        }
        let Some(given) = secret_hash else {
            return Err(Error::NotAuthorized(format!(
                "Client {} is configured for secret but secret was not received",
                c.row.id
            )));
        };
        use base64::Engine as _;
        let given = base64::engine::general_purpose::STANDARD.decode(given.trim()).unwrap_or_default();
        let msg = format!("{username}{}", c.row.id);
        let mut ok = false;
        for (_, secret) in &secrets {
            let expected = cognate_crypto::hmac_sha256(secret.as_bytes(), msg.as_bytes());
            ok |= cognate_crypto::ct_eq(&expected, &given);
        }
        if ok {
            Ok(())
        } else {
            Err(Error::NotAuthorized(format!("Unable to verify secret hash for client {}", c.row.id)))
        }
    }

    /// Finds a user by username, then by alias, as sign-in does.
    pub(crate) async fn find_user(
        &self,
        pool_row: &PoolRow,
        pool: &UserPoolType,
        username: &str,
    ) -> Result<Option<UserRow>> {
        if let Some(u) = self.store.get_user(&pool_row.id, &username_key(pool, username)).await? {
            return Ok(Some(u));
        }
        let kind = if looks_like_email(username) {
            "email"
        } else if looks_like_phone(username) {
            "phone_number"
        } else {
            "preferred_username"
        };
        Ok(self.store.get_user_by_alias(&pool_row.id, kind, &username_key(pool, username)).await?)
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

    pub async fn sign_up(&self, req: SignUpRequest) -> Result<SignUpResponse> {
        let c = self.public_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        self.check_secret_hash(&c, &req.username, req.secret_hash.as_deref()).await?;
        if admin_creates_users_only(&c.pool) {
            return Err(Error::NotAuthorized("SignUp is not permitted for this user pool".into()));
        }
        let password = req.password.clone().ok_or_else(|| {
            Error::InvalidParameter(
                "A password is required to sign up; passwordless sign-up is not supported yet.".into(),
            )
        })?;
        let mut attrs = self.client_attributes(&c, req.user_attributes.as_deref().unwrap_or_default())?;

        let sub = cognate_crypto::ids::uuid_v4();
        let by_username = username_attrs(&c.pool);
        let username = resolve_username(&c.pool, &req.username, &sub, &mut attrs)?;
        check_required(&c.pool, &attrs)?;
        let policy = c.pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        passwords::check_policy(&password, &policy, passwords::Wording::DidNotConform)?;

        // PreSignUp may reject, confirm the user, or mark email/phone verified.
        let mut confirmed = false;
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&attrs),
            "validationData": name_values(req.validation_data.as_deref()),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        if let Some(r) = self.run_trigger(&c, Trigger::PreSignUp, "PreSignUp_SignUp", &username, request).await? {
            confirmed = triggers::flag(&r, "autoConfirmUser");
            if triggers::flag(&r, "autoVerifyEmail") && attrs.contains_key("email") {
                attrs.insert("email_verified".into(), "true".into());
            }
            if triggers::flag(&r, "autoVerifyPhone") && attrs.contains_key("phone_number") {
                attrs.insert("phone_number_verified".into(), "true".into());
            }
        }

        attrs.insert("sub".into(), sub.clone());
        let material =
            crate::flows::signin::password_material(password.clone(), c.pool_row.id.clone(), username.clone()).await?;
        let initial = if confirmed { status::CONFIRMED } else { status::UNCONFIRMED };
        let user = new_user_row(&c.pool, &c.pool_row.id, &username, &sub, initial, &attrs, material, self.now())?;
        let key = user.username_key.clone();
        let aliases = aliases_for(&c.pool_row.id, &c.pool, &key, &attrs);
        match self.store.create_user(&user, &aliases, &crate::flows::directory::search_entries(&user, &attrs)).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let what = if by_username.is_empty() {
                    "User already exists".to_string()
                } else if attrs.contains_key("email") && looks_like_email(&req.username) {
                    "An account with the given email already exists.".to_string()
                } else {
                    "An account with the given phone_number already exists.".to_string()
                };
                return Err(Error::UsernameExists(what));
            }
            Err(e) => return Err(e.into()),
        }
        self.auth_event(&c.pool, &user, EventType::SignUp, EventResponseType::Pass, None).await?;
        if confirmed {
            return Ok(SignUpResponse {
                user_confirmed: true,
                user_sub: sub,
                code_delivery_details: None,
                session: None,
            });
        }
        let details = self.send_signup_code(&c, &user, &attrs, "SignUp").await?;
        Ok(SignUpResponse { user_confirmed: false, user_sub: sub, code_delivery_details: details, session: None })
    }

    /// Sends a confirmation code to the first auto-verified channel the user
    /// has; `None` when the pool verifies nothing automatically.
    async fn send_signup_code(
        &self,
        c: &ClientCtx,
        user: &UserRow,
        attrs: &BTreeMap<String, String>,
        source: &str,
    ) -> Result<Option<CodeDeliveryDetailsType>> {
        let auto = c.pool.auto_verified_attributes.clone().unwrap_or_default();
        let channel = if auto.contains(&VerifiedAttributeType::Email) && attrs.contains_key("email") {
            Channel::Email
        } else if auto.contains(&VerifiedAttributeType::PhoneNumber) && attrs.contains_key("phone_number") {
            Channel::Sms
        } else {
            return Ok(None);
        };
        let destination = attrs.get(channel.attribute()).cloned().unwrap_or_default();
        let details = self.send_code(c, user, channel, &destination, CODE_SIGNUP, SIGNUP_CODE_TTL_MS, source).await?;
        Ok(Some(details))
    }

    fn code_mac(&self, pool_id: &str, key: &str, purpose: &str, code: &str) -> String {
        self.key.mac(&format!("code:{pool_id}:{key}:{purpose}"), code.as_bytes())
    }

    pub(crate) async fn store_code(
        &self,
        pool_id: &str,
        key: &str,
        purpose: &str,
        code: &str,
        ttl_ms: i64,
    ) -> Result<()> {
        let now = self.now();
        let row = CodeRow {
            pool_id: pool_id.into(),
            username_key: key.into(),
            purpose: purpose.into(),
            code_mac: self.code_mac(pool_id, key, purpose, code),
            expires_at: now + ttl_ms,
            attempts: 0,
            created_at: now,
        };
        Ok(self.store.put_code(&row).await?)
    }

    /// Checks and consumes a one-time code with Cognito's errors: wrong
    /// (counted; burnt after [`CODE_MAX_ATTEMPTS`]), expired, or used.
    pub(crate) async fn consume_code(&self, user: &UserRow, purpose: &str, code: &str) -> Result<()> {
        let Some(row) = self.store.get_code(&user.pool_id, &user.username_key, purpose).await? else {
            return Err(code_mismatch());
        };
        code_usable(row.attempts, row.expires_at, self.now())?;
        let mac = self.code_mac(&user.pool_id, &user.username_key, purpose, code.trim());
        if !cognate_crypto::ct_eq(mac.as_bytes(), row.code_mac.as_bytes()) {
            self.store.bump_code_attempts(&user.pool_id, &user.username_key, purpose).await?;
            return Err(code_mismatch());
        }
        // Single use: of two racing callers with the right code, one wins.
        if !self.store.take_code(&user.pool_id, &user.username_key, purpose, &mac).await? {
            return Err(code_mismatch());
        }
        Ok(())
    }

    /// The user a code of `purpose` is confirmed for; an unknown one is,
    /// when the client hides user existence, answered as a wrong code of a
    /// real user would be (see `unknown.rs`).
    pub(crate) async fn user_for_code(&self, c: &ClientCtx, username: &str, purpose: &str) -> Result<UserRow> {
        match self.find_user(&c.pool_row, &c.pool, username).await? {
            Some(user) => Ok(user),
            None if c.prevents_existence_errors() => Err(self.unknown_code(c, username, purpose).await),
            None => Err(Error::UserNotFound("Username/client id combination not found.".into())),
        }
    }

    pub async fn confirm_sign_up(&self, req: ConfirmSignUpRequest) -> Result<ConfirmSignUpResponse> {
        let c = self.public_client(&req.client_id).await?;
        self.check_secret_hash(&c, &req.username, req.secret_hash.as_deref()).await?;
        let mut user = self.user_for_code(&c, &req.username, CODE_SIGNUP).await?;
        if user.status != status::UNCONFIRMED {
            return Err(Error::NotAuthorized(format!("User cannot be confirmed. Current status is {}", user.status)));
        }
        let force = req.force_alias_creation == Some(true);
        if !force {
            // Refuse before the code is spent, so a retry with
            // ForceAliasCreation can still use it (the database still has the
            // last word when the user is written).
            let mut verified = attrs_of(&user)?;
            verified.insert("email_verified".into(), "true".into());
            verified.insert("phone_number_verified".into(), "true".into());
            let aliases = aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &verified);
            if let Some(kind) = self.taken_alias(&user, &aliases).await? {
                return Err(alias_taken(Some(&kind)));
            }
        }
        self.consume_code(&user, CODE_SIGNUP, &req.confirmation_code).await?;

        // The channel the code went to is now verified.
        let mut attrs = attrs_of(&user)?;
        let auto = c.pool.auto_verified_attributes.clone().unwrap_or_default();
        if auto.contains(&VerifiedAttributeType::Email) && attrs.contains_key("email") {
            attrs.insert("email_verified".into(), "true".into());
        } else if auto.contains(&VerifiedAttributeType::PhoneNumber) && attrs.contains_key("phone_number") {
            attrs.insert("phone_number_verified".into(), "true".into());
        }
        user.status = status::CONFIRMED.into();
        user.attributes = serde_json::to_string(&attrs)?;
        user.updated_at = self.now();
        let aliases = aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &attrs);
        self.write_user_with_aliases(&user, &aliases, force).await?;
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&attrs),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        self.run_trigger(&c, Trigger::PostConfirmation, "PostConfirmation_ConfirmSignUp", &user.username, request)
            .await?;
        Ok(ConfirmSignUpResponse { session: None })
    }

    /// Writes a user and its aliases; a taken alias is AliasExistsException
    /// unless `force`, which moves the alias to this user.
    pub(crate) async fn write_user_with_aliases(
        &self,
        user: &UserRow,
        aliases: &[AliasRow],
        force: bool,
    ) -> Result<()> {
        let search = crate::flows::directory::search_entries(user, &attrs_of(user)?);
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

    pub async fn resend_confirmation_code(
        &self,
        req: ResendConfirmationCodeRequest,
    ) -> Result<ResendConfirmationCodeResponse> {
        let c = self.public_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        self.check_secret_hash(&c, &req.username, req.secret_hash.as_deref()).await?;
        let not_sent = || {
            Error::InvalidParameter(
                "Auto verification not turned on for this user pool, or the user has no email or phone number.".into(),
            )
        };
        let Some(user) = self.find_user(&c.pool_row, &c.pool, &req.username).await? else {
            if c.prevents_existence_errors() {
                // The answer a real user in this pool would get.
                let auto = c.pool.auto_verified_attributes.clone().unwrap_or_default();
                let channel = if auto.contains(&VerifiedAttributeType::Email) {
                    Channel::Email
                } else if auto.contains(&VerifiedAttributeType::PhoneNumber) {
                    Channel::Sms
                } else {
                    return Err(not_sent());
                };
                let details = self.pretend_code(&c, &req.username, channel, CODE_SIGNUP, SIGNUP_CODE_TTL_MS).await?;
                return Ok(ResendConfirmationCodeResponse { code_delivery_details: Some(details) });
            }
            return Err(Error::UserNotFound("Username/client id combination not found.".into()));
        };
        if user.status != status::UNCONFIRMED {
            return Err(Error::InvalidParameter("User is already confirmed.".into()));
        }
        let attrs = attrs_of(&user)?;
        let details = self.send_signup_code(&c, &user, &attrs, "ResendCode").await?;
        if details.is_none() {
            return Err(not_sent());
        }
        Ok(ResendConfirmationCodeResponse { code_delivery_details: details })
    }
}

/// AdminCreateUserConfig.AllowAdminCreateUserOnly: users may not create
/// themselves (SignUp, and later the hosted sign-up page and federation).
pub(crate) fn admin_creates_users_only(pool: &UserPoolType) -> bool {
    pool.admin_create_user_config.as_ref().and_then(|a| a.allow_admin_create_user_only) == Some(true)
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

/// AliasExistsException, worded as Cognito words it for the alias's kind.
pub(crate) fn alias_taken(kind: Option<&str>) -> Error {
    Error::AliasExists(format!("An account with the given {} already exists.", alias_word(kind)))
}

/// How Cognito names an alias in its messages: `email` or `phone_number`.
pub(crate) fn alias_word(kind: Option<&str>) -> &'static str {
    if kind == Some("phone_number") { "phone_number" } else { "email" }
}

pub(crate) fn code_mismatch() -> Error {
    Error::CodeMismatch("Invalid verification code provided, please try again.".into())
}

/// Whether a code with `attempts` wrong tries, expiring at `expires_at`,
/// may still be tried.
pub(crate) fn code_usable(attempts: i64, expires_at: i64, now: i64) -> Result<()> {
    if attempts >= CODE_MAX_ATTEMPTS {
        return Err(Error::LimitExceeded("Attempt limit exceeded, please try after some time.".into()));
    }
    if expires_at <= now {
        return Err(Error::ExpiredCode("Invalid code provided, please request a code again.".into()));
    }
    Ok(())
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
    status: &str,
    attrs: &BTreeMap<String, String>,
    password: (String, cognate_crypto::srp::Verifier),
    now: i64,
) -> Result<UserRow> {
    let mut user = UserRow {
        pool_id: pool_id.to_string(),
        username: username.to_string(),
        username_key: username_key(pool, username),
        sub: sub.to_string(),
        status: status.to_string(),
        enabled: 1,
        created_at: now,
        version: 1,
        attributes: serde_json::to_string(attrs)?,
        ..Default::default()
    };
    set_password_fields(&mut user, password, now);
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
