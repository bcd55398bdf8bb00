//! The in-memory backend against the storage conformance suite.

use mlas_core::{MemoryStore, Store};

#[test]
fn memory_store_passes_the_conformance_suite() {
    mlas_core::conformance::run_all(&|| Box::new(MemoryStore::new()) as Box<dyn Store>);
}
