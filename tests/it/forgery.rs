//! Forged credentials sent to the real server: well-formed tokens whose
//! signature, algorithm or issuer is wrong, sealed sessions edited or carried
//! to another client. Each must be refused as Cognito refuses it.

use crate::signin::{confirmed_user, fixture, password_auth};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use cognate_testkit::{Backend, Requester};
use serde_json::{Value, json};

const FLOWS: &str = r#"{"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], "PreventUserExistenceErrors": "ENABLED"}"#;

fn part(token: &str, i: usize) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

fn encode(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

/// The token with its payload edited and its original signature kept.
fn edited(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut payload = part(token, 1);
    edit(&mut payload);
    let pieces: Vec<&str> = token.split('.').collect();
    format!("{}.{}.{}", pieces[0], encode(&payload), pieces[2])
}

/// The token's claims under another header, signed with HMAC-SHA256 under
/// `secret` (or unsigned when `secret` is None).
fn resigned(token: &str, header: Value, secret: Option<&[u8]>) -> String {
    let signing_input = format!("{}.{}", encode(&header), token.split('.').nth(1).unwrap());
    let signature = secret.map(|s| B64.encode(cognate_crypto::hmac_sha256(s, signing_input.as_bytes())));
    format!("{signing_input}.{}", signature.unwrap_or_default())
}

async fn access_token(public: &Requester, client: &str, user: &str) -> (String, String) {
    let r = public.idp("InitiateAuth", password_auth(client, user, "Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let result = &r.json()["AuthenticationResult"];
    (result["AccessToken"].as_str().unwrap().to_string(), result["IdToken"].as_str().unwrap().to_string())
}

/// Every operation that takes an access token, with a body around it.
fn token_operations(token: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("GetUser", json!({"AccessToken": token})),
        (
            "ChangePassword",
            json!({"AccessToken": token, "PreviousPassword": "Passw0rd!", "ProposedPassword": "N3w-Passw0rd!"}),
        ),
        ("UpdateUserAttributes", json!({"AccessToken": token, "UserAttributes": [{"Name": "name", "Value": "x"}]})),
        ("DeleteUserAttributes", json!({"AccessToken": token, "UserAttributeNames": ["name"]})),
        ("GetUserAttributeVerificationCode", json!({"AccessToken": token, "AttributeName": "email"})),
        ("VerifyUserAttribute", json!({"AccessToken": token, "AttributeName": "email", "Code": "123456"})),
        ("GlobalSignOut", json!({"AccessToken": token})),
        ("AssociateSoftwareToken", json!({"AccessToken": token})),
        ("VerifySoftwareToken", json!({"AccessToken": token, "UserCode": "123456"})),
        ("SetUserMFAPreference", json!({"AccessToken": token, "SoftwareTokenMfaSettings": {"Enabled": false}})),
        ("SetUserSettings", json!({"AccessToken": token, "MFAOptions": []})),
        ("ListDevices", json!({"AccessToken": token})),
        ("GetDevice", json!({"AccessToken": token, "DeviceKey": "us-east-1_00000000-0000-4000-8000-000000000000"})),
        ("ForgetDevice", json!({"AccessToken": token, "DeviceKey": "us-east-1_00000000-0000-4000-8000-000000000000"})),
        ("DeleteUser", json!({"AccessToken": token})),
    ]
}

#[tokio::test]
async fn forged_access_tokens_are_refused_by_every_operation_that_takes_one() {
    let f = fixture(Backend::SqliteTemp, serde_json::from_str(FLOWS).unwrap()).await;
    confirmed_user(&f, "ann", "ann@example.com").await;
    confirmed_user(&f, "bob", "bob@example.com").await;
    let public = f.server.unsigned();
    let (ann, ann_id) = access_token(&public, &f.client, "ann").await;
    let (bob, _) = access_token(&public, &f.client, "bob").await;
    let bob_claims = part(&bob, 1);

    // A valid token of another pool on the same server.
    let admin = f.server.client("us-east-1");
    let r = admin.idp("CreateUserPool", json!({"PoolName": "other", "AutoVerifiedAttributes": ["email"]})).await;
    let other_pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let mut body: Value = serde_json::from_str(FLOWS).unwrap();
    body["UserPoolId"] = json!(other_pool);
    body["ClientName"] = json!("app");
    let r = admin.idp("CreateUserPoolClient", body).await;
    let other_client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    // confirmed_user works on a fixture: lend it the server for the other pool.
    let other = crate::signin::Fixture { server: f.server, pool: other_pool.clone(), client: other_client.clone() };
    confirmed_user(&other, "ann", "ann@elsewhere.com").await;
    let (elsewhere, _) = access_token(&public, &other_client, "ann").await;
    let f = crate::signin::Fixture { server: other.server, pool: f.pool, client: f.client };

    let jwks = cognate_testkit::raw_http(f.server.addr, "GET", &format!("/{}/.well-known/jwks.json", f.pool), &[], b"")
        .await
        .json();
    let jwk = jwks["keys"][0].clone();
    let modulus = B64.decode(jwk["n"].as_str().unwrap()).unwrap();
    let kid = jwk["kid"].as_str().unwrap().to_string();

    let forged: Vec<(&str, String)> = vec![
        // Ann's token made out to Bob, Ann's signature kept.
        (
            "payload edited",
            edited(&ann, |p| {
                p["sub"] = bob_claims["sub"].clone();
                p["username"] = bob_claims["username"].clone();
            }),
        ),
        ("lifetime extended", edited(&ann, |p| p["exp"] = json!(p["exp"].as_i64().unwrap() + 86_400))),
        ("alg none", resigned(&ann, json!({"kid": kid, "alg": "none"}), None)),
        ("alg none, no kid", resigned(&ann, json!({"alg": "none", "typ": "JWT"}), None)),
        (
            "HS256 under the published JWK",
            resigned(&ann, json!({"kid": kid, "alg": "HS256"}), Some(jwk.to_string().as_bytes())),
        ),
        ("HS256 under the modulus", resigned(&ann, json!({"kid": kid, "alg": "HS256"}), Some(&modulus))),
        (
            "HS256 under the JWKS document",
            resigned(&ann, json!({"kid": kid, "alg": "HS256"}), Some(jwks.to_string().as_bytes())),
        ),
        // Another pool's real token, as it is and with its issuer rewritten.
        (
            "another pool's token, issuer rewritten",
            edited(&elsewhere, |p| {
                p["iss"] = json!(p["iss"].as_str().unwrap().replace(&other_pool, &f.pool));
                p["client_id"] = json!(f.client);
            }),
        ),
        ("an ID token", ann_id.clone()),
        ("signature cut off", ann.rsplit_once('.').unwrap().0.to_string() + "."),
    ];
    for (what, token) in &forged {
        for (op, body) in token_operations(token) {
            let r = public.idp(op, body).await;
            assert_eq!(
                r.error_type().as_deref(),
                Some("NotAuthorizedException"),
                "{what}: {op} answered {} {}",
                r.status,
                r.text()
            );
        }
    }
    // Nothing a forgery asked for happened: Ann and Bob are as they were.
    let r = public.idp("GetUser", json!({"AccessToken": ann})).await;
    assert_eq!(r.json()["Username"], "ann", "{}", r.text());
    let r = public.idp("GetUser", json!({"AccessToken": bob})).await;
    assert_eq!(r.json()["Username"], "bob", "{}", r.text());
    // The other pool's token is good in its own pool only.
    let r = public.idp("GetUser", json!({"AccessToken": elsewhere})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    f.server.stop().await;
}

#[tokio::test]
async fn sealed_sessions_cannot_be_edited_or_carried_to_another_client() {
    let f = fixture(Backend::SqliteTemp, serde_json::from_str(FLOWS).unwrap()).await;
    let (public, admin) = (f.server.unsigned(), f.server.client("us-east-1"));
    let mut body: Value = serde_json::from_str(FLOWS).unwrap();
    body["UserPoolId"] = json!(f.pool);
    body["ClientName"] = json!("second");
    let r = admin.idp("CreateUserPoolClient", body).await;
    let second = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let r = admin
        .idp(
            "AdminCreateUser",
            json!({"UserPoolId": f.pool, "Username": "tim", "TemporaryPassword": "Temp0rary!", "MessageAction": "SUPPRESS"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = public.idp("InitiateAuth", password_auth(&f.client, "tim", "Temp0rary!")).await;
    assert_eq!(r.json()["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{}", r.text());
    let session = r.json()["Session"].as_str().unwrap().to_string();
    let answer = |client: &str, session: &str| {
        json!({"ClientId": client, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session,
               "ChallengeResponses": {"USERNAME": "tim", "NEW_PASSWORD": "Perman3nt!"}})
    };
    // One character changed anywhere in the sealed session.
    let mut chars: Vec<char> = session.chars().collect();
    for at in [10, chars.len() / 2, chars.len() - 2] {
        let keep = chars[at];
        chars[at] = if keep == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.iter().collect();
        chars[at] = keep;
        let r = public.idp("RespondToAuthChallenge", answer(&f.client, &tampered)).await;
        assert_eq!(r.json()["message"], "Invalid session for the user.", "{}", r.text());
    }
    // The real session through another client of the same pool.
    let r = public.idp("RespondToAuthChallenge", answer(&second, &session)).await;
    assert_eq!(r.json()["message"], "Invalid session for the user.", "{}", r.text());
    // An SRP secret block through another client.
    let (_, big_a) = cognate_crypto::srp::client::generate_a();
    let r = public
        .idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "tim", "SRP_A": hex::encode(big_a)}}))
        .await;
    let block = r.json()["ChallengeParameters"]["SECRET_BLOCK"].as_str().unwrap().to_string();
    let r = public
        .idp(
            "RespondToAuthChallenge",
            json!({"ClientId": second, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": "tim", "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": "AAAA", "TIMESTAMP": "Sun Nov 22 1:00:00 UTC 2026"}}),
        )
        .await;
    assert_eq!(r.json()["message"], "Invalid session for the user.", "{}", r.text());
    // The untouched session still works where it was issued.
    let r = public.idp("RespondToAuthChallenge", answer(&f.client, &session)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["AuthenticationResult"]["AccessToken"].is_string());
    f.server.stop().await;
}

/// A client with a secret: every public step proves it, the answers to a
/// challenge too (they cannot ride on the Session alone).
#[tokio::test]
async fn a_secret_client_proves_its_secret_in_every_step() {
    let f = fixture(
        Backend::SqliteTemp,
        json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], "GenerateSecret": true}),
    )
    .await;
    let (public, admin) = (f.server.unsigned(), f.server.client("us-east-1"));
    let r = admin.idp("DescribeUserPoolClient", json!({"UserPoolId": f.pool, "ClientId": f.client})).await;
    let secret = r.json()["UserPoolClient"]["ClientSecret"].as_str().unwrap().to_string();
    let hash = |name: &str| {
        base64::engine::general_purpose::STANDARD
            .encode(cognate_crypto::hmac_sha256(secret.as_bytes(), format!("{name}{}", f.client).as_bytes()))
    };
    admin
        .idp(
            "AdminCreateUser",
            json!({"UserPoolId": f.pool, "Username": "kim", "TemporaryPassword": "Temp0rary!", "MessageAction": "SUPPRESS"}),
        )
        .await;
    let r = public
        .idp(
            "InitiateAuth",
            json!({"ClientId": f.client, "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": "kim", "PASSWORD": "Temp0rary!", "SECRET_HASH": hash("kim")}}),
        )
        .await;
    assert_eq!(r.json()["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{}", r.text());
    let session = r.json()["Session"].as_str().unwrap().to_string();
    let answer = |responses: Value| json!({"ClientId": f.client, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session, "ChallengeResponses": responses});
    let r =
        public.idp("RespondToAuthChallenge", answer(json!({"USERNAME": "kim", "NEW_PASSWORD": "Perman3nt!"}))).await;
    assert_eq!(
        r.json()["message"],
        format!("Client {} is configured for secret but secret was not received", f.client)
    );
    let r = public
        .idp(
            "RespondToAuthChallenge",
            answer(json!({"USERNAME": "kim", "NEW_PASSWORD": "Perman3nt!", "SECRET_HASH": hash("kit")})),
        )
        .await;
    assert_eq!(r.json()["message"], format!("Unable to verify secret hash for client {}", f.client));
    let r = public
        .idp(
            "RespondToAuthChallenge",
            answer(json!({"USERNAME": "kim", "NEW_PASSWORD": "Perman3nt!", "SECRET_HASH": hash("kim")})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A refresh proves it over the username or the sub.
    let refresh = r.json()["AuthenticationResult"]["RefreshToken"].as_str().unwrap().to_string();
    let sub =
        part(r.json()["AuthenticationResult"]["IdToken"].as_str().unwrap(), 1)["sub"].as_str().unwrap().to_string();
    for name in ["kim", sub.as_str()] {
        let r = public
            .idp(
                "InitiateAuth",
                json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH",
                "AuthParameters": {"REFRESH_TOKEN": refresh, "SECRET_HASH": hash(name)}}),
            )
            .await;
        assert_eq!(r.status, 200, "{name}: {}", r.text());
    }
    let r = public
        .idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": refresh}}))
        .await;
    assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));
    f.server.stop().await;
}
