//! Argon2id (RFC 9106, version 0x13).
//!
//! The block compression runs on AVX-512 (F + BW) or AVX2 when the CPU has
//! them, chosen at run time, and on portable scalar code otherwise. Lanes are
//! filled one after another on the calling thread.

use core::fmt;
use std::sync::OnceLock;

use blake2::digest::{Update, VariableOutput};
use blake2::{Blake2b512, Blake2bVar, Digest};

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod fill;
mod portable;
#[cfg(test)]
mod tests;

use fill::Geometry;

/// One 1 KiB Argon2 memory block, 64-byte aligned.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
pub struct Block(pub [u64; 128]);

impl Default for Block {
    fn default() -> Self {
        Block([0; 128])
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Block(..)")
    }
}

/// Cost parameters. They are checked by [`argon2id`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Memory size `m` in KiB (1 KiB blocks); at least `8 * lanes`.
    pub m_cost_kib: u32,
    /// Number of passes `t`; at least 1.
    pub t_cost: u32,
    /// Degree of parallelism `p`; 1 to 2^24 - 1.
    pub lanes: u32,
}

/// Why a hash could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `lanes` is outside 1..=2^24-1.
    Lanes,
    /// `m_cost_kib` is below `8 * lanes`.
    MemoryCost,
    /// `t_cost` is zero.
    TimeCost,
    /// The output is shorter than 4 bytes or longer than 2^32-1 bytes.
    OutputLength,
    /// The salt is shorter than 8 bytes or longer than 2^32-1 bytes.
    SaltLength,
    /// Password, secret or associated data is longer than 2^32-1 bytes.
    InputTooLong,
    /// The working memory could not be allocated.
    Allocation,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Lanes => "argon2: lanes must be between 1 and 2^24-1",
            Error::MemoryCost => "argon2: memory cost must be at least 8 KiB per lane",
            Error::TimeCost => "argon2: time cost must be at least 1",
            Error::OutputLength => "argon2: output length must be between 4 and 2^32-1 bytes",
            Error::SaltLength => "argon2: salt length must be between 8 and 2^32-1 bytes",
            Error::InputTooLong => "argon2: an input is longer than 2^32-1 bytes",
            Error::Allocation => "argon2: working memory could not be allocated",
        })
    }
}

impl std::error::Error for Error {}

/// Argon2id (v0x13) of `password` with `salt` into `out`, using `memory` as
/// the working memory. `memory` is resized to the block count when its length
/// differs, so a caller may keep one per thread and reuse it; it holds
/// password-derived data afterwards.
pub fn argon2id(
    password: &[u8],
    salt: &[u8],
    params: &Params,
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), Error> {
    hash(best_path(), password, salt, &[], &[], params, out, memory)
}

/// [`argon2id`] with the optional secret key and associated data.
pub fn argon2id_keyed(
    password: &[u8],
    salt: &[u8],
    secret: &[u8],
    ad: &[u8],
    params: &Params,
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), Error> {
    hash(best_path(), password, salt, secret, ad, params, out, memory)
}

/// Which compression path this CPU runs: `"avx512"`, `"avx2"` or `"portable"`.
pub fn simd() -> &'static str {
    best_path().name()
}

/// A compression implementation.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// AVX-512F + AVX-512BW.
    Avx512,
    /// AVX2.
    Avx2,
    /// Scalar code.
    Portable,
}

impl Path {
    /// Every path, fastest first.
    pub const ALL: [Path; 3] = [Path::Avx512, Path::Avx2, Path::Portable];

    /// Short name, as returned by [`simd`].
    pub fn name(self) -> &'static str {
        match self {
            Path::Avx512 => "avx512",
            Path::Avx2 => "avx2",
            Path::Portable => "portable",
        }
    }

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            Path::Avx512 => has_avx512(),
            Path::Avx2 => has_avx2(),
            Path::Portable => true,
        }
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

fn best_path() -> Path {
    static BEST: OnceLock<Path> = OnceLock::new();
    *BEST.get_or_init(|| Path::ALL.into_iter().find(|p| p.is_available()).unwrap_or(Path::Portable))
}

/// Entry points that pin a compression path; for tests and benchmarks only.
#[doc(hidden)]
pub mod forced {
    use super::{Block, Error, Params, Path};

    /// [`crate::argon2id_keyed`] on `path`; `None` if this CPU lacks it.
    #[allow(clippy::too_many_arguments)]
    pub fn argon2id_keyed(
        path: Path,
        password: &[u8],
        salt: &[u8],
        secret: &[u8],
        ad: &[u8],
        params: &Params,
        out: &mut [u8],
        memory: &mut Vec<Block>,
    ) -> Option<Result<(), Error>> {
        path.is_available().then(|| super::hash(path, password, salt, secret, ad, params, out, memory))
    }

    /// `dst = G(x, y)` (or `dst ^= G(x, y)` with `xor`) on `path`; `false`
    /// if this CPU lacks it.
    pub fn compress(path: Path, x: &Block, y: &Block, dst: &mut Block, xor: bool) -> bool {
        if path.is_available() {
            super::compress_on(path, x, y, dst, xor);
        }
        path.is_available()
    }
}

/// One compression on `path`, falling back to scalar code if the CPU lacks it.
fn compress_on(path: Path, x: &Block, y: &Block, dst: &mut Block, xor: bool) {
    match path {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 if has_avx512() => {
            // SAFETY: avx512f and avx512bw were detected on this CPU just above.
            unsafe { avx512::compress(x, y, dst, xor) }
        }
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 if has_avx2() => {
            // SAFETY: avx2 was detected on this CPU just above.
            unsafe { avx2::compress(x, y, dst, xor) }
        }
        _ => portable::compress(x, y, dst, xor),
    }
}

/// All passes on `path`, falling back to scalar code if the CPU lacks it.
fn fill_on(path: Path, mem: &mut [Block], g: &Geometry) {
    match path {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 if has_avx512() => {
            // SAFETY: avx512f and avx512bw were detected on this CPU just above.
            unsafe { avx512::fill(mem, g) }
        }
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 if has_avx2() => {
            // SAFETY: avx2 was detected on this CPU just above.
            unsafe { avx2::fill(mem, g) }
        }
        _ => portable::fill(mem, g),
    }
}

/// Argon2 version 0x13.
const VERSION: u32 = 0x13;
/// Argon2 type code of Argon2id.
const TYPE_ID: u32 = 2;

fn len32(data: &[u8]) -> Result<[u8; 4], Error> {
    u32::try_from(data.len()).map(u32::to_le_bytes).map_err(|_| Error::InputTooLong)
}

#[allow(clippy::too_many_arguments)]
fn hash(
    path: Path,
    password: &[u8],
    salt: &[u8],
    secret: &[u8],
    ad: &[u8],
    params: &Params,
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), Error> {
    let Params { m_cost_kib, t_cost, lanes } = *params;
    if !(1..=0x00ff_ffff).contains(&lanes) {
        return Err(Error::Lanes);
    }
    if m_cost_kib < 8 * lanes {
        return Err(Error::MemoryCost);
    }
    if t_cost < 1 {
        return Err(Error::TimeCost);
    }
    let out_len = u32::try_from(out.len()).map_err(|_| Error::OutputLength)?;
    if out_len < 4 {
        return Err(Error::OutputLength);
    }
    let salt_len = u32::try_from(salt.len()).map_err(|_| Error::SaltLength)?;
    if salt_len < 8 {
        return Err(Error::SaltLength);
    }
    let pw_len = len32(password)?;
    let secret_len = len32(secret)?;
    let ad_len = len32(ad)?;

    // m' = 4p * floor(m / 4p) blocks, q = m' / p per lane.
    let lanes_n = usize::try_from(lanes).map_err(|_| Error::Allocation)?;
    let blocks = usize::try_from(m_cost_kib / (4 * lanes) * (4 * lanes)).map_err(|_| Error::Allocation)?;
    let lane_len = blocks / lanes_n;
    let geometry = Geometry { lanes: lanes_n, lane_len, seg_len: lane_len / 4, blocks, passes: t_cost };

    if memory.len() != blocks {
        if memory.len() > blocks {
            memory.truncate(blocks);
        } else {
            memory.try_reserve_exact(blocks - memory.len()).map_err(|_| Error::Allocation)?;
            memory.resize(blocks, Block::default());
        }
    }

    // H0 over the parameters and inputs.
    let mut h = Blake2b512::new();
    for word in [lanes, out_len, m_cost_kib, t_cost, VERSION, TYPE_ID] {
        Digest::update(&mut h, word.to_le_bytes());
    }
    for (len, data) in [(pw_len, password), (salt_len.to_le_bytes(), salt), (secret_len, secret), (ad_len, ad)] {
        Digest::update(&mut h, len);
        Digest::update(&mut h, data);
    }
    let h0: [u8; 64] = h.finalize().into();

    // First two blocks of each lane.
    let mut bytes = [0u8; 1024];
    for lane in 0..lanes {
        for j in 0..2u32 {
            h_prime(&mut bytes, &[&h0, &j.to_le_bytes(), &lane.to_le_bytes()]);
            let index = lane as usize * lane_len + j as usize;
            bytes_to_block(&bytes, &mut memory[index]);
        }
    }

    fill_on(path, &mut memory[..], &geometry);

    // XOR of the last block of every lane, then H' to the tag length.
    let mut last = memory[lane_len - 1];
    for lane in 1..lanes_n {
        let other = &memory[lane * lane_len + lane_len - 1];
        for (w, o) in last.0.iter_mut().zip(other.0.iter()) {
            *w ^= o;
        }
    }
    for (chunk, w) in bytes.chunks_exact_mut(8).zip(last.0.iter()) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    h_prime(out, &[&bytes]);
    Ok(())
}

fn bytes_to_block(bytes: &[u8; 1024], block: &mut Block) {
    for (w, chunk) in block.0.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut le = [0u8; 8];
        le.copy_from_slice(chunk);
        *w = u64::from_le_bytes(le);
    }
}

/// The variable-length hash H' of RFC 9106 over the concatenation of
/// `parts`, writing `out.len()` bytes (1 to 2^32-1).
fn h_prime(out: &mut [u8], parts: &[&[u8]]) {
    let tag_len = (out.len() as u32).to_le_bytes();
    if out.len() <= 64 {
        let mut h = Blake2bVar::new(out.len()).expect("length is within 1..=64");
        h.update(&tag_len);
        for p in parts {
            h.update(p);
        }
        h.finalize_variable(out).expect("buffer has the requested length");
        return;
    }
    let mut h = Blake2b512::new();
    Digest::update(&mut h, tag_len);
    for p in parts {
        Digest::update(&mut h, p);
    }
    let mut v: [u8; 64] = h.finalize().into();
    out[..32].copy_from_slice(&v[..32]);
    let mut pos = 32;
    while out.len() - pos > 64 {
        v = Blake2b512::digest(v).into();
        out[pos..pos + 32].copy_from_slice(&v[..32]);
        pos += 32;
    }
    let mut h = Blake2bVar::new(out.len() - pos).expect("length is within 33..=64");
    h.update(&v);
    h.finalize_variable(&mut out[pos..]).expect("buffer has the requested length");
}
