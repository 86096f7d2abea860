//! Cognate's calls out, behind the interfaces the domain owns.
//!
//! The user-pool domain (`cognate-idp`) decides *that* a trigger runs, an
//! email or a text message goes out; it says so through its own traits
//! (`triggers::Invoker`, `messages::EmailSender`, `messages::SmsSender`).
//! This crate implements them against the world: Lambda functions (the
//! Runtime API served per function, the Invoke API, HMAC-signed webhooks),
//! SMTP relays (plain, STARTTLS or implicit TLS, with AUTH), and an SMS
//! webhook. It knows the wire formats of those services and nothing of
//! Cognito's rules; the HTTP edge (`cognate-server`) knows none of it.
//!
//! What the adapters share: TLS as a client (rustls on ring, Mozilla's roots
//! plus an operator's own CA). Trigger invocations are recorded in the
//! domain's audit log (`cognate_idp::audit::Auditor`).

pub mod lambda;
pub mod smtp;
mod tls;

pub use tls::client_config as tls_client_config;
