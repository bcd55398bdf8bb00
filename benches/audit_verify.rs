//! Benchmark 4: audit chain verification, records per second.
//!
//! - `memory`: a `Vec` of records (read once from a SQLite file filled by bulk
//!   ingest: `sale.recorded` and `commission.calculated` records), each
//!   checked against its predecessor's hash and re-hashed with
//!   `record_hash`. Baseline: bare SHA-256 over the same canonical bytes,
//!   computed beforehand.
//! - `sqlite`: the same chain read from the file and verified, streaming.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput};
use mlas::Store;
use mlas::audit::{AuditRecord, GENESIS_HASH, canonical_bytes, record_hash};
use mlas::sqlite::{SqliteStore, Synchronous};
use sha2::{Digest, Sha256};

/// Verifies records in order: each links to the one before and hashes right.
/// Returns how many were checked.
fn verify_slice(records: &[AuditRecord]) -> usize {
    let mut prev = GENESIS_HASH;
    for r in records {
        assert_eq!(r.prev_hash, prev, "record {} is unlinked", r.seq);
        assert_eq!(record_hash(r, None).unwrap(), r.hash, "record {}", r.seq);
        prev = &r.hash;
    }
    records.len()
}

/// Streams the chain out of SQLite and verifies it as it goes.
fn verify_store(store: &SqliteStore, scope: &mlas::Scope) -> usize {
    let mut count = 0;
    let mut prev = GENESIS_HASH.to_owned();
    store
        .read(&mut |tx| {
            tx.scan_audit(scope.tenant(), 1, &mut |r| {
                assert_eq!(r.prev_hash, prev, "record {} is unlinked", r.seq);
                assert_eq!(record_hash(&r, None).unwrap(), r.hash, "record {}", r.seq);
                prev = r.hash;
                count += 1;
                Ok(true)
            })
        })
        .unwrap();
    count
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
    let n = records.len() as u64;
    let mean_len = bytes.iter().map(Vec::len).sum::<usize>() as u64 / n;
    println!("audit chain: {n} records, {mean_len} canonical bytes each on average");

    let mut group = c.benchmark_group("audit_verify");
    group.throughput(Throughput::Elements(n));
    if full {
        group.sample_size(10);
    }
    group.bench_function("memory_verify", |b| {
        b.iter(|| verify_slice(black_box(&records)));
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
        b.iter(|| assert_eq!(verify_store(&store, &scope) as u64, n));
    });
    group.bench_function("sqlite_scan_only", |b| {
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
