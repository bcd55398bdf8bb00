//! Benchmark 4: audit chain verification, records per second, through the
//! API users call (`Engine::verify_audit`, `Engine::export_audit_jsonl`).
//!
//! - `memory`: the chain of a SQLite file filled by bulk ingest
//!   (`sale.recorded` and `commission.calculated` records), copied into a
//!   `MemoryStore` and verified with `Engine::verify_audit`. Baseline: bare
//!   SHA-256 over the same canonical bytes, computed beforehand.
//! - `sqlite`: the same chain verified from the file (`Engine::verify_audit`,
//!   streaming), and exported as JSON Lines to a sink.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput};
use mlas::audit::canonical_bytes;
use mlas::engine::AuditRange;
use mlas::sqlite::{SqliteStore, Synchronous};
use mlas::{Engine, MemoryStore, Store};
use sha2::{Digest, Sha256};

/// Verifies the tenant's chain through the engine; returns how many records
/// were checked.
fn verify(engine: &Engine, scope: &mlas::Scope) -> u64 {
    let report = engine.verify_audit(scope).unwrap();
    assert!(report.is_intact(), "{report:?}");
    report.records
}

fn bench(c: &mut Criterion) {
    let full = common::full_run();
    let (chains, batches, batch_size) = if full { (200, 20, 1_000) } else { (2, 1, 10) };

    let dir = common::scratch_dir();
    let store: Arc<SqliteStore> = common::open(&dir.path().join("mlas.db"), Synchronous::Normal);
    let engine = common::engine(store.clone());
    let scope = common::scope();
    let sellers = common::populate(&engine, chains);
    for b in 0..batches {
        engine
            .record_sales(&scope, &common::sales(b, batch_size, &sellers))
            .unwrap();
    }

    let mut records = Vec::new();
    store
        .read(&mut |tx| {
            tx.scan_audit(scope.tenant(), 1, &mut |r| {
                records.push(r);
                Ok(true)
            })
        })
        .unwrap();
    let bytes: Vec<Vec<u8>> = records
        .iter()
        .map(|r| canonical_bytes(r).unwrap())
        .collect();
    let memory = MemoryStore::new();
    memory
        .write(&mut |tx| records.iter().try_for_each(|r| tx.append_audit(r)))
        .unwrap();
    let memory_engine = Engine::new(memory);
    let n = records.len() as u64;
    let mean_len = bytes.iter().map(Vec::len).sum::<usize>() as u64 / n;
    println!("audit chain: {n} records, {mean_len} canonical bytes each on average");

    let mut group = c.benchmark_group("audit_verify");
    group.throughput(Throughput::Elements(n));
    if full {
        group.sample_size(10);
    }
    group.bench_function("memory_verify", |b| {
        b.iter(|| assert_eq!(verify(&memory_engine, &scope), n));
    });
    group.bench_function("memory_baseline_sha256", |b| {
        b.iter(|| {
            for bytes in black_box(&bytes) {
                black_box(Sha256::digest(bytes));
            }
        });
    });
    group.bench_function("memory_canonical_bytes_only", |b| {
        b.iter(|| {
            for r in black_box(&records) {
                black_box(canonical_bytes(r).unwrap());
            }
        });
    });
    group.bench_function("sqlite_verify", |b| {
        b.iter(|| assert_eq!(verify(&engine, &scope), n));
    });
    group.bench_function("sqlite_export_jsonl", |b| {
        b.iter(|| {
            let summary = engine
                .export_audit_jsonl(&scope, AuditRange::default(), &mut std::io::sink())
                .unwrap();
            assert_eq!(summary.records, n);
        });
    });
    // Reading alone: the borrowed rows verification reads, and owned records
    // (payload parsed) as `scan_audit` and queries return them.
    group.bench_function("sqlite_scan_rows_only", |b| {
        b.iter(|| {
            store
                .read(&mut |tx| {
                    tx.scan_audit_rows(scope.tenant(), 1, &mut |r| Ok(black_box(r).seq > 0))
                })
                .unwrap();
        });
    });
    group.bench_function("sqlite_scan_records_only", |b| {
        b.iter(|| {
            store
                .read(&mut |tx| tx.scan_audit(scope.tenant(), 1, &mut |r| Ok(black_box(r).seq > 0)))
                .unwrap();
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
