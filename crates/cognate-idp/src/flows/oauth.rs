//! OAuth 2.0 and OpenID Connect on a pool's domain, as Cognito serves them:
//! the checks of /oauth2/authorize, hosted sign-in and its one-hour
//! session, authorization codes (with PKCE), the token endpoint's grants
//! (authorization_code, refresh_token, client_credentials), userInfo,
//! revocation and /logout; and, as extensions, the device authorization
//! grant (RFC 8628), introspection and OIDC RP-initiated logout.
//!
//! The HTTP side (pages, cookies, redirects, the OAuth error bodies) is the
//! `cognate-login` crate's; everything it decides comes from here.

use crate::base::context::{Client, ClientCtx};
use crate::base::sealed::{self, Step};
use crate::flows::signin::outcome::Outcome;
use crate::model::domains::PoolDomain;
use crate::model::tokens::{Grant, Hosted, random_token, sha256_hex};
use crate::model::users::{User, status_of};
use crate::{Error, Fault, Idp, Result};
use cognate_store::{AuthCodeRow, DeviceCodeRow, LoginSessionRow, StoreError, UserKey};
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How long an authorization code may be redeemed.
const CODE_TTL_MS: i64 = 5 * 60_000;
/// The hosted sign-in session: one hour, never extended.
pub const SESSION_TTL_MS: i64 = 3_600_000;
const TOKEN_SOURCE: &str = "TokenGeneration_HostedAuth";
/// The device authorization grant's type at the token endpoint.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a device code may be approved and redeemed.
const DEVICE_TTL_MS: i64 = 10 * 60_000;
/// The polling interval a device is given, in seconds.
const DEVICE_INTERVAL_S: i64 = 5;
/// User codes: 8 of these 20 consonants (no vowels, so no words; RFC 8628
/// section 6.1), shown as XXXX-XXXX: about 34 bits.
const USER_CODE_LETTERS: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// OAuth features beyond Cognito, each off unless the operator turns it on
/// (`--oauth-extensions`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extensions {
    /// OIDC RP-initiated logout at /logout: `post_logout_redirect_uri`
    /// (one of the client's LogoutURLs), with the client named by
    /// `client_id` or by an `id_token_hint` the pool issued.
    pub rp_logout: bool,
    /// Token introspection (RFC 7662) at /oauth2/introspect.
    pub introspection: bool,
    /// The device authorization grant (RFC 8628): /oauth2/device_authorization,
    /// the /device page, and its grant type at /oauth2/token.
    pub device_grant: bool,
    /// An `aud` claim in access tokens: the resource servers of the
    /// granted custom scopes, else the client id.
    pub access_token_aud: bool,
}

/// The names `--oauth-extensions` knows.
const EXTENSION_NAMES: &str = "rp-logout, introspection, device-grant, access-token-aud";

impl Extensions {
    /// A comma-separated list of [`EXTENSION_NAMES`] (or empty).
    pub fn parse(list: &str) -> std::result::Result<Extensions, String> {
        let mut e = Extensions::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "rp-logout" => e.rp_logout = true,
                "introspection" => e.introspection = true,
                "device-grant" => e.device_grant = true,
                "access-token-aud" => e.access_token_aud = true,
                other => return Err(format!("unknown OAuth extension {other:?}; known: {EXTENSION_NAMES}")),
            }
        }
        Ok(e)
    }
}

/// `response_type` of /oauth2/authorize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    Code,
    Token,
    /// Signing in to approve a device (the device grant extension): the
    /// sign-in ends back on the /device page, which asks for the approval.
    Device,
}

/// An /oauth2/authorize request that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub pool_id: String,
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// Prefills the username on the sign-in page.
    pub login_hint: Option<String>,
    /// `login`: ask for credentials even with a live session; `none`: never
    /// show a page.
    pub prompt: Option<String>,
}

/// Why /oauth2/authorize (or a page continuing it) stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Shown on the domain's error page and never redirected: the client is
    /// unknown or the redirect URI is not one of its own.
    Page(String),
    /// Sent back to the client's registered redirect URI (the whole URL).
    Redirect(String),
}

/// An error of the token, revocation or userInfo endpoints:
/// `{"error": ..., "error_description": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: Option<String>,
    /// 401 for a bad client or token, else 400; 500 for a fault (logged).
    pub status: u16,
}

impl OAuthError {
    fn new(error: &'static str) -> OAuthError {
        OAuthError { error, description: None, status: 400 }
    }

    fn with(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { error, description: Some(description.into()), status: 400 }
    }

    fn invalid_client() -> OAuthError {
        OAuthError { error: "invalid_client", description: None, status: 401 }
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> OAuthError {
        match e.cause() {
            Some(cause) => {
                tracing::error!(cause = %cause, "internal error");
                OAuthError { error: "server_error", description: None, status: 500 }
            }
            None => OAuthError::with("invalid_request", e.message()),
        }
    }
}

/// How a client authenticates at the token and revocation endpoints:
/// `client_secret_basic` or `client_secret_post` (both read by the edge
/// into this), or a public client's id alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientAuth {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// A token endpoint request's form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// `aws_client_metadata`: a JSON object of strings, for the
    /// PreTokenGeneration function of a client-credentials grant.
    pub client_metadata: Option<String>,
    /// The device grant's `device_code`.
    pub device_code: Option<String>,
}

/// The answer of /oauth2/device_authorization (RFC 8628 section 3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceStart {
    pub device_code: String,
    /// As the person types it: XXXX-XXXX.
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// A device waiting for approval, as the /device page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePending {
    pub user_code: String,
    pub client_id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
}

/// A user code as typed: letters only, upper case, XXXX-XXXX.
pub fn normalize_user_code(typed: &str) -> String {
    let letters: String = typed.chars().filter(char::is_ascii_alphabetic).map(|c| c.to_ascii_uppercase()).collect();
    match letters.len() {
        8 => format!("{}-{}", &letters[..4], &letters[4..]),
        _ => letters,
    }
}

fn new_user_code() -> String {
    let mut letters = String::with_capacity(9);
    while letters.len() < 9 {
        if letters.len() == 4 {
            letters.push('-');
        }
        // Bytes below 240 keep the 20 letters equally likely.
        let b: u8 = rand::random();
        if b < 240 {
            letters.push(char::from(USER_CODE_LETTERS[usize::from(b % 20)]));
        }
    }
    letters
}

/// The token endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
}

/// What a code stands for until it is redeemed.
#[derive(Debug, Serialize, Deserialize)]
struct CodeGrant {
    username_key: String,
    redirect_uri: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: i64,
}

/// The challenges the hosted pages answer.
pub const HOSTED_CHALLENGES: &[ChallengeNameType] = &[
    ChallengeNameType::NewPasswordRequired,
    ChallengeNameType::SoftwareTokenMfa,
    ChallengeNameType::SmsMfa,
    ChallengeNameType::EmailOtp,
    ChallengeNameType::SelectMfaType,
    ChallengeNameType::MfaSetup,
];

/// A new authenticator key for the hosted MFA_SETUP page.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The key in base32, as the page shows it for typing in.
    pub secret: String,
    /// The `otpauth://` URI the page's QR code holds.
    pub uri: String,
    /// The challenge's session, now carrying the pending key.
    pub session: String,
}

/// Where a hosted sign-in stands after a step.
#[derive(Debug, Clone)]
pub enum HostedStep {
    SignedIn(Box<User>),
    /// The next page: the challenge, its public parameters, and its sealed
    /// session (carried by the page's form).
    Challenge {
        name: ChallengeNameType,
        parameters: BTreeMap<String, String>,
        session: String,
    },
}

/// The sign-up page's fields beyond the username and the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignUpForm {
    /// "Username", or "Email" / "Phone number" when that is the username.
    pub username_label: String,
    /// Attributes to ask for (`email`, `name`, ...).
    pub attributes: Vec<String>,
}

/// A signed-in hosted session: who, and since when (s).
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub auth_time: i64,
}

/// Where a redirect goes: `uri` with `params` in its query (or, for the
/// implicit grant, its fragment).
fn redirect_to(uri: &str, params: &[(&str, &str)], fragment: bool) -> String {
    let mut out = uri.to_string();
    let mut first = true;
    for (k, v) in params {
        let sep = if first {
            if fragment {
                '#'
            } else if uri.contains('?') {
                '&'
            } else {
                '?'
            }
        } else {
            '&'
        };
        first = false;
        out.push(sep);
        out.push_str(&cognate_wire::form::encode(k));
        out.push('=');
        out.push_str(&cognate_wire::form::encode(v));
    }
    out
}

fn pkce_s256(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn scopes_of(s: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in s.unwrap_or_default().split_whitespace() {
        if !out.iter().any(|x| x == scope) {
            out.push(scope.to_string());
        }
    }
    out
}

fn is_custom(scope: &str) -> bool {
    !crate::model::resource_servers::STANDARD_SCOPES.contains(&scope)
}

fn allows(c: &UserPoolClientType, flow: OAuthFlowType) -> bool {
    c.allowed_o_auth_flows_user_pool_client == Some(true)
        && c.allowed_o_auth_flows.as_ref().is_some_and(|f| f.contains(&flow))
}

impl Idp {
    /// Checks an /oauth2/authorize request (or the same parameters carried
    /// by /login) on `domain`. A bad client or redirect URI is never
    /// redirected to; every later error goes back to the redirect URI.
    pub async fn check_authorize(
        &self,
        domain: &PoolDomain,
        p: &BTreeMap<String, String>,
    ) -> std::result::Result<Authorization, AuthorizeError> {
        let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
        let Some(client_id) = get("client_id") else {
            return Err(AuthorizeError::Page("Missing required parameter client_id in request URL".into()));
        };
        let client = match self.resolve_client(&client_id).await {
            Ok(c) if c.pool_row.id == domain.pool_id => c,
            Ok(_) | Err(Error::ResourceNotFound(_)) => {
                return Err(AuthorizeError::Page("Invalid client_id for this domain.".into()));
            }
            Err(e) => return Err(AuthorizeError::Page(page_fault(e))),
        };
        if get("response_type").as_deref() == Some("device") {
            return self.device_sign_in(domain, &client, get("user_code").as_deref()).await;
        }
        let Some(redirect_uri) = get("redirect_uri") else {
            return Err(AuthorizeError::Page("redirect_mismatch".into()));
        };
        if !client.client.callback_ur_ls.as_ref().is_some_and(|c| c.contains(&redirect_uri)) {
            return Err(AuthorizeError::Page("redirect_mismatch".into()));
        }
        let state = get("state");
        let fail = |error: &str, description: Option<&str>| {
            let mut params = vec![("error", error)];
            if let Some(d) = description {
                params.push(("error_description", d));
            }
            if let Some(s) = &state {
                params.push(("state", s.as_str()));
            }
            AuthorizeError::Redirect(redirect_to(&redirect_uri, &params, false))
        };
        let response_type = match get("response_type").as_deref() {
            None => return Err(fail("invalid_request", Some("response_type is required"))),
            Some("code") => ResponseType::Code,
            Some("token") => ResponseType::Token,
            Some(_) => return Err(fail("unsupported_response_type", None)),
        };
        let flow = if response_type == ResponseType::Code { OAuthFlowType::Code } else { OAuthFlowType::Implicit };
        if !allows(&client.client, flow) {
            return Err(fail("unauthorized_client", None));
        }
        let code_challenge = get("code_challenge");
        match (code_challenge.as_deref(), get("code_challenge_method").as_deref()) {
            (None, None) | (Some(_), Some("S256")) => {}
            _ => return Err(fail("invalid_request", Some("Only code_challenge_method S256 is supported"))),
        }
        let allowed = client.client.allowed_o_auth_scopes.clone().unwrap_or_default();
        let mut scopes = scopes_of(get("scope").as_deref());
        if scopes.is_empty() {
            scopes = allowed.clone();
        }
        if scopes.iter().any(|s| !allowed.contains(s)) {
            return Err(fail("invalid_request", Some("invalid_scope")));
        }
        if let Some(idp) = get("identity_provider").filter(|i| i != "COGNITO") {
            let described = format!("Identity provider {idp} is not configured for this client");
            return Err(fail("invalid_request", Some(&described)));
        }
        Ok(Authorization {
            pool_id: domain.pool_id.clone(),
            client_id: client.row.id.clone(),
            client_name: client.client.client_name.clone().unwrap_or_default(),
            redirect_uri,
            response_type,
            scopes,
            state,
            nonce: get("nonce"),
            code_challenge,
            login_hint: get("login_hint"),
            prompt: get("prompt").map(|p| p.to_ascii_lowercase()),
        })
    }

    async fn hosted_client(&self, a: &Authorization) -> Result<ClientCtx> {
        Ok(self.resolve_client(&a.client_id).await?.for_hosted_pages())
    }

    /// Signs a user in on the hosted page with a password. The user's
    /// triggers run as for an API sign-in; the next step may be a challenge
    /// (MFA, a new password), answered on the next page.
    pub async fn hosted_password_sign_in(
        &self,
        a: &Authorization,
        username: &str,
        password: &str,
    ) -> Result<HostedStep> {
        let c = self.hosted_client(a).await?;
        let user = self.password_sign_in(&c, username, password).await?;
        let outcome = self.signed_in(&c, user, None).await?;
        self.hosted_step(&c, outcome).await
    }

    /// Answers a challenge on the hosted pages: the same steps as
    /// RespondToAuthChallenge, for the challenges the pages offer.
    pub async fn hosted_answer(
        &self,
        a: &Authorization,
        challenge: &str,
        responses: BTreeMap<String, String>,
        session: &str,
    ) -> Result<HostedStep> {
        let name = ChallengeNameType::parse(challenge)
            .filter(|n| HOSTED_CHALLENGES.contains(n))
            .ok_or_else(|| Error::InvalidParameter(format!("The hosted pages do not answer {challenge}.")))?;
        let c = self.hosted_client(a).await?;
        let outcome = self.answer_challenge(&c, name, responses, Some(session), &BTreeMap::new()).await?;
        self.hosted_step(&c, outcome).await
    }

    /// MFA_SETUP on the hosted pages, first step: a new authenticator key
    /// for the user of the session (AssociateSoftwareToken with it). The
    /// QR code names the pool as the issuer and the user by username.
    pub async fn hosted_totp_setup(&self, a: &Authorization, session: &str) -> Result<TotpSetup> {
        let c = self.hosted_client(a).await?;
        let user = self.mfa_setup_user(&c, session).await?;
        let r = self
            .associate_software_token(AssociateSoftwareTokenRequest {
                session: Some(session.to_string()),
                ..Default::default()
            })
            .await?;
        let secret = r.secret_code.unwrap_or_default();
        // Percent-encoded, a space as %20 (authenticator apps show a `+`).
        let pct = |s: &str| cognate_wire::form::encode(s).replace('+', "%20");
        let (issuer, label) = (pct(&c.pool_row.name), pct(&user.username));
        let uri = format!("otpauth://totp/{issuer}:{label}?secret={secret}&issuer={issuer}");
        Ok(TotpSetup { secret, uri, session: r.session.unwrap_or_default() })
    }

    /// MFA_SETUP on the hosted pages, second step: the code the app shows
    /// verifies the key (VerifySoftwareToken), and the challenge is
    /// answered with the session that says so. A wrong code leaves the
    /// session as it was, to try again.
    pub async fn hosted_totp_confirm(&self, a: &Authorization, session: &str, code: &str) -> Result<HostedStep> {
        let c = self.hosted_client(a).await?;
        let user = self.mfa_setup_user(&c, session).await?;
        let verified = self
            .verify_software_token(VerifySoftwareTokenRequest {
                session: Some(session.to_string()),
                user_code: code.to_string(),
                ..Default::default()
            })
            .await?;
        let session = verified.session.unwrap_or_default();
        let responses = BTreeMap::from([("USERNAME".to_string(), user.username.clone())]);
        let outcome =
            self.answer_challenge(&c, ChallengeNameType::MfaSetup, responses, Some(&session), &BTreeMap::new()).await?;
        self.hosted_step(&c, outcome).await
    }

    async fn hosted_step(&self, c: &ClientCtx, outcome: Outcome) -> Result<HostedStep> {
        match outcome {
            Outcome::SignedIn(s) => {
                self.post_authentication(c, &s.user).await?;
                self.auth_event(&c.pool, &s.user, EventType::SignIn, EventResponseType::Pass, Some(true)).await?;
                Ok(HostedStep::SignedIn(Box::new(s.user)))
            }
            Outcome::Challenge(ch) if HOSTED_CHALLENGES.contains(&ch.name) => Ok(HostedStep::Challenge {
                name: ch.name,
                parameters: ch.parameters,
                session: ch.session.unwrap_or_default(),
            }),
            Outcome::Challenge(ch) => Err(Error::Unsupported(format!(
                "This account must answer {} to sign in, which Cognate's hosted pages do not offer yet; sign in through the API.",
                ch.name.as_str()
            ))),
        }
    }

    /// What the sign-up page asks for beyond a username and a password: the
    /// pool's required attributes and the email or phone number a code goes
    /// to. None when users may not sign themselves up.
    pub async fn sign_up_form(&self, a: &Authorization) -> Result<Option<SignUpForm>> {
        let c = self.hosted_client(a).await?;
        if crate::model::users::admin_creates_users_only(&c.pool) {
            return Ok(None);
        }
        let by = crate::model::users::username_attrs(&c.pool);
        let username_label = match by.first() {
            Some(UsernameAttributeType::Email) => "Email",
            Some(UsernameAttributeType::PhoneNumber) => "Phone number",
            None => "Username",
        };
        let mut attributes: Vec<String> = c
            .pool
            .schema_attributes
            .iter()
            .flatten()
            .filter(|a| a.required == Some(true))
            .filter_map(|a| a.name.clone())
            // Cognate sets these; nobody types them.
            .filter(|n| n != "sub" && !n.ends_with("_verified"))
            .collect();
        for v in c.pool.auto_verified_attributes.iter().flatten() {
            let name = match v {
                VerifiedAttributeType::Email => "email",
                VerifiedAttributeType::PhoneNumber => "phone_number",
            };
            if !attributes.iter().any(|a| a == name) {
                attributes.push(name.to_string());
            }
        }
        // The attribute that is the username is asked once, as the username.
        attributes.retain(|a| {
            !by.iter().any(|u| {
                matches!(
                    (u, a.as_str()),
                    (UsernameAttributeType::Email, "email") | (UsernameAttributeType::PhoneNumber, "phone_number")
                )
            })
        });
        Ok(Some(SignUpForm { username_label: username_label.into(), attributes }))
    }

    /// SignUp from the hosted page; the answer says where the confirmation
    /// code went, if one did, and carries the sealed continuation with
    /// which confirming the code signs the user in (for the client's
    /// AuthSessionValidity), as Cognito's managed login does.
    pub async fn hosted_sign_up(
        &self,
        a: &Authorization,
        username: &str,
        password: &str,
        attributes: Vec<(String, String)>,
    ) -> Result<(SignUpResponse, String)> {
        let c = self.hosted_client(a).await?;
        let req = SignUpRequest {
            client_id: a.client_id.clone(),
            username: username.to_string(),
            password: Some(password.to_string()),
            user_attributes: Some(
                attributes.into_iter().map(|(name, value)| AttributeType { name, value: Some(value) }).collect(),
            ),
            ..Default::default()
        };
        let r = self.sign_up_as(&c, req).await?;
        let user = self.find_user(&c.pool_row, &c.pool, username).await?;
        let key = user.map(|u| u.username_key.clone()).unwrap_or_default();
        let continuation = sealed::seal(&self.key, Step::SignedUp, &c, &key, self.now(), ())?;
        Ok((r, continuation))
    }

    /// ConfirmSignUp from the hosted page; then, with the continuation of
    /// the same browser's sign-up still valid, the user is signed in (the
    /// next step may be MFA). None: the person signs in on the next page.
    pub async fn hosted_confirm_sign_up(
        &self,
        a: &Authorization,
        username: &str,
        code: &str,
        continuation: &str,
    ) -> Result<Option<HostedStep>> {
        let c = self.hosted_client(a).await?;
        let req = ConfirmSignUpRequest {
            client_id: a.client_id.clone(),
            username: username.to_string(),
            confirmation_code: code.to_string(),
            ..Default::default()
        };
        self.confirm_sign_up_as(&c, req).await?;
        let Ok(opened) = sealed::open::<()>(&self.key, Step::SignedUp, &c, Some(continuation), self.now()) else {
            return Ok(None);
        };
        let user = self.find_user(&c.pool_row, &c.pool, username).await?;
        let Some(user) = user.filter(|u| u.username_key == opened.user && u.enabled != 0) else { return Ok(None) };
        let outcome = self.signed_in(&c, user, None).await?;
        self.hosted_step(&c, outcome).await.map(Some)
    }

    /// ResendConfirmationCode from the hosted confirmation page.
    pub async fn hosted_resend_code(
        &self,
        a: &Authorization,
        username: &str,
    ) -> Result<Option<CodeDeliveryDetailsType>> {
        let c = self.hosted_client(a).await?;
        Ok(self.resend_confirmation_code_as(&c, username).await?.code_delivery_details)
    }

    pub async fn hosted_forgot_password(
        &self,
        a: &Authorization,
        username: &str,
    ) -> Result<Option<CodeDeliveryDetailsType>> {
        let c = self.hosted_client(a).await?;
        let req = ForgotPasswordRequest {
            client_id: a.client_id.clone(),
            username: username.to_string(),
            ..Default::default()
        };
        Ok(self.forgot_password_as(&c, req).await?.code_delivery_details)
    }

    pub async fn hosted_confirm_forgot_password(
        &self,
        a: &Authorization,
        username: &str,
        code: &str,
        password: &str,
    ) -> Result<()> {
        let c = self.hosted_client(a).await?;
        let req = ConfirmForgotPasswordRequest {
            client_id: a.client_id.clone(),
            username: username.to_string(),
            confirmation_code: code.to_string(),
            password: password.to_string(),
            ..Default::default()
        };
        self.confirm_forgot_password_as(&c, req).await.map(|_| ())
    }

    /// GET /confirmUser, the link of a verify-by-link email: ConfirmSignUp
    /// for the client the link names, which must be of this domain's pool.
    pub async fn confirm_user_link(&self, domain: &PoolDomain, p: &BTreeMap<String, String>) -> Result<()> {
        let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
        let (Some(client_id), Some(username), Some(code)) =
            (get("client_id"), get("user_name"), get("confirmation_code"))
        else {
            return Err(Error::InvalidParameter(
                "The link is incomplete: it needs client_id, user_name and confirmation_code.".into(),
            ));
        };
        let client = self.resolve_client(&client_id).await?;
        if client.pool_row.id != domain.pool_id {
            return Err(Error::ResourceNotFound(format!("User pool client {client_id} does not exist.")));
        }
        let c = client.for_hosted_pages();
        let req = ConfirmSignUpRequest { client_id, username, confirmation_code: code, ..Default::default() };
        self.confirm_sign_up_as(&c, req).await.map(|_| ())
    }

    /// Starts the one-hour hosted session of `user`; the value is the
    /// `cognito` cookie's.
    pub async fn start_session(&self, user: &User) -> Result<String> {
        let value = random_token();
        let now = self.now();
        let row = LoginSessionRow {
            id_hash: sha256_hex(&value),
            pool_id: user.pool_id.clone(),
            username_key: user.username_key.clone(),
            auth_time: now / 1000,
            expires_at: now + SESSION_TTL_MS,
        };
        self.store.insert_login_session(&row, now).await?;
        Ok(value)
    }

    /// The user of a live session of the domain's pool; none when the
    /// session ended or the user can no longer sign in.
    pub async fn session_user(&self, domain: &PoolDomain, cookie: &str) -> Result<Option<SessionUser>> {
        let Some(s) = self.store.login_session(&domain.pool_id, &sha256_hex(cookie), self.now()).await? else {
            return Ok(None);
        };
        let key = UserKey { pool_id: &s.pool_id, username_key: &s.username_key };
        let Some(user) = User::read_opt(self.store.get_user(key).await?)? else { return Ok(None) };
        let usable = matches!(status_of(&user), UserStatusType::Confirmed | UserStatusType::ExternalProvider);
        Ok((user.enabled != 0 && usable).then_some(SessionUser { user, auth_time: s.auth_time }))
    }

    /// Ends a hosted session (/logout).
    pub async fn end_session(&self, cookie: &str) -> Result<()> {
        Ok(self.store.delete_login_session(&sha256_hex(cookie)).await?)
    }

    /// Finishes an authorization for a signed-in user: the redirect to the
    /// client with a code, or with tokens in the fragment (implicit grant).
    pub async fn complete_authorization(&self, a: &Authorization, s: &SessionUser) -> Result<String> {
        let state = a.state.as_deref();
        match a.response_type {
            ResponseType::Code => {
                let code = random_token();
                let grant = CodeGrant {
                    username_key: s.user.username_key.clone(),
                    redirect_uri: a.redirect_uri.clone(),
                    scopes: a.scopes.clone(),
                    nonce: a.nonce.clone(),
                    code_challenge: a.code_challenge.clone(),
                    auth_time: s.auth_time,
                };
                let now = self.now();
                let row = AuthCodeRow {
                    code_hash: sha256_hex(&code),
                    pool_id: a.pool_id.clone(),
                    client_id: a.client_id.clone(),
                    grant_doc: serde_json::to_string(&grant)?,
                    expires_at: now + CODE_TTL_MS,
                };
                self.store.insert_auth_code(&row, now).await?;
                let mut params = vec![("code", code.as_str())];
                params.extend(state.map(|s| ("state", s)));
                Ok(redirect_to(&a.redirect_uri, &params, false))
            }
            ResponseType::Token => {
                let c = self.hosted_client(a).await?;
                let grant = Grant {
                    auth_time: s.auth_time,
                    origin: None,
                    refresh: false,
                    source: TOKEN_SOURCE,
                    device_key: None,
                    scopes: a.scopes.clone(),
                    hosted: Some(Hosted { nonce: a.nonce.clone() }),
                };
                let t = self.issue_tokens(&c, &s.user, grant).await?;
                let expires = t.expires_in.unwrap_or_default().to_string();
                let access = t.access_token.unwrap_or_default();
                let mut params = vec![("access_token", access.as_str())];
                params.extend(t.id_token.as_deref().map(|i| ("id_token", i)));
                params.push(("token_type", "Bearer"));
                params.push(("expires_in", &expires));
                params.extend(state.map(|s| ("state", s)));
                Ok(redirect_to(&a.redirect_uri, &params, true))
            }
            ResponseType::Device => Ok(a.redirect_uri.clone()),
        }
    }

    /// The client a token or revocation request authenticates as, with its
    /// secret proven when it has one.
    async fn oauth_client(&self, domain: &PoolDomain, auth: &ClientAuth) -> std::result::Result<ClientCtx, OAuthError> {
        let Some(id) = auth.client_id.as_deref() else {
            return Err(OAuthError::with("invalid_request", "client_id is required"));
        };
        let client = match self.resolve_client(id).await {
            Ok(c) if c.pool_row.id == domain.pool_id => c,
            Ok(_) | Err(Error::ResourceNotFound(_)) => return Err(OAuthError::invalid_client()),
            Err(e) => return Err(e.into()),
        };
        match self.with_client_secret(client, auth.client_secret.as_deref()).await {
            Ok(c) => Ok(c),
            Err(Error::NotAuthorized(_)) => Err(OAuthError::invalid_client()),
            Err(e) => Err(e.into()),
        }
    }

    /// POST /oauth2/token.
    pub async fn oauth_token(
        &self,
        domain: &PoolDomain,
        auth: &ClientAuth,
        req: &TokenRequest,
    ) -> std::result::Result<TokenSet, OAuthError> {
        let grant_type =
            req.grant_type.as_deref().ok_or_else(|| OAuthError::with("invalid_request", "grant_type is required"))?;
        let device = grant_type == DEVICE_GRANT && self.extensions.device_grant;
        if !device && !matches!(grant_type, "authorization_code" | "refresh_token" | "client_credentials") {
            return Err(OAuthError::new("unsupported_grant_type"));
        }
        let c = self.oauth_client(domain, auth).await?;
        match grant_type {
            "authorization_code" => self.redeem_code(&c, req).await,
            DEVICE_GRANT => self.device_grant_token(&c, req).await,
            "refresh_token" => {
                if c.client.allowed_o_auth_flows_user_pool_client != Some(true) {
                    return Err(OAuthError::new("unauthorized_client"));
                }
                let token = req
                    .refresh_token
                    .as_deref()
                    .ok_or_else(|| OAuthError::with("invalid_request", "refresh_token is required"))?;
                let t = match self.refresh_with(&c, token, None).await {
                    Ok(t) => t,
                    Err(e) if e.cause().is_none() => return Err(OAuthError::new("invalid_grant")),
                    Err(e) => return Err(e.into()),
                };
                Ok(token_set(t))
            }
            _ => self.client_credentials(&c, req).await,
        }
    }

    async fn redeem_code(&self, c: &ClientCtx, req: &TokenRequest) -> std::result::Result<TokenSet, OAuthError> {
        if !allows(&c.client, OAuthFlowType::Code) {
            return Err(OAuthError::new("unauthorized_client"));
        }
        let code = req.code.as_deref().ok_or_else(|| OAuthError::with("invalid_request", "code is required"))?;
        let redirect_uri = req
            .redirect_uri
            .as_deref()
            .ok_or_else(|| OAuthError::with("invalid_request", "redirect_uri is required"))?;
        // Taken, whatever happens next: a code is good for one try.
        let row = self.store.take_auth_code(&sha256_hex(code), self.now()).await.map_err(Error::from)?;
        let row = row.filter(|r| r.client_id == c.row.id && r.pool_id == c.pool_row.id);
        let Some(row) = row else { return Err(OAuthError::new("invalid_grant")) };
        let grant: CodeGrant = serde_json::from_str(&row.grant_doc)
            .map_err(|e| Error::internal(Fault::Document, format!("authorization code grant: {e}")))?;
        if grant.redirect_uri != redirect_uri {
            return Err(OAuthError::new("invalid_grant"));
        }
        if let Some(challenge) = &grant.code_challenge {
            let verifier = req.code_verifier.as_deref().unwrap_or_default();
            if !cognate_crypto::ct_eq(pkce_s256(verifier).as_bytes(), challenge.as_bytes()) {
                return Err(OAuthError::new("invalid_grant"));
            }
        }
        self.granted_tokens(c, &grant.username_key, grant.auth_time, grant.scopes, grant.nonce).await
    }

    /// The tokens (ID when `openid` is granted, access, refresh) a hosted
    /// sign-in earned, once redeemed at the token endpoint: for a code or an
    /// approved device. The user must still exist and be enabled.
    async fn granted_tokens(
        &self,
        c: &ClientCtx,
        username_key: &str,
        auth_time: i64,
        scopes: Vec<String>,
        nonce: Option<String>,
    ) -> std::result::Result<TokenSet, OAuthError> {
        let key = UserKey { pool_id: &c.pool_row.id, username_key };
        let user = User::read_opt(self.store.get_user(key).await.map_err(Error::from)?)?;
        let Some(user) = user.filter(|u| u.enabled != 0) else { return Err(OAuthError::new("invalid_grant")) };
        let g = Grant {
            auth_time,
            origin: None,
            refresh: true,
            source: TOKEN_SOURCE,
            device_key: None,
            scopes,
            hosted: Some(Hosted { nonce }),
        };
        Ok(token_set(self.issue_tokens(c, &user, g).await?))
    }

    async fn client_credentials(&self, c: &ClientCtx, req: &TokenRequest) -> std::result::Result<TokenSet, OAuthError> {
        if !allows(&c.client, OAuthFlowType::ClientCredentials) {
            return Err(OAuthError::new("unauthorized_client"));
        }
        if self.client_secrets(&c.row.id).await?.is_empty() {
            return Err(OAuthError::invalid_client());
        }
        let allowed: Vec<String> =
            c.client.allowed_o_auth_scopes.iter().flatten().filter(|s| is_custom(s)).cloned().collect();
        let mut scopes = scopes_of(req.scope.as_deref());
        if scopes.is_empty() {
            scopes = allowed.clone();
        }
        if scopes.is_empty() || scopes.iter().any(|s| !allowed.contains(s)) {
            return Err(OAuthError::new("invalid_scope"));
        }
        let metadata: Option<BTreeMap<String, String>> = match req.client_metadata.as_deref() {
            None => None,
            Some(raw) => Some(serde_json::from_str(raw).map_err(|_| {
                OAuthError::with("invalid_request", "aws_client_metadata must be a JSON object of strings")
            })?),
        };
        let c = c.clone().with_metadata(&metadata);
        let (access_token, expires_in) = self.issue_client_token(&c, scopes).await?;
        Ok(TokenSet { access_token, id_token: None, refresh_token: None, expires_in })
    }

    /// GET/POST /oauth2/userInfo: the user's claims that the token's scopes
    /// and the client's ReadAttributes allow. The token must grant `openid`.
    pub async fn user_info(&self, access_token: &str) -> std::result::Result<Map<String, Value>, OAuthError> {
        let invalid = || OAuthError {
            error: "invalid_token",
            description: Some(
                "Access token is expired, disabled, or deleted, or the user has globally signed out.".into(),
            ),
            status: 401,
        };
        let a = match self.check_access(access_token).await {
            Ok(a) => a,
            Err(e) if e.cause().is_none() => return Err(invalid()),
            Err(e) => return Err(e.into()),
        };
        if !a.scopes.iter().any(|s| s == "openid") {
            return Err(invalid());
        }
        let client = self.resolve_client(&a.client_id).await?;
        let readable = client.client.read_attributes.as_ref();
        let has = |s: &str| a.scopes.iter().any(|x| x == s);
        let everything = has("profile") || has("aws.cognito.signin.user.admin");
        let mut out = Map::new();
        out.insert("sub".into(), json!(a.user.sub));
        for (name, value) in crate::model::attributes::visible(&a.user.attrs) {
            if name == "sub" || readable.is_some_and(|r| !r.contains(&name)) {
                continue;
            }
            let by_scope = match name.as_str() {
                "email" | "email_verified" => has("email"),
                "phone_number" | "phone_number_verified" => has("phone"),
                _ => false,
            };
            if everything || by_scope {
                out.insert(name, json!(value));
            }
        }
        out.insert("username".into(), json!(a.user.username));
        Ok(out)
    }

    /// POST /oauth2/revoke: a refresh token and every token issued from its
    /// sign-in. An unknown or already revoked token is not an error.
    pub async fn oauth_revoke(
        &self,
        domain: &PoolDomain,
        auth: &ClientAuth,
        token: Option<&str>,
    ) -> std::result::Result<(), OAuthError> {
        let token = token.ok_or_else(|| OAuthError::with("invalid_request", "token is required"))?;
        let c = self.oauth_client(domain, auth).await?;
        if c.client.enable_token_revocation == Some(false) {
            return Err(OAuthError::with("invalid_request", "Token revocation is not enabled for this app client."));
        }
        if let Ok(row) = self.live_refresh_token(&c, token).await {
            self.store.revoke_refresh_token(&row.token_hash, self.now()).await.map_err(Error::from)?;
            self.store.revoke_origin(&row.pool_id, &row.origin_jti, self.now()).await.map_err(Error::from)?;
        }
        Ok(())
    }

    /// GET /logout: where to send the browser once its session is ended.
    /// `logout_uri` must be one of the client's LogoutURLs; the other form
    /// (`redirect_uri` and `response_type`) signs in again, so it is checked
    /// as /oauth2/authorize would check it and answers the /login URL's query.
    pub async fn logout_target(
        &self,
        domain: &PoolDomain,
        p: &BTreeMap<String, String>,
    ) -> std::result::Result<LogoutTarget, AuthorizeError> {
        // The extension names its client by client_id or by the hint.
        if self.extensions.rp_logout
            && !p.contains_key("logout_uri")
            && let Some(uri) = p.get("post_logout_redirect_uri").filter(|u| !u.is_empty())
        {
            return self.rp_logout(domain, p, uri).await;
        }
        let Some(client_id) = p.get("client_id").filter(|c| !c.is_empty()) else {
            return Err(AuthorizeError::Page("Missing required parameter client_id in request URL".into()));
        };
        if let Some(uri) = p.get("logout_uri") {
            let client = match self.resolve_client(client_id).await {
                Ok(c) if c.pool_row.id == domain.pool_id => c,
                Ok(_) | Err(Error::ResourceNotFound(_)) => {
                    return Err(AuthorizeError::Page("Invalid client_id for this domain.".into()));
                }
                Err(e) => return Err(AuthorizeError::Page(page_fault(e))),
            };
            if !client.client.logout_ur_ls.as_ref().is_some_and(|l| l.contains(uri)) {
                return Err(AuthorizeError::Page("Invalid logout_uri for this client.".into()));
            }
            return Ok(LogoutTarget::Away(uri.clone()));
        }
        if !p.contains_key("redirect_uri") {
            return Err(AuthorizeError::Page("Required String parameter 'redirect_uri' is not present".into()));
        }
        self.check_authorize(domain, p).await?;
        Ok(LogoutTarget::SignInAgain)
    }

    /// OIDC RP-initiated logout (an extension): the client by `client_id` or
    /// by the `aud` of an ID token this pool signed, the target one of its
    /// LogoutURLs, with `state` passed back.
    async fn rp_logout(
        &self,
        domain: &PoolDomain,
        p: &BTreeMap<String, String>,
        uri: &str,
    ) -> std::result::Result<LogoutTarget, AuthorizeError> {
        let hinted = match p.get("id_token_hint").filter(|h| !h.is_empty()) {
            None => None,
            Some(hint) => {
                let claims = self.verified_claims(hint).await.map_err(|e| AuthorizeError::Page(page_fault(e)))?;
                let claims = claims.filter(|c| {
                    c.get("token_use").and_then(Value::as_str) == Some("id")
                        && c.get("iss").and_then(Value::as_str) == Some(self.issuer_of(&domain.pool_id).as_str())
                });
                let Some(claims) = claims else {
                    return Err(AuthorizeError::Page("Invalid id_token_hint.".into()));
                };
                claims.get("aud").and_then(Value::as_str).map(str::to_string)
            }
        };
        let client_id = match (p.get("client_id").filter(|c| !c.is_empty()), hinted) {
            (Some(c), Some(h)) if *c != h => {
                return Err(AuthorizeError::Page("id_token_hint was issued to another client.".into()));
            }
            (Some(c), _) => c.clone(),
            (None, Some(h)) => h,
            (None, None) => {
                return Err(AuthorizeError::Page("Missing required parameter client_id in request URL".into()));
            }
        };
        let client = match self.resolve_client(&client_id).await {
            Ok(c) if c.pool_row.id == domain.pool_id => c,
            Ok(_) | Err(Error::ResourceNotFound(_)) => {
                return Err(AuthorizeError::Page("Invalid client_id for this domain.".into()));
            }
            Err(e) => return Err(AuthorizeError::Page(page_fault(e))),
        };
        if !client.client.logout_ur_ls.as_ref().is_some_and(|l| l.iter().any(|u| u == uri)) {
            return Err(AuthorizeError::Page("Invalid post_logout_redirect_uri for this client.".into()));
        }
        let state: Vec<(&str, &str)> = p.get("state").map(|s| ("state", s.as_str())).into_iter().collect();
        Ok(LogoutTarget::Away(redirect_to(uri, &state, false)))
    }

    /// POST /oauth2/introspect (an extension, RFC 7662): whether a token of
    /// this pool is live, and what it grants. The asking client proves
    /// itself; an access token of any client of the pool, and a refresh
    /// token of the asking client, are described; anything else is
    /// `{"active": false}`.
    pub async fn introspect(
        &self,
        domain: &PoolDomain,
        auth: &ClientAuth,
        token: Option<&str>,
    ) -> std::result::Result<Map<String, Value>, OAuthError> {
        if !self.extensions.introspection {
            return Err(OAuthError { error: "invalid_request", description: None, status: 404 });
        }
        let token = token.ok_or_else(|| OAuthError::with("invalid_request", "token is required"))?;
        let c = self.oauth_client(domain, auth).await?;
        let inactive = || Map::from_iter([("active".to_string(), json!(false))]);
        if let Ok(row) = self.live_refresh_token(&c, token).await {
            let key = UserKey { pool_id: &row.pool_id, username_key: &row.username_key };
            let user = User::read_opt(self.store.get_user(key).await.map_err(Error::from)?)?;
            let Some(user) = user.filter(|u| u.enabled != 0) else { return Ok(inactive()) };
            let mut out = Map::new();
            out.insert("active".into(), json!(true));
            out.insert("token_type".into(), json!("refresh_token"));
            out.insert("client_id".into(), json!(row.client_id));
            out.insert("username".into(), json!(user.username));
            out.insert("sub".into(), json!(user.sub));
            out.insert("exp".into(), json!(row.expires_at / 1000));
            out.insert("iat".into(), json!(row.created_at / 1000));
            return Ok(out);
        }
        let Some(claims) = self.verified_claims(token).await? else { return Ok(inactive()) };
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_string);
        let iss_ok = text("iss").as_deref() == Some(self.issuer_of(&domain.pool_id).as_str());
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if !iss_ok || text("token_use").as_deref() != Some("access") || exp <= self.now() / 1000 {
            return Ok(inactive());
        }
        // A user's token is also checked for revocation and the user's state.
        if claims.contains_key("origin_jti") && self.check_access(token).await.is_err() {
            return Ok(inactive());
        }
        let mut out = Map::new();
        out.insert("active".into(), json!(true));
        out.insert("token_type".into(), json!("Bearer"));
        for k in ["scope", "client_id", "username", "sub", "iss", "exp", "iat", "jti"] {
            if let Some(v) = claims.get(k) {
                out.insert(k.to_string(), v.clone());
            }
        }
        Ok(out)
    }
}

/// Where /logout sends the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTarget {
    /// To the client's sign-out URL.
    Away(String),
    /// To /login with the same parameters.
    SignInAgain,
}

// ---- the device authorization grant (RFC 8628; an extension) ----

impl Idp {
    /// POST /oauth2/device_authorization: a device code to poll with and a
    /// user code for the person to approve at /device. The client must be
    /// allowed the code grant (a person signs in); scopes as at
    /// /oauth2/authorize. 404 when the extension is off.
    pub async fn device_authorization(
        &self,
        domain: &PoolDomain,
        auth: &ClientAuth,
        scope: Option<&str>,
    ) -> std::result::Result<DeviceStart, OAuthError> {
        if !self.extensions.device_grant {
            return Err(OAuthError { error: "not_found", description: None, status: 404 });
        }
        let c = self.oauth_client(domain, auth).await?;
        if !allows(&c.client, OAuthFlowType::Code) {
            return Err(OAuthError::new("unauthorized_client"));
        }
        let allowed = c.client.allowed_o_auth_scopes.clone().unwrap_or_default();
        let mut scopes = scopes_of(scope);
        if scopes.is_empty() {
            scopes = allowed.clone();
        }
        if scopes.iter().any(|s| !allowed.contains(s)) {
            return Err(OAuthError::new("invalid_scope"));
        }
        let device_code = random_token();
        let now = self.now();
        // A user code that is taken is drawn again (34 bits: rarely).
        for _ in 0..5 {
            let user_code = new_user_code();
            let row = DeviceCodeRow {
                device_hash: sha256_hex(&device_code),
                user_code: user_code.clone(),
                pool_id: c.pool_row.id.clone(),
                client_id: c.row.id.clone(),
                scopes: scopes.join(" "),
                state: 0,
                username_key: String::new(),
                auth_time: 0,
                polled_at: 0,
                expires_at: now + DEVICE_TTL_MS,
            };
            match self.store.insert_device_code(&row, now).await {
                Ok(()) => {
                    let page = format!("{}/device", self.domain_url(domain));
                    let complete = format!("{page}?user_code={user_code}");
                    return Ok(DeviceStart {
                        device_code,
                        user_code,
                        verification_uri: page,
                        verification_uri_complete: complete,
                        expires_in: DEVICE_TTL_MS / 1000,
                        interval: DEVICE_INTERVAL_S,
                    });
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(Error::from(e).into()),
            }
        }
        Err(Error::internal(Fault::Other, "no free device user code after 5 draws").into())
    }

    /// A device waiting for approval on this domain, by its user code (as
    /// typed); None when there is none (unknown, decided or expired).
    pub async fn device_pending(&self, domain: &PoolDomain, typed: &str) -> Result<Option<DevicePending>> {
        if !self.extensions.device_grant {
            return Ok(None);
        }
        let user_code = normalize_user_code(typed);
        let Some(row) = self.store.device_by_user_code(&domain.pool_id, &user_code, self.now()).await? else {
            return Ok(None);
        };
        if row.state != 0 {
            return Ok(None);
        }
        let client = self.resolve_client(&row.client_id).await?;
        Ok(Some(DevicePending {
            user_code,
            client_id: row.client_id,
            client_name: client.client.client_name.clone().unwrap_or_default(),
            scopes: row.scopes.split_whitespace().map(str::to_string).collect(),
        }))
    }

    /// The signed-in user approves (or denies) the device; false when it
    /// was no longer waiting.
    pub async fn device_decide(
        &self,
        domain: &PoolDomain,
        typed: &str,
        s: &SessionUser,
        approve: bool,
    ) -> Result<bool> {
        if !self.extensions.device_grant || s.user.pool_id != domain.pool_id {
            return Ok(false);
        }
        let user_code = normalize_user_code(typed);
        let state = if approve { 1 } else { 2 };
        let now = self.now();
        Ok(self.store.decide_device(&domain.pool_id, &user_code, state, &s.user.username_key, s.auth_time, now).await?)
    }

    /// The hosted sign-in that approving a device needs: its pages carry
    /// `response_type=device&user_code=...` and end back on /device.
    async fn device_sign_in(
        &self,
        domain: &PoolDomain,
        client: &Client,
        user_code: Option<&str>,
    ) -> std::result::Result<Authorization, AuthorizeError> {
        let invalid = || AuthorizeError::Page("This code is not valid or has expired.".into());
        let pending = match self.device_pending(domain, user_code.unwrap_or_default()).await {
            Ok(Some(p)) if p.client_id == client.row.id => p,
            Ok(_) => return Err(invalid()),
            Err(e) => return Err(AuthorizeError::Page(page_fault(e))),
        };
        Ok(Authorization {
            pool_id: domain.pool_id.clone(),
            client_id: client.row.id.clone(),
            client_name: pending.client_name,
            redirect_uri: format!("/device?user_code={}", pending.user_code),
            response_type: ResponseType::Device,
            scopes: pending.scopes,
            state: None,
            nonce: None,
            code_challenge: None,
            login_hint: None,
            prompt: None,
        })
    }

    /// The device grant at the token endpoint: pending, slow down, denied,
    /// expired, or (once, even under racing polls) the tokens.
    async fn device_grant_token(&self, c: &ClientCtx, req: &TokenRequest) -> std::result::Result<TokenSet, OAuthError> {
        let code =
            req.device_code.as_deref().ok_or_else(|| OAuthError::with("invalid_request", "device_code is required"))?;
        let hash = sha256_hex(code);
        let now = self.now();
        let row = self.store.poll_device(&hash, now).await.map_err(Error::from)?;
        let row = row.filter(|r| r.client_id == c.row.id && r.pool_id == c.pool_row.id);
        let Some(row) = row else { return Err(OAuthError::new("invalid_grant")) };
        if row.expires_at <= now {
            self.store.delete_device_code(&hash).await.map_err(Error::from)?;
            return Err(OAuthError::new("expired_token"));
        }
        match row.state {
            0 if now - row.polled_at < DEVICE_INTERVAL_S * 1000 => return Err(OAuthError::new("slow_down")),
            0 => return Err(OAuthError::new("authorization_pending")),
            2 => {
                self.store.delete_device_code(&hash).await.map_err(Error::from)?;
                return Err(OAuthError::new("access_denied"));
            }
            _ => {}
        }
        let Some(row) = self.store.take_approved_device(&hash).await.map_err(Error::from)? else {
            return Err(OAuthError::new("invalid_grant"));
        };
        let scopes = row.scopes.split_whitespace().map(str::to_string).collect();
        self.granted_tokens(c, &row.username_key, row.auth_time, scopes, None).await
    }
}

fn token_set(t: AuthenticationResultType) -> TokenSet {
    TokenSet {
        access_token: t.access_token.unwrap_or_default(),
        id_token: t.id_token,
        refresh_token: t.refresh_token,
        expires_in: i64::from(t.expires_in.unwrap_or_default()),
    }
}

/// An internal fault met while checking a page request: logged, and shown
/// as Cognito's generic page text.
fn page_fault(e: Error) -> String {
    if let Some(cause) = e.cause() {
        tracing::error!(cause = %cause, "internal error");
    }
    "An error was encountered with the requested page.".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_uri_query_and_encode() {
        assert_eq!(
            redirect_to("https://a.example/cb", &[("code", "x y"), ("state", "a=b&c")], false),
            "https://a.example/cb?code=x+y&state=a%3Db%26c"
        );
        assert_eq!(
            redirect_to("https://a.example/cb?k=1", &[("error", "e")], false),
            "https://a.example/cb?k=1&error=e"
        );
        assert_eq!(redirect_to("myapp://cb", &[("access_token", "t")], true), "myapp://cb#access_token=t");
    }

    #[test]
    fn pkce_s256_matches_rfc_7636() {
        // RFC 7636, appendix B.
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
