//! The Rust side of benchmark 6 (`benches/python_ingest.py`): the very work
//! the Python script times, in Rust. A fresh SQLite file (WAL, NORMAL), the
//! benchmarks' 200 five-level chains and rule, then `batches + 1` calls of
//! `record_sales` with `batch_size` sales each; the first warms up. Prints
//! the median milliseconds per call, as the Python script measures its own.
//!
//! `cargo run --release --example ingest_batches -- [batches] [batch_size]`

#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    missing_docs,
    dead_code
)]

// The same chains, rule and sales as the benchmarks.
#[path = "../benches/common/mod.rs"]
mod common;

use std::time::Instant;

use mlas::sqlite::Synchronous;

fn main() {
    let mut args = std::env::args().skip(1);
    let batches: u64 = args.next().map_or(10, |n| n.parse().unwrap());
    let batch_size: usize = args.next().map_or(1_000, |n| n.parse().unwrap());

    let dir = common::scratch_dir();
    let engine = common::engine(common::open(
        &dir.path().join("rust.db"),
        Synchronous::Normal,
    ));
    let scope = common::scope();
    let sellers = common::populate(&engine, 200);

    let mut times = Vec::new();
    for b in 0..=batches {
        let sales = common::sales(b, batch_size, &sellers);
        let start = Instant::now();
        engine.record_sales(&scope, &sales).unwrap();
        if b > 0 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    println!("rust_ms_per_batch {:.3}", times[times.len() / 2]);
}
