"""Lambda triggers run unchanged under Amazon's runtime interface client
(awslambdaric), connected to Cognate's Lambda Runtime API: PreSignUp
auto-confirms, PreTokenGeneration (V2) adds claims and a scope that PyJWT
then reads from verified tokens, and UserMigration moves a user from a
legacy store at their first sign-in."""

import base64
import io
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import boto3
import jwt
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY_ID, LAMBDA_ARN, REGION, SECRET_ACCESS_KEY
from test_admin import outbox

HERE = pathlib.Path(__file__).resolve().parent
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/5f2d8c1e-9a7b-4c3d-8e6f-0a1b2c3d4e5f"
# Where the custom sender "sends" (one JSON line per message).
SENT = pathlib.Path(tempfile.mkdtemp(prefix="cognate-sender-")) / "sent.jsonl"


@pytest.fixture(scope="module")
def workers(lambda_runtime_api, endpoint):
    """Two awslambdaric workers for the function, as Lambda would run them,
    with the environment a function's configuration gives it: the KMS key
    its custom sender decrypts with, and KMS reached at Cognate with a
    Cognate access key (as a role's credentials would be)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_LAMBDA_RUNTIME_API"] = lambda_runtime_api
    env["PYTHONPATH"] = str(HERE / "lambda_functions")
    env.update({
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_ENDPOINT_URL_KMS": endpoint,
        "KEY_ARN": KEY_ARN,
        "SENT_MESSAGES": str(SENT),
    })
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "triggers.handler"],
            cwd=HERE / "lambda_functions",
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    time.sleep(0.5)
    for p in procs:
        assert p.poll() is None, p.stderr.read().decode(errors="replace")
    yield procs
    for p in procs:
        p.kill()
        p.wait()


@pytest.fixture
def pool(cognito, workers):
    pool_id = cognito.create_user_pool(
        PoolName="lambda",
        LambdaConfig={
            "PreSignUp": LAMBDA_ARN,
            "UserMigration": LAMBDA_ARN,
            "PreTokenGenerationConfig": {"LambdaArn": LAMBDA_ARN, "LambdaVersion": "V2_0"},
        },
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    yield pool_id, client_id
    cognito.delete_user_pool(UserPoolId=pool_id)


def _claims(endpoint, pool_id, token):
    keys = jwt.PyJWKClient(f"{endpoint}/{pool_id}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], options={"verify_aud": False},
                      issuer=f"{endpoint}/{pool_id}")


def test_pre_sign_up_confirms_and_pre_token_generation_shapes_tokens(cognito, unsigned_client, endpoint, pool):
    public = unsigned_client
    pool_id, client_id = pool
    r = public.sign_up(ClientId=client_id, Username="ada", Password="Passw0rd!",
                       UserAttributes=[{"Name": "email", "Value": "ada@example.com"}])
    assert r["UserConfirmed"] is True
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="ada")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]

    with pytest.raises(ClientError) as e:
        public.sign_up(ClientId=client_id, Username="eve", Password="Passw0rd!",
                       UserAttributes=[{"Name": "email", "Value": "eve@blocked.example.com"}])
    assert e.value.response["Error"]["Code"] == "UserLambdaValidationException"
    assert e.value.response["Error"]["Message"] == "PreSignUp failed with error Sign-ups from this domain are closed."
    with pytest.raises(ClientError) as e:
        cognito.admin_get_user(UserPoolId=pool_id, Username="eve")
    assert e.value.response["Error"]["Code"] == "UserNotFoundException"

    tokens = public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": "ada", "PASSWORD": "Passw0rd!"})["AuthenticationResult"]
    id_claims = _claims(endpoint, pool_id, tokens["IdToken"])
    access_claims = _claims(endpoint, pool_id, tokens["AccessToken"])
    assert id_claims["department"] == "engineering"
    assert access_claims["tier"] == "gold"
    assert "orders/read" in access_claims["scope"].split()
    assert "aws.cognito.signin.user.admin" in access_claims["scope"].split()
    # The customised access token is still accepted by Cognito's own calls.
    assert public.get_user(AccessToken=tokens["AccessToken"])["Username"] == "ada"


def test_user_migration_moves_a_legacy_user_at_first_sign_in(cognito, unsigned_client, pool):
    public = unsigned_client
    pool_id, client_id = pool
    with pytest.raises(ClientError):
        cognito.admin_get_user(UserPoolId=pool_id, Username="legacy-lee")
    with pytest.raises(ClientError) as e:
        public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "legacy-lee", "PASSWORD": "Wrong-Passw0rd!"})
    assert e.value.response["Error"]["Code"] in ("UserLambdaValidationException", "UserNotFoundException",
                                                 "NotAuthorizedException")
    r = public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "legacy-lee", "PASSWORD": "Legacy-Passw0rd!"})
    assert r["AuthenticationResult"]["AccessToken"]
    user = cognito.admin_get_user(UserPoolId=pool_id, Username="legacy-lee")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email", "Value": "lee@legacy.example.com"} in user["UserAttributes"]
    # Migrated with the password they typed: it now works without the trigger.
    r = public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "legacy-lee", "PASSWORD": "Legacy-Passw0rd!"})
    assert r["AuthenticationResult"]["IdToken"]


def _sent(user):
    """What the custom sender received for `user`, oldest first."""
    if not SENT.exists():
        return []
    lines = [json.loads(line) for line in SENT.read_text().splitlines() if line.strip()]
    return [m for m in lines if m["userName"] == user]


@pytest.fixture
def sender_pool(cognito, workers):
    pool_id = cognito.create_user_pool(
        PoolName="senders",
        AutoVerifiedAttributes=["email"],
        LambdaConfig={
            "CustomEmailSender": {"LambdaArn": LAMBDA_ARN, "LambdaVersion": "V1_0"},
            "CustomSMSSender": {"LambdaArn": LAMBDA_ARN, "LambdaVersion": "V1_0"},
            "KMSKeyID": KEY_ARN,
        },
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    yield pool_id, client_id
    cognito.delete_user_pool(UserPoolId=pool_id)


def test_custom_email_sender_gets_the_code_encrypted_and_cognate_sends_nothing(
        cognito, unsigned_client, endpoint, sender_pool):
    public = unsigned_client
    pool_id, client_id = sender_pool
    public.sign_up(ClientId=client_id, Username="sam", Password="Passw0rd!",
                   UserAttributes=[{"Name": "email", "Value": "sam@senders.example.com"}],
                   ClientMetadata={"campaign": "autumn"})
    [m] = _sent("sam")
    assert m["triggerSource"] == "CustomEmailSender_SignUp"
    assert m["type"] == "customEmailSenderRequestV1"
    assert m["clientMetadata"] == {"campaign": "autumn"}
    assert m["userAttributes"]["email"] == "sam@senders.example.com"
    assert m["userAttributes"]["cognito:user_status"] == "UNCONFIRMED"
    # The function decrypted a six-digit code, and it is the code that works.
    assert m["code"].isdigit() and len(m["code"]) == 6
    assert outbox(endpoint, destination="sam@senders.example.com") == []
    with pytest.raises(ClientError) as e:
        public.confirm_sign_up(ClientId=client_id, Username="sam",
                               ConfirmationCode="000000" if m["code"] != "000000" else "111111")
    assert e.value.response["Error"]["Code"] == "CodeMismatchException"
    public.confirm_sign_up(ClientId=client_id, Username="sam", ConfirmationCode=m["code"])
    assert cognito.admin_get_user(UserPoolId=pool_id, Username="sam")["UserStatus"] == "CONFIRMED"

    # ForgotPassword goes the same way, with its own source.
    public.forgot_password(ClientId=client_id, Username="sam")
    reset = _sent("sam")[-1]
    assert reset["triggerSource"] == "CustomEmailSender_ForgotPassword"
    public.confirm_forgot_password(ClientId=client_id, Username="sam", ConfirmationCode=reset["code"],
                                   Password="N3w-Passw0rd!")
    public.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                         AuthParameters={"USERNAME": "sam", "PASSWORD": "N3w-Passw0rd!"})


def test_custom_senders_get_the_temporary_password_of_an_invitation(cognito, unsigned_client, sender_pool):
    pool_id, client_id = sender_pool
    cognito.admin_create_user(
        UserPoolId=pool_id, Username="tia", DesiredDeliveryMediums=["EMAIL", "SMS"],
        UserAttributes=[{"Name": "email", "Value": "tia@senders.example.com"},
                        {"Name": "phone_number", "Value": "+15550100200"}])
    sent = _sent("tia")
    assert sorted(m["triggerSource"] for m in sent) == [
        "CustomEmailSender_AdminCreateUser", "CustomSMSSender_AdminCreateUser"]
    sms = next(m for m in sent if m["triggerSource"].startswith("CustomSMSSender_"))
    assert sms["type"] == "customSMSSenderRequestV1"
    temporary = sent[0]["code"]
    assert temporary == sent[1]["code"]
    r = unsigned_client.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": "tia", "PASSWORD": temporary})
    assert r["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_custom_sender_needs_a_kms_key_and_codes_open_only_for_their_pool(cognito, endpoint, sender_pool):
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool(PoolName="no-key", LambdaConfig={
            "CustomEmailSender": {"LambdaArn": LAMBDA_ARN, "LambdaVersion": "V1_0"}})
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"

    pool_id, client_id = sender_pool
    cognito.admin_create_user(UserPoolId=pool_id, Username="uma", DesiredDeliveryMediums=["EMAIL"],
                              UserAttributes=[{"Name": "email", "Value": "uma@senders.example.com"}])
    [m] = _sent("uma")
    # The message as the Encryption SDK's own parser reads it: one data key
    # from aws-kms for the pool's key, the pool in the encryption context.
    from aws_encryption_sdk.internal.formatting.deserialize import deserialize_header
    header, _ = deserialize_header(io.BytesIO(base64.b64decode(m["encrypted"])))
    assert header.encryption_context == {"userpool-id": pool_id}
    [edk] = header.encrypted_data_keys
    assert edk.key_provider.provider_id == "aws-kms"
    assert edk.key_provider.key_info == KEY_ARN.encode()

    def kms(**kw):
        return boto3.session.Session().client(
            "kms", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY, **kw)

    blob = edk.encrypted_data_key
    r = kms().decrypt(CiphertextBlob=blob, KeyId=KEY_ARN, EncryptionContext={"userpool-id": pool_id})
    assert r["KeyId"] == KEY_ARN and len(r["Plaintext"]) == 32
    with pytest.raises(ClientError) as e:
        kms().decrypt(CiphertextBlob=blob, KeyId=KEY_ARN, EncryptionContext={"userpool-id": "us-east-1_other"})
    assert e.value.response["Error"]["Code"] == "InvalidCiphertextException"
    with pytest.raises(ClientError) as e:
        kms().decrypt(CiphertextBlob=blob, KeyId=KEY_ARN.replace("5f2d8c1e", "00000000"),
                      EncryptionContext={"userpool-id": pool_id})
    assert e.value.response["Error"]["Code"] == "IncorrectKeyException"
    with pytest.raises(ClientError) as e:
        kms().decrypt(CiphertextBlob=b"not a blob of ours", EncryptionContext={"userpool-id": pool_id})
    assert e.value.response["Error"]["Code"] == "InvalidCiphertextException"
    # Without a Cognate access key, nothing opens.
    with pytest.raises(ClientError) as e:
        kms(config=Config(signature_version=UNSIGNED)).decrypt(
            CiphertextBlob=blob, EncryptionContext={"userpool-id": pool_id})
    assert e.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
