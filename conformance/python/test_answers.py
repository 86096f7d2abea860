"""Cognito's exact answers where Cognate once differed, checked with boto3:
each error code and message as real clients see them from Cognito (the
sources are listed in docs/compatibility.md's notes)."""

import base64
import hashlib
import hmac
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import error_code

PASSWORD = "Corr3ct-horse!"


@pytest.fixture
def public(make_client):
    return make_client(unsigned=True)


def refused(code, call, **kwargs):
    """The message of the error `code` that `call` must raise."""
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    assert error_code(exc.value) == code, exc.value.response
    return exc.value.response["Error"]["Message"]


def client_of(cognito, pool_id, **extra):
    extra.setdefault("ExplicitAuthFlows", ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    return cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="app", **extra)["UserPoolClient"]


def test_verified_flags_accept_any_case_of_true(cognito, pools, public):
    pool_id = pools()["Id"]
    client_id = client_of(cognito, pool_id)["ClientId"]
    cognito.admin_create_user(
        UserPoolId=pool_id, Username="tess", MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "tess@example.com"}, {"Name": "email_verified", "Value": "True"},
                        {"Name": "phone_number", "Value": "+15550001111"}, {"Name": "phone_number_verified", "Value": "TRUE"}],
    )
    attrs = {a["Name"]: a["Value"] for a in cognito.admin_get_user(UserPoolId=pool_id, Username="tess")["UserAttributes"]}
    assert attrs["email_verified"] == "true" and attrs["phone_number_verified"] == "true"
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="tess", Password=PASSWORD, Permanent=True)
    # Verified means a reset code can go there.
    out = public.forgot_password(ClientId=client_id, Username="tess")
    assert out["CodeDeliveryDetails"]["Destination"] == "t***@e***"
    cognito.admin_update_user_attributes(UserPoolId=pool_id, Username="tess",
                                         UserAttributes=[{"Name": "email_verified", "Value": "False"}])
    attrs = {a["Name"]: a["Value"] for a in cognito.admin_get_user(UserPoolId=pool_id, Username="tess")["UserAttributes"]}
    assert attrs["email_verified"] == "false"


def test_custom_attributes_need_a_data_type(cognito, pools):
    message = "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."
    assert refused("InvalidParameterException", cognito.create_user_pool,
                   PoolName=f"p-{uuid.uuid4().hex[:8]}", Schema=[{"Name": "tier"}]) == message
    pool_id = pools()["Id"]
    assert refused("InvalidParameterException", cognito.add_custom_attributes,
                   UserPoolId=pool_id, CustomAttributes=[{"Name": "tier", "Mutable": True}]) == message


def test_taken_emails_and_phone_numbers_are_worded_as_cognito(cognito, pools):
    # Email and phone as aliases.
    pool_id = pools(AliasAttributes=["email", "phone_number"])["Id"]
    for name, email, phone in (("ann", "ann@example.com", "+15550002222"), ("bea", "bea@example.com", "+15550003333")):
        cognito.admin_create_user(
            UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS",
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                            {"Name": "phone_number", "Value": phone}, {"Name": "phone_number_verified", "Value": "true"}],
        )
    message = refused("AliasExistsException", cognito.admin_update_user_attributes, UserPoolId=pool_id, Username="bea",
                      UserAttributes=[{"Name": "email", "Value": "ann@example.com"}, {"Name": "email_verified", "Value": "true"}])
    assert message == "An account with the given email already exists."
    message = refused("AliasExistsException", cognito.admin_update_user_attributes, UserPoolId=pool_id, Username="bea",
                      UserAttributes=[{"Name": "phone_number", "Value": "+15550002222"}, {"Name": "phone_number_verified", "Value": "true"}])
    assert message == "An account with the given phone_number already exists."
    message = refused("AliasExistsException", cognito.admin_create_user, UserPoolId=pool_id, Username="cid",
                      MessageAction="SUPPRESS",
                      UserAttributes=[{"Name": "email", "Value": "ann@example.com"}, {"Name": "email_verified", "Value": "true"}])
    assert message == "An account with the given email already exists."

    # Email as the username: an existing one is a taken username.
    pool_id = pools(UsernameAttributes=["email"])["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="dee@example.com", MessageAction="SUPPRESS")
    message = refused("UsernameExistsException", cognito.admin_create_user, UserPoolId=pool_id,
                      Username="dee@example.com", MessageAction="SUPPRESS")
    assert message == "An account with the given email already exists."


def test_each_initiate_operation_refuses_the_others_flows(cognito, pools, public):
    pool_id = pools()["Id"]
    client_id = client_of(cognito, pool_id)["ClientId"]
    params = {"USERNAME": "nobody", "PASSWORD": PASSWORD}
    for flow in ("ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"):
        assert refused("InvalidParameterException", public.initiate_auth, ClientId=client_id, AuthFlow=flow,
                       AuthParameters=params) == "Initiate Auth method not supported."
    assert refused("InvalidParameterException", cognito.admin_initiate_auth, UserPoolId=pool_id, ClientId=client_id,
                   AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params) == "Initiate Auth method not supported."


def test_a_client_with_a_secret_needs_the_secret_hash(cognito, pools, public):
    pool_id = pools()["Id"]
    client = client_of(cognito, pool_id, GenerateSecret=True)
    client_id = client["ClientId"]
    message = refused("NotAuthorizedException", public.sign_up, ClientId=client_id, Username="sam", Password=PASSWORD)
    assert message == f"Client {client_id} is configured for secret but secret was not received"
    message = refused("NotAuthorizedException", public.initiate_auth, ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                      AuthParameters={"USERNAME": "sam", "PASSWORD": PASSWORD})
    assert message == f"Client {client_id} is configured for secret but secret was not received"
    wrong = base64.b64encode(hmac.new(b"not-the-secret", b"samx", hashlib.sha256).digest()).decode()
    message = refused("NotAuthorizedException", public.sign_up, ClientId=client_id, Username="sam", Password=PASSWORD,
                      SecretHash=wrong)
    assert message == f"Unable to verify secret hash for client {client_id}"


def test_resets_refused_for_disabled_and_temporary_password_users(cognito, pools, public):
    pool_id = pools()["Id"]
    client_id = client_of(cognito, pool_id)["ClientId"]
    verified = [{"Name": "email", "Value": "dan@example.com"}, {"Name": "email_verified", "Value": "true"}]
    cognito.admin_create_user(UserPoolId=pool_id, Username="dan", MessageAction="SUPPRESS", UserAttributes=verified)
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="dan", Password=PASSWORD, Permanent=True)
    cognito.admin_disable_user(UserPoolId=pool_id, Username="dan")
    assert refused("NotAuthorizedException", cognito.admin_reset_user_password,
                   UserPoolId=pool_id, Username="dan") == "User is disabled"

    cognito.admin_create_user(UserPoolId=pool_id, Username="fay", MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": "fay@example.com"}, {"Name": "email_verified", "Value": "true"}])
    assert refused("NotAuthorizedException", public.forgot_password, ClientId=client_id,
                   Username="fay") == "User password cannot be reset in the current state."


def test_password_refusals_are_worded_per_operation(cognito, pools, public):
    pool_id = pools()["Id"]
    client_id = client_of(cognito, pool_id)["ClientId"]
    message = refused("InvalidPasswordException", cognito.admin_create_user, UserPoolId=pool_id, Username="gus",
                      TemporaryPassword="Sh0rt!x", MessageAction="SUPPRESS")
    assert message == "Password did not conform with password policy: Password not long enough"
    message = refused("InvalidPasswordException", public.sign_up, ClientId=client_id, Username="gus",
                      Password="nouppercase1!")
    assert message == "Password did not conform with policy: Password must have uppercase characters"
    # NEW_PASSWORD_REQUIRED answered with a weak password.
    cognito.admin_create_user(UserPoolId=pool_id, Username="hal", TemporaryPassword=PASSWORD, MessageAction="SUPPRESS")
    challenge = public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "hal", "PASSWORD": PASSWORD})
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    message = refused("InvalidPasswordException", public.respond_to_auth_challenge, ClientId=client_id,
                      ChallengeName="NEW_PASSWORD_REQUIRED", Session=challenge["Session"],
                      ChallengeResponses={"USERNAME": "hal", "NEW_PASSWORD": "NoDigits!!"})
    assert message == "Password does not conform to policy: Password must have numeric characters"


def test_updated_at_is_held_to_its_number_constraints(cognito, pools):
    pool_id = pools()["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ida", MessageAction="SUPPRESS")
    for value in ("-5", "soon"):
        refused("InvalidParameterException", cognito.admin_update_user_attributes, UserPoolId=pool_id, Username="ida",
                UserAttributes=[{"Name": "updated_at", "Value": value}])
    cognito.admin_update_user_attributes(UserPoolId=pool_id, Username="ida",
                                         UserAttributes=[{"Name": "updated_at", "Value": "1700000000"}])
    # A pool may restate updated_at's bounds; they are checked like a custom attribute's.
    assert refused("InvalidParameterException", cognito.create_user_pool, PoolName=f"p-{uuid.uuid4().hex[:8]}",
                   Schema=[{"Name": "updated_at", "AttributeDataType": "Number",
                            "NumberAttributeConstraints": {"MinValue": "10", "MaxValue": "5"}}]).startswith(
        "Invalid number attribute constraints")
    pool_id = pools(Schema=[{"Name": "updated_at", "AttributeDataType": "Number",
                             "NumberAttributeConstraints": {"MinValue": "100"}}])["Id"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ida", MessageAction="SUPPRESS")
    refused("InvalidParameterException", cognito.admin_update_user_attributes, UserPoolId=pool_id, Username="ida",
            UserAttributes=[{"Name": "updated_at", "Value": "99"}])
