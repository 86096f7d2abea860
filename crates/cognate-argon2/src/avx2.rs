//! Block compression with AVX2.
//!
//! A 256-bit register holds four words. Row rounds use the plain layout (row
//! `r` is registers `4r..4r+4`, one quarter of the row each); column rounds
//! take register `4r + k` of every row, whose two 128-bit lanes are the word
//! pairs of columns `2k` and `2k + 1`.

use core::arch::x86_64::*;

use crate::Block;
use crate::fill::{Geometry, fill_memory};

/// Loads words `4i..4i+4` of `b`.
#[inline]
#[target_feature(enable = "avx2")]
fn load(b: &Block, i: usize) -> __m256i {
    let words: &[u64; 4] = b.0[4 * i..][..4].try_into().expect("slice of length 4");
    // SAFETY: `words` is 32 readable bytes at a multiple of 32 bytes from the
    // 64-byte aligned start of `b`, so the aligned load is in bounds.
    unsafe { _mm256_load_si256(words.as_ptr().cast()) }
}

/// Stores `v` into words `4i..4i+4` of `b`.
#[inline]
#[target_feature(enable = "avx2")]
fn store(b: &mut Block, i: usize, v: __m256i) {
    let words: &mut [u64; 4] = (&mut b.0[4 * i..][..4]).try_into().expect("slice of length 4");
    // SAFETY: `words` is 32 writable bytes, exclusively borrowed, at a
    // multiple of 32 bytes from the 64-byte aligned start of `b`, so the
    // aligned store is in bounds.
    unsafe { _mm256_store_si256(words.as_mut_ptr().cast(), v) }
}

/// `a + b + 2 * lo32(a) * lo32(b)` per 64-bit lane.
#[inline]
#[target_feature(enable = "avx2")]
fn mix(a: __m256i, b: __m256i) -> __m256i {
    let m = _mm256_mul_epu32(a, b);
    _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(m, m))
}

#[inline]
#[target_feature(enable = "avx2")]
fn ror32(x: __m256i) -> __m256i {
    _mm256_shuffle_epi32::<0xb1>(x)
}

#[inline]
#[target_feature(enable = "avx2")]
fn ror24(x: __m256i) -> __m256i {
    let bytes = _mm256_setr_epi8(
        3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, //
        3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10,
    );
    _mm256_shuffle_epi8(x, bytes)
}

#[inline]
#[target_feature(enable = "avx2")]
fn ror16(x: __m256i) -> __m256i {
    let bytes = _mm256_setr_epi8(
        2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, //
        2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9,
    );
    _mm256_shuffle_epi8(x, bytes)
}

#[inline]
#[target_feature(enable = "avx2")]
fn ror63(x: __m256i) -> __m256i {
    _mm256_or_si256(_mm256_add_epi64(x, x), _mm256_srli_epi64::<63>(x))
}

/// The G function of BlaMka, lane-wise on four registers.
#[inline]
#[target_feature(enable = "avx2")]
fn gb(a: &mut __m256i, b: &mut __m256i, c: &mut __m256i, d: &mut __m256i) {
    *a = mix(*a, *b);
    *d = ror32(_mm256_xor_si256(*d, *a));
    *c = mix(*c, *d);
    *b = ror24(_mm256_xor_si256(*b, *c));
    *a = mix(*a, *b);
    *d = ror16(_mm256_xor_si256(*d, *a));
    *c = mix(*c, *d);
    *b = ror63(_mm256_xor_si256(*b, *c));
}

/// P on one row held as its four quarters.
#[inline]
#[target_feature(enable = "avx2")]
fn round_row(a: &mut __m256i, b: &mut __m256i, c: &mut __m256i, d: &mut __m256i) {
    gb(a, b, c, d);
    *b = _mm256_permute4x64_epi64::<0x39>(*b);
    *c = _mm256_permute4x64_epi64::<0x4e>(*c);
    *d = _mm256_permute4x64_epi64::<0x93>(*d);
    gb(a, b, c, d);
    *b = _mm256_permute4x64_epi64::<0x93>(*b);
    *c = _mm256_permute4x64_epi64::<0x4e>(*c);
    *d = _mm256_permute4x64_epi64::<0x39>(*d);
}

/// P on two columns: `zr` holds the word pairs of row `r` for them.
#[inline]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn round_columns(
    z0: &mut __m256i,
    z1: &mut __m256i,
    z2: &mut __m256i,
    z3: &mut __m256i,
    z4: &mut __m256i,
    z5: &mut __m256i,
    z6: &mut __m256i,
    z7: &mut __m256i,
) {
    gb(z0, z2, z4, z6);
    gb(z1, z3, z5, z7);
    let mut b0 = _mm256_alignr_epi8::<8>(*z3, *z2);
    let mut b1 = _mm256_alignr_epi8::<8>(*z2, *z3);
    let mut d0 = _mm256_alignr_epi8::<8>(*z6, *z7);
    let mut d1 = _mm256_alignr_epi8::<8>(*z7, *z6);
    gb(z0, &mut b0, z5, &mut d0);
    gb(z1, &mut b1, z4, &mut d1);
    *z2 = _mm256_alignr_epi8::<8>(b0, b1);
    *z3 = _mm256_alignr_epi8::<8>(b1, b0);
    *z6 = _mm256_alignr_epi8::<8>(d1, d0);
    *z7 = _mm256_alignr_epi8::<8>(d0, d1);
}

/// Row `row` of R = X ^ Y (first four registers) and of R after P (last four).
#[inline]
#[target_feature(enable = "avx2")]
fn row_pass(x: &Block, y: &Block, row: usize) -> [__m256i; 8] {
    let i = 4 * row;
    let mut a = _mm256_xor_si256(load(x, i), load(y, i));
    let mut b = _mm256_xor_si256(load(x, i + 1), load(y, i + 1));
    let mut c = _mm256_xor_si256(load(x, i + 2), load(y, i + 2));
    let mut d = _mm256_xor_si256(load(x, i + 3), load(y, i + 3));
    let (ra, rb, rc, rd) = (a, b, c, d);
    round_row(&mut a, &mut b, &mut c, &mut d);
    [ra, rb, rc, rd, a, b, c, d]
}

/// `dst = G(x, y)`, or `dst ^= G(x, y)` when `xor` is set.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn compress(x: &Block, y: &Block, dst: &mut Block, xor: bool) {
    // Built as a literal so the stack copy needs no zeroing first.
    let rows = [
        row_pass(x, y, 0),
        row_pass(x, y, 1),
        row_pass(x, y, 2),
        row_pass(x, y, 3),
        row_pass(x, y, 4),
        row_pass(x, y, 5),
        row_pass(x, y, 6),
        row_pass(x, y, 7),
    ];
    for k in 0..4 {
        let [mut z0, mut z1, mut z2, mut z3, mut z4, mut z5, mut z6, mut z7] = [
            rows[0][4 + k],
            rows[1][4 + k],
            rows[2][4 + k],
            rows[3][4 + k],
            rows[4][4 + k],
            rows[5][4 + k],
            rows[6][4 + k],
            rows[7][4 + k],
        ];
        round_columns(&mut z0, &mut z1, &mut z2, &mut z3, &mut z4, &mut z5, &mut z6, &mut z7);
        for (row, v) in [z0, z1, z2, z3, z4, z5, z6, z7].into_iter().enumerate() {
            let i = 4 * row + k;
            let mut out = _mm256_xor_si256(v, rows[row][k]);
            if xor {
                out = _mm256_xor_si256(out, load(dst, i));
            }
            store(dst, i, out);
        }
    }
}

/// Out-of-line copy for the rare address-block computations.
#[inline(never)]
#[target_feature(enable = "avx2")]
fn compress_cold(x: &Block, y: &Block, dst: &mut Block, xor: bool) {
    compress(x, y, dst, xor);
}

/// Fills all passes with this compression inlined.
#[target_feature(enable = "avx2")]
pub(crate) fn fill(mem: &mut [Block], g: &Geometry) {
    fill_memory(mem, g, |x, y, dst, xor| compress(x, y, dst, xor), |x, y, dst| compress_cold(x, y, dst, false));
}
