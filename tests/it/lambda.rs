//! The three invokers of Lambda triggers, each against a peer written here:
//! a worker polling the Lambda Runtime API, a webhook receiver that checks
//! the HMAC signature, and an Invoke API endpoint that checks SigV4.

use cognate_outbound::lambda::{FunctionConfig, Functions};
use cognate_testkit::{Backend, TestServer};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up";

/// One HTTP/1.1 request as a tiny server reads it.
struct Incoming {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn read_request<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<Incoming> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let split = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
    };
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.lines();
    let path = lines.next()?.split_whitespace().nth(1)?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
        .collect();
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[split + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Incoming { path, headers, body })
}

type Answer = Arc<dyn Fn(Incoming) -> (u16, Vec<(String, String)>, Value) + Send + Sync>;

/// Serves `answer` to every request on a loopback port; returns the port.
async fn serve(answer: impl Fn(Incoming) -> (u16, Vec<(String, String)>, Value) + Send + Sync + 'static) -> u16 {
    serve_with(None, Arc::new(answer)).await
}

/// [`serve`], over TLS with the test certificate for localhost when given.
async fn serve_with(tls: Option<tokio_rustls::TlsAcceptor>, answer: Answer) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (answer, tls) = (answer.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    None => respond(stream, answer).await,
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            respond(stream, answer).await;
                        }
                    }
                }
            });
        }
    });
    port
}

async fn respond<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut stream: S, answer: Answer) {
    if let Some(req) = read_request(&mut stream).await {
        let (status, headers, body) = answer(req);
        let body = body.to_string();
        let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("it/fixtures/tls").join(name)
}

/// The test certificate for localhost, signed by the test CA.
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture("server.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

#[tokio::test]
async fn https_webhooks_check_the_certificate() {
    let answer: Answer = Arc::new(|req: Incoming| {
        let mut event: Value = serde_json::from_slice(&req.body).unwrap();
        event["response"] = json!({"autoConfirmUser": true});
        (200, vec![], event)
    });
    let port = serve_with(Some(tls_acceptor()), answer).await;
    let trusted = FunctionConfig {
        webhook: Some(format!("https://localhost:{port}/hooks")),
        ca_file: Some(fixture("ca.pem").to_string_lossy().into_owned()),
        ..Default::default()
    };
    let server = TestServer::start_with_invoker(
        Backend::SqliteMemory,
        Arc::new(Functions::start(&functions(trusted)).await.unwrap()),
    )
    .await;
    let (_, client) = pool_with_trigger(&server).await;
    let r = server.unsigned().idp("SignUp", sign_up(&client, "secure")).await;
    assert_eq!(r.json()["UserConfirmed"], true, "{}", r.text());
    server.stop().await;

    // Without the private CA, the certificate is not trusted: nothing is sent.
    let untrusted = FunctionConfig { webhook: Some(format!("https://localhost:{port}/hooks")), ..Default::default() };
    let server = TestServer::start_with_invoker(
        Backend::SqliteMemory,
        Arc::new(Functions::start(&functions(untrusted)).await.unwrap()),
    )
    .await;
    let (_, client) = pool_with_trigger(&server).await;
    let r = server.unsigned().idp("SignUp", sign_up(&client, "insecure")).await;
    assert_eq!(r.error_type().as_deref(), Some("UnexpectedLambdaException"), "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap_or_default().contains("TLS"), "{}", r.text());
    server.stop().await;
}

/// A pool whose PreSignUp is the function, and a client.
async fn pool_with_trigger(server: &TestServer) -> (String, String) {
    let admin = server.client("us-east-1");
    let r = admin.idp("CreateUserPool", json!({"PoolName": "p", "LambdaConfig": {"PreSignUp": ARN}})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin.idp("CreateUserPoolClient", json!({"UserPoolId": pool, "ClientName": "app"})).await;
    (pool, r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string())
}

fn sign_up(client: &str, name: &str) -> Value {
    json!({"ClientId": client, "Username": name, "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": format!("{name}@example.com")}]})
}

fn functions(config: FunctionConfig) -> HashMap<String, FunctionConfig> {
    HashMap::from([(ARN.to_string(), config)])
}

#[tokio::test]
async fn runtime_api_workers_run_triggers() {
    let registry =
        Functions::start(&functions(FunctionConfig { runtime_api: Some("127.0.0.1:0".into()), ..Default::default() }))
            .await
            .unwrap()
            .with_timeout(Duration::from_millis(1500));
    let api = registry.runtime_addr(ARN).unwrap();
    let server = TestServer::start_with_invoker(Backend::SqliteMemory, Arc::new(registry)).await;
    let (pool, client) = pool_with_trigger(&server).await;
    let public = server.unsigned();

    // A worker as a runtime interface client behaves: take the next event,
    // answer by request id. It auto-confirms "ok*" users, fails "bad*" ones
    // with an error, and answers "junk*" with something that is not JSON.
    let worker = tokio::spawn(async move {
        for _ in 0..3 {
            let next = cognate_testkit::raw_http(api, "GET", "/2018-06-01/runtime/invocation/next", &[], b"").await;
            assert_eq!(next.status, 200);
            let id = next.header("lambda-runtime-aws-request-id").unwrap().to_string();
            assert!(next.header("lambda-runtime-deadline-ms").is_some());
            assert_eq!(next.header("lambda-runtime-invoked-function-arn"), Some(ARN));
            let mut event = next.json();
            assert_eq!(event["triggerSource"], "PreSignUp_SignUp");
            assert_eq!(
                event["request"]["userAttributes"]["email"].as_str().unwrap().split('@').next(),
                event["userName"].as_str()
            );
            let name = event["userName"].as_str().unwrap().to_string();
            let (path, body) = if name.starts_with("ok") {
                event["response"]["autoConfirmUser"] = json!(true);
                (format!("/2018-06-01/runtime/invocation/{id}/response"), event.to_string())
            } else if name.starts_with("bad") {
                let e = json!({"errorMessage": "Sign-ups from this domain are closed", "errorType": "Error"});
                (format!("/2018-06-01/runtime/invocation/{id}/error"), e.to_string())
            } else {
                (format!("/2018-06-01/runtime/invocation/{id}/response"), "not json".to_string())
            };
            let r = cognate_testkit::raw_http(api, "POST", &path, &[], body.as_bytes()).await;
            assert_eq!(r.status, 202, "{}", r.text());
        }
    });
    let r = public.idp("SignUp", sign_up(&client, "okay")).await;
    assert_eq!(r.json()["UserConfirmed"], true, "{}", r.text());
    let r = public.idp("SignUp", sign_up(&client, "bad")).await;
    assert_eq!(r.error_type().as_deref(), Some("UserLambdaValidationException"));
    assert_eq!(r.json()["message"], "PreSignUp failed with error Sign-ups from this domain are closed.");
    let r = public.idp("SignUp", sign_up(&client, "junk")).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidLambdaResponseException"), "{}", r.text());
    worker.await.unwrap();
    // A rejected sign-up left nothing behind.
    let admin = server.client("us-east-1");
    for name in ["bad", "junk"] {
        let r = admin.idp("AdminGetUser", json!({"UserPoolId": pool, "Username": name})).await;
        assert_eq!(r.error_type().as_deref(), Some("UserNotFoundException"));
    }
    // No worker: the caller is told within the time limit.
    let started = std::time::Instant::now();
    let r = public.idp("SignUp", sign_up(&client, "nobody")).await;
    assert_eq!(r.error_type().as_deref(), Some("UnexpectedLambdaException"), "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(4));
    // Invocations are counted by trigger and outcome in /metrics.
    let metrics = cognate_testkit::raw_http(server.addr, "GET", "/metrics", &[], b"").await.text();
    for outcome in
        ["ok", "UserLambdaValidationException", "InvalidLambdaResponseException", "UnexpectedLambdaException"]
    {
        let line = format!("cognate_trigger_invocations_total{{trigger=\"PreSignUp_SignUp\",outcome=\"{outcome}\"}}");
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }
    // Unknown request ids are refused.
    let r = cognate_testkit::raw_http(api, "POST", "/2018-06-01/runtime/invocation/nope/response", &[], b"{}").await;
    assert_eq!(r.status, 400);
    server.stop().await;
}

#[tokio::test]
async fn webhooks_are_signed() {
    let secret = "whsec-test-0001";
    let port = serve(move |req| {
        assert_eq!(req.path, "/hooks/cognito");
        let sig = req.headers.iter().find(|(k, _)| k == "x-cognate-signature").map(|(_, v)| v.clone()).unwrap();
        let (t, v1) = sig.split_once(',').unwrap();
        let t = t.strip_prefix("t=").unwrap();
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(&req.body);
        let want = hex::encode(cognate_crypto::hmac_sha256(b"whsec-test-0001", &signed));
        if v1.strip_prefix("v1=") != Some(want.as_str()) {
            return (401, vec![], json!({"errorMessage": "bad signature"}));
        }
        let mut event: Value = serde_json::from_slice(&req.body).unwrap();
        if event["userName"] == "refused" {
            return (400, vec![], json!({"errorMessage": "Not on the list"}));
        }
        event["response"]["autoConfirmUser"] = json!(true);
        (200, vec![], event)
    })
    .await;
    let config = FunctionConfig {
        webhook: Some(format!("http://127.0.0.1:{port}/hooks/cognito")),
        webhook_secret: Some(secret.into()),
        ..Default::default()
    };
    let registry = Arc::new(Functions::start(&functions(config)).await.unwrap());
    let server = TestServer::start_with_invoker(Backend::SqliteMemory, registry.clone()).await;
    registry.audit_to(server.auditor());
    let (pool, client) = pool_with_trigger(&server).await;
    let public = server.unsigned();
    let r = public.idp("SignUp", sign_up(&client, "welcome")).await;
    assert_eq!(r.json()["UserConfirmed"], true, "{}", r.text());
    let r = public.idp("SignUp", sign_up(&client, "refused")).await;
    assert_eq!(r.json()["message"], "PreSignUp failed with error Not on the list.", "{}", r.text());
    // Each invocation is in the audit log, with its outcome.
    let invocations: Vec<(String, String, String, String, String)> = server
        .audit_log()
        .await
        .into_iter()
        .filter(|r| r.operation.starts_with("Lambda:"))
        .map(|r| (r.operation, r.caller, r.pool_id, r.target, r.outcome))
        .collect();
    let row = |outcome: &str| {
        (
            "Lambda:PreSignUp_SignUp".to_string(),
            "cognate".to_string(),
            pool.clone(),
            ARN.to_string(),
            outcome.to_string(),
        )
    };
    assert_eq!(invocations.len(), 2, "{invocations:?}");
    assert!(invocations.contains(&row("ok")) && invocations.contains(&row("UserLambdaValidationException")));
    server.stop().await;

    // A wrong secret is caught by the receiver.
    let wrong = FunctionConfig {
        webhook: Some(format!("http://127.0.0.1:{port}/hooks/cognito")),
        webhook_secret: Some("not-the-secret".into()),
        ..Default::default()
    };
    let server = TestServer::start_with_invoker(
        Backend::SqliteMemory,
        Arc::new(Functions::start(&functions(wrong)).await.unwrap()),
    )
    .await;
    let (_, client) = pool_with_trigger(&server).await;
    let r = server.unsigned().idp("SignUp", sign_up(&client, "welcome")).await;
    assert_eq!(r.json()["message"], "PreSignUp failed with error bad signature.", "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn the_invoke_api_is_signed_with_sigv4() {
    const KEY: &str = "AKIALAMBDAINVOKE0001";
    const SECRET: &str = "lambda/invoke/secret/key/0000000000000000";
    let port = serve(|req| {
        assert_eq!(req.path, "/2015-03-31/functions/pre-sign-up/invocations");
        let headers: Vec<(&str, &str)> = req.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = cognate_crypto::sigv4::Request {
            method: "POST",
            path: &req.path,
            query: "",
            headers: &headers,
            body: &req.body,
        };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let verified = cognate_crypto::sigv4::parse(&r)
            .and_then(|parsed| cognate_crypto::sigv4::verify(&r, &parsed, SECRET, "lambda", now).map(|()| parsed));
        let Ok(parsed) = verified else {
            return (403, vec![], json!({"message": "The request signature we calculated does not match"}));
        };
        assert_eq!(parsed.credential.access_key_id, KEY);
        let mut event: Value = serde_json::from_slice(&req.body).unwrap();
        if event["userName"] == "crash" {
            let e = json!({"errorMessage": "boom", "errorType": "Error"});
            return (200, vec![("x-amz-function-error".into(), "Unhandled".into())], e);
        }
        event["response"]["autoConfirmUser"] = json!(true);
        (200, vec![], event)
    })
    .await;
    let config = FunctionConfig {
        invoke_endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: Some("us-east-1".into()),
        access_key_id: Some(KEY.into()),
        secret_access_key: Some(SECRET.into()),
        ..Default::default()
    };
    let server = TestServer::start_with_invoker(
        Backend::SqliteMemory,
        Arc::new(Functions::start(&functions(config)).await.unwrap()),
    )
    .await;
    let (_, client) = pool_with_trigger(&server).await;
    let public = server.unsigned();
    let r = public.idp("SignUp", sign_up(&client, "invoked")).await;
    assert_eq!(r.json()["UserConfirmed"], true, "{}", r.text());
    let r = public.idp("SignUp", sign_up(&client, "crash")).await;
    assert_eq!(r.json()["message"], "PreSignUp failed with error boom.", "{}", r.text());
    server.stop().await;

    // Nothing listening: UnexpectedLambdaException, not a hang or a 500.
    let dead = FunctionConfig { invoke_endpoint: Some("http://127.0.0.1:9".into()), ..Default::default() };
    let server = TestServer::start_with_invoker(
        Backend::SqliteMemory,
        Arc::new(Functions::start(&functions(dead)).await.unwrap()),
    )
    .await;
    let (_, client) = pool_with_trigger(&server).await;
    let r = server.unsigned().idp("SignUp", sign_up(&client, "nobody")).await;
    assert_eq!(r.error_type().as_deref(), Some("UnexpectedLambdaException"), "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn sms_goes_to_the_sms_webhook() {
    let (tx, rx) = std::sync::mpsc::channel::<(Vec<(String, String)>, Value)>();
    let tx = std::sync::Mutex::new(tx);
    let port = serve(move |req| {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        tx.lock().unwrap().send((req.headers, body)).unwrap();
        (200, vec![], json!({}))
    })
    .await;
    let sms =
        cognate_outbound::lambda::SmsWebhook::new(&format!("http://127.0.0.1:{port}/sms"), Some("sms-secret".into()))
            .unwrap();
    let server = TestServer::start_with_idp(Backend::SqliteMemory, move |idp| idp.with_sms_sender(Arc::new(sms))).await;
    let admin = server.client("us-east-1");
    let r = admin.idp("CreateUserPool", json!({"PoolName": "p", "AutoVerifiedAttributes": ["phone_number"]})).await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin.idp("CreateUserPoolClient", json!({"UserPoolId": pool, "ClientName": "a"})).await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let r = server
        .unsigned()
        .idp("SignUp", json!({"ClientId": client, "Username": "sol", "Password": "Passw0rd!", "UserAttributes": [{"Name": "phone_number", "Value": "+15551230199"}]}))
        .await;
    assert_eq!(r.json()["CodeDeliveryDetails"]["DeliveryMedium"], "SMS", "{}", r.text());
    let (headers, body) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        (body["phoneNumber"].as_str(), body["userPoolId"].as_str()),
        (Some("+15551230199"), Some(pool.as_str()))
    );
    let code: String = body["message"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6);
    assert!(headers.iter().any(|(k, v)| k == "x-cognate-signature" && v.contains(",v1=")));
    // Delivered by the webhook, not to the outbox; and the code works.
    let out = admin
        .send(cognate_testkit::Req {
            method: "GET".into(),
            path: "/_cognate/outbox?destination=%2B15551230199".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(out.json()["Messages"], json!([]));
    let r = server
        .unsigned()
        .idp("ConfirmSignUp", json!({"ClientId": client, "Username": "sol", "ConfirmationCode": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    server.stop().await;
}
