//! Pool domains: where a pool's hosted endpoints (/oauth2/*, /login, ...)
//! answer, and finding the pool behind a request's Host.
//!
//! A prefix domain `shop` of a pool in us-east-1 is served at
//! `shop.auth.us-east-1.{base}`, where `base` is a setting (default
//! `localhost`: browsers resolve every `*.localhost` name to loopback and
//! treat it as a secure context, so no DNS is needed). A custom domain is
//! served at its own full name. A pool has at most one of each kind, and a
//! name belongs to one pool; the database settles both.

use crate::{Error, Idp, Result};
use cognate_store::{DomainRow, StoreError};
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a Host → domain answer (found or not) is trusted before the
/// database is asked again: a domain made or deleted on another node is
/// served within this time (Cognito itself takes about a minute).
const HOST_CACHE_MS: i64 = 30_000;
const HOST_CACHE_MAX: usize = 10_000;

/// What a domain stores beside its name and pool.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct DomainConfig {
    managed_login_version: i32,
    custom_domain_config: Option<CustomDomainConfigType>,
}

/// A pool's domain, as the hosted endpoints need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDomain {
    pub pool_id: String,
    /// The prefix, or a custom domain's full name.
    pub domain: String,
    pub custom: bool,
    pub managed_login_version: i32,
}

/// Where hosted endpoints are reached: the scheme and port of Cognate's
/// public URL, and the name prefix domains live under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSite {
    pub scheme: String,
    /// `*.auth.{region}.{base}`.
    pub base: String,
    /// The port in URLs, when not the scheme's default.
    pub port: Option<u16>,
}

impl Default for LoginSite {
    fn default() -> Self {
        LoginSite { scheme: "http".into(), base: "localhost".into(), port: None }
    }
}

impl LoginSite {
    /// The site of a public URL (`http://localhost:9229` → http, port 9229)
    /// with prefix domains under `base`.
    pub fn of_public_url(url: &str, base: &str) -> LoginSite {
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let authority = rest.split('/').next().unwrap_or_default();
        let port = authority.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok());
        let default_port = if scheme == "https" { 443 } else { 80 };
        LoginSite {
            scheme: scheme.to_string(),
            base: base.trim_matches('.').to_ascii_lowercase(),
            port: port.filter(|p| *p != default_port),
        }
    }
}

/// A host's domain (or none) and when it was looked up (ms).
type HostAnswer = (Option<PoolDomain>, i64);

/// Found hosts (and misses), with when they were looked up.
#[derive(Debug, Clone, Default)]
pub struct HostCache(Arc<Mutex<HashMap<String, HostAnswer>>>);

/// Cognito's words for a prefix it will not give out.
const RESERVED_WORDS: &[&str] = &["aws", "amazon", "cognito"];

fn domain_gone() -> Error {
    Error::InvalidParameter("No such domain or user pool exists.".into())
}

/// A custom domain's name: a lower-case DNS name of at least two labels.
fn check_custom_name(name: &str) -> Result<()> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    if name.len() > 253 || name.split('.').count() < 2 || !name.split('.').all(label_ok) {
        return Err(Error::InvalidParameter(format!("{name} is not a valid custom domain name.")));
    }
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.contains('.') {
        return Err(Error::InvalidParameter(
            "A domain with dots is a custom domain: give CustomDomainConfig with its certificate.".into(),
        ));
    }
    // DomainType's pattern, which the edge leaves to this check because the
    // same member also carries custom domains' full names.
    let bytes = prefix.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(bytes.first())
        || !edge_ok(bytes.last())
        || !bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return Err(Error::InvalidParameter(format!(
            "1 validation error detected: Value '{prefix}' at 'domain' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9](?:[a-z0-9\\-]{{0,61}}[a-z0-9])?$"
        )));
    }
    if let Some(word) = RESERVED_WORDS.iter().find(|w| prefix.contains(*w)) {
        return Err(Error::InvalidParameter(format!("The domain prefix cannot contain the reserved word {word}.")));
    }
    Ok(())
}

fn login_version(v: Option<i32>) -> Result<i32> {
    match v.unwrap_or(1) {
        v @ (1 | 2) => Ok(v),
        v => Err(Error::InvalidParameter(format!("ManagedLoginVersion {v} is not 1 or 2."))),
    }
}

fn pool_domain(row: &DomainRow) -> Result<PoolDomain> {
    let config: DomainConfig = serde_json::from_str(&row.config)?;
    Ok(PoolDomain {
        pool_id: row.pool_id.clone(),
        domain: row.domain.clone(),
        custom: row.custom != 0,
        managed_login_version: config.managed_login_version,
    })
}

impl Idp {
    /// Whether the hosted endpoints are reached over HTTPS (their cookies
    /// are then `Secure`).
    pub fn login_is_https(&self) -> bool {
        self.login_site.scheme == "https"
    }

    /// The host a domain is served at (no scheme, no port).
    pub fn domain_host(&self, d: &PoolDomain) -> String {
        if d.custom {
            return d.domain.clone();
        }
        let region = d.pool_id.split_once('_').map_or("", |(r, _)| r);
        format!("{}.auth.{region}.{}", d.domain, self.login_site.base)
    }

    /// `scheme://host[:port]` of a domain's endpoints.
    pub fn domain_url(&self, d: &PoolDomain) -> String {
        let site = &self.login_site;
        match site.port {
            Some(p) => format!("{}://{}:{p}", site.scheme, self.domain_host(d)),
            None => format!("{}://{}", site.scheme, self.domain_host(d)),
        }
    }

    /// Where a custom domain's DNS name should point: Cognate's own host.
    fn cname_target(&self) -> String {
        let url = match &self.issuer {
            crate::Issuer::PublicUrl(u) | crate::Issuer::Cognito(u) => u,
        };
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        authority.rsplit_once(':').map_or(authority, |(h, _)| h).to_string()
    }

    /// The domain a request's Host names (without its port), if any: a
    /// prefix domain under the site's base in its pool's region, or a custom
    /// domain by its full name. Answers are cached for a short while.
    pub async fn domain_of_host(&self, host: &str) -> Result<Option<PoolDomain>> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let now = self.now();
        if let Ok(m) = self.hosts.0.lock()
            && let Some((found, at)) = m.get(&host)
            && now - at < HOST_CACHE_MS
        {
            return Ok(found.clone());
        }
        let found = self.lookup_host(&host).await?;
        if let Ok(mut m) = self.hosts.0.lock() {
            if m.len() >= HOST_CACHE_MAX {
                m.clear();
            }
            m.insert(host, (found.clone(), now));
        }
        Ok(found)
    }

    async fn lookup_host(&self, host: &str) -> Result<Option<PoolDomain>> {
        let suffix = format!(".{}", self.login_site.base);
        if let Some(front) = host.strip_suffix(&suffix)
            && let Some((prefix, region)) = front.split_once(".auth.")
            && !prefix.contains('.')
        {
            let Some(row) = self.store.get_domain(prefix).await? else { return Ok(None) };
            let d = pool_domain(&row)?;
            let in_region = d.pool_id.split_once('_').is_some_and(|(r, _)| r == region);
            return Ok((!d.custom && in_region).then_some(d));
        }
        if !host.contains('.') {
            return Ok(None);
        }
        let Some(row) = self.store.get_domain(host).await? else { return Ok(None) };
        let d = pool_domain(&row)?;
        Ok(d.custom.then_some(d))
    }

    fn forget_hosts(&self) {
        if let Ok(mut m) = self.hosts.0.lock() {
            m.clear();
        }
    }

    /// A pool's domains, prefix first.
    pub async fn pool_domains(&self, pool_id: &str) -> Result<Vec<PoolDomain>> {
        self.store.pool_domains(pool_id).await?.iter().map(pool_domain).collect()
    }

    pub async fn create_user_pool_domain(
        &self,
        req: CreateUserPoolDomainRequest,
    ) -> Result<CreateUserPoolDomainResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let custom = req.custom_domain_config.is_some();
        if custom {
            check_custom_name(&req.domain)?;
            // Requests to that name would all go to the hosted pages: the
            // API's own host, or a name shaped like a prefix domain, cannot
            // be a custom domain.
            let base = format!(".{}", self.login_site.base);
            if req.domain == self.cname_target() || req.domain.ends_with(&base) {
                return Err(Error::InvalidParameter(format!(
                    "{} is Cognate's own host or under its prefix domains, and cannot be a custom domain.",
                    req.domain
                )));
            }
        } else {
            check_prefix(&req.domain)?;
        }
        let version = login_version(req.managed_login_version)?;
        let now = self.now();
        let config = DomainConfig { managed_login_version: version, custom_domain_config: req.custom_domain_config };
        let row = DomainRow {
            domain: req.domain.clone(),
            pool_id: pool_row.id.clone(),
            custom: i64::from(custom),
            config: serde_json::to_string(&config)?,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_domain(&row).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                let taken = self.store.get_domain(&req.domain).await?.is_some();
                return Err(Error::InvalidParameter(if taken {
                    "Domain already associated with another user pool.".into()
                } else {
                    "User pool already has a domain configured.".into()
                }));
            }
            Err(e) => return Err(e.into()),
        }
        self.forget_hosts();
        Ok(CreateUserPoolDomainResponse {
            cloud_front_domain: custom.then(|| self.cname_target()),
            managed_login_version: Some(version),
            routing: None,
        })
    }

    /// An unknown domain is described as `{}`, as Cognito answers (its
    /// console checks a name's availability this way).
    pub async fn describe_user_pool_domain(
        &self,
        req: DescribeUserPoolDomainRequest,
    ) -> Result<DescribeUserPoolDomainResponse> {
        let Some(row) = self.store.get_domain(&req.domain).await? else {
            return Ok(DescribeUserPoolDomainResponse { domain_description: Some(DomainDescriptionType::default()) });
        };
        let config: DomainConfig = serde_json::from_str(&row.config)?;
        let custom = row.custom != 0;
        Ok(DescribeUserPoolDomainResponse {
            domain_description: Some(DomainDescriptionType {
                aws_account_id: Some(self.account_id.clone()),
                cloud_front_distribution: custom.then(|| self.cname_target()),
                custom_domain_config: config.custom_domain_config,
                domain: Some(row.domain.clone()),
                managed_login_version: Some(config.managed_login_version),
                routing: None,
                s3_bucket: None,
                status: Some(DomainStatusType::Active),
                user_pool_id: Some(row.pool_id.clone()),
                version: None,
            }),
        })
    }

    /// Changes the managed login version or a custom domain's certificate;
    /// the name cannot change.
    pub async fn update_user_pool_domain(
        &self,
        req: UpdateUserPoolDomainRequest,
    ) -> Result<UpdateUserPoolDomainResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let mut row =
            self.store.get_domain(&req.domain).await?.filter(|d| d.pool_id == pool_row.id).ok_or_else(domain_gone)?;
        let mut config: DomainConfig = serde_json::from_str(&row.config)?;
        let custom = row.custom != 0;
        if req.managed_login_version.is_some() {
            config.managed_login_version = login_version(req.managed_login_version)?;
        }
        if let Some(c) = req.custom_domain_config {
            if !custom {
                return Err(Error::InvalidParameter("A prefix domain has no certificate to change.".into()));
            }
            config.custom_domain_config = Some(c);
        }
        row.config = serde_json::to_string(&config)?;
        row.updated_at = self.now();
        if !self.store.update_domain(&row).await? {
            return Err(domain_gone());
        }
        self.forget_hosts();
        Ok(UpdateUserPoolDomainResponse {
            cloud_front_domain: custom.then(|| self.cname_target()),
            managed_login_version: Some(config.managed_login_version),
            routing: None,
        })
    }

    pub async fn delete_user_pool_domain(
        &self,
        req: DeleteUserPoolDomainRequest,
    ) -> Result<DeleteUserPoolDomainResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_domain(&pool_row.id, &req.domain).await? {
            return Err(domain_gone());
        }
        self.forget_hosts();
        Ok(DeleteUserPoolDomainResponse {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_and_names() {
        let s = LoginSite::of_public_url("http://localhost:9229", "localhost");
        assert_eq!((s.scheme.as_str(), s.base.as_str(), s.port), ("http", "localhost", Some(9229)));
        let s = LoginSite::of_public_url("https://id.example.com", "Auth.Example.com.");
        assert_eq!((s.scheme.as_str(), s.base.as_str(), s.port), ("https", "auth.example.com", None));
        assert!(check_custom_name("auth.example.com").is_ok());
        for bad in ["example", "-a.example.com", "a..example.com", "Auth.example.com", "a_b.example.com"] {
            assert!(check_custom_name(bad).is_err(), "{bad}");
        }
        assert!(check_prefix("my-shop").is_ok());
        assert!(check_prefix("my-cognito-shop").is_err());
        assert!(check_prefix("shop.example").is_err());
        for bad in ["Upper", "-dash", "dash-", "a_b"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        assert!(check_prefix("a").is_ok());
        assert!(login_version(None).is_ok_and(|v| v == 1));
        assert!(login_version(Some(3)).is_err());
    }
}
