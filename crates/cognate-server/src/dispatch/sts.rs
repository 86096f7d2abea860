//! STS over the query protocol. Only GetCallerIdentity so far: it proves the
//! query edge end to end and lets `aws sts get-caller-identity` check an admin
//! key against Cognate.

use super::{Ctx, Handler, HandlerFuture};
use crate::ApiError;
use serde_json::{Value, json};

pub fn handler(name: &str) -> Option<Handler> {
    match name {
        "GetCallerIdentity" => Some(get_caller_identity),
        _ => None,
    }
}

fn get_caller_identity(ctx: Ctx, _: Value) -> HandlerFuture {
    Box::pin(async move {
        let caller = ctx.caller.ok_or_else(ApiError::internal)?;
        let account = &ctx.app.config.account_id;
        Ok(json!({
            "UserId": caller.access_key_id,
            "Account": account,
            "Arn": format!("arn:aws:iam::{account}:user/cognate-admin/{}", caller.access_key_id),
        }))
    })
}
