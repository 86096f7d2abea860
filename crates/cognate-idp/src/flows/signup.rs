//! Sign-up: SignUp, ConfirmSignUp and ResendConfirmationCode. A user signs
//! up through a public client (refused when only admins create users), the
//! PreSignUp trigger may confirm or verify them, and a code goes to the first
//! channel the pool verifies automatically.

use crate::base::context::ClientCtx;
use crate::base::passwords;
use crate::model::channel::Channel;
use crate::model::triggers::{self, Trigger};
use crate::model::users::User;
use crate::model::users::*;
use crate::{Error, Idp, Result};
use cognate_store::StoreError;
use cognate_wire::idp::*;

/// How long a sign-up confirmation code lives.
pub const SIGNUP_CODE_TTL_MS: i64 = 24 * 3600 * 1000;

pub use crate::model::codes::CODE_SIGNUP;

impl Idp {
    pub async fn sign_up(&self, req: SignUpRequest) -> Result<SignUpResponse> {
        let client = self.resolve_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        let c = self.with_secret_hash(client, &[&req.username], req.secret_hash.as_deref()).await?;
        self.sign_up_as(&c, req).await
    }

    /// SignUp for a proven client (the API's caller, or the hosted pages).
    pub(crate) async fn sign_up_as(&self, c: &ClientCtx, req: SignUpRequest) -> Result<SignUpResponse> {
        if admin_creates_users_only(&c.pool) {
            return Err(Error::NotAuthorized("SignUp is not permitted for this user pool".into()));
        }
        let password = req.password.clone().ok_or_else(|| {
            Error::InvalidParameter(
                "A password is required to sign up; passwordless sign-up is not supported yet.".into(),
            )
        })?;
        let mut attrs = self.client_attributes(c, req.user_attributes.as_deref().unwrap_or_default())?;

        let sub = cognate_crypto::ids::uuid_v4();
        let by_username = username_attrs(&c.pool);
        let username = resolve_username(&c.pool, &req.username, &sub, &mut attrs)?;
        check_required(&c.pool, &attrs)?;
        // A verify-by-link pool needs a domain for the link: refuse before
        // the user exists rather than leave one no link can confirm.
        let auto = c.pool.auto_verified_attributes.clone().unwrap_or_default();
        if auto.contains(&VerifiedAttributeType::Email) && attrs.contains_key("email") {
            self.confirmation_link_possible(c).await?;
        }
        let policy = c.pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        passwords::check_policy(&password, &policy, passwords::Wording::DidNotConform)?;

        // PreSignUp may reject, confirm the user, or mark email/phone verified.
        let mut confirmed = false;
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&attrs),
            "validationData": name_values(req.validation_data.as_deref()),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        if let Some(r) = self.run_trigger(c, Trigger::PreSignUp, "PreSignUp_SignUp", &username, request).await? {
            confirmed = triggers::flag(&r, "autoConfirmUser");
            if triggers::flag(&r, "autoVerifyEmail") && attrs.contains_key("email") {
                attrs.insert("email_verified".into(), "true".into());
            }
            if triggers::flag(&r, "autoVerifyPhone") && attrs.contains_key("phone_number") {
                attrs.insert("phone_number_verified".into(), "true".into());
            }
        }

        attrs.insert("sub".into(), sub.clone());
        let material = self.hashing.material(password.clone(), c.pool_row.id.clone(), username.clone()).await?;
        let initial = if confirmed { UserStatusType::Confirmed } else { UserStatusType::Unconfirmed };
        let user = new_user_row(&c.pool, &c.pool_row.id, &username, &sub, initial, attrs, material, self.now())?;
        let key = user.username_key.clone();
        let aliases = aliases_for(&c.pool_row.id, &c.pool, &key, &user.attrs);
        match self.store.create_user(&user, &aliases, &crate::model::users::search_entries(&user)).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let what = if by_username.is_empty() {
                    "User already exists".to_string()
                } else if user.attrs.contains_key("email") && looks_like_email(&req.username) {
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
        let details = self.send_signup_code(c, &user, "SignUp").await?;
        Ok(SignUpResponse { user_confirmed: false, user_sub: sub, code_delivery_details: details, session: None })
    }

    /// Sends a confirmation code to the first auto-verified channel the user
    /// has; `None` when the pool verifies nothing automatically.
    async fn send_signup_code(
        &self,
        c: &ClientCtx,
        user: &User,
        source: &str,
    ) -> Result<Option<CodeDeliveryDetailsType>> {
        let attrs = &user.attrs;
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

    pub async fn confirm_sign_up(&self, req: ConfirmSignUpRequest) -> Result<ConfirmSignUpResponse> {
        let client = self.resolve_client(&req.client_id).await?;
        let c = self.with_secret_hash(client, &[&req.username], req.secret_hash.as_deref()).await?;
        self.confirm_sign_up_as(&c, req).await
    }

    /// ConfirmSignUp for a proven client.
    pub(crate) async fn confirm_sign_up_as(
        &self,
        c: &ClientCtx,
        req: ConfirmSignUpRequest,
    ) -> Result<ConfirmSignUpResponse> {
        let mut user = self.user_for_code(c, &req.username, CODE_SIGNUP).await?;
        if status_of(&user) != UserStatusType::Unconfirmed {
            return Err(Error::NotAuthorized(format!("User cannot be confirmed. Current status is {}", user.status)));
        }
        let force = req.force_alias_creation == Some(true);
        if !force {
            // Refuse before the code is spent, so a retry with
            // ForceAliasCreation can still use it (the database still has the
            // last word when the user is written).
            let mut verified = user.attrs.clone();
            verified.insert("email_verified".into(), "true".into());
            verified.insert("phone_number_verified".into(), "true".into());
            let aliases = aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &verified);
            if let Some(kind) = self.taken_alias(&user, &aliases).await? {
                return Err(alias_taken(Some(&kind)));
            }
        }
        self.consume_code(&user, CODE_SIGNUP, &req.confirmation_code).await?;

        // The channel the code went to is now verified.
        let attrs = &mut user.attrs;
        let auto = c.pool.auto_verified_attributes.clone().unwrap_or_default();
        if auto.contains(&VerifiedAttributeType::Email) && attrs.contains_key("email") {
            attrs.insert("email_verified".into(), "true".into());
        } else if auto.contains(&VerifiedAttributeType::PhoneNumber) && attrs.contains_key("phone_number") {
            attrs.insert("phone_number_verified".into(), "true".into());
        }
        set_status(&mut user, UserStatusType::Confirmed);
        user.updated_at = self.now();
        let aliases = aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, force).await?;
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&user.attrs),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        self.run_trigger(c, Trigger::PostConfirmation, "PostConfirmation_ConfirmSignUp", &user.username, request)
            .await?;
        Ok(ConfirmSignUpResponse { session: None })
    }

    pub async fn resend_confirmation_code(
        &self,
        req: ResendConfirmationCodeRequest,
    ) -> Result<ResendConfirmationCodeResponse> {
        let client = self.resolve_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        let c = &self.with_secret_hash(client, &[&req.username], req.secret_hash.as_deref()).await?;
        self.resend_confirmation_code_as(c, &req.username).await
    }

    /// ResendConfirmationCode for a client already resolved (the API, or
    /// the hosted confirmation page).
    pub(crate) async fn resend_confirmation_code_as(
        &self,
        c: &ClientCtx,
        username: &str,
    ) -> Result<ResendConfirmationCodeResponse> {
        let not_sent = || {
            Error::InvalidParameter(
                "Auto verification not turned on for this user pool, or the user has no email or phone number.".into(),
            )
        };
        let Some(user) = self.find_user(&c.pool_row, &c.pool, username).await? else {
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
                let details = self.pretend_code(c, username, channel, CODE_SIGNUP, SIGNUP_CODE_TTL_MS).await?;
                return Ok(ResendConfirmationCodeResponse { code_delivery_details: Some(details) });
            }
            return Err(Error::UserNotFound("Username/client id combination not found.".into()));
        };
        if status_of(&user) != UserStatusType::Unconfirmed {
            return Err(Error::InvalidParameter("User is already confirmed.".into()));
        }
        let details = self.send_signup_code(c, &user, "ResendCode").await?;
        if details.is_none() {
            return Err(not_sent());
        }
        Ok(ResendConfirmationCodeResponse { code_delivery_details: details })
    }
}
