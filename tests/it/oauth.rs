//! The hosted OAuth 2.0 / OIDC endpoints of a pool domain, spoken to over
//! HTTP as a browser and a relying party speak to them: the Host header
//! names the domain (`shop.auth.us-east-1.localhost`), cookies are carried
//! by hand.

use crate::signin::{Fixture, confirmed_user};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use cognate_testkit::{Backend, Response, raw_http};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const CALLBACK: &str = "https://app.example.com/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

struct Hosted {
    f: Fixture,
    host: String,
    secret: String,
}

fn enc(s: &str) -> String {
    cognate_wire::form::encode(s)
}

fn claims(token: &str) -> Value {
    serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap()
}

fn query_of(location: &str) -> BTreeMap<String, String> {
    let q = location.split_once(['?', '#']).map_or("", |(_, q)| q);
    cognate_wire::form::pairs(q.as_bytes()).into_iter().collect()
}

/// A cookie the response sets, by name.
fn set_cookie(r: &Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl Hosted {
    async fn get(&self, path: &str, cookies: &str) -> Response {
        let mut headers = vec![("host".to_string(), self.host.clone())];
        if !cookies.is_empty() {
            headers.push(("cookie".into(), cookies.into()));
        }
        raw_http(self.f.server.addr, "GET", path, &headers, b"").await
    }

    async fn post(&self, path: &str, cookies: &str, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Response {
        let mut headers = vec![
            ("host".to_string(), self.host.clone()),
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
        ];
        if !cookies.is_empty() {
            headers.push(("cookie".into(), cookies.into()));
        }
        if let Some((id, secret)) = basic {
            headers.push(("authorization".into(), format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))));
        }
        let body = cognate_wire::form::encode_pairs(form.iter().copied());
        raw_http(self.f.server.addr, "POST", path, &headers, body.as_bytes()).await
    }

    fn authorize_query(&self, extra: &str) -> String {
        format!(
            "response_type=code&client_id={}&redirect_uri={}&scope={}&state=st%3D1&nonce=n-0S6&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
            self.f.client,
            enc(CALLBACK),
            enc("openid email inventory/read"),
        )
    }

    /// The sign-in page's CSRF cookie and form token, then the post.
    async fn sign_in(&self, query: &str, password: &str) -> Response {
        let page = self.get(&format!("/login?{query}"), "").await;
        assert_eq!(page.status, 200, "{}", page.text());
        let csrf = set_cookie(&page, "XSRF-TOKEN").expect("an XSRF-TOKEN cookie");
        assert!(page.text().contains(&format!("name=\"_csrf\" value=\"{csrf}\"")));
        self.post(
            &format!("/login?{query}"),
            &format!("XSRF-TOKEN={csrf}"),
            &[("_csrf", &csrf), ("username", "ann"), ("password", password)],
            None,
        )
        .await
    }

    async fn redeem(&self, code: &str, verifier: &str) -> Response {
        self.post(
            "/oauth2/token",
            "",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
            ],
            Some((&self.f.client, &self.secret)),
        )
        .await
    }
}

async fn hosted(backend: Backend) -> Hosted {
    hosted_on(cognate_testkit::TestServer::start(backend).await).await
}

/// The hosted fixture on a server already started.
async fn hosted_on(server: cognate_testkit::TestServer) -> Hosted {
    let flows = json!({"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]});
    let f = crate::signin::fixture_on(server, flows).await;
    confirmed_user(&f, "ann", "ann@example.com").await;
    let admin = f.server.client("us-east-1");
    let r = admin
        .idp("CreateResourceServer", json!({"UserPoolId": f.pool, "Identifier": "inventory", "Name": "Inventory", "Scopes": [{"ScopeName": "read", "ScopeDescription": "Read"}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin.idp("CreateUserPoolDomain", json!({"UserPoolId": f.pool, "Domain": "shop"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A second client, with a secret, for the browser flow.
    let r = admin
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": f.pool, "ClientName": "web", "GenerateSecret": true,
                   "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["code", "implicit"],
                   "AllowedOAuthScopes": ["openid", "email", "inventory/read"],
                   "CallbackURLs": [CALLBACK], "LogoutURLs": ["https://app.example.com/bye"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let c = &r.json()["UserPoolClient"];
    let client = c["ClientId"].as_str().unwrap().to_string();
    let secret = c["ClientSecret"].as_str().unwrap().to_string();
    let host = format!("shop.auth.us-east-1.localhost:{}", f.server.addr.port());
    Hosted { f: Fixture { client, ..f }, host, secret }
}

#[tokio::test]
async fn code_flow_with_pkce_sso_refresh_revoke_and_logout() {
    for backend in Backend::all() {
        let h = hosted(backend).await;
        let q = h.authorize_query("");

        // No session: the authorize endpoint sends the browser to /login.
        let r = h.get(&format!("/oauth2/authorize?{q}"), "").await;
        assert_eq!(r.status, 302, "{}", r.text());
        assert_eq!(r.header("location"), Some(format!("/login?{q}").as_str()));

        // A post without the CSRF cookie's token is refused.
        let r = h
            .post(
                &format!("/login?{q}"),
                "XSRF-TOKEN=abc",
                &[("_csrf", "abd"), ("username", "ann"), ("password", "Passw0rd!")],
                None,
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.text());

        // A wrong password shows the form again with Cognito's message.
        let r = h.sign_in(&q, "wrong").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("Incorrect username or password."), "{}", r.text());

        // Signed in: back to the client with a code and the state.
        let r = h.sign_in(&q, "Passw0rd!").await;
        assert_eq!(r.status, 302, "{}", r.text());
        let location = r.header("location").unwrap().to_string();
        assert!(location.starts_with(&format!("{CALLBACK}?code=")), "{location}");
        let back = query_of(&location);
        assert_eq!(back["state"], "st=1");
        let session = set_cookie(&r, "cognito").expect("a session cookie");
        let cookie_attrs = r.headers.iter().find(|(k, v)| k == "set-cookie" && v.starts_with("cognito=")).unwrap();
        assert!(cookie_attrs.1.contains("HttpOnly") && cookie_attrs.1.contains("Max-Age=3600"));

        // The wrong PKCE verifier spends the code; the code cannot be used again.
        let r = h.redeem(&back["code"], "wrong-verifier-wrong-verifier-wrong-verifier").await;
        assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_grant")), "{}", r.text());
        let r = h.redeem(&back["code"], VERIFIER).await;
        assert_eq!(r.json()["error"], "invalid_grant");

        // With the session, authorize answers at once (single sign-on).
        let r = h.get(&format!("/oauth2/authorize?{q}"), &format!("cognito={session}")).await;
        assert_eq!(r.status, 302, "{}", r.text());
        let code = query_of(r.header("location").unwrap())["code"].clone();
        let r = h.redeem(&code, VERIFIER).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let t = r.json();
        assert_eq!(t["token_type"], "Bearer");
        assert_eq!(t["expires_in"], 3600);
        let access = claims(t["access_token"].as_str().unwrap());
        assert_eq!(access["scope"], "openid email inventory/read");
        assert_eq!((access["version"].as_i64(), access.get("aud")), (Some(2), None));
        let id_token = t["id_token"].as_str().unwrap();
        let id = claims(id_token);
        assert_eq!((id["aud"].as_str(), id["nonce"].as_str()), (Some(h.f.client.as_str()), Some("n-0S6")));
        let digest = <sha2::Sha256 as sha2::Digest>::digest(t["access_token"].as_str().unwrap().as_bytes());
        assert_eq!(id["at_hash"].as_str(), Some(B64.encode(&digest[..16]).as_str()));

        // userInfo: what the scopes allow; the API refuses a token without
        // aws.cognito.signin.user.admin.
        let access_token = t["access_token"].as_str().unwrap();
        let r = raw_http(
            h.f.server.addr,
            "GET",
            "/oauth2/userInfo",
            &[("host".into(), h.host.clone()), ("authorization".into(), format!("Bearer {access_token}"))],
            b"",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let info = r.json();
        assert_eq!((info["email"].as_str(), info["username"].as_str()), (Some("ann@example.com"), Some("ann")));
        assert_eq!(info["sub"], id["sub"]);
        let api = h.f.server.unsigned().idp("GetUser", json!({"AccessToken": access_token})).await;
        assert_eq!(api.error_type().as_deref(), Some("NotAuthorizedException"));

        // Refresh keeps the scopes; revocation ends the sign-in.
        let refresh = t["refresh_token"].as_str().unwrap();
        let basic = Some((h.f.client.as_str(), h.secret.as_str()));
        let r =
            h.post("/oauth2/token", "", &[("grant_type", "refresh_token"), ("refresh_token", refresh)], basic).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(claims(r.json()["access_token"].as_str().unwrap())["scope"], "openid email inventory/read");
        assert!(r.json().get("refresh_token").is_none(), "no rotation configured");
        let r = h.post("/oauth2/revoke", "", &[("token", refresh)], basic).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r =
            h.post("/oauth2/token", "", &[("grant_type", "refresh_token"), ("refresh_token", refresh)], basic).await;
        assert_eq!(r.json()["error"], "invalid_grant");
        // A wrong secret is an unknown client.
        let r = h
            .post(
                "/oauth2/token",
                "",
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
                Some((&h.f.client, "nope")),
            )
            .await;
        assert_eq!((r.status, r.json()["error"].as_str()), (401, Some("invalid_client")));

        // Logout ends the session and goes to a registered sign-out URL.
        let bye = format!("/logout?client_id={}&logout_uri={}", h.f.client, enc("https://app.example.com/bye"));
        let r = h.get(&bye, &format!("cognito={session}")).await;
        assert_eq!((r.status, r.header("location")), (302, Some("https://app.example.com/bye")));
        let r = h.get(&format!("/oauth2/authorize?{q}"), &format!("cognito={session}")).await;
        assert!(r.header("location").unwrap().starts_with("/login?"), "the session is over");
        h.f.server.stop().await;
    }
}

#[tokio::test]
async fn requests_cognito_refuses() {
    let h = hosted(Backend::all().remove(0)).await;
    // An unregistered redirect URI is never redirected to.
    let q = format!("response_type=code&client_id={}&redirect_uri={}", h.f.client, enc("https://evil.example/cb"));
    let r = h.get(&format!("/oauth2/authorize?{q}"), "").await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    assert!(r.text().contains("redirect_mismatch"));
    assert!(r.header("content-security-policy").unwrap().contains("default-src 'none'"));
    // Errors after the redirect URI checked go back to it.
    for (extra, error) in [("&scope=phone", "invalid_request"), ("&code_challenge_method=plain", "invalid_request")] {
        let r = h
            .get(
                &format!(
                    "/oauth2/authorize?{}{extra}",
                    h.authorize_query("").replace("&code_challenge_method=S256", "")
                ),
                "",
            )
            .await;
        let location = r.header("location").unwrap_or_default().to_string();
        assert!(location.starts_with(CALLBACK), "{extra}: {location}");
        assert_eq!(query_of(&location)["error"], error, "{extra}");
    }
    let r = h
        .get(
            &format!(
                "/oauth2/authorize?{}",
                h.authorize_query("").replace("response_type=code", "response_type=id_token")
            ),
            "",
        )
        .await;
    assert_eq!(query_of(r.header("location").unwrap())["error"], "unsupported_response_type");
    // prompt=none without a session.
    let r = h.get(&format!("/oauth2/authorize?{}&prompt=none", h.authorize_query("")), "").await;
    assert_eq!(query_of(r.header("location").unwrap())["error"], "login_required");
    // The token endpoint: unknown grant, no client, a JSON body.
    let r = h.post("/oauth2/token", "", &[("grant_type", "password")], Some((&h.f.client, &h.secret))).await;
    assert_eq!(r.json()["error"], "unsupported_grant_type");
    let r = h.post("/oauth2/token", "", &[("grant_type", "authorization_code"), ("code", "x")], None).await;
    assert_eq!(r.json()["error"], "invalid_request");
    let r = raw_http(
        h.f.server.addr,
        "POST",
        "/oauth2/token",
        &[("host".into(), h.host.clone()), ("content-type".into(), "application/json".into())],
        b"{}",
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_request");
    // An oversized form is refused, not read.
    let big = vec![b'a'; 200 * 1024];
    let r = raw_http(
        h.f.server.addr,
        "POST",
        "/oauth2/token",
        &[("host".into(), h.host.clone()), ("content-type".into(), "application/x-www-form-urlencoded".into())],
        &big,
    )
    .await;
    assert_eq!(r.status, 413);
    // userInfo without a token, and with an API sign-in's token (no openid).
    let r = raw_http(h.f.server.addr, "GET", "/oauth2/userInfo", &[("host".into(), h.host.clone())], b"").await;
    assert_eq!(r.status, 400);
    assert!(r.header("www-authenticate").unwrap().contains("invalid_request"));
    let api = h.f.server.unsigned();
    let signed_in = fixture_token(&h, &api).await;
    let r = raw_http(
        h.f.server.addr,
        "GET",
        "/oauth2/userInfo",
        &[("host".into(), h.host.clone()), ("authorization".into(), format!("Bearer {signed_in}"))],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    // An unknown domain is not served: the API answers instead.
    let r = raw_http(
        h.f.server.addr,
        "GET",
        "/oauth2/authorize",
        &[("host".into(), format!("nope.auth.us-east-1.localhost:{}", h.f.server.addr.port()))],
        b"",
    )
    .await;
    assert_eq!(r.status, 404);
    h.f.server.stop().await;
}

async fn fixture_token(h: &Hosted, api: &cognate_testkit::Requester) -> String {
    let admin = h.f.server.client("us-east-1");
    let r = admin
        .idp("CreateUserPoolClient", json!({"UserPoolId": h.f.pool, "ClientName": "api", "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}))
        .await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let r = api.idp("InitiateAuth", crate::signin::password_auth(&client, "ann", "Passw0rd!")).await;
    r.json()["AuthenticationResult"]["AccessToken"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_code_is_redeemed_once_under_racing_requests() {
    for backend in Backend::all() {
        let h = hosted(backend).await;
        let q = h.authorize_query("");
        let r = h.sign_in(&q, "Passw0rd!").await;
        let code = query_of(r.header("location").unwrap())["code"].clone();
        let h = std::sync::Arc::new(h);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (h, code) = (h.clone(), code.clone());
            tasks.push(tokio::spawn(async move { h.redeem(&code, VERIFIER).await.status }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap() == 200);
        }
        assert_eq!(ok, 1);
        match std::sync::Arc::try_unwrap(h) {
            Ok(h) => h.f.server.stop().await,
            Err(_) => panic!("tasks still hold the fixture"),
        }
    }
}

#[tokio::test]
async fn implicit_grant_and_client_credentials() {
    let h = hosted(Backend::all().remove(0)).await;
    // Implicit: tokens in the fragment, never a refresh token.
    let q = format!("response_type=token&client_id={}&redirect_uri={}&scope=openid&state=s", h.f.client, enc(CALLBACK));
    let r = h.sign_in(&q, "Passw0rd!").await;
    let location = r.header("location").unwrap().to_string();
    assert!(location.starts_with(&format!("{CALLBACK}#access_token=")), "{location}");
    let frag = query_of(&location);
    assert!(frag.contains_key("id_token") && !frag.contains_key("refresh_token"));
    assert_eq!((frag["token_type"].as_str(), frag["state"].as_str()), ("Bearer", "s"));

    // Client credentials: a machine client with a secret and custom scopes.
    let admin = h.f.server.client("us-east-1");
    let r = admin
        .idp(
            "CreateUserPoolClient",
            json!({"UserPoolId": h.f.pool, "ClientName": "m2m", "GenerateSecret": true,
            "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["client_credentials"],
            "AllowedOAuthScopes": ["inventory/read"]}),
        )
        .await;
    let c = &r.json()["UserPoolClient"];
    let (id, secret) = (c["ClientId"].as_str().unwrap(), c["ClientSecret"].as_str().unwrap());
    // client_secret_post this time.
    let r = h
        .post(
            "/oauth2/token",
            "",
            &[("grant_type", "client_credentials"), ("client_id", id), ("client_secret", secret)],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let t = r.json();
    assert!(t.get("id_token").is_none() && t.get("refresh_token").is_none());
    let access = claims(t["access_token"].as_str().unwrap());
    assert_eq!((access["sub"].as_str(), access["client_id"].as_str()), (Some(id), Some(id)));
    assert_eq!(access["scope"], "inventory/read");
    assert!(access.get("username").is_none() && access.get("aud").is_none());
    let r = h
        .post("/oauth2/token", "", &[("grant_type", "client_credentials"), ("scope", "openid")], Some((id, secret)))
        .await;
    assert_eq!(r.json()["error"], "invalid_scope");
    // The browser client may not use client credentials.
    let r = h.post("/oauth2/token", "", &[("grant_type", "client_credentials")], Some((&h.f.client, &h.secret))).await;
    assert_eq!(r.json()["error"], "unauthorized_client");

    // Discovery lists the domain's endpoints.
    let r =
        raw_http(h.f.server.addr, "GET", &format!("/{}/.well-known/openid-configuration", h.f.pool), &[], b"").await;
    let doc = r.json();
    let base = format!("http://shop.auth.us-east-1.localhost:{}", h.f.server.addr.port());
    assert_eq!(doc["token_endpoint"], format!("{base}/oauth2/token"));
    assert_eq!(doc["end_session_endpoint"], format!("{base}/logout"));
    h.f.server.stop().await;
}

/// One HTTP/1.1 exchange over TLS, trusting the test certificate, with the
/// TLS server name (SNI) and Host `host`.
async fn tls_get(addr: std::net::SocketAddr, host: &str, path: &str) -> String {
    tls_get_trusting(&tls_file("login.pem"), addr, host, path).await.expect("TLS handshake")
}

/// One HTTP/1.1 exchange over TLS trusting only the CA in `ca` (PEM), or
/// the handshake's error.
async fn tls_get_trusting(ca: &str, addr: std::net::SocketAddr, host: &str, path: &str) -> std::io::Result<String> {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(host.split(':').next().unwrap().to_string()).unwrap();
    let mut tls = connector.connect(name, tcp).await?;
    let head = format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n");
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tls.read_to_end(&mut buf).await;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

#[tokio::test]
async fn a_development_certificate_is_trusted_through_its_ca_for_local_names() {
    let dir = std::env::temp_dir().join(format!("cognate-dev-tls-{}", cognate_crypto::ids::uuid_v4()));
    let dev = cognate_server::tls::dev_certificate(&dir, "localhost", "us-east-1").unwrap();
    let ca = std::fs::read_to_string(&dev.ca).unwrap();
    let server = cognate_testkit::TestServer::start_tls(
        Backend::all().remove(0),
        &dev.cert.display().to_string(),
        &dev.key.display().to_string(),
    )
    .await;
    let port = server.addr.port();
    let ca_path = dev.ca.display().to_string();
    for host in ["localhost", "shop.auth.us-east-1.localhost", "shop.auth.eu-central-1.localhost"] {
        let r = tls_get_trusting(&ca_path, server.addr, &format!("{host}:{port}"), "/health").await;
        assert!(r.as_ref().is_ok_and(|r| r.starts_with("HTTP/1.1 ")), "{host}: {r:?}");
    }
    // Names the certificate does not hold are refused by the client.
    for host in ["example.com", "a.b.auth.us-east-1.localhost"] {
        let r = tls_get_trusting(&ca_path, server.addr, &format!("{host}:{port}"), "/health").await;
        assert!(r.is_err(), "{host}: {r:?}");
    }
    server.stop().await;
    // The CA is kept: a second start makes a new certificate from it.
    let again = cognate_server::tls::dev_certificate(&dir, "localhost", "us-east-1").unwrap();
    assert_eq!(std::fs::read_to_string(&again.ca).unwrap(), ca);
    let server = cognate_testkit::TestServer::start_tls(
        Backend::all().remove(0),
        &again.cert.display().to_string(),
        &again.key.display().to_string(),
    )
    .await;
    let r = tls_get_trusting(&ca_path, server.addr, &format!("localhost:{}", server.addr.port()), "/health").await;
    assert!(r.is_ok_and(|r| r.starts_with("HTTP/1.1 200")));
    server.stop().await;
    #[cfg(unix)]
    for key in ["cognate-dev-ca-key.pem", "localhost-key.pem"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join(key)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tls_file(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("it/fixtures/tls").join(name).display().to_string()
}

#[tokio::test]
async fn the_hosted_endpoints_over_tls() {
    use cognate_wire::idp::*;
    let server = cognate_testkit::TestServer::start_tls(
        Backend::all().remove(0),
        &tls_file("login.pem"),
        &tls_file("login.key"),
    )
    .await;
    let idp = &server.idp;
    let pool = idp
        .create_user_pool("us-east-1", CreateUserPoolRequest { pool_name: "tls".into(), ..Default::default() })
        .await
        .unwrap()
        .user_pool
        .unwrap()
        .id
        .unwrap();
    idp.create_user_pool_domain(CreateUserPoolDomainRequest {
        user_pool_id: pool.clone(),
        domain: "secure".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = idp
        .create_user_pool_client(CreateUserPoolClientRequest {
            user_pool_id: pool.clone(),
            client_name: "web".into(),
            allowed_o_auth_flows_user_pool_client: Some(true),
            allowed_o_auth_flows: Some(vec![OAuthFlowType::Code]),
            allowed_o_auth_scopes: Some(vec!["openid".into()]),
            callback_ur_ls: Some(vec![CALLBACK.into()]),
            ..Default::default()
        })
        .await
        .unwrap()
        .user_pool_client
        .unwrap()
        .client_id
        .unwrap();
    let port = server.addr.port();
    let host = format!("secure.auth.us-east-1.localhost:{port}");
    let q = format!("response_type=code&client_id={client}&redirect_uri={}", enc(CALLBACK));
    let r = tls_get(server.addr, &host, &format!("/oauth2/authorize?{q}")).await;
    assert!(r.starts_with("HTTP/1.1 302"), "{r}");
    assert!(r.to_ascii_lowercase().contains(&format!("location: /login?{q}").to_ascii_lowercase()), "{r}");
    // The API answers over the same listener, and discovery names https URLs.
    let r =
        tls_get(server.addr, &format!("localhost:{port}"), &format!("/{pool}/.well-known/openid-configuration")).await;
    assert!(
        r.contains(&format!("\"token_endpoint\":\"https://secure.auth.us-east-1.localhost:{port}/oauth2/token\"")),
        "{r}"
    );
    // A client that connects and never says anything holds up no one.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let r = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tls_get(server.addr, &format!("localhost:{port}"), "/health"),
    )
    .await
    .expect("a handshake after a silent connection");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // A plain-text client gets no answer from the TLS listener.
    let plain = raw_http(server.addr, "GET", "/health", &[], b"").await;
    assert_ne!(plain.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn a_verify_by_link_email_confirms_through_the_domain() {
    let server = cognate_testkit::TestServer::start(Backend::all().remove(0)).await;
    let admin = server.client("us-east-1");
    let template = json!({"DefaultEmailOption": "CONFIRM_WITH_LINK", "EmailMessageByLink": "Welcome! {##Confirm my account##}", "EmailSubjectByLink": "Confirm"});
    let r = admin
        .idp(
            "CreateUserPool",
            json!({"PoolName": "links", "AutoVerifiedAttributes": ["email"], "VerificationMessageTemplate": template}),
        )
        .await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    let r = admin.idp("CreateUserPoolClient", json!({"UserPoolId": pool, "ClientName": "app"})).await;
    let client = r.json()["UserPoolClient"]["ClientId"].as_str().unwrap().to_string();
    let public = server.unsigned();
    let sign_up = json!({"ClientId": client, "Username": "lin", "Password": "Passw0rd!", "UserAttributes": [{"Name": "email", "Value": "lin@example.com"}]});
    // No domain yet: the link cannot be made, and Cognate says so.
    let r = public.idp("SignUp", sign_up.clone()).await;
    assert_eq!(r.error_type().as_deref(), Some("InvalidParameterException"), "{}", r.text());
    let r = admin.idp("CreateUserPoolDomain", json!({"UserPoolId": pool, "Domain": "links"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = public.idp("SignUp", sign_up).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let outbox = admin
        .send(cognate_testkit::Req {
            method: "GET".into(),
            path: "/_cognate/outbox?destination=lin@example.com&limit=1".into(),
            ..Default::default()
        })
        .await;
    let message = &outbox.json()["Messages"][0];
    assert_eq!(message["Subject"], "Confirm");
    let body = message["Body"].as_str().unwrap();
    let port = server.addr.port();
    let prefix = format!(
        "Welcome! <a href=\"http://links.auth.us-east-1.localhost:{port}/confirmUser?client_id={client}&amp;user_name=lin&amp;confirmation_code="
    );
    assert!(body.starts_with(&prefix) && body.ends_with("\">Confirm my account</a>"), "{body}");
    let path = body.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&");
    let path = path.split_once(&format!("{port}")).unwrap().1.to_string();
    let host = format!("links.auth.us-east-1.localhost:{port}");
    let r = raw_http(server.addr, "GET", &path, &[("host".into(), host.clone())], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Your registration has been confirmed!"));
    let user = admin.idp("AdminGetUser", json!({"UserPoolId": pool, "Username": "lin"})).await;
    assert_eq!(user.json()["UserStatus"], "CONFIRMED");
    // The link is spent.
    let r = raw_http(server.addr, "GET", &path, &[("host".into(), host)], b"").await;
    assert_eq!(r.status, 400);
    server.stop().await;
}

/// A version 3 PreTokenGeneration function for machine tokens: it adds the
/// client metadata's tenant as a claim and a scope, and tries to forge `sub`.
#[derive(Debug)]
struct MachineTokens;

impl cognate_idp::triggers::Invoker for MachineTokens {
    fn invoke<'a>(
        &'a self,
        _: &'a str,
        mut event: Value,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = cognate_idp::Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            assert_eq!(event["triggerSource"], "TokenGeneration_ClientCredentials");
            assert_eq!(event["version"], "3");
            let tenant = event["request"]["clientMetadata"]["tenant"].as_str().unwrap_or("none").to_string();
            event["response"] = json!({"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": tenant, "sub": "forged"},
                "scopesToAdd": ["inventory/write"],
            }}});
            Ok(event)
        })
    }
}

#[tokio::test]
async fn a_version_3_function_shapes_client_credentials_tokens() {
    let server =
        cognate_testkit::TestServer::start_with_invoker(Backend::all().remove(0), std::sync::Arc::new(MachineTokens))
            .await;
    let admin = server.client("us-east-1");
    let config = json!({"PreTokenGenerationConfig": {"LambdaArn": "arn:aws:lambda:us-east-1:000000000000:function:m2m", "LambdaVersion": "V3_0"}});
    let r = admin.idp("CreateUserPool", json!({"PoolName": "m2m", "LambdaConfig": config})).await;
    let pool = r.json()["UserPool"]["Id"].as_str().unwrap().to_string();
    admin.idp("CreateUserPoolDomain", json!({"UserPoolId": pool, "Domain": "machines"})).await;
    admin.idp("CreateResourceServer", json!({"UserPoolId": pool, "Identifier": "inventory", "Name": "Inventory", "Scopes": [{"ScopeName": "read", "ScopeDescription": "r"}, {"ScopeName": "write", "ScopeDescription": "w"}]})).await;
    let r = admin
        .idp("CreateUserPoolClient", json!({"UserPoolId": pool, "ClientName": "m2m", "GenerateSecret": true,
            "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["inventory/read"]}))
        .await;
    let c = &r.json()["UserPoolClient"];
    let (id, secret) = (c["ClientId"].as_str().unwrap().to_string(), c["ClientSecret"].as_str().unwrap().to_string());
    let host = format!("machines.auth.us-east-1.localhost:{}", server.addr.port());
    let body = cognate_wire::form::encode_pairs([
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("aws_client_metadata", r#"{"tenant":"acme"}"#),
    ]);
    let headers =
        [("host".to_string(), host.clone()), ("content-type".into(), "application/x-www-form-urlencoded".into())];
    let r = raw_http(server.addr, "POST", "/oauth2/token", &headers, body.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let access = claims(r.json()["access_token"].as_str().unwrap());
    assert_eq!((access["tenant"].as_str(), access["sub"].as_str()), (Some("acme"), Some(id.as_str())));
    assert_eq!(access["scope"], "inventory/read inventory/write");
    // Client metadata that is not an object of strings is refused.
    let bad = cognate_wire::form::encode_pairs([
        ("grant_type", "client_credentials"),
        ("client_id", id.as_str()),
        ("client_secret", secret.as_str()),
        ("aws_client_metadata", "[1]"),
    ]);
    let r = raw_http(server.addr, "POST", "/oauth2/token", &headers, bad.as_bytes()).await;
    assert_eq!(r.json()["error"], "invalid_request");
    server.stop().await;
}

#[tokio::test]
async fn extensions_rp_initiated_logout_and_introspection_only_when_turned_on() {
    // Off (the default): Cognito's /logout ignores post_logout_redirect_uri,
    // and there is no introspection endpoint.
    let h = hosted(Backend::all().remove(0)).await;
    let r = h.sign_in(&h.authorize_query(""), "Passw0rd!").await;
    let code = query_of(r.header("location").unwrap())["code"].clone();
    let tokens = h.redeem(&code, VERIFIER).await.json();
    let id_token = tokens["id_token"].as_str().unwrap().to_string();
    // (OIDC libraries send the client_id too.)
    let rp = format!(
        "/logout?client_id={}&id_token_hint={id_token}&post_logout_redirect_uri={}&state=s1",
        h.f.client,
        enc("https://app.example.com/bye")
    );
    let r = h.get(&rp, "").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Required String parameter &#39;redirect_uri&#39; is not present"), "{}", r.text());
    let basic = Some((h.f.client.as_str(), h.secret.as_str()));
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let r = h.post("/oauth2/introspect", "", &[("token", &access)], basic).await;
    assert_eq!(r.status, 404);
    h.f.server.stop().await;

    // On.
    let on = cognate_idp::oauth::Extensions::parse("rp-logout,introspection").unwrap();
    let server =
        cognate_testkit::TestServer::start_with_idp(Backend::all().remove(0), move |idp| idp.with_oauth_extensions(on))
            .await;
    let h = hosted_on(server).await;
    let r = h.sign_in(&h.authorize_query(""), "Passw0rd!").await;
    let session = set_cookie(&r, "cognito").unwrap();
    let code = query_of(r.header("location").unwrap())["code"].clone();
    let tokens = h.redeem(&code, VERIFIER).await.json();
    let (id_token, access, refresh) = (
        tokens["id_token"].as_str().unwrap().to_string(),
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
    );
    let basic = Some((h.f.client.as_str(), h.secret.as_str()));
    let r = h.post("/oauth2/introspect", "", &[("token", &access)], basic).await;
    let info = r.json();
    assert_eq!(
        (info["active"].as_bool(), info["client_id"].as_str()),
        (Some(true), Some(h.f.client.as_str())),
        "{info}"
    );
    assert_eq!(info["scope"], "openid email inventory/read");
    let r = h.post("/oauth2/introspect", "", &[("token", &refresh)], basic).await;
    assert_eq!((r.json()["active"].as_bool(), r.json()["username"].as_str()), (Some(true), Some("ann")));
    let r = h.post("/oauth2/introspect", "", &[("token", "garbage")], basic).await;
    assert_eq!(r.json(), json!({"active": false}));
    let r = h.post("/oauth2/introspect", "", &[("token", &access)], Some((&h.f.client, "wrong"))).await;
    assert_eq!(r.json()["error"], "invalid_client");
    let doc = raw_http(h.f.server.addr, "GET", &format!("/{}/.well-known/openid-configuration", h.f.pool), &[], b"")
        .await
        .json();
    assert!(doc["introspection_endpoint"].as_str().unwrap().ends_with("/oauth2/introspect"));

    // RP-initiated logout: the client from the hint; only a registered URI.
    let evil = format!("/logout?id_token_hint={id_token}&post_logout_redirect_uri={}", enc("https://evil.example/"));
    assert_eq!(h.get(&evil, &format!("cognito={session}")).await.status, 400);
    let rp = format!(
        "/logout?id_token_hint={id_token}&post_logout_redirect_uri={}&state=s1",
        enc("https://app.example.com/bye")
    );
    let r = h.get(&rp, &format!("cognito={session}")).await;
    assert_eq!((r.status, r.header("location")), (302, Some("https://app.example.com/bye?state=s1")));
    let r = h.get(&format!("/oauth2/authorize?{}", h.authorize_query("")), &format!("cognito={session}")).await;
    assert!(r.header("location").unwrap().starts_with("/login?"), "the session is over");
    // A forged hint is refused.
    let forged = format!("{}x", &id_token[..id_token.len() - 1]);
    let r = h
        .get(
            &format!("/logout?id_token_hint={forged}&post_logout_redirect_uri={}", enc("https://app.example.com/bye")),
            "",
        )
        .await;
    assert_eq!(r.status, 400);
    h.f.server.stop().await;
}

impl Hosted {
    async fn device_start(&self, scope: &str) -> Response {
        let basic = Some((self.f.client.as_str(), self.secret.as_str()));
        self.post("/oauth2/device_authorization", "", &[("scope", scope)], basic).await
    }

    async fn device_poll(&self, device_code: &str) -> Response {
        let basic = Some((self.f.client.as_str(), self.secret.as_str()));
        let form = [("grant_type", cognate_idp::oauth::DEVICE_GRANT), ("device_code", device_code)];
        self.post("/oauth2/token", "", &form, basic).await
    }

    /// The /device approval page for a signed-in session, then the decision.
    async fn device_decide(&self, user_code: &str, session: &str, decision: &str) -> Response {
        let page = self.get(&format!("/device?user_code={}", enc(user_code)), &format!("cognito={session}")).await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains(&format!("<code id=\"user-code\">{user_code}</code>")), "{}", page.text());
        let csrf = set_cookie(&page, "XSRF-TOKEN").unwrap();
        let cookies = format!("cognito={session}; XSRF-TOKEN={csrf}");
        let form = [("_csrf", csrf.as_str()), ("user_code", user_code), ("decision", decision)];
        self.post("/device", &cookies, &form, None).await
    }
}

#[tokio::test]
async fn the_device_grant_when_turned_on() {
    // Off (the default): no endpoint, no grant type.
    let h = hosted(Backend::all().remove(0)).await;
    assert_eq!(h.device_start("openid").await.status, 404);
    assert_eq!(h.device_poll("anything").await.json()["error"], "unsupported_grant_type");
    assert_eq!(h.get("/device", "").await.status, 404);
    h.f.server.stop().await;

    for backend in Backend::all() {
        device_grant_on(backend).await;
    }
}

async fn device_grant_on(backend: Backend) {
    let on = cognate_idp::oauth::Extensions::parse("device-grant,access-token-aud").unwrap();
    let server = cognate_testkit::TestServer::start_with_idp(backend, move |idp| idp.with_oauth_extensions(on)).await;
    let h = hosted_on(server).await;
    assert_eq!(h.device_start("openid admin/all").await.json()["error"], "invalid_scope");
    let r = h.device_start("openid inventory/read").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let d = r.json();
    let (device_code, user_code) = (d["device_code"].as_str().unwrap(), d["user_code"].as_str().unwrap());
    assert!(
        user_code.len() == 9
            && user_code.chars().enumerate().all(|(i, c)| if i == 4 {
                c == '-'
            } else {
                "BCDFGHJKLMNPQRSTVWXZ".contains(c)
            }),
        "{user_code}"
    );
    assert_eq!(d["verification_uri"], format!("http://{}/device", h.host));
    assert_eq!(d["verification_uri_complete"], format!("http://{}/device?user_code={user_code}", h.host));
    assert_eq!((d["expires_in"].as_i64(), d["interval"].as_i64()), (Some(600), Some(5)));
    let doc = raw_http(h.f.server.addr, "GET", &format!("/{}/.well-known/openid-configuration", h.f.pool), &[], b"")
        .await
        .json();
    assert_eq!(doc["device_authorization_endpoint"], format!("http://{}/oauth2/device_authorization", h.host));

    // The page speaks the language its links choose, and remembers it.
    let r = h.get("/device?lang=de", "").await;
    assert_eq!((r.status, set_cookie(&r, "lang").as_deref()), (200, Some("de")));
    assert!(r.text().contains("<html lang=\"de\">"), "{}", r.text());

    // Polling: pending, then too fast.
    assert_eq!(h.device_poll(device_code).await.json()["error"], "authorization_pending");
    assert_eq!(h.device_poll(device_code).await.json()["error"], "slow_down");
    h.f.server.clock.advance(5_000);
    assert_eq!(h.device_poll(device_code).await.json()["error"], "authorization_pending");

    // The person types the code (in any case, without the dash), signs in,
    // comes back to /device and allows the device.
    let typed = user_code.replace('-', "").to_lowercase();
    let r = h.get(&format!("/device?user_code={typed}"), "").await;
    assert_eq!(r.status, 302, "{}", r.text());
    let login = r.header("location").unwrap().to_string();
    assert_eq!(login, format!("/login?client_id={}&response_type=device&user_code={user_code}", h.f.client));
    let r = h.sign_in(login.strip_prefix("/login?").unwrap(), "Passw0rd!").await;
    assert_eq!((r.status, r.header("location")), (302, Some(format!("/device?user_code={user_code}").as_str())));
    let session = set_cookie(&r, "cognito").unwrap();
    // A decision without the CSRF token is refused.
    let r = h
        .post("/device", &format!("cognito={session}"), &[("user_code", user_code), ("decision", "allow")], None)
        .await;
    assert_eq!(r.status, 403);
    let r = h.device_decide(user_code, &session, "allow").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Your device is signed in."), "{}", r.text());

    // Two racing polls: exactly one gets the tokens.
    let (a, b) = tokio::join!(h.device_poll(device_code), h.device_poll(device_code));
    let (won, lost) = if a.status == 200 { (a, b) } else { (b, a) };
    assert_eq!(won.status, 200, "{}", won.text());
    assert_eq!(lost.json()["error"], "invalid_grant");
    let tokens = won.json();
    let access = claims(tokens["access_token"].as_str().unwrap());
    assert_eq!((access["username"].as_str(), access["scope"].as_str()), (Some("ann"), Some("openid inventory/read")));
    assert_eq!(access["aud"], "inventory", "the access-token-aud extension: the resource server");
    assert_eq!(claims(tokens["id_token"].as_str().unwrap())["aud"], h.f.client.as_str());
    assert!(tokens["refresh_token"].is_string());

    // A denied device is told so, and a decided code is not offered again.
    let d = h.device_start("openid").await.json();
    let (device_code, user_code) = (d["device_code"].as_str().unwrap(), d["user_code"].as_str().unwrap());
    let r = h.device_decide(user_code, &session, "deny").await;
    assert!(r.text().contains("The device was not signed in."), "{}", r.text());
    assert_eq!(h.device_poll(device_code).await.json()["error"], "access_denied");
    let r = h.get(&format!("/device?user_code={user_code}"), &format!("cognito={session}")).await;
    assert!(r.text().contains("This code is not valid or has expired."), "{}", r.text());
    // The sign-in pages refuse a device code that is not waiting.
    let r = h.get(&format!("/login?client_id={}&response_type=device&user_code=BBBB-BBBB", h.f.client), "").await;
    assert_eq!(r.status, 400);

    // Ten minutes without approval: expired.
    let d = h.device_start("openid").await.json();
    let device_code = d["device_code"].as_str().unwrap();
    h.f.server.clock.advance(600_000);
    assert_eq!(h.device_poll(device_code).await.json()["error"], "expired_token");
    assert_eq!(h.device_poll(device_code).await.json()["error"], "invalid_grant");
    h.f.server.stop().await;
}

/// The value of the hidden field `name` in a page's form.
fn hidden_field(page: &str, name: &str) -> String {
    let start = format!("name=\"{name}\" value=\"");
    let at = page.find(&start).unwrap_or_else(|| panic!("no {name} in {page}")) + start.len();
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

impl Hosted {
    /// Signs `name` up on the hosted page; the confirmation page's text.
    async fn hosted_sign_up(&self, query: &str, name: &str) -> String {
        let page = self.get(&format!("/signup?{query}"), "").await;
        assert_eq!(page.status, 200, "{}", page.text());
        let csrf = set_cookie(&page, "XSRF-TOKEN").unwrap();
        let email = format!("{name}@example.com");
        let form = [("_csrf", csrf.as_str()), ("username", name), ("attr:email", &email), ("password", "Passw0rd!")];
        let r = self.post(&format!("/signup?{query}"), &format!("XSRF-TOKEN={csrf}"), &form, None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    }

    /// Posts the confirmation page for `name` with `continuation`.
    async fn hosted_confirm(&self, query: &str, name: &str, continuation: &str) -> Response {
        let admin = self.f.server.client("us-east-1");
        let code = crate::account::latest_code(&admin, &format!("{name}@example.com")).await;
        let csrf = "t0k3n";
        let form = [("_csrf", csrf), ("username", name), ("code", &code), ("continuation", continuation)];
        self.post(&format!("/confirm?{query}"), &format!("XSRF-TOKEN={csrf}"), &form, None).await
    }
}

#[tokio::test]
async fn a_hosted_sign_up_signs_in_once_confirmed_and_only_its_own_user() {
    let h = hosted(Backend::all().remove(0)).await;
    let q = h.authorize_query("");
    let bo = h.hosted_sign_up(&q, "bo").await;
    assert!(bo.contains("name=\"decision\" value=\"resend\" formnovalidate"), "{bo}");
    let bo_continuation = hidden_field(&bo, "continuation");
    let cy = h.hosted_sign_up(&q, "cy").await;
    assert_ne!(hidden_field(&cy, "continuation"), bo_continuation);
    // Bo's continuation does not sign Cy in: Cy is confirmed and sent to
    // the sign-in page.
    let r = h.hosted_confirm(&q, "cy", &bo_continuation).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Your account is confirmed. Sign in."), "{}", r.text());
    // Bo's own, within its validity, signs Bo in: back to the app with a code.
    let r = h.hosted_confirm(&q, "bo", &bo_continuation).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let code = query_of(r.header("location").unwrap())["code"].clone();
    let tokens = h.redeem(&code, VERIFIER).await.json();
    assert_eq!(claims(tokens["access_token"].as_str().unwrap())["username"], "bo");
    // An expired continuation (three minutes, the client's
    // AuthSessionValidity) only confirms.
    let dee = h.hosted_sign_up(&q, "dee").await;
    h.f.server.clock.advance(181_000);
    let r = h.hosted_confirm(&q, "dee", &hidden_field(&dee, "continuation")).await;
    assert!(r.text().contains("Your account is confirmed. Sign in."), "{}", r.text());
    h.f.server.stop().await;
}
