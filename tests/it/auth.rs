//! SigV4 on admin operations, through the real edge.

use cognate_testkit::{Backend, Req, TestServer};
use serde_json::json;

#[tokio::test]
async fn admin_calls_need_a_valid_signature() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let list = json!({"MaxResults": 10});

    let r = server.unsigned().idp("ListUserPools", list.clone()).await;
    assert_eq!((r.status, r.error_type().as_deref()), (400, Some("MissingAuthenticationTokenException")));

    let r = server
        .client("us-east-1")
        .with_key(cognate_testkit::ACCESS_KEY_ID, "wrong-secret")
        .idp("ListUserPools", list.clone())
        .await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidSignatureException"));
    assert!(r.json()["message"].as_str().unwrap().starts_with("The request signature we calculated does not match"));

    let r = server.client("us-east-1").with_key("AKIANOSUCHKEY0000000", "x").idp("ListUserPools", list.clone()).await;
    assert_eq!(r.error_type().as_deref(), Some("UnrecognizedClientException"));
    assert_eq!(r.json()["message"], "The security token included in the request is invalid.");

    // Scoped to another service.
    let r = server
        .client("us-east-1")
        .json_call("AWSCognitoIdentityProviderService", "ListUserPools", list.clone(), "cognito-identity")
        .await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidSignatureException"));
    assert_eq!(r.json()["message"], "Credential should be scoped to correct service: 'cognito-idp'. ");

    let r = server.client("us-east-1").idp("ListUserPools", list.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn signatures_expire_with_the_clock() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let c = server.client("us-east-1");
    let signed_now = |skew: i64| Req {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amz-target".into(), "AWSCognitoIdentityProviderService.ListUserPools".into()),
        ],
        body: br#"{"MaxResults":1}"#.to_vec(),
        service: None,
        skew_secs: skew,
    };
    assert_eq!(c.send(signed_now(-240)).await.status, 200);
    let r = c.send(signed_now(-400)).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidSignatureException"));
    assert!(r.json()["message"].as_str().unwrap().starts_with("Signature expired: "), "{}", r.text());
    let r = c.send(signed_now(400)).await;
    assert!(r.json()["message"].as_str().unwrap().starts_with("Signature not yet current: "), "{}", r.text());

    // The server's clock moves ten minutes on: a signature made at the old
    // time is now stale, one made at the new time is good.
    server.clock.advance(10 * 60 * 1000);
    let r = c.send(signed_now(-600)).await;
    assert!(r.json()["message"].as_str().unwrap().starts_with("Signature expired: "), "{}", r.text());
    assert_eq!(c.send(signed_now(0)).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn public_operations_need_no_signature() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    for op in ["InitiateAuth", "SignUp", "GetUser", "RespondToAuthChallenge"] {
        let r = server.unsigned().idp(op, json!({})).await;
        let t = r.error_type().unwrap_or_default();
        assert!(
            !t.contains("Authentication") && !t.contains("Signature") && !t.contains("UnrecognizedClient"),
            "{op}: {t}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn presigned_query_signatures_are_accepted() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let now = server.clock.now_ms() / 1000;
    let host = server.addr.to_string();
    let headers = [("host", host.as_str())];
    let req = cognate_crypto::sigv4::Request {
        method: "GET",
        path: "/",
        query: "Action=GetCallerIdentity&Version=2011-06-15",
        headers: &headers,
        body: b"",
    };
    let query = cognate_crypto::sigv4::presign(
        &req,
        cognate_testkit::ACCESS_KEY_ID,
        cognate_testkit::SECRET_ACCESS_KEY,
        "us-east-1",
        "sts",
        now,
        300,
    );
    let r = cognate_testkit::raw_http(server.addr, "GET", &format!("/?{query}"), &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains(&format!("<UserId>{}</UserId>", cognate_testkit::ACCESS_KEY_ID)));
    server.stop().await;
}

use cognate_idp::Clock as _;
