//! File databases: persistence, backups, sharing across threads and stores,
//! busy retries and references checked at commit.

// Helpers below a test fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{counts, five_level_rule, new_sale, scope, sponsor_line, verify_chain};
use mlas_core::engine::Engine;
use mlas_core::{ErrorKind, SaleId, Store};
use mlas_sqlite::{SqliteOptions, SqliteStore};

#[test]
fn a_reopened_file_has_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlas.db");
    let recorded = {
        let engine = Engine::new(SqliteStore::open(&path).unwrap());
        let line = sponsor_line(&engine, 6);
        five_level_rule(&engine);
        let outcome = engine
            .record_sale(&scope(), new_sale("s-1", 12_345, &line[5]))
            .unwrap();
        assert_eq!(outcome.commissions.len(), 5);
        outcome
    };

    let engine = Engine::new(SqliteStore::open(&path).unwrap());
    let sale = engine.sale(&scope(), &SaleId::new("s-1").unwrap()).unwrap();
    assert_eq!(sale, recorded.sale);
    for c in &recorded.commissions {
        assert_eq!(&engine.commission(&scope(), &c.id).unwrap(), c);
    }
    // 6 affiliates, 1 rule, 1 sale with 5 commissions: the chain survived whole.
    assert!(verify_chain(&**engine.store(), scope().tenant()) >= 8);

    // Recording it again after the reopen is a replay, not a second sale.
    let again = engine
        .record_sale(&scope(), new_sale("s-1", 12_345, &recorded.sale.chain[0]))
        .unwrap();
    assert!(again.replayed);
}

#[test]
fn a_backup_opens_and_has_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open(dir.path().join("mlas.db")).unwrap());
    let engine = Engine::from_arc(Arc::clone(&sqlite) as Arc<dyn Store>);
    let line = sponsor_line(&engine, 5);
    five_level_rule(&engine);
    for i in 0..20 {
        engine
            .record_sale(&scope(), new_sale(&format!("s-{i}"), 1_000 + i, &line[4]))
            .unwrap();
    }
    let store = &*sqlite;
    let target = dir.path().join("backup.db");
    store.backup_to(&target).unwrap();

    let err = store.backup_to(&target).unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Validation,
        "an existing file is not overwritten"
    );

    let copy = SqliteStore::open(&target).unwrap();
    let tenant = scope().tenant().clone();
    assert_eq!(counts(&copy, &tenant), counts(store, &tenant));
    assert_eq!(counts(&copy, &tenant).0, 100);
    assert_eq!(verify_chain(&copy, &tenant), verify_chain(store, &tenant));
    let all = |s: &dyn Store| {
        let mut out = Vec::new();
        s.read(&mut |tx| {
            out = tx.commissions(&tenant, &mlas_core::store::CommissionFilter::default())?;
            Ok(())
        })
        .unwrap();
        out
    };
    assert_eq!(all(&copy), all(store));
}

#[test]
fn an_in_memory_store_backs_up_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteStore::open_in_memory().unwrap());
    let engine = Engine::from_arc(Arc::clone(&sqlite) as Arc<dyn Store>);
    sponsor_line(&engine, 3);
    let target = dir.path().join("memory-backup.db");
    sqlite.backup_to(&target).unwrap();
    let copy = SqliteStore::open(&target).unwrap();
    assert_eq!(counts(&copy, scope().tenant()).1, 3);
    assert_eq!(verify_chain(&copy, scope().tenant()), 3);
}

/// Records `per_thread` sales from each of `threads` threads, thread `t`
/// through `engines[t % engines.len()]`; checks that every sale,
/// commission and audit record is there.
fn record_from_threads(engines: &[Engine], threads: usize, per_thread: usize, check: &dyn Store) {
    let line = sponsor_line(&engines[0], 5);
    five_level_rule(&engines[0]);
    let before = verify_chain(check, scope().tenant());

    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let engine = engines[t % engines.len()].clone();
            let start = Arc::clone(&start);
            let credited = line[4].clone();
            thread::spawn(move || {
                start.wait();
                for i in 0..per_thread {
                    let sale = new_sale(&format!("t{t}-s{i}"), 1_000, &credited);
                    let outcome = engine.record_sale(&scope(), sale).unwrap();
                    assert_eq!(outcome.commissions.len(), 5);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }

    let sales = (threads * per_thread) as u64;
    assert_eq!(counts(check, scope().tenant()).0 as u64, sales * 5);
    let chain = verify_chain(check, scope().tenant());
    assert!(chain > before + sales, "every sale was audited");
}

#[test]
fn threads_share_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("mlas.db")).unwrap());
    let engine = Engine::from_arc(Arc::clone(&store));
    record_from_threads(&[engine], 4, 25, &*store);
}

#[test]
fn two_stores_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlas.db");
    let a = Engine::new(SqliteStore::open(&path).unwrap());
    let b = Engine::new(SqliteStore::open(&path).unwrap());
    let check = SqliteStore::open(&path).unwrap();
    record_from_threads(&[a, b], 4, 25, &check);
}

/// Holds the file's write lock from a plain connection for `hold`.
fn hold_write_lock(
    path: &std::path::Path,
    hold: Duration,
) -> (thread::JoinHandle<()>, Arc<Barrier>) {
    let locked = Arc::new(Barrier::new(2));
    let signal = Arc::clone(&locked);
    let path = path.to_owned();
    let handle = thread::spawn(move || {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        signal.wait();
        thread::sleep(hold);
        conn.execute_batch("COMMIT").unwrap();
    });
    (handle, locked)
}

#[test]
fn a_busy_file_is_retried_then_reported_as_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mlas.db");
    drop(SqliteStore::open(&path).unwrap());

    // No waiting inside SQLite: only the store's own retries get past the lock.
    let patient = SqliteStore::open_with(
        SqliteOptions::file(&path)
            .busy_timeout(Duration::ZERO)
            .max_write_attempts(50),
    )
    .unwrap();
    let (holder, locked) = hold_write_lock(&path, Duration::from_millis(150));
    locked.wait();
    let mut runs = 0;
    patient
        .write(&mut |tx| {
            runs += 1;
            tx.affiliates(scope().tenant()).map(|_| ())
        })
        .unwrap();
    holder.join().unwrap();
    assert_eq!(runs, 1, "the work runs once the lock is taken");

    let impatient = SqliteStore::open_with(
        SqliteOptions::file(&path)
            .busy_timeout(Duration::ZERO)
            .max_write_attempts(1),
    )
    .unwrap();
    let (holder, locked) = hold_write_lock(&path, Duration::from_millis(150));
    locked.wait();
    let err = impatient.write(&mut |_| Ok(())).unwrap_err();
    holder.join().unwrap();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.is_retryable(), "busy is retryable: {err}");
}

#[test]
fn reads_run_beside_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("mlas.db")).unwrap());
    let engine = Engine::from_arc(Arc::clone(&store) as Arc<dyn Store>);
    sponsor_line(&engine, 2);

    let inside = Arc::new(Barrier::new(2));
    let done = Arc::new(Barrier::new(2));
    let writer = {
        let (store, inside, done) = (Arc::clone(&store), Arc::clone(&inside), Arc::clone(&done));
        thread::spawn(move || {
            store
                .write(&mut |tx| {
                    let mut a = tx.affiliates(scope().tenant())?.remove(0);
                    a.name = "uncommitted".to_owned();
                    tx.put_affiliate(&a)?;
                    inside.wait();
                    done.wait();
                    Ok(())
                })
                .unwrap();
        })
    };
    inside.wait();
    // The write transaction is open and holds the write lock; a read still
    // runs, and sees the last committed state.
    let names: Vec<String> = {
        let mut names = Vec::new();
        store
            .read(&mut |tx| {
                names = tx
                    .affiliates(scope().tenant())?
                    .into_iter()
                    .map(|a| a.name)
                    .collect();
                Ok(())
            })
            .unwrap();
        names
    };
    done.wait();
    writer.join().unwrap();
    assert!(!names.contains(&"uncommitted".to_owned()), "{names:?}");
}

#[test]
fn a_broken_reference_fails_at_commit_and_writes_nothing() {
    let store = SqliteStore::open_in_memory().unwrap();
    let engine = Engine::new(SqliteStore::open_in_memory().unwrap());
    let line = sponsor_line(&engine, 5);
    five_level_rule(&engine);
    let outcome = engine
        .record_sale(&scope(), new_sale("s-1", 1_000, &line[4]))
        .unwrap();

    // A commission whose sale and affiliate are not in this database.
    let err = store
        .write(&mut |tx| tx.put_commission(&outcome.commissions[0]))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Storage);
    assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
    assert_eq!(counts(&store, scope().tenant()).0, 0);
}

#[test]
fn a_busy_timeout_beyond_a_day_is_refused_not_a_panic() {
    let options = mlas_sqlite::SqliteOptions::in_memory()
        .busy_timeout(std::time::Duration::from_secs(u64::from(u32::MAX)));
    let err = mlas_sqlite::SqliteStore::open_with(options).unwrap_err();
    assert_eq!(err.kind(), mlas_core::ErrorKind::Validation);
}
