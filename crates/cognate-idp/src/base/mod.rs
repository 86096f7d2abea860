//! The base layer: what every part of the domain stands on and that knows
//! nothing of pools, users or sign-in. Errors, the clock, the request
//! context, the verified caller of a signed call, pagination, passwords and
//! the crypto threads, the sealed-state envelope. Nothing here imports from
//! `model` or `flows`.

pub mod caller;
pub mod clock;
pub mod context;
pub mod crypto_threads;
pub mod error;
pub mod page;
pub mod passwords;
pub mod sealed;
