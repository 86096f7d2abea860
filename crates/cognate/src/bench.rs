//! `cognate bench`: load scenarios against a server, with the server's own
//! CPU time per operation set beside the cryptography the operation cannot
//! avoid, measured by this same binary in the same run.
//!
//! The server runs as a child process (`cognate serve` from this binary) so
//! its CPU time is read from `/proc/<pid>/stat` apart from the load
//! generator's. Workers keep one HTTP/1.1 connection each. Users are made
//! through the admin API (AdminCreateUser + AdminSetUserPassword), so set-up
//! costs no confirmation round trips. The MFA and trigger scenarios get pools
//! of their own, made only when they run: TOTP users (each 30-second code is
//! accepted once per user) and a PreTokenGeneration trigger served by a
//! webhook in this process.
//!
//! Beside the floor measured with Cognate's own code stands the machine's
//! limit: the same primitives through the fastest implementations found for
//! this CPU, called directly (AWS-LC's RS256 and constant-time modular
//! exponentiation, RustCrypto's argon2id, which beat Debian's libargon2 here),
//! so that no cost of Cognate's own wrapping hides in the limit.

use cognate_crypto::{jwt, sigv4, srp, totp};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Scenarios to run (repeat the flag for several): http-floor,
    /// password-sign-in, srp-sign-in, mfa-sign-in, trigger-sign-in, refresh,
    /// get-user, sign-up, admin-create-user, admin-get-user, list-users,
    /// client-credentials, code-exchange; all
    /// by default.
    #[arg(long = "scenario")]
    scenarios: Vec<String>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Users to sign in with (spread over the workers); as many again in
    /// each of the MFA and trigger pools.
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Run the server on this (empty) PostgreSQL database instead of a temporary SQLite file.
    #[arg(long = "bench-database-url")]
    database_url: Option<String>,
    /// Load this many extra users into the pool before the server starts
    /// (confirmed, one shared password hash), for the scale figures:
    /// ListUsers over a large pool, start-up time and memory.
    #[arg(long, default_value_t = 0)]
    dataset_users: usize,
    /// Measure a server that is already running at this URL (any
    /// Cognito-compatible endpoint) instead of starting one; its CPU time
    /// is then unknown. Admin calls are signed with
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
    #[arg(long)]
    endpoint: Option<String>,
}

/// Every scenario, in the order they run.
const SCENARIOS: &[&str] = &[
    "http-floor",
    "password-sign-in",
    "srp-sign-in",
    "mfa-sign-in",
    "trigger-sign-in",
    "refresh",
    "get-user",
    "sign-up",
    "admin-create-user",
    "admin-get-user",
    "list-users",
    "client-credentials",
    "code-exchange",
    "mixed",
];

/// The mixed scenario's operations, in the order a worker cycles through
/// them: of every 20, one password sign-in, three refreshes and sixteen
/// GetUser calls (5 / 15 / 80 %), so that crypto threads starving request
/// threads, or the reverse, shows in each part's latency.
const MIX: [&str; 20] = [
    "password-sign-in",
    "get-user",
    "refresh",
    "get-user",
    "get-user",
    "get-user",
    "get-user",
    "refresh",
    "get-user",
    "get-user",
    "get-user",
    "get-user",
    "get-user",
    "refresh",
    "get-user",
    "get-user",
    "get-user",
    "get-user",
    "get-user",
    "get-user",
];

/// The mixed scenario's parts and their shares of its operations.
const MIX_PARTS: [(&str, f64); 3] = [("password-sign-in", 0.05), ("refresh", 0.15), ("get-user", 0.80)];

/// A mixed scenario's figure (or any other's) weighted over its parts:
/// `of(part)` for each part.
fn mixed_of(of: impl Fn(&str) -> Duration) -> Duration {
    MIX_PARTS.iter().map(|(part, share)| of(part).mul_f64(*share)).sum()
}

/// The PreTokenGeneration function of the trigger pool: a webhook in this
/// process that answers every event unchanged.
const TRIGGER_ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:bench-pre-token";

const KEY_ID: &str = "AKIABENCHMARK0000001";
const KEY_SECRET: &str = "bench/secret/access/key/000000000000000";
const PASSWORD: &str = "Bench-Passw0rd!";

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
    key: (String, String),
}

/// The admin credentials calls are signed with.
fn admin_key(endpoint: bool) -> (String, String) {
    if endpoint {
        let get = |k: &str| std::env::var(k).unwrap_or_default();
        (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"))
    } else {
        (KEY_ID.to_string(), KEY_SECRET.to_string())
    }
}

impl Conn {
    async fn open(addr: &str, key: &(String, String)) -> Result<Conn, String> {
        let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        Ok(Conn { send, host: addr.to_string(), key: key.clone() })
    }

    /// One JSON-protocol call; signed when `signed`. Returns (status, body).
    async fn call(&mut self, op: &str, body: &Value, signed: bool) -> Result<(u16, Value), String> {
        let payload = body.to_string().into_bytes();
        let target = format!("AWSCognitoIdentityProviderService.{op}");
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), target),
            ("host".into(), self.host.clone()),
        ];
        if signed {
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let req = sigv4::Request { method: "POST", path: "/", query: "", headers: &pairs, body: &payload };
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let added = sigv4::sign(&req, &self.key.0, &self.key.1, "us-east-1", "cognito-idp", now);
            headers.extend(added);
        }
        let mut builder = hyper::Request::builder().method("POST").uri("/");
        for (k, v) in &headers {
            builder = builder.header(k, v);
        }
        let request = builder.body(Full::new(Bytes::from(payload))).map_err(|e| e.to_string())?;
        self.send.ready().await.map_err(|e| e.to_string())?;
        let resp = self.send.send_request(request).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// An unsigned GET: (status, body).
    async fn get(&mut self, path: &str) -> Result<(u16, Bytes), String> {
        let request = hyper::Request::builder()
            .method("GET")
            .uri(path)
            .header("host", &self.host)
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let resp = self.send.send_request(request).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, bytes))
    }

    /// A request to a pool domain (`host`): (status, headers, body).
    async fn hosted(
        &mut self,
        method: &str,
        path: &str,
        host: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<(u16, hyper::HeaderMap, Bytes), String> {
        let mut builder = hyper::Request::builder().method(method).uri(path).header("host", host);
        for (k, v) in headers {
            builder = builder.header(*k, v);
        }
        let request = builder.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
        self.send.ready().await.map_err(|e| e.to_string())?;
        let resp = self.send.send_request(request).await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, headers, bytes))
    }

    async fn ok(&mut self, op: &str, body: &Value, signed: bool) -> Result<Value, String> {
        match self.call(op, body, signed).await? {
            (200, v) => Ok(v),
            (s, v) => Err(format!("{op}: HTTP {s} {v}")),
        }
    }
}

/// A user the scenarios sign in as, with the tokens set-up obtained.
#[derive(Clone)]
struct BenchUser {
    name: String,
    refresh: String,
    access: String,
}

struct Setup {
    pool: String,
    client: String,
    users: Vec<BenchUser>,
    /// Users loaded in bulk (`--dataset-users`), named `d0000000` ...
    dataset: usize,
    key: (String, String),
    /// The MFA pool, when mfa-sign-in runs.
    mfa: Option<MfaPool>,
    /// The client and users of the pool with a PreTokenGeneration trigger,
    /// when trigger-sign-in runs.
    trigger: Option<(String, Vec<BenchUser>)>,
    /// The pool's domain and OAuth clients, when an OAuth scenario runs.
    oauth: Option<OAuthBench>,
    /// The postmaster of the bench's PostgreSQL database, when it runs on
    /// this machine (its CPU is read from /proc).
    postmaster: Option<u32>,
}

/// The main pool's domain, a machine client (client credentials) and a web
/// client (authorization code) with a signed-in hosted session.
struct OAuthBench {
    host: String,
    machine: (String, String),
    web: (String, String),
    /// The `cognito` session cookie of the first set-up user.
    session: String,
    authorize: String,
}

/// Users who sign in with a password and then a TOTP code.
struct MfaPool {
    client: String,
    users: Vec<MfaUser>,
}

/// A TOTP user. A code is accepted once per user and 30-second step, so
/// each sign-in claims the next step not used yet (`last_step`).
struct MfaUser {
    name: String,
    secret: Vec<u8>,
    last_step: AtomicI64,
}

/// Who one operation acts as.
enum Actor<'a> {
    User(&'a BenchUser),
    /// A TOTP user and the step whose code it answers with.
    Totp(&'a MfaUser, i64),
}

const FLOWS: [&str; 3] = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];

/// A pool (`extra` adds to CreateUserPool's input) and a client of it.
async fn new_pool(c: &mut Conn, name: &str, extra: Value) -> Result<(String, String), String> {
    let mut input = json!({"PoolName": name});
    if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        i.extend(e.clone());
    }
    let pool = c.ok("CreateUserPool", &input, true).await?["UserPool"]["Id"].as_str().ok_or("no pool id")?.to_string();
    let client = c
        .ok(
            "CreateUserPoolClient",
            &json!({"UserPoolId": pool, "ClientName": "bench", "ExplicitAuthFlows": FLOWS}),
            true,
        )
        .await?["UserPoolClient"]["ClientId"]
        .as_str()
        .ok_or("no client id")?
        .to_string();
    Ok((pool, client))
}

/// A confirmed user with the bench password.
async fn new_user(c: &mut Conn, pool: &str, name: &str) -> Result<(), String> {
    c.ok("AdminCreateUser", &json!({"UserPoolId": pool, "Username": name, "MessageAction": "SUPPRESS"}), true).await?;
    c.ok(
        "AdminSetUserPassword",
        &json!({"UserPoolId": pool, "Username": name, "Password": PASSWORD, "Permanent": true}),
        true,
    )
    .await
    .map(|_| ())
}

async fn setup(
    addr: &str,
    key: &(String, String),
    users: usize,
    existing: Option<(String, String)>,
) -> Result<(String, String, Vec<BenchUser>), String> {
    let mut c = Conn::open(addr, key).await?;
    let (pool, client) = match existing {
        Some(ids) => ids,
        None => new_pool(&mut c, "bench", json!({})).await?,
    };
    let mut out = Vec::with_capacity(users);
    for i in 0..users {
        let name = format!("user{i:06}");
        new_user(&mut c, &pool, &name).await?;
        let r = c.ok("InitiateAuth", &password_auth(&client, &name), false).await?;
        let t = &r["AuthenticationResult"];
        out.push(BenchUser {
            name,
            refresh: t["RefreshToken"].as_str().unwrap_or_default().to_string(),
            access: t["AccessToken"].as_str().unwrap_or_default().to_string(),
        });
    }
    Ok((pool, client, out))
}

fn form(pairs: &[(&str, &str)]) -> String {
    cognate_wire::form::encode_pairs(pairs.iter().copied())
}

fn cookie_of(headers: &hyper::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The main pool's domain and OAuth clients, and a hosted session of its
/// first user (signed in once through the sign-in page).
async fn setup_oauth(addr: &str, key: &(String, String), pool: &str, user: &str) -> Result<OAuthBench, String> {
    let mut c = Conn::open(addr, key).await?;
    let prefix = format!("bench{}", &cognate_crypto::ids::uuid_v4()[..8]);
    c.ok("CreateUserPoolDomain", &json!({"UserPoolId": pool, "Domain": prefix}), true).await?;
    let scopes = json!([{"ScopeName": "read", "ScopeDescription": "Read"}]);
    c.ok(
        "CreateResourceServer",
        &json!({"UserPoolId": pool, "Identifier": "api", "Name": "API", "Scopes": scopes}),
        true,
    )
    .await?;
    let client = |name: &str, flows: Value, scopes: Value| {
        json!({"UserPoolId": pool, "ClientName": name, "GenerateSecret": true, "AllowedOAuthFlowsUserPoolClient": true,
               "AllowedOAuthFlows": flows, "AllowedOAuthScopes": scopes, "CallbackURLs": ["https://app.example.com/cb"]})
    };
    let ids = |v: &Value| {
        let c = &v["UserPoolClient"];
        (
            c["ClientId"].as_str().unwrap_or_default().to_string(),
            c["ClientSecret"].as_str().unwrap_or_default().to_string(),
        )
    };
    let m =
        c.ok("CreateUserPoolClient", &client("m2m", json!(["client_credentials"]), json!(["api/read"])), true).await?;
    let w = c.ok("CreateUserPoolClient", &client("web", json!(["code"]), json!(["openid"])), true).await?;
    let (machine, web) = (ids(&m), ids(&w));
    let host = format!("{prefix}.auth.us-east-1.localhost");
    let query = form(&[
        ("response_type", "code"),
        ("client_id", &web.0),
        ("redirect_uri", "https://app.example.com/cb"),
        ("scope", "openid"),
    ]);
    let (status, headers, body) = c.hosted("GET", &format!("/login?{query}"), &host, &[], String::new()).await?;
    let csrf =
        cookie_of(&headers, "XSRF-TOKEN").ok_or(format!("GET /login answered {status} without a CSRF cookie"))?;
    let page = String::from_utf8_lossy(&body);
    if !page.contains(&csrf) {
        return Err("the sign-in page does not carry its CSRF token".into());
    }
    let login = form(&[("_csrf", &csrf), ("username", user), ("password", PASSWORD)]);
    let headers =
        [("content-type", "application/x-www-form-urlencoded".to_string()), ("cookie", format!("XSRF-TOKEN={csrf}"))];
    let (status, headers, _) = c.hosted("POST", &format!("/login?{query}"), &host, &headers, login).await?;
    let session = cookie_of(&headers, "cognito").ok_or(format!("sign-in answered {status} without a session"))?;
    Ok(OAuthBench { host, machine, web, session, authorize: format!("/oauth2/authorize?{query}") })
}

fn basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
}

/// A pool with optional TOTP MFA and `users` users who turned it on
/// (AssociateSoftwareToken, VerifySoftwareToken, SetUserMFAPreference).
async fn setup_mfa(addr: &str, key: &(String, String), users: usize) -> Result<MfaPool, String> {
    let mut c = Conn::open(addr, key).await?;
    let (pool, client) = new_pool(&mut c, "bench-mfa", json!({})).await?;
    let config =
        json!({"UserPoolId": pool, "MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": true}});
    c.ok("SetUserPoolMfaConfig", &config, true).await?;
    let (_, client, signed_in) = setup(addr, key, users, Some((pool, client))).await?;
    let mut out = Vec::with_capacity(users);
    for u in signed_in {
        let r = c.ok("AssociateSoftwareToken", &json!({"AccessToken": u.access}), false).await?;
        let secret = r["SecretCode"].as_str().and_then(totp::base32_decode).ok_or("no TOTP secret")?;
        let step = totp::step_of(unix_now());
        let verify = json!({"AccessToken": u.access, "UserCode": totp::code_at(&secret, step)});
        c.ok("VerifySoftwareToken", &verify, false).await?;
        let preference =
            json!({"AccessToken": u.access, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}});
        c.ok("SetUserMFAPreference", &preference, false).await?;
        out.push(MfaUser { name: u.name, secret, last_step: AtomicI64::new(step) });
    }
    Ok(MfaPool { client, users: out })
}

/// A pool whose PreTokenGeneration trigger is [`TRIGGER_ARN`]: its client
/// and users, each signed in once (the pool's first sign-in makes its
/// signing key, which is set-up, not the scenario).
async fn setup_trigger(addr: &str, key: &(String, String), users: usize) -> Result<(String, Vec<BenchUser>), String> {
    let mut c = Conn::open(addr, key).await?;
    let ids = new_pool(&mut c, "bench-trigger", json!({"LambdaConfig": {"PreTokenGeneration": TRIGGER_ARN}})).await?;
    let (_, client, users) = setup(addr, key, users, Some(ids)).await?;
    Ok((client, users))
}

/// The trigger pool's function: a webhook on loopback that answers each
/// event unchanged (no claim changed). Returns its URL and its task.
async fn start_webhook() -> Result<(String, tokio::task::JoinHandle<()>), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let echo = |body: Bytes| async move { ([("content-type", "application/json")], body) };
    let app = axum::Router::new().route("/", axum::routing::post(echo));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}/"), task))
}

/// One of worker `worker`'s TOTP users (of `workers`, each user belongs to
/// one worker) and a step whose code it has not used and the server takes
/// now (this step or the next). A user's steps must reach the server in
/// increasing order, so no two requests of one user are ever in flight.
/// None when the worker's users have used both: the next step frees them.
fn claim_step(users: &[MfaUser], worker: usize, workers: usize) -> Option<(&MfaUser, i64)> {
    let now = totp::step_of(unix_now());
    users.iter().skip(worker).step_by(workers.max(1)).find_map(|u| {
        let step = (u.last_step.load(Ordering::Relaxed) + 1).max(now);
        (step <= now + 1).then(|| {
            u.last_step.store(step, Ordering::Relaxed);
            (u, step)
        })
    })
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// Creates the bench pool and client and loads `count` users straight into
/// the database, before the server starts. Returns (pool, client, seconds).
async fn load_dataset(
    location: &cognate_store::Location,
    dir: &std::path::Path,
    count: usize,
    hashing: cognate_argon2::Params,
) -> Result<(String, String, f64), String> {
    use cognate_wire::idp::{CreateUserPoolClientRequest, CreateUserPoolRequest, ExplicitAuthFlowsType};
    let started = Instant::now();
    let store = cognate_store::Store::open(location).await.map_err(|e| e.to_string())?;
    let key = cognate_crypto::seal::MasterKey::load_or_create(&dir.join("master.key")).map_err(|e| e.to_string())?;
    let idp = cognate_idp::Idp::new(
        store,
        key,
        std::sync::Arc::new(cognate_idp::SystemClock),
        "000000000000".into(),
        cognate_idp::Issuer::PublicUrl("http://127.0.0.1".into()),
    );
    let pool = idp
        .create_user_pool("us-east-1", CreateUserPoolRequest { pool_name: "bench".into(), ..Default::default() })
        .await
        .map_err(|e| e.to_string())?
        .user_pool
        .and_then(|p| p.id)
        .ok_or("no pool id")?;
    let flows = FLOWS.iter().filter_map(|f| ExplicitAuthFlowsType::parse(f)).collect();
    let client = idp
        .create_user_pool_client(CreateUserPoolClientRequest {
            user_pool_id: pool.clone(),
            client_name: "bench".into(),
            explicit_auth_flows: Some(flows),
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?
        .user_pool_client
        .and_then(|c| c.client_id)
        .ok_or("no client id")?;
    let hash = tokio::task::spawn_blocking(move || cognate_idp::passwords::hash(PASSWORD, &hashing))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    const BATCH: usize = 2000;
    for start in (0..count).step_by(BATCH) {
        let names: Vec<String> = (start..(start + BATCH).min(count)).map(dataset_name).collect();
        idp.load_users(&pool, &names, &hash).await.map_err(|e| e.to_string())?;
        if start % 100_000 == 0 && start > 0 {
            eprintln!("loaded {start} users in {:.0} s", started.elapsed().as_secs_f64());
        }
    }
    idp.close().await;
    Ok((pool, client, started.elapsed().as_secs_f64()))
}

fn dataset_name(i: usize) -> String {
    format!("d{i:07}")
}

static CREATED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A username no run has used: run id + counter.
fn fresh_name(prefix: &str) -> String {
    let n = CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}{}-{n}", std::process::id())
}

fn password_auth(client: &str, user: &str) -> Value {
    json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD}})
}

/// One operation of a scenario (SRP and MFA sign-ins are two calls each).
async fn operation(scenario: &str, c: &mut Conn, s: &Setup, actor: Actor<'_>) -> Result<(), String> {
    let u = match actor {
        Actor::User(u) => u,
        Actor::Totp(u, step) => return mfa_sign_in(c, s, u, step).await,
    };
    match scenario {
        "password-sign-in" => c.ok("InitiateAuth", &password_auth(&s.client, &u.name), false).await.map(|_| ()),
        "trigger-sign-in" => {
            let (client, _) = s.trigger.as_ref().ok_or("no trigger pool")?;
            c.ok("InitiateAuth", &password_auth(client, &u.name), false).await.map(|_| ())
        }
        "refresh" => {
            let body = json!({"ClientId": s.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": u.refresh}});
            c.ok("InitiateAuth", &body, false).await.map(|_| ())
        }
        // What any request costs: the HTTP server alone, for comparison.
        "http-floor" => match c.get("/health").await? {
            (200, _) => Ok(()),
            (status, _) => Err(format!("GET /health answered {status}")),
        },
        "get-user" => c.ok("GetUser", &json!({"AccessToken": u.access}), false).await.map(|_| ()),
        "sign-up" => {
            let body = json!({"ClientId": s.client, "Username": fresh_name("s"), "Password": PASSWORD});
            c.ok("SignUp", &body, false).await.map(|_| ())
        }
        "admin-create-user" => {
            let body = json!({"UserPoolId": s.pool, "Username": fresh_name("a"), "MessageAction": "SUPPRESS", "TemporaryPassword": PASSWORD});
            c.ok("AdminCreateUser", &body, true).await.map(|_| ())
        }
        "admin-get-user" => {
            c.ok("AdminGetUser", &json!({"UserPoolId": s.pool, "Username": u.name}), true).await.map(|_| ())
        }
        "list-users" => {
            // A prefix that matches 100 users of the dataset (or the set-up
            // users when there is none); a page is at most 60.
            let filter = if s.dataset >= 100 {
                let n = CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as usize;
                format!("email ^= \"d{:05}\"", (n * 7919) % (s.dataset / 100))
            } else {
                "username ^= \"user0000\"".to_string()
            };
            let r = c.ok("ListUsers", &json!({"UserPoolId": s.pool, "Filter": filter}), true).await?;
            match r["Users"].as_array() {
                Some(users) if !users.is_empty() => Ok(()),
                _ => Err(format!("ListUsers found nobody for {filter}")),
            }
        }
        "srp-sign-in" => {
            let (a, big_a) = srp::client::generate_a();
            let body = json!({"ClientId": s.client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": u.name, "SRP_A": hex::encode(&big_a)}});
            let r = c.ok("InitiateAuth", &body, false).await?;
            let p = &r["ChallengeParameters"];
            let field = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            let pool_name = srp::pool_name(&s.pool);
            let key = srp::client::session_key(
                &a,
                &big_a,
                &field("SRP_B"),
                &field("SALT"),
                pool_name,
                &field("USER_ID_FOR_SRP"),
                PASSWORD,
            )
            .map_err(|e| e.to_string())?;
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let ts = srp::format_timestamp(now);
            let block = field("SECRET_BLOCK");
            let sig = srp::client::claim_signature(&key, pool_name, &field("USER_ID_FOR_SRP"), &block, &ts)
                .map_err(|e| e.to_string())?;
            let body = json!({"ClientId": s.client, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": field("USER_ID_FOR_SRP"), "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": sig, "TIMESTAMP": ts}});
            c.ok("RespondToAuthChallenge", &body, false).await.map(|_| ())
        }
        "client-credentials" => {
            let o = s.oauth.as_ref().ok_or("no OAuth set-up")?;
            let headers = [
                ("content-type", "application/x-www-form-urlencoded".to_string()),
                ("authorization", basic(&o.machine.0, &o.machine.1)),
            ];
            let body = form(&[("grant_type", "client_credentials")]);
            match c.hosted("POST", "/oauth2/token", &o.host, &headers, body).await? {
                (200, _, _) => Ok(()),
                (status, _, body) => Err(format!("client credentials: {status} {}", String::from_utf8_lossy(&body))),
            }
        }
        // Two calls: /oauth2/authorize with the session (a code), then the
        // code's redemption at the token endpoint.
        "code-exchange" => {
            let o = s.oauth.as_ref().ok_or("no OAuth set-up")?;
            let cookie = [("cookie", format!("cognito={}", o.session))];
            let (status, headers, _) = c.hosted("GET", &o.authorize, &o.host, &cookie, String::new()).await?;
            let location = headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
            let code = location
                .split_once("code=")
                .map(|(_, rest)| rest.split('&').next().unwrap_or_default().to_string())
                .ok_or(format!("authorize answered {status} without a code"))?;
            let headers = [
                ("content-type", "application/x-www-form-urlencoded".to_string()),
                ("authorization", basic(&o.web.0, &o.web.1)),
            ];
            let body = form(&[
                ("grant_type", "authorization_code"),
                ("code", &cognate_wire::form::decode(code.as_bytes())),
                ("redirect_uri", "https://app.example.com/cb"),
            ]);
            match c.hosted("POST", "/oauth2/token", &o.host, &headers, body).await? {
                (200, _, _) => Ok(()),
                (status, _, body) => Err(format!("code exchange: {status} {}", String::from_utf8_lossy(&body))),
            }
        }
        other => Err(format!("unknown scenario {other}")),
    }
}

/// USER_PASSWORD_AUTH, then the SOFTWARE_TOKEN_MFA challenge answered with
/// the code of `step`.
async fn mfa_sign_in(c: &mut Conn, s: &Setup, u: &MfaUser, step: i64) -> Result<(), String> {
    let m = s.mfa.as_ref().ok_or("no MFA pool")?;
    let r = c.ok("InitiateAuth", &password_auth(&m.client, &u.name), false).await?;
    if r["ChallengeName"] != "SOFTWARE_TOKEN_MFA" {
        return Err(format!("expected the SOFTWARE_TOKEN_MFA challenge: {r}"));
    }
    let body = json!({"ClientId": m.client, "ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": r["Session"],
        "ChallengeResponses": {"USERNAME": u.name, "SOFTWARE_TOKEN_MFA_CODE": totp::code_at(&u.secret, step)}});
    let r = c.ok("RespondToAuthChallenge", &body, false).await?;
    match r["AuthenticationResult"]["AccessToken"].is_string() {
        true => Ok(()),
        false => Err(format!("no tokens after the code: {r}")),
    }
}

/// The server process's CPU time (user + system), from /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    let f = proc_stat(pid)?;
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis((f[10] + f[11]) * 10))
}

/// The numeric fields of /proc/<pid>/stat after the command name, from the
/// state's successor on: [ppid, pgrp, ..., utime (10), stime (11), cutime
/// (12), cstime (13), ...].
fn proc_stat(pid: u32) -> Option<Vec<u64>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let numbers: Vec<u64> =
        text.rsplit_once(')')?.1.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
    (numbers.len() > 13).then_some(numbers)
}

/// The CPU time of one PostgreSQL server on this machine: its postmaster's
/// user + system time with that of the children it has reaped (so a backend
/// that ends during a scenario still counts), and that of its live
/// children (backends, background workers). None when it is gone.
fn postgres_cpu_time(postmaster: u32) -> Option<Duration> {
    let own = proc_stat(postmaster)?;
    let mut ticks = own[10] + own[11] + own[12] + own[13];
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some(f) = proc_stat(pid).filter(|f| f[0] == u64::from(postmaster)) {
            ticks += f[10] + f[11];
        }
    }
    // USER_HZ is 100 on Linux.
    Some(Duration::from_millis(ticks * 10))
}

/// The postmaster serving `location`: the parent of the server process of
/// a connection made for the purpose.
async fn postmaster_of(location: &cognate_store::Location) -> Option<u32> {
    let store = cognate_store::Store::open(location).await.ok()?;
    let backend = store.postgres_backend_pid().await.ok().flatten();
    store.close().await;
    let ppid = proc_stat(u32::try_from(backend?).ok()?)?[0];
    u32::try_from(ppid).ok()
}

/// Whether a database URL names this machine (PostgreSQL's CPU can be
/// read only there).
fn is_local_database(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host_port.rsplit_once('@').map_or(host_port, |(_, h)| h);
    let host = host
        .strip_prefix('[')
        .map_or_else(|| host.split(':').next().unwrap_or_default(), |h| h.split(']').next().unwrap_or_default());
    matches!(host, "" | "localhost" | "127.0.0.1" | "::1")
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// The fastest of `n` runs of `f`: noise on a shared machine only adds time,
/// so the minimum is the closest to the work's own cost, and it keeps the
/// efficiency figures conservative.
fn min_time(n: usize, mut f: impl FnMut()) -> Duration {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The machine's limit for each scenario: the primitives its operation
/// cannot avoid, through the fastest implementations, called directly.
fn machine_limit(hashing: cognate_argon2::Params) -> Result<Vec<(&'static str, Duration)>, String> {
    use aws_lc_rs::signature::RSA_PKCS1_SHA256;
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(|e| e.to_string())?;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    // A signing input the size of an ID token's.
    let input = vec![b'e'; 900];
    let mut signature = vec![0u8; key.public_modulus_len()];
    let sign = min_time(101, || {
        let _ = key.sign(&RSA_PKCS1_SHA256, &rng, &input, &mut signature);
    });
    let n = srp::group_modulus();
    let modulus = cognate_bn::Modulus::new(&n).ok_or("the SRP group's modulus")?;
    let (base, exp) = (vec![7u8; 383], vec![0xa5u8; 32]);
    let modexp = min_time(41, || {
        let _ = modulus.pow(&base, &exp);
    });
    let argon = argon2id_limit(hashing)?;
    // SRP's server side is three exponentiations with 256-bit exponents
    // (g^b, v^u, (A·v^u)^b); a new verifier is one (g^x).
    Ok(per_scenario(&Primitives {
        argon_verify: argon,
        argon_hash: argon,
        sign,
        srp_server: 3 * modexp,
        verifier: modexp,
    }))
}

/// argon2id's limit with the server's parameters: the faster of
/// RustCrypto's argon2 and cognate-argon2 (on the best compression path
/// this CPU has; the reference C library's optimised build was slower here
/// than the latter: docs/performance.md), alone on an idle core. Hashes
/// running on both cores at once cost more each (they share the memory bus
/// and the last-level cache), but a loaded server does not hash on every
/// core all the time, so that figure is no bound; the idle one is.
fn argon2id_limit(hashing: cognate_argon2::Params) -> Result<Duration, String> {
    let params =
        argon2::Params::new(hashing.m_cost_kib, hashing.t_cost, hashing.lanes, Some(32)).map_err(|e| e.to_string())?;
    let rust_crypto = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params.clone());
    let (password, salt) = (PASSWORD.as_bytes(), b"0123456789abcdef");
    let mut out = [0u8; 32];
    // Each with its working memory reused, as the server does.
    let mut blocks = vec![argon2::Block::new(); params.block_count()];
    let theirs = min_time(9, || {
        let _ = rust_crypto.hash_password_into_with_memory(password, salt, &mut out, &mut blocks);
    });
    let mut memory = Vec::new();
    let ours = min_time(9, || {
        let _ = cognate_argon2::argon2id(password, salt, &hashing, &mut out, &mut memory);
    });
    Ok(theirs.min(ours))
}

/// What one run of each unavoidable primitive costs.
struct Primitives {
    argon_verify: Duration,
    argon_hash: Duration,
    sign: Duration,
    /// SRP's server side of one sign-in: the challenge and the session key.
    srp_server: Duration,
    /// A new SRP verifier (g^x).
    verifier: Duration,
}

/// The cryptography each scenario's operation cannot avoid, from the
/// primitives' costs; the mixed scenario weighted from its parts.
fn per_scenario(p: &Primitives) -> Vec<(&'static str, Duration)> {
    let sign_in = p.argon_verify + 2 * p.sign;
    let new_password = p.argon_hash + p.verifier;
    let mut list = vec![
        ("password-sign-in", sign_in),
        // The second factor's HMAC and the trigger's round trip add no
        // cryptography a sign-in could not do without.
        ("mfa-sign-in", sign_in),
        ("trigger-sign-in", sign_in),
        ("srp-sign-in", p.srp_server + 2 * p.sign),
        ("refresh", 2 * p.sign),
        // A client reuses its access token for the token's hour, and a node
        // checks a token's signature once (then remembers it for a minute):
        // no signature check is unavoidable per GetUser. Its target is CPU
        // per call.
        ("get-user", Duration::ZERO),
        ("sign-up", new_password),
        ("admin-create-user", new_password),
        ("admin-get-user", Duration::ZERO),
        ("list-users", Duration::ZERO),
        // An access token; for a code, the ID and access tokens.
        ("client-credentials", p.sign),
        ("code-exchange", 2 * p.sign),
    ];
    let of = |part: &str| list.iter().find(|(s, _)| *s == part).map_or(Duration::ZERO, |(_, d)| *d);
    let mixed = mixed_of(of);
    list.push(("mixed", mixed));
    list
}

/// The cryptography each scenario cannot avoid, measured here and now.
fn crypto_floor(hashing: cognate_argon2::Params) -> Result<Vec<(&'static str, Duration)>, String> {
    let hash = cognate_idp::passwords::hash(PASSWORD, &hashing).map_err(|e| e.to_string())?;
    let argon = min_time(9, || {
        let _ = cognate_idp::passwords::verify(PASSWORD, &hash);
    });
    let key = jwt::SigningKey::generate("bench").map_err(|e| e.to_string())?;
    let claims: serde_json::Map<String, Value> =
        serde_json::from_value(json!({"sub": "x", "iat": 1, "exp": 2})).unwrap_or_default();
    let sign = min_time(51, || {
        let _ = key.sign(&claims);
    });
    let v = srp::make_verifier("pool", "user", PASSWORD);
    let (_, big_a) = srp::client::generate_a();
    let a_hex = hex::encode(&big_a);
    let srp_server = min_time(21, || {
        if let Ok(ch) = srp::server_challenge(&v.verifier) {
            let _ = srp::session_key(&a_hex, &ch.big_b, &ch.b_secret, &v.verifier);
        }
    });
    let argon_hash = min_time(9, || {
        let _ = cognate_idp::passwords::hash(PASSWORD, &hashing);
    });
    let make_verifier = min_time(21, || {
        let _ = srp::make_verifier("pool", "user", PASSWORD);
    });
    Ok(per_scenario(&Primitives { argon_verify: argon, argon_hash, sign, srp_server, verifier: make_verifier }))
}

#[derive(Debug, serde::Serialize)]
struct Row {
    scenario: String,
    operations: usize,
    errors: usize,
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Unknown (None) for a server this harness did not start.
    server_cpu_us_per_op: Option<f64>,
    /// PostgreSQL's processes' CPU per operation, when the bench database
    /// is PostgreSQL on this machine (not in `server_cpu_us_per_op`).
    #[serde(skip_serializing_if = "Option::is_none")]
    postgres_cpu_us_per_op: Option<f64>,
    crypto_us_per_op: f64,
    /// Crypto ÷ server CPU, where both are known.
    efficiency: Option<f64>,
    /// The server's own count of its CPU time in that cryptography during
    /// the scenario, per operation (a Cognate server publishes it).
    in_server_crypto_us_per_op: Option<f64>,
    /// In-server crypto ÷ server CPU: the share of the server's CPU that
    /// went to the unavoidable cryptography, under the scenario's load.
    in_server_efficiency: Option<f64>,
    /// The machine's limit for the operation ([`machine_limit`]).
    limit_us_per_op: f64,
    /// Server CPU ÷ limit: 1.0 is the machine's best; None where either is
    /// unknown or the limit is zero.
    server_over_limit: Option<f64>,
    /// The first error a worker saw, when there were errors.
    first_error: Option<String>,
    /// For the mixed scenario: each part's count and latency.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parts: Vec<Part>,
}

/// One kind of operation within the mixed scenario.
#[derive(Debug, serde::Serialize)]
struct Part {
    operation: &'static str,
    operations: usize,
    p50_ms: f64,
    p99_ms: f64,
}

/// `io_threads`: the request threads of the server the bench starts (the
/// global `--io-threads` setting).
pub async fn run(args: BenchArgs, io_threads: usize, hashing: cognate_argon2::Params) -> Result<(), String> {
    let scenarios: Vec<String> = if args.scenarios.is_empty() {
        // Another server's trigger functions are not ours to configure.
        SCENARIOS
            .iter()
            .filter(|s| args.endpoint.is_none() || **s != "trigger-sign-in")
            .map(|s| s.to_string())
            .collect()
    } else {
        args.scenarios.clone()
    };
    if let Some(bad) = scenarios.iter().find(|s| !SCENARIOS.contains(&s.as_str())) {
        return Err(format!("unknown scenario {bad}; choose from {}", SCENARIOS.join(", ")));
    }
    if args.endpoint.is_some() && scenarios.iter().any(|s| s == "trigger-sign-in") {
        return Err("trigger-sign-in needs the server the bench starts (it configures the trigger's webhook)".into());
    }
    let runs = |name: &str| scenarios.iter().any(|s| s == name);
    let floor = tokio::task::spawn_blocking(move || crypto_floor(hashing)).await.map_err(|e| e.to_string())??;
    let limit = tokio::task::spawn_blocking(move || machine_limit(hashing)).await.map_err(|e| e.to_string())??;
    let floor = Floors { ours: floor, limit };
    let key = admin_key(args.endpoint.is_some());
    if let Some(endpoint) = &args.endpoint {
        let addr = endpoint.trim_start_matches("http://").trim_end_matches('/').to_string();
        let (pool, client, users) = setup(&addr, &key, args.users.max(1), None).await?;
        let mfa = match runs("mfa-sign-in") {
            true => Some(setup_mfa(&addr, &key, args.users.max(1)).await?),
            false => None,
        };
        let oauth = match runs("client-credentials") || runs("code-exchange") {
            true => Some(setup_oauth(&addr, &key, &pool, &users[0].name).await?),
            false => None,
        };
        let setup = std::sync::Arc::new(Setup {
            pool,
            client,
            users,
            dataset: 0,
            key,
            mfa,
            trigger: None,
            oauth,
            postmaster: None,
        });
        let mut rows = Vec::new();
        for scenario in &scenarios {
            rows.push(run_scenario(scenario, &addr, None, &setup, &args, &floor).await?);
        }
        return report(&args, &rows, &json!({}));
    }

    // The server: this binary, in its own process, on a fresh database.
    let dir = std::env::temp_dir().join(format!("cognate-bench-{}", cognate_crypto::ids::uuid_v4()));
    let location = match &args.database_url {
        Some(url) => cognate_store::Location::Postgres(url.clone()),
        None => cognate_store::Location::SqliteFile(dir.join("cognate.db")),
    };
    let mut webhook = None;
    let result = async {
        let mut facts = serde_json::Map::new();
        let existing = if args.dataset_users > 0 {
            let (pool, client, secs) = load_dataset(&location, &dir, args.dataset_users, hashing).await?;
            facts.insert("dataset_users".into(), json!(args.dataset_users));
            facts.insert("dataset_load_s".into(), json!(secs));
            Some((pool, client))
        } else {
            None
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            l.local_addr().map_err(|e| e.to_string())?.port()
        };
        let addr = format!("127.0.0.1:{port}");
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut command = tokio::process::Command::new(exe);
        command.args(["serve", "--listen", &addr, "--data-dir"]).arg(&dir);
        command.args(["--io-threads", &io_threads.to_string()]);
        let hashing_text = format!("m={},t={},p={}", hashing.m_cost_kib, hashing.t_cost, hashing.lanes);
        command.args(["--password-hashing", &hashing_text]);
        facts.insert("password_hashing".into(), json!(hashing_text));
        facts.insert("io_threads".into(), json!(io_threads));
        if runs("trigger-sign-in") {
            let (url, task) = start_webhook().await?;
            webhook = Some(task);
            let config = dir.join("bench.toml");
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let toml = format!("[functions.\"{TRIGGER_ARN}\"]\nwebhook = \"{url}\"\nwebhook_secret = \"bench\"\n");
            std::fs::write(&config, toml).map_err(|e| e.to_string())?;
            command.arg("--config").arg(config);
        }
        if let Some(url) = &args.database_url {
            command.args(["--database-url", url]);
        }
        let spawned = Instant::now();
        let mut child = command
            .env("COGNATE_ADMIN_ACCESS_KEY_ID", KEY_ID)
            .env("COGNATE_ADMIN_SECRET_ACCESS_KEY", KEY_SECRET)
            // Warnings only unless COGNATE_LOG says otherwise: at "info" the
            // server writes a line per request (see docs/performance.md).
            .env("COGNATE_LOG", std::env::var("COGNATE_LOG").unwrap_or_else(|_| "warn".into()))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let pid = child.id().ok_or("server exited")?;
        let measured = async {
            wait_ready(&addr, &key).await?;
            facts.insert("start_to_ready_ms".into(), json!(spawned.elapsed().as_millis() as u64));
            facts.insert("idle_rss_kib".into(), json!(rss_kib(pid)));
            let (pool, client, users) = setup(&addr, &key, args.users.max(1), existing).await?;
            let mfa = match runs("mfa-sign-in") {
                true => Some(setup_mfa(&addr, &key, args.users.max(1)).await?),
                false => None,
            };
            let trigger = match runs("trigger-sign-in") {
                true => Some(setup_trigger(&addr, &key, args.users.max(1)).await?),
                false => None,
            };
            let oauth = match runs("client-credentials") || runs("code-exchange") {
                true => Some(setup_oauth(&addr, &key, &pool, &users[0].name).await?),
                false => None,
            };
            let (dataset, key) = (args.dataset_users, key.clone());
            let postmaster = match &args.database_url {
                Some(url) if is_local_database(url) => postmaster_of(&location).await,
                _ => None,
            };
            let setup =
                std::sync::Arc::new(Setup { pool, client, users, dataset, key, mfa, trigger, oauth, postmaster });
            let mut rows = Vec::new();
            for scenario in &scenarios {
                rows.push(run_scenario(scenario, &addr, Some(pid), &setup, &args, &floor).await?);
            }
            facts.insert("rss_after_kib".into(), json!(rss_kib(pid)));
            facts.insert("inline_crypto_calls".into(), json!(inline_crypto_calls(&addr, &setup.key).await));
            Ok::<_, String>(rows)
        }
        .await;
        let _ = child.kill().await;
        Ok::<_, String>((measured?, facts))
    }
    .await;
    if let Some(task) = webhook {
        task.abort();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (mut rows, facts) = result?;
    // The floor and the limit again, now that the machine has warmed up:
    // each scenario's is the lower of the two measurements (noise only ever
    // adds time).
    let again = tokio::task::spawn_blocking(move || crypto_floor(hashing)).await.map_err(|e| e.to_string())??;
    let limit_again =
        tokio::task::spawn_blocking(move || machine_limit(hashing)).await.map_err(|e| e.to_string())??;
    for r in &mut rows {
        if let Some((_, d)) = again.iter().find(|(s, _)| *s == r.scenario) {
            let us = d.as_secs_f64() * 1e6;
            if us < r.crypto_us_per_op {
                r.crypto_us_per_op = us;
                r.efficiency = efficiency(us, r.server_cpu_us_per_op);
            }
        }
        if let Some((_, d)) = limit_again.iter().find(|(s, _)| *s == r.scenario) {
            let us = d.as_secs_f64() * 1e6;
            if us < r.limit_us_per_op {
                r.limit_us_per_op = us;
                r.server_over_limit = over_limit(r.server_cpu_us_per_op, us);
            }
        }
    }
    report(&args, &rows, &Value::Object(facts))
}

/// Polls `/ready` until the server answers 200.
async fn wait_ready(addr: &str, key: &(String, String)) -> Result<(), String> {
    let started = Instant::now();
    loop {
        if let Ok(mut c) = Conn::open(addr, key).await
            && let Ok((200, _)) = c.get("/ready").await
        {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(60) {
            return Err("the server did not become ready".to_string());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn report(args: &BenchArgs, rows: &[Row], facts: &Value) -> Result<(), String> {
    if args.json {
        let mut out = json!({"concurrency": args.concurrency, "duration_s": args.duration, "scenarios": rows});
        if let (Some(o), Some(f)) = (out.as_object_mut(), facts.as_object()) {
            o.extend(f.clone());
        }
        println!("{out}");
        return Ok(());
    }
    let pg = rows.iter().any(|r| r.postgres_cpu_us_per_op.is_some());
    println!(
        "{:<18} {:>9} {:>6} {:>10} {:>8} {:>8} {:>8} {:>14} {:>12} {:>10} {:>22} {:>14} {:>11} {:>12} {:>14}",
        "scenario",
        "ops",
        "errors",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "server µs/op",
        "crypto µs/op",
        "efficiency",
        "in-server crypto µs/op",
        "in-server eff.",
        "limit µs/op",
        "server÷limit",
        if pg { "postgres µs/op" } else { "" }
    );
    for r in rows {
        let efficiency = r.efficiency.map_or("-".into(), |e| format!("{e:.2}"));
        let server = r.server_cpu_us_per_op.map_or("-".into(), |us| format!("{us:.0}"));
        let in_server = r.in_server_crypto_us_per_op.map_or("-".into(), |us| format!("{us:.0}"));
        let in_server_eff = r.in_server_efficiency.map_or("-".into(), |e| format!("{e:.2}"));
        let over = r.server_over_limit.map_or("-".into(), |x| format!("{x:.2}"));
        let postgres = match (pg, r.postgres_cpu_us_per_op) {
            (false, _) => String::new(),
            (true, us) => us.map_or("-".into(), |us| format!("{us:.0}")),
        };
        println!(
            "{:<18} {:>9} {:>6} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>14} {:>12.0} {:>10} {:>22} {:>14} {:>11.0} {:>12} {:>14}",
            r.scenario,
            r.operations,
            r.errors,
            r.ops_per_sec,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            server,
            r.crypto_us_per_op,
            efficiency,
            in_server,
            in_server_eff,
            r.limit_us_per_op,
            over,
            postgres
        );
    }
    for r in rows {
        for p in &r.parts {
            println!(
                "  {} within {}: {} ops, p50 {:.2} ms, p99 {:.2} ms",
                p.operation, r.scenario, p.operations, p.p50_ms, p.p99_ms
            );
        }
    }
    for r in rows {
        if let Some(e) = &r.first_error {
            println!("{}: {} errors, the first: {e}", r.scenario, r.errors);
        }
    }
    if let Some(f) = facts.as_object() {
        for (k, v) in f {
            println!("{k}: {v}");
        }
    }
    Ok(())
}

async fn run_scenario(
    scenario: &str,
    addr: &str,
    pid: Option<u32>,
    setup: &std::sync::Arc<Setup>,
    args: &BenchArgs,
    floor: &Floors,
) -> Result<Row, String> {
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let meter_before = crypto_meter(addr, &setup.key).await;
    let cpu_before = pid.and_then(cpu_time);
    // PostgreSQL's own CPU, when its server runs on this machine.
    let pg_before = setup.postmaster.and_then(postgres_cpu_time);
    let started = Instant::now();
    let mut tasks = Vec::new();
    let workers = args.concurrency.max(1);
    for w in 0..workers {
        let (setup, addr, scenario) = (setup.clone(), addr.to_string(), scenario.to_string());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr, &setup.key).await?;
            let (mut latencies, mut errors, mut i) = (Vec::new(), 0usize, w);
            let mut first_error = None;
            while Instant::now() < deadline {
                let actor = match (scenario.as_str(), &setup.mfa, &setup.trigger) {
                    ("mfa-sign-in", Some(mfa), _) => match claim_step(&mfa.users, w, workers) {
                        Some((user, step)) => Actor::Totp(user, step),
                        None => {
                            // This worker's users have used this step's code
                            // and the next: wait (untimed) for the next step.
                            let into_step = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_millis() as u64 % 30_000);
                            let wait = Duration::from_millis(30_000 - into_step + 20);
                            tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
                            continue;
                        }
                    },
                    ("trigger-sign-in", _, Some((_, users))) => {
                        Actor::User(users.get(i % users.len().max(1)).ok_or("no trigger pool users")?)
                    }
                    _ => Actor::User(setup.users.get(i % setup.users.len()).ok_or("no users")?),
                };
                // The mixed scenario cycles through its parts.
                let (part, op) = match scenario.as_str() {
                    "mixed" => (i % MIX.len(), MIX[i % MIX.len()]),
                    other => (0, other),
                };
                i += 1;
                let t = Instant::now();
                match operation(op, &mut conn, &setup, actor).await {
                    Ok(()) => latencies.push((part, t.elapsed())),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                        conn = Conn::open(&addr, &setup.key).await?;
                    }
                }
            }
            Ok::<_, String>((latencies, errors, first_error))
        }));
    }
    let mut timed: Vec<(usize, Duration)> = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for t in tasks {
        let (l, e, first) = t.await.map_err(|e| e.to_string())??;
        timed.extend(l);
        errors += e;
        first_error = first_error.or(first);
    }
    let parts = if scenario == "mixed" { mixed_parts(&timed) } else { Vec::new() };
    let mut latencies: Vec<Duration> = timed.into_iter().map(|(_, d)| d).collect();
    let wall = started.elapsed();
    let cpu = match (cpu_before, pid.and_then(cpu_time)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let pg_cpu = match (pg_before, setup.postmaster.and_then(postgres_cpu_time)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let in_server_crypto = match (meter_before, crypto_meter(addr, &setup.key).await) {
        (Some(a), Some(b)) if !latencies.is_empty() && !unavoidable_calls(scenario).is_empty() => {
            Some(in_server_crypto_us(scenario, &a, &b, latencies.len()))
        }
        _ => None,
    };
    latencies.sort();
    let ops = latencies.len();
    let pct = |p: f64| {
        latencies.get(((ops as f64 * p) as usize).min(ops.saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let server_us = cpu.filter(|_| ops > 0).map(|cpu| cpu.as_secs_f64() * 1e6 / ops as f64);
    let postgres_us = pg_cpu.filter(|_| ops > 0).map(|cpu| cpu.as_secs_f64() * 1e6 / ops as f64);
    let us_of = |list: &[(&'static str, Duration)]| {
        list.iter().find(|(s, _)| *s == scenario).map_or(0.0, |(_, d)| d.as_secs_f64() * 1e6)
    };
    let (crypto_us, limit_us) = (us_of(&floor.ours), us_of(&floor.limit));
    Ok(Row {
        scenario: scenario.to_string(),
        operations: ops,
        errors,
        ops_per_sec: ops as f64 / wall.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        server_cpu_us_per_op: server_us,
        postgres_cpu_us_per_op: postgres_us,
        crypto_us_per_op: crypto_us,
        efficiency: efficiency(crypto_us, server_us),
        in_server_crypto_us_per_op: in_server_crypto,
        in_server_efficiency: in_server_crypto.and_then(|c| efficiency(c, server_us)),
        limit_us_per_op: limit_us,
        server_over_limit: over_limit(server_us, limit_us),
        first_error,
        parts,
    })
}

/// Percentile `p` of sorted latencies, in ms.
fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let at = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(at).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The mixed scenario's latencies by part (`MIX` slot → operation).
fn mixed_parts(timed: &[(usize, Duration)]) -> Vec<Part> {
    MIX_PARTS
        .iter()
        .map(|(operation, _)| {
            let mut l: Vec<Duration> =
                timed.iter().filter(|(slot, _)| MIX[*slot] == *operation).map(|(_, d)| *d).collect();
            l.sort();
            Part { operation, operations: l.len(), p50_ms: percentile_ms(&l, 0.50), p99_ms: percentile_ms(&l, 0.99) }
        })
        .collect()
}

/// The cryptography each scenario's operation cannot avoid, as the
/// server's meter names it: (kind, calls per operation). SRP's server side
/// is two calls (the challenge, then the session key).
fn unavoidable_calls(scenario: &str) -> &'static [(&'static str, f64)] {
    match scenario {
        "password-sign-in" | "mfa-sign-in" | "trigger-sign-in" => &[("argon2id", 1.0), ("rs256_sign", 2.0)],
        "srp-sign-in" => &[("srp_server", 2.0), ("rs256_sign", 2.0)],
        "refresh" | "code-exchange" => &[("rs256_sign", 2.0)],
        "client-credentials" => &[("rs256_sign", 1.0)],
        // 5 % password sign-ins, 15 % refreshes.
        "mixed" => &[("argon2id", 0.05), ("rs256_sign", 0.4)],
        "sign-up" | "admin-create-user" => &[("argon2id", 1.0), ("srp_verifier", 1.0)],
        _ => &[],
    }
}

/// The server's `/metrics` text; None for a server that does not publish it.
async fn metrics_text(addr: &str, key: &(String, String)) -> Option<String> {
    let (status, body) = Conn::open(addr, key).await.ok()?.get("/metrics").await.ok()?;
    String::from_utf8(body.to_vec()).ok().filter(|_| status == 200)
}

/// Each `name{kind="…"} value` series of a Prometheus text, by kind.
fn by_kind(text: &str, name: &str) -> HashMap<String, f64> {
    text.lines()
        .filter_map(|line| {
            let (kind, value) = line.strip_prefix(name)?.strip_prefix("{kind=\"")?.split_once("\"} ")?;
            Some((kind.to_string(), value.parse().ok()?))
        })
        .collect()
}

/// The server's meter so far, from its `/metrics`: (calls, CPU seconds) by
/// kind; None for a server that does not publish it.
async fn crypto_meter(addr: &str, key: &(String, String)) -> Option<HashMap<String, (f64, f64)>> {
    let text = metrics_text(addr, key).await?;
    let cpu = by_kind(&text, "cognate_crypto_cpu_seconds_total");
    let meter: HashMap<String, (f64, f64)> = by_kind(&text, "cognate_crypto_calls_total")
        .into_iter()
        .map(|(kind, calls)| {
            let seconds = cpu.get(&kind).copied().unwrap_or(0.0);
            (kind, (calls, seconds))
        })
        .collect();
    (!meter.is_empty()).then_some(meter)
}

/// Calls of the slow cryptography (everything but RS256 verification) the
/// server made outside its crypto threads: 0 unless a request thread did it.
async fn inline_crypto_calls(addr: &str, key: &(String, String)) -> Option<f64> {
    let text = metrics_text(addr, key).await?;
    let inline = by_kind(&text, "cognate_crypto_inline_calls_total");
    (!inline.is_empty()).then(|| inline.iter().filter(|(kind, _)| *kind != "rs256_verify").map(|(_, n)| n).sum())
}

/// The server's CPU µs per operation in the cryptography the scenario
/// cannot avoid, between two meter readings. Only the expected calls count:
/// a kind called more often than the operation needs contributes the
/// expected share of its time, so extra cryptography is overhead.
fn in_server_crypto_us(
    scenario: &str,
    before: &HashMap<String, (f64, f64)>,
    after: &HashMap<String, (f64, f64)>,
    ops: usize,
) -> f64 {
    let ops = ops as f64;
    unavoidable_calls(scenario)
        .iter()
        .map(|(kind, per_op)| {
            let (c0, s0) = before.get(*kind).copied().unwrap_or_default();
            let (c1, s1) = after.get(*kind).copied().unwrap_or_default();
            let (calls, secs) = (c1 - c0, s1 - s0);
            if calls <= 0.0 { 0.0 } else { secs * (per_op * ops / calls).min(1.0) }
        })
        .sum::<f64>()
        * 1e6
        / ops
}

/// Unavoidable crypto time ÷ server CPU time, where there is crypto to
/// compare and the server's CPU time is known.
/// What a run measures its scenarios against: the floor with Cognate's own
/// cryptography, and the machine's limit.
struct Floors {
    ours: Vec<(&'static str, Duration)>,
    limit: Vec<(&'static str, Duration)>,
}

fn over_limit(server_us: Option<f64>, limit_us: f64) -> Option<f64> {
    server_us.filter(|_| limit_us > 0.0).map(|s| s / limit_us)
}

fn efficiency(crypto_us: f64, server_us: Option<f64>) -> Option<f64> {
    server_us.filter(|&us| us > 0.0 && crypto_us > 0.0).map(|us| crypto_us / us)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(entries: &[(&str, f64, f64)]) -> HashMap<String, (f64, f64)> {
        entries.iter().map(|(k, calls, secs)| (k.to_string(), (*calls, *secs))).collect()
    }

    #[test]
    fn in_server_crypto_counts_only_the_calls_an_operation_needs() {
        let before = meter(&[("rs256_sign", 10.0, 1.0), ("argon2id", 5.0, 2.0)]);
        // 10 refreshes, 2 signatures each, 4 ms a signature: 8 ms per refresh.
        let after = meter(&[("rs256_sign", 30.0, 1.08), ("argon2id", 5.0, 2.0)]);
        assert!((in_server_crypto_us("refresh", &before, &after, 10) - 8_000.0).abs() < 1e-6);
        // A server that signed three times per refresh: the third is overhead.
        let after = meter(&[("rs256_sign", 40.0, 1.12), ("argon2id", 5.0, 2.0)]);
        assert!((in_server_crypto_us("refresh", &before, &after, 10) - 8_000.0).abs() < 1e-6);
        // Cryptography of another kind is not the operation's.
        let after = meter(&[("rs256_sign", 30.0, 1.08), ("argon2id", 15.0, 2.5)]);
        assert!((in_server_crypto_us("refresh", &before, &after, 10) - 8_000.0).abs() < 1e-6);
        assert_eq!(unavoidable_calls("get-user"), &[] as &[(&str, f64)]);
    }
}
