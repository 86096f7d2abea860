//! Admin user operations (SigV4-authorised): AdminCreateUser with its
//! invitation, AdminGetUser, AdminSetUserPassword.

use crate::base::context::ClientCtx;
use crate::base::passwords;
use crate::model::attributes::{attribute_list, attribute_value};
use crate::model::channel::Channel;
use crate::model::directory::user_type;
use crate::model::messages::Draft;
use crate::model::triggers::{self, Trigger};
use crate::model::users::{
    User, aliases_for, check_required, check_value, new_user_row, resolve_username, set_password_fields, set_status,
    status_of,
};
use crate::{Error, Idp, Result};
use cognate_store::UserKey;
use cognate_store::{PoolRow, StoreError, UserRow};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// A temporary password that satisfies `policy`: 16 characters from every
/// class, from the OS's CSPRNG.
fn temporary_password(policy: &PasswordPolicyType) -> String {
    use rand::Rng as _;
    use rand::seq::SliceRandom as _;
    let mut rng = rand::rngs::OsRng;
    let classes: [&[u8]; 4] =
        [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"^$*.[]{}()?!@#%&/,><:;|_~=+-"];
    let len = (policy.minimum_length.unwrap_or(8) as usize).max(16);
    let mut chars: Vec<u8> = classes.iter().filter_map(|c| c.choose(&mut rng).copied()).collect();
    let all: Vec<u8> = classes.concat();
    while chars.len() < len {
        chars.push(all[rng.gen_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    String::from_utf8(chars).unwrap_or_default()
}

impl Idp {
    async fn admin_user(&self, pool_id: &str, username: &str) -> Result<(PoolRow, UserPoolType, User)> {
        let (row, pool) = self.load_pool(pool_id).await?;
        let user = self
            .find_user(&row, &pool, username)
            .await?
            .ok_or_else(|| Error::UserNotFound("User does not exist.".into()))?;
        Ok((row, pool, user))
    }

    pub async fn admin_create_user(&self, req: AdminCreateUserRequest) -> Result<AdminCreateUserResponse> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        // Triggers see a client context; admin calls have none.
        let c = ClientCtx::admin(pool_row.clone(), pool.clone()).with_metadata(&req.client_metadata);
        let policy = pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        if req.message_action == Some(MessageActionType::Resend) {
            return self.resend_invitation(&c, &req, &policy).await;
        }
        let schema = pool.schema_attributes.clone().unwrap_or_default();
        let mut attrs = BTreeMap::new();
        for a in req.user_attributes.iter().flatten() {
            let value = attribute_value(&a.name, a.value.as_deref());
            let def = schema.iter().find(|s| s.name.as_deref() == Some(a.name.as_str()));
            let verified_flag = a.name == "email_verified" || a.name == "phone_number_verified";
            match def {
                Some(def) if a.name != "sub" => check_value(def, &a.name, &value)?,
                _ if verified_flag => {}
                _ => {
                    return Err(Error::InvalidParameter(format!(
                        "Attributes did not conform to the schema: {}: Attribute does not exist in the schema.",
                        a.name
                    )));
                }
            }
            attrs.insert(a.name.clone(), value);
        }
        let sub = cognate_crypto::ids::uuid_v4();
        let username = resolve_username(&pool, &req.username, &sub, &mut attrs)?;
        check_required(&pool, &attrs)?;
        let temp = match &req.temporary_password {
            Some(p) => {
                passwords::check_policy(p, &policy, passwords::Wording::Temporary)?;
                p.clone()
            }
            None => temporary_password(&policy),
        };
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&attrs),
            "validationData": crate::model::users::name_values(req.validation_data.as_deref()),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        self.run_trigger(&c, Trigger::PreSignUp, "PreSignUp_AdminCreateUser", &username, request).await?;

        attrs.insert("sub".into(), sub.clone());
        let material = self.hashing.material(temp.clone(), pool_row.id.clone(), username.clone()).await?;
        let user = new_user_row(
            &pool,
            &pool_row.id,
            &username,
            &sub,
            UserStatusType::ForceChangePassword,
            attrs,
            material,
            self.now(),
        )?;
        let key = user.username_key.clone();
        let aliases = aliases_for(&pool_row.id, &pool, &key, &user.attrs);
        let search = crate::model::users::search_entries(&user);
        let mut created = self.store.create_user(&user, &aliases, &search).await;
        if matches!(created, Err(StoreError::Conflict)) {
            if User::read_opt(self.store.get_user(UserKey { pool_id: &pool_row.id, username_key: &key }).await?)?
                .is_some()
            {
                return Err(Error::UsernameExists("User account already exists".into()));
            }
            // ForceAliasCreation moves an email or phone alias from whoever
            // holds it to the new user (alias pools only: in a pool that
            // signs in by email, the email is the username).
            let alias_pool = pool.username_attributes.as_ref().is_none_or(Vec::is_empty);
            if !alias_pool || req.force_alias_creation != Some(true) {
                let kind = self.taken_alias(&user, &aliases).await?;
                if !alias_pool {
                    // The email or phone number is the username here.
                    let word = crate::model::users::alias_word(kind.as_deref());
                    return Err(Error::UsernameExists(format!("An account with the given {word} already exists.")));
                }
                return Err(crate::model::users::alias_taken(kind.as_deref()));
            }
            for a in &aliases {
                self.store.delete_alias(&a.pool_id, &a.kind, &a.value_key).await?;
            }
            created = self.store.create_user(&user, &aliases, &search).await;
        }
        match created {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                return Err(Error::ConcurrentModification("The user was modified concurrently; try again.".into()));
            }
            Err(e) => return Err(e.into()),
        }
        if req.message_action != Some(MessageActionType::Suppress) {
            self.send_invitation(&c, &user, &temp, req.desired_delivery_mediums.as_deref()).await?;
        }
        Ok(AdminCreateUserResponse { user: Some(user_type(&user, &user.attrs)) })
    }

    async fn resend_invitation(
        &self,
        c: &ClientCtx,
        req: &AdminCreateUserRequest,
        policy: &PasswordPolicyType,
    ) -> Result<AdminCreateUserResponse> {
        let (_, _, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        if status_of(&user) != UserStatusType::ForceChangePassword {
            return Err(Error::UnsupportedUserState(
                "Resend not possible. User status is not FORCE_CHANGE_PASSWORD.".into(),
            ));
        }
        let temp = req.temporary_password.clone().unwrap_or_else(|| temporary_password(policy));
        let material = self.hashing.material(temp.clone(), user.pool_id.clone(), user.username.clone()).await?;
        set_password_fields(&mut user, material, self.now());
        self.save(&mut user).await?;
        self.send_invitation(c, &user, &temp, req.desired_delivery_mediums.as_deref()).await?;
        Ok(AdminCreateUserResponse { user: Some(user_type(&user, &user.attrs)) })
    }

    /// The invitation with the temporary password, by the mediums asked for
    /// (SMS by default, as in Cognito).
    async fn send_invitation(
        &self,
        c: &ClientCtx,
        user: &User,
        temp: &str,
        mediums: Option<&[DeliveryMediumType]>,
    ) -> Result<()> {
        let mediums = mediums.map(<[_]>::to_vec).unwrap_or_else(|| vec![DeliveryMediumType::Sms]);
        let t = c
            .pool
            .admin_create_user_config
            .as_ref()
            .and_then(|a| a.invite_message_template.clone())
            .unwrap_or_default();
        let mut sent = false;
        for medium in mediums {
            let channel = match medium {
                DeliveryMediumType::Email => Channel::Email,
                DeliveryMediumType::Sms => Channel::Sms,
            };
            let Some(destination) = user.attrs.get(channel.attribute()) else { continue };
            let default = "Your username is {username} and temporary password is {####}.";
            let (subject, body) = match channel {
                Channel::Email => (
                    t.email_subject.clone().unwrap_or_else(|| "Your temporary password".into()),
                    t.email_message.clone().unwrap_or_else(|| default.into()),
                ),
                Channel::Sms => (String::new(), t.sms_message.clone().unwrap_or_else(|| default.into())),
            };
            let draft = Draft {
                channel,
                destination,
                code: temp,
                source: "AdminCreateUser",
                subject: &subject,
                body: &body,
                link: None,
            };
            self.send_message(c, user, draft).await?;
            sent = true;
        }
        if !sent {
            tracing::info!(
                pool_id = user.pool_id,
                "invitation not sent: the user has no address for the requested mediums"
            );
        }
        Ok(())
    }

    pub async fn admin_get_user(&self, req: AdminGetUserRequest) -> Result<AdminGetUserResponse> {
        let (_, _, user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        let attrs = crate::model::attributes::visible(&user.attrs);
        let (list, preferred, options) = self.mfa_view(&user).await?;
        Ok(AdminGetUserResponse {
            username: user.username.clone(),
            user_attributes: Some(attribute_list(&attrs)),
            user_create_date: Some(Timestamp::from_unix_millis(user.created_at)),
            user_last_modified_date: Some(Timestamp::from_unix_millis(user.updated_at)),
            enabled: Some(user.enabled != 0),
            user_status: Some(status_of(&user)),
            mfa_options: options,
            preferred_mfa_setting: preferred,
            user_mfa_setting_list: list,
        })
    }

    pub async fn admin_set_user_password(
        &self,
        req: AdminSetUserPasswordRequest,
    ) -> Result<AdminSetUserPasswordResponse> {
        let (pool_row, pool, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        let policy = pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        passwords::check_policy(&req.password, &policy, passwords::Wording::DidNotConform)?;
        let material = self.hashing.material(req.password.clone(), pool_row.id.clone(), user.username.clone()).await?;
        set_password_fields(&mut user, material, self.now());
        let status =
            if req.permanent == Some(true) { UserStatusType::Confirmed } else { UserStatusType::ForceChangePassword };
        set_status(&mut user, status);
        self.save(&mut user).await?;
        Ok(AdminSetUserPasswordResponse {})
    }
}

impl Idp {
    async fn save(&self, user: &mut User) -> Result<()> {
        if !self.store.update_user(user.synced()?, None).await? {
            return Err(Error::ConcurrentModification("The user was modified concurrently; try again.".into()));
        }
        Ok(())
    }

    pub async fn admin_delete_user(&self, req: AdminDeleteUserRequest) -> Result<()> {
        let (_, _, user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        self.store.delete_user(user.key()).await?;
        Ok(())
    }

    /// A disabled user cannot sign in, and their tokens are refused.
    pub async fn admin_disable_user(&self, req: AdminDisableUserRequest) -> Result<AdminDisableUserResponse> {
        let (_, _, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        user.enabled = 0;
        user.updated_at = self.now();
        self.save(&mut user).await?;
        Ok(AdminDisableUserResponse {})
    }

    pub async fn admin_enable_user(&self, req: AdminEnableUserRequest) -> Result<AdminEnableUserResponse> {
        let (_, _, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        user.enabled = 1;
        user.updated_at = self.now();
        self.save(&mut user).await?;
        Ok(AdminEnableUserResponse {})
    }

    pub async fn admin_confirm_sign_up(&self, req: AdminConfirmSignUpRequest) -> Result<AdminConfirmSignUpResponse> {
        let (pool_row, pool, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        if status_of(&user) != UserStatusType::Unconfirmed {
            return Err(Error::NotAuthorized(format!("User cannot be confirmed. Current status is {}", user.status)));
        }
        set_status(&mut user, UserStatusType::Confirmed);
        user.updated_at = self.now();
        self.save(&mut user).await?;
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&user.attrs),
            "clientMetadata": req.client_metadata.clone().unwrap_or_default(),
        });
        let c = ClientCtx::admin(pool_row, pool);
        self.run_trigger(&c, Trigger::PostConfirmation, "PostConfirmation_ConfirmSignUp", &user.username, request)
            .await?;
        Ok(AdminConfirmSignUpResponse {})
    }

    /// Ends every sign-in of the user: refresh tokens revoked, and with them
    /// the access and ID tokens of those sign-ins.
    pub async fn admin_user_global_sign_out(
        &self,
        req: AdminUserGlobalSignOutRequest,
    ) -> Result<AdminUserGlobalSignOutResponse> {
        let (_, _, user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        self.store.revoke_user_refresh_tokens(user.key(), self.now()).await?;
        Ok(AdminUserGlobalSignOutResponse {})
    }

    /// Admins may set any schema attribute, including `*_verified`; a changed
    /// email or phone number is unverified unless the same call verifies it.
    pub async fn admin_update_user_attributes(
        &self,
        req: AdminUpdateUserAttributesRequest,
    ) -> Result<AdminUpdateUserAttributesResponse> {
        let (pool_row, pool, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        let schema = pool.schema_attributes.clone().unwrap_or_default();
        let attrs = &mut user.attrs;
        let given: BTreeMap<String, String> = req
            .user_attributes
            .iter()
            .map(|a| (a.name.clone(), attribute_value(&a.name, a.value.as_deref())))
            .collect();
        for (name, value) in &given {
            if name == "sub" {
                return Err(Error::InvalidParameter("Cannot modify the non-mutable attribute sub".into()));
            }
            let def = schema.iter().find(|s| s.name.as_deref() == Some(name.as_str()));
            match def {
                Some(def) => {
                    if def.mutable == Some(false) && attrs.get(name) != Some(value) {
                        return Err(Error::InvalidParameter(format!("Cannot modify the non-mutable attribute {name}")));
                    }
                    check_value(def, name, value)?;
                }
                None => {
                    return Err(Error::InvalidParameter(format!(
                        "Attributes did not conform to the schema: {name}: Attribute does not exist in the schema."
                    )));
                }
            }
        }
        for channel in ["email", "phone_number"] {
            let verified = format!("{channel}_verified");
            if given.get(channel).is_some_and(|v| attrs.get(channel) != Some(v)) && !given.contains_key(&verified) {
                attrs.insert(verified, "false".into());
            }
        }
        attrs.extend(given);
        user.updated_at = self.now();
        let aliases = aliases_for(&pool_row.id, &pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, false).await?;
        Ok(AdminUpdateUserAttributesResponse {})
    }

    pub async fn admin_delete_user_attributes(
        &self,
        req: AdminDeleteUserAttributesRequest,
    ) -> Result<AdminDeleteUserAttributesResponse> {
        let (pool_row, pool, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        let schema = pool.schema_attributes.clone().unwrap_or_default();
        let attrs = &mut user.attrs;
        for name in &req.user_attribute_names {
            let def = schema.iter().find(|a| a.name.as_deref() == Some(name.as_str()));
            if name == "sub" || def.is_some_and(|d| d.required == Some(true)) {
                return Err(Error::InvalidParameter(format!("Cannot delete the required attribute {name}")));
            }
            attrs.remove(name);
        }
        user.updated_at = self.now();
        let aliases = aliases_for(&pool_row.id, &pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, false).await?;
        Ok(AdminDeleteUserAttributesResponse {})
    }

    /// The user must reset their password: sign-in answers
    /// PasswordResetRequiredException, and a reset code goes to their
    /// verified email or phone for ConfirmForgotPassword.
    pub async fn admin_reset_user_password(
        &self,
        req: AdminResetUserPasswordRequest,
    ) -> Result<AdminResetUserPasswordResponse> {
        let (pool_row, pool, mut user) = self.admin_user(&req.user_pool_id, &req.username).await?;
        if user.enabled == 0 {
            return Err(Error::NotAuthorized("User is disabled".into()));
        }
        let c = ClientCtx::admin(pool_row, pool).with_metadata(&req.client_metadata);
        self.send_reset_code(&c, &user).await?;
        set_status(&mut user, UserStatusType::ResetRequired);
        user.updated_at = self.now();
        self.save(&mut user).await?;
        Ok(AdminResetUserPasswordResponse {})
    }

    /// Loads users in bulk, for benchmarks and load tests: each named user
    /// is CONFIRMED with `email` = `{name}@example.com` (verified) and the
    /// one given password hash (an argon2id PHC string, computed once by the
    /// caller). They sign in with USER_PASSWORD_AUTH; having no SRP
    /// verifier, they cannot use SRP. Each batch is one transaction.
    pub async fn load_users(&self, pool_id: &str, names: &[String], password_hash: &str) -> Result<()> {
        let (pool_row, pool) = self.load_pool(pool_id).await?;
        let now = self.now();
        let mut batch = Vec::with_capacity(names.len());
        for name in names {
            let sub = cognate_crypto::ids::uuid_v4();
            let mut attrs = BTreeMap::new();
            attrs.insert("sub".to_string(), sub.clone());
            attrs.insert("email".to_string(), format!("{name}@example.com"));
            attrs.insert("email_verified".to_string(), "true".to_string());
            let user = User::read(UserRow {
                pool_id: pool_row.id.clone(),
                username: name.clone(),
                username_key: crate::model::users::username_key(&pool, name),
                sub,
                status: UserStatusType::Confirmed.as_str().to_string(),
                enabled: 1,
                created_at: now,
                updated_at: now,
                version: 1,
                attributes: serde_json::to_string(&attrs)?,
                password_hash: Some(password_hash.to_string()),
                password_changed_at: now,
                ..Default::default()
            })?;
            let search = crate::model::users::search_entries(&user);
            batch.push((user.into_row()?, search));
        }
        self.store.create_users(&batch).await.map_err(|e| match e {
            StoreError::Conflict => Error::UsernameExists("User account already exists".into()),
            e => e.into(),
        })
    }
}
