#![doc = include_str!("../README.md")]
// The README is the crate page: its code blocks run as doctests.

pub use mlas_core::*;

/// The SQLite backend, for hosts that name it: `mlas::sqlite::SqliteStore`.
pub use mlas_sqlite as sqlite;
