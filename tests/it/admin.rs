//! Admin-created users: the invitation, the temporary password, and the
//! NEW_PASSWORD_REQUIRED challenge that completes required attributes.

use crate::signin::{fixture, password_auth, srp_sign_in};
use cognate_testkit::{Backend, Req};
use serde_json::json;

const FLOWS: &str =
    r#"{"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}"#;

#[tokio::test]
async fn invited_users_set_their_password_on_first_sign_in() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
        let r = admin
            .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "AdminCreateUserConfig": {"InviteMessageTemplate": {"EmailSubject": "Welcome", "EmailMessage": "Hi {username}, your password is {####}"}}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());

        let create = json!({"UserPoolId": f.pool, "Username": "nia", "UserAttributes": [{"Name": "email", "Value": "nia@example.com"}, {"Name": "email_verified", "Value": "true"}], "DesiredDeliveryMediums": ["EMAIL"]});
        assert_eq!(
            public.idp("AdminCreateUser", create.clone()).await.error_type().as_deref(),
            Some("MissingAuthenticationTokenException")
        );
        let r = admin.idp("AdminCreateUser", create.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let user = r.json()["User"].clone();
        assert_eq!(
            (user["Username"].as_str(), user["UserStatus"].as_str(), user["Enabled"].as_bool()),
            (Some("nia"), Some("FORCE_CHANGE_PASSWORD"), Some(true))
        );
        assert_eq!(admin.idp("AdminCreateUser", create).await.error_type().as_deref(), Some("UsernameExistsException"));

        // The invitation carries a generated temporary password.
        let out = admin
            .send(Req {
                method: "GET".into(),
                path: "/_cognate/outbox?destination=nia@example.com&limit=1".into(),
                ..Default::default()
            })
            .await
            .json();
        assert_eq!(out["Messages"][0]["Subject"], "Welcome");
        let body = out["Messages"][0]["Body"].as_str().unwrap().to_string();
        let temp = body.strip_prefix("Hi nia, your password is ").unwrap().to_string();
        assert!(temp.len() >= 16, "{body}");

        // Signing in with it answers NEW_PASSWORD_REQUIRED, with SRP too.
        let r = srp_sign_in(&public, &f.pool, &f.client, "nia", &temp).await;
        assert_eq!(r.json()["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{}", r.text());
        let r = public.idp("InitiateAuth", password_auth(&f.client, "nia", &temp)).await;
        let challenge = r.json();
        assert_eq!(challenge["ChallengeName"], "NEW_PASSWORD_REQUIRED", "{}", r.text());
        let attrs: serde_json::Value =
            serde_json::from_str(challenge["ChallengeParameters"]["userAttributes"].as_str().unwrap()).unwrap();
        assert_eq!(attrs["email"], "nia@example.com");
        let answer = |pw: &str, session: &serde_json::Value| json!({"ClientId": f.client, "ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": session, "ChallengeResponses": {"USERNAME": "nia", "NEW_PASSWORD": pw, "userAttributes.name": "Nia"}});
        let r = public.idp("RespondToAuthChallenge", answer("weak", &challenge["Session"])).await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidPasswordException"));
        let r =
            public.idp("RespondToAuthChallenge", answer("Chosen-Passw0rd!", &json!("not-a-session-at-all-0000"))).await;
        assert_eq!(r.json()["message"], "Invalid session for the user.");
        let r = public.idp("RespondToAuthChallenge", answer("Chosen-Passw0rd!", &challenge["Session"])).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.json()["AuthenticationResult"]["AccessToken"].is_string());

        let r = admin.idp("AdminGetUser", json!({"UserPoolId": f.pool, "Username": "nia"})).await;
        assert_eq!(r.json()["UserStatus"], "CONFIRMED");
        assert!(r.json()["UserAttributes"].as_array().unwrap().contains(&json!({"Name": "name", "Value": "Nia"})));
        assert_eq!(public.idp("InitiateAuth", password_auth(&f.client, "nia", "Chosen-Passw0rd!")).await.status, 200);
        assert_eq!(
            public.idp("InitiateAuth", password_auth(&f.client, "nia", &temp)).await.error_type().as_deref(),
            Some("NotAuthorizedException")
        );
        f.server.stop().await;
    }
}

#[tokio::test]
async fn temporary_passwords_expire_and_admins_set_passwords() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
    let r = admin.idp("AdminCreateUser", json!({"UserPoolId": f.pool, "Username": "oli", "TemporaryPassword": "Temp-Passw0rd!", "MessageAction": "SUPPRESS"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    f.server.clock.advance(7 * 86_400_000 + 1);
    let r = public.idp("InitiateAuth", password_auth(&f.client, "oli", "Temp-Passw0rd!")).await;
    assert_eq!(r.json()["message"], "Temporary password has expired and must be reset by an administrator.");

    let set = |pw: &str, permanent: bool| json!({"UserPoolId": f.pool, "Username": "oli", "Password": pw, "Permanent": permanent});
    assert_eq!(admin.idp("AdminSetUserPassword", set("Fresh-Temp1!", false)).await.status, 200);
    let r = public.idp("InitiateAuth", password_auth(&f.client, "oli", "Fresh-Temp1!")).await;
    assert_eq!(r.json()["ChallengeName"], "NEW_PASSWORD_REQUIRED");
    assert_eq!(admin.idp("AdminSetUserPassword", set("Perm-Passw0rd!", true)).await.status, 200);
    assert_eq!(public.idp("InitiateAuth", password_auth(&f.client, "oli", "Perm-Passw0rd!")).await.status, 200);
    let r = admin.idp("AdminGetUser", json!({"UserPoolId": f.pool, "Username": "nobody"})).await;
    assert_eq!(r.error_type().as_deref(), Some("UserNotFoundException"));
    f.server.stop().await;
}

#[tokio::test]
async fn admins_disable_confirm_update_reset_and_delete_users() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
    let u = |extra: serde_json::Value| {
        let mut v = json!({"UserPoolId": f.pool, "Username": "pat"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let r = public.idp("SignUp", json!({"ClientId": f.client, "Username": "pat", "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "pat@example.com"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(admin.idp("AdminConfirmSignUp", u(json!({}))).await.status, 200);
    assert_eq!(
        admin.idp("AdminConfirmSignUp", u(json!({}))).await.json()["message"],
        "User cannot be confirmed. Current status is CONFIRMED"
    );
    let tokens =
        public.idp("InitiateAuth", password_auth(&f.client, "pat", "Passw0rd!")).await.json()["AuthenticationResult"]
            .clone();

    // Disabled: no sign-in, and the tokens already issued stop working.
    assert_eq!(admin.idp("AdminDisableUser", u(json!({}))).await.status, 200);
    assert_eq!(
        public.idp("InitiateAuth", password_auth(&f.client, "pat", "Passw0rd!")).await.json()["message"],
        "User is disabled."
    );
    assert_eq!(
        public.idp("GetUser", json!({"AccessToken": tokens["AccessToken"]})).await.json()["message"],
        "User is disabled."
    );
    let refresh = json!({"ClientId": f.client, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"]}});
    assert_eq!(
        public.idp("InitiateAuth", refresh.clone()).await.error_type().as_deref(),
        Some("NotAuthorizedException")
    );
    assert_eq!(admin.idp("AdminEnableUser", u(json!({}))).await.status, 200);
    assert_eq!(public.idp("GetUser", json!({"AccessToken": tokens["AccessToken"]})).await.status, 200);

    // Attributes, as an admin sets them (verified in the same call).
    let r = admin.idp("AdminUpdateUserAttributes", u(json!({"UserAttributes": [{"Name": "email", "Value": "pat2@example.com"}, {"Name": "email_verified", "Value": "true"}, {"Name": "name", "Value": "Pat"}]}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = admin.idp("AdminGetUser", u(json!({}))).await.json();
    let attrs = got["UserAttributes"].as_array().unwrap().clone();
    assert!(
        attrs.contains(&json!({"Name": "email", "Value": "pat2@example.com"}))
            && attrs.contains(&json!({"Name": "email_verified", "Value": "true"}))
    );
    assert_eq!(admin.idp("AdminDeleteUserAttributes", u(json!({"UserAttributeNames": ["name"]}))).await.status, 200);
    assert_eq!(
        admin
            .idp("AdminUpdateUserAttributes", u(json!({"UserAttributes": [{"Name": "sub", "Value": "x"}]})))
            .await
            .error_type()
            .as_deref(),
        Some("InvalidParameterException")
    );

    // Global sign-out by an admin ends every sign-in.
    assert_eq!(admin.idp("AdminUserGlobalSignOut", u(json!({}))).await.status, 200);
    assert_eq!(
        public.idp("GetUser", json!({"AccessToken": tokens["AccessToken"]})).await.json()["message"],
        "Access Token has been revoked"
    );

    // Reset: sign-in is refused until the user sets a new password with the code.
    assert_eq!(admin.idp("AdminResetUserPassword", u(json!({}))).await.status, 200);
    let r = public.idp("InitiateAuth", password_auth(&f.client, "pat", "Passw0rd!")).await;
    assert_eq!(r.error_type().as_deref(), Some("PasswordResetRequiredException"));
    let out = admin
        .send(Req {
            method: "GET".into(),
            path: "/_cognate/outbox?destination=pat2@example.com&limit=1".into(),
            ..Default::default()
        })
        .await
        .json();
    let code: String = out["Messages"][0]["Body"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
    let r = public
        .idp(
            "ConfirmForgotPassword",
            json!({"ClientId": f.client, "Username": "pat", "ConfirmationCode": code, "Password": "After-Res3t!"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(public.idp("InitiateAuth", password_auth(&f.client, "pat", "After-Res3t!")).await.status, 200);

    assert_eq!(admin.idp("AdminDeleteUser", u(json!({}))).await.status, 200);
    assert_eq!(admin.idp("AdminGetUser", u(json!({}))).await.error_type().as_deref(), Some("UserNotFoundException"));
    f.server.stop().await;
}
