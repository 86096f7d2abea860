"""The hosted OAuth 2.0 / OIDC endpoints as a relying party uses them, with
Authlib (nobody here wrote it): discovery, the authorization-code flow with
PKCE (a `requests` session plays the browser, which needs no JavaScript on
Cognate's pages), the ID token checked by Authlib's own OIDC rules (iss,
aud, exp, nonce, at_hash), userInfo, refresh, revocation, and the
client-credentials grant.

Browsers resolve every `*.localhost` name to this machine; this process's
resolver does not, so the tests map those names to 127.0.0.1 as a browser
would (nothing else about the network is changed).
"""

import re
import socket
import urllib.parse

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

from conftest import unique_name

CALLBACK = "https://app.example.com/callback"


@pytest.fixture(autouse=True)
def localhost_names(monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def oauth_pool(cognito, pool, endpoint):
    pool_id = pool["Id"]
    prefix = unique_name("rp").lower().replace("_", "-")
    cognito.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    cognito.create_resource_server(UserPoolId=pool_id, Identifier="reports", Name="Reports",
                                   Scopes=[{"ScopeName": "read", "ScopeDescription": "Read reports"}])
    web = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", GenerateSecret=True, AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "email", "profile", "reports/read"],
        CallbackURLs=[CALLBACK], EnableTokenRevocation=True,
    )["UserPoolClient"]
    machine = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="batch", GenerateSecret=True, AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["reports/read"],
    )["UserPoolClient"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="rita", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "rita@example.com"},
                                              {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="rita", Password="Rp-Passw0rd!", Permanent=True)
    discovery = requests.get(f"{endpoint}/{pool_id}/.well-known/openid-configuration", timeout=10).json()
    return {"pool": pool_id, "web": web, "machine": machine, "discovery": discovery}


def _browser_sign_in(authorize_url, username, password):
    """A browser without JavaScript: follow to the sign-in page, post the
    form with its CSRF token, and return where the server sends it back."""
    browser = requests.Session()
    r = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert r.status_code == 302, r.text
    login = urllib.parse.urljoin(authorize_url, r.headers["Location"])
    page = browser.get(login, timeout=10)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    r = browser.post(urllib.parse.urljoin(login, action), allow_redirects=False, timeout=10,
                     data={"_csrf": csrf, "username": username, "password": password})
    assert r.status_code == 302, r.text
    return r.headers["Location"]


def test_discovery_points_at_the_domain(oauth_pool, endpoint):
    d = oauth_pool["discovery"]
    assert d["issuer"] == f"{endpoint}/{oauth_pool['pool']}"
    for key in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "revocation_endpoint",
                "end_session_endpoint"):
        assert ".auth.us-east-1.localhost:" in d[key], d[key]
    assert d["response_types_supported"] == ["code", "token"]


def test_authorization_code_flow_with_authlib(oauth_pool):
    d, web = oauth_pool["discovery"], oauth_pool["web"]
    client = OAuth2Session(web["ClientId"], web["ClientSecret"], scope="openid email reports/read",
                           redirect_uri=CALLBACK, code_challenge_method="S256",
                           token_endpoint_auth_method="client_secret_basic")
    verifier = "v" * 64
    nonce = "n-" + unique_name()
    url, state = client.create_authorization_url(d["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    back = _browser_sign_in(url, "rita", "Rp-Passw0rd!")
    assert back.startswith(CALLBACK + "?")
    token = client.fetch_token(d["token_endpoint"], authorization_response=back, code_verifier=verifier)
    assert token["token_type"] == "Bearer" and token["refresh_token"]

    # Authlib's OIDC checks of the ID token, against the published keys.
    keys = JsonWebKey.import_key_set(requests.get(d["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"values": [d["issuer"]]}},
                        claims_params={"nonce": nonce, "client_id": web["ClientId"],
                                       "access_token": token["access_token"]})
    claims.validate()
    assert claims["cognito:username"] == "rita" and claims["email"] == "rita@example.com"

    info = client.get(d["userinfo_endpoint"], timeout=10).json()
    assert info["email"] == "rita@example.com" and info["sub"] == claims["sub"] and info["username"] == "rita"

    refreshed = client.refresh_token(d["token_endpoint"], refresh_token=token["refresh_token"])
    assert refreshed["access_token"] != token["access_token"]
    client.revoke_token(d["revocation_endpoint"], token["refresh_token"], token_type_hint="refresh_token")
    r = requests.post(d["token_endpoint"], auth=(web["ClientId"], web["ClientSecret"]), timeout=10,
                      data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def test_client_credentials_with_authlib(oauth_pool):
    d, machine = oauth_pool["discovery"], oauth_pool["machine"]
    client = OAuth2Session(machine["ClientId"], machine["ClientSecret"], scope="reports/read")
    token = client.fetch_token(d["token_endpoint"], grant_type="client_credentials")
    assert set(token) >= {"access_token", "token_type", "expires_in"} and "refresh_token" not in token
    keys = JsonWebKey.import_key_set(requests.get(d["jwks_uri"], timeout=10).json())
    claims = jwt.decode(token["access_token"], keys)
    assert claims["sub"] == machine["ClientId"] and claims["scope"] == "reports/read"
    assert claims["token_use"] == "access" and "aud" not in claims


def test_a_wrong_redirect_uri_is_never_followed(oauth_pool):
    d, web = oauth_pool["discovery"], oauth_pool["web"]
    url = d["authorization_endpoint"] + "?" + urllib.parse.urlencode({
        "response_type": "code", "client_id": web["ClientId"], "redirect_uri": "https://evil.example/cb"})
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 400 and "Location" not in r.headers
