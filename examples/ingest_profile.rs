//! A small deterministic driver for profiling `record_sales` under callgrind:
//! `cargo build --release --example ingest_profile` then
//! `valgrind --tool=callgrind target/release/examples/ingest_profile [memory|sqlite|durable] [sales]`.
//!
//! Sets up 20 five-level chains and one five-level rule, records one warm-up
//! batch, then the measured work: `sales` sales in one `record_sales` call
//! (memory, sqlite) or one `record_sale` per sale (durable: SQLite, FULL sync).

#![allow(clippy::unwrap_used, missing_docs, dead_code)]

// The same chains, rule and sales as the benchmarks, so a profile explains them.
#[path = "../benches/common/mod.rs"]
mod common;

use std::sync::Arc;

use mlas::sqlite::Synchronous;
use mlas::{Engine, FixedClock};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "memory".into());
    let count: usize = args.next().map_or(200, |n| n.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let engine = match mode.as_str() {
        "memory" => Engine::in_memory().with_clock(Arc::new(FixedClock::new(common::now()))),
        "sqlite" => common::engine(common::open(&dir.path().join("p.db"), Synchronous::Normal)),
        "durable" => common::engine(common::open(&dir.path().join("p.db"), Synchronous::Full)),
        other => panic!("unknown mode {other}"),
    };
    let scope = common::scope();
    let sellers = common::populate(&engine, 20);
    engine
        .record_sales(&scope, &common::sales(0, 20, &sellers))
        .unwrap();
    let batch = common::sales(1, count, &sellers);
    let start = std::time::Instant::now();
    if mode == "durable" {
        for sale in batch {
            engine.record_sale(&scope, sale).unwrap();
        }
    } else {
        engine.record_sales(&scope, &batch).unwrap();
    }
    eprintln!("{mode}: {count} sales in {:?}", start.elapsed());
}
