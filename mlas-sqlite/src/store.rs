//! The store: connections, transactions, retries and backups.
//!
//! # Connections
//!
//! One write connection behind a mutex: SQLite lets one writer at a time into a
//! file anyway, and the mutex makes threads of one process queue in memory
//! instead of spinning on the file lock. Reads on a file database use their own
//! read-only connections from a small pool, so with WAL they run beside the
//! writer and see the last committed state. An in-memory database has one
//! connection for both.
//!
//! Several processes (or several stores in one process) may open the same
//! file: every write transaction is `BEGIN IMMEDIATE`, so it takes the file's
//! write lock before its first read and never chains an audit record onto a
//! stale head. A writer that finds the lock taken waits up to the busy
//! timeout; if the database is still busy, the whole transaction is run again
//! a bounded number of times with a growing pause, and only then is
//! [`Error::Storage`] with `retryable: true` returned.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mlas_core::store::{Store, StoreInfo, Tx};
use mlas_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{SqlResultExt, is_busy};
use crate::migrations;
use crate::options::SqliteOptions;
use crate::schema::SCHEMA_VERSION;
use crate::tx::SqliteTx;

/// Statements kept prepared per connection: every fixed statement plus the
/// filter combinations that queries build.
const STATEMENT_CACHE: usize = 128;

/// Page cache per connection, in KiB (SQLite's negative `cache_size`).
/// SQLite's default of 2 MiB is smaller than one bulk import: the writer then
/// spills dirty pages to the WAL mid-transaction and re-reads index pages from
/// the OS on every insert.
const PAGE_CACHE_KIB: i64 = -16 * 1024;

/// A [`Store`] in one SQLite database. `Send + Sync`: share it across threads
/// with an `Arc`.
pub struct SqliteStore {
    // Fields drop in order: the read-only connections close first, so the
    // writer is the last connection and SQLite checkpoints the WAL and removes
    // the -wal and -shm files when the store is dropped.
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<Connection>,
    options: SqliteOptions,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.options.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` with the
    /// default options, and migrates it to the current schema.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the file cannot be opened or migrated, or if it
    /// was written by a newer version of this crate (its schema version is
    /// higher than [`SCHEMA_VERSION`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(SqliteOptions::file(path.as_ref()))
    }

    /// Opens a private in-memory database, gone when the store is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if SQLite cannot create the schema.
    pub fn open_in_memory() -> Result<Self> {
        Self::open_with(SqliteOptions::in_memory())
    }

    /// Opens a database with explicit options, and migrates it.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_with(options: SqliteOptions) -> Result<Self> {
        // SQLite takes the timeout as an i32 of milliseconds (rusqlite panics
        // beyond it); a day is already far longer than any sensible wait.
        if options.busy_timeout > std::time::Duration::from_secs(86_400) {
            return Err(Error::validation(
                "busy_timeout",
                format!("{:?} is longer than one day", options.busy_timeout),
            ));
        }
        let mut writer = match &options.path {
            Some(path) => Connection::open(path).map_err(|e| open_error(path, &e))?,
            None => Connection::open_in_memory().storage()?,
        };
        configure(&writer, &options)?;
        // Refuse a newer file before changing anything in it.
        migrations::check_not_newer(migrations::version(&writer)?)?;
        if options.path.is_some() {
            // WAL lets readers run beside the writer. The mode is stored in the
            // file, so this changes nothing when it is already set.
            let mode: String = writer
                .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
                .storage()?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::storage(format!(
                    "sqlite refused write-ahead logging (journal mode is {mode})"
                )));
            }
        }
        writer
            .pragma_update(None, "synchronous", options.synchronous.pragma_value())
            .storage()?;
        migrations::migrate(&mut writer)?;

        Ok(SqliteStore {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            options,
        })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.options
    }

    /// Writes a consistent copy of the database to `path` while the store stays
    /// in use (`VACUUM INTO`): the copy is one file, without `-wal` or `-shm`
    /// companions, and opens with [`SqliteStore::open`].
    ///
    /// # Errors
    ///
    /// [`Error::Validation`] if `path` already exists; [`Error::Storage`] if
    /// SQLite cannot write the copy.
    pub fn backup_to(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if path.exists() {
            return Err(Error::validation(
                "path",
                format!("backup target {} already exists", path.display()),
            ));
        }
        let target = path.to_str().ok_or_else(|| {
            Error::validation("path", format!("{} is not valid UTF-8", path.display()))
        })?;
        self.with_reader(|conn| {
            conn.execute("VACUUM INTO ?1", [target])
                .map(|_| ())
                .storage()
        })
    }

    /// Runs `f` on a read connection: a pooled read-only one for a file, the
    /// single connection for an in-memory database.
    fn with_reader<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let Some(path) = &self.options.path else {
            return f(&mut self.lock_writer());
        };
        let pooled = lock(&self.readers).pop();
        let mut conn = if let Some(conn) = pooled {
            conn
        } else {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| open_error(path, &e))?;
            configure(&conn, &self.options)?;
            conn
        };
        let result = f(&mut conn);
        let mut pool = lock(&self.readers);
        if pool.len() < self.options.max_idle_readers {
            pool.push(conn);
        }
        result
    }

    fn lock_writer(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction drops (rolls back) the transaction
        // before the guard, so the connection behind a poisoned lock is clean.
        lock(&self.writer)
    }

    /// One attempt at a write transaction.
    fn write_once(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut conn = self.lock_writer();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .storage()?;
        work(&mut SqliteTx::new(&tx, false))?;
        tx.commit().storage()
    }
}

impl Store for SqliteStore {
    fn write(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let attempts = self.options.max_write_attempts.max(1);
        let mut attempt = 1;
        loop {
            match self.write_once(work) {
                Err(e) if e.is_retryable() && attempt < attempts => {
                    tracing::debug!(attempt, error = %e, "sqlite busy; retrying the transaction");
                    std::thread::sleep(backoff(attempt));
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    fn read(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.with_reader(|conn| {
            // A deferred transaction reads one snapshot from its first read;
            // dropping it at the end rolls back, which for a reader is a no-op.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .storage()?;
            work(&mut SqliteTx::new(&tx, true))
        })
    }

    fn describe(&self) -> StoreInfo {
        StoreInfo {
            backend: "sqlite",
            schema_version: Some(SCHEMA_VERSION),
        }
    }
}

/// The settings every connection gets.
fn configure(conn: &Connection, options: &SqliteOptions) -> Result<()> {
    conn.busy_timeout(options.busy_timeout).storage()?;
    // Off by default and per connection: without it the schema's references
    // are not checked.
    conn.pragma_update(None, "foreign_keys", "ON").storage()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // The query planner stability guarantee: a plan never depends on the
    // values bound to it. Without it (the bundled SQLite has STAT4), binding
    // a new tenant to `WHERE tenant = ?1` expired the cached statement, and
    // the rules and audit head queries were parsed and planned again on every
    // call (about a fifth of the CPU of a one-sale transaction).
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .storage()?;
    conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)
        .storage()?;
    Ok(())
}

fn open_error(path: &Path, err: &rusqlite::Error) -> Error {
    Error::Storage {
        message: format!("cannot open sqlite database {}: {err}", path.display()),
        retryable: is_busy(err),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The pause before attempt `attempt + 1`: between half and all of a base that
/// doubles from 10 ms up to 200 ms; the jitter keeps competing processes from retrying in step.
fn backoff(attempt: u32) -> Duration {
    let base = 5u64.saturating_mul(1 << attempt.min(6)).min(200);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos()),
    ) % (base / 2).max(1);
    Duration::from_millis(base / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma(conn: &Connection, name: &str) -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |row| {
            row.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
    }

    #[test]
    fn file_connections_use_wal_foreign_keys_and_the_chosen_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("mlas.db")).unwrap();
        {
            let writer = store.lock_writer();
            assert_eq!(pragma(&writer, "journal_mode"), "wal");
            assert_eq!(pragma(&writer, "foreign_keys"), "1");
            assert_eq!(pragma(&writer, "synchronous"), "1", "NORMAL is 1");
            assert_eq!(pragma(&writer, "busy_timeout"), "5000");
            assert_eq!(pragma(&writer, "user_version"), SCHEMA_VERSION.to_string());
            // Cached statements are not re-planned when a new value is bound.
            assert!(
                writer
                    .db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG)
                    .unwrap()
            );
        }
        store
            .with_reader(|conn| {
                assert_eq!(pragma(conn, "foreign_keys"), "1");
                assert_eq!(pragma(conn, "journal_mode"), "wal");
                assert!(conn.is_readonly(rusqlite::MAIN_DB).unwrap());
                Ok(())
            })
            .unwrap();

        let full = SqliteStore::open_with(
            SqliteOptions::file(dir.path().join("full.db"))
                .synchronous(crate::Synchronous::Full)
                .busy_timeout(Duration::from_millis(250)),
        )
        .unwrap();
        let writer = full.lock_writer();
        assert_eq!(pragma(&writer, "synchronous"), "2", "FULL is 2");
        assert_eq!(pragma(&writer, "busy_timeout"), "250");
    }

    #[test]
    fn in_memory_store_has_foreign_keys_on() {
        let store = SqliteStore::open_in_memory().unwrap();
        let writer = store.lock_writer();
        assert_eq!(pragma(&writer, "foreign_keys"), "1");
        assert_eq!(pragma(&writer, "user_version"), SCHEMA_VERSION.to_string());
    }

    #[test]
    fn the_store_can_be_shared_across_threads() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<SqliteStore>();
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        for attempt in 1..20 {
            let pause = backoff(attempt);
            assert!(pause <= Duration::from_millis(200), "{pause:?}");
            assert!(pause >= Duration::from_millis(2), "{pause:?}");
        }
    }
}
