//! CPU time spent in the cryptography an operation cannot avoid, counted by
//! kind for the whole process: argon2id, SRP's server side and verifiers,
//! RS256 signatures and verifications. `/metrics` publishes the counters and
//! the benchmark reads them around each scenario, so it can say how much of
//! the server's CPU time went to this cryptography in the very same run,
//! under the very same load (a floor measured apart from the load is kept
//! beside it).
//!
//! Time is the calling thread's CPU time (not wall time), so a thread that
//! is preempted mid-computation does not count the wait.
//!
//! The server's crypto threads mark themselves ([`mark_crypto_thread`]);
//! a measured call on any other thread is also counted as inline, so a
//! request thread doing slow cryptography shows (RS256 verification of
//! access tokens is meant to run inline: it is fast and cached).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// argon2id: a password hash or its verification.
    Argon2,
    /// SRP, server side: B = kv + g^b, and the session key from A.
    SrpServer,
    /// An SRP verifier g^x for a new password.
    SrpVerifier,
    Rs256Sign,
    Rs256Verify,
}

const KINDS: [Kind; 5] = [Kind::Argon2, Kind::SrpServer, Kind::SrpVerifier, Kind::Rs256Sign, Kind::Rs256Verify];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Argon2 => "argon2id",
            Kind::SrpServer => "srp_server",
            Kind::SrpVerifier => "srp_verifier",
            Kind::Rs256Sign => "rs256_sign",
            Kind::Rs256Verify => "rs256_verify",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

static CALLS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
static NANOS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
static INLINE: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

thread_local! {
    static CRYPTO_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of the crypto threads.
pub fn mark_crypto_thread() {
    CRYPTO_THREAD.with(|c| c.set(true));
}

/// Runs `f`, counting its thread CPU time under `kind`.
pub fn measure<T>(kind: Kind, f: impl FnOnce() -> T) -> T {
    let started = cpu_time::ThreadTime::try_now().ok();
    let out = f();
    if let Some(t) = started {
        let nanos = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        NANOS[kind.index()].fetch_add(nanos, Ordering::Relaxed);
        CALLS[kind.index()].fetch_add(1, Ordering::Relaxed);
        if !CRYPTO_THREAD.with(Cell::get) {
            INLINE[kind.index()].fetch_add(1, Ordering::Relaxed);
        }
    }
    out
}

/// One kind's totals so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub kind: Kind,
    pub calls: u64,
    pub cpu_nanos: u64,
    /// Of `calls`, those made on a thread that is not a crypto thread.
    pub inline_calls: u64,
}

/// Every kind's totals since the process started.
pub fn snapshot() -> Vec<Totals> {
    KINDS
        .iter()
        .map(|&kind| Totals {
            kind,
            calls: CALLS[kind.index()].load(Ordering::Relaxed),
            cpu_nanos: NANOS[kind.index()].load(Ordering::Relaxed),
            inline_calls: INLINE[kind.index()].load(Ordering::Relaxed),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Argon2 is measured in cognate-idp only, so no other test of this
    /// crate moves its counters while this one runs.
    #[test]
    fn counts_calls_cpu_time_and_calls_off_the_crypto_threads() {
        let work = || std::hint::black_box((0..2_000_000u64).fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b)));
        let before = snapshot()[Kind::Argon2.index()];
        measure(Kind::Argon2, work);
        let after = snapshot()[Kind::Argon2.index()];
        assert_eq!(after.calls, before.calls + 1);
        assert_eq!(after.inline_calls, before.inline_calls + 1, "an unmarked thread's call is inline");
        assert!(after.cpu_nanos > before.cpu_nanos, "{before:?} {after:?}");

        std::thread::spawn(move || {
            mark_crypto_thread();
            measure(Kind::Argon2, work);
        })
        .join()
        .unwrap();
        let marked = snapshot()[Kind::Argon2.index()];
        assert_eq!(marked.calls, after.calls + 1);
        assert_eq!(marked.inline_calls, after.inline_calls, "a crypto thread's call is not inline");
    }
}
