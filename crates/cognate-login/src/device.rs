//! The device authorization grant (RFC 8628), an extension that is off
//! unless `--oauth-extensions device-grant`: /oauth2/device_authorization
//! gives a device its codes; at /device a person types the user code, signs
//! in (the hosted sign-in, which ends back here) and allows or denies the
//! device, which meanwhile polls /oauth2/token.

use crate::i18n::{LANG_COOKIE, LANG_COOKIE_MAX_AGE, Lang};
use crate::pages::{self, Field, Form};
use crate::{
    CSRF_COOKIE, client_form, csrf_ok, domain_of, fault, form_fields, json, lang_of, not_found, oauth_error, page,
    query, redirect, session, set_cookie,
};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use cognate_idp::Idp;
use cognate_idp::domains::PoolDomain;
use cognate_idp::oauth::{DevicePending, SessionUser, normalize_user_code};

/// POST /oauth2/device_authorization.
pub(crate) async fn authorization(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    if !idp.oauth_extensions().device_grant {
        return not_found().await;
    }
    let (fields, auth) = match client_form(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    match idp.device_authorization(&domain, &auth, fields.get("scope").map(String::as_str)).await {
        Ok(d) => json(
            StatusCode::OK,
            &serde_json::json!({
                "device_code": d.device_code,
                "user_code": d.user_code,
                "verification_uri": d.verification_uri,
                "verification_uri_complete": d.verification_uri_complete,
                "expires_in": d.expires_in,
                "interval": d.interval,
            }),
        ),
        Err(e) => oauth_error(&e),
    }
}

/// A device page with a fresh CSRF token (also set as the cookie), in the
/// look of the device's client when it is known.
async fn render(idp: &Idp, domain: &PoolDomain, client_id: Option<&str>, mut form: Form<'_>) -> Response {
    if let Some(client) = client_id {
        let look = match idp.look_of(&domain.pool_id, client, domain.managed_login_version).await {
            Ok(l) => l,
            Err(e) => return fault(form.lang, &e),
        };
        let client = cognate_wire::form::encode(client);
        form.stylesheet = (!look.css.is_empty()).then(|| format!("/ui/{client}/style.css"));
        form.logo = look.image.is_some().then(|| format!("/ui/{client}/logo"));
    }
    let csrf = cognate_crypto::ids::uuid_v4();
    let mut resp = page(StatusCode::OK, pages::form(&form, &csrf));
    set_cookie(&mut resp, CSRF_COOKIE, &csrf, 3600, idp.login_is_https());
    resp
}

/// The form for the code the device shows.
async fn code_form(idp: &Idp, domain: &PoolDomain, lang: Lang, error: Option<&str>) -> Response {
    let form = Form {
        lang,
        heading: lang.tr("Sign in a device"),
        text: lang.tr("Enter the code your device shows."),
        error,
        action: "/device",
        fields: vec![Field::text("user_code", lang.tr("Device code"), "off", "")],
        button: lang.tr("Continue"),
        languages: Some("/device".into()),
        ..Default::default()
    };
    render(idp, domain, None, form).await
}

/// The question to the signed-in person: allow this device?
async fn approval_form(idp: &Idp, domain: &PoolDomain, lang: Lang, p: &DevicePending, s: &SessionUser) -> Response {
    let client = if p.client_name.is_empty() { p.client_id.as_str() } else { p.client_name.as_str() };
    let text = lang.fill("Allow {} to use your account?", client);
    let signed_in = lang.fill("Signed in as {}.", &s.user.username);
    let figure = format!(
        "<p class=\"key\">{}: <code id=\"user-code\">{}</code></p>\n",
        pages::esc(lang.tr("Device code")),
        pages::esc(&p.user_code)
    );
    let form = Form {
        lang,
        heading: lang.tr("Sign in a device"),
        text: &text,
        notice: Some(&signed_in),
        action: "/device",
        hidden: vec![("user_code", &p.user_code)],
        figure: Some(figure),
        decisions: vec![("allow", lang.tr("Allow")), ("deny", lang.tr("Deny"))],
        ..Default::default()
    };
    render(idp, domain, Some(&p.client_id), form).await
}

/// Where a person without a session signs in to approve the device (in
/// the language this page chose the same way).
fn sign_in_for(p: &DevicePending) -> Response {
    let q = cognate_wire::form::encode_pairs([
        ("client_id", p.client_id.as_str()),
        ("response_type", "device"),
        ("user_code", p.user_code.as_str()),
    ]);
    redirect(&format!("/login?{q}"))
}

/// GET /device: the code's form; with `user_code`, the approval when
/// signed in, else the sign-in first.
pub(crate) async fn page_get(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    if !idp.oauth_extensions().device_grant {
        return not_found().await;
    }
    let (lang, params, headers) = (lang_of(&req), query(&req), req.headers().clone());
    drop(req);
    let mut resp = match params.get("user_code") {
        None => code_form(&idp, &domain, lang, None).await,
        Some(typed) => match idp.device_pending(&domain, typed).await {
            Ok(Some(p)) => match session(&idp, &domain, &headers).await {
                Ok(Some(s)) => approval_form(&idp, &domain, lang, &p, &s).await,
                Ok(None) => sign_in_for(&p),
                Err(resp) => resp,
            },
            Ok(None) => code_form(&idp, &domain, lang, Some(lang.tr("This code is not valid or has expired."))).await,
            Err(e) => fault(lang, &e),
        },
    };
    // A language chosen with the page's links is remembered, as on the
    // sign-in pages.
    if params.get("lang").and_then(|l| Lang::parse(l)).is_some() {
        set_cookie(&mut resp, LANG_COOKIE, lang.code(), LANG_COOKIE_MAX_AGE, idp.login_is_https());
    }
    resp
}

/// POST /device: a typed code (on to GET /device?user_code=...), or the
/// signed-in person's decision.
pub(crate) async fn post(State(idp): State<Idp>, req: Request) -> Response {
    let Some(domain) = domain_of(&req) else { return not_found().await };
    if !idp.oauth_extensions().device_grant {
        return not_found().await;
    }
    let lang = lang_of(&req);
    let (req, fields) = match form_fields(req).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let headers = req.headers().clone();
    drop(req);
    if !csrf_ok(&headers, &fields) {
        let message = lang.tr("Invalid or missing CSRF token; reload the page and try again.");
        return page(StatusCode::FORBIDDEN, pages::error(lang, message));
    }
    let typed = fields.get("user_code").map(String::as_str).unwrap_or_default();
    let again = || redirect(&format!("/device?{}", cognate_wire::form::encode_pairs([("user_code", typed)])));
    let Some(decision) = fields.get("decision") else {
        let code = normalize_user_code(typed);
        return redirect(&format!("/device?{}", cognate_wire::form::encode_pairs([("user_code", code.as_str())])));
    };
    let s = match session(&idp, &domain, &headers).await {
        Ok(Some(s)) => s,
        Ok(None) => return again(),
        Err(resp) => return resp,
    };
    let allow = decision == "allow";
    match idp.device_decide(&domain, typed, &s, allow).await {
        Ok(true) if allow => {
            page(StatusCode::OK, pages::message(lang, "Your device is signed in. You can close this page."))
        }
        Ok(true) => page(StatusCode::OK, pages::message(lang, "The device was not signed in.")),
        Ok(false) => code_form(&idp, &domain, lang, Some(lang.tr("This code is not valid or has expired."))).await,
        Err(e) => fault(lang, &e),
    }
}
