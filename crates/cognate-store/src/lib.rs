//! Storage: one API, two engines (embedded SQLite and PostgreSQL).
//!
//! This crate knows tables and rows, not Cognito: the domain crates decide
//! what a row means. Every query is written once, in SQL both engines accept
//! (`$1` placeholders, `TEXT` and `BIGINT` columns); the [`on_db!`] macro runs
//! it against whichever engine is open. Where the engines must differ (the
//! connection set-up, the migration lock) the difference lives here and only
//! here.
//!
//! Invariants:
//! * Uniqueness is enforced by the database (primary keys and unique
//!   indexes); a violation surfaces as [`StoreError::Conflict`], never as a
//!   check-then-insert race.
//! * Read-modify-write of a configuration document goes through a `version`
//!   column: an update that lost a race changes nothing and reports it.
//! * Times are milliseconds since the Unix epoch, passed in by the caller.
//! * A bound page size is written `LIMIT $n + 0`: SQLite plans with the value
//!   of a bare `LIMIT $n`, so it re-prepares the statement at every
//!   execution; an expression keeps the prepared statement.

mod migrations;
mod point;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row as _, postgres::PgRow, sqlite::SqliteRow};
use std::str::FromStr as _;
use std::time::Duration;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file (created if missing), in WAL mode.
    SqliteFile(std::path::PathBuf),
    /// A private in-memory SQLite database that lives as long as the store.
    SqliteMemory,
    /// A PostgreSQL connection URL.
    Postgres(String),
}

#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// The handle every domain service holds. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// For a SQLite file: the one connection that writes (see `open`).
    db: Db,
    /// Single-row reads on the calling thread, for a SQLite file.
    readers: Option<std::sync::Arc<point::Readers>>,
    /// Listings of a SQLite file, on `query_only` connections of their own.
    lists: Option<SqlitePool>,
}

#[derive(Debug)]
pub enum StoreError {
    /// A uniqueness constraint refused the write.
    Conflict,
    /// A row the write refers to does not exist (a foreign key refused it).
    Dangling,
    /// The database could not be reached or failed.
    Database(String),
    /// A stored value could not be read back as expected.
    Corrupt(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("uniqueness constraint violated"),
            StoreError::Dangling => f.write_str("foreign key constraint violated"),
            StoreError::Database(e) => write!(f, "database error: {e}"),
            StoreError::Corrupt(e) => write!(f, "stored data unreadable: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict,
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::Dangling,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Runs the same expression against whichever engine is open; `$pool` is
/// bound to the engine's pool inside it.
macro_rules! on_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            Db::Sqlite($pool) => $body,
            Db::Postgres($pool) => $body,
        }
    };
}

/// Reads a row of either engine into a value; the closure body is compiled
/// once per engine.
trait FromRow: Sized {
    fn from_sqlite(row: &SqliteRow) -> Result<Self>;
    fn from_pg(row: &PgRow) -> Result<Self>;
    /// A row of a point read (see [`point`]).
    fn from_rusqlite(row: &rusqlite::Row<'_>) -> Result<Self>;
}

macro_rules! row_struct {
    ($(#[$m:meta])* pub struct $name:ident { $(pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name { $(pub $field: $ty),* }
        impl FromRow for $name {
            fn from_sqlite(row: &SqliteRow) -> Result<Self> {
                Ok($name { $($field: row.try_get(stringify!($field))?),* })
            }
            fn from_pg(row: &PgRow) -> Result<Self> {
                Ok($name { $($field: row.try_get(stringify!($field))?),* })
            }
            fn from_rusqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
                let mut _at = 0;
                $(let $field = row.get($crate::point::column(row, _at, stringify!($field))?)?; _at += 1;)*
                Ok($name { $($field),* })
            }
        }
    };
}

mod audit;
mod directory;
mod mfa;
mod oauth;
mod users;
pub use audit::{AuditFilter, AuditRow, AuthEventRow};
pub use directory::{Cursor, GroupRow, MAX_INDEXED_CHARS, Membership, SearchEntry, UserListing, UserPage, UserQuery};
pub use mfa::{DeviceRow, MfaRow};
pub use oauth::{
    AuthCodeRow, BrandingRow, DeviceCodeRow, DomainRow, IdentityProviderRow, LoginSessionRow, ResourceServerRow,
    UiCustomizationRow,
};
pub use users::{
    AccessCheck, AliasRow, CodeRow, OutboxRow, RefreshTokenRow, SigningKeyRow, UNKNOWN_NAME_TTL_MS, UnknownNameRow,
    UserKey, UserRow,
};

row_struct! {
    /// An admin access key; the secret is sealed by the caller.
    pub struct AdminKeyRow {
        pub access_key_id: String,
        pub secret_sealed: String,
        pub description: String,
        pub created_at: i64,
    }
}

row_struct! {
    /// A user pool: a few columns to search and sort on, the rest a JSON
    /// document owned by the domain.
    pub struct PoolRow {
        pub id: String,
        pub region: String,
        pub name: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub version: i64,
        pub config: String,
    }
}

row_struct! {
    pub struct ClientRow {
        pub id: String,
        pub pool_id: String,
        pub name: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub version: i64,
        pub config: String,
    }
}

row_struct! {
    /// One secret of an app client (a client may have more than one during a
    /// rotation). The secret is sealed by the caller.
    pub struct ClientSecretRow {
        pub id: String,
        pub client_id: String,
        pub secret_sealed: String,
        pub created_at: i64,
    }
}

row_struct! {
    pub struct TagRow {
        pub key: String,
        pub value: String,
    }
}

/// Binds a statement's arguments, in order, to an engine's query.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for a in $args {
            query = match a {
                Arg::Text(s) => query.bind(s),
                Arg::OptText(s) => query.bind(s),
                Arg::Int(i) => query.bind(i),
                Arg::OptInt(i) => query.bind(i),
            };
        }
        query
    }};
}

async fn fetch_all<T: FromRow>(store: &Store, q: Query<'_>) -> Result<Vec<T>> {
    if let Some(pool) = &store.lists {
        let rows = bind_args!(sqlx::query(q.sql), q.args).fetch_all(pool).await?;
        return rows.iter().map(row_reader::<T, _>()).collect();
    }
    on_db!(store, pool => {
        let rows = bind_args!(sqlx::query(q.sql), q.args).fetch_all(pool).await?;
        rows.iter().map(row_reader::<T, _>()).collect()
    })
}

/// At most one row: a point read, on the calling thread for a SQLite file.
async fn fetch_optional<T: FromRow>(store: &Store, q: Query<'_>) -> Result<Option<T>> {
    if let Some(readers) = &store.readers {
        return readers.fetch_optional(&q);
    }
    Ok(fetch_all::<T>(store, q).await?.into_iter().next())
}

/// A listing whose `LIMIT` (the SQL's, equal to `max`) and an index keep to
/// a few rows: like a point read, on the calling thread for a SQLite file.
async fn fetch_few<T: FromRow>(store: &Store, q: Query<'_>, max: usize) -> Result<Vec<T>> {
    match &store.readers {
        Some(readers) => readers.fetch_up_to(&q, max),
        None => fetch_all::<T>(store, q).await,
    }
}

/// A write that returns at most one row (`DELETE ... RETURNING`), on the
/// writer: never on the read-only point readers or list pool.
async fn write_returning<T: FromRow>(store: &Store, q: Query<'_>) -> Result<Option<T>> {
    on_db!(store, pool => {
        let row = bind_args!(sqlx::query(q.sql), q.args).fetch_optional(pool).await?;
        row.as_ref().map(row_reader::<T, _>()).transpose()
    })
}

async fn execute(store: &Store, q: Query<'_>) -> Result<u64> {
    on_db!(store, pool => Ok(bind_args!(sqlx::query(q.sql), q.args).execute(pool).await?.rows_affected()))
}

/// Runs statements in one transaction. `guard` names a statement that must
/// change at least one row, or the whole transaction is rolled back and
/// `Ok(false)` returned (an optimistic update that lost its race).
async fn transaction(store: &Store, statements: Vec<Query<'_>>, guard: Option<usize>) -> Result<bool> {
    on_db!(store, pool => {
        let mut tx = pool.begin().await?;
        for (i, q) in statements.into_iter().enumerate() {
            let n = bind_args!(sqlx::query(q.sql), q.args).execute(&mut *tx).await?.rows_affected();
            if guard == Some(i) && n == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    })
}

/// Picks the row reader for the engine's row type.
fn row_reader<T: FromRow, R: EngineRow>() -> impl Fn(&R) -> Result<T> {
    |r: &R| r.read::<T>()
}

trait EngineRow {
    fn read<T: FromRow>(&self) -> Result<T>;
}

impl EngineRow for SqliteRow {
    fn read<T: FromRow>(&self) -> Result<T> {
        T::from_sqlite(self)
    }
}

impl EngineRow for PgRow {
    fn read<T: FromRow>(&self) -> Result<T> {
        T::from_pg(self)
    }
}

#[derive(Debug, Clone, Copy)]
enum Arg<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
}

struct Query<'a> {
    sql: &'static str,
    args: Vec<Arg<'a>>,
}

fn q<'a>(sql: &'static str, args: Vec<Arg<'a>>) -> Query<'a> {
    Query { sql, args }
}

use Arg::{Int, OptText, Text};

/// Makes the database file (created empty if missing) and its WAL and
/// shared-memory files readable and writable by the owner only: they hold
/// password hashes and sealed secrets. SQLite creates the WAL and SHM files
/// with the main file's permissions, so creating that one 0600 covers the
/// others; files left 0644 by an older Cognate are tightened here.
fn owner_only(path: &std::path::Path) -> Result<()> {
    let fail = |p: &std::path::Path, e: std::io::Error| StoreError::Database(format!("{}: {e}", p.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| fail(path, e))?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = std::path::PathBuf::from(name);
            match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(fail(&file, e)),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, fail);
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub async fn open(location: &Location) -> Result<Store> {
        let (mut readers, mut lists) = (None, None);
        let db = match location {
            Location::SqliteFile(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| StoreError::Database(format!("{}: {e}", dir.display())))?;
                }
                owner_only(path)?;
                let opts = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                // One connection writes: SQLite lets one writer in at a time
                // and makes the others sleep and retry (1, 2, 5, ... 100 ms),
                // which under concurrent sign-ins cost hundreds of
                // milliseconds; queued here, writes wait only for each other.
                let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts.clone()).await?;
                // Reads never wait for the writer in WAL mode: listings on
                // connections that refuse writes (query_only; not opened
                // read-only, which WAL allows only while its files exist),
                // point reads on the calling thread.
                let list_pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(opts.create_if_missing(false).pragma("query_only", "ON"))
                    .await?;
                lists = Some(list_pool);
                readers = Some(std::sync::Arc::new(point::Readers::new(path)));
                Db::Sqlite(pool)
            }
            Location::SqliteMemory => {
                // One connection that never idles out: the database is that
                // connection, and disappears with it.
                let opts = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(opts)
                    .await?;
                Db::Sqlite(pool)
            }
            Location::Postgres(url) => {
                let opts = PgConnectOptions::from_str(url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?;
                Db::Postgres(pool)
            }
        };
        let store = Store { db, readers, lists };
        migrations::run(&store).await?;
        Ok(store)
    }

    pub fn engine(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A round trip to the database, for `/ready`.
    pub async fn ping(&self) -> Result<()> {
        execute(self, q("SELECT 1", vec![])).await.map(|_| ())
    }

    /// On PostgreSQL, the process id of the server process serving one of
    /// this store's connections (its parent is the postmaster); None on
    /// SQLite. For the benchmark, which reads PostgreSQL's CPU time.
    pub async fn postgres_backend_pid(&self) -> Result<Option<i64>> {
        if !matches!(self.db, Db::Postgres(_)) {
            return Ok(None);
        }
        let rows: Vec<BackendPid> = fetch_all(self, q("SELECT pg_backend_pid()::BIGINT AS pid", vec![])).await?;
        Ok(rows.first().map(|r| r.pid))
    }

    pub async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.close();
        }
        if let Some(lists) = &self.lists {
            lists.close().await;
        }
        on_db!(self, pool => pool.close().await)
    }

    // ---- admin keys ----

    pub async fn insert_admin_key(&self, row: &AdminKeyRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO admin_keys (access_key_id, secret_sealed, description, created_at) VALUES ($1, $2, $3, $4)",
                vec![Text(&row.access_key_id), Text(&row.secret_sealed), Text(&row.description), Int(row.created_at)],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_admin_key(&self, access_key_id: &str) -> Result<Option<AdminKeyRow>> {
        fetch_optional(
            self,
            q(
                "SELECT access_key_id, secret_sealed, description, created_at FROM admin_keys WHERE access_key_id = $1",
                vec![Text(access_key_id)],
            ),
        )
        .await
    }

    pub async fn list_admin_keys(&self) -> Result<Vec<AdminKeyRow>> {
        fetch_all(self, q("SELECT access_key_id, secret_sealed, description, created_at FROM admin_keys ORDER BY created_at, access_key_id", vec![])).await
    }

    pub async fn delete_admin_key(&self, access_key_id: &str) -> Result<bool> {
        Ok(execute(self, q("DELETE FROM admin_keys WHERE access_key_id = $1", vec![Text(access_key_id)])).await? > 0)
    }

    // ---- user pools ----

    pub async fn insert_pool(&self, row: &PoolRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO user_pools (id, region, name, created_at, updated_at, version, config) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    Text(&row.id),
                    Text(&row.region),
                    Text(&row.name),
                    Int(row.created_at),
                    Int(row.updated_at),
                    Int(row.version),
                    Text(&row.config),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_pool(&self, id: &str) -> Result<Option<PoolRow>> {
        fetch_optional(
            self,
            q(
                "SELECT id, region, name, created_at, updated_at, version, config FROM user_pools WHERE id = $1",
                vec![Text(id)],
            ),
        )
        .await
    }

    /// Replaces name and configuration if the row is still at `version`;
    /// false when it is gone or another writer got there first.
    pub async fn update_pool(&self, id: &str, version: i64, name: &str, config: &str, now: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE user_pools SET name = $1, config = $2, updated_at = $3, version = version + 1 WHERE id = $4 AND version = $5",
                vec![Text(name), Text(config), Int(now), Text(id), Int(version)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// Deletes the pool and, by cascade, everything in it.
    pub async fn delete_pool(&self, id: &str) -> Result<bool> {
        Ok(execute(self, q("DELETE FROM user_pools WHERE id = $1", vec![Text(id)])).await? > 0)
    }

    /// One region's pools in id order, after `after` (exclusive), at most `limit`.
    pub async fn list_pools(&self, region: &str, after: Option<&str>, limit: i64) -> Result<Vec<PoolRow>> {
        fetch_all(
            self,
            q(
                "SELECT id, region, name, created_at, updated_at, version, config FROM user_pools \
                 WHERE region = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3 + 0",
                vec![Text(region), OptText(after), Int(limit)],
            ),
        )
        .await
    }

    // ---- tags (user pools are the taggable resource) ----

    pub async fn put_tag(&self, pool_id: &str, key: &str, value: &str) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO pool_tags (pool_id, key, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (pool_id, key) DO UPDATE SET value = excluded.value",
                vec![Text(pool_id), Text(key), Text(value)],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn delete_tag(&self, pool_id: &str, key: &str) -> Result<()> {
        execute(self, q("DELETE FROM pool_tags WHERE pool_id = $1 AND key = $2", vec![Text(pool_id), Text(key)]))
            .await
            .map(|_| ())
    }

    pub async fn list_tags(&self, pool_id: &str) -> Result<Vec<TagRow>> {
        fetch_all(self, q("SELECT key, value FROM pool_tags WHERE pool_id = $1 ORDER BY key", vec![Text(pool_id)]))
            .await
    }

    // ---- app clients ----

    pub async fn insert_client(&self, row: &ClientRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO user_pool_clients (id, pool_id, name, created_at, updated_at, version, config) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                vec![
                    Text(&row.id),
                    Text(&row.pool_id),
                    Text(&row.name),
                    Int(row.created_at),
                    Int(row.updated_at),
                    Int(row.version),
                    Text(&row.config),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_client(&self, pool_id: &str, id: &str) -> Result<Option<ClientRow>> {
        fetch_optional(
            self,
            q(
                "SELECT id, pool_id, name, created_at, updated_at, version, config FROM user_pool_clients WHERE pool_id = $1 AND id = $2",
                vec![Text(pool_id), Text(id)],
            ),
        )
        .await
    }

    /// A client by id alone, for public calls that name only the client.
    pub async fn get_client_by_id(&self, id: &str) -> Result<Option<ClientRow>> {
        fetch_optional(
            self,
            q("SELECT id, pool_id, name, created_at, updated_at, version, config FROM user_pool_clients WHERE id = $1", vec![Text(id)]),
        )
        .await
    }

    pub async fn update_client(
        &self,
        pool_id: &str,
        id: &str,
        version: i64,
        name: &str,
        config: &str,
        now: i64,
    ) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE user_pool_clients SET name = $1, config = $2, updated_at = $3, version = version + 1 \
                 WHERE pool_id = $4 AND id = $5 AND version = $6",
                vec![Text(name), Text(config), Int(now), Text(pool_id), Text(id), Int(version)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn delete_client(&self, pool_id: &str, id: &str) -> Result<bool> {
        Ok(execute(
            self,
            q("DELETE FROM user_pool_clients WHERE pool_id = $1 AND id = $2", vec![Text(pool_id), Text(id)]),
        )
        .await?
            > 0)
    }

    pub async fn list_clients(&self, pool_id: &str, after: Option<&str>, limit: i64) -> Result<Vec<ClientRow>> {
        fetch_all(
            self,
            q(
                "SELECT id, pool_id, name, created_at, updated_at, version, config FROM user_pool_clients \
                 WHERE pool_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3 + 0",
                vec![Text(pool_id), OptText(after), Int(limit)],
            ),
        )
        .await
    }

    // ---- client secrets ----

    pub async fn insert_client_secret(&self, row: &ClientSecretRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO client_secrets (id, client_id, secret_sealed, created_at) VALUES ($1, $2, $3, $4)",
                vec![Text(&row.id), Text(&row.client_id), Text(&row.secret_sealed), Int(row.created_at)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// Adds a secret only while the client has fewer than `max` of them; the
    /// count and the insert are one statement, so two concurrent calls cannot
    /// both squeeze past the limit.
    pub async fn insert_client_secret_bounded(&self, row: &ClientSecretRow, max: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "INSERT INTO client_secrets (id, client_id, secret_sealed, created_at) \
                 SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM client_secrets WHERE client_id = $2) < $5",
                vec![Text(&row.id), Text(&row.client_id), Text(&row.secret_sealed), Int(row.created_at), Int(max)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn list_client_secrets(&self, client_id: &str) -> Result<Vec<ClientSecretRow>> {
        // A client has at most two (rotation); the limit only bounds the read.
        fetch_few(
            self,
            q(
                "SELECT id, client_id, secret_sealed, created_at FROM client_secrets WHERE client_id = $1 \
                 ORDER BY created_at, id LIMIT 8",
                vec![Text(client_id)],
            ),
            8,
        )
        .await
    }

    /// Deletes one secret unless it is the client's last one.
    pub async fn delete_client_secret_unless_last(&self, client_id: &str, secret_id: &str) -> Result<bool> {
        let n = execute(
            self,
            q(
                "DELETE FROM client_secrets WHERE client_id = $1 AND id = $2 \
                 AND (SELECT COUNT(*) FROM client_secrets WHERE client_id = $1) > 1",
                vec![Text(client_id), Text(secret_id)],
            ),
        )
        .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests;

/// Throw-away PostgreSQL databases for test suites: each run gets a database
/// of its own on the server named by a URL, and drops it at the end.
pub mod scratch {
    use super::Result;
    use sqlx::postgres::PgPoolOptions;

    /// Creates a fresh, uniquely named database and returns its URL.
    pub async fn create_database(server_url: &str, name: &str) -> Result<String> {
        let admin = PgPoolOptions::new().max_connections(1).connect(server_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&admin).await?;
        admin.close().await;
        Ok(with_database(server_url, name))
    }

    pub async fn drop_database(server_url: &str, name: &str) -> Result<()> {
        let admin = PgPoolOptions::new().max_connections(1).connect(server_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
            .execute(&admin)
            .await?;
        admin.close().await;
        Ok(())
    }

    /// `postgres://u@h:5432/db?x=y` with the database replaced by `name`.
    pub fn with_database(url: &str, name: &str) -> String {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
        let host = rest.split_once('/').map_or(rest, |(h, _)| h);
        match query {
            Some(q) => format!("{scheme}://{host}/{name}?{q}"),
            None => format!("{scheme}://{host}/{name}"),
        }
    }
}

row_struct! {
    /// A PostgreSQL server process id.
    pub struct BackendPid {
        pub pid: i64,
    }
}
