"""Identity providers (federation) configured through boto3: Create,
Describe, Update, Delete, List and GetIdentityProviderByIdentifier for the
social types and OIDC, with the checks Cognito makes."""

import datetime

import pytest
from botocore.exceptions import ClientError

from conftest import error_code


def _err(exc_info):
    e = exc_info.value
    return error_code(e), e.response["Error"]["Message"]


GOOGLE = {"client_id": "g-client", "client_secret": "g-secret", "authorize_scopes": "email profile openid"}


def test_google_provider_lifecycle(cognito, pool):
    # A client may name only providers the pool has.
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="web", SupportedIdentityProviders=["COGNITO", "Google"]
        )
    assert _err(e) == ("InvalidParameterException", f"The provider Google does not exist for User Pool {pool['Id']}")
    created = cognito.create_identity_provider(
        UserPoolId=pool["Id"],
        ProviderName="Google",
        ProviderType="Google",
        ProviderDetails=GOOGLE,
        AttributeMapping={"email": "email", "username": "sub"},
        IdpIdentifiers=["gmail.com"],
    )["IdentityProvider"]
    assert (created["UserPoolId"], created["ProviderName"], created["ProviderType"]) == (pool["Id"], "Google", "Google")
    assert isinstance(created["CreationDate"], datetime.datetime)
    details = created["ProviderDetails"]
    # Cognito fills in Google's endpoints and echoes the secret.
    assert details["authorize_url"] == "https://accounts.google.com/o/oauth2/v2/auth"
    assert details["oidc_issuer"] == "https://accounts.google.com"
    assert details["client_secret"] == "g-secret"
    assert created["AttributeMapping"] == {"email": "email", "username": "sub"}

    client = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="web", SupportedIdentityProviders=["COGNITO", "Google"]
    )["UserPoolClient"]
    assert client["SupportedIdentityProviders"] == ["COGNITO", "Google"]

    described = cognito.describe_identity_provider(UserPoolId=pool["Id"], ProviderName="Google")["IdentityProvider"]
    assert described["ProviderDetails"] == details
    by_id = cognito.get_identity_provider_by_identifier(UserPoolId=pool["Id"], IdpIdentifier="gmail.com")
    assert by_id["IdentityProvider"]["ProviderName"] == "Google"

    with pytest.raises(ClientError) as e:
        cognito.create_identity_provider(
            UserPoolId=pool["Id"], ProviderName="Google", ProviderType="Google", ProviderDetails=GOOGLE
        )
    assert _err(e) == ("DuplicateProviderException", f"Google already exists in user pool {pool['Id']}")

    updated = cognito.update_identity_provider(
        UserPoolId=pool["Id"],
        ProviderName="Google",
        ProviderDetails={**GOOGLE, "client_secret": "rotated"},
        IdpIdentifiers=["example.org"],
    )["IdentityProvider"]
    assert updated["ProviderDetails"]["client_secret"] == "rotated"
    assert updated["AttributeMapping"] == {"email": "email", "username": "sub"}, "what the update omits stays"
    with pytest.raises(ClientError) as e:
        cognito.get_identity_provider_by_identifier(UserPoolId=pool["Id"], IdpIdentifier="gmail.com")
    assert error_code(e.value) == "ResourceNotFoundException"

    listed = cognito.list_identity_providers(UserPoolId=pool["Id"])["Providers"]
    assert [(p["ProviderName"], p["ProviderType"]) for p in listed] == [("Google", "Google")]

    cognito.delete_identity_provider(UserPoolId=pool["Id"], ProviderName="Google")
    with pytest.raises(ClientError) as e:
        cognito.describe_identity_provider(UserPoolId=pool["Id"], ProviderName="Google")
    assert _err(e) == ("ResourceNotFoundException", "Identity provider Google does not exist.")
    assert cognito.list_identity_providers(UserPoolId=pool["Id"])["Providers"] == []


def test_social_providers_are_named_after_their_type_and_need_their_keys(cognito, pool):
    with pytest.raises(ClientError) as e:
        cognito.create_identity_provider(
            UserPoolId=pool["Id"], ProviderName="MyGoogle", ProviderType="Google", ProviderDetails=GOOGLE
        )
    assert _err(e) == ("InvalidParameterException", "Provider MyGoogle cannot be of type Google.")
    with pytest.raises(ClientError) as e:
        cognito.create_identity_provider(
            UserPoolId=pool["Id"],
            ProviderName="SignInWithApple",
            ProviderType="SignInWithApple",
            ProviderDetails={"client_id": "svc", "authorize_scopes": "email name"},
        )
    assert error_code(e.value) == "InvalidParameterException"

    apple = cognito.create_identity_provider(
        UserPoolId=pool["Id"],
        ProviderName="SignInWithApple",
        ProviderType="SignInWithApple",
        ProviderDetails={
            "client_id": "svc",
            "team_id": "TEAM",
            "key_id": "KEY",
            "private_key": "-----BEGIN PRIVATE KEY-----\nxyz\n-----END PRIVATE KEY-----",
            "authorize_scopes": "email name",
        },
    )["IdentityProvider"]
    # Apple's private key is never shown again, so an update that reads the
    # provider and sends its details back keeps the key it cannot see.
    assert "private_key" not in apple["ProviderDetails"]
    assert apple["ProviderDetails"]["oidc_issuer"] == "https://appleid.apple.com"
    shown = cognito.describe_identity_provider(UserPoolId=pool["Id"], ProviderName="SignInWithApple")
    details = {**shown["IdentityProvider"]["ProviderDetails"], "authorize_scopes": "email"}
    updated = cognito.update_identity_provider(
        UserPoolId=pool["Id"], ProviderName="SignInWithApple", ProviderDetails=details
    )["IdentityProvider"]
    assert updated["ProviderDetails"]["authorize_scopes"] == "email"
    assert "private_key" not in updated["ProviderDetails"]
    fb = cognito.create_identity_provider(
        UserPoolId=pool["Id"],
        ProviderName="Facebook",
        ProviderType="Facebook",
        ProviderDetails={"client_id": "f", "client_secret": "s", "authorize_scopes": "public_profile, email"},
    )["IdentityProvider"]
    assert fb["ProviderDetails"]["api_version"] == "v17.0"
    assert fb["ProviderDetails"]["token_url"] == "https://graph.facebook.com/v17.0/oauth/access_token"
    names = [p["ProviderName"] for p in cognito.list_identity_providers(UserPoolId=pool["Id"], MaxResults=1)["Providers"]]
    assert names == ["Facebook"]


def test_oidc_provider_details_are_checked(cognito, pool):
    base = {"client_id": "c", "client_secret": "s", "authorize_scopes": "openid email", "attributes_request_method": "GET"}
    for bad in [
        {**base, "oidc_issuer": "https://idp.example.com/"},
        {**base, "oidc_issuer": "http://idp.example.com"},
        {**base, "oidc_issuer": "https://idp.example.com", "token_url": "https://idp.example.com/token"},
        {**base, "oidc_issuer": "https://idp.example.com", "attributes_request_method": "PUT"},
    ]:
        with pytest.raises(ClientError) as e:
            cognito.create_identity_provider(
                UserPoolId=pool["Id"], ProviderName="Corp", ProviderType="OIDC", ProviderDetails=bad
            )
        assert error_code(e.value) == "InvalidParameterException", bad
    with pytest.raises(ClientError) as e:
        cognito.create_identity_provider(
            UserPoolId=pool["Id"],
            ProviderName="Corp",
            ProviderType="OIDC",
            ProviderDetails={**base, "oidc_issuer": "https://idp.example.com"},
            AttributeMapping={"no_such_attribute": "x"},
        )
    assert error_code(e.value) == "InvalidParameterException"

    corp = cognito.create_identity_provider(
        UserPoolId=pool["Id"],
        ProviderName="Corp",
        ProviderType="OIDC",
        ProviderDetails={**base, "oidc_issuer": "https://idp.example.com"},
        IdpIdentifiers=["corp.example.com"],
    )["IdentityProvider"]
    assert corp["ProviderDetails"]["oidc_issuer"] == "https://idp.example.com"
    # An identifier belongs to one provider of the pool.
    with pytest.raises(ClientError) as e:
        cognito.create_identity_provider(
            UserPoolId=pool["Id"],
            ProviderName="Corp2",
            ProviderType="OIDC",
            ProviderDetails={**base, "oidc_issuer": "https://idp2.example.com"},
            IdpIdentifiers=["corp.example.com"],
        )
    assert error_code(e.value) == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        cognito.describe_identity_provider(UserPoolId=pool["Id"], ProviderName="Corp2")
    assert error_code(e.value) == "ResourceNotFoundException", "a refused provider leaves nothing behind"

    # SAML is not spoken yet, and says so.
    with pytest.raises(ClientError) as e:
        cognito.create_identity_provider(
            UserPoolId=pool["Id"],
            ProviderName="Workforce",
            ProviderType="SAML",
            ProviderDetails={"MetadataURL": "https://idp.example.com/metadata"},
        )
    assert error_code(e.value) == "InvalidParameterException"
    assert "not supported by Cognate yet" in e.value.response["Error"]["Message"]
