//! A small deterministic driver for profiling `record_sales` under callgrind:
//! `cargo build --release --example ingest_profile` then
//! `valgrind --tool=callgrind target/release/examples/ingest_profile [memory|sqlite|durable] [sales]`.
//!
//! Sets up 20 five-level chains and one five-level rule, records one warm-up
//! batch, then the measured work: `sales` sales in one `record_sales` call
//! (memory, sqlite) or one `record_sale` per sale (durable: SQLite, FULL sync).

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use mlas::sqlite::{SqliteOptions, SqliteStore, Synchronous};
use mlas::{
    AffiliateId, Currency, Decimal, Engine, FixedClock, Money, NewAffiliate, NewSale,
    PayoutDetails, RuleSpec, SaleId, Scope,
};

const DEPTH: usize = 5;

fn populate(engine: &Engine, scope: &Scope, chains: usize) -> Vec<AffiliateId> {
    let details = PayoutDetails::us_bank("1234567890", "021000021", "Bank", "Holder").unwrap();
    let mut sellers = Vec::with_capacity(chains);
    for c in 0..chains {
        let mut sponsor: Option<AffiliateId> = None;
        for level in (1..=DEPTH).rev() {
            let id = AffiliateId::new(format!("aff-{c:05}-{level}")).unwrap();
            let mut new = NewAffiliate::new(
                format!("Affiliate {c} {level}"),
                format!("a{c}l{level}@example.com"),
                Decimal::from(10),
            );
            new.id = Some(id.clone());
            new.sponsor = sponsor.take();
            new.payout = Some(details.clone());
            engine.create_affiliate(scope, new).unwrap();
            sponsor = Some(id);
        }
        sellers.push(sponsor.unwrap());
    }
    let percents = [10, 5, 3, 2, 1].map(Decimal::from);
    engine
        .create_rule(scope, None, RuleSpec::percentages("five levels", &percents))
        .unwrap();
    sellers
}

fn sales(batch: u64, count: usize, sellers: &[AffiliateId]) -> Vec<NewSale> {
    let usd = Currency::parse("USD").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap();
    (0..count)
        .map(|i| {
            let cents = 1_000 + (i as i64 * 7919) % 100_000;
            NewSale::new(
                SaleId::new(format!("s{batch:08}-{i:05}")).unwrap(),
                Money::new(Decimal::new(cents, 2), usd, "amount").unwrap(),
                at + TimeDelta::seconds(i as i64),
                sellers[i % sellers.len()].clone(),
            )
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "memory".into());
    let count: usize = args.next().map_or(200, |n| n.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let engine = match mode.as_str() {
        "memory" => Engine::in_memory(),
        "sqlite" | "durable" => {
            let sync = if mode == "durable" {
                Synchronous::Full
            } else {
                Synchronous::Normal
            };
            let store = SqliteStore::open_with(
                SqliteOptions::file(dir.path().join("p.db")).synchronous(sync),
            )
            .unwrap();
            Engine::new(store)
        }
        other => panic!("unknown mode {other}"),
    };
    let engine = engine.with_clock(Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
    )));
    let scope = Scope::new("org-bench", "bench").unwrap();
    let sellers = populate(&engine, &scope, 20);
    engine
        .record_sales(&scope, &sales(0, 20, &sellers))
        .unwrap();
    let batch = sales(1, count, &sellers);
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
