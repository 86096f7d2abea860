//! Block compression with AVX-512F/BW: the whole block lives in sixteen zmm
//! registers through the row and column rounds.
//!
//! Register `s[k]` holds words `8k..8k+8`, so row `r` is `s[2r]` (words 0-7)
//! and `s[2r + 1]` (words 8-15). The column rounds work directly on that
//! layout: each 128-bit lane of `s[2r + h]` is the word pair of one column.
//! The row rounds first regroup the 256-bit halves of two rows so that one
//! register carries the same four-word quarter of both rows.

use core::arch::x86_64::*;

use crate::Block;
use crate::fill::{Geometry, fill_memory};

type State = [__m512i; 16];

/// The block as sixteen registers, in memory order.
#[inline]
#[target_feature(enable = "avx512f")]
fn load(b: &Block) -> State {
    let p = b.0.as_ptr().cast::<__m512i>();
    let mut s = [_mm512_setzero_si512(); 16];
    for (i, v) in s.iter_mut().enumerate() {
        // SAFETY: `Block` is 1024 bytes aligned to 64, so for i < 16 the
        // 64-byte load at `p + i` is aligned and inside `b`.
        *v = unsafe { _mm512_load_si512(p.add(i)) };
    }
    s
}

/// Writes sixteen registers back in memory order.
#[inline]
#[target_feature(enable = "avx512f")]
fn store(b: &mut Block, s: &State) {
    let p = b.0.as_mut_ptr().cast::<__m512i>();
    for (i, v) in s.iter().enumerate() {
        // SAFETY: `Block` is 1024 bytes aligned to 64, so for i < 16 the
        // 64-byte store at `p + i` is aligned and inside `b`, which we hold
        // exclusively.
        unsafe { _mm512_store_si512(p.add(i), *v) }
    }
}

/// `a + b + 2 * lo32(a) * lo32(b)` per 64-bit lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn mix(a: __m512i, b: __m512i) -> __m512i {
    let m = _mm512_mul_epu32(a, b);
    _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(m, m))
}

/// The G function of BlaMka, lane-wise on four registers.
#[inline]
#[target_feature(enable = "avx512f")]
fn gb(a: &mut __m512i, b: &mut __m512i, c: &mut __m512i, d: &mut __m512i) {
    *a = mix(*a, *b);
    *d = _mm512_ror_epi64::<32>(_mm512_xor_si512(*d, *a));
    *c = mix(*c, *d);
    *b = _mm512_ror_epi64::<24>(_mm512_xor_si512(*b, *c));
    *a = mix(*a, *b);
    *d = _mm512_ror_epi64::<16>(_mm512_xor_si512(*d, *a));
    *c = mix(*c, *d);
    *b = _mm512_ror_epi64::<63>(_mm512_xor_si512(*b, *c));
}

/// P on two rows at once: each register holds one quarter (v0-3, v4-7,
/// v8-11, v12-15) of both rows, one row per 256-bit half.
#[inline]
#[target_feature(enable = "avx512f")]
fn round_rows(a: &mut __m512i, b: &mut __m512i, c: &mut __m512i, d: &mut __m512i) {
    gb(a, b, c, d);
    // Diagonals: rotate quarters b, c, d left by 1, 2, 3 words per half.
    *b = _mm512_permutex_epi64::<0x39>(*b);
    *c = _mm512_permutex_epi64::<0x4e>(*c);
    *d = _mm512_permutex_epi64::<0x93>(*d);
    gb(a, b, c, d);
    *b = _mm512_permutex_epi64::<0x93>(*b);
    *c = _mm512_permutex_epi64::<0x4e>(*c);
    *d = _mm512_permutex_epi64::<0x39>(*d);
}

/// P on two rows held in natural order as `lo0, hi0` (row one) and
/// `lo1, hi1` (row two).
#[inline]
#[target_feature(enable = "avx512f")]
fn rows(lo0: &mut __m512i, hi0: &mut __m512i, lo1: &mut __m512i, hi1: &mut __m512i) {
    let mut a = _mm512_shuffle_i64x2::<0x44>(*lo0, *lo1);
    let mut b = _mm512_shuffle_i64x2::<0xee>(*lo0, *lo1);
    let mut c = _mm512_shuffle_i64x2::<0x44>(*hi0, *hi1);
    let mut d = _mm512_shuffle_i64x2::<0xee>(*hi0, *hi1);
    round_rows(&mut a, &mut b, &mut c, &mut d);
    *lo0 = _mm512_shuffle_i64x2::<0x44>(a, b);
    *lo1 = _mm512_shuffle_i64x2::<0xee>(a, b);
    *hi0 = _mm512_shuffle_i64x2::<0x44>(c, d);
    *hi1 = _mm512_shuffle_i64x2::<0xee>(c, d);
}

/// P on four columns at once: `zr` holds the word pairs of row `r` for
/// those columns, so it carries v(2r), v(2r+1) in each 128-bit lane.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
#[allow(clippy::too_many_arguments)]
fn round_columns(
    z0: &mut __m512i,
    z1: &mut __m512i,
    z2: &mut __m512i,
    z3: &mut __m512i,
    z4: &mut __m512i,
    z5: &mut __m512i,
    z6: &mut __m512i,
    z7: &mut __m512i,
) {
    // Columns: (v0,v4,v8,v12)+(v1,v5,v9,v13) and (v2,v6,v10,v14)+(v3,v7,v11,v15).
    gb(z0, z2, z4, z6);
    gb(z1, z3, z5, z7);
    // Diagonals: b0 = (v5,v6), b1 = (v7,v4), c swaps, d0 = (v15,v12), d1 = (v13,v14).
    let mut b0 = _mm512_alignr_epi8::<8>(*z3, *z2);
    let mut b1 = _mm512_alignr_epi8::<8>(*z2, *z3);
    let mut d0 = _mm512_alignr_epi8::<8>(*z6, *z7);
    let mut d1 = _mm512_alignr_epi8::<8>(*z7, *z6);
    gb(z0, &mut b0, z5, &mut d0);
    gb(z1, &mut b1, z4, &mut d1);
    *z2 = _mm512_alignr_epi8::<8>(b0, b1);
    *z3 = _mm512_alignr_epi8::<8>(b1, b0);
    *z6 = _mm512_alignr_epi8::<8>(d1, d0);
    *z7 = _mm512_alignr_epi8::<8>(d0, d1);
}

/// `dst = G(x, y)`, or `dst ^= G(x, y)` when `xor` is set.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) fn compress(x: &Block, y: &Block, dst: &mut Block, xor: bool) {
    let xs = load(x);
    let ys = load(y);
    let mut r = xs;
    for (v, w) in r.iter_mut().zip(ys) {
        *v = _mm512_xor_si512(*v, w);
    }
    let mut s = r;

    let [
        mut s0,
        mut s1,
        mut s2,
        mut s3,
        mut s4,
        mut s5,
        mut s6,
        mut s7,
        mut s8,
        mut s9,
        mut s10,
        mut s11,
        mut s12,
        mut s13,
        mut s14,
        mut s15,
    ] = s;
    // Rows 2i and 2i+1 are s[4i], s[4i+1] and s[4i+2], s[4i+3].
    rows(&mut s0, &mut s1, &mut s2, &mut s3);
    rows(&mut s4, &mut s5, &mut s6, &mut s7);
    rows(&mut s8, &mut s9, &mut s10, &mut s11);
    rows(&mut s12, &mut s13, &mut s14, &mut s15);
    // Columns 0-3 live in the even registers, columns 4-7 in the odd ones.
    round_columns(&mut s0, &mut s2, &mut s4, &mut s6, &mut s8, &mut s10, &mut s12, &mut s14);
    round_columns(&mut s1, &mut s3, &mut s5, &mut s7, &mut s9, &mut s11, &mut s13, &mut s15);
    s = [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15];

    if xor {
        let old = load(dst);
        for i in 0..16 {
            s[i] = _mm512_ternarylogic_epi64::<0x96>(s[i], r[i], old[i]);
        }
    } else {
        for i in 0..16 {
            s[i] = _mm512_xor_si512(s[i], r[i]);
        }
    }
    store(dst, &s);
}

/// Out-of-line copy for the rare address-block computations.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw")]
fn compress_cold(x: &Block, y: &Block, dst: &mut Block, xor: bool) {
    compress(x, y, dst, xor);
}

/// Fills all passes with this compression inlined.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) fn fill(mem: &mut [Block], g: &Geometry) {
    fill_memory(mem, g, |x, y, dst, xor| compress(x, y, dst, xor), |x, y, dst| compress_cold(x, y, dst, false));
}
