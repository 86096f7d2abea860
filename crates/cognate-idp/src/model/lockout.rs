//! Sign-in lockout: consecutive failures lock a name out for a while
//! (1, 2, 4 … seconds after five, at most fifteen minutes), the same for a
//! user and, when the client prevents user existence errors, for a name no
//! user holds, so that "Password attempts exceeded" tells nobody who exists.
//! A user's counters live on its row; an unknown name's in the store's
//! `unknown_name_attempts` (dropped after a day without a try).

use crate::base::context::ClientCtx;
use crate::model::users::{User, username_key};
use crate::{Error, Idp, Result};
use cognate_store::UserKey;

/// Consecutive failures before sign-in is locked for a while.
const FREE_FAILURES: i64 = 5;

/// The longest lock, in seconds.
const MAX_LOCK_SECS: i64 = 900;

/// The counter of sign-in failures.
const SIGN_IN: &str = "signin";

/// The answer while sign-in is locked after repeated failures.
pub(crate) fn locked_out() -> Error {
    Error::NotAuthorized("Password attempts exceeded".into())
}

/// Until when the `n`th consecutive failure locks sign-in: 1, 2, 4 ... seconds
/// after [`FREE_FAILURES`], at most [`MAX_LOCK_SECS`].
pub(crate) fn lock_after(n: i64, now: i64) -> Option<i64> {
    (n >= FREE_FAILURES).then(|| {
        let secs = 1i64.checked_shl((n - FREE_FAILURES).min(20) as u32).unwrap_or(MAX_LOCK_SECS).min(MAX_LOCK_SECS);
        now + secs * 1000
    })
}

impl Idp {
    /// Refuses while the user is locked out; otherwise lets the caller check
    /// the credentials.
    pub(crate) fn check_lock(&self, user: &User) -> Result<()> {
        if user.locked_until > self.now() {
            return Err(locked_out());
        }
        Ok(())
    }

    /// A successful sign-in clears the user's failure count. With none
    /// counted when the user was read there is nothing to write (a failure
    /// counted since then stays counted).
    pub(crate) async fn clear_failures(&self, user: &User) -> Result<()> {
        if user.failed_attempts > 0 {
            self.store.clear_failed_sign_ins(user.key()).await?;
        }
        Ok(())
    }

    /// Counts a failed sign-in of `user` (locking when it is one too many);
    /// returns the count now stored, for a flow that goes on with the user
    /// it read (custom auth) and must not clear on a stale count.
    pub(crate) async fn record_failure(&self, user: &User) -> Result<i64> {
        let n = self.store.record_failed_sign_in(user.key()).await?;
        if let Some(until) = lock_after(n, self.now()) {
            self.store.lock_sign_in(user.key(), until).await?;
        }
        Ok(n)
    }

    /// Refuses while an unknown name is locked out, as `check_lock` does
    /// for a user.
    pub(crate) async fn check_unknown_lock(&self, c: &ClientCtx, name: &str) -> Result<()> {
        let key = username_key(&c.pool, name);
        if let Some(row) =
            self.store.unknown_name(UserKey { pool_id: &c.pool_row.id, username_key: &key }, SIGN_IN).await?
            && row.until_at > self.now()
        {
            return Err(locked_out());
        }
        Ok(())
    }

    /// Counts a failed sign-in under an unknown name, locking it after the
    /// same run of failures as a user.
    pub(crate) async fn record_unknown_failure(&self, c: &ClientCtx, name: &str) -> Result<()> {
        let key = username_key(&c.pool, name);
        let now = self.now();
        let n = self
            .store
            .record_unknown_failure(UserKey { pool_id: &c.pool_row.id, username_key: &key }, SIGN_IN, now)
            .await?;
        if let Some(until) = lock_after(n, now) {
            self.store
                .set_unknown_until(UserKey { pool_id: &c.pool_row.id, username_key: &key }, SIGN_IN, until, false, now)
                .await?;
        }
        Ok(())
    }
}
