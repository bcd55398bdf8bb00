//! How a [`SqliteStore`](crate::SqliteStore) opens its database.

use std::path::PathBuf;
use std::time::Duration;

/// SQLite's `synchronous` setting for the write connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous=NORMAL`: with WAL, a commit survives a crash of the
    /// process; a power loss may lose the last commits, never corrupt the file.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is on disk before it returns, for hosts
    /// that must not lose an acknowledged write even on power loss.
    Full,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Options for opening a store. Build with [`SqliteOptions::file`] or
/// [`SqliteOptions::in_memory`], then adjust.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// The database file; `None` keeps the database in memory (gone on drop).
    pub path: Option<PathBuf>,
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// How long a connection waits for another one's lock before SQLite
    /// reports the database busy.
    pub busy_timeout: Duration,
    /// How many times a write transaction is attempted when the database stays
    /// busy past the timeout, with a growing pause between attempts.
    pub max_write_attempts: u32,
    /// How many idle read connections are kept for reuse (file databases).
    pub max_idle_readers: usize,
}

impl SqliteOptions {
    /// A database file, created if missing, with the default settings.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: Some(path.into()),
            ..SqliteOptions::in_memory()
        }
    }

    /// A private in-memory database with the default settings.
    pub fn in_memory() -> Self {
        SqliteOptions {
            path: None,
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            max_write_attempts: 8,
            max_idle_readers: 4,
        }
    }

    /// Sets [`SqliteOptions::synchronous`].
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets [`SqliteOptions::busy_timeout`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets [`SqliteOptions::max_write_attempts`] (at least 1).
    pub fn max_write_attempts(mut self, attempts: u32) -> Self {
        self.max_write_attempts = attempts.max(1);
        self
    }

    /// Sets [`SqliteOptions::max_idle_readers`].
    pub fn max_idle_readers(mut self, readers: usize) -> Self {
        self.max_idle_readers = readers;
        self
    }
}
