//! The flows layer: the operations as a caller experiences them, each a
//! sequence of model steps. Sign-in (`signin/`: password, SRP, refresh,
//! custom auth, MFA, devices), sign-up and the signed-in user's account,
//! administration, the directory (ListUsers, groups, auth events). Imports
//! from `model` and `base`; nothing below imports from here.

pub mod account;
pub mod admin;
pub mod directory;
pub mod oauth;
pub mod signin;
pub mod signup;
