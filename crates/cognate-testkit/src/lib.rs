//! The test harness: the real server, in-process, on `127.0.0.1:0`, and a raw
//! requester that speaks HTTP/1.1 to it and signs with SigV4 (or deliberately
//! does not), for requests an SDK would never send.
//!
//! Every server gets its own database: a SQLite file in a fresh temporary
//! directory (the engine `cognate serve` runs by default), in-memory SQLite,
//! or a throw-away PostgreSQL database when [`Backend::Postgres`] is asked
//! for.
//! The clock is a [`ManualClock`] starting at the real time, so a test can
//! move it (signature skew, expiry) without sleeping. `stop` shuts the server
//! down and drops its PostgreSQL database.

use cognate_crypto::seal::MasterKey;
use cognate_crypto::sigv4;
use cognate_idp::{Clock as _, Idp, Issuer, ManualClock, SystemClock};
use cognate_store::{Location, Store};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

pub const ACCESS_KEY_ID: &str = "AKIATESTKIT000000001";
pub const SECRET_ACCESS_KEY: &str = "testkit/secret/access/key/0000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    SqliteMemory,
    /// A SQLite file in a new temporary directory, removed by `stop`.
    SqliteTemp,
    SqliteFile(std::path::PathBuf),
    /// A fresh database on the server named by `COGNATE_TEST_POSTGRES_URL`.
    Postgres,
}

impl Backend {
    /// The backends this run can test: a SQLite file always, PostgreSQL when
    /// `COGNATE_TEST_POSTGRES_URL` is set. With `COGNATE_REQUIRE_POSTGRES=1`
    /// (CI) a missing URL is an error, not a silent skip.
    pub fn all() -> Vec<Backend> {
        let mut v = vec![Backend::SqliteTemp];
        if std::env::var("COGNATE_TEST_POSTGRES_URL").is_ok() {
            v.push(Backend::Postgres);
        } else if std::env::var("COGNATE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            panic!("COGNATE_REQUIRE_POSTGRES=1 but COGNATE_TEST_POSTGRES_URL is unset");
        }
        v
    }
}

#[derive(Debug)]
pub struct TestServer {
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub idp: Idp,
    audit: cognate_idp::audit::Auditor,
    pub master_key: MasterKey,
    running: Option<cognate_server::Running>,
    pg_database: Option<(String, String)>,
    temp_dir: Option<std::path::PathBuf>,
}

static NEXT_DB: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, cognate_server::Config::default(), MasterKey::generate()).await
    }

    pub async fn start_with(backend: Backend, config: cognate_server::Config, master_key: MasterKey) -> TestServer {
        Self::start_full(backend, config, master_key, None, |idp| idp).await
    }

    /// A server speaking TLS with the certificate chain and key in these PEM
    /// files; its public URL (and so the hosted domains' URLs) is https.
    pub async fn start_tls(backend: Backend, cert: &str, key: &str) -> TestServer {
        let tls = cognate_server::tls::server_config(cert, key).expect("TLS configuration");
        Self::start_inner(backend, cognate_server::Config::default(), MasterKey::generate(), None, Some(tls), |i| i)
            .await
    }

    /// One node of several sharing a database: the same master key and the
    /// same public URL (the token issuer), as nodes behind one load balancer.
    pub async fn start_node(backend: Backend, master_key: MasterKey, public_url: &str) -> TestServer {
        Self::start_full(backend, cognate_server::Config::default(), master_key, Some(public_url.into()), |idp| idp)
            .await
    }

    /// A server whose pools run their Lambda triggers through `invoker`.
    pub async fn start_with_invoker(backend: Backend, invoker: Arc<dyn cognate_idp::triggers::Invoker>) -> TestServer {
        Self::start_with_idp(backend, move |idp| idp.with_invoker(invoker)).await
    }

    /// A server whose user-pool service `customize` set up (an invoker, an
    /// SMS sender ...).
    pub async fn start_with_idp(backend: Backend, customize: impl FnOnce(Idp) -> Idp) -> TestServer {
        Self::start_full(backend, cognate_server::Config::default(), MasterKey::generate(), None, customize).await
    }

    async fn start_full(
        backend: Backend,
        config: cognate_server::Config,
        master_key: MasterKey,
        public_url: Option<String>,
        customize: impl FnOnce(Idp) -> Idp,
    ) -> TestServer {
        Self::start_inner(backend, config, master_key, public_url, None, customize).await
    }

    async fn start_inner(
        backend: Backend,
        config: cognate_server::Config,
        master_key: MasterKey,
        public_url: Option<String>,
        tls: Option<std::sync::Arc<cognate_server::tls::ServerConfig>>,
        customize: impl FnOnce(Idp) -> Idp,
    ) -> TestServer {
        let mut pg_database = None;
        let mut temp_dir = None;
        let location = match &backend {
            Backend::SqliteMemory => Location::SqliteMemory,
            Backend::SqliteTemp => {
                let n = NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let dir = std::env::temp_dir().join(format!(
                    "cognate-it-{}-{n}-{}",
                    std::process::id(),
                    cognate_crypto::ids::uuid_v4()
                ));
                temp_dir = Some(dir.clone());
                Location::SqliteFile(dir.join("cognate.db"))
            }
            Backend::SqliteFile(p) => Location::SqliteFile(p.clone()),
            Backend::Postgres => {
                let server = std::env::var("COGNATE_TEST_POSTGRES_URL").expect("COGNATE_TEST_POSTGRES_URL");
                let n = NEXT_DB.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let name = format!("cognate_it_{}_{n}", std::process::id());
                let url = cognate_store::scratch::create_database(&server, &name).await.expect("create test database");
                pg_database = Some((server, name));
                Location::Postgres(url)
            }
        };
        let store = Store::open(&location).await.expect("open store");
        let clock = ManualClock::new(SystemClock.now_ms());
        let account = config.account_id.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let scheme = if tls.is_some() { "https" } else { "http" };
        let issuer = Issuer::PublicUrl(
            public_url.unwrap_or_else(|| format!("{scheme}://{}", listener.local_addr().expect("local address"))),
        );
        let idp = customize(Idp::new(store, master_key.clone(), Arc::new(clock.clone()), account, issuer));
        idp.ensure_admin_key(ACCESS_KEY_ID, SECRET_ACCESS_KEY).await.expect("admin key");
        let app = cognate_server::AppState::new(config, idp.clone());
        let audit = app.audit.clone();
        let running = match tls {
            Some(tls) => cognate_server::start_tls(listener, app, tls).expect("start server"),
            None => cognate_server::start(listener, app).expect("start server"),
        };
        TestServer { addr: running.addr, clock, idp, audit, master_key, running: Some(running), pg_database, temp_dir }
    }

    /// The audit records written so far (after waiting for queued ones).
    /// The server's audit writer (for invokers that record invocations).
    pub fn auditor(&self) -> cognate_idp::audit::Auditor {
        self.audit.clone()
    }

    pub async fn audit_log(&self) -> Vec<cognate_store::AuditRow> {
        self.audit.flush().await;
        self.idp.store().list_audit(&Default::default(), 10_000).await.expect("read the audit log")
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A requester signing as the admin key, in `region`.
    pub fn client(&self, region: &str) -> Requester {
        Requester {
            addr: self.addr,
            region: region.into(),
            key: Some((ACCESS_KEY_ID.into(), SECRET_ACCESS_KEY.into())),
            clock: self.clock.clone(),
        }
    }

    /// A requester that does not sign.
    pub fn unsigned(&self) -> Requester {
        Requester { addr: self.addr, region: "us-east-1".into(), key: None, clock: self.clock.clone() }
    }

    /// Stops the server, closes the store and drops a PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("graceful shutdown");
        }
        self.idp.store().close().await;
        if let Some((server, name)) = self.pg_database.take() {
            cognate_store::scratch::drop_database(&server, &name).await.expect("drop test database");
        }
        if let Some(dir) = self.temp_dir.take() {
            std::fs::remove_dir_all(&dir).expect("remove the test database directory");
        }
    }
}

/// An HTTP response as the tests look at it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The AWS error name of a JSON error, if this is one.
    pub fn error_type(&self) -> Option<String> {
        self.json().get("__type").and_then(Value::as_str).map(str::to_string)
    }
}

#[derive(Debug, Clone)]
pub struct Requester {
    addr: SocketAddr,
    pub region: String,
    key: Option<(String, String)>,
    clock: ManualClock,
}

/// A request to send: method, path (with query), extra headers, body.
#[derive(Debug, Clone, Default)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sign for this service instead of the default `cognito-idp`.
    pub service: Option<String>,
    /// Sign as of this many seconds from the server's clock.
    pub skew_secs: i64,
}

impl Requester {
    pub fn with_key(mut self, id: &str, secret: &str) -> Self {
        self.key = Some((id.into(), secret.into()));
        self
    }

    /// `POST /` with `X-Amz-Target: AWSCognitoIdentityProviderService.<op>`.
    pub async fn idp(&self, op: &str, body: Value) -> Response {
        self.json_call("AWSCognitoIdentityProviderService", op, body, "cognito-idp").await
    }

    pub async fn json_call(&self, prefix: &str, op: &str, body: Value, service: &str) -> Response {
        self.send(Req {
            method: "POST".into(),
            path: "/".into(),
            headers: vec![
                ("content-type".into(), "application/x-amz-json-1.1".into()),
                ("x-amz-target".into(), format!("{prefix}.{op}")),
            ],
            body: body.to_string().into_bytes(),
            service: Some(service.into()),
            skew_secs: 0,
        })
        .await
    }

    /// Sends `req`, signed unless this requester has no key.
    pub async fn send(&self, req: Req) -> Response {
        let host = self.addr.to_string();
        let mut headers = req.headers.clone();
        headers.push(("host".into(), host.clone()));
        if let Some((id, secret)) = &self.key {
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (path, query) = req.path.split_once('?').unwrap_or((req.path.as_str(), ""));
            let sreq = sigv4::Request { method: &req.method, path, query, headers: &pairs, body: &req.body };
            let now = self.clock.now_ms() / 1000 + req.skew_secs;
            let service = req.service.as_deref().unwrap_or("cognito-idp");
            let added = sigv4::sign(&sreq, id, secret, &self.region, service, now);
            headers.extend(added);
        }
        raw_http(self.addr, &req.method, &req.path, &headers, &req.body).await
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`).
pub async fn raw_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Response {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    if !has_host {
        head.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.expect("write head");
    // The server may answer (413) and close before the whole body is sent.
    let _ = stream.write_all(body).await;
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    parse_response(&buf)
}

fn parse_response(buf: &[u8]) -> Response {
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut raw_body = buf.get(split + 4..).unwrap_or_default().to_vec();
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        raw_body = dechunk(&raw_body);
    }
    Response { status, headers, body: raw_body }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        let Some(chunk) = data.get(start..start + size) else { break };
        out.extend_from_slice(chunk);
        data = data.get(start + size + 2..).unwrap_or_default();
    }
    out
}
