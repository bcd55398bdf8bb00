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
        let sql = MIGRATIONS
            .get((next - 1) as usize)
            .ok_or_else(|| Error::storage(format!("no migration to schema version {next}")))?;
        tx.execute_batch(sql).storage()?;
        tx.pragma_update(None, "user_version", next).storage()?;
        tx.commit().storage()?;
        tracing::info!(version = next, "migrated the mlas schema");
    }
    version(conn)
}

/// Refuses a database written by a newer version of this crate.
pub(crate) fn check_not_newer(found: u32) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use mlas_core::ErrorKind;

    /// The schema as `sqlite3 .schema` would show it, for comparisons.
    fn schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn every_earlier_version_migrates_to_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.db");
        drop(SqliteStore::open(&fresh).unwrap());
        let expected = schema(&Connection::open(&fresh).unwrap());
        assert!(expected.iter().any(|(name, _)| name == "commissions"));

        // Version 0 is an empty file (or one made by the host for its own tables).
        for start in 0..SCHEMA_VERSION {
            let path = dir.path().join(format!("from-{start}.db"));
            {
                let mut conn = Connection::open(&path).unwrap();
                conn.execute_batch("CREATE TABLE host_table (x INTEGER) STRICT")
                    .unwrap();
                assert_eq!(migrate_to(&mut conn, start).unwrap(), start);
            }
            let store = SqliteStore::open(&path).unwrap();
            drop(store);
            let conn = Connection::open(&path).unwrap();
            assert_eq!(
                version(&conn).unwrap(),
                SCHEMA_VERSION,
                "from version {start}"
            );
            let mut migrated = schema(&conn);
            migrated.retain(|(name, _)| name != "host_table");
            assert_eq!(migrated, expected, "migrated from version {start}");
        }
    }

    #[test]
    fn migrating_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        let before = schema(&conn);
        assert_eq!(migrate(&mut conn).unwrap(), SCHEMA_VERSION);
        assert_eq!(schema(&conn), before);
    }

    #[test]
    fn a_newer_database_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = SqliteStore::open(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(!err.is_retryable());
        let message = err.to_string();
        assert!(
            message.contains(&format!("schema version {}", SCHEMA_VERSION + 1))
                && message.contains("newer"),
            "{message}"
        );
        let conn = Connection::open(&path).unwrap();
        assert_eq!(version(&conn).unwrap(), SCHEMA_VERSION + 1);
        assert!(schema(&conn).is_empty(), "nothing was created");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "delete", "the journal mode was not switched to WAL");
    }

    #[test]
    fn a_failed_migration_leaves_the_previous_version() {
        // A table that the first migration also creates makes it fail midway.
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE rules (x INTEGER)")
            .unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn).unwrap(), 0);
        let names: Vec<String> = schema(&conn).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["rules"],
            "the migration's other tables were rolled back"
        );
    }
}
