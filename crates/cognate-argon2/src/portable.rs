//! Scalar block compression, used where no SIMD path is available.

use crate::Block;
use crate::fill::{Geometry, fill_memory};

/// `a + b + 2 * lo32(a) * lo32(b)`, all modulo 2^64.
#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let prod = (a & 0xffff_ffff) * (b & 0xffff_ffff);
    a.wrapping_add(b).wrapping_add(prod << 1)
}

#[inline(always)]
fn gb(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize) {
    v[a] = mix(v[a], v[b]);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = mix(v[c], v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = mix(v[a], v[b]);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = mix(v[c], v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// The permutation P on sixteen words.
#[inline(always)]
fn permute(v: &mut [u64; 16]) {
    gb(v, 0, 4, 8, 12);
    gb(v, 1, 5, 9, 13);
    gb(v, 2, 6, 10, 14);
    gb(v, 3, 7, 11, 15);
    gb(v, 0, 5, 10, 15);
    gb(v, 1, 6, 11, 12);
    gb(v, 2, 7, 8, 13);
    gb(v, 3, 4, 9, 14);
}

/// `dst = G(x, y)`, or `dst ^= G(x, y)` when `xor` is set.
pub(crate) fn compress(x: &Block, y: &Block, dst: &mut Block, xor: bool) {
    let mut r = [0u64; 128];
    for (i, w) in r.iter_mut().enumerate() {
        *w = x.0[i] ^ y.0[i];
    }
    let mut q = r;
    // Rows: eight runs of sixteen consecutive words.
    for row in q.chunks_exact_mut(16) {
        let mut v = [0u64; 16];
        v.copy_from_slice(row);
        permute(&mut v);
        row.copy_from_slice(&v);
    }
    // Columns: column j takes words 2j and 2j+1 of every row.
    for j in 0..8 {
        let mut v = [0u64; 16];
        for r8 in 0..8 {
            v[2 * r8] = q[16 * r8 + 2 * j];
            v[2 * r8 + 1] = q[16 * r8 + 2 * j + 1];
        }
        permute(&mut v);
        for r8 in 0..8 {
            q[16 * r8 + 2 * j] = v[2 * r8];
            q[16 * r8 + 2 * j + 1] = v[2 * r8 + 1];
        }
    }
    if xor {
        for (i, w) in dst.0.iter_mut().enumerate() {
            *w ^= q[i] ^ r[i];
        }
    } else {
        for (i, w) in dst.0.iter_mut().enumerate() {
            *w = q[i] ^ r[i];
        }
    }
}

/// Fills all passes with the scalar compression.
pub(crate) fn fill(mem: &mut [Block], g: &Geometry) {
    fill_memory(mem, g, compress, |x, y, dst| compress(x, y, dst, false));
}
