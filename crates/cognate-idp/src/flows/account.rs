//! The signed-in user's own account (operations authorised by an access
//! token), password recovery, and token revocation.

use crate::base::context::ClientCtx;
use crate::base::passwords::{self, verify_password};
use crate::model::attributes::PENDING;
use crate::model::channel::Channel;
use crate::model::users::{User, set_status, status_of};
use crate::{Error, Fault, Idp, Result};
use cognate_wire::idp::*;

/// How long a password-reset or attribute-verification code lives.
pub const RESET_CODE_TTL_MS: i64 = 3600 * 1000;
pub const VERIFY_CODE_TTL_MS: i64 = 24 * 3600 * 1000;
const CODE_RESET: &str = "reset";

fn verify_purpose(attr: &str) -> String {
    format!("verify:{attr}")
}

const NO_RECOVERY: &str = "Cannot reset password for the user as there is no registered/verified email or phone_number";

/// The attributes a reset code may go to, in the pool's order of recovery
/// (AccountRecoverySetting), else email then phone.
fn recovery_order(c: &ClientCtx) -> Vec<&'static str> {
    c.pool
        .account_recovery_setting
        .as_ref()
        .and_then(|s| s.recovery_mechanisms.clone())
        .map(|mut m| {
            m.sort_by_key(|o| o.priority);
            m.into_iter()
                .filter_map(|o| match o.name {
                    RecoveryOptionNameType::VerifiedEmail => Some("email"),
                    RecoveryOptionNameType::VerifiedPhoneNumber => Some("phone_number"),
                    RecoveryOptionNameType::AdminOnly => None,
                })
                .collect()
        })
        .unwrap_or_else(|| vec!["email", "phone_number"])
}

fn channel_of(attr: &str) -> Option<Channel> {
    match attr {
        "email" => Some(Channel::Email),
        "phone_number" => Some(Channel::Sms),
        _ => None,
    }
}

impl Idp {
    /// The user and client behind an access token.
    async fn token_user(&self, access_token: &str) -> Result<(ClientCtx, User)> {
        let (client_id, user) = self.check_access_token(access_token).await?;
        // The client the verified token was issued to.
        let c = self.resolve_client(&client_id).await?.issued();
        Ok((c, user))
    }

    pub async fn change_password(&self, req: ChangePasswordRequest) -> Result<ChangePasswordResponse> {
        let (c, mut user) = self.token_user(&req.access_token).await?;
        if user.locked_until > self.now() {
            return Err(Error::LimitExceeded("Attempt limit exceeded, please try after some time.".into()));
        }
        let previous = req.previous_password.clone().unwrap_or_default();
        let ok = match &user.password_hash {
            Some(h) => verify_password(previous, h.clone()).await?,
            None => false,
        };
        if !ok {
            self.store.record_failed_sign_in(user.key()).await?;
            self.auth_event(&c.pool, &user, EventType::PasswordChange, EventResponseType::Fail, Some(false)).await?;
            return Err(Error::NotAuthorized("Incorrect username or password.".into()));
        }
        self.set_password(&c, &mut user, &req.proposed_password).await?;
        self.auth_event(&c.pool, &user, EventType::PasswordChange, EventResponseType::Pass, Some(true)).await?;
        Ok(ChangePasswordResponse {})
    }

    pub async fn forgot_password(&self, req: ForgotPasswordRequest) -> Result<ForgotPasswordResponse> {
        let client = self.resolve_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        let c = self.with_secret_hash(client, &[&req.username], req.secret_hash.as_deref()).await?;
        self.forgot_password_as(&c, req).await
    }

    /// ForgotPassword for a proven client (the API's caller, or the hosted pages).
    pub(crate) async fn forgot_password_as(
        &self,
        c: &ClientCtx,
        req: ForgotPasswordRequest,
    ) -> Result<ForgotPasswordResponse> {
        let found = match self.find_user(&c.pool_row, &c.pool, &req.username).await? {
            Some(user) => Some(user),
            None => self.migrate(c, &req.username, None).await?,
        };
        // A client that hides user existence answers an unknown or disabled
        // user, or one without a verified destination, with a simulated
        // delivery, as Cognito does.
        let hides = c.prevents_existence_errors();
        let Some(user) = found else {
            if hides {
                return self.pretend_reset_code(c, &req.username).await;
            }
            return Err(Error::UserNotFound("Username/client id combination not found.".into()));
        };
        if user.enabled == 0 {
            if hides {
                return self.pretend_reset_code(c, &req.username).await;
            }
            return Err(Error::NotAuthorized("User is disabled.".into()));
        }
        if status_of(&user) == UserStatusType::ForceChangePassword {
            return Err(Error::NotAuthorized("User password cannot be reset in the current state.".into()));
        }
        let details = match self.send_reset_code(c, &user).await {
            Err(Error::InvalidParameter(m)) if hides && m == NO_RECOVERY => {
                return self.pretend_reset_code(c, &req.username).await;
            }
            sent => sent?,
        };
        self.auth_event(&c.pool, &user, EventType::ForgotPassword, EventResponseType::Pass, None).await?;
        Ok(ForgotPasswordResponse { code_delivery_details: Some(details) })
    }

    /// ForgotPassword's simulated answer: the medium a verified user of this
    /// pool would be sent a code to first, nothing delivered.
    async fn pretend_reset_code(&self, c: &ClientCtx, name: &str) -> Result<ForgotPasswordResponse> {
        let channel = recovery_order(c)
            .first()
            .and_then(|a| channel_of(a))
            .ok_or_else(|| Error::InvalidParameter(NO_RECOVERY.into()))?;
        let details = self.pretend_code(c, name, channel, CODE_RESET, RESET_CODE_TTL_MS).await?;
        Ok(ForgotPasswordResponse { code_delivery_details: Some(details) })
    }

    /// Sends a password-reset code to the user's verified email or phone, in
    /// the order the pool's AccountRecoverySetting gives.
    pub(crate) async fn send_reset_code(&self, c: &ClientCtx, user: &User) -> Result<CodeDeliveryDetailsType> {
        let attrs = &user.attrs;
        let verified = |a: &str| attrs.get(&format!("{a}_verified")).map(String::as_str) == Some("true");
        let mut order = recovery_order(c);
        order.retain(|a| verified(a) && attrs.contains_key(*a));
        let Some(attr) = order.first().copied() else {
            return Err(Error::InvalidParameter(NO_RECOVERY.into()));
        };
        let channel =
            channel_of(attr).ok_or_else(|| Error::internal(Fault::Other, format!("no channel for {attr}")))?;
        let destination = attrs.get(attr).cloned().unwrap_or_default();
        let details =
            self.send_code(c, user, channel, &destination, CODE_RESET, RESET_CODE_TTL_MS, "ForgotPassword").await?;
        Ok(details)
    }

    pub async fn confirm_forgot_password(
        &self,
        req: ConfirmForgotPasswordRequest,
    ) -> Result<ConfirmForgotPasswordResponse> {
        let client = self.resolve_client(&req.client_id).await?;
        let c = self.with_secret_hash(client, &[&req.username], req.secret_hash.as_deref()).await?;
        self.confirm_forgot_password_as(&c, req).await
    }

    /// ConfirmForgotPassword for a proven client.
    pub(crate) async fn confirm_forgot_password_as(
        &self,
        c: &ClientCtx,
        req: ConfirmForgotPasswordRequest,
    ) -> Result<ConfirmForgotPasswordResponse> {
        // The policy first: it does not depend on who the user is.
        let policy = c.pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        passwords::check_policy(&req.password, &policy, passwords::Wording::DoesNotConform)?;
        let mut user = self.user_for_code(c, &req.username, CODE_RESET).await?;
        self.consume_code(&user, CODE_RESET, &req.confirmation_code).await?;
        if status_of(&user) == UserStatusType::ResetRequired || status_of(&user) == UserStatusType::ForceChangePassword
        {
            set_status(&mut user, UserStatusType::Confirmed);
        }
        self.set_password(c, &mut user, &req.password).await?;
        let request = serde_json::json!({
            "userAttributes": crate::model::triggers::attributes_json(&user.attrs),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        self.run_trigger(
            c,
            crate::model::triggers::Trigger::PostConfirmation,
            "PostConfirmation_ConfirmForgotPassword",
            &user.username,
            request,
        )
        .await?;
        Ok(ConfirmForgotPasswordResponse {})
    }

    pub async fn update_user_attributes(
        &self,
        req: UpdateUserAttributesRequest,
    ) -> Result<UpdateUserAttributesResponse> {
        let (c, mut user) = self.token_user(&req.access_token).await?;
        let c = c.with_metadata(&req.client_metadata);
        let given = self.client_attributes(&c, &req.user_attributes)?;
        let schema = c.pool.schema_attributes.clone().unwrap_or_default();
        let attrs = &mut user.attrs;
        let auto = c.pool.auto_verified_attributes.clone().unwrap_or_default();
        let hold_until_verified = c
            .pool
            .user_attribute_update_settings
            .as_ref()
            .and_then(|s| s.attributes_require_verification_before_update.clone())
            .unwrap_or_default();
        let mut to_verify = Vec::new();
        for (name, value) in given {
            let mutable = schema.iter().any(|a| a.name.as_deref() == Some(name.as_str()) && a.mutable != Some(false));
            if !mutable && attrs.get(&name) != Some(&value) {
                return Err(Error::InvalidParameter(format!("Cannot modify the non-mutable attribute {name}")));
            }
            let Some(channel) = channel_of(&name) else {
                attrs.insert(name, value);
                continue;
            };
            if attrs.get(&name) == Some(&value) {
                continue;
            }
            let verified_key = format!("{name}_verified");
            let auto_verified = match channel {
                Channel::Email => auto.contains(&VerifiedAttributeType::Email),
                Channel::Sms => auto.contains(&VerifiedAttributeType::PhoneNumber),
            };
            let hold = match channel {
                Channel::Email => hold_until_verified.contains(&VerifiedAttributeType::Email),
                Channel::Sms => hold_until_verified.contains(&VerifiedAttributeType::PhoneNumber),
            };
            if hold && attrs.get(&verified_key).map(String::as_str) == Some("true") {
                // The verified value stays in force until the new one is verified.
                attrs.insert(format!("{PENDING}{name}"), value.clone());
            } else {
                attrs.insert(name.clone(), value.clone());
                attrs.insert(verified_key, "false".into());
            }
            if auto_verified {
                to_verify.push((name, channel, value));
            }
        }
        user.updated_at = self.now();
        let aliases = crate::model::users::aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, false).await?;
        user.version += 1;
        let mut details = Vec::new();
        for (name, channel, destination) in to_verify {
            details.push(
                self.send_code(
                    &c,
                    &user,
                    channel,
                    &destination,
                    &verify_purpose(&name),
                    VERIFY_CODE_TTL_MS,
                    "UpdateUserAttribute",
                )
                .await?,
            );
        }
        Ok(UpdateUserAttributesResponse { code_delivery_details_list: (!details.is_empty()).then_some(details) })
    }

    pub async fn get_user_attribute_verification_code(
        &self,
        req: GetUserAttributeVerificationCodeRequest,
    ) -> Result<GetUserAttributeVerificationCodeResponse> {
        let (c, user) = self.token_user(&req.access_token).await?;
        let c = c.with_metadata(&req.client_metadata);
        let channel = channel_of(&req.attribute_name)
            .ok_or_else(|| Error::InvalidParameter(format!("Attribute {} cannot be verified.", req.attribute_name)))?;
        let attrs = &user.attrs;
        let destination = attrs
            .get(&format!("{PENDING}{}", req.attribute_name))
            .or_else(|| attrs.get(&req.attribute_name))
            .cloned()
            .ok_or_else(|| Error::InvalidParameter(format!("The user has no {} to verify.", req.attribute_name)))?;
        let details = self
            .send_code(
                &c,
                &user,
                channel,
                &destination,
                &verify_purpose(&req.attribute_name),
                VERIFY_CODE_TTL_MS,
                "VerifyUserAttribute",
            )
            .await?;
        Ok(GetUserAttributeVerificationCodeResponse { code_delivery_details: Some(details) })
    }

    pub async fn verify_user_attribute(&self, req: VerifyUserAttributeRequest) -> Result<VerifyUserAttributeResponse> {
        let (c, mut user) = self.token_user(&req.access_token).await?;
        if channel_of(&req.attribute_name).is_none() {
            return Err(Error::InvalidParameter(format!("Attribute {} cannot be verified.", req.attribute_name)));
        }
        self.consume_code(&user, &verify_purpose(&req.attribute_name), &req.code).await?;
        let attrs = &mut user.attrs;
        if let Some(pending) = attrs.remove(&format!("{PENDING}{}", req.attribute_name)) {
            attrs.insert(req.attribute_name.clone(), pending);
        }
        attrs.insert(format!("{}_verified", req.attribute_name), "true".into());
        user.updated_at = self.now();
        let aliases = crate::model::users::aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, false).await?;
        Ok(VerifyUserAttributeResponse {})
    }

    pub async fn delete_user_attributes(
        &self,
        req: DeleteUserAttributesRequest,
    ) -> Result<DeleteUserAttributesResponse> {
        let (c, mut user) = self.token_user(&req.access_token).await?;
        let schema = c.pool.schema_attributes.clone().unwrap_or_default();
        let attrs = &mut user.attrs;
        for name in &req.user_attribute_names {
            let def = schema.iter().find(|a| a.name.as_deref() == Some(name.as_str()));
            if name == "sub" || def.is_some_and(|d| d.required == Some(true) || d.mutable == Some(false)) {
                return Err(Error::InvalidParameter(format!(
                    "Cannot delete the required or non-mutable attribute {name}"
                )));
            }
            attrs.remove(name);
            if channel_of(name).is_some() {
                attrs.remove(&format!("{name}_verified"));
                attrs.remove(&format!("{PENDING}{name}"));
            }
        }
        user.updated_at = self.now();
        let aliases = crate::model::users::aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, false).await?;
        Ok(DeleteUserAttributesResponse {})
    }

    pub async fn delete_user(&self, req: DeleteUserRequest) -> Result<()> {
        let (_, user) = self.token_user(&req.access_token).await?;
        self.store.delete_user(user.key()).await?;
        Ok(())
    }

    /// Signs the user out everywhere: every refresh token is revoked, and
    /// with it every access and ID token issued from those sign-ins.
    pub async fn global_sign_out(&self, req: GlobalSignOutRequest) -> Result<GlobalSignOutResponse> {
        let (_, user) = self.token_user(&req.access_token).await?;
        self.store.revoke_user_refresh_tokens(user.key(), self.now()).await?;
        Ok(GlobalSignOutResponse {})
    }

    /// Revokes a refresh token (and the tokens of its sign-in). An unknown
    /// token is not an error (RFC 7009).
    pub async fn revoke_token(&self, req: RevokeTokenRequest) -> Result<RevokeTokenResponse> {
        let client = self.resolve_client(&req.client_id).await?;
        if client.client.enable_token_revocation == Some(false) {
            return Err(Error::Unsupported("Token revocation is not enabled for this app client.".into()));
        }
        let c = self.with_client_secret(client, req.client_secret.as_deref()).await?;
        if let Ok(row) = self.live_refresh_token(&c, &req.token).await {
            self.store.revoke_refresh_token(&row.token_hash, self.now()).await?;
        }
        Ok(RevokeTokenResponse {})
    }
}
