//! Several OS processes on one file: concurrent writers, and writers killed
//! with SIGKILL mid-transaction.
//!
//! The test binary runs itself as the child (`std::env::current_exe`), with
//! `MLAS_TEST_CHILD` naming the child's job; without it, `child_process` is an
//! empty test.

// Helpers below a test fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{engine_verifies, five_level_rule, new_sale, scope, sponsor_line, verify_chain};
use mlas_core::engine::Engine;
use mlas_core::store::CommissionFilter;
use mlas_core::{
    AffiliateId, BatchId, BatchStatus, CommissionSelection, CommissionStatus, Money, NewRefund,
    RefundId, SaleId, ScheduleRequest, SimulatedProvider, Store,
};
use mlas_sqlite::SqliteStore;

const CHILD_JOB: &str = "MLAS_TEST_CHILD";
const CHILD_DB: &str = "MLAS_TEST_CHILD_DB";
const CHILD_NAME: &str = "MLAS_TEST_CHILD_NAME";

/// Writers per process in the concurrency test.
const THREADS: usize = 3;
/// Sales per transaction in the crash test.
const BATCH: i64 = 20;
/// How long each concurrent child writes.
const RUN_FOR: Duration = Duration::from_millis(1_500);

fn spawn_child(job: &str, db: &Path, name: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_JOB, job)
        .env(CHILD_DB, db)
        .env(CHILD_NAME, name)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The child side: does nothing unless started by one of the tests below.
#[test]
fn child_process() {
    let Ok(job) = std::env::var(CHILD_JOB) else {
        return;
    };
    let db = std::env::var(CHILD_DB).unwrap();
    let name = std::env::var(CHILD_NAME).unwrap();
    match job.as_str() {
        "concurrent" => concurrent_child(&db, &name),
        "ingest" => ingest_child(&db, &name),
        other => panic!("unknown child job {other}"),
    }
}

/// Records sales and runs lifecycle operations (approval, payout, dispute,
/// rejection, refund) from several threads until the time is up; prints
/// `ACK <sale>` for every sale whose write returned.
fn concurrent_child(db: &str, name: &str) {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db).unwrap());
    let engine = Engine::from_arc(store);
    let credited = AffiliateId::new("aff-4").unwrap();
    let deadline = Instant::now() + RUN_FOR;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let engine = engine.clone();
            let credited = credited.clone();
            let name = name.to_owned();
            std::thread::spawn(move || {
                let scope = scope();
                let provider = SimulatedProvider::new();
                let mut i = 0;
                while Instant::now() < deadline {
                    let id = format!("{name}-t{t}-s{i}");
                    let outcome = engine
                        .record_sale(&scope, new_sale(&id, 10_000 + i, &credited))
                        .unwrap();
                    println!("ACK {id}");
                    let first = &outcome.commissions[0].id;
                    match i % 4 {
                        // Approve the sale's five commissions, then schedule and
                        // pay them in a batch of this thread's own.
                        0 => {
                            let ids: Vec<_> =
                                outcome.commissions.iter().map(|c| c.id.clone()).collect();
                            for id in &ids {
                                engine.approve(&scope, id).unwrap();
                            }
                            let batch = BatchId::new(format!("{id}-batch")).unwrap();
                            let request = ScheduleRequest {
                                batch: batch.clone(),
                                scheduled_for: chrono::Utc::now(),
                                selection: CommissionSelection::Ids(ids),
                            };
                            let scheduled = engine.schedule_payouts(&scope, request).unwrap();
                            assert!(scheduled.held.is_empty(), "{:?}", scheduled.held);
                            let stats = engine
                                .process_batch(&scope, &batch, &provider, true)
                                .unwrap();
                            assert_eq!(stats.batch.status, BatchStatus::Completed);
                        }
                        1 => {
                            engine.dispute(&scope, first, "checking").unwrap();
                        }
                        2 => {
                            engine.reject(&scope, first, "fraud").unwrap();
                        }
                        _ => {
                            let refund = NewRefund {
                                id: RefundId::new(format!("{id}-r")).unwrap(),
                                sale: outcome.sale.id.clone(),
                                amount: Money::from_minor(5_000, outcome.sale.amount.currency()),
                                reason: "partial".to_owned(),
                            };
                            engine.refund(&scope, refund).unwrap();
                        }
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

/// Records batches of sales in one transaction each, forever (until killed).
fn ingest_child(db: &str, name: &str) {
    let engine = Engine::new(SqliteStore::open(db).unwrap());
    let credited = AffiliateId::new("aff-4").unwrap();
    println!("READY");
    for batch in 0.. {
        let sales: Vec<_> = (0..BATCH)
            .map(|i| new_sale(&format!("{name}-b{batch}-s{i}"), 1_000 + i, &credited))
            .collect();
        engine.record_sales(&scope(), &sales).unwrap();
    }
}

/// A file with a five-level sponsor line and a rule; returns how many audit
/// records one sale adds.
fn prepare(path: &Path) -> u64 {
    let engine = Engine::new(SqliteStore::open(path).unwrap());
    sponsor_line(&engine, 5);
    five_level_rule(&engine);
    let before = verify_chain(&**engine.store(), scope().tenant());
    engine
        .record_sale(
            &scope(),
            new_sale("baseline", 1_000, &AffiliateId::new("aff-4").unwrap()),
        )
        .unwrap();
    verify_chain(&**engine.store(), scope().tenant()) - before
}

fn integrity_ok(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0, "foreign keys hold");
}

fn all_sales(store: &dyn Store) -> Vec<SaleId> {
    let conn_sales = std::cell::RefCell::new(BTreeSet::new());
    store
        .read(&mut |tx| {
            for c in tx.commissions(scope().tenant(), &CommissionFilter::default())? {
                conn_sales.borrow_mut().insert(c.sale);
            }
            Ok(())
        })
        .unwrap();
    conn_sales.into_inner().into_iter().collect()
}

#[test]
fn processes_and_threads_write_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    prepare(&path);

    let children: Vec<Child> = (0..4)
        .map(|p| spawn_child("concurrent", &path, &format!("p{p}")))
        .collect();
    let mut acked = BTreeSet::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "a child failed: {:?}",
            output.status
        );
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            // The harness's "test child_process ... " may share the first line.
            if let Some((_, id)) = line.split_once("ACK ") {
                acked.insert(SaleId::new(id).unwrap());
            }
        }
    }
    assert!(
        acked.len() >= 4 * THREADS,
        "every thread wrote: {}",
        acked.len()
    );

    integrity_ok(&path);
    let store = SqliteStore::open(&path).unwrap();
    let mut stored: BTreeSet<SaleId> = all_sales(&store).into_iter().collect();
    assert!(stored.remove(&SaleId::new("baseline").unwrap()));
    assert_eq!(
        stored, acked,
        "every acknowledged sale is there, and nothing else"
    );

    // Each sale has its five commissions, and its lifecycle step took effect.
    store
        .read(&mut |tx| {
            let commissions = tx.commissions(scope().tenant(), &CommissionFilter::default())?;
            assert_eq!(commissions.len(), (acked.len() + 1) * 5);
            let paid = commissions
                .iter()
                .filter(|c| c.status == CommissionStatus::Paid)
                .count();
            assert!(paid > 0 && paid % 5 == 0, "{paid} paid commissions");
            // Every paid commission is in exactly one paid payout.
            let payouts = tx.payouts(scope().tenant(), &mlas_core::PayoutFilter::default())?;
            let mut carried = BTreeSet::new();
            for p in payouts
                .iter()
                .filter(|p| p.status == mlas_core::PayoutStatus::Paid)
            {
                for c in &p.commissions {
                    assert!(carried.insert(c.clone()), "{c} paid twice");
                }
            }
            assert_eq!(carried.len(), paid);
            Ok(())
        })
        .unwrap();
    verify_chain(&store, scope().tenant());
    engine_verifies(&path);
}

/// A tiny deterministic generator for kill times (no rand dependency).
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn a_writer_killed_mid_ingest_leaves_whole_sales() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let per_sale = prepare(&path);
    let base = verify_chain(&SqliteStore::open(&path).unwrap(), scope().tenant());

    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut rng = Lcg(seed);
    let mut committed = 0;
    for round in 0..15 {
        let mut child = spawn_child("ingest", &path, &format!("k{round}"));
        // The harness prints its own lines first; the child is writing once
        // it says READY. The pipe stays open until the child is dead, so the
        // child never dies of a closed stdout instead of the kill.
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("READY") {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the child exited early"
            );
        }
        let pause = rng.next_below(600);
        std::thread::sleep(Duration::from_millis(pause));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child died before the kill"
        );
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        drop(stdout);

        integrity_ok(&path);
        // Checked in SQL: the Rust-side walk below runs once, at the end.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let count = |sql: &str| -> u64 {
            let n: i64 = conn.query_row(sql, [], |row| row.get(0)).unwrap();
            n as u64
        };
        let sales = count("SELECT count(*) FROM sales");
        // Batches commit whole: sales beyond the baseline come in whole batches.
        assert_eq!((sales - 1) % BATCH as u64, 0, "round {round} (seed {seed})");
        let partial = count(
            "SELECT count(*) FROM sales AS s WHERE (SELECT count(*) FROM commissions AS c \
             WHERE c.tenant = s.tenant AND c.sale = s.id) != 5",
        );
        assert_eq!(
            partial, 0,
            "round {round}: a sale lacks commissions (seed {seed})"
        );
        let (records, last) = (
            count("SELECT count(*) FROM audit_records"),
            count("SELECT max(seq) FROM audit_records"),
        );
        assert_eq!(
            records, last,
            "round {round}: audit seq has a gap (seed {seed})"
        );
        assert_eq!(
            records,
            base + (sales - 1) * per_sale,
            "round {round}: every sale has its audit records (seed {seed})"
        );
        committed = sales - 1;
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        verify_chain(&store, scope().tenant()),
        base + committed * per_sale
    );
    engine_verifies(&path);
    println!("{committed} sales committed across 15 killed writers (seed {seed})");
    assert!(
        committed > 0,
        "the children got some batches in before being killed"
    );
}
