//! Single-row reads of a SQLite file, on the calling thread.
//!
//! sqlx runs every SQLite connection on a thread of its own: a query is
//! handed to that thread and its rows handed back, two thread wake-ups that
//! cost more than a read by primary key itself (measured: about a third of
//! a GetUser's server CPU went to that hand-off). The lookups that return at
//! most one row ([`crate::fetch_optional`]: a user, a pool, a client, a
//! refresh token ...) and the listings an index keeps to a few rows
//! ([`crate::fetch_few`]: a user's groups, a client's secrets) run here
//! instead, on connections of their own to the same file. Writes,
//! transactions and open-ended listings stay on sqlx.
//!
//! These connections are read-only at the SQL level (`PRAGMA query_only`),
//! so a statement that writes fails here instead of taking a write lock on a
//! thread that must not wait. In WAL mode a reader never waits for a writer
//! and sees every transaction committed before it started; a point read by
//! key takes microseconds, so running it on an async worker is cheaper than
//! any hand-off. (A reader waits, up to the busy timeout, only while another
//! process holds the whole file: a VACUUM, a restore.) An in-memory database has no file to share and keeps the
//! sqlx path.

use crate::{Arg, FromRow, Query, Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Idle connections kept for reuse; at most one is in use per thread at a
/// time, so this is about the number of threads that read at once.
const MAX_IDLE: usize = 32;

/// Distinct point-read statements kept prepared per connection.
const STATEMENT_CACHE: usize = 64;

pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers").field("path", &self.path).finish_non_exhaustive()
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::InvalidColumnName(_)
            | rusqlite::Error::IntegralValueOutOfRange(..) => StoreError::Corrupt(e.to_string()),
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Readers {
        Readers { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) }
    }

    /// The first row `q` selects, if any.
    pub(crate) fn fetch_optional<T: FromRow>(&self, q: &Query<'_>) -> Result<Option<T>> {
        Ok(self.fetch_up_to(q, 1)?.pop())
    }

    /// At most `max` rows of `q`, in its order: for listings that an index
    /// bounds to a few rows (a user's groups, a client's secrets).
    pub(crate) fn fetch_up_to<T: FromRow>(&self, q: &Query<'_>, max: usize) -> Result<Vec<T>> {
        let conn = match self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            Some(conn) => conn,
            None => self.open()?,
        };
        let result = read_rows(&conn, q, max);
        // A connection that failed at the database level is not reused.
        if !matches!(result, Err(StoreError::Database(_)))
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(conn);
        }
        result
    }

    /// Closes the idle connections (those in use close when their read ends).
    pub(crate) fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }
}

/// Binds the `$n` placeholders of `q` (SQLite numbers distinct names in
/// order of first appearance, so each is looked up by name) and reads at
/// most `max` rows.
fn read_rows<T: FromRow>(conn: &Connection, q: &Query<'_>, max: usize) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(q.sql)?;
    for i in 1..=stmt.parameter_count() {
        let arg = stmt
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| q.args.get(n.checked_sub(1)?))
            .copied()
            .ok_or_else(|| StoreError::Database(format!("placeholder {i} of a point read has no argument")))?;
        match arg {
            Arg::Text(s) => stmt.raw_bind_parameter(i, s)?,
            Arg::OptText(s) => stmt.raw_bind_parameter(i, s)?,
            Arg::Int(n) => stmt.raw_bind_parameter(i, n)?,
            Arg::OptInt(n) => stmt.raw_bind_parameter(i, n)?,
        }
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while out.len() < max
        && let Some(row) = rows.next()?
    {
        out.push(T::from_rusqlite(row)?);
    }
    Ok(out)
}

/// The index of column `name`, trying `hint` first: queries list a row's
/// columns in the order of its fields, so the first comparison usually
/// finds it (a lookup by name compares against every column before it).
pub(crate) fn column(row: &rusqlite::Row<'_>, hint: usize, name: &str) -> rusqlite::Result<usize> {
    let stmt: &rusqlite::Statement<'_> = row.as_ref();
    if stmt.column_name(hint).is_ok_and(|n| n == name) {
        return Ok(hint);
    }
    stmt.column_index(name)
}
