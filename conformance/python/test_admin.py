"""The operator's side of a user pool, driven by boto3 and the AWS CLI v1:
creating users with and without an emailed invitation, disabling and
enabling them, forcing a password reset, searching the directory with
ListUsers filters and paging through it, and user pool groups (CRUD,
membership, and the cognito:groups / cognito:roles / cognito:preferred_role
claims in the tokens, checked with PyJWT against the pool's JWKS).

Every expectation is what Amazon Cognito does; where its exact wording is
not documented, only the error code is asserted.
"""

import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests
from botocore.exceptions import ClientError

from conftest import error_code, force_delete_pool, sign_request, status_code, unique_name

PASSWORD = "Corr3ct-horse!"
NEW_PASSWORD = "N3w-battery-staple!"
TEMP_PASSWORD = "Temp-horse-1!"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

ROLE_ADMIN = "arn:aws:iam::123456789012:role/cognate-admins"
ROLE_EDITOR = "arn:aws:iam::123456789012:role/cognate-editors"

# An invitation template whose rendering delimits the generated password, so
# the test can read it back: a temporary password never contains whitespace
# (PasswordType pattern [\S]+).
INVITE_TEMPLATE = {
    "EmailSubject": "Welcome aboard",
    "EmailMessage": "Hello {username}, your temporary password is {####} (valid for 7 days).",
}
INVITE_RE = r"Hello {username}, your temporary password is (\S+) \(valid for 7 days\)\."


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def outbox(endpoint, *, pool=None, destination=None, limit=100):
    """Messages Cognate would have sent (newest first), from the admin-only outbox."""
    query = {"limit": str(limit)}
    if pool:
        query["pool"] = pool
    if destination:
        query["destination"] = destination
    url = f"{endpoint}/_cognate/outbox?{urllib.parse.urlencode(query, quote_via=urllib.parse.quote)}"
    r = requests.get(url, headers=sign_request("GET", url), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["Messages"]


def newest_code(endpoint, destination):
    messages = outbox(endpoint, destination=destination, limit=1)
    assert messages, f"no message to {destination}"
    return re.search(r"\b\d{6}\b", messages[0]["Body"]).group(0)


def attributes(user_or_list):
    items = user_or_list if isinstance(user_or_list, list) else (
        user_or_list.get("Attributes") or user_or_list.get("UserAttributes") or [])
    return {a["Name"]: a["Value"] for a in items}


def expect_error(code, call, *args, **kwargs):
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert error_code(exc.value) == code, exc.value.response
    assert status_code(exc.value) == 400, exc.value.response
    return exc.value


def make_client(cognito, pool_id, flows=("ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH")):
    return cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="ops-app", ExplicitAuthFlows=list(flows),
    )["UserPoolClient"]["ClientId"]


def confirmed_user(cognito, pool_id, username, email, password=PASSWORD, extra=()):
    """A CONFIRMED user with a verified email, made the operator's way (no message sent)."""
    user = cognito.admin_create_user(
        UserPoolId=pool_id, Username=username, TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}, *extra],
    )["User"]
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    return attributes(user)["sub"]


def password_sign_in(public, client_id, username, password):
    return public.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password},
    )


def admin_sign_in(cognito, pool_id, client_id, username, password):
    return cognito.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )


def verified_claims(endpoint, pool_id, client_id, result):
    """(ID token claims, access token claims), both signature-checked by PyJWT
    with a key from the pool's published JWKS."""
    issuer = f"{endpoint}/{pool_id}"
    jwks = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    id_token, access_token = result["IdToken"], result["AccessToken"]
    id_claims = jwt.decode(id_token, jwks.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                           audience=client_id, issuer=issuer)
    access_claims = jwt.decode(access_token, jwks.get_signing_key_from_jwt(access_token).key, algorithms=["RS256"],
                               issuer=issuer)
    assert id_claims["token_use"] == "id" and access_claims["token_use"] == "access"
    return id_claims, access_claims


def list_all_users(cognito, pool_id, **kwargs):
    """Every user ListUsers returns, following PaginationToken."""
    users, token, pages = [], None, 0
    while True:
        args = dict(kwargs, UserPoolId=pool_id)
        if token:
            args["PaginationToken"] = token
        page = cognito.list_users(**args)
        users += page["Users"]
        pages += 1
        token = page.get("PaginationToken")
        if not token:
            return users
        assert pages < 100, "pagination does not terminate"


def usernames(users):
    return [u["Username"] for u in users]


# --------------------------------------------------------------------------
# AdminCreateUser
# --------------------------------------------------------------------------

def test_admin_create_user_emails_an_invitation_and_the_user_sets_a_new_password(endpoint, cognito, pools):
    pool_id = pools(AdminCreateUserConfig={"InviteMessageTemplate": INVITE_TEMPLATE})["Id"]
    client_id = make_client(cognito, pool_id)

    created = cognito.admin_create_user(
        UserPoolId=pool_id, Username="ivan", DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "ivan@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )["User"]
    assert created["Username"] == "ivan"
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert created["Enabled"] is True
    attrs = attributes(created)
    assert attrs["email"] == "ivan@example.com" and attrs["email_verified"] == "true"
    assert UUID_RE.match(attrs["sub"])

    # One invitation, to that address, carrying a generated temporary password.
    messages = outbox(endpoint, destination="ivan@example.com")
    assert len(messages) == 1, messages
    assert messages[0]["Subject"] == "Welcome aboard"
    match = re.fullmatch(INVITE_RE.format(username="ivan"), messages[0]["Body"])
    assert match, messages[0]["Body"]
    temporary = match.group(1)
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="ivan")["UserStatus"] == "FORCE_CHANGE_PASSWORD"

    # The temporary password signs in only as far as NEW_PASSWORD_REQUIRED.
    challenge = admin_sign_in(cognito, pool_id, client_id, "ivan", temporary)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert "AuthenticationResult" not in challenge
    assert challenge["Session"]
    assert challenge["ChallengeParameters"]["USER_ID_FOR_SRP"]

    done = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id, ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "ivan", "NEW_PASSWORD": NEW_PASSWORD},
    )
    tokens = done["AuthenticationResult"]
    assert tokens["AccessToken"] and tokens["IdToken"] and tokens["RefreshToken"]
    id_claims, _ = verified_claims(endpoint, pool_id, client_id, tokens)
    assert id_claims["cognito:username"] == "ivan"
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="ivan")["UserStatus"] == "CONFIRMED"

    # From now on the new password signs in directly.
    again = admin_sign_in(cognito, pool_id, client_id, "ivan", NEW_PASSWORD)
    assert "ChallengeName" not in again and again["AuthenticationResult"]["AccessToken"]


def test_default_invitation_names_the_user_and_the_given_temporary_password(endpoint, cognito, pools):
    pool_id = pools()["Id"]
    cognito.admin_create_user(
        UserPoolId=pool_id, Username="judy", TemporaryPassword=TEMP_PASSWORD, DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "judy@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    messages = outbox(endpoint, destination="judy@example.com")
    assert len(messages) == 1, messages
    # Cognito's default invitation: "Your username is {username} and temporary password is {####}."
    assert messages[0]["Subject"] == "Your temporary password"
    assert "judy" in messages[0]["Body"]
    assert TEMP_PASSWORD in messages[0]["Body"]


def test_suppressed_invitation_sends_nothing_and_the_temporary_password_works(endpoint, cognito, pools):
    pool_id = pools()["Id"]
    client_id = make_client(cognito, pool_id)
    created = cognito.admin_create_user(
        UserPoolId=pool_id, Username="kai", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS",
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "kai@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )["User"]
    assert created["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert outbox(endpoint, pool=pool_id) == []
    assert outbox(endpoint, destination="kai@example.com") == []

    challenge = admin_sign_in(cognito, pool_id, client_id, "kai", TEMP_PASSWORD)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_resend_sends_a_new_temporary_password_only_while_force_change_password(endpoint, cognito, pools):
    pool_id = pools(AdminCreateUserConfig={"InviteMessageTemplate": INVITE_TEMPLATE})["Id"]
    client_id = make_client(cognito, pool_id)
    cognito.admin_create_user(
        UserPoolId=pool_id, Username="lea", DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "lea@example.com"}, {"Name": "email_verified", "Value": "true"}],
    )
    first = re.fullmatch(INVITE_RE.format(username="lea"), outbox(endpoint, destination="lea@example.com")[0]["Body"]).group(1)

    resent = cognito.admin_create_user(
        UserPoolId=pool_id, Username="lea", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"],
    )["User"]
    assert resent["Username"] == "lea" and resent["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    messages = outbox(endpoint, destination="lea@example.com")
    assert len(messages) == 2, messages
    second = re.fullmatch(INVITE_RE.format(username="lea"), messages[0]["Body"]).group(1)  # newest first
    assert second != first, "RESEND issues a new temporary password"

    challenge = admin_sign_in(cognito, pool_id, client_id, "lea", second)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id, ClientId=client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "lea", "NEW_PASSWORD": NEW_PASSWORD},
    )

    # Confirmed now: there is no invitation to resend.
    expect_error("UnsupportedUserStateException", cognito.admin_create_user,
                 UserPoolId=pool_id, Username="lea", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])
    # Nor for a user who does not exist.
    expect_error("UserNotFoundException", cognito.admin_create_user,
                 UserPoolId=pool_id, Username="nobody", MessageAction="RESEND", DesiredDeliveryMediums=["EMAIL"])
    assert len(outbox(endpoint, destination="lea@example.com")) == 2


def test_creating_an_existing_username_is_username_exists(cognito, pools):
    pool_id = pools()["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="mo", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS")
    expect_error("UsernameExistsException", cognito.admin_create_user,
                 UserPoolId=pool_id, Username="mo", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS")


# --------------------------------------------------------------------------
# AdminDisableUser / AdminEnableUser
# --------------------------------------------------------------------------

def test_disable_refuses_sign_in_and_existing_tokens_enable_restores(cognito, unsigned_client, pools):
    public = unsigned_client
    pool_id = pools()["Id"]
    client_id = make_client(cognito, pool_id)
    confirmed_user(cognito, pool_id, "nina", "nina@example.com")
    before = password_sign_in(public, client_id, "nina", PASSWORD)["AuthenticationResult"]
    assert public.get_user(AccessToken=before["AccessToken"])["Username"] == "nina"
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="nina")["Enabled"] is True

    cognito.admin_disable_user(UserPoolId=pool_id, Username="nina")
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="nina")
    assert user["Enabled"] is False
    assert user["UserStatus"] == "CONFIRMED"

    err = expect_error("NotAuthorizedException", password_sign_in, public, client_id, "nina", PASSWORD)
    assert err.response["Error"]["Message"] == "User is disabled."
    err = expect_error("NotAuthorizedException", admin_sign_in, cognito, pool_id, client_id, "nina", PASSWORD)
    assert err.response["Error"]["Message"] == "User is disabled."
    # Disabling revokes what the user already holds.
    expect_error("NotAuthorizedException", public.get_user, AccessToken=before["AccessToken"])
    expect_error("NotAuthorizedException", public.initiate_auth, ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                 AuthParameters={"REFRESH_TOKEN": before["RefreshToken"]})

    cognito.admin_enable_user(UserPoolId=pool_id, Username="nina")
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="nina")["Enabled"] is True
    after = password_sign_in(public, client_id, "nina", PASSWORD)["AuthenticationResult"]
    assert public.get_user(AccessToken=after["AccessToken"])["Username"] == "nina"
    assert "ChallengeName" not in admin_sign_in(cognito, pool_id, client_id, "nina", PASSWORD)

    expect_error("UserNotFoundException", cognito.admin_disable_user, UserPoolId=pool_id, Username="nobody")
    expect_error("UserNotFoundException", cognito.admin_enable_user, UserPoolId=pool_id, Username="nobody")


# --------------------------------------------------------------------------
# AdminResetUserPassword
# --------------------------------------------------------------------------

def test_admin_reset_requires_the_emailed_code_and_a_new_password(endpoint, cognito, unsigned_client, pools):
    public = unsigned_client
    pool_id = pools(AutoVerifiedAttributes=["email"])["Id"]
    client_id = make_client(cognito, pool_id)
    confirmed_user(cognito, pool_id, "rita", "rita@example.com")
    assert password_sign_in(public, client_id, "rita", PASSWORD)["AuthenticationResult"]["AccessToken"]
    assert outbox(endpoint, destination="rita@example.com") == []

    cognito.admin_reset_user_password(UserPoolId=pool_id, Username="rita")
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="rita")["UserStatus"] == "RESET_REQUIRED"

    expect_error("PasswordResetRequiredException", password_sign_in, public, client_id, "rita", PASSWORD)
    expect_error("PasswordResetRequiredException", admin_sign_in, cognito, pool_id, client_id, "rita", PASSWORD)

    code = newest_code(endpoint, "rita@example.com")
    wrong = "000000" if code != "000000" else "111111"
    expect_error("CodeMismatchException", public.confirm_forgot_password,
                 ClientId=client_id, Username="rita", ConfirmationCode=wrong, Password=NEW_PASSWORD)
    public.confirm_forgot_password(ClientId=client_id, Username="rita", ConfirmationCode=code, Password=NEW_PASSWORD)

    assert cognito.admin_get_user(UserPoolId=pool_id, Username="rita")["UserStatus"] == "CONFIRMED"
    result = password_sign_in(public, client_id, "rita", NEW_PASSWORD)["AuthenticationResult"]
    assert public.get_user(AccessToken=result["AccessToken"])["Username"] == "rita"
    expect_error("NotAuthorizedException", password_sign_in, public, client_id, "rita", PASSWORD)

    expect_error("UserNotFoundException", cognito.admin_reset_user_password, UserPoolId=pool_id, Username="nobody")


# --------------------------------------------------------------------------
# ListUsers: filters, AttributesToGet, validation
# --------------------------------------------------------------------------

# username, email, given_name, family_name, phone_number, preferred_username, status, enabled
PEOPLE = [
    ("alice", "ace@example.com", "Alice", "Anders", "+15550000001", "lissy", "CONFIRMED", True),
    ("alfred", "fred@example.org", "Alfred", "Brown", "+15550000002", "alf", "CONFIRMED", False),
    ("bob", "bob.anders@example.com", "Bob", "Anders", "+447700900003", "bobby", "FORCE_CHANGE_PASSWORD", True),
    ("carol", "cc@sample.net", "Carol", "Carter", "+15550000004", "caz", "UNCONFIRMED", True),
    ("dave", "dunn@sample.net", "Dave", "Dunn", "+33612345605", "dd", "UNCONFIRMED", True),
    ("erin", "erin.e@example.com", "Erin", "Evans", "+15550000006", "ee", "FORCE_CHANGE_PASSWORD", False),
    ("prefect", "ford@example.com", "Ford", "Prefect", "+15550000007", "ford_p", "CONFIRMED", True),
    ("preston", "pp@example.org", "Preston", "Price", "+447700900008", "presto", "FORCE_CHANGE_PASSWORD", True),
]
EVERYONE = {p[0] for p in PEOPLE}
DISABLED = {p[0] for p in PEOPLE if not p[7]}


def _person_attributes(p):
    username, email, given, family, phone, preferred = p[:6]
    return [
        {"Name": "email", "Value": email},
        {"Name": "given_name", "Value": given},
        {"Name": "family_name", "Value": family},
        {"Name": "name", "Value": f"{given} {family}"},
        {"Name": "phone_number", "Value": phone},
        {"Name": "preferred_username", "Value": preferred},
    ]


@pytest.fixture(scope="module")
def directory(cognito, unsigned_client):
    """A pool holding PEOPLE in their states (read-only for the tests using it).
    Returns (pool_id, {username: sub})."""
    pool_id = cognito.create_user_pool(PoolName=unique_name("directory"))["UserPool"]["Id"]
    try:
        client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="signup")["UserPoolClient"]["ClientId"]
        subs = {}
        for p in PEOPLE:
            username, status, enabled = p[0], p[6], p[7]
            if status == "UNCONFIRMED":
                subs[username] = unsigned_client.sign_up(
                    ClientId=client_id, Username=username, Password=PASSWORD, UserAttributes=_person_attributes(p),
                )["UserSub"]
            else:
                user = cognito.admin_create_user(
                    UserPoolId=pool_id, Username=username, TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS",
                    UserAttributes=_person_attributes(p),
                )["User"]
                subs[username] = attributes(user)["sub"]
                if status == "CONFIRMED":
                    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
            if not enabled:
                cognito.admin_disable_user(UserPoolId=pool_id, Username=username)
        yield pool_id, subs
    finally:
        force_delete_pool(cognito, pool_id)


FILTERS = [
    ('username = "bob"', {"bob"}),
    ('username ^= "pre"', {"prefect", "preston"}),
    ('email = "cc@sample.net"', {"carol"}),
    ('email ^= "f"', {"alfred", "prefect"}),
    ('email^="f"', {"alfred", "prefect"}),
    ('email = "nobody@example.com"', set()),
    ('phone_number ^= "+1555"', {"alice", "alfred", "carol", "erin", "prefect"}),
    ('phone_number = "+33612345605"', {"dave"}),
    ('name = "Bob Anders"', {"bob"}),
    ('name ^= "Ca"', {"carol"}),
    ('given_name = "Ford"', {"prefect"}),
    ('given_name ^= "Al"', {"alice", "alfred"}),
    ('family_name = "Anders"', {"alice", "bob"}),
    ('family_name ^= "P"', {"prefect", "preston"}),
    ('preferred_username = "bobby"', {"bob"}),
    ('preferred_username ^= "pres"', {"preston"}),
    ('cognito:user_status = "UNCONFIRMED"', {"carol", "dave"}),
    ('cognito:user_status = "CONFIRMED"', {"alice", "alfred", "prefect"}),
    ('cognito:user_status = "FORCE_CHANGE_PASSWORD"', {"bob", "erin", "preston"}),
    ('status = "Disabled"', DISABLED),
    ('status = "Enabled"', EVERYONE - DISABLED),
    ("", EVERYONE),
]


@pytest.mark.parametrize("filter_,expected", FILTERS, ids=[f or "<empty>" for f, _ in FILTERS])
def test_list_users_filter(cognito, directory, filter_, expected):
    pool_id, _ = directory
    found = usernames(list_all_users(cognito, pool_id, Filter=filter_))
    assert len(found) == len(set(found)), found
    assert set(found) == expected


def test_list_users_filter_by_sub(cognito, directory):
    pool_id, subs = directory
    found = list_all_users(cognito, pool_id, Filter=f'sub = "{subs["dave"]}"')
    assert usernames(found) == ["dave"]
    assert attributes(found[0])["sub"] == subs["dave"]


def test_list_users_returns_each_user_with_state_and_attributes(cognito, directory):
    pool_id, subs = directory
    by_name = {u["Username"]: u for u in list_all_users(cognito, pool_id)}
    assert set(by_name) == EVERYONE
    for username, email, given, family, phone, preferred, status, enabled in PEOPLE:
        user = by_name[username]
        assert user["UserStatus"] == status, username
        assert user["Enabled"] is enabled, username
        assert user["UserCreateDate"] and user["UserLastModifiedDate"]
        attrs = attributes(user)
        assert attrs["sub"] == subs[username]
        assert attrs["email"] == email and attrs["phone_number"] == phone
        assert attrs["given_name"] == given and attrs["family_name"] == family
        assert attrs["name"] == f"{given} {family}" and attrs["preferred_username"] == preferred


def test_list_users_attributes_to_get_limits_the_attributes(cognito, directory):
    pool_id, _ = directory
    users = list_all_users(cognito, pool_id, AttributesToGet=["email"])
    assert set(usernames(users)) == EVERYONE
    emails = {p[0]: p[1] for p in PEOPLE}
    for user in users:
        assert user["Attributes"] == [{"Name": "email", "Value": emails[user["Username"]]}], user

    # With a filter, and two attributes.
    users = list_all_users(cognito, pool_id, Filter='family_name = "Anders"', AttributesToGet=["given_name", "email"])
    assert set(usernames(users)) == {"alice", "bob"}
    for user in users:
        assert set(attributes(user)) == {"given_name", "email"}, user


def test_list_users_attributes_to_get_unknown_attribute_is_invalid(cognito, directory):
    pool_id, _ = directory
    expect_error("InvalidParameterException", cognito.list_users, UserPoolId=pool_id, AttributesToGet=["no_such_attribute"])


@pytest.mark.parametrize("bad_filter", [
    'email == "x"',           # no such operator
    'email != "x"',
    'foo = "x"',              # not an attribute
    "email = x",              # value not quoted
    'email = "x',             # unterminated quote
    'email "x"',              # no operator
])
def test_list_users_invalid_filter_is_invalid_parameter(cognito, directory, bad_filter):
    pool_id, _ = directory
    expect_error("InvalidParameterException", cognito.list_users, UserPoolId=pool_id, Filter=bad_filter)


@pytest.mark.parametrize("limit", [-1, 61])
def test_list_users_limit_out_of_range_is_invalid_parameter(cognito_raw, directory, limit):
    # QueryLimitType is 0..60 in the model. Cognito answers violations with
    # InvalidParameterException "1 validation error detected: Value '61' at
    # 'limit' failed to satisfy constraint: Member must have value less than
    # or equal to 60" (https://github.com/boto/boto3/issues/1356).
    pool_id, _ = directory
    err = expect_error("InvalidParameterException", cognito_raw.list_users, UserPoolId=pool_id, Limit=limit)
    assert "limit" in err.response["Error"]["Message"]


def test_list_users_of_unknown_pool_is_resource_not_found(cognito):
    expect_error("ResourceNotFoundException", cognito.list_users, UserPoolId="us-east-1_NoSuchPool0")


# --------------------------------------------------------------------------
# ListUsers pagination, with boto3 and the AWS CLI
# --------------------------------------------------------------------------

BULK = 65


@pytest.fixture(scope="module")
def bulk_pool(cognito):
    """A pool with BULK users whose emails start with "bulk", and two that do not."""
    pool_id = cognito.create_user_pool(PoolName=unique_name("bulk"))["UserPool"]["Id"]
    try:
        def create(name, email):
            cognito.admin_create_user(
                UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS", TemporaryPassword=TEMP_PASSWORD,
                UserAttributes=[{"Name": "email", "Value": email}],
            )
            return name

        jobs = [(f"user{i:03d}", f"bulk{i:03d}@example.com") for i in range(BULK)]
        jobs += [("outsider1", "outsider1@example.com"), ("outsider2", "not-bulk@example.com")]
        with ThreadPoolExecutor(max_workers=8) as executor:
            names = set(executor.map(lambda job: create(*job), jobs))
        bulk = {f"user{i:03d}" for i in range(BULK)}
        yield pool_id, bulk, names
    finally:
        force_delete_pool(cognito, pool_id)


def test_list_users_pages_with_pagination_token(cognito, bulk_pool):
    pool_id, _, everyone = bulk_pool
    first = cognito.list_users(UserPoolId=pool_id, Limit=60)
    assert 0 < len(first["Users"]) <= 60
    token = first.get("PaginationToken")
    assert token, "more users than one page holds: a PaginationToken"

    collected, pages = usernames(first["Users"]), 1
    while token:
        page = cognito.list_users(UserPoolId=pool_id, Limit=60, PaginationToken=token)
        assert len(page["Users"]) <= 60
        collected += usernames(page["Users"])
        token = page.get("PaginationToken")
        pages += 1
        assert pages < 50, "pagination does not terminate"
    assert len(collected) == len(set(collected)), "no user on two pages"
    assert set(collected) == everyone


def test_list_users_pages_with_filter(cognito, bulk_pool):
    pool_id, bulk, _ = bulk_pool
    found = list_all_users(cognito, pool_id, Filter='email ^= "bulk"', Limit=60)
    assert len(found) == len(set(usernames(found))) == BULK
    assert set(usernames(found)) == bulk


def test_list_users_boto3_paginator(cognito, bulk_pool):
    pool_id, _, everyone = bulk_pool
    collected, pages = [], 0
    for page in cognito.get_paginator("list_users").paginate(UserPoolId=pool_id, PaginationConfig={"PageSize": 25}):
        assert len(page["Users"]) <= 25
        collected += usernames(page["Users"])
        pages += 1
    assert pages >= 3
    assert len(collected) == len(set(collected))
    assert set(collected) == everyone


def test_cli_list_users_paginates_automatically(aws_cli, bulk_pool):
    pool_id, bulk, everyone = bulk_pool
    out = aws_cli("list-users", "--user-pool-id", pool_id, check=True)
    names = usernames(out["Users"])
    assert len(names) == len(set(names)) and set(names) == everyone

    out = aws_cli("list-users", "--user-pool-id", pool_id, "--page-size", "20", "--filter", 'email ^= "bulk"', check=True)
    names = usernames(out["Users"])
    assert len(names) == len(set(names)) and set(names) == bulk

    # --max-items: one slice and a NextToken the CLI resumes from.
    head = aws_cli("list-users", "--user-pool-id", pool_id, "--max-items", "50", check=True)
    assert len(head["Users"]) == 50 and head.get("NextToken")
    tail = aws_cli("list-users", "--user-pool-id", pool_id, "--max-items", "50", "--starting-token", head["NextToken"], check=True)
    names = usernames(head["Users"]) + usernames(tail["Users"])
    assert len(names) == len(set(names)) and set(names) == everyone
    assert not tail.get("NextToken")


# --------------------------------------------------------------------------
# Groups
# --------------------------------------------------------------------------

def test_group_lifecycle_and_membership(cognito, pools):
    pool_id = pools()["Id"]
    role = "arn:aws:iam::123456789012:role/x"
    group = cognito.create_group(UserPoolId=pool_id, GroupName="staff", Description="All staff", Precedence=3, RoleArn=role)["Group"]
    assert group["GroupName"] == "staff" and group["UserPoolId"] == pool_id
    assert group["Description"] == "All staff" and group["Precedence"] == 3 and group["RoleArn"] == role
    assert group["CreationDate"] and group["LastModifiedDate"]

    expect_error("GroupExistsException", cognito.create_group, UserPoolId=pool_id, GroupName="staff")

    got = cognito.get_group(UserPoolId=pool_id, GroupName="staff")["Group"]
    assert got == group

    updated = cognito.update_group(UserPoolId=pool_id, GroupName="staff", Description="Everyone on payroll",
                                   Precedence=7, RoleArn=role)["Group"]
    assert updated["Description"] == "Everyone on payroll" and updated["Precedence"] == 7 and updated["RoleArn"] == role
    got = cognito.get_group(UserPoolId=pool_id, GroupName="staff")["Group"]
    assert got["Description"] == "Everyone on payroll" and got["Precedence"] == 7
    assert got["CreationDate"] == group["CreationDate"]

    # A group with nothing but a name.
    bare = cognito.create_group(UserPoolId=pool_id, GroupName="bare")["Group"]
    assert bare["GroupName"] == "bare"
    assert "Precedence" not in bare and "RoleArn" not in bare

    expect_error("ResourceNotFoundException", cognito.get_group, UserPoolId=pool_id, GroupName="nope")
    expect_error("ResourceNotFoundException", cognito.update_group, UserPoolId=pool_id, GroupName="nope", Description="x")

    # Membership.
    cognito.admin_create_user(UserPoolId=pool_id, Username="sam", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS")
    cognito.admin_create_user(UserPoolId=pool_id, Username="tia", TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS")
    expect_error("ResourceNotFoundException", cognito.admin_add_user_to_group, UserPoolId=pool_id, Username="sam", GroupName="nope")
    expect_error("UserNotFoundException", cognito.admin_add_user_to_group, UserPoolId=pool_id, Username="nobody", GroupName="staff")

    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="sam", GroupName="staff")
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="sam", GroupName="bare")
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="tia", GroupName="staff")

    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="sam")["Groups"]
    assert sorted(g["GroupName"] for g in groups) == ["bare", "staff"]
    staff = next(g for g in groups if g["GroupName"] == "staff")
    assert staff["Description"] == "Everyone on payroll" and staff["Precedence"] == 7 and staff["UserPoolId"] == pool_id
    assert cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="tia")["Groups"][0]["GroupName"] == "staff"
    expect_error("UserNotFoundException", cognito.admin_list_groups_for_user, UserPoolId=pool_id, Username="nobody")

    members = cognito.list_users_in_group(UserPoolId=pool_id, GroupName="staff")["Users"]
    assert sorted(usernames(members)) == ["sam", "tia"]
    assert all(m["UserStatus"] == "FORCE_CHANGE_PASSWORD" and m["Enabled"] is True for m in members)
    assert usernames(cognito.list_users_in_group(UserPoolId=pool_id, GroupName="bare")["Users"]) == ["sam"]
    expect_error("ResourceNotFoundException", cognito.list_users_in_group, UserPoolId=pool_id, GroupName="nope")

    cognito.admin_remove_user_from_group(UserPoolId=pool_id, Username="sam", GroupName="staff")
    assert usernames(cognito.list_users_in_group(UserPoolId=pool_id, GroupName="staff")["Users"]) == ["tia"]
    assert [g["GroupName"] for g in cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="sam")["Groups"]] == ["bare"]

    cognito.delete_group(UserPoolId=pool_id, GroupName="staff")
    expect_error("ResourceNotFoundException", cognito.get_group, UserPoolId=pool_id, GroupName="staff")
    expect_error("ResourceNotFoundException", cognito.delete_group, UserPoolId=pool_id, GroupName="staff")
    assert cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username="tia")["Groups"] == []
    assert [g["GroupName"] for g in cognito.list_groups(UserPoolId=pool_id)["Groups"]] == ["bare"]


def test_list_groups_pages_with_next_token(cognito, pools):
    pool_id = pools()["Id"]
    names = {f"team-{c}" for c in "abcde"}
    for i, name in enumerate(sorted(names)):
        cognito.create_group(UserPoolId=pool_id, GroupName=name, Precedence=i)

    collected, token, pages = [], None, 0
    while True:
        args = {"UserPoolId": pool_id, "Limit": 2}
        if token:
            args["NextToken"] = token
        page = cognito.list_groups(**args)
        assert len(page["Groups"]) <= 2
        assert all(g["UserPoolId"] == pool_id for g in page["Groups"])
        collected += [g["GroupName"] for g in page["Groups"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 20, "pagination does not terminate"
    assert pages >= 3
    assert len(collected) == len(set(collected))
    assert set(collected) == names

    paged = [g["GroupName"] for p in cognito.get_paginator("list_groups").paginate(
        UserPoolId=pool_id, PaginationConfig={"PageSize": 2}) for g in p["Groups"]]
    assert sorted(paged) == sorted(names)


def test_group_claims_in_tokens_follow_precedence(endpoint, cognito, unsigned_client, pools):
    pool_id = pools()["Id"]
    client_id = make_client(cognito, pool_id)
    # Names sort against precedence, and are created and joined in yet another order.
    cognito.create_group(UserPoolId=pool_id, GroupName="alpha-editors", Precedence=5, RoleArn=ROLE_EDITOR)
    cognito.create_group(UserPoolId=pool_id, GroupName="beta-readers")  # no precedence, no role
    cognito.create_group(UserPoolId=pool_id, GroupName="zeta-admins", Precedence=1, RoleArn=ROLE_ADMIN)
    cognito.create_group(UserPoolId=pool_id, GroupName="unused", Precedence=0, RoleArn="arn:aws:iam::123456789012:role/unused")

    confirmed_user(cognito, pool_id, "gia", "gia@example.com")
    for group in ("beta-readers", "alpha-editors", "zeta-admins"):
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="gia", GroupName=group)
    confirmed_user(cognito, pool_id, "loner", "loner@example.com")

    result = password_sign_in(unsigned_client, client_id, "gia", PASSWORD)["AuthenticationResult"]
    id_claims, access_claims = verified_claims(endpoint, pool_id, client_id, result)
    expected = ["zeta-admins", "alpha-editors", "beta-readers"]
    assert id_claims["cognito:groups"] == expected
    assert access_claims["cognito:groups"] == expected
    assert sorted(id_claims["cognito:roles"]) == sorted([ROLE_ADMIN, ROLE_EDITOR])
    assert id_claims["cognito:preferred_role"] == ROLE_ADMIN

    # The same claims after a refresh.
    refreshed = unsigned_client.initiate_auth(
        ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]},
    )["AuthenticationResult"]
    id_claims, access_claims = verified_claims(endpoint, pool_id, client_id, refreshed)
    assert id_claims["cognito:groups"] == expected and access_claims["cognito:groups"] == expected

    # A user in no group has no group claims at all.
    result = password_sign_in(unsigned_client, client_id, "loner", PASSWORD)["AuthenticationResult"]
    id_claims, access_claims = verified_claims(endpoint, pool_id, client_id, result)
    for claims in (id_claims, access_claims):
        assert "cognito:groups" not in claims
        assert "cognito:roles" not in claims
        assert "cognito:preferred_role" not in claims


# --------------------------------------------------------------------------
# The AWS CLI as the operator's tool
# --------------------------------------------------------------------------

def test_cli_operator_script(aws_cli, cognito, unsigned_client, pools):
    pool_id = pools()["Id"]
    client_id = make_client(cognito, pool_id)

    created = aws_cli(
        "admin-create-user", "--user-pool-id", pool_id, "--username", "opal",
        "--user-attributes", "Name=email,Value=opal@example.com", "Name=email_verified,Value=true",
        "--temporary-password", TEMP_PASSWORD, "--message-action", "SUPPRESS",
        check=True,
    )["User"]
    assert created["Username"] == "opal" and created["UserStatus"] == "FORCE_CHANGE_PASSWORD" and created["Enabled"] is True
    assert attributes(created)["email"] == "opal@example.com"

    dup = aws_cli("admin-create-user", "--user-pool-id", pool_id, "--username", "opal", "--message-action", "SUPPRESS")
    assert dup.returncode != 0 and "UsernameExistsException" in dup.stderr

    cognito.admin_set_user_password(UserPoolId=pool_id, Username="opal", Password=PASSWORD, Permanent=True)

    assert aws_cli("admin-disable-user", "--user-pool-id", pool_id, "--username", "opal", check=True) is None
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="opal")["Enabled"] is False
    with pytest.raises(ClientError) as exc:
        password_sign_in(unsigned_client, client_id, "opal", PASSWORD)
    assert error_code(exc.value) == "NotAuthorizedException"
    disabled = aws_cli("list-users", "--user-pool-id", pool_id, "--filter", 'status = "Disabled"', check=True)["Users"]
    assert usernames(disabled) == ["opal"]

    assert aws_cli("admin-enable-user", "--user-pool-id", pool_id, "--username", "opal", check=True) is None
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="opal")["Enabled"] is True
    assert password_sign_in(unsigned_client, client_id, "opal", PASSWORD)["AuthenticationResult"]["AccessToken"]

    group = aws_cli(
        "create-group", "--user-pool-id", pool_id, "--group-name", "operators", "--description", "On call",
        "--precedence", "2", "--role-arn", "arn:aws:iam::123456789012:role/x", check=True,
    )["Group"]
    assert group["GroupName"] == "operators" and group["Precedence"] == 2 and group["Description"] == "On call"
    assert group["RoleArn"] == "arn:aws:iam::123456789012:role/x"

    assert aws_cli("admin-add-user-to-group", "--user-pool-id", pool_id, "--username", "opal",
                   "--group-name", "operators", check=True) is None
    missing = aws_cli("admin-add-user-to-group", "--user-pool-id", pool_id, "--username", "opal", "--group-name", "nope")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr

    members = aws_cli("list-users-in-group", "--user-pool-id", pool_id, "--group-name", "operators", check=True)["Users"]
    assert usernames(members) == ["opal"]
    assert attributes(members[0])["email"] == "opal@example.com"
    groups = aws_cli("admin-list-groups-for-user", "--user-pool-id", pool_id, "--username", "opal", check=True)["Groups"]
    assert [g["GroupName"] for g in groups] == ["operators"]
    assert groups[0]["Precedence"] == 2

    found = aws_cli("list-users", "--user-pool-id", pool_id, "--filter", 'email = "opal@example.com"',
                    "--attributes-to-get", "email", check=True)["Users"]
    assert usernames(found) == ["opal"]
    assert found[0]["Attributes"] == [{"Name": "email", "Value": "opal@example.com"}]
