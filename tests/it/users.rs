//! Sign-up and confirmation over the wire, codes read from the outbox.

use cognate_testkit::{Backend, Req, Requester, TestServer};
use serde_json::{Value, json};

async fn pool_and_client(c: &Requester, pool: Value, client: Value) -> (String, String, Option<String>) {
    let r = c.idp("CreateUserPool", pool).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let mut client = client;
    client["UserPoolId"] = json!(id);
    let r = c.idp("CreateUserPoolClient", client).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cl = r.json()["UserPoolClient"].clone();
    (id, cl["ClientId"].as_str().unwrap().to_string(), cl["ClientSecret"].as_str().map(str::to_string))
}

/// The newest code sent to `destination`, read through the admin endpoint.
async fn code_for(c: &Requester, destination: &str) -> String {
    let r = c
        .send(Req {
            method: "GET".into(),
            path: format!("/_cognate/outbox?destination={destination}&limit=1"),
            ..Default::default()
        })
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json()["Messages"][0]["Body"].as_str().unwrap_or_default().to_string();
    body.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn sign_up_confirm_and_the_errors_on_the_way() {
    for backend in Backend::all() {
        let server = TestServer::start(backend).await;
        let admin = server.client("us-east-1");
        let public = server.unsigned();
        let (pool, client, _) = pool_and_client(
            &admin,
            json!({"PoolName": "p", "AutoVerifiedAttributes": ["email"], "Schema": [{"Name": "email", "Required": true}]}),
            json!({"ClientName": "app"}),
        )
        .await;

        let sign_up = |user: &str, pw: &str, attrs: Value| json!({"ClientId": client, "Username": user, "Password": pw, "UserAttributes": attrs});
        let email = json!([{"Name": "email", "Value": "jane@example.com"}]);

        let r = public.idp("SignUp", sign_up("jane", "short", email.clone())).await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidPasswordException"));
        assert_eq!(r.json()["message"], "Password did not conform with policy: Password not long enough");
        let r = public.idp("SignUp", sign_up("jane", "Passw0rd!", json!([]))).await;
        assert_eq!(r.json()["message"], "Attributes did not conform to the schema: email: The attribute is required");
        let r = public
            .idp(
                "SignUp",
                sign_up(
                    "jane",
                    "Passw0rd!",
                    json!([{"Name": "custom:nope", "Value": "x"}, {"Name": "email", "Value": "j@x.io"}]),
                ),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));

        let r = public.idp("SignUp", sign_up("jane", "Passw0rd!", email.clone())).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let out = r.json();
        assert_eq!(out["UserConfirmed"], false);
        assert_eq!(out["UserSub"].as_str().unwrap().len(), 36);
        assert_eq!(
            out["CodeDeliveryDetails"],
            json!({"AttributeName": "email", "DeliveryMedium": "EMAIL", "Destination": "j***@e***"})
        );

        let r = public.idp("SignUp", sign_up("jane", "Passw0rd!", email.clone())).await;
        assert_eq!(
            (r.error_type().as_deref(), r.json()["message"].as_str()),
            (Some("UsernameExistsException"), Some("User already exists"))
        );
        let described = admin.idp("DescribeUserPool", json!({"UserPoolId": pool})).await.json();
        assert_eq!(described["UserPool"]["EstimatedNumberOfUsers"], 1);

        // The outbox is admin-only.
        let r = public.send(Req { method: "GET".into(), path: "/_cognate/outbox".into(), ..Default::default() }).await;
        assert_eq!(r.error_type().as_deref(), Some("MissingAuthenticationTokenException"));
        let code = code_for(&admin, "jane@example.com").await;
        assert_eq!(code.len(), 6);

        let confirm = |code: &str| json!({"ClientId": client, "Username": "jane", "ConfirmationCode": code});
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = public.idp("ConfirmSignUp", confirm(wrong)).await;
        assert_eq!(r.error_type().as_deref(), Some("CodeMismatchException"));
        let r = public.idp("ConfirmSignUp", confirm(&code)).await;
        assert_eq!((r.status, r.json()), (200, json!({})), "{}", r.text());
        let r = public.idp("ConfirmSignUp", confirm(&code)).await;
        assert_eq!(r.json()["message"], "User cannot be confirmed. Current status is CONFIRMED");
        let r = public.idp("ResendConfirmationCode", json!({"ClientId": client, "Username": "jane"})).await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));

        let r = public
            .idp("SignUp", json!({"ClientId": "nosuchclient0000000000000a", "Username": "x", "Password": "Passw0rd!"}))
            .await;
        assert_eq!(r.error_type().as_deref(), Some("ResourceNotFoundException"));
        server.stop().await;
    }
}

#[tokio::test]
async fn codes_expire_burn_and_resend() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let admin = server.client("us-east-1");
    let public = server.unsigned();
    let (_, client, _) = pool_and_client(
        &admin,
        json!({"PoolName": "p", "AutoVerifiedAttributes": ["email"]}),
        json!({"ClientName": "app"}),
    )
    .await;
    let up = |u: &str, e: &str| json!({"ClientId": client, "Username": u, "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": e}]});
    let confirm = |u: &str, code: &str| json!({"ClientId": client, "Username": u, "ConfirmationCode": code});

    // Expired after 24 hours, with a moved clock.
    assert_eq!(public.idp("SignUp", up("old", "old@x.io")).await.status, 200);
    let code = code_for(&admin, "old@x.io").await;
    server.clock.advance(24 * 3600 * 1000 + 1);
    let r = public.idp("ConfirmSignUp", confirm("old", &code)).await;
    assert_eq!(r.error_type().as_deref(), Some("ExpiredCodeException"));
    // A new code replaces it and works.
    let r = public.idp("ResendConfirmationCode", json!({"ClientId": client, "Username": "old"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let fresh = code_for(&admin, "old@x.io").await;
    assert_eq!(public.idp("ConfirmSignUp", confirm("old", &fresh)).await.status, 200);

    // Five wrong tries burn a code, even the right one after them.
    assert_eq!(public.idp("SignUp", up("try", "try@x.io")).await.status, 200);
    let code = code_for(&admin, "try@x.io").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        assert_eq!(
            public.idp("ConfirmSignUp", confirm("try", wrong)).await.error_type().as_deref(),
            Some("CodeMismatchException")
        );
    }
    let r = public.idp("ConfirmSignUp", confirm("try", &code)).await;
    assert_eq!(r.error_type().as_deref(), Some("LimitExceededException"));
    server.stop().await;
}

#[tokio::test]
async fn secret_hash_and_email_usernames() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let admin = server.client("us-east-1");
    let public = server.unsigned();
    let (_, client, secret) = pool_and_client(
        &admin,
        json!({"PoolName": "p", "UsernameAttributes": ["email"], "UsernameConfiguration": {"CaseSensitive": false}}),
        json!({"ClientName": "app", "GenerateSecret": true}),
    )
    .await;
    let secret = secret.unwrap();
    let hash = |user: &str| {
        use base64::Engine as _;
        let mac = cognate_crypto::hmac_sha256(secret.as_bytes(), format!("{user}{client}").as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac)
    };
    let up = |user: &str, h: Option<String>| {
        let mut v = json!({"ClientId": client, "Username": user, "Password": "Passw0rd!"});
        if let Some(h) = h {
            v["SecretHash"] = json!(h);
        }
        v
    };
    let r = public.idp("SignUp", up("Ann@Example.com", None)).await;
    assert_eq!(r.json()["message"], format!("Client {client} is configured for secret but secret was not received"));
    let r = public.idp("SignUp", up("Ann@Example.com", Some(hash("someone else")))).await;
    assert_eq!(r.json()["message"], format!("Unable to verify secret hash for client {client}"));
    let r = public.idp("SignUp", up("not-an-email", Some(hash("not-an-email")))).await;
    assert_eq!(r.json()["message"], "Username should be an email.");
    let r = public.idp("SignUp", up("Ann@Example.com", Some(hash("Ann@Example.com")))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The email is unique, whatever its case.
    let r = public.idp("SignUp", up("ann@example.com", Some(hash("ann@example.com")))).await;
    assert_eq!(r.json()["message"], "An account with the given email already exists.");
    server.stop().await;
}

#[tokio::test]
async fn email_alias_sign_in_and_forced_alias_moves() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let admin = server.client("us-east-1");
    let public = server.unsigned();
    let (_, client, _) = pool_and_client(
        &admin,
        json!({"PoolName": "p", "AliasAttributes": ["email"], "AutoVerifiedAttributes": ["email"]}),
        json!({"ClientName": "app", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    let up = |u: &str| json!({"ClientId": client, "Username": u, "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "same@example.com"}]});
    let auth = |u: &str| json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": u, "PASSWORD": "Passw0rd!"}});
    let r =
        public.idp("SignUp", json!({"ClientId": client, "Username": "x@example.com", "Password": "Passw0rd!"})).await;
    assert_eq!(
        r.json()["message"],
        "Username cannot be of email format, since user pool is configured for email alias."
    );

    assert_eq!(public.idp("SignUp", up("ann")).await.status, 200);
    let code = code_for(&admin, "same@example.com").await;
    assert_eq!(
        public
            .idp("ConfirmSignUp", json!({"ClientId": client, "Username": "ann", "ConfirmationCode": code}))
            .await
            .status,
        200
    );
    let r = public.idp("InitiateAuth", auth("same@example.com")).await;
    assert_eq!(r.status, 200, "a verified email is a sign-in alias: {}", r.text());

    // A second user may sign up with the email, but confirming it would take the alias.
    assert_eq!(public.idp("SignUp", up("bob")).await.status, 200);
    let code = code_for(&admin, "same@example.com").await;
    let confirm = |force: bool| json!({"ClientId": client, "Username": "bob", "ConfirmationCode": code, "ForceAliasCreation": force});
    assert_eq!(public.idp("ConfirmSignUp", confirm(false)).await.error_type().as_deref(), Some("AliasExistsException"));
    assert_eq!(public.idp("ConfirmSignUp", confirm(true)).await.status, 200, "the code was not spent by the refusal");
    let r = public.idp("InitiateAuth", auth("same@example.com")).await;
    let id = r.json()["AuthenticationResult"]["IdToken"].as_str().unwrap().to_string();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims["cognito:username"], "bob", "the alias moved");
    server.stop().await;
}
