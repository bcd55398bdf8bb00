//! Benchmark 5: payouts. Scheduling one batch over 100,000 APPROVED
//! commissions (1,000 affiliates in 200 five-level chains, so 1,000 payouts
//! of 100 commissions each) and processing it with the `SimulatedProvider`,
//! on a SQLite file (WAL, synchronous=NORMAL). Goal: under one second.
//!
//! Each iteration starts from a copy of the same prepared file (the copy is
//! not timed). The figure is the time of `schedule_payouts` +
//! `process_batch`; the two parts are also printed apart.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use mlas::sqlite::Synchronous;
use mlas::{BatchId, CommissionSelection, ScheduleRequest, SimulatedProvider};

/// Builds the prepared file: the sales, their commissions approved.
fn template(dir: &Path, chains: usize, batches: u64, batch_size: usize) -> (PathBuf, usize) {
    let path = dir.join("work.db");
    let store = common::open(&path, Synchronous::Normal);
    let engine = common::engine(store.clone());
    let scope = common::scope();
    let sellers = common::populate(&engine, chains);
    for b in 0..batches {
        engine
            .record_sales(&scope, &common::sales(b, batch_size, &sellers))
            .unwrap();
    }
    let approved = engine.approve_available(&scope).unwrap().len();
    let template = dir.join("template.db");
    store.backup_to(&template).unwrap();
    (template, approved)
}

/// One timed run on a fresh copy of the template: (schedule, process).
fn run(dir: &Path, template: &Path, round: u64, commissions: usize) -> (Duration, Duration) {
    let path = dir.join(format!("run-{round}.db"));
    std::fs::copy(template, &path).unwrap();
    let engine = common::engine(common::open(&path, Synchronous::Normal));
    let scope = common::scope();
    let provider = SimulatedProvider::new();

    let start = Instant::now();
    let outcome = engine
        .schedule_payouts(
            &scope,
            ScheduleRequest {
                batch: BatchId::new(format!("batch-{round}")).unwrap(),
                scheduled_for: common::now(),
                selection: CommissionSelection::AllApproved,
            },
        )
        .unwrap();
    let scheduled = start.elapsed();
    let stats = engine
        .process_batch(&scope, &outcome.batch.id, &provider, false)
        .unwrap();
    let total = start.elapsed();

    let in_payouts: usize = outcome.payouts.iter().map(|p| p.commissions.len()).sum();
    assert_eq!(in_payouts, commissions);
    assert_eq!(stats.unresolved, 0);
    drop(engine);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    (scheduled, total.saturating_sub(scheduled))
}

fn bench(c: &mut Criterion) {
    let full = common::full_run();
    let (chains, batches, batch_size) = if full { (200, 20, 1_000) } else { (2, 1, 10) };
    let dir = common::scratch_dir();
    let (template, commissions) = template(dir.path(), chains, batches, batch_size);
    assert_eq!(commissions, batches as usize * batch_size * common::DEPTH);

    let mut round = 0;
    let mut parts = Vec::new();
    let mut group = c.benchmark_group("payouts");
    group.sample_size(10);
    group.throughput(Throughput::Elements(commissions as u64));
    group.bench_function(format!("schedule_and_process_{commissions}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    let (s, p) = run(dir.path(), &template, round, commissions);
                    parts.push((s, p));
                    s + p
                })
                .sum()
        });
    });
    group.finish();

    if full {
        parts.sort_by_key(|(s, p)| *s + *p);
        let (s, p) = parts[parts.len() / 2];
        println!(
            "payouts summary (median of {} runs): schedule {:.0} ms + process {:.0} ms = {:.0} ms \
             for {commissions} commissions",
            parts.len(),
            s.as_secs_f64() * 1e3,
            p.as_secs_f64() * 1e3,
            (s + p).as_secs_f64() * 1e3,
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
