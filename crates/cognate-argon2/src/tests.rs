use argon2::{Algorithm, Argon2, Version};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{Block, Error, Params, Path, argon2id, argon2id_keyed, forced, simd};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn available() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.is_available()).collect()
}

fn oracle(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32, len: usize) -> Vec<u8> {
    let params = argon2::Params::new(m, t, p, Some(len)).expect("valid oracle params");
    let ctx = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = vec![0u8; len];
    ctx.hash_password_into(password, salt, &mut out).expect("oracle hash");
    out
}

#[test]
fn rfc9106_argon2id_vector() {
    let params = Params { m_cost_kib: 32, t_cost: 3, lanes: 4 };
    let expected = "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659";
    for path in available() {
        let mut out = [0u8; 32];
        let mut mem = Vec::new();
        forced::argon2id_keyed(path, &[1; 32], &[2; 16], &[3; 8], &[4; 12], &params, &mut out, &mut mem)
            .expect("path is available")
            .expect("valid params");
        assert_eq!(hex(&out), expected, "path {}", path.name());
    }
    let mut out = [0u8; 32];
    argon2id_keyed(&[1; 32], &[2; 16], &[3; 8], &[4; 12], &params, &mut out, &mut Vec::new()).expect("valid params");
    assert_eq!(hex(&out), expected);
}

#[test]
fn matches_rustcrypto() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    // (m, t, p, out_len)
    let mut sets: Vec<(u32, u32, u32, usize)> = vec![
        (8, 1, 1, 32),
        (9, 1, 1, 4),
        (16, 2, 2, 16),
        (21, 3, 2, 65),
        (37, 1, 3, 100),
        (40, 4, 5, 64),
        (43, 2, 5, 1024),
        (64, 3, 4, 32),
        (100, 2, 3, 16),
        (257, 1, 1, 1024),
        (300, 4, 1, 65),
        (523, 2, 2, 32),
        (1031, 3, 5, 64),
        (2048, 1, 4, 100),
        (19456, 2, 1, 32),
    ];
    for _ in 0..12 {
        let p = rng.gen_range(1..=5u32);
        let m = rng.gen_range(8 * p..=600);
        let t = rng.gen_range(1..=4u32);
        let len = [4usize, 16, 32, 64, 65, 100, 1024][rng.gen_range(0..7)];
        sets.push((m, t, p, len));
    }
    let paths = available();
    let mut mem = Vec::new();
    for (n, &(m, t, p, len)) in sets.iter().enumerate() {
        let pw_len = [0usize, 1, 14, 64, 129][n % 5];
        let salt_len = [8usize, 16, 33, 64][n % 4];
        let password: Vec<u8> = (0..pw_len).map(|_| rng.r#gen()).collect();
        let salt: Vec<u8> = (0..salt_len).map(|_| rng.r#gen()).collect();
        let want = oracle(&password, &salt, m, t, p, len);
        let params = Params { m_cost_kib: m, t_cost: t, lanes: p };
        for &path in &paths {
            let mut out = vec![0u8; len];
            forced::argon2id_keyed(path, &password, &salt, &[], &[], &params, &mut out, &mut mem)
                .expect("path is available")
                .expect("valid params");
            assert_eq!(hex(&out), hex(&want), "path {} m={m} t={t} p={p} len={len}", path.name());
        }
        let mut out = vec![0u8; len];
        argon2id(&password, &salt, &params, &mut out, &mut mem).expect("valid params");
        assert_eq!(out, want);
    }
}

#[test]
fn memory_is_resized_and_reusable() {
    let params = Params { m_cost_kib: 64, t_cost: 2, lanes: 2 };
    let want = oracle(b"pw", b"saltsalt", 64, 2, 2, 32);
    for start_len in [0usize, 10, 64, 5000] {
        let mut mem = vec![Block([u64::MAX; 128]); start_len];
        let mut out = [0u8; 32];
        argon2id(b"pw", b"saltsalt", &params, &mut out, &mut mem).expect("valid params");
        assert_eq!(out.as_slice(), want.as_slice());
        assert_eq!(mem.len(), 64);
    }
}

fn random_block(rng: &mut StdRng) -> Block {
    let mut b = Block::default();
    rng.fill(&mut b.0[..]);
    b
}

#[test]
fn simd_compression_matches_portable() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut tested = 0;
    for path in [Path::Avx512, Path::Avx2] {
        if !path.is_available() {
            eprintln!("skipping {}: not supported by this CPU", path.name());
            continue;
        }
        for round in 0..500 {
            let x = random_block(&mut rng);
            let y = if round % 50 == 0 { Block::default() } else { random_block(&mut rng) };
            let old = random_block(&mut rng);
            for xor in [false, true] {
                let mut want = old;
                assert!(forced::compress(Path::Portable, &x, &y, &mut want, xor));
                let mut got = old;
                assert!(forced::compress(path, &x, &y, &mut got, xor));
                assert_eq!(got.0, want.0, "path {} xor={xor}", path.name());
            }
        }
        tested += 1;
    }
    eprintln!("compared {tested} SIMD path(s); selected: {}", simd());
}

#[test]
fn bad_parameters_are_errors() {
    let ok = Params { m_cost_kib: 32, t_cost: 1, lanes: 1 };
    let mut mem = Vec::new();
    let mut out = [0u8; 32];
    let salt = [0u8; 16];
    let run = |p: &Params, salt: &[u8], out: &mut [u8], mem: &mut Vec<Block>| argon2id(b"password", salt, p, out, mem);
    let with = |m, t, l| Params { m_cost_kib: m, t_cost: t, lanes: l };
    assert_eq!(run(&with(32, 1, 0), &salt, &mut out, &mut mem), Err(Error::Lanes));
    assert_eq!(run(&with(u32::MAX, 1, 1 << 24), &salt, &mut out, &mut mem), Err(Error::Lanes));
    assert_eq!(run(&with(7, 1, 1), &salt, &mut out, &mut mem), Err(Error::MemoryCost));
    assert_eq!(run(&with(0, 1, 1), &salt, &mut out, &mut mem), Err(Error::MemoryCost));
    assert_eq!(run(&with(31, 1, 4), &salt, &mut out, &mut mem), Err(Error::MemoryCost));
    assert_eq!(run(&with(32, 0, 1), &salt, &mut out, &mut mem), Err(Error::TimeCost));
    assert_eq!(run(&ok, &salt, &mut out[..3], &mut mem), Err(Error::OutputLength));
    assert_eq!(run(&ok, &salt, &mut [], &mut mem), Err(Error::OutputLength));
    assert_eq!(run(&ok, &salt[..7], &mut out, &mut mem), Err(Error::SaltLength));
    assert_eq!(run(&ok, &[], &mut out, &mut mem), Err(Error::SaltLength));
    // Boundaries that are valid.
    assert_eq!(run(&with(8, 1, 1), &salt[..8], &mut out[..4], &mut mem), Ok(()));
    assert_eq!(run(&with(32, 1, 4), &salt, &mut out, &mut mem), Ok(()));
    // Errors have messages.
    assert!(!Error::Lanes.to_string().is_empty());
}
