//! Settings: flags, then environment, then an optional TOML file, then
//! defaults, in that order of precedence. [`Raw`] is what was given;
//! [`Settings`] is what was meant, validated.

use cognate_crypto::seal::MasterKey;
use cognate_store::Location;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, clap::Args, Default)]
pub struct Raw {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, global = true, env = "COGNATE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, global = true, env = "COGNATE_LISTEN")]
    listen: Option<String>,
    /// Data directory: the SQLite database and the master key file.
    #[arg(long, global = true, env = "COGNATE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// PostgreSQL instead of SQLite: postgres://user:pass@host:port/db
    #[arg(long, global = true, env = "COGNATE_DATABASE_URL")]
    database_url: Option<String>,
    /// Keep everything in memory and lose it at exit (tests, demos).
    #[arg(long, global = true, env = "COGNATE_EPHEMERAL")]
    ephemeral: bool,
    /// Region of unsigned calls.
    #[arg(long, global = true, env = "COGNATE_DEFAULT_REGION")]
    default_region: Option<String>,
    /// Account id used in ARNs.
    #[arg(long, global = true, env = "COGNATE_ACCOUNT_ID")]
    account_id: Option<String>,
    /// The URL clients reach Cognate at; token issuers are `{public_url}/{poolId}`.
    #[arg(long, global = true, env = "COGNATE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Issue tokens with Cognito's own issuer (https://cognito-idp.{region}.amazonaws.com/{poolId}).
    #[arg(long, global = true, env = "COGNATE_COGNITO_ISSUER")]
    cognito_issuer: bool,
    /// OAuth features beyond Cognito, comma-separated: rp-logout (OIDC
    /// RP-initiated logout at /logout), introspection (RFC 7662).
    #[arg(long, global = true, env = "COGNATE_OAUTH_EXTENSIONS")]
    oauth_extensions: Option<String>,
    /// argon2id's parameters for new password hashes, m=<KiB>,t=<passes>,p=<lanes>
    /// [default: m=19456,t=2,p=1, OWASP's]. Stored hashes keep their own.
    #[arg(long, global = true, env = "COGNATE_PASSWORD_HASHING")]
    password_hashing: Option<String>,
    /// Serve over TLS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, global = true, env = "COGNATE_TLS_CERT")]
    tls_cert: Option<String>,
    /// The TLS certificate's private key (PEM).
    #[arg(long, global = true, env = "COGNATE_TLS_KEY")]
    tls_key: Option<String>,
    /// Serve over TLS with a certificate from a local development CA kept
    /// in this directory (made on first use); clients trust its
    /// cognate-dev-ca.pem. For development only.
    #[arg(long, global = true, env = "COGNATE_DEV_TLS")]
    dev_tls: Option<PathBuf>,
    /// Serve prefix domains at {prefix}.auth.{region}.{base} (default localhost,
    /// which browsers resolve to this machine), with the public URL's scheme and port.
    #[arg(long, global = true, env = "COGNATE_LOGIN_DOMAIN_BASE")]
    login_domain_base: Option<String>,
    /// Deliver email through this SMTP relay instead of the outbox:
    /// smtp://host[:port] (no TLS), smtp+starttls://[user@]host[:port] or
    /// smtps://[user@]host[:port]; the user's password from COGNATE_SMTP_PASSWORD.
    #[arg(long, global = true, env = "COGNATE_SMTP_URL")]
    smtp_url: Option<String>,
    /// The SMTP user's password (never in the URL).
    #[arg(long, hide = true, env = "COGNATE_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// Trust this CA (PEM) for the SMTP relay's certificate, besides Mozilla's roots.
    #[arg(long, global = true, env = "COGNATE_SMTP_CA_FILE")]
    smtp_ca_file: Option<String>,
    /// The sender address of email.
    #[arg(long, global = true, env = "COGNATE_EMAIL_FROM")]
    email_from: Option<String>,
    /// Deliver SMS by POSTing to this http:// URL instead of the outbox.
    #[arg(long, global = true, env = "COGNATE_SMS_WEBHOOK_URL")]
    sms_webhook_url: Option<String>,
    /// Sign SMS webhook requests with this secret (X-Cognate-Signature).
    #[arg(long, hide = true, env = "COGNATE_SMS_WEBHOOK_SECRET", hide_env_values = true)]
    sms_webhook_secret: Option<String>,
    /// Log filter (tracing syntax), e.g. "info" or "cognate_server=debug".
    #[arg(long, global = true, env = "COGNATE_LOG")]
    log: Option<String>,
    /// Log as JSON lines.
    #[arg(long, global = true, env = "COGNATE_LOG_JSON")]
    log_json: bool,
    /// Threads that serve requests [default: 1]. The slow cryptography runs
    /// on threads of its own, one per core, whatever this is; one thread
    /// serves tens of thousands of light calls a second, and more threads
    /// cost CPU per call in hand-offs between them.
    #[arg(long, global = true, env = "COGNATE_IO_THREADS")]
    io_threads: Option<usize>,
    /// The master key as 64 hex digits (otherwise read or created in the data directory).
    #[arg(long, hide = true, env = "COGNATE_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// An admin access key to ensure at start (id).
    #[arg(long, hide = true, env = "COGNATE_ADMIN_ACCESS_KEY_ID")]
    admin_access_key_id: Option<String>,
    /// An admin access key to ensure at start (secret).
    #[arg(long, hide = true, env = "COGNATE_ADMIN_SECRET_ACCESS_KEY", hide_env_values = true)]
    admin_secret_access_key: Option<String>,
}

/// The file's form of the same settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    ephemeral: Option<bool>,
    default_region: Option<String>,
    account_id: Option<String>,
    log: Option<String>,
    log_json: Option<bool>,
    io_threads: Option<usize>,
    body_limit: Option<usize>,
    public_url: Option<String>,
    cognito_issuer: Option<bool>,
    login_domain_base: Option<String>,
    oauth_extensions: Option<String>,
    password_hashing: Option<String>,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    dev_tls: Option<PathBuf>,
    smtp_url: Option<String>,
    smtp_ca_file: Option<String>,
    email_from: Option<String>,
    sms_webhook_url: Option<String>,
    /// Lambda functions the pools' triggers name, by ARN or function name.
    #[serde(default)]
    functions: std::collections::HashMap<String, cognate_outbound::lambda::FunctionConfig>,
}

#[derive(Debug)]
pub struct Settings {
    pub listen: String,
    pub location: Location,
    pub ephemeral: bool,
    data_dir: PathBuf,
    master_key_hex: Option<String>,
    pub admin_key: Option<(String, String)>,
    pub log_filter: String,
    pub log_json: bool,
    pub io_threads: usize,
    public_url: Option<String>,
    cognito_issuer: bool,
    pub login_domain_base: String,
    pub oauth_extensions: cognate_idp::oauth::Extensions,
    pub password_hashing: cognate_idp::passwords::Hashing,
    /// Serve over TLS: (certificate chain, private key), PEM files.
    pub tls: Option<(String, String)>,
    /// Serve over TLS with a development certificate made in this directory.
    pub dev_tls: Option<PathBuf>,
    pub default_region: String,
    pub smtp: Option<cognate_outbound::smtp::SmtpConfig>,
    pub server: cognate_server::Config,
    pub sms_webhook: Option<cognate_outbound::lambda::SmsWebhook>,
    pub functions: std::collections::HashMap<String, cognate_outbound::lambda::FunctionConfig>,
}

impl Raw {
    pub fn resolve(self) -> Result<Settings, String> {
        let file: File = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => File::default(),
        };
        let ephemeral = self.ephemeral || file.ephemeral.unwrap_or(false);
        let data_dir = self.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        let database_url = self.database_url.or(file.database_url);
        let location = match (&database_url, ephemeral) {
            (Some(_), true) => return Err("--ephemeral and --database-url exclude each other".into()),
            (Some(url), false) => {
                if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
                    return Err(
                        "--database-url must be a postgres:// URL (SQLite is the default: use --data-dir)".into()
                    );
                }
                Location::Postgres(url.clone())
            }
            (None, true) => Location::SqliteMemory,
            (None, false) => Location::SqliteFile(data_dir.join("cognate.db")),
        };
        let default_region = self.default_region.or(file.default_region).unwrap_or_else(|| "us-east-1".into());
        if default_region.is_empty() || !default_region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("invalid default region {default_region:?}"));
        }
        let account_id = self.account_id.or(file.account_id).unwrap_or_else(|| "000000000000".into());
        if account_id.len() != 12 || !account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!("the account id must be 12 digits, not {account_id:?}"));
        }
        let admin_key = match (self.admin_access_key_id, self.admin_secret_access_key) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => return Err("COGNATE_ADMIN_ACCESS_KEY_ID and COGNATE_ADMIN_SECRET_ACCESS_KEY go together".into()),
        };
        let io_threads = self.io_threads.or(file.io_threads).unwrap_or(1);
        if !(1..=1024).contains(&io_threads) {
            return Err(format!("io_threads must be between 1 and 1024, not {io_threads}"));
        }
        let listen = self.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:9229".into());
        let public_url = self.public_url.or(file.public_url);
        if let Some(url) = &public_url
            && !url.starts_with("http://")
            && !url.starts_with("https://")
        {
            return Err(format!("the public URL must start with http:// or https://, not {url:?}"));
        }
        let oauth_extensions = cognate_idp::oauth::Extensions::parse(
            &self.oauth_extensions.or(file.oauth_extensions).unwrap_or_default(),
        )?;
        let password_hashing = match self.password_hashing.or(file.password_hashing) {
            Some(text) => cognate_idp::passwords::Hashing::parse(&text)?,
            None => cognate_idp::passwords::Hashing::default(),
        };
        let tls = match (self.tls_cert.or(file.tls_cert), self.tls_key.or(file.tls_key)) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => return Err("--tls-cert and --tls-key go together".into()),
        };
        let dev_tls = self.dev_tls.or(file.dev_tls);
        if dev_tls.is_some() && tls.is_some() {
            return Err("--dev-tls and --tls-cert exclude each other".into());
        }
        let smtp = match self.smtp_url.or(file.smtp_url) {
            Some(url) => {
                let from =
                    self.email_from.or(file.email_from).unwrap_or_else(|| "no-reply@verificationemail.com".into());
                let ca_file = self.smtp_ca_file.or(file.smtp_ca_file);
                Some(cognate_outbound::smtp::SmtpConfig::from_url(&url, &from, self.smtp_password, ca_file.as_deref())?)
            }
            None => None,
        };
        let sms_webhook = match self.sms_webhook_url.or(file.sms_webhook_url) {
            Some(url) => Some(cognate_outbound::lambda::SmsWebhook::new(&url, self.sms_webhook_secret)?),
            None => None,
        };
        Ok(Settings {
            listen,
            smtp,
            sms_webhook,
            functions: file.functions,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            cognito_issuer: self.cognito_issuer || file.cognito_issuer.unwrap_or(false),
            tls,
            dev_tls,
            default_region: default_region.clone(),
            oauth_extensions,
            password_hashing,
            login_domain_base: self.login_domain_base.or(file.login_domain_base).unwrap_or_else(|| "localhost".into()),
            location,
            ephemeral,
            data_dir,
            master_key_hex: self.master_key,
            admin_key,
            log_filter: self.log.or(file.log).unwrap_or_else(|| "info".into()),
            log_json: self.log_json || file.log_json.unwrap_or(false),
            io_threads,
            server: cognate_server::Config {
                default_region,
                account_id,
                body_limit: file.body_limit.unwrap_or(1024 * 1024),
            },
        })
    }
}

impl Settings {
    fn scheme(&self) -> &'static str {
        if self.tls.is_some() || self.dev_tls.is_some() { "https" } else { "http" }
    }

    /// How tokens name their issuer; without a public URL, the address the
    /// server is bound to (when known) stands in for it.
    pub fn issuer(&self, bound: Option<std::net::SocketAddr>) -> cognate_idp::Issuer {
        let url = match (&self.public_url, bound) {
            (Some(u), _) => u.clone(),
            (None, Some(addr)) => format!("{}://{addr}", self.scheme()),
            (None, None) => format!("{}://{}", self.scheme(), self.listen),
        };
        if self.cognito_issuer { cognate_idp::Issuer::Cognito(url) } else { cognate_idp::Issuer::PublicUrl(url) }
    }

    /// The master key: from the environment, else a fresh one for an
    /// ephemeral run, else the data directory's key file (created 0600).
    pub fn master_key(&self) -> Result<MasterKey, cognate_crypto::seal::SealError> {
        match (&self.master_key_hex, self.ephemeral) {
            (Some(hex), _) => MasterKey::from_hex(hex),
            (None, true) => Ok(MasterKey::generate()),
            (None, false) => MasterKey::load_or_create(&self.data_dir.join("master.key")),
        }
    }
}
