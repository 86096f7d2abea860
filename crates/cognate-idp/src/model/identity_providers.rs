//! Identity providers: the external sign-in a pool federates to (Google,
//! Facebook, Login with Amazon, Sign in with Apple, any OIDC provider; SAML
//! is refused until Cognate speaks it). What is stored is the
//! configuration as DescribeIdentityProvider shows it, with the secret
//! details (a client secret, Apple's private key) sealed apart.
//!
//! Each provider type has the details Cognito requires; for the social types
//! Cognito fills in the provider's endpoints, and so does Cognate, from
//! defaults an operator may point elsewhere (a local stand-in) later, when
//! the sign-in flows come.

use crate::base::page;
use crate::{Error, Fault, Idp, Result};
use cognate_store::{IdentityProviderRow, StoreError};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use std::collections::{BTreeMap, BTreeSet};

/// Cognito's quota of identity providers per pool.
const MAX_PROVIDERS: i64 = 300;
/// IdpIdentifiers per provider.
const MAX_IDENTIFIERS: usize = 50;

/// Details that are secrets: sealed at rest, never in `config`.
const SECRET_DETAILS: &[&str] = &["client_secret", "private_key"];

type Details = BTreeMap<String, String>;

fn not_found(name: &str) -> Error {
    Error::ResourceNotFound(format!("Identity provider {name} does not exist."))
}

fn type_of(name: &str) -> Result<IdentityProviderTypeType> {
    IdentityProviderTypeType::parse(name)
        .ok_or_else(|| Error::internal(Fault::Document, format!("stored provider type {name}")))
}

fn seal_context(pool_id: &str, name: &str) -> String {
    format!("idp-secrets:{pool_id}:{name}")
}

/// Checks `details` for a provider of type `t` and returns them with the
/// endpoints Cognito derives for the social types (as Describe shows them).
fn checked_details(t: &IdentityProviderTypeType, mut details: Details) -> Result<Details> {
    let require = |details: &Details, keys: &[&str]| -> Result<()> {
        for k in keys {
            if details.get(*k).is_none_or(|v| v.trim().is_empty()) {
                return Err(Error::InvalidParameter(format!("{k} is required for {}.", t.as_str())));
            }
        }
        Ok(())
    };
    let allow = |details: &Details, keys: &[&str]| -> Result<()> {
        match details.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(k) => Err(Error::InvalidParameter(format!("{k} is not a valid provider detail for {}.", t.as_str()))),
            None => Ok(()),
        }
    };
    fn fill(details: &mut Details, key: &str, value: String) {
        details.entry(key.to_string()).or_insert(value);
    }
    match t {
        IdentityProviderTypeType::Saml => {
            return Err(Error::InvalidParameter(
                "SAML identity providers are not supported by Cognate yet (see docs/compatibility.md).".into(),
            ));
        }
        IdentityProviderTypeType::Google => {
            require(&details, &["client_id", "client_secret", "authorize_scopes"])?;
            fill(&mut details, "authorize_url", "https://accounts.google.com/o/oauth2/v2/auth".into());
            fill(&mut details, "token_url", "https://www.googleapis.com/oauth2/v4/token".into());
            fill(&mut details, "token_request_method", "POST".into());
            fill(&mut details, "attributes_url", "https://people.googleapis.com/v1/people/me?personFields=".into());
            fill(&mut details, "attributes_url_add_attributes", "true".into());
            fill(&mut details, "oidc_issuer", "https://accounts.google.com".into());
        }
        IdentityProviderTypeType::Facebook => {
            require(&details, &["client_id", "client_secret", "authorize_scopes"])?;
            let version = details.get("api_version").cloned().unwrap_or_else(|| "v17.0".into());
            fill(&mut details, "api_version", version.clone());
            fill(&mut details, "authorize_url", format!("https://www.facebook.com/{version}/dialog/oauth"));
            fill(&mut details, "token_url", format!("https://graph.facebook.com/{version}/oauth/access_token"));
            fill(&mut details, "token_request_method", "GET".into());
            fill(&mut details, "attributes_url", format!("https://graph.facebook.com/{version}/me?fields="));
            fill(&mut details, "attributes_url_add_attributes", "true".into());
        }
        IdentityProviderTypeType::LoginWithAmazon => {
            require(&details, &["client_id", "client_secret", "authorize_scopes"])?;
            fill(&mut details, "authorize_url", "https://www.amazon.com/ap/oa".into());
            fill(&mut details, "token_url", "https://api.amazon.com/auth/o2/token".into());
            fill(&mut details, "token_request_method", "POST".into());
            fill(&mut details, "attributes_url", "https://api.amazon.com/user/profile".into());
            fill(&mut details, "attributes_url_add_attributes", "false".into());
        }
        IdentityProviderTypeType::SignInWithApple => {
            require(&details, &["client_id", "team_id", "key_id", "private_key", "authorize_scopes"])?;
            fill(&mut details, "authorize_url", "https://appleid.apple.com/auth/authorize".into());
            fill(&mut details, "token_url", "https://appleid.apple.com/auth/token".into());
            fill(&mut details, "token_request_method", "POST".into());
            fill(&mut details, "oidc_issuer", "https://appleid.apple.com".into());
        }
        IdentityProviderTypeType::Oidc => {
            require(&details, &["client_id", "authorize_scopes", "attributes_request_method", "oidc_issuer"])?;
            allow(
                &details,
                &[
                    "client_id",
                    "client_secret",
                    "authorize_scopes",
                    "attributes_request_method",
                    "oidc_issuer",
                    "authorize_url",
                    "token_url",
                    "attributes_url",
                    "jwks_uri",
                    "attributes_url_add_attributes",
                ],
            )?;
            let method = details.get("attributes_request_method").map(String::as_str);
            if !matches!(method, Some("GET" | "POST")) {
                return Err(Error::InvalidParameter("attributes_request_method must be GET or POST.".into()));
            }
            let issuer = details.get("oidc_issuer").map(String::as_str).unwrap_or_default();
            if !issuer.starts_with("https://") || issuer.ends_with('/') {
                return Err(Error::InvalidParameter(
                    "oidc_issuer must be an https:// URL without a trailing slash.".into(),
                ));
            }
            // The endpoints come all together, or not at all (discovery).
            let manual = ["authorize_url", "token_url", "attributes_url", "jwks_uri"];
            let given = manual.iter().filter(|k| details.contains_key(**k)).count();
            if given != 0 && given != manual.len() {
                return Err(Error::InvalidParameter(
                    "authorize_url, token_url, attributes_url and jwks_uri are given together or not at all.".into(),
                ));
            }
            for k in manual.iter().filter(|k| details.contains_key(**k)) {
                if !details[*k].starts_with("https://") {
                    return Err(Error::InvalidParameter(format!("{k} must be an https:// URL.")));
                }
            }
        }
    }
    Ok(details)
}

/// Social providers are named after their type ("Provider X cannot be of
/// type Google."); OIDC and SAML providers may be named freely, but not
/// after a social type or Cognito itself.
fn check_name(name: &str, t: &IdentityProviderTypeType) -> Result<()> {
    let social = ["Google", "Facebook", "LoginWithAmazon", "SignInWithApple"];
    let refused = match t {
        IdentityProviderTypeType::Saml | IdentityProviderTypeType::Oidc => {
            social.contains(&name) || name.eq_ignore_ascii_case("cognito")
        }
        other => name != other.as_str(),
    };
    if refused {
        return Err(Error::InvalidParameter(format!("Provider {name} cannot be of type {}.", t.as_str())));
    }
    Ok(())
}

/// The identifiers of a provider: at most 50, no repeats.
fn check_identifiers(ids: &[String]) -> Result<()> {
    if ids.len() > MAX_IDENTIFIERS {
        return Err(Error::InvalidParameter(format!("A provider has at most {MAX_IDENTIFIERS} IdpIdentifiers.")));
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            return Err(Error::InvalidParameter(format!("Duplicate IdpIdentifier {id}.")));
        }
    }
    Ok(())
}

/// Mapped attributes must be the pool's (or the username).
fn check_mapping(pool: &UserPoolType, mapping: &BTreeMap<String, String>) -> Result<()> {
    let schema = pool.schema_attributes.as_deref().unwrap_or_default();
    for attribute in mapping.keys() {
        let known = attribute == "username" || schema.iter().any(|a| a.name.as_deref() == Some(attribute.as_str()));
        if !known {
            return Err(Error::InvalidParameter(format!("Attribute {attribute} is not in the user pool's schema.")));
        }
    }
    Ok(())
}

impl Idp {
    /// The names of the pool's identity providers (what an app client's
    /// SupportedIdentityProviders may name, besides COGNITO).
    pub(crate) async fn pool_providers(&self, pool_id: &str) -> Result<BTreeSet<String>> {
        Ok(self.store.identity_provider_names(pool_id).await?.into_iter().collect())
    }

    /// Splits the details into what is shown in `config` and the secrets,
    /// sealed under the provider's name.
    fn split_secrets(&self, pool_id: &str, name: &str, mut details: Details) -> Result<(Details, String)> {
        let secrets: Details =
            SECRET_DETAILS.iter().filter_map(|k| details.remove(*k).map(|v| (k.to_string(), v))).collect();
        let sealed = self.key.seal(&seal_context(pool_id, name), serde_json::to_string(&secrets)?.as_bytes());
        Ok((details, sealed))
    }

    /// The provider as Describe shows it: Cognito echoes the client secret,
    /// never Apple's private key.
    fn provider_type(&self, row: &IdentityProviderRow, with_private_key: bool) -> Result<IdentityProviderType> {
        let mut t: IdentityProviderType = serde_json::from_str(&row.config)?;
        let plain = self
            .key
            .open(&seal_context(&row.pool_id, &row.name), &row.secrets_sealed)
            .map_err(|e| Error::internal(Fault::Unseal, format!("identity provider {}: {e}", row.name)))?;
        let secrets: Details = serde_json::from_slice(&plain)?;
        let details = t.provider_details.get_or_insert_with(Default::default);
        for (k, v) in secrets {
            if k != "private_key" || with_private_key {
                details.insert(k, v);
            }
        }
        t.user_pool_id = Some(row.pool_id.clone());
        t.provider_name = Some(row.name.clone());
        t.provider_type = Some(type_of(&row.provider_type)?);
        t.creation_date = Some(Timestamp::from_unix_millis(row.created_at));
        t.last_modified_date = Some(Timestamp::from_unix_millis(row.updated_at));
        Ok(t)
    }

    fn provider_row(&self, pool_id: &str, t: &IdentityProviderType, created_at: i64) -> Result<IdentityProviderRow> {
        let name = t.provider_name.clone().unwrap_or_default();
        let provider_type = t.provider_type.map(IdentityProviderTypeType::as_str).unwrap_or_default().to_string();
        let (shown, sealed) = self.split_secrets(pool_id, &name, t.provider_details.clone().unwrap_or_default())?;
        let stored = IdentityProviderType {
            provider_details: Some(shown),
            attribute_mapping: t.attribute_mapping.clone(),
            idp_identifiers: t.idp_identifiers.clone(),
            acr_mapping: t.acr_mapping.clone(),
            ..Default::default()
        };
        Ok(IdentityProviderRow {
            pool_id: pool_id.to_string(),
            name,
            provider_type,
            config: serde_json::to_string(&stored)?,
            secrets_sealed: sealed,
            created_at,
            updated_at: self.now(),
        })
    }

    pub async fn create_identity_provider(
        &self,
        req: CreateIdentityProviderRequest,
    ) -> Result<CreateIdentityProviderResponse> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        check_name(&req.provider_name, &req.provider_type)?;
        let details = checked_details(&req.provider_type, req.provider_details)?;
        let identifiers = req.idp_identifiers.unwrap_or_default();
        check_identifiers(&identifiers)?;
        let mapping = req.attribute_mapping.unwrap_or_default();
        check_mapping(&pool, &mapping)?;
        let t = IdentityProviderType {
            provider_name: Some(req.provider_name.clone()),
            provider_type: Some(req.provider_type),
            provider_details: Some(details),
            attribute_mapping: Some(mapping),
            idp_identifiers: Some(identifiers.clone()),
            acr_mapping: req.acr_mapping,
            ..Default::default()
        };
        let now = self.now();
        let row = self.provider_row(&pool_row.id, &t, now)?;
        match self.store.insert_identity_provider(&row, &identifiers, MAX_PROVIDERS).await {
            Ok(true) => Ok(CreateIdentityProviderResponse { identity_provider: self.provider_type(&row, false)? }),
            Ok(false) => Err(Error::LimitExceeded(format!(
                "The user pool has reached its limit of {MAX_PROVIDERS} identity providers."
            ))),
            Err(StoreError::Conflict) => {
                if self.store.get_identity_provider(&pool_row.id, &req.provider_name).await?.is_some() {
                    return Err(Error::DuplicateProvider(format!(
                        "{} already exists in user pool {}",
                        req.provider_name, pool_row.id
                    )));
                }
                Err(Error::InvalidParameter("An IdpIdentifier is already used by another provider of the pool.".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn describe_identity_provider(
        &self,
        req: DescribeIdentityProviderRequest,
    ) -> Result<DescribeIdentityProviderResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let row = self
            .store
            .get_identity_provider(&pool_row.id, &req.provider_name)
            .await?
            .ok_or_else(|| not_found(&req.provider_name))?;
        Ok(DescribeIdentityProviderResponse { identity_provider: self.provider_type(&row, false)? })
    }

    pub async fn get_identity_provider_by_identifier(
        &self,
        req: GetIdentityProviderByIdentifierRequest,
    ) -> Result<GetIdentityProviderByIdentifierResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let row =
            self.store.identity_provider_by_identifier(&pool_row.id, &req.idp_identifier).await?.ok_or_else(|| {
                Error::ResourceNotFound(format!("Identity provider for {} does not exist.", req.idp_identifier))
            })?;
        Ok(GetIdentityProviderByIdentifierResponse { identity_provider: self.provider_type(&row, false)? })
    }

    /// Replaces what the request gives (details as a whole, the mapping,
    /// the identifiers); the rest stays.
    pub async fn update_identity_provider(
        &self,
        req: UpdateIdentityProviderRequest,
    ) -> Result<UpdateIdentityProviderResponse> {
        let (pool_row, pool) = self.load_pool(&req.user_pool_id).await?;
        let row = self
            .store
            .get_identity_provider(&pool_row.id, &req.provider_name)
            .await?
            .ok_or_else(|| not_found(&req.provider_name))?;
        let mut t = self.provider_type(&row, true)?;
        let provider_type = type_of(&row.provider_type)?;
        if let Some(mut details) = req.provider_details {
            // A secret the request leaves out stays (Describe never shows
            // Apple's key, so a read-then-update could not send it back).
            let stored = t.provider_details.take().unwrap_or_default();
            for key in SECRET_DETAILS {
                if let (false, Some(value)) = (details.contains_key(*key), stored.get(*key)) {
                    details.insert(key.to_string(), value.clone());
                }
            }
            t.provider_details = Some(checked_details(&provider_type, details)?);
        }
        if let Some(mapping) = req.attribute_mapping {
            check_mapping(&pool, &mapping)?;
            t.attribute_mapping = Some(mapping);
        }
        if let Some(ids) = &req.idp_identifiers {
            check_identifiers(ids)?;
            t.idp_identifiers = Some(ids.clone());
        }
        if let Some(acr) = req.acr_mapping {
            t.acr_mapping = Some(acr);
        }
        let updated = self.provider_row(&pool_row.id, &t, row.created_at)?;
        match self.store.update_identity_provider(&updated, row.updated_at, req.idp_identifiers.as_deref()).await {
            Ok(true) => Ok(UpdateIdentityProviderResponse { identity_provider: self.provider_type(&updated, false)? }),
            // Deleted, or changed by another call since it was read.
            Ok(false) => Err(Error::ConcurrentModification(format!(
                "Identity provider {} changed while it was being updated; try again.",
                req.provider_name
            ))),
            Err(StoreError::Conflict) => {
                Err(Error::InvalidParameter("An IdpIdentifier is already used by another provider of the pool.".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete_identity_provider(&self, req: DeleteIdentityProviderRequest) -> Result<()> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_identity_provider(&pool_row.id, &req.provider_name).await? {
            return Err(not_found(&req.provider_name));
        }
        Ok(())
    }

    pub async fn list_identity_providers(
        &self,
        req: ListIdentityProvidersRequest,
    ) -> Result<ListIdentityProvidersResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let after = page::decode(req.next_token.as_deref())?;
        let limit = i64::from(req.max_results.unwrap_or(60).clamp(1, 60));
        let mut rows = self.store.list_identity_providers(&pool_row.id, after.as_deref(), limit + 1).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| page::encode(&r.name))
        } else {
            None
        };
        let providers = rows
            .iter()
            .map(|r| {
                Ok(ProviderDescription {
                    provider_name: Some(r.name.clone()),
                    provider_type: Some(type_of(&r.provider_type)?),
                    creation_date: Some(Timestamp::from_unix_millis(r.created_at)),
                    last_modified_date: Some(Timestamp::from_unix_millis(r.updated_at)),
                })
            })
            .collect::<Result<_>>()?;
        Ok(ListIdentityProvidersResponse { providers, next_token: next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(pairs: &[(&str, &str)]) -> Details {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn social_types_get_cognitos_endpoints_and_need_their_keys() {
        let d = checked_details(
            &IdentityProviderTypeType::Google,
            details(&[("client_id", "c"), ("client_secret", "s"), ("authorize_scopes", "email profile openid")]),
        )
        .unwrap();
        assert_eq!(d["authorize_url"], "https://accounts.google.com/o/oauth2/v2/auth");
        assert_eq!(d["oidc_issuer"], "https://accounts.google.com");
        let d = checked_details(
            &IdentityProviderTypeType::Facebook,
            details(&[
                ("client_id", "c"),
                ("client_secret", "s"),
                ("authorize_scopes", "email"),
                ("api_version", "v18.0"),
            ]),
        )
        .unwrap();
        assert_eq!(d["token_url"], "https://graph.facebook.com/v18.0/oauth/access_token");
        let missing = checked_details(&IdentityProviderTypeType::SignInWithApple, details(&[("client_id", "c")]));
        assert!(matches!(missing, Err(Error::InvalidParameter(m)) if m.contains("team_id")));
    }

    #[test]
    fn oidc_details_are_checked() {
        let base = [("client_id", "c"), ("authorize_scopes", "openid"), ("attributes_request_method", "GET")];
        let with = |extra: &[(&str, &str)]| {
            let mut d = details(&base);
            d.extend(details(extra));
            checked_details(&IdentityProviderTypeType::Oidc, d)
        };
        assert!(with(&[("oidc_issuer", "https://idp.example.com")]).is_ok());
        assert!(with(&[("oidc_issuer", "https://idp.example.com/")]).is_err(), "trailing slash");
        assert!(with(&[("oidc_issuer", "http://idp.example.com")]).is_err(), "not https");
        assert!(
            with(&[("oidc_issuer", "https://i.example"), ("token_url", "https://i.example/t")]).is_err(),
            "partial"
        );
        assert!(with(&[("oidc_issuer", "https://i.example"), ("surprise", "x")]).is_err(), "unknown detail");
        let mut d = details(&base);
        d.insert("attributes_request_method".into(), "PUT".into());
        d.insert("oidc_issuer".into(), "https://i.example".into());
        assert!(checked_details(&IdentityProviderTypeType::Oidc, d).is_err());
        assert!(checked_details(&IdentityProviderTypeType::Saml, details(&[("MetadataURL", "https://x")])).is_err());
    }

    #[test]
    fn provider_details_never_reach_a_debug_print() {
        let req = CreateIdentityProviderRequest {
            user_pool_id: "us-east-1_x".into(),
            provider_name: "Google".into(),
            provider_type: IdentityProviderTypeType::Google,
            provider_details: details(&[("client_secret", "do-not-log-me")]),
            attribute_mapping: None,
            idp_identifiers: None,
            acr_mapping: None,
        };
        let t = IdentityProviderType { provider_details: Some(req.provider_details.clone()), ..Default::default() };
        assert!(!format!("{req:?} {t:?}").contains("do-not-log-me"));
    }

    #[test]
    fn names_follow_the_type() {
        assert!(check_name("Google", &IdentityProviderTypeType::Google).is_ok());
        assert!(check_name("MyGoogle", &IdentityProviderTypeType::Google).is_err());
        assert!(check_name("Okta", &IdentityProviderTypeType::Oidc).is_ok());
        assert!(check_name("Facebook", &IdentityProviderTypeType::Oidc).is_err());
        assert!(check_name("Cognito", &IdentityProviderTypeType::Oidc).is_err());
    }
}

#[cfg(test)]
mod stored {
    use super::*;

    #[tokio::test]
    async fn secrets_are_sealed_and_an_update_keeps_those_it_omits() {
        let (idp, clock) = crate::tests::idp().await;
        let (pool, _) = crate::tests::pool_and_client(&idp, false).await;
        let apple = [
            ("client_id", "svc"),
            ("team_id", "TEAM"),
            ("key_id", "KEY"),
            ("private_key", "apple-private-key"),
            ("authorize_scopes", "email name"),
        ];
        let details = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        idp.create_identity_provider(CreateIdentityProviderRequest {
            user_pool_id: pool.clone(),
            provider_name: "SignInWithApple".into(),
            provider_type: IdentityProviderTypeType::SignInWithApple,
            provider_details: details(&apple),
            attribute_mapping: None,
            idp_identifiers: None,
            acr_mapping: None,
        })
        .await
        .unwrap();
        let row = idp.store.get_identity_provider(&pool, "SignInWithApple").await.unwrap().unwrap();
        assert!(!row.config.contains("apple-private-key") && !row.secrets_sealed.contains("apple-private-key"));

        clock.advance(1_000);
        let without_key: Vec<_> = apple.iter().copied().filter(|(k, _)| *k != "private_key").collect();
        idp.update_identity_provider(UpdateIdentityProviderRequest {
            user_pool_id: pool.clone(),
            provider_name: "SignInWithApple".into(),
            provider_details: Some(details(&without_key)),
            ..Default::default()
        })
        .await
        .unwrap();
        let row = idp.store.get_identity_provider(&pool, "SignInWithApple").await.unwrap().unwrap();
        let kept = idp.provider_type(&row, true).unwrap().provider_details.unwrap();
        assert_eq!(kept["private_key"], "apple-private-key");
        assert!(!idp.provider_type(&row, false).unwrap().provider_details.unwrap().contains_key("private_key"));

        // An update made from a stale read loses, rather than overwriting.
        let stale = IdentityProviderRow { updated_at: row.updated_at + 1, ..row.clone() };
        assert!(!idp.store.update_identity_provider(&stale, row.updated_at - 1, None).await.unwrap());
    }
}
