//! The signed-in user's account: passwords, recovery, attributes, sign-out,
//! revocation, deletion; and admin-initiated sign-in.

use crate::signin::{confirmed_user, fixture, password_auth, srp_sign_in};
use cognate_testkit::{Backend, Req, Requester};
use serde_json::{Value, json};

const FLOWS: &str = r#"{"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"]}"#;

pub(crate) async fn latest_code(admin: &Requester, destination: &str) -> String {
    let r = admin
        .send(Req {
            method: "GET".into(),
            path: format!("/_cognate/outbox?destination={destination}&limit=1"),
            ..Default::default()
        })
        .await;
    r.json()["Messages"][0]["Body"].as_str().unwrap_or_default().chars().filter(char::is_ascii_digit).collect()
}

async fn tokens(public: &Requester, client: &str, user: &str, pw: &str) -> Value {
    let r = public.idp("InitiateAuth", password_auth(client, user, pw)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["AuthenticationResult"].clone()
}

#[tokio::test]
async fn change_and_reset_password() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    confirmed_user(&f, "ann", "ann@example.com").await;
    let (public, admin) = (f.server.unsigned(), f.server.client("us-east-1"));
    let t = tokens(&public, &f.client, "ann", "Passw0rd!").await;

    let change = |prev: &str, next: &str| json!({"AccessToken": t["AccessToken"], "PreviousPassword": prev, "ProposedPassword": next});
    let r = public.idp("ChangePassword", change("wrong-Passw0rd!", "N3w-Passw0rd!")).await;
    assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));
    let r = public.idp("ChangePassword", change("Passw0rd!", "weak")).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidPasswordException"));
    let r = public.idp("ChangePassword", change("Passw0rd!", "N3w-Passw0rd!")).await;
    assert_eq!((r.status, r.json()), (200, json!({})), "{}", r.text());
    assert_eq!(public.idp("InitiateAuth", password_auth(&f.client, "ann", "Passw0rd!")).await.status, 400);
    // Both the hash and the SRP verifier follow the new password.
    assert_eq!(srp_sign_in(&public, &f.pool, &f.client, "ann", "N3w-Passw0rd!").await.status, 200);

    // Forgot password: code to the verified email, then a new password.
    let r = public.idp("ForgotPassword", json!({"ClientId": f.client, "Username": "ann"})).await;
    assert_eq!(r.json()["CodeDeliveryDetails"]["Destination"], "a***@e***", "{}", r.text());
    let code = latest_code(&admin, "ann@example.com").await;
    let confirm = |code: &str, pw: &str| json!({"ClientId": f.client, "Username": "ann", "ConfirmationCode": code, "Password": pw});
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(
        public.idp("ConfirmForgotPassword", confirm(wrong, "Res3t-Passw0rd!")).await.error_type().as_deref(),
        Some("CodeMismatchException")
    );
    let r = public.idp("ConfirmForgotPassword", confirm(&code, "Res3t-Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        public.idp("ConfirmForgotPassword", confirm(&code, "Res3t-Passw0rd!")).await.error_type().as_deref(),
        Some("CodeMismatchException"),
        "single use"
    );
    tokens(&public, &f.client, "ann", "Res3t-Passw0rd!").await;

    // Reset codes live one hour.
    public.idp("ForgotPassword", json!({"ClientId": f.client, "Username": "ann"})).await;
    let code = latest_code(&admin, "ann@example.com").await;
    f.server.clock.advance(3600 * 1000 + 1);
    assert_eq!(
        public.idp("ConfirmForgotPassword", confirm(&code, "Late-Passw0rd!")).await.error_type().as_deref(),
        Some("ExpiredCodeException")
    );

    // No verified channel, no reset.
    public
        .idp("SignUp", json!({"ClientId": f.client, "Username": "unv", "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "unv@x.io"}]}))
        .await;
    let r = public.idp("ForgotPassword", json!({"ClientId": f.client, "Username": "unv"})).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"));
    f.server.stop().await;
}

#[tokio::test]
async fn attributes_change_verify_and_delete() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    confirmed_user(&f, "bo", "bo@example.com").await;
    let (public, admin) = (f.server.unsigned(), f.server.client("us-east-1"));
    let t = tokens(&public, &f.client, "bo", "Passw0rd!").await;
    let at = t["AccessToken"].clone();

    let r = public.idp("UpdateUserAttributes", json!({"AccessToken": at, "UserAttributes": [{"Name": "email", "Value": "bo2@example.com"}, {"Name": "name", "Value": "Bo"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["CodeDeliveryDetailsList"][0]["AttributeName"], "email");
    let me = public.idp("GetUser", json!({"AccessToken": at})).await.json();
    let attr = |name: &str| {
        me["UserAttributes"].as_array().unwrap().iter().find(|a| a["Name"] == name).map(|a| a["Value"].clone())
    };
    assert_eq!(
        (attr("email"), attr("email_verified"), attr("name")),
        (Some(json!("bo2@example.com")), Some(json!("false")), Some(json!("Bo")))
    );

    let code = latest_code(&admin, "bo2@example.com").await;
    let r = public.idp("VerifyUserAttribute", json!({"AccessToken": at, "AttributeName": "email", "Code": code})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let me = public.idp("GetUser", json!({"AccessToken": at})).await.json();
    assert!(me["UserAttributes"].as_array().unwrap().contains(&json!({"Name": "email_verified", "Value": "true"})));

    let r = public.idp("GetUserAttributeVerificationCode", json!({"AccessToken": at, "AttributeName": "email"})).await;
    assert_eq!(r.json()["CodeDeliveryDetails"]["DeliveryMedium"], "EMAIL");
    let r = public
        .idp("UpdateUserAttributes", json!({"AccessToken": at, "UserAttributes": [{"Name": "sub", "Value": "x"}]}))
        .await;
    assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));
    let r = public.idp("DeleteUserAttributes", json!({"AccessToken": at, "UserAttributeNames": ["name"]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let me = public.idp("GetUser", json!({"AccessToken": at})).await.json();
    assert!(!me["UserAttributes"].as_array().unwrap().iter().any(|a| a["Name"] == "name"));
    f.server.stop().await;
}

#[tokio::test]
async fn changes_held_until_verified_when_the_pool_says_so() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    let admin = f.server.client("us-east-1");
    let r = admin
        .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "AutoVerifiedAttributes": ["email"], "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    confirmed_user(&f, "cy", "cy@example.com").await;
    let public = f.server.unsigned();
    let at = tokens(&public, &f.client, "cy", "Passw0rd!").await["AccessToken"].clone();
    public
        .idp(
            "UpdateUserAttributes",
            json!({"AccessToken": at, "UserAttributes": [{"Name": "email", "Value": "new@example.com"}]}),
        )
        .await;
    let me = public.idp("GetUser", json!({"AccessToken": at})).await.json();
    assert!(
        me["UserAttributes"].as_array().unwrap().contains(&json!({"Name": "email", "Value": "cy@example.com"})),
        "old email stays until verified"
    );
    let code = latest_code(&admin, "new@example.com").await;
    public.idp("VerifyUserAttribute", json!({"AccessToken": at, "AttributeName": "email", "Code": code})).await;
    let me = public.idp("GetUser", json!({"AccessToken": at})).await.json();
    assert!(me["UserAttributes"].as_array().unwrap().contains(&json!({"Name": "email", "Value": "new@example.com"})));
    f.server.stop().await;
}

#[tokio::test]
async fn sign_out_revocation_and_deletion() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        confirmed_user(&f, "di", "di@example.com").await;
        let public = f.server.unsigned();
        let first = tokens(&public, &f.client, "di", "Passw0rd!").await;
        let second = tokens(&public, &f.client, "di", "Passw0rd!").await;

        // RevokeToken ends one sign-in: its refresh and access tokens.
        let r = public.idp("RevokeToken", json!({"ClientId": f.client, "Token": first["RefreshToken"]})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = public.idp("GetUser", json!({"AccessToken": first["AccessToken"]})).await;
        assert_eq!(r.json()["message"], "Access Token has been revoked");
        let r = public.idp("InitiateAuth", json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": first["RefreshToken"]}})).await;
        assert_eq!(r.json()["message"], "Refresh Token has been revoked");
        assert_eq!(
            public.idp("GetUser", json!({"AccessToken": second["AccessToken"]})).await.status,
            200,
            "the other sign-in lives on"
        );

        // GlobalSignOut ends them all.
        let r = public.idp("GlobalSignOut", json!({"AccessToken": second["AccessToken"]})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            public.idp("GetUser", json!({"AccessToken": second["AccessToken"]})).await.error_type().as_deref(),
            Some("NotAuthorizedException")
        );
        let third = tokens(&public, &f.client, "di", "Passw0rd!").await;
        assert_eq!(
            public.idp("GetUser", json!({"AccessToken": third["AccessToken"]})).await.status,
            200,
            "a new sign-in works"
        );

        // AdminInitiateAuth needs a signature, then signs in with the password.
        let admin_auth = json!({"UserPoolId": f.pool, "ClientId": f.client, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "di", "PASSWORD": "Passw0rd!"}});
        assert_eq!(
            public.idp("AdminInitiateAuth", admin_auth.clone()).await.error_type().as_deref(),
            Some("MissingAuthenticationTokenException")
        );
        let r = f.server.client("us-east-1").idp("AdminInitiateAuth", admin_auth).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.json()["AuthenticationResult"]["IdToken"].is_string());

        let r = public.idp("DeleteUser", json!({"AccessToken": third["AccessToken"]})).await;
        assert_eq!((r.status, r.json()), (200, json!({})), "{}", r.text());
        let r = public.idp("InitiateAuth", password_auth(&f.client, "di", "Passw0rd!")).await;
        assert_eq!(r.error_type().as_deref(), Some("UserNotFoundException"));
        f.server.stop().await;
    }
}

#[tokio::test]
async fn refresh_token_rotation_detects_reuse() {
    let f = fixture(
        Backend::SqliteMemory,
        json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], "RefreshTokenRotation": {"Feature": "ENABLED", "RetryGracePeriodSeconds": 10}}),
    )
    .await;
    confirmed_user(&f, "ro", "ro@example.com").await;
    let public = f.server.unsigned();
    let first = tokens(&public, &f.client, "ro", "Passw0rd!").await;
    let refresh = |t: &Value| json!({"ClientId": f.client, "RefreshToken": t});

    let r = public.idp("GetTokensFromRefreshToken", refresh(&first["RefreshToken"])).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let second = r.json()["AuthenticationResult"].clone();
    assert!(second["RefreshToken"].is_string() && second["RefreshToken"] != first["RefreshToken"], "rotated");
    // A retry within the grace period is forgiven.
    assert_eq!(public.idp("GetTokensFromRefreshToken", refresh(&first["RefreshToken"])).await.status, 200);
    // After it, the old token's reuse revokes the whole sign-in.
    f.server.clock.advance(11_000);
    let r = public.idp("GetTokensFromRefreshToken", refresh(&first["RefreshToken"])).await;
    assert_eq!(r.error_type().as_deref(), Some("RefreshTokenReuseException"), "{}", r.text());
    let r = public.idp("GetTokensFromRefreshToken", refresh(&second["RefreshToken"])).await;
    assert_eq!(r.json()["message"], "Refresh Token has been revoked");
    assert_eq!(
        public.idp("GetUser", json!({"AccessToken": second["AccessToken"]})).await.error_type().as_deref(),
        Some("NotAuthorizedException")
    );

    // Without rotation the same call returns no new refresh token.
    let plain = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    confirmed_user(&plain, "pl", "pl@example.com").await;
    let p = plain.server.unsigned();
    let t = tokens(&p, &plain.client, "pl", "Passw0rd!").await;
    let r =
        p.idp("GetTokensFromRefreshToken", json!({"ClientId": plain.client, "RefreshToken": t["RefreshToken"]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["AuthenticationResult"].get("RefreshToken").is_none());
    plain.server.stop().await;
    f.server.stop().await;
}

#[tokio::test]
async fn password_history_is_enforced() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    let admin = f.server.client("us-east-1");
    let policy = json!({"PasswordPolicy": {"MinimumLength": 8, "PasswordHistorySize": 2}});
    let r = admin
        .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "AutoVerifiedAttributes": ["email"], "Policies": policy}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    confirmed_user(&f, "hi", "hi@example.com").await;
    let public = f.server.unsigned();
    let at = tokens(&public, &f.client, "hi", "Passw0rd!").await["AccessToken"].clone();
    let change =
        |prev: &str, next: &str| json!({"AccessToken": at, "PreviousPassword": prev, "ProposedPassword": next});
    let r = public.idp("ChangePassword", change("Passw0rd!", "Passw0rd!")).await;
    assert_eq!(r.error_type().as_deref(), Some("PasswordHistoryPolicyViolationException"));
    assert_eq!(public.idp("ChangePassword", change("Passw0rd!", "Second-pw1")).await.status, 200);
    let r = public.idp("ChangePassword", change("Second-pw1", "Passw0rd!")).await;
    assert_eq!(r.error_type().as_deref(), Some("PasswordHistoryPolicyViolationException"), "within the last two");
    assert_eq!(public.idp("ChangePassword", change("Second-pw1", "Third-pw1")).await.status, 200);
    assert_eq!(
        public.idp("ChangePassword", change("Third-pw1", "Passw0rd!")).await.status,
        200,
        "three back is allowed again"
    );
    f.server.stop().await;
}
