//! User pools and app clients over the wire, on every backend.

use cognate_testkit::{Backend, TestServer};
use serde_json::json;

#[tokio::test]
async fn pool_and_client_lifecycle_on_every_backend() {
    for backend in Backend::all() {
        let server = TestServer::start(backend.clone()).await;
        let c = server.client("eu-west-1");

        let r = c.idp("CreateUserPool", json!({"PoolName": "shop", "UserPoolTags": {"team": "red"}})).await;
        assert_eq!(r.status, 200, "{backend:?} {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
        let pool = r.json()["UserPool"].clone();
        let id = pool["Id"].as_str().unwrap().to_string();
        assert!(id.starts_with("eu-west-1_"), "{id}");
        assert_eq!(pool["Arn"], format!("arn:aws:cognito-idp:eu-west-1:000000000000:userpool/{id}"));
        assert_eq!(pool["UserPoolTags"], json!({"team": "red"}));
        assert_eq!(pool["SchemaAttributes"].as_array().unwrap().len(), 20);

        let r = c.idp("CreateUserPoolClient", json!({"UserPoolId": id, "ClientName": "web", "GenerateSecret": true, "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let client = r.json()["UserPoolClient"].clone();
        let cid = client["ClientId"].as_str().unwrap().to_string();
        assert_eq!(cid.len(), 26);
        let secret = client["ClientSecret"].as_str().unwrap().to_string();

        let r = c.idp("DescribeUserPoolClient", json!({"UserPoolId": id, "ClientId": cid})).await;
        assert_eq!(r.json()["UserPoolClient"]["ClientSecret"], secret.as_str());
        assert_eq!(
            r.json()["UserPoolClient"]["ExplicitAuthFlows"],
            json!(["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
        );

        let r = c.idp("UpdateUserPoolClient", json!({"UserPoolId": id, "ClientId": cid, "ClientName": "web2"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["UserPoolClient"]["ClientName"], "web2");
        assert!(r.json()["UserPoolClient"].get("ExplicitAuthFlows").is_none(), "omitted settings reset");

        let r = c
            .idp("UpdateUserPool", json!({"UserPoolId": id, "DeletionProtection": "ACTIVE", "MfaConfiguration": "OFF"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = c.idp("DeleteUserPool", json!({"UserPoolId": id})).await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));
        c.idp("UpdateUserPool", json!({"UserPoolId": id})).await;

        // Another region's endpoint does not list it.
        let other = server.client("us-west-2").idp("ListUserPools", json!({"MaxResults": 60})).await;
        assert_eq!(other.json()["UserPools"], json!([]));
        let listed = c.idp("ListUserPools", json!({"MaxResults": 60})).await;
        assert_eq!(listed.json()["UserPools"][0]["Id"], id.as_str());

        let r = c.idp("DeleteUserPool", json!({"UserPoolId": id})).await;
        assert_eq!((r.status, r.json()), (200, json!({})));
        let r = c.idp("DescribeUserPoolClient", json!({"UserPoolId": id, "ClientId": cid})).await;
        assert_eq!(r.error_type().as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(r.json()["message"], format!("User pool {id} does not exist."));
        server.stop().await;
    }
}

#[tokio::test]
async fn validation_errors_are_worded_as_cognito() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let c = server.client("us-east-1");
    let r = c.idp("ListUserPools", json!({"MaxResults": 0})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-amzn-errortype"), Some("InvalidParameterException"));
    assert_eq!(
        r.json()["message"],
        "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    let r = c.idp("CreateUserPool", json!({"PoolName": "x", "MfaConfiguration": "SOMETIMES"})).await;
    assert!(
        r.json()["message"].as_str().unwrap().contains("Member must satisfy enum value set: [OFF, ON, OPTIONAL]"),
        "{}",
        r.text()
    );
    let r = c.idp("CreateUserPool", json!({"PoolName": 5})).await;
    assert_eq!(r.error_type().as_deref(), Some("SerializationException"));
    let r = c
        .idp("CreateUserPool", json!({"PoolName": "x", "AliasAttributes": ["email"], "UsernameAttributes": ["email"]}))
        .await;
    assert_eq!(r.json()["message"], "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.");
    // A value past i32 where the model has no bound is a type error, not a 500.
    let r = c
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": "us-east-1_abc", "ClientName": "x", "AuthSessionValidity": 99999999999i64}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    server.stop().await;
}

#[tokio::test]
async fn data_and_sealed_secrets_survive_a_restart() {
    let dir = std::env::temp_dir().join(format!("cognate-it-restart-{}", cognate_crypto::ids::uuid_v4()));
    let db = dir.join("cognate.db");
    let key = cognate_crypto::seal::MasterKey::generate();
    let server = TestServer::start_with(Backend::SqliteFile(db.clone()), Default::default(), key.clone()).await;
    let c = server.client("us-east-1");
    let id = c.idp("CreateUserPool", json!({"PoolName": "keep"})).await.json()["UserPool"]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = c
        .idp("CreateUserPoolClient", json!({"UserPoolId": id, "ClientName": "c", "GenerateSecret": true}))
        .await
        .json();
    let (cid, secret) =
        (client["UserPoolClient"]["ClientId"].clone(), client["UserPoolClient"]["ClientSecret"].clone());
    server.stop().await;

    let server = TestServer::start_with(Backend::SqliteFile(db.clone()), Default::default(), key).await;
    let r = server.client("us-east-1").idp("DescribeUserPoolClient", json!({"UserPoolId": id, "ClientId": cid})).await;
    assert_eq!(r.json()["UserPoolClient"]["ClientSecret"], secret);
    server.stop().await;

    // Under another master key the sealed secret does not open: an internal
    // error, reported as such, not a wrong secret handed out.
    let server = TestServer::start_with(
        Backend::SqliteFile(db),
        Default::default(),
        cognate_crypto::seal::MasterKey::generate(),
    )
    .await;
    let r = server.client("us-east-1").idp("DescribeUserPoolClient", json!({"UserPoolId": id, "ClientId": cid})).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.error_type().as_deref(), Some("InternalErrorException"));
    server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
