//! The browser side of a user pool: what a pool's domain answers.
//!
//! `/oauth2/authorize`, `/oauth2/token`, `/oauth2/userInfo`, `/oauth2/revoke`,
//! `/logout`, `/confirmUser` and `/error`, with Cognito's parameters,
//! redirects, cookies and error shapes; and the pages a person goes through
//! (`signin.rs`: `/login`, `/challenge`, `/signup`, `/confirm`,
//! `/forgotPassword`, `/confirmForgotPassword`), in the client's look
//! (`/ui/{client}/style.css`, `/ui/{client}/logo`). The edge
//! (`cognate-server`) sends a request here when its Host names a pool
//! domain, with the [`PoolDomain`] in the request's extensions. Every rule
//! is the domain's (`cognate_idp::flows::oauth`); this crate reads forms and
//! cookies, renders pages and writes responses.
//!
//! Cookies: `cognito` (the one-hour sign-in session, HttpOnly) and
//! `XSRF-TOKEN` (double-submit CSRF protection: a form post must carry the
//! cookie's value as `_csrf`). Both are `SameSite=Lax`, and `Secure` when the
//! domain is served over HTTPS.

mod device;
pub mod i18n;
pub mod pages;
mod signin;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use cognate_idp::Idp;
use cognate_idp::domains::PoolDomain;
use cognate_idp::oauth::{
    Authorization, AuthorizeError, ClientAuth, LogoutTarget, OAuthError, SessionUser, TokenRequest,
};
use i18n::Lang;
use std::collections::BTreeMap;

/// Largest form body a page or endpoint reads.
const MAX_FORM_BYTES: usize = 64 * 1024;
pub(crate) const SESSION_COOKIE: &str = "cognito";
pub(crate) const CSRF_COOKIE: &str = "XSRF-TOKEN";
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

/// The hosted endpoints of every pool domain.
pub fn router(idp: Idp) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/login", get(signin::login_page).post(signin::login_post))
        .route("/challenge", post(signin::challenge_post))
        .route("/signup", get(signin::sign_up_page).post(signin::sign_up_post))
        .route("/confirm", post(signin::confirm_post))
        .route("/forgotPassword", get(signin::forgot_page).post(signin::forgot_post))
        .route("/confirmForgotPassword", post(signin::confirm_forgot_post))
        .route("/oauth2/token", any(token))
        .route("/oauth2/userInfo", any(user_info))
        .route("/oauth2/revoke", any(revoke))
        .route("/oauth2/introspect", any(introspect))
        .route("/oauth2/device_authorization", any(device::authorization))
        .route("/device", get(device::page_get).post(device::post))
        .route("/logout", get(logout))
        .route("/error", get(error_page))
        .route("/confirmUser", get(confirm_user))
        .route("/static/login.css", get(css))
        .route("/ui/{client}/style.css", get(ui_css))
        .route("/ui/{client}/logo", get(ui_logo))
        .route("/ui/{client}/background", get(ui_background))
        .fallback(fallback)
        .with_state(idp)
}

/// Whether a form post carries the `XSRF-TOKEN` cookie's value as `_csrf`
/// (compared in constant time).
pub(crate) fn csrf_ok(headers: &HeaderMap, fields: &BTreeMap<String, String>) -> bool {
    let expected = cookie(headers, CSRF_COOKIE).unwrap_or_default();
    let given = fields.get("_csrf").map(String::as_str).unwrap_or_default();
    !expected.is_empty() && cognate_crypto::ct_eq(expected.as_bytes(), given.as_bytes())
}

/// The domain the edge found for this request.
pub(crate) fn domain_of(req: &Request) -> Option<PoolDomain> {
    req.extensions().get::<PoolDomain>().cloned()
}

/// The language of the request's pages (`i18n`).
pub(crate) fn lang_of(req: &Request) -> Lang {
    let param = query(req).remove("lang");
    let cookie = cookie(req.headers(), i18n::LANG_COOKIE);
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::choose(param.as_deref(), cookie.as_deref(), accept)
}

pub(crate) fn query(req: &Request) -> BTreeMap<String, String> {
    let raw = req.uri().query().unwrap_or_default();
    cognate_wire::form::pairs(raw.as_bytes()).into_iter().collect()
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
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

pub(crate) fn set_cookie(resp: &mut Response, name: &str, value: &str, max_age: i64, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(crate) fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html;charset=UTF-8"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

pub(crate) fn error_response(lang: Lang, message: &str) -> Response {
    page(StatusCode::BAD_REQUEST, pages::error(lang, message))
}

pub(crate) fn redirect(url: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(url) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
            resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(_) => error_response(Lang::EN, "An error was encountered with the requested page."),
    }
}

pub(crate) fn refused(lang: Lang, e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page(m) => error_response(lang, &m),
        AuthorizeError::Redirect(url) => redirect(&url),
    }
}

/// `{path}?{the request's query}`: where a sign-in continues.
pub(crate) fn continue_at(path: &str, query: &str) -> String {
    if query.is_empty() { path.to_string() } else { format!("{path}?{query}") }
}

pub(crate) fn query_str(req: &Request) -> String {
    req.uri().query().unwrap_or_default().to_string()
}

/// The live session behind the request's `cognito` cookie, if any.
pub(crate) async fn session(
    idp: &Idp,
    domain: &PoolDomain,
    headers: &HeaderMap,
) -> Result<Option<SessionUser>, Response> {
    let Some(c) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    idp.session_user(domain, &c).await.map_err(|e| fault(Lang::EN, &e))
}

pub(crate) fn fault(lang: Lang, e: &cognate_idp::Error) -> Response {
    if let Some(cause) = e.cause() {
        tracing::error!(cause = %cause, "internal error");
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error(lang, lang.tr("Something went wrong; try again.")),
        );
    }
    error_response(lang, e.message())
}

pub(crate) async fn finish(idp: &Idp, a: &Authorization, s: &SessionUser) -> Response {
    match idp.complete_authorization(a, s).await {
        Ok(url) => redirect(&url),
        Err(e) => fault(Lang::EN, &e),
    }
}

/// GET /oauth2/authorize: straight back to the client when a session is
/// live (single sign-on across the pool's clients), else to the sign-in page.
async fn authorize(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let params = query(&req);
    let a = match idp.check_authorize(&domain, &params).await {
        Ok(a) => a,
        Err(e) => return refused(lang_of(&req), e),
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

/// The form fields of a POST, or the page to answer instead.
pub(crate) async fn form_fields(req: Request) -> Result<(Request, BTreeMap<String, String>), Response> {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_FORM_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let lang = Lang::choose(None, cookie(&parts.headers, i18n::LANG_COOKIE).as_deref(), None);
            return Err(page(StatusCode::PAYLOAD_TOO_LARGE, pages::error(lang, lang.tr("The form is too large."))));
        }
    };
    let fields = cognate_wire::form::pairs(&bytes).into_iter().collect();
    Ok((Request::from_parts(parts, Body::empty()), fields))
}

/// A JSON answer of the token, revocation and userInfo endpoints, which
/// browsers may call from any origin.
pub(crate) fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    resp
}

pub(crate) fn oauth_error(e: &OAuthError) -> Response {
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

/// What the token, revocation and introspection endpoints share: a POST
/// of a form, by a client that authenticates with it (or its Authorization
/// header). Answers the OAuth error otherwise.
pub(crate) async fn client_form(req: Request) -> Result<(BTreeMap<String, String>, ClientAuth), Response> {
    let bad = |description: Option<String>, status| {
        oauth_error(&OAuthError { error: "invalid_request", description, status })
    };
    if req.method() != Method::POST {
        return Err(bad(None, 405));
    }
    if !is_form(req.headers()) {
        return Err(bad(Some("Content-Type must be application/x-www-form-urlencoded".into()), 400));
    }
    let (req, fields) = form_fields(req).await.map_err(|_| bad(None, 413))?;
    let auth = client_auth(req.headers(), &fields).map_err(|e| oauth_error(&e))?;
    Ok((fields, auth))
}

/// POST /oauth2/token.
async fn token(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let (fields, auth) = match client_form(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let field = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let request = TokenRequest {
        grant_type: field("grant_type"),
        code: field("code"),
        redirect_uri: field("redirect_uri"),
        code_verifier: field("code_verifier"),
        refresh_token: field("refresh_token"),
        scope: field("scope"),
        client_metadata: field("aws_client_metadata"),
        device_code: field("device_code"),
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
    let (fields, auth) = match client_form(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
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

/// POST /oauth2/introspect (RFC 7662, an extension: off unless turned on).
async fn introspect(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let (fields, auth) = match client_form(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    match idp.introspect(&domain, &auth, fields.get("token").map(String::as_str)).await {
        Ok(answer) => json(StatusCode::OK, &serde_json::Value::Object(answer)),
        Err(e) if e.status == 404 => not_found().await,
        Err(e) => oauth_error(&e),
    }
}

/// GET /logout: ends the session, then to the client's sign-out URL, or
/// back to the sign-in page (Cognito's two forms).
async fn logout(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let params = query(&req);
    let lang = lang_of(&req);
    let target = match idp.logout_target(&domain, &params).await {
        Ok(t) => t,
        Err(e) => return refused(lang, e),
    };
    if let Some(c) = cookie(req.headers(), SESSION_COOKIE)
        && let Err(e) = idp.end_session(&c).await
    {
        return fault(lang, &e);
    }
    let mut resp = match target {
        LogoutTarget::Away(url) => redirect(&url),
        LogoutTarget::SignInAgain => redirect(&continue_at("/login", &query_str(&req))),
    };
    set_cookie(&mut resp, SESSION_COOKIE, "", 0, idp.login_is_https());
    resp
}

async fn error_page(req: Request) -> Response {
    let lang = lang_of(&req);
    let params = query(&req);
    let message =
        params.get("error").map(String::as_str).unwrap_or("An error was encountered with the requested page.");
    error_response(lang, message)
}

/// GET /confirmUser: the link of a verify-by-link email.
async fn confirm_user(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    let (lang, params) = (lang_of(&req), query(&req));
    match idp.confirm_user_link(&domain, &params).await {
        Ok(()) => page(StatusCode::OK, pages::message(lang, "Your registration has been confirmed!")),
        Err(e) => fault(lang, &e),
    }
}

async fn css() -> Response {
    let mut resp = pages::CSS.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css;charset=UTF-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    resp
}

/// The client's look (SetUICustomization), as the pages link it.
async fn look(idp: &Idp, req: Request) -> Option<cognate_idp::ui::Look> {
    let domain = domain_of(&req)?;
    let client = req.uri().path().strip_prefix("/ui/")?.split('/').next()?;
    let client = cognate_wire::form::decode(client.as_bytes());
    drop(req);
    match idp.look_of(&domain.pool_id, &client, domain.managed_login_version).await {
        Ok(l) => Some(l),
        Err(e) => {
            if let Some(cause) = e.cause() {
                tracing::error!(cause = %cause, "internal error");
            }
            None
        }
    }
}

async fn ui_css(State(idp): State<Idp>, req: Request) -> Response {
    let Some(l) = look(&idp, req).await else { return not_found().await };
    let mut resp = l.css.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css;charset=UTF-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

async fn ui_logo(State(idp): State<Idp>, req: Request) -> Response {
    match look(&idp, req).await.and_then(|l| l.image) {
        Some(image) => image_response(image),
        None => not_found().await,
    }
}

async fn ui_background(State(idp): State<Idp>, req: Request) -> Response {
    match look(&idp, req).await.and_then(|l| l.background) {
        Some(image) => image_response(image),
        None => not_found().await,
    }
}

/// An image of a client's look. Opened by itself (an SVG may hold
/// script), it runs in a sandbox with nothing allowed.
fn image_response((bytes, kind): (Vec<u8>, &'static str)) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    resp
}

pub(crate) async fn not_found() -> Response {
    not_found_in(Lang::EN)
}

fn not_found_in(lang: Lang) -> Response {
    page(StatusCode::NOT_FOUND, pages::error(lang, lang.tr("This page does not exist.")))
}

/// Any other path of a pool domain.
async fn fallback(req: Request) -> Response {
    not_found_in(lang_of(&req))
}
