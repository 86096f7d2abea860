"""Request signing (SigV4) on admin operations, and that the operations
Cognito serves without AWS credentials are not refused for lack of them."""

import datetime as dt
import json

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import (
    WRONG_SECRET_ACCESS_KEY,
    api_headers,
    error_code,
    error_type,
    sign_request,
    signed_post,
    status_code,
)

# Error codes that mean "refused because of the AWS signature/credentials".
AUTH_ERRORS = {
    "MissingAuthenticationTokenException",
    "MissingAuthenticationToken",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "IncompleteSignatureException",
    "IncompleteSignature",
    "AccessDeniedException",
    "NotAuthorizedException",  # not a signature error in Cognito, but never acceptable for "no credentials"
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "ExpiredTokenException",
}
# NotAuthorizedException is what Cognito returns for a bad *user* password;
# on an unknown client it must not appear, so keeping it in the set is safe.

FAKE_CLIENT_ID = "1example23456789abcdefghij"  # 26 lowercase alphanumerics, no such client


def test_signed_call_is_accepted(cognito):
    response = cognito.list_user_pools(MaxResults=1)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_unsigned_admin_call_is_refused(unsigned_client):
    # Cognito answers unsigned IAM-authorized calls with
    # x-amzn-ErrorType: MissingAuthenticationTokenException
    # (https://github.com/awslabs/aws-sdk-ios-samples/issues/108,
    #  https://github.com/aws/aws-sdk-cpp/issues/1622)
    with pytest.raises(ClientError) as exc:
        unsigned_client.list_user_pools(MaxResults=10)
    assert error_code(exc.value) == "MissingAuthenticationTokenException"
    assert 400 <= status_code(exc.value) < 500


def test_unsigned_create_is_refused_and_creates_nothing(unsigned_client, cognito):
    name = "unsigned-should-not-exist"
    with pytest.raises(ClientError) as exc:
        unsigned_client.create_user_pool(PoolName=name)
    assert error_code(exc.value) == "MissingAuthenticationTokenException"
    names = [
        p["Name"]
        for page in cognito.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 60})
        for p in page["UserPools"]
    ]
    assert name not in names


def test_wrong_secret_is_invalid_signature(wrong_secret_client):
    with pytest.raises(ClientError) as exc:
        wrong_secret_client.list_user_pools(MaxResults=10)
    assert error_code(exc.value) == "InvalidSignatureException"
    assert status_code(exc.value) == 400


def test_unknown_access_key_is_unrecognized_client(unknown_key_client):
    # {"__type":"UnrecognizedClientException","message":"The security token
    # included in the request is invalid."}, HTTP 400, from cognito-idp
    # (https://github.com/aws/aws-sdk-php/issues/2444)
    with pytest.raises(ClientError) as exc:
        unknown_key_client.list_user_pools(MaxResults=10)
    assert error_code(exc.value) == "UnrecognizedClientException"
    assert status_code(exc.value) == 400
    assert exc.value.response["Error"]["Message"] == "The security token included in the request is invalid."


def test_tampered_body_is_invalid_signature(endpoint):
    body = json.dumps({"MaxResults": 10}).encode()
    headers = sign_request("POST", endpoint + "/", body, api_headers("ListUserPools"))
    tampered = json.dumps({"MaxResults": 11}).encode()
    response = requests.post(endpoint + "/", data=tampered, headers=headers, timeout=30)
    assert response.status_code == 400
    assert error_type(response) == "InvalidSignatureException"


def _signed_at(endpoint, offset):
    when = dt.datetime.now(dt.timezone.utc) + offset
    return signed_post(endpoint, "ListUserPools", {"MaxResults": 10}, when=when)


def test_slightly_old_signature_is_accepted(endpoint):
    # Well inside AWS's clock-skew allowance (at least 5 minutes).
    response = _signed_at(endpoint, dt.timedelta(minutes=-1))
    assert response.status_code == 200, response.text


# AWS rejects SigV4 requests whose X-Amz-Date is too far from its clock with
# InvalidSignatureException "Signature expired: ... is now earlier than ..."
# (https://github.com/aws/aws-sdk-js/issues/254). The window is 5 minutes for
# some services and 15 for others (a Cognito report shows "- 15 min.":
# https://github.com/aws-amplify/amplify-js/issues/3719), so the stale and
# future cases use 20 minutes, outside both.

def test_stale_signature_is_refused(endpoint):
    response = _signed_at(endpoint, dt.timedelta(minutes=-20))
    assert response.status_code == 400
    assert error_type(response) == "InvalidSignatureException"
    assert "Signature expired" in response.json().get("message", response.json().get("Message", ""))


def test_future_signature_is_refused(endpoint):
    response = _signed_at(endpoint, dt.timedelta(minutes=20))
    assert response.status_code == 400
    assert error_type(response) == "InvalidSignatureException"


def test_stale_signature_via_boto3_is_refused(make_client, monkeypatch):
    stale = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)).replace(tzinfo=None)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda *a, **k: stale)
    with pytest.raises(ClientError) as exc:
        make_client().list_user_pools(MaxResults=10)
    assert error_code(exc.value) == "InvalidSignatureException"


def test_cli_with_wrong_secret_fails(aws_cli):
    result = aws_cli("list-user-pools", "--max-results", "10", secret=WRONG_SECRET_ACCESS_KEY)
    assert result.returncode != 0
    assert "InvalidSignatureException" in result.stderr


# --------------------------------------------------------------------------
# Operations Cognito serves without IAM credentials (authtype "none" in the
# service model): an unsigned call must get past authentication. With an
# unknown app client it fails, but not with an AWS-auth error.
# --------------------------------------------------------------------------

def test_model_marks_initiate_auth_and_sign_up_unsigned(cognito):
    model = cognito.meta.service_model
    for op in ("InitiateAuth", "SignUp", "ConfirmSignUp", "ForgotPassword"):
        assert model.operation_model(op).auth_type == "none", op


def test_unsigned_initiate_auth_is_not_an_auth_error(unsigned_client):
    with pytest.raises(ClientError) as exc:
        unsigned_client.initiate_auth(
            ClientId=FAKE_CLIENT_ID,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "nobody", "PASSWORD": "Passw0rd!"},
        )
    assert error_code(exc.value) not in AUTH_ERRORS, exc.value.response
    assert 400 <= status_code(exc.value) < 500


def test_unsigned_sign_up_is_not_an_auth_error(unsigned_client):
    with pytest.raises(ClientError) as exc:
        unsigned_client.sign_up(ClientId=FAKE_CLIENT_ID, Username="nobody", Password="Passw0rd!")
    assert error_code(exc.value) not in AUTH_ERRORS, exc.value.response
    assert 400 <= status_code(exc.value) < 500


def test_raw_unsigned_initiate_auth_is_not_an_auth_error(endpoint):
    body = {
        "ClientId": FAKE_CLIENT_ID,
        "AuthFlow": "USER_PASSWORD_AUTH",
        "AuthParameters": {"USERNAME": "nobody", "PASSWORD": "Passw0rd!"},
    }
    response = requests.post(endpoint + "/", data=json.dumps(body), headers=api_headers("InitiateAuth"), timeout=30)
    assert 400 <= response.status_code < 500
    assert error_type(response) not in AUTH_ERRORS, response.text
    assert "x-amzn-RequestId" in response.headers
