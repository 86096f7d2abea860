//! The user directory: search entries (what ListUsers filters on) and groups.
//!
//! A search entry is one (name, value) of a user that the domain wants to
//! find users by. They live in `user_search`, keyed so that an exact match and
//! a prefix match are both one index range: `(pool_id, name, value,
//! username_key)`. On PostgreSQL the value column uses the "C" collation, so
//! that the order is byte order, as SQLite's BINARY order is, and a prefix is
//! one contiguous range on both engines.

use crate::{
    Arg, Db, FromRow, Query, Result, Store, UserKey, UserRow, execute, fetch_all, fetch_few, fetch_optional, q,
};
use Arg::{Int, OptInt, OptText, Text};
use sqlx::Row as _;
use sqlx::{postgres::PgRow, sqlite::SqliteRow};

/// Values longer than this many characters are indexed by their first this
/// many characters; the domain checks the full value of every match.
pub const MAX_INDEXED_CHARS: usize = 200;

/// One thing a user can be found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchEntry {
    pub name: String,
    pub value: String,
}

impl SearchEntry {
    pub fn new(name: impl Into<String>, value: &str) -> SearchEntry {
        SearchEntry { name: name.into(), value: truncate_chars(value, MAX_INDEXED_CHARS).to_string() }
    }
}

pub(crate) fn truncate_chars(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub(crate) fn insert_search<'a>(user: &'a UserRow, e: &'a SearchEntry) -> Query<'a> {
    q(
        "INSERT INTO user_search (pool_id, name, value, username_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        vec![Text(&user.pool_id), Text(&e.name), Text(&e.value), Text(&user.username_key)],
    )
}

/// How a page of users is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserQuery {
    /// Every user, in username-key order.
    All,
    /// Users with a search entry `name` equal to `value`.
    Equals { name: String, value: String },
    /// Users with a search entry `name` that starts with `prefix`.
    Prefix { name: String, prefix: String },
    /// Users whose status column is one of these.
    Status(Vec<String>),
    /// Users whose `enabled` column is this.
    Enabled(bool),
}

/// Where the previous page ended: the sort value (the search value for a
/// prefix query, else empty) and the username key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cursor {
    pub value: String,
    pub key: String,
}

/// `SELECT <the listing columns of u> <extra> <from/where>`: no password
/// material, which listings never need (and which is most of a row's bytes).
macro_rules! page_sql {
    ($select_extra:literal, $from_where:literal) => {
        concat!(
            "SELECT u.pool_id, u.username, u.username_key, u.sub, u.status, u.enabled, u.created_at, ",
            "u.updated_at, u.attributes",
            $select_extra,
            " ",
            $from_where
        )
    };
}

row_struct! {
    /// What a listing shows of a user: no password material, so a listed
    /// row can never be written back over a user by mistake.
    pub struct UserListing {
        pub pool_id: String,
        pub username: String,
        pub username_key: String,
        pub sub: String,
        pub status: String,
        pub enabled: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub attributes: String,
    }
}

/// A page of users and, for each, its sort value (see [`Cursor`]).
#[derive(Debug, Clone, PartialEq)]
pub struct UserPage {
    pub users: Vec<(UserListing, Cursor)>,
}

/// The smallest string greater than every string that starts with `prefix`
/// (in code-point order, which is UTF-8 byte order), or None when no such
/// string exists.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

struct Keyed {
    user: UserListing,
    sort: String,
}

impl FromRow for Keyed {
    fn from_sqlite(row: &SqliteRow) -> Result<Self> {
        Ok(Keyed { user: UserListing::from_sqlite(row)?, sort: row.try_get("sort_value")? })
    }
    fn from_pg(row: &PgRow) -> Result<Self> {
        Ok(Keyed { user: UserListing::from_pg(row)?, sort: row.try_get("sort_value")? })
    }
    fn from_rusqlite(row: &rusqlite::Row<'_>) -> Result<Self> {
        Ok(Keyed { user: UserListing::from_rusqlite(row)?, sort: row.get("sort_value")? })
    }
}

row_struct! {
    /// A group of a pool. `precedence` is absent when the group has none.
    pub struct GroupRow {
        pub pool_id: String,
        pub name: String,
        pub description: Option<String>,
        pub role_arn: Option<String>,
        pub precedence: Option<i64>,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

/// What adding a member found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Added,
    AlreadyMember,
    /// The user is in `limit` groups already.
    LimitReached,
}

impl Store {
    /// One page of users matching `query`, after `after`, at most `limit`.
    ///
    /// Each shape is one index range that starts at the cursor (a row-value
    /// comparison, which both engines seek to), so a deep page costs what
    /// the first one does.
    pub async fn list_users(
        &self,
        pool_id: &str,
        query: &UserQuery,
        after: Option<&Cursor>,
        limit: i64,
    ) -> Result<UserPage> {
        // No cursor is the empty one: every key is longer than "".
        let start = Cursor::default();
        let after = after.unwrap_or(&start);
        let rows: Vec<Keyed> = match query {
            UserQuery::All => fetch_all(
                self,
                q(
                    page_sql!(
                        ", '' AS sort_value",
                        "FROM users u WHERE u.pool_id = $1 AND u.username_key > $2 ORDER BY u.username_key LIMIT $3 + 0"
                    ),
                    vec![Text(pool_id), Text(&after.key), Int(limit)],
                ),
            )
            .await?,
            UserQuery::Equals { name, value } => fetch_all(
                self,
                q(
                    page_sql!(
                        ", '' AS sort_value",
                        "FROM user_search s JOIN users u ON u.pool_id = s.pool_id AND u.username_key = s.username_key \
                             WHERE s.pool_id = $1 AND s.name = $2 AND s.value = $3 AND s.username_key > $4 \
                             ORDER BY s.username_key LIMIT $5 + 0"
                    ),
                    vec![
                        Text(pool_id),
                        Text(name),
                        Text(truncate_chars(value, MAX_INDEXED_CHARS)),
                        Text(&after.key),
                        Int(limit),
                    ],
                ),
            )
            .await?,
            UserQuery::Prefix { name, prefix } => {
                let prefix = truncate_chars(prefix, MAX_INDEXED_CHARS);
                // One lower bound, as a row: (prefix, "") admits exactly the
                // values >= prefix (keys are never empty); a cursor past it
                // moves it on. Two bounds on one column would leave the
                // engine to pick one, and PostgreSQL may pick the looser.
                let start = if (after.value.as_str(), after.key.as_str()) > (prefix, "") {
                    (after.value.as_str(), after.key.as_str())
                } else {
                    (prefix, "")
                };
                let mut args = vec![Text(pool_id), Text(name), Text(start.0), Text(start.1)];
                let upper = prefix_upper_bound(prefix);
                let sql = match &upper {
                    Some(u) => {
                        args.push(Text(u));
                        page_sql!(
                            ", s.value AS sort_value",
                            "FROM user_search s JOIN users u ON u.pool_id = s.pool_id AND u.username_key = s.username_key \
                             WHERE s.pool_id = $1 AND s.name = $2 AND (s.value, s.username_key) > ($3, $4) \
                             AND s.value < $5 ORDER BY s.value, s.username_key LIMIT $6 + 0"
                        )
                    }
                    None => page_sql!(
                        ", s.value AS sort_value",
                        "FROM user_search s JOIN users u ON u.pool_id = s.pool_id AND u.username_key = s.username_key \
                         WHERE s.pool_id = $1 AND s.name = $2 AND (s.value, s.username_key) > ($3, $4) \
                         ORDER BY s.value, s.username_key LIMIT $5 + 0"
                    ),
                };
                args.push(Int(limit));
                fetch_all(self, q(sql, args)).await?
            }
            UserQuery::Status(statuses) => {
                // One query per status, merged: each is an index range, and
                // there are at most a handful of statuses.
                let mut all = Vec::new();
                for s in statuses {
                    let mut part: Vec<Keyed> = fetch_all(
                        self,
                        q(
                            page_sql!(
                                ", '' AS sort_value",
                                "FROM users u WHERE u.pool_id = $1 AND u.status = $2 AND u.username_key > $3 \
                                 ORDER BY u.username_key LIMIT $4 + 0"
                            ),
                            vec![Text(pool_id), Text(s), Text(&after.key), Int(limit)],
                        ),
                    )
                    .await?;
                    all.append(&mut part);
                }
                all.sort_by(|a, b| a.user.username_key.cmp(&b.user.username_key));
                all.truncate(usize::try_from(limit).unwrap_or(0));
                all
            }
            UserQuery::Enabled(enabled) => {
                fetch_all(
                    self,
                    q(
                        page_sql!(
                            ", '' AS sort_value",
                            "FROM users u WHERE u.pool_id = $1 AND u.enabled = $2 AND u.username_key > $3 \
                             ORDER BY u.username_key LIMIT $4 + 0"
                        ),
                        vec![Text(pool_id), Int(i64::from(*enabled)), Text(&after.key), Int(limit)],
                    ),
                )
                .await?
            }
        };
        Ok(UserPage {
            users: rows
                .into_iter()
                .map(|k| {
                    let key = k.user.username_key.clone();
                    (k.user, Cursor { value: k.sort, key })
                })
                .collect(),
        })
    }

    // ---- groups ----

    /// Creates a group unless the pool has `limit` groups already (false).
    /// A taken name is `StoreError::Conflict`.
    pub async fn create_group(&self, g: &GroupRow, limit: i64) -> Result<bool> {
        let n = execute(
            self,
            q(
                "INSERT INTO user_groups (pool_id, name, description, role_arn, precedence, created_at, updated_at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7 WHERE (SELECT COUNT(*) FROM user_groups WHERE pool_id = $1) < $8",
                vec![
                    Text(&g.pool_id),
                    Text(&g.name),
                    OptText(g.description.as_deref()),
                    OptText(g.role_arn.as_deref()),
                    OptInt(g.precedence),
                    Int(g.created_at),
                    Int(g.updated_at),
                    Int(limit),
                ],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    pub async fn get_group(&self, pool_id: &str, name: &str) -> Result<Option<GroupRow>> {
        fetch_optional(
            self,
            q(
                "SELECT pool_id, name, description, role_arn, precedence, created_at, updated_at FROM user_groups \
                 WHERE pool_id = $1 AND name = $2",
                vec![Text(pool_id), Text(name)],
            ),
        )
        .await
    }

    /// Replaces a group's settings; false when it is gone.
    pub async fn update_group(&self, g: &GroupRow) -> Result<bool> {
        let n = execute(
            self,
            q(
                "UPDATE user_groups SET description = $1, role_arn = $2, precedence = $3, updated_at = $4 \
                 WHERE pool_id = $5 AND name = $6",
                vec![
                    OptText(g.description.as_deref()),
                    OptText(g.role_arn.as_deref()),
                    OptInt(g.precedence),
                    Int(g.updated_at),
                    Text(&g.pool_id),
                    Text(&g.name),
                ],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// Deletes a group and, by cascade, its memberships.
    pub async fn delete_group(&self, pool_id: &str, name: &str) -> Result<bool> {
        let n = execute(
            self,
            q("DELETE FROM user_groups WHERE pool_id = $1 AND name = $2", vec![Text(pool_id), Text(name)]),
        )
        .await?;
        Ok(n > 0)
    }

    /// A pool's groups in name order, after `after`, at most `limit`.
    pub async fn list_groups(&self, pool_id: &str, after: Option<&str>, limit: i64) -> Result<Vec<GroupRow>> {
        fetch_all(
            self,
            q(
                "SELECT pool_id, name, description, role_arn, precedence, created_at, updated_at FROM user_groups \
                 WHERE pool_id = $1 AND ($2 IS NULL OR name > $2) ORDER BY name LIMIT $3 + 0",
                vec![Text(pool_id), OptText(after), Int(limit)],
            ),
        )
        .await
    }

    /// Adds a user to a group unless they are in `limit` groups already. The
    /// count and the insert are one statement.
    pub async fn add_group_member(&self, user: UserKey<'_>, group: &str, now: i64, limit: i64) -> Result<Membership> {
        let UserKey { pool_id, username_key } = user;
        let n = execute(
            self,
            q(
                "INSERT INTO group_members (pool_id, group_name, username_key, created_at) \
                 SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM group_members WHERE pool_id = $1 AND username_key = $3) < $5 \
                 ON CONFLICT DO NOTHING",
                vec![Text(pool_id), Text(group), Text(username_key), Int(now), Int(limit)],
            ),
        )
        .await?;
        if n > 0 {
            return Ok(Membership::Added);
        }
        let member = on_db!(self, pool => {
            sqlx::query("SELECT 1 AS one FROM group_members WHERE pool_id = $1 AND group_name = $2 AND username_key = $3")
                .bind(pool_id)
                .bind(group)
                .bind(username_key)
                .fetch_optional(pool)
                .await?
                .is_some()
        });
        Ok(if member { Membership::AlreadyMember } else { Membership::LimitReached })
    }

    pub async fn remove_group_member(&self, user: UserKey<'_>, group: &str) -> Result<bool> {
        let UserKey { pool_id, username_key } = user;
        let n = execute(
            self,
            q(
                "DELETE FROM group_members WHERE pool_id = $1 AND group_name = $2 AND username_key = $3",
                vec![Text(pool_id), Text(group), Text(username_key)],
            ),
        )
        .await?;
        Ok(n > 0)
    }

    /// A user's groups in name order, after `after`, at most `limit`.
    pub async fn groups_of_user(&self, user: UserKey<'_>, after: Option<&str>, limit: i64) -> Result<Vec<GroupRow>> {
        let UserKey { pool_id, username_key } = user;
        fetch_few(
            self,
            q(
                "SELECT g.pool_id, g.name, g.description, g.role_arn, g.precedence, g.created_at, g.updated_at \
                 FROM group_members m JOIN user_groups g ON g.pool_id = m.pool_id AND g.name = m.group_name \
                 WHERE m.pool_id = $1 AND m.username_key = $2 AND ($3 IS NULL OR g.name > $3) ORDER BY g.name LIMIT $4 + 0",
                vec![Text(pool_id), Text(username_key), OptText(after), Int(limit)],
            ),
            usize::try_from(limit).unwrap_or(0),
        )
        .await
    }

    /// A group's members in username-key order, after `after`, at most `limit`.
    pub async fn users_in_group(
        &self,
        pool_id: &str,
        group: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<UserListing>> {
        fetch_all(
            self,
            q(
                page_sql!(
                    "",
                    "FROM group_members m JOIN users u ON u.pool_id = m.pool_id AND u.username_key = m.username_key \
                     WHERE m.pool_id = $1 AND m.group_name = $2 AND ($3 IS NULL OR m.username_key > $3) \
                     ORDER BY m.username_key LIMIT $4 + 0"
                ),
                vec![Text(pool_id), Text(group), OptText(after), Int(limit)],
            ),
        )
        .await
    }
}

/// Migration 3: search entries, groups, the audit log and users' auth events.
/// `{collate_c}` is ` COLLATE "C"` on PostgreSQL and nothing on SQLite.
pub(crate) const MIGRATION_3: &[&str] = &[
    "CREATE TABLE user_search (
        pool_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT{collate_c} NOT NULL,
        username_key TEXT NOT NULL,
        PRIMARY KEY (pool_id, name, value, username_key),
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX user_search_by_user ON user_search (pool_id, username_key)",
    "CREATE INDEX users_by_status ON users (pool_id, status, username_key)",
    "CREATE INDEX users_by_enabled ON users (pool_id, enabled, username_key)",
    "CREATE TABLE user_groups (
        pool_id TEXT NOT NULL REFERENCES user_pools (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        description TEXT,
        role_arn TEXT,
        precedence BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, name)
    )",
    "CREATE TABLE group_members (
        pool_id TEXT NOT NULL,
        group_name TEXT NOT NULL,
        username_key TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (pool_id, group_name, username_key),
        FOREIGN KEY (pool_id, group_name) REFERENCES user_groups (pool_id, name) ON DELETE CASCADE,
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX group_members_by_user ON group_members (pool_id, username_key, group_name)",
    "CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        at BIGINT NOT NULL,
        caller TEXT NOT NULL,
        operation TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        target TEXT NOT NULL,
        outcome TEXT NOT NULL,
        source TEXT NOT NULL,
        request_id TEXT NOT NULL
    )",
    "CREATE INDEX audit_log_by_time ON audit_log (at, id)",
    "CREATE INDEX audit_log_by_pool ON audit_log (pool_id, at)",
    "CREATE TABLE user_auth_events (
        id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        username_key TEXT NOT NULL,
        event_type TEXT NOT NULL,
        response TEXT NOT NULL,
        challenges TEXT NOT NULL,
        ip TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        FOREIGN KEY (pool_id, username_key) REFERENCES users (pool_id, username_key) ON DELETE CASCADE
    )",
    "CREATE INDEX user_auth_events_by_user ON user_auth_events (pool_id, username_key, created_at)",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper_bound("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("x\u{D7FF}").as_deref(), Some("x\u{E000}"));
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hé", 5), "hé");
    }
}
