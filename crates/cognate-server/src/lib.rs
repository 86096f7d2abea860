//! The HTTP edge: everything between a socket and the domain services.
//!
//! One generic server owns what every request shares: a request id on every
//! response, CORS, the body limit, SigV4 for every operation the model does not
//! mark `noAuth`, model validation, error rendering, metrics and logs. The
//! three AWS protocols are thin adapters over it:
//!
//! * [`protocol::awsjson`]: `POST /` with `X-Amz-Target` (user pools, identity
//!   pools, Verified Permissions);
//! * [`protocol::query`]: form-encoded `Action=` with XML answers (STS);
//! * [`protocol::restjson`]: the Cognito Sync paths under `/identitypools`.
//!
//! Each routes to a per-service table ([`dispatch`]) that maps an operation to
//! a thin handler calling the domain, or to nothing, which answers a clear
//! "not supported yet" error; docs/compatibility.md is generated from those
//! tables. This crate knows no SQL and no Cognito rules.

pub mod audit;
mod auth;
pub mod dispatch;
mod error;
mod metrics;
pub mod protocol;
pub mod tls;

pub use error::ApiError;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cognate_idp::Idp;
use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the HTTP edge, passed in (never global).
#[derive(Debug, Clone)]
pub struct Config {
    /// The region of unsigned calls (a signed call's region is in its scope).
    pub default_region: String,
    /// The account id in ARNs.
    pub account_id: String,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { default_region: "us-east-1".into(), account_id: "000000000000".into(), body_limit: 1024 * 1024 }
    }
}

/// What every handler can reach.
#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub idp: Idp,
    pub audit: cognate_idp::audit::Auditor,
    metrics: metrics::Metrics,
}

pub type App = Arc<AppState>;

impl AppState {
    /// Must be called inside a Tokio runtime: it starts the audit writer.
    pub fn new(config: Config, idp: Idp) -> App {
        let audit = idp.start_auditor();
        Arc::new(AppState { config, idp, audit, metrics: metrics::Metrics::default() })
    }
}

/// The whole router: a pool domain's requests (by their Host) go to the
/// hosted OAuth endpoints and pages of `cognate-login`; the rest are the API.
pub fn router(app: App) -> Router {
    let login = cognate_login::router(app.idp.clone());
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/_cognate/outbox", get(outbox))
        .route("/{pool_id}/.well-known/jwks.json", get(jwks))
        .route("/{pool_id}/.well-known/openid-configuration", get(openid_configuration))
        .route("/", axum::routing::post(protocol::post_root).get(protocol::query::get_root))
        .route("/identitypools", axum::routing::any(protocol::restjson::handle))
        .route("/identitypools/{*rest}", axum::routing::any(protocol::restjson::handle))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state((app.clone(), login), by_host))
        .layer(middleware::from_fn(edge))
        .with_state(app)
}

/// Sends a request whose Host is a pool domain to the hosted endpoints,
/// with the domain in its extensions. An IP address is never a domain.
async fn by_host(State((app, login)): State<(App, Router)>, mut req: Request, next: Next) -> Response {
    let host =
        req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| req.uri().host()).unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if name.is_empty() || name.parse::<std::net::IpAddr>().is_ok() {
        return next.run(req).await;
    }
    match app.idp.domain_of_host(name).await {
        Ok(Some(domain)) => {
            req.extensions_mut().insert(domain);
            use tower::ServiceExt as _;
            match login.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            }
        }
        Ok(None) => next.run(req).await,
        Err(e) => ApiError::from(e).into_json(),
    }
}

/// A running server; dropping the handle does not stop it, `shutdown` does.
#[derive(Debug)]
pub struct Running {
    pub addr: SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to 10 s), returns.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        match tokio::time::timeout(Duration::from_secs(10), self.task).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(std::io::Error::other(e)),
            Err(_) => Err(std::io::Error::other("shutdown timed out")),
        }
    }

    /// Waits until the server stops by itself or `signal` completes.
    pub async fn until<F: std::future::Future<Output = ()>>(self, signal: F) -> std::io::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

/// Serves `app` on an already-bound listener.
pub fn start(listener: tokio::net::TcpListener, app: App) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let service = router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    Ok(spawn_serving(addr, app, move |stop| axum::serve(listener, service).with_graceful_shutdown(stop).into_future()))
}

/// Serves `app` over TLS on an already-bound listener.
pub fn start_tls(
    listener: tokio::net::TcpListener,
    app: App,
    config: Arc<tokio_rustls::rustls::ServerConfig>,
) -> std::io::Result<Running> {
    let listener = tls::TlsListener::new(listener, config)?;
    let addr = axum::serve::Listener::local_addr(&listener)?;
    // The peer as the rest of the edge reads it (ConnectInfo<SocketAddr>).
    let service = router(app.clone())
        .layer(middleware::map_request(|mut req: Request| async move {
            let peer = req.extensions().get::<axum::extract::ConnectInfo<tls::TlsPeer>>().map(|c| c.0.0);
            if let Some(peer) = peer {
                req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            }
            req
        }))
        .into_make_service_with_connect_info::<tls::TlsPeer>();
    Ok(spawn_serving(addr, app, move |stop| axum::serve(listener, service).with_graceful_shutdown(stop).into_future()))
}

/// Runs the server future `serve` makes (given the signal to stop
/// accepting), then flushes the audit log: what plain and TLS serving share.
fn spawn_serving<F>(
    addr: SocketAddr,
    app: App,
    serve: impl FnOnce(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) -> F,
) -> Running
where
    F: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
{
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let signal = Box::pin(async move {
        let _ = stopped.wait_for(|s| *s).await;
    });
    let served = serve(signal);
    let task = tokio::spawn(async move {
        let served = served.await;
        app.audit.flush().await;
        served
    });
    Running { addr, stop, task }
}

/// Request id, CORS and logging for every response, whatever produced it.
async fn edge(req: Request, next: Next) -> Response {
    let request_id = cognate_crypto::ids::uuid_v4();
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut resp = if req.method() == Method::OPTIONS {
        preflight(req.headers())
    } else {
        let mut req = req;
        req.extensions_mut().insert(RequestId(request_id.clone()));
        next.run(req).await
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-amzn-requestid", v);
    }
    if origin.is_some() {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"),
        );
    }
    resp
}

/// The id of the request being handled, as sent back in `x-amzn-RequestId`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Browser SDKs call the API directly: allow them, any origin, any header.
fn preflight(headers: &HeaderMap) -> Response {
    let allow_headers = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("content-type,x-amz-target,x-amz-user-agent,authorization,x-amz-date,x-amz-security-token,amz-sdk-invocation-id,amz-sdk-request"));
    let mut resp = StatusCode::OK.into_response();
    let h = resp.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET,POST,PUT,DELETE,OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    resp
}

async fn health() -> Response {
    json_ok(r#"{"status":"ok"}"#)
}

async fn ready(State(app): State<App>) -> Response {
    match app.idp.ready().await {
        Ok(()) => json_ok(r#"{"status":"ready"}"#),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"status":"unavailable"}"#,
            )
                .into_response()
        }
    }
}

async fn metrics_text(State(app): State<App>) -> Response {
    let text = app.metrics.render() + &cognate_outbound::lambda::render_metrics() + &crypto_metrics();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// CPU time in the cryptography operations cannot avoid (see
/// `cognate_crypto::meter`).
fn crypto_metrics() -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "# HELP cognate_crypto_calls_total Calls of unavoidable cryptography, by kind.\n\
         # TYPE cognate_crypto_calls_total counter\n",
    );
    let totals = cognate_crypto::meter::snapshot();
    for t in &totals {
        let _ = writeln!(out, "cognate_crypto_calls_total{{kind=\"{}\"}} {}", t.kind.name(), t.calls);
    }
    out.push_str(
        "# HELP cognate_crypto_cpu_seconds_total Thread CPU time in that cryptography, by kind.\n\
         # TYPE cognate_crypto_cpu_seconds_total counter\n",
    );
    for t in &totals {
        let _ = writeln!(
            out,
            "cognate_crypto_cpu_seconds_total{{kind=\"{}\"}} {}",
            t.kind.name(),
            t.cpu_nanos as f64 / 1e9
        );
    }
    out.push_str(
        "# HELP cognate_crypto_inline_calls_total Of those calls, the ones made outside the crypto threads (only rs256_verify is meant to be there).\n\
         # TYPE cognate_crypto_inline_calls_total counter\n",
    );
    for t in &totals {
        let _ = writeln!(out, "cognate_crypto_inline_calls_total{{kind=\"{}\"}} {}", t.kind.name(), t.inline_calls);
    }
    out
}

/// The outbox (admin only, SigV4 for `cognito-idp`): the messages Cognate
/// would have sent, newest first. Query: `pool`, `destination`, `limit`.
async fn outbox(State(app): State<App>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    if let Err(e) = auth::verify(&app, &parts.method, &parts.uri, &parts.headers, b"", "cognito-idp").await {
        return e.into_json();
    }
    let params: std::collections::HashMap<String, String> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), protocol::percent_decode(v)))
        .collect();
    let limit = params.get("limit").and_then(|l| l.parse().ok()).unwrap_or(100);
    match app
        .idp
        .outbox(params.get("pool").map(String::as_str), params.get("destination").map(String::as_str), limit)
        .await
    {
        Ok(rows) => {
            let messages: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|m| {
                    serde_json::json!({
                        "Id": m.id, "UserPoolId": m.pool_id, "Username": m.username, "Channel": m.channel,
                        "Destination": m.destination, "Subject": m.subject, "Body": m.body,
                        "CreatedAt": m.created_at as f64 / 1000.0,
                    })
                })
                .collect();
            ([(header::CONTENT_TYPE, "application/json")], serde_json::json!({ "Messages": messages }).to_string())
                .into_response()
        }
        Err(e) => ApiError::from(e).into_json(),
    }
}

/// A pool's public keys, where Cognito serves them relative to the issuer.
async fn jwks(State(app): State<App>, axum::extract::Path(pool_id): axum::extract::Path<String>) -> Response {
    well_known(app.idp.jwks(&pool_id).await)
}

async fn openid_configuration(
    State(app): State<App>,
    axum::extract::Path(pool_id): axum::extract::Path<String>,
) -> Response {
    well_known(app.idp.openid_configuration(&pool_id).await)
}

fn well_known(r: cognate_idp::Result<serde_json::Value>) -> Response {
    match r {
        Ok(v) => ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response(),
        Err(cognate_idp::Error::ResourceNotFound(m)) => {
            ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFoundException", m).into_json()
        }
        Err(e) => ApiError::from(e).into_json(),
    }
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "UnknownOperationException", "No operation is served at this path.")
        .into_json()
}

fn json_ok(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
