#![doc = include_str!("../README.md")]
// The README is the crate page: its code blocks run as doctests.

pub use mlas_core::*;
/// The SQLite backend (the `mlas-sqlite` crate).
pub use mlas_sqlite as sqlite;
pub use mlas_sqlite::{SqliteOptions, SqliteStore, Synchronous};
