//! The request context: a public call's client and pool, resolved once,
//! with the call's ClientMetadata; and reading the string parameters of
//! AuthParameters / ChallengeResponses.

use crate::{Error, Result};
use cognate_store::{ClientRow, PoolRow};
use cognate_wire::idp::*;
use std::collections::BTreeMap;

/// A public call's client and pool, resolved from the client id.
#[derive(Debug, Clone)]
pub(crate) struct ClientCtx {
    pub pool_row: PoolRow,
    pub pool: UserPoolType,
    pub row: ClientRow,
    pub client: UserPoolClientType,
    /// The call's ClientMetadata, for the triggers it runs.
    pub metadata: BTreeMap<String, String>,
}

impl ClientCtx {
    /// The context with the call's ClientMetadata (absent: none).
    pub fn with_metadata(mut self, metadata: &Option<BTreeMap<String, String>>) -> ClientCtx {
        self.metadata = metadata.clone().unwrap_or_default();
        self
    }

    pub fn prevents_existence_errors(&self) -> bool {
        self.client.prevent_user_existence_errors == Some(PreventUserExistenceErrorTypes::Enabled)
    }
}

pub(crate) fn param<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| Error::InvalidParameter(format!("Missing required parameter {name}")))
}
