//! Passwords: the pool's policy, and argon2id hashes.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`), by
//! default with the OWASP-recommended parameters (an operator may choose
//! others: `Hashing`), so they can be exported and verified by any argon2
//! implementation. Hashes are compared in constant time.

use crate::{Error, Fault, Result};
use cognate_argon2::Params;
use cognate_crypto::meter::{Kind, measure};
use cognate_crypto::srp;
use cognate_wire::idp::PasswordPolicyType;
use password_hash::PasswordHash;

/// OWASP's argon2id setting: 19 MiB, two passes, one lane.
pub const OWASP: Params = Params { m_cost_kib: 19 * 1024, t_cost: 2, lanes: 1 };

/// Lanes a chosen setting may have (this server fills them one after
/// another, so more lanes only cost time).
const MAX_LANES: u32 = 16;

/// The most memory a stored hash may ask for (1 GiB): a hash that asks for
/// more is refused as unreadable rather than allocated.
const MAX_MEMORY_KIB: u32 = 1 << 20;

/// The most passes a stored hash or a chosen setting may ask for: a hash
/// with more would hold a crypto thread for minutes.
const MAX_PASSES: u32 = 64;

thread_local! {
    /// Argon2's working memory, kept per thread and reused: allocating and
    /// freeing 19 MiB per hash makes the allocator's heap grow without bound.
    static MEMORY: std::cell::RefCell<Vec<cognate_argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Argon2id (v0x13) of `password` with `salt` and `params` into `out`, on
/// the fastest block compression this CPU has (cognate-argon2: AVX-512,
/// AVX2 or portable).
fn argon2id(
    password: &[u8],
    salt: &[u8],
    params: &Params,
    out: &mut [u8],
) -> std::result::Result<(), cognate_argon2::Error> {
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        let result = cognate_argon2::argon2id(password, salt, params, out, &mut m);
        // A hash that took more than 64 MiB (imported, say) does not keep it.
        if m.len() > 64 * 1024 {
            *m = Vec::new();
        }
        result
    })
}

/// A PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, with
/// `params` (its CPU time counted as argon2id's, `cognate_crypto::meter`).
pub fn hash(password: &str, params: &Params) -> Result<String> {
    measure(Kind::Argon2, || phc(password, params))
}

/// [`hash`] without the meter.
fn phc(password: &str, params: &Params) -> Result<String> {
    use base64::Engine as _;
    use rand::RngCore as _;
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let mut out = [0u8; 32];
    argon2id(password.as_bytes(), &salt, params, &mut out).map_err(|e| Error::internal(Fault::Other, e.to_string()))?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost_kib,
        params.t_cost,
        params.lanes,
        b64.encode(salt),
        b64.encode(out)
    ))
}

/// True when `password` matches the stored PHC string (argon2id version 19,
/// any parameters up to 1 GiB of memory). An unreadable stored hash is an
/// internal error, not a mismatch.
pub fn verify(password: &str, phc: &str) -> Result<bool> {
    let unreadable = |what: &str| Error::internal(Fault::Document, format!("stored password hash: {what}"));
    let parsed = PasswordHash::new(phc).map_err(|_| unreadable("not a PHC string"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(unreadable("not argon2id"));
    }
    // Without `v=` a PHC string means version 16, which this server does
    // not run; `keyid` and `data` would change the hash.
    if parsed.version != Some(0x13) {
        return Err(unreadable("not argon2 version 19"));
    }
    if parsed.params.iter().any(|(name, _)| !matches!(name.as_str(), "m" | "t" | "p")) {
        return Err(unreadable("parameters other than m, t and p"));
    }
    let param = |name: &str| parsed.params.get_decimal(name).ok_or_else(|| unreadable("bad parameters"));
    let params = Params { m_cost_kib: param("m")?, t_cost: param("t")?, lanes: param("p")? };
    if params.m_cost_kib > MAX_MEMORY_KIB || params.t_cost > MAX_PASSES || params.lanes > MAX_LANES {
        return Err(unreadable("a greater cost than allowed"));
    }
    let mut salt_buf = [0u8; 64];
    let salt = parsed
        .salt
        .ok_or_else(|| unreadable("no salt"))?
        .decode_b64(&mut salt_buf)
        .map_err(|_| unreadable("bad salt"))?;
    let expected = parsed.hash.ok_or_else(|| unreadable("no hash"))?;
    let mut out = vec![0u8; expected.len()];
    measure(Kind::Argon2, || argon2id(password.as_bytes(), salt, &params, &mut out)).map_err(|e| match e {
        cognate_argon2::Error::Allocation => Error::internal(Fault::Other, e.to_string()),
        // Parameters the algorithm refuses (t=0, m below 8p, a short salt ...).
        _ => unreadable(&e.to_string()),
    })?;
    Ok(cognate_crypto::ct_eq(&out, expected.as_bytes()))
}

/// The characters Cognito counts as symbols.
const SYMBOLS: &str = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/// How Cognito words a refused password: it depends on the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// SignUp (and, without a source saying otherwise, ChangePassword and
    /// AdminSetUserPassword): "Password did not conform with policy: …".
    DidNotConform,
    /// AdminCreateUser's TemporaryPassword: "Password did not conform with
    /// password policy: …".
    Temporary,
    /// ConfirmForgotPassword and NEW_PASSWORD_REQUIRED: "Password does not
    /// conform to policy: …".
    DoesNotConform,
}

impl Wording {
    fn prefix(self) -> &'static str {
        match self {
            Wording::DidNotConform => "Password did not conform with policy",
            Wording::Temporary => "Password did not conform with password policy",
            Wording::DoesNotConform => "Password does not conform to policy",
        }
    }
}

/// Checks `password` against the pool's policy with Cognito's messages: the
/// first rule broken, worded for the operation.
pub fn check_policy(password: &str, policy: &PasswordPolicyType, wording: Wording) -> Result<()> {
    let fail = |why: &str| Err(Error::InvalidPassword(format!("{}: {why}", wording.prefix())));
    let min = policy.minimum_length.unwrap_or(8).max(6) as usize;
    if password.chars().count() < min {
        return fail("Password not long enough");
    }
    if policy.require_lowercase == Some(true) && !password.chars().any(|c| c.is_lowercase()) {
        return fail("Password must have lowercase characters");
    }
    if policy.require_uppercase == Some(true) && !password.chars().any(|c| c.is_uppercase()) {
        return fail("Password must have uppercase characters");
    }
    if policy.require_numbers == Some(true) && !password.chars().any(|c| c.is_ascii_digit()) {
        return fail("Password must have numeric characters");
    }
    if policy.require_symbols == Some(true) && !password.chars().any(|c| SYMBOLS.contains(c)) {
        return fail("Password must have symbol characters");
    }
    Ok(())
}

/// A valid argon2id hash (OWASP's setting) of a random password, for
/// constant-time refusals.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$0gYFsWvJL2HzSJlQdnYeBH9bq1pUQ0sL1fXe0zR3P0s";

/// How new password hashes are made: argon2id's parameters, and a hash of
/// a random password with the same ones, which an unknown user's sign-in
/// is checked against so that it takes as long as a known user's.
#[derive(Debug, Clone)]
pub struct Hashing {
    params: Params,
    dummy: std::sync::Arc<str>,
}

impl Default for Hashing {
    fn default() -> Self {
        Hashing { params: OWASP, dummy: DUMMY_HASH.into() }
    }
}

impl Hashing {
    /// `m=<KiB>,t=<passes>,p=<lanes>` (each of the three once), checked:
    /// at least 8 KiB per lane and at most 1 GiB, t at least 1, 1 to 16
    /// lanes. Makes the setting's refusal hash (one argon2id).
    pub fn parse(text: &str) -> std::result::Result<Hashing, String> {
        let bad = || format!("password hashing must read m=<KiB>,t=<passes>,p=<lanes>, not {text:?}");
        let (mut m, mut t, mut p) = (None, None, None);
        for part in text.split(',') {
            let (name, value) = part.trim().split_once('=').ok_or_else(bad)?;
            let value: u32 = value.trim().parse().map_err(|_| bad())?;
            let slot = match name.trim() {
                "m" => &mut m,
                "t" => &mut t,
                "p" => &mut p,
                _ => return Err(bad()),
            };
            if slot.replace(value).is_some() {
                return Err(bad());
            }
        }
        let (Some(m_cost_kib), Some(t_cost), Some(lanes)) = (m, t, p) else { return Err(bad()) };
        let params = Params { m_cost_kib, t_cost, lanes };
        if !(1..=MAX_LANES).contains(&lanes)
            || !(1..=MAX_PASSES).contains(&t_cost)
            || m_cost_kib < 8 * lanes
            || m_cost_kib > MAX_MEMORY_KIB
        {
            return Err(format!(
                "password hashing {text:?} is out of range: 1 to {MAX_LANES} lanes, 1 to {MAX_PASSES} passes, \
                 8 KiB per lane to 1 GiB"
            ));
        }
        if params == OWASP {
            return Ok(Hashing::default());
        }
        let mut random = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut random);
        // Made once, while the settings are read, before any request: not
        // request work, so not on the meter (which proves that request work
        // runs on the crypto threads).
        let dummy = phc(&hex::encode(random), &params).map_err(|e| e.to_string())?;
        Ok(Hashing { params, dummy: dummy.into() })
    }

    /// The parameters of new hashes.
    pub fn params(&self) -> Params {
        self.params
    }

    /// Hashes a password and makes its SRP verifier, off the async threads.
    pub(crate) async fn material(
        &self,
        password: String,
        pool_id: String,
        username: String,
    ) -> Result<(String, srp::Verifier)> {
        let params = self.params;
        crate::base::crypto_threads::run(move || {
            let hash = hash(&password, &params)?;
            let verifier = srp::make_verifier(srp::pool_name(&pool_id), &username, &password);
            Ok((hash, verifier))
        })
        .await?
    }

    /// Spends on `password` what checking a known user's password would,
    /// and refuses it.
    pub(crate) async fn refuse(&self, password: &str) {
        let _ = verify_password(password.to_string(), self.dummy.to_string()).await;
    }
}

/// Argon2 off the async threads: it is deliberately slow.
pub(crate) async fn verify_password(password: String, hash: String) -> Result<bool> {
    crate::base::crypto_threads::run(move || verify(&password, &hash)).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> PasswordPolicyType {
        PasswordPolicyType {
            minimum_length: Some(8),
            require_lowercase: Some(true),
            require_uppercase: Some(true),
            require_numbers: Some(true),
            require_symbols: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn policy_messages() {
        let msg = |p: &str| check_policy(p, &strict(), Wording::DidNotConform).err().map(|e| e.message().to_string());
        assert_eq!(msg("Aa1!"), Some("Password did not conform with policy: Password not long enough".into()));
        assert_eq!(
            msg("AAAAAA1!"),
            Some("Password did not conform with policy: Password must have lowercase characters".into())
        );
        assert_eq!(
            msg("aaaaaa1!"),
            Some("Password did not conform with policy: Password must have uppercase characters".into())
        );
        assert_eq!(
            msg("aaaaaAa!"),
            Some("Password did not conform with policy: Password must have numeric characters".into())
        );
        assert_eq!(
            msg("aaaaaAa1"),
            Some("Password did not conform with policy: Password must have symbol characters".into())
        );
        assert_eq!(msg("Passw0rd!"), None);
        assert!(check_policy("password", &PasswordPolicyType::default(), Wording::DidNotConform).is_ok());
    }

    #[test]
    fn hashes_verify_and_differ() {
        let h1 = hash("Passw0rd!", &OWASP).unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("Passw0rd!", &h1).unwrap());
        assert!(!verify("Passw0rd?", &h1).unwrap());
        assert_ne!(h1, hash("Passw0rd!", &OWASP).unwrap(), "salted");
        assert_eq!(verify("x", "not a hash").map_err(|e| e.cause().map(|c| c.kind)), Err(Some(Fault::Document)));
        // A hash made by RustCrypto's argon2 and its own PHC encoder
        // verifies here.
        use argon2::password_hash::{PasswordHasher as _, SaltString};
        let params = argon2::Params::new(19 * 1024, 2, 1, Some(32)).unwrap();
        let other = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"Passw0rd!", &SaltString::generate(&mut rand::rngs::OsRng))
            .unwrap()
            .to_string();
        assert!(verify("Passw0rd!", &other).unwrap());
        assert!(!verify("passw0rd!", &other).unwrap());
        // Parameters no argon2id hash may have, a version this server does
        // not run, or more memory than it grants: unreadable, never a
        // mismatch, never an allocation.
        let tail = "c2FsdHNhbHRzYWx0c2FsdA$0gYFsWvJL2HzSJlQdnYeBH9bq1pUQ0sL1fXe0zR3P0s";
        for params in [
            "v=19$m=19456,t=0,p=1",
            "v=19$m=7,t=2,p=1",
            "v=16$m=19456,t=2,p=1",
            "m=19456,t=2,p=1",
            "v=19$m=1048577,t=1,p=1",
            "v=19$m=19456,t=65,p=1",
            "v=19$m=19456,t=2,p=17",
            "v=19$m=19456,t=2,p=1,keyid=AAAA",
        ] {
            let phc = format!("$argon2id${params}${tail}");
            assert_eq!(verify("x", &phc).map_err(|e| e.cause().map(|c| c.kind)), Err(Some(Fault::Document)), "{phc}");
        }
    }

    #[test]
    fn a_chosen_setting_hashes_with_it_and_refuses_with_it() {
        let h = Hashing::parse("m=7168, t=5, p=1").unwrap();
        assert_eq!(h.params(), Params { m_cost_kib: 7168, t_cost: 5, lanes: 1 });
        assert!(h.dummy.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{}", h.dummy);
        let made = hash("Passw0rd!", &h.params()).unwrap();
        assert!(made.starts_with("$argon2id$v=19$m=7168,t=5,p=1$") && verify("Passw0rd!", &made).unwrap());
        assert_eq!(Hashing::parse("t=2,p=1,m=19456").unwrap().dummy.as_ref(), DUMMY_HASH, "OWASP's is built in");
        for bad in [
            "",
            "m=19456,t=2",
            "m=19456,t=2,p=1,m=1",
            "m=19456,t=0,p=1",
            "m=15,t=1,p=2",
            "m=x,t=2,p=1",
            "m=1048577,t=1,p=1",
            "m=19456,t=2,p=17",
            "q=1,t=2,p=1",
        ] {
            assert!(Hashing::parse(bad).is_err(), "{bad}");
        }
    }
}
