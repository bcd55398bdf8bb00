//! The SQLite backend against the core's storage conformance suite, on an
//! in-memory database and on files.

use mlas_core::Store;
use mlas_sqlite::SqliteStore;

#[test]
fn in_memory_store_passes_the_conformance_suite() {
    mlas_core::conformance::run_all(&|| {
        Box::new(SqliteStore::open_in_memory().unwrap()) as Box<dyn Store>
    });
}

#[test]
fn file_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::cell::Cell::new(0);
    mlas_core::conformance::run_all(&|| {
        counter.set(counter.get() + 1);
        let path = dir.path().join(format!("conformance-{}.db", counter.get()));
        Box::new(SqliteStore::open(path).unwrap()) as Box<dyn Store>
    });
}
