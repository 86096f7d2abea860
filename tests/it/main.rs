//! The integration suite: the real server in-process on 127.0.0.1:0, spoken
//! to over HTTP. One binary (link time on two cores is real); add modules
//! here rather than new test targets.

#![allow(clippy::unwrap_used)]

mod account;
mod admin;
mod auth;
mod directory;
mod forgery;
mod lambda;
mod mfa;
mod oauth;
mod pools;
mod protocol;
mod signin;
mod triggers;
mod users;
