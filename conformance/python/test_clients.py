"""App clients: CreateUserPoolClient / DescribeUserPoolClient /
UpdateUserPoolClient / ListUserPoolClients / DeleteUserPoolClient and the
client-secret rotation operations, through boto3 and the AWS CLI."""

import datetime as dt
import re

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, unique_name

CLIENT_ID_RE = re.compile(r"^[a-z0-9]{26}$")  # e.g. 38fjsnc484p94kpqsnet7mpld0 (describe-user-pool-client.rst)
CLIENT_SECRET_RE = re.compile(r"^[\w+]{24,64}$")  # ClientSecretType in the service model
UNKNOWN_CLIENT_ID = "0nosuchclient0000000000000"


def describe_client(client, pool_id, client_id):
    return client.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]


def sorted_or_empty(value):
    return sorted(value or [])


# --------------------------------------------------------------------------
# Create / describe
# --------------------------------------------------------------------------

def test_create_minimal_client(cognito, pool):
    before = dt.datetime.now(dt.timezone.utc)
    created = cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="minimal")["UserPoolClient"]

    assert CLIENT_ID_RE.match(created["ClientId"]), created["ClientId"]
    assert created["ClientName"] == "minimal"
    assert created["UserPoolId"] == pool["Id"]
    assert "ClientSecret" not in created
    for field in ("CreationDate", "LastModifiedDate"):
        assert abs(created[field] - before) < dt.timedelta(minutes=10)

    described = describe_client(cognito, pool["Id"], created["ClientId"])
    assert described["ClientId"] == created["ClientId"]
    assert described["ClientName"] == "minimal"
    assert "ClientSecret" not in described
    # Defaults: refresh tokens last 30 days (describe-user-pool-client.rst);
    # "When you create a new user pool client, token revocation is
    # automatically activated" (CreateUserPoolClient reference); the
    # authentication session lasts 3 minutes unless set.
    assert described["RefreshTokenValidity"] == 30
    assert described["AllowedOAuthFlowsUserPoolClient"] is False
    assert described["EnableTokenRevocation"] is True
    assert described.get("AuthSessionValidity", 3) == 3


def test_client_ids_are_unique(cognito, pool):
    ids = {
        cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName=f"c{i}")["UserPoolClient"]["ClientId"]
        for i in range(3)
    }
    assert len(ids) == 3


def test_generate_secret(cognito, pool):
    created = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="confidential", GenerateSecret=True
    )["UserPoolClient"]
    secret = created["ClientSecret"]
    assert CLIENT_SECRET_RE.match(secret), secret
    assert describe_client(cognito, pool["Id"], created["ClientId"])["ClientSecret"] == secret

    other = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="confidential2", GenerateSecret=True
    )["UserPoolClient"]
    assert other["ClientSecret"] != secret


RICH_CLIENT = {
    "ClientName": "rich-client",
    "RefreshTokenValidity": 10,
    "AccessTokenValidity": 60,
    "IdTokenValidity": 45,
    "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"},
    "ReadAttributes": ["email", "email_verified", "name", "custom:tenant"],
    "WriteAttributes": ["email", "name", "custom:tenant"],
    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    "SupportedIdentityProviders": ["COGNITO"],
    "CallbackURLs": ["https://example.com/callback", "http://localhost:8001/cb", "myapp://example"],
    "LogoutURLs": ["https://example.com/logout"],
    "DefaultRedirectURI": "https://example.com/callback",
    "AllowedOAuthFlows": ["code", "implicit"],
    "AllowedOAuthScopes": ["openid", "email", "profile", "aws.cognito.signin.user.admin"],
    "AllowedOAuthFlowsUserPoolClient": True,
    "PreventUserExistenceErrors": "ENABLED",
    "EnableTokenRevocation": True,
    "AuthSessionValidity": 4,
}

LIST_FIELDS = [
    "ReadAttributes", "WriteAttributes", "ExplicitAuthFlows", "SupportedIdentityProviders",
    "CallbackURLs", "LogoutURLs", "AllowedOAuthFlows", "AllowedOAuthScopes",
]


def assert_rich_client(c):
    for key, value in RICH_CLIENT.items():
        if key in LIST_FIELDS:
            # Cognito does not keep list order (create-user-pool-client.rst).
            assert sorted(c[key]) == sorted(value), key
        else:
            assert c[key] == value, key


@pytest.fixture
def pool_with_tenant(pools):
    return pools(Schema=[{"Name": "tenant", "AttributeDataType": "String", "Mutable": True}])


def test_rich_client_round_trips(cognito, pool_with_tenant):
    pool_id = pool_with_tenant["Id"]
    created = cognito.create_user_pool_client(UserPoolId=pool_id, GenerateSecret=True, **RICH_CLIENT)["UserPoolClient"]
    assert_rich_client(created)
    described = describe_client(cognito, pool_id, created["ClientId"])
    assert_rich_client(described)
    assert described["ClientSecret"] == created["ClientSecret"]


# --------------------------------------------------------------------------
# Update
# --------------------------------------------------------------------------

def test_update_client_replaces_configuration(cognito, pool_with_tenant):
    pool_id = pool_with_tenant["Id"]
    created = cognito.create_user_pool_client(UserPoolId=pool_id, GenerateSecret=True, **RICH_CLIENT)["UserPoolClient"]
    client_id = created["ClientId"]

    # Omitted settings go back to their defaults (UpdateUserPoolClient
    # reference; cognito-user-pool-updating.html).
    updated = cognito.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, ClientName="renamed")
    updated = updated["UserPoolClient"]
    described = describe_client(cognito, pool_id, client_id)

    for c in (updated, described):
        assert c["ClientId"] == client_id
        assert c["ClientName"] == "renamed"
        assert not c.get("CallbackURLs")
        assert not c.get("LogoutURLs")
        assert not c.get("AllowedOAuthFlows")
        assert not c.get("AllowedOAuthScopes")
        assert not c.get("AllowedOAuthFlowsUserPoolClient")
        assert c["RefreshTokenValidity"] == 30
        # The secret can't be changed by an update (cognito-user-pool-updating.html).
        assert c["ClientSecret"] == created["ClientSecret"]
    assert described["LastModifiedDate"] >= described["CreationDate"]


def test_update_client_sets_new_values(cognito, pool):
    pool_id = pool["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="before")["UserPoolClient"]["ClientId"]
    cognito.update_user_pool_client(
        UserPoolId=pool_id,
        ClientId=client_id,
        ClientName="after",
        RefreshTokenValidity=5,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )
    c = describe_client(cognito, pool_id, client_id)
    assert c["ClientName"] == "after"
    assert c["RefreshTokenValidity"] == 5
    assert sorted(c["ExplicitAuthFlows"]) == ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert c["PreventUserExistenceErrors"] == "ENABLED"
    assert "ClientSecret" not in c


# --------------------------------------------------------------------------
# Delete / not found
# --------------------------------------------------------------------------

def test_delete_client(cognito, pool):
    pool_id = pool["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="doomed")["UserPoolClient"]["ClientId"]
    cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)

    with pytest.raises(ClientError) as exc:
        describe_client(cognito, pool_id, client_id)
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        cognito.delete_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    assert error_code(exc.value) == "ResourceNotFoundException"
    listed = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    assert client_id not in [c["ClientId"] for c in listed]


@pytest.mark.parametrize(
    "call",
    [
        lambda c, p: c.describe_user_pool_client(UserPoolId=p, ClientId=UNKNOWN_CLIENT_ID),
        lambda c, p: c.update_user_pool_client(UserPoolId=p, ClientId=UNKNOWN_CLIENT_ID, ClientName="x"),
        lambda c, p: c.delete_user_pool_client(UserPoolId=p, ClientId=UNKNOWN_CLIENT_ID),
    ],
    ids=["describe", "update", "delete"],
)
def test_unknown_client_is_resource_not_found(cognito, pool, call):
    with pytest.raises(ClientError) as exc:
        call(cognito, pool["Id"])
    assert error_code(exc.value) == "ResourceNotFoundException"


def test_client_in_unknown_pool_is_resource_not_found(cognito):
    with pytest.raises(ClientError) as exc:
        cognito.create_user_pool_client(UserPoolId="us-east-1_NoSuchPo0", ClientName="orphan")
    assert error_code(exc.value) == "ResourceNotFoundException"


def test_client_is_scoped_to_its_pool(cognito, pools):
    pool_a, pool_b = pools(), pools()
    client_id = cognito.create_user_pool_client(UserPoolId=pool_a["Id"], ClientName="a")["UserPoolClient"]["ClientId"]
    with pytest.raises(ClientError) as exc:
        describe_client(cognito, pool_b["Id"], client_id)
    assert error_code(exc.value) == "ResourceNotFoundException"


def test_deleting_pool_deletes_its_clients(cognito):
    pool_id = cognito.create_user_pool(PoolName=unique_name("with-client"))["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    cognito.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        describe_client(cognito, pool_id, client_id)
    assert error_code(exc.value) == "ResourceNotFoundException"


# --------------------------------------------------------------------------
# List + pagination
# --------------------------------------------------------------------------

def test_list_user_pool_clients_paginates(cognito, pool):
    pool_id = pool["Id"]
    mine = {}
    for i in range(5):
        c = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName=f"paged-{i}")["UserPoolClient"]
        mine[c["ClientId"]] = c["ClientName"]

    seen, token, pages = [], None, 0
    while True:
        kwargs = {"UserPoolId": pool_id, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = cognito.list_user_pool_clients(**kwargs)
        pages += 1
        assert len(page["UserPoolClients"]) <= 2
        for entry in page["UserPoolClients"]:
            assert entry["UserPoolId"] == pool_id
            assert entry["ClientName"] == mine[entry["ClientId"]]
        seen += [c["ClientId"] for c in page["UserPoolClients"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 100, "pagination does not terminate"

    assert pages >= 3
    assert sorted(seen) == sorted(mine)


def test_list_user_pool_clients_paginator(cognito, pool):
    ids = {
        cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName=f"p{i}")["UserPoolClient"]["ClientId"]
        for i in range(3)
    }
    pages = list(
        cognito.get_paginator("list_user_pool_clients").paginate(
            UserPoolId=pool["Id"], PaginationConfig={"PageSize": 1}
        )
    )
    listed = [c["ClientId"] for page in pages for c in page["UserPoolClients"]]
    assert len(pages) >= 3
    assert sorted(listed) == sorted(ids)


def test_list_clients_of_empty_pool(cognito, pool):
    page = cognito.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=10)
    assert page["UserPoolClients"] == []
    assert "NextToken" not in page


@pytest.mark.parametrize("max_results", [0, 61])
def test_list_user_pool_clients_max_results_out_of_range(cognito_raw, pool, max_results):
    with pytest.raises(ClientError) as exc:
        cognito_raw.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=max_results)
    assert error_code(exc.value) == "InvalidParameterException"


def test_create_client_without_name_is_invalid_parameter(cognito_raw, pool):
    with pytest.raises(ClientError) as exc:
        cognito_raw.create_user_pool_client(UserPoolId=pool["Id"])
    assert error_code(exc.value) == "InvalidParameterException"


def test_client_bad_enum_is_invalid_parameter(cognito_raw, pool):
    with pytest.raises(ClientError) as exc:
        cognito_raw.create_user_pool_client(UserPoolId=pool["Id"], ClientName="x", PreventUserExistenceErrors="SOMETIMES")
    assert error_code(exc.value) == "InvalidParameterException"


# --------------------------------------------------------------------------
# Client secret rotation (operations added to the API in 2025)
# --------------------------------------------------------------------------

def test_client_secret_rotation(cognito, pool):
    if not hasattr(cognito, "add_user_pool_client_secret"):
        pytest.skip("installed botocore has no AddUserPoolClientSecret")
    pool_id = pool["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="rotating", GenerateSecret=True
    )["UserPoolClient"]["ClientId"]

    def listed():
        return cognito.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId=client_id)["ClientSecrets"]

    original = listed()
    assert len(original) == 1
    original_id = original[0]["ClientSecretId"]

    added = cognito.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=client_id)["ClientSecretDescriptor"]
    # A generated secret's value is returned once, on creation.
    assert CLIENT_SECRET_RE.match(added["ClientSecretValue"])
    assert added["ClientSecretId"] != original_id
    assert isinstance(added["ClientSecretCreateDate"], dt.datetime)

    secrets = listed()
    assert sorted(s["ClientSecretId"] for s in secrets) == sorted([original_id, added["ClientSecretId"]])
    # "For security reasons, the response never reveals the actual secret
    # value in ClientSecretValue." (ListUserPoolClientSecrets reference)
    assert all(not s.get("ClientSecretValue") for s in secrets)

    cognito.delete_user_pool_client_secret(
        UserPoolId=pool_id, ClientId=client_id, ClientSecretId=added["ClientSecretId"]
    )
    assert [s["ClientSecretId"] for s in listed()] == [original_id]


def test_client_secret_with_custom_value(cognito, pool):
    if not hasattr(cognito, "add_user_pool_client_secret"):
        pytest.skip("installed botocore has no AddUserPoolClientSecret")
    pool_id = pool["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id, ClientName="custom-secret", GenerateSecret=True
    )["UserPoolClient"]["ClientId"]
    added = cognito.add_user_pool_client_secret(
        UserPoolId=pool_id, ClientId=client_id, ClientSecret="myCustomSecretValue0123456789"
    )["ClientSecretDescriptor"]
    assert added["ClientSecretId"]
    # "For custom secrets that you provide, the ClientSecretValue is not
    # included in the response." (AddUserPoolClientSecret reference)
    assert not added.get("ClientSecretValue")


def test_client_secret_ops_on_unknown_client(cognito, pool):
    if not hasattr(cognito, "list_user_pool_client_secrets"):
        pytest.skip("installed botocore has no ListUserPoolClientSecrets")
    with pytest.raises(ClientError) as exc:
        cognito.list_user_pool_client_secrets(UserPoolId=pool["Id"], ClientId=UNKNOWN_CLIENT_ID)
    assert error_code(exc.value) == "ResourceNotFoundException"


# --------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------

def test_cli_client_lifecycle(aws_cli, pool):
    pool_id = pool["Id"]
    created = aws_cli(
        "create-user-pool-client", "--user-pool-id", pool_id, "--client-name", "MyTestClient",
        "--generate-secret",
        "--refresh-token-validity", "10", "--access-token-validity", "60", "--id-token-validity", "60",
        "--token-validity-units", "AccessToken=minutes,IdToken=minutes,RefreshToken=days",
        "--explicit-auth-flows", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
        "--prevent-user-existence-errors", "ENABLED",
        "--enable-token-revocation",
        "--auth-session-validity", "4",
        check=True,
    )["UserPoolClient"]
    client_id = created["ClientId"]
    assert CLIENT_ID_RE.match(client_id)
    assert CLIENT_SECRET_RE.match(created["ClientSecret"])
    assert created["TokenValidityUnits"] == {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"}

    described = aws_cli("describe-user-pool-client", "--user-pool-id", pool_id, "--client-id", client_id,
                        check=True)["UserPoolClient"]
    assert described["ClientName"] == "MyTestClient"
    assert described["RefreshTokenValidity"] == 10
    assert described["AuthSessionValidity"] == 4
    assert sorted(described["ExplicitAuthFlows"]) == sorted(
        ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )

    aws_cli("update-user-pool-client", "--user-pool-id", pool_id, "--client-id", client_id,
            "--client-name", "Renamed", check=True)
    described = aws_cli("describe-user-pool-client", "--user-pool-id", pool_id, "--client-id", client_id,
                        check=True)["UserPoolClient"]
    assert described["ClientName"] == "Renamed"
    assert described["RefreshTokenValidity"] == 30

    aws_cli("delete-user-pool-client", "--user-pool-id", pool_id, "--client-id", client_id, check=True)
    gone = aws_cli("describe-user-pool-client", "--user-pool-id", pool_id, "--client-id", client_id)
    assert gone.returncode != 0
    assert "ResourceNotFoundException" in gone.stderr


def test_cli_list_user_pool_clients(aws_cli, cognito, pool):
    ids = {
        cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName=f"cli-{i}")["UserPoolClient"]["ClientId"]
        for i in range(3)
    }
    # --page-size 1 makes the CLI walk three NextTokens and merge the pages.
    listed = aws_cli("list-user-pool-clients", "--user-pool-id", pool["Id"], "--page-size", "1", check=True)
    assert sorted(c["ClientId"] for c in listed["UserPoolClients"]) == sorted(ids)
    assert "NextToken" not in listed
