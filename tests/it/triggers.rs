//! Trigger points: each flow builds Cognito's event and applies the answer.
//! The functions here are in-process stand-ins that record the events and
//! answer as a trigger function would; running real functions (Lambda
//! Runtime API, Invoke API, webhooks) is the invokers' part.

use crate::signin::password_auth;
use cognate_idp::triggers::Invoker;
use cognate_testkit::{Backend, TestServer};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Answers by trigger source; records every event it was given.
#[derive(Debug, Default)]
struct Functions {
    events: Mutex<Vec<Value>>,
}

impl Invoker for Functions {
    fn invoke<'a>(
        &'a self,
        arn: &'a str,
        mut event: Value,
    ) -> Pin<Box<dyn Future<Output = cognate_idp::Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            assert!(arn.starts_with("arn:aws:lambda:"), "{arn}");
            self.events.lock().unwrap().push(event.clone());
            let source = event["triggerSource"].as_str().unwrap_or_default().to_string();
            let user = event["userName"].as_str().unwrap_or_default().to_string();
            let response = match source.as_str() {
                "PreSignUp_SignUp" if user == "rejected" => {
                    return Err(cognate_idp::Error::UserLambdaValidation(
                        "PreSignUp failed with error no thanks.".into(),
                    ));
                }
                "PreSignUp_SignUp" => json!({"autoConfirmUser": true, "autoVerifyEmail": true}),
                "CustomMessage_ForgotPassword" => {
                    json!({"emailSubject": "Reset", "emailMessage": "Your reset code: {####} (custom)"})
                }
                "TokenGeneration_Authentication" | "TokenGeneration_RefreshTokens" => json!({"claimsOverrideDetails": {
                    "claimsToAddOrOverride": {"tier": "gold", "sub": "forged"},
                    "claimsToSuppress": ["email"],
                }}),
                "UserMigration_Authentication" if event["request"]["password"] == "Legacy-Passw0rd!" => json!({
                    "userAttributes": {"email": "old@example.com", "email_verified": "true"},
                    "finalUserStatus": "CONFIRMED",
                    "messageAction": "SUPPRESS",
                }),
                "UserMigration_Authentication" => {
                    return Err(cognate_idp::Error::UserLambdaValidation("Bad password".into()));
                }
                _ => json!({}),
            };
            event["response"] = response;
            Ok(event)
        })
    }
}

const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:function:";

#[tokio::test]
async fn flows_call_their_triggers_and_apply_the_answers() {
    let functions = Arc::new(Functions::default());
    let server = TestServer::start_with_invoker(Backend::SqliteMemory, functions.clone()).await;
    let admin = server.client("us-east-1");
    let lambda: Value = [
        "PreSignUp",
        "PostConfirmation",
        "PreAuthentication",
        "PostAuthentication",
        "PreTokenGeneration",
        "CustomMessage",
        "UserMigration",
    ]
    .iter()
    .map(|t| (t.to_string(), json!(format!("{ARN}{t}"))))
    .collect::<serde_json::Map<String, Value>>()
    .into();
    let r = admin
        .idp("CreateUserPool", json!({"PoolName": "t", "AutoVerifiedAttributes": ["email"], "LambdaConfig": lambda}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin.idp("CreateUserPoolClient", json!({"UserPoolId": pool, "ClientName": "c", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]})).await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let public = server.unsigned();

    // PreSignUp confirms and verifies: no code is sent, the user can sign in.
    let r = public
        .idp("SignUp", json!({"ClientId": client, "Username": "zoe", "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "zoe@example.com"}], "ValidationData": [{"Name": "invite", "Value": "42"}]}))
        .await;
    assert_eq!((r.status, r.json()["UserConfirmed"].clone()), (200, json!(true)), "{}", r.text());
    assert!(r.json().get("CodeDeliveryDetails").is_none());
    let r = public.idp("SignUp", json!({"ClientId": client, "Username": "rejected", "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "r@example.com"}]})).await;
    assert_eq!(
        (r.error_type().as_deref(), r.json()["message"].as_str()),
        (Some("UserLambdaValidationException"), Some("PreSignUp failed with error no thanks."))
    );
    // A rejected sign-up leaves no user: signing in goes to UserMigration,
    // whose function refuses this password.
    let r = public.idp("InitiateAuth", password_auth(&client, "rejected", "Passw0rd!")).await;
    assert_eq!(r.json()["message"], "Bad password", "{}", r.text());

    // Sign-in runs Pre/PostAuthentication and PreTokenGeneration, whose
    // claims reach the ID token (protected claims stay Cognito's).
    let r = public.idp("InitiateAuth", password_auth(&client, "zoe", "Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let keys = {
        let r =
            cognate_testkit::raw_http(server.addr, "GET", &format!("/{pool}/.well-known/jwks.json"), &[], b"").await;
        cognate_crypto::jwt::VerifyingKeys::from_jwks(&r.json()).unwrap()
    };
    let id = cognate_crypto::jwt::verify(r.json()["AuthenticationResult"]["IdToken"].as_str().unwrap(), &keys).unwrap();
    assert_eq!(id["tier"], "gold");
    assert!(id.get("email").is_none());
    assert_ne!(id["sub"], "forged");

    // UserMigration creates an unknown user with the password they typed.
    let r = public.idp("InitiateAuth", password_auth(&client, "legacy", "Legacy-Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = public.idp("InitiateAuth", password_auth(&client, "legacy", "Legacy-Passw0rd!")).await;
    assert_eq!(r.status, 200, "the migrated user now signs in by themselves: {}", r.text());
    let r = public.idp("InitiateAuth", password_auth(&client, "stranger", "nope")).await;
    assert_eq!(r.error_type().as_deref(), Some("UserLambdaValidationException"));

    // CustomMessage rewrites the reset message; the code is still filled in.
    let r = public.idp("ForgotPassword", json!({"ClientId": client, "Username": "zoe"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let out = admin
        .send(cognate_testkit::Req {
            method: "GET".into(),
            path: "/_cognate/outbox?destination=zoe@example.com&limit=1".into(),
            ..Default::default()
        })
        .await
        .json();
    let body = out["Messages"][0]["Body"].as_str().unwrap();
    assert!(body.starts_with("Your reset code: ") && body.ends_with(" (custom)") && !body.contains("{####}"), "{body}");
    assert_eq!(out["Messages"][0]["Subject"], "Reset");

    let sources: Vec<String> =
        functions.events.lock().unwrap().iter().map(|e| e["triggerSource"].as_str().unwrap().to_string()).collect();
    for expected in [
        "PreSignUp_SignUp",
        "PreAuthentication_Authentication",
        "PostAuthentication_Authentication",
        "TokenGeneration_Authentication",
        "UserMigration_Authentication",
        "CustomMessage_ForgotPassword",
    ] {
        assert!(sources.iter().any(|s| s == expected), "{expected} not called: {sources:?}");
    }
    let first = functions.events.lock().unwrap()[0].clone();
    assert_eq!(first["version"], "1");
    assert_eq!(first["userPoolId"], pool.as_str());
    assert_eq!(first["callerContext"]["clientId"], client.as_str());
    assert_eq!(first["request"]["userAttributes"]["email"], "zoe@example.com");
    assert_eq!(first["request"]["validationData"]["invite"], "42");
    server.stop().await;
}

#[tokio::test]
async fn a_configured_trigger_without_an_invoker_is_a_clear_error() {
    let server = TestServer::start(Backend::SqliteMemory).await;
    let admin = server.client("us-east-1");
    let r =
        admin.idp("CreateUserPool", json!({"PoolName": "t", "LambdaConfig": {"PreSignUp": format!("{ARN}x")}})).await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin.idp("CreateUserPoolClient", json!({"UserPoolId": pool, "ClientName": "c"})).await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let r =
        server.unsigned().idp("SignUp", json!({"ClientId": client, "Username": "u", "Password": "Passw0rd!"})).await;
    assert_eq!(r.error_type().as_deref(), Some("UnexpectedLambdaException"), "{}", r.text());
    server.stop().await;
}
