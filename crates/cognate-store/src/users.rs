//! Users, their aliases, one-time codes, and the message outbox.

use crate::directory::SearchEntry;
use crate::{Arg, Db, FromRow, Query, Result, Store, execute, fetch_all, fetch_optional, q, transaction};
use Arg::{Int, OptText, Text};
use sqlx::Row as _;
use sqlx::{postgres::PgRow, sqlite::SqliteRow};

row_struct! {
    /// A user. `username_key` is the lookup key (case-folded when the pool
    /// is case-insensitive); `attributes` is a JSON object owned by the domain.
    pub struct UserRow {
        pub pool_id: String,
        pub username: String,
        pub username_key: String,
        pub sub: String,
        pub status: String,
        pub enabled: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub version: i64,
        pub attributes: String,
        pub password_hash: Option<String>,
        pub srp_salt: Option<String>,
        pub srp_verifier: Option<String>,
        pub password_changed_at: i64,
        pub failed_attempts: i64,
        pub locked_until: i64,
    }
}

/// One user of one pool, as the tables address it. The two ids are named
/// at every call (`UserKey { pool_id, username_key }` or `row.key()`), so
/// they cannot be passed in the wrong order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserKey<'a> {
    pub pool_id: &'a str,
    pub username_key: &'a str,
}

impl UserRow {
    pub fn key(&self) -> UserKey<'_> {
        UserKey { pool_id: &self.pool_id, username_key: &self.username_key }
    }
}

impl RefreshTokenRow {
    /// The user the token was issued to.
    pub fn user(&self) -> UserKey<'_> {
        UserKey { pool_id: &self.pool_id, username_key: &self.username_key }
    }
}

/// A user as an access-token check finds it (see [`Store::user_for_access`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessCheck {
    pub user: UserRow,
    /// The token's sign-in was revoked.
    pub revoked: bool,
    /// The user has a row of MFA settings (most users have none).
    pub has_mfa: bool,
}

impl FromRow for AccessCheck {
    fn from_sqlite(row: &SqliteRow) -> Result<Self> {
        Ok(AccessCheck {
            user: UserRow::from_sqlite(row)?,
            revoked: row.try_get::<i64, _>("revoked")? > 0,
            has_mfa: row.try_get::<i64, _>("mfa_rows")? > 0,
        })
    }
    fn from_pg(row: &PgRow) -> Result<Self> {
        Ok(AccessCheck {
            user: UserRow::from_pg(row)?,
            revoked: row.try_get::<i64, _>("revoked")? > 0,
            has_mfa: row.try_get::<i64, _>("mfa_rows")? > 0,
        })
    }
    fn from_rusqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
        Ok(AccessCheck {
            user: UserRow::from_rusqlite(row)?,
            revoked: row.get::<_, i64>(crate::point::column(row, 16, "revoked")?)? > 0,
            has_mfa: row.get::<_, i64>(crate::point::column(row, 17, "mfa_rows")?)? > 0,
        })
    }
}

row_struct! {
    /// A unique sign-in name other than the username (email, phone number,
    /// preferred_username): the primary key makes it unique in the pool.
    pub struct AliasRow {
        pub pool_id: String,
        pub kind: String,
        pub value_key: String,
        pub username_key: String,
    }
}

row_struct! {
    /// A one-time code; only its MAC is stored.
    pub struct CodeRow {
        pub pool_id: String,
        pub username_key: String,
        pub purpose: String,
        pub code_mac: String,
        pub expires_at: i64,
        pub attempts: i64,
        pub created_at: i64,
    }
}

row_struct! {
    /// Tries under a name no user holds: `failures` counted, `until_at` the
    /// end of a lockout (sign-in) or the expiry of the code that was never
    /// sent (codes).
    pub struct UnknownNameRow {
        pub failures: i64,
        pub until_at: i64,
    }
}

/// How long an idle unknown-name counter is kept.
pub const UNKNOWN_NAME_TTL_MS: i64 = 24 * 3600 * 1000;

row_struct! {
    /// A message as it would have been delivered.
    pub struct OutboxRow {
        pub id: String,
        pub pool_id: String,
        pub username: String,
        pub channel: String,
        pub destination: String,
        pub subject: String,
        pub body: String,
        pub created_at: i64,
    }
}

/// `SELECT <every user column> FROM users <filter>`, as one literal.
macro_rules! user_columns {
    () => {
        concat!(
            "pool_id, username, username_key, sub, status, enabled, created_at, updated_at, version, attributes, ",
            "password_hash, srp_salt, srp_verifier, password_changed_at, failed_attempts, locked_until"
        )
    };
}

macro_rules! select_user {
    ($filter:literal) => {
        concat!("SELECT ", user_columns!(), " FROM users ", $filter)
    };
}

fn insert_user(u: &UserRow) -> Query<'_> {
    q(
        "INSERT INTO users (pool_id, username, username_key, sub, status, enabled, created_at, updated_at, version, attributes, \
         password_hash, srp_salt, srp_verifier, password_changed_at, failed_attempts, locked_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        vec![
            Text(&u.pool_id),
            Text(&u.username),
            Text(&u.username_key),
            Text(&u.sub),
            Text(&u.status),
            Int(u.enabled),
            Int(u.created_at),
            Int(u.updated_at),
            Int(u.version),
            Text(&u.attributes),
            OptText(u.password_hash.as_deref()),
            OptText(u.srp_salt.as_deref()),
            OptText(u.srp_verifier.as_deref()),
            Int(u.password_changed_at),
            Int(u.failed_attempts),
            Int(u.locked_until),
        ],
    )
}

fn insert_alias(a: &AliasRow) -> Query<'_> {
    q(
        "INSERT INTO user_aliases (pool_id, kind, value_key, username_key) VALUES ($1, $2, $3, $4)",
        vec![Text(&a.pool_id), Text(&a.kind), Text(&a.value_key), Text(&a.username_key)],
    )
}

impl Store {
    /// Creates a user, its aliases and its search entries atomically; a
    /// taken username or alias is `StoreError::Conflict` and nothing is
    /// written.
    pub async fn create_user(&self, user: &UserRow, aliases: &[AliasRow], search: &[SearchEntry]) -> Result<()> {
        let mut stmts = vec![insert_user(user)];
        stmts.extend(aliases.iter().map(insert_alias));
        stmts.extend(search.iter().map(|e| crate::directory::insert_search(user, e)));
        transaction(self, stmts, None).await.map(|_| ())
    }

    /// Creates many users (with their search entries, no aliases) in one
    /// transaction: all or none.
    pub async fn create_users(&self, users: &[(UserRow, Vec<SearchEntry>)]) -> Result<()> {
        let mut stmts = Vec::with_capacity(users.len() * 4);
        for (user, search) in users {
            stmts.push(insert_user(user));
            stmts.extend(search.iter().map(|e| crate::directory::insert_search(user, e)));
        }
        transaction(self, stmts, None).await.map(|_| ())
    }

    pub async fn get_user(&self, user: UserKey<'_>) -> Result<Option<UserRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_optional(
            self,
            q(select_user!("WHERE pool_id = $1 AND username_key = $2"), vec![Text(pool_id), Text(username_key)]),
        )
        .await
    }

    pub async fn get_user_by_sub(&self, pool_id: &str, sub: &str) -> Result<Option<UserRow>> {
        fetch_optional(self, q(select_user!("WHERE pool_id = $1 AND sub = $2"), vec![Text(pool_id), Text(sub)])).await
    }

    /// The user an alias belongs to.
    pub async fn get_user_by_alias(&self, pool_id: &str, kind: &str, value_key: &str) -> Result<Option<UserRow>> {
        fetch_optional(
            self,
            q(
                select_user!(
                    "WHERE pool_id = $1 AND username_key = (SELECT username_key FROM user_aliases \
                     WHERE pool_id = $1 AND kind = $2 AND value_key = $3)"
                ),
                vec![Text(pool_id), Text(kind), Text(value_key)],
            ),
        )
        .await
    }

    pub async fn list_aliases(&self, user: UserKey<'_>) -> Result<Vec<AliasRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_all(
            self,
            q(
                "SELECT pool_id, kind, value_key, username_key FROM user_aliases WHERE pool_id = $1 AND username_key = $2 ORDER BY kind",
                vec![Text(pool_id), Text(username_key)],
            ),
        )
        .await
    }

    /// Writes every mutable column of `user` if the row is still at
    /// `user.version` (bumping it), and, when `derived` is given, replaces the
    /// user's aliases and search entries in the same transaction (they derive
    /// from the attributes, so every attribute change passes them).
    /// `Ok(false)`: lost the race. A taken alias is `StoreError::Conflict`
    /// and nothing is written.
    pub async fn update_user(&self, user: &UserRow, derived: Option<(&[AliasRow], &[SearchEntry])>) -> Result<bool> {
        let mut stmts = vec![q(
            "UPDATE users SET status = $1, enabled = $2, updated_at = $3, version = version + 1, attributes = $4, \
             password_hash = $5, srp_salt = $6, srp_verifier = $7, password_changed_at = $8, failed_attempts = $9, \
             locked_until = $10 WHERE pool_id = $11 AND username_key = $12 AND version = $13",
            vec![
                Text(&user.status),
                Int(user.enabled),
                Int(user.updated_at),
                Text(&user.attributes),
                OptText(user.password_hash.as_deref()),
                OptText(user.srp_salt.as_deref()),
                OptText(user.srp_verifier.as_deref()),
                Int(user.password_changed_at),
                Int(user.failed_attempts),
                Int(user.locked_until),
                Text(&user.pool_id),
                Text(&user.username_key),
                Int(user.version),
            ],
        )];
        if let Some((aliases, search)) = derived {
            stmts.push(q(
                "DELETE FROM user_aliases WHERE pool_id = $1 AND username_key = $2",
                vec![Text(&user.pool_id), Text(&user.username_key)],
            ));
            stmts.extend(aliases.iter().map(insert_alias));
            stmts.push(q(
                "DELETE FROM user_search WHERE pool_id = $1 AND username_key = $2",
                vec![Text(&user.pool_id), Text(&user.username_key)],
            ));
            stmts.extend(search.iter().map(|e| crate::directory::insert_search(user, e)));
        }
        transaction(self, stmts, Some(0)).await
    }

    /// Removes an alias from whoever holds it (ForceAliasCreation).
    pub async fn delete_alias(&self, pool_id: &str, kind: &str, value_key: &str) -> Result<()> {
        execute(
            self,
            q(
                "DELETE FROM user_aliases WHERE pool_id = $1 AND kind = $2 AND value_key = $3",
                vec![Text(pool_id), Text(kind), Text(value_key)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// Counts a failed sign-in and returns the new count; the database does
    /// the arithmetic, so concurrent failures are all counted.
    pub async fn record_failed_sign_in(&self, user: UserKey<'_>) -> Result<i64> {
        let UserKey { pool_id, username_key } = user;
        on_db!(self, pool => {
            let row = sqlx::query(
                "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE pool_id = $1 AND username_key = $2 RETURNING failed_attempts",
            )
            .bind(pool_id)
            .bind(username_key)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|r| r.try_get::<i64, _>("failed_attempts")).transpose()?.unwrap_or(0))
        })
    }

    /// Locks sign-in until `until` (ms).
    pub async fn lock_sign_in(&self, user: UserKey<'_>, until: i64) -> Result<()> {
        let UserKey { pool_id, username_key } = user;
        execute(
            self,
            q(
                "UPDATE users SET locked_until = $1 WHERE pool_id = $2 AND username_key = $3",
                vec![Int(until), Text(pool_id), Text(username_key)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A successful sign-in clears the failure count.
    pub async fn clear_failed_sign_ins(&self, user: UserKey<'_>) -> Result<()> {
        let UserKey { pool_id, username_key } = user;
        execute(
            self,
            q(
                "UPDATE users SET failed_attempts = 0, locked_until = 0 WHERE pool_id = $1 AND username_key = $2 AND failed_attempts > 0",
                vec![Text(pool_id), Text(username_key)],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_user(&self, user: UserKey<'_>) -> Result<bool> {
        let UserKey { pool_id, username_key } = user;
        let n = execute(
            self,
            q("DELETE FROM users WHERE pool_id = $1 AND username_key = $2", vec![Text(pool_id), Text(username_key)]),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn count_users(&self, pool_id: &str) -> Result<i64> {
        on_db!(self, pool => {
            let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE pool_id = $1").bind(pool_id).fetch_one(pool).await?;
            Ok(row.try_get::<i64, _>("n")?)
        })
    }

    // ---- one-time codes ----

    /// Stores a code for (user, purpose), replacing any earlier one.
    pub async fn put_code(&self, c: &CodeRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO user_codes (pool_id, username_key, purpose, code_mac, expires_at, attempts, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (pool_id, username_key, purpose) DO UPDATE SET \
                 code_mac = excluded.code_mac, expires_at = excluded.expires_at, attempts = excluded.attempts, created_at = excluded.created_at",
                vec![Text(&c.pool_id), Text(&c.username_key), Text(&c.purpose), Text(&c.code_mac), Int(c.expires_at), Int(c.attempts), Int(c.created_at)],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_code(&self, user: UserKey<'_>, purpose: &str) -> Result<Option<CodeRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_optional(
            self,
            q(
                "SELECT pool_id, username_key, purpose, code_mac, expires_at, attempts, created_at FROM user_codes \
                 WHERE pool_id = $1 AND username_key = $2 AND purpose = $3",
                vec![Text(pool_id), Text(username_key), Text(purpose)],
            ),
        )
        .await
    }

    /// Counts one more failed try of a code; the count is the database's.
    pub async fn bump_code_attempts(&self, user: UserKey<'_>, purpose: &str) -> Result<()> {
        let UserKey { pool_id, username_key } = user;
        execute(
            self,
            q(
                "UPDATE user_codes SET attempts = attempts + 1 WHERE pool_id = $1 AND username_key = $2 AND purpose = $3",
                vec![Text(pool_id), Text(username_key), Text(purpose)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// Consumes a code: true for exactly one caller even if two race.
    pub async fn take_code(&self, user: UserKey<'_>, purpose: &str, code_mac: &str) -> Result<bool> {
        let UserKey { pool_id, username_key } = user;
        let n = execute(
            self,
            q(
                "DELETE FROM user_codes WHERE pool_id = $1 AND username_key = $2 AND purpose = $3 AND code_mac = $4",
                vec![Text(pool_id), Text(username_key), Text(purpose), Text(code_mac)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    // ---- names no user holds ----

    /// The counters kept for `name_key` under `purpose`, if any.
    pub async fn unknown_name(&self, name: UserKey<'_>, purpose: &str) -> Result<Option<UnknownNameRow>> {
        let UserKey { pool_id, username_key: name_key } = name;
        fetch_optional(
            self,
            q(
                "SELECT failures, until_at FROM unknown_name_attempts WHERE pool_id = $1 AND name_key = $2 AND purpose = $3",
                vec![Text(pool_id), Text(name_key), Text(purpose)],
            ),
        )
        .await
    }

    /// Counts one more failure under an unknown name and returns the new
    /// count (the database does the arithmetic, so racing failures all
    /// count). Also drops the pool's counters idle for a day, which bounds
    /// the table by the rate of failures.
    pub async fn record_unknown_failure(&self, name: UserKey<'_>, purpose: &str, now: i64) -> Result<i64> {
        let UserKey { pool_id, username_key: name_key } = name;
        execute(
            self,
            q(
                "DELETE FROM unknown_name_attempts WHERE pool_id = $1 AND updated_at < $2",
                vec![Text(pool_id), Int(now - UNKNOWN_NAME_TTL_MS)],
            ),
        )
        .await?;
        on_db!(self, pool => {
            let row = sqlx::query(
                "INSERT INTO unknown_name_attempts (pool_id, name_key, purpose, failures, until_at, updated_at) \
                 VALUES ($1, $2, $3, 1, 0, $4) ON CONFLICT (pool_id, name_key, purpose) DO UPDATE SET \
                 failures = unknown_name_attempts.failures + 1, updated_at = excluded.updated_at RETURNING failures",
            )
            .bind(pool_id)
            .bind(name_key)
            .bind(purpose)
            .bind(now)
            .fetch_one(pool)
            .await?;
            Ok(row.try_get::<i64, _>("failures")?)
        })
    }

    /// Sets `until_at` (a lockout's end, or a code's expiry) for an unknown
    /// name, resetting the failures when `reset` (a new code).
    pub async fn set_unknown_until(
        &self,
        name: UserKey<'_>,
        purpose: &str,
        until: i64,
        reset: bool,
        now: i64,
    ) -> Result<()> {
        let UserKey { pool_id, username_key: name_key } = name;
        execute(
            self,
            q(
                "INSERT INTO unknown_name_attempts (pool_id, name_key, purpose, failures, until_at, updated_at) \
                 VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT (pool_id, name_key, purpose) DO UPDATE SET \
                 until_at = excluded.until_at, updated_at = excluded.updated_at, \
                 failures = CASE WHEN $6 = 1 THEN 0 ELSE unknown_name_attempts.failures END",
                vec![Text(pool_id), Text(name_key), Text(purpose), Int(until), Int(now), Int(i64::from(reset))],
            ),
        )
        .await
        .map(|_| ())
    }

    // ---- outbox ----

    pub async fn insert_outbox(&self, m: &OutboxRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO outbox (id, pool_id, username, channel, destination, subject, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    Text(&m.id),
                    Text(&m.pool_id),
                    Text(&m.username),
                    Text(&m.channel),
                    Text(&m.destination),
                    Text(&m.subject),
                    Text(&m.body),
                    Int(m.created_at),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    /// Newest messages first, optionally for one pool and one destination.
    pub async fn list_outbox(
        &self,
        pool_id: Option<&str>,
        destination: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        fetch_all(
            self,
            q(
                "SELECT id, pool_id, username, channel, destination, subject, body, created_at FROM outbox \
                 WHERE ($1 IS NULL OR pool_id = $1) AND ($2 IS NULL OR destination = $2) \
                 ORDER BY created_at DESC, id DESC LIMIT $3 + 0",
                vec![OptText(pool_id), OptText(destination), Int(limit)],
            ),
        )
        .await
    }
}

/// Whether a sign-in is revoked is asked on every access-token check; a
/// sign-in's refresh tokens are one row per rotation, so the check probes
/// an index of the revoked rows only (few) instead of reading the family.
/// The user of an access token, whether its sign-in is revoked (any
/// revoked row of the family: the partial index `refresh_tokens_revoked`
/// holds only those) and whether the user has MFA settings.
pub(crate) const USER_FOR_ACCESS: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", ",
    "(SELECT COUNT(*) FROM refresh_tokens r WHERE r.pool_id = $1 AND r.origin_jti = $3 AND r.revoked_at <> 0) AS revoked, ",
    "(SELECT COUNT(*) FROM user_mfa m WHERE m.pool_id = $1 AND m.username_key = users.username_key) AS mfa_rows ",
    "FROM users WHERE pool_id = $1 AND sub = $2"
);

pub(crate) const MIGRATION_5: &[&str] =
    &["CREATE INDEX refresh_tokens_revoked ON refresh_tokens (pool_id, origin_jti) WHERE revoked_at <> 0"];

/// Failed tries under names no user holds (sign-in failures, codes never
/// sent): kept like a real user's counters so that lockout and code limits
/// answer alike for both. Rows idle for [`UNKNOWN_NAME_TTL_MS`] are removed.
pub(crate) const MIGRATION_6: &[&str] = &[
    "CREATE TABLE unknown_name_attempts (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        name_key TEXT NOT NULL,
        purpose TEXT NOT NULL,
        failures BIGINT NOT NULL,
        until_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, name_key, purpose)
    )",
    "CREATE INDEX unknown_name_attempts_idle ON unknown_name_attempts (pool_id, updated_at)",
];

pub(crate) const MIGRATION_2: &[&str] = &[
    "CREATE TABLE users (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL,
        sub TEXT NOT NULL,
        status TEXT NOT NULL,
        enabled BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        version BIGINT NOT NULL,
        attributes TEXT NOT NULL,
        password_hash TEXT,
        srp_salt TEXT,
        srp_verifier TEXT,
        password_changed_at BIGINT NOT NULL,
        failed_attempts BIGINT NOT NULL,
        locked_until BIGINT NOT NULL,
        PRIMARY KEY (pool_id, username_key)
    )",
    "CREATE UNIQUE INDEX users_by_sub ON users (pool_id, sub)",
    "CREATE TABLE user_aliases (
        pool_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        value_key TEXT NOT NULL,
        username_key TEXT NOT NULL,
        PRIMARY KEY (pool_id, kind, value_key),
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX user_aliases_by_user ON user_aliases (pool_id, username_key)",
    "CREATE TABLE user_codes (
        pool_id TEXT NOT NULL,
        username_key TEXT NOT NULL,
        purpose TEXT NOT NULL,
        code_mac TEXT NOT NULL,
        expires_at BIGINT NOT NULL,
        attempts BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, username_key, purpose),
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        channel TEXT NOT NULL,
        destination TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX outbox_by_time ON outbox (created_at)",
    "CREATE TABLE signing_keys (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        kid TEXT NOT NULL,
        key_sealed TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, kid)
    )",
    "CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        username_key TEXT NOT NULL,
        client_id TEXT NOT NULL,
        origin_jti TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL,
        rotated_at BIGINT NOT NULL,
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX refresh_tokens_by_user ON refresh_tokens (pool_id, username_key)",
    "CREATE INDEX refresh_tokens_by_origin ON refresh_tokens (pool_id, origin_jti)",
    "CREATE TABLE password_history (
        pool_id TEXT NOT NULL,
        username_key TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX password_history_by_user ON password_history (pool_id, username_key, created_at)",
];

row_struct! {
    /// A pool's token-signing key (PKCS#8, sealed under the master key).
    pub struct SigningKeyRow {
        pub pool_id: String,
        pub kid: String,
        pub key_sealed: String,
        pub created_at: i64,
    }
}

row_struct! {
    /// A refresh token, known only by its hash.
    pub struct RefreshTokenRow {
        pub token_hash: String,
        pub pool_id: String,
        pub username_key: String,
        pub client_id: String,
        pub origin_jti: String,
        pub auth_time: i64,
        pub created_at: i64,
        pub expires_at: i64,
        pub revoked_at: i64,
        // When a rotation replaced it (0: it is the current token).
        pub rotated_at: i64,
        // The scopes granted, space-separated; empty for an API sign-in
        // (which grants `aws.cognito.signin.user.admin`).
        pub scopes: String,
    }
}

impl Store {
    pub async fn insert_signing_key(&self, k: &SigningKeyRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO signing_keys (pool_id, kid, key_sealed, created_at) VALUES ($1, $2, $3, $4)",
                vec![Text(&k.pool_id), Text(&k.kid), Text(&k.key_sealed), Int(k.created_at)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A pool's keys, oldest first (the oldest signs; all verify).
    pub async fn list_signing_keys(&self, pool_id: &str) -> Result<Vec<SigningKeyRow>> {
        fetch_all(
            self,
            q("SELECT pool_id, kid, key_sealed, created_at FROM signing_keys WHERE pool_id = $1 ORDER BY created_at, kid", vec![Text(pool_id)]),
        )
        .await
    }

    pub async fn delete_signing_key(&self, pool_id: &str, kid: &str) -> Result<bool> {
        let n = execute(
            self,
            q("DELETE FROM signing_keys WHERE pool_id = $1 AND kid = $2", vec![Text(pool_id), Text(kid)]),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn insert_refresh_token(&self, t: &RefreshTokenRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO refresh_tokens (token_hash, pool_id, username_key, client_id, origin_jti, auth_time, created_at, expires_at, revoked_at, rotated_at, scopes) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                vec![
                    Text(&t.token_hash),
                    Text(&t.pool_id),
                    Text(&t.username_key),
                    Text(&t.client_id),
                    Text(&t.origin_jti),
                    Int(t.auth_time),
                    Int(t.created_at),
                    Int(t.expires_at),
                    Int(t.revoked_at),
                    Int(t.rotated_at),
                    Text(&t.scopes),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_refresh_token(&self, token_hash: &str) -> Result<Option<RefreshTokenRow>> {
        fetch_optional(
            self,
            q(
                "SELECT token_hash, pool_id, username_key, client_id, origin_jti, auth_time, created_at, expires_at, revoked_at, rotated_at, scopes \
                 FROM refresh_tokens WHERE token_hash = $1",
                vec![Text(token_hash)],
            ),
        )
        .await
    }

    /// Revokes one refresh token; false when it was unknown or already revoked.
    pub async fn revoke_refresh_token(&self, token_hash: &str, now: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at = 0",
                vec![Int(now), Text(token_hash)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// What checking an access token needs, in one query: the user its
    /// `sub` names, whether its sign-in (`origin_jti`) was revoked, and
    /// whether the user has any MFA settings stored.
    pub async fn user_for_access(&self, pool_id: &str, sub: &str, origin_jti: &str) -> Result<Option<AccessCheck>> {
        fetch_optional(self, q(USER_FOR_ACCESS, vec![Text(pool_id), Text(sub), Text(origin_jti)])).await
    }

    /// Marks a refresh token as replaced by rotation: true for exactly one
    /// of any number of concurrent uses.
    pub async fn mark_rotated(&self, token_hash: &str, now: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2 AND rotated_at = 0 AND revoked_at = 0",
                vec![Int(now), Text(token_hash)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// Revokes every refresh token of one sign-in (a rotation family).
    pub async fn revoke_origin(&self, pool_id: &str, origin_jti: &str, now: i64) -> Result<()> {
        execute(
            self,
            q(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE pool_id = $2 AND origin_jti = $3 AND revoked_at = 0",
                vec![Int(now), Text(pool_id), Text(origin_jti)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A user's earlier password hashes, newest first.
    pub async fn password_history(&self, user: UserKey<'_>, limit: i64) -> Result<Vec<String>> {
        let UserKey { pool_id, username_key } = user;
        on_db!(self, pool => {
            let rows = sqlx::query(
                "SELECT password_hash FROM password_history WHERE pool_id = $1 AND username_key = $2 ORDER BY created_at DESC LIMIT $3 + 0",
            )
            .bind(pool_id)
            .bind(username_key)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|r| r.try_get::<String, _>("password_hash").map_err(Into::into)).collect()
        })
    }

    /// Remembers a replaced password hash, keeping the newest `keep`.
    pub async fn push_password_history(&self, user: UserKey<'_>, hash: &str, now: i64, keep: i64) -> Result<()> {
        let UserKey { pool_id, username_key } = user;
        transaction(
            self,
            vec![
                q(
                    "INSERT INTO password_history (pool_id, username_key, password_hash, created_at) VALUES ($1, $2, $3, $4)",
                    vec![Text(pool_id), Text(username_key), Text(hash), Int(now)],
                ),
                q(
                    "DELETE FROM password_history WHERE pool_id = $1 AND username_key = $2 AND password_hash NOT IN \
                     (SELECT password_hash FROM password_history WHERE pool_id = $1 AND username_key = $2 ORDER BY created_at DESC LIMIT $3 + 0)",
                    vec![Text(pool_id), Text(username_key), Int(keep)],
                ),
            ],
            None,
        )
        .await
        .map(|_| ())
    }

    /// Revokes every refresh token of a user (global sign-out).
    pub async fn revoke_user_refresh_tokens(&self, user: UserKey<'_>, now: i64) -> Result<()> {
        let UserKey { pool_id, username_key } = user;
        execute(
            self,
            q(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE pool_id = $2 AND username_key = $3 AND revoked_at = 0",
                vec![Int(now), Text(pool_id), Text(username_key)],
            ),
        )
        .await
        .map(|_| ())
    }
}
