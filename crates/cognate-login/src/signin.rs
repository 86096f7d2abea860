//! The hosted pages a person goes through: sign-in, the challenges after the
//! password (MFA, a new password), sign-up with its confirmation code, and
//! password reset. Each page carries the /oauth2/authorize parameters in its
//! query, checked again on every request; each form post carries the
//! `XSRF-TOKEN` cookie's value.

use crate::pages::{self, Field, Form};
use crate::{
    CSRF_COOKIE, SESSION_COOKIE, continue_at, domain_of, fault, finish, form_fields, not_found, page, query, query_str,
    refused, session, set_cookie,
};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use cognate_idp::Idp;
use cognate_idp::oauth::{Authorization, HostedStep, SessionUser};
use std::collections::BTreeMap;

/// The form fields of a POST whose CSRF token and authorize parameters
/// passed, or the page to answer instead.
async fn checked_post(idp: &Idp, req: Request) -> Result<(String, Authorization, BTreeMap<String, String>), Response> {
    let Some(domain) = domain_of(&req) else { return Err(not_found().await) };
    let (req, fields) = form_fields(req).await?;
    let a = idp.check_authorize(&domain, &query(&req)).await.map_err(refused)?;
    let expected = crate::cookie(req.headers(), CSRF_COOKIE).unwrap_or_default();
    let given = fields.get("_csrf").map(String::as_str).unwrap_or_default();
    if expected.is_empty() || !cognate_crypto::ct_eq(expected.as_bytes(), given.as_bytes()) {
        return Err(page(
            StatusCode::FORBIDDEN,
            pages::error("Invalid or missing CSRF token; reload the page and try again."),
        ));
    }
    Ok((query_str(&req), a, fields))
}

/// A form page with a fresh CSRF token (also set as the cookie), in the
/// client's look (SetUICustomization) when it has one.
async fn show(idp: &Idp, a: &Authorization, mut form: Form<'_>) -> Response {
    let look = match idp.look_of(&a.pool_id, &a.client_id).await {
        Ok(l) => l,
        Err(e) => return fault(&e),
    };
    let client = cognate_wire::form::encode(&a.client_id);
    form.stylesheet = (!look.css.is_empty()).then(|| format!("/ui/{client}/style.css"));
    form.logo = look.image.is_some().then(|| format!("/ui/{client}/logo"));
    let csrf = cognate_crypto::ids::uuid_v4();
    let mut resp = page(StatusCode::OK, pages::form(&form, &csrf));
    set_cookie(&mut resp, CSRF_COOKIE, &csrf, 3600, idp.login_is_https());
    resp
}

/// The sign-in page, with links to sign-up (when users may sign up) and to
/// password reset.
async fn sign_in_form(
    idp: &Idp,
    q: &str,
    a: &Authorization,
    username: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let heading =
        if a.client_name.is_empty() { "Sign in".to_string() } else { format!("Sign in to {}", a.client_name) };
    let action = continue_at("/login", q);
    let mut links = vec![(continue_at("/forgotPassword", q), "Forgot your password?")];
    if matches!(idp.sign_up_form(a).await, Ok(Some(_))) {
        links.push((continue_at("/signup", q), "Create an account"));
    }
    show(
        idp,
        a,
        Form {
            heading: &heading,
            error,
            notice,
            action: &action,
            fields: vec![
                Field::text("username", "Username", "username", username),
                Field::Password { name: "password".into(), label: "Password".into() },
            ],
            button: "Sign in",
            links,
            ..Default::default()
        },
    )
    .await
}

/// GET /login: the sign-in form; with a live session (and no
/// `prompt=login`) straight back to the client.
pub(crate) async fn login_page(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let a = match idp.check_authorize(&domain, &query(&req)).await {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    if a.prompt.as_deref() != Some("login") {
        match session(&idp, &domain, req.headers()).await {
            Ok(Some(s)) => return finish(&idp, &a, &s).await,
            Ok(None) => {}
            Err(resp) => return resp,
        }
    }
    let username = a.login_hint.clone().unwrap_or_default();
    sign_in_form(&idp, &query_str(&req), &a, &username, None, None).await
}

/// POST /login: the password; on success the session cookie is set and the
/// browser goes back to the client, or on to the next challenge's page.
pub(crate) async fn login_post(State(idp): State<Idp>, req: Request) -> Response {
    let (q, a, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = fields.get("username").map(String::as_str).unwrap_or_default();
    let password = fields.get("password").map(String::as_str).unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return sign_in_form(&idp, &q, &a, username, Some("Username and password are required."), None).await;
    }
    match idp.hosted_password_sign_in(&a, username, password).await {
        Ok(step) => advance(&idp, &q, &a, step).await,
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e) => sign_in_form(&idp, &q, &a, username, Some(e.message()), None).await,
    }
}

/// After a step: signed in (the session cookie is set and the browser goes
/// back to the client), or the next challenge's page.
async fn advance(idp: &Idp, q: &str, a: &Authorization, step: HostedStep) -> Response {
    match step {
        HostedStep::SignedIn(user) => {
            let value = match idp.start_session(&user).await {
                Ok(v) => v,
                Err(e) => return fault(&e),
            };
            let s = SessionUser { user: *user, auth_time: idp.now_ms() / 1000 };
            let mut resp = finish(idp, a, &s).await;
            let max_age = cognate_idp::oauth::SESSION_TTL_MS / 1000;
            set_cookie(&mut resp, SESSION_COOKIE, &value, max_age, idp.login_is_https());
            resp
        }
        HostedStep::Challenge { name, parameters, session } => {
            challenge_page(idp, a, q, name.as_str(), &parameters, &session, None).await
        }
    }
}

/// The page of a challenge. Its public parameters ride along in the form
/// for showing the page again after a wrong answer; what is checked is the
/// sealed session.
async fn challenge_page(
    idp: &Idp,
    a: &Authorization,
    q: &str,
    name: &str,
    parameters: &BTreeMap<String, String>,
    session: &str,
    error: Option<&str>,
) -> Response {
    let list = |k: &str| -> Vec<String> {
        parameters.get(k).and_then(|v| serde_json::from_str::<Vec<String>>(v).ok()).unwrap_or_default()
    };
    let code = |label: &str| vec![Field::Code { name: "code".into(), label: label.into() }];
    let (heading, text, fields) = match name {
        "SOFTWARE_TOKEN_MFA" => (
            "Two-step verification",
            "Enter the code from your authenticator app.".to_string(),
            code("Authenticator code"),
        ),
        "SMS_MFA" | "EMAIL_OTP" => {
            let to = parameters.get("CODE_DELIVERY_DESTINATION").cloned().unwrap_or_default();
            ("Two-step verification", format!("We sent a code to {to}."), code("Code"))
        }
        "SELECT_MFA_TYPE" => {
            let words = |f: &str| -> String {
                match f {
                    "SOFTWARE_TOKEN_MFA" => "Authenticator app".into(),
                    "SMS_MFA" => "Text message (SMS)".into(),
                    "EMAIL_OTP" => "Email".into(),
                    other => other.into(),
                }
            };
            let options = list("MFAS_CAN_CHOOSE").into_iter().map(|f| (f.clone(), words(&f))).collect();
            (
                "Two-step verification",
                "Choose how to verify it is you.".to_string(),
                vec![Field::Choice { name: "mfa_type".into(), label: "Verify with".into(), options }],
            )
        }
        _ => {
            let mut fields = vec![Field::NewPassword { name: "new_password".into(), label: "New password".into() }];
            for attr in list("requiredAttributes") {
                let short = attr.strip_prefix("userAttributes.").unwrap_or(&attr).to_string();
                fields.push(Field::text(&format!("attr:{short}"), &short, "off", ""));
            }
            ("Change your password", "Choose a new password to continue.".to_string(), fields)
        }
    };
    let carried = serde_json::to_string(parameters).unwrap_or_default();
    let action = continue_at("/challenge", q);
    show(
        idp,
        a,
        Form {
            heading,
            text: &text,
            error,
            action: &action,
            hidden: vec![("challenge", name), ("session", session), ("parameters", &carried)],
            fields,
            button: "Continue",
            ..Default::default()
        },
    )
    .await
}

/// POST /challenge: the answer to a challenge's page; a wrong code or a
/// refused password shows the page again while its session lasts.
pub(crate) async fn challenge_post(State(idp): State<Idp>, req: Request) -> Response {
    let (q, a, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (name, session) = (get("challenge"), get("session"));
    let parameters: BTreeMap<String, String> = serde_json::from_str(&get("parameters")).unwrap_or_default();
    let username = parameters.get("USER_ID_FOR_SRP").cloned().unwrap_or_default();
    let mut responses = BTreeMap::from([("USERNAME".to_string(), username.clone())]);
    let answer = match name.as_str() {
        "SOFTWARE_TOKEN_MFA" => ("SOFTWARE_TOKEN_MFA_CODE", get("code")),
        "SMS_MFA" => ("SMS_MFA_CODE", get("code")),
        "EMAIL_OTP" => ("EMAIL_OTP_CODE", get("code")),
        "SELECT_MFA_TYPE" => ("ANSWER", get("mfa_type")),
        _ => {
            for (k, v) in &fields {
                if let Some(attr) = k.strip_prefix("attr:") {
                    responses.insert(format!("userAttributes.{attr}"), v.clone());
                }
            }
            ("NEW_PASSWORD", get("new_password"))
        }
    };
    responses.insert(answer.0.to_string(), answer.1);
    match idp.hosted_answer(&a, &name, responses, &session).await {
        Ok(step) => advance(&idp, &q, &a, step).await,
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e)
            if matches!(
                e.code(),
                "CodeMismatchException" | "InvalidPasswordException" | "InvalidParameterException"
            ) =>
        {
            challenge_page(&idp, &a, &q, &name, &parameters, &session, Some(e.message())).await
        }
        Err(e) => sign_in_form(&idp, &q, &a, &username, Some(e.message()), None).await,
    }
}

/// A human label for an attribute the sign-up page asks for.
fn attribute_label(name: &str) -> String {
    match name {
        "email" => "Email".into(),
        "phone_number" => "Phone number".into(),
        "given_name" => "Given name".into(),
        "family_name" => "Family name".into(),
        "name" => "Name".into(),
        "preferred_username" => "Preferred username".into(),
        other => other.strip_prefix("custom:").unwrap_or(other).replace('_', " "),
    }
}

fn autocomplete_of(name: &str) -> &'static str {
    match name {
        "email" => "email",
        "phone_number" => "tel",
        "given_name" => "given-name",
        "family_name" => "family-name",
        "name" => "name",
        _ => "off",
    }
}

async fn sign_up_form(
    idp: &Idp,
    q: &str,
    a: &Authorization,
    given: &BTreeMap<String, String>,
    error: Option<&str>,
) -> Response {
    let form = match idp.sign_up_form(a).await {
        Ok(Some(f)) => f,
        Ok(None) => return crate::error_response("SignUp is not permitted for this user pool"),
        Err(e) => return fault(&e),
    };
    let value = |k: &str| given.get(k).map(String::as_str).unwrap_or_default();
    let mut fields = vec![Field::text("username", &form.username_label, "username", value("username"))];
    for attr in &form.attributes {
        let name = format!("attr:{attr}");
        fields.push(Field::text(&name, &attribute_label(attr), autocomplete_of(attr), value(&name)));
    }
    fields.push(Field::NewPassword { name: "password".into(), label: "Password".into() });
    let action = continue_at("/signup", q);
    show(
        idp,
        a,
        Form {
            heading: "Create an account",
            error,
            action: &action,
            fields,
            button: "Sign up",
            links: vec![(continue_at("/login", q), "Already have an account? Sign in")],
            ..Default::default()
        },
    )
    .await
}

/// GET /signup.
pub(crate) async fn sign_up_page(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    match idp.check_authorize(&domain, &query(&req)).await {
        Ok(a) => sign_up_form(&idp, &query_str(&req), &a, &BTreeMap::new(), None).await,
        Err(e) => refused(e),
    }
}

/// POST /signup: SignUp, then the confirmation code's page (or, for a user
/// the PreSignUp function confirmed, the sign-in page).
pub(crate) async fn sign_up_post(State(idp): State<Idp>, req: Request) -> Response {
    let (q, a, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = fields.get("username").cloned().unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let attributes: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("attr:")?.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    match idp.hosted_sign_up(&a, &username, &password, attributes).await {
        Ok(r) if r.user_confirmed => {
            sign_in_form(&idp, &q, &a, &username, None, Some("Your account is ready. Sign in.")).await
        }
        Ok(r) => {
            let to = r.code_delivery_details.and_then(|d| d.destination).unwrap_or_default();
            confirm_form(&idp, &a, &q, &username, &to, None).await
        }
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e) => sign_up_form(&idp, &q, &a, &fields, Some(e.message())).await,
    }
}

async fn confirm_form(
    idp: &Idp,
    a: &Authorization,
    q: &str,
    username: &str,
    destination: &str,
    error: Option<&str>,
) -> Response {
    let text = if destination.is_empty() {
        "Enter the code we sent you.".to_string()
    } else {
        format!("We sent a code to {destination}.")
    };
    let action = continue_at("/confirm", q);
    show(
        idp,
        a,
        Form {
            heading: "Confirm your account",
            text: &text,
            error,
            action: &action,
            hidden: vec![("username", username), ("destination", destination)],
            fields: vec![Field::Code { name: "code".into(), label: "Confirmation code".into() }],
            button: "Confirm",
            ..Default::default()
        },
    )
    .await
}

/// POST /confirm: ConfirmSignUp, then the sign-in page.
pub(crate) async fn confirm_post(State(idp): State<Idp>, req: Request) -> Response {
    let (q, a, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (username, destination) = (get("username"), get("destination"));
    match idp.hosted_confirm_sign_up(&a, &username, &get("code")).await {
        Ok(()) => sign_in_form(&idp, &q, &a, &username, None, Some("Your account is confirmed. Sign in.")).await,
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e) => confirm_form(&idp, &a, &q, &username, &destination, Some(e.message())).await,
    }
}

async fn forgot_form(idp: &Idp, a: &Authorization, q: &str, username: &str, error: Option<&str>) -> Response {
    let action = continue_at("/forgotPassword", q);
    show(
        idp,
        a,
        Form {
            heading: "Forgot your password?",
            text: "We will send you a code to reset it.",
            error,
            action: &action,
            fields: vec![Field::text("username", "Username", "username", username)],
            button: "Send a code",
            links: vec![(continue_at("/login", q), "Back to sign in")],
            ..Default::default()
        },
    )
    .await
}

/// GET /forgotPassword.
pub(crate) async fn forgot_page(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    match idp.check_authorize(&domain, &query(&req)).await {
        Ok(a) => forgot_form(&idp, &a, &query_str(&req), "", None).await,
        Err(e) => refused(e),
    }
}

/// POST /forgotPassword: ForgotPassword, then the page for the code and the
/// new password.
pub(crate) async fn forgot_post(State(idp): State<Idp>, req: Request) -> Response {
    let (q, a, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = fields.get("username").cloned().unwrap_or_default();
    match idp.hosted_forgot_password(&a, &username).await {
        Ok(details) => {
            let to = details.and_then(|d| d.destination).unwrap_or_default();
            reset_form(&idp, &a, &q, &username, &to, None).await
        }
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e) => forgot_form(&idp, &a, &q, &username, Some(e.message())).await,
    }
}

async fn reset_form(
    idp: &Idp,
    a: &Authorization,
    q: &str,
    username: &str,
    destination: &str,
    error: Option<&str>,
) -> Response {
    let text = if destination.is_empty() {
        "Enter the code we sent you and a new password.".to_string()
    } else {
        format!("We sent a code to {destination}. Enter it and a new password.")
    };
    let action = continue_at("/confirmForgotPassword", q);
    show(
        idp,
        a,
        Form {
            heading: "Reset your password",
            text: &text,
            error,
            action: &action,
            hidden: vec![("username", username), ("destination", destination)],
            fields: vec![
                Field::Code { name: "code".into(), label: "Code".into() },
                Field::NewPassword { name: "password".into(), label: "New password".into() },
            ],
            button: "Reset password",
            ..Default::default()
        },
    )
    .await
}

/// POST /confirmForgotPassword: ConfirmForgotPassword, then the sign-in page.
pub(crate) async fn confirm_forgot_post(State(idp): State<Idp>, req: Request) -> Response {
    let (q, a, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (username, destination) = (get("username"), get("destination"));
    match idp.hosted_confirm_forgot_password(&a, &username, &get("code"), &get("password")).await {
        Ok(()) => sign_in_form(&idp, &q, &a, &username, None, Some("Your password is changed. Sign in with it.")).await,
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e) => reset_form(&idp, &a, &q, &username, &destination, Some(e.message())).await,
    }
}
