//! The browser side of a user pool: what a pool's domain answers.
//!
//! `/oauth2/authorize`, `/login` (the sign-in page), `/oauth2/token`,
//! `/oauth2/userInfo`, `/oauth2/revoke`, `/logout` and `/error`, with
//! Cognito's parameters, redirects, cookies and error shapes. The edge
//! (`cognate-server`) sends a request here when its Host names a pool
//! domain, with the [`PoolDomain`] in the request's extensions. Every rule
//! is the domain's (`cognate_idp::flows::oauth`); this crate reads forms and
//! cookies, renders pages and writes responses.
//!
//! Cookies: `cognito` (the one-hour sign-in session, HttpOnly) and
//! `XSRF-TOKEN` (double-submit CSRF protection: a form post must carry the
//! cookie's value as `_csrf`). Both are `SameSite=Lax`, and `Secure` when the
//! domain is served over HTTPS.

pub mod pages;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use cognate_idp::Idp;
use cognate_idp::domains::PoolDomain;
use cognate_idp::oauth::{
    Authorization, AuthorizeError, ClientAuth, HostedStep, LogoutTarget, OAuthError, SessionUser, TokenRequest,
};
use std::collections::BTreeMap;

/// Largest form body a page or endpoint reads.
const MAX_FORM_BYTES: usize = 64 * 1024;
const SESSION_COOKIE: &str = "cognito";
const CSRF_COOKIE: &str = "XSRF-TOKEN";
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/// The hosted endpoints of every pool domain.
pub fn router(idp: Idp) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/login", get(login_page).post(login_post))
        .route("/challenge", axum::routing::post(challenge_post))
        .route("/oauth2/token", any(token))
        .route("/oauth2/userInfo", any(user_info))
        .route("/oauth2/revoke", any(revoke))
        .route("/logout", get(logout))
        .route("/error", get(error_page))
        .route("/static/login.css", get(css))
        .fallback(not_found)
        .with_state(idp)
}

/// The domain the edge found for this request.
fn domain_of(req: &Request) -> Option<PoolDomain> {
    req.extensions().get::<PoolDomain>().cloned()
}

fn query(req: &Request) -> BTreeMap<String, String> {
    let raw = req.uri().query().unwrap_or_default();
    cognate_wire::form::pairs(raw.as_bytes()).into_iter().collect()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

fn set_cookie(resp: &mut Response, name: &str, value: &str, max_age: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html;charset=UTF-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn error_response(message: &str) -> Response {
    page(StatusCode::BAD_REQUEST, pages::error(message))
}

fn redirect(url: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(url) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => error_response("An error was encountered with the requested page."),
    }
}

fn refused(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(m) => error_response(&m),
        AuthorizeError::Redirect(url) => redirect(&url),
    }
}

/// `{path}?{the request's query}`: where a sign-in continues.
fn continue_at(path: &str, query: &str) -> String {
    if query.is_empty() { path.to_string() } else { format!("{path}?{query}") }
}

fn query_str(req: &Request) -> String {
    req.uri().query().unwrap_or_default().to_string()
}

/// The live session behind the request's `cognito` cookie, if any.
async fn session(idp: &Idp, domain: &PoolDomain, headers: &HeaderMap) -> Result<Option<SessionUser>, Response> {
    let Some(c) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    idp.session_user(domain, &c).await.map_err(|e| fault(&e))
}

fn fault(e: &cognate_idp::Error) -> Response {
    if let Some(cause) = e.cause() {
        tracing::error!(cause = %cause, "internal error");
        return page(StatusCode::INTERNAL_SERVER_ERROR, pages::error("Something went wrong; try again."));
    }
    error_response(e.message())
}

async fn finish(idp: &Idp, a: &Authorization, s: &SessionUser) -> Response {
    match idp.complete_authorization(a, s).await {
        Ok(url) => redirect(&url),
        Err(e) => fault(&e),
    }
}

/// GET /oauth2/authorize: straight back to the client when a session is
/// live (single sign-on across the pool's clients), else to the sign-in page.
async fn authorize(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let params = query(&req);
    let a = match idp.check_authorize(&domain, &params).await {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    let prompt = a.prompt.as_deref();
    if prompt != Some("login") {
        match session(&idp, &domain, req.headers()).await {
            Ok(Some(s)) => return finish(&idp, &a, &s).await,
            Ok(None) => {}
            Err(resp) => return resp,
        }
    }
    if prompt == Some("none") {
        let mut p = vec![("error", "login_required")];
        p.extend(a.state.as_deref().map(|s| ("state", s)));
        return redirect(&format!("{}{}{}", a.redirect_uri, sep(&a.redirect_uri), cognate_wire::form::encode_pairs(p)));
    }
    redirect(&continue_at("/login", &query_str(&req)))
}

fn sep(uri: &str) -> char {
    if uri.contains('?') { '&' } else { '?' }
}

/// GET /login: the sign-in form, with a fresh CSRF token.
async fn login_page(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let params = query(&req);
    let a = match idp.check_authorize(&domain, &params).await {
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
    form(&idp, &query_str(&req), &a, &username, None)
}

fn form(idp: &Idp, query: &str, a: &Authorization, username: &str, error: Option<&str>) -> Response {
    let csrf = cognate_crypto::ids::uuid_v4();
    let action = continue_at("/login", query);
    let mut resp = page(StatusCode::OK, pages::sign_in(&action, &csrf, &a.client_name, username, error));
    set_cookie(&mut resp, CSRF_COOKIE, &csrf, 3600, idp.login_is_https());
    resp
}

/// The form fields of a POST, or the page to answer instead.
async fn form_fields(req: Request) -> Result<(Request, BTreeMap<String, String>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => return Err(page(StatusCode::PAYLOAD_TOO_LARGE, pages::error("The form is too large."))),
    };
    let fields = cognate_wire::form::pairs(&bytes).into_iter().collect();
    Ok((Request::from_parts(parts, Body::empty()), fields))
}

/// POST /login: checks the CSRF token, then the password; on success the
/// session cookie is set and the browser goes back to the client.
async fn login_post(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let (req, fields) = match form_fields(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let params = query(&req);
    let a = match idp.check_authorize(&domain, &params).await {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    let expected = cookie(req.headers(), CSRF_COOKIE).unwrap_or_default();
    let given = fields.get("_csrf").map(String::as_str).unwrap_or_default();
    if expected.is_empty() || !cognate_crypto::ct_eq(expected.as_bytes(), given.as_bytes()) {
        return page(
            StatusCode::FORBIDDEN,
            pages::error("Invalid or missing CSRF token; reload the page and try again."),
        );
    }
    let username = fields.get("username").map(String::as_str).unwrap_or_default();
    let password = fields.get("password").map(String::as_str).unwrap_or_default();
    let q = query_str(&req);
    if username.is_empty() || password.is_empty() {
        return form(&idp, &q, &a, username, Some("Username and password are required."));
    }
    match idp.hosted_password_sign_in(&a, username, password).await {
        Ok(step) => advance(&idp, &q, &a, step).await,
        Err(e) if e.cause().is_some() => fault(&e),
        Err(e) => form(&idp, &q, &a, username, Some(e.message())),
    }
}

/// After a step: signed in (the session cookie is set and the browser goes
/// back to the client), or the next challenge's page.
async fn advance(idp: &Idp, query: &str, a: &Authorization, step: HostedStep) -> Response {
    match step {
        HostedStep::SignedIn(user) => {
            let value = match idp.start_session(&user).await {
                Ok(v) => v,
                Err(e) => return fault(&e),
            };
            let s = SessionUser { user, auth_time: idp.now_ms() / 1000 };
            let mut resp = finish(idp, a, &s).await;
            set_cookie(
                &mut resp,
                SESSION_COOKIE,
                &value,
                cognate_idp::oauth::SESSION_TTL_MS / 1000,
                idp.login_is_https(),
            );
            resp
        }
        HostedStep::Challenge { name, parameters, session } => {
            challenge_page(idp, query, name.as_str(), &parameters, &session, None)
        }
    }
}

/// The page of a challenge, with a fresh CSRF token.
fn challenge_page(
    idp: &Idp,
    query: &str,
    name: &str,
    parameters: &BTreeMap<String, String>,
    session: &str,
    error: Option<&str>,
) -> Response {
    use pages::Field;
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
                fields.push(Field::Text { name: format!("attr:{short}"), label: short });
            }
            ("Change your password", "Choose a new password to continue.".to_string(), fields)
        }
    };
    let csrf = cognate_crypto::ids::uuid_v4();
    let action = continue_at("/challenge", query);
    // The challenge's public parameters ride along for showing the page
    // again after a wrong answer; what is checked is the sealed session.
    let carried = serde_json::to_string(parameters).unwrap_or_default();
    let html = pages::challenge(&action, &csrf, heading, &text, name, session, &carried, &fields, error);
    let mut resp = page(StatusCode::OK, html);
    set_cookie(&mut resp, CSRF_COOKIE, &csrf, 3600, idp.login_is_https());
    resp
}

fn csrf_ok(req: &Request, fields: &BTreeMap<String, String>) -> bool {
    let expected = cookie(req.headers(), CSRF_COOKIE).unwrap_or_default();
    let given = fields.get("_csrf").map(String::as_str).unwrap_or_default();
    !expected.is_empty() && cognate_crypto::ct_eq(expected.as_bytes(), given.as_bytes())
}

fn csrf_refused() -> Response {
    page(StatusCode::FORBIDDEN, pages::error("Invalid or missing CSRF token; reload the page and try again."))
}

/// POST /challenge: the answer to the page of a challenge (MFA, a new
/// password); a wrong answer shows the page again.
async fn challenge_post(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let (req, fields) = match form_fields(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let a = match idp.check_authorize(&domain, &query(&req)).await {
        Ok(a) => a,
        Err(e) => return refused(e),
    };
    if !csrf_ok(&req, &fields) {
        return csrf_refused();
    }
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    let (name, session) = (get("challenge"), get("session"));
    let parameters: BTreeMap<String, String> = serde_json::from_str(&get("parameters")).unwrap_or_default();
    let username = parameters.get("USER_ID_FOR_SRP").cloned().unwrap_or_default();
    let mut responses = BTreeMap::from([("USERNAME".to_string(), username.clone())]);
    match name.as_str() {
        "SOFTWARE_TOKEN_MFA" => drop(responses.insert("SOFTWARE_TOKEN_MFA_CODE".into(), get("code"))),
        "SMS_MFA" => drop(responses.insert("SMS_MFA_CODE".into(), get("code"))),
        "EMAIL_OTP" => drop(responses.insert("EMAIL_OTP_CODE".into(), get("code"))),
        "SELECT_MFA_TYPE" => drop(responses.insert("ANSWER".into(), get("mfa_type"))),
        _ => {
            responses.insert("NEW_PASSWORD".into(), get("new_password"));
            for (k, v) in &fields {
                if let Some(attr) = k.strip_prefix("attr:") {
                    responses.insert(format!("userAttributes.{attr}"), v.clone());
                }
            }
        }
    }
    let q = query_str(&req);
    match idp.hosted_answer(&a, &name, responses, &session).await {
        Ok(step) => advance(&idp, &q, &a, step).await,
        Err(e) if e.cause().is_some() => fault(&e),
        // A wrong code or a refused password: the same step again, while
        // its session lasts; an expired session starts the sign-in over.
        Err(e)
            if matches!(
                e.code(),
                "CodeMismatchException" | "InvalidPasswordException" | "InvalidParameterException"
            ) =>
        {
            challenge_page(&idp, &q, &name, &parameters, &session, Some(e.message()))
        }
        Err(e) => form(&idp, &q, &a, &username, Some(e.message())),
    }
}

/// A JSON answer of the token, revocation and userInfo endpoints, which
/// browsers may call from any origin.
fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}

fn oauth_error(e: &OAuthError) -> Response {
    let mut body = serde_json::json!({ "error": e.error });
    if let Some(d) = &e.description {
        body["error_description"] = serde_json::json!(d);
    }
    json(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), &body)
}

/// `client_secret_basic` (the Authorization header) or `client_secret_post`
/// (the form), or a public client's `client_id`.
fn client_auth(headers: &HeaderMap, fields: &BTreeMap<String, String>) -> Result<ClientAuth, OAuthError> {
    let basic = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Basic "));
    if let Some(b64) = basic {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok();
        let text = decoded.and_then(|d| String::from_utf8(d).ok());
        let Some((id, secret)) = text.as_deref().and_then(|t| t.split_once(':')) else {
            return Err(OAuthError { error: "invalid_client", description: None, status: 401 });
        };
        let id = cognate_wire::form::decode(id.as_bytes());
        let secret = cognate_wire::form::decode(secret.as_bytes());
        return Ok(ClientAuth { client_id: Some(id), client_secret: Some(secret) });
    }
    Ok(ClientAuth { client_id: fields.get("client_id").cloned(), client_secret: fields.get("client_secret").cloned() })
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"))
}

/// POST /oauth2/token.
async fn token(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    if req.method() != Method::POST {
        return oauth_error(&OAuthError { error: "invalid_request", description: None, status: 405 });
    }
    if !is_form(req.headers()) {
        return oauth_error(&OAuthError {
            error: "invalid_request",
            description: Some("Content-Type must be application/x-www-form-urlencoded".into()),
            status: 400,
        });
    }
    let (req, fields) = match form_fields(req).await {
        Ok(f) => f,
        Err(_) => return oauth_error(&OAuthError { error: "invalid_request", description: None, status: 413 }),
    };
    let auth = match client_auth(req.headers(), &fields) {
        Ok(a) => a,
        Err(e) => return oauth_error(&e),
    };
    let field = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let request = TokenRequest {
        grant_type: field("grant_type"),
        code: field("code"),
        redirect_uri: field("redirect_uri"),
        code_verifier: field("code_verifier"),
        refresh_token: field("refresh_token"),
        scope: field("scope"),
    };
    match idp.oauth_token(&domain, &auth, &request).await {
        Ok(t) => {
            let mut body = serde_json::json!({
                "access_token": t.access_token,
                "expires_in": t.expires_in,
                "token_type": "Bearer",
            });
            if let Some(id) = t.id_token {
                body["id_token"] = serde_json::json!(id);
            }
            if let Some(r) = t.refresh_token {
                body["refresh_token"] = serde_json::json!(r);
            }
            json(StatusCode::OK, &body)
        }
        Err(e) => oauth_error(&e),
    }
}

fn bearer_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut resp = json(status, &serde_json::json!({ "error": error, "error_description": description }));
    let v = format!("Bearer error=\"{error}\", error_description=\"{description}\"");
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// GET or POST /oauth2/userInfo with `Authorization: Bearer <access token>`.
async fn user_info(State(idp): State<Idp>, req: Request) -> Response {
    if domain_of(&req).is_none() {
        return not_found().await;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = bearer else {
        return bearer_error(StatusCode::BAD_REQUEST, "invalid_request", "Bad OAuth2 request at UserInfo Endpoint");
    };
    match idp.user_info(token).await {
        Ok(claims) => json(StatusCode::OK, &serde_json::Value::Object(claims)),
        Err(e) if e.status == 401 => {
            bearer_error(StatusCode::UNAUTHORIZED, e.error, e.description.as_deref().unwrap_or_default())
        }
        Err(e) => oauth_error(&e),
    }
}

/// POST /oauth2/revoke: 200 with an empty body, also for a token that is
/// unknown or already revoked.
async fn revoke(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    if req.method() != Method::POST || !is_form(req.headers()) {
        return oauth_error(&OAuthError { error: "invalid_request", description: None, status: 400 });
    }
    let (req, fields) = match form_fields(req).await {
        Ok(f) => f,
        Err(_) => return oauth_error(&OAuthError { error: "invalid_request", description: None, status: 413 }),
    };
    let auth = match client_auth(req.headers(), &fields) {
        Ok(a) => a,
        Err(e) => return oauth_error(&e),
    };
    match idp.oauth_revoke(&domain, &auth, fields.get("token").map(String::as_str)).await {
        Ok(()) => {
            let mut resp = StatusCode::OK.into_response();
            resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            resp
        }
        Err(e) => oauth_error(&e),
    }
}

/// GET /logout: ends the session, then to the client's sign-out URL, or
/// back to the sign-in page (Cognito's two forms).
async fn logout(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let params = query(&req);
    let target = match idp.logout_target(&domain, &params).await {
        Ok(t) => t,
        Err(e) => return refused(e),
    };
    if let Some(c) = cookie(req.headers(), SESSION_COOKIE)
        && let Err(e) = idp.end_session(&c).await
    {
        return fault(&e);
    }
    let mut resp = match target {
        LogoutTarget::Away(url) => redirect(&url),
        LogoutTarget::SignInAgain => redirect(&continue_at("/login", &query_str(&req))),
    };
    set_cookie(&mut resp, SESSION_COOKIE, "", 0, idp.login_is_https());
    resp
}

async fn error_page(req: Request) -> Response {
    let params = query(&req);
    let message =
        params.get("error").map(String::as_str).unwrap_or("An error was encountered with the requested page.");
    error_response(message)
}

async fn css() -> Response {
    let mut resp = pages::CSS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css;charset=UTF-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}

async fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, pages::error("This page does not exist."))
}
