"""The OAuth side of a pool, configured through boto3: domains
(CreateUserPoolDomain ... DeleteUserPoolDomain), resource servers and their
custom scopes, and the OAuth settings of an app client as Cognito checks
them."""

import pytest
from botocore.exceptions import ClientError

from conftest import error_code, unique_name


def _err(exc_info):
    e = exc_info.value
    return error_code(e), e.response["Error"]["Message"]


# --------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------

def test_prefix_domain_lifecycle(cognito, pool):
    prefix = unique_name("shop").lower().replace("_", "-")
    created = cognito.create_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    assert created.get("CloudFrontDomain") is None
    assert created["ManagedLoginVersion"] == 1

    d = cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"]
    assert (d["UserPoolId"], d["Domain"], d["Status"], d["ManagedLoginVersion"]) == (pool["Id"], prefix, "ACTIVE", 1)
    assert cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Domain"] == prefix

    # A name is one pool's; a pool has one prefix domain.
    other = cognito.create_user_pool(PoolName=unique_name())["UserPool"]["Id"]
    try:
        with pytest.raises(ClientError) as e:
            cognito.create_user_pool_domain(UserPoolId=other, Domain=prefix)
        assert _err(e) == ("InvalidParameterException", "Domain already associated with another user pool.")
    finally:
        cognito.delete_user_pool(UserPoolId=other)
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix + "-2")
    assert _err(e) == ("InvalidParameterException", "User pool already has a domain configured.")

    updated = cognito.update_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix, ManagedLoginVersion=2)
    assert updated["ManagedLoginVersion"] == 2
    cognito.delete_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    # An unknown domain describes as empty (the console's availability check).
    assert cognito.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}
    with pytest.raises(ClientError) as e:
        cognito.delete_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    assert _err(e) == ("InvalidParameterException", "No such domain or user pool exists.")


def test_custom_domain_takes_a_full_name(cognito, pool):
    name = f"auth.{unique_name('c').lower().replace('_', '-')}.example.com"
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    created = cognito.create_user_pool_domain(
        UserPoolId=pool["Id"], Domain=name, CustomDomainConfig={"CertificateArn": cert}
    )
    assert created["CloudFrontDomain"]
    d = cognito.describe_user_pool_domain(Domain=name)["DomainDescription"]
    assert d["CustomDomainConfig"]["CertificateArn"] == cert
    assert cognito.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["CustomDomain"] == name
    # Without a certificate a dotted name is not a prefix.
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_domain(UserPoolId=pool["Id"], Domain="x.example.com")
    assert error_code(e.value) == "InvalidParameterException"


@pytest.mark.parametrize("name", ["127.0.0.1", "x.auth.us-east-1.localhost"])
def test_a_custom_domain_cannot_take_the_api_host(cognito, pool, name):
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_domain(UserPoolId=pool["Id"], Domain=name, CustomDomainConfig={"CertificateArn": cert})
    assert error_code(e.value) == "InvalidParameterException"


@pytest.mark.parametrize("prefix", ["my-aws-shop", "cognito1", "Upper", "-dash"])
def test_bad_prefixes_are_refused(cognito, pool, prefix):
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    assert error_code(e.value) == "InvalidParameterException"


# --------------------------------------------------------------------------
# Resource servers
# --------------------------------------------------------------------------

def test_resource_server_lifecycle_and_paging(cognito, pool):
    scopes = [{"ScopeName": "read", "ScopeDescription": "Read"}, {"ScopeName": "write", "ScopeDescription": "Write"}]
    rs = cognito.create_resource_server(UserPoolId=pool["Id"], Identifier="https://api.example.com", Name="API",
                                        Scopes=scopes)["ResourceServer"]
    assert (rs["UserPoolId"], rs["Identifier"], rs["Name"], rs["Scopes"]) == (
        pool["Id"], "https://api.example.com", "API", scopes)
    with pytest.raises(ClientError) as e:
        cognito.create_resource_server(UserPoolId=pool["Id"], Identifier="https://api.example.com", Name="again")
    assert error_code(e.value) == "InvalidParameterException"

    for i in range(3):
        cognito.create_resource_server(UserPoolId=pool["Id"], Identifier=f"orders{i}", Name="Orders")
    first = cognito.list_resource_servers(UserPoolId=pool["Id"], MaxResults=2)
    assert len(first["ResourceServers"]) == 2 and first["NextToken"]
    rest = cognito.list_resource_servers(UserPoolId=pool["Id"], MaxResults=2, NextToken=first["NextToken"])
    ids = [r["Identifier"] for r in first["ResourceServers"] + rest["ResourceServers"]]
    assert ids == sorted(["https://api.example.com", "orders0", "orders1", "orders2"])
    assert "NextToken" not in rest

    updated = cognito.update_resource_server(UserPoolId=pool["Id"], Identifier="orders0", Name="Orders v2",
                                             Scopes=[{"ScopeName": "list", "ScopeDescription": "List"}])
    assert updated["ResourceServer"]["Name"] == "Orders v2"
    got = cognito.describe_resource_server(UserPoolId=pool["Id"], Identifier="orders0")["ResourceServer"]
    assert got["Scopes"] == [{"ScopeName": "list", "ScopeDescription": "List"}]
    cognito.delete_resource_server(UserPoolId=pool["Id"], Identifier="orders0")
    with pytest.raises(ClientError) as e:
        cognito.describe_resource_server(UserPoolId=pool["Id"], Identifier="orders0")
    assert error_code(e.value) == "ResourceNotFoundException"


# --------------------------------------------------------------------------
# App clients' OAuth settings
# --------------------------------------------------------------------------

def test_client_scopes_must_exist(cognito, pool):
    cognito.create_resource_server(UserPoolId=pool["Id"], Identifier="inventory", Name="Inventory",
                                   Scopes=[{"ScopeName": "read", "ScopeDescription": "Read"}])
    ok = cognito.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="web", AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid", "inventory/read"],
        CallbackURLs=["https://app.example.com/cb"],
    )["UserPoolClient"]
    assert ok["AllowedOAuthScopes"] == ["openid", "inventory/read"]
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(
            UserPoolId=pool["Id"], ClientName="web", AllowedOAuthFlowsUserPoolClient=True,
            AllowedOAuthFlows=["code"], AllowedOAuthScopes=["inventory/delete"],
            CallbackURLs=["https://app.example.com/cb"],
        )
    assert _err(e) == ("ScopeDoesNotExistException", "Invalid scope requested: inventory/delete")


def test_client_credentials_take_custom_scopes_and_a_secret(cognito, pool):
    cognito.create_resource_server(UserPoolId=pool["Id"], Identifier="jobs", Name="Jobs",
                                   Scopes=[{"ScopeName": "run", "ScopeDescription": "Run"}])
    machine = dict(UserPoolId=pool["Id"], ClientName="m2m", AllowedOAuthFlowsUserPoolClient=True,
                   AllowedOAuthFlows=["client_credentials"])
    created = cognito.create_user_pool_client(GenerateSecret=True, AllowedOAuthScopes=["jobs/run"], **machine)
    assert created["UserPoolClient"]["AllowedOAuthFlows"] == ["client_credentials"]
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(GenerateSecret=True, AllowedOAuthScopes=["openid"], **machine)
    assert error_code(e.value) == "InvalidOAuthFlowException"
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(AllowedOAuthScopes=["jobs/run"], **machine)
    assert error_code(e.value) == "InvalidParameterException"


def test_oauth_clients_need_flows_and_scopes(cognito, pool):
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web", AllowedOAuthFlowsUserPoolClient=True,
                                        CallbackURLs=["https://app.example.com/cb"])
    assert error_code(e.value) == "InvalidOAuthFlowException"


@pytest.mark.parametrize("url", ["http://app.example.com/cb", "https://app.example.com/cb#frag", "/relative",
                                 "not a url"])
def test_bad_callback_urls_are_refused(cognito, pool, url):
    with pytest.raises(ClientError) as e:
        cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web", CallbackURLs=[url])
    assert error_code(e.value) == "InvalidParameterException"


@pytest.mark.parametrize("url", ["http://localhost:3000/cb", "http://127.0.0.1/cb", "http://[::1]:8080/",
                                 "myapp://callback", "https://app.example.com/"])
def test_local_and_app_callback_urls_are_accepted(cognito, pool, url):
    c = cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web", CallbackURLs=[url])
    assert c["UserPoolClient"]["CallbackURLs"] == [url]


# --------------------------------------------------------------------------
# The classic hosted UI's look
# --------------------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6338a161f31f000514022c1d504f040000000049454e44ae426082")


def test_ui_customization_per_client_and_for_all(cognito, pool):
    client = cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web")["UserPoolClient"]["ClientId"]
    empty = cognito.get_ui_customization(UserPoolId=pool["Id"], ClientId=client)["UICustomization"]
    assert empty["ClientId"] == client and "CSS" not in empty

    all_css = ".banner-customizable { background-color: #0b5394; }"
    got = cognito.set_ui_customization(UserPoolId=pool["Id"], CSS=all_css, ImageFile=PNG)["UICustomization"]
    assert got["ClientId"] == "ALL" and "background-color: #0b5394" in got["CSS"]
    # A client without its own look wears ALL's.
    fallback = cognito.get_ui_customization(UserPoolId=pool["Id"], ClientId=client)["UICustomization"]
    assert "#0b5394" in fallback["CSS"]

    own = cognito.set_ui_customization(UserPoolId=pool["Id"], ClientId=client,
                                       CSS=".submitButton-customizable { color: #ffffff }")["UICustomization"]
    assert own["ClientId"] == client and "color: #ffffff" in own["CSS"]
    assert own["CreationDate"] <= own["LastModifiedDate"]


@pytest.mark.parametrize("css", ["body { color: red }", ".banner-customizable { position: fixed }",
                                 ".banner-customizable { background-color: url(https://evil.example/a.png) }"])
def test_ui_customization_refuses_css_outside_the_customizable_classes(cognito, pool, css):
    with pytest.raises(ClientError) as e:
        cognito.set_ui_customization(UserPoolId=pool["Id"], CSS=css)
    assert error_code(e.value) == "InvalidParameterException"


def test_ui_customization_takes_png_or_jpeg_only(cognito, pool):
    with pytest.raises(ClientError) as e:
        cognito.set_ui_customization(UserPoolId=pool["Id"], ImageFile=b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert error_code(e.value) == "InvalidParameterException"


# --------------------------------------------------------------------------
# Managed-login branding
# --------------------------------------------------------------------------

def test_managed_login_branding_lifecycle(cognito, pool):
    client = cognito.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web")["UserPoolClient"]["ClientId"]
    settings = {"components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "0972d3ff"}}},
                               "form": {"borderRadius": 8}}}
    logo = {"Category": "FORM_LOGO", "ColorMode": "LIGHT", "Extension": "PNG", "Bytes": PNG}
    created = cognito.create_managed_login_branding(UserPoolId=pool["Id"], ClientId=client, Settings=settings,
                                                    Assets=[logo])["ManagedLoginBranding"]
    style = created["ManagedLoginBrandingId"]
    assert created["UseCognitoProvidedValues"] is False and created["Settings"] == settings
    assert created["Assets"][0]["Bytes"] == PNG

    # One style per client.
    with pytest.raises(ClientError) as e:
        cognito.create_managed_login_branding(UserPoolId=pool["Id"], ClientId=client, UseCognitoProvidedValues=True)
    assert error_code(e.value) == "ManagedLoginBrandingExistsException"

    # An update keeps what it does not name.
    red = {"components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "b41e3cff"}}}}}
    updated = cognito.update_managed_login_branding(UserPoolId=pool["Id"], ManagedLoginBrandingId=style,
                                                    Settings=red)["ManagedLoginBranding"]
    assert updated["Settings"]["components"]["primaryButton"]["lightMode"]["defaults"]["backgroundColor"] == "b41e3cff"
    assert updated["Settings"]["components"]["form"]["borderRadius"] == 8
    by_client = cognito.describe_managed_login_branding_by_client(UserPoolId=pool["Id"], ClientId=client)
    assert by_client["ManagedLoginBranding"]["ManagedLoginBrandingId"] == style
    described = cognito.describe_managed_login_branding(UserPoolId=pool["Id"], ManagedLoginBrandingId=style,
                                                        ReturnMergedResources=True)["ManagedLoginBranding"]
    assert described["Assets"][0]["Category"] == "FORM_LOGO"

    with pytest.raises(ClientError) as e:
        cognito.update_managed_login_branding(UserPoolId=pool["Id"], ManagedLoginBrandingId=style,
                                              UseCognitoProvidedValues=True, Settings=red)
    assert error_code(e.value) == "InvalidParameterException"
    reset = cognito.update_managed_login_branding(UserPoolId=pool["Id"], ManagedLoginBrandingId=style,
                                                  UseCognitoProvidedValues=True)["ManagedLoginBranding"]
    assert reset["UseCognitoProvidedValues"] is True and not reset.get("Settings")

    cognito.delete_managed_login_branding(UserPoolId=pool["Id"], ManagedLoginBrandingId=style)
    with pytest.raises(ClientError) as e:
        cognito.describe_managed_login_branding(UserPoolId=pool["Id"], ManagedLoginBrandingId=style)
    assert error_code(e.value) == "ResourceNotFoundException"
