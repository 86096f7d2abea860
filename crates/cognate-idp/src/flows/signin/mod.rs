//! Sign-in: InitiateAuth and RespondToAuthChallenge as explicit steps.
//!
//! * USER_PASSWORD_AUTH: the password, checked against its argon2id hash.
//! * USER_SRP_AUTH → PASSWORD_VERIFIER: Cognito's SRP-6a. The server's state
//!   between the two calls (b, A, who, which client, until when) travels
//!   sealed in SECRET_BLOCK and Session, so any node can finish a sign-in.
//! * REFRESH_TOKEN_AUTH / REFRESH_TOKEN: new ID and access tokens.
//!
//! Failed password checks count toward a lockout that the database keeps;
//! with PreventUserExistenceErrors an unknown user fails exactly like a wrong
//! password (SRP even returns a plausible challenge for them).

pub mod custom;
pub mod devices;
pub mod mfa;
pub mod outcome;
pub mod verifier;

use crate::base::context::{Client, ClientCtx, param};
use crate::base::passwords::{self, verify_password};
use crate::base::sealed::{self, Opened, Step, invalid_session};
use crate::flows::signin::custom::Next;
use crate::flows::signin::outcome::{Challenge, Outcome, respond};
use crate::flows::signin::verifier::{SrpHalf, password_verifier, server_challenge};
use crate::model::tokens::{Grant, sign_in_scopes};
use crate::model::triggers::{self, Trigger};
use crate::model::users::{User, set_status, srp_material, status_of};
use crate::{Error, Fault, Idp, Result};
use cognate_crypto::srp;
use cognate_store::UserKey;
use cognate_store::{DeviceRow, UserRow};
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the server remembers between InitiateAuth and RespondToAuthChallenge
/// (sealed for the user's key; an empty key is the decoy of an unknown name,
/// which always fails).
#[derive(Serialize, Deserialize)]
struct SrpState {
    /// USER_ID_FOR_SRP.
    n: String,
    #[serde(flatten)]
    srp: SrpHalf,
}

/// A flow of the other operation: admin flows in InitiateAuth, the public
/// password flow in AdminInitiateAuth.
fn method_not_supported() -> Error {
    Error::InvalidParameter("Initiate Auth method not supported.".into())
}

fn incorrect() -> Error {
    Error::NotAuthorized("Incorrect username or password.".into())
}

/// The flows a client allows (Cognito's default when none are set).
fn allows(c: &Client, flow: AuthFlowType) -> bool {
    let flows = c.client.explicit_auth_flows.clone().unwrap_or_else(|| {
        vec![
            ExplicitAuthFlowsType::AllowRefreshTokenAuth,
            ExplicitAuthFlowsType::AllowUserSrpAuth,
            ExplicitAuthFlowsType::AllowCustomAuth,
        ]
    });
    let legacy = flows.iter().any(|f| !f.as_str().starts_with("ALLOW_"));
    match flow {
        AuthFlowType::UserPasswordAuth => {
            flows.contains(&ExplicitAuthFlowsType::AllowUserPasswordAuth)
                || flows.contains(&ExplicitAuthFlowsType::UserPasswordAuth)
        }
        AuthFlowType::UserSrpAuth => legacy || flows.contains(&ExplicitAuthFlowsType::AllowUserSrpAuth),
        AuthFlowType::RefreshTokenAuth | AuthFlowType::RefreshToken => {
            legacy || flows.contains(&ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        }
        AuthFlowType::CustomAuth => {
            flows.contains(&ExplicitAuthFlowsType::AllowCustomAuth)
                || flows.contains(&ExplicitAuthFlowsType::CustomAuthFlowOnly)
        }
        _ => false,
    }
}

impl Idp {
    pub async fn initiate_auth(&self, req: InitiateAuthRequest) -> Result<InitiateAuthResponse> {
        let client = self.resolve_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        let params = req.auth_parameters.clone().unwrap_or_default();
        if matches!(req.auth_flow, AuthFlowType::AdminUserPasswordAuth | AuthFlowType::AdminNoSrpAuth) {
            return Err(method_not_supported());
        }
        self.start_auth(client, req.auth_flow, params, &req.client_metadata.clone().unwrap_or_default()).await
    }

    /// AdminInitiateAuth: the same flows, plus the admin password flows, for
    /// a client of the named pool (the call itself is SigV4-authorised).
    pub async fn admin_initiate_auth(&self, req: AdminInitiateAuthRequest) -> Result<AdminInitiateAuthResponse> {
        let client = self.admin_client(&req.user_pool_id, &req.client_id).await?.with_metadata(&req.client_metadata);
        let params = req.auth_parameters.clone().unwrap_or_default();
        let r = match req.auth_flow {
            AuthFlowType::AdminUserPasswordAuth | AuthFlowType::AdminNoSrpAuth => {
                let flows = client.client.explicit_auth_flows.clone().unwrap_or_default();
                if !flows.contains(&ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
                    && !flows.contains(&ExplicitAuthFlowsType::AdminNoSrpAuth)
                {
                    return Err(Error::InvalidParameter("Auth flow not enabled for this client".into()));
                }
                let username = param(&params, "USERNAME")?;
                let c =
                    self.with_secret_hash(client, &[username], params.get("SECRET_HASH").map(String::as_str)).await?;
                let password = param(&params, "PASSWORD")?;
                let user = self.password_sign_in(&c, username, password).await?;
                let device = self.known_device(&user, params.get("DEVICE_KEY").map(String::as_str)).await?;
                let outcome = self.signed_in(&c, user, device).await?;
                self.answer(&c, outcome).await?
            }
            // The password flow of public clients has its admin twin here.
            AuthFlowType::UserPasswordAuth => return Err(method_not_supported()),
            flow => self.start_auth(client, flow, params, &req.client_metadata.clone().unwrap_or_default()).await?,
        };
        Ok(AdminInitiateAuthResponse {
            authentication_result: r.authentication_result,
            challenge_name: r.challenge_name,
            challenge_parameters: r.challenge_parameters,
            session: r.session,
            available_challenges: r.available_challenges,
        })
    }

    pub async fn admin_respond_to_auth_challenge(
        &self,
        req: AdminRespondToAuthChallengeRequest,
    ) -> Result<AdminRespondToAuthChallengeResponse> {
        let client = self.admin_client(&req.user_pool_id, &req.client_id).await?.with_metadata(&req.client_metadata);
        let responses = req.challenge_responses.clone().unwrap_or_default();
        let c = self.prove_answer(client, &responses).await?;
        let meta = req.client_metadata.clone().unwrap_or_default();
        let outcome = self.answer_challenge(&c, req.challenge_name, responses, req.session.as_deref(), &meta).await?;
        let r = self.answer(&c, outcome).await?;
        Ok(AdminRespondToAuthChallengeResponse {
            authentication_result: r.authentication_result,
            challenge_name: r.challenge_name,
            challenge_parameters: r.challenge_parameters,
            session: r.session,
            available_challenges: r.available_challenges,
        })
    }

    /// A client that must belong to `pool_id`.
    async fn admin_client(&self, pool_id: &str, client_id: &str) -> Result<Client> {
        self.load_pool(pool_id).await?;
        let c = self.resolve_client(client_id).await?;
        if c.pool_row.id != pool_id {
            return Err(Error::ResourceNotFound(format!("User pool client {client_id} does not exist.")));
        }
        Ok(c)
    }

    /// RespondToAuthChallenge's proof of the client: SECRET_HASH over the
    /// USERNAME the answer names, when the client has a secret (the Session
    /// or SECRET_BLOCK it carries is then checked by the step).
    async fn prove_answer(&self, client: Client, r: &BTreeMap<String, String>) -> Result<ClientCtx> {
        let name = r.get("USERNAME").map(String::as_str).unwrap_or_default();
        self.with_secret_hash(client, &[name], r.get("SECRET_HASH").map(String::as_str)).await
    }

    async fn start_auth(
        &self,
        client: Client,
        flow: AuthFlowType,
        params: BTreeMap<String, String>,
        client_metadata: &BTreeMap<String, String>,
    ) -> Result<InitiateAuthResponse> {
        let supported = matches!(
            flow,
            AuthFlowType::UserPasswordAuth
                | AuthFlowType::UserSrpAuth
                | AuthFlowType::RefreshTokenAuth
                | AuthFlowType::RefreshToken
                | AuthFlowType::CustomAuth
        );
        if !supported {
            return Err(Error::Unsupported(format!("Cognate does not support the {} flow yet.", flow.as_str())));
        }
        if !allows(&client, flow) {
            return Err(Error::InvalidParameter(format!("{} flow not enabled for this client", flow.as_str())));
        }
        let given = params.get("SECRET_HASH").map(String::as_str);
        match flow {
            AuthFlowType::CustomAuth => {
                let username = param(&params, "USERNAME")?;
                let c = self.with_secret_hash(client, &[username], given).await?;
                let next = self.start_custom_auth(&c, &params, client_metadata).await?;
                let outcome = self.custom_auth_answer(&c, next)?;
                self.answer(&c, outcome).await
            }
            AuthFlowType::UserPasswordAuth => {
                let username = param(&params, "USERNAME")?;
                let c = self.with_secret_hash(client, &[username], given).await?;
                let password = param(&params, "PASSWORD")?;
                let user = self.password_sign_in(&c, username, password).await?;
                let device = self.known_device(&user, params.get("DEVICE_KEY").map(String::as_str)).await?;
                let outcome = self.signed_in(&c, user, device).await?;
                self.answer(&c, outcome).await
            }
            AuthFlowType::UserSrpAuth => {
                let username = param(&params, "USERNAME")?;
                let c = self.with_secret_hash(client, &[username], given).await?;
                let a = param(&params, "SRP_A")?;
                let challenge = self.srp_challenge(&c, username, a).await?;
                Ok(challenge.into())
            }
            _ => {
                let token = param(&params, "REFRESH_TOKEN")?;
                let row = self.live_refresh_token(&client, token).await?;
                let user = User::read_opt(self.store.get_user(row.user()).await?)?
                    .ok_or_else(|| Error::NotAuthorized("Invalid Refresh Token".into()))?;
                // The hash may be over the username the client knows, or the sub.
                let name = params.get("USERNAME").cloned().unwrap_or_else(|| user.username.clone());
                let c = &self.with_secret_hash(client, &[&name, &user.sub], given).await?;
                self.check_can_sign_in(c, &user)?;
                let device = self.known_device(&user, params.get("DEVICE_KEY").map(String::as_str)).await?;
                let result = self.issue_tokens(c, &user, Grant::of_refresh(&row, device.as_ref(), false)).await?;
                Ok(InitiateAuthResponse {
                    authentication_result: Some(result),
                    challenge_parameters: Some(BTreeMap::new()),
                    ..Default::default()
                })
            }
        }
    }

    /// What a CUSTOM_AUTH round comes to: its next challenge, or signed in.
    fn custom_auth_answer(&self, c: &ClientCtx, next: Next) -> Result<Outcome> {
        match next {
            Next::Challenge(challenge) => Ok(Outcome::Challenge(challenge)),
            Next::Tokens(user) => {
                self.check_can_sign_in(c, &user)?;
                Ok(Outcome::signed_in(*user, None, "TokenGeneration_Authentication"))
            }
        }
    }

    /// The API's answer to a sign-in's outcome: the challenge, or tokens
    /// (PostAuthentication first, NewDeviceMetadata when the pool tracks
    /// devices).
    async fn answer(&self, c: &ClientCtx, outcome: Outcome) -> Result<InitiateAuthResponse> {
        match outcome {
            Outcome::Challenge(challenge) => Ok(challenge.into()),
            Outcome::SignedIn(s) => self.complete_sign_in(c, &s.user, s.source, s.device).await,
        }
    }

    /// Status checks after the credentials proved right.
    fn check_can_sign_in(&self, c: &ClientCtx, user: &User) -> Result<()> {
        if user.enabled == 0 {
            return Err(Error::NotAuthorized("User is disabled.".into()));
        }
        if status_of(user) == UserStatusType::ForceChangePassword {
            let days = c
                .pool
                .policies
                .as_ref()
                .and_then(|p| p.password_policy.as_ref())
                .and_then(|p| p.temporary_password_validity_days)
                .unwrap_or(7);
            if self.now() > user.password_changed_at + i64::from(days) * 86_400_000 {
                return Err(Error::NotAuthorized(
                    "Temporary password has expired and must be reset by an administrator.".into(),
                ));
            }
            return Ok(());
        }
        match status_of(user) {
            UserStatusType::Unconfirmed => Err(Error::UserNotConfirmed("User is not confirmed.".into())),
            UserStatusType::ResetRequired => {
                Err(Error::PasswordResetRequired("Password reset required for the user".into()))
            }
            _ => Ok(()),
        }
    }

    async fn unknown_user(&self, c: &ClientCtx) -> Error {
        if c.prevents_existence_errors() { incorrect() } else { Error::UserNotFound("User does not exist.".into()) }
    }

    pub(crate) async fn password_sign_in(&self, c: &ClientCtx, username: &str, password: &str) -> Result<User> {
        let user = match self.find_user(&c.pool_row, &c.pool, username).await? {
            Some(user) => user,
            None => match self.migrate_user(c, username, password).await? {
                Some(user) => user,
                None => {
                    if c.prevents_existence_errors() {
                        self.check_unknown_lock(c, username).await?;
                    }
                    // Spend the time a real check takes, so timing tells nothing.
                    self.hashing.refuse(password).await;
                    if c.prevents_existence_errors() {
                        self.record_unknown_failure(c, username).await?;
                    }
                    return Err(self.unknown_user(c).await);
                }
            },
        };
        self.check_lock(&user)?;
        self.pre_authentication(c, &user).await?;
        let Some(hash) = user.password_hash.clone() else {
            // Migrated at ForgotPassword: no password until the reset.
            if status_of(&user) == UserStatusType::ResetRequired {
                return Err(Error::PasswordResetRequired("Password reset required for the user".into()));
            }
            return Err(incorrect());
        };
        if !verify_password(password.to_string(), hash).await? {
            self.record_failure(&user).await?;
            self.auth_event(&c.pool, &user, EventType::SignIn, EventResponseType::Fail, Some(false)).await?;
            return Err(incorrect());
        }
        self.check_can_sign_in(c, &user)?;
        self.clear_failures(&user).await?;
        Ok(user)
    }

    async fn pre_authentication(&self, c: &ClientCtx, user: &User) -> Result<()> {
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&user.attrs),
            // The sign-in's ClientMetadata, as Cognito passes it here.
            "validationData": c.metadata,
            "userNotFound": false,
        });
        self.run_trigger(c, Trigger::PreAuthentication, "PreAuthentication_Authentication", &user.username, request)
            .await
            .map(|_| ())
    }

    pub(crate) async fn post_authentication(&self, c: &ClientCtx, user: &User) -> Result<()> {
        let request = serde_json::json!({
            "userAttributes": triggers::attributes_json(&user.attrs),
            "newDeviceUsed": false,
            "clientMetadata": {},
        });
        self.run_trigger(c, Trigger::PostAuthentication, "PostAuthentication_Authentication", &user.username, request)
            .await
            .map(|_| ())
    }

    /// UserMigration_Authentication: a user this pool does not know yet may
    /// be vouched for by the pool's migration function, which returns their
    /// attributes; the user is created with the password they typed.
    async fn migrate_user(&self, c: &ClientCtx, username: &str, password: &str) -> Result<Option<User>> {
        self.migrate(c, username, Some(password)).await
    }

    /// UserMigration: at sign-in (with the password typed, which becomes
    /// the user's) or at ForgotPassword (without one: the user is created
    /// RESET_REQUIRED and resets it with the code).
    pub(crate) async fn migrate(&self, c: &ClientCtx, username: &str, password: Option<&str>) -> Result<Option<User>> {
        let (source, request) = match password {
            Some(p) => (
                "UserMigration_Authentication",
                serde_json::json!({"password": p, "validationData": {}, "clientMetadata": {}}),
            ),
            None => ("UserMigration_ForgotPassword", serde_json::json!({"validationData": {}, "clientMetadata": {}})),
        };
        let Some(r) = self.run_trigger(c, Trigger::UserMigration, source, username, request).await? else {
            return Ok(None);
        };
        let Some(serde_json::Value::Object(given)) = r.get("userAttributes") else {
            return Err(Error::InvalidLambdaResponse("Invalid lambda response: userAttributes is required.".into()));
        };
        let mut attrs: BTreeMap<String, String> = given
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .filter(|(k, _)| k != "sub" && k != "username")
            .collect();
        let sub = cognate_crypto::ids::uuid_v4();
        let stored_name = if c.pool.username_attributes.as_ref().is_some_and(|u| !u.is_empty()) {
            sub.clone()
        } else {
            username.to_string()
        };
        attrs.insert("sub".into(), sub.clone());
        let final_status = match (r.get("finalUserStatus").and_then(serde_json::Value::as_str), password) {
            (None | Some("CONFIRMED"), Some(_)) => UserStatusType::Confirmed,
            (Some("RESET_REQUIRED"), _) | (None, None) => UserStatusType::ResetRequired,
            (Some(other), _) => {
                return Err(Error::InvalidLambdaResponse(format!(
                    "Invalid lambda response: finalUserStatus {other} is not allowed."
                )));
            }
        };
        let user = match password {
            Some(p) => {
                let material = self.hashing.material(p.to_string(), c.pool_row.id.clone(), stored_name.clone()).await?;
                crate::model::users::new_user_row(
                    &c.pool,
                    &c.pool_row.id,
                    &stored_name,
                    &sub,
                    final_status,
                    attrs,
                    material,
                    self.now(),
                )?
            }
            // No password yet: ConfirmForgotPassword sets the first one.
            None => User::read(UserRow {
                pool_id: c.pool_row.id.clone(),
                username: stored_name.clone(),
                username_key: crate::model::users::username_key(&c.pool, &stored_name),
                sub: sub.clone(),
                status: final_status.as_str().to_string(),
                enabled: 1,
                created_at: self.now(),
                updated_at: self.now(),
                version: 1,
                attributes: serde_json::to_string(&attrs)?,
                password_changed_at: self.now(),
                ..Default::default()
            })?,
        };
        let key = user.username_key.clone();
        let aliases = crate::model::users::aliases_for(&c.pool_row.id, &c.pool, &key, &user.attrs);
        match self.store.create_user(&user, &aliases, &crate::model::users::search_entries(&user)).await {
            Ok(()) => Ok(Some(user)),
            // Migrated concurrently by another sign-in: use that user.
            Err(cognate_store::StoreError::Conflict) => {
                Ok(User::read_opt(self.store.get_user(UserKey { pool_id: &c.pool_row.id, username_key: &key }).await?)?)
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn srp_challenge(&self, c: &ClientCtx, username: &str, a_hex: &str) -> Result<Challenge> {
        // Reject a bad A now rather than after the round trip.
        srp::decode_hex_int(a_hex).map_err(|_| Error::InvalidParameter("Invalid SRP_A value.".into()))?;
        let (user_key, user_id, salt_hex, verifier) = match self.find_user(&c.pool_row, &c.pool, username).await? {
            Some(user) => {
                self.check_lock(&user)?;
                self.pre_authentication(c, &user).await?;
                let (salt, v) = srp_material(&user)?;
                (user.username_key.clone(), user.username.clone(), salt, v)
            }
            None if c.prevents_existence_errors() => {
                self.check_unknown_lock(c, username).await?;
                let fake = self.decoy_verifier(c, username).await?;
                (String::new(), username.to_string(), fake.salt_hex(), fake.verifier)
            }
            None => return Err(self.unknown_user(c).await),
        };
        let challenge = server_challenge(verifier).await?;
        let state = SrpState { n: user_id.clone(), srp: SrpHalf::new(a_hex, &challenge) };
        let sealed = sealed::seal(&self.key, Step::Srp, c, &user_key, self.now(), state)?;
        Ok(password_verifier(salt_hex, &challenge, sealed, &user_id))
    }

    /// A stable, plausible SRP verifier for a user who does not exist: the
    /// same name always gets the same salt, and no password proves it.
    async fn decoy_verifier(&self, c: &ClientCtx, username: &str) -> Result<srp::Verifier> {
        let seed = self.key.mac("srp-decoy", format!("{}:{username}", c.pool_row.id).as_bytes());
        let salt = hex::decode(&seed[..32]).map_err(|e| Error::internal(Fault::Other, format!("decoy salt: {e}")))?;
        let (name, user) = (srp::pool_name(&c.pool_row.id).to_string(), username.to_string());
        crate::base::crypto_threads::run_short(move || srp::verifier_with_salt(&name, &user, &seed, &salt)).await
    }

    pub async fn respond_to_auth_challenge(
        &self,
        req: RespondToAuthChallengeRequest,
    ) -> Result<RespondToAuthChallengeResponse> {
        let client = self.resolve_client(&req.client_id).await?.with_metadata(&req.client_metadata);
        let r = req.challenge_responses.clone().unwrap_or_default();
        let c = self.prove_answer(client, &r).await?;
        let meta = req.client_metadata.clone().unwrap_or_default();
        let outcome = self.answer_challenge(&c, req.challenge_name, r, req.session.as_deref(), &meta).await?;
        Ok(respond(self.answer(&c, outcome).await?))
    }

    pub(crate) async fn answer_challenge(
        &self,
        c: &ClientCtx,
        challenge: ChallengeNameType,
        r: BTreeMap<String, String>,
        session: Option<&str>,
        client_metadata: &BTreeMap<String, String>,
    ) -> Result<Outcome> {
        let signed_in = |user, device| Outcome::signed_in(user, device, "TokenGeneration_Authentication");
        match challenge {
            ChallengeNameType::CustomChallenge => {
                let next = self.answer_custom(c, &r, session, client_metadata).await?;
                return self.custom_auth_answer(c, next);
            }
            ChallengeNameType::PasswordVerifier => {
                // Inside CUSTOM_AUTH, the loop goes on after the proof.
                if let Some(next) = self.answer_custom_password_verifier(c, &r, session, client_metadata).await? {
                    return self.custom_auth_answer(c, next);
                }
            }
            ChallengeNameType::NewPasswordRequired => return self.new_password(c, &r, session).await,
            ChallengeNameType::SmsMfa
            | ChallengeNameType::EmailOtp
            | ChallengeNameType::SoftwareTokenMfa
            | ChallengeNameType::SelectMfaType
            | ChallengeNameType::MfaSetup => {
                return Ok(match self.answer_mfa(c, challenge, &r, session).await? {
                    Ok((user, device_key)) => {
                        let device = self.known_device(&user, Some(&device_key)).await?;
                        signed_in(user, device)
                    }
                    Err(next) => Outcome::Challenge(next),
                });
            }
            ChallengeNameType::DeviceSrpAuth | ChallengeNameType::DevicePasswordVerifier => {
                let (user, device) = match self.answer_device(c, challenge, &r, session).await? {
                    Ok(proven) => proven,
                    Err(next) => return Ok(Outcome::Challenge(next)),
                };
                self.check_can_sign_in(c, &user)?;
                self.clear_failures(&user).await?;
                // A remembered device stands in for the second factor when
                // the pool says so (ChallengeRequiredOnNewDevice).
                let skips_mfa = device.remembered != 0
                    && c.pool.device_configuration.as_ref().and_then(|d| d.challenge_required_on_new_device)
                        == Some(true);
                if !skips_mfa && let Some(challenge) = self.mfa_challenge(c, &user, &device.device_key).await? {
                    return Ok(Outcome::Challenge(challenge));
                }
                return Ok(signed_in(user, Some(device)));
            }
            _ => {
                return Err(Error::Unsupported(format!(
                    "Cognate does not support the {} challenge yet.",
                    challenge.as_str()
                )));
            }
        }
        let block_b64 = param(&r, "PASSWORD_CLAIM_SECRET_BLOCK")?;
        let signature = param(&r, "PASSWORD_CLAIM_SIGNATURE")?;
        let timestamp = param(&r, "TIMESTAMP")?;
        param(&r, "USERNAME")?;

        use base64::Engine as _;
        let block =
            base64::engine::general_purpose::STANDARD.decode(block_b64).ok().and_then(|b| String::from_utf8(b).ok());
        let opened: Opened<SrpState> = sealed::open(&self.key, Step::Srp, c, block.as_deref(), self.now())?;
        let (user_key, state) = (opened.user, opened.state);
        if srp::parse_timestamp(timestamp).is_none() {
            return Err(Error::InvalidParameter("TIMESTAMP is not in the expected format.".into()));
        }
        let pool_name = srp::pool_name(&c.pool_row.id);
        if user_key.is_empty() {
            // The decoy of an unknown name: the same work and the same
            // counting as a wrong password of a real user.
            self.check_unknown_lock(c, &state.n).await?;
            let decoy = self.decoy_verifier(c, &state.n).await?.verifier;
            let _ = state.srp.proves(decoy, pool_name, &state.n, (block_b64, timestamp, signature)).await?;
            self.record_unknown_failure(c, &state.n).await?;
            return Err(incorrect());
        }
        let user =
            User::read_opt(self.store.get_user(UserKey { pool_id: &c.pool_row.id, username_key: &user_key }).await?)?
                .ok_or_else(incorrect)?;
        self.check_lock(&user)?;
        let (_, v) = srp_material(&user)?;
        if !state.srp.proves(v, pool_name, &state.n, (block_b64, timestamp, signature)).await? {
            self.record_failure(&user).await?;
            self.auth_event(&c.pool, &user, EventType::SignIn, EventResponseType::Fail, Some(false)).await?;
            return Err(incorrect());
        }
        self.check_can_sign_in(c, &user)?;
        self.clear_failures(&user).await?;
        // A device key the user does not have is refused with the error
        // clients recognise (they retry without it).
        let device = match r.get("DEVICE_KEY").filter(|k| !k.is_empty()) {
            Some(key) => Some(
                self.known_device(&user, Some(key))
                    .await?
                    .ok_or_else(|| Error::ResourceNotFound("Device does not exist.".into()))?,
            ),
            None => None,
        };
        self.signed_in(c, user, device).await
    }

    /// The first factor is right: the device challenge for a known device,
    /// NEW_PASSWORD_REQUIRED for a user still on a temporary password, an
    /// MFA challenge, or signed in.
    pub(crate) async fn signed_in(&self, c: &ClientCtx, user: User, device: Option<DeviceRow>) -> Result<Outcome> {
        let user = &user;
        if let Some(d) = &device
            && status_of(user) != UserStatusType::ForceChangePassword
        {
            return Ok(Outcome::Challenge(self.device_challenge(c, user, d)?));
        }
        if status_of(user) == UserStatusType::ForceChangePassword {
            let attrs = crate::model::attributes::visible(&user.attrs);
            let shown: BTreeMap<&String, &String> = attrs.iter().filter(|(k, _)| *k != "sub").collect();
            let required: Vec<String> = c
                .pool
                .schema_attributes
                .iter()
                .flatten()
                .filter(|a| a.required == Some(true))
                .filter_map(|a| a.name.clone())
                .filter(|n| n != "sub" && !attrs.contains_key(n))
                .map(|n| format!("userAttributes.{n}"))
                .collect();
            let session = sealed::seal(&self.key, Step::NewPassword, c, &user.username_key, self.now(), ())?;
            let mut p = BTreeMap::new();
            p.insert("USER_ID_FOR_SRP".to_string(), user.username.clone());
            p.insert("requiredAttributes".to_string(), serde_json::to_string(&required)?);
            p.insert("userAttributes".to_string(), serde_json::to_string(&shown)?);
            self.auth_event(&c.pool, user, EventType::SignIn, EventResponseType::InProgress, Some(true)).await?;
            let name = ChallengeNameType::NewPasswordRequired;
            return Ok(Outcome::Challenge(Challenge { name, parameters: p, session: Some(session) }));
        }
        if let Some(challenge) = self.mfa_challenge(c, user, "").await? {
            self.auth_event(&c.pool, user, EventType::SignIn, EventResponseType::InProgress, Some(true)).await?;
            return Ok(Outcome::Challenge(challenge));
        }
        Ok(Outcome::signed_in(user.clone(), None, "TokenGeneration_Authentication"))
    }

    /// Every factor is proven: PostAuthentication, then tokens, for the
    /// device the sign-in proved or, when the pool tracks devices, a new one
    /// (NewDeviceMetadata).
    async fn complete_sign_in(
        &self,
        c: &ClientCtx,
        user: &User,
        source: &str,
        device: Option<DeviceRow>,
    ) -> Result<InitiateAuthResponse> {
        self.post_authentication(c, user).await?;
        let (device, is_new) = match device {
            Some(mut d) => {
                d.last_auth_at = self.now();
                self.store.update_device(&d).await?;
                (Some(d), false)
            }
            None => (self.new_device(c, user).await?, true),
        };
        let grant = Grant {
            auth_time: self.now() / 1000,
            origin: None,
            refresh: true,
            source,
            device_key: device.as_ref().map(|d| d.device_key.as_str()),
            scopes: sign_in_scopes(),
            hosted: None,
        };
        let mut result = self.issue_tokens(c, user, grant).await?;
        if let (Some(d), true) = (&device, is_new) {
            result.new_device_metadata = Some(NewDeviceMetadataType {
                device_key: Some(d.device_key.clone()),
                device_group_key: Some(d.group_key.clone()),
            });
        }
        self.auth_event(&c.pool, user, EventType::SignIn, EventResponseType::Pass, Some(true)).await?;
        Ok(InitiateAuthResponse {
            authentication_result: Some(result),
            challenge_parameters: Some(BTreeMap::new()),
            ..Default::default()
        })
    }

    /// NEW_PASSWORD_REQUIRED: the new password, and the required attributes
    /// the user has not got yet (`userAttributes.<name>`).
    async fn new_password(
        &self,
        c: &ClientCtx,
        r: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> Result<Outcome> {
        param(r, "USERNAME")?;
        let password = param(r, "NEW_PASSWORD")?;
        let opened: Opened<()> = sealed::open(&self.key, Step::NewPassword, c, session, self.now())?;
        let mut user = User::read_opt(
            self.store.get_user(UserKey { pool_id: &c.pool_row.id, username_key: &opened.user }).await?,
        )?
        .ok_or_else(invalid_session)?;
        if status_of(&user) != UserStatusType::ForceChangePassword {
            return Err(invalid_session());
        }
        let given: Vec<AttributeType> = r
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("userAttributes.").map(|n| AttributeType { name: n.to_string(), value: Some(v.clone()) })
            })
            .collect();
        let attrs = &mut user.attrs;
        attrs.extend(self.client_attributes(c, &given)?);
        crate::model::users::check_required(&c.pool, attrs)?;
        let policy = c.pool.policies.as_ref().and_then(|p| p.password_policy.clone()).unwrap_or_default();
        passwords::check_policy(password, &policy, passwords::Wording::DoesNotConform)?;
        user.updated_at = self.now();
        let aliases = crate::model::users::aliases_for(&c.pool_row.id, &c.pool, &user.username_key, &user.attrs);
        self.write_user_with_aliases(&mut user, &aliases, false).await?;
        user.version += 1;
        set_status(&mut user, UserStatusType::Confirmed);
        self.set_password(c, &mut user, password).await?;
        if let Some(challenge) = self.mfa_challenge(c, &user, "").await? {
            return Ok(Outcome::Challenge(challenge));
        }
        Ok(Outcome::signed_in(user, None, "TokenGeneration_NewPasswordChallenge"))
    }

    /// GetUser: the signed-in user's attributes.
    pub async fn get_user(&self, req: GetUserRequest) -> Result<GetUserResponse> {
        let access = self.check_api_access(&req.access_token).await?;
        let user = access.user;
        let attrs = crate::model::attributes::visible(&user.attrs);
        let (list, preferred, options) =
            if access.has_mfa { self.mfa_view(&user).await? } else { crate::model::mfa::no_mfa_view() };
        Ok(GetUserResponse {
            username: user.username.clone(),
            user_attributes: crate::model::attributes::attribute_list(&attrs),
            mfa_options: options,
            preferred_mfa_setting: preferred,
            user_mfa_setting_list: list,
        })
    }
}
