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
                "CustomMessage_AdminCreateUser" => json!({
                    "emailSubject": "Welcome",
                    "emailMessage": format!("Hi {}, sign in as {} with {}", event["request"]["userAttributes"]["given_name"].as_str().unwrap_or("?"), event["request"]["usernameParameter"].as_str().unwrap_or("?"), event["request"]["codeParameter"].as_str().unwrap_or("?")),
                }),
                "CustomMessage_Authentication" => json!({"smsMessage": "Sign-in code {####} (custom)"}),
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
                "UserMigration_ForgotPassword" if user == "forgetful" => json!({
                    "userAttributes": {"email": "forgetful@example.com", "email_verified": "true"},
                    "messageAction": "SUPPRESS",
                }),
                "UserMigration_ForgotPassword" => {
                    return Err(cognate_idp::Error::UserLambdaValidation("Unknown user".into()));
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

    // ClientMetadata of a sign-in reaches its triggers.
    let mut with_meta = password_auth(&client, "legacy", "Legacy-Passw0rd!");
    with_meta["ClientMetadata"] = json!({"source": "it"});
    assert_eq!(public.idp("InitiateAuth", with_meta).await.status, 200);
    {
        let events = functions.events.lock().unwrap();
        let last = |source: &str| events.iter().rev().find(|e| e["triggerSource"] == source).unwrap().clone();
        assert_eq!(last("TokenGeneration_Authentication")["request"]["clientMetadata"], json!({"source": "it"}));
        assert_eq!(last("PostAuthentication_Authentication")["request"]["clientMetadata"], json!({"source": "it"}));
        assert_eq!(last("PreAuthentication_Authentication")["request"]["validationData"], json!({"source": "it"}));
    }

    // UserMigration at ForgotPassword: created RESET_REQUIRED, reset by code.
    let r = public.idp("ForgotPassword", json!({"ClientId": client, "Username": "forgetful"})).await;
    assert_eq!(r.json()["CodeDeliveryDetails"]["DeliveryMedium"], "EMAIL", "{}", r.text());
    let got = admin.idp("AdminGetUser", json!({"UserPoolId": pool, "Username": "forgetful"})).await.json();
    assert_eq!(got["UserStatus"], "RESET_REQUIRED", "{got}");
    let r = public.idp("InitiateAuth", password_auth(&client, "forgetful", "Anything-1!")).await;
    assert_eq!(r.error_type().as_deref(), Some("PasswordResetRequiredException"), "{}", r.text());
    let out = admin
        .send(cognate_testkit::Req {
            method: "GET".into(),
            path: "/_cognate/outbox?destination=forgetful@example.com&limit=1".into(),
            ..Default::default()
        })
        .await
        .json();
    let code: String = out["Messages"][0]["Body"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
    let r = public
        .idp("ConfirmForgotPassword", json!({"ClientId": client, "Username": "forgetful", "ConfirmationCode": code, "Password": "Chosen-Passw0rd!"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = public.idp("InitiateAuth", password_auth(&client, "forgetful", "Chosen-Passw0rd!")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = public.idp("ForgotPassword", json!({"ClientId": client, "Username": "nobody-at-all"})).await;
    assert_eq!(r.error_type().as_deref(), Some("UserLambdaValidationException"));

    let sources: Vec<String> =
        functions.events.lock().unwrap().iter().map(|e| e["triggerSource"].as_str().unwrap().to_string()).collect();
    for expected in [
        "PreSignUp_SignUp",
        "PreAuthentication_Authentication",
        "PostAuthentication_Authentication",
        "TokenGeneration_Authentication",
        "UserMigration_Authentication",
        "UserMigration_ForgotPassword",
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

/// The newest message to `destination` in the outbox.
async fn last_message(admin: &cognate_testkit::Requester, destination: &str) -> Value {
    let out = admin
        .send(cognate_testkit::Req {
            method: "GET".into(),
            path: format!("/_cognate/outbox?destination={destination}&limit=1"),
            ..Default::default()
        })
        .await
        .json();
    out["Messages"][0].clone()
}

#[tokio::test]
async fn custom_message_rewrites_invitations_and_mfa_codes() {
    let functions = Arc::new(Functions::default());
    let server = TestServer::start_with_invoker(Backend::SqliteMemory, functions.clone()).await;
    let admin = server.client("us-east-1");
    let sms = json!({"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"});
    let r = admin
        .idp(
            "CreateUserPool",
            json!({"PoolName": "m", "LambdaConfig": {"CustomMessage": format!("{ARN}CustomMessage")}, "SmsConfiguration": sms}),
        )
        .await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": pool, "ClientName": "c", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"]}),
        )
        .await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();

    // The invitation: CustomMessage_AdminCreateUser, whose text names the
    // username and the temporary password by their placeholders.
    let r = admin
        .idp("AdminCreateUser", json!({"UserPoolId": pool, "Username": "noa", "TemporaryPassword": "Temp-Passw0rd!", "DesiredDeliveryMediums": ["EMAIL"], "UserAttributes": [{"Name": "email", "Value": "noa@example.com"}, {"Name": "given_name", "Value": "Noa"}, {"Name": "phone_number", "Value": "+15551230199"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let m = last_message(&admin, "noa@example.com").await;
    assert_eq!(
        (m["Subject"].as_str(), m["Body"].as_str()),
        (Some("Welcome"), Some("Hi Noa, sign in as noa with Temp-Passw0rd!"))
    );

    // An SMS MFA code: CustomMessage_Authentication.
    let r = admin
        .idp(
            "SetUserPoolMfaConfig",
            json!({"UserPoolId": pool, "MfaConfiguration": "ON", "SmsMfaConfiguration": {"SmsConfiguration": sms}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin
        .idp(
            "AdminSetUserPassword",
            json!({"UserPoolId": pool, "Username": "noa", "Password": "Passw0rd!", "Permanent": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ch = server.unsigned().idp("InitiateAuth", password_auth(&client, "noa", "Passw0rd!")).await.json();
    assert_eq!(ch["ChallengeName"], "SMS_MFA", "{ch}");
    let body = last_message(&admin, "+15551230199").await["Body"].as_str().unwrap().to_string();
    assert!(body.starts_with("Sign-in code ") && body.ends_with(" (custom)") && !body.contains("{####}"), "{body}");
    let events = functions.events.lock().unwrap().clone();
    let sources: Vec<&str> = events.iter().filter_map(|e| e["triggerSource"].as_str()).collect();
    assert_eq!(sources, ["CustomMessage_AdminCreateUser", "CustomMessage_Authentication"]);
    assert_eq!(events[0]["request"]["usernameParameter"], "{username}");
    assert_eq!(events[1]["request"]["usernameParameter"], Value::Null);
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

/// DefineAuthChallenge / CreateAuthChallenge / VerifyAuthChallengeResponse as
/// a passwordless one-time-code flow writes them: one custom challenge,
/// tokens after a right answer, failure after three wrong ones.
#[derive(Debug, Default)]
struct CustomAuth {
    events: Mutex<Vec<Value>>,
}

impl Invoker for CustomAuth {
    fn invoke<'a>(
        &'a self,
        _: &'a str,
        mut event: Value,
    ) -> Pin<Box<dyn Future<Output = cognate_idp::Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            self.events.lock().unwrap().push(event.clone());
            let session = event["request"]["session"].as_array().cloned().unwrap_or_default();
            event["response"] = match event["triggerSource"].as_str().unwrap_or_default() {
                "DefineAuthChallenge_Authentication" => match session.last() {
                    Some(last) if last["challengeResult"] == true => {
                        json!({"issueTokens": true, "failAuthentication": false})
                    }
                    _ if session.len() >= 3 => json!({"issueTokens": false, "failAuthentication": true}),
                    _ => {
                        json!({"challengeName": "CUSTOM_CHALLENGE", "issueTokens": false, "failAuthentication": false})
                    }
                },
                "CreateAuthChallenge_Authentication" => json!({
                    "publicChallengeParameters": {"hint": "check your email"},
                    "privateChallengeParameters": {"answer": "4242"},
                    "challengeMetadata": format!("CODE-{}", session.len()),
                }),
                "VerifyAuthChallengeResponse_Authentication" => json!({
                    "answerCorrect": event["request"]["challengeAnswer"] == event["request"]["privateChallengeParameters"]["answer"],
                }),
                _ => json!({}),
            };
            Ok(event)
        })
    }
}

#[tokio::test]
async fn custom_auth_runs_the_challenge_loop() {
    let functions = Arc::new(CustomAuth::default());
    let server = TestServer::start_with_invoker(Backend::SqliteMemory, functions.clone()).await;
    let admin = server.client("us-east-1");
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:auth";
    let r = admin
        .idp("CreateUserPool", json!({"PoolName": "p", "LambdaConfig": {"DefineAuthChallenge": arn, "CreateAuthChallenge": arn, "VerifyAuthChallengeResponse": arn}}))
        .await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": pool, "ClientName": "a", "ExplicitAuthFlows": ["ALLOW_CUSTOM_AUTH"]}),
        )
        .await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let r = admin
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": pool, "ClientName": "b", "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH"]}),
        )
        .await;
    let srp_only = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let r = admin
        .idp("AdminCreateUser", json!({"UserPoolId": pool, "Username": "cara", "MessageAction": "SUPPRESS"}))
        .await;
    assert_eq!(r.status, 200);
    let r = admin
        .idp(
            "AdminSetUserPassword",
            json!({"UserPoolId": pool, "Username": "cara", "Password": "Passw0rd!x", "Permanent": true}),
        )
        .await;
    assert_eq!(r.status, 200);
    let public = server.unsigned();
    let start = |client: &str| json!({"ClientId": client, "AuthFlow": "CUSTOM_AUTH", "AuthParameters": {"USERNAME": "cara"}, "ClientMetadata": {"app": "web"}});

    let r = public.idp("InitiateAuth", start(&srp_only)).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"), "ALLOW_CUSTOM_AUTH is enforced");

    let ch = public.idp("InitiateAuth", start(&client)).await.json();
    assert_eq!(ch["ChallengeName"], "CUSTOM_CHALLENGE", "{ch}");
    assert_eq!(ch["ChallengeParameters"], json!({"hint": "check your email", "USERNAME": "cara"}));
    let answer = |session: &Value, a: &str| json!({"ClientId": client, "ChallengeName": "CUSTOM_CHALLENGE", "Session": session, "ChallengeResponses": {"USERNAME": "cara", "ANSWER": a}});
    let wrong = public.idp("RespondToAuthChallenge", answer(&ch["Session"], "0000")).await.json();
    assert_eq!(wrong["ChallengeName"], "CUSTOM_CHALLENGE", "a wrong answer asks again: {wrong}");
    let r = public.idp("RespondToAuthChallenge", answer(&wrong["Session"], "4242")).await;
    assert!(r.json()["AuthenticationResult"]["AccessToken"].is_string(), "{}", r.text());

    // What the functions saw: the session so far, with results and metadata.
    let events = functions.events.lock().unwrap().clone();
    let last_define = events.iter().rev().find(|e| e["triggerSource"] == "DefineAuthChallenge_Authentication").unwrap();
    assert_eq!(
        last_define["request"]["session"],
        json!([
            {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": false, "challengeMetadata": "CODE-0"},
            {"challengeName": "CUSTOM_CHALLENGE", "challengeResult": true, "challengeMetadata": "CODE-1"},
        ])
    );
    let first_define = events.iter().find(|e| e["triggerSource"] == "DefineAuthChallenge_Authentication").unwrap();
    assert_eq!(first_define["request"]["clientMetadata"], json!({"app": "web"}), "InitiateAuth's ClientMetadata");
    let verify = events.iter().find(|e| e["triggerSource"] == "VerifyAuthChallengeResponse_Authentication").unwrap();
    assert_eq!(verify["request"]["privateChallengeParameters"], json!({"answer": "4242"}));

    // Three wrong answers: DefineAuthChallenge fails the sign-in.
    let mut session = public.idp("InitiateAuth", start(&client)).await.json()["Session"].clone();
    for _ in 0..2 {
        session = public.idp("RespondToAuthChallenge", answer(&session, "1")).await.json()["Session"].clone();
    }
    let r = public.idp("RespondToAuthChallenge", answer(&session, "1")).await;
    assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"), "{}", r.text());
    // A forged session is refused.
    let r = public.idp("RespondToAuthChallenge", answer(&json!("forged-session-0000000000"), "4242")).await;
    assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));
    server.stop().await;
}
