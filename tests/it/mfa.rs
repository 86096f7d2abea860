//! Multi-factor authentication: the pool's configuration, TOTP (association,
//! verification, sign-in, single use), MFA_SETUP, SELECT_MFA_TYPE, SMS and
//! email codes, preferences, and wrong codes counted toward the lockout.

use crate::signin::{fixture, password_auth};
use cognate_crypto::totp;
use cognate_idp::Clock as _;
use cognate_testkit::{Backend, Req, Requester, TestServer};
use serde_json::{Value, json};

const FLOWS: &str = r#"{"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"]}"#;
const PASSWORD: &str = "Passw0rd!x";
const SMS: &str = r#"{"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"}"#;

async fn user(admin: &Requester, pool: &str, name: &str, attrs: &[(&str, &str)]) {
    let attributes: Vec<Value> = attrs.iter().map(|(n, v)| json!({"Name": n, "Value": v})).collect();
    let r = admin
        .idp(
            "AdminCreateUser",
            json!({"UserPoolId": pool, "Username": name, "UserAttributes": attributes, "MessageAction": "SUPPRESS"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin
        .idp(
            "AdminSetUserPassword",
            json!({"UserPoolId": pool, "Username": name, "Password": PASSWORD, "Permanent": true}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn mfa_config(admin: &Requester, pool: &str, body: Value) -> cognate_testkit::Response {
    let mut b = body;
    b["UserPoolId"] = json!(pool);
    admin.idp("SetUserPoolMfaConfig", b).await
}

fn now_s(server: &TestServer) -> i64 {
    server.clock.now_ms() / 1000
}

fn code(server: &TestServer, secret: &str) -> String {
    totp::code_at(&totp::base32_decode(secret).unwrap(), totp::step_of(now_s(server)))
}

async fn outbox_code(admin: &Requester, destination: &str) -> String {
    let r = admin
        .send(Req {
            method: "GET".into(),
            path: format!("/_cognate/outbox?destination={destination}&limit=1"),
            ..Default::default()
        })
        .await;
    r.json()["Messages"][0]["Body"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect()
}

fn respond(client: &str, challenge: &Value, responses: Value) -> Value {
    json!({"ClientId": client, "ChallengeName": challenge["ChallengeName"], "Session": challenge["Session"], "ChallengeResponses": responses})
}

#[tokio::test]
async fn pool_mfa_configuration() {
    let f = fixture(Backend::SqliteMemory, json!({})).await;
    let admin = f.server.client("us-east-1");
    let r = admin.idp("GetUserPoolMfaConfig", json!({"UserPoolId": f.pool})).await;
    assert_eq!(r.json()["MfaConfiguration"], "OFF", "{}", r.text());
    let r = mfa_config(&admin, &f.pool, json!({"MfaConfiguration": "ON"})).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"), "ON needs a factor");
    let r = mfa_config(
        &admin,
        &f.pool,
        json!({"MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": true},
               "EmailMfaConfiguration": {"Message": "Code: {####}", "Subject": "Sign-in code"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = admin.idp("GetUserPoolMfaConfig", json!({"UserPoolId": f.pool})).await.json();
    assert_eq!(got["MfaConfiguration"], "OPTIONAL");
    assert_eq!(got["SoftwareTokenMfaConfiguration"]["Enabled"], true);
    assert_eq!(got["EmailMfaConfiguration"]["Subject"], "Sign-in code");
    let pool = admin.idp("DescribeUserPool", json!({"UserPoolId": f.pool})).await.json();
    assert_eq!(pool["UserPool"]["MfaConfiguration"], "OPTIONAL");
    f.server.stop().await;
}

#[tokio::test]
async fn totp_is_real_and_single_use() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
        let r = mfa_config(
            &admin,
            &f.pool,
            json!({"MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": true}}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        user(&admin, &f.pool, "tia", &[]).await;
        let tokens = public.idp("InitiateAuth", password_auth(&f.client, "tia", PASSWORD)).await.json();
        let access = tokens["AuthenticationResult"]["AccessToken"].clone();

        let r = public
            .idp(
                "SetUserMFAPreference",
                json!({"AccessToken": access, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": true}}),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"), "not verified yet");

        let r = public.idp("AssociateSoftwareToken", json!({"AccessToken": access})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let secret = r.json()["SecretCode"].as_str().unwrap().to_string();
        assert_eq!(secret.len(), 52);
        let wrong = public.idp("VerifySoftwareToken", json!({"AccessToken": access, "UserCode": "000000"})).await;
        assert_eq!(wrong.error_type().as_deref(), Some("EnableSoftwareTokenMFAException"));
        let r = public
            .idp(
                "VerifySoftwareToken",
                json!({"AccessToken": access, "UserCode": code(&f.server, &secret), "FriendlyDeviceName": "phone"}),
            )
            .await;
        assert_eq!(r.json()["Status"], "SUCCESS", "{}", r.text());
        let me = public.idp("GetUser", json!({"AccessToken": access})).await.json();
        assert_eq!(me["UserMFASettingList"], json!(["SOFTWARE_TOKEN_MFA"]));
        assert_eq!(me["PreferredMfaSetting"], "SOFTWARE_TOKEN_MFA");

        // The next sign-in asks for a code; only the right one, once.
        f.server.clock.advance(30_000);
        let challenge = public.idp("InitiateAuth", password_auth(&f.client, "tia", PASSWORD)).await.json();
        assert_eq!(challenge["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{challenge}");
        assert!(challenge.get("AuthenticationResult").is_none());
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &challenge, json!({"USERNAME": "tia", "SOFTWARE_TOKEN_MFA_CODE": "123456"})),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("CodeMismatchException"));
        let good = code(&f.server, &secret);
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &challenge, json!({"USERNAME": "tia", "SOFTWARE_TOKEN_MFA_CODE": good})),
            )
            .await;
        assert!(r.json()["AuthenticationResult"]["AccessToken"].is_string(), "{}", r.text());
        let again = public.idp("InitiateAuth", password_auth(&f.client, "tia", PASSWORD)).await.json();
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &again, json!({"USERNAME": "tia", "SOFTWARE_TOKEN_MFA_CODE": good})),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("ExpiredCodeException"), "a used code is refused");
        assert_eq!(r.json()["message"], "Your software token has already been used once.");
        f.server.clock.advance(30_000);
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(
                    &f.client,
                    &again,
                    json!({"USERNAME": "tia", "SOFTWARE_TOKEN_MFA_CODE": code(&f.server, &secret)}),
                ),
            )
            .await;
        assert_eq!(r.status, 200, "the next step's code works: {}", r.text());

        // The session is bound to its challenge and expires.
        let r = public
            .idp("RespondToAuthChallenge", json!({"ClientId": f.client, "ChallengeName": "SMS_MFA", "Session": again["Session"], "ChallengeResponses": {"USERNAME": "tia", "SMS_MFA_CODE": "1"}}))
            .await;
        assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));
        let later = public.idp("InitiateAuth", password_auth(&f.client, "tia", PASSWORD)).await.json();
        f.server.clock.advance(4 * 60_000);
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(
                    &f.client,
                    &later,
                    json!({"USERNAME": "tia", "SOFTWARE_TOKEN_MFA_CODE": code(&f.server, &secret)}),
                ),
            )
            .await;
        assert_eq!(r.json()["message"], "Invalid session for the user, session is expired.");

        // The secret is sealed at rest: the database never holds it.
        let m = f
            .server
            .idp
            .store()
            .get_user_mfa(cognate_store::UserKey { pool_id: &f.pool, username_key: "tia" })
            .await
            .unwrap()
            .unwrap();
        let sealed = m.totp_secret_sealed.unwrap();
        assert!(!sealed.contains(&secret) && !sealed.contains(&secret.to_lowercase()));
        f.server.stop().await;
    }
}

#[tokio::test]
async fn mfa_setup_during_sign_in_then_select_and_email() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
        let r = mfa_config(
            &admin,
            &f.pool,
            json!({"MfaConfiguration": "ON", "SoftwareTokenMfaConfiguration": {"Enabled": true}, "EmailMfaConfiguration": {}}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        user(&admin, &f.pool, "sam", &[("email", "sam@example.com"), ("email_verified", "true")]).await;

        // Required, and no factor yet: set up TOTP in the sign-in.
        let setup = public.idp("InitiateAuth", password_auth(&f.client, "sam", PASSWORD)).await.json();
        assert_eq!(setup["ChallengeName"], "MFA_SETUP", "{setup}");
        assert!(setup["ChallengeParameters"]["MFAS_CAN_SETUP"].as_str().unwrap().contains("SOFTWARE_TOKEN_MFA"));
        let early = public.idp("RespondToAuthChallenge", respond(&f.client, &setup, json!({"USERNAME": "sam"}))).await;
        assert_eq!(early.error_type().as_deref(), Some("InvalidParameterException"), "not verified yet");
        let assoc = public.idp("AssociateSoftwareToken", json!({"Session": setup["Session"]})).await.json();
        let secret = assoc["SecretCode"].as_str().unwrap().to_string();
        let verified = public
            .idp("VerifySoftwareToken", json!({"Session": assoc["Session"], "UserCode": code(&f.server, &secret)}))
            .await
            .json();
        assert_eq!(verified["Status"], "SUCCESS", "{verified}");
        let done = json!({"ClientId": f.client, "ChallengeName": "MFA_SETUP", "Session": verified["Session"], "ChallengeResponses": {"USERNAME": "sam"}});
        let r = public.idp("RespondToAuthChallenge", done).await;
        assert!(r.json()["AuthenticationResult"]["IdToken"].is_string(), "{}", r.text());
        let access = r.json()["AuthenticationResult"]["AccessToken"].clone();

        // Email too, none preferred: the user chooses.
        let r = public
            .idp("SetUserMFAPreference", json!({"AccessToken": access, "EmailMfaSettings": {"Enabled": true}, "SoftwareTokenMfaSettings": {"Enabled": true, "PreferredMfa": false}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let select = public.idp("InitiateAuth", password_auth(&f.client, "sam", PASSWORD)).await.json();
        assert_eq!(select["ChallengeName"], "SELECT_MFA_TYPE", "{select}");
        let choices: Vec<String> =
            serde_json::from_str(select["ChallengeParameters"]["MFAS_CAN_CHOOSE"].as_str().unwrap()).unwrap();
        assert_eq!(choices, ["SOFTWARE_TOKEN_MFA", "EMAIL_OTP"]);
        let email = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &select, json!({"USERNAME": "sam", "ANSWER": "EMAIL_OTP"})),
            )
            .await
            .json();
        assert_eq!(email["ChallengeName"], "EMAIL_OTP", "{email}");
        assert_eq!(email["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"], "EMAIL");
        assert_eq!(email["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"], "s***@e***");
        let sent = outbox_code(&admin, "sam@example.com").await;
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &email, json!({"USERNAME": "sam", "EMAIL_OTP_CODE": "000000"})),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("CodeMismatchException"));
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &email, json!({"USERNAME": "sam", "EMAIL_OTP_CODE": sent})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &email, json!({"USERNAME": "sam", "EMAIL_OTP_CODE": sent})),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("CodeMismatchException"), "an email code is single use");

        // Admins see and change the factors; a preferred one skips the choice.
        let r = admin
            .idp("AdminSetUserMFAPreference", json!({"UserPoolId": f.pool, "Username": "sam", "EmailMfaSettings": {"Enabled": true, "PreferredMfa": true}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let got = admin.idp("AdminGetUser", json!({"UserPoolId": f.pool, "Username": "sam"})).await.json();
        assert_eq!(got["PreferredMfaSetting"], "EMAIL_OTP");
        assert_eq!(got["UserMFASettingList"], json!(["SOFTWARE_TOKEN_MFA", "EMAIL_OTP"]));
        let admin_auth = json!({"UserPoolId": f.pool, "ClientId": f.client, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": "sam", "PASSWORD": PASSWORD}});
        let ch = admin.idp("AdminInitiateAuth", admin_auth).await.json();
        assert_eq!(ch["ChallengeName"], "EMAIL_OTP", "{ch}");
        let sent = outbox_code(&admin, "sam@example.com").await;
        let r = admin
            .idp("AdminRespondToAuthChallenge", json!({"UserPoolId": f.pool, "ClientId": f.client, "ChallengeName": "EMAIL_OTP", "Session": ch["Session"], "ChallengeResponses": {"USERNAME": "sam", "EMAIL_OTP_CODE": sent}}))
            .await;
        assert!(r.json()["AuthenticationResult"]["AccessToken"].is_string(), "{}", r.text());
        f.server.stop().await;
    }
}

#[tokio::test]
async fn sms_mfa_and_wrong_codes_lock_out() {
    let f = fixture(Backend::SqliteMemory, serde_json::from_str(FLOWS).unwrap()).await;
    let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
    let sms: Value = serde_json::from_str(SMS).unwrap();
    let r = mfa_config(
        &admin,
        &f.pool,
        json!({"MfaConfiguration": "ON", "SmsMfaConfiguration": {"SmsAuthenticationMessage": "Code {####}", "SmsConfiguration": sms}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    user(&admin, &f.pool, "pia", &[("phone_number", "+15551230100")]).await;
    // MFA is required and the user has a phone: SMS, as Cognito does.
    let ch = public.idp("InitiateAuth", password_auth(&f.client, "pia", PASSWORD)).await.json();
    assert_eq!(ch["ChallengeName"], "SMS_MFA", "{ch}");
    assert_eq!(ch["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"], "+*******0100");
    let sent = outbox_code(&admin, "+15551230100").await;
    assert_eq!(sent.len(), 6);
    // Wrong codes count toward the lockout like wrong passwords.
    for _ in 0..5 {
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(&f.client, &ch, json!({"USERNAME": "pia", "SMS_MFA_CODE": "999999"})),
            )
            .await;
        assert_eq!(r.error_type().as_deref(), Some("CodeMismatchException"), "{}", r.text());
    }
    let r = public
        .idp("RespondToAuthChallenge", respond(&f.client, &ch, json!({"USERNAME": "pia", "SMS_MFA_CODE": sent})))
        .await;
    assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"), "locked: {}", r.text());
    // SetUserSettings turns SMS MFA on and off the older way.
    let r = admin
        .idp("AdminSetUserSettings", json!({"UserPoolId": f.pool, "Username": "pia", "MFAOptions": [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = admin.idp("AdminGetUser", json!({"UserPoolId": f.pool, "Username": "pia"})).await.json();
    assert_eq!(got["MFAOptions"], json!([{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]));
    assert_eq!(got["UserMFASettingList"], json!(["SMS_MFA"]));
    f.server.stop().await;
}

/// The device half of amazon-cognito-identity-js: a random password, its
/// SRP verifier for ConfirmDevice, and the DEVICE_SRP_AUTH exchange.
struct Device {
    key: String,
    group: String,
    password: String,
}

impl Device {
    fn verifier_config(&self) -> Value {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let v = cognate_crypto::srp::verifier_with_salt(&self.group, &self.key, &self.password, &[7u8; 16]);
        json!({"PasswordVerifier": b64.encode(&v.verifier), "Salt": b64.encode(&v.salt)})
    }

    /// Answers DEVICE_SRP_AUTH (and DEVICE_PASSWORD_VERIFIER) for `challenge`.
    async fn prove(
        &self,
        public: &Requester,
        client: &str,
        user: &str,
        challenge: &Value,
        password: &str,
    ) -> cognate_testkit::Response {
        use cognate_crypto::srp;
        let (a, big_a) = srp::client::generate_a();
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(
                    client,
                    challenge,
                    json!({"USERNAME": user, "DEVICE_KEY": self.key, "SRP_A": hex::encode(&big_a)}),
                ),
            )
            .await;
        let verifier = r.json();
        assert_eq!(verifier["ChallengeName"], "DEVICE_PASSWORD_VERIFIER", "{}", r.text());
        let p = &verifier["ChallengeParameters"];
        let field = |k: &str| p[k].as_str().unwrap().to_string();
        let key =
            srp::client::session_key(&a, &big_a, &field("SRP_B"), &field("SALT"), &self.group, &self.key, password)
                .unwrap();
        let ts = srp::format_timestamp(1_700_000_000);
        let sig = srp::client::claim_signature(&key, &self.group, &self.key, &field("SECRET_BLOCK"), &ts).unwrap();
        public
            .idp(
                "RespondToAuthChallenge",
                respond(client, &verifier, json!({"USERNAME": user, "DEVICE_KEY": self.key, "PASSWORD_CLAIM_SECRET_BLOCK": field("SECRET_BLOCK"), "PASSWORD_CLAIM_SIGNATURE": sig, "TIMESTAMP": ts})),
            )
            .await
    }
}

fn payload(token: &str) -> Value {
    use base64::Engine as _;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn with_device(client: &str, user: &str, device: &str) -> Value {
    json!({"ClientId": client, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {"USERNAME": user, "PASSWORD": PASSWORD, "DEVICE_KEY": device}})
}

#[tokio::test]
async fn remembered_devices_skip_mfa() {
    for backend in Backend::all() {
        let f = fixture(backend, serde_json::from_str(FLOWS).unwrap()).await;
        let (admin, public) = (f.server.client("us-east-1"), f.server.unsigned());
        let r = admin
            .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": true, "DeviceOnlyRememberedOnUserPrompt": true}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = mfa_config(
            &admin,
            &f.pool,
            json!({"MfaConfiguration": "OPTIONAL", "SoftwareTokenMfaConfiguration": {"Enabled": true}}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        user(&admin, &f.pool, "dee", &[]).await;

        // Without MFA yet: tokens come with a new device's keys.
        let first = public.idp("InitiateAuth", password_auth(&f.client, "dee", PASSWORD)).await.json();
        let meta = first["AuthenticationResult"]["NewDeviceMetadata"].clone();
        let device = Device {
            key: meta["DeviceKey"].as_str().unwrap().to_string(),
            group: meta["DeviceGroupKey"].as_str().unwrap().to_string(),
            password: "device-random-password-0001".into(),
        };
        assert!(device.key.starts_with("us-east-1_") && device.group.starts_with('-'), "{meta}");
        let access = first["AuthenticationResult"]["AccessToken"].clone();
        let claims = payload(access.as_str().unwrap());
        assert_eq!(claims["device_key"], device.key.as_str());

        // TOTP on, then the device confirmed; it waits for the user's say-so.
        let secret = public.idp("AssociateSoftwareToken", json!({"AccessToken": access})).await.json()["SecretCode"]
            .as_str()
            .unwrap()
            .to_string();
        let r = public
            .idp("VerifySoftwareToken", json!({"AccessToken": access, "UserCode": code(&f.server, &secret)}))
            .await;
        assert_eq!(r.json()["Status"], "SUCCESS");
        let r = public
            .idp("ConfirmDevice", json!({"AccessToken": access, "DeviceKey": device.key, "DeviceName": "laptop", "DeviceSecretVerifierConfig": device.verifier_config()}))
            .await;
        assert_eq!(r.json()["UserConfirmationNecessary"], true, "{}", r.text());
        let listed = public.idp("ListDevices", json!({"AccessToken": access})).await.json();
        assert_eq!(listed["Devices"], json!([]), "ListDevices shows remembered devices only");
        let listed = admin.idp("AdminListDevices", json!({"UserPoolId": f.pool, "Username": "dee"})).await.json();
        let attrs = listed["Devices"][0]["DeviceAttributes"].as_array().unwrap().clone();
        assert!(
            attrs.contains(&json!({"Name": "dev:device_remembered_status", "Value": "not_remembered"})),
            "{listed}"
        );
        assert!(attrs.contains(&json!({"Name": "device_name", "Value": "laptop"})));

        // A known device is proven by SRP; not remembered, MFA still follows.
        f.server.clock.advance(30_000);
        let ch = public.idp("InitiateAuth", with_device(&f.client, "dee", &device.key)).await.json();
        assert_eq!(ch["ChallengeName"], "DEVICE_SRP_AUTH", "{ch}");
        let r = device.prove(&public, &f.client, "dee", &ch, &device.password).await;
        assert_eq!(r.json()["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{}", r.text());
        let mfa = r.json();
        let r = public
            .idp(
                "RespondToAuthChallenge",
                respond(
                    &f.client,
                    &mfa,
                    json!({"USERNAME": "dee", "SOFTWARE_TOKEN_MFA_CODE": code(&f.server, &secret)}),
                ),
            )
            .await;
        let result = r.json()["AuthenticationResult"].clone();
        assert!(result["AccessToken"].is_string(), "{}", r.text());
        assert!(result.get("NewDeviceMetadata").is_none(), "a known device is not new");

        // Remembered: the device stands in for MFA.
        let r = public
            .idp("UpdateDeviceStatus", json!({"AccessToken": result["AccessToken"], "DeviceKey": device.key, "DeviceRememberedStatus": "remembered"}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let ch = public.idp("InitiateAuth", with_device(&f.client, "dee", &device.key)).await.json();
        let r = device.prove(&public, &f.client, "dee", &ch, &device.password).await;
        assert!(r.json()["AuthenticationResult"]["IdToken"].is_string(), "no MFA: {}", r.text());
        // Without ChallengeRequiredOnNewDevice a remembered device does not
        // replace MFA.
        let r = admin
            .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "MfaConfiguration": "OPTIONAL", "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": false}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let ch = public.idp("InitiateAuth", with_device(&f.client, "dee", &device.key)).await.json();
        let r = device.prove(&public, &f.client, "dee", &ch, &device.password).await;
        assert_eq!(r.json()["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{}", r.text());
        let r = admin
            .idp("UpdateUserPool", json!({"UserPoolId": f.pool, "MfaConfiguration": "OPTIONAL", "DeviceConfiguration": {"ChallengeRequiredOnNewDevice": true}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // A wrong device secret proves nothing.
        let ch = public.idp("InitiateAuth", with_device(&f.client, "dee", &device.key)).await.json();
        let r = device.prove(&public, &f.client, "dee", &ch, "not-the-device-password").await;
        assert_eq!(r.error_type().as_deref(), Some("NotAuthorizedException"));

        // Admins see it and forget it; the device key then means nothing.
        let got = admin
            .idp("AdminGetDevice", json!({"UserPoolId": f.pool, "Username": "dee", "DeviceKey": device.key}))
            .await;
        assert_eq!(got.json()["Device"]["DeviceKey"], device.key.as_str(), "{}", got.text());
        let listed = admin.idp("AdminListDevices", json!({"UserPoolId": f.pool, "Username": "dee"})).await.json();
        assert_eq!(listed["Devices"].as_array().unwrap().len(), 1, "unconfirmed devices are not listed: {listed}");
        let r = admin
            .idp("AdminForgetDevice", json!({"UserPoolId": f.pool, "Username": "dee", "DeviceKey": device.key}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = public.idp("InitiateAuth", with_device(&f.client, "dee", &device.key)).await.json();
        assert_eq!(r["ChallengeName"], "SOFTWARE_TOKEN_MFA", "{r}");
        let r = admin
            .idp("AdminGetDevice", json!({"UserPoolId": f.pool, "Username": "dee", "DeviceKey": device.key}))
            .await;
        assert_eq!(r.error_type().as_deref(), Some("ResourceNotFoundException"));
        f.server.stop().await;
    }
}
