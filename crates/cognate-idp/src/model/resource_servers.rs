//! Resource servers: the APIs a pool issues custom OAuth scopes for. A
//! scope `{identifier}/{name}` may be granted to a client only while its
//! resource server defines it.

use crate::base::page;
use crate::{Error, Idp, Result};
use cognate_store::{ResourceServerRow, StoreError};
use cognate_wire::idp::*;
use std::collections::BTreeSet;

/// Cognito's quota of resource servers per pool.
const MAX_RESOURCE_SERVERS: i64 = 25;

/// The scopes Cognito defines itself.
pub const STANDARD_SCOPES: &[&str] = &["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"];

fn not_found(identifier: &str) -> Error {
    Error::ResourceNotFound(format!("Resource server {identifier} does not exist."))
}

fn check_scopes(scopes: &[ResourceServerScopeType]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for s in scopes {
        if !seen.insert(s.scope_name.as_str()) {
            return Err(Error::InvalidParameter(format!("Duplicate scope name {}.", s.scope_name)));
        }
    }
    Ok(())
}

fn server_type(row: &ResourceServerRow) -> Result<ResourceServerType> {
    let mut t: ResourceServerType = serde_json::from_str(&row.config)?;
    t.user_pool_id = Some(row.pool_id.clone());
    t.identifier = Some(row.identifier.clone());
    Ok(t)
}

impl Idp {
    pub async fn create_resource_server(
        &self,
        req: CreateResourceServerRequest,
    ) -> Result<CreateResourceServerResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let scopes = req.scopes.unwrap_or_default();
        check_scopes(&scopes)?;
        let t = ResourceServerType {
            identifier: Some(req.identifier.clone()),
            name: Some(req.name),
            scopes: Some(scopes),
            user_pool_id: Some(pool_row.id.clone()),
            managed_by: None,
        };
        let row = ResourceServerRow {
            pool_id: pool_row.id.clone(),
            identifier: req.identifier.clone(),
            config: serde_json::to_string(&t)?,
            created_at: self.now(),
        };
        match self.store.insert_resource_server(&row, MAX_RESOURCE_SERVERS).await {
            Ok(true) => Ok(CreateResourceServerResponse { resource_server: t }),
            Ok(false) => Err(Error::LimitExceeded(format!(
                "The user pool has reached its limit of {MAX_RESOURCE_SERVERS} resource servers."
            ))),
            Err(StoreError::Conflict) => {
                Err(Error::InvalidParameter(format!("{} already exists in user pool {}.", req.identifier, pool_row.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn describe_resource_server(
        &self,
        req: DescribeResourceServerRequest,
    ) -> Result<DescribeResourceServerResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let row = self
            .store
            .get_resource_server(&pool_row.id, &req.identifier)
            .await?
            .ok_or_else(|| not_found(&req.identifier))?;
        Ok(DescribeResourceServerResponse { resource_server: server_type(&row)? })
    }

    /// Replaces the name and the scopes (omitted scopes: none).
    pub async fn update_resource_server(
        &self,
        req: UpdateResourceServerRequest,
    ) -> Result<UpdateResourceServerResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let mut row = self
            .store
            .get_resource_server(&pool_row.id, &req.identifier)
            .await?
            .ok_or_else(|| not_found(&req.identifier))?;
        let scopes = req.scopes.unwrap_or_default();
        check_scopes(&scopes)?;
        let mut t = server_type(&row)?;
        t.name = Some(req.name);
        t.scopes = Some(scopes);
        row.config = serde_json::to_string(&t)?;
        if !self.store.update_resource_server(&row).await? {
            return Err(not_found(&req.identifier));
        }
        Ok(UpdateResourceServerResponse { resource_server: t })
    }

    pub async fn delete_resource_server(&self, req: DeleteResourceServerRequest) -> Result<()> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_resource_server(&pool_row.id, &req.identifier).await? {
            return Err(not_found(&req.identifier));
        }
        Ok(())
    }

    pub async fn list_resource_servers(&self, req: ListResourceServersRequest) -> Result<ListResourceServersResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let after = page::decode(req.next_token.as_deref())?;
        let limit = i64::from(req.max_results.unwrap_or(50).clamp(1, 50));
        let mut rows = self.store.list_resource_servers(&pool_row.id, after.as_deref(), limit + 1).await?;
        let next = if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            rows.last().map(|r| page::encode(&r.identifier))
        } else {
            None
        };
        Ok(ListResourceServersResponse {
            resource_servers: rows.iter().map(server_type).collect::<Result<_>>()?,
            next_token: next,
        })
    }

    /// Every scope a client of the pool may be given: the standard ones and
    /// `{identifier}/{name}` of each resource server's scopes.
    pub async fn pool_scopes(&self, pool_id: &str) -> Result<BTreeSet<String>> {
        let mut out: BTreeSet<String> = STANDARD_SCOPES.iter().map(|s| s.to_string()).collect();
        let mut after: Option<String> = None;
        loop {
            let rows = self.store.list_resource_servers(pool_id, after.as_deref(), 100).await?;
            for row in &rows {
                for s in server_type(row)?.scopes.unwrap_or_default() {
                    out.insert(format!("{}/{}", row.identifier, s.scope_name));
                }
            }
            match rows.last() {
                Some(last) if rows.len() == 100 => after = Some(last.identifier.clone()),
                _ => return Ok(out),
            }
        }
    }
}
