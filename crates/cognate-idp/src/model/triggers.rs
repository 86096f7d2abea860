//! Lambda triggers: where each flow calls out, with Cognito's event shapes.
//!
//! A pool names functions in its LambdaConfig. When a flow reaches a trigger
//! point and the pool configures that trigger, the event is built as Cognito
//! builds it (`version`, `triggerSource`, `region`, `userPoolId`, `userName`,
//! `callerContext`, `request`, `response`) and handed to the [`Invoker`]; the
//! flow then applies the function's `response`. A pool without the trigger
//! skips it. Running functions (Lambda Runtime API, Invoke API, webhooks) is
//! the invoker's job; the default [`NoInvoker`] refuses with a clear
//! UnexpectedLambdaException rather than pretending a configured function ran.

use crate::base::context::ClientCtx;
use crate::{Error, Idp, Result};
use cognate_wire::idp::LambdaConfigType;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::pin::Pin;

/// Runs a function: takes the event, returns the event as the function
/// returned it (with its `response` filled in).
pub trait Invoker: Send + Sync + std::fmt::Debug {
    fn invoke<'a>(
        &'a self,
        function_arn: &'a str,
        event: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>>;
}

/// The invoker of a Cognate that cannot run functions yet.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoInvoker;

impl Invoker for NoInvoker {
    fn invoke<'a>(
        &'a self,
        function_arn: &'a str,
        _: Value,
    ) -> Pin<Box<dyn Future<Output = Result<Value>> + Send + 'a>> {
        Box::pin(async move {
            Err(Error::UnexpectedLambda(format!(
                "Cognate cannot invoke Lambda triggers yet ({function_arn}); remove it from the pool's LambdaConfig."
            )))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    PreSignUp,
    PostConfirmation,
    PreAuthentication,
    PostAuthentication,
    PreTokenGeneration,
    CustomMessage,
    UserMigration,
    DefineAuthChallenge,
    CreateAuthChallenge,
    VerifyAuthChallengeResponse,
    CustomEmailSender,
    CustomSmsSender,
}

impl Trigger {
    fn arn(self, l: &LambdaConfigType) -> Option<String> {
        match self {
            Trigger::PreSignUp => l.pre_sign_up.clone(),
            Trigger::PostConfirmation => l.post_confirmation.clone(),
            Trigger::PreAuthentication => l.pre_authentication.clone(),
            Trigger::PostAuthentication => l.post_authentication.clone(),
            Trigger::PreTokenGeneration => l
                .pre_token_generation_config
                .as_ref()
                .map(|c| c.lambda_arn.clone())
                .or_else(|| l.pre_token_generation.clone()),
            Trigger::CustomMessage => l.custom_message.clone(),
            Trigger::UserMigration => l.user_migration.clone(),
            Trigger::DefineAuthChallenge => l.define_auth_challenge.clone(),
            Trigger::CreateAuthChallenge => l.create_auth_challenge.clone(),
            Trigger::VerifyAuthChallengeResponse => l.verify_auth_challenge_response.clone(),
            Trigger::CustomEmailSender => l.custom_email_sender.as_ref().map(|s| s.lambda_arn.clone()),
            Trigger::CustomSmsSender => l.custom_sms_sender.as_ref().map(|s| s.lambda_arn.clone()),
        }
    }

    /// The event `version` Cognito sends.
    fn version(self, l: &LambdaConfigType) -> &'static str {
        match (self, l.pre_token_generation_config.as_ref().map(|c| c.lambda_version)) {
            (Trigger::PreTokenGeneration, Some(cognate_wire::idp::PreTokenGenerationLambdaVersionType::V20)) => "2",
            (Trigger::PreTokenGeneration, Some(cognate_wire::idp::PreTokenGenerationLambdaVersionType::V30)) => "3",
            _ => "1",
        }
    }
}

/// The user attributes as a trigger sees them: a flat string map.
pub(crate) fn attributes_json(attrs: &std::collections::BTreeMap<String, String>) -> Value {
    Value::Object(crate::model::attributes::visible(attrs).into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

impl Idp {
    /// Runs `trigger` when the pool configures it and returns the function's
    /// `response`; `None` when the pool has no such trigger.
    pub(crate) async fn run_trigger(
        &self,
        c: &ClientCtx,
        trigger: Trigger,
        source: &str,
        username: &str,
        request: Value,
    ) -> Result<Option<Map<String, Value>>> {
        let (pool_row, lambda) = (&c.pool_row, c.pool.lambda_config.clone().unwrap_or_default());
        let Some(arn) = trigger.arn(&lambda) else { return Ok(None) };
        // The call's ClientMetadata, where the flow did not pass its own.
        let mut request = request;
        if let Some(m) = request.as_object_mut()
            && m.get("clientMetadata").is_some_and(|v| v.as_object().is_some_and(Map::is_empty))
            && !c.metadata.is_empty()
        {
            m.insert("clientMetadata".into(), json!(c.metadata));
        }
        let event = json!({
            "version": trigger.version(&lambda),
            "triggerSource": source,
            "region": pool_row.region,
            "userPoolId": pool_row.id,
            "userName": username,
            "callerContext": {
                "awsSdkVersion": "aws-sdk-unknown-unknown",
                "clientId": if c.row.id.is_empty() { "CLIENT_ID_NOT_APPLICABLE" } else { c.row.id.as_str() },
            },
            "request": request,
            "response": {},
        });
        let started = std::time::Instant::now();
        let out = self.invoker.invoke(&arn, event).await;
        tracing::info!(
            trigger = source,
            elapsed_us = started.elapsed().as_micros() as u64,
            ok = out.is_ok(),
            "trigger"
        );
        let out = out?;
        match out.get("response") {
            Some(Value::Object(m)) => Ok(Some(m.clone())),
            Some(Value::Null) | None => Ok(Some(Map::new())),
            Some(_) => Err(Error::InvalidLambdaResponse("Invalid lambda response: response must be an object.".into())),
        }
    }
}

/// A boolean member of a trigger response (absent is false).
pub(crate) fn flag(r: &Map<String, Value>, name: &str) -> bool {
    r.get(name).and_then(Value::as_bool).unwrap_or(false)
}
