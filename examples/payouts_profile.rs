//! A driver for profiling benchmark 5 (payouts): builds the benchmark's file
//! of 100,000 APPROVED commissions once under `target/` (kept between runs),
//! then times `schedule_payouts` and `process_batch` on a fresh copy of it.
//! `cargo build --release --example payouts_profile`, then run it under
//! `perf record -g` or `valgrind --tool=callgrind` (optionally with a
//! smaller `chains` argument: 200 makes 100,000 commissions).

#![allow(clippy::unwrap_used, missing_docs, dead_code)]

// The same chains, rule and sales as the benchmarks, so a profile explains them.
#[path = "../benches/common/mod.rs"]
mod common;

use std::path::PathBuf;

use mlas::sqlite::Synchronous;
use mlas::{BatchId, CommissionSelection, ScheduleRequest, SimulatedProvider};

fn main() {
    let chains: usize = std::env::args().nth(1).map_or(200, |n| n.parse().unwrap());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target");
    let template = dir.join(format!("payouts-template-{chains}.db"));
    let scope = common::scope();
    if !template.exists() {
        let build = dir.join("payouts-build.db");
        common::remove_db(&build);
        let store = common::open(&build, Synchronous::Normal);
        let engine = common::engine(store.clone());
        let sellers = common::populate(&engine, chains);
        for b in 0..20 {
            engine
                .record_sales(&scope, &common::sales(b, chains * 5, &sellers))
                .unwrap();
        }
        engine.approve_available(&scope).unwrap();
        store.backup_to(&template).unwrap();
    }

    let work = dir.join("payouts-run.db");
    common::remove_db(&work);
    std::fs::copy(&template, &work).unwrap();
    let engine = common::engine(common::open(&work, Synchronous::Normal));
    let provider = SimulatedProvider::new();

    let mut outcome = None;
    let (schedule_wall, schedule_cpu) = common::timed(|| {
        outcome = Some(
            engine
                .schedule_payouts(
                    &scope,
                    ScheduleRequest {
                        batch: BatchId::new("batch-1").unwrap(),
                        scheduled_for: common::now(),
                        selection: CommissionSelection::AllApproved,
                    },
                )
                .unwrap(),
        );
    });
    let outcome = outcome.unwrap();
    let (process_wall, process_cpu) = common::timed(|| {
        let stats = engine
            .process_batch(&scope, &outcome.batch.id, &provider, false)
            .unwrap();
        assert_eq!(stats.unresolved, 0);
    });
    let commissions: usize = outcome.payouts.iter().map(|p| p.commissions.len()).sum();
    eprintln!(
        "{commissions} commissions in {} payouts: schedule {schedule_wall:.0?} (CPU \
         {schedule_cpu:.0?}), process {process_wall:.0?} (CPU {process_cpu:.0?})",
        outcome.payouts.len(),
    );
}
