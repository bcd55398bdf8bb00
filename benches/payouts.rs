//! Benchmark 5: payouts. Scheduling one batch over 100,000 APPROVED
//! commissions (1,000 affiliates in 200 five-level chains, so 1,000 payouts
//! of 100 commissions each) and processing it with the `SimulatedProvider`,
//! on a SQLite file (WAL, synchronous=NORMAL). Goal: under one second.
//!
//! Each iteration starts from a copy of the same prepared file (the copy is
//! not timed). The figure is the time of `schedule_payouts` +
//! `process_batch`; the two parts are also printed apart.
//!
//! Baseline: the same state changes in raw rusqlite on a copy of the same
//! file, with MLAS's settings (WAL, NORMAL, foreign keys, 16 MiB page cache)
//! and transactions: one transaction reads the approved commissions through
//! the same index, inserts the batch and 1,000 payouts and sets each
//! commission SCHEDULED; then, for each wave of 100 payouts, one transaction
//! marks them SENDING and one marks them and their commissions PAID. It
//! writes no audit records and checks nothing: the floor of the SQL work.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use mlas::sqlite::Synchronous;
use mlas::{BatchId, CommissionSelection, ScheduleRequest, SimulatedProvider};
use rusqlite::{TransactionBehavior, params};

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
    common::remove_db(&path);
    (scheduled, total.saturating_sub(scheduled))
}

/// One baseline run on a fresh copy of the template: (schedule, process).
fn raw_run(dir: &Path, template: &Path, round: u64, commissions: usize) -> (Duration, Duration) {
    let path = dir.join(format!("raw-{round}.db"));
    std::fs::copy(template, &path).unwrap();
    let mut conn = common::raw_connection(&path);
    let tenant: String = conn
        .query_row("SELECT tenant FROM commissions LIMIT 1", [], |r| r.get(0))
        .unwrap();
    let batch = format!("raw-batch-{round}");

    let start = Instant::now();
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    // (affiliate, currency) -> (sum, commission ids), as scheduling groups them.
    let mut groups: BTreeMap<(String, String), (i64, Vec<String>)> = BTreeMap::new();
    {
        let mut select = tx
            .prepare(
                "SELECT id, affiliate, currency, amount_minor FROM commissions \
                 INDEXED BY commissions_open \
                 WHERE tenant = ?1 AND status = 'APPROVED' AND payout IS NULL ORDER BY id",
            )
            .unwrap();
        let mut rows = select.query(params![tenant]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let group = groups
                .entry((row.get(1).unwrap(), row.get(2).unwrap()))
                .or_default();
            group.0 += row.get::<_, i64>(3).unwrap();
            group.1.push(row.get(0).unwrap());
        }
    }
    tx.execute(
        "INSERT INTO batches (tenant, id, scheduled_for, status, request_digest, created_at) \
         VALUES (?1, ?2, 0, 'SCHEDULED', '', 0)",
        params![tenant, batch],
    )
    .unwrap();
    let mut payouts = Vec::new();
    {
        let mut insert = tx
            .prepare(
                "INSERT INTO payouts (tenant, id, batch, affiliate, currency, amount_minor, \
                 status, attempts, commissions, adjustments, retryable, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'PENDING', 0, ?7, '[]', 0, 0, 0)",
            )
            .unwrap();
        let mut schedule = tx
            .prepare(
                "UPDATE commissions SET status = 'SCHEDULED', payout = ?3, updated_at = 1 \
                 WHERE tenant = ?1 AND id = ?2",
            )
            .unwrap();
        for (n, ((affiliate, currency), (sum, ids))) in groups.into_iter().enumerate() {
            let payout = format!("pay_raw_{n:06}");
            let list = serde_json::to_string(&ids).unwrap();
            insert
                .execute(params![
                    tenant, payout, batch, affiliate, currency, sum, list
                ])
                .unwrap();
            for id in &ids {
                schedule.execute(params![tenant, id, payout]).unwrap();
            }
            payouts.push((payout, ids));
        }
    }
    tx.commit().unwrap();
    let scheduled = start.elapsed();

    for wave in payouts.chunks(100) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        for (payout, _) in wave {
            tx.prepare_cached(
                "UPDATE payouts SET status = 'SENDING', attempts = 1, updated_at = 2 \
                 WHERE tenant = ?1 AND id = ?2",
            )
            .unwrap()
            .execute(params![tenant, payout])
            .unwrap();
        }
        tx.commit().unwrap();

        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        for (payout, ids) in wave {
            tx.prepare_cached(
                "UPDATE payouts SET status = 'PAID', provider_reference = ?2, updated_at = 3, \
                 paid_at = 3 WHERE tenant = ?1 AND id = ?2",
            )
            .unwrap()
            .execute(params![tenant, payout])
            .unwrap();
            let mut pay = tx
                .prepare_cached(
                    "UPDATE commissions SET status = 'PAID', updated_at = 3 \
                     WHERE tenant = ?1 AND id = ?2",
                )
                .unwrap();
            for id in ids {
                pay.execute(params![tenant, id]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let total = start.elapsed();

    let in_payouts: usize = payouts.iter().map(|(_, ids)| ids.len()).sum();
    assert_eq!(in_payouts, commissions);
    drop(conn);
    common::remove_db(&path);
    (scheduled, total.saturating_sub(scheduled))
}

/// Prints the median of `runs` as "schedule + process = total".
fn median_line(what: &str, runs: &mut [(Duration, Duration)]) -> f64 {
    runs.sort_by_key(|(s, p)| *s + *p);
    let (s, p) = runs[runs.len() / 2];
    let total = (s + p).as_secs_f64();
    println!(
        "  {what}: schedule {:.0} ms + process {:.0} ms = {:.0} ms",
        s.as_secs_f64() * 1e3,
        p.as_secs_f64() * 1e3,
        total * 1e3,
    );
    total
}

fn bench(c: &mut Criterion) {
    let full = common::full_run();
    let (chains, batches, batch_size) = if full { (200, 20, 1_000) } else { (2, 1, 10) };
    let dir = common::scratch_dir();
    let (template, commissions) = template(dir.path(), chains, batches, batch_size);
    assert_eq!(commissions, batches as usize * batch_size * common::DEPTH);

    let mut round = 0;
    let mut group = c.benchmark_group("payouts");
    group.sample_size(10);
    group.throughput(Throughput::Elements(commissions as u64));
    group.bench_function(format!("schedule_and_process_{commissions}"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    let (s, p) = run(dir.path(), &template, round, commissions);
                    s + p
                })
                .sum()
        });
    });
    group.bench_function("baseline_raw_sql", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    let (s, p) = raw_run(dir.path(), &template, round, commissions);
                    s + p
                })
                .sum()
        });
    });
    group.finish();

    if full {
        // The ratio from interleaved rounds: both sides see the same noise.
        let rounds = 7;
        let mut mlas = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..rounds {
            round += 1;
            mlas.push(run(dir.path(), &template, round, commissions));
            raw.push(raw_run(dir.path(), &template, round, commissions));
        }
        println!(
            "payouts summary ({rounds} interleaved rounds, medians, {commissions} commissions)"
        );
        let m = median_line("MLAS    ", &mut mlas);
        let r = median_line("baseline", &mut raw);
        println!("  MLAS/baseline time {:.2}", m / r);
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
