"""Lambda triggers run unchanged under Amazon's runtime interface client
(awslambdaric), connected to Cognate's Lambda Runtime API: PreSignUp
auto-confirms, PreTokenGeneration (V2) adds claims and a scope that PyJWT
then reads from verified tokens, and UserMigration moves a user from a
legacy store at their first sign-in."""

import os
import pathlib
import subprocess
import sys
import time

import jwt
import pytest
from botocore.exceptions import ClientError

from conftest import LAMBDA_ARN

HERE = pathlib.Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def workers(lambda_runtime_api):
    """Two awslambdaric workers for the function, as Lambda would run them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_LAMBDA_RUNTIME_API"] = lambda_runtime_api
    env["PYTHONPATH"] = str(HERE / "lambda_functions")
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
