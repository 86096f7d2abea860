//! The model layer: the things a user pool is made of and the rules that
//! keep them whole. Pools, clients and their secrets, the attribute schema,
//! users (lookups, attributes, codes, lockout), tokens and keys, domains and
//! resource servers (the OAuth side of a pool), messages and
//! their senders, triggers (the invoker interface). Imports only from `base`
//! and from its own layer; never from `flows`.

pub mod attributes;
pub mod audit;
pub mod branding;
pub mod channel;
pub mod clients;
pub mod codes;
pub mod devices;
pub mod directory;
pub mod domains;
pub mod identity_providers;
pub mod keys;
pub mod lockout;
pub mod messages;
pub mod mfa;
pub mod pools;
pub mod resource_servers;
pub mod schema;
pub mod senders;
pub mod tokens;
pub mod triggers;
pub mod ui;
pub mod users;
