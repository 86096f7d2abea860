//! Sign-in over the wire: password and SRP flows, tokens against the served
//! JWKS, refresh, GetUser, lockout, and the errors on the way.

use cognate_crypto::{jwt, srp};
use cognate_testkit::{Backend, Req, Requester, TestServer};
use serde_json::{Value, json};

pub struct Fixture {
    pub server: TestServer,
    pub pool: String,
    pub client: String,
}

pub async fn fixture(backend: Backend, client_extra: Value) -> Fixture {
    fixture_on(TestServer::start(backend).await, client_extra).await
}

/// The fixture's pool and client on a server already started.
pub async fn fixture_on(server: TestServer, client_extra: Value) -> Fixture {
    let admin = server.client("us-east-1");
    let r = admin.idp("CreateUserPool", json!({"PoolName": "p", "AutoVerifiedAttributes": ["email"]})).await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let mut body = json!({"UserPoolId": pool, "ClientName": "app"});
    for (k, v) in client_extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = admin.idp("CreateUserPoolClient", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    Fixture { server, pool, client }
}

pub async fn confirmed_user(f: &Fixture, username: &str, email: &str) {
    let public = f.server.unsigned();
    let r = public
        .idp("SignUp", json!({"ClientId": f.client, "Username": username, "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": email}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let admin = f.server.client("us-east-1");
    let r = admin
        .send(Req {
            method: "GET".into(),
            path: format!("/_cognate/outbox?destination={email}&limit=1"),
            ..Default::default()
        })
        .await;
    let code: String = r.json()["Messages"][0]["Body"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
    let r = public
        .idp("ConfirmSignUp", json!({"ClientId": f.client, "Username": username, "ConfirmationCode": code}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

pub fn password_auth(client: &str, user: &str, pw: &str) -> Value {
    json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": user, "PASSWORD": pw}})
}

async fn jwks(server: &TestServer, pool: &str) -> jwt::VerifyingKeys {
    let r = cognate_testkit::raw_http(server.addr, "GET", &format!("/{pool}/.well-known/jwks.json"), &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    jwt::VerifyingKeys::from_jwks(&r.json()).unwrap()
}

/// An SRP sign-in as a client computes it; returns RespondToAuthChallenge's answer.
pub async fn srp_sign_in(
    public: &Requester,
    pool: &str,
    client: &str,
    username: &str,
    password: &str,
) -> cognate_testkit::Response {
    let (a, big_a) = srp::client::generate_a();
    let a_hex = hex::encode(&big_a);
    let r = public.idp("InitiateAuth", json!({"ClientId": client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": username, "SRP_A": a_hex}})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = r.json();
    assert_eq!(out["ChallengeName"], "PASSWORD_VERIFIER");
    let p = &out["ChallengeParameters"];
    let user_id = p["USER_ID_FOR_SRP"].as_str().unwrap();
    let key = srp::client::session_key(
        &a,
        &big_a,
        p["SRP_B"].as_str().unwrap(),
        p["SALT"].as_str().unwrap(),
        srp::pool_name(pool),
        user_id,
        password,
    );
    let Ok(key) = key else { panic!("client SRP maths failed: {key:?}") };
    let timestamp = srp::format_timestamp(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64,
    );
    let block = p["SECRET_BLOCK"].as_str().unwrap();
    let signature = srp::client::claim_signature(&key, srp::pool_name(pool), user_id, block, &timestamp).unwrap();
    public
        .idp(
            "RespondToAuthChallenge",
            json!({"ClientId": client, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": signature, "TIMESTAMP": timestamp}}),
        )
        .await
}

#[tokio::test]
async fn password_and_srp_sign_in_give_verifiable_tokens() {
    for backend in Backend::all() {
        let f = fixture(backend, json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]})).await;
        confirmed_user(&f, "jane", "jane@example.com").await;
        let public = f.server.unsigned();

        let r = public.idp("InitiateAuth", password_auth(&f.client, "jane", "Passw0rd!")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let result = r.json()["AuthenticationResult"].clone();
        assert_eq!((result["TokenType"].as_str(), result["ExpiresIn"].as_i64()), (Some("Bearer"), Some(3600)));

        let keys = jwks(&f.server, &f.pool).await;
        let id = jwt::verify(result["IdToken"].as_str().unwrap(), &keys).unwrap();
        let iss = format!("{}/{}", f.server.endpoint(), f.pool);
        assert_eq!(id["iss"], iss.as_str());
        assert_eq!((id["token_use"].as_str(), id["aud"].as_str()), (Some("id"), Some(f.client.as_str())));
        assert_eq!((id["cognito:username"].as_str(), id["email"].as_str()), (Some("jane"), Some("jane@example.com")));
        assert_eq!(id["email_verified"], true);
        let access = jwt::verify(result["AccessToken"].as_str().unwrap(), &keys).unwrap();
        assert_eq!(
            (access["token_use"].as_str(), access["client_id"].as_str()),
            (Some("access"), Some(f.client.as_str()))
        );
        assert_eq!(access["scope"], "aws.cognito.signin.user.admin");
        assert_eq!(access["sub"], id["sub"]);
        assert_eq!(access["exp"].as_i64().unwrap() - access["iat"].as_i64().unwrap(), 3600);

        let r = cognate_testkit::raw_http(
            f.server.addr,
            "GET",
            &format!("/{}/.well-known/openid-configuration", f.pool),
            &[],
            b"",
        )
        .await;
        assert_eq!(r.json()["issuer"], iss.as_str());
        assert_eq!(r.json()["jwks_uri"], format!("{iss}/.well-known/jwks.json"));

        let r = public.idp("GetUser", json!({"AccessToken": result["AccessToken"]})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["Username"], "jane");
        assert_eq!(r.json()["UserAttributes"][0], json!({"Name": "sub", "Value": id["sub"]}));
        let r = public.idp("GetUser", json!({"AccessToken": result["IdToken"]})).await;
        assert_eq!(r.json()["message"], "Invalid Access Token", "an ID token is not an access token");

        // Refresh: new ID and access tokens, same origin, no new refresh token.
        let r = public.idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"]}})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let refreshed = r.json()["AuthenticationResult"].clone();
        assert!(refreshed.get("RefreshToken").is_none());
        let again = jwt::verify(refreshed["AccessToken"].as_str().unwrap(), &keys).unwrap();
        assert_eq!(again["origin_jti"], access["origin_jti"]);
        // amazon-cognito-identity-js sends DEVICE_KEY: null; null means absent.
        let r = public
            .idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": result["RefreshToken"], "DEVICE_KEY": null}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = public.idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": "bogus"}})).await;
        assert_eq!(r.json()["message"], "Invalid Refresh Token");

        // SRP, by the username and by the email alias... (email is not an alias in this pool: username only).
        let r = srp_sign_in(&public, &f.pool, &f.client, "jane", "Passw0rd!").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let srp_tokens = r.json()["AuthenticationResult"].clone();
        assert!(jwt::verify(srp_tokens["IdToken"].as_str().unwrap(), &keys).is_ok());
        let r = srp_sign_in(&public, &f.pool, &f.client, "jane", "wrong-Passw0rd!").await;
        assert_eq!(
            (r.error_type().as_deref(), r.json()["message"].as_str()),
            (Some("NotAuthorizedException"), Some("Incorrect username or password."))
        );

        let r = public.idp("InitiateAuth", password_auth(&f.client, "jane", "wrong")).await;
        assert_eq!(r.json()["message"], "Incorrect username or password.");
        let r = public.idp("InitiateAuth", password_auth(&f.client, "nobody", "Passw0rd!")).await;
        assert_eq!(r.error_type().as_deref(), Some("UserNotFoundException"), "LEGACY existence errors by default");
        f.server.stop().await;
    }
}

#[tokio::test]
async fn flows_must_be_enabled_and_unconfirmed_users_cannot_sign_in() {
    let f = fixture(Backend::SqliteMemory, json!({})).await;
    let public = f.server.unsigned();
    let r = public.idp("InitiateAuth", password_auth(&f.client, "jane", "Passw0rd!")).await;
    assert_eq!(r.json()["message"], "USER_PASSWORD_AUTH flow not enabled for this client");
    let r = public
        .idp(
            "InitiateAuth",
            json!({"ClientId": f.client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "x"}}),
        )
        .await;
    assert_eq!(r.json()["message"], "Missing required parameter SRP_A");
    let r = public
        .idp("SignUp", json!({"ClientId": f.client, "Username": "uc", "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "uc@x.io"}]}))
        .await;
    assert_eq!(r.status, 200);
    let r = srp_sign_in(&public, &f.pool, &f.client, "uc", "Passw0rd!").await;
    assert_eq!(r.error_type().as_deref(), Some("UserNotConfirmedException"), "{}", r.text());
    f.server.stop().await;
}

#[tokio::test]
async fn lockout_after_repeated_failures_and_enumeration_is_hidden() {
    let f = fixture(
        Backend::SqliteMemory,
        json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], "PreventUserExistenceErrors": "ENABLED"}),
    )
    .await;
    confirmed_user(&f, "lee", "lee@example.com").await;
    let public = f.server.unsigned();
    for _ in 0..5 {
        let r = public.idp("InitiateAuth", password_auth(&f.client, "lee", "nope")).await;
        assert_eq!(r.json()["message"], "Incorrect username or password.");
    }
    // Locked now, even with the right password.
    let r = public.idp("InitiateAuth", password_auth(&f.client, "lee", "Passw0rd!")).await;
    assert_eq!(r.json()["message"], "Password attempts exceeded");
    // The lock wears off with time (moved clock, no sleeping).
    f.server.clock.advance(2_000);
    let r = public.idp("InitiateAuth", password_auth(&f.client, "lee", "Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The sign-in cleared the count: one more wrong password is just wrong.
    let r = public.idp("InitiateAuth", password_auth(&f.client, "lee", "nope")).await;
    assert_eq!(r.json()["message"], "Incorrect username or password.");
    let r = public.idp("InitiateAuth", password_auth(&f.client, "lee", "Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // An unknown user looks like a wrong password, and gets an SRP challenge.
    let r = public.idp("InitiateAuth", password_auth(&f.client, "ghost", "Passw0rd!")).await;
    assert_eq!(
        (r.error_type().as_deref(), r.json()["message"].as_str()),
        (Some("NotAuthorizedException"), Some("Incorrect username or password."))
    );
    let r = srp_sign_in(&public, &f.pool, &f.client, "ghost", "Passw0rd!").await;
    assert_eq!(r.json()["message"], "Incorrect username or password.");

    // Sessions expire with the client's AuthSessionValidity (3 minutes).
    let (_, big_a) = srp::client::generate_a();
    let r = public.idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "lee", "SRP_A": hex::encode(big_a)}})).await;
    let block = r.json()["ChallengeParameters"]["SECRET_BLOCK"].as_str().unwrap().to_string();
    f.server.clock.advance(3 * 60 * 1000 + 1);
    let r = public
        .idp(
            "RespondToAuthChallenge",
            json!({"ClientId": f.client, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": "lee", "PASSWORD_CLAIM_SECRET_BLOCK": block, "PASSWORD_CLAIM_SIGNATURE": "AAAA", "TIMESTAMP": "Sun Nov 22 1:00:00 UTC 2026"}}),
        )
        .await;
    assert_eq!(r.json()["message"], "Invalid session for the user, session is expired.");
    // A tampered secret block does not open.
    let r = public
        .idp(
            "RespondToAuthChallenge",
            json!({"ClientId": f.client, "ChallengeName": "PASSWORD_VERIFIER", "ChallengeResponses": {
                "USERNAME": "lee", "PASSWORD_CLAIM_SECRET_BLOCK": "dGFtcGVyZWQ=", "PASSWORD_CLAIM_SIGNATURE": "AAAA", "TIMESTAMP": "Sun Nov 22 1:00:00 UTC 2026"}}),
        )
        .await;
    assert_eq!(r.json()["message"], "Invalid session for the user.");
    f.server.stop().await;
}

#[tokio::test]
async fn new_passwords_are_hashed_with_the_operators_argon2id_setting() {
    let hashing = cognate_idp::passwords::Hashing::parse("m=64,t=1,p=1").unwrap();
    let server =
        TestServer::start_with_idp(Backend::all().remove(0), move |idp| idp.with_password_hashing(hashing)).await;
    let f = fixture_on(server, json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"]})).await;
    confirmed_user(&f, "ivy", "ivy@example.com").await;
    let user = f
        .server
        .idp
        .store()
        .get_user(cognate_store::UserKey { pool_id: &f.pool, username_key: "ivy" })
        .await
        .unwrap()
        .unwrap();
    let stored = user.password_hash.unwrap_or_default();
    assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{stored}");
    let public = f.server.unsigned();
    let r = public.idp("InitiateAuth", password_auth(&f.client, "ivy", "Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = public.idp("InitiateAuth", password_auth(&f.client, "ivy", "Passw0rd?")).await;
    assert_eq!(r.json()["message"], "Incorrect username or password.");
    f.server.stop().await;
}

#[tokio::test]
async fn access_tokens_expire_with_the_clock() {
    let f = fixture(
        Backend::SqliteMemory,
        json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    confirmed_user(&f, "kim", "kim@example.com").await;
    let public = f.server.unsigned();
    let r = public.idp("InitiateAuth", password_auth(&f.client, "kim", "Passw0rd!")).await;
    let access = r.json()["AuthenticationResult"]["AccessToken"].clone();
    f.server.clock.advance(3600 * 1000);
    let r = public.idp("GetUser", json!({"AccessToken": access})).await;
    assert_eq!(r.json()["message"], "Access Token has expired");
    let r = public.idp("GetUser", json!({"AccessToken": "a.b.c"})).await;
    assert_eq!(r.json()["message"], "Invalid Access Token");
    f.server.stop().await;
}

#[tokio::test]
async fn signing_keys_rotate_with_overlap_and_retire() {
    let f = fixture(
        Backend::SqliteMemory,
        json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}),
    )
    .await;
    confirmed_user(&f, "rot", "rot@example.com").await;
    let public = f.server.unsigned();
    let sign_in = || async {
        public.idp("InitiateAuth", password_auth(&f.client, "rot", "Passw0rd!")).await.json()["AuthenticationResult"]
            .clone()
    };
    let kid_of = |t: &Value| {
        use base64::Engine as _;
        let header = t.as_str().unwrap().split('.').next().unwrap();
        let h: Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        h["kid"].as_str().unwrap().to_string()
    };
    let old = sign_in().await;
    let old_kid = kid_of(&old["AccessToken"]);

    let new_kid = f.server.idp.rotate_signing_key(&f.pool).await.unwrap();
    let jwks = cognate_testkit::raw_http(f.server.addr, "GET", &format!("/{}/.well-known/jwks.json", f.pool), &[], b"")
        .await
        .json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2, "the new key is published at once");
    assert_eq!(kid_of(&sign_in().await["AccessToken"]), old_kid, "and signs only after the overlap");
    f.server.clock.advance(cognate_idp::tokens::KEY_PUBLISH_AHEAD_MS + 1000);
    let fresh = sign_in().await;
    assert_eq!(kid_of(&fresh["AccessToken"]), new_kid);
    assert_eq!(
        public.idp("GetUser", json!({"AccessToken": old["AccessToken"]})).await.status,
        200,
        "old tokens still verify"
    );

    assert_eq!(
        f.server.idp.retire_signing_key(&f.pool, &new_kid).await.unwrap_err().code(),
        "InvalidParameterException"
    );
    f.server.idp.retire_signing_key(&f.pool, &old_kid).await.unwrap();
    let r = public.idp("GetUser", json!({"AccessToken": old["AccessToken"]})).await;
    assert_eq!(r.json()["message"], "Invalid Access Token", "a retired key's tokens stop verifying");
    assert_eq!(public.idp("GetUser", json!({"AccessToken": fresh["AccessToken"]})).await.status, 200);
    f.server.stop().await;
}

/// The documented lag: a node that checked a token's signature trusts it for
/// a minute, so a key retired on another node stops its tokens there within
/// that minute, not at once.
#[tokio::test]
async fn another_node_stops_a_retired_keys_tokens_within_a_minute() {
    let dir = std::env::temp_dir().join(format!("cognate-it-nodes-{}", cognate_crypto::ids::uuid_v4()));
    let db = dir.join("cognate.db");
    let key = cognate_crypto::seal::MasterKey::generate();
    let node = |key| TestServer::start_node(Backend::SqliteFile(db.clone()), key, "https://auth.example.com");
    let server = node(key.clone()).await;
    let admin = server.client("us-east-1");
    let r = admin.idp("CreateUserPool", json!({"PoolName": "p", "AutoVerifiedAttributes": ["email"]})).await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": pool, "ClientName": "app", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"]}),
        )
        .await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let f = Fixture { server, pool, client };
    let other = node(key).await;
    confirmed_user(&f, "two", "two@example.com").await;
    let r = f.server.unsigned().idp("InitiateAuth", password_auth(&f.client, "two", "Passw0rd!")).await;
    let old = r.json()["AuthenticationResult"]["AccessToken"].as_str().unwrap().to_string();
    let on_other = other.unsigned();
    let get_user = || on_other.idp("GetUser", json!({"AccessToken": old}));
    assert_eq!(get_user().await.status, 200, "the other node checks and remembers the signature");

    // Node one rotates, lets the new key take over, and retires the old one.
    let old_kid = {
        let keys = f.server.idp.pool_keys(&f.pool).await.unwrap();
        keys.signing(f.server.idp.now_ms()).unwrap().kid().to_string()
    };
    f.server.idp.rotate_signing_key(&f.pool).await.unwrap();
    f.server.clock.advance(cognate_idp::tokens::KEY_PUBLISH_AHEAD_MS + 1000);
    f.server.idp.retire_signing_key(&f.pool, &old_kid).await.unwrap();
    let r = f.server.unsigned().idp("GetUser", json!({"AccessToken": old})).await;
    assert_eq!(r.json()["message"], "Invalid Access Token", "refused at once where it was retired");

    // The other node, 30 s later: still within its minute.
    other.clock.advance(30_000);
    assert_eq!(get_user().await.status, 200);
    // A minute after it checked: keys and signatures are read again.
    other.clock.advance(31_000);
    let r = get_user().await;
    assert_eq!(r.json()["message"], "Invalid Access Token", "{}", r.text());
    other.stop().await;
    f.server.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}
