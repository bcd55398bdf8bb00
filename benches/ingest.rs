//! Benchmark 2: bulk ingest into a SQLite file (WAL, synchronous=NORMAL),
//! 1,000 sales per transaction through `Engine::record_sales`, 5-level chains.
//!
//! Baseline: raw rusqlite inserting the very rows MLAS wrote for one batch
//! (the sales, commission and audit rows, same sizes, same schema and
//! indexes, foreign keys on) with prepared statements in one transaction.
//! Both sides write the same number of rows per batch, so the ratio of their
//! times is the ratio of their row rates.

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::time::Duration;

use criterion::{Criterion, Throughput};
use mlas::sqlite::Synchronous;
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

/// The rows one batch wrote, per table, in table column order.
struct BatchRows {
    sales: Vec<Vec<Value>>,
    commissions: Vec<Vec<Value>>,
    audit: Vec<Vec<Value>>,
}

impl BatchRows {
    fn count(&self) -> usize {
        self.sales.len() + self.commissions.len() + self.audit.len()
    }
}

fn read_rows(conn: &Connection, sql: &str) -> Vec<Vec<Value>> {
    let mut stmt = conn.prepare(sql).unwrap();
    let columns = stmt.column_count();
    stmt.query_map([], |row| {
        (0..columns)
            .map(|i| row.get::<_, Value>(i))
            .collect::<rusqlite::Result<Vec<_>>>()
    })
    .unwrap()
    .collect::<rusqlite::Result<Vec<_>>>()
    .unwrap()
}

/// The rows of batch 0, read back from the MLAS database.
fn capture(path: &std::path::Path) -> BatchRows {
    let conn = Connection::open(path).unwrap();
    BatchRows {
        sales: read_rows(
            &conn,
            "SELECT * FROM sales WHERE id LIKE 's00000000-%' ORDER BY id",
        ),
        commissions: read_rows(
            &conn,
            "SELECT * FROM commissions WHERE sale LIKE 's00000000-%' ORDER BY id",
        ),
        audit: read_rows(
            &conn,
            "SELECT * FROM audit_records WHERE type IN ('sale.recorded', 'commission.calculated') ORDER BY seq",
        ),
    }
}

fn prefixed(value: &Value, prefix: &str) -> Value {
    match value {
        Value::Text(t) => Value::Text(format!("{prefix}{t}")),
        other => other.clone(),
    }
}

/// Batch `k` of the baseline: batch 0's rows under fresh keys.
///
/// Every key (sale id, commission id, the sale a commission references, an
/// audit record's resource id) gets the prefix `b{k:08}-`, so each batch's
/// keys sort after the previous batch's, in the same order as batch 0's. Like
/// MLAS (sale ids of increasing batches, time-ordered commission ids, growing
/// sequence numbers), the baseline appends at the end of every B-tree.
fn rekey(rows: &BatchRows, k: u64, seq_base: i64) -> BatchRows {
    let prefix = format!("b{k:08}-");
    let sales = rows
        .sales
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[1] = prefixed(&r[1], &prefix);
            r
        })
        .collect();
    let commissions = rows
        .commissions
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r[1] = prefixed(&r[1], &prefix);
            r[2] = prefixed(&r[2], &prefix);
            r
        })
        .collect();
    let audit = rows
        .audit
        .iter()
        .enumerate()
        .map(|(j, r)| {
            let mut r = r.clone();
            r[1] = Value::Integer(seq_base + j as i64 + 1);
            r[5] = prefixed(&r[5], &prefix);
            r
        })
        .collect();
    BatchRows {
        sales,
        commissions,
        audit,
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The baseline's transaction: prepared inserts of every row, one commit.
fn raw_insert(conn: &mut Connection, rows: &BatchRows) {
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    for (table, rows) in [
        ("sales", &rows.sales),
        ("commissions", &rows.commissions),
        ("audit_records", &rows.audit),
    ] {
        let Some(first) = rows.first() else { continue };
        let sql = format!("INSERT INTO {table} VALUES ({})", placeholders(first.len()));
        let mut stmt = tx.prepare_cached(&sql).unwrap();
        for row in rows {
            stmt.execute(params_from_iter(row.iter())).unwrap();
        }
    }
    tx.commit().unwrap();
}

struct Setup {
    _dir: tempfile::TempDir,
    engine: mlas::Engine,
    sellers: Vec<mlas::AffiliateId>,
    raw: Connection,
    rows: BatchRows,
    batch_size: usize,
    next_batch: u64,
    next_seq: i64,
}

impl Setup {
    fn new(chains: usize, batch_size: usize) -> Self {
        let dir = common::scratch_dir();
        let mlas_path = dir.path().join("mlas.db");
        let raw_path = dir.path().join("raw.db");

        let engine = common::engine(common::open(&mlas_path, Synchronous::Normal));
        let sellers = common::populate(&engine, chains);
        // The baseline file: the same schema and affiliates, then raw SQL only.
        let other = common::engine(common::open(&raw_path, Synchronous::Normal));
        common::populate(&other, chains);
        drop(other);

        engine
            .record_sales(&common::scope(), &common::sales(0, batch_size, &sellers))
            .unwrap();
        let rows = capture(&mlas_path);
        assert_eq!(rows.sales.len(), batch_size);
        assert_eq!(rows.commissions.len(), batch_size * common::DEPTH);

        let raw = common::raw_connection(&raw_path);
        let next_seq = raw
            .query_row("SELECT MAX(seq) FROM audit_records", [], |r| r.get(0))
            .unwrap();
        Setup {
            _dir: dir,
            engine,
            sellers,
            raw,
            rows,
            batch_size,
            next_batch: 1,
            next_seq,
        }
    }

    /// One MLAS batch: (wall, CPU).
    fn mlas_batch(&mut self) -> (Duration, Duration) {
        let sales = common::sales(self.next_batch, self.batch_size, &self.sellers);
        self.next_batch += 1;
        common::timed(|| {
            self.engine.record_sales(&common::scope(), &sales).unwrap();
        })
    }

    /// One baseline batch: (wall, CPU).
    fn raw_batch(&mut self) -> (Duration, Duration) {
        let rows = rekey(&self.rows, self.next_batch, self.next_seq);
        self.next_batch += 1;
        self.next_seq += rows.audit.len() as i64;
        common::timed(|| raw_insert(&mut self.raw, &rows))
    }
}

fn bench(c: &mut Criterion) {
    let full = common::full_run();
    let (chains, batch_size) = if full { (200, 1_000) } else { (4, 20) };
    let mut setup = Setup::new(chains, batch_size);
    let rows_per_batch = setup.rows.count() as u64;

    let mut group = c.benchmark_group("ingest");
    group.sample_size(10);
    group.throughput(Throughput::Elements(batch_size as u64));
    group.bench_function("record_sales_1000", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| setup.mlas_batch().0).sum());
    });
    group.bench_function("baseline_raw_inserts", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| setup.raw_batch().0).sum());
    });
    group.finish();

    if full {
        // The ratio from interleaved rounds: both sides see the same noise.
        let rounds = 15;
        let mut mlas = Vec::new();
        let mut raw = Vec::new();
        for _ in 0..rounds {
            mlas.push(setup.mlas_batch());
            raw.push(setup.raw_batch());
        }
        let (mlas, mlas_cpu) = common::medians(mlas);
        let (raw, raw_cpu) = common::medians(raw);
        let rows = rows_per_batch as f64;
        let sales = batch_size as f64;
        let lines = sales * common::DEPTH as f64;
        println!(
            "ingest summary ({rounds} interleaved rounds, medians, {rows_per_batch} rows per batch)"
        );
        for (what, m, r) in [("wall", mlas, raw), ("cpu", mlas_cpu, raw_cpu)] {
            let (m, r) = (m.as_secs_f64(), r.as_secs_f64());
            println!(
                "  {what}: MLAS {:.1} ms/batch = {:.0} sales/s, {:.0} commission lines/s, {:.0} \
                 rows/s | baseline {:.1} ms = {:.0} rows/s | MLAS/baseline row rate {:.2}",
                m * 1e3,
                sales / m,
                lines / m,
                rows / m,
                r * 1e3,
                rows / r,
                r / m,
            );
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
