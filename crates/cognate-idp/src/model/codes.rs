//! One-time codes: sign-up confirmation, password reset, attribute
//! verification, MFA by SMS or email. Only an HMAC of each code is stored;
//! a code is single use (taking it is one DELETE), expires, and is burnt
//! after five wrong tries.
//!
//! When the client prevents user existence errors, a name no user holds
//! answers as a real user would: a code "sent" to it (ForgotPassword,
//! ResendConfirmationCode) goes nowhere but shows a plausible masked
//! destination derived from the name under the master key (the same name,
//! the same destination, in the medium a real user of the pool would get),
//! and tries against it are counted and expire like a real code's.

use crate::base::context::ClientCtx;
use crate::model::channel::Channel;
use crate::model::messages::{self, Draft, delivery_details, new_code};
use crate::model::users::{User, username_key};
use crate::{Error, Idp, Result};
use cognate_store::{CodeRow, UserKey};
use cognate_wire::idp::CodeDeliveryDetailsType;

/// Wrong tries of one code before it is burnt.
pub const CODE_MAX_ATTEMPTS: i64 = 5;

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

fn no_link_domain() -> Error {
    Error::InvalidParameter(
        "The pool confirms sign-ups by link (CONFIRM_WITH_LINK) but has no domain for the link; create one with CreateUserPoolDomain."
            .into(),
    )
}

/// The purpose of a sign-up confirmation code.
pub const CODE_SIGNUP: &str = "signup";

impl Idp {
    /// Refuses when the pool confirms sign-ups by link but has no domain to
    /// link to.
    pub(crate) async fn confirmation_link_possible(&self, c: &ClientCtx) -> Result<()> {
        let by_link = c.pool.verification_message_template.as_ref().and_then(|t| t.default_email_option)
            == Some(cognate_wire::idp::DefaultEmailOptionType::ConfirmWithLink);
        if by_link && self.pool_domains(&c.pool_row.id).await?.is_empty() {
            return Err(no_link_domain());
        }
        Ok(())
    }

    /// The link a verify-by-link email carries: the pool domain's
    /// /confirmUser with the client, the username and the code.
    async fn confirmation_link(&self, c: &ClientCtx, user: &User, code: &str) -> Result<String> {
        let domains = self.pool_domains(&c.pool_row.id).await?;
        let Some(d) = domains.iter().find(|d| d.custom).or(domains.first()) else {
            return Err(no_link_domain());
        };
        let query = cognate_wire::form::encode_pairs([
            ("client_id", c.row.id.as_str()),
            ("user_name", user.username.as_str()),
            ("confirmation_code", code),
        ]);
        Ok(format!("{}/confirmUser?{query}", self.domain_url(d)))
    }

    fn code_mac(&self, user: UserKey<'_>, purpose: &str, code: &str) -> String {
        let UserKey { pool_id, username_key } = user;
        self.key.mac(&format!("code:{pool_id}:{username_key}:{purpose}"), code.as_bytes())
    }

    pub(crate) async fn store_code(&self, user: &User, purpose: &str, code: &str, ttl_ms: i64) -> Result<()> {
        let now = self.now();
        let row = CodeRow {
            pool_id: user.pool_id.clone(),
            username_key: user.username_key.clone(),
            purpose: purpose.into(),
            code_mac: self.code_mac(user.key(), purpose, code),
            expires_at: now + ttl_ms,
            attempts: 0,
            created_at: now,
        };
        Ok(self.store.put_code(&row).await?)
    }

    /// Checks and consumes a one-time code with Cognito's errors: wrong
    /// (counted; burnt after [`CODE_MAX_ATTEMPTS`]), expired, or used.
    pub(crate) async fn consume_code(&self, user: &User, purpose: &str, code: &str) -> Result<()> {
        let Some(row) = self.store.get_code(user.key(), purpose).await? else {
            return Err(code_mismatch());
        };
        code_usable(row.attempts, row.expires_at, self.now())?;
        let mac = self.code_mac(user.key(), purpose, code.trim());
        if !cognate_crypto::ct_eq(mac.as_bytes(), row.code_mac.as_bytes()) {
            self.store.bump_code_attempts(user.key(), purpose).await?;
            return Err(code_mismatch());
        }
        // Single use: of two racing callers with the right code, one wins.
        if !self.store.take_code(user.key(), purpose, &mac).await? {
            return Err(code_mismatch());
        }
        Ok(())
    }

    /// The user a code of `purpose` is confirmed for; an unknown one is,
    /// when the client hides user existence, answered as a wrong code of a
    /// real user would be (see [`Idp::unknown_code`]).
    pub(crate) async fn user_for_code(&self, c: &ClientCtx, username: &str, purpose: &str) -> Result<User> {
        match self.find_user(&c.pool_row, &c.pool, username).await? {
            Some(user) => Ok(user),
            None if c.prevents_existence_errors() => Err(self.unknown_code(c, username, purpose).await),
            None => Err(Error::UserNotFound("Username/client id combination not found.".into())),
        }
    }

    /// "Sends" a code to an unknown name: nothing is delivered; the answer
    /// shows a destination derived from the name, and the name's tries are
    /// counted from now on as a real code's would be.
    pub(crate) async fn pretend_code(
        &self,
        c: &ClientCtx,
        name: &str,
        channel: Channel,
        purpose: &str,
        ttl_ms: i64,
    ) -> Result<CodeDeliveryDetailsType> {
        let key = username_key(&c.pool, name);
        let now = self.now();
        self.store
            .set_unknown_until(
                UserKey { pool_id: &c.pool_row.id, username_key: &key },
                purpose,
                now + ttl_ms,
                true,
                now,
            )
            .await?;
        Ok(messages::delivery_details(channel, &self.unknown_destination(c, name, channel)))
    }

    /// The answer to a code given for an unknown name: never right, and
    /// limited and expiring as `consume_code` is for a user.
    pub(crate) async fn unknown_code(&self, c: &ClientCtx, name: &str, purpose: &str) -> Error {
        let key = username_key(&c.pool, name);
        let row = match self.store.unknown_name(UserKey { pool_id: &c.pool_row.id, username_key: &key }, purpose).await
        {
            Ok(row) => row,
            Err(e) => return e.into(),
        };
        let Some(row) = row else { return code_mismatch() };
        if let Err(e) = code_usable(row.failures, row.until_at, self.now()) {
            return e;
        }
        match self
            .store
            .record_unknown_failure(UserKey { pool_id: &c.pool_row.id, username_key: &key }, purpose, self.now())
            .await
        {
            Ok(_) => code_mismatch(),
            Err(e) => e.into(),
        }
    }

    /// A destination for an unknown name: the name itself when it is an
    /// address of the channel's kind, else one made from a MAC of the name
    /// as the pool folds it (so `Jake` and `jake` in a case-insensitive pool
    /// show the same), whose email starts with the name's first letter as
    /// people's often do.
    fn unknown_destination(&self, c: &ClientCtx, name: &str, channel: Channel) -> String {
        let key = username_key(&c.pool, name);
        let mac = self.key.mac("unknown-destination", format!("{}:{key}", c.pool_row.id).as_bytes());
        let digits: Vec<u32> = mac.chars().filter_map(|ch| ch.to_digit(16)).collect();
        let letter = |i: usize| char::from(b'a' + (digits[i] * 16 + digits[i + 1]) as u8 % 26);
        match channel {
            Channel::Email if name.contains('@') => name.to_string(),
            Channel::Email => {
                let first = name.chars().next().filter(char::is_ascii_alphanumeric).map(|ch| ch.to_ascii_lowercase());
                format!("{}@{}.com", first.unwrap_or_else(|| letter(0)), letter(2))
            }
            Channel::Sms if name.starts_with('+') && name.len() > 8 => name.to_string(),
            Channel::Sms => {
                let tail: String = digits[4..14].iter().map(|d| char::from_digit(d % 10, 10).unwrap_or('0')).collect();
                format!("+1{tail}")
            }
        }
    }

    /// Sends a one-time code for `purpose` to `destination`: stores its MAC,
    /// sends the pool's message (see [`Idp::send_message`]), and says where
    /// it went as Cognito shows it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_code(
        &self,
        c: &ClientCtx,
        user: &User,
        channel: Channel,
        destination: &str,
        purpose: &str,
        ttl_ms: i64,
        source: &str,
    ) -> Result<CodeDeliveryDetailsType> {
        let code = new_code();
        let t = c.pool.verification_message_template.clone().unwrap_or_default();
        // A pool that confirms sign-ups by link sends one to the pool
        // domain's /confirmUser, with the code in it.
        let by_link = purpose == CODE_SIGNUP
            && channel == Channel::Email
            && t.default_email_option == Some(cognate_wire::idp::DefaultEmailOptionType::ConfirmWithLink);
        let link = if by_link { Some(self.confirmation_link(c, user, &code).await?) } else { None };
        self.store_code(user, purpose, &code, ttl_ms).await?;
        let default_body = "Your verification code is {####}. ";
        let (subject, body) = match (channel, &link) {
            (Channel::Email, Some(_)) => (
                t.email_subject_by_link.unwrap_or_else(|| "Your verification link".into()),
                t.email_message_by_link.unwrap_or_else(|| {
                    "Please click the link below to verify your email address. {##Verify Email##} ".into()
                }),
            ),
            (Channel::Email, None) => (
                t.email_subject.unwrap_or_else(|| "Your verification code".into()),
                t.email_message.unwrap_or_else(|| default_body.into()),
            ),
            (Channel::Sms, _) => (String::new(), t.sms_message.unwrap_or_else(|| default_body.into())),
        };

        let draft =
            Draft { channel, destination, code: &code, source, subject: &subject, body: &body, link: link.as_deref() };
        self.send_message(c, user, draft).await?;
        Ok(delivery_details(channel, destination))
    }
}
