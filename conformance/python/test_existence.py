"""Who has an account must not leak through a client with
PreventUserExistenceErrors enabled, nor may anyone sign themselves up in a
pool that only admins fill. Driven with boto3 and pycognito, comparing a real
user's answers with an unknown name's, call by call."""

import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import error_code
from test_signin import PASSWORD, pycognito_for, sign_up_and_confirm


@pytest.fixture
def public(make_client):
    return make_client(unsigned=True)


@pytest.fixture
def hiding(cognito, pools):
    """A pool verifying email and a client that hides user existence."""
    pool = pools(PoolName=f"hide-{uuid.uuid4().hex[:8]}", AutoVerifiedAttributes=["email"])
    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


def outcome(call, **kwargs):
    """("ok", response without metadata) or (error code, message)."""
    try:
        out = call(**kwargs)
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["Error"]["Message"]
    out.pop("ResponseMetadata", None)
    return "ok", out


def test_sign_up_is_refused_when_only_admins_create_users(cognito, pools, public):
    pool = pools(AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})
    client = cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="app")["UserPoolClient"]
    with pytest.raises(ClientError) as exc:
        public.sign_up(ClientId=client["ClientId"], Username="eve", Password=PASSWORD)
    assert error_code(exc.value) == "NotAuthorizedException"
    assert exc.value.response["Error"]["Message"] == "SignUp is not permitted for this user pool"
    with pytest.raises(ClientError) as exc:
        cognito.admin_get_user(UserPoolId=pool["Id"], Username="eve")
    assert error_code(exc.value) == "UserNotFoundException"
    # Admins still create users there.
    cognito.admin_create_user(UserPoolId=pool["Id"], Username="eve", MessageAction="SUPPRESS")


def test_lockout_reads_the_same_for_real_and_unknown_names(endpoint, hiding, public):
    pool_id, client_id = hiding
    sign_up_and_confirm(public, endpoint, client_id, "ann", "ann@example.com")

    def sign_in(name):
        return outcome(
            public.initiate_auth,
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": "Wr0ng-horse!"},
        )

    answers = [(sign_in("ann"), sign_in("annie")) for _ in range(7)]
    for real, unknown in answers:
        assert real == unknown
    assert ("NotAuthorizedException", "Password attempts exceeded") in [real for real, _ in answers]
    # SRP (pycognito) answers the locked-out unknown name as it answers ann.
    for name in ("ann", "annie"):
        with pytest.raises(ClientError) as exc:
            pycognito_for(endpoint, pool_id, client_id, username=name).authenticate(password=PASSWORD)
        assert exc.value.response["Error"]["Message"] == "Password attempts exceeded"


def test_codes_read_the_same_for_real_and_unknown_names(endpoint, cognito, hiding, public):
    pool_id, client_id = hiding
    sign_up_and_confirm(public, endpoint, client_id, "joe", "joe@example.com")
    public.sign_up(ClientId=client_id, Username="jim", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": "jim@example.com"}])

    real = outcome(public.forgot_password, ClientId=client_id, Username="joe")
    unknown = outcome(public.forgot_password, ClientId=client_id, Username="jay")
    assert real == ("ok", {"CodeDeliveryDetails": {"Destination": "j***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}})
    assert unknown[0] == "ok"
    shown = unknown[1]["CodeDeliveryDetails"]
    assert shown["DeliveryMedium"] == "EMAIL" and shown["AttributeName"] == "email"
    assert shown["Destination"].startswith("j***@") and shown["Destination"].endswith("***")
    assert outcome(public.forgot_password, ClientId=client_id, Username="jay") == unknown

    # Resending a sign-up code: an unconfirmed user and an unknown name.
    real = outcome(public.resend_confirmation_code, ClientId=client_id, Username="jim")
    unknown = outcome(public.resend_confirmation_code, ClientId=client_id, Username="jon")
    assert real[0] == unknown[0] == "ok"
    assert real[1]["CodeDeliveryDetails"].keys() == unknown[1]["CodeDeliveryDetails"].keys()
    assert unknown[1]["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"

    # Wrong codes: the same errors, up to the same limit.
    for _ in range(6):
        a = outcome(public.confirm_forgot_password, ClientId=client_id, Username="joe", ConfirmationCode="000000", Password="N3w-horse!!")
        b = outcome(public.confirm_forgot_password, ClientId=client_id, Username="jay", ConfirmationCode="000000", Password="N3w-horse!!")
        assert a[0] == b[0] and a[0] in ("CodeMismatchException", "LimitExceededException")
        a = outcome(public.confirm_sign_up, ClientId=client_id, Username="jim", ConfirmationCode="000000")
        b = outcome(public.confirm_sign_up, ClientId=client_id, Username="jon", ConfirmationCode="000000")
        assert a[0] == b[0] and a[0] in ("CodeMismatchException", "LimitExceededException")
    assert b[0] == "LimitExceededException"
