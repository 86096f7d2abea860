//! Multi-factor authentication as a flow: the challenges that follow the
//! first factor, the software-token association, and the users' MFA
//! preferences (the pool's configuration and the factors' view are
//! `model/mfa.rs`).
//!
//! Every factor is checked for real: SMS and email codes are one-time codes
//! stored as MACs (like every code, single use, expiring, attempt-limited);
//! TOTP codes are computed from the user's secret (sealed at rest) and a
//! step, once accepted, cannot be accepted again. Wrong codes count toward
//! the user's sign-in lockout. Between challenges the state travels sealed
//! in the Session, bound to the pool, client and user.

use crate::base::context::ClientCtx;
use crate::base::sealed::{self, Opened, Step, invalid_session};
use crate::flows::signin::outcome::Challenge;
use crate::model::channel::Channel;
use crate::model::messages::{Draft, delivery_details, new_code};
use crate::model::mfa::{EMAIL, PoolMfa, SMS, TOTP, enabled};
use crate::model::users::User;
use crate::{Error, Fault, Idp, Result};
use cognate_crypto::totp;
use cognate_store::MfaRow;
use cognate_store::UserKey;
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const TOTP_CONTEXT: &str = "cognate/totp-secret/v1";
/// SMS and email MFA codes live three minutes, as Cognito's.
const CODE_TTL_MS: i64 = 3 * 60_000;
/// Steps either side of now a TOTP code may be from (clock skew).
const TOTP_WINDOW: i64 = 1;
const PURPOSE: &str = "mfa";

/// What the Session remembers between MFA steps (sealed for the user): the
/// challenge it answers, and for MFA_SETUP whether the new token was
/// verified.
#[derive(Serialize, Deserialize)]
struct MfaState {
    k: String,
    #[serde(default)]
    v: bool,
    /// The device the sign-in proved, if any.
    #[serde(default)]
    d: String,
}

fn blank_mfa(user: &User) -> MfaRow {
    MfaRow { pool_id: user.pool_id.clone(), username_key: user.username_key.clone(), ..Default::default() }
}

impl Idp {
    // ---- after the first factor ----

    /// The MFA challenge that must follow a successful first factor, or
    /// None when the user may have tokens now.
    /// `device_key`: the device the sign-in proved (empty: none), carried to
    /// the tokens.
    pub(crate) async fn mfa_challenge(
        &self,
        c: &ClientCtx,
        user: &User,
        device_key: &str,
    ) -> Result<Option<Challenge>> {
        // Most pools have MFA off: no query for them.
        if matches!(c.pool.mfa_configuration, None | Some(UserPoolMfaType::Off)) {
            return Ok(None);
        }
        let pool = self.pool_mfa(&c.pool_row.id, &c.pool).await?;
        let m = self.store.get_user_mfa(user.key()).await?;
        let factors: Vec<ChallengeNameType> = enabled(m.as_ref()).into_iter().filter(|f| pool.allows(*f)).collect();
        let attrs = &user.attrs;
        let factor = match factors.as_slice() {
            [] if pool.on() => {
                // Required and none chosen: SMS to a phone number the user
                // has (Cognito's long-standing default), else set up TOTP.
                if pool.sms() && attrs.contains_key("phone_number") {
                    SMS
                } else if pool.totp() {
                    let p = BTreeMap::from([("MFAS_CAN_SETUP".to_string(), r#"["SOFTWARE_TOKEN_MFA"]"#.to_string())]);
                    return Ok(Some(self.challenge_for(c, user, ChallengeNameType::MfaSetup, p, false, device_key)?));
                } else if pool.email() && attrs.contains_key("email") {
                    EMAIL
                } else {
                    return Err(Error::NotAuthorized(
                        "MFA is required, and the user has no factor this pool can use.".into(),
                    ));
                }
            }
            [] => return Ok(None),
            [one] => *one,
            several => {
                match m.as_ref().and_then(|m| ChallengeNameType::parse(&m.preferred)).filter(|p| several.contains(p)) {
                    Some(p) => p,
                    None => {
                        let choose = serde_json::to_string(several)?;
                        let p = BTreeMap::from([("MFAS_CAN_CHOOSE".to_string(), choose)]);
                        return Ok(Some(self.challenge_for(
                            c,
                            user,
                            ChallengeNameType::SelectMfaType,
                            p,
                            false,
                            device_key,
                        )?));
                    }
                }
            }
        };
        Ok(Some(self.factor_challenge(c, user, &pool, factor, device_key).await?))
    }

    /// Issues the challenge for one factor (sending the code for SMS/email).
    async fn factor_challenge(
        &self,
        c: &ClientCtx,
        user: &User,
        pool: &PoolMfa,
        factor: ChallengeNameType,
        device_key: &str,
    ) -> Result<Challenge> {
        let attrs = &user.attrs;
        let mut p = BTreeMap::new();
        let name = match factor {
            TOTP => ChallengeNameType::SoftwareTokenMfa,
            SMS | EMAIL => {
                let (channel, attr) =
                    if factor == SMS { (Channel::Sms, "phone_number") } else { (Channel::Email, "email") };
                let destination = attrs.get(attr).ok_or_else(|| {
                    Error::InvalidParameter(format!(
                        "User does not have delivery config set to turn on {}",
                        factor.as_str()
                    ))
                })?;
                let code = new_code();
                self.store_code(user, PURPOSE, &code, CODE_TTL_MS).await?;
                let (subject, body) = if factor == SMS {
                    let template = pool
                        .config
                        .sms_mfa_configuration
                        .as_ref()
                        .and_then(|s| s.sms_authentication_message.clone())
                        .unwrap_or_else(|| "Your authentication code is {####}. ".into());
                    (String::new(), template)
                } else {
                    let e = pool.config.email_mfa_configuration.clone().unwrap_or_default();
                    (
                        e.subject.unwrap_or_else(|| "Your sign-in code".into()),
                        e.message.unwrap_or_else(|| "Your authentication code is {####}. ".into()),
                    )
                };
                let draft = Draft {
                    channel,
                    destination,
                    code: &code,
                    source: "Authentication",
                    subject: &subject,
                    body: &body,
                    link: None,
                };
                self.send_message(c, user, draft).await?;
                let d = delivery_details(channel, destination);
                p.insert(
                    "CODE_DELIVERY_DELIVERY_MEDIUM".to_string(),
                    d.delivery_medium.map(|m| m.as_str().to_string()).unwrap_or_default(),
                );
                p.insert("CODE_DELIVERY_DESTINATION".to_string(), d.destination.unwrap_or_default());
                if factor == SMS { ChallengeNameType::SmsMfa } else { ChallengeNameType::EmailOtp }
            }
            other => return Err(Error::InvalidParameter(format!("{} is not an MFA type.", other.as_str()))),
        };
        self.challenge_for(c, user, name, p, false, device_key)
    }

    /// A challenge answer whose Session also names the device the sign-in
    /// proved (empty: none).
    pub(crate) fn challenge_for(
        &self,
        c: &ClientCtx,
        user: &User,
        name: ChallengeNameType,
        mut params: BTreeMap<String, String>,
        verified: bool,
        device_key: &str,
    ) -> Result<Challenge> {
        let session = self.seal_state(c, user, name.as_str(), verified, device_key)?;
        params.insert("USER_ID_FOR_SRP".to_string(), user.username.clone());
        Ok(Challenge { name, parameters: params, session: Some(session) })
    }

    fn seal_state(&self, c: &ClientCtx, user: &User, k: &str, verified: bool, device_key: &str) -> Result<String> {
        let state = MfaState { k: k.to_string(), v: verified, d: device_key.to_string() };
        sealed::seal(&self.key, Step::Mfa, c, &user.username_key, self.now(), state)
    }

    /// Opens a challenge's Session: (the device it names, the user).
    pub(crate) async fn open_challenge(
        &self,
        c: &ClientCtx,
        session: Option<&str>,
        expected: &str,
    ) -> Result<(String, User)> {
        let (state, user) = self.open_session(c, session, expected).await?;
        Ok((state.d, user))
    }

    /// Opens a Session for `c` that awaits `expected`; returns the user.
    /// The user of an MFA_SETUP session issued to `c`.
    pub(crate) async fn mfa_setup_user(&self, c: &ClientCtx, session: &str) -> Result<User> {
        Ok(self.open_session(c, Some(session), ChallengeNameType::MfaSetup.as_str()).await?.1)
    }

    async fn open_session(&self, c: &ClientCtx, session: Option<&str>, expected: &str) -> Result<(MfaState, User)> {
        let opened: Opened<MfaState> = sealed::open(&self.key, Step::Mfa, c, session, self.now())?;
        if opened.state.k != expected {
            return Err(invalid_session());
        }
        let user = User::read_opt(
            self.store.get_user(UserKey { pool_id: &c.pool_row.id, username_key: &opened.user }).await?,
        )?
        .ok_or_else(invalid_session)?;
        Ok((opened.state, user))
    }

    /// Answers SMS_MFA, EMAIL_OTP, SOFTWARE_TOKEN_MFA, SELECT_MFA_TYPE and
    /// MFA_SETUP. Returns the user when the answer completes sign-in, or
    /// the next challenge.
    pub(crate) async fn answer_mfa(
        &self,
        c: &ClientCtx,
        challenge: ChallengeNameType,
        r: &BTreeMap<String, String>,
        session: Option<&str>,
    ) -> Result<std::result::Result<(User, String), Challenge>> {
        let (state, user) = self.open_session(c, session, challenge.as_str()).await?;
        self.check_lock(&user)?;
        let code = |key: &str| r.get(key).map(String::as_str).ok_or_else(|| missing(key));
        match challenge {
            ChallengeNameType::SmsMfa | ChallengeNameType::EmailOtp => {
                let key = if challenge == ChallengeNameType::SmsMfa { "SMS_MFA_CODE" } else { "EMAIL_OTP_CODE" };
                match self.consume_code(&user, PURPOSE, code(key)?).await {
                    Ok(()) => {}
                    Err(Error::CodeMismatch(_)) => {
                        self.count_failure(&user).await?;
                        return Err(Error::CodeMismatch("Invalid code or auth state for the user.".into()));
                    }
                    Err(e) => return Err(e),
                }
            }
            ChallengeNameType::SoftwareTokenMfa => {
                let m = self.store.get_user_mfa(user.key()).await?;
                let ok = match &m {
                    Some(m) => self.accept_totp(&user, m, code("SOFTWARE_TOKEN_MFA_CODE")?, false).await,
                    None => Ok(false),
                };
                if let Err(used) = ok {
                    // A replayed code counts toward the lockout like a wrong one.
                    self.count_failure(&user).await?;
                    return Err(used);
                }
                if ok == Ok(false) {
                    self.count_failure(&user).await?;
                    return Err(Error::CodeMismatch("Invalid code or auth state for the user.".into()));
                }
            }
            ChallengeNameType::SelectMfaType => {
                let answer = code("ANSWER")?;
                let pool = self.pool_mfa(&c.pool_row.id, &c.pool).await?;
                let m = self.store.get_user_mfa(user.key()).await?;
                let choosable = |f: &ChallengeNameType| enabled(m.as_ref()).contains(f) && pool.allows(*f);
                let Some(factor) = ChallengeNameType::parse(answer).filter(choosable) else {
                    return Err(Error::InvalidParameter(format!("{answer} is not an MFA type this user can choose.")));
                };
                return Ok(Err(self.factor_challenge(c, &user, &pool, factor, &state.d).await?));
            }
            ChallengeNameType::MfaSetup => {
                if !state.v {
                    return Err(Error::InvalidParameter(
                        "The software token must be verified (VerifySoftwareToken) before MFA_SETUP completes.".into(),
                    ));
                }
            }
            _ => return Err(invalid_session()),
        }
        self.clear_failures(&user).await?;
        Ok(Ok((user, state.d)))
    }

    async fn count_failure(&self, user: &User) -> Result<()> {
        self.record_failure(user).await.map(|_| ())
    }

    /// Checks a TOTP code against the user's verified secret, or against the
    /// pending one when `pending`, and accepts its step once: a code whose
    /// step was already accepted is ExpiredCodeException, as Cognito answers.
    async fn accept_totp(&self, user: &User, m: &MfaRow, code: &str, pending: bool) -> Result<bool> {
        let sealed = if pending { m.totp_pending_sealed.as_deref() } else { m.totp_secret_sealed.as_deref() };
        let Some(sealed) = sealed else { return Ok(false) };
        let secret = self.key.open(&totp_context(user), sealed).map_err(|e| {
            Error::internal(Fault::Unseal, format!("the TOTP secret of a user of {}: {e}", user.pool_id))
        })?;
        let Some(step) = totp::matching_step(&secret, code, self.now() / 1000, TOTP_WINDOW) else {
            return Ok(false);
        };
        if !self.store.accept_totp_step(user.key(), step).await? {
            return Err(Error::ExpiredCode("Your software token has already been used once.".into()));
        }
        Ok(true)
    }

    // ---- software tokens ----

    pub async fn associate_software_token(
        &self,
        req: AssociateSoftwareTokenRequest,
    ) -> Result<AssociateSoftwareTokenResponse> {
        let (c, user, state) = self.token_or_session(req.access_token.as_deref(), req.session.as_deref()).await?;
        if !self.pool_mfa(&c.pool_row.id, &c.pool).await?.totp() {
            return Err(Error::SoftwareTokenMfaNotFound(
                "Software Token MFA has not been enabled by the userPool.".into(),
            ));
        }
        let secret = totp::new_secret();
        let mut m = self.store.get_user_mfa(user.key()).await?.unwrap_or_else(|| blank_mfa(&user));
        // The new secret waits until it is verified; a verified one in use
        // keeps working until then.
        m.totp_pending_sealed = Some(self.key.seal(&totp_context(&user), &secret));
        m.updated_at = self.now();
        self.store.put_user_mfa(&m).await?;
        let session = match state {
            Some(s) => Some(self.reseal(&c, &user, &s.k, false)?),
            None => None,
        };
        Ok(AssociateSoftwareTokenResponse { secret_code: Some(totp::base32_encode(&secret)), session })
    }

    pub async fn verify_software_token(&self, req: VerifySoftwareTokenRequest) -> Result<VerifySoftwareTokenResponse> {
        let (c, user, state) = self.token_or_session(req.access_token.as_deref(), req.session.as_deref()).await?;
        let mismatch = || Error::EnableSoftwareTokenMfa("Code mismatch and fail enable Software Token MFA".into());
        let m = self.store.get_user_mfa(user.key()).await?.ok_or_else(mismatch)?;
        if !self.accept_totp(&user, &m, &req.user_code, true).await? {
            return Err(mismatch());
        }
        // Read again: the accepted step was written meanwhile.
        let mut m = self.store.get_user_mfa(user.key()).await?.ok_or_else(mismatch)?;
        m.totp_secret_sealed = m.totp_pending_sealed.take();
        m.totp_enabled = 1;
        if state.is_some() || enabled(Some(&m)) == [TOTP] {
            m.preferred = TOTP.as_str().to_string();
        }
        m.updated_at = self.now();
        self.store.put_user_mfa(&m).await?;
        let session = match state {
            Some(s) => Some(self.reseal(&c, &user, &s.k, true)?),
            None => None,
        };
        Ok(VerifySoftwareTokenResponse { status: Some(VerifySoftwareTokenResponseType::Success), session })
    }

    /// The user of an access token, or of an MFA_SETUP Session.
    async fn token_or_session(
        &self,
        access_token: Option<&str>,
        session: Option<&str>,
    ) -> Result<(ClientCtx, User, Option<MfaState>)> {
        match (access_token, session) {
            (Some(t), _) => {
                let (client_id, user) = self.check_access_token(t).await?;
                let c = self.resolve_client(&client_id).await?.issued();
                Ok((c, user, None))
            }
            (None, Some(s)) => {
                let client_id = sealed::client_of(&self.key, Step::Mfa, s)?;
                // Opened and checked for this client just below.
                let c = self.resolve_client(&client_id).await?.issued();
                let (state, user) = self.open_session(&c, Some(s), ChallengeNameType::MfaSetup.as_str()).await?;
                Ok((c, user, Some(state)))
            }
            (None, None) => Err(Error::InvalidParameter("An AccessToken or a Session is required.".into())),
        }
    }

    fn reseal(&self, c: &ClientCtx, user: &User, k: &str, verified: bool) -> Result<String> {
        self.seal_state(c, user, k, verified, "")
    }

    // ---- preferences ----

    pub async fn set_user_mfa_preference(
        &self,
        req: SetUserMFAPreferenceRequest,
    ) -> Result<SetUserMFAPreferenceResponse> {
        let (_, user) = self.check_access_token(&req.access_token).await?;
        self.apply_preferences(&user, req.sms_mfa_settings, req.software_token_mfa_settings, req.email_mfa_settings)
            .await?;
        Ok(SetUserMFAPreferenceResponse {})
    }

    pub async fn admin_set_user_mfa_preference(
        &self,
        req: AdminSetUserMFAPreferenceRequest,
    ) -> Result<AdminSetUserMFAPreferenceResponse> {
        let (row, pool) = self.load_pool(&req.user_pool_id).await?;
        let user = self
            .find_user(&row, &pool, &req.username)
            .await?
            .ok_or_else(|| Error::UserNotFound("User does not exist.".into()))?;
        self.apply_preferences(&user, req.sms_mfa_settings, req.software_token_mfa_settings, req.email_mfa_settings)
            .await?;
        Ok(AdminSetUserMFAPreferenceResponse {})
    }

    async fn apply_preferences(
        &self,
        user: &User,
        sms: Option<SMSMfaSettingsType>,
        totp_settings: Option<SoftwareTokenMfaSettingsType>,
        email: Option<EmailMfaSettingsType>,
    ) -> Result<()> {
        let attrs = &user.attrs;
        let mut m = self.store.get_user_mfa(user.key()).await?.unwrap_or_else(|| blank_mfa(user));
        let settings = [
            (SMS, sms.as_ref().map(|s| (s.enabled, s.preferred_mfa))),
            (TOTP, totp_settings.as_ref().map(|s| (s.enabled, s.preferred_mfa))),
            (EMAIL, email.as_ref().map(|s| (s.enabled, s.preferred_mfa))),
        ];
        if settings.iter().filter(|(_, s)| s.is_some_and(|(_, p)| p == Some(true))).count() > 1 {
            return Err(Error::InvalidParameter("Only one MFA type can be preferred.".into()));
        }
        for (factor, setting) in settings {
            let Some((on, preferred)) = setting else { continue };
            let on = on.unwrap_or(false) || preferred == Some(true);
            if on {
                let ready = match factor {
                    SMS => attrs.contains_key("phone_number"),
                    EMAIL => attrs.contains_key("email"),
                    _ => m.totp_secret_sealed.is_some(),
                };
                if !ready {
                    return Err(Error::InvalidParameter(if factor == TOTP && m.totp_pending_sealed.is_some() {
                        "User has not verified software token mfa".to_string()
                    } else {
                        format!("User does not have delivery config set to turn on {}", factor.as_str())
                    }));
                }
            }
            let flag = i64::from(on);
            match factor {
                SMS => m.sms_enabled = flag,
                TOTP => m.totp_enabled = flag,
                _ => m.email_enabled = flag,
            }
            if preferred == Some(true) {
                m.preferred = factor.as_str().to_string();
            } else if (preferred == Some(false) || !on) && m.preferred == factor.as_str() {
                m.preferred.clear();
            }
        }
        m.updated_at = self.now();
        self.store.put_user_mfa(&m).await?;
        Ok(())
    }

    /// SetUserSettings / AdminSetUserSettings: the older way to turn SMS MFA
    /// on (an SMS option for phone_number) or off (no options).
    pub(crate) async fn apply_mfa_options(&self, user: &User, options: &[MFAOptionType]) -> Result<()> {
        let sms = options.iter().any(|o| o.delivery_medium == Some(DeliveryMediumType::Sms));
        if options.iter().any(|o| o.delivery_medium == Some(DeliveryMediumType::Email)) {
            return Err(Error::InvalidParameter("Only SMS is supported as an MFA option.".into()));
        }
        let settings = SMSMfaSettingsType { enabled: Some(sms), preferred_mfa: None };
        self.apply_preferences(user, Some(settings), None, None).await
    }

    pub async fn set_user_settings(&self, req: SetUserSettingsRequest) -> Result<SetUserSettingsResponse> {
        let (_, user) = self.check_access_token(&req.access_token).await?;
        self.apply_mfa_options(&user, &req.mfa_options).await?;
        Ok(SetUserSettingsResponse {})
    }

    pub async fn admin_set_user_settings(
        &self,
        req: AdminSetUserSettingsRequest,
    ) -> Result<AdminSetUserSettingsResponse> {
        let (row, pool) = self.load_pool(&req.user_pool_id).await?;
        let user = self
            .find_user(&row, &pool, &req.username)
            .await?
            .ok_or_else(|| Error::UserNotFound("User does not exist.".into()))?;
        self.apply_mfa_options(&user, &req.mfa_options).await?;
        Ok(AdminSetUserSettingsResponse {})
    }
}

fn missing(key: &str) -> Error {
    Error::InvalidParameter(format!("Missing required parameter {key}"))
}

/// Associated data of a user's sealed TOTP secret: it opens for that user only.
fn totp_context(user: &User) -> String {
    format!("{TOTP_CONTEXT}/{}/{}", user.pool_id, user.sub)
}
