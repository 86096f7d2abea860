"""User pools: CreateUserPool / DescribeUserPool / UpdateUserPool /
ListUserPools / DeleteUserPool, custom attributes, CSV header, tags and
input validation, through boto3 and the AWS CLI.

Expected values come from real Amazon Cognito; sources are cited inline
(the AWS CLI's own examples ship in awscli/examples/cognito-idp/*.rst).
"""

import datetime as dt
import re

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, error_code, force_delete_pool, unique_name

POOL_ID_RE = r"^{region}_[0-9A-Za-z]{{9}}$"
ACCOUNT_RE = r"[0-9]{12}"
UNKNOWN_POOL_ID = f"{REGION}_NoSuchPo0"

# Standard attributes of a new pool, in the order Cognito returns them, with
# their constraints (awscli/examples/cognito-idp/create-user-pool.rst, the
# "minimally configured user pool" output, and describe-user-pool.rst).
_S = {"MinLength": "0", "MaxLength": "2048"}
STANDARD_SCHEMA = [
    ("sub", "String", False, True, {"MinLength": "1", "MaxLength": "2048"}),
    ("name", "String", True, False, _S),
    ("given_name", "String", True, False, _S),
    ("family_name", "String", True, False, _S),
    ("middle_name", "String", True, False, _S),
    ("nickname", "String", True, False, _S),
    ("preferred_username", "String", True, False, _S),
    ("profile", "String", True, False, _S),
    ("picture", "String", True, False, _S),
    ("website", "String", True, False, _S),
    ("email", "String", True, False, _S),
    ("email_verified", "Boolean", True, False, None),
    ("gender", "String", True, False, _S),
    ("birthdate", "String", True, False, {"MinLength": "10", "MaxLength": "10"}),
    ("zoneinfo", "String", True, False, _S),
    ("locale", "String", True, False, _S),
    ("phone_number", "String", True, False, _S),
    ("phone_number_verified", "Boolean", True, False, None),
    ("address", "String", True, False, _S),
    ("updated_at", "Number", True, False, {"MinValue": "0"}),
]

# awscli/examples/cognito-idp/get-csv-header.rst
DEFAULT_CSV_HEADER = [
    "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
    "profile", "picture", "website", "email", "email_verified", "gender", "birthdate",
    "zoneinfo", "locale", "phone_number", "phone_number_verified", "address", "updated_at",
    "cognito:mfa_enabled", "cognito:username",
]


def expected_standard_attribute(name, data_type, mutable, required, constraints):
    attr = {
        "Name": name,
        "AttributeDataType": data_type,
        "DeveloperOnlyAttribute": False,
        "Mutable": mutable,
        "Required": required,
    }
    if data_type == "String":
        attr["StringAttributeConstraints"] = constraints
    elif data_type == "Number":
        attr["NumberAttributeConstraints"] = constraints
    return attr


def describe(client, pool_id):
    return client.describe_user_pool(UserPoolId=pool_id)["UserPool"]


def schema_by_name(pool):
    return {a["Name"]: a for a in pool["SchemaAttributes"]}


def list_all_pool_ids(client, page_size=60):
    ids, token = [], None
    while True:
        kwargs = {"MaxResults": page_size}
        if token:
            kwargs["NextToken"] = token
        page = client.list_user_pools(**kwargs)
        ids += [p["Id"] for p in page["UserPools"]]
        token = page.get("NextToken")
        if not token:
            return ids


# --------------------------------------------------------------------------
# Create / describe
# --------------------------------------------------------------------------

def test_create_returns_id_arn_name_and_dates(cognito, pools):
    name = unique_name("minimal")
    before = dt.datetime.now(dt.timezone.utc)
    created = pools(PoolName=name)

    assert re.match(POOL_ID_RE.format(region=REGION), created["Id"]), created["Id"]
    assert created["Name"] == name
    for field in ("CreationDate", "LastModifiedDate"):
        assert isinstance(created[field], dt.datetime)
        assert abs(created[field] - before) < dt.timedelta(minutes=10)

    described = describe(cognito, created["Id"])
    assert described["Id"] == created["Id"]
    assert described["Name"] == name
    # arn:aws:cognito-idp:<region>:<account>:userpool/<id> (describe-user-pool.rst)
    assert re.fullmatch(
        rf"arn:aws:cognito-idp:{REGION}:{ACCOUNT_RE}:userpool/{re.escape(created['Id'])}", described["Arn"]
    ), described["Arn"]
    assert created.get("Arn", described["Arn"]) == described["Arn"]


def test_pool_ids_are_unique(pools):
    ids = {pools()["Id"] for _ in range(3)}
    assert len(ids) == 3


def test_minimal_pool_has_cognito_defaults(cognito, pool):
    p = describe(cognito, pool["Id"])

    # create-user-pool.rst (minimal pool): password policy defaults.
    policy = p["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 8
    assert policy["RequireUppercase"] is True
    assert policy["RequireLowercase"] is True
    assert policy["RequireNumbers"] is True
    assert policy["RequireSymbols"] is True
    # Documented default of 7 days (older pools omit the field).
    assert policy.get("TemporaryPasswordValidityDays", 7) == 7

    assert p["MfaConfiguration"] == "OFF"
    assert p["EstimatedNumberOfUsers"] == 0
    assert p["LambdaConfig"] == {}
    assert p["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    assert p["AdminCreateUserConfig"].get("UnusedAccountValidityDays", 7) == 7
    assert p.get("DeletionProtection", "INACTIVE") == "INACTIVE"
    assert p.get("EmailConfiguration", {}).get("EmailSendingAccount", "COGNITO_DEFAULT") == "COGNITO_DEFAULT"
    assert p.get("UserPoolTags", {}) == {}
    assert not p.get("AliasAttributes")
    assert not p.get("UsernameAttributes")
    assert not p.get("AutoVerifiedAttributes")


def test_minimal_pool_has_standard_schema_attributes(cognito, pool):
    attrs = describe(cognito, pool["Id"])["SchemaAttributes"]
    by_name = {a["Name"]: a for a in attrs}

    for spec in STANDARD_SCHEMA:
        assert by_name.get(spec[0]) == expected_standard_attribute(*spec), spec[0]

    # Nothing but the standard attributes (newer pools may also list the
    # read-only "identities" attribute, as in describe-user-pool.rst).
    extra = set(by_name) - {s[0] for s in STANDARD_SCHEMA} - {"identities"}
    assert extra == set()

    # Same relative order as Cognito's own output.
    order = [a["Name"] for a in attrs if a["Name"] != "identities"]
    assert order == [s[0] for s in STANDARD_SCHEMA]


def test_region_comes_from_the_signing_region(make_client, cognito, pools):
    eu = make_client(region="eu-west-1")
    created = pools(client=eu)
    pool_id = created["Id"]

    assert re.match(POOL_ID_RE.format(region="eu-west-1"), pool_id), pool_id
    arn = describe(eu, pool_id)["Arn"]
    assert re.fullmatch(rf"arn:aws:cognito-idp:eu-west-1:{ACCOUNT_RE}:userpool/{re.escape(pool_id)}", arn), arn

    # Pools are regional: the pool is listed in eu-west-1 only.
    assert pool_id in list_all_pool_ids(eu)
    assert pool_id not in list_all_pool_ids(cognito)


# --------------------------------------------------------------------------
# Full configuration round trip
# --------------------------------------------------------------------------

LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:conformance-{}"
RICH_LAMBDA_CONFIG = {
    trigger: LAMBDA_ARN.format(trigger)
    for trigger in (
        "PreSignUp", "CustomMessage", "PostConfirmation", "PreAuthentication", "PostAuthentication",
        "DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse", "UserMigration",
    )
}


def rich_pool_config(name):
    return {
        "PoolName": name,
        "Policies": {
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": False,
                "RequireNumbers": True,
                "RequireSymbols": False,
                "TemporaryPasswordValidityDays": 3,
            }
        },
        "DeletionProtection": "ACTIVE",
        "LambdaConfig": RICH_LAMBDA_CONFIG,
        "AutoVerifiedAttributes": ["email"],
        "UsernameAttributes": ["email"],
        "SmsVerificationMessage": "Your SMS code is {####}",
        "SmsAuthenticationMessage": "Your sign-in code is {####}",
        "VerificationMessageTemplate": {
            "SmsMessage": "Your SMS code is {####}",
            "EmailMessage": "Your email code is {####}",
            "EmailSubject": "Verify your email",
            "EmailMessageByLink": "Verify here: {##Verify Email##}",
            "EmailSubjectByLink": "Verify your email (link)",
            "DefaultEmailOption": "CONFIRM_WITH_LINK",
        },
        "EmailConfiguration": {
            "EmailSendingAccount": "COGNITO_DEFAULT",
            "ReplyToEmailAddress": "support@example.com",
        },
        "MfaConfiguration": "OFF",
        "DeviceConfiguration": {
            "ChallengeRequiredOnNewDevice": True,
            "DeviceOnlyRememberedOnUserPrompt": True,
        },
        "UserPoolTags": {"team": "identity", "env": "conformance"},
        "AdminCreateUserConfig": {
            "AllowAdminCreateUserOnly": True,
            "InviteMessageTemplate": {
                "SMSMessage": "User {username}, temporary password {####}",
                "EmailMessage": "Hello {username}, your temporary password is {####}",
                "EmailSubject": "Welcome aboard",
            },
        },
        "Schema": [
            {"Name": "email", "AttributeDataType": "String", "Mutable": True, "Required": True},
            {
                "Name": "tenant",
                "AttributeDataType": "String",
                "Mutable": True,
                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"},
            },
            {
                "Name": "level",
                "AttributeDataType": "Number",
                "Mutable": False,
                "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "10"},
            },
        ],
        "UsernameConfiguration": {"CaseSensitive": False},
        "AccountRecoverySetting": {
            "RecoveryMechanisms": [
                {"Priority": 1, "Name": "verified_email"},
                {"Priority": 2, "Name": "verified_phone_number"},
            ]
        },
        "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
    }


def assert_rich_pool(p, config):
    assert p["Name"] == config["PoolName"]
    policy = p["Policies"]["PasswordPolicy"]
    for key, value in config["Policies"]["PasswordPolicy"].items():
        assert policy[key] == value, key
    assert p["DeletionProtection"] == "ACTIVE"
    for key, value in config["LambdaConfig"].items():
        assert p["LambdaConfig"][key] == value, key
    assert sorted(p["AutoVerifiedAttributes"]) == ["email"]
    assert sorted(p["UsernameAttributes"]) == ["email"]
    assert not p.get("AliasAttributes")
    assert p["SmsVerificationMessage"] == config["SmsVerificationMessage"]
    assert p["SmsAuthenticationMessage"] == config["SmsAuthenticationMessage"]
    for key, value in config["VerificationMessageTemplate"].items():
        assert p["VerificationMessageTemplate"][key] == value, key
    assert p["EmailConfiguration"]["EmailSendingAccount"] == "COGNITO_DEFAULT"
    assert p["EmailConfiguration"]["ReplyToEmailAddress"] == "support@example.com"
    assert p["MfaConfiguration"] == "OFF"
    assert p["DeviceConfiguration"] == config["DeviceConfiguration"]
    assert p["UserPoolTags"] == config["UserPoolTags"]
    admin = p["AdminCreateUserConfig"]
    assert admin["AllowAdminCreateUserOnly"] is True
    assert admin["InviteMessageTemplate"] == config["AdminCreateUserConfig"]["InviteMessageTemplate"]
    assert p["UsernameConfiguration"] == {"CaseSensitive": False}
    assert sorted(p["AccountRecoverySetting"]["RecoveryMechanisms"], key=lambda m: m["Priority"]) == \
        config["AccountRecoverySetting"]["RecoveryMechanisms"]
    assert p["UserAttributeUpdateSettings"] == config["UserAttributeUpdateSettings"]

    schema = schema_by_name(p)
    assert schema["email"]["Required"] is True
    tenant = schema["custom:tenant"]
    assert tenant["AttributeDataType"] == "String"
    assert tenant["Mutable"] is True
    assert tenant["Required"] is False
    assert tenant["DeveloperOnlyAttribute"] is False
    assert tenant["StringAttributeConstraints"] == {"MinLength": "1", "MaxLength": "64"}
    level = schema["custom:level"]
    assert level["AttributeDataType"] == "Number"
    assert level["Mutable"] is False
    assert level["NumberAttributeConstraints"] == {"MinValue": "0", "MaxValue": "10"}
    assert "tenant" not in schema and "level" not in schema


def test_rich_configuration_round_trips(cognito, pools):
    config = rich_pool_config(unique_name("rich"))
    created = pools(**config)
    assert_rich_pool(created, config)
    assert_rich_pool(describe(cognito, created["Id"]), config)


def test_alias_attributes_round_trip(cognito, pools):
    created = pools(AliasAttributes=["email", "preferred_username"])
    p = describe(cognito, created["Id"])
    assert sorted(p["AliasAttributes"]) == ["email", "preferred_username"]
    assert not p.get("UsernameAttributes")


def test_pool_name_of_128_characters_is_accepted(pools):
    name = "p" * 128
    assert pools(PoolName=name)["Name"] == name


# --------------------------------------------------------------------------
# Update
# --------------------------------------------------------------------------

def test_update_user_pool_resets_omitted_settings(cognito, pools):
    # "If you don't provide a value for an attribute, Amazon Cognito sets it to
    # its default value ... This can reset configurations including your
    # attribute schema, your Lambda triggers, and your email and SMS message
    # configuration." https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-updating.html
    created = pools(
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        LambdaConfig={"PreSignUp": LAMBDA_ARN.format("PreSignUp")},
        SmsVerificationMessage="Old SMS code {####}",
        Schema=[{"Name": "tenant", "AttributeDataType": "String", "Mutable": True}],
    )
    pool_id = created["Id"]

    new_policy = {
        "MinimumLength": 10,
        "RequireUppercase": False,
        "RequireLowercase": True,
        "RequireNumbers": False,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 2,
    }
    cognito.update_user_pool(UserPoolId=pool_id, Policies={"PasswordPolicy": new_policy})
    p = describe(cognito, pool_id)

    for key, value in new_policy.items():
        assert p["Policies"]["PasswordPolicy"][key] == value, key
    assert p["LambdaConfig"] == {}
    assert not p.get("AutoVerifiedAttributes")
    assert p.get("SmsVerificationMessage") != "Old SMS code {####}"
    # Settings that can't change after creation survive the update
    # (same page, "Settings you can't change").
    assert p["Id"] == pool_id
    assert sorted(p["UsernameAttributes"]) == ["email"]
    assert "custom:tenant" in schema_by_name(p)
    assert p["LastModifiedDate"] >= p["CreationDate"]


def test_update_user_pool_sets_new_values(cognito, pools):
    created = pools()
    pool_id = created["Id"]
    cognito.update_user_pool(
        UserPoolId=pool_id,
        AutoVerifiedAttributes=["email"],
        LambdaConfig={"PostConfirmation": LAMBDA_ARN.format("PostConfirmation")},
        DeviceConfiguration={"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        MfaConfiguration="OFF",
    )
    p = describe(cognito, pool_id)
    assert p["AutoVerifiedAttributes"] == ["email"]
    assert p["LambdaConfig"]["PostConfirmation"] == LAMBDA_ARN.format("PostConfirmation")
    assert p["DeviceConfiguration"] == {"ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": False}
    assert p["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert p["MfaConfiguration"] == "OFF"


def test_update_unknown_pool_is_resource_not_found(cognito):
    with pytest.raises(ClientError) as exc:
        cognito.update_user_pool(UserPoolId=UNKNOWN_POOL_ID, MfaConfiguration="OFF")
    assert error_code(exc.value) == "ResourceNotFoundException"


# --------------------------------------------------------------------------
# Delete
# --------------------------------------------------------------------------

def test_delete_pool(cognito):
    pool_id = cognito.create_user_pool(PoolName=unique_name("del"))["UserPool"]["Id"]
    cognito.delete_user_pool(UserPoolId=pool_id)

    with pytest.raises(ClientError) as exc:
        describe(cognito, pool_id)
    assert error_code(exc.value) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        cognito.delete_user_pool(UserPoolId=pool_id)
    assert error_code(exc.value) == "ResourceNotFoundException"
    assert pool_id not in list_all_pool_ids(cognito)


def test_deletion_protection_blocks_delete(cognito):
    pool_id = cognito.create_user_pool(PoolName=unique_name("protected"), DeletionProtection="ACTIVE")["UserPool"]["Id"]
    try:
        with pytest.raises(ClientError) as exc:
            cognito.delete_user_pool(UserPoolId=pool_id)
        assert error_code(exc.value) == "InvalidParameterException"
        assert describe(cognito, pool_id)["DeletionProtection"] == "ACTIVE"

        cognito.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
        cognito.delete_user_pool(UserPoolId=pool_id)
        with pytest.raises(ClientError) as exc:
            describe(cognito, pool_id)
        assert error_code(exc.value) == "ResourceNotFoundException"
    finally:
        force_delete_pool(cognito, pool_id)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.describe_user_pool(UserPoolId=UNKNOWN_POOL_ID),
        lambda c: c.delete_user_pool(UserPoolId=UNKNOWN_POOL_ID),
        lambda c: c.get_csv_header(UserPoolId=UNKNOWN_POOL_ID),
        lambda c: c.list_user_pool_clients(UserPoolId=UNKNOWN_POOL_ID, MaxResults=10),
        lambda c: c.add_custom_attributes(
            UserPoolId=UNKNOWN_POOL_ID, CustomAttributes=[{"Name": "x", "AttributeDataType": "String"}]
        ),
    ],
    ids=["describe", "delete", "csv-header", "list-clients", "add-custom-attributes"],
)
def test_unknown_pool_is_resource_not_found(cognito, call):
    with pytest.raises(ClientError) as exc:
        call(cognito)
    assert error_code(exc.value) == "ResourceNotFoundException"


# --------------------------------------------------------------------------
# List + pagination
# --------------------------------------------------------------------------

# The pagination tests each use a region of their own, so that the number of
# pools (and pages) doesn't depend on what other tests left behind.

def test_list_user_pools_paginates(make_client, pools):
    cognito = make_client(region="ca-central-1")
    mine = {pools(client=cognito)["Id"] for _ in range(5)}

    seen, token, pages = [], None, 0
    while True:
        kwargs = {"MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = cognito.list_user_pools(**kwargs)
        pages += 1
        assert len(page["UserPools"]) <= 2
        for entry in page["UserPools"]:
            assert {"Id", "Name", "CreationDate", "LastModifiedDate"} <= set(entry), entry
            assert "LambdaConfig" in entry  # list-user-pools.rst lists it even when empty
        seen += [p["Id"] for p in page["UserPools"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 1000, "pagination does not terminate"

    assert pages >= 3
    assert len(seen) == len(set(seen)), "a pool was returned twice"
    assert mine <= set(seen)


def test_list_user_pools_boto3_paginator(make_client, pools):
    cognito = make_client(region="ap-northeast-1")
    mine = {pools(client=cognito)["Id"] for _ in range(3)}
    pages = list(cognito.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 1}))
    ids = [p["Id"] for page in pages for p in page["UserPools"]]
    assert len(pages) >= 3
    assert len(ids) == len(set(ids))
    assert mine <= set(ids)


def test_list_user_pools_entry_matches_pool(cognito, pools):
    created = pools(LambdaConfig={"PreSignUp": LAMBDA_ARN.format("PreSignUp")})
    entries = {}
    for page in cognito.get_paginator("list_user_pools").paginate(PaginationConfig={"PageSize": 60}):
        entries.update({p["Id"]: p for p in page["UserPools"]})
    entry = entries[created["Id"]]
    assert entry["Name"] == created["Name"]
    assert entry["LambdaConfig"]["PreSignUp"] == LAMBDA_ARN.format("PreSignUp")


# --------------------------------------------------------------------------
# Custom attributes, CSV header
# --------------------------------------------------------------------------

def test_add_custom_attributes(cognito, pool):
    cognito.add_custom_attributes(
        UserPoolId=pool["Id"],
        CustomAttributes=[
            {
                "Name": "department",
                "AttributeDataType": "String",
                "Mutable": True,
                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "15"},
            }
        ],
    )
    attr = schema_by_name(describe(cognito, pool["Id"]))["custom:department"]
    assert attr["AttributeDataType"] == "String"
    assert attr["Mutable"] is True
    assert attr["Required"] is False
    assert attr["StringAttributeConstraints"] == {"MinLength": "1", "MaxLength": "15"}

    assert "custom:department" in cognito.get_csv_header(UserPoolId=pool["Id"])["CSVHeader"]


def test_add_duplicate_custom_attribute_is_refused(cognito, pool):
    attribute = {"Name": "badge", "AttributeDataType": "String", "Mutable": True}
    cognito.add_custom_attributes(UserPoolId=pool["Id"], CustomAttributes=[attribute])
    with pytest.raises(ClientError) as exc:
        cognito.add_custom_attributes(UserPoolId=pool["Id"], CustomAttributes=[attribute])
    assert error_code(exc.value) == "InvalidParameterException"
    names = [a["Name"] for a in describe(cognito, pool["Id"])["SchemaAttributes"]]
    assert names.count("custom:badge") == 1


def test_get_csv_header_of_new_pool(cognito, pool):
    response = cognito.get_csv_header(UserPoolId=pool["Id"])
    assert response["UserPoolId"] == pool["Id"]
    assert response["CSVHeader"] == DEFAULT_CSV_HEADER


# --------------------------------------------------------------------------
# Tags
# --------------------------------------------------------------------------

def test_tag_list_untag(cognito, pools):
    created = pools(UserPoolTags={"created": "yes"})
    arn = describe(cognito, created["Id"])["Arn"]

    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"created": "yes"}

    cognito.tag_resource(ResourceArn=arn, Tags={"administrator": "Jie", "tenant": "ExampleCorp"})
    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {
        "created": "yes", "administrator": "Jie", "tenant": "ExampleCorp",
    }

    cognito.tag_resource(ResourceArn=arn, Tags={"tenant": "OtherCorp"})
    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"]["tenant"] == "OtherCorp"

    cognito.untag_resource(ResourceArn=arn, TagKeys=["administrator", "created"])
    assert cognito.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"tenant": "OtherCorp"}
    assert describe(cognito, created["Id"])["UserPoolTags"] == {"tenant": "OtherCorp"}


# --------------------------------------------------------------------------
# Validation (server side: botocore's own validation is switched off)
# --------------------------------------------------------------------------

def _expect_invalid_parameter(call):
    with pytest.raises(ClientError) as exc:
        call()
    assert error_code(exc.value) == "InvalidParameterException", exc.value.response
    return exc.value


def test_missing_pool_name_is_invalid_parameter(cognito_raw):
    _expect_invalid_parameter(lambda: cognito_raw.create_user_pool())


def test_missing_user_pool_id_is_invalid_parameter(cognito_raw):
    _expect_invalid_parameter(lambda: cognito_raw.describe_user_pool())


def test_pool_name_too_long_is_invalid_parameter(cognito_raw):
    _expect_invalid_parameter(lambda: cognito_raw.create_user_pool(PoolName="x" * 129))


def test_empty_pool_name_is_invalid_parameter(cognito_raw):
    _expect_invalid_parameter(lambda: cognito_raw.create_user_pool(PoolName=""))


@pytest.mark.parametrize("field,value", [("MfaConfiguration", "SOMETIMES"), ("DeletionProtection", "MAYBE")])
def test_bad_enum_value_is_invalid_parameter(cognito_raw, field, value):
    _expect_invalid_parameter(lambda: cognito_raw.create_user_pool(PoolName=unique_name("enum"), **{field: value}))


@pytest.mark.parametrize("max_results", [0, 61])
def test_list_user_pools_max_results_out_of_range(cognito_raw, max_results):
    # e.g. "1 validation error detected: Value '0' at 'maxResults' failed to
    # satisfy constraint: Member must have value greater than or equal to 1"
    # (https://github.com/aws/aws-sdk-js-v3/issues/2335)
    err = _expect_invalid_parameter(lambda: cognito_raw.list_user_pools(MaxResults=max_results))
    assert "maxResults" in err.response["Error"]["Message"]


def test_list_user_pools_without_max_results_is_invalid_parameter(cognito_raw):
    _expect_invalid_parameter(lambda: cognito_raw.list_user_pools())


# --------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------

def test_cli_pool_lifecycle(aws_cli):
    name = unique_name("cli")
    created = aws_cli(
        "create-user-pool", "--pool-name", name,
        "--auto-verified-attributes", "email",
        "--username-attributes", "email",
        "--policies", "PasswordPolicy={MinimumLength=10,RequireUppercase=true,RequireLowercase=true,"
                      "RequireNumbers=false,RequireSymbols=false}",
        "--user-pool-tags", "stage=cli",
        check=True,
    )["UserPool"]
    pool_id = created["Id"]
    try:
        assert re.match(POOL_ID_RE.format(region=REGION), pool_id)
        assert created["Name"] == name

        described = aws_cli("describe-user-pool", "--user-pool-id", pool_id, check=True)["UserPool"]
        assert described["Id"] == pool_id
        assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
        assert described["Policies"]["PasswordPolicy"]["RequireNumbers"] is False
        assert described["AutoVerifiedAttributes"] == ["email"]
        assert described["UsernameAttributes"] == ["email"]
        assert described["UserPoolTags"] == {"stage": "cli"}

        aws_cli("update-user-pool", "--user-pool-id", pool_id, "--mfa-configuration", "OFF",
                "--deletion-protection", "ACTIVE", check=True)
        described = aws_cli("describe-user-pool", "--user-pool-id", pool_id, check=True)["UserPool"]
        assert described["DeletionProtection"] == "ACTIVE"
        assert not described.get("AutoVerifiedAttributes")  # reset by the update

        refused = aws_cli("delete-user-pool", "--user-pool-id", pool_id)
        assert refused.returncode != 0
        assert "InvalidParameterException" in refused.stderr

        aws_cli("update-user-pool", "--user-pool-id", pool_id, "--deletion-protection", "INACTIVE", check=True)
        aws_cli("delete-user-pool", "--user-pool-id", pool_id, check=True)
        gone = aws_cli("describe-user-pool", "--user-pool-id", pool_id)
        assert gone.returncode != 0
        assert "ResourceNotFoundException" in gone.stderr
    finally:
        aws_cli("update-user-pool", "--user-pool-id", pool_id, "--deletion-protection", "INACTIVE")
        aws_cli("delete-user-pool", "--user-pool-id", pool_id)


def test_cli_list_user_pools_pagination(aws_cli, make_client, pools):
    region = "ap-southeast-2"
    mine = {pools(client=make_client(region=region))["Id"] for _ in range(3)}

    # aws-cli v1 treats an explicit --max-results as "one page, no automatic
    # pagination" and prints the service's NextToken; --next-token resumes.
    collected, token, pages = [], None, 0
    while True:
        args = ["list-user-pools", "--max-results", "2"]
        if token:
            args += ["--next-token", token]
        page = aws_cli(*args, region=region, check=True)
        pages += 1
        assert len(page["UserPools"]) <= 2
        collected += [p["Id"] for p in page["UserPools"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 500, "pagination does not terminate"

    assert pages >= 2
    assert len(collected) == len(set(collected))
    assert mine <= set(collected)


def test_cli_region_flag(aws_cli):
    created = aws_cli("create-user-pool", "--pool-name", unique_name("cli-eu"), region="eu-central-1", check=True)
    pool_id = created["UserPool"]["Id"]
    try:
        assert re.match(POOL_ID_RE.format(region="eu-central-1"), pool_id)
        described = aws_cli("describe-user-pool", "--user-pool-id", pool_id, region="eu-central-1", check=True)
        assert described["UserPool"]["Arn"].startswith("arn:aws:cognito-idp:eu-central-1:")
    finally:
        aws_cli("delete-user-pool", "--user-pool-id", pool_id, region="eu-central-1")


def test_cli_get_csv_header_and_custom_attributes(aws_cli, pool):
    aws_cli(
        "add-custom-attributes", "--user-pool-id", pool["Id"],
        "--custom-attributes",
        '[{"Name": "CustomAttr1", "AttributeDataType": "String", "DeveloperOnlyAttribute": false,'
        ' "Required": false, "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "15"}}]',
        check=True,
    )
    header = aws_cli("get-csv-header", "--user-pool-id", pool["Id"], check=True)
    assert header["UserPoolId"] == pool["Id"]
    assert "custom:CustomAttr1" in header["CSVHeader"]
    assert set(DEFAULT_CSV_HEADER) <= set(header["CSVHeader"])


def test_cli_tags(aws_cli, cognito, pool):
    arn = describe(cognito, pool["Id"])["Arn"]
    aws_cli("tag-resource", "--resource-arn", arn, "--tags", "administrator=Jie,tenant=ExampleCorp", check=True)
    tags = aws_cli("list-tags-for-resource", "--resource-arn", arn, check=True)["Tags"]
    assert tags == {"administrator": "Jie", "tenant": "ExampleCorp"}
    aws_cli("untag-resource", "--resource-arn", arn, "--tag-keys", "tenant", check=True)
    tags = aws_cli("list-tags-for-resource", "--resource-arn", arn, check=True)["Tags"]
    assert tags == {"administrator": "Jie"}
