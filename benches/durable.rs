//! Benchmark 3: durable mode. `synchronous=FULL`, one sale (5-level chain, so
//! one sale row, five commissions and six audit records) per transaction
//! through `Engine::record_sale`: commits per second.
//!
//! Baseline: bare single-row commits with raw rusqlite on the same file
//! system with the same settings (WAL, synchronous=FULL): one `BEGIN
//! IMMEDIATE; INSERT; COMMIT` per iteration, each commit fsync'd. The goal
//! is that the file system, not MLAS, is the limit.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::time::Duration;

use criterion::{Criterion, Throughput};
use mlas::sqlite::Synchronous;
use rusqlite::Connection;

struct Setup {
    _dir: tempfile::TempDir,
    engine: mlas::Engine,
    sellers: Vec<mlas::AffiliateId>,
    raw: Connection,
    next: u64,
}

impl Setup {
    fn new(chains: usize) -> Self {
        let dir = common::scratch_dir();
        let engine = common::engine(common::open(&dir.path().join("mlas.db"), Synchronous::Full));
        let sellers = common::populate(&engine, chains);

        let raw = Connection::open(dir.path().join("raw.db")).unwrap();
        raw.pragma_update(None, "journal_mode", "WAL").unwrap();
        raw.pragma_update(None, "synchronous", "FULL").unwrap();
        raw.execute_batch(
            "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT",
        )
        .unwrap();
        Setup {
            _dir: dir,
            engine,
            sellers,
            raw,
            next: 0,
        }
    }

    fn mlas_commit(&mut self) -> (Duration, Duration) {
        let sale = common::sales(
            self.next,
            1,
            &self.sellers[self.next as usize % self.sellers.len()..],
        )
        .pop()
        .unwrap();
        self.next += 1;
        common::timed(|| {
            self.engine.record_sale(&common::scope(), sale).unwrap();
        })
    }

    fn raw_commit(&mut self) -> (Duration, Duration) {
        self.next += 1;
        let next = self.next as i64;
        let raw = &mut self.raw;
        common::timed(|| {
            let tx = raw
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            tx.prepare_cached("INSERT INTO t (id, v) VALUES (?1, ?2)")
                .unwrap()
                .execute(rusqlite::params![next, "one row"])
                .unwrap();
            tx.commit().unwrap();
        })
    }
}

fn bench(c: &mut Criterion) {
    let full = common::full_run();
    let mut setup = Setup::new(if full { 50 } else { 2 });

    let mut group = c.benchmark_group("durable");
    group.throughput(Throughput::Elements(1));
    group.bench_function("record_sale_full_sync", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| setup.mlas_commit().0).sum());
    });
    group.bench_function("baseline_one_row_commit", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| setup.raw_commit().0).sum());
    });
    group.finish();

    if full {
        // Interleaved, so both sides see the same disk and the same neighbours.
        let rounds = 300;
        let (mut mlas, mut raw) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            mlas.push(setup.mlas_commit());
            raw.push(setup.raw_commit());
        }
        let (mlas, mlas_cpu) = common::medians(mlas);
        let (raw, raw_cpu) = common::medians(raw);
        println!(
            "durable summary ({rounds} interleaved rounds, medians): MLAS {:.0} µs = {:.0} \
             commits/s (cpu {:.0} µs); baseline {:.0} µs = {:.0} commits/s (cpu {:.0} µs); \
             MLAS/baseline commit rate {:.2}",
            mlas.as_secs_f64() * 1e6,
            1.0 / mlas.as_secs_f64(),
            mlas_cpu.as_secs_f64() * 1e6,
            raw.as_secs_f64() * 1e6,
            1.0 / raw.as_secs_f64(),
            raw_cpu.as_secs_f64() * 1e6,
            raw.as_secs_f64() / mlas.as_secs_f64(),
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
