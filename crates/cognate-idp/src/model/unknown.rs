//! Names no user holds, when the client prevents user existence errors.
//!
//! Such a client must not let anyone learn who has an account, so every
//! answer for an unknown name is one a real user could have produced:
//!
//! * sign-in failures are counted and lock the name out exactly as a real
//!   user's failures do ("Password attempts exceeded" after the same run);
//! * a code "sent" to an unknown name (ForgotPassword, ResendConfirmationCode)
//!   is delivered nowhere, but its destination is a plausible masked address
//!   derived from the name under the master key (the same name always shows
//!   the same one, in the medium a real user would get), and tries against it
//!   are counted and expire like a real code's.
//!
//! The counters live in the store's `unknown_name_attempts`, keyed by the
//! name as the pool folds usernames; idle ones are dropped after a day.

use crate::model::messages::{self, Channel};
use crate::model::users::{ClientCtx, username_key};
use crate::{Error, Idp, Result};
use cognate_wire::idp::CodeDeliveryDetailsType;

/// The counter of sign-in failures.
const SIGN_IN: &str = "signin";

impl Idp {
    /// Refuses while an unknown name is locked out, as `check_lock` does
    /// for a user.
    pub(crate) async fn check_unknown_lock(&self, c: &ClientCtx, name: &str) -> Result<()> {
        let key = username_key(&c.pool, name);
        if let Some(row) = self.store.unknown_name(&c.pool_row.id, &key, SIGN_IN).await?
            && row.until_at > self.now()
        {
            return Err(crate::flows::signin::locked_out());
        }
        Ok(())
    }

    /// Counts a failed sign-in under an unknown name, locking it after the
    /// same run of failures as a user.
    pub(crate) async fn record_unknown_failure(&self, c: &ClientCtx, name: &str) -> Result<()> {
        let key = username_key(&c.pool, name);
        let now = self.now();
        let n = self.store.record_unknown_failure(&c.pool_row.id, &key, SIGN_IN, now).await?;
        if let Some(until) = crate::flows::signin::lock_after(n, now) {
            self.store.set_unknown_until(&c.pool_row.id, &key, SIGN_IN, until, false, now).await?;
        }
        Ok(())
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
        self.store.set_unknown_until(&c.pool_row.id, &key, purpose, now + ttl_ms, true, now).await?;
        Ok(messages::delivery_details(channel, &self.unknown_destination(c, name, channel)))
    }

    /// The answer to a code given for an unknown name: never right, and
    /// limited and expiring as `consume_code` is for a user.
    pub(crate) async fn unknown_code(&self, c: &ClientCtx, name: &str, purpose: &str) -> Error {
        let key = username_key(&c.pool, name);
        let row = match self.store.unknown_name(&c.pool_row.id, &key, purpose).await {
            Ok(row) => row,
            Err(e) => return e.into(),
        };
        let Some(row) = row else { return crate::model::users::code_mismatch() };
        if let Err(e) = crate::model::users::code_usable(row.failures, row.until_at, self.now()) {
            return e;
        }
        match self.store.record_unknown_failure(&c.pool_row.id, &key, purpose, self.now()).await {
            Ok(_) => crate::model::users::code_mismatch(),
            Err(e) => e.into(),
        }
    }

    /// A destination for an unknown name: the name itself when it is an
    /// address of the channel's kind, else one made from a MAC of the name,
    /// whose email starts with the name's first letter as people's often do.
    fn unknown_destination(&self, c: &ClientCtx, name: &str, channel: Channel) -> String {
        let mac = self.key.mac("unknown-destination", format!("{}:{}", c.pool_row.id, name).as_bytes());
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
}

#[cfg(test)]
mod tests {
    use crate::tests::idp;
    use crate::{Error, Idp};
    use cognate_wire::idp::*;

    /// A pool whose client hides user existence and allows password
    /// sign-in, with one user `jane` whose email is verified.
    async fn pool_with_jane(idp: &Idp) -> (String, String) {
        let pool = idp
            .create_user_pool("us-east-1", CreateUserPoolRequest { pool_name: "p".into(), ..Default::default() })
            .await
            .unwrap()
            .user_pool
            .unwrap()
            .id
            .unwrap();
        let client = idp
            .create_user_pool_client(CreateUserPoolClientRequest {
                user_pool_id: pool.clone(),
                client_name: "app".into(),
                explicit_auth_flows: Some(vec![
                    ExplicitAuthFlowsType::AllowUserPasswordAuth,
                    ExplicitAuthFlowsType::AllowUserSrpAuth,
                ]),
                prevent_user_existence_errors: Some(PreventUserExistenceErrorTypes::Enabled),
                ..Default::default()
            })
            .await
            .unwrap()
            .user_pool_client
            .unwrap()
            .client_id
            .unwrap();
        let attr = |n: &str, v: &str| AttributeType { name: n.into(), value: Some(v.into()) };
        idp.admin_create_user(AdminCreateUserRequest {
            user_pool_id: pool.clone(),
            username: "jane".into(),
            user_attributes: Some(vec![attr("email", "jane@example.com"), attr("email_verified", "true")]),
            message_action: Some(MessageActionType::Suppress),
            ..Default::default()
        })
        .await
        .unwrap();
        idp.admin_set_user_password(AdminSetUserPasswordRequest {
            user_pool_id: pool.clone(),
            username: "jane".into(),
            password: "Correct-horse-1".into(),
            permanent: Some(true),
        })
        .await
        .unwrap();
        (pool, client)
    }

    fn outcome<T>(r: Result<T, Error>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => format!("{}: {}", e.code(), e.message()),
        }
    }

    #[tokio::test]
    async fn lockout_answers_alike_for_users_and_unknown_names() {
        let (idp, clock) = idp().await;
        let (_, client) = pool_with_jane(&idp).await;
        let sign_in = |name: &str| InitiateAuthRequest {
            auth_flow: AuthFlowType::UserPasswordAuth,
            client_id: client.clone(),
            auth_parameters: Some(
                [("USERNAME".to_string(), name.to_string()), ("PASSWORD".to_string(), "Wrong-pass-1".to_string())]
                    .into(),
            ),
            analytics_metadata: None,
            client_metadata: None,
            session: None,
            user_context_data: None,
        };
        let mut seen = Vec::new();
        for _ in 0..7 {
            let real = outcome(idp.initiate_auth(sign_in("jane")).await);
            let unknown = outcome(idp.initiate_auth(sign_in("jake")).await);
            assert_eq!(real, unknown);
            seen.push(real);
        }
        assert!(seen.contains(&"NotAuthorizedException: Password attempts exceeded".to_string()), "{seen:?}");
        // The lock lifts for both alike.
        clock.advance(3_600_000);
        assert_eq!(
            outcome(idp.initiate_auth(sign_in("jane")).await),
            outcome(idp.initiate_auth(sign_in("jake")).await)
        );
    }

    #[tokio::test]
    async fn codes_for_unknown_names_look_and_fail_like_real_ones() {
        let (idp, clock) = idp().await;
        let (_, client) = pool_with_jane(&idp).await;
        let forgot = |name: &str| ForgotPasswordRequest {
            client_id: client.clone(),
            username: name.into(),
            ..Default::default()
        };
        let real = idp.forgot_password(forgot("jane")).await.unwrap().code_delivery_details.unwrap();
        let unknown = idp.forgot_password(forgot("jake")).await.unwrap().code_delivery_details.unwrap();
        assert_eq!(real.destination.as_deref(), Some("j***@e***"));
        let shown = unknown.destination.clone().unwrap();
        assert!(shown.starts_with("j***@") && shown.ends_with("***") && shown.len() == 9, "{shown}");
        assert_eq!((unknown.delivery_medium, unknown.attribute_name), (real.delivery_medium, real.attribute_name));
        // The same name always shows the same destination.
        let again = idp.forgot_password(forgot("jake")).await.unwrap().code_delivery_details.unwrap();
        assert_eq!(again.destination, unknown.destination);

        let confirm = |name: &str| ConfirmForgotPasswordRequest {
            client_id: client.clone(),
            username: name.into(),
            confirmation_code: "000000".into(),
            password: "Another-pass-1".into(),
            ..Default::default()
        };
        // A weak password is refused before the name is looked at.
        let mut weak = confirm("jake");
        weak.password = "weak".into();
        assert_eq!(
            outcome(idp.confirm_forgot_password(weak).await).split(':').next(),
            Some("InvalidPasswordException")
        );
        // Wrong codes count toward the same limit, then the same refusal.
        for _ in 0..6 {
            let mut real = outcome(idp.confirm_forgot_password(confirm("jane")).await);
            let unknown = outcome(idp.confirm_forgot_password(confirm("jake")).await);
            if real.starts_with("CodeMismatchException") && unknown.starts_with("CodeMismatchException") {
                real = unknown.clone();
            }
            assert_eq!(real, unknown);
        }
        assert!(outcome(idp.confirm_forgot_password(confirm("jake")).await).starts_with("LimitExceededException"));
        // A new code, then its expiry, answer alike too.
        idp.forgot_password(forgot("jane")).await.unwrap();
        idp.forgot_password(forgot("jake")).await.unwrap();
        clock.advance(3_600_000 + 1);
        assert_eq!(
            outcome(idp.confirm_forgot_password(confirm("jane")).await),
            outcome(idp.confirm_forgot_password(confirm("jake")).await)
        );
    }
}
