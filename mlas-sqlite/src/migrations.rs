//! Bringing a database to the schema this code writes, on `PRAGMA user_version`.
//!
//! Each migration runs in its own IMMEDIATE transaction that re-reads the
//! version first, so two processes opening an old file at once migrate it once.

use mlas_core::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

use crate::error::SqlResultExt;
use crate::schema::{MIGRATIONS, SCHEMA_VERSION};

/// The schema version of the database on `conn`.
pub(crate) fn version(conn: &Connection) -> Result<u32> {
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .storage()?;
    u32::try_from(v).map_err(|_| Error::integrity(format!("schema version {v} is not valid")))
}

/// Migrates the database to [`SCHEMA_VERSION`]; refuses a newer database.
pub(crate) fn migrate(conn: &mut Connection) -> Result<u32> {
    migrate_to(conn, SCHEMA_VERSION)
}

/// Migrates the database to `target` (tests build every earlier version with it).
pub(crate) fn migrate_to(conn: &mut Connection, target: u32) -> Result<u32> {
    let found = version(conn)?;
    check_not_newer(found)?;
    // Only a database that needs a migration takes the write lock here.
    for next in (found + 1)..=target {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .storage()?;
        let current = version(&tx)?;
        check_not_newer(current)?;
        if current >= next {
            continue;
        }
        let sql = MIGRATIONS[(next - 1) as usize];
        tx.execute_batch(sql).storage()?;
        tx.pragma_update(None, "user_version", next).storage()?;
        tx.commit().storage()?;
        tracing::info!(version = next, "migrated the mlas schema");
    }
    version(conn)
}

fn check_not_newer(found: u32) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(Error::Storage {
            message: format!(
                "the database has schema version {found}, newer than the {SCHEMA_VERSION} this \
                 version of mlas-sqlite knows: upgrade the library"
            ),
            retryable: false,
        });
    }
    Ok(())
}
