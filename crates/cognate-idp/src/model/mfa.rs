//! Multi-factor authentication as the model knows it: the pool's MFA
//! configuration (which factors it offers, and whether MFA is off, optional
//! or required) and the factors a user has turned on, as GetUser and
//! AdminGetUser show them.

use crate::model::users::User;
use crate::{Idp, Result};
use cognate_store::MfaRow;
use cognate_wire::idp::*;

/// The second factors, by the challenge that asks for each (whose names are
/// also what UserMFASettingList and PreferredMfaSetting show).
pub(crate) const SMS: ChallengeNameType = ChallengeNameType::SmsMfa;

pub(crate) const TOTP: ChallengeNameType = ChallengeNameType::SoftwareTokenMfa;

pub(crate) const EMAIL: ChallengeNameType = ChallengeNameType::EmailOtp;

/// What a pool allows, resolved from its MFA configuration.
#[derive(Debug, Clone, Default)]
pub(crate) struct PoolMfa {
    pub mode: Option<UserPoolMfaType>,
    pub config: GetUserPoolMfaConfigResponse,
}

impl PoolMfa {
    pub(crate) fn on(&self) -> bool {
        self.mode == Some(UserPoolMfaType::On)
    }
    pub(crate) fn sms(&self) -> bool {
        self.config.sms_mfa_configuration.as_ref().is_some_and(|s| s.sms_configuration.is_some())
    }
    pub(crate) fn totp(&self) -> bool {
        self.config.software_token_mfa_configuration.as_ref().and_then(|t| t.enabled) == Some(true)
    }
    pub(crate) fn email(&self) -> bool {
        self.config.email_mfa_configuration.is_some()
    }
    pub(crate) fn has_totp_or_email(&self) -> bool {
        self.totp() || self.email()
    }
    pub(crate) fn allows(&self, factor: ChallengeNameType) -> bool {
        match factor {
            SMS => self.sms(),
            TOTP => self.totp(),
            EMAIL => self.email(),
            _ => false,
        }
    }
}

pub(crate) fn enabled(m: Option<&MfaRow>) -> Vec<ChallengeNameType> {
    let Some(m) = m else { return vec![] };
    let mut out = Vec::new();
    if m.sms_enabled != 0 {
        out.push(SMS);
    }
    if m.totp_enabled != 0 {
        out.push(TOTP);
    }
    if m.email_enabled != 0 {
        out.push(EMAIL);
    }
    out
}

/// UserMFASettingList and PreferredMfaSetting, as GetUser shows them.
pub(crate) fn user_settings(m: Option<&MfaRow>) -> (Option<Vec<String>>, Option<String>) {
    let list: Vec<String> = enabled(m).into_iter().map(|f| f.as_str().to_string()).collect();
    let preferred = m.map(|m| m.preferred.clone()).filter(|p| !p.is_empty());
    ((!list.is_empty()).then_some(list), preferred)
}

/// GetUser's and AdminGetUser's MFA members: UserMFASettingList,
/// PreferredMfaSetting and MFAOptions.
pub(crate) type MfaView = (Option<Vec<String>>, Option<String>, Option<Vec<MFAOptionType>>);

/// The MFA members of a user with no MFA settings stored.
pub(crate) fn no_mfa_view() -> MfaView {
    mfa_view_of(None)
}

fn mfa_view_of(m: Option<MfaRow>) -> MfaView {
    let (list, preferred) = user_settings(m.as_ref());
    let options = m.filter(|m| m.sms_enabled != 0).map(|_| {
        vec![MFAOptionType {
            delivery_medium: Some(DeliveryMediumType::Sms),
            attribute_name: Some("phone_number".into()),
        }]
    });
    (list, preferred, options)
}

impl Idp {
    /// The pool's MFA configuration. Pools that never called
    /// SetUserPoolMfaConfig have SMS MFA exactly when they have an SMS
    /// configuration (as Cognito's older pools do).
    pub(crate) async fn pool_mfa(&self, pool_id: &str, pool: &UserPoolType) -> Result<PoolMfa> {
        let config = match self.store.get_pool_mfa(pool_id).await? {
            Some(json) => serde_json::from_str(&json)?,
            None => GetUserPoolMfaConfigResponse {
                sms_mfa_configuration: pool.sms_configuration.clone().map(|sms| SmsMfaConfigType {
                    sms_authentication_message: pool.sms_authentication_message.clone(),
                    sms_configuration: Some(sms),
                }),
                ..Default::default()
            },
        };
        Ok(PoolMfa { mode: pool.mfa_configuration, config })
    }

    /// (UserMFASettingList, PreferredMfaSetting, MFAOptions) of a user.
    pub(crate) async fn mfa_view(&self, user: &User) -> Result<MfaView> {
        let m = self.store.get_user_mfa(user.key()).await?;
        Ok(mfa_view_of(m))
    }
}
