//! Bulk ingest speed: 1,000 sales per transaction, each with 5 commissions and
//! 6 audit records, written through the `Tx` methods. The target is well over
//! 100,000 commission rows per second in release builds (see the floor below);
//! debug builds only report the rate.
//!
//! `cargo test -p mlas-sqlite --release --test bulk -- --nocapture` shows it.

// Helpers below a test fail the test by panicking, like the tests themselves.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use mlas_core::audit::{AuditRecord, GENESIS_HASH};
use mlas_core::clock::micros;
use mlas_core::rule::LevelRate;
use mlas_core::{
    Affiliate, AffiliateId, AffiliateStatus, Commission, CommissionId, CommissionStatus, Currency,
    Decimal, Money, Sale, SaleId, Store, TenantId,
};
use mlas_sqlite::SqliteStore;

const SALES_PER_TX: usize = 1_000;
const TRANSACTIONS: usize = 5;

struct Batch {
    sales: Vec<Sale>,
    commissions: Vec<Commission>,
    audit: Vec<AuditRecord>,
}

fn batches(tenant: &TenantId, chain: &[AffiliateId]) -> Vec<Batch> {
    let usd = Currency::parse("USD").unwrap();
    let now = micros(Utc::now());
    let mut seq = chain.len() as u64;
    let mut out = Vec::new();
    for b in 0..TRANSACTIONS {
        let mut batch = Batch {
            sales: Vec::new(),
            commissions: Vec::new(),
            audit: Vec::new(),
        };
        for s in 0..SALES_PER_TX {
            let sale = Sale {
                tenant: tenant.clone(),
                id: SaleId::new(format!("sale-{b}-{s}")).unwrap(),
                amount: Money::from_minor(10_000, usd),
                refunded: Money::zero(usd),
                occurred_at: now,
                chain: chain.to_vec(),
                attribution_type: "DIRECT".to_owned(),
                buyer: None,
                attributes: [("channel".to_owned(), "web".to_owned())].into(),
                recorded_at: now,
            };
            let mut audit_for = |kind: &str, resource: String, affiliate: Option<String>| {
                seq += 1;
                batch.audit.push(AuditRecord {
                    tenant: tenant.clone(),
                    seq,
                    at: now,
                    kind: kind.to_owned(),
                    resource_type: "sale".to_owned(),
                    resource_id: resource,
                    affiliate_id: affiliate,
                    actor: "import".to_owned(),
                    payload: serde_json::json!({"amount": "100.00", "currency": "USD"}),
                    prev_hash: GENESIS_HASH.to_owned(),
                    hash: format!("{seq:064x}"),
                });
            };
            audit_for(
                "sale.recorded",
                sale.id.to_string(),
                Some(chain[0].to_string()),
            );
            for (level, affiliate) in chain.iter().enumerate() {
                let id = CommissionId::generate();
                audit_for(
                    "commission.created",
                    id.to_string(),
                    Some(affiliate.to_string()),
                );
                batch.commissions.push(Commission {
                    tenant: tenant.clone(),
                    id,
                    sale: sale.id.clone(),
                    affiliate: affiliate.clone(),
                    chain_level: level as u32 + 1,
                    paid_level: level as u32 + 1,
                    base_amount: sale.amount,
                    rate: LevelRate::Percent {
                        percent: Decimal::from(5),
                    },
                    percent: Some(Decimal::from(5)),
                    rule_id: None,
                    rule_version: None,
                    original_amount: Money::from_minor(500, usd),
                    amount: Money::from_minor(500, usd),
                    reversed_amount: Money::zero(usd),
                    adjusted: Money::zero(usd),
                    status: CommissionStatus::Pending,
                    status_reason: None,
                    available_at: now + TimeDelta::days(30),
                    payout: None,
                    created_at: now,
                    updated_at: now,
                });
            }
            batch.sales.push(sale);
        }
        out.push(batch);
    }
    out
}

fn ingest(store: &dyn Store, label: &str) {
    let tenant = TenantId::new("org-bulk").unwrap();
    let now = micros(Utc::now());
    let chain: Vec<AffiliateId> = (0..5)
        .map(|i| AffiliateId::new(format!("aff-{i}")).unwrap())
        .collect();
    store
        .write(&mut |tx| {
            for (i, id) in chain.iter().enumerate() {
                tx.put_affiliate(&Affiliate {
                    tenant: tenant.clone(),
                    id: id.clone(),
                    name: format!("Affiliate {i}"),
                    email: format!("aff{i}@example.com"),
                    status: AffiliateStatus::Active,
                    tier: "standard".to_owned(),
                    commission_rate: Decimal::from(10),
                    payout: None,
                    sponsor: chain.get(i + 1).cloned(),
                    created_at: now,
                    updated_at: now,
                })?;
                tx.append_audit(&AuditRecord {
                    tenant: tenant.clone(),
                    seq: i as u64 + 1,
                    at: now,
                    kind: "affiliate.created".to_owned(),
                    resource_type: "affiliate".to_owned(),
                    resource_id: id.to_string(),
                    affiliate_id: Some(id.to_string()),
                    actor: "import".to_owned(),
                    payload: serde_json::json!({}),
                    prev_hash: GENESIS_HASH.to_owned(),
                    hash: format!("{:064x}", i + 1),
                })?;
            }
            Ok(())
        })
        .unwrap();

    let batches = batches(&tenant, &chain);
    let started = Instant::now();
    for batch in &batches {
        store
            .write(&mut |tx| {
                let explanation = serde_json::json!({"rule": null, "lines": 5});
                for sale in &batch.sales {
                    tx.put_sale(sale, &explanation)?;
                }
                for c in &batch.commissions {
                    tx.put_commission(c)?;
                }
                for record in &batch.audit {
                    tx.append_audit(record)?;
                }
                Ok(())
            })
            .unwrap();
    }
    let elapsed = started.elapsed();

    let commissions = batches.iter().map(|b| b.commissions.len()).sum::<usize>();
    let rate = f64::from(u32::try_from(commissions).unwrap()) / elapsed.as_secs_f64();
    println!(
        "{label}: {commissions} commissions, {} sales, {} audit records in {elapsed:?}: \
         {rate:.0} commission rows/s",
        TRANSACTIONS * SALES_PER_TX,
        batches.iter().map(|b| b.audit.len()).sum::<usize>(),
    );

    store
        .read(&mut |tx| {
            let stored = tx.commissions(&tenant, &mlas_core::store::CommissionFilter::default())?;
            assert_eq!(stored.len(), commissions);
            assert_eq!(
                tx.audit_head(&tenant)?.unwrap().seq,
                5 + (TRANSACTIONS * SALES_PER_TX * 6) as u64
            );
            Ok(())
        })
        .unwrap();
    // The target is well over 100,000 rows/s in release builds. The machines
    // that run the suite are shared, so by default only a collapse (a lost
    // statement cache, a commit per row) fails the test; set
    // MLAS_BENCH_STRICT=1 on a quiet machine to hold the target itself.
    if !cfg!(debug_assertions) {
        let floor = if std::env::var_os("MLAS_BENCH_STRICT").is_some() {
            100_000.0
        } else {
            20_000.0
        };
        assert!(
            rate > floor,
            "{label}: {rate:.0} commission rows/s, under {floor}"
        );
    }
}

#[test]
fn bulk_ingest_in_memory() {
    ingest(&SqliteStore::open_in_memory().unwrap(), "in memory");
}

#[test]
fn bulk_ingest_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    ingest(
        &SqliteStore::open(dir.path().join("bulk.db")).unwrap(),
        "file (WAL, NORMAL)",
    );
}

/// The engine's import path: `record_sales` calculates and records 1,000
/// sales, their commissions and audit records, in one transaction.
#[test]
fn engine_imports_a_thousand_sales_in_one_transaction() {
    use std::sync::Arc;

    use mlas_core::engine::{Engine, Scope};
    use mlas_core::{NewAffiliate, NewSale, RuleSpec};

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("import.db")).unwrap());
    let engine = Engine::from_arc(Arc::clone(&store) as Arc<dyn Store>);
    let scope = Scope::new("org-import", "import").unwrap();
    let mut upline: Option<AffiliateId> = None;
    for i in 0..5 {
        let mut new = NewAffiliate::new(format!("A{i}"), format!("a{i}@example.com"), 10.into());
        new.sponsor = upline.clone();
        upline = Some(engine.create_affiliate(&scope, new).unwrap().id);
    }
    let levels: Vec<Decimal> = [10, 5, 3, 2, 1].into_iter().map(Decimal::from).collect();
    engine
        .create_rule(&scope, None, RuleSpec::percentages("five", &levels))
        .unwrap();

    let usd = Currency::parse("USD").unwrap();
    let now = micros(Utc::now());
    let credited = upline.unwrap();
    let sales: Vec<NewSale> = (0..1_000)
        .map(|i| {
            NewSale::new(
                SaleId::new(format!("import-{i}")).unwrap(),
                Money::from_minor(10_000 + i, usd),
                now,
                credited.clone(),
            )
        })
        .collect();
    let started = Instant::now();
    let outcomes = engine.record_sales(&scope, &sales).unwrap();
    let elapsed = started.elapsed();
    println!("engine import: 1000 sales, 5000 commissions in {elapsed:?}");

    assert_eq!(outcomes.len(), 1_000);
    assert!(
        outcomes
            .iter()
            .all(|o| o.commissions.len() == 5 && !o.replayed)
    );
    let stored = engine
        .commissions(&scope, &mlas_core::store::CommissionFilter::default())
        .unwrap();
    assert_eq!(stored.len(), 5_000);
    assert!(engine.verify_audit(&scope).unwrap().is_intact());

    // Importing the same file again is a replay: nothing new is written.
    let head = engine.audit_head(&scope).unwrap();
    let again = engine.record_sales(&scope, &sales).unwrap();
    assert!(again.iter().all(|o| o.replayed));
    assert_eq!(engine.audit_head(&scope).unwrap(), head);
}
