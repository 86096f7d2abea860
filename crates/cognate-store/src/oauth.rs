//! What the OAuth 2.0 side of a pool keeps: its domains (where the hosted
//! endpoints answer), its resource servers (custom scopes), authorization
//! codes between /oauth2/authorize and /oauth2/token, and the one-hour
//! sign-in sessions behind the hosted pages' cookie, and the device codes
//! of the device authorization grant (an extension).
//!
//! Codes and sessions are stored by a hash of their value; the values
//! themselves exist only in the browser and the HTTP exchange. A code is
//! taken by one DELETE ... RETURNING, so of two racing token requests with
//! the same code exactly one gets it.

use crate::{Arg, FromRow, Result, Store, execute, fetch_all, fetch_optional, q, transaction, write_returning};
use Arg::{Int, OptText, Text};
use sqlx::Row as _;
use sqlx::{postgres::PgRow, sqlite::SqliteRow};

row_struct! {
    /// A pool's domain: a prefix (`custom` = 0) or a custom domain's full
    /// name (`custom` = 1), lower-case. `config` is a JSON document owned by
    /// the domain layer. A pool has at most one of each kind.
    pub struct DomainRow {
        pub domain: String,
        pub pool_id: String,
        pub custom: i64,
        pub config: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

row_struct! {
    /// A resource server of a pool; `config` is its JSON description.
    pub struct ResourceServerRow {
        pub pool_id: String,
        pub identifier: String,
        pub config: String,
        pub created_at: i64,
    }
}

row_struct! {
    /// An identity provider of a pool. `config` is its IdentityProviderType
    /// without the secret details, which are sealed apart in
    /// `secrets_sealed` (a JSON object of the secret ProviderDetails).
    pub struct IdentityProviderRow {
        pub pool_id: String,
        pub name: String,
        pub provider_type: String,
        pub config: String,
        pub secrets_sealed: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

row_struct! {
    /// A provider's name alone.
    pub struct ProviderName {
        pub name: String,
    }
}

row_struct! {
    /// The classic hosted UI's look for one client of a pool, or for every
    /// client without one of its own (`client_id` = `ALL`): sanitized CSS and
    /// a logo (base64, empty for none).
    pub struct UiCustomizationRow {
        pub pool_id: String,
        pub client_id: String,
        pub css: String,
        pub image: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

row_struct! {
    /// A managed-login branding style of one client; `doc` is a JSON
    /// document owned by the domain layer (settings, assets).
    pub struct BrandingRow {
        pub id: String,
        pub pool_id: String,
        pub client_id: String,
        pub doc: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

row_struct! {
    /// An authorization code, by the SHA-256 of its value; `grant_doc` is a JSON
    /// document owned by the domain layer (user, redirect URI, scopes, PKCE
    /// challenge, nonce, ...).
    pub struct AuthCodeRow {
        pub code_hash: String,
        pub pool_id: String,
        pub client_id: String,
        pub grant_doc: String,
        pub expires_at: i64,
    }
}

row_struct! {
    /// A hosted sign-in session, by the SHA-256 of its cookie value.
    pub struct LoginSessionRow {
        pub id_hash: String,
        pub pool_id: String,
        pub username_key: String,
        pub auth_time: i64,
        pub expires_at: i64,
    }
}

row_struct! {
    /// A device authorization (RFC 8628), by the SHA-256 of its device
    /// code; `user_code` is what the person types. `state` is 0 while
    /// pending, 1 approved (by `username_key`, signed in at `auth_time`), 2
    /// denied.
    pub struct DeviceCodeRow {
        pub device_hash: String,
        pub user_code: String,
        pub pool_id: String,
        pub client_id: String,
        pub scopes: String,
        pub state: i64,
        pub username_key: String,
        pub auth_time: i64,
        pub polled_at: i64,
        pub expires_at: i64,
    }
}

macro_rules! device_columns {
    () => {
        "device_hash, user_code, pool_id, client_id, scopes, state, username_key, auth_time, polled_at, expires_at"
    };
}

/// Identity providers (federation) and the identifiers that route a
/// sign-in to them (unique in a pool, so the database settles two that
/// claim one name at once).
pub(crate) const MIGRATION_9: &[&str] = &[
    "CREATE TABLE identity_providers (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        provider_type TEXT NOT NULL,
        config TEXT NOT NULL,
        secrets_sealed TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, name)
    )",
    "CREATE TABLE idp_identifiers (
        pool_id TEXT NOT NULL,
        identifier TEXT NOT NULL,
        provider_name TEXT NOT NULL,
        PRIMARY KEY (pool_id, identifier),
        FOREIGN KEY (pool_id, provider_name) REFERENCES identity_providers (pool_id, name) ON DELETE CASCADE
    )",
];

pub(crate) const MIGRATION_8: &[&str] = &[
    "CREATE TABLE device_codes (
        device_hash TEXT PRIMARY KEY,
        user_code TEXT NOT NULL UNIQUE,
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        client_id TEXT NOT NULL,
        scopes TEXT NOT NULL,
        state BIGINT NOT NULL,
        username_key TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        polled_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    )",
    "CREATE INDEX device_codes_by_expiry ON device_codes (expires_at)",
];

pub(crate) const MIGRATION_7: &[&str] = &[
    "CREATE TABLE pool_domains (
        domain TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        custom BIGINT NOT NULL,
        config TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX pool_domains_one_per_kind ON pool_domains (pool_id, custom)",
    "CREATE TABLE resource_servers (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        identifier TEXT NOT NULL,
        config TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, identifier)
    )",
    "CREATE TABLE oauth_codes (
        code_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        client_id TEXT NOT NULL,
        grant_doc TEXT NOT NULL,
        expires_at BIGINT NOT NULL
    )",
    "CREATE INDEX oauth_codes_by_expiry ON oauth_codes (expires_at)",
    "CREATE TABLE login_sessions (
        id_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        username_key TEXT NOT NULL,
        auth_time BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    )",
    "CREATE INDEX login_sessions_by_expiry ON login_sessions (expires_at)",
    "ALTER TABLE refresh_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT ''",
    "CREATE TABLE ui_customizations (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        client_id TEXT NOT NULL,
        css TEXT NOT NULL,
        image TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, client_id)
    )",
    "CREATE TABLE managed_login_brandings (
        id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        client_id TEXT NOT NULL,
        doc TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        UNIQUE (pool_id, client_id)
    )",
];

impl Store {
    // ---- domains ----

    /// Adds a domain; `Conflict` when the name is taken or the pool already
    /// has a domain of this kind.
    pub async fn insert_domain(&self, d: &DomainRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO pool_domains (domain, pool_id, custom, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
                vec![
                    Text(&d.domain),
                    Text(&d.pool_id),
                    Int(d.custom),
                    Text(&d.config),
                    Int(d.created_at),
                    Int(d.updated_at),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_domain(&self, domain: &str) -> Result<Option<DomainRow>> {
        fetch_optional(
            self,
            q(
                "SELECT domain, pool_id, custom, config, created_at, updated_at FROM pool_domains WHERE domain = $1",
                vec![Text(domain)],
            ),
        )
        .await
    }

    /// A pool's domains, prefix first.
    pub async fn pool_domains(&self, pool_id: &str) -> Result<Vec<DomainRow>> {
        fetch_all(
            self,
            q(
                "SELECT domain, pool_id, custom, config, created_at, updated_at FROM pool_domains WHERE pool_id = $1 ORDER BY custom",
                vec![Text(pool_id)],
            ),
        )
        .await
    }

    pub async fn update_domain(&self, d: &DomainRow) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE pool_domains SET config = $1, updated_at = $2 WHERE domain = $3 AND pool_id = $4",
                vec![Text(&d.config), Int(d.updated_at), Text(&d.domain), Text(&d.pool_id)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn delete_domain(&self, pool_id: &str, domain: &str) -> Result<bool> {
        let n = execute(
            self,
            q("DELETE FROM pool_domains WHERE pool_id = $1 AND domain = $2", vec![Text(pool_id), Text(domain)]),
        )
        .await?;
        Ok(n > 0)
    }

    // ---- resource servers ----

    /// Adds a resource server unless the pool has `limit` already;
    /// `Conflict` when the identifier is taken. False when over the limit.
    pub async fn insert_resource_server(&self, r: &ResourceServerRow, limit: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "INSERT INTO resource_servers (pool_id, identifier, config, created_at) \
                 SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM resource_servers WHERE pool_id = $1) < $5",
                vec![Text(&r.pool_id), Text(&r.identifier), Text(&r.config), Int(r.created_at), Int(limit)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn get_resource_server(&self, pool_id: &str, identifier: &str) -> Result<Option<ResourceServerRow>> {
        fetch_optional(
            self,
            q(
                "SELECT pool_id, identifier, config, created_at FROM resource_servers WHERE pool_id = $1 AND identifier = $2",
                vec![Text(pool_id), Text(identifier)],
            ),
        )
        .await
    }

    pub async fn update_resource_server(&self, r: &ResourceServerRow) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE resource_servers SET config = $1 WHERE pool_id = $2 AND identifier = $3",
                vec![Text(&r.config), Text(&r.pool_id), Text(&r.identifier)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn delete_resource_server(&self, pool_id: &str, identifier: &str) -> Result<bool> {
        let n = execute(
            self,
            q(
                "DELETE FROM resource_servers WHERE pool_id = $1 AND identifier = $2",
                vec![Text(pool_id), Text(identifier)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// A pool's resource servers in identifier order, after `after`, at most
    /// `limit`.
    pub async fn list_resource_servers(
        &self,
        pool_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ResourceServerRow>> {
        fetch_all(
            self,
            q(
                "SELECT pool_id, identifier, config, created_at FROM resource_servers \
                 WHERE pool_id = $1 AND ($2 IS NULL OR identifier > $2) ORDER BY identifier LIMIT $3 + 0",
                vec![Text(pool_id), OptText(after), Int(limit)],
            ),
        )
        .await
    }

    // ---- identity providers ----

    /// Adds a provider and its identifiers in one transaction, unless the
    /// pool has `limit` already (`Ok(false)`). A name or an identifier
    /// already in the pool is a [`StoreError::Conflict`].
    pub async fn insert_identity_provider(
        &self,
        r: &IdentityProviderRow,
        identifiers: &[String],
        limit: i64,
    ) -> Result<bool> {
        let mut stmts = vec![q(
            "INSERT INTO identity_providers (pool_id, name, provider_type, config, secrets_sealed, created_at, updated_at) \
             SELECT $1, $2, $3, $4, $5, $6, $7 WHERE (SELECT COUNT(*) FROM identity_providers WHERE pool_id = $1) < $8",
            vec![
                Text(&r.pool_id),
                Text(&r.name),
                Text(&r.provider_type),
                Text(&r.config),
                Text(&r.secrets_sealed),
                Int(r.created_at),
                Int(r.updated_at),
                Int(limit),
            ],
        )];
        stmts.extend(identifiers.iter().map(|id| {
            q(
                "INSERT INTO idp_identifiers (pool_id, identifier, provider_name) VALUES ($1, $2, $3)",
                vec![Text(&r.pool_id), Text(id), Text(&r.name)],
            )
        }));
        transaction(self, stmts, Some(0)).await
    }

    pub async fn get_identity_provider(&self, pool_id: &str, name: &str) -> Result<Option<IdentityProviderRow>> {
        fetch_optional(
            self,
            q(
                "SELECT pool_id, name, provider_type, config, secrets_sealed, created_at, updated_at \
                 FROM identity_providers WHERE pool_id = $1 AND name = $2",
                vec![Text(pool_id), Text(name)],
            ),
        )
        .await
    }

    /// The provider an identifier routes to.
    pub async fn identity_provider_by_identifier(
        &self,
        pool_id: &str,
        identifier: &str,
    ) -> Result<Option<IdentityProviderRow>> {
        fetch_optional(
            self,
            q(
                "SELECT p.pool_id, p.name, p.provider_type, p.config, p.secrets_sealed, p.created_at, p.updated_at \
                 FROM idp_identifiers i JOIN identity_providers p ON p.pool_id = i.pool_id AND p.name = i.provider_name \
                 WHERE i.pool_id = $1 AND i.identifier = $2",
                vec![Text(pool_id), Text(identifier)],
            ),
        )
        .await
    }

    /// Replaces a provider's configuration and, when `identifiers` is
    /// given, its identifiers, in one transaction, if the provider is still
    /// as it was read (`read_at`, its `updated_at` then); `Ok(false)`: gone
    /// or changed meanwhile. An identifier another provider holds is a
    /// conflict.
    pub async fn update_identity_provider(
        &self,
        r: &IdentityProviderRow,
        read_at: i64,
        identifiers: Option<&[String]>,
    ) -> Result<bool> {
        let mut stmts = vec![q(
            "UPDATE identity_providers SET config = $1, secrets_sealed = $2, updated_at = $3 \
             WHERE pool_id = $4 AND name = $5 AND updated_at = $6",
            vec![
                Text(&r.config),
                Text(&r.secrets_sealed),
                Int(r.updated_at),
                Text(&r.pool_id),
                Text(&r.name),
                Int(read_at),
            ],
        )];
        if let Some(identifiers) = identifiers {
            stmts.push(q(
                "DELETE FROM idp_identifiers WHERE pool_id = $1 AND provider_name = $2",
                vec![Text(&r.pool_id), Text(&r.name)],
            ));
            stmts.extend(identifiers.iter().map(|id| {
                q(
                    "INSERT INTO idp_identifiers (pool_id, identifier, provider_name) VALUES ($1, $2, $3)",
                    vec![Text(&r.pool_id), Text(id), Text(&r.name)],
                )
            }));
        }
        transaction(self, stmts, Some(0)).await
    }

    pub async fn delete_identity_provider(&self, pool_id: &str, name: &str) -> Result<bool> {
        let stmts = vec![
            q("DELETE FROM idp_identifiers WHERE pool_id = $1 AND provider_name = $2", vec![Text(pool_id), Text(name)]),
            q("DELETE FROM identity_providers WHERE pool_id = $1 AND name = $2", vec![Text(pool_id), Text(name)]),
        ];
        transaction(self, stmts, Some(1)).await
    }

    /// The names of a pool's providers.
    pub async fn identity_provider_names(&self, pool_id: &str) -> Result<Vec<String>> {
        let rows: Vec<ProviderName> =
            fetch_all(self, q("SELECT name FROM identity_providers WHERE pool_id = $1", vec![Text(pool_id)])).await?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }

    /// A pool's providers in name order, after `after`, at most `limit`.
    pub async fn list_identity_providers(
        &self,
        pool_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<IdentityProviderRow>> {
        fetch_all(
            self,
            q(
                "SELECT pool_id, name, provider_type, config, secrets_sealed, created_at, updated_at \
                 FROM identity_providers WHERE pool_id = $1 AND ($2 IS NULL OR name > $2) ORDER BY name LIMIT $3 + 0",
                vec![Text(pool_id), OptText(after), Int(limit)],
            ),
        )
        .await
    }

    // ---- the hosted UI's look ----

    /// Replaces the look of a client (or `ALL`), keeping when it was first set.
    pub async fn put_ui_customization(&self, u: &UiCustomizationRow) -> Result<()> {
        execute(
            self,
            q(
                "INSERT INTO ui_customizations (pool_id, client_id, css, image, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pool_id, client_id) DO UPDATE SET \
                 css = excluded.css, image = excluded.image, updated_at = excluded.updated_at",
                vec![
                    Text(&u.pool_id),
                    Text(&u.client_id),
                    Text(&u.css),
                    Text(&u.image),
                    Int(u.created_at),
                    Int(u.updated_at),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    pub async fn get_ui_customization(&self, pool_id: &str, client_id: &str) -> Result<Option<UiCustomizationRow>> {
        fetch_optional(
            self,
            q(
                "SELECT pool_id, client_id, css, image, created_at, updated_at FROM ui_customizations \
                 WHERE pool_id = $1 AND client_id = $2",
                vec![Text(pool_id), Text(client_id)],
            ),
        )
        .await
    }

    // ---- managed-login branding ----

    /// Adds a style unless the pool has `limit`; `Conflict` when the client
    /// has one. False when over the limit.
    pub async fn insert_branding(&self, b: &BrandingRow, limit: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "INSERT INTO managed_login_brandings (id, pool_id, client_id, doc, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM managed_login_brandings WHERE pool_id = $2) < $7",
                vec![
                    Text(&b.id),
                    Text(&b.pool_id),
                    Text(&b.client_id),
                    Text(&b.doc),
                    Int(b.created_at),
                    Int(b.updated_at),
                    Int(limit),
                ],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn get_branding(&self, pool_id: &str, id: &str) -> Result<Option<BrandingRow>> {
        fetch_optional(
            self,
            q(
                "SELECT id, pool_id, client_id, doc, created_at, updated_at FROM managed_login_brandings \
                 WHERE pool_id = $1 AND id = $2",
                vec![Text(pool_id), Text(id)],
            ),
        )
        .await
    }

    pub async fn branding_of_client(&self, pool_id: &str, client_id: &str) -> Result<Option<BrandingRow>> {
        fetch_optional(
            self,
            q(
                "SELECT id, pool_id, client_id, doc, created_at, updated_at FROM managed_login_brandings \
                 WHERE pool_id = $1 AND client_id = $2",
                vec![Text(pool_id), Text(client_id)],
            ),
        )
        .await
    }

    pub async fn update_branding(&self, b: &BrandingRow) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE managed_login_brandings SET doc = $1, updated_at = $2 WHERE pool_id = $3 AND id = $4",
                vec![Text(&b.doc), Int(b.updated_at), Text(&b.pool_id), Text(&b.id)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn delete_branding(&self, pool_id: &str, id: &str) -> Result<bool> {
        let n = execute(
            self,
            q("DELETE FROM managed_login_brandings WHERE pool_id = $1 AND id = $2", vec![Text(pool_id), Text(id)]),
        )
        .await?;
        Ok(n > 0)
    }

    // ---- authorization codes ----

    /// Stores a new code, first dropping the expired ones.
    pub async fn insert_auth_code(&self, c: &AuthCodeRow, now: i64) -> Result<()> {
        execute(self, q("DELETE FROM oauth_codes WHERE expires_at <= $1", vec![Int(now)])).await?;
        execute(
            self,
            q(
                "INSERT INTO oauth_codes (code_hash, pool_id, client_id, grant_doc, expires_at) VALUES ($1, $2, $3, $4, $5)",
                vec![Text(&c.code_hash), Text(&c.pool_id), Text(&c.client_id), Text(&c.grant_doc), Int(c.expires_at)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// Takes a code: deletes it and returns it when it was there and had not
    /// expired. Whoever gets the row owns the code; a second taker gets None.
    pub async fn take_auth_code(&self, code_hash: &str, now: i64) -> Result<Option<AuthCodeRow>> {
        let row: Option<AuthCodeRow> = write_returning(
            self,
            q(
                "DELETE FROM oauth_codes WHERE code_hash = $1 \
                 RETURNING code_hash, pool_id, client_id, grant_doc, expires_at",
                vec![Text(code_hash)],
            ),
        )
        .await?;
        Ok(row.filter(|r| r.expires_at > now))
    }

    // ---- hosted sign-in sessions ----

    /// Stores a session, first dropping the expired ones.
    pub async fn insert_login_session(&self, s: &LoginSessionRow, now: i64) -> Result<()> {
        execute(self, q("DELETE FROM login_sessions WHERE expires_at <= $1", vec![Int(now)])).await?;
        execute(
            self,
            q(
                "INSERT INTO login_sessions (id_hash, pool_id, username_key, auth_time, expires_at) VALUES ($1, $2, $3, $4, $5)",
                vec![Text(&s.id_hash), Text(&s.pool_id), Text(&s.username_key), Int(s.auth_time), Int(s.expires_at)],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A live session of the pool.
    pub async fn login_session(&self, pool_id: &str, id_hash: &str, now: i64) -> Result<Option<LoginSessionRow>> {
        fetch_optional(
            self,
            q(
                "SELECT id_hash, pool_id, username_key, auth_time, expires_at FROM login_sessions \
                 WHERE id_hash = $1 AND pool_id = $2 AND expires_at > $3",
                vec![Text(id_hash), Text(pool_id), Int(now)],
            ),
        )
        .await
    }

    pub async fn delete_login_session(&self, id_hash: &str) -> Result<()> {
        execute(self, q("DELETE FROM login_sessions WHERE id_hash = $1", vec![Text(id_hash)])).await.map(|_| ())
    }

    // ---- device codes ----

    /// Stores a new device authorization, first dropping the expired ones;
    /// `Conflict` when its user code is taken.
    pub async fn insert_device_code(&self, d: &DeviceCodeRow, now: i64) -> Result<()> {
        execute(self, q("DELETE FROM device_codes WHERE expires_at <= $1", vec![Int(now)])).await?;
        execute(
            self,
            q(
                concat!(
                    "INSERT INTO device_codes (",
                    device_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                vec![
                    Text(&d.device_hash),
                    Text(&d.user_code),
                    Text(&d.pool_id),
                    Text(&d.client_id),
                    Text(&d.scopes),
                    Int(d.state),
                    Text(&d.username_key),
                    Int(d.auth_time),
                    Int(d.polled_at),
                    Int(d.expires_at),
                ],
            ),
        )
        .await
        .map(|_| ())
    }

    /// A live device authorization of the pool by its user code.
    pub async fn device_by_user_code(&self, pool_id: &str, user_code: &str, now: i64) -> Result<Option<DeviceCodeRow>> {
        let sql = concat!(
            "SELECT ",
            device_columns!(),
            " FROM device_codes WHERE user_code = $1 AND pool_id = $2 AND expires_at > $3"
        );
        fetch_optional(self, q(sql, vec![Text(user_code), Text(pool_id), Int(now)])).await
    }

    /// Approves (`state` 1, for the user) or denies (2) a pending, live
    /// device authorization; false when it was not pending any more.
    pub async fn decide_device(
        &self,
        pool_id: &str,
        user_code: &str,
        state: i64,
        username_key: &str,
        auth_time: i64,
        now: i64,
    ) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE device_codes SET state = $1, username_key = $2, auth_time = $3 \
                 WHERE user_code = $4 AND pool_id = $5 AND state = 0 AND expires_at > $6",
                vec![Int(state), Text(username_key), Int(auth_time), Text(user_code), Text(pool_id), Int(now)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// A device authorization by its device code (also expired ones, so
    /// the poller can be told), noting the poll's time.
    pub async fn poll_device(&self, device_hash: &str, now: i64) -> Result<Option<DeviceCodeRow>> {
        let sql = concat!("SELECT ", device_columns!(), " FROM device_codes WHERE device_hash = $1");
        let row: Option<DeviceCodeRow> = fetch_optional(self, q(sql, vec![Text(device_hash)])).await?;
        if row.is_some() {
            execute(
                self,
                q("UPDATE device_codes SET polled_at = $1 WHERE device_hash = $2", vec![Int(now), Text(device_hash)]),
            )
            .await?;
        }
        Ok(row)
    }

    /// Takes an approved device authorization: of two racing pollers,
    /// exactly one gets the row.
    pub async fn take_approved_device(&self, device_hash: &str) -> Result<Option<DeviceCodeRow>> {
        let sql =
            concat!("DELETE FROM device_codes WHERE device_hash = $1 AND state = 1 RETURNING ", device_columns!());
        write_returning(self, q(sql, vec![Text(device_hash)])).await
    }

    pub async fn delete_device_code(&self, device_hash: &str) -> Result<()> {
        execute(self, q("DELETE FROM device_codes WHERE device_hash = $1", vec![Text(device_hash)])).await.map(|_| ())
    }
}
