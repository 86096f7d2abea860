"""Wire protocol (awsJson1_1) checked with raw HTTP: request ids, error
shape, unknown operations, malformed bodies, oversized bodies, CORS and
the server's health endpoints."""

import json

import pytest
import requests

from conftest import JSON_CONTENT_TYPE, api_headers, error_type, sign_request, signed_post

REQUEST_ID = "x-amzn-RequestId"


def error_message(response):
    body = response.json()
    # Service errors carry "message"; some framework errors spell it "Message"
    # (e.g. {"__type":"SerializationException","Message":"Expected map or null"},
    # https://github.com/aws-amplify/amplify-js/issues/4738). botocore reads both.
    return body.get("message", body.get("Message"))


def assert_json_error(response, expected_type, status=400):
    assert response.status_code == status, response.text
    assert response.headers.get("Content-Type", "").startswith(JSON_CONTENT_TYPE)
    assert error_type(response) == expected_type, response.text
    assert REQUEST_ID in response.headers
    # x-amzn-ErrorType may carry a ":<doc url>" suffix; botocore keeps the part before ':'.
    assert response.headers.get("x-amzn-ErrorType", "").split(":")[0] == expected_type


# --------------------------------------------------------------------------
# Successful and failed calls
# --------------------------------------------------------------------------

def test_success_has_request_id_and_json(endpoint):
    response = signed_post(endpoint, "ListUserPools", {"MaxResults": 5})
    assert response.status_code == 200, response.text
    assert response.headers.get("Content-Type", "").startswith(JSON_CONTENT_TYPE)
    assert response.headers.get(REQUEST_ID)
    assert isinstance(response.json()["UserPools"], list)


def test_request_ids_differ(endpoint):
    ids = {signed_post(endpoint, "ListUserPools", {"MaxResults": 1}).headers.get(REQUEST_ID) for _ in range(3)}
    assert None not in ids
    assert len(ids) == 3


def test_boto3_sees_request_id(cognito):
    metadata = cognito.list_user_pools(MaxResults=1)["ResponseMetadata"]
    assert metadata.get("RequestId")


def test_service_error_shape(endpoint):
    response = signed_post(endpoint, "DescribeUserPool", {"UserPoolId": "us-east-1_NoSuchPo0"})
    assert_json_error(response, "ResourceNotFoundException")
    assert error_message(response)


def test_validation_error_shape(endpoint):
    response = signed_post(endpoint, "ListUserPools", {"MaxResults": 0})
    assert_json_error(response, "InvalidParameterException")
    assert error_message(response)


def test_auth_error_shape(endpoint):
    body = json.dumps({"MaxResults": 1})
    response = requests.post(endpoint + "/", data=body, headers=api_headers("ListUserPools"), timeout=30)
    assert 400 <= response.status_code < 500
    assert error_type(response) == "MissingAuthenticationTokenException"
    assert REQUEST_ID in response.headers
    assert response.headers.get("x-amzn-ErrorType", "").split(":")[0] == "MissingAuthenticationTokenException"


# --------------------------------------------------------------------------
# Bad requests
# --------------------------------------------------------------------------

def test_unknown_operation(endpoint):
    response = signed_post(endpoint, "NoSuchOperation", {})
    assert_json_error(response, "UnknownOperationException")


def test_malformed_json(endpoint):
    response = signed_post(endpoint, "ListUserPools", b'{"MaxResults": 10', raw=True)
    assert_json_error(response, "SerializationException")


def test_wrong_json_type(endpoint):
    # A string where the model says integer: rejected as SerializationException
    # (wrong-typed members, https://github.com/amazon-archives/amazon-cognito-identity-js/issues/485).
    response = signed_post(endpoint, "ListUserPools", {"MaxResults": "ten"})
    assert_json_error(response, "SerializationException")


def test_body_not_an_object(endpoint):
    response = signed_post(endpoint, "ListUserPools", b"[1, 2, 3]", raw=True)
    assert_json_error(response, "SerializationException")


def test_huge_body_is_refused_without_crashing(endpoint):
    payload = b'{"PoolName": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    headers = sign_request("POST", endpoint + "/", payload, api_headers("CreateUserPool"))
    try:
        response = requests.post(endpoint + "/", data=payload, headers=headers, timeout=60)
    except requests.ConnectionError:
        response = None  # the server may close the connection before reading it all
    if response is not None:
        assert 400 <= response.status_code < 500, response.status_code

    # Still alive and serving.
    assert requests.get(endpoint + "/health", timeout=10).status_code == 200
    assert signed_post(endpoint, "ListUserPools", {"MaxResults": 1}).status_code == 200


# --------------------------------------------------------------------------
# CORS (browsers call Cognito directly, e.g. the Amplify / JS SDKs)
# --------------------------------------------------------------------------

REQUESTED_HEADERS = ["content-type", "x-amz-target", "x-amz-user-agent", "authorization", "x-amz-date"]


def test_cors_preflight(endpoint):
    origin = "http://localhost:3000"
    response = requests.options(
        endpoint + "/",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": ",".join(REQUESTED_HEADERS),
        },
        timeout=10,
    )
    assert 200 <= response.status_code < 300, response.status_code
    assert response.headers.get("Access-Control-Allow-Origin") in (origin, "*")

    methods = response.headers.get("Access-Control-Allow-Methods", "")
    assert methods == "*" or "POST" in [m.strip().upper() for m in methods.split(",")], methods

    allowed = response.headers.get("Access-Control-Allow-Headers", "")
    allowed_set = {h.strip().lower() for h in allowed.split(",")}
    assert allowed.strip() == "*" or set(REQUESTED_HEADERS) <= allowed_set, allowed


def test_cors_on_actual_response(endpoint):
    origin = "http://localhost:3000"
    response = signed_post(endpoint, "ListUserPools", {"MaxResults": 1}, extra_headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers.get("Access-Control-Allow-Origin") in (origin, "*")


# --------------------------------------------------------------------------
# Cognate's own health endpoints
# --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_health_endpoints(endpoint, path):
    assert requests.get(endpoint + path, timeout=10).status_code == 200


def test_sts_query_protocol_with_boto3(endpoint):
    """The query-protocol edge, driven by botocore's own STS client: a signed
    GetCallerIdentity answers with the admin key's identity, a wrong secret
    is refused, an operation not built yet says so."""
    import boto3
    from botocore.exceptions import ClientError

    from conftest import ACCESS_KEY_ID, SECRET_ACCESS_KEY

    def sts(secret):
        return boto3.session.Session().client(
            "sts",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=secret,
        )

    me = sts(SECRET_ACCESS_KEY).get_caller_identity()
    assert me["UserId"] == ACCESS_KEY_ID
    assert len(me["Account"]) == 12 and me["Account"].isdigit()
    assert me["Arn"].startswith(f"arn:aws:iam::{me['Account']}:")

    with pytest.raises(ClientError) as exc:
        sts("not-the-secret").get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"

    with pytest.raises(ClientError) as exc:
        sts(SECRET_ACCESS_KEY).assume_role(RoleArn="arn:aws:iam::000000000000:role/x", RoleSessionName="session")
    assert exc.value.response["Error"]["Code"] == "UnsupportedOperationException"
