//! Managed-login branding (CreateManagedLoginBranding and its kin): one
//! style per app client, with a settings document and image assets.
//!
//! The settings document's schema is Cognito's and undocumented; Cognate
//! keeps it as given (an update merges it into the stored one, as Cognito
//! "preserves existing style settings that you don't specify") and returns
//! it, with `ReturnMergedResources` too (Cognate has no defaults to merge
//! in). Assets are kept per (category, colour mode); an update replaces the
//! ones it names.

use crate::{Error, Idp, Result};
use cognate_store::{BrandingRow, StoreError};
use cognate_wire::Timestamp;
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Cognito's quota of branding styles per pool.
const MAX_STYLES: i64 = 20;
/// Most assets a style holds.
const MAX_ASSETS: usize = 40;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Doc {
    use_cognito_provided_values: bool,
    settings: Option<Value>,
    assets: Vec<AssetType>,
}

fn not_found(id: &str) -> Error {
    Error::ResourceNotFound(format!("Managed login branding {id} does not exist."))
}

/// `incoming`'s members over `base`'s, recursively for objects.
fn merge(base: &mut Value, incoming: Value) {
    match (base, incoming) {
        (Value::Object(b), Value::Object(i)) => {
            for (k, v) in i {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, i) => *b = i,
    }
}

fn check(use_defaults: Option<bool>, settings: &Option<Value>, assets: &Option<Vec<AssetType>>) -> Result<()> {
    if use_defaults == Some(true) && (settings.is_some() || assets.as_ref().is_some_and(|a| !a.is_empty())) {
        return Err(Error::InvalidParameter(
            "UseCognitoProvidedValues cannot be combined with Settings or Assets.".into(),
        ));
    }
    if settings.as_ref().is_some_and(|s| !s.is_object()) {
        return Err(Error::InvalidParameter("Settings must be a JSON object.".into()));
    }
    if assets.as_ref().is_some_and(|a| a.len() > MAX_ASSETS) {
        return Err(Error::InvalidParameter(format!("A style holds at most {MAX_ASSETS} assets.")));
    }
    Ok(())
}

fn branding_type(row: &BrandingRow, doc: Doc) -> ManagedLoginBrandingType {
    ManagedLoginBrandingType {
        managed_login_branding_id: Some(row.id.clone()),
        user_pool_id: Some(row.pool_id.clone()),
        use_cognito_provided_values: Some(doc.use_cognito_provided_values),
        settings: doc.settings,
        assets: Some(doc.assets),
        creation_date: Some(Timestamp::from_unix_millis(row.created_at)),
        last_modified_date: Some(Timestamp::from_unix_millis(row.updated_at)),
    }
}

impl Idp {
    pub async fn create_managed_login_branding(
        &self,
        req: CreateManagedLoginBrandingRequest,
    ) -> Result<CreateManagedLoginBrandingResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if self.store.get_client(&pool_row.id, &req.client_id).await?.is_none() {
            return Err(Error::ResourceNotFound(format!("User pool client {} does not exist.", req.client_id)));
        }
        check(req.use_cognito_provided_values, &req.settings, &req.assets)?;
        let doc = Doc {
            use_cognito_provided_values: req.use_cognito_provided_values == Some(true)
                || (req.settings.is_none() && req.assets.is_none()),
            settings: req.settings,
            assets: req.assets.unwrap_or_default(),
        };
        let now = self.now();
        let row = BrandingRow {
            id: cognate_crypto::ids::uuid_v4(),
            pool_id: pool_row.id.clone(),
            client_id: req.client_id.clone(),
            doc: serde_json::to_string(&doc)?,
            created_at: now,
            updated_at: now,
        };
        match self.store.insert_branding(&row, MAX_STYLES).await {
            Ok(true) => {
                Ok(CreateManagedLoginBrandingResponse { managed_login_branding: Some(branding_type(&row, doc)) })
            }
            Ok(false) => Err(Error::LimitExceeded(format!("A user pool has at most {MAX_STYLES} branding styles."))),
            Err(StoreError::Conflict) => Err(Error::ManagedLoginBrandingExists(format!(
                "A managed login branding style already exists for app client {}.",
                req.client_id
            ))),
            Err(e) => Err(e.into()),
        }
    }

    async fn branding(&self, pool_id: &str, id: &str) -> Result<(BrandingRow, Doc)> {
        let row = self.store.get_branding(pool_id, id).await?.ok_or_else(|| not_found(id))?;
        let doc = serde_json::from_str(&row.doc)?;
        Ok((row, doc))
    }

    pub async fn describe_managed_login_branding(
        &self,
        req: DescribeManagedLoginBrandingRequest,
    ) -> Result<DescribeManagedLoginBrandingResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let (row, doc) = self.branding(&pool_row.id, &req.managed_login_branding_id).await?;
        Ok(DescribeManagedLoginBrandingResponse { managed_login_branding: Some(branding_type(&row, doc)) })
    }

    pub async fn describe_managed_login_branding_by_client(
        &self,
        req: DescribeManagedLoginBrandingByClientRequest,
    ) -> Result<DescribeManagedLoginBrandingByClientResponse> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        let row = self.store.branding_of_client(&pool_row.id, &req.client_id).await?.ok_or_else(|| {
            Error::ResourceNotFound(format!("No managed login branding for app client {}.", req.client_id))
        })?;
        let doc = serde_json::from_str(&row.doc)?;
        Ok(DescribeManagedLoginBrandingByClientResponse { managed_login_branding: Some(branding_type(&row, doc)) })
    }

    /// Merges what is given into the style; `UseCognitoProvidedValues`
    /// returns it to Cognito's defaults.
    pub async fn update_managed_login_branding(
        &self,
        req: UpdateManagedLoginBrandingRequest,
    ) -> Result<UpdateManagedLoginBrandingResponse> {
        let (Some(pool_id), Some(id)) = (req.user_pool_id.as_deref(), req.managed_login_branding_id.as_deref()) else {
            return Err(Error::InvalidParameter("UserPoolId and ManagedLoginBrandingId are required.".into()));
        };
        let (pool_row, _) = self.load_pool(pool_id).await?;
        check(req.use_cognito_provided_values, &req.settings, &req.assets)?;
        let (mut row, mut doc) = self.branding(&pool_row.id, id).await?;
        if req.use_cognito_provided_values == Some(true) {
            doc = Doc { use_cognito_provided_values: true, ..Doc::default() };
        } else {
            if let Some(s) = req.settings {
                match &mut doc.settings {
                    Some(base) => merge(base, s),
                    None => doc.settings = Some(s),
                }
                doc.use_cognito_provided_values = false;
            }
            for a in req.assets.unwrap_or_default() {
                doc.assets.retain(|x| !(x.category == a.category && x.color_mode == a.color_mode));
                doc.assets.push(a);
                doc.use_cognito_provided_values = false;
            }
            if doc.assets.len() > MAX_ASSETS {
                return Err(Error::InvalidParameter(format!("A style holds at most {MAX_ASSETS} assets.")));
            }
        }
        row.doc = serde_json::to_string(&doc)?;
        row.updated_at = self.now();
        if !self.store.update_branding(&row).await? {
            return Err(not_found(id));
        }
        Ok(UpdateManagedLoginBrandingResponse { managed_login_branding: Some(branding_type(&row, doc)) })
    }

    pub async fn delete_managed_login_branding(&self, req: DeleteManagedLoginBrandingRequest) -> Result<()> {
        let (pool_row, _) = self.load_pool(&req.user_pool_id).await?;
        if !self.store.delete_branding(&pool_row.id, &req.managed_login_branding_id).await? {
            return Err(not_found(&req.managed_login_branding_id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_merge_keeps_what_an_update_does_not_name() {
        let mut base = json!({"components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "0972d3ff"}}}, "form": {"borderRadius": 8}}});
        merge(
            &mut base,
            json!({"components": {"primaryButton": {"lightMode": {"defaults": {"backgroundColor": "b41e3cff"}}}}}),
        );
        assert_eq!(base["components"]["primaryButton"]["lightMode"]["defaults"]["backgroundColor"], "b41e3cff");
        assert_eq!(base["components"]["form"]["borderRadius"], 8);
    }
}
