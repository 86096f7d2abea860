//! The protocol edge: routing, errors, limits, CORS, operations endpoints.

use cognate_testkit::{Backend, Req, TestServer, raw_http};
use serde_json::json;

#[tokio::test]
async fn every_model_operation_routes_to_a_handler_or_a_clear_refusal() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let c = server.client("us-east-1");
    for service in cognate_server::dispatch::SERVICES {
        if service.info.protocol != "json" {
            continue;
        }
        for op in service.operations {
            let r = c.json_call(service.info.target_prefix, op.name, json!({}), service.info.signing_name).await;
            let t = r.error_type().unwrap_or_default();
            let served = (service.handler)(op.name).is_some();
            assert!(r.status < 500, "{} {}: {}", service.name, op.name, r.text());
            if served {
                assert_ne!(t, "UnsupportedOperationException", "{} {}", service.name, op.name);
            } else {
                assert_eq!(t, "UnsupportedOperationException", "{} {}: {}", service.name, op.name, r.text());
            }
            assert!(r.header("x-amzn-requestid").is_some());
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let c = server.client("us-east-1");
    let call = |target: &str, body: &[u8]| Req {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), target.into()),
        ],
        body: body.to_vec(),
        service: None,
        skew_secs: 0,
    };
    let r = c.send(call("AWSCognitoIdentityProviderService.NoSuchThing", b"{}")).await;
    assert_eq!((r.status, r.error_type().as_deref()), (400, Some("UnknownOperationException")));
    let r = c.send(call("NoSuchService.ListUserPools", b"{}")).await;
    assert_eq!(r.error_type().as_deref(), Some("UnknownOperationException"));
    let r = c.send(call("AWSCognitoIdentityProviderService.ListUserPools", b"{\"MaxResults\": ")).await;
    assert_eq!(r.error_type().as_deref(), Some("SerializationException"));
    let r = c.send(call("AWSCognitoIdentityProviderService.ListUserPools", b"[1,2]")).await;
    assert_eq!(r.error_type().as_deref(), Some("SerializationException"));
    let big = vec![b' '; 2 * 1024 * 1024];
    let r = c.send(call("AWSCognitoIdentityProviderService.ListUserPools", &big)).await;
    assert_eq!(r.status, 413);
    // Still serving afterwards.
    assert_eq!(c.idp("ListUserPools", json!({"MaxResults": 1})).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn cors_preflight_and_headers() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let h = |k: &str, v: &str| (k.to_string(), v.to_string());
    let r = raw_http(
        server.addr,
        "OPTIONS",
        "/",
        &[
            h("origin", "http://localhost:3000"),
            h("access-control-request-method", "POST"),
            h("access-control-request-headers", "content-type,x-amz-target,x-amz-user-agent"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-headers"), Some("content-type,x-amz-target,x-amz-user-agent"));
    assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
    let r = raw_http(
        server.addr,
        "POST",
        "/",
        &[h("origin", "http://localhost:3000"), h("x-amz-target", "AWSCognitoIdentityProviderService.SignUp")],
        b"{}",
    )
    .await;
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r.header("access-control-expose-headers").unwrap().contains("x-amzn-RequestId"));
    server.stop().await;
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    assert_eq!(raw_http(server.addr, "GET", "/health", &[], b"").await.status, 200);
    assert_eq!(raw_http(server.addr, "GET", "/ready", &[], b"").await.status, 200);
    server.client("us-east-1").idp("ListUserPools", json!({"MaxResults": 1})).await;
    server.unsigned().idp("ListUserPools", json!({"MaxResults": 1})).await;
    let m = raw_http(server.addr, "GET", "/metrics", &[], b"").await.text();
    assert!(
        m.contains("cognate_requests_total{service=\"cognito-idp\",operation=\"ListUserPools\",outcome=\"ok\"} 1"),
        "{m}"
    );
    assert!(m.contains("outcome=\"MissingAuthenticationTokenException\"} 1"), "{m}");
    assert!(
        m.contains("cognate_request_duration_seconds_count{service=\"cognito-idp\",operation=\"ListUserPools\"} 2"),
        "{m}"
    );
    assert_eq!(raw_http(server.addr, "GET", "/nowhere", &[], b"").await.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn query_protocol_speaks_xml() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let c = server.client("us-east-1");
    let form = |body: &str| Req {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
        service: Some("sts".into()),
        skew_secs: 0,
    };
    let r = c.send(form("Action=GetCallerIdentity&Version=2011-06-15")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
    ));
    assert!(r.text().contains("<Account>000000000000</Account>"));
    let r = c.send(form("Action=AssumeRole&Version=2011-06-15")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("<Code>UnsupportedOperationException</Code>"), "{}", r.text());
    let r = c.send(form("Action=Nope&Version=2011-06-15")).await;
    assert!(r.text().contains("<Code>InvalidAction</Code>"), "{}", r.text());
    let r = server.unsigned().send(form("Action=GetCallerIdentity&Version=2011-06-15")).await;
    assert!(r.text().contains("<Code>MissingAuthenticationTokenException</Code>"), "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn rest_json_sync_paths_route_and_sign() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let c = server.client("us-east-1");
    let get = |path: &str| Req {
        method: "GET".into(),
        path: path.into(),
        service: Some("cognito-sync".into()),
        ..Default::default()
    };
    let r = c.send(get("/identitypools/us-east-1%3A0000/identities/us-east-1%3A1111/datasets")).await;
    assert_eq!(r.error_type().as_deref(), Some("UnsupportedOperationException"), "{}", r.text());
    assert!(r.json()["message"].as_str().unwrap().contains("ListDatasets"));
    let r = server.unsigned().send(get("/identitypools/us-east-1%3A0000")).await;
    assert_eq!(r.error_type().as_deref(), Some("MissingAuthenticationTokenException"));
    let r = c.send(get("/identitypools/a/b/c/d/e/f/g")).await;
    assert_eq!(r.status, 404);
    server.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_releases_the_port() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let addr = server.addr;
    server.stop().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nothing listens after stop");
}

/// A fault inside Cognate (here: a pool document that no longer reads)
/// answers InternalErrorException without its cause, and the server logs the
/// cause once, at error level, inside the request's span. Logging is
/// process-wide, so the scenario runs in a process of its own: this test
/// starts the test binary again on the ignored `internal_fault_scenario`,
/// which logs to a file, and reads the file.
#[test]
fn an_internal_fault_is_logged_once_with_its_cause_and_answered_without_it() {
    let dir = std::env::temp_dir().join(format!("cognate-fault-log-{}", cognate_crypto::ids::uuid_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("server.log");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "protocol::internal_fault_scenario", "--ignored", "--test-threads=1"])
        .env("COGNATE_FAULT_LOG", &log)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && report.contains("1 passed"), "{report}");
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let request_id = text.lines().find_map(|l| l.strip_prefix("REQUEST_ID=")).expect("the scenario names its request");
    let pool = text.lines().find_map(|l| l.strip_prefix("POOL=")).expect("the scenario names its pool");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(request_id)).collect();
    let cause: Vec<&&str> = lines.iter().filter(|l| l.contains("internal error")).collect();
    assert_eq!(cause.len(), 1, "the cause is logged once: {lines:#?}");
    assert!(cause[0].contains("Document") && cause[0].contains(pool), "{}", cause[0]);
    assert!(cause[0].contains("ERROR") && cause[0].contains("DescribeUserPool"), "{}", cause[0]);
    assert!(lines.iter().any(|l| l.contains("ERROR") && l.contains("request failed")), "{lines:#?}");
}

#[tokio::test]
#[ignore = "run by an_internal_fault_is_logged_once_with_its_cause_and_answered_without_it, in a process of its own"]
async fn internal_fault_scenario() {
    use std::io::Write as _;
    let path = std::env::var("COGNATE_FAULT_LOG").expect("COGNATE_FAULT_LOG");
    let file = std::sync::Arc::new(std::sync::Mutex::new(std::fs::File::create(&path).unwrap()));
    let writer = file.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || LockedFile(writer.clone()))
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let server = cognate_testkit::TestServer::start(cognate_testkit::Backend::SqliteTemp).await;
    let admin = server.client("us-east-1");
    let r = admin.idp("CreateUserPool", serde_json::json!({"PoolName": "p"})).await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    // The pool's stored document no longer reads.
    let store = server.idp.store();
    let row = store.get_pool(&pool).await.unwrap().unwrap();
    assert!(store.update_pool(&pool, row.version, &row.name, "{not json", row.updated_at).await.unwrap());

    let r = admin.idp("DescribeUserPool", serde_json::json!({"UserPoolId": pool})).await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.error_type().as_deref(), Some("InternalErrorException"));
    assert_eq!(r.json()["message"], "Internal server error.", "the cause stays in the log");
    let request_id = r.header("x-amzn-requestid").unwrap().to_string();
    server.stop().await;
    writeln!(file.lock().unwrap(), "REQUEST_ID={request_id}\nPOOL={pool}").unwrap();
}

/// The scenario's log file, shared by the subscriber's writers.
struct LockedFile(std::sync::Arc<std::sync::Mutex<std::fs::File>>);

impl std::io::Write for LockedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
