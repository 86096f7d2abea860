//! CUSTOM_AUTH: the DefineAuthChallenge / CreateAuthChallenge /
//! VerifyAuthChallengeResponse loop, as Cognito runs it.
//!
//! DefineAuthChallenge sees the session so far (each challenge's name,
//! result and metadata) and decides: issue tokens, fail, or ask another
//! challenge. For CUSTOM_CHALLENGE, CreateAuthChallenge makes the public
//! parameters (sent to the client) and the private ones (kept, sealed in
//! the Session, for VerifyAuthChallengeResponse). The client's ANSWER is
//! checked by VerifyAuthChallengeResponse, its result appended, and the loop
//! goes on. A sign-in may run at most [`MAX_CHALLENGES`] challenges.
//!
//! SRP inside CUSTOM_AUTH: a client that sends SRP_A with InitiateAuth starts
//! with an `SRP_A` step in the session; when DefineAuthChallenge then asks for
//! PASSWORD_VERIFIER, Cognate sends SRP's challenge (SALT, SRP_B,
//! SECRET_BLOCK), checks the client's proof as USER_SRP_AUTH does, and appends
//! a `PASSWORD_VERIFIER` step with its result.

use crate::base::context::{ClientCtx, param};
use crate::base::sealed::{self, Opened, invalid_session};
use crate::flows::signin::outcome::Challenge;
use crate::flows::signin::verifier::{SrpHalf, password_verifier};
use crate::model::triggers::{Trigger, attributes_json, flag};
use crate::model::users::{User, srp_material};
use crate::{Error, Idp, Result};
use cognate_crypto::srp;
use cognate_store::UserKey;
use cognate_wire::idp::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Challenges one sign-in may answer before it is refused.
pub const MAX_CHALLENGES: usize = 10;

/// One answered challenge, as DefineAuthChallenge's `session` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Step {
    #[serde(rename = "challengeName")]
    name: String,
    #[serde(rename = "challengeResult")]
    result: bool,
    #[serde(rename = "challengeMetadata", default, skip_serializing_if = "Option::is_none")]
    metadata: Option<String>,
}

/// What the Session carries (sealed for the user): the history, and the
/// current challenge's private parameters and metadata.
#[derive(Serialize, Deserialize)]
struct CustomState {
    steps: Vec<Step>,
    private: Value,
    metadata: Option<String>,
    /// SRP's state while a PASSWORD_VERIFIER challenge is out.
    #[serde(default)]
    srp: Option<SrpHalf>,
}

fn incorrect() -> Error {
    Error::NotAuthorized("Incorrect username or password.".into())
}

/// What CUSTOM_AUTH decided: tokens for the user, or a challenge to send.
pub(crate) enum Next {
    Tokens(Box<User>),
    Challenge(Challenge),
}

impl Idp {
    /// InitiateAuth with CUSTOM_AUTH.
    pub(crate) async fn start_custom_auth(
        &self,
        c: &ClientCtx,
        params: &BTreeMap<String, String>,
        client_metadata: &BTreeMap<String, String>,
    ) -> Result<Next> {
        let lambda = c.pool.lambda_config.clone().unwrap_or_default();
        if lambda.define_auth_challenge.is_none() || lambda.create_auth_challenge.is_none() {
            return Err(Error::InvalidParameter(
                "Custom auth lambda trigger is not configured for the user pool.".into(),
            ));
        }
        let username = param(params, "USERNAME")?;
        let a = params.get("SRP_A").cloned();
        if let Some(a) = &a {
            srp::decode_hex_int(a).map_err(|_| Error::InvalidParameter("Invalid SRP_A value.".into()))?;
        }
        let user = match self.find_user(&c.pool_row, &c.pool, username).await? {
            Some(u) => u,
            None if c.prevents_existence_errors() => return Err(incorrect()),
            None => return Err(Error::UserNotFound("User does not exist.".into())),
        };
        self.check_lock(&user)?;
        // A client that sent SRP_A has answered that step already.
        let steps = match &a {
            Some(_) => vec![Step { name: "SRP_A".into(), result: true, metadata: None }],
            None => Vec::new(),
        };
        self.define(c, user, steps, a, client_metadata).await
    }

    /// A CUSTOM_AUTH Session of this pool and client, unexpired: its user
    /// (key) and state.
    fn open_custom(&self, c: &ClientCtx, session: Option<&str>) -> Result<(String, CustomState)> {
        let opened: Opened<CustomState> = sealed::open(&self.key, sealed::Step::Custom, c, session, self.now())?;
        Ok((opened.user, opened.state))
    }

    fn seal_custom(&self, c: &ClientCtx, user: &User, state: CustomState) -> Result<String> {
        sealed::seal(&self.key, sealed::Step::Custom, c, &user.username_key, self.now(), state)
    }

    /// RespondToAuthChallenge with PASSWORD_VERIFIER inside CUSTOM_AUTH:
    /// `None` when the Session is not a CUSTOM_AUTH one (then it is
    /// USER_SRP_AUTH's).
    pub(crate) async fn answer_custom_password_verifier(
        &self,
        c: &ClientCtx,
        r: &BTreeMap<String, String>,
        session: Option<&str>,
        client_metadata: &BTreeMap<String, String>,
    ) -> Result<Option<Next>> {
        // A Session that is not CUSTOM_AUTH's is USER_SRP_AUTH's.
        if !sealed::is_step(&self.key, sealed::Step::Custom, session) {
            return Ok(None);
        }
        let (user_key, mut state) = self.open_custom(c, session)?;
        let Some(half) = state.srp.take() else { return Err(invalid_session()) };
        let claim =
            (param(r, "PASSWORD_CLAIM_SECRET_BLOCK")?, param(r, "TIMESTAMP")?, param(r, "PASSWORD_CLAIM_SIGNATURE")?);
        if srp::parse_timestamp(claim.1).is_none() {
            return Err(Error::InvalidParameter("TIMESTAMP is not in the expected format.".into()));
        }
        let mut user =
            User::read_opt(self.store.get_user(UserKey { pool_id: &c.pool_row.id, username_key: &user_key }).await?)?
                .ok_or_else(invalid_session)?;
        self.check_lock(&user)?;
        let (_, v) = srp_material(&user)?;
        let proven = half.proves(v, srp::pool_name(&c.pool_row.id), &user.username, claim).await?;
        if !proven {
            user.failed_attempts = self.record_failure(&user).await?;
        }
        let mut steps = state.steps;
        steps.push(Step { name: "PASSWORD_VERIFIER".into(), result: proven, metadata: None });
        self.define(c, user, steps, None, client_metadata).await.map(Some)
    }

    /// RespondToAuthChallenge with CUSTOM_CHALLENGE.
    pub(crate) async fn answer_custom(
        &self,
        c: &ClientCtx,
        r: &BTreeMap<String, String>,
        session: Option<&str>,
        client_metadata: &BTreeMap<String, String>,
    ) -> Result<Next> {
        let (user_key, state) = self.open_custom(c, session)?;
        if state.srp.is_some() {
            // The challenge out is PASSWORD_VERIFIER, not this one.
            return Err(invalid_session());
        }
        let answer =
            r.get("ANSWER").ok_or_else(|| Error::InvalidParameter("Missing required parameter ANSWER".into()))?;
        let mut user =
            User::read_opt(self.store.get_user(UserKey { pool_id: &c.pool_row.id, username_key: &user_key }).await?)?
                .ok_or_else(invalid_session)?;
        let attrs = &user.attrs;
        let request = json!({
            "userAttributes": attributes_json(attrs),
            "privateChallengeParameters": state.private,
            "challengeAnswer": answer,
            "clientMetadata": client_metadata,
            "userNotFound": false,
        });
        let verdict = self
            .run_trigger(
                c,
                Trigger::VerifyAuthChallengeResponse,
                "VerifyAuthChallengeResponse_Authentication",
                &user.username,
                request,
            )
            .await?
            .ok_or_else(|| {
                Error::InvalidParameter(
                    "VerifyAuthChallengeResponse lambda trigger is not configured for the user pool.".into(),
                )
            })?;
        let correct = flag(&verdict, "answerCorrect");
        if !correct {
            user.failed_attempts = self.record_failure(&user).await?;
        }
        let mut steps = state.steps;
        steps.push(Step { name: "CUSTOM_CHALLENGE".into(), result: correct, metadata: state.metadata });
        self.define(c, user, steps, None, client_metadata).await
    }

    /// Asks DefineAuthChallenge what comes next, and makes the challenge.
    /// `a` is the client's SRP_A, which only a sign-in's first round has.
    async fn define(
        &self,
        c: &ClientCtx,
        user: User,
        steps: Vec<Step>,
        a: Option<String>,
        client_metadata: &BTreeMap<String, String>,
    ) -> Result<Next> {
        if steps.len() >= MAX_CHALLENGES {
            return Err(incorrect());
        }
        let attrs = &user.attrs;
        let request = json!({
            "userAttributes": attributes_json(attrs),
            "session": steps,
            "clientMetadata": client_metadata,
            "userNotFound": false,
        });
        let decision = self
            .run_trigger(c, Trigger::DefineAuthChallenge, "DefineAuthChallenge_Authentication", &user.username, request)
            .await?
            .unwrap_or_default();
        if flag(&decision, "failAuthentication") {
            return Err(incorrect());
        }
        if flag(&decision, "issueTokens") {
            if steps.iter().all(|s| s.name == "SRP_A") {
                // Tokens for a sign-in that answered nothing (SRP_A alone
                // proves nothing) would be a hole in the function; Cognate
                // refuses them.
                return Err(incorrect());
            }
            self.clear_failures(&user).await?;
            return Ok(Next::Tokens(Box::new(user)));
        }
        match decision.get("challengeName").and_then(Value::as_str) {
            Some("CUSTOM_CHALLENGE") => {}
            Some("PASSWORD_VERIFIER") => {
                let a = a.ok_or_else(|| {
                    Error::InvalidParameter("PASSWORD_VERIFIER needs SRP_A in the InitiateAuth parameters.".into())
                })?;
                let (salt, v) = srp_material(&user)?;
                let challenge = crate::flows::signin::verifier::server_challenge(v).await?;
                let state =
                    CustomState { steps, private: json!({}), metadata: None, srp: Some(SrpHalf::new(&a, &challenge)) };
                let session = self.seal_custom(c, &user, state)?;
                return Ok(Next::Challenge(password_verifier(salt, &challenge, session, &user.username)));
            }
            Some(other) => {
                return Err(Error::Unsupported(format!(
                    "Cognate supports CUSTOM_CHALLENGE and PASSWORD_VERIFIER as challenges of CUSTOM_AUTH, not {other} (yet)."
                )));
            }
            None => {
                return Err(Error::InvalidLambdaResponse("Invalid lambda response: challengeName is missing.".into()));
            }
        }
        let request = json!({
            "userAttributes": attributes_json(attrs),
            "challengeName": "CUSTOM_CHALLENGE",
            "session": steps,
            "clientMetadata": client_metadata,
            "userNotFound": false,
        });
        let made = self
            .run_trigger(c, Trigger::CreateAuthChallenge, "CreateAuthChallenge_Authentication", &user.username, request)
            .await?
            .unwrap_or_default();
        let mut public: BTreeMap<String, String> = match made.get("publicChallengeParameters") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        };
        public.insert("USERNAME".into(), user.username.clone());
        let state = CustomState {
            steps,
            private: made.get("privateChallengeParameters").cloned().unwrap_or_else(|| json!({})),
            metadata: made.get("challengeMetadata").and_then(Value::as_str).map(str::to_string),
            srp: None,
        };
        Ok(Next::Challenge(Challenge {
            name: ChallengeNameType::CustomChallenge,
            parameters: public,
            session: Some(self.seal_custom(c, &user, state)?),
        }))
    }
}
