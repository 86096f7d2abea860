"""Multi-factor authentication and remembered devices, driven by boto3, with
pyotp as the user's authenticator app and pycognito's SRP code (its AWSSRP
class and generate_hash_device) computing the password and device proofs.

Covered: the pool's MFA configuration (Set/GetUserPoolMfaConfig and the
MfaConfiguration of CreateUserPool and DescribeUserPool, with the combinations
Cognito refuses); TOTP set up with an access token and during an MFA_SETUP
challenge; SMS_MFA and EMAIL_OTP with codes read from the admin-only outbox;
SELECT_MFA_TYPE; the user and admin preference operations and the legacy
SetUserSettings; and remembered devices (ConfirmDevice, DEVICE_SRP_AUTH and
DEVICE_PASSWORD_VERIFIER skipping MFA, List/Get/UpdateStatus/Forget and their
Admin variants).

Every expectation is what Amazon Cognito does. Where a detail is documented
only loosely (the exact error of a reused or stale TOTP code), the test
accepts the errors Cognito's model lists for the case and says so.

Setup notes, all requirements of real Cognito:
* A pool is created with MFA OFF and MFA is turned on with
  SetUserPoolMfaConfig (CreateUserPool with MFA ON/OPTIONAL requires an SMS
  configuration).
* SMS needs the pool's SmsConfiguration (an IAM role ARN and external ID;
  dummies here: real Cognito would check the role's trust policy).
* Email MFA needs the Essentials tier (the default for new pools) and email
  sent with Amazon SES (EmailSendingAccount DEVELOPER and a SourceArn; a
  dummy identity here).
* Cognito refuses account recovery through the channel a pool uses for MFA,
  so pools with SMS or email MFA recover accounts with admin_only.
"""

import base64
import json
import re
import time
import urllib.parse
import uuid

import jwt
import pyotp
import pytest
import requests
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP, generate_hash_device

from conftest import REGION, error_code, sign_request, status_code

PASSWORD = "Corr3ct-horse!"
TEMP_PASSWORD = "Temp-horse-1!"

SMS_CONFIGURATION = {
    "SnsCallerArn": "arn:aws:iam::123456789012:role/cognate-conformance-sms",
    "ExternalId": "cognate-conformance",
}
SMS_MFA_MESSAGE = "Your sign-in code is {####}."
SES_EMAIL_CONFIGURATION = {
    "EmailSendingAccount": "DEVELOPER",
    "SourceArn": "arn:aws:ses:us-east-1:123456789012:identity/no-reply@example.com",
    "From": "no-reply@example.com",
}
EMAIL_MFA_CONFIGURATION = {"Subject": "Your sign-in code", "Message": "Hello, your sign-in code is {####}."}
ADMIN_ONLY_RECOVERY = {"RecoveryMechanisms": [{"Priority": 1, "Name": "admin_only"}]}

ALL_FLOWS = [
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
]

# DeviceKeyType in the service model; Cognito prefixes the key with the region.
DEVICE_KEY_RE = re.compile(rf"^{re.escape(REGION)}_[0-9a-f-]+$")

TOTP_STEP = 30
TOTP_MARGIN = 3.0  # never hand out a code in the last seconds of its step


# --------------------------------------------------------------------------
# The user's authenticator app
# --------------------------------------------------------------------------

class Authenticator:
    """An authenticator app holding one secret: pyotp's RFC 6238 TOTP (SHA-1,
    six digits, 30 s steps).

    ``code()`` hands out each time step's code at most once, and never in the
    last TOTP_MARGIN seconds of its step (it waits for the next step instead),
    so a code is never reused by accident and always reaches the server inside
    its own step."""

    def __init__(self, secret):
        self.totp = pyotp.TOTP(secret)
        self.used_steps = set()

    def code(self):
        while True:
            now = time.time()
            step = int(now // TOTP_STEP)
            left = TOTP_STEP - (now - step * TOTP_STEP)
            if step not in self.used_steps and left > TOTP_MARGIN:
                self.used_steps.add(step)
                return self.totp.at(step * TOTP_STEP)
            time.sleep(left + 0.05)

    def stale(self, steps=10):
        """The code of a step long past (ten steps = five minutes ago)."""
        return self.totp.at(time.time() - steps * TOTP_STEP)

    def wrong(self):
        """Six digits that are not the code of any step near now."""
        now = time.time()
        near = {self.totp.at(now + d * TOTP_STEP) for d in range(-2, 3)}
        return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in near)


def secret_bytes(secret):
    """The key of a base32 SecretCode (padding restored)."""
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

@pytest.fixture
def public(make_client):
    """A cognito-idp client with no credentials at all, as an app has."""
    return make_client(unsigned=True)


def outbox(endpoint, destination, limit=100):
    """Messages Cognate would have sent to ``destination`` (newest first)."""
    query = urllib.parse.urlencode({"destination": destination, "limit": str(limit)}, quote_via=urllib.parse.quote)
    url = f"{endpoint}/_cognate/outbox?{query}"
    r = requests.get(url, headers=sign_request("GET", url), timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["Messages"]


def newest_message(endpoint, destination):
    messages = outbox(endpoint, destination, limit=1)
    assert messages, f"no message to {destination}"
    return messages[0]


def code_in(message):
    return re.search(r"\b\d{6}\b", message["Body"]).group(0)


def expect_error(codes, call, *args, **kwargs):
    """``call`` fails with one of ``codes`` (a name or a tuple of names), HTTP 400."""
    codes = (codes,) if isinstance(codes, str) else tuple(codes)
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert error_code(exc.value) in codes, exc.value.response
    assert status_code(exc.value) == 400, exc.value.response
    return exc.value


def message_of(exc):
    return exc.response["Error"]["Message"]


def mfa_app(cognito, pools, *, mfa="OPTIONAL", totp=False, sms=False, email=False, device=None, **pool_extra):
    """A pool with the prerequisites of the factors asked for, MFA set with
    SetUserPoolMfaConfig, and an app client allowing SRP, password, admin
    password and refresh sign-in. Returns (pool_id, client_id)."""
    kwargs = dict(pool_extra)
    if sms:
        kwargs["SmsConfiguration"] = SMS_CONFIGURATION
    if email:
        kwargs["EmailConfiguration"] = SES_EMAIL_CONFIGURATION
    if sms or email:
        kwargs["AccountRecoverySetting"] = ADMIN_ONLY_RECOVERY
    if device is not None:
        kwargs["DeviceConfiguration"] = device
    pool_id = pools(**kwargs)["Id"]

    config = {"UserPoolId": pool_id, "MfaConfiguration": mfa}
    if totp:
        config["SoftwareTokenMfaConfiguration"] = {"Enabled": True}
    if sms:
        config["SmsMfaConfiguration"] = {"SmsAuthenticationMessage": SMS_MFA_MESSAGE, "SmsConfiguration": SMS_CONFIGURATION}
    if email:
        config["EmailMfaConfiguration"] = EMAIL_MFA_CONFIGURATION
    cognito.set_user_pool_mfa_config(**config)

    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="mfa-app", ExplicitAuthFlows=ALL_FLOWS,
    )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def confirmed_user(cognito, pool_id, username, *, email=None, phone=None):
    """A CONFIRMED user with a permanent password and verified email / phone,
    made the operator's way (no message sent)."""
    attributes = []
    if email:
        attributes += [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    if phone:
        attributes += [{"Name": "phone_number", "Value": phone}, {"Name": "phone_number_verified", "Value": "true"}]
    cognito.admin_create_user(
        UserPoolId=pool_id, Username=username, TemporaryPassword=TEMP_PASSWORD, MessageAction="SUPPRESS",
        UserAttributes=attributes,
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)


def password_sign_in(public, client_id, username, password=PASSWORD):
    return public.initiate_auth(
        ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password},
    )


def admin_sign_in(cognito, pool_id, client_id, username, password=PASSWORD):
    return cognito.admin_initiate_auth(
        UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )


def answer(public, client_id, challenge, **responses):
    """RespondToAuthChallenge to ``challenge`` (a response naming a challenge), with its Session."""
    return public.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName=challenge["ChallengeName"], Session=challenge["Session"],
        ChallengeResponses=responses,
    )


def assert_mfa_challenge(response, name):
    assert response.get("ChallengeName") == name, response
    assert "AuthenticationResult" not in response, response
    assert response["Session"], response
    return response


def assert_tokens(response, username):
    """A completed sign-in for ``username``; returns the AuthenticationResult."""
    assert "ChallengeName" not in response, response
    result = response["AuthenticationResult"]
    assert result["AccessToken"] and result["IdToken"] and result["RefreshToken"]
    assert result["TokenType"] == "Bearer"
    claims = jwt.decode(result["AccessToken"], options={"verify_signature": False})
    assert claims["username"] == username and claims["token_use"] == "access"
    return result


def unique_email(name):
    """An address no other test (or earlier run against the same server) sends to: the outbox is server-wide."""
    return f"{name}-{uuid.uuid4().hex[:8]}@example.com"


def unique_phone():
    """A North American 555 number of its own, for the same reason."""
    return "+1555" + str(uuid.uuid4().int % 10**7).zfill(7)


def sms_mask(phone):
    """How Cognito shows a phone number: the '+', then a star for every digit but the last four."""
    return "+" + "*" * (len(phone) - 5) + phone[-4:]


def email_mask(address):
    local, domain = address.split("@")
    return f"{local[0]}***@{domain[0]}***"


def device_attributes(device):
    return {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}


def device_keys(listing):
    return sorted(d["DeviceKey"] for d in listing["Devices"])


# SRP through pycognito: its AWSSRP computes SRP_A and the password and device
# claims; the calls and the Session passing are made here with boto3.

def srp_sign_in(public, pool_id, client_id, username, password=PASSWORD, device=None, device_key_in_initiate=True):
    """USER_SRP_AUTH, then PASSWORD_VERIFIER. ``device`` is (key, group key,
    device password) of a confirmed device. Returns (AWSSRP, the response to
    PASSWORD_VERIFIER)."""
    device_args = {}
    if device is not None:
        device_args = dict(device_key=device[0], device_group_key=device[1], device_password=device[2])
    srp = AWSSRP(username=username, password=password, pool_id=pool_id, client_id=client_id, client=public, **device_args)
    params = srp.get_auth_params()
    if not device_key_in_initiate:
        # amazon-cognito-identity-js sends DEVICE_KEY with PASSWORD_VERIFIER only.
        params.pop("DEVICE_KEY", None)
    init = public.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=params)
    assert init["ChallengeName"] == "PASSWORD_VERIFIER", init
    responses = srp.process_challenge(init["ChallengeParameters"], params)
    session = {"Session": init["Session"]} if init.get("Session") else {}
    out = public.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses, **session,
    )
    return srp, out


def start_device_srp(public, client_id, srp, challenge):
    """Answers DEVICE_SRP_AUTH with the device key and SRP_A; returns the DEVICE_PASSWORD_VERIFIER challenge."""
    assert challenge.get("ChallengeName") == "DEVICE_SRP_AUTH", challenge
    assert "AuthenticationResult" not in challenge
    session = {"Session": challenge["Session"]} if challenge.get("Session") else {}
    step = public.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="DEVICE_SRP_AUTH",
        ChallengeResponses={"USERNAME": srp.username, "DEVICE_KEY": srp.device_key, "SRP_A": format(srp.large_a_value, "x")},
        **session,
    )
    assert step.get("ChallengeName") == "DEVICE_PASSWORD_VERIFIER", step
    params = step["ChallengeParameters"]
    assert {"SRP_B", "SALT", "SECRET_BLOCK", "USERNAME", "DEVICE_KEY"} <= set(params), params
    assert params["DEVICE_KEY"] == srp.device_key
    return step


def finish_device_srp(public, client_id, srp, step):
    """Answers DEVICE_PASSWORD_VERIFIER with the claim signed with the device's secret."""
    session = {"Session": step["Session"]} if step.get("Session") else {}
    return public.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="DEVICE_PASSWORD_VERIFIER",
        ChallengeResponses=srp.process_device_challenge(step["ChallengeParameters"]), **session,
    )


def confirm_new_device(public, result, name):
    """ConfirmDevice for the NewDeviceMetadata of a sign-in, with a verifier
    pycognito derives from a random device password. Returns
    ((key, group key, password), ConfirmDevice response)."""
    metadata = result["NewDeviceMetadata"]
    key, group = metadata["DeviceKey"], metadata["DeviceGroupKey"]
    assert DEVICE_KEY_RE.match(key), key
    assert group
    device_password, verifier = generate_hash_device(group, key)
    out = public.confirm_device(
        AccessToken=result["AccessToken"], DeviceKey=key, DeviceSecretVerifierConfig=verifier, DeviceName=name,
    )
    return (key, group, device_password), out


# --------------------------------------------------------------------------
# The pool's MFA configuration
# --------------------------------------------------------------------------

def test_pool_mfa_configuration_round_trip(cognito, pools):
    pool_id = pools()["Id"]
    assert cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OFF"
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OFF"

    out = cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True},
    )
    assert out["MfaConfiguration"] == "OPTIONAL"
    assert out["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    got = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert got["MfaConfiguration"] == "OPTIONAL"
    assert got["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OPTIONAL"

    # Required MFA can be set on an existing pool through this operation.
    out = cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True},
    )
    assert out["MfaConfiguration"] == "ON"
    got = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert got["MfaConfiguration"] == "ON"
    assert got["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "ON"

    # And off again (with no factor, as Cognito requires for OFF).
    out = cognito.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OFF")
    assert out["MfaConfiguration"] == "OFF"
    assert cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OFF"
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["MfaConfiguration"] == "OFF"


def test_email_mfa_configuration_round_trip(cognito, pools):
    pool_id = pools(EmailConfiguration=SES_EMAIL_CONFIGURATION, AccountRecoverySetting=ADMIN_ONLY_RECOVERY)["Id"]
    out = cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, MfaConfiguration="ON", SoftwareTokenMfaConfiguration={"Enabled": True},
        EmailMfaConfiguration=EMAIL_MFA_CONFIGURATION,
    )
    assert out["MfaConfiguration"] == "ON"
    assert out["EmailMfaConfiguration"] == EMAIL_MFA_CONFIGURATION
    got = cognito.get_user_pool_mfa_config(UserPoolId=pool_id)
    assert got["MfaConfiguration"] == "ON"
    assert got["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert got["EmailMfaConfiguration"] == EMAIL_MFA_CONFIGURATION


def test_sms_mfa_configuration_round_trip(cognito, pools):
    pool_id = pools(SmsConfiguration=SMS_CONFIGURATION, AccountRecoverySetting=ADMIN_ONLY_RECOVERY)["Id"]
    out = cognito.set_user_pool_mfa_config(
        UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
        SmsMfaConfiguration={"SmsAuthenticationMessage": SMS_MFA_MESSAGE, "SmsConfiguration": SMS_CONFIGURATION},
    )
    assert out["MfaConfiguration"] == "OPTIONAL"
    for config in (out, cognito.get_user_pool_mfa_config(UserPoolId=pool_id)):
        sms = config["SmsMfaConfiguration"]
        assert sms["SmsAuthenticationMessage"] == SMS_MFA_MESSAGE
        assert sms["SmsConfiguration"]["SnsCallerArn"] == SMS_CONFIGURATION["SnsCallerArn"]
        assert sms["SmsConfiguration"]["ExternalId"] == SMS_CONFIGURATION["ExternalId"]


def test_create_user_pool_with_optional_mfa_and_an_sms_configuration(cognito, pools):
    # CreateUserPool can configure only one factor: SMS.
    pool = pools(
        MfaConfiguration="OPTIONAL", SmsConfiguration=SMS_CONFIGURATION, AutoVerifiedAttributes=["phone_number"],
        SmsAuthenticationMessage=SMS_MFA_MESSAGE, AccountRecoverySetting=ADMIN_ONLY_RECOVERY,
    )
    assert pool["MfaConfiguration"] == "OPTIONAL"
    got = cognito.get_user_pool_mfa_config(UserPoolId=pool["Id"])
    assert got["MfaConfiguration"] == "OPTIONAL"
    assert got["SmsMfaConfiguration"]["SmsConfiguration"]["SnsCallerArn"] == SMS_CONFIGURATION["SnsCallerArn"]


def test_mfa_configurations_cognito_refuses(cognito, pools):
    pool_id = pools(EmailConfiguration=SES_EMAIL_CONFIGURATION, AccountRecoverySetting=ADMIN_ONLY_RECOVERY)["Id"]

    # MFA required or optional with no factor to use.
    for mode in ("ON", "OPTIONAL"):
        exc = expect_error("InvalidParameterException", cognito.set_user_pool_mfa_config, UserPoolId=pool_id, MfaConfiguration=mode)
        assert message_of(exc) == "Invalid MFA configuration given, can't disable all MFAs with a required or optional configuration."

    # MFA off, but a factor configured.
    for factor in (
        {"SoftwareTokenMfaConfiguration": {"Enabled": True}},
        {"EmailMfaConfiguration": EMAIL_MFA_CONFIGURATION},
    ):
        exc = expect_error("InvalidParameterException", cognito.set_user_pool_mfa_config,
                           UserPoolId=pool_id, MfaConfiguration="OFF", **factor)
        assert message_of(exc) == "Invalid MFA configuration given, can't turn off MFA and configure an MFA together."
    assert cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["MfaConfiguration"] == "OFF"

    # CreateUserPool with MFA on needs SMS (the only factor it can configure).
    exc = expect_error("InvalidParameterException", pools, MfaConfiguration="ON")
    assert message_of(exc) == "SMS configuration and Auto verification for phone_number are required when MFA is required/optional"

    # Email MFA is an Essentials-tier feature.
    lite = pools(UserPoolTier="LITE", EmailConfiguration=SES_EMAIL_CONFIGURATION, AccountRecoverySetting=ADMIN_ONLY_RECOVERY)["Id"]
    expect_error("FeatureUnavailableInTierException", cognito.set_user_pool_mfa_config,
                 UserPoolId=lite, MfaConfiguration="OPTIONAL", EmailMfaConfiguration=EMAIL_MFA_CONFIGURATION)

    unknown = f"{REGION}_NoSuchPool1"
    expect_error("ResourceNotFoundException", cognito.get_user_pool_mfa_config, UserPoolId=unknown)
    expect_error("ResourceNotFoundException", cognito.set_user_pool_mfa_config,
                 UserPoolId=unknown, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True})


# --------------------------------------------------------------------------
# TOTP (SOFTWARE_TOKEN_MFA)
# --------------------------------------------------------------------------

def test_software_tokens_need_the_pool_to_allow_them(cognito, pools, public):
    pool_id = pools()["Id"]  # MFA off
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=ALL_FLOWS)["UserPoolClient"]["ClientId"]
    confirmed_user(cognito, pool_id, "nia", email="nia@example.com")
    access = assert_tokens(password_sign_in(public, client_id, "nia"), "nia")["AccessToken"]
    exc = expect_error("SoftwareTokenMFANotFoundException", public.associate_software_token, AccessToken=access)
    assert message_of(exc) == "Software Token MFA has not been enabled by the userPool."


def test_totp_set_up_with_an_access_token_then_asked_at_sign_in(cognito, pools, public):
    pool_id, client_id = mfa_app(cognito, pools, totp=True)
    confirmed_user(cognito, pool_id, "tom", email="tom@example.com")

    result = assert_tokens(password_sign_in(public, client_id, "tom"), "tom")
    assert "NewDeviceMetadata" not in result  # the pool does not track devices
    access = result["AccessToken"]
    me = public.get_user(AccessToken=access)
    assert not me.get("UserMFASettingList") and not me.get("PreferredMfaSetting")

    # TOTP cannot be turned on before a token is associated and verified.
    exc = expect_error("InvalidParameterException", cognito.admin_set_user_mfa_preference, UserPoolId=pool_id, Username="tom",
                       SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    assert message_of(exc) == "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA"
    expect_error("InvalidParameterException", public.set_user_mfa_preference, AccessToken=access,
                 SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})

    secret = public.associate_software_token(AccessToken=access)["SecretCode"]
    assert re.fullmatch(r"[A-Z2-7]+=*", secret), secret
    assert len(secret_bytes(secret)) >= 16  # at least 128 bits (RFC 4226 asks for 160)
    app = Authenticator(secret)

    exc = expect_error("EnableSoftwareTokenMFAException", public.verify_software_token,
                       AccessToken=access, UserCode=app.wrong(), FriendlyDeviceName="Tom's phone")
    assert message_of(exc) == "Code mismatch and fail enable Software Token MFA"
    # The user may try again after a mismatch.
    verified = public.verify_software_token(AccessToken=access, UserCode=app.code(), FriendlyDeviceName="Tom's phone")
    assert verified["Status"] == "SUCCESS"

    public.set_user_mfa_preference(AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    me = public.get_user(AccessToken=access)
    assert me["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert me["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    admin_view = cognito.admin_get_user(UserPoolId=pool_id, Username="tom")
    assert admin_view["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert admin_view["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"

    # The password alone no longer signs in; a wrong code is a mismatch.
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "tom"), "SOFTWARE_TOKEN_MFA")
    exc = expect_error("CodeMismatchException", answer, public, client_id, challenge,
                       USERNAME="tom", SOFTWARE_TOKEN_MFA_CODE=app.wrong())
    assert message_of(exc) == "Invalid code or auth state for the user."

    # A fresh sign-in answered with the current code (from a step no code was used in).
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "tom"), "SOFTWARE_TOKEN_MFA")
    code = app.code()
    result = assert_tokens(answer(public, client_id, challenge, USERNAME="tom", SOFTWARE_TOKEN_MFA_CODE=code), "tom")
    assert "NewDeviceMetadata" not in result

    # The same code, still inside its window, does not sign in a second time:
    # Cognito answers it as a used token.
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "tom"), "SOFTWARE_TOKEN_MFA")
    exc = expect_error("ExpiredCodeException", answer, public, client_id, challenge,
                       USERNAME="tom", SOFTWARE_TOKEN_MFA_CODE=code)
    assert message_of(exc) == "Your software token has already been used once."

    # Cognito accepts codes one step early or late, not five minutes old ones.
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "tom"), "SOFTWARE_TOKEN_MFA")
    expect_error(("CodeMismatchException", "ExpiredCodeException"), answer, public, client_id, challenge,
                 USERNAME="tom", SOFTWARE_TOKEN_MFA_CODE=app.stale())

    # Turning TOTP off again: the password alone signs in.
    public.set_user_mfa_preference(AccessToken=result["AccessToken"],
                                   SoftwareTokenMfaSettings={"Enabled": False, "PreferredMfa": False})
    assert_tokens(password_sign_in(public, client_id, "tom"), "tom")
    me = public.get_user(AccessToken=result["AccessToken"])
    assert not me.get("UserMFASettingList") and not me.get("PreferredMfaSetting")


def test_mfa_setup_challenge_when_the_pool_requires_mfa(cognito, pools, public):
    pool_id, client_id = mfa_app(cognito, pools, mfa="ON", totp=True)
    confirmed_user(cognito, pool_id, "una", email="una@example.com")

    # No factor yet: Cognito asks the user to set one up.
    setup = assert_mfa_challenge(password_sign_in(public, client_id, "una"), "MFA_SETUP")
    assert "SOFTWARE_TOKEN_MFA" in json.loads(setup["ChallengeParameters"]["MFAS_CAN_SETUP"])

    # AssociateSoftwareToken and VerifySoftwareToken with the challenge's session...
    associated = public.associate_software_token(Session=setup["Session"])
    assert associated["Session"]
    app = Authenticator(associated["SecretCode"])
    assert len(secret_bytes(associated["SecretCode"])) >= 16
    verified = public.verify_software_token(Session=associated["Session"], UserCode=app.code(), FriendlyDeviceName="Una's phone")
    assert verified["Status"] == "SUCCESS"
    assert verified["Session"]

    # ...then MFA_SETUP is answered with VerifySoftwareToken's session.
    done = public.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="MFA_SETUP", Session=verified["Session"], ChallengeResponses={"USERNAME": "una"},
    )
    assert_tokens(done, "una")
    assert "SOFTWARE_TOKEN_MFA" in cognito.admin_get_user(UserPoolId=pool_id, Username="una")["UserMFASettingList"]

    # From now on the user is asked for a code.
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "una"), "SOFTWARE_TOKEN_MFA")
    assert_tokens(answer(public, client_id, challenge, USERNAME="una", SOFTWARE_TOKEN_MFA_CODE=app.code()), "una")


# --------------------------------------------------------------------------
# EMAIL_OTP and SMS_MFA
# --------------------------------------------------------------------------

def test_email_mfa_codes_come_by_email(endpoint, cognito, pools, public):
    pool_id, client_id = mfa_app(cognito, pools, email=True)
    assert cognito.get_user_pool_mfa_config(UserPoolId=pool_id)["EmailMfaConfiguration"] == EMAIL_MFA_CONFIGURATION
    address = unique_email("emma")
    confirmed_user(cognito, pool_id, "emma", email=address)

    access = assert_tokens(password_sign_in(public, client_id, "emma"), "emma")["AccessToken"]
    public.set_user_mfa_preference(AccessToken=access, EmailMfaSettings={"Enabled": True, "PreferredMfa": True})
    me = public.get_user(AccessToken=access)
    assert me["UserMFASettingList"] == ["EMAIL_OTP"]
    assert me["PreferredMfaSetting"] == "EMAIL_OTP"

    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "emma"), "EMAIL_OTP")
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == email_mask(address)
    message = newest_message(endpoint, address)
    assert message["Subject"] == EMAIL_MFA_CONFIGURATION["Subject"]
    code = code_in(message)
    assert message["Body"] == EMAIL_MFA_CONFIGURATION["Message"].replace("{####}", code)
    wrong = "000000" if code != "000000" else "111111"
    expect_error("CodeMismatchException", answer, public, client_id, challenge, USERNAME="emma", EMAIL_OTP_CODE=wrong)

    sent = len(outbox(endpoint, address))
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "emma"), "EMAIL_OTP")
    assert len(outbox(endpoint, address)) == sent + 1, "each sign-in mails a new code"
    code = code_in(newest_message(endpoint, address))
    assert_tokens(answer(public, client_id, challenge, USERNAME="emma", EMAIL_OTP_CODE=code), "emma")


def test_sms_mfa_with_the_admin_operations(endpoint, cognito, pools, public):
    pool_id, client_id = mfa_app(cognito, pools, sms=True)
    phone = unique_phone()
    confirmed_user(cognito, pool_id, "sam", email="sam@example.com", phone=phone)

    cognito.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="sam", SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="sam")
    assert user["UserMFASettingList"] == ["SMS_MFA"]
    assert user["PreferredMfaSetting"] == "SMS_MFA"

    # AdminInitiateAuth meets the SMS challenge; AdminRespondToAuthChallenge answers it.
    challenge = assert_mfa_challenge(admin_sign_in(cognito, pool_id, client_id, "sam"), "SMS_MFA")
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert challenge["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == sms_mask(phone)
    message = newest_message(endpoint, phone)
    code = code_in(message)
    assert message["Body"] == SMS_MFA_MESSAGE.replace("{####}", code)
    wrong = "000000" if code != "000000" else "111111"
    expect_error("CodeMismatchException", cognito.admin_respond_to_auth_challenge,
                 UserPoolId=pool_id, ClientId=client_id, ChallengeName="SMS_MFA", Session=challenge["Session"],
                 ChallengeResponses={"USERNAME": "sam", "SMS_MFA_CODE": wrong})

    challenge = assert_mfa_challenge(admin_sign_in(cognito, pool_id, client_id, "sam"), "SMS_MFA")
    done = cognito.admin_respond_to_auth_challenge(
        UserPoolId=pool_id, ClientId=client_id, ChallengeName="SMS_MFA", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "sam", "SMS_MFA_CODE": code_in(newest_message(endpoint, phone))},
    )
    assert_tokens(done, "sam")

    # The app's side of the same factor.
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "sam"), "SMS_MFA")
    result = assert_tokens(answer(public, client_id, challenge, USERNAME="sam", SMS_MFA_CODE=code_in(newest_message(endpoint, phone))), "sam")

    # Turned off by the administrator, the password alone signs in.
    cognito.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="sam", SMSMfaSettings={"Enabled": False, "PreferredMfa": False})
    assert not cognito.admin_get_user(UserPoolId=pool_id, Username="sam").get("UserMFASettingList")
    assert_tokens(password_sign_in(public, client_id, "sam"), "sam")
    assert not public.get_user(AccessToken=result["AccessToken"]).get("UserMFASettingList")


def test_legacy_user_settings_turn_sms_mfa_on_and_off(endpoint, cognito, pools, public):
    """SetUserSettings / AdminSetUserSettings, no longer supported but still
    served: they can only configure SMS MFA, to the phone_number."""
    pool_id, client_id = mfa_app(cognito, pools, sms=True)
    phone = unique_phone()
    confirmed_user(cognito, pool_id, "leo", phone=phone)
    sms_option = [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]

    access = assert_tokens(password_sign_in(public, client_id, "leo"), "leo")["AccessToken"]
    public.set_user_settings(AccessToken=access, MFAOptions=sms_option)
    challenge = assert_mfa_challenge(password_sign_in(public, client_id, "leo"), "SMS_MFA")
    assert_tokens(answer(public, client_id, challenge, USERNAME="leo", SMS_MFA_CODE=code_in(newest_message(endpoint, phone))), "leo")

    cognito.admin_set_user_settings(UserPoolId=pool_id, Username="leo", MFAOptions=[])
    assert_tokens(password_sign_in(public, client_id, "leo"), "leo")

    cognito.admin_set_user_settings(UserPoolId=pool_id, Username="leo", MFAOptions=sms_option)
    assert_mfa_challenge(password_sign_in(public, client_id, "leo"), "SMS_MFA")


# --------------------------------------------------------------------------
# SELECT_MFA_TYPE
# --------------------------------------------------------------------------

def test_select_mfa_type_when_several_factors_and_none_preferred(endpoint, cognito, pools, public):
    pool_id, client_id = mfa_app(cognito, pools, totp=True, email=True)
    address = unique_email("sel")
    confirmed_user(cognito, pool_id, "sel", email=address)

    access = assert_tokens(password_sign_in(public, client_id, "sel"), "sel")["AccessToken"]
    app = Authenticator(public.associate_software_token(AccessToken=access)["SecretCode"])
    assert public.verify_software_token(AccessToken=access, UserCode=app.code())["Status"] == "SUCCESS"
    public.set_user_mfa_preference(
        AccessToken=access,
        SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False},
        EmailMfaSettings={"Enabled": True, "PreferredMfa": False},
    )
    me = public.get_user(AccessToken=access)
    assert sorted(me["UserMFASettingList"]) == ["EMAIL_OTP", "SOFTWARE_TOKEN_MFA"]

    # Choosing the authenticator app.
    select = assert_mfa_challenge(password_sign_in(public, client_id, "sel"), "SELECT_MFA_TYPE")
    assert sorted(json.loads(select["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == ["EMAIL_OTP", "SOFTWARE_TOKEN_MFA"]
    totp = assert_mfa_challenge(answer(public, client_id, select, USERNAME="sel", ANSWER="SOFTWARE_TOKEN_MFA"), "SOFTWARE_TOKEN_MFA")
    assert_tokens(answer(public, client_id, totp, USERNAME="sel", SOFTWARE_TOKEN_MFA_CODE=app.code()), "sel")

    # Choosing email: only then is a code mailed.
    sent = len(outbox(endpoint, address))
    select = assert_mfa_challenge(password_sign_in(public, client_id, "sel"), "SELECT_MFA_TYPE")
    assert len(outbox(endpoint, address)) == sent
    mail = assert_mfa_challenge(answer(public, client_id, select, USERNAME="sel", ANSWER="EMAIL_OTP"), "EMAIL_OTP")
    assert mail["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    assert mail["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"] == email_mask(address)
    assert len(outbox(endpoint, address)) == sent + 1
    code = code_in(newest_message(endpoint, address))
    assert_tokens(answer(public, client_id, mail, USERNAME="sel", EMAIL_OTP_CODE=code), "sel")


# --------------------------------------------------------------------------
# Remembered devices
# --------------------------------------------------------------------------

def sms_sign_in_with_new_device(endpoint, public, pool_id, client_id, username, phone):
    """SRP sign-in of a user with SMS MFA, from a device Cognito does not know:
    the SMS challenge, then tokens with NewDeviceMetadata."""
    _, challenge = srp_sign_in(public, pool_id, client_id, username)
    assert_mfa_challenge(challenge, "SMS_MFA")
    result = assert_tokens(answer(public, client_id, challenge, USERNAME=username,
                                  SMS_MFA_CODE=code_in(newest_message(endpoint, phone))), username)
    assert set(result["NewDeviceMetadata"]) == {"DeviceKey", "DeviceGroupKey"}
    return result


def test_a_remembered_device_signs_in_without_mfa(endpoint, cognito, pools, public):
    device_config = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
    pool_id, client_id = mfa_app(cognito, pools, sms=True, device=device_config)
    assert cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]["DeviceConfiguration"] == device_config
    phone = unique_phone()
    confirmed_user(cognito, pool_id, "dev", phone=phone)
    cognito.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="dev", SMSMfaSettings={"Enabled": True, "PreferredMfa": True})

    # A new device: MFA, then tokens with the device's key; the app confirms it.
    result = sms_sign_in_with_new_device(endpoint, public, pool_id, client_id, "dev", phone)
    device, confirmed = confirm_new_device(public, result, "conformance laptop")
    key = device[0]
    # Remembered without asking the user (DeviceOnlyRememberedOnUserPrompt false).
    assert confirmed["UserConfirmationNecessary"] is False
    access = result["AccessToken"]

    got = public.get_device(AccessToken=access, DeviceKey=key)["Device"]
    assert got["DeviceKey"] == key
    assert got["DeviceCreateDate"] and got["DeviceLastModifiedDate"]
    attrs = device_attributes(got)
    assert attrs["device_name"] == "conformance laptop"
    assert attrs["dev:device_remembered_status"] == "remembered"
    assert attrs["device_status"] == "valid"
    assert device_keys(public.list_devices(AccessToken=access)) == [key]
    assert device_keys(cognito.admin_list_devices(UserPoolId=pool_id, Username="dev")) == [key]
    admin_got = cognito.admin_get_device(UserPoolId=pool_id, Username="dev", DeviceKey=key)["Device"]
    assert admin_got["DeviceKey"] == key
    assert device_attributes(admin_got)["dev:device_remembered_status"] == "remembered"

    # The next sign-in from that device proves the device secret instead of
    # answering an SMS code: no code is sent and no new device is issued.
    sent = len(outbox(endpoint, phone))
    srp, challenge = srp_sign_in(public, pool_id, client_id, "dev", device=device)
    step = start_device_srp(public, client_id, srp, challenge)
    assert step["ChallengeParameters"]["USERNAME"] == "dev"
    result = assert_tokens(finish_device_srp(public, client_id, srp, step), "dev")
    assert "NewDeviceMetadata" not in result
    assert jwt.decode(result["AccessToken"], options={"verify_signature": False})["device_key"] == key
    assert len(outbox(endpoint, phone)) == sent
    access = result["AccessToken"]

    # A device password that is not the device's fails the device proof.
    srp, challenge = srp_sign_in(public, pool_id, client_id, "dev", device=(device[0], device[1], "not-the-device-password"))
    step = start_device_srp(public, client_id, srp, challenge)
    expect_error("NotAuthorizedException", finish_device_srp, public, client_id, srp, step)

    # Not remembered any more: still there, but no longer listed.
    cognito.admin_update_device_status(UserPoolId=pool_id, Username="dev", DeviceKey=key, DeviceRememberedStatus="not_remembered")
    got = cognito.admin_get_device(UserPoolId=pool_id, Username="dev", DeviceKey=key)["Device"]
    assert device_attributes(got)["dev:device_remembered_status"] == "not_remembered"
    assert device_keys(public.list_devices(AccessToken=access)) == []
    # The user remembers it again.
    public.update_device_status(AccessToken=access, DeviceKey=key, DeviceRememberedStatus="remembered")
    got = public.get_device(AccessToken=access, DeviceKey=key)["Device"]
    assert device_attributes(got)["dev:device_remembered_status"] == "remembered"
    assert device_keys(public.list_devices(AccessToken=access)) == [key]

    # Forgotten by the user: gone, and its key no longer signs in.
    public.forget_device(AccessToken=access, DeviceKey=key)
    expect_error("ResourceNotFoundException", cognito.admin_get_device, UserPoolId=pool_id, Username="dev", DeviceKey=key)
    assert device_keys(cognito.admin_list_devices(UserPoolId=pool_id, Username="dev")) == []
    # (amazon-cognito-identity-js relies on this error, naming the device, to
    # drop a forgotten device's key and sign in again without it.)
    exc = expect_error("ResourceNotFoundException", srp_sign_in, public, pool_id, client_id, "dev",
                       device=device, device_key_in_initiate=False)
    assert "device" in message_of(exc).lower()

    # A new device, forgotten by the administrator.
    result = sms_sign_in_with_new_device(endpoint, public, pool_id, client_id, "dev", phone)
    (other, _, _), confirmed = confirm_new_device(public, result, "conformance tablet")
    assert other != key
    assert device_keys(cognito.admin_list_devices(UserPoolId=pool_id, Username="dev")) == [other]
    cognito.admin_forget_device(UserPoolId=pool_id, Username="dev", DeviceKey=other)
    expect_error("ResourceNotFoundException", cognito.admin_get_device, UserPoolId=pool_id, Username="dev", DeviceKey=other)
    assert device_keys(cognito.admin_list_devices(UserPoolId=pool_id, Username="dev")) == []


def test_a_device_is_remembered_only_when_the_user_says_so(endpoint, cognito, pools, public):
    device_config = {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True}
    pool_id, client_id = mfa_app(cognito, pools, sms=True, device=device_config)
    phone = unique_phone()
    confirmed_user(cognito, pool_id, "opt", phone=phone)
    cognito.admin_set_user_mfa_preference(UserPoolId=pool_id, Username="opt", SMSMfaSettings={"Enabled": True, "PreferredMfa": True})

    result = sms_sign_in_with_new_device(endpoint, public, pool_id, client_id, "opt", phone)
    device, confirmed = confirm_new_device(public, result, "conformance phone")
    key = device[0]
    # The app must ask the user, then say what they chose with UpdateDeviceStatus.
    assert confirmed["UserConfirmationNecessary"] is True
    access = result["AccessToken"]
    assert public.get_device(AccessToken=access, DeviceKey=key)["Device"]["DeviceKey"] == key
    assert device_keys(public.list_devices(AccessToken=access)) == []  # only remembered devices are listed

    public.update_device_status(AccessToken=access, DeviceKey=key, DeviceRememberedStatus="remembered")
    assert device_keys(public.list_devices(AccessToken=access)) == [key]
    assert device_attributes(public.get_device(AccessToken=access, DeviceKey=key)["Device"])["dev:device_remembered_status"] == "remembered"

    # Remembered now: device SRP instead of the SMS code.
    sent = len(outbox(endpoint, phone))
    srp, challenge = srp_sign_in(public, pool_id, client_id, "opt", device=device)
    step = start_device_srp(public, client_id, srp, challenge)
    assert_tokens(finish_device_srp(public, client_id, srp, step), "opt")
    assert len(outbox(endpoint, phone)) == sent
