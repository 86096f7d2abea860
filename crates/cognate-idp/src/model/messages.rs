//! Messages to users (codes, invitations): templates, CustomMessage,
//! masking of destinations, and delivery (outbox, SMTP, SMS sender, custom
//! senders).
//!
//! Delivery goes to the outbox, a table readable by admins (`cognate outbox`
//! and an admin-only endpoint), which is what development and tests need.
//! The message text holds the code: the outbox is as sensitive as a mailbox
//! and is only ever shown to admins. With an SMTP relay configured, email goes
//! there instead (and not to the outbox); SMS still goes to the outbox.

use crate::base::context::ClientCtx;
use crate::model::channel::Channel;
use crate::model::triggers::Trigger;
use crate::model::users::User;
use crate::{Idp, Result};
use cognate_store::OutboxRow;
use cognate_wire::idp::{CodeDeliveryDetailsType, DeliveryMediumType};

/// A message ready to deliver.
#[derive(Debug, Clone)]
pub struct Message {
    pub channel: Channel,
    pub destination: String,
    pub subject: String,
    pub body: String,
}

/// Fills Cognito's placeholders: `{####}` the code, `{username}` the username.
pub fn render(template: &str, code: &str, username: &str) -> String {
    template.replace("{####}", code).replace("{username}", username)
}

/// `{##Verify Email##}` (any text between the marks) becomes a link to
/// `url` with that text.
pub fn render_link(template: &str, url: &str) -> String {
    let Some(start) = template.find("{##") else { return template.to_string() };
    let Some(len) = template[start + 3..].find("##}") else { return template.to_string() };
    let text = &template[start + 3..start + 3 + len];
    let url = url.replace('&', "&amp;").replace('"', "&quot;");
    format!("{}<a href=\"{url}\">{text}</a>{}", &template[..start], &template[start + 3 + len + 3..])
}

/// `jane@example.com` -> `j***@e***`, `+15551234567` -> `+*******4567`, as
/// Cognito shows destinations.
pub fn mask(channel: Channel, destination: &str) -> String {
    match channel {
        Channel::Email => {
            let (local, domain) = destination.split_once('@').unwrap_or((destination, ""));
            let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
            format!("{}***@{}***", first(local), first(domain))
        }
        Channel::Sms => {
            let digits: Vec<char> = destination.chars().collect();
            let keep = digits.len().saturating_sub(4);
            let tail: String = digits.iter().skip(keep).collect();
            format!("+{}{tail}", "*".repeat(keep.saturating_sub(1)))
        }
    }
}

pub fn delivery_details(channel: Channel, destination: &str) -> CodeDeliveryDetailsType {
    CodeDeliveryDetailsType {
        destination: Some(mask(channel, destination)),
        delivery_medium: Some(match channel {
            Channel::Email => DeliveryMediumType::Email,
            Channel::Sms => DeliveryMediumType::Sms,
        }),
        attribute_name: Some(channel.attribute().to_string()),
    }
}

/// A six-digit one-time code from the OS's CSPRNG.
pub fn new_code() -> String {
    use rand::Rng as _;
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// Sends email (an SMTP relay); without one, email goes to the outbox. A
/// relay that refuses is CodeDeliveryFailureException.
pub trait EmailSender: Send + Sync + std::fmt::Debug {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;
}

/// Sends text messages (an SMS gateway, a webhook); without one, SMS goes
/// to the outbox.
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    fn send<'a>(
        &'a self,
        pool_id: &'a str,
        phone_number: &'a str,
        message: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;
}

/// What a message to a user is for, and its text if no trigger changes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Draft<'a> {
    pub channel: Channel,
    pub destination: &'a str,
    /// What `{####}` stands for: a code, or a temporary password.
    pub code: &'a str,
    /// The trigger source without its prefix: `SignUp`, `AdminCreateUser`,
    /// `Authentication`, ... (`CustomMessage_SignUp`, `CustomEmailSender_SignUp`).
    pub source: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// What `{##…##}` links to (a verify-by-link email), if anything.
    pub link: Option<&'a str>,
}

impl Idp {
    /// Sends a message as Cognito does: a pool with a custom sender for the
    /// channel hands it the code, encrypted, and sends nothing itself;
    /// otherwise the CustomMessage trigger may rewrite the text, and the
    /// message is delivered.
    pub(crate) async fn send_message(&self, c: &ClientCtx, user: &User, d: Draft<'_>) -> Result<()> {
        if self.custom_send(c, user, d.channel, d.source, d.code).await? {
            return Ok(());
        }
        let (mut subject, mut body) = (d.subject.to_string(), d.body.to_string());
        let request = serde_json::json!({
            "userAttributes": crate::model::triggers::attributes_json(&user.attrs),
            "codeParameter": "{####}",
            "linkParameter": "{##Click Here##}",
            "usernameParameter": if d.source == "AdminCreateUser" { Some("{username}") } else { None },
            "clientMetadata": {},
        });
        let source = format!("CustomMessage_{}", d.source);
        if let Some(r) = self.run_trigger(c, Trigger::CustomMessage, &source, &user.username, request).await? {
            let text = |k: &str| r.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
            match d.channel {
                Channel::Email => {
                    subject = text("emailSubject").unwrap_or(subject);
                    body = text("emailMessage").unwrap_or(body);
                }
                Channel::Sms => body = text("smsMessage").unwrap_or(body),
            }
        }
        let message = Message {
            channel: d.channel,
            destination: d.destination.to_string(),
            subject,
            body: match d.link {
                Some(url) => render_link(&render(&body, d.code, &user.username), url),
                None => render(&body, d.code, &user.username),
            },
        };
        self.deliver(&user.pool_id, &user.username, &message).await
    }

    /// Delivers `m` for a user of `pool_id`: email through the SMTP relay
    /// when one is configured, everything else to the outbox.
    pub(crate) async fn deliver(&self, pool_id: &str, username: &str, m: &Message) -> Result<()> {
        if let (Channel::Email, Some(email)) = (m.channel, &self.email) {
            email.send(&m.destination, &m.subject, &m.body).await?;
            tracing::info!(pool_id, channel = m.channel.as_str(), "message delivered by SMTP");
            return Ok(());
        }
        if let (Channel::Sms, Some(sms)) = (m.channel, &self.sms) {
            sms.send(pool_id, &m.destination, &m.body).await?;
            tracing::info!(pool_id, channel = m.channel.as_str(), "message delivered by the SMS sender");
            return Ok(());
        }
        // Ids sort in delivery order, also among messages of one millisecond.
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let now = self.now();
        let row = OutboxRow {
            id: format!("{now:013}-{seq:012}-{}", cognate_crypto::ids::uuid_v4()),
            pool_id: pool_id.to_string(),
            username: username.to_string(),
            channel: m.channel.as_str().to_string(),
            destination: m.destination.clone(),
            subject: m.subject.clone(),
            body: m.body.clone(),
            created_at: now,
        };
        self.store.insert_outbox(&row).await?;
        tracing::info!(pool_id, channel = m.channel.as_str(), "message delivered to the outbox");
        Ok(())
    }

    /// Messages in the outbox, newest first (admin only).
    pub async fn outbox(&self, pool_id: Option<&str>, destination: Option<&str>, limit: i64) -> Result<Vec<OutboxRow>> {
        Ok(self.store.list_outbox(pool_id, destination, limit.clamp(1, 1000)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_cognito() {
        assert_eq!(mask(Channel::Email, "jane@example.com"), "j***@e***");
        assert_eq!(mask(Channel::Sms, "+15551234567"), "+*******4567");
        assert_eq!(render("Hi {username}, code {####}.", "012345", "jane"), "Hi jane, code 012345.");
        let c = new_code();
        assert_eq!(c.len(), 6);
        assert!(c.chars().all(|d| d.is_ascii_digit()));
    }
}
