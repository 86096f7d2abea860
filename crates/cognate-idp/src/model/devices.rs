//! Remembered devices as the model knows them: a user's device by key.

use crate::model::users::User;
use crate::{Idp, Result};
use cognate_store::DeviceRow;

impl Idp {
    /// A confirmed device of `user` named by `key`, if there is one.
    pub(crate) async fn known_device(&self, user: &User, key: Option<&str>) -> Result<Option<DeviceRow>> {
        let Some(key) = key.filter(|k| !k.is_empty()) else { return Ok(None) };
        Ok(self.store.get_device(user.key(), key).await?.filter(|d| d.confirmed != 0))
    }
}
