//! User pools: create, describe, update, delete, list, custom attributes, tags.

use crate::base::page;
use crate::model::mfa::PoolMfa;
use crate::model::schema;
use crate::{Error, Idp, Result};
use cognate_store::PoolRow;
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// Most tags a pool may carry.
const MAX_TAGS: usize = 50;
/// Optimistic-update attempts before reporting a conflict.
const UPDATE_ATTEMPTS: usize = 5;

/// The settings CreateUserPool and UpdateUserPool share. Anything omitted
/// takes Cognito's default, on update as on create.
#[derive(Default, Clone)]
struct Settings {
    policies: Option<UserPoolPolicyType>,
    deletion_protection: Option<DeletionProtectionType>,
    lambda_config: Option<LambdaConfigType>,
    auto_verified_attributes: Option<Vec<VerifiedAttributeType>>,
    sms_verification_message: Option<String>,
    email_verification_message: Option<String>,
    email_verification_subject: Option<String>,
    verification_message_template: Option<VerificationMessageTemplateType>,
    sms_authentication_message: Option<String>,
    user_attribute_update_settings: Option<UserAttributeUpdateSettingsType>,
    mfa_configuration: Option<UserPoolMfaType>,
    device_configuration: Option<DeviceConfigurationType>,
    email_configuration: Option<EmailConfigurationType>,
    sms_configuration: Option<SmsConfigurationType>,
    admin_create_user_config: Option<AdminCreateUserConfigType>,
    user_pool_add_ons: Option<UserPoolAddOnsType>,
    account_recovery_setting: Option<AccountRecoverySettingType>,
    user_pool_tier: Option<UserPoolTierType>,
    acr_configuration: Option<BTreeMap<String, AcrLevelConfigType>>,
    dcr_configuration: Option<DcrConfigurationType>,
    issuer_configuration: Option<IssuerConfigurationType>,
    key_configuration: Option<KeyConfigurationType>,
}

macro_rules! settings_from {
    ($req:expr) => {
        Settings {
            policies: $req.policies,
            deletion_protection: $req.deletion_protection,
            lambda_config: $req.lambda_config,
            auto_verified_attributes: $req.auto_verified_attributes,
            sms_verification_message: $req.sms_verification_message,
            email_verification_message: $req.email_verification_message,
            email_verification_subject: $req.email_verification_subject,
            verification_message_template: $req.verification_message_template,
            sms_authentication_message: $req.sms_authentication_message,
            user_attribute_update_settings: $req.user_attribute_update_settings,
            mfa_configuration: $req.mfa_configuration,
            device_configuration: $req.device_configuration,
            email_configuration: $req.email_configuration,
            sms_configuration: $req.sms_configuration,
            admin_create_user_config: $req.admin_create_user_config,
            user_pool_add_ons: $req.user_pool_add_ons,
            account_recovery_setting: $req.account_recovery_setting,
            user_pool_tier: $req.user_pool_tier,
            acr_configuration: $req.acr_configuration,
            dcr_configuration: $req.dcr_configuration,
            issuer_configuration: $req.issuer_configuration,
            key_configuration: $req.key_configuration,
        }
    };
}

/// Writes `s` into `pool`, filling Cognito's defaults for what is omitted.
fn apply(pool: &mut UserPoolType, s: Settings) -> Result<()> {
    let mut policies = s.policies.unwrap_or_default();
    // UnusedAccountValidityDays is the older name of the temporary-password
    // lifetime: given alone it sets it; given with a different
    // TemporaryPasswordValidityDays it is refused, as Cognito does.
    let given_temp = policies.password_policy.as_ref().and_then(|p| p.temporary_password_validity_days);
    let given_unused = s.admin_create_user_config.as_ref().and_then(|a| a.unused_account_validity_days);
    let temp_days = match (given_temp, given_unused) {
        (Some(t), Some(u)) if t != u => {
            return Err(Error::InvalidParameter(
                "Please use TemporaryPasswordValidityDays in PasswordPolicy instead of UnusedAccountValidityDays"
                    .into(),
            ));
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => 7,
    };
    let mut pw = policies.password_policy.take().unwrap_or(PasswordPolicyType {
        minimum_length: Some(8),
        require_uppercase: Some(true),
        require_lowercase: Some(true),
        require_numbers: Some(true),
        require_symbols: Some(true),
        temporary_password_validity_days: Some(7),
        password_history_size: None,
    });
    pw.minimum_length.get_or_insert(8);
    pw.require_uppercase.get_or_insert(false);
    pw.require_lowercase.get_or_insert(false);
    pw.require_numbers.get_or_insert(false);
    pw.require_symbols.get_or_insert(false);
    pw.temporary_password_validity_days = Some(temp_days);
    policies.password_policy = Some(pw);
    if policies.sign_in_policy.is_none() {
        policies.sign_in_policy =
            Some(SignInPolicyType { allowed_first_auth_factors: Some(vec![AuthFactorType::Password]) });
    }
    if let Some(sip) = &policies.sign_in_policy
        && !sip.allowed_first_auth_factors.as_ref().is_some_and(|f| f.contains(&AuthFactorType::Password))
    {
        return Err(Error::InvalidParameter("AllowedFirstAuthFactors must include PASSWORD.".into()));
    }
    pool.policies = Some(policies);

    pool.deletion_protection = Some(s.deletion_protection.unwrap_or(DeletionProtectionType::Inactive));
    let lambda = s.lambda_config.unwrap_or_default();
    if (lambda.custom_email_sender.is_some() || lambda.custom_sms_sender.is_some()) && lambda.kms_key_id.is_none() {
        // The code is encrypted for the sender under this key.
        return Err(Error::InvalidParameter(
            "KMSKeyID is required when CustomEmailSender or CustomSMSSender is set.".into(),
        ));
    }
    pool.lambda_config = Some(lambda);
    pool.auto_verified_attributes = s.auto_verified_attributes;
    pool.mfa_configuration = Some(s.mfa_configuration.unwrap_or(UserPoolMfaType::Off));
    pool.device_configuration = s.device_configuration;
    pool.sms_configuration = s.sms_configuration;
    pool.user_pool_add_ons = s.user_pool_add_ons;
    pool.account_recovery_setting = s.account_recovery_setting;
    pool.user_pool_tier = Some(s.user_pool_tier.unwrap_or(UserPoolTierType::Essentials));
    pool.acr_configuration = s.acr_configuration;
    pool.dcr_configuration = s.dcr_configuration;
    pool.issuer_configuration = s.issuer_configuration;
    pool.key_configuration = s.key_configuration;
    pool.sms_authentication_message = s.sms_authentication_message;

    let mut email = s.email_configuration.unwrap_or_default();
    email.email_sending_account.get_or_insert(EmailSendingAccountType::CognitoDefault);
    if email.email_sending_account == Some(EmailSendingAccountType::Developer) && email.source_arn.is_none() {
        return Err(Error::InvalidParameter("SourceArn is required when EmailSendingAccount is DEVELOPER.".into()));
    }
    pool.email_configuration = Some(email);

    let mut admin = s.admin_create_user_config.unwrap_or_default();
    admin.allow_admin_create_user_only.get_or_insert(false);
    admin.unused_account_validity_days = Some(temp_days);
    pool.admin_create_user_config = Some(admin);

    // The top-level verification messages and the template mirror each other.
    let mut t = s.verification_message_template.unwrap_or_default();
    t.default_email_option.get_or_insert(DefaultEmailOptionType::ConfirmWithCode);
    if t.email_message.is_none() {
        t.email_message = s.email_verification_message.clone();
    }
    if t.email_subject.is_none() {
        t.email_subject = s.email_verification_subject.clone();
    }
    if t.sms_message.is_none() {
        t.sms_message = s.sms_verification_message.clone();
    }
    if t.default_email_option == Some(DefaultEmailOptionType::ConfirmWithLink)
        && let Some(m) = &t.email_message_by_link
        && !m.contains("{##")
    {
        return Err(Error::InvalidParameter(
            "EmailMessageByLink must contain a {##Verify Email##} placeholder.".into(),
        ));
    }
    pool.email_verification_message = t.email_message.clone();
    pool.email_verification_subject = t.email_subject.clone();
    pool.sms_verification_message = t.sms_message.clone();
    pool.verification_message_template = Some(t);

    if let Some(u) = &s.user_attribute_update_settings {
        let auto = pool.auto_verified_attributes.clone().unwrap_or_default();
        let needs = u.attributes_require_verification_before_update.clone().unwrap_or_default();
        if needs.iter().any(|a| !auto.contains(a)) {
            return Err(Error::InvalidParameter(
                "All attributes in AttributesRequireVerificationBeforeUpdate must exist in AutoVerifiedAttributes"
                    .into(),
            ));
        }
    }
    pool.user_attribute_update_settings = s.user_attribute_update_settings;
    Ok(())
}

fn not_found(pool_id: &str) -> Error {
    Error::ResourceNotFound(format!("User pool {pool_id} does not exist."))
}

impl Idp {
    pub(crate) async fn load_pool(&self, pool_id: &str) -> Result<(PoolRow, UserPoolType)> {
        let row = self.store.get_pool(pool_id).await?.ok_or_else(|| not_found(pool_id))?;
        let pool: UserPoolType = serde_json::from_str(&row.config)?;
        Ok((row, pool))
    }

    /// A stored pool as Describe shows it: the document plus what is derived.
    async fn present(&self, row: &PoolRow, mut pool: UserPoolType) -> Result<UserPoolType> {
        pool.id = Some(row.id.clone());
        pool.name = Some(row.name.clone());
        pool.arn = Some(self.pool_arn(&row.region, &row.id));
        pool.creation_date = Some(Timestamp::from_unix_millis(row.created_at));
        pool.last_modified_date = Some(Timestamp::from_unix_millis(row.updated_at));
        pool.estimated_number_of_users =
            Some(i32::try_from(self.store.count_users(&row.id).await?).unwrap_or(i32::MAX));
        let tags = self.store.list_tags(&row.id).await?;
        pool.user_pool_tags = Some(tags.into_iter().map(|t| (t.key, t.value)).collect());
        for d in self.store.pool_domains(&row.id).await? {
            if d.custom != 0 {
                pool.custom_domain = Some(d.domain);
            } else {
                pool.domain = Some(d.domain);
            }
        }
        Ok(pool)
    }

    pub async fn create_user_pool(&self, region: &str, req: CreateUserPoolRequest) -> Result<CreateUserPoolResponse> {
        if req.alias_attributes.as_ref().is_some_and(|a| !a.is_empty())
            && req.username_attributes.as_ref().is_some_and(|u| !u.is_empty())
        {
            return Err(Error::InvalidParameter(
                "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.".into(),
            ));
        }
        let tags = req.user_pool_tags.clone().unwrap_or_default();
        if tags.len() > MAX_TAGS {
            return Err(Error::LimitExceeded(format!("A user pool can have at most {MAX_TAGS} tags.")));
        }
        // A new pool's only MFA factor can be SMS (TOTP and email come with
        // SetUserPoolMfaConfig), so MFA needs SMS set up.
        check_sms_for_mfa(
            req.mfa_configuration,
            req.sms_configuration.is_some(),
            req.auto_verified_attributes.as_deref(),
        )?;
        let mut pool = UserPoolType {
            schema_attributes: Some(schema::initial(req.schema.as_deref().unwrap_or_default())?),
            alias_attributes: req.alias_attributes.clone(),
            username_attributes: req.username_attributes.clone(),
            username_configuration: req.username_configuration.clone(),
            ..Default::default()
        };
        let name = req.pool_name.clone();
        apply(&mut pool, settings_from!(req))?;

        let now = self.now();
        let row = PoolRow {
            id: cognate_crypto::ids::user_pool_id(region),
            region: region.to_string(),
            name,
            created_at: now,
            updated_at: now,
            version: 1,
            config: serde_json::to_string(&pool)?,
        };
        self.store.insert_pool(&row).await?;
        for (k, v) in &tags {
            self.store.put_tag(&row.id, k, v).await?;
        }
        let pool = self.present(&row, pool).await?;
        Ok(CreateUserPoolResponse { user_pool: Some(pool) })
    }

    pub async fn describe_user_pool(&self, req: DescribeUserPoolRequest) -> Result<DescribeUserPoolResponse> {
        let (row, pool) = self.load_pool(&req.user_pool_id).await?;
        Ok(DescribeUserPoolResponse { user_pool: Some(self.present(&row, pool).await?) })
    }

    /// Replaces the pool's settings: what the request omits returns to its
    /// default, as Cognito documents. The schema, sign-in attributes and
    /// username configuration cannot change after creation.
    pub async fn update_user_pool(&self, req: UpdateUserPoolRequest) -> Result<UpdateUserPoolResponse> {
        let pool_id = req.user_pool_id.clone();
        let tags = req.user_pool_tags.clone();
        let new_name = req.pool_name.clone();
        let settings = settings_from!(req);
        for _ in 0..UPDATE_ATTEMPTS {
            let (row, mut pool) = self.load_pool(&pool_id).await?;
            apply(&mut pool, settings.clone())?;
            let factors = self.pool_mfa(&row.id, &pool).await?;
            if !factors.has_totp_or_email() {
                check_sms_for_mfa(
                    pool.mfa_configuration,
                    pool.sms_configuration.is_some(),
                    pool.auto_verified_attributes.as_deref(),
                )?;
            }
            let name = new_name.clone().unwrap_or_else(|| row.name.clone());
            if self.store.update_pool(&row.id, row.version, &name, &serde_json::to_string(&pool)?, self.now()).await? {
                if let Some(tags) = &tags {
                    self.replace_tags(&row.id, tags).await?;
                }
                return Ok(UpdateUserPoolResponse {});
            }
        }
        Err(Error::ConcurrentModification("The user pool was modified concurrently; try again.".into()))
    }

    pub async fn delete_user_pool(&self, req: DeleteUserPoolRequest) -> Result<()> {
        let (_, pool) = self.load_pool(&req.user_pool_id).await?;
        if pool.deletion_protection == Some(DeletionProtectionType::Active) {
            return Err(Error::InvalidParameter(
                "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first."
                    .into(),
            ));
        }
        if !self.store.delete_pool(&req.user_pool_id).await? {
            return Err(not_found(&req.user_pool_id));
        }
        Ok(())
    }

    /// Pools of one region, as an endpoint of that region lists them.
    pub async fn list_user_pools(&self, region: &str, req: ListUserPoolsRequest) -> Result<ListUserPoolsResponse> {
        let limit = i64::from(req.max_results.clamp(1, 60));
        let after = page::decode(req.next_token.as_deref())?;
        let mut rows = self.store.list_pools(region, after.as_deref(), limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_token = if more { rows.last().map(|r| page::encode(&r.id)) } else { None };
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let pool: UserPoolType = serde_json::from_str(&row.config)?;
            out.push(UserPoolDescriptionType {
                id: Some(row.id),
                name: Some(row.name),
                lambda_config: pool.lambda_config,
                creation_date: Some(Timestamp::from_unix_millis(row.created_at)),
                last_modified_date: Some(Timestamp::from_unix_millis(row.updated_at)),
                ..Default::default()
            });
        }
        Ok(ListUserPoolsResponse { user_pools: Some(out), next_token })
    }

    pub async fn add_custom_attributes(&self, req: AddCustomAttributesRequest) -> Result<AddCustomAttributesResponse> {
        for _ in 0..UPDATE_ATTEMPTS {
            let (row, mut pool) = self.load_pool(&req.user_pool_id).await?;
            let mut attrs = pool.schema_attributes.take().unwrap_or_default();
            schema::add_custom(&mut attrs, &req.custom_attributes)?;
            pool.schema_attributes = Some(attrs);
            if self
                .store
                .update_pool(&row.id, row.version, &row.name, &serde_json::to_string(&pool)?, self.now())
                .await?
            {
                return Ok(AddCustomAttributesResponse {});
            }
        }
        Err(Error::ConcurrentModification("The user pool was modified concurrently; try again.".into()))
    }

    pub async fn get_csv_header(&self, req: GetCSVHeaderRequest) -> Result<GetCSVHeaderResponse> {
        let (_, pool) = self.load_pool(&req.user_pool_id).await?;
        Ok(GetCSVHeaderResponse {
            user_pool_id: Some(req.user_pool_id),
            csv_header: Some(schema::csv_header(pool.schema_attributes.as_deref().unwrap_or_default())),
        })
    }

    // ---- tags ----

    /// The pool an ARN of ours names, if it exists.
    async fn pool_for_arn(&self, arn: &str) -> Result<PoolRow> {
        let id = arn
            .strip_prefix("arn:aws:cognito-idp:")
            .and_then(|rest| rest.split_once(":userpool/"))
            .map(|(_, id)| id)
            .ok_or_else(|| Error::InvalidParameter(format!("Invalid ARN: {arn}")))?;
        let row = self.store.get_pool(id).await?.ok_or_else(|| not_found(id))?;
        if self.pool_arn(&row.region, &row.id) != arn {
            return Err(not_found(id));
        }
        Ok(row)
    }

    async fn replace_tags(&self, pool_id: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        if tags.len() > MAX_TAGS {
            return Err(Error::LimitExceeded(format!("A user pool can have at most {MAX_TAGS} tags.")));
        }
        for t in self.store.list_tags(pool_id).await? {
            if !tags.contains_key(&t.key) {
                self.store.delete_tag(pool_id, &t.key).await?;
            }
        }
        for (k, v) in tags {
            self.store.put_tag(pool_id, k, v).await?;
        }
        Ok(())
    }

    pub async fn tag_resource(&self, req: TagResourceRequest) -> Result<TagResourceResponse> {
        let row = self.pool_for_arn(&req.resource_arn).await?;
        let existing = self.store.list_tags(&row.id).await?;
        let new_keys = req.tags.keys().filter(|k| !existing.iter().any(|t| &&t.key == k)).count();
        if existing.len() + new_keys > MAX_TAGS {
            return Err(Error::LimitExceeded(format!("A user pool can have at most {MAX_TAGS} tags.")));
        }
        for (k, v) in &req.tags {
            self.store.put_tag(&row.id, k, v).await?;
        }
        Ok(TagResourceResponse {})
    }

    pub async fn untag_resource(&self, req: UntagResourceRequest) -> Result<UntagResourceResponse> {
        let row = self.pool_for_arn(&req.resource_arn).await?;
        for k in &req.tag_keys {
            self.store.delete_tag(&row.id, k).await?;
        }
        Ok(UntagResourceResponse {})
    }

    pub async fn list_tags_for_resource(&self, req: ListTagsForResourceRequest) -> Result<ListTagsForResourceResponse> {
        let row = self.pool_for_arn(&req.resource_arn).await?;
        let tags = self.store.list_tags(&row.id).await?;
        Ok(ListTagsForResourceResponse { tags: Some(tags.into_iter().map(|t| (t.key, t.value)).collect()) })
    }

    pub async fn get_user_pool_mfa_config(
        &self,
        req: GetUserPoolMfaConfigRequest,
    ) -> Result<GetUserPoolMfaConfigResponse> {
        let (row, pool) = self.load_pool(&req.user_pool_id).await?;
        let m = self.pool_mfa(&row.id, &pool).await?;
        Ok(GetUserPoolMfaConfigResponse { mfa_configuration: Some(m.mode.unwrap_or(UserPoolMfaType::Off)), ..m.config })
    }

    pub async fn set_user_pool_mfa_config(
        &self,
        req: SetUserPoolMfaConfigRequest,
    ) -> Result<SetUserPoolMfaConfigResponse> {
        let (row, mut pool) = self.load_pool(&req.user_pool_id).await?;
        let current = self.pool_mfa(&row.id, &pool).await?;
        // Each part given replaces that part; parts omitted stay.
        let mut config = current.config;
        let configures_totp_or_email = req.software_token_mfa_configuration.as_ref().and_then(|t| t.enabled)
            == Some(true)
            || req.email_mfa_configuration.is_some();
        if let Some(sms) = req.sms_mfa_configuration {
            config.sms_mfa_configuration = Some(sms);
        }
        if let Some(t) = req.software_token_mfa_configuration {
            config.software_token_mfa_configuration = Some(t);
        }
        if let Some(e) = req.email_mfa_configuration {
            config.email_mfa_configuration = Some(e);
        }
        if req.web_authn_configuration.is_some() {
            return Err(Error::InvalidParameter("Cognate does not support WebAuthn yet.".into()));
        }
        let mode = req.mfa_configuration.or(current.mode).unwrap_or(UserPoolMfaType::Off);
        if mode == UserPoolMfaType::Off {
            if configures_totp_or_email {
                return Err(Error::InvalidParameter(
                    "Invalid MFA configuration given, can't turn off MFA and configure an MFA together.".into(),
                ));
            }
            config.software_token_mfa_configuration = None;
            config.email_mfa_configuration = None;
        }
        if config.email_mfa_configuration.is_some() && pool.user_pool_tier == Some(UserPoolTierType::Lite) {
            return Err(Error::FeatureUnavailableInTier(
                "Email MFA is not available in the LITE feature plan of user pools.".into(),
            ));
        }
        let resolved = PoolMfa { mode: Some(mode), config: config.clone() };
        if let Some(sms) = &config.sms_mfa_configuration
            && sms.sms_configuration.is_none()
            && sms.sms_authentication_message.is_some()
        {
            return Err(Error::InvalidParameter("SMS configuration is required for SMS MFA.".into()));
        }
        if mode != UserPoolMfaType::Off && !(resolved.sms() || resolved.totp() || resolved.email()) {
            return Err(Error::InvalidParameter(
                "Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration."
                    .into(),
            ));
        }
        if pool.mfa_configuration.as_ref() != Some(&mode) {
            pool.mfa_configuration = Some(mode);
            let now = self.now();
            if !self.store.update_pool(&row.id, row.version, &row.name, &serde_json::to_string(&pool)?, now).await? {
                return Err(Error::ConcurrentModification(
                    "The user pool was modified concurrently; try again.".into(),
                ));
            }
        }
        self.store.put_pool_mfa(&row.id, &serde_json::to_string(&config)?).await?;
        Ok(SetUserPoolMfaConfigResponse {
            mfa_configuration: Some(mode),
            sms_mfa_configuration: config.sms_mfa_configuration,
            software_token_mfa_configuration: config.software_token_mfa_configuration,
            email_mfa_configuration: config.email_mfa_configuration,
            web_authn_configuration: None,
        })
    }
}

/// MFA ON or OPTIONAL with SMS as the only possible factor needs an SMS
/// configuration and phone numbers verified automatically, as Cognito says.
fn check_sms_for_mfa(
    mode: Option<UserPoolMfaType>,
    has_sms: bool,
    auto_verified: Option<&[VerifiedAttributeType]>,
) -> Result<()> {
    let phone_verified = auto_verified.is_some_and(|a| a.contains(&VerifiedAttributeType::PhoneNumber));
    if matches!(mode, Some(UserPoolMfaType::On | UserPoolMfaType::Optional)) && !(has_sms && phone_verified) {
        return Err(Error::InvalidParameter(
            "SMS configuration and Auto verification for phone_number are required when MFA is required/optional"
                .into(),
        ));
    }
    Ok(())
}
