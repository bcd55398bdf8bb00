//! How SQLite failures become MLAS errors: no rusqlite type leaves this crate.

use mlas_core::Error;
use rusqlite::ErrorCode;

/// Maps a rusqlite error to [`Error::Storage`], retryable when SQLite says the
/// database was busy or locked (another connection held the write lock past
/// the busy timeout).
pub(crate) fn storage(err: &rusqlite::Error) -> Error {
    let retryable = is_busy(err);
    // rusqlite's messages name tables, columns and SQLite's reason, never the
    // bound values, so they carry no secrets.
    Error::Storage {
        message: format!("sqlite: {err}"),
        retryable,
    }
}

/// Whether SQLite refused because another connection holds a lock.
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Whether the error is a PRIMARY KEY or UNIQUE violation.
pub(crate) fn is_unique_violation(err: &rusqlite::Error) -> bool {
    match err {
        rusqlite::Error::SqliteFailure(e, _) => matches!(
            e.extended_code,
            rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY | rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        ),
        _ => false,
    }
}

/// Adapts `?` on rusqlite results inside this crate.
pub(crate) trait SqlResultExt<T> {
    /// Maps the error with [`storage`].
    fn storage(self) -> mlas_core::Result<T>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn storage(self) -> mlas_core::Result<T> {
        self.map_err(|e| storage(&e))
    }
}
