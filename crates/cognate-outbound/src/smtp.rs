//! Email delivery over SMTP (RFC 5321): the domain's `EmailSender` for a
//! relay.
//!
//! One connection per message: greeting, EHLO, then, as the URL says, TLS
//! from the first byte (`smtps://`, port 465, RFC 8314) or STARTTLS (RFC
//! 3207, `smtp+starttls://`, port 587) before anything else is said, then
//! AUTH PLAIN or LOGIN when a user is given, then MAIL FROM, RCPT TO, DATA,
//! QUIT, each reply checked. Plain `smtp://` (port 25) is for a relay on a
//! trusted network and carries no credentials: a password is only ever sent
//! inside TLS. The password comes from the environment
//! (`COGNATE_SMTP_PASSWORD`), never from the URL. Certificates are checked
//! against Mozilla's roots plus the operator's own CA file. Every step has a
//! timeout, so a stuck relay cannot hold a request forever.
//!
//! The message is plain text, UTF-8, with the subject encoded per RFC 2047
//! when it is not ASCII, and lines dot-stuffed.

use cognate_idp::messages::EmailSender;
use cognate_idp::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: none (a relay on a trusted network; no credentials).
    Plain,
    /// `smtp+starttls://`: STARTTLS before anything else, required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// A relay and how to speak to it.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// The envelope and header sender, e.g. `no-reply@example.com`.
    pub from: String,
    /// The name announced in EHLO.
    pub helo: String,
    /// AUTH user and password (the password from the environment).
    auth: Option<(String, String)>,
    tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .field("user", &self.auth.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// Parses `smtp://host[:port]`, `smtp+starttls://[user@]host[:port]` or
    /// `smtps://[user@]host[:port]`; `password` (from the environment) goes
    /// with the user, `ca_file` (PEM) adds trusted roots.
    pub fn from_url(
        url: &str,
        from: &str,
        password: Option<String>,
        ca_file: Option<&str>,
    ) -> std::result::Result<SmtpConfig, String> {
        let (security, rest, default_port) = if let Some(r) = url.strip_prefix("smtps://") {
            (Security::Tls, r, 465)
        } else if let Some(r) = url.strip_prefix("smtp+starttls://") {
            (Security::StartTls, r, 587)
        } else if let Some(r) = url.strip_prefix("smtp://") {
            (Security::Plain, r, 25)
        } else {
            return Err(format!("the SMTP URL must start with smtp://, smtp+starttls:// or smtps://, not {url:?}"));
        };
        let rest = rest.trim_end_matches('/');
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((user, hostport)) => (Some(user), hostport),
            None => (None, rest),
        };
        if user.is_some_and(|u| u.contains(':')) {
            return Err("the SMTP URL must not hold a password: set COGNATE_SMTP_PASSWORD".into());
        }
        if hostport.is_empty() || hostport.contains('/') || user.is_some_and(str::is_empty) {
            return Err(format!("unsupported SMTP URL {url:?}: expected scheme://[user@]host[:port]"));
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port in SMTP URL {url:?}"))?),
            None => (hostport, default_port),
        };
        let auth = match (user, password) {
            (Some(_), _) if security == Security::Plain => {
                return Err("SMTP credentials need TLS: use smtps:// or smtp+starttls://".into());
            }
            (Some(u), Some(p)) => Some((percent_decode(u), p)),
            (Some(_), None) => return Err("the SMTP URL names a user: set COGNATE_SMTP_PASSWORD".into()),
            (None, _) => None,
        };
        if !from.contains('@') || from.contains(['<', '>', '\r', '\n', ' ']) {
            return Err(format!("the email sender must be a plain address, not {from:?}"));
        }
        let tls = match security {
            Security::Plain => None,
            _ => Some(crate::tls::client_config(ca_file)?),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Ok(SmtpConfig { host, port, security, from: from.to_string(), helo: "cognate".into(), auth, tls })
    }
}

/// The domain's email sender over an SMTP relay.
#[derive(Debug)]
pub struct Smtp(pub SmtpConfig);

impl EmailSender for Smtp {
    fn send<'a>(
        &'a self,
        to: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(send(&self.0, to, subject, body))
    }
}

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

fn fail(what: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %what, "email delivery failed");
    Error::CodeDeliveryFailure("Unable to deliver the message: the email relay did not accept it.".into())
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Conn = BufReader<Box<dyn Stream>>;

/// Sends one plain-text message.
pub async fn send(cfg: &SmtpConfig, to: &str, subject: &str, body: &str) -> Result<()> {
    if to.contains(['<', '>', '\r', '\n']) {
        return Err(Error::InvalidParameter("Invalid email address format.".into()));
    }
    let tcp = timed(TcpStream::connect((cfg.host.as_str(), cfg.port)), "connect").await?.map_err(fail)?;
    let mut conn: Conn = match cfg.security {
        Security::Tls => BufReader::new(tls(cfg, Box::new(tcp)).await?),
        _ => BufReader::new(Box::new(tcp)),
    };
    reply(&mut conn, 220).await?;
    let mut caps = ehlo(&mut conn, cfg).await?;
    if cfg.security == Security::StartTls {
        if !caps.iter().any(|c| c.eq_ignore_ascii_case("STARTTLS")) {
            return Err(fail("the relay does not offer STARTTLS"));
        }
        command(&mut conn, "STARTTLS\r\n").await?;
        reply(&mut conn, 220).await?;
        // Nothing the relay said before the handshake is kept.
        conn = BufReader::new(tls(cfg, conn.into_inner()).await?);
        caps = ehlo(&mut conn, cfg).await?;
    }
    if let Some((user, password)) = &cfg.auth {
        authenticate(&mut conn, &caps, user, password).await?;
    }
    command(&mut conn, &format!("MAIL FROM:<{}>\r\n", cfg.from)).await?;
    reply(&mut conn, 250).await?;
    command(&mut conn, &format!("RCPT TO:<{to}>\r\n")).await?;
    reply(&mut conn, 250).await?;
    command(&mut conn, "DATA\r\n").await?;
    reply(&mut conn, 354).await?;
    command(&mut conn, &message(cfg, to, subject, body)).await?;
    reply(&mut conn, 250).await?;
    command(&mut conn, "QUIT\r\n").await?;
    let _ = tokio::time::timeout(STEP_TIMEOUT, reply(&mut conn, 221)).await;
    Ok(())
}

async fn timed<T>(f: impl Future<Output = T>, what: &str) -> Result<T> {
    tokio::time::timeout(STEP_TIMEOUT, f).await.map_err(|_| fail(format!("{what} timed out")))
}

async fn tls(cfg: &SmtpConfig, io: Box<dyn Stream>) -> Result<Box<dyn Stream>> {
    let config = cfg.tls.clone().ok_or_else(|| fail("no TLS configuration"))?;
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(cfg.host.clone()).map_err(fail)?;
    let stream =
        timed(tokio_rustls::TlsConnector::from(config).connect(name, io), "TLS handshake").await?.map_err(fail)?;
    Ok(Box::new(stream))
}

/// EHLO, and the capabilities the relay lists (the first word of each line).
async fn ehlo(conn: &mut Conn, cfg: &SmtpConfig) -> Result<Vec<String>> {
    command(conn, &format!("EHLO {}\r\n", cfg.helo)).await?;
    let lines = reply(conn, 250).await?;
    Ok(lines.iter().skip(1).map(|l| l.trim().to_string()).collect())
}

/// AUTH PLAIN (RFC 4616) when offered, else AUTH LOGIN.
async fn authenticate(conn: &mut Conn, caps: &[String], user: &str, password: &str) -> Result<()> {
    use base64::Engine as _;
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let mechanisms: Vec<String> = caps
        .iter()
        .filter_map(|c| c.strip_prefix("AUTH ").or_else(|| c.strip_prefix("AUTH=")))
        .flat_map(|m| m.split_whitespace().map(str::to_ascii_uppercase))
        .collect();
    if mechanisms.iter().any(|m| m == "PLAIN") {
        let token = b64(format!("\0{user}\0{password}").as_bytes());
        command(conn, &format!("AUTH PLAIN {token}\r\n")).await?;
    } else if mechanisms.iter().any(|m| m == "LOGIN") {
        command(conn, "AUTH LOGIN\r\n").await?;
        reply(conn, 334).await?;
        command(conn, &format!("{}\r\n", b64(user.as_bytes()))).await?;
        reply(conn, 334).await?;
        command(conn, &format!("{}\r\n", b64(password.as_bytes()))).await?;
    } else {
        return Err(fail("the relay offers neither AUTH PLAIN nor AUTH LOGIN"));
    }
    reply(conn, 235).await.map(|_| ())
}

async fn command(conn: &mut Conn, line: &str) -> Result<()> {
    timed(conn.get_mut().write_all(line.as_bytes()), "write").await?.map_err(fail)?;
    timed(conn.get_mut().flush(), "write").await?.map_err(fail)
}

/// Reads a (possibly multi-line) reply, checks its code, and returns its
/// lines' text.
async fn reply(conn: &mut Conn, code: u16) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = timed(conn.read_line(&mut line), "reply").await?.map_err(fail)?;
        if n == 0 {
            return Err(fail("connection closed"));
        }
        let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| fail("malformed reply"))?;
        if got != code {
            return Err(fail(format!("expected {code}, got {}", line.trim_end())));
        }
        lines.push(line.get(4..).unwrap_or_default().trim_end().to_string());
        // "250-..." continues, "250 ..." ends.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(lines);
        }
    }
}

/// The DATA section: headers, a blank line, the dot-stuffed body, the end mark.
fn message(cfg: &SmtpConfig, to: &str, subject: &str, body: &str) -> String {
    let subject = if subject.is_ascii() {
        subject.replace(['\r', '\n'], " ")
    } else {
        use base64::Engine as _;
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(subject.as_bytes()))
    };
    let mut out = format!(
        "From: <{}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        cfg.from
    );
    for line in body.replace("\r\n", "\n").split('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// `%40` and friends in a URL's user part.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex =
            (bytes[i] == b'%').then(|| s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())).flatten();
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_messages() {
        let c = SmtpConfig::from_url("smtp://127.0.0.1:2525", "no-reply@example.com", None, None).unwrap();
        assert_eq!((c.host.as_str(), c.port, c.security), ("127.0.0.1", 2525, Security::Plain));
        assert_eq!(SmtpConfig::from_url("smtp://relay", "a@b", None, None).unwrap().port, 25);
        let s = SmtpConfig::from_url("smtps://mailer%40example.com@relay", "a@b", Some("pw".into()), None).unwrap();
        assert_eq!((s.port, s.security), (465, Security::Tls));
        assert_eq!(s.auth.as_ref().map(|(u, _)| u.as_str()), Some("mailer@example.com"));
        assert!(!format!("{s:?}").contains("pw"), "the password never shows");
        let t = SmtpConfig::from_url("smtp+starttls://relay", "a@b", None, None).unwrap();
        assert_eq!((t.port, t.security), (587, Security::StartTls));
        assert!(SmtpConfig::from_url("smtp://user@relay", "a@b", Some("pw".into()), None).is_err(), "no AUTH in clear");
        assert!(SmtpConfig::from_url("smtps://user:pw@relay", "a@b", None, None).is_err(), "no password in the URL");
        assert!(SmtpConfig::from_url("smtps://user@relay", "a@b", None, None).is_err(), "a user needs a password");
        assert!(SmtpConfig::from_url("http://relay", "a@b", None, None).is_err());
        assert!(SmtpConfig::from_url("smtp://relay", "no at sign", None, None).is_err());
        let m = message(&c, "x@y.z", "Hé", "line\n.dot\nend");
        assert!(m.contains("Subject: =?UTF-8?B?SMOp?=\r\n"), "{m}");
        assert!(m.ends_with("line\r\n..dot\r\nend\r\n.\r\n"), "{m}");
    }
}
