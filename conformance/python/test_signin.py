"""Sign-up and sign-in with clients nobody here wrote: pycognito (SRP, and
its own token verification against our issuer and JWKS), boto3 for the
password and refresh flows and the errors Cognito gives, and PyJWT's
PyJWKClient verifying our tokens from the served JWKS."""

import re
import urllib.parse
import uuid

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from pycognito import Cognito

from conftest import error_code, sign_request

PASSWORD = "Corr3ct-horse!"


def read_code(endpoint, destination):
    """The newest code sent to ``destination``, from the admin-only outbox."""
    url = f"{endpoint}/_cognate/outbox?destination={urllib.parse.quote(destination)}&limit=1"
    r = requests.get(url, headers=sign_request("GET", url), timeout=10)
    assert r.status_code == 200, r.text
    messages = r.json()["Messages"]
    assert messages, f"no message to {destination}"
    return re.search(r"\d{6}", messages[0]["Body"]).group(0)


@pytest.fixture
def public(make_client):
    """A cognito-idp client with no credentials at all, as an app has."""
    return make_client(unsigned=True)


@pytest.fixture
def app(cognito, pools):
    """A pool that verifies email, and a public client allowing SRP, password and refresh."""
    pool = pools(PoolName=f"signin-{uuid.uuid4().hex[:8]}", AutoVerifiedAttributes=["email"])
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


def sign_up_and_confirm(public, endpoint, client_id, username, email):
    out = public.sign_up(ClientId=client_id, Username=username, Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}])
    assert out["UserConfirmed"] is False
    assert out["CodeDeliveryDetails"] == {"Destination": f"{email[0]}***@{email.split('@')[1][0]}***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    public.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=read_code(endpoint, email))
    return out["UserSub"]


def pycognito_for(endpoint, pool_id, client_id, username=None, client_secret=None):
    return Cognito(
        pool_id,
        client_id,
        username=username,
        client_secret=client_secret,
        boto3_client_kwargs={"endpoint_url": endpoint, "aws_access_key_id": "x", "aws_secret_access_key": "x"},
    )


def test_pycognito_registers_and_signs_in_with_srp(endpoint, app, public):
    pool_id, client_id = app
    u = pycognito_for(endpoint, pool_id, client_id)
    u.set_base_attributes(email="ada@example.com")
    u.register("ada", PASSWORD)
    public.confirm_sign_up(ClientId=client_id, Username="ada", ConfirmationCode=read_code(endpoint, "ada@example.com"))

    u = pycognito_for(endpoint, pool_id, client_id, username="ada")
    u.authenticate(password=PASSWORD)  # SRP, then pycognito verifies both tokens itself
    assert u.id_claims["cognito:username"] == "ada"
    assert u.id_claims["email"] == "ada@example.com"
    assert u.access_claims["token_use"] == "access"
    assert u.id_claims["iss"] == f"{endpoint}/{pool_id}"
    user = u.get_user()
    assert user.username == "ada"
    assert user._data["email"] == "ada@example.com"

    u = pycognito_for(endpoint, pool_id, client_id, username="ada")
    with pytest.raises(ClientError) as exc:
        u.authenticate(password="Wr0ng-horse!")
    assert error_code(exc.value) == "NotAuthorizedException"


def test_pycognito_srp_with_a_client_secret(endpoint, cognito, app, public):
    pool_id, _ = app
    secret_client = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="confidential", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]
    # pycognito computes the register SECRET_HASH from the constructor's username.
    u = pycognito_for(endpoint, pool_id, secret_client["ClientId"], username="sec", client_secret=secret_client["ClientSecret"])
    u.set_base_attributes(email="sec@example.com")
    u.register("sec", PASSWORD)
    u.confirm_sign_up(read_code(endpoint, "sec@example.com"), username="sec")
    u = pycognito_for(endpoint, pool_id, secret_client["ClientId"], username="sec", client_secret=secret_client["ClientSecret"])
    u.authenticate(password=PASSWORD)
    assert u.access_claims["client_id"] == secret_client["ClientId"]
    # Refresh through pycognito (REFRESH_TOKEN_AUTH with SECRET_HASH).
    old_access = u.access_token
    u.renew_access_token()
    assert u.access_token and u.access_token != old_access


def test_password_flow_refresh_get_user_and_pyjwt(endpoint, app, public):
    pool_id, client_id = app
    sub = sign_up_and_confirm(public, endpoint, client_id, "bob", "bob@example.com")
    out = public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "bob", "PASSWORD": PASSWORD})
    result = out["AuthenticationResult"]
    assert result["TokenType"] == "Bearer" and result["ExpiresIn"] == 3600

    # An independent verifier fetches our JWKS and checks signature, audience and issuer.
    issuer = f"{endpoint}/{pool_id}"
    jwks = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    id_token = result["IdToken"]
    claims = jwt.decode(id_token, jwks.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"], audience=client_id, issuer=issuer)
    assert claims["sub"] == sub and claims["token_use"] == "id" and claims["email_verified"] is True
    access = jwt.decode(result["AccessToken"], jwks.get_signing_key_from_jwt(result["AccessToken"]).key, algorithms=["RS256"], issuer=issuer)
    assert access["client_id"] == client_id and access["username"] == "bob"
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == issuer and discovery["jwks_uri"] == f"{issuer}/.well-known/jwks.json"

    me = public.get_user(AccessToken=result["AccessToken"])
    assert me["Username"] == "bob"
    assert {"Name": "email", "Value": "bob@example.com"} in me["UserAttributes"]

    refreshed = public.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]})
    assert "RefreshToken" not in refreshed["AuthenticationResult"]
    assert public.get_user(AccessToken=refreshed["AuthenticationResult"]["AccessToken"])["Username"] == "bob"


def test_the_errors_cognito_gives(endpoint, app, public):
    pool_id, client_id = app
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client_id, Username="weak", Password="short", UserAttributes=[{"Name": "email", "Value": "weak@example.com"}])
    assert error_code(exc.value) == "InvalidPasswordException"

    public.sign_up(ClientId=client_id, Username="cal", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": "cal@example.com"}])
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client_id, Username="cal", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": "cal@example.com"}])
    assert error_code(exc.value) == "UsernameExistsException"

    code = read_code(endpoint, "cal@example.com")
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ClientError) as exc:
        public.confirm_sign_up(ClientId=client_id, Username="cal", ConfirmationCode=wrong)
    assert error_code(exc.value) == "CodeMismatchException"

    with pytest.raises(ClientError) as exc:
        public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "cal", "PASSWORD": PASSWORD})
    assert error_code(exc.value) == "UserNotConfirmedException"

    with pytest.raises(ClientError) as exc:
        public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "nobody", "PASSWORD": PASSWORD})
    assert error_code(exc.value) == "UserNotFoundException"

    public.confirm_sign_up(ClientId=client_id, Username="cal", ConfirmationCode=code)
    with pytest.raises(ClientError) as exc:
        public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "cal", "PASSWORD": "Wr0ng-horse!"})
    assert error_code(exc.value) == "NotAuthorizedException"
    assert exc.value.response["Error"]["Message"] == "Incorrect username or password."

    with pytest.raises(ClientError) as exc:
        public.get_user(AccessToken="not.a.token")
    assert error_code(exc.value) == "NotAuthorizedException"


def test_admin_created_user_completes_new_password_with_pycognito(endpoint, cognito, app):
    """AdminCreateUser with a temporary password, then pycognito's SRP sign-in
    meets NEW_PASSWORD_REQUIRED and sets the new password."""
    pool_id, client_id = app
    created = cognito.admin_create_user(
        UserPoolId=pool_id, Username="eve", TemporaryPassword="Temp-horse-1!", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "eve@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )["User"]
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD" and created["Enabled"] is True

    u = pycognito_for(endpoint, pool_id, client_id, username="eve")
    u.new_password_challenge("Temp-horse-1!", PASSWORD)
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="eve")["UserStatus"] == "CONFIRMED"

    u = pycognito_for(endpoint, pool_id, client_id, username="eve")
    u.authenticate(password=PASSWORD)
    assert u.id_claims["cognito:username"] == "eve"


def test_no_password_code_or_token_reaches_the_log(endpoint, app, public, server_log):
    if server_log is None:
        pytest.skip("external server: its log is not ours to read")
    pool_id, client_id = app
    secret_password = "Zq-logcheck-9876!"
    public.sign_up(ClientId=client_id, Username="lg", Password=secret_password, UserAttributes=[{"Name": "email", "Value": "lg@example.com"}])
    code = read_code(endpoint, "lg@example.com")
    public.confirm_sign_up(ClientId=client_id, Username="lg", ConfirmationCode=code)
    result = public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "lg", "PASSWORD": secret_password})["AuthenticationResult"]
    public.get_user(AccessToken=result["AccessToken"])
    with pytest.raises(ClientError):
        public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "lg", "PASSWORD": "Wrong-" + secret_password})
    log = server_log.read_text(errors="replace")
    assert "request" in log, "the server logs requests at all"
    for secret in (secret_password, result["AccessToken"], result["IdToken"], result["RefreshToken"]):
        assert secret not in log
    # The code as a value of its own (not inside a timestamp or a number).
    assert not re.search(rf"(?<![\d.=]){code}(?!\d)", log)
