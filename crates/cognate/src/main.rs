//! `cognate`: the Amazon Cognito API, self-hosted.
//!
//! Raw flags, environment and an optional TOML file are read first
//! ([`settings::Raw`]), then turned into validated settings; nothing below
//! `main` reads the environment.

mod bench;
mod settings;

use clap::{Parser, Subcommand};
use cognate_idp::{Idp, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

/// mimalloc: request handling is allocation-heavy (JSON, rows), and glibc's
/// malloc spent about a quarter of ListUsers' CPU time in a profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "cognate", version, about = "The Amazon Cognito API, self-hosted")]
struct Cli {
    #[command(flatten)]
    raw: settings::Raw,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default data directory is ./data, SQLite).
    Serve,
    /// Manage admin access keys (the credentials for SigV4-signed admin calls).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Run load scenarios against a fresh server and report throughput,
    /// latency, and the server's CPU per operation beside the cryptography
    /// each operation cannot avoid.
    Bench(bench::BenchArgs),
    /// Manage a user pool's token-signing keys (rotation with overlap).
    SigningKeys {
        #[command(subcommand)]
        action: SigningKeysAction,
    },
    /// Show messages (verification and reset codes) Cognate delivered to its outbox, newest first.
    Outbox {
        /// Only this user pool's messages.
        #[arg(long)]
        pool: Option<String>,
        /// Only messages to this email address or phone number.
        #[arg(long)]
        destination: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the audit log (admin calls and authentication events), oldest
    /// first; `--follow` keeps streaming new records.
    Audit(AuditArgs),
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    /// Only this user pool's records.
    #[arg(long)]
    pool: Option<String>,
    /// Only this operation (e.g. AdminCreateUser, InitiateAuth).
    #[arg(long)]
    operation: Option<String>,
    /// Only this caller (an access key id, `user:<name>` or `client:<id>`).
    #[arg(long)]
    caller: Option<String>,
    /// Only records about this target (a username, `group:<name>` ...).
    #[arg(long)]
    target: Option<String>,
    /// Only this outcome: `ok` or an error name such as NotAuthorizedException.
    #[arg(long)]
    outcome: Option<String>,
    /// Only records from this time on: seconds since the epoch, or a
    /// duration back from now such as 15m, 2h, 7d.
    #[arg(long)]
    since: Option<String>,
    /// At most this many records (without --follow).
    #[arg(long, default_value_t = 100)]
    limit: i64,
    /// Keep running and print new records as they are written.
    #[arg(long)]
    follow: bool,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Instead of showing records, delete those older than this (epoch
    /// seconds, or a duration back from now such as 90d) and say how many.
    #[arg(long, conflicts_with_all = ["follow", "json"])]
    delete_before: Option<String>,
}

#[derive(Debug, Subcommand)]
enum SigningKeysAction {
    /// List the pool's keys (kid, created, whether it signs now).
    List {
        #[arg(long)]
        pool: String,
    },
    /// Add a key: published in the JWKS now, signing five minutes later.
    Rotate {
        #[arg(long)]
        pool: String,
    },
    /// Remove a key that no longer signs; tokens it signed stop verifying.
    Retire {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Create a key and print its id and secret (shown only this once).
    Create {
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List key ids (never secrets).
    List,
    /// Delete a key.
    Delete { access_key_id: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match cli.raw.resolve() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cognate: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&settings);
    // The server's request threads are a setting; the other commands (the
    // bench's load generator among them) use one per core.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if matches!(cli.command, Command::Serve) {
        builder.worker_threads(settings.io_threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cognate: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve(settings).await,
            Command::Keys { action } => keys(settings, action).await,
            Command::SigningKeys { action } => signing_keys(settings, action).await,
            Command::Bench(args) => bench::run(args, settings.io_threads, settings.password_hashing.params()).await,
            Command::Outbox { pool, destination, limit, json } => {
                outbox(settings, pool.as_deref(), destination.as_deref(), limit, json).await
            }
            Command::Audit(args) => audit(settings, args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cognate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(s: &settings::Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&s.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if s.log_json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn open(s: &settings::Settings, bound: Option<std::net::SocketAddr>) -> Result<Idp, String> {
    let store = cognate_store::Store::open(&s.location).await.map_err(|e| format!("database: {e}"))?;
    let key = s.master_key().map_err(|e| e.to_string())?;
    let mut idp = Idp::new(store, key, Arc::new(SystemClock), s.server.account_id.clone(), s.issuer(bound))
        .with_login_base(&s.login_domain_base)
        .with_oauth_extensions(s.oauth_extensions)
        .with_password_hashing(s.password_hashing.clone());
    if let Some(smtp) = &s.smtp {
        idp = idp.with_email_sender(Arc::new(cognate_outbound::smtp::Smtp(smtp.clone())));
    }
    if let Some(sms) = &s.sms_webhook {
        idp = idp.with_sms_sender(Arc::new(sms.clone()));
    }
    Ok(idp)
}

async fn serve(s: settings::Settings) -> Result<(), String> {
    let listener =
        tokio::net::TcpListener::bind(&s.listen).await.map_err(|e| format!("cannot listen on {}: {e}", s.listen))?;
    let mut idp = open(&s, listener.local_addr().ok()).await?;
    let mut functions = None;
    if !s.functions.is_empty() {
        let registry = Arc::new(cognate_outbound::lambda::Functions::start(&s.functions).await?);
        idp = idp.with_invoker(registry.clone());
        functions = Some(registry);
    }
    if let Some((id, secret)) = &s.admin_key {
        idp.ensure_admin_key(id, secret).await.map_err(|e| format!("admin key from the environment: {e}"))?;
    }
    if idp.list_admin_keys().await.map_err(|e| e.to_string())?.is_empty() {
        tracing::warn!(
            "no admin access key exists: admin calls will be refused; create one with `cognate keys create` or set COGNATE_ADMIN_ACCESS_KEY_ID and COGNATE_ADMIN_SECRET_ACCESS_KEY"
        );
    }
    let app = cognate_server::AppState::new(s.server.clone(), idp.clone());
    if let Some(f) = &functions {
        f.audit_to(app.audit.clone());
    }
    let tls = match (&s.tls, &s.dev_tls) {
        (Some(files), _) => Some(files.clone()),
        (None, Some(dir)) => {
            let dev = cognate_server::tls::dev_certificate(dir, &s.login_domain_base, &s.default_region)?;
            tracing::warn!(
                ca = %dev.ca.display(),
                "serving with a development certificate: trust its CA in browsers and SDKs (e.g. NODE_EXTRA_CA_CERTS, AWS_CA_BUNDLE or REQUESTS_CA_BUNDLE set to that file); never in production"
            );
            Some((dev.cert.to_string_lossy().into_owned(), dev.key.to_string_lossy().into_owned()))
        }
        (None, None) => None,
    };
    let (running, scheme) = match &tls {
        Some((cert, key)) => {
            let config = cognate_server::tls::server_config(cert, key)?;
            (cognate_server::start_tls(listener, app, config).map_err(|e| e.to_string())?, "https")
        }
        None => (cognate_server::start(listener, app).map_err(|e| e.to_string())?, "http"),
    };
    tracing::info!(address = %running.addr, database = idp.engine(), "cognate listening on {scheme}://{}", running.addr);
    running.until(shutdown_signal()).await.map_err(|e| e.to_string())?;
    idp.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

async fn keys(s: settings::Settings, action: KeysAction) -> Result<(), String> {
    if s.ephemeral {
        return Err("keys need a persistent database, not --ephemeral".into());
    }
    let idp = open(&s, None).await?;
    match action {
        KeysAction::Create { description } => {
            let k = idp.create_admin_key(&description).await.map_err(|e| e.to_string())?;
            println!("AccessKeyId: {}\nSecretAccessKey: {}", k.access_key_id, k.secret_access_key);
        }
        KeysAction::List => {
            for k in idp.list_admin_keys().await.map_err(|e| e.to_string())? {
                println!("{}\t{}\t{}", k.access_key_id, k.created_at, k.description);
            }
        }
        KeysAction::Delete { access_key_id } => {
            if !idp.delete_admin_key(&access_key_id).await.map_err(|e| e.to_string())? {
                return Err(format!("no admin key {access_key_id}"));
            }
        }
    }
    idp.close().await;
    Ok(())
}

async fn outbox(
    s: settings::Settings,
    pool: Option<&str>,
    destination: Option<&str>,
    limit: i64,
    json: bool,
) -> Result<(), String> {
    if s.ephemeral {
        return Err(
            "the outbox of an --ephemeral server lives in its memory: read it over HTTP (GET /_cognate/outbox)".into(),
        );
    }
    let idp = open(&s, None).await?;
    for m in idp.outbox(pool, destination, limit).await.map_err(|e| e.to_string())? {
        if json {
            let line = serde_json::json!({
                "Id": m.id, "UserPoolId": m.pool_id, "Username": m.username, "Channel": m.channel,
                "Destination": m.destination, "Subject": m.subject, "Body": m.body, "CreatedAt": m.created_at,
            });
            println!("{line}");
        } else {
            println!("{}\t{}\t{}\t{}\t{}\t{}", m.created_at, m.pool_id, m.channel, m.destination, m.subject, m.body);
        }
    }
    idp.close().await;
    Ok(())
}

/// `--since`: epoch seconds, or `<n>s|m|h|d` back from now; in ms.
fn parse_since(text: &str, now_ms: i64) -> Result<i64, String> {
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs * 1000);
    }
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| format!("--since: not a time: {text}"))?;
    let unit_ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("--since: not a time: {text}")),
    };
    Ok(now_ms - n * unit_ms)
}

async fn audit(s: settings::Settings, args: AuditArgs) -> Result<(), String> {
    if s.ephemeral {
        return Err("the audit log of an --ephemeral server lives in its memory".into());
    }
    let idp = open(&s, None).await?;
    if let Some(before) = &args.delete_before {
        let before = parse_since(before, idp.now_ms())?;
        let n = idp.delete_audit_before(before).await.map_err(|e| e.to_string())?;
        println!("deleted {n} audit records");
        idp.close().await;
        return Ok(());
    }
    let since = args.since.as_deref().map(|t| parse_since(t, idp.now_ms())).transpose()?;
    let mut filter = cognate_store::AuditFilter {
        pool_id: args.pool,
        operation: args.operation,
        caller: args.caller,
        target: args.target,
        outcome: args.outcome,
        since,
        after: None,
    };
    let page = if args.follow { 1000 } else { args.limit };
    loop {
        let rows = idp.audit_records(&filter, page).await.map_err(|e| e.to_string())?;
        for r in &rows {
            if args.json {
                let line = serde_json::json!({
                    "Id": r.id, "Time": r.at, "Caller": r.caller, "Operation": r.operation,
                    "UserPoolId": r.pool_id, "ClientId": r.client_id, "Target": r.target,
                    "Outcome": r.outcome, "Source": r.source, "RequestId": r.request_id,
                });
                println!("{line}");
            } else {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    r.at, r.caller, r.operation, r.pool_id, r.target, r.outcome, r.source
                );
            }
        }
        if let Some(last) = rows.last() {
            filter.after = Some((last.at, last.id.clone()));
        }
        if !args.follow {
            break;
        }
        if rows.len() < page as usize {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    idp.close().await;
    Ok(())
}

async fn signing_keys(s: settings::Settings, action: SigningKeysAction) -> Result<(), String> {
    if s.ephemeral {
        return Err("signing keys need a persistent database, not --ephemeral".into());
    }
    let idp = open(&s, None).await?;
    let result = match action {
        SigningKeysAction::List { pool } => idp.list_signing_keys(&pool).await.map(|keys| {
            for (kid, created, signs) in keys {
                println!("{kid}\t{created}\t{}", if signs { "signing" } else { "verifying" });
            }
        }),
        SigningKeysAction::Rotate { pool } => idp.rotate_signing_key(&pool).await.map(|kid| println!("{kid}")),
        SigningKeysAction::Retire { pool, kid } => idp.retire_signing_key(&pool, &kid).await,
    };
    idp.close().await;
    result.map_err(|e| e.to_string())
}
