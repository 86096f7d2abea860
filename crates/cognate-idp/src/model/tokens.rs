//! Tokens: the pool's signing keys, ID and access tokens with Cognito's
//! claims, refresh tokens, and checking an access token presented back.
//!
//! Each pool has its own RSA keys. They are created on first need, stored
//! sealed, and cached parsed in memory (parsing per token would dominate the
//! cost of signing). Several nodes may create a key at the same moment; all
//! then sign with the oldest, and every key verifies.

use crate::base::context::{Client, ClientCtx};
use crate::model::directory::GroupClaims;
use crate::model::users::{User, status_of};
use crate::{Error, Fault, Idp, Issuer, Result};
use cognate_crypto::jwt::{self, SigningKey, VerifyingKeys};
use cognate_store::{DeviceRow, PoolRow, RefreshTokenRow, SigningKeyRow};
use cognate_wire::idp::*;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A new key is published this long before it signs, so that verifiers that
/// cache the JWKS see it first.
pub const KEY_PUBLISH_AHEAD_MS: i64 = 5 * 60 * 1000;
/// How long parsed keys are trusted before the database is asked again, so
/// that a rotation made elsewhere (another node, the CLI) is picked up.
const KEY_CACHE_MS: i64 = 60 * 1000;

/// A pool's keys, parsed, oldest first.
#[derive(Debug)]
pub struct PoolKeys {
    pub all: Vec<(SigningKey, i64)>,
    pub verifying: VerifyingKeys,
    loaded_at: i64,
}

impl PoolKeys {
    /// The newest key published at least [`KEY_PUBLISH_AHEAD_MS`] ago, or the
    /// oldest key while no newer one qualifies.
    pub fn signing(&self, now: i64) -> Option<&SigningKey> {
        self.all
            .iter()
            .rev()
            .find(|(_, created)| *created <= now - KEY_PUBLISH_AHEAD_MS)
            .or_else(|| self.all.first())
            .map(|(k, _)| k)
    }

    fn public(&self) -> Vec<&SigningKey> {
        self.all.iter().map(|(k, _)| k).collect()
    }
}

/// Parsed keys per pool, shared by clones of the service.
#[derive(Debug, Clone, Default)]
pub struct KeyCache(Arc<Mutex<HashMap<String, Arc<PoolKeys>>>>);

/// Access tokens whose signature was checked: SHA-256 of the token → its
/// claims and when they were checked (ms). Bounded; cleared when full.
#[derive(Debug, Clone, Default)]
pub struct VerifiedCache(Arc<Mutex<HashMap<[u8; 32], Verified>>>);

/// Checked claims and when they were checked (ms).
type Verified = (Arc<Map<String, Value>>, i64);

const VERIFIED_TTL_MS: i64 = 60_000;
const VERIFIED_MAX: usize = 10_000;

fn seconds(value: Option<i32>, unit: Option<TimeUnitsType>, default_unit: TimeUnitsType, default_value: i64) -> i64 {
    let per = |u: TimeUnitsType| match u {
        TimeUnitsType::Seconds => 1,
        TimeUnitsType::Minutes => 60,
        TimeUnitsType::Hours => 3600,
        TimeUnitsType::Days => 86400,
    };
    match value {
        Some(v) if v > 0 => i64::from(v) * per(unit.unwrap_or(default_unit)),
        _ => default_value,
    }
}

/// Lifetimes (seconds) of the access, ID and refresh tokens of a client.
pub fn lifetimes(client: &UserPoolClientType) -> (i64, i64, i64) {
    let units = client.token_validity_units.clone().unwrap_or_default();
    (
        seconds(client.access_token_validity, units.access_token, TimeUnitsType::Hours, 3600),
        seconds(client.id_token_validity, units.id_token, TimeUnitsType::Hours, 3600),
        seconds(client.refresh_token_validity, units.refresh_token, TimeUnitsType::Days, 30 * 86400),
    )
}

fn rotation_grace_ms(client: &UserPoolClientType) -> i64 {
    client.refresh_token_rotation.as_ref().and_then(|r| r.retry_grace_period_seconds).map_or(0, |s| i64::from(s) * 1000)
}

pub(crate) fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn key_context(pool_id: &str, kid: &str) -> String {
    format!("signing-key:{pool_id}:{kid}")
}

impl Idp {
    /// `iss` of a pool's tokens.
    pub fn issuer(&self, pool: &PoolRow) -> String {
        self.issuer_of(&pool.id)
    }

    /// The issuer of a pool's tokens, from its id alone (which begins with
    /// the pool's region: `eu-west-1_AbC123xyz`).
    pub(crate) fn issuer_of(&self, pool_id: &str) -> String {
        match &self.issuer {
            Issuer::PublicUrl(base) => format!("{}/{}", base.trim_end_matches('/'), pool_id),
            Issuer::Cognito(_) => {
                let region = pool_id.split_once('_').map_or(pool_id, |(r, _)| r);
                format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
            }
        }
    }

    /// The pool's keys, created if it has none yet.
    pub async fn pool_keys(&self, pool_id: &str) -> Result<Arc<PoolKeys>> {
        let now = self.now();
        if let Some(k) = self.keys.0.lock().ok().and_then(|m| m.get(pool_id).cloned())
            && now - k.loaded_at < KEY_CACHE_MS
        {
            return Ok(k);
        }
        let mut rows = self.store.list_signing_keys(pool_id).await?;
        if rows.is_empty() {
            if self.store.get_pool(pool_id).await?.is_none() {
                return Err(Error::ResourceNotFound(format!("User pool {pool_id} does not exist.")));
            }
            self.add_signing_key(pool_id).await?;
            rows = self.store.list_signing_keys(pool_id).await?;
        }
        let mut all = Vec::with_capacity(rows.len());
        for r in &rows {
            let der = self
                .key
                .open(&key_context(pool_id, &r.kid), &r.key_sealed)
                .map_err(|e| Error::internal(Fault::Unseal, format!("signing key {} of pool {pool_id}: {e}", r.kid)))?;
            let key = SigningKey::from_pkcs8_der(&r.kid, &der).map_err(|e| {
                Error::internal(Fault::Document, format!("signing key {} of pool {pool_id}: {e}", r.kid))
            })?;
            all.push((key, r.created_at));
        }
        let verifying = VerifyingKeys::from_signing_keys(&all.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .map_err(|e| Error::internal(Fault::Other, format!("verifying keys of pool {pool_id}: {e}")))?;
        let keys = Arc::new(PoolKeys { all, verifying, loaded_at: now });
        if let Ok(mut m) = self.keys.0.lock() {
            m.insert(pool_id.to_string(), keys.clone());
        }
        Ok(keys)
    }

    async fn add_signing_key(&self, pool_id: &str) -> Result<String> {
        let kid = cognate_crypto::ids::uuid_v4();
        let generated = tokio::task::spawn_blocking({
            let kid = kid.clone();
            move || SigningKey::generate(&kid)
        })
        .await
        .map_err(|e| Error::internal(Fault::Other, format!("signing key generation: {e}")))?
        .map_err(|e| Error::internal(Fault::Other, format!("signing key generation: {e}")))?;
        let der = generated.to_pkcs8_der().map_err(|e| Error::internal(Fault::Other, format!("signing key: {e}")))?;
        // Keys order by creation time; keep it strictly increasing.
        let newest = self.store.list_signing_keys(pool_id).await?.last().map_or(i64::MIN, |k| k.created_at);
        let row = SigningKeyRow {
            pool_id: pool_id.to_string(),
            kid: kid.clone(),
            key_sealed: self.key.seal(&key_context(pool_id, &kid), &der),
            created_at: self.now().max(newest.saturating_add(1)),
        };
        self.store.insert_signing_key(&row).await?;
        Ok(kid)
    }

    fn forget_keys(&self, pool_id: &str) {
        if let Ok(mut m) = self.keys.0.lock() {
            m.remove(pool_id);
        }
        // A retired key must stop verifying here at once.
        if let Ok(mut m) = self.verified.0.lock() {
            m.clear();
        }
    }

    /// The claims of a token whose signature this node checked within the
    /// last minute (the same lag other nodes have in seeing a key retired),
    /// else checks it now, with the keys of the pool its (unverified) issuer
    /// names, and remembers it. Only the signature check is skipped: expiry,
    /// revocation and the user are checked on every call. None when the
    /// signature does not verify or the pool does not exist.
    pub(crate) async fn verified_claims(&self, token: &str) -> Result<Option<Arc<Map<String, Value>>>> {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = self.now();
        if let Ok(m) = self.verified.0.lock()
            && let Some((claims, at)) = m.get(&digest)
            && now - at < VERIFIED_TTL_MS
        {
            return Ok(Some(claims.clone()));
        }
        let Some(pool_id) = unverified_pool_id(token) else { return Ok(None) };
        let keys = match self.pool_keys(&pool_id).await {
            Err(Error::ResourceNotFound(_)) => return Ok(None),
            keys => keys?,
        };
        let Ok(claims) = jwt::verify(token, &keys.verifying) else { return Ok(None) };
        let claims = Arc::new(claims);
        if let Ok(mut m) = self.verified.0.lock() {
            if m.len() >= VERIFIED_MAX {
                m.clear();
            }
            m.insert(digest, (claims.clone(), now));
        }
        Ok(Some(claims))
    }

    /// Adds a new signing key to a pool. It is published in the JWKS at once
    /// and signs from [`KEY_PUBLISH_AHEAD_MS`] on; older keys keep verifying
    /// until they are retired.
    pub async fn rotate_signing_key(&self, pool_id: &str) -> Result<String> {
        self.load_pool(pool_id).await?;
        self.pool_keys(pool_id).await?;
        let kid = self.add_signing_key(pool_id).await?;
        self.forget_keys(pool_id);
        Ok(kid)
    }

    /// Removes a key; tokens it signed stop verifying. The key that signs now
    /// cannot be retired.
    pub async fn retire_signing_key(&self, pool_id: &str, kid: &str) -> Result<()> {
        self.load_pool(pool_id).await?;
        self.forget_keys(pool_id);
        let keys = self.pool_keys(pool_id).await?;
        if keys.signing(self.now()).is_some_and(|k| k.kid() == kid) {
            return Err(Error::InvalidParameter(format!("Key {kid} signs tokens now and cannot be retired.")));
        }
        if !self.store.delete_signing_key(pool_id, kid).await? {
            return Err(Error::ResourceNotFound(format!("Signing key {kid} does not exist.")));
        }
        self.forget_keys(pool_id);
        Ok(())
    }

    /// A pool's keys: (kid, created at in ms, signs now).
    pub async fn list_signing_keys(&self, pool_id: &str) -> Result<Vec<(String, i64, bool)>> {
        self.load_pool(pool_id).await?;
        self.forget_keys(pool_id);
        let keys = self.pool_keys(pool_id).await?;
        let signing = keys.signing(self.now()).map(|k| k.kid().to_string());
        Ok(keys.all.iter().map(|(k, at)| (k.kid().to_string(), *at, Some(k.kid()) == signing.as_deref())).collect())
    }

    /// `{"keys": [...]}` for `/{poolId}/.well-known/jwks.json`.
    pub async fn jwks(&self, pool_id: &str) -> Result<Value> {
        self.load_pool(pool_id).await?;
        let keys = self.pool_keys(pool_id).await?;
        Ok(jwt::jwks(&keys.public()))
    }

    /// The OpenID discovery document of a pool. Its endpoints are on the
    /// pool's domain (the custom domain when it has one), once it has one.
    pub async fn openid_configuration(&self, pool_id: &str) -> Result<Value> {
        let (row, _) = self.load_pool(pool_id).await?;
        let iss = self.issuer(&row);
        let jwks_uri = match &self.issuer {
            Issuer::PublicUrl(_) => format!("{iss}/.well-known/jwks.json"),
            Issuer::Cognito(base) => format!("{}/{}/.well-known/jwks.json", base.trim_end_matches('/'), row.id),
        };
        let mut doc = json!({
            "issuer": iss,
            "jwks_uri": jwks_uri,
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "token"],
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        });
        let domains = self.pool_domains(&row.id).await?;
        if let Some(d) = domains.iter().find(|d| d.custom).or(domains.first()) {
            let base = self.domain_url(d);
            for (name, path) in [
                ("authorization_endpoint", "/oauth2/authorize"),
                ("token_endpoint", "/oauth2/token"),
                ("userinfo_endpoint", "/oauth2/userInfo"),
                ("revocation_endpoint", "/oauth2/revoke"),
                ("end_session_endpoint", "/logout"),
            ] {
                doc[name] = json!(format!("{base}{path}"));
            }
            if self.extensions.introspection {
                doc["introspection_endpoint"] = json!(format!("{base}/oauth2/introspect"));
            }
            if self.extensions.device_grant {
                doc["device_authorization_endpoint"] = json!(format!("{base}/oauth2/device_authorization"));
            }
        }
        Ok(doc)
    }

    /// Signs ID and access tokens for `user`, and, when `refresh` is true, a
    /// new refresh token (one origin per sign-in, kept across refreshes).
    pub(crate) async fn issue_tokens(
        &self,
        c: &ClientCtx,
        user: &User,
        grant: Grant<'_>,
    ) -> Result<AuthenticationResultType> {
        let Grant { auth_time: auth_time_s, origin: origin_jti, refresh, source, device_key, scopes, hosted } = grant;
        let with_id_token = hosted.is_none() || scopes.iter().any(|s| s == "openid");
        let keys = self.pool_keys(&c.pool_row.id).await?;
        let now_ms = self.now();
        let now = now_ms / 1000;
        let (access_life, id_life, refresh_life) = lifetimes(&c.client);
        let iss = self.issuer(&c.pool_row);
        let origin = origin_jti.map(str::to_string).unwrap_or_else(cognate_crypto::ids::uuid_v4);
        let event_id = cognate_crypto::ids::uuid_v4();
        let groups = self.group_claims_of(user).await?;

        let mut id = IdClaims {
            sub: user.sub.clone(),
            iss: iss.clone(),
            username: user.username.clone(),
            origin_jti: origin.clone(),
            aud: c.row.id.clone(),
            event_id: event_id.clone(),
            token_use: "id",
            auth_time: auth_time_s,
            exp: now + id_life,
            iat: now,
            jti: cognate_crypto::ids::uuid_v4(),
            nonce: hosted.as_ref().and_then(|h| h.nonce.clone()),
            at_hash: None,
            extra: Map::new(),
        };
        let readable = c.client.read_attributes.as_ref();
        for (name, value) in &user.attrs {
            if name == "sub" || readable.is_some_and(|r| !r.contains(name)) {
                continue;
            }
            let v = match name.as_str() {
                "email_verified" | "phone_number_verified" => json!(value == "true"),
                "updated_at" => value.parse::<i64>().map(Value::from).unwrap_or_else(|_| json!(value)),
                _ => json!(value),
            };
            id.extra.insert(name.clone(), v);
        }
        let mut access = AccessClaims {
            sub: user.sub.clone(),
            iss,
            client_id: c.row.id.clone(),
            origin_jti: Some(origin.clone()),
            event_id: Some(event_id),
            token_use: "access",
            scope: scopes.clone(),
            auth_time: auth_time_s,
            exp: now + access_life,
            iat: now,
            jti: cognate_crypto::ids::uuid_v4(),
            username: Some(user.username.clone()),
            device_key: device_key.map(str::to_string),
            version: hosted.is_some().then_some(2),
            aud: None,
            extra: Map::new(),
        };

        let groups = self.pre_token_generation(c, user, source, groups, (&mut id, &mut access)).await?;
        insert_group_claims(&groups, &mut id.extra, &mut access.extra);
        if self.extensions.access_token_aud {
            access.set_audience();
        }

        let at_hash = hosted.is_some();
        let (access_token, id_token) = crate::base::crypto_threads::run_short(move || {
            let signing = keys.signing(now_ms).ok_or(cognate_crypto::jwt::JwtError::BadKey("no signing key"))?;
            let access_token = signing.sign(&access)?;
            if at_hash {
                id.at_hash = Some(left_half_hash(&access_token));
            }
            let id_token = if with_id_token { Some(signing.sign(&id)?) } else { None };
            Ok::<_, cognate_crypto::jwt::JwtError>((access_token, id_token))
        })
        .await?
        .map_err(|e| Error::internal(Fault::Other, format!("token signing: {e}")))?;
        let mut result = AuthenticationResultType {
            access_token: Some(access_token),
            id_token,
            expires_in: Some(access_life as i32),
            token_type: Some("Bearer".into()),
            refresh_token: None,
            new_device_metadata: None,
        };
        if refresh {
            let token = random_token();
            let row = RefreshTokenRow {
                token_hash: sha256_hex(&token),
                pool_id: c.pool_row.id.clone(),
                username_key: user.username_key.clone(),
                client_id: c.row.id.clone(),
                origin_jti: origin,
                auth_time: auth_time_s,
                created_at: now_ms,
                expires_at: now_ms + refresh_life * 1000,
                revoked_at: 0,
                rotated_at: 0,
                scopes: if hosted.is_some() { scopes.join(" ") } else { String::new() },
            };
            self.store.insert_refresh_token(&row).await?;
            result.refresh_token = Some(token);
        }
        Ok(result)
    }

    /// An access token for the client itself (the client_credentials
    /// grant): `sub` is the client id; no user, no ID or refresh token.
    pub(crate) async fn issue_client_token(&self, c: &ClientCtx, scopes: Vec<String>) -> Result<(String, i64)> {
        let keys = self.pool_keys(&c.pool_row.id).await?;
        let now_ms = self.now();
        let now = now_ms / 1000;
        let (access_life, _, _) = lifetimes(&c.client);
        let mut access = AccessClaims {
            sub: c.row.id.clone(),
            iss: self.issuer(&c.pool_row),
            client_id: c.row.id.clone(),
            origin_jti: None,
            event_id: None,
            token_use: "access",
            scope: scopes,
            auth_time: now,
            exp: now + access_life,
            iat: now,
            jti: cognate_crypto::ids::uuid_v4(),
            username: None,
            device_key: None,
            version: Some(2),
            aud: None,
            extra: Map::new(),
        };
        // Only a version 3 PreTokenGeneration function sees machine tokens.
        let v3 = c
            .pool
            .lambda_config
            .as_ref()
            .and_then(|l| l.pre_token_generation_config.as_ref())
            .map(|p| p.lambda_version)
            == Some(PreTokenGenerationLambdaVersionType::V30);
        if v3 {
            let request = json!({
                "userAttributes": {},
                "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": null},
                "scopes": access.scope,
                "clientMetadata": {},
            });
            let trigger = crate::model::triggers::Trigger::PreTokenGeneration;
            let source = "TokenGeneration_ClientCredentials";
            if let Some(r) = self.run_trigger(c, trigger, source, &c.row.id, request).await?
                && let Some(d) = r.get("claimsAndScopeOverrideDetails").and_then(|v| v.get("accessTokenGeneration"))
            {
                apply_access(&mut access, d);
            }
        }
        if self.extensions.access_token_aud {
            access.set_audience();
        }
        let token = crate::base::crypto_threads::run_short(move || {
            let signing = keys.signing(now_ms).ok_or(cognate_crypto::jwt::JwtError::BadKey("no signing key"))?;
            signing.sign(&access)
        })
        .await?
        .map_err(|e| Error::internal(Fault::Other, format!("token signing: {e}")))?;
        Ok((token, access_life))
    }

    /// PreTokenGeneration: the function may add, override or suppress claims
    /// (V1: the ID token; V2/V3: both tokens and the access token's scopes).
    /// Claims Cognito protects cannot be touched.
    async fn pre_token_generation(
        &self,
        c: &ClientCtx,
        user: &User,
        source: &str,
        groups: GroupClaims,
        (id, access): (&mut IdClaims, &mut AccessClaims),
    ) -> Result<GroupClaims> {
        let request = json!({
            "userAttributes": crate::model::triggers::attributes_json(&user.attrs),
            "groupConfiguration": {
                "groupsToOverride": groups.groups,
                "iamRolesToOverride": groups.roles,
                "preferredRole": groups.preferred_role,
            },
            // The scopes granted, as the access token carries them so far.
            "scopes": access.scope,
            "clientMetadata": {},
        });
        let Some(r) = self
            .run_trigger(c, crate::model::triggers::Trigger::PreTokenGeneration, source, &user.username, request)
            .await?
        else {
            return Ok(groups);
        };
        if let Some(v1) = r.get("claimsOverrideDetails").filter(|v| v.is_object()) {
            apply_claims(&mut id.extra, v1);
        }
        if let Some(v2) = r.get("claimsAndScopeOverrideDetails").filter(|v| v.is_object()) {
            if let Some(d) = v2.get("idTokenGeneration") {
                apply_claims(&mut id.extra, d);
            }
            if let Some(d) = v2.get("accessTokenGeneration") {
                apply_access(access, d);
            }
        }
        let overrides = r
            .get("claimsOverrideDetails")
            .or_else(|| r.get("claimsAndScopeOverrideDetails"))
            .and_then(|d| d.get("groupOverrideDetails"))
            .filter(|g| g.is_object());
        Ok(match overrides {
            Some(o) => override_groups(groups, o),
            None => groups,
        })
    }

    /// The refresh token's row if it is live for this client.
    pub(crate) async fn live_refresh_token(&self, c: &Client, token: &str) -> Result<RefreshTokenRow> {
        let invalid = || Error::NotAuthorized("Invalid Refresh Token".into());
        let row = self.store.get_refresh_token(&sha256_hex(token)).await?.ok_or_else(invalid)?;
        if row.client_id != c.row.id || row.pool_id != c.pool_row.id {
            return Err(invalid());
        }
        if row.revoked_at != 0 {
            return Err(Error::NotAuthorized("Refresh Token has been revoked".into()));
        }
        if row.expires_at <= self.now() {
            return Err(Error::NotAuthorized("Refresh Token has expired".into()));
        }
        // A token replaced by rotation may be retried for the grace period;
        // after it, using it again means it leaked: end the whole sign-in.
        if row.rotated_at != 0 && self.now() - row.rotated_at > rotation_grace_ms(&c.client) {
            self.store.revoke_origin(&row.pool_id, &row.origin_jti, self.now()).await?;
            return Err(Error::RefreshTokenReuse("Refresh token has been reused; the session is revoked.".into()));
        }
        Ok(row)
    }

    /// GetTokensFromRefreshToken: new tokens, and with the client's
    /// RefreshTokenRotation a new refresh token that replaces the one used.
    pub async fn get_tokens_from_refresh_token(
        &self,
        req: GetTokensFromRefreshTokenRequest,
    ) -> Result<GetTokensFromRefreshTokenResponse> {
        let client = self.resolve_client(&req.client_id).await?;
        let c = self.with_client_secret(client, req.client_secret.as_deref()).await?;
        let result = self.refresh_with(&c, &req.refresh_token, req.device_key.as_deref()).await?;
        Ok(GetTokensFromRefreshTokenResponse { authentication_result: Some(result) })
    }

    /// New tokens from a refresh token of a proven client (the API's
    /// GetTokensFromRefreshToken and the token endpoint's refresh_token
    /// grant): with the client's RefreshTokenRotation, a new refresh token
    /// replaces the one used.
    pub(crate) async fn refresh_with(
        &self,
        c: &ClientCtx,
        token: &str,
        device_key: Option<&str>,
    ) -> Result<AuthenticationResultType> {
        let row = self.live_refresh_token(c, token).await?;
        let user = User::read_opt(self.store.get_user(row.user()).await?)?
            .ok_or_else(|| Error::NotAuthorized("Invalid Refresh Token".into()))?;
        if user.enabled == 0 {
            return Err(Error::NotAuthorized("User is disabled.".into()));
        }
        let rotate = c.client.refresh_token_rotation.as_ref().is_some_and(|r| r.feature == FeatureType::Enabled);
        if rotate && row.rotated_at == 0 && !self.store.mark_rotated(&row.token_hash, self.now()).await? {
            // Another use rotated it this very moment: with no grace period
            // that is a reuse, settled by the database.
            if rotation_grace_ms(&c.client) == 0 {
                self.store.revoke_origin(&row.pool_id, &row.origin_jti, self.now()).await?;
                return Err(Error::RefreshTokenReuse("Refresh token has been reused; the session is revoked.".into()));
            }
        }
        let device = self.known_device(&user, device_key).await?;
        self.issue_tokens(c, &user, Grant::of_refresh(&row, device.as_ref(), rotate)).await
    }

    /// Checks an access token presented to a public operation: signature
    /// by the pool's key, `token_use`, expiry, and revocation (global
    /// sign-out, a disabled or deleted user). Returns the client it was
    /// issued to and its user.
    pub async fn check_access_token(&self, token: &str) -> Result<(String, User)> {
        let a = self.check_api_access(token).await?;
        Ok((a.client_id, a.user))
    }

    /// An access token for the user-pool API (GetUser, ChangePassword, ...):
    /// checked, and granting `aws.cognito.signin.user.admin`, which every
    /// API sign-in grants and an OAuth sign-in only when asked for.
    pub(crate) async fn check_api_access(&self, token: &str) -> Result<Access> {
        let a = self.check_access(token).await?;
        if !a.scopes.iter().any(|s| s == "aws.cognito.signin.user.admin") {
            return Err(Error::NotAuthorized("Access Token does not have required scopes".into()));
        }
        Ok(a)
    }

    /// Checks an access token: signature, issuer, use, expiry, the user
    /// (present, enabled, not reset) and its sign-in not revoked. The pool id
    /// in the token names the issuer (a pool id begins with its region), and
    /// the user and the revocation are one query.
    pub(crate) async fn check_access(&self, token: &str) -> Result<Access> {
        let invalid = || Error::NotAuthorized("Invalid Access Token".into());
        let claims = self.verified_claims(token).await?.ok_or_else(invalid)?;
        let iss = claims.get("iss").and_then(Value::as_str).ok_or_else(invalid)?;
        let pool_id = pool_id_of_issuer(iss).ok_or_else(invalid)?;
        if iss != self.issuer_of(pool_id) || claims.get("token_use").and_then(Value::as_str) != Some("access") {
            return Err(invalid());
        }
        let now = self.now() / 1000;
        let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(invalid)?;
        if exp <= now {
            return Err(Error::NotAuthorized("Access Token has expired".into()));
        }
        let sub = claims.get("sub").and_then(Value::as_str).ok_or_else(invalid)?;
        let origin = claims.get("origin_jti").and_then(Value::as_str).ok_or_else(invalid)?;
        let found = self
            .store
            .user_for_access(pool_id, sub, origin)
            .await?
            .ok_or_else(|| Error::NotAuthorized("User does not exist.".into()))?;
        if found.revoked {
            return Err(Error::NotAuthorized("Access Token has been revoked".into()));
        }
        let user = User::read(found.user)?;
        if user.enabled == 0 {
            return Err(Error::NotAuthorized("User is disabled.".into()));
        }
        if status_of(&user) == UserStatusType::ResetRequired {
            return Err(Error::PasswordResetRequired("Password reset required for the user".into()));
        }
        let client_id = claims.get("client_id").and_then(Value::as_str).ok_or_else(invalid)?.to_string();
        let scopes = claims.get("scope").and_then(Value::as_str).unwrap_or_default();
        let scopes = scopes.split_whitespace().map(str::to_string).collect();
        Ok(Access { client_id, user, has_mfa: found.has_mfa, scopes })
    }
}

/// A checked access token: its client and its user.
pub(crate) struct Access {
    pub client_id: String,
    pub user: User,
    /// The user has stored MFA settings (else there are none to read).
    pub has_mfa: bool,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
}

/// An ID token's claims: the ones Cognito sets typed, and in `extra` the
/// user's readable attributes, the group claims and what a PreTokenGeneration
/// function adds (which can never replace a typed claim).
#[derive(Debug, Serialize)]
pub(crate) struct IdClaims {
    pub sub: String,
    pub iss: String,
    #[serde(rename = "cognito:username")]
    pub username: String,
    pub origin_jti: String,
    pub aud: String,
    pub event_id: String,
    pub token_use: &'static str,
    pub auth_time: i64,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IdClaims {
    const TYPED: &[&str] = &[
        "sub",
        "iss",
        "cognito:username",
        "origin_jti",
        "aud",
        "event_id",
        "token_use",
        "auth_time",
        "exp",
        "iat",
        "jti",
    ];
}

/// An access token's claims: the ones Cognito sets typed (`scope` is the
/// granted scopes, space-separated), and in `extra` the group claim and what
/// a PreTokenGeneration function adds. It has no `aud`, as in Cognito,
/// unless the `access-token-aud` extension is on.
#[derive(Debug, Serialize)]
pub(crate) struct AccessClaims {
    pub sub: String,
    pub iss: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub token_use: &'static str,
    #[serde(serialize_with = "space_separated")]
    pub scope: Vec<String>,
    pub auth_time: i64,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AccessClaims {
    /// `aud` (the extension): the resource servers of the custom scopes
    /// (`{identifier}/{name}`), one as a string and several as a list, else
    /// the client id.
    fn set_audience(&mut self) {
        let mut servers: Vec<&str> = Vec::new();
        for scope in &self.scope {
            if let Some((server, _)) = scope.rsplit_once('/')
                && !servers.contains(&server)
            {
                servers.push(server);
            }
        }
        self.aud = Some(match servers.as_slice() {
            [] => json!(self.client_id),
            [one] => json!(one),
            many => json!(many),
        });
    }

    const TYPED: &[&str] = &[
        "aud",
        "sub",
        "iss",
        "client_id",
        "origin_jti",
        "event_id",
        "token_use",
        "scope",
        "auth_time",
        "exp",
        "iat",
        "jti",
        "username",
        "device_key",
        "version",
    ];
}

/// OIDC's `at_hash`: the left half of the SHA-256 of the access token,
/// base64url without padding.
fn left_half_hash(token: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

fn space_separated<S: serde::Serializer>(scopes: &[String], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&scopes.join(" "))
}

/// What a set of tokens is issued for: when the user authenticated (s), the
/// sign-in they continue (a refresh keeps its origin), whether a refresh
/// token comes with them, the PreTokenGeneration source, the device, the
/// scopes granted (the access token's `scope`; the ID token's audience is
/// always the client), and, for the hosted endpoints, what OAuth adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant<'a> {
    pub auth_time: i64,
    pub origin: Option<&'a str>,
    pub refresh: bool,
    pub source: &'a str,
    pub device_key: Option<&'a str>,
    pub scopes: Vec<String>,
    pub hosted: Option<Hosted>,
}

/// Tokens from the OAuth endpoints: an ID token only with the `openid`
/// scope, carrying the request's `nonce` and the access token's `at_hash`;
/// `version: 2` in the access token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Hosted {
    pub nonce: Option<String>,
}

impl<'a> Grant<'a> {
    /// New tokens from a refresh token: the sign-in's time, origin and
    /// scopes, the device it names, a new refresh token only when `rotate`.
    pub(crate) fn of_refresh(row: &'a RefreshTokenRow, device: Option<&'a DeviceRow>, rotate: bool) -> Grant<'a> {
        let hosted = !row.scopes.is_empty();
        Grant {
            auth_time: row.auth_time,
            origin: Some(&row.origin_jti),
            refresh: rotate,
            source: "TokenGeneration_RefreshTokens",
            device_key: device.map(|d| d.device_key.as_str()),
            scopes: if hosted { row.scopes.split(' ').map(str::to_string).collect() } else { sign_in_scopes() },
            hosted: hosted.then(Hosted::default),
        }
    }
}

/// The scope an API sign-in (InitiateAuth and its kin) grants.
pub(crate) fn sign_in_scopes() -> Vec<String> {
    vec!["aws.cognito.signin.user.admin".to_string()]
}

/// Whether a PreTokenGeneration function may add, override or suppress a
/// claim: not the claims Cognito sets in either token (typed, so never in
/// `extra`), nor the OIDC ones it reserves.
fn claim_allowed(k: &str) -> bool {
    const RESERVED: &[&str] = &["nonce", "at_hash", "acr", "amr", "azp", "nbf", "identities"];
    !RESERVED.contains(&k) && !IdClaims::TYPED.contains(&k) && !AccessClaims::TYPED.contains(&k)
}

/// A function's claimsToAddOrOverride and claimsToSuppress, on `claims`.
fn apply_claims(claims: &mut Map<String, Value>, d: &Value) {
    if let Some(Value::Object(add)) = d.get("claimsToAddOrOverride") {
        for (k, v) in add {
            if claim_allowed(k) {
                claims.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(Value::Array(drop)) = d.get("claimsToSuppress") {
        for k in drop.iter().filter_map(Value::as_str) {
            if claim_allowed(k) {
                claims.remove(k);
            }
        }
    }
}

/// A function's accessTokenGeneration: claims, and scopes only through
/// scopesToAdd and scopesToSuppress.
fn apply_access(access: &mut AccessClaims, d: &Value) {
    apply_claims(&mut access.extra, d);
    let scopes = &mut access.scope;
    for s in d.get("scopesToAdd").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if let Some(drop) = d.get("scopesToSuppress").and_then(Value::as_array) {
        scopes.retain(|x| !drop.iter().any(|d| d.as_str() == Some(x)));
    }
}

/// `cognito:groups` in both tokens; the roles in the ID token only.
fn insert_group_claims(g: &GroupClaims, id: &mut Map<String, Value>, access: &mut Map<String, Value>) {
    if !g.groups.is_empty() {
        id.insert("cognito:groups".into(), json!(g.groups));
        access.insert("cognito:groups".into(), json!(g.groups));
    }
    if !g.roles.is_empty() {
        id.insert("cognito:roles".into(), json!(g.roles));
    }
    if let Some(r) = &g.preferred_role {
        id.insert("cognito:preferred_role".into(), json!(r));
    }
}

/// A PreTokenGeneration answer's groupOverrideDetails: each member given
/// replaces that part of the group claims.
fn override_groups(mut g: GroupClaims, o: &Value) -> GroupClaims {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };
    if let Some(v) = o.get("groupsToOverride").filter(|v| v.is_array()) {
        g.groups = strings(v);
    }
    if let Some(v) = o.get("iamRolesToOverride").filter(|v| v.is_array()) {
        g.roles = strings(v);
    }
    if let Some(v) = o.get("preferredRole") {
        g.preferred_role = v.as_str().map(str::to_string);
    }
    g
}

/// 256 bits of randomness, base64url.
pub(crate) fn random_token() -> String {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The pool an (unverified) token claims to come from: the last path segment
/// of its `iss`. Only used to pick the keys that then verify it.
/// A string claim of a token, read without verifying it: only for choosing
/// a pool's keys, or after the token was verified.
pub(crate) fn unverified_claim(token: &str, name: &str) -> Option<String> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
    claims.get(name)?.as_str().map(str::to_string)
}

fn unverified_pool_id(token: &str) -> Option<String> {
    pool_id_of_issuer(&unverified_claim(token, "iss")?).map(str::to_string)
}

/// The pool id an issuer URL ends with.
fn pool_id_of_issuer(iss: &str) -> Option<&str> {
    let id = iss.rsplit('/').next()?;
    (id.contains('_') && id.len() <= 55).then_some(id)
}
