//! What the audit log records of a call: every admin call and every
//! authentication call, with time, caller, operation, pool, target, outcome
//! and source. The writer is the domain's (`cognate_idp::audit::Auditor`).
//!
//! Only names go in a record (access key ids, usernames, client ids, group
//! names), never a password, code, token or secret.

use serde_json::Value;

/// Public operations that are authentication events; every SigV4 operation is
/// audited as well.
const AUDITED_PUBLIC: &[&str] = &[
    "SignUp",
    "ConfirmSignUp",
    "ResendConfirmationCode",
    "InitiateAuth",
    "RespondToAuthChallenge",
    "ForgotPassword",
    "ConfirmForgotPassword",
    "ChangePassword",
    "GlobalSignOut",
    "RevokeToken",
    "GetTokensFromRefreshToken",
    "DeleteUser",
    "UpdateUserAttributes",
    "DeleteUserAttributes",
    "VerifyUserAttribute",
    "GetUserAttributeVerificationCode",
    "AssociateSoftwareToken",
    "VerifySoftwareToken",
    "SetUserMFAPreference",
    "SetUserSettings",
    "ConfirmDevice",
    "ForgetDevice",
    "UpdateDeviceStatus",
];

/// Whether a call to `operation` is audited.
pub fn audited(operation: &str, signed: bool) -> bool {
    signed || AUDITED_PUBLIC.contains(&operation)
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}

/// The username a call names, wherever the operation carries it.
fn named_user(input: &Value) -> Option<String> {
    text(input, &["Username"])
        .or_else(|| text(input, &["AuthParameters", "USERNAME"]))
        .or_else(|| text(input, &["ChallengeResponses", "USERNAME"]))
}

/// The pool and username an access token claims, read without verifying it:
/// used only for a call that succeeded, which means the token was verified.
fn token_identity(input: &Value) -> Option<(String, String)> {
    use base64::Engine as _;
    let token = text(input, &["AccessToken"])?;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let pool = claims.get("iss")?.as_str()?.rsplit('/').next()?.to_string();
    let user = claims.get("username")?.as_str()?.to_string();
    Some((pool, user))
}

/// What a record says about a call, from its input; nothing secret is read.
#[derive(Debug)]
pub struct Subject {
    pub caller: String,
    pub pool_id: String,
    pub client_id: String,
    pub target: String,
}

/// `caller`: the verified access key id of a signed call (`unauthenticated`
/// when its signature was refused); for a public call `user:<name>` when the
/// call names or proves its user, else `client:<id>`, else `anonymous`.
/// `target`: the user (or group, or client) the call acts on.
pub fn subject(input: &Value, signed: bool, access_key: Option<&str>, succeeded: bool) -> Subject {
    let from_token = if succeeded { token_identity(input) } else { None };
    let user = named_user(input).or_else(|| from_token.as_ref().map(|(_, u)| u.clone()));
    let pool_id = text(input, &["UserPoolId"]).or_else(|| from_token.map(|(p, _)| p)).unwrap_or_default();
    let client = text(input, &["ClientId"]);
    let target = user
        .clone()
        .or_else(|| text(input, &["GroupName"]).map(|g| format!("group:{g}")))
        .or_else(|| client.clone().map(|c| format!("client:{c}")))
        .unwrap_or_default();
    let caller = match (signed, access_key, &user, &client) {
        (true, Some(k), _, _) => k.to_string(),
        (true, None, _, _) => "unauthenticated".to_string(),
        (false, _, Some(u), _) => format!("user:{u}"),
        (false, _, None, Some(c)) => format!("client:{c}"),
        (false, _, None, None) => "anonymous".to_string(),
    };
    Subject { caller, pool_id, client_id: client.unwrap_or_default(), target }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_name_users_never_secrets() {
        let s = subject(
            &json!({"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c1",
                    "AuthParameters": {"USERNAME": "ann", "PASSWORD": "Secret-1"}}),
            false,
            None,
            false,
        );
        assert_eq!((s.caller.as_str(), s.pool_id.as_str(), s.target.as_str()), ("user:ann", "", "ann"));

        let s = subject(&json!({"UserPoolId": "us-east-1_x", "Username": "bob"}), true, Some("AKIA1"), true);
        assert_eq!((s.caller.as_str(), s.pool_id.as_str(), s.target.as_str()), ("AKIA1", "us-east-1_x", "bob"));

        let s = subject(&json!({"UserPoolId": "us-east-1_x", "GroupName": "admins"}), true, Some("AKIA1"), true);
        assert_eq!(s.target, "group:admins");
        // A refused signature never makes the named user the caller.
        let s = subject(&json!({"UserPoolId": "us-east-1_x", "Username": "bob"}), true, None, false);
        assert_eq!((s.caller.as_str(), s.target.as_str()), ("unauthenticated", "bob"));

        let s = subject(&json!({"Token": "opaque", "ClientId": "c1"}), false, None, true);
        assert_eq!((s.caller.as_str(), s.target.as_str()), ("client:c1", "client:c1"));

        // An access token names its user only when the call succeeded.
        let payload = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"iss":"http://h/us-east-1_p","username":"cat"}"#,
        );
        let token = format!("e30.{payload}.sig");
        let s = subject(&json!({"AccessToken": token}), false, None, true);
        assert_eq!((s.caller.as_str(), s.pool_id.as_str(), s.target.as_str()), ("user:cat", "us-east-1_p", "cat"));
        let s = subject(&json!({"AccessToken": token}), false, None, false);
        assert_eq!(s.caller, "anonymous");
    }
}
