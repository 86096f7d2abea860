//! Admin access keys: the credentials that SigV4-signed admin calls use.
//!
//! A key is an access key id and a secret access key, as IAM issues them. The
//! secret is stored sealed under the master key (bound to its key id) and is
//! opened only to check a signature.

use crate::{Action, Caller, Error, Fault, Idp, Principal, Result};
use cognate_store::{AdminKeyRow, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct AdminKey {
    pub access_key_id: String,
    pub description: String,
    pub created_at: i64,
}

/// A newly created key: the only time its secret is shown.
#[derive(Clone, PartialEq)]
pub struct NewAdminKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for NewAdminKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAdminKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

fn context(access_key_id: &str) -> String {
    format!("admin-key:{access_key_id}")
}

impl Idp {
    /// Whether a verified caller may do `action`: the one decision point for
    /// every signed operation of every service, asked by the edge after the
    /// signature checked and before the operation runs. An admin key may do
    /// everything; a role's temporary credentials (STS) will be judged here
    /// by the role's policies.
    pub fn authorize(&self, caller: &Caller, action: Action<'_>) -> Result<()> {
        match caller.principal {
            Principal::AdminKey => {
                tracing::debug!(access_key_id = %caller.access_key_id, %action, "admin key: allowed");
                Ok(())
            }
        }
    }

    pub async fn create_admin_key(&self, description: &str) -> Result<NewAdminKey> {
        let key = NewAdminKey {
            access_key_id: cognate_crypto::ids::access_key_id(),
            secret_access_key: cognate_crypto::ids::secret_access_key(),
        };
        self.insert_admin_key(&key, description).await?;
        Ok(key)
    }

    /// Makes sure the key given by the operator (environment) exists with
    /// exactly this secret, replacing an older secret under the same id.
    pub async fn ensure_admin_key(&self, access_key_id: &str, secret_access_key: &str) -> Result<()> {
        if access_key_id.is_empty() || secret_access_key.is_empty() {
            return Err(Error::InvalidParameter("An admin key needs an access key id and a secret.".into()));
        }
        match self.admin_secret(access_key_id).await {
            Ok(Some(current)) if cognate_crypto::ct_eq(current.as_bytes(), secret_access_key.as_bytes()) => {
                return Ok(());
            }
            Ok(_) => {}
            // Sealed under another master key: the operator's key replaces it.
            Err(Error::Internal(cause)) if cause.kind == Fault::Unseal => {
                tracing::warn!(access_key_id, "replacing an admin key that does not open under this master key")
            }
            Err(e) => return Err(e),
        }
        self.store.delete_admin_key(access_key_id).await?;
        let key = NewAdminKey { access_key_id: access_key_id.into(), secret_access_key: secret_access_key.into() };
        match self.insert_admin_key(&key, "from the environment").await {
            // Another node inserted it at the same moment, from the same environment.
            Ok(()) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn insert_admin_key(&self, key: &NewAdminKey, description: &str) -> cognate_store::Result<()> {
        let row = AdminKeyRow {
            access_key_id: key.access_key_id.clone(),
            secret_sealed: self.key.seal(&context(&key.access_key_id), key.secret_access_key.as_bytes()),
            description: description.to_string(),
            created_at: self.now(),
        };
        self.store.insert_admin_key(&row).await
    }

    pub async fn list_admin_keys(&self) -> Result<Vec<AdminKey>> {
        Ok(self
            .store
            .list_admin_keys()
            .await?
            .into_iter()
            .map(|r| AdminKey { access_key_id: r.access_key_id, description: r.description, created_at: r.created_at })
            .collect())
    }

    pub async fn delete_admin_key(&self, access_key_id: &str) -> Result<bool> {
        Ok(self.store.delete_admin_key(access_key_id).await?)
    }

    /// The secret of an admin key, to check a signature with; `None` for an
    /// unknown key.
    pub async fn admin_secret(&self, access_key_id: &str) -> Result<Option<String>> {
        let Some(row) = self.store.get_admin_key(access_key_id).await? else { return Ok(None) };
        let plain = self
            .key
            .open(&context(access_key_id), &row.secret_sealed)
            .map_err(|e| Error::internal(Fault::Unseal, format!("admin key {access_key_id}: {e}")))?;
        String::from_utf8(plain)
            .map(Some)
            .map_err(|_| Error::internal(Fault::Document, format!("admin key {access_key_id} is not text")))
    }
}
