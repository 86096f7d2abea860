//! Where a sign-in stands after a step, as the domain sees it.
//!
//! The sign-in flows answer an [`Outcome`]: the next [`Challenge`] for the
//! client (its name, public parameters and sealed Session), or
//! [`SignedIn`]: every factor proven, for this user and device. What happens
//! then is the caller's: the API (InitiateAuth, RespondToAuthChallenge and
//! their Admin twins) issues tokens and turns the outcome into its response
//! here; the hosted pages will finish the same flows with an authorization
//! code instead.

use crate::model::users::User;
use cognate_store::DeviceRow;
use cognate_wire::idp::{ChallengeNameType, InitiateAuthResponse, RespondToAuthChallengeResponse};
use std::collections::BTreeMap;

/// A challenge for the client to answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Challenge {
    pub name: ChallengeNameType,
    pub parameters: BTreeMap<String, String>,
    /// The step's state, sealed (see `base::sealed`).
    pub session: Option<String>,
}

/// Every factor is proven: who signed in, on which remembered device, and
/// the PreTokenGeneration source of the tokens to come.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub user: User,
    pub device: Option<DeviceRow>,
    pub source: &'static str,
}

#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Challenge(Challenge),
    SignedIn(Box<SignedIn>),
}

impl Outcome {
    pub(crate) fn signed_in(user: User, device: Option<DeviceRow>, source: &'static str) -> Outcome {
        Outcome::SignedIn(Box::new(SignedIn { user, device, source }))
    }
}

impl From<Challenge> for InitiateAuthResponse {
    fn from(c: Challenge) -> Self {
        InitiateAuthResponse {
            challenge_name: Some(c.name),
            challenge_parameters: Some(c.parameters),
            session: c.session,
            ..Default::default()
        }
    }
}

/// InitiateAuth's answer as RespondToAuthChallenge gives it.
pub(crate) fn respond(r: InitiateAuthResponse) -> RespondToAuthChallengeResponse {
    RespondToAuthChallengeResponse {
        authentication_result: r.authentication_result,
        challenge_name: r.challenge_name,
        challenge_parameters: r.challenge_parameters,
        session: r.session,
        available_challenges: r.available_challenges,
    }
}
