//! Email delivery over SMTP (RFC 5321), for a relay on a trusted network.
//!
//! One connection per message: greeting, EHLO, MAIL FROM, RCPT TO, DATA,
//! QUIT, each reply checked. The message is plain text, UTF-8, with the
//! subject encoded per RFC 2047 when it is not ASCII, and lines dot-stuffed.
//! There is no TLS and no authentication yet: point it at a local relay
//! (Postfix, a sidecar, a test server); the settings refuse anything else
//! than `smtp://`. Every step has a timeout, so a stuck relay cannot hold a
//! request forever.

use crate::{Error, Result};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// Where and as whom to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// `host:port` of the relay.
    pub address: String,
    /// The envelope and header sender, e.g. `no-reply@example.com`.
    pub from: String,
    /// The name announced in EHLO.
    pub helo: String,
}

impl SmtpConfig {
    /// Parses `smtp://host[:port]` (port 25 by default).
    pub fn from_url(url: &str, from: &str) -> std::result::Result<SmtpConfig, String> {
        let rest =
            url.strip_prefix("smtp://").ok_or_else(|| format!("the SMTP URL must start with smtp://, not {url:?}"))?;
        let hostport = rest.trim_end_matches('/');
        if hostport.is_empty() || hostport.contains('@') || hostport.contains('/') {
            return Err(format!("unsupported SMTP URL {url:?}: expected smtp://host[:port]"));
        }
        let address = if hostport.contains(':') { hostport.to_string() } else { format!("{hostport}:25") };
        if !from.contains('@') || from.contains(['<', '>', '\r', '\n', ' ']) {
            return Err(format!("the email sender must be a plain address, not {from:?}"));
        }
        Ok(SmtpConfig { address, from: from.to_string(), helo: "cognate".into() })
    }
}

const STEP_TIMEOUT: Duration = Duration::from_secs(10);

fn fail(what: impl std::fmt::Display) -> Error {
    tracing::warn!(error = %what, "email delivery failed");
    Error::CodeDeliveryFailure("Unable to deliver the message: the email relay did not accept it.".into())
}

/// Sends one plain-text message.
pub async fn send(cfg: &SmtpConfig, to: &str, subject: &str, body: &str) -> Result<()> {
    if to.contains(['<', '>', '\r', '\n']) {
        return Err(Error::InvalidParameter("Invalid email address format.".into()));
    }
    let stream = tokio::time::timeout(STEP_TIMEOUT, TcpStream::connect(&cfg.address))
        .await
        .map_err(|_| fail("connect timed out"))?
        .map_err(fail)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);

    expect(&mut read, 220).await?;
    command(&mut write, &format!("EHLO {}\r\n", cfg.helo)).await?;
    expect(&mut read, 250).await?;
    command(&mut write, &format!("MAIL FROM:<{}>\r\n", cfg.from)).await?;
    expect(&mut read, 250).await?;
    command(&mut write, &format!("RCPT TO:<{to}>\r\n")).await?;
    expect(&mut read, 250).await?;
    command(&mut write, "DATA\r\n").await?;
    expect(&mut read, 354).await?;
    command(&mut write, &message(cfg, to, subject, body)).await?;
    expect(&mut read, 250).await?;
    command(&mut write, "QUIT\r\n").await?;
    let _ = tokio::time::timeout(STEP_TIMEOUT, expect(&mut read, 221)).await;
    Ok(())
}

async fn command(w: &mut tokio::net::tcp::OwnedWriteHalf, line: &str) -> Result<()> {
    tokio::time::timeout(STEP_TIMEOUT, w.write_all(line.as_bytes()))
        .await
        .map_err(|_| fail("write timed out"))?
        .map_err(fail)
}

/// Reads a (possibly multi-line) reply and checks its code.
async fn expect(r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: u16) -> Result<()> {
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(STEP_TIMEOUT, r.read_line(&mut line))
            .await
            .map_err(|_| fail("reply timed out"))?
            .map_err(fail)?;
        if n == 0 {
            return Err(fail("connection closed"));
        }
        let got: u16 = line.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| fail("malformed reply"))?;
        if got != code {
            return Err(fail(format!("expected {code}, got {}", line.trim_end())));
        }
        // "250-..." continues, "250 ..." ends.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_messages() {
        let c = SmtpConfig::from_url("smtp://127.0.0.1:2525", "no-reply@example.com").unwrap();
        assert_eq!(c.address, "127.0.0.1:2525");
        assert_eq!(SmtpConfig::from_url("smtp://relay", "a@b").unwrap().address, "relay:25");
        assert!(SmtpConfig::from_url("smtps://relay", "a@b").is_err());
        assert!(SmtpConfig::from_url("smtp://user:pw@relay", "a@b").is_err());
        assert!(SmtpConfig::from_url("smtp://relay", "no at sign").is_err());
        let m = message(&c, "x@y.z", "Hé", "line\n.dot\nend");
        assert!(m.contains("Subject: =?UTF-8?B?SMOp?=\r\n"), "{m}");
        assert!(m.ends_with("line\r\n..dot\r\nend\r\n.\r\n"), "{m}");
    }
}
