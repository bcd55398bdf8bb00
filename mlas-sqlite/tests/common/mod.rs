//! Helpers shared by the integration tests.

// Not every test file uses every helper; a helper failing is a test failing.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::str::FromStr;

use mlas_core::audit::{GENESIS_HASH, record_hash};
use mlas_core::engine::{Engine, Scope};
use mlas_core::{
    AffiliateId, Currency, Decimal, Money, NewAffiliate, NewSale, SaleId, Store, TenantId,
};

/// The tenant every test uses.
pub fn scope() -> Scope {
    Scope::new("org-1", "test").unwrap()
}

/// Creates a sponsor line `aff-0 <- aff-1 <- ... <- aff-(n-1)` (aff-0 on top)
/// and returns the ids, deepest last.
pub fn sponsor_line(engine: &Engine, n: usize) -> Vec<AffiliateId> {
    let scope = scope();
    let mut ids: Vec<AffiliateId> = Vec::new();
    for i in 0..n {
        let mut new = NewAffiliate::new(
            format!("Affiliate {i}"),
            format!("aff{i}@example.com"),
            Decimal::from(10),
        );
        new.id = Some(AffiliateId::new(format!("aff-{i}")).unwrap());
        new.sponsor = ids.last().cloned();
        new.payout =
            Some(mlas_core::PayoutDetails::paypal(&format!("aff{i}@example.com")).unwrap());
        ids.push(engine.create_affiliate(&scope, new).unwrap().id);
    }
    ids
}

/// A rule paying five levels, so each sale makes five commissions.
pub fn five_level_rule(engine: &Engine) {
    let levels: Vec<Decimal> = ["10", "5", "3", "2", "1"]
        .iter()
        .map(|p| Decimal::from_str(p).unwrap())
        .collect();
    engine
        .create_rule(
            &scope(),
            None,
            mlas_core::RuleSpec::percentages("five levels", &levels),
        )
        .unwrap();
}

/// A USD sale of `cents` credited to `affiliate`.
pub fn new_sale(id: &str, cents: i64, affiliate: &AffiliateId) -> NewSale {
    NewSale::new(
        SaleId::new(id).unwrap(),
        Money::from_minor(cents, Currency::parse("USD").unwrap()),
        // Whole microseconds: the precision SQLite keeps. (The engine stores
        // the time as given; a nanosecond part would not survive a reopen.)
        mlas_core::clock::micros(chrono::Utc::now()),
        affiliate.clone(),
    )
}

/// Walks a tenant's chain: sequence numbers 1, 2, 3, ... without gaps or
/// repeats, each record's `prev_hash` the previous hash, each hash recomputed.
/// Returns the number of records.
pub fn verify_chain(store: &dyn Store, tenant: &TenantId) -> u64 {
    let mut count = 0;
    let mut prev = GENESIS_HASH.to_owned();
    store
        .read(&mut |tx| {
            count = 0;
            prev = GENESIS_HASH.to_owned();
            tx.scan_audit(tenant, 0, &mut |record| {
                count += 1;
                assert_eq!(record.seq, count, "sequence numbers have a gap or repeat");
                assert_eq!(
                    record.prev_hash, prev,
                    "record {} does not chain",
                    record.seq
                );
                assert_eq!(
                    record_hash(&record, None).unwrap(),
                    record.hash,
                    "record {} was altered",
                    record.seq
                );
                prev = record.hash;
                Ok(true)
            })
        })
        .unwrap();
    count
}

/// Verifies the tenant's chain with the engine's own verifier too.
pub fn engine_verifies(path: &std::path::Path) {
    let engine = Engine::new(mlas_sqlite::SqliteStore::open(path).unwrap());
    let report = engine.verify_audit(&scope()).unwrap();
    assert!(report.is_intact(), "{:?}", report.broken);
}

/// Counts rows of the tenant with a read transaction.
pub fn counts(store: &dyn Store, tenant: &TenantId) -> (usize, usize) {
    let mut out = (0, 0);
    store
        .read(&mut |tx| {
            let commissions = tx
                .commissions(tenant, &mlas_core::store::CommissionFilter::default())?
                .len();
            let affiliates = tx.affiliates(tenant)?.len();
            out = (commissions, affiliates);
            Ok(())
        })
        .unwrap();
    out
}

/// A fresh copy of `path` to tamper with, made with SQLite's backup API.
pub fn copy_of(path: &Path, dir: &Path, name: &str) -> PathBuf {
    let copy = dir.join(name);
    mlas_sqlite::SqliteStore::open(path)
        .unwrap()
        .backup_to(&copy)
        .unwrap();
    copy
}

/// Runs `sql` on the file behind the library's back, as an attacker would.
pub fn attack(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
