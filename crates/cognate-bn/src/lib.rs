//! `base^exp mod m` for a fixed odd modulus, with AWS-LC's
//! `BN_mod_exp_mont_consttime`: the fastest constant-time modular
//! exponentiation on this CPU (about twice as fast as crypto-bigint for
//! SRP's 3072-bit group; `cognate bench` measures both).
//!
//! Constant time: the exponent is read into a bignum as wide as its byte
//! string (leading zero bytes included) and AWS-LC processes every bit of
//! that width, so the time depends on the exponent's length in bytes, never
//! on its value. The base must be below the modulus (callers pass group
//! elements). Temporaries holding the exponent are cleared when freed.
//!
//! This is Cognate's only `unsafe` code: each block is a call into AWS-LC
//! with pointers this module allocated and frees.

use aws_lc_sys as sys;

/// An odd modulus with its Montgomery context, built once and shared by
/// every thread (AWS-LC only reads it during an exponentiation).
pub struct Modulus {
    m: *mut sys::BIGNUM,
    mont: *mut sys::BN_MONT_CTX,
    len: usize,
}

// SAFETY: after `Modulus::new` the BIGNUM and BN_MONT_CTX are never written
// again; AWS-LC takes them as `const` in `BN_mod_exp_mont_consttime`, so
// sharing them between threads is sound.
unsafe impl Send for Modulus {}
// SAFETY: as above: only read, through const pointers.
unsafe impl Sync for Modulus {}

impl std::fmt::Debug for Modulus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Modulus({} bytes)", self.len)
    }
}

/// A bignum freed (and cleared) on drop.
struct Bn(*mut sys::BIGNUM);

impl Bn {
    fn from_be(bytes: &[u8]) -> Option<Bn> {
        // SAFETY: `bytes` is a valid slice for its length; a null `ret` asks
        // AWS-LC to allocate the result, which `Bn` then owns.
        let p = unsafe { sys::BN_bin2bn(bytes.as_ptr(), bytes.len(), std::ptr::null_mut()) };
        (!p.is_null()).then_some(Bn(p))
    }
}

impl Drop for Bn {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_bin2bn/BN_new and is freed once.
        unsafe { sys::BN_clear_free(self.0) }
    }
}

/// A BN_CTX (scratch space) freed on drop.
struct Ctx(*mut sys::BN_CTX);

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: the pointer came from BN_CTX_new and is freed once.
        unsafe { sys::BN_CTX_free(self.0) }
    }
}

impl Modulus {
    /// The modulus from its big-endian bytes; None unless it is odd and
    /// greater than one.
    pub fn new(be: &[u8]) -> Option<Modulus> {
        let significant = &be[be.iter().position(|b| *b != 0).unwrap_or(be.len())..];
        if significant.last().is_none_or(|b| b & 1 == 0) || significant == [1] {
            return None;
        }
        let m = Bn::from_be(be)?;
        let ctx = new_ctx()?;
        // SAFETY: `m` and `ctx` are live allocations of this function.
        let mont = unsafe { sys::BN_MONT_CTX_new_for_modulus(m.0, ctx.0) };
        if mont.is_null() {
            return None;
        }
        let len = significant.len();
        // The modulus is kept: ownership moves from `m` to the Modulus.
        let m_ptr = m.0;
        std::mem::forget(m);
        Some(Modulus { m: m_ptr, mont, len })
    }

    /// The modulus's length in bytes: the length of every result.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `base^exp mod m` as big-endian bytes padded to [`Self::len`], in time
    /// that depends on `exp.len()` but not on its value. None when `base` is
    /// not below the modulus (or AWS-LC fails to allocate).
    pub fn pow(&self, base: &[u8], exp: &[u8]) -> Option<Vec<u8>> {
        let a = Bn::from_be(base)?;
        let p = Bn::from_be(exp)?;
        // SAFETY: both are live bignums of this module.
        if unsafe { sys::BN_cmp(a.0, self.m) } >= 0 {
            return None;
        }
        // SAFETY: BN_new returns an owned allocation or null.
        let r = Bn(unsafe { sys::BN_new() });
        if r.0.is_null() {
            return None;
        }
        let ctx = new_ctx()?;
        // SAFETY: every pointer is live for the call; `mont` was made for `m`;
        // `a < m` was checked above, as the function requires.
        let ok = unsafe { sys::BN_mod_exp_mont_consttime(r.0, a.0, p.0, self.m, ctx.0, self.mont) };
        if ok != 1 {
            return None;
        }
        let mut out = vec![0u8; self.len];
        // SAFETY: `out` has room for `self.len` bytes and r < m fits in them.
        let ok = unsafe { sys::BN_bn2bin_padded(out.as_mut_ptr(), out.len(), r.0) };
        (ok == 1).then_some(out)
    }
}

fn new_ctx() -> Option<Ctx> {
    // SAFETY: BN_CTX_new returns an owned allocation or null.
    let ctx = unsafe { sys::BN_CTX_new() };
    (!ctx.is_null()).then_some(Ctx(ctx))
}

impl Drop for Modulus {
    fn drop(&mut self) {
        // SAFETY: both were allocated in `new` and are freed once, here.
        unsafe {
            sys::BN_MONT_CTX_free(self.mont);
            sys::BN_free(self.m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_numbers() {
        let m = Modulus::new(&[0x01, 0x01]).unwrap(); // 257
        assert_eq!(m.len(), 2);
        assert_eq!(m.pow(&[3], &[5]).unwrap(), vec![0, 243]);
        assert_eq!(m.pow(&[2], &[8]).unwrap(), vec![1, 0]);
        // Leading zero bytes of the exponent change nothing but the time.
        assert_eq!(m.pow(&[3], &[0, 0, 0, 5]).unwrap(), vec![0, 243]);
        assert_eq!(m.pow(&[7], &[0]).unwrap(), vec![0, 1]);
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(Modulus::new(&[0x10]).is_none(), "even");
        assert!(Modulus::new(&[]).is_none());
        assert!(Modulus::new(&[0, 1]).is_none(), "one");
        let m = Modulus::new(&[0x01, 0x01]).unwrap();
        assert!(m.pow(&[0x01, 0x01], &[1]).is_none(), "base = m");
        assert!(m.pow(&[0x02, 0x00], &[1]).is_none(), "base > m");
    }
}
