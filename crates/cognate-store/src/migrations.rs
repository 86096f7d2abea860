//! Versioned schema migrations, applied at start.
//!
//! Each migration is SQL that both engines accept. They run in order, each in
//! its own transaction together with its row in `schema_migrations`. On
//! PostgreSQL a transaction-scoped advisory lock serialises nodes that start
//! at the same time; SQLite serialises writers by itself. A migration, once
//! released, is never edited: add a new one.

use crate::{Db, Result, Store, StoreError};

/// (version, statements). Append only.
const MIGRATIONS: &[(i64, &[&str])] = &[
    (
        1,
        &[
            "CREATE TABLE admin_keys (
            access_key_id TEXT PRIMARY KEY,
            secret_sealed TEXT NOT NULL,
            description TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE TABLE user_pools (
            id TEXT PRIMARY KEY,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            version BIGINT NOT NULL,
            config TEXT NOT NULL
        )",
            "CREATE INDEX user_pools_by_region ON user_pools (region, id)",
            "CREATE TABLE pool_tags (
            pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (pool_id, key)
        )",
            "CREATE TABLE user_pool_clients (
            id TEXT PRIMARY KEY,
            pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            version BIGINT NOT NULL,
            config TEXT NOT NULL
        )",
            "CREATE INDEX user_pool_clients_by_pool ON user_pool_clients (pool_id, id)",
            "CREATE TABLE client_secrets (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES user_pool_clients (id) ON DELETE CASCADE,
            secret_sealed TEXT NOT NULL,
            created_at BIGINT NOT NULL
        )",
            "CREATE INDEX client_secrets_by_client ON client_secrets (client_id)",
        ],
    ),
    (2, crate::users::MIGRATION_2),
    (3, crate::directory::MIGRATION_3),
    (4, crate::mfa::MIGRATION_4),
    (5, crate::users::MIGRATION_5),
    (6, crate::users::MIGRATION_6),
    (7, crate::oauth::MIGRATION_7),
    (8, crate::oauth::MIGRATION_8),
    (9, crate::oauth::MIGRATION_9),
];

/// The newest schema version this build knows: the last migration's.
pub const LATEST: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// A statement as one engine runs it: `{collate_c}` asks for byte-order
/// comparison of a column, which SQLite does by default and PostgreSQL
/// does with the "C" collation.
fn for_engine(statement: &str, postgres: bool) -> String {
    statement.replace("{collate_c}", if postgres { " COLLATE \"C\"" } else { "" })
}

pub(crate) async fn run(store: &Store) -> Result<()> {
    match &store.db {
        Db::Sqlite(pool) => {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(pool)
            .await?;
            for (version, statements) in MIGRATIONS {
                // BEGIN IMMEDIATE takes the write lock before reading the
                // applied versions, so two processes cannot both apply one.
                let mut conn = pool.acquire().await?;
                sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
                let outcome = apply_sqlite(&mut conn, *version, statements).await;
                let end = if outcome.is_ok() { "COMMIT" } else { "ROLLBACK" };
                sqlx::query(end).execute(&mut *conn).await?;
                outcome?;
            }
        }
        Db::Postgres(pool) => {
            for (version, statements) in MIGRATIONS {
                let mut tx = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7262836)").execute(&mut *tx).await?;
                sqlx::query("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
                    .execute(&mut *tx)
                    .await?;
                let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
                if done.is_none() {
                    for s in *statements {
                        sqlx::query(sqlx::AssertSqlSafe(for_engine(s, true))).execute(&mut *tx).await?;
                    }
                    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                        .bind(version)
                        .bind(now_ms())
                        .execute(&mut *tx)
                        .await?;
                    tracing::info!(version, "applied migration");
                }
                tx.commit().await?;
            }
        }
    }
    let newest = store.schema_version().await?;
    if newest > LATEST {
        return Err(StoreError::Database(format!(
            "the database schema is at version {newest}, newer than this build knows ({LATEST}); upgrade Cognate"
        )));
    }
    Ok(())
}

async fn apply_sqlite(conn: &mut sqlx::SqliteConnection, version: i64, statements: &[&'static str]) -> Result<()> {
    let done: Option<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?;
    if done.is_some() {
        return Ok(());
    }
    for s in statements {
        sqlx::query(sqlx::AssertSqlSafe(for_engine(s, false))).execute(&mut *conn).await?;
    }
    sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
        .bind(version)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    tracing::info!(version, "applied migration");
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Store {
    /// The highest applied migration.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = match &self.db {
            Db::Sqlite(p) => sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(p).await?,
            Db::Postgres(p) => sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations").fetch_one(p).await?,
        };
        Ok(v.unwrap_or(0))
    }
}
