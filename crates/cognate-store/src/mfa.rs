//! Multi-factor settings: a pool's MFA configuration, each user's factors
//! (the TOTP secret sealed by the caller), and remembered devices.

use crate::{Arg, FromRow, Query, Result, Store, UserKey, execute, fetch_all, fetch_optional, q};
use Arg::{Int, OptText, Text};
use sqlx::Row as _;
use sqlx::{postgres::PgRow, sqlite::SqliteRow};

row_struct! {
    /// A user's factors. `preferred` is "" or a challenge name.
    pub struct MfaRow {
        pub pool_id: String,
        pub username_key: String,
        // The verified secret, and one waiting for VerifySoftwareToken.
        pub totp_secret_sealed: Option<String>,
        pub totp_pending_sealed: Option<String>,
        pub totp_last_step: i64,
        pub sms_enabled: i64,
        pub totp_enabled: i64,
        pub email_enabled: i64,
        pub preferred: String,
        pub updated_at: i64,
    }
}

row_struct! {
    /// A device a user signed in from. `salt` and `verifier` (hex) are the
    /// device's SRP verifier, set by ConfirmDevice.
    pub struct DeviceRow {
        pub pool_id: String,
        pub username_key: String,
        pub device_key: String,
        pub group_key: String,
        pub salt: Option<String>,
        pub verifier: Option<String>,
        pub name: Option<String>,
        pub confirmed: i64,
        pub remembered: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub last_auth_at: i64,
        pub last_ip: String,
    }
}

fn upsert_mfa(m: &MfaRow) -> Query<'_> {
    q(
        "INSERT INTO user_mfa (pool_id, username_key, totp_secret_sealed, totp_pending_sealed, totp_last_step, sms_enabled, \
         totp_enabled, email_enabled, preferred, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (pool_id, username_key) DO UPDATE SET totp_secret_sealed = excluded.totp_secret_sealed, \
         totp_pending_sealed = excluded.totp_pending_sealed, \
         sms_enabled = excluded.sms_enabled, totp_enabled = excluded.totp_enabled, \
         email_enabled = excluded.email_enabled, preferred = excluded.preferred, updated_at = excluded.updated_at",
        vec![
            Text(&m.pool_id),
            Text(&m.username_key),
            OptText(m.totp_secret_sealed.as_deref()),
            OptText(m.totp_pending_sealed.as_deref()),
            Int(m.totp_last_step),
            Int(m.sms_enabled),
            Int(m.totp_enabled),
            Int(m.email_enabled),
            Text(&m.preferred),
            Int(m.updated_at),
        ],
    )
}

row_struct! {
    /// A pool's MFA configuration document.
    pub struct PoolMfaRow {
        pub config: String,
    }
}

impl Store {
    // ---- pool MFA configuration ----

    pub async fn get_pool_mfa(&self, pool_id: &str) -> Result<Option<String>> {
        let row: Option<PoolMfaRow> =
            fetch_optional(self, q("SELECT config FROM pool_mfa WHERE pool_id = $1", vec![Text(pool_id)])).await?;
        Ok(row.map(|r| r.config))
    }

    pub async fn put_pool_mfa(&self, pool_id: &str, config: &str) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO pool_mfa (pool_id, config) VALUES ($1, $2) \
                 ON CONFLICT (pool_id) DO UPDATE SET config = excluded.config",
                vec![Text(pool_id), Text(config)],
            ),
        )
        .await
        .map(|_| ())
    }

    // ---- user factors ----

    pub async fn get_user_mfa(&self, user: UserKey<'_>) -> Result<Option<MfaRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_optional(
            self,
            q(
                "SELECT pool_id, username_key, totp_secret_sealed, totp_pending_sealed, totp_last_step, sms_enabled, \
                 totp_enabled, email_enabled, preferred, updated_at FROM user_mfa WHERE pool_id = $1 AND username_key = $2",
                vec![Text(pool_id), Text(username_key)],
            ),
        )
        .await
    }

    /// Writes a user's factors, all but the last accepted TOTP step, which
    /// only [`Store::accept_totp_step`] moves (so a write from a stale read
    /// cannot make a used code usable again).
    pub async fn put_user_mfa(&self, m: &MfaRow) -> Result<()> {
        execute(self, upsert_mfa(m)).await.map(|_| ())
    }

    /// Accepts a TOTP step if it is later than every step accepted before:
    /// true for exactly one of any number of concurrent uses of a code.
    pub async fn accept_totp_step(&self, user: UserKey<'_>, step: i64) -> Result<bool> {
        let UserKey { pool_id, username_key } = user;
        let n = execute(
            self,
            q(
                "UPDATE user_mfa SET totp_last_step = $1 WHERE pool_id = $2 AND username_key = $3 AND totp_last_step < $1",
                vec![Int(step), Text(pool_id), Text(username_key)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    // ---- devices ----

    pub async fn insert_device(&self, d: &DeviceRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO devices (pool_id, username_key, device_key, group_key, salt, verifier, name, confirmed, \
                 remembered, created_at, updated_at, last_auth_at, last_ip) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                vec![
                    Text(&d.pool_id),
                    Text(&d.username_key),
                    Text(&d.device_key),
                    Text(&d.group_key),
                    OptText(d.salt.as_deref()),
                    OptText(d.verifier.as_deref()),
                    OptText(d.name.as_deref()),
                    Int(d.confirmed),
                    Int(d.remembered),
                    Int(d.created_at),
                    Int(d.updated_at),
                    Int(d.last_auth_at),
                    Text(&d.last_ip),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A device of one user.
    pub async fn get_device(&self, user: UserKey<'_>, device_key: &str) -> Result<Option<DeviceRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_optional(
            self,
            q(
                "SELECT pool_id, username_key, device_key, group_key, salt, verifier, name, confirmed, remembered, \
                 created_at, updated_at, last_auth_at, last_ip FROM devices \
                 WHERE pool_id = $1 AND username_key = $2 AND device_key = $3",
                vec![Text(pool_id), Text(username_key), Text(device_key)],
            ),
        )
        .await
    }

    /// Writes a device's mutable columns; false when it is gone.
    pub async fn update_device(&self, d: &DeviceRow) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE devices SET salt = $1, verifier = $2, name = $3, confirmed = $4, remembered = $5, updated_at = $6, \
                 last_auth_at = $7, last_ip = $8 WHERE pool_id = $9 AND username_key = $10 AND device_key = $11",
                vec![
                    OptText(d.salt.as_deref()),
                    OptText(d.verifier.as_deref()),
                    OptText(d.name.as_deref()),
                    Int(d.confirmed),
                    Int(d.remembered),
                    Int(d.updated_at),
                    Int(d.last_auth_at),
                    Text(&d.last_ip),
                    Text(&d.pool_id),
                    Text(&d.username_key),
                    Text(&d.device_key),
                ],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// A user's confirmed devices (only the remembered ones when
    /// `remembered_only`) in key order, after `after`, at most `limit`.
    pub async fn list_devices(
        &self,
        user: UserKey<'_>,
        remembered_only: bool,
        after: &str,
        limit: i64,
    ) -> Result<Vec<DeviceRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_all(
            self,
            q(
                "SELECT pool_id, username_key, device_key, group_key, salt, verifier, name, confirmed, remembered, \
                 created_at, updated_at, last_auth_at, last_ip FROM devices \
                 WHERE pool_id = $1 AND username_key = $2 AND confirmed = 1 AND remembered >= $3 AND device_key > $4 \
                 ORDER BY device_key LIMIT $5 + 0",
                vec![Text(pool_id), Text(username_key), Int(i64::from(remembered_only)), Text(after), Int(limit)],
            ),
        )
        .await
    }

    pub async fn delete_device(&self, user: UserKey<'_>, device_key: &str) -> Result<bool> {
        let UserKey { pool_id, username_key } = user;
        let n = execute(
            self,
            q(
                "DELETE FROM devices WHERE pool_id = $1 AND username_key = $2 AND device_key = $3",
                vec![Text(pool_id), Text(username_key), Text(device_key)],
            ),
        )
        .await?;
        Ok(n > 0)
    }
}

/// Migration 4: MFA and devices.
pub(crate) const MIGRATION_4: &[&str] = &[
    "CREATE TABLE pool_mfa (
        pool_id TEXT PRIMARY KEY REFERENCES user_pools (id) ON DELETE CASCADE,
        config TEXT NOT NULL
    )",
    "CREATE TABLE user_mfa (
        pool_id TEXT NOT NULL,
        username_key TEXT NOT NULL,
        totp_secret_sealed TEXT,
        totp_pending_sealed TEXT,
        totp_last_step BIGINT NOT NULL,
        sms_enabled BIGINT NOT NULL,
        totp_enabled BIGINT NOT NULL,
        email_enabled BIGINT NOT NULL,
        preferred TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, username_key),
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE TABLE devices (
        pool_id TEXT NOT NULL,
        username_key TEXT NOT NULL,
        device_key TEXT NOT NULL,
        group_key TEXT NOT NULL,
        salt TEXT,
        verifier TEXT,
        name TEXT,
        confirmed BIGINT NOT NULL,
        remembered BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        last_auth_at BIGINT NOT NULL,
        last_ip TEXT NOT NULL,
        PRIMARY KEY (pool_id, device_key),
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX devices_by_user ON devices (pool_id, username_key, device_key)",
];
