//! Best-of-15 timings of Argon2id m=19456 KiB, t=2, p=1, 32-byte output:
//! this crate on its selected path, on each available path, and RustCrypto's
//! `argon2` 0.5.3. Inputs match the C timing program so the tags compare.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Version};
use cognate_argon2::{Block, Params, Path, argon2id, forced, simd};

const PASSWORD: &[u8] = b"Passw0rd!bench";
const SALT: &[u8] = b"0123456789abcdef";
const RUNS: usize = 15;

fn best_of(mut f: impl FnMut() -> [u8; 32]) -> (f64, [u8; 32]) {
    let mut best = f64::INFINITY;
    let mut tag = [0u8; 32];
    for _ in 0..RUNS {
        let start = Instant::now();
        tag = f();
        best = best.min(start.elapsed().as_secs_f64() * 1e6);
    }
    (best, tag)
}

fn report(label: &str, (us, tag): (f64, [u8; 32])) {
    println!("{label:<38} {us:>8.0} us  {:02x}{:02x}{:02x}{:02x}", tag[0], tag[1], tag[2], tag[3]);
}

fn main() {
    let params = Params { m_cost_kib: 19456, t_cost: 2, lanes: 1 };
    let mut mem: Vec<Block> = Vec::new();

    report(
        &format!("cognate ({}), reused memory", simd()),
        best_of(|| {
            let mut out = [0u8; 32];
            argon2id(PASSWORD, SALT, &params, &mut out, &mut mem).expect("valid params");
            out
        }),
    );
    report(
        &format!("cognate ({}), fresh memory", simd()),
        best_of(|| {
            let mut out = [0u8; 32];
            argon2id(PASSWORD, SALT, &params, &mut out, &mut Vec::new()).expect("valid params");
            out
        }),
    );
    for path in Path::ALL {
        if !path.is_available() {
            println!("{:<38} not supported by this CPU", format!("cognate forced {}", path.name()));
            continue;
        }
        report(
            &format!("cognate forced {}, reused memory", path.name()),
            best_of(|| {
                let mut out = [0u8; 32];
                forced::argon2id_keyed(path, PASSWORD, SALT, &[], &[], &params, &mut out, &mut mem)
                    .expect("path is available")
                    .expect("valid params");
                out
            }),
        );
    }
    let rc_params = argon2::Params::new(19456, 2, 1, Some(32)).expect("valid params");
    let rc = Argon2::new(Algorithm::Argon2id, Version::V0x13, rc_params);
    report(
        "RustCrypto argon2 0.5.3",
        best_of(|| {
            let mut out = [0u8; 32];
            rc.hash_password_into(PASSWORD, SALT, &mut out).expect("valid params");
            out
        }),
    );
}
