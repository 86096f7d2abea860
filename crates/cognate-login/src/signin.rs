//! The hosted pages a person goes through: sign-in, the challenges after the
//! password (MFA, a new password), sign-up with its confirmation code, and
//! password reset. Each page carries the /oauth2/authorize parameters in its
//! query, checked again on every request; each form post carries the
//! `XSRF-TOKEN` cookie's value.

use crate::i18n::{LANG_COOKIE, LANG_COOKIE_MAX_AGE, Lang};
use crate::pages::{self, Field, Form};
use crate::{
    CSRF_COOKIE, SESSION_COOKIE, continue_at, domain_of, fault, finish, form_fields, lang_of, not_found, page, query,
    query_str, refused, session, set_cookie,
};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use cognate_idp::Idp;
use cognate_idp::domains::PoolDomain;
use cognate_idp::oauth::{Authorization, HostedStep, SessionUser, TotpSetup};
use cognate_wire::idp::ChallengeNameType;
use std::collections::BTreeMap;

/// One request of a sign-in: the page's query (the /oauth2/authorize
/// parameters, carried from page to page), what they authorize, and the
/// page's language.
pub(crate) struct Visit {
    q: String,
    a: Authorization,
    lang: Lang,
    /// The query named the language with `lang`: remember it in the cookie.
    chosen: bool,
    /// The domain's managed login version: which look the pages wear.
    version: i32,
}

impl Visit {
    fn tr(&self, english: &'static str) -> &'static str {
        self.lang.tr(english)
    }

    /// `path` with this sign-in's query.
    fn at(&self, path: &str) -> String {
        continue_at(path, &self.q)
    }

    /// `path` with this sign-in's query without `lang`: where the language
    /// links point.
    fn at_without_lang(&self, path: &str) -> String {
        let pairs = cognate_wire::form::pairs(self.q.as_bytes());
        let kept = pairs.iter().filter(|(k, _)| k != "lang").map(|(k, v)| (k.as_str(), v.as_str()));
        continue_at(path, &cognate_wire::form::encode_pairs(kept))
    }
}

/// What a request asks of a sign-in, read before anything is awaited (a
/// request cannot be held across an await: its body is not Sync).
pub(crate) struct Asked {
    domain: Option<PoolDomain>,
    params: BTreeMap<String, String>,
    q: String,
    lang: Lang,
}

fn asked(req: &Request) -> Asked {
    Asked { domain: domain_of(req), params: query(req), q: query_str(req), lang: lang_of(req) }
}

/// The sign-in a request continues, or the page to answer instead.
async fn visit(idp: &Idp, asked: Asked) -> Result<(PoolDomain, Visit), Response> {
    let Asked { domain, params, q, lang } = asked;
    let Some(domain) = domain else { return Err(not_found().await) };
    let chosen = params.get("lang").and_then(|l| Lang::parse(l)).is_some();
    match idp.check_authorize(&domain, &params).await {
        Ok(a) => {
            let version = domain.managed_login_version;
            Ok((domain, Visit { q, a, lang, chosen, version }))
        }
        Err(e) => Err(refused(lang, e)),
    }
}

/// The form fields of a POST whose CSRF token and authorize parameters
/// passed, or the page to answer instead.
async fn checked_post(idp: &Idp, req: Request) -> Result<(Visit, BTreeMap<String, String>), Response> {
    let (_, v) = visit(idp, asked(&req)).await?;
    let (req, fields) = form_fields(req).await?;
    if !crate::csrf_ok(req.headers(), &fields) {
        let message = v.tr("Invalid or missing CSRF token; reload the page and try again.");
        return Err(page(StatusCode::FORBIDDEN, pages::error(v.lang, message)));
    }
    Ok((v, fields))
}

/// A form page with a fresh CSRF token (also set as the cookie), in the
/// client's look (SetUICustomization on a classic domain, its branding
/// style on a managed-login one) when it has one, and in the visit's
/// language (remembered in the `lang` cookie when the query chose it).
async fn show(idp: &Idp, v: &Visit, mut form: Form<'_>) -> Response {
    let look = match idp.look_of(&v.a.pool_id, &v.a.client_id, v.version).await {
        Ok(l) => l,
        Err(e) => return fault(v.lang, &e),
    };
    let client = cognate_wire::form::encode(&v.a.client_id);
    form.lang = v.lang;
    form.stylesheet = (!look.css.is_empty()).then(|| format!("/ui/{client}/style.css"));
    form.logo = look.image.is_some().then(|| format!("/ui/{client}/logo"));
    let csrf = cognate_crypto::ids::uuid_v4();
    let mut resp = page(StatusCode::OK, pages::form(&form, &csrf));
    set_cookie(&mut resp, CSRF_COOKIE, &csrf, 3600, idp.login_is_https());
    if v.chosen {
        set_cookie(&mut resp, LANG_COOKIE, v.lang.code(), LANG_COOKIE_MAX_AGE, idp.login_is_https());
    }
    resp
}

/// The sign-in page, with links to sign-up (when users may sign up) and to
/// password reset.
async fn sign_in_form(idp: &Idp, v: &Visit, username: &str, error: Option<&str>, notice: Option<&str>) -> Response {
    let heading = if v.a.client_name.is_empty() {
        v.tr("Sign in").to_string()
    } else {
        v.lang.fill("Sign in to {}", &v.a.client_name)
    };
    let action = v.at("/login");
    let mut links = vec![(v.at("/forgotPassword"), v.tr("Forgot your password?"))];
    if matches!(idp.sign_up_form(&v.a).await, Ok(Some(_))) {
        links.push((v.at("/signup"), v.tr("Create an account")));
    }
    show(
        idp,
        v,
        Form {
            heading: &heading,
            error,
            notice,
            action: &action,
            fields: vec![
                Field::text("username", v.tr("Username"), "username", username),
                Field::Password { name: "password".into(), label: v.tr("Password").into() },
            ],
            button: v.tr("Sign in"),
            links,
            languages: Some(v.at_without_lang("/login")),
            ..Default::default()
        },
    )
    .await
}

/// GET /login: the sign-in form; with a live session (and no
/// `prompt=login`) straight back to the client.
pub(crate) async fn login_page(State(idp): State<Idp>, req: Request) -> Response {
    let (domain, v) = match visit(&idp, asked(&req)).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    if v.a.prompt.as_deref() != Some("login") {
        match session(&idp, &domain, req.headers()).await {
            Ok(Some(s)) => return finish(&idp, &v.a, &s).await,
            Ok(None) => {}
            Err(resp) => return resp,
        }
    }
    let username = v.a.login_hint.clone().unwrap_or_default();
    sign_in_form(&idp, &v, &username, None, None).await
}

/// POST /login: the password; on success the session cookie is set and the
/// browser goes back to the client, or on to the next challenge's page.
pub(crate) async fn login_post(State(idp): State<Idp>, req: Request) -> Response {
    let (v, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = fields.get("username").map(String::as_str).unwrap_or_default();
    let password = fields.get("password").map(String::as_str).unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        let error = v.tr("Username and password are required.");
        return sign_in_form(&idp, &v, username, Some(error), None).await;
    }
    match idp.hosted_password_sign_in(&v.a, username, password).await {
        Ok(step) => advance(&idp, &v, step).await,
        Err(e) if e.cause().is_some() => fault(v.lang, &e),
        Err(e) => sign_in_form(&idp, &v, username, Some(e.message()), None).await,
    }
}

/// After a step: signed in (the session cookie is set and the browser goes
/// back to the client), or the next challenge's page.
async fn advance(idp: &Idp, v: &Visit, step: HostedStep) -> Response {
    match step {
        HostedStep::SignedIn(user) => {
            let value = match idp.start_session(&user).await {
                Ok(value) => value,
                Err(e) => return fault(v.lang, &e),
            };
            let s = SessionUser { user: *user, auth_time: idp.now_ms() / 1000 };
            let mut resp = finish(idp, &v.a, &s).await;
            let max_age = cognate_idp::oauth::SESSION_TTL_MS / 1000;
            set_cookie(&mut resp, SESSION_COOKIE, &value, max_age, idp.login_is_https());
            resp
        }
        HostedStep::Challenge { name: ChallengeNameType::MfaSetup, parameters, session } => {
            match idp.hosted_totp_setup(&v.a, &session).await {
                Ok(setup) => totp_setup_page(idp, v, &parameters, &setup, None).await,
                Err(e) if e.cause().is_some() => fault(v.lang, &e),
                Err(e) => sign_in_form(idp, v, "", Some(e.message()), None).await,
            }
        }
        HostedStep::Challenge { name, parameters, session } => {
            challenge_page(idp, v, name.as_str(), &parameters, &session, None).await
        }
    }
}

/// The page of a challenge. Its public parameters ride along in the form
/// for showing the page again after a wrong answer; what is checked is the
/// sealed session.
async fn challenge_page(
    idp: &Idp,
    v: &Visit,
    name: &str,
    parameters: &BTreeMap<String, String>,
    session: &str,
    error: Option<&str>,
) -> Response {
    let list = |k: &str| -> Vec<String> {
        parameters.get(k).and_then(|p| serde_json::from_str::<Vec<String>>(p).ok()).unwrap_or_default()
    };
    let code = |label: &str| vec![Field::Code { name: "code".into(), label: label.into() }];
    let (heading, text, fields) = match name {
        "SOFTWARE_TOKEN_MFA" => (
            v.tr("Two-step verification"),
            v.tr("Enter the code from your authenticator app.").to_string(),
            code(v.tr("Authenticator code")),
        ),
        "SMS_MFA" | "EMAIL_OTP" => {
            let to = parameters.get("CODE_DELIVERY_DESTINATION").cloned().unwrap_or_default();
            (v.tr("Two-step verification"), v.lang.fill("We sent a code to {}.", &to), code(v.tr("Code")))
        }
        "SELECT_MFA_TYPE" => {
            let words = |f: &str| -> String {
                match f {
                    "SOFTWARE_TOKEN_MFA" => v.tr("Authenticator app").into(),
                    "SMS_MFA" => v.tr("Text message (SMS)").into(),
                    "EMAIL_OTP" => v.tr("Email").into(),
                    other => other.into(),
                }
            };
            let options = list("MFAS_CAN_CHOOSE").into_iter().map(|f| (f.clone(), words(&f))).collect();
            (
                v.tr("Two-step verification"),
                v.tr("Choose how to verify it is you.").to_string(),
                vec![Field::Choice { name: "mfa_type".into(), label: v.tr("Verify with").into(), options }],
            )
        }
        _ => {
            let mut fields =
                vec![Field::NewPassword { name: "new_password".into(), label: v.tr("New password").into() }];
            for attr in list("requiredAttributes") {
                let short = attr.strip_prefix("userAttributes.").unwrap_or(&attr).to_string();
                fields.push(Field::text(&format!("attr:{short}"), &attribute_label(v, &short), "off", ""));
            }
            (v.tr("Change your password"), v.tr("Choose a new password to continue.").to_string(), fields)
        }
    };
    let carried = serde_json::to_string(parameters).unwrap_or_default();
    let action = v.at("/challenge");
    show(
        idp,
        v,
        Form {
            heading,
            text: &text,
            error,
            action: &action,
            hidden: vec![("challenge", name), ("session", session), ("parameters", &carried)],
            fields,
            button: v.tr("Continue"),
            ..Default::default()
        },
    )
    .await
}

/// MFA_SETUP's page: the new key as a QR code and as text, and a field
/// for the code the app then shows. The key rides along in the form to
/// show the same page after a wrong code (it is the user's own key, on
/// their own page); the session holds the key that counts.
async fn totp_setup_page(
    idp: &Idp,
    v: &Visit,
    parameters: &BTreeMap<String, String>,
    setup: &TotpSetup,
    error: Option<&str>,
) -> Response {
    let mut figure = pages::qr_svg(&setup.uri, v.tr("Key")).unwrap_or_default();
    figure.push_str(&format!(
        "<p class=\"key\">{}: <code id=\"secret\">{}</code></p>\n",
        pages::esc(v.tr("Key")),
        pages::esc(&setup.secret)
    ));
    let carried = serde_json::to_string(parameters).unwrap_or_default();
    let action = v.at("/challenge");
    show(
        idp,
        v,
        Form {
            heading: v.tr("Set up two-step verification"),
            text: v.tr(
                "Scan this QR code with your authenticator app, or type the key below into it. Then enter the code the app shows.",
            ),
            error,
            action: &action,
            hidden: vec![
                ("challenge", "MFA_SETUP"),
                ("session", &setup.session),
                ("parameters", &carried),
                ("secret", &setup.secret),
                ("uri", &setup.uri),
            ],
            figure: Some(figure),
            fields: vec![Field::Code { name: "code".into(), label: v.tr("Authenticator code").into() }],
            button: v.tr("Continue"),
            ..Default::default()
        },
    )
    .await
}

/// POST /challenge: the answer to a challenge's page; a wrong code or a
/// refused password shows the page again while its session lasts.
pub(crate) async fn challenge_post(State(idp): State<Idp>, req: Request) -> Response {
    let (v, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (name, session) = (get("challenge"), get("session"));
    let parameters: BTreeMap<String, String> = serde_json::from_str(&get("parameters")).unwrap_or_default();
    let username = parameters.get("USER_ID_FOR_SRP").cloned().unwrap_or_default();
    let retry = |e: &cognate_idp::Error| {
        matches!(
            e.code(),
            "CodeMismatchException"
                | "InvalidPasswordException"
                | "InvalidParameterException"
                | "EnableSoftwareTokenMFAException"
        )
    };
    if name == "MFA_SETUP" {
        return match idp.hosted_totp_confirm(&v.a, &session, &get("code")).await {
            Ok(step) => advance(&idp, &v, step).await,
            Err(e) if e.cause().is_some() => fault(v.lang, &e),
            Err(e) if retry(&e) => {
                let setup = TotpSetup { secret: get("secret"), uri: get("uri"), session };
                totp_setup_page(&idp, &v, &parameters, &setup, Some(e.message())).await
            }
            Err(e) => sign_in_form(&idp, &v, &username, Some(e.message()), None).await,
        };
    }
    let mut responses = BTreeMap::from([("USERNAME".to_string(), username.clone())]);
    let answer = match name.as_str() {
        "SOFTWARE_TOKEN_MFA" => ("SOFTWARE_TOKEN_MFA_CODE", get("code")),
        "SMS_MFA" => ("SMS_MFA_CODE", get("code")),
        "EMAIL_OTP" => ("EMAIL_OTP_CODE", get("code")),
        "SELECT_MFA_TYPE" => ("ANSWER", get("mfa_type")),
        _ => {
            for (k, value) in &fields {
                if let Some(attr) = k.strip_prefix("attr:") {
                    responses.insert(format!("userAttributes.{attr}"), value.clone());
                }
            }
            ("NEW_PASSWORD", get("new_password"))
        }
    };
    responses.insert(answer.0.to_string(), answer.1);
    match idp.hosted_answer(&v.a, &name, responses, &session).await {
        Ok(step) => advance(&idp, &v, step).await,
        Err(e) if e.cause().is_some() => fault(v.lang, &e),
        Err(e) if retry(&e) => challenge_page(&idp, &v, &name, &parameters, &session, Some(e.message())).await,
        Err(e) => sign_in_form(&idp, &v, &username, Some(e.message()), None).await,
    }
}

/// A label for an attribute the sign-up page asks for.
fn attribute_label(v: &Visit, name: &str) -> String {
    match name {
        "email" => v.tr("Email").into(),
        "phone_number" => v.tr("Phone number").into(),
        "given_name" => v.tr("Given name").into(),
        "family_name" => v.tr("Family name").into(),
        "name" => v.tr("Name").into(),
        "preferred_username" => v.tr("Preferred username").into(),
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

async fn sign_up_form(idp: &Idp, v: &Visit, given: &BTreeMap<String, String>, error: Option<&str>) -> Response {
    let form = match idp.sign_up_form(&v.a).await {
        Ok(Some(f)) => f,
        Ok(None) => return crate::error_response(v.lang, "SignUp is not permitted for this user pool"),
        Err(e) => return fault(v.lang, &e),
    };
    let value = |k: &str| given.get(k).map(String::as_str).unwrap_or_default();
    let username_label = match form.username_label.as_str() {
        "Email" => v.tr("Email"),
        "Phone number" => v.tr("Phone number"),
        _ => v.tr("Username"),
    };
    let mut fields = vec![Field::text("username", username_label, "username", value("username"))];
    for attr in &form.attributes {
        let name = format!("attr:{attr}");
        fields.push(Field::text(&name, &attribute_label(v, attr), autocomplete_of(attr), value(&name)));
    }
    fields.push(Field::NewPassword { name: "password".into(), label: v.tr("Password").into() });
    let action = v.at("/signup");
    show(
        idp,
        v,
        Form {
            heading: v.tr("Create an account"),
            error,
            action: &action,
            fields,
            button: v.tr("Sign up"),
            links: vec![(v.at("/login"), v.tr("Already have an account? Sign in"))],
            languages: Some(v.at_without_lang("/signup")),
            ..Default::default()
        },
    )
    .await
}

/// GET /signup.
pub(crate) async fn sign_up_page(State(idp): State<Idp>, req: Request) -> Response {
    match visit(&idp, asked(&req)).await {
        Ok((_, v)) => sign_up_form(&idp, &v, &BTreeMap::new(), None).await,
        Err(resp) => resp,
    }
}

/// POST /signup: SignUp, then the confirmation code's page (or, for a user
/// the PreSignUp function confirmed, the sign-in page).
pub(crate) async fn sign_up_post(State(idp): State<Idp>, req: Request) -> Response {
    let (v, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = fields.get("username").cloned().unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    let attributes: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(k, value)| Some((k.strip_prefix("attr:")?.to_string(), value.clone())))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    match idp.hosted_sign_up(&v.a, &username, &password, attributes).await {
        Ok((r, _)) if r.user_confirmed => {
            sign_in_form(&idp, &v, &username, None, Some(v.tr("Your account is ready. Sign in."))).await
        }
        Ok((r, continuation)) => {
            let to = r.code_delivery_details.and_then(|d| d.destination).unwrap_or_default();
            let sent = Sent { username: &username, destination: &to, continuation: &continuation };
            confirm_form(&idp, &v, &sent, None, None).await
        }
        Err(e) if e.cause().is_some() => fault(v.lang, &e),
        Err(e) => sign_up_form(&idp, &v, &fields, Some(e.message())).await,
    }
}

/// What the confirmation page carries: who signed up, where the code
/// went, and the sealed continuation that signs them in once confirmed.
struct Sent<'a> {
    username: &'a str,
    destination: &'a str,
    continuation: &'a str,
}

async fn confirm_form(idp: &Idp, v: &Visit, sent: &Sent<'_>, error: Option<&str>, notice: Option<&str>) -> Response {
    let text = if sent.destination.is_empty() {
        v.tr("Enter the code we sent you.").to_string()
    } else {
        v.lang.fill("We sent a code to {}.", sent.destination)
    };
    let action = v.at("/confirm");
    show(
        idp,
        v,
        Form {
            heading: v.tr("Confirm your account"),
            text: &text,
            error,
            notice,
            action: &action,
            hidden: vec![
                ("username", sent.username),
                ("destination", sent.destination),
                ("continuation", sent.continuation),
            ],
            fields: vec![Field::Code { name: "code".into(), label: v.tr("Confirmation code").into() }],
            decisions: vec![("confirm", v.tr("Confirm")), ("resend", v.tr("Send a new code"))],
            ..Default::default()
        },
    )
    .await
}

/// POST /confirm: a new code, or ConfirmSignUp and then (the same
/// browser's sign-up still fresh) signed in, else the sign-in page.
pub(crate) async fn confirm_post(State(idp): State<Idp>, req: Request) -> Response {
    let (v, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (username, destination, continuation) = (get("username"), get("destination"), get("continuation"));
    let sent = Sent { username: &username, destination: &destination, continuation: &continuation };
    if get("decision") == "resend" {
        return match idp.hosted_resend_code(&v.a, &username).await {
            Ok(details) => {
                let to = details.and_then(|d| d.destination).unwrap_or_default();
                let notice = v.lang.fill("We sent a new code to {}.", &to);
                let sent = Sent { destination: &to, ..sent };
                confirm_form(&idp, &v, &sent, None, Some(&notice)).await
            }
            Err(e) if e.cause().is_some() => fault(v.lang, &e),
            Err(e) => confirm_form(&idp, &v, &sent, Some(e.message()), None).await,
        };
    }
    match idp.hosted_confirm_sign_up(&v.a, &username, &get("code"), &continuation).await {
        Ok(Some(step)) => advance(&idp, &v, step).await,
        Ok(None) => {
            let notice = v.tr("Your account is confirmed. Sign in.");
            sign_in_form(&idp, &v, &username, None, Some(notice)).await
        }
        Err(e) if e.cause().is_some() => fault(v.lang, &e),
        Err(e) => confirm_form(&idp, &v, &sent, Some(e.message()), None).await,
    }
}

async fn forgot_form(idp: &Idp, v: &Visit, username: &str, error: Option<&str>) -> Response {
    let action = v.at("/forgotPassword");
    show(
        idp,
        v,
        Form {
            heading: v.tr("Forgot your password?"),
            text: v.tr("We will send you a code to reset it."),
            error,
            action: &action,
            fields: vec![Field::text("username", v.tr("Username"), "username", username)],
            button: v.tr("Send a code"),
            links: vec![(v.at("/login"), v.tr("Back to sign in"))],
            languages: Some(v.at_without_lang("/forgotPassword")),
            ..Default::default()
        },
    )
    .await
}

/// GET /forgotPassword.
pub(crate) async fn forgot_page(State(idp): State<Idp>, req: Request) -> Response {
    match visit(&idp, asked(&req)).await {
        Ok((_, v)) => forgot_form(&idp, &v, "", None).await,
        Err(resp) => resp,
    }
}

/// POST /forgotPassword: ForgotPassword, then the page for the code and the
/// new password.
pub(crate) async fn forgot_post(State(idp): State<Idp>, req: Request) -> Response {
    let (v, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let username = fields.get("username").cloned().unwrap_or_default();
    match idp.hosted_forgot_password(&v.a, &username).await {
        Ok(details) => {
            let to = details.and_then(|d| d.destination).unwrap_or_default();
            reset_form(&idp, &v, &username, &to, None).await
        }
        Err(e) if e.cause().is_some() => fault(v.lang, &e),
        Err(e) => forgot_form(&idp, &v, &username, Some(e.message())).await,
    }
}

async fn reset_form(idp: &Idp, v: &Visit, username: &str, destination: &str, error: Option<&str>) -> Response {
    let text = if destination.is_empty() {
        v.tr("Enter the code we sent you and a new password.").to_string()
    } else {
        v.lang.fill("We sent a code to {}. Enter it and a new password.", destination)
    };
    let action = v.at("/confirmForgotPassword");
    show(
        idp,
        v,
        Form {
            heading: v.tr("Reset your password"),
            text: &text,
            error,
            action: &action,
            hidden: vec![("username", username), ("destination", destination)],
            fields: vec![
                Field::Code { name: "code".into(), label: v.tr("Code").into() },
                Field::NewPassword { name: "password".into(), label: v.tr("New password").into() },
            ],
            button: v.tr("Reset password"),
            ..Default::default()
        },
    )
    .await
}

/// POST /confirmForgotPassword: ConfirmForgotPassword, then the sign-in page.
pub(crate) async fn confirm_forgot_post(State(idp): State<Idp>, req: Request) -> Response {
    let (v, fields) = match checked_post(&idp, req).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (username, destination) = (get("username"), get("destination"));
    match idp.hosted_confirm_forgot_password(&v.a, &username, &get("code"), &get("password")).await {
        Ok(()) => {
            let notice = v.tr("Your password is changed. Sign in with it.");
            sign_in_form(&idp, &v, &username, None, Some(notice)).await
        }
        Err(e) if e.cause().is_some() => fault(v.lang, &e),
        Err(e) => reset_form(&idp, &v, &username, &destination, Some(e.message())).await,
    }
}
