//! App clients of a user pool, and their secrets.
//!
//! A client's settings are a `UserPoolClientType` document; its secrets live
//! apart, sealed under the master key, so that a configuration document never
//! carries a secret. A client has at most two secrets at once (rotation).

use crate::base::context::{Client, ClientCtx};
use crate::base::page;
use crate::{Error, Fault, Idp, Result};
use cognate_store::{ClientRow, ClientSecretRow};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use std::collections::BTreeSet;

const MAX_SECRETS: i64 = 2;
const UPDATE_ATTEMPTS: usize = 5;

/// The settings Create and Update share; omitted ones take their default.
#[derive(Default, Clone)]
struct Settings {
    client_name: String,
    access_token_validity: Option<i32>,
    id_token_validity: Option<i32>,
    refresh_token_validity: Option<i32>,
    token_validity_units: Option<TokenValidityUnitsType>,
    allowed_o_auth_flows: Option<Vec<OAuthFlowType>>,
    allowed_o_auth_flows_user_pool_client: Option<bool>,
    allowed_o_auth_scopes: Option<Vec<String>>,
    analytics_configuration: Option<AnalyticsConfigurationType>,
    auth_session_validity: Option<i32>,
    callback_ur_ls: Option<Vec<String>>,
    logout_ur_ls: Option<Vec<String>>,
    default_redirect_uri: Option<String>,
    enable_propagate_additional_user_context_data: Option<bool>,
    enable_token_revocation: Option<bool>,
    explicit_auth_flows: Option<Vec<ExplicitAuthFlowsType>>,
    prevent_user_existence_errors: Option<PreventUserExistenceErrorTypes>,
    read_attributes: Option<Vec<String>>,
    write_attributes: Option<Vec<String>>,
    refresh_token_rotation: Option<RefreshTokenRotationType>,
    supported_identity_providers: Option<Vec<String>>,
}

macro_rules! settings_from {
    ($req:expr, $name:expr) => {
        Settings {
            client_name: $name,
            access_token_validity: $req.access_token_validity,
            id_token_validity: $req.id_token_validity,
            refresh_token_validity: $req.refresh_token_validity,
            token_validity_units: $req.token_validity_units,
            allowed_o_auth_flows: $req.allowed_o_auth_flows,
            allowed_o_auth_flows_user_pool_client: $req.allowed_o_auth_flows_user_pool_client,
            allowed_o_auth_scopes: $req.allowed_o_auth_scopes,
            analytics_configuration: $req.analytics_configuration,
            auth_session_validity: $req.auth_session_validity,
            callback_ur_ls: $req.callback_ur_ls,
            logout_ur_ls: $req.logout_ur_ls,
            default_redirect_uri: $req.default_redirect_uri,
            enable_propagate_additional_user_context_data: $req.enable_propagate_additional_user_context_data,
            enable_token_revocation: $req.enable_token_revocation,
            explicit_auth_flows: $req.explicit_auth_flows,
            prevent_user_existence_errors: $req.prevent_user_existence_errors,
            read_attributes: $req.read_attributes,
            write_attributes: $req.write_attributes,
            refresh_token_rotation: $req.refresh_token_rotation,
            supported_identity_providers: $req.supported_identity_providers,
        }
    };
}

fn seconds(value: i32, unit: Option<TimeUnitsType>, default: TimeUnitsType) -> i64 {
    let per = match unit.unwrap_or(default) {
        TimeUnitsType::Seconds => 1,
        TimeUnitsType::Minutes => 60,
        TimeUnitsType::Hours => 3600,
        TimeUnitsType::Days => 86400,
    };
    i64::from(value) * per
}

/// Validates `s` against the pool and writes it into `client`.
fn apply(
    client: &mut UserPoolClientType,
    s: Settings,
    pool: &UserPoolType,
    has_secret: bool,
    creating: bool,
    scopes: &BTreeSet<String>,
    providers: &BTreeSet<String>,
) -> Result<()> {
    let units = s.token_validity_units.clone().unwrap_or_default();
    let bad_range = || Error::InvalidParameter("Invalid range for token validity.".into());
    for v in [s.access_token_validity, s.id_token_validity].into_iter().enumerate() {
        if let (i, Some(v)) = v {
            let unit = if i == 0 { units.access_token } else { units.id_token };
            if !(300..=86_400).contains(&seconds(v, unit, TimeUnitsType::Hours)) {
                return Err(bad_range());
            }
        }
    }
    let refresh = match s.refresh_token_validity {
        None | Some(0) => None,
        Some(v) => Some(v),
    };
    if let Some(v) = refresh
        && !(3_600..=315_360_000).contains(&seconds(v, units.refresh_token, TimeUnitsType::Days))
    {
        return Err(bad_range());
    }

    let flows = s.explicit_auth_flows.clone().unwrap_or_default();
    let legacy = flows.iter().filter(|f| !f.as_str().starts_with("ALLOW_")).count();
    if legacy > 0 && legacy < flows.len() {
        return Err(Error::InvalidParameter(
            "The ExplicitAuthFlows values that begin with ALLOW_ cannot be combined with the legacy values ADMIN_NO_SRP_AUTH, CUSTOM_AUTH_FLOW_ONLY and USER_PASSWORD_AUTH."
                .into(),
        ));
    }

    let oauth_flows = s.allowed_o_auth_flows.clone().unwrap_or_default();
    if oauth_flows.contains(&OAuthFlowType::ClientCredentials) {
        if !has_secret {
            return Err(Error::InvalidParameter(
                "client_credentials flow can not be selected if client does not have a client secret.".into(),
            ));
        }
        if oauth_flows.len() > 1 {
            return Err(Error::InvalidParameter(
                "client_credentials flow can not be selected with other flows.".into(),
            ));
        }
    }
    check_oauth(&s, scopes)?;
    if let Some(uri) = &s.default_redirect_uri
        && !s.callback_ur_ls.as_ref().is_some_and(|c| c.contains(uri))
    {
        return Err(Error::InvalidParameter("DefaultRedirectURI must be one of the CallbackURLs.".into()));
    }
    for p in s.supported_identity_providers.iter().flatten() {
        if p != "COGNITO" && !providers.contains(p) {
            return Err(Error::InvalidParameter(format!(
                "The provider {p} does not exist for User Pool {}",
                pool.id.as_deref().unwrap_or_default()
            )));
        }
    }

    let attrs = pool.schema_attributes.as_deref().unwrap_or_default();
    let verb = if creating { "creating" } else { "updating" };
    let known = |n: &str| attrs.iter().any(|a| a.name.as_deref() == Some(n));
    if s.read_attributes.iter().flatten().any(|a| !known(a)) {
        return Err(Error::InvalidParameter(format!("Invalid read attributes specified while {verb} a client")));
    }
    let writable = |n: &str| {
        attrs.iter().any(|a| {
            a.name.as_deref() == Some(n) && a.mutable == Some(true) && a.developer_only_attribute != Some(true)
        }) || n.ends_with("_verified") && known(n)
    };
    if s.write_attributes.iter().flatten().any(|a| !writable(a)) {
        return Err(Error::InvalidParameter(format!("Invalid write attributes specified while {verb} a client")));
    }

    client.client_name = Some(s.client_name);
    client.access_token_validity = s.access_token_validity;
    client.id_token_validity = s.id_token_validity;
    client.refresh_token_validity = Some(refresh.unwrap_or(30));
    client.token_validity_units = Some(units);
    client.allowed_o_auth_flows = s.allowed_o_auth_flows;
    client.allowed_o_auth_flows_user_pool_client = Some(s.allowed_o_auth_flows_user_pool_client.unwrap_or(false));
    client.allowed_o_auth_scopes = s.allowed_o_auth_scopes;
    client.analytics_configuration = s.analytics_configuration;
    client.auth_session_validity = Some(s.auth_session_validity.unwrap_or(3));
    client.callback_ur_ls = s.callback_ur_ls;
    client.logout_ur_ls = s.logout_ur_ls;
    client.default_redirect_uri = s.default_redirect_uri;
    client.enable_propagate_additional_user_context_data =
        Some(s.enable_propagate_additional_user_context_data.unwrap_or(false));
    client.enable_token_revocation = Some(s.enable_token_revocation.unwrap_or(true));
    client.explicit_auth_flows = s.explicit_auth_flows;
    client.prevent_user_existence_errors = s.prevent_user_existence_errors;
    client.read_attributes = s.read_attributes;
    client.write_attributes = s.write_attributes;
    client.refresh_token_rotation = s.refresh_token_rotation;
    client.supported_identity_providers = s.supported_identity_providers;
    Ok(())
}

/// Whether `url` may be a callback or sign-out URL: absolute, without a
/// fragment, and HTTPS unless it is on this machine (`http://localhost`,
/// `127.0.0.1`, `[::1]`) or an app's own scheme (`myapp://callback`).
fn redirect_url_ok(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    let scheme_ok = !scheme.is_empty()
        && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok || rest.is_empty() || url.contains('#') {
        return false;
    }
    if scheme.eq_ignore_ascii_case("http") {
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")).unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default().to_ascii_lowercase(),
        };
        return matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
    }
    true
}

/// The OAuth settings of a client, as Cognito checks them.
fn check_oauth(s: &Settings, scopes: &BTreeSet<String>) -> Result<()> {
    for url in s.callback_ur_ls.iter().flatten().chain(s.logout_ur_ls.iter().flatten()) {
        if !redirect_url_ok(url) {
            return Err(Error::InvalidParameter(format!(
                "{url} is not a valid redirect URL: it must be absolute, have no fragment, and use HTTPS unless it is on localhost."
            )));
        }
    }
    for scope in s.allowed_o_auth_scopes.iter().flatten() {
        if !scopes.contains(scope) {
            return Err(Error::ScopeDoesNotExist(format!("Invalid scope requested: {scope}")));
        }
    }
    let flows = s.allowed_o_auth_flows.as_deref().unwrap_or_default();
    let granted = s.allowed_o_auth_scopes.as_deref().unwrap_or_default();
    if s.allowed_o_auth_flows_user_pool_client == Some(true) && (flows.is_empty() || granted.is_empty()) {
        return Err(Error::InvalidOAuthFlow(
            "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is allowed to use OAuth flows."
                .into(),
        ));
    }
    if flows.contains(&OAuthFlowType::ClientCredentials)
        && granted.iter().any(|g| crate::model::resource_servers::STANDARD_SCOPES.contains(&g.as_str()))
    {
        return Err(Error::InvalidOAuthFlow("client_credentials flow can only be used with custom scopes.".into()));
    }
    let browser_flow = flows.iter().any(|f| matches!(f, OAuthFlowType::Code | OAuthFlowType::Implicit));
    if browser_flow
        && s.allowed_o_auth_flows_user_pool_client == Some(true)
        && s.callback_ur_ls.as_ref().is_none_or(Vec::is_empty)
    {
        return Err(Error::InvalidParameter("CallbackURLs are required for the code and implicit flows.".into()));
    }
    Ok(())
}

fn client_not_found(client_id: &str) -> Error {
    Error::ResourceNotFound(format!("User pool client {client_id} does not exist."))
}

fn secret_context(client_id: &str) -> String {
    format!("client-secret:{client_id}")
}

impl Idp {
    async fn load_client(&self, pool_id: &str, client_id: &str) -> Result<(ClientRow, UserPoolClientType)> {
        let row = self.store.get_client(pool_id, client_id).await?.ok_or_else(|| client_not_found(client_id))?;
        let client: UserPoolClientType = serde_json::from_str(&row.config)?;
        Ok((row, client))
    }

    /// The client's secrets, opened, oldest first.
    pub async fn client_secrets(&self, client_id: &str) -> Result<Vec<(ClientSecretRow, String)>> {
        let mut out = Vec::new();
        for row in self.store.list_client_secrets(client_id).await? {
            let plain = self
                .key
                .open(&secret_context(client_id), &row.secret_sealed)
                .map_err(|e| Error::internal(Fault::Unseal, format!("a secret of client {client_id}: {e}")))?;
            let text = String::from_utf8(plain)
                .map_err(|_| Error::internal(Fault::Document, format!("a secret of client {client_id} is not text")))?;
            out.push((row, text));
        }
        Ok(out)
    }

    async fn present_client(&self, row: &ClientRow, mut client: UserPoolClientType) -> Result<UserPoolClientType> {
        client.client_id = Some(row.id.clone());
        client.user_pool_id = Some(row.pool_id.clone());
        client.client_name = Some(row.name.clone());
        client.creation_date = Some(Timestamp::from_unix_millis(row.created_at));
        client.last_modified_date = Some(Timestamp::from_unix_millis(row.updated_at));
        client.client_secret = self.client_secrets(&row.id).await?.into_iter().next().map(|(_, s)| s);
        Ok(client)
    }

    fn new_secret_row(&self, client_id: &str, secret: &str) -> ClientSecretRow {
        ClientSecretRow {
            id: cognate_crypto::ids::client_secret_id(client_id),
            client_id: client_id.to_string(),
            secret_sealed: self.key.seal(&secret_context(client_id), secret.as_bytes()),
            created_at: self.now(),
        }
    }

    pub async fn create_user_pool_client(
        &self,
        req: CreateUserPoolClientRequest,
    ) -> Result<CreateUserPoolClientResponse> {
        let (_, pool) = self.load_pool(&req.user_pool_id).await?;
        let pool = UserPoolType { id: Some(req.user_pool_id.clone()), ..pool };
        if req.generate_secret == Some(true) && req.client_secret.is_some() {
            return Err(Error::InvalidParameter(
                "You cannot specify both GenerateSecret as true and provide a ClientSecret value.".into(),
            ));
        }
        let secret = match (&req.client_secret, req.generate_secret) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(true)) => Some(cognate_crypto::ids::client_secret()),
            _ => None,
        };
        let pool_id = req.user_pool_id.clone();
        let name = req.client_name.clone();
        let mut client = UserPoolClientType::default();
        let scopes = self.pool_scopes(&req.user_pool_id).await?;
        let providers = self.pool_providers(&req.user_pool_id).await?;
        apply(&mut client, settings_from!(req, name.clone()), &pool, secret.is_some(), true, &scopes, &providers)?;

        let now = self.now();
        let row = ClientRow {
            id: cognate_crypto::ids::client_id(),
            pool_id,
            name,
            created_at: now,
            updated_at: now,
            version: 1,
            config: serde_json::to_string(&client)?,
        };
        self.store.insert_client(&row).await?;
        if let Some(secret) = &secret {
            self.store.insert_client_secret(&self.new_secret_row(&row.id, secret)).await?;
        }
        Ok(CreateUserPoolClientResponse { user_pool_client: Some(self.present_client(&row, client).await?) })
    }

    pub async fn describe_user_pool_client(
        &self,
        req: DescribeUserPoolClientRequest,
    ) -> Result<DescribeUserPoolClientResponse> {
        self.load_pool(&req.user_pool_id).await?;
        let (row, client) = self.load_client(&req.user_pool_id, &req.client_id).await?;
        Ok(DescribeUserPoolClientResponse { user_pool_client: Some(self.present_client(&row, client).await?) })
    }

    /// Replaces the client's settings; omitted ones return to their default.
    pub async fn update_user_pool_client(
        &self,
        req: UpdateUserPoolClientRequest,
    ) -> Result<UpdateUserPoolClientResponse> {
        let (_, pool) = self.load_pool(&req.user_pool_id).await?;
        let pool = UserPoolType { id: Some(req.user_pool_id.clone()), ..pool };
        let (pool_id, client_id, new_name) = (req.user_pool_id.clone(), req.client_id.clone(), req.client_name.clone());
        let settings = settings_from!(req, String::new());
        for _ in 0..UPDATE_ATTEMPTS {
            let (row, mut client) = self.load_client(&pool_id, &client_id).await?;
            let has_secret = !self.store.list_client_secrets(&row.id).await?.is_empty();
            let name = new_name.clone().unwrap_or_else(|| row.name.clone());
            let scopes = self.pool_scopes(&row.pool_id).await?;
            let providers = self.pool_providers(&row.pool_id).await?;
            apply(
                &mut client,
                Settings { client_name: name.clone(), ..settings.clone() },
                &pool,
                has_secret,
                false,
                &scopes,
                &providers,
            )?;
            if self
                .store
                .update_client(&pool_id, &client_id, row.version, &name, &serde_json::to_string(&client)?, self.now())
                .await?
            {
                let row =
                    self.store.get_client(&pool_id, &client_id).await?.ok_or_else(|| client_not_found(&client_id))?;
                return Ok(UpdateUserPoolClientResponse {
                    user_pool_client: Some(self.present_client(&row, client).await?),
                });
            }
        }
        Err(Error::ConcurrentModification("The user pool client was modified concurrently; try again.".into()))
    }

    pub async fn delete_user_pool_client(&self, req: DeleteUserPoolClientRequest) -> Result<()> {
        self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_client(&req.user_pool_id, &req.client_id).await? {
            return Err(client_not_found(&req.client_id));
        }
        Ok(())
    }

    pub async fn list_user_pool_clients(&self, req: ListUserPoolClientsRequest) -> Result<ListUserPoolClientsResponse> {
        self.load_pool(&req.user_pool_id).await?;
        let limit = i64::from(req.max_results.unwrap_or(60).clamp(1, 60));
        let after = page::decode(req.next_token.as_deref())?;
        let mut rows = self.store.list_clients(&req.user_pool_id, after.as_deref(), limit + 1).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_token = if more { rows.last().map(|r| page::encode(&r.id)) } else { None };
        let clients = rows
            .into_iter()
            .map(|r| UserPoolClientDescription {
                client_id: Some(r.id),
                user_pool_id: Some(r.pool_id),
                client_name: Some(r.name),
            })
            .collect();
        Ok(ListUserPoolClientsResponse { user_pool_clients: Some(clients), next_token })
    }

    // ---- client secrets (rotation) ----

    pub async fn add_user_pool_client_secret(
        &self,
        req: AddUserPoolClientSecretRequest,
    ) -> Result<AddUserPoolClientSecretResponse> {
        self.load_pool(&req.user_pool_id).await?;
        self.load_client(&req.user_pool_id, &req.client_id).await?;
        if self.store.list_client_secrets(&req.client_id).await?.is_empty() {
            return Err(Error::InvalidParameter(
                "Secrets can be added only to an app client that was created with a client secret.".into(),
            ));
        }
        let generated = req.client_secret.is_none();
        let secret = req.client_secret.clone().unwrap_or_else(cognate_crypto::ids::client_secret);
        let row = self.new_secret_row(&req.client_id, &secret);
        if !self.store.insert_client_secret_bounded(&row, MAX_SECRETS).await? {
            return Err(Error::LimitExceeded(format!("An app client can have at most {MAX_SECRETS} client secrets.")));
        }
        Ok(AddUserPoolClientSecretResponse {
            client_secret_descriptor: Some(ClientSecretDescriptorType {
                client_secret_id: Some(row.id),
                client_secret_value: generated.then_some(secret),
                client_secret_create_date: Some(Timestamp::from_unix_millis(row.created_at)),
            }),
        })
    }

    pub async fn list_user_pool_client_secrets(
        &self,
        req: ListUserPoolClientSecretsRequest,
    ) -> Result<ListUserPoolClientSecretsResponse> {
        self.load_pool(&req.user_pool_id).await?;
        self.load_client(&req.user_pool_id, &req.client_id).await?;
        let secrets = self
            .store
            .list_client_secrets(&req.client_id)
            .await?
            .into_iter()
            .map(|r| ClientSecretDescriptorType {
                client_secret_id: Some(r.id),
                client_secret_value: None,
                client_secret_create_date: Some(Timestamp::from_unix_millis(r.created_at)),
            })
            .collect();
        Ok(ListUserPoolClientSecretsResponse { client_secrets: Some(secrets), next_token: None })
    }

    pub async fn delete_user_pool_client_secret(
        &self,
        req: DeleteUserPoolClientSecretRequest,
    ) -> Result<DeleteUserPoolClientSecretResponse> {
        self.load_pool(&req.user_pool_id).await?;
        self.load_client(&req.user_pool_id, &req.client_id).await?;
        let secrets = self.store.list_client_secrets(&req.client_id).await?;
        if !secrets.iter().any(|s| s.id == req.client_secret_id) {
            return Err(Error::ResourceNotFound(format!("Client secret {} does not exist.", req.client_secret_id)));
        }
        if !self.store.delete_client_secret_unless_last(&req.client_id, &req.client_secret_id).await? {
            return Err(Error::InvalidParameter("The last client secret of an app client cannot be deleted.".into()));
        }
        Ok(DeleteUserPoolClientSecretResponse {})
    }

    /// Resolves the client of a public call: nothing about the caller is
    /// proven yet (see `base::context`).
    pub(crate) async fn resolve_client(&self, client_id: &str) -> Result<Client> {
        let not_found = || Error::ResourceNotFound(format!("User pool client {client_id} does not exist."));
        let row = self.store.get_client_by_id(client_id).await?.ok_or_else(not_found)?;
        let client: UserPoolClientType = serde_json::from_str(&row.config)?;
        let (pool_row, pool) = self.load_pool(&row.pool_id).await?;
        Ok(Client { pool_row, pool, row, client, metadata: Default::default() })
    }

    /// A public call proven with SECRET_HASH over one of `names`, when the
    /// client has a secret.
    pub(crate) async fn with_secret_hash(
        &self,
        client: Client,
        names: &[&str],
        given: Option<&str>,
    ) -> Result<ClientCtx> {
        let secrets = self.secret_values(&client.row.id).await?;
        client.prove_secret_hash(&secrets, names, given)
    }

    /// A public call proven with the client secret, when the client has one.
    pub(crate) async fn with_client_secret(&self, client: Client, given: Option<&str>) -> Result<ClientCtx> {
        let secrets = self.secret_values(&client.row.id).await?;
        client.prove_client_secret(&secrets, given)
    }

    /// The client's current secrets, in clear.
    async fn secret_values(&self, client_id: &str) -> Result<Vec<String>> {
        Ok(self.client_secrets(client_id).await?.into_iter().map(|(_, s)| s).collect())
    }
}
