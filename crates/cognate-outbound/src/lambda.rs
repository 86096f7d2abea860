//! Running Lambda triggers: the function registry and its three invokers.
//!
//! A pool's LambdaConfig names functions by ARN, exactly as in Cognito. The
//! registry maps each ARN (or function name) to one of:
//!
//! * **the Lambda Runtime API**: Cognate serves `/2018-06-01/runtime/...` on
//!   an address of the function's own, and workers written for AWS Lambda
//!   (`awslambdaric`, `aws-lambda-ric`, or any runtime interface client)
//!   poll it with `AWS_LAMBDA_RUNTIME_API` set to that address. Invocations
//!   wait in a bounded queue; any number of workers may poll.
//! * **the Lambda Invoke API**: a SigV4-signed
//!   `POST /2015-03-31/functions/{name}/invocations` to an endpoint (a local
//!   Lambda emulator, say).
//! * **an HTTP webhook**: the event JSON is POSTed, the response JSON read
//!   back; with a secret, `X-Cognate-Signature: t=<unix>,v1=<hex>` carries
//!   HMAC-SHA256(secret, "<t>.<body>") so the receiver can authenticate it.
//!
//! Every invocation has Cognito's five seconds. A function's own error is
//! UserLambdaValidationException ("<Trigger> failed with error <message>."),
//! an answer that is not a JSON object InvalidLambdaResponseException, and a
//! function that cannot be reached or answers too late
//! UnexpectedLambdaException. Endpoints are `http://` or `https://` (rustls,
//! Mozilla's roots, plus a function's own `ca_file`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cognate_idp::Error;
use cognate_idp::triggers::Invoker;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Cognito waits five seconds for a trigger.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Invocations that may wait for a Runtime API worker, per function.
const QUEUE: usize = 1024;

/// How one function is reached, as configured (`[functions."<arn or name>"]`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    /// Serve the Lambda Runtime API for this function on this address.
    pub runtime_api: Option<String>,
    /// POST events to this http:// or https:// URL.
    pub webhook: Option<String>,
    /// Sign webhook requests with this secret.
    pub webhook_secret: Option<String>,
    /// Call the Lambda Invoke API at this endpoint
    /// (`https://lambda.<region>.amazonaws.com` for AWS Lambda).
    pub invoke_endpoint: Option<String>,
    /// PEM certificates to trust for an https endpoint besides the public
    /// roots compiled in (a private CA).
    pub ca_file: Option<String>,
    /// Region and credentials for the Invoke API (default: us-east-1 and
    /// the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY of the environment).
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// What a function said.
#[derive(Debug)]
enum Outcome {
    Ok(Bytes),
    /// The function raised: its errorMessage and errorType.
    Failed(String),
}

struct Pending {
    id: String,
    event: Bytes,
    deadline_ms: i64,
    reply: oneshot::Sender<Outcome>,
}

/// One function's Runtime API: the queue workers take from and the
/// invocations they hold.
struct Runtime {
    arn: String,
    queue: mpsc::Sender<Pending>,
    next: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("arn", &self.arn).finish_non_exhaustive()
    }
}

#[derive(Debug)]
enum Target {
    Runtime(Arc<Runtime>),
    Webhook { url: Url, secret: Option<String> },
    Invoke { endpoint: Url, region: String, key: (String, String) },
}

/// An http:// or https:// URL, split.
#[derive(Debug, Clone)]
struct Url {
    /// As the Host header (and SigV4) name it: `host[:port]`.
    authority: String,
    /// Where to connect: `host:port`.
    address: String,
    path: String,
    /// For https: the host name the certificate must carry, and the roots.
    tls: Option<(String, Arc<tokio_rustls::rustls::ClientConfig>)>,
}

fn parse_url(url: &str, ca_file: Option<&str>) -> Result<Url, String> {
    let (rest, tls, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true, 443)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false, 80)
    } else {
        return Err(format!("{url}: give an http:// or https:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // `host:port`, `host`, `[v6]:port` or `[v6]`.
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.parse::<u16>().is_ok() => h,
        _ => authority,
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    let port = match host.len() == authority.len() {
        true => default_port,
        false => authority[host.len() + 1..].parse().unwrap_or(default_port),
    };
    // `localhost` and every name under it are this machine (RFC 6761), as
    // browsers treat them, whatever the system's resolver says: so a pool
    // domain of another local Cognate (`x.auth.us-east-1.localhost`) can be
    // called. The Host header and the TLS name stay the name given.
    let lower = host.to_ascii_lowercase();
    let address = match lower == "localhost" || lower.ends_with(".localhost") {
        true => format!("127.0.0.1:{port}"),
        false => format!("{host}:{port}"),
    };
    let tls = if tls {
        let name = host.trim_start_matches('[').trim_end_matches(']').to_string();
        Some((name, crate::tls::client_config(ca_file)?))
    } else if ca_file.is_some() {
        return Err(format!("{url}: ca_file is for https:// URLs"));
    } else {
        None
    };
    Ok(Url { authority: authority.to_string(), address, path: path.to_string(), tls })
}

/// The registry: every configured function, by ARN or name.
#[derive(Debug)]
pub struct Functions {
    targets: HashMap<String, Target>,
    timeout: Duration,
    /// The Runtime API listeners' addresses, by registry key.
    runtime_addrs: HashMap<String, std::net::SocketAddr>,
    /// Where each invocation is recorded, once the server has started.
    audit: std::sync::OnceLock<cognate_idp::audit::Auditor>,
}

/// SMS through an HTTP webhook: `POST {"userPoolId", "phoneNumber",
/// "message"}`, signed like trigger webhooks (`X-Cognate-Signature`); any
/// 2xx is delivered.
#[derive(Debug, Clone)]
pub struct SmsWebhook {
    url: Url,
    secret: Option<String>,
}

impl SmsWebhook {
    pub fn new(url: &str, secret: Option<String>) -> Result<SmsWebhook, String> {
        Ok(SmsWebhook { url: parse_url(url, None)?, secret })
    }
}

impl cognate_idp::messages::SmsSender for SmsWebhook {
    fn send<'a>(
        &'a self,
        pool_id: &'a str,
        phone_number: &'a str,
        message: &'a str,
    ) -> Pin<Box<dyn Future<Output = cognate_idp::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            let body = Bytes::from(
                serde_json::json!({"userPoolId": pool_id, "phoneNumber": phone_number, "message": message}).to_string(),
            );
            let headers = signed_headers(self.secret.as_deref(), &body);
            let failed = |e: String| {
                tracing::warn!(error = %e, "the SMS webhook failed");
                Error::CodeDeliveryFailure("The SMS could not be delivered.".into())
            };
            let sent = tokio::time::timeout(TIMEOUT, http_post(&self.url, &self.url.path, headers, body)).await;
            match sent {
                Ok(Ok((status, _, _))) if (200..300).contains(&status) => Ok(()),
                Ok(Ok((status, _, _))) => Err(failed(format!("HTTP {status}"))),
                Ok(Err(e)) => Err(failed(e)),
                Err(_) => Err(failed("timed out".into())),
            }
        })
    }
}

/// JSON content type and, with a secret, the signature of `body`.
fn signed_headers(secret: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if let Some(secret) = secret {
        let t = now_ms() / 1000;
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        let mac = cognate_crypto::hmac_sha256(secret.as_bytes(), &signed);
        headers.push(("x-cognate-signature".into(), format!("t={t},v1={}", hex_encode(&mac))));
    }
    headers
}

/// The function name of an ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`),
/// or the string itself when it is a bare name.
fn function_name(arn: &str) -> &str {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1],
        _ => arn,
    }
}

impl Functions {
    /// Builds the registry and starts a Runtime API listener (loopback or as
    /// configured) for each function served that way.
    pub async fn start(config: &HashMap<String, FunctionConfig>) -> Result<Functions, String> {
        let mut out = Functions {
            targets: HashMap::new(),
            timeout: TIMEOUT,
            runtime_addrs: HashMap::new(),
            audit: std::sync::OnceLock::new(),
        };
        for (key, c) in config {
            let chosen = [c.runtime_api.is_some(), c.webhook.is_some(), c.invoke_endpoint.is_some()];
            if chosen.iter().filter(|x| **x).count() != 1 {
                return Err(format!("function {key}: give exactly one of runtime_api, webhook, invoke_endpoint"));
            }
            let target = if let Some(addr) = &c.runtime_api {
                let (tx, rx) = mpsc::channel(QUEUE);
                let rt = Arc::new(Runtime {
                    arn: key.clone(),
                    queue: tx,
                    next: tokio::sync::Mutex::new(rx),
                    in_flight: Mutex::new(HashMap::new()),
                });
                let listener =
                    tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("function {key}: {addr}: {e}"))?;
                let bound = listener.local_addr().map_err(|e| e.to_string())?;
                let app = runtime_router(rt.clone());
                tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, app).await {
                        tracing::error!(error = %e, "Lambda Runtime API listener stopped");
                    }
                });
                tracing::info!(function = %key, address = %bound, "serving the Lambda Runtime API");
                out.runtime_addrs.insert(key.clone(), bound);
                Target::Runtime(rt)
            } else if let Some(url) = &c.webhook {
                Target::Webhook { url: parse_url(url, c.ca_file.as_deref())?, secret: c.webhook_secret.clone() }
            } else {
                let endpoint = parse_url(c.invoke_endpoint.as_deref().unwrap_or_default(), c.ca_file.as_deref())?;
                let env = |k: &str| std::env::var(k).unwrap_or_default();
                let key_pair = (
                    c.access_key_id.clone().unwrap_or_else(|| env("AWS_ACCESS_KEY_ID")),
                    c.secret_access_key.clone().unwrap_or_else(|| env("AWS_SECRET_ACCESS_KEY")),
                );
                Target::Invoke {
                    endpoint,
                    region: c.region.clone().unwrap_or_else(|| "us-east-1".into()),
                    key: key_pair,
                }
            };
            out.targets.insert(key.clone(), target);
        }
        Ok(out)
    }

    /// Another time limit than Cognito's five seconds (tests of the limit).
    /// Records every invocation in the server's audit log from now on:
    /// operation `Lambda:<triggerSource>`, caller `cognate`, the function
    /// as target, the pool and client of the event, and the outcome.
    pub fn audit_to(&self, audit: cognate_idp::audit::Auditor) {
        let _ = self.audit.set(audit);
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Functions {
        self.timeout = timeout;
        self
    }

    /// Where the Runtime API of a configured function listens.
    pub fn runtime_addr(&self, key: &str) -> Option<std::net::SocketAddr> {
        self.runtime_addrs.get(key).copied()
    }

    fn target(&self, arn: &str) -> Option<&Target> {
        self.targets.get(arn).or_else(|| self.targets.get(function_name(arn)))
    }
}

/// "PreSignUp" of "PreSignUp_SignUp": how Cognito names the trigger in errors.
fn trigger_name(event: &Value) -> String {
    let source = event.get("triggerSource").and_then(Value::as_str).unwrap_or("Lambda");
    source.split('_').next().unwrap_or(source).to_string()
}

/// Trigger invocations by trigger source and outcome: (count, seconds).
static INVOCATIONS: Mutex<std::collections::BTreeMap<(String, String), (u64, f64)>> =
    Mutex::new(std::collections::BTreeMap::new());

/// `cognate_trigger_invocations_total` and `cognate_trigger_seconds_total`
/// in Prometheus' text format (all registries of the process).
pub fn render_metrics() -> String {
    use std::fmt::Write as _;
    let Ok(m) = INVOCATIONS.lock() else { return String::new() };
    let mut out = String::from(
        "# HELP cognate_trigger_invocations_total Lambda trigger invocations by trigger source and outcome.\n\
         # TYPE cognate_trigger_invocations_total counter\n",
    );
    for ((source, outcome), (n, _)) in m.iter() {
        let _ = writeln!(out, "cognate_trigger_invocations_total{{trigger=\"{source}\",outcome=\"{outcome}\"}} {n}");
    }
    out.push_str(
        "# HELP cognate_trigger_seconds_total Time spent waiting for trigger functions.\n\
         # TYPE cognate_trigger_seconds_total counter\n",
    );
    for ((source, outcome), (_, secs)) in m.iter() {
        let _ = writeln!(out, "cognate_trigger_seconds_total{{trigger=\"{source}\",outcome=\"{outcome}\"}} {secs}");
    }
    out
}

fn count(source: &str, outcome: &str, elapsed: Duration) {
    if let Ok(mut m) = INVOCATIONS.lock() {
        let e = m.entry((source.to_string(), outcome.to_string())).or_default();
        e.0 += 1;
        e.1 += elapsed.as_secs_f64();
    }
}

impl Invoker for Functions {
    fn invoke<'a>(
        &'a self,
        function_arn: &'a str,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = cognate_idp::Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
            let source = event.get("triggerSource").and_then(Value::as_str).unwrap_or("unknown").to_string();
            let (pool_id, client_id) = (text(event.get("userPoolId")), text(event.pointer("/callerContext/clientId")));
            let started = std::time::Instant::now();
            let result = self.run(function_arn, event).await;
            let outcome = result.as_ref().map_or_else(|e| e.code(), |_| "ok");
            count(&source, outcome, started.elapsed());
            if let Some(audit) = self.audit.get() {
                audit
                    .record(cognate_store::AuditRow {
                        id: cognate_crypto::ids::uuid_v4(),
                        at: now_ms(),
                        caller: "cognate".into(),
                        operation: format!("Lambda:{source}"),
                        pool_id,
                        client_id: if client_id == "CLIENT_ID_NOT_APPLICABLE" { String::new() } else { client_id },
                        target: function_arn.to_string(),
                        outcome: outcome.to_string(),
                        source: String::new(),
                        request_id: String::new(),
                    })
                    .await;
            }
            result
        })
    }
}

impl Functions {
    async fn run(&self, function_arn: &str, event: Value) -> cognate_idp::Result<Value> {
        let Some(target) = self.target(function_arn) else {
            return Err(Error::UnexpectedLambda(format!(
                "No function is registered for {function_arn}: add it under [functions] in Cognate's configuration."
            )));
        };
        let trigger = trigger_name(&event);
        let body = Bytes::from(serde_json::to_vec(&event)?);
        let outcome = match tokio::time::timeout(self.timeout, call(target, function_arn, body, self.timeout)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(Error::UnexpectedLambda(format!(
                    "{trigger} failed: the function did not answer within {} ms.",
                    self.timeout.as_millis()
                )));
            }
        };
        match outcome {
            Outcome::Failed(message) => {
                Err(Error::UserLambdaValidation(format!("{trigger} failed with error {message}.")))
            }
            Outcome::Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(v @ Value::Object(_)) => Ok(v),
                _ => Err(Error::InvalidLambdaResponse("Unrecognizable lambda output".into())),
            },
        }
    }
}

async fn call(target: &Target, arn: &str, body: Bytes, timeout: Duration) -> cognate_idp::Result<Outcome> {
    let unreachable =
        |what: String| Error::UnexpectedLambda(format!("The function {arn} could not be invoked: {what}"));
    match target {
        Target::Runtime(rt) => {
            let (reply, answer) = oneshot::channel();
            let id = cognate_crypto::ids::uuid_v4();
            let deadline_ms = now_ms() + timeout.as_millis() as i64;
            rt.queue
                .try_send(Pending { id, event: body, deadline_ms, reply })
                .map_err(|_| unreachable("too many invocations are waiting for a worker".into()))?;
            answer.await.map_err(|_| unreachable("the invocation was dropped".into()))
        }
        Target::Webhook { url, secret } => {
            let headers = signed_headers(secret.as_deref(), &body);
            let (status, _, answer) = http_post(url, &url.path, headers, body).await.map_err(unreachable)?;
            if (200..300).contains(&status) {
                Ok(Outcome::Ok(answer))
            } else {
                Ok(Outcome::Failed(error_message(&answer).unwrap_or_else(|| format!("HTTP {status}"))))
            }
        }
        Target::Invoke { endpoint, region, key } => {
            let path = format!("/2015-03-31/functions/{}/invocations", function_name(arn));
            let host = endpoint.authority.clone();
            let base = [("content-type", "application/json"), ("host", host.as_str())];
            let req =
                cognate_crypto::sigv4::Request { method: "POST", path: &path, query: "", headers: &base, body: &body };
            let mut headers: Vec<(String, String)> =
                base.iter().filter(|(k, _)| *k != "host").map(|(k, v)| (k.to_string(), v.to_string())).collect();
            headers.extend(cognate_crypto::sigv4::sign(&req, &key.0, &key.1, region, "lambda", now_ms() / 1000));
            let (status, function_error, answer) =
                http_post(endpoint, &path, headers, body.clone()).await.map_err(unreachable)?;
            if status != 200 {
                return Err(unreachable(format!("HTTP {status} {}", String::from_utf8_lossy(&answer))));
            }
            if function_error {
                return Ok(Outcome::Failed(error_message(&answer).unwrap_or_else(|| "Unhandled".into())));
            }
            Ok(Outcome::Ok(answer))
        }
    }
}

/// `errorMessage` of a Lambda error document.
fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("errorMessage").and_then(Value::as_str).map(str::to_string)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// One POST over a fresh HTTP/1.1 connection (TLS for https): (status,
/// whether X-Amz-Function-Error was set, body).
async fn http_post(
    url: &Url,
    path: &str,
    headers: Vec<(String, String)>,
    body: Bytes,
) -> Result<(u16, bool, Bytes), String> {
    let stream = tokio::net::TcpStream::connect(&url.address).await.map_err(|e| e.to_string())?;
    let mut builder = hyper::Request::builder().method("POST").uri(path).header("host", &url.authority);
    for (k, v) in &headers {
        builder = builder.header(k, v);
    }
    let request = builder.body(http_body_util::Full::new(body)).map_err(|e| e.to_string())?;
    match &url.tls {
        None => exchange(stream, request).await,
        Some((name, config)) => {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(|e| format!("{name}: {e}"))?;
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange(tls, request).await
        }
    }
}

async fn exchange<S>(io: S, request: hyper::Request<http_body_util::Full<Bytes>>) -> Result<(u16, bool, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use http_body_util::BodyExt as _;
    let (mut send, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let resp = send.send_request(request).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let function_error = resp.headers().contains_key("x-amz-function-error");
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, function_error, bytes))
}

// ---- the Runtime API ----

fn runtime_router(rt: Arc<Runtime>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(respond))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(fail))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt)
}

/// The next invocation, waiting as long as it takes (workers long-poll).
async fn next(State(rt): State<Arc<Runtime>>) -> Response {
    loop {
        let pending = rt.next.lock().await.recv().await;
        let Some(p) = pending else {
            return StatusCode::GONE.into_response();
        };
        // The caller gave up (its five seconds passed): skip it.
        if p.reply.is_closed() || p.deadline_ms <= now_ms() {
            continue;
        }
        if let Ok(mut in_flight) = rt.in_flight.lock() {
            // Invocations whose caller gave up (a worker that never answered)
            // are forgotten here rather than kept forever.
            in_flight.retain(|_, reply| !reply.is_closed());
            in_flight.insert(p.id.clone(), p.reply);
        }
        let mut headers = HeaderMap::new();
        let mut set = |k: &'static str, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                headers.insert(k, v);
            }
        };
        set("lambda-runtime-aws-request-id", &p.id);
        set("lambda-runtime-deadline-ms", &p.deadline_ms.to_string());
        set("lambda-runtime-invoked-function-arn", &rt.arn);
        set("lambda-runtime-trace-id", &format!("Root=1-{:08x}-{}", now_ms() / 1000, &p.id.replace('-', "")[..24]));
        set("content-type", "application/json");
        return (StatusCode::OK, headers, p.event).into_response();
    }
}

fn finish(rt: &Runtime, id: &str, outcome: Outcome) -> Response {
    let reply = rt.in_flight.lock().ok().and_then(|mut m| m.remove(id));
    match reply {
        Some(r) => {
            let _ = r.send(outcome);
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (StatusCode::BAD_REQUEST, r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#)
            .into_response(),
    }
}

async fn respond(State(rt): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&rt, &id, Outcome::Ok(body))
}

async fn fail(State(rt): State<Arc<Runtime>>, Path(id): Path<String>, body: Bytes) -> Response {
    let message = error_message(&body).unwrap_or_else(|| "Unhandled".into());
    finish(&rt, &id, Outcome::Failed(message))
}

async fn init_error(State(rt): State<Arc<Runtime>>, body: Bytes) -> Response {
    tracing::error!(function = %rt.arn, error = error_message(&body).unwrap_or_default(), "a Lambda worker failed to start");
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up"), "pre-sign-up");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:f:live"), "f");
        assert_eq!(function_name("plain"), "plain");
        let u = parse_url("http://127.0.0.1:8080/hooks/cognito", None).unwrap();
        assert_eq!(
            (u.authority.as_str(), u.address.as_str(), u.path.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080", "/hooks/cognito")
        );
        assert!(u.tls.is_none());
        let u = parse_url("https://lambda.eu-west-1.amazonaws.com", None).unwrap();
        assert_eq!(
            (u.authority.as_str(), u.address.as_str(), u.path.as_str()),
            ("lambda.eu-west-1.amazonaws.com", "lambda.eu-west-1.amazonaws.com:443", "/")
        );
        assert_eq!(u.tls.as_ref().map(|t| t.0.as_str()), Some("lambda.eu-west-1.amazonaws.com"));
        let u = parse_url("http://hooks.internal/x", None).unwrap();
        assert_eq!(u.address, "hooks.internal:80");
        let u = parse_url("http://[::1]:9000/x", None).unwrap();
        assert_eq!(u.address, "[::1]:9000");
        // Names under localhost are this machine (RFC 6761); Host and the
        // TLS name keep the name.
        let u = parse_url("https://shop.auth.us-east-1.LOCALHOST:9443/oauth2/token", None).unwrap();
        assert_eq!(
            (u.authority.as_str(), u.address.as_str()),
            ("shop.auth.us-east-1.LOCALHOST:9443", "127.0.0.1:9443")
        );
        assert_eq!(u.tls.as_ref().map(|t| t.0.as_str()), Some("shop.auth.us-east-1.LOCALHOST"));
        assert_eq!(parse_url("http://localhost/x", None).unwrap().address, "127.0.0.1:80");
        assert_eq!(parse_url("http://notlocalhost/x", None).unwrap().address, "notlocalhost:80");
        assert!(parse_url("ftp://example.com", None).is_err());
        assert!(parse_url("https://", None).is_err());
        assert!(parse_url("http://example.com", Some("/ca.pem")).is_err());
        assert!(parse_url("https://example.com", Some("/nonexistent/ca.pem")).is_err());
        assert_eq!(trigger_name(&serde_json::json!({"triggerSource": "PreSignUp_AdminCreateUser"})), "PreSignUp");
    }
}
