//! The storage conformance suite: what every [`Store`] backend must do.
//!
//! Each public function takes a factory that makes a fresh, empty store, runs
//! one group of checks against the [`Tx`] contract and panics on the first
//! failure, like a test. [`run_all`] runs every group. A backend runs it from
//! its own tests:
//!
//! ```no_run
//! # #[cfg(feature = "conformance")] {
//! use mlas_core::{MemoryStore, Store};
//! mlas_core::conformance::run_all(&|| Box::new(MemoryStore::new()) as Box<dyn Store>);
//! # }
//! ```
//!
//! The fixtures keep references whole (a commission's sale and affiliate exist,
//! a payout's batch exists, ...), so a backend may enforce those references at
//! commit. Times are whole microseconds, the precision every backend keeps.

// A test suite reports failure by panicking; unwrapping is how it asserts.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]
// Fixtures are built by editing a full value field by field, which reads best
// as plain assignments; speed does not matter here.
#![allow(clippy::assigning_clones, clippy::many_single_char_names)]

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use crate::affiliate::{Affiliate, AffiliateStatus};
use crate::audit::{AuditHead, AuditQuery, AuditRecord, GENESIS_HASH};
use crate::commission::{Adjustment, AdjustmentKind, Commission, CommissionStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{
    AdjustmentId, AffiliateId, BatchId, CommissionId, PayoutId, RefundId, RuleId, SaleId, TenantId,
};
use crate::money::{Currency, Money};
use crate::payout::{BatchLease, BatchStatus, Payout, PayoutBatch, PayoutStatus};
use crate::payout_method::PayoutDetails;
use crate::rule::{Condition, LevelRate, LevelRule, Rule, RuleSpec};
use crate::sale::{Refund, Reversal, Sale};
use crate::store::{
    AdjustmentFilter, AuditCheckpoint, CommissionFilter, CommissionMove, CommissionTally,
    PayableCommission, PayoutFilter, PayoutHead, PayoutTally, Store, Tx,
};

/// Makes a fresh, empty store for one group of checks.
pub type Factory<'a> = &'a dyn Fn() -> Box<dyn Store>;

/// Runs every group of checks, each on a fresh store.
pub fn run_all(factory: Factory<'_>) {
    describe(factory);
    affiliate_round_trip(factory);
    rule_versions(factory);
    sale_round_trip(factory);
    commission_round_trip(factory);
    commission_filters(factory);
    commission_moves(factory);
    refund_round_trip(factory);
    adjustment_round_trip_and_filters(factory);
    batch_and_payout_round_trip(factory);
    payout_filters(factory);
    tallies(factory);
    money_and_time_extremes(factory);
    tenant_isolation(factory);
    rollback_on_error(factory);
    work_error_is_returned_unchanged(factory);
    panic_in_work_rolls_back(factory);
    reads_see_own_writes(factory);
    audit_round_trip(factory);
    audit_append_rules(factory);
    audit_scan(factory);
    audit_rows(factory);
    audit_query(factory);
    audit_archiving(factory);
    read_rejects_writes(factory);
}

// ---------------------------------------------------------------------------
// Helpers and fixtures.

/// Runs `work` in a write transaction and returns its value.
pub fn write<T>(store: &dyn Store, mut work: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    store.write(&mut |tx| {
        out = Some(work(tx)?);
        Ok(())
    })?;
    Ok(out.expect("write returned Ok without running the work"))
}

/// Runs `work` in a read transaction and returns its value.
pub fn read<T>(store: &dyn Store, mut work: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    store.read(&mut |tx| {
        out = Some(work(tx)?);
        Ok(())
    })?;
    Ok(out.expect("read returned Ok without running the work"))
}

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn money(amount: &str, code: &str) -> Money {
    Money::parse(amount, currency(code), "amount").unwrap()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A time with a non-zero microsecond part, `secs` after the suite's epoch.
fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 6, 12, 0, 0).unwrap()
        + TimeDelta::seconds(secs)
        + TimeDelta::microseconds(123_457)
}

fn aff_id(id: &str) -> AffiliateId {
    AffiliateId::new(id).unwrap()
}

fn sale_id(id: &str) -> SaleId {
    SaleId::new(id).unwrap()
}

fn com_id(id: &str) -> CommissionId {
    CommissionId::new(id).unwrap()
}

fn pay_id(id: &str) -> PayoutId {
    PayoutId::new(id).unwrap()
}

fn adj_id(id: &str) -> AdjustmentId {
    AdjustmentId::new(id).unwrap()
}

fn batch_id(id: &str) -> BatchId {
    BatchId::new(id).unwrap()
}

/// An affiliate with every field set.
fn affiliate(tenant: &TenantId, id: &str) -> Affiliate {
    Affiliate {
        tenant: tenant.clone(),
        id: aff_id(id),
        name: "Zoë O'Brien \"the first\"".to_owned(),
        email: format!("{id}@example.com"),
        status: AffiliateStatus::Active,
        tier: "gold".to_owned(),
        commission_rate: dec("12.345"),
        payout: Some(PayoutDetails::us_bank("000123456789", "021000021", "Chase", "Zoë").unwrap()),
        sponsor: None,
        created_at: at(0),
        updated_at: at(1),
    }
}

/// A rule version whose spec uses every field.
fn rule(tenant: &TenantId, id: &str, version: u32) -> Rule {
    let spec = RuleSpec {
        name: format!("rule {id} v{version}"),
        priority: -7,
        active: version % 2 == 1,
        valid_from: Some(at(-100)),
        valid_until: Some(at(100_000)),
        conditions: vec![
            Condition::new("amount", "gte", vec!["10.50".to_owned()]).unwrap(),
            Condition::new(
                "attributes.channel",
                "in",
                vec!["web".to_owned(), "app ✓".to_owned()],
            )
            .unwrap(),
            Condition::new("tier", "ne", vec!["bronze".to_owned()]).unwrap(),
        ],
        levels: vec![
            LevelRule::percent(dec("10.125")),
            LevelRule {
                rate: LevelRate::AffiliateRate,
                cap: Some(dec("5.00")),
            },
            LevelRule {
                rate: LevelRate::Fixed {
                    amount: dec("1.25"),
                },
                cap: None,
            },
        ],
        compression: true,
        total_cap_percent: Some(dec("33.3")),
        currency: Some(currency("USD")),
        holding_days: 30 + version,
    };
    Rule {
        tenant: tenant.clone(),
        id: RuleId::new(id).unwrap(),
        version,
        spec,
        created_at: at(10),
        version_created_at: at(10 + i64::from(version)),
    }
}

/// A sale with every field set, credited to `chain[0]`.
fn sale(tenant: &TenantId, id: &str, amount: Money, chain: &[&str]) -> Sale {
    let mut attributes = BTreeMap::new();
    attributes.insert("channel".to_owned(), "web".to_owned());
    attributes.insert(
        "note".to_owned(),
        "ünïcödé, \"quoted\" and 'single'".to_owned(),
    );
    Sale {
        tenant: tenant.clone(),
        id: sale_id(id),
        amount,
        refunded: Money::zero(amount.currency()),
        occurred_at: at(20),
        chain: chain.iter().map(|a| aff_id(a)).collect(),
        attribution_type: "COUPON".to_owned(),
        buyer: Some(aff_id("buyer-1")),
        attributes,
        recorded_at: at(21),
    }
}

/// A commission with every optional field set.
fn commission(
    tenant: &TenantId,
    id: &str,
    sale: &str,
    affiliate: &str,
    status: CommissionStatus,
) -> Commission {
    Commission {
        tenant: tenant.clone(),
        id: com_id(id),
        sale: sale_id(sale),
        affiliate: aff_id(affiliate),
        chain_level: 3,
        paid_level: 2,
        base_amount: money("1234.56", "USD"),
        rate: LevelRate::Percent {
            percent: dec("7.5"),
        },
        percent: Some(dec("7.5")),
        rule_id: Some(RuleId::new("r-1").unwrap()),
        rule_version: Some(4),
        original_amount: money("92.59", "USD"),
        amount: money("80.01", "USD"),
        reversed_amount: money("12.58", "USD"),
        adjusted: money("-3.33", "USD"),
        status,
        status_reason: Some("checked by ops".to_owned()),
        available_at: at(3600),
        payout: None,
        created_at: at(22),
        updated_at: at(23),
    }
}

fn adjustment(tenant: &TenantId, id: &str, affiliate: &str, payout: Option<&str>) -> Adjustment {
    Adjustment {
        tenant: tenant.clone(),
        id: adj_id(id),
        affiliate: aff_id(affiliate),
        amount: money("-12.58", "USD"),
        kind: AdjustmentKind::Clawback,
        reason: "refund of sale s-1".to_owned(),
        commission: Some(com_id("c-1")),
        sale: Some(sale_id("s-1")),
        refund: Some(RefundId::new("rf-1").unwrap()),
        payout: payout.map(pay_id),
        created_at: at(30),
    }
}

fn batch(tenant: &TenantId, id: &str) -> PayoutBatch {
    PayoutBatch {
        tenant: tenant.clone(),
        id: batch_id(id),
        scheduled_for: at(86_400),
        status: BatchStatus::PartiallyFailed,
        request_digest: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            .to_owned(),
        created_at: at(40),
        started_at: Some(at(41)),
        finished_at: Some(at(42)),
        lease: Some(BatchLease {
            holder: "worker-1".to_owned(),
            until: at(43),
        }),
    }
}

fn payout(
    tenant: &TenantId,
    id: &str,
    batch: &str,
    affiliate: &str,
    status: PayoutStatus,
) -> Payout {
    Payout {
        tenant: tenant.clone(),
        id: pay_id(id),
        batch: batch_id(batch),
        affiliate: aff_id(affiliate),
        amount: money("67.43", "USD"),
        status,
        attempts: 2,
        commissions: vec![com_id("c-1"), com_id("c-2")],
        adjustments: vec![adj_id("a-1")],
        provider_reference: Some("prov-ref-1".to_owned()),
        failure_reason: Some("insufficient funds".to_owned()),
        retryable: true,
        created_at: at(43),
        updated_at: at(44),
        paid_at: Some(at(45)),
    }
}

/// An audit record; hashes are stand-ins, storage does not check them.
fn audit(tenant: &TenantId, seq: u64, secs: i64, kind: &str, resource: &str) -> AuditRecord {
    AuditRecord {
        tenant: tenant.clone(),
        seq,
        at: at(secs),
        kind: kind.to_owned(),
        resource_type: "commission".to_owned(),
        resource_id: resource.to_owned(),
        affiliate_id: Some(format!("aff-{}", seq % 3)),
        actor: "ops@example.com".to_owned(),
        payload: json!({"seq": seq.to_string(), "amount": "10.50", "nested": {"ok": true}}),
        prev_hash: if seq <= 1 {
            GENESIS_HASH.to_owned()
        } else {
            format!("{:064x}", seq - 1)
        },
        hash: format!("{seq:064x}"),
    }
}

/// Puts affiliates with these ids (no sponsors).
fn put_affiliates(tx: &mut dyn Tx, tenant: &TenantId, ids: &[&str]) -> Result<()> {
    for id in ids {
        tx.put_affiliate(&affiliate(tenant, id))?;
    }
    Ok(())
}

/// Puts a USD sale credited to `affiliate` (which must exist).
fn put_sale(tx: &mut dyn Tx, tenant: &TenantId, id: &str, affiliate: &str) -> Result<()> {
    tx.put_sale(
        &sale(tenant, id, money("1234.56", "USD"), &[affiliate]),
        &json!({}),
    )
}

fn ids<T, I: Clone>(items: &[T], id: impl Fn(&T) -> &I) -> Vec<I> {
    items.iter().map(|x| id(x).clone()).collect()
}

fn count_audit(tx: &mut dyn Tx, tenant: &TenantId) -> Result<Vec<u64>> {
    let mut seqs = Vec::new();
    tx.scan_audit(tenant, 0, &mut |r| {
        seqs.push(r.seq);
        Ok(true)
    })?;
    Ok(seqs)
}

// ---------------------------------------------------------------------------
// The checks.

/// `describe` names the backend.
pub fn describe(factory: Factory<'_>) {
    let store = factory();
    let info = store.describe();
    assert!(!info.backend.is_empty(), "describe() must name the backend");
}

/// Affiliates round-trip with every field, are listed by id, and are replaced
/// by `put_affiliate`.
pub fn affiliate_round_trip(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    let mut sponsor = affiliate(&t, "aff-b");
    sponsor.payout = Some(
        PayoutDetails::iban(
            "GB82 WEST 1234 5698 7654 32",
            Some("NWBKGB2L"),
            "NatWest",
            "A B",
        )
        .unwrap(),
    );
    sponsor.status = AffiliateStatus::Suspended;
    let mut child = affiliate(&t, "aff-a");
    child.sponsor = Some(sponsor.id.clone());
    child.payout = Some(PayoutDetails::iban("DE89370400440532013000", None, "DB", "C").unwrap());
    let mut paypal = affiliate(&t, "aff-c");
    paypal.payout = Some(PayoutDetails::paypal("pay@example.com").unwrap());
    paypal.status = AffiliateStatus::Pending;
    paypal.commission_rate = dec("0");
    let mut bare = affiliate(&t, "aff-10");
    bare.payout = None;
    bare.status = AffiliateStatus::Terminated;
    bare.commission_rate = dec("100");
    let us_bank = affiliate(&t, "aff-d");
    let all = [sponsor, child, paypal, bare, us_bank];

    write(&*store, |tx| {
        for a in &all {
            tx.put_affiliate(a)?;
        }
        Ok(())
    })
    .unwrap();

    read(&*store, |tx| {
        for a in &all {
            assert_eq!(
                tx.affiliate(&t, &a.id)?.as_ref(),
                Some(a),
                "affiliate {}",
                a.id
            );
        }
        assert_eq!(tx.affiliate(&t, &aff_id("aff-none"))?, None);
        let listed = tx.affiliates(&t)?;
        assert_eq!(
            ids(&listed, |a| &a.id),
            ["aff-10", "aff-a", "aff-b", "aff-c", "aff-d"].map(aff_id),
            "affiliates() lists by id"
        );
        assert_eq!(listed[1], all[1]);
        Ok(())
    })
    .unwrap();

    let mut changed = all[1].clone();
    changed.name = "Renamed".to_owned();
    changed.sponsor = None;
    changed.payout = None;
    changed.status = AffiliateStatus::Terminated;
    changed.updated_at = at(99);
    write(&*store, |tx| tx.put_affiliate(&changed)).unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.affiliate(&t, &changed.id)?, Some(changed.clone()));
        assert_eq!(
            tx.affiliates(&t)?.len(),
            5,
            "a replaced affiliate is not duplicated"
        );
        Ok(())
    })
    .unwrap();
}

/// Rule versions: latest, specific, all; a duplicate version is a conflict.
pub fn rule_versions(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    let id = RuleId::new("r-1").unwrap();

    // Versions 2 and 10 catch a backend that orders versions as text.
    write(&*store, |tx| {
        tx.insert_rule(&rule(&t, "r-1", 1))?;
        tx.insert_rule(&rule(&t, "r-1", 2))?;
        tx.insert_rule(&rule(&t, "r-1", 10))?;
        tx.insert_rule(&rule(&t, "r-0", 1))?;
        let mut plain = rule(&t, "r-2", 1);
        plain.spec = RuleSpec::percentages("plain", &[dec("10"), dec("5")]);
        tx.insert_rule(&plain)
    })
    .unwrap();

    read(&*store, |tx| {
        assert_eq!(tx.rule(&t, &id, None)?, Some(rule(&t, "r-1", 10)), "latest");
        assert_eq!(tx.rule(&t, &id, Some(2))?, Some(rule(&t, "r-1", 2)));
        assert_eq!(tx.rule(&t, &id, Some(1))?, Some(rule(&t, "r-1", 1)));
        assert_eq!(tx.rule(&t, &id, Some(3))?, None);
        assert_eq!(tx.rule(&t, &RuleId::new("r-9").unwrap(), None)?, None);

        let versions: Vec<u32> = tx
            .rule_versions(&t, &id)?
            .iter()
            .map(|r| r.version)
            .collect();
        assert_eq!(versions, [1, 2, 10], "rule_versions is oldest first");
        assert_eq!(tx.rule_versions(&t, &id)?[1], rule(&t, "r-1", 2));
        assert!(
            tx.rule_versions(&t, &RuleId::new("r-9").unwrap())?
                .is_empty()
        );

        let mut latest: Vec<(String, u32)> = tx
            .rules(&t)?
            .iter()
            .map(|r| (r.id.to_string(), r.version))
            .collect();
        latest.sort();
        assert_eq!(
            latest,
            [
                ("r-0".to_owned(), 1),
                ("r-1".to_owned(), 10),
                ("r-2".to_owned(), 1)
            ],
            "rules() gives the latest version of each rule"
        );
        let plain = tx.rule(&t, &RuleId::new("r-2").unwrap(), None)?.unwrap();
        assert_eq!(
            plain.spec,
            RuleSpec::percentages("plain", &[dec("10"), dec("5")])
        );
        Ok(())
    })
    .unwrap();

    let mut again = rule(&t, "r-1", 2);
    again.spec.name = "a different spec".to_owned();
    let err = write(&*store, |tx| tx.insert_rule(&again)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "duplicate version: {err}");
    read(&*store, |tx| {
        assert_eq!(tx.rule(&t, &id, Some(2))?, Some(rule(&t, "r-1", 2)), "kept");
        Ok(())
    })
    .unwrap();

    // A conflict does not poison the transaction it happens in.
    write(&*store, |tx| {
        assert!(tx.insert_rule(&again).is_err());
        tx.insert_rule(&rule(&t, "r-1", 11))
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.rule(&t, &id, None)?.map(|r| r.version), Some(11));
        Ok(())
    })
    .unwrap();
}

/// Sales round-trip with chain, attributes and explanation; `put_sale` replaces.
pub fn sale_round_trip(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    let explanation = json!({
        "rule": {"id": "r-1", "version": 3},
        "lines": [{"level": 1, "amount": "10.00"}, {"level": 2, "amount": "0.01"}],
        "skipped": [],
        "note": "ünïcödé",
        "big": 9_007_199_254_740_993_u64,
        "flag": false,
        "nothing": null
    });
    let usd = sale(&t, "s-usd", money("1234.56", "USD"), &["a1", "a2", "a3"]);
    let mut jpy = sale(&t, "s-jpy", money("5000", "JPY"), &["a2"]);
    jpy.buyer = None;
    jpy.attributes.clear();
    jpy.refunded = money("1250", "JPY");
    let mut bhd = sale(&t, "s-bhd", money("10.125", "BHD"), &["a3", "a1"]);
    bhd.refunded = money("0.001", "BHD");
    bhd.attribution_type = "DIRECT".to_owned();

    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2", "a3", "buyer-1"])?;
        tx.put_sale(&usd, &explanation)?;
        tx.put_sale(&jpy, &json!({}))?;
        tx.put_sale(&bhd, &json!([1, 2, 3]))
    })
    .unwrap();

    read(&*store, |tx| {
        assert_eq!(tx.sale(&t, &usd.id)?, Some(usd.clone()));
        assert_eq!(tx.sale(&t, &jpy.id)?, Some(jpy.clone()));
        assert_eq!(tx.sale(&t, &bhd.id)?, Some(bhd.clone()));
        assert_eq!(tx.sale_explanation(&t, &usd.id)?, Some(explanation.clone()));
        assert_eq!(tx.sale_explanation(&t, &jpy.id)?, Some(json!({})));
        assert_eq!(tx.sale_explanation(&t, &bhd.id)?, Some(json!([1, 2, 3])));
        assert_eq!(tx.sale(&t, &sale_id("s-none"))?, None);
        assert_eq!(tx.sale_explanation(&t, &sale_id("s-none"))?, None);
        Ok(())
    })
    .unwrap();

    let mut refunded = usd.clone();
    refunded.refunded = money("1234.56", "USD");
    write(&*store, |tx| tx.put_sale(&refunded, &json!({"v": 2}))).unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.sale(&t, &usd.id)?, Some(refunded.clone()));
        assert_eq!(tx.sale_explanation(&t, &usd.id)?, Some(json!({"v": 2})));
        Ok(())
    })
    .unwrap();

    // A refund updates the refunded amount alone; the explanation stays.
    write(&*store, |tx| {
        tx.set_sale_refunded(&t, &jpy.id, money("5000", "JPY"))
    })
    .unwrap();
    let err = store
        .write(&mut |tx| tx.set_sale_refunded(&t, &sale_id("s-none"), money("1", "JPY")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let other = tenant("org-2");
    let err = store
        .write(&mut |tx| tx.set_sale_refunded(&other, &jpy.id, money("1", "JPY")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    read(&*store, |tx| {
        let mut expected = jpy.clone();
        expected.refunded = money("5000", "JPY");
        assert_eq!(tx.sale(&t, &jpy.id)?, Some(expected));
        assert_eq!(tx.sale_explanation(&t, &jpy.id)?, Some(json!({})));
        Ok(())
    })
    .unwrap();
}

/// Commissions round-trip with every field and every kind of rate.
pub fn commission_round_trip(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    let full = commission(&t, "c-full", "s-1", "a1", CommissionStatus::Pending);
    let mut fixed = commission(&t, "c-fixed", "s-1", "a2", CommissionStatus::Approved);
    fixed.rate = LevelRate::Fixed {
        amount: dec("1.25"),
    };
    fixed.percent = None;
    fixed.status_reason = None;
    fixed.adjusted = money("0", "USD");
    let mut default_plan = commission(&t, "c-default", "s-1", "a1", CommissionStatus::Paid);
    default_plan.rate = LevelRate::AffiliateRate;
    default_plan.rule_id = None;
    default_plan.rule_version = None;
    default_plan.payout = Some(pay_id("p-1"));
    default_plan.chain_level = 1;
    default_plan.paid_level = 1;
    let mut jpy = commission(&t, "c-jpy", "s-jpy", "a2", CommissionStatus::Reversed);
    jpy.base_amount = money("5000", "JPY");
    jpy.original_amount = money("501", "JPY");
    jpy.amount = money("0", "JPY");
    jpy.reversed_amount = money("501", "JPY");
    jpy.adjusted = money("-1", "JPY");
    let mut bhd = commission(&t, "c-bhd", "s-bhd", "a1", CommissionStatus::Disputed);
    bhd.base_amount = money("10.125", "BHD");
    bhd.original_amount = money("1.013", "BHD");
    bhd.amount = money("1.012", "BHD");
    bhd.reversed_amount = money("0.001", "BHD");
    bhd.adjusted = money("0.000", "BHD");
    let all = [full, fixed, default_plan, jpy, bhd];

    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2", "buyer-1"])?;
        put_sale(tx, &t, "s-1", "a1")?;
        tx.put_sale(
            &sale(&t, "s-jpy", money("5000", "JPY"), &["a2"]),
            &json!({}),
        )?;
        tx.put_sale(
            &sale(&t, "s-bhd", money("10.125", "BHD"), &["a1"]),
            &json!({}),
        )?;
        tx.put_batch(&batch(&t, "b-1"))?;
        tx.put_payout(&payout(&t, "p-1", "b-1", "a1", PayoutStatus::Paid))?;
        for c in &all {
            tx.put_commission(c)?;
        }
        Ok(())
    })
    .unwrap();

    read(&*store, |tx| {
        for c in &all {
            assert_eq!(
                tx.commission(&t, &c.id)?.as_ref(),
                Some(c),
                "commission {}",
                c.id
            );
        }
        assert_eq!(tx.commission(&t, &com_id("c-none"))?, None);
        Ok(())
    })
    .unwrap();

    let mut moved = all[0].clone();
    moved.status = CommissionStatus::Scheduled;
    moved.payout = Some(pay_id("p-1"));
    moved.status_reason = None;
    moved.updated_at = at(500);
    write(&*store, |tx| tx.put_commission(&moved)).unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.commission(&t, &moved.id)?, Some(moved.clone()));
        let listed = tx.commissions(&t, &CommissionFilter::default())?;
        assert_eq!(
            listed.len(),
            all.len(),
            "a replaced commission is not duplicated"
        );
        Ok(())
    })
    .unwrap();
}

/// `move_commissions` changes status, payout and `updated_at` of exactly the
/// listed commissions that match `from` and `from_payout`, leaves every other
/// field alone, and returns the others (unknown ones included) in the order
/// given; the status filter sees the move.
pub fn commission_moves(factory: Factory<'_>) {
    use CommissionStatus::{Approved, Paid, Scheduled};

    let store = factory();
    let t = tenant("org-1");
    let p1 = pay_id("p-1");
    let p2 = pay_id("p-2");
    let mut in_p2 = commission(&t, "c4", "s-1", "a1", Scheduled);
    in_p2.payout = Some(p2.clone());
    let mut in_p1 = commission(&t, "c5", "s-1", "a1", Scheduled);
    in_p1.payout = Some(p1.clone());
    let rows = vec![
        commission(&t, "c1", "s-1", "a1", Approved),
        commission(&t, "c2", "s-1", "a2", Approved),
        commission(&t, "c3", "s-1", "a1", Paid),
        in_p2,
        in_p1,
    ];
    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2", "buyer-1"])?;
        put_sale(tx, &t, "s-1", "a1")?;
        for c in &rows {
            tx.put_commission(c)?;
        }
        Ok(())
    })
    .unwrap();

    let schedule = CommissionMove {
        from: Approved,
        from_payout: None,
        to: Scheduled,
        to_payout: Some(&p1),
        at: at(500),
    };
    let listed = [
        com_id("c3"),
        com_id("c1"),
        com_id("c-none"),
        com_id("c4"),
        com_id("c2"),
    ];
    let skipped = write(&*store, |tx| tx.move_commissions(&t, &listed, &schedule)).unwrap();
    assert_eq!(
        skipped,
        vec![com_id("c3"), com_id("c-none"), com_id("c4")],
        "the ids left alone, in the order given"
    );
    read(&*store, |tx| {
        for (c, moved) in rows.iter().zip([true, true, false, false, false]) {
            let mut expected = c.clone();
            if moved {
                expected.status = Scheduled;
                expected.payout = Some(p1.clone());
                expected.updated_at = at(500);
            }
            assert_eq!(tx.commission(&t, &c.id)?, Some(expected), "{}", c.id);
        }
        assert_eq!(tx.commission(&t, &com_id("c-none"))?, None);
        let scheduled = tx.commissions(
            &t,
            &CommissionFilter {
                status: Some(Scheduled),
                ..CommissionFilter::default()
            },
        )?;
        assert_eq!(
            ids(&scheduled, |c| &c.id),
            vec![com_id("c1"), com_id("c2"), com_id("c4"), com_id("c5")]
        );
        Ok(())
    })
    .unwrap();

    // Paying p-1: only the commissions scheduled in p-1 move, keeping their payout.
    let pay = CommissionMove {
        from: Scheduled,
        from_payout: Some(&p1),
        to: Paid,
        to_payout: Some(&p1),
        at: at(600),
    };
    let listed = [com_id("c1"), com_id("c4"), com_id("c5")];
    let skipped = write(&*store, |tx| tx.move_commissions(&t, &listed, &pay)).unwrap();
    assert_eq!(skipped, vec![com_id("c4")]);
    read(&*store, |tx| {
        for id in ["c1", "c5"] {
            let c = tx.commission(&t, &com_id(id))?.unwrap();
            assert_eq!(
                (c.status, c.payout.as_ref(), c.updated_at),
                (Paid, Some(&p1), at(600))
            );
        }
        let c4 = tx.commission(&t, &com_id("c4"))?.unwrap();
        assert_eq!((c4.status, c4.payout.as_ref()), (Scheduled, Some(&p2)));
        Ok(())
    })
    .unwrap();

    // A move inside a transaction that fails is rolled back with it.
    let back = CommissionMove {
        from: Paid,
        from_payout: Some(&p1),
        to: Approved,
        to_payout: None,
        at: at(700),
    };
    let failed = write(&*store, |tx| {
        tx.move_commissions(&t, &[com_id("c1")], &back)?;
        Err::<(), _>(Error::validation("test", "roll back"))
    });
    assert!(failed.is_err());
    let c1 = read(&*store, |tx| tx.commission(&t, &com_id("c1")))
        .unwrap()
        .unwrap();
    assert_eq!((c1.status, c1.payout), (Paid, Some(p1.clone())));
}

/// Commission filters (status, affiliate, sale, limit) in id order, and that a
/// replaced commission moves between filters.
pub fn commission_filters(factory: Factory<'_>) {
    use CommissionStatus::{Approved, Paid, Pending};

    let store = factory();
    let t = tenant("org-1");

    // Inserted out of order; "c10" sorts before "c2" and "c9" as text.
    let rows = [
        ("c9", "s-1", "a1", Pending),
        ("c10", "s-2", "a2", Approved),
        ("c2", "s-1", "a2", Pending),
        ("c5", "s-2", "a1", Paid),
        ("c1", "s-3", "a1", Approved),
        ("c3", "s-1", "a3", Approved),
    ];
    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2", "a3", "buyer-1"])?;
        for s in ["s-1", "s-2", "s-3"] {
            put_sale(tx, &t, s, "a1")?;
        }
        for (id, sale, aff, status) in rows {
            tx.put_commission(&commission(&t, id, sale, aff, status))?;
        }
        Ok(())
    })
    .unwrap();

    let check = |filter: CommissionFilter, expected: &[&str]| {
        let got = read(&*store, |tx| tx.commissions(&t, &filter)).unwrap();
        assert_eq!(
            ids(&got, |c| &c.id),
            expected.iter().map(|i| com_id(i)).collect::<Vec<_>>(),
            "commissions({filter:?})"
        );
    };
    let by = |status: Option<CommissionStatus>, aff: Option<&str>, sale: Option<&str>| {
        CommissionFilter {
            status,
            affiliate: aff.map(aff_id),
            sale: sale.map(sale_id),
            limit: None,
        }
    };

    check(
        CommissionFilter::default(),
        &["c1", "c10", "c2", "c3", "c5", "c9"],
    );
    check(by(Some(Pending), None, None), &["c2", "c9"]);
    check(by(Some(Approved), None, None), &["c1", "c10", "c3"]);
    check(by(Some(CommissionStatus::Rejected), None, None), &[]);
    check(by(None, Some("a1"), None), &["c1", "c5", "c9"]);
    check(by(None, None, Some("s-1")), &["c2", "c3", "c9"]);
    check(by(None, None, Some("s-none")), &[]);
    check(by(Some(Pending), Some("a2"), None), &["c2"]);
    check(by(Some(Approved), None, Some("s-1")), &["c3"]);
    check(by(None, Some("a1"), Some("s-2")), &["c5"]);
    check(by(Some(Pending), Some("a1"), Some("s-1")), &["c9"]);
    check(
        CommissionFilter {
            limit: Some(2),
            ..CommissionFilter::default()
        },
        &["c1", "c10"],
    );
    check(
        CommissionFilter {
            limit: Some(0),
            ..CommissionFilter::default()
        },
        &[],
    );
    check(
        CommissionFilter {
            limit: Some(2),
            ..by(None, None, Some("s-1"))
        },
        &["c2", "c3"],
    );
    check(
        CommissionFilter {
            limit: Some(1),
            ..by(Some(Approved), Some("a1"), None)
        },
        &["c1"],
    );

    // Replacing moves a commission between status, affiliate and sale filters.
    let mut c9 = commission(&t, "c9", "s-3", "a3", Paid);
    c9.updated_at = at(900);
    write(&*store, |tx| tx.put_commission(&c9)).unwrap();
    check(by(Some(Pending), None, None), &["c2"]);
    check(by(Some(Paid), None, None), &["c5", "c9"]);
    check(by(None, Some("a1"), None), &["c1", "c5"]);
    check(by(None, Some("a3"), None), &["c3", "c9"]);
    check(by(None, None, Some("s-1")), &["c2", "c3"]);
    check(by(None, None, Some("s-3")), &["c1", "c9"]);
}

/// Refunds round-trip with their reversals.
pub fn refund_round_trip(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    let full = Refund {
        tenant: t.clone(),
        id: RefundId::new("rf-1").unwrap(),
        sale: sale_id("s-1"),
        amount: money("100.01", "USD"),
        reason: "customer returned it — ünïcödé".to_owned(),
        reversals: vec![
            Reversal {
                commission: com_id("c-1"),
                affiliate: aff_id("a1"),
                amount: money("10.00", "USD"),
                adjustment: None,
            },
            Reversal {
                commission: com_id("c-2"),
                affiliate: aff_id("a2"),
                amount: money("0.01", "USD"),
                adjustment: Some(adj_id("adj-1")),
            },
        ],
        created_at: at(50),
    };
    let empty = Refund {
        id: RefundId::new("rf-2").unwrap(),
        amount: money("0.01", "USD"),
        reversals: Vec::new(),
        ..full.clone()
    };
    let bhd = Refund {
        id: RefundId::new("rf-3").unwrap(),
        sale: sale_id("s-bhd"),
        amount: money("1.001", "BHD"),
        reversals: vec![Reversal {
            commission: com_id("c-3"),
            affiliate: aff_id("a1"),
            amount: money("0.101", "BHD"),
            adjustment: None,
        }],
        ..full.clone()
    };

    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2", "buyer-1"])?;
        put_sale(tx, &t, "s-1", "a1")?;
        tx.put_sale(
            &sale(&t, "s-bhd", money("10.125", "BHD"), &["a1"]),
            &json!({}),
        )?;
        tx.put_refund(&full)?;
        tx.put_refund(&empty)?;
        tx.put_refund(&bhd)
    })
    .unwrap();

    read(&*store, |tx| {
        assert_eq!(tx.refund(&t, &full.id)?, Some(full.clone()));
        assert_eq!(tx.refund(&t, &empty.id)?, Some(empty.clone()));
        assert_eq!(tx.refund(&t, &bhd.id)?, Some(bhd.clone()));
        assert_eq!(tx.refund(&t, &RefundId::new("rf-none").unwrap())?, None);
        Ok(())
    })
    .unwrap();
}

/// Adjustments round-trip; filters by affiliate, open-only and payout, in id order.
pub fn adjustment_round_trip_and_filters(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    let full = adjustment(&t, "adj-3", "a1", Some("p-1"));
    let mut bare = adjustment(&t, "adj-10", "a2", None);
    bare.kind = AdjustmentKind::Correction;
    bare.amount = money("250", "JPY");
    bare.commission = None;
    bare.sale = None;
    bare.refund = None;
    let open_a1 = adjustment(&t, "adj-2", "a1", None);
    let mut bhd = adjustment(&t, "adj-1", "a2", Some("p-2"));
    bhd.amount = money("-0.005", "BHD");
    let all = [full, bare, open_a1, bhd];

    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2"])?;
        tx.put_batch(&batch(&t, "b-1"))?;
        tx.put_payout(&payout(&t, "p-1", "b-1", "a1", PayoutStatus::Pending))?;
        tx.put_payout(&payout(&t, "p-2", "b-1", "a2", PayoutStatus::Pending))?;
        for a in &all {
            tx.put_adjustment(a)?;
        }
        Ok(())
    })
    .unwrap();

    read(&*store, |tx| {
        for a in &all {
            assert_eq!(
                tx.adjustment(&t, &a.id)?.as_ref(),
                Some(a),
                "adjustment {}",
                a.id
            );
        }
        assert_eq!(tx.adjustment(&t, &adj_id("adj-none"))?, None);
        Ok(())
    })
    .unwrap();

    let check = |filter: AdjustmentFilter, expected: &[&str]| {
        let got = read(&*store, |tx| tx.adjustments(&t, &filter)).unwrap();
        assert_eq!(
            ids(&got, |a| &a.id),
            expected.iter().map(|i| adj_id(i)).collect::<Vec<_>>(),
            "adjustments({filter:?})"
        );
    };
    let filter = |aff: Option<&str>, open_only: bool, payout: Option<&str>| AdjustmentFilter {
        affiliate: aff.map(aff_id),
        open_only,
        payout: payout.map(pay_id),
    };
    check(
        AdjustmentFilter::default(),
        &["adj-1", "adj-10", "adj-2", "adj-3"],
    );
    check(filter(Some("a1"), false, None), &["adj-2", "adj-3"]);
    check(filter(None, true, None), &["adj-10", "adj-2"]);
    check(filter(Some("a2"), true, None), &["adj-10"]);
    check(filter(None, false, Some("p-1")), &["adj-3"]);
    check(filter(Some("a2"), false, Some("p-1")), &[]);
    check(filter(None, false, Some("p-none")), &[]);

    // Netting an open adjustment into a payout closes it.
    let mut netted = all[2].clone();
    netted.payout = Some(pay_id("p-1"));
    write(&*store, |tx| tx.put_adjustment(&netted)).unwrap();
    check(filter(Some("a1"), true, None), &[]);
    check(filter(None, false, Some("p-1")), &["adj-2", "adj-3"]);
}

/// Batches and payouts round-trip with every field; `put_*` replaces.
pub fn batch_and_payout_round_trip(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    let full_batch = batch(&t, "b-1");
    let mut fresh_batch = batch(&t, "b-2");
    fresh_batch.status = BatchStatus::Scheduled;
    fresh_batch.started_at = None;
    fresh_batch.finished_at = None;

    let full = payout(&t, "p-1", "b-1", "a1", PayoutStatus::Paid);
    let mut bare = payout(&t, "p-2", "b-2", "a2", PayoutStatus::Pending);
    bare.commissions = Vec::new();
    bare.adjustments = Vec::new();
    bare.provider_reference = None;
    bare.failure_reason = None;
    bare.retryable = false;
    bare.paid_at = None;
    bare.attempts = 0;
    let mut negative = payout(&t, "p-3", "b-2", "a1", PayoutStatus::Failed);
    negative.amount = money("-5.000", "BHD");

    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2"])?;
        tx.put_batch(&full_batch)?;
        tx.put_batch(&fresh_batch)?;
        tx.put_payout(&full)?;
        tx.put_payout(&bare)?;
        tx.put_payout(&negative)
    })
    .unwrap();

    read(&*store, |tx| {
        assert_eq!(tx.batch(&t, &full_batch.id)?, Some(full_batch.clone()));
        assert_eq!(tx.batch(&t, &fresh_batch.id)?, Some(fresh_batch.clone()));
        assert_eq!(tx.batch(&t, &batch_id("b-none"))?, None);
        assert_eq!(tx.payout(&t, &full.id)?, Some(full.clone()));
        assert_eq!(tx.payout(&t, &bare.id)?, Some(bare.clone()));
        assert_eq!(tx.payout(&t, &negative.id)?, Some(negative.clone()));
        assert_eq!(tx.payout(&t, &pay_id("p-none"))?, None);
        Ok(())
    })
    .unwrap();

    let mut processing = fresh_batch.clone();
    processing.status = BatchStatus::Processing;
    processing.started_at = Some(at(60));
    let mut sending = bare.clone();
    sending.status = PayoutStatus::Sending;
    sending.attempts = 1;
    sending.commissions = vec![com_id("c-9")];
    sending.updated_at = at(61);
    write(&*store, |tx| {
        tx.put_batch(&processing)?;
        tx.put_payout(&sending)
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.batch(&t, &processing.id)?, Some(processing.clone()));
        assert_eq!(tx.payout(&t, &sending.id)?, Some(sending.clone()));
        assert_eq!(tx.payouts(&t, &PayoutFilter::default())?.len(), 3);
        Ok(())
    })
    .unwrap();
}

/// Payout filters (batch, status, affiliate, limit) in id order.
pub fn payout_filters(factory: Factory<'_>) {
    use PayoutStatus::{Failed, Paid, Pending};

    let store = factory();
    let t = tenant("org-1");

    let rows = [
        ("p9", "b-1", "a1", Pending),
        ("p10", "b-2", "a2", Paid),
        ("p2", "b-1", "a2", Failed),
        ("p5", "b-2", "a1", Pending),
        ("p1", "b-1", "a1", Paid),
    ];
    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "a2"])?;
        tx.put_batch(&batch(&t, "b-1"))?;
        tx.put_batch(&batch(&t, "b-2"))?;
        for (id, b, aff, status) in rows {
            tx.put_payout(&payout(&t, id, b, aff, status))?;
        }
        Ok(())
    })
    .unwrap();

    let check = |filter: PayoutFilter, expected: &[&str]| {
        let got = read(&*store, |tx| tx.payouts(&t, &filter)).unwrap();
        assert_eq!(
            ids(&got, |p| &p.id),
            expected.iter().map(|i| pay_id(i)).collect::<Vec<_>>(),
            "payouts({filter:?})"
        );
        let heads = read(&*store, |tx| tx.payout_heads(&t, &filter)).unwrap();
        let expected: Vec<PayoutHead> = got.iter().map(PayoutHead::of).collect();
        assert_eq!(heads, expected, "payout_heads({filter:?})");
    };
    let by = |b: Option<&str>, status: Option<PayoutStatus>, aff: Option<&str>| PayoutFilter {
        batch: b.map(batch_id),
        status,
        affiliate: aff.map(aff_id),
        limit: None,
    };
    check(PayoutFilter::default(), &["p1", "p10", "p2", "p5", "p9"]);
    check(by(Some("b-1"), None, None), &["p1", "p2", "p9"]);
    check(by(Some("b-none"), None, None), &[]);
    check(by(None, Some(Pending), None), &["p5", "p9"]);
    check(by(None, Some(PayoutStatus::Sending), None), &[]);
    check(by(None, None, Some("a2")), &["p10", "p2"]);
    check(by(Some("b-1"), Some(Paid), None), &["p1"]);
    check(by(Some("b-2"), Some(Pending), Some("a1")), &["p5"]);
    check(by(None, Some(Paid), Some("a2")), &["p10"]);
    check(
        PayoutFilter {
            limit: Some(2),
            ..by(Some("b-1"), None, None)
        },
        &["p1", "p2"],
    );
    check(
        PayoutFilter {
            limit: Some(0),
            ..PayoutFilter::default()
        },
        &[],
    );

    let mut p9 = payout(&t, "p9", "b-1", "a1", Paid);
    p9.updated_at = at(999);
    write(&*store, |tx| tx.put_payout(&p9)).unwrap();
    check(by(None, Some(Pending), None), &["p5"]);
    check(by(None, Some(Paid), None), &["p1", "p10", "p9"]);
}

/// Commission and payout tallies count exactly what the filters list, per
/// status and currency (commissions) or batch and status (payouts), in text
/// order, and only the tenant's own rows; payable commissions are the
/// APPROVED ones in no payout.
pub fn tallies(factory: Factory<'_>) {
    use CommissionStatus::{Approved, Paid, Pending};

    let store = factory();
    let t = tenant("org-1");
    let other = tenant("org-2");
    let eur = |mut c: Commission, original: &str| {
        c.base_amount = money("1000.00", "EUR");
        c.original_amount = money(original, "EUR");
        c.amount = money(original, "EUR");
        c.reversed_amount = money("0.00", "EUR");
        c.adjusted = money("0.00", "EUR");
        c
    };
    write(&*store, |tx| {
        for tenant in [&t, &other] {
            put_affiliates(tx, tenant, &["a1", "a2", "buyer-1"])?;
            put_sale(tx, tenant, "s-1", "a1")?;
        }
        // USD originals are 92.59 each (the fixture's).
        tx.put_commission(&commission(&t, "c1", "s-1", "a1", Pending))?;
        tx.put_commission(&commission(&t, "c2", "s-1", "a2", Pending))?;
        tx.put_commission(&commission(&t, "c3", "s-1", "a1", Paid))?;
        tx.put_commission(&eur(commission(&t, "c4", "s-1", "a2", Paid), "10.01"))?;
        tx.put_commission(&eur(commission(&t, "c5", "s-1", "a1", Paid), "0.99"))?;
        tx.put_commission(&commission(&other, "c6", "s-1", "a1", Approved))?;

        for tenant in [&t, &other] {
            tx.put_batch(&batch(tenant, "b-1"))?;
            tx.put_batch(&batch(tenant, "b-2"))?;
        }
        let mut attempts = |tenant: &TenantId, id, b, status, n| {
            let mut p = payout(tenant, id, b, "a1", status);
            p.attempts = n;
            tx.put_payout(&p)
        };
        attempts(&t, "p1", "b-2", PayoutStatus::Paid, 1)?;
        attempts(&t, "p2", "b-2", PayoutStatus::Paid, 3)?;
        attempts(&t, "p3", "b-2", PayoutStatus::Failed, 2)?;
        attempts(&t, "p4", "b-1", PayoutStatus::Pending, 0)?;
        attempts(&t, "p5", "b-1", PayoutStatus::Pending, 0)?;
        attempts(&other, "p6", "b-1", PayoutStatus::Paid, 1)?;
        Ok(())
    })
    .unwrap();

    // Scheduling's read: APPROVED and in no payout, with what it needs.
    write(&*store, |tx| {
        let mut approved = commission(&t, "c7", "s-1", "a2", Approved);
        approved.amount = money("12.34", "USD");
        tx.put_commission(&approved)?;
        tx.put_commission(&commission(&t, "c10", "s-1", "a1", Approved))?;
        let mut in_payout = commission(&t, "c8", "s-1", "a1", Approved);
        in_payout.payout = Some(pay_id("p1"));
        tx.put_commission(&in_payout)
    })
    .unwrap();
    let payable = read(&*store, |tx| tx.payable_commissions(&t)).unwrap();
    assert_eq!(
        payable,
        [
            PayableCommission {
                id: com_id("c10"),
                affiliate: aff_id("a1"),
                amount: money("80.01", "USD"),
            },
            PayableCommission {
                id: com_id("c7"),
                affiliate: aff_id("a2"),
                amount: money("12.34", "USD"),
            },
        ]
    );
    let payable = read(&*store, |tx| tx.payable_commissions(&other)).unwrap();
    assert_eq!(ids(&payable, |c| &c.id), [com_id("c6")]);
    write(&*store, |tx| {
        for id in ["c7", "c8", "c10"] {
            let mut gone = commission(&t, id, "s-1", "a1", CommissionStatus::Rejected);
            gone.original_amount = money("0.00", "USD");
            tx.put_commission(&gone)?;
        }
        Ok(())
    })
    .unwrap();

    let tally = |status, code: &str, count, original_minor| CommissionTally {
        status,
        currency: currency(code),
        count,
        original_minor,
    };
    assert_eq!(
        read(&*store, |tx| tx.commission_tallies(&t)).unwrap(),
        [
            tally(Paid, "EUR", 2, 1100),
            tally(Paid, "USD", 1, 9259),
            tally(Pending, "USD", 2, 18_518),
            tally(CommissionStatus::Rejected, "USD", 3, 0),
        ]
    );
    assert_eq!(
        read(&*store, |tx| tx.commission_tallies(&tenant("org-none"))).unwrap(),
        []
    );

    let tally = |b, status, count, sent, retried| PayoutTally {
        batch: batch_id(b),
        status,
        count,
        sent,
        retried,
    };
    assert_eq!(
        read(&*store, |tx| tx.payout_tallies(&t)).unwrap(),
        [
            tally("b-1", PayoutStatus::Pending, 2, 0, 0),
            tally("b-2", PayoutStatus::Failed, 1, 1, 1),
            tally("b-2", PayoutStatus::Paid, 2, 2, 1),
        ]
    );
    assert_eq!(
        read(&*store, |tx| tx.payout_tallies(&tenant("org-none"))).unwrap(),
        []
    );
}

/// Large and negative amounts, and times far from now, survive a round trip.
pub fn money_and_time_extremes(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    // Above 2^53: a backend that passes amounts through a double loses the last unit.
    let big = Money::from_minor(9_007_199_254_740_993, currency("USD"));
    let mut a = affiliate(&t, "a1");
    a.created_at =
        Utc.with_ymd_and_hms(1969, 7, 20, 20, 17, 40).unwrap() + TimeDelta::microseconds(999_999);
    a.updated_at =
        Utc.with_ymd_and_hms(2199, 12, 31, 23, 59, 59).unwrap() + TimeDelta::microseconds(1);
    let mut s = sale(&t, "s-big", big, &["a1"]);
    s.buyer = None;
    let mut c = commission(&t, "c-big", "s-big", "a1", CommissionStatus::Approved);
    c.base_amount = big;
    c.original_amount = Money::from_minor(i64::MAX, currency("USD"));
    c.amount = Money::from_minor(i64::MIN + 1, currency("USD"));
    c.reversed_amount = Money::from_minor(-1, currency("USD"));
    c.adjusted = Money::from_minor(1, currency("USD"));
    c.available_at = DateTime::<Utc>::UNIX_EPOCH;

    write(&*store, |tx| {
        tx.put_affiliate(&a)?;
        tx.put_sale(&s, &json!({}))?;
        tx.put_commission(&c)
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.affiliate(&t, &a.id)?, Some(a.clone()));
        assert_eq!(tx.sale(&t, &s.id)?, Some(s.clone()));
        assert_eq!(tx.commission(&t, &c.id)?, Some(c.clone()));
        Ok(())
    })
    .unwrap();
}

/// The same id in two tenants is two rows; another tenant's id reads as none;
/// lists, filters and audit chains are per tenant.
pub fn tenant_isolation(factory: Factory<'_>) {
    let store = factory();
    let t1 = tenant("org-1");
    let t2 = tenant("org-2");
    let t3 = tenant("org-3");

    let fill = |tx: &mut dyn Tx, t: &TenantId, name: &str| -> Result<()> {
        let mut a = affiliate(t, "a1");
        a.name = name.to_owned();
        tx.put_affiliate(&a)?;
        tx.put_affiliate(&affiliate(t, "buyer-1"))?;
        let mut r = rule(t, "r-1", 1);
        r.spec.name = name.to_owned();
        tx.insert_rule(&r)?;
        tx.put_sale(
            &sale(t, "s-1", money("1.00", "USD"), &["a1"]),
            &json!({ "t": name }),
        )?;
        let mut c = commission(t, "c-1", "s-1", "a1", CommissionStatus::Pending);
        c.status_reason = Some(name.to_owned());
        tx.put_commission(&c)?;
        let rf = Refund {
            tenant: t.clone(),
            id: RefundId::new("rf-1").unwrap(),
            sale: sale_id("s-1"),
            amount: money("1.00", "USD"),
            reason: name.to_owned(),
            reversals: Vec::new(),
            created_at: at(1),
        };
        tx.put_refund(&rf)?;
        let mut b = batch(t, "b-1");
        b.request_digest = name.to_owned();
        tx.put_batch(&b)?;
        let mut p = payout(t, "p-1", "b-1", "a1", PayoutStatus::Pending);
        p.provider_reference = Some(name.to_owned());
        tx.put_payout(&p)?;
        let mut adj = adjustment(t, "adj-1", "a1", None);
        adj.reason = name.to_owned();
        tx.put_adjustment(&adj)?;
        for seq in 1..=3 {
            let mut record = audit(t, seq, 0, "sale.recorded", "s-1");
            record.actor = name.to_owned();
            tx.append_audit(&record)?;
        }
        Ok(())
    };
    write(&*store, |tx| fill(tx, &t1, "one")).unwrap();
    write(&*store, |tx| fill(tx, &t2, "two")).unwrap();

    read(&*store, |tx| {
        for (t, name) in [(&t1, "one"), (&t2, "two")] {
            assert_eq!(tx.affiliate(t, &aff_id("a1"))?.unwrap().name, name);
            assert_eq!(tx.affiliates(t)?.len(), 2);
            assert_eq!(
                tx.rule(t, &RuleId::new("r-1").unwrap(), None)?
                    .unwrap()
                    .spec
                    .name,
                name
            );
            assert_eq!(tx.rules(t)?.len(), 1);
            assert_eq!(tx.rule_versions(t, &RuleId::new("r-1").unwrap())?.len(), 1);
            assert_eq!(
                tx.sale_explanation(t, &sale_id("s-1"))?,
                Some(json!({ "t": name }))
            );
            let c = tx.commission(t, &com_id("c-1"))?.unwrap();
            assert_eq!(c.status_reason.as_deref(), Some(name));
            assert_eq!(tx.commissions(t, &CommissionFilter::default())?.len(), 1);
            let by_sale = CommissionFilter {
                sale: Some(sale_id("s-1")),
                ..CommissionFilter::default()
            };
            assert_eq!(tx.commissions(t, &by_sale)?.len(), 1);
            let refund = tx.refund(t, &RefundId::new("rf-1").unwrap())?.unwrap();
            assert_eq!(refund.reason, name);
            assert_eq!(tx.batch(t, &batch_id("b-1"))?.unwrap().request_digest, name);
            let p = tx.payout(t, &pay_id("p-1"))?.unwrap();
            assert_eq!(p.provider_reference.as_deref(), Some(name));
            assert_eq!(tx.payouts(t, &PayoutFilter::default())?.len(), 1);
            assert_eq!(tx.adjustment(t, &adj_id("adj-1"))?.unwrap().reason, name);
            assert_eq!(tx.adjustments(t, &AdjustmentFilter::default())?.len(), 1);
            assert_eq!(
                tx.audit_head(t)?.unwrap().seq,
                3,
                "each tenant has its own chain"
            );
            let all = tx.query_audit(t, &AuditQuery::default())?;
            assert_eq!(all.len(), 3);
            assert!(all.iter().all(|r| r.actor == name && &r.tenant == t));
            assert_eq!(count_audit(tx, t)?, [1, 2, 3]);
        }

        // A tenant with nothing sees nothing, by id or by list.
        assert_eq!(tx.affiliate(&t3, &aff_id("a1"))?, None);
        assert!(tx.affiliates(&t3)?.is_empty());
        assert_eq!(tx.rule(&t3, &RuleId::new("r-1").unwrap(), None)?, None);
        assert_eq!(tx.rule(&t3, &RuleId::new("r-1").unwrap(), Some(1))?, None);
        assert!(tx.rules(&t3)?.is_empty());
        assert_eq!(tx.sale(&t3, &sale_id("s-1"))?, None);
        assert_eq!(tx.sale_explanation(&t3, &sale_id("s-1"))?, None);
        assert_eq!(tx.commission(&t3, &com_id("c-1"))?, None);
        assert!(
            tx.commissions(&t3, &CommissionFilter::default())?
                .is_empty()
        );
        assert_eq!(tx.refund(&t3, &RefundId::new("rf-1").unwrap())?, None);
        assert_eq!(tx.adjustment(&t3, &adj_id("adj-1"))?, None);
        assert!(
            tx.adjustments(&t3, &AdjustmentFilter::default())?
                .is_empty()
        );
        assert_eq!(tx.batch(&t3, &batch_id("b-1"))?, None);
        assert_eq!(tx.payout(&t3, &pay_id("p-1"))?, None);
        assert!(tx.payouts(&t3, &PayoutFilter::default())?.is_empty());
        assert_eq!(tx.audit_head(&t3)?, None);
        assert!(tx.query_audit(&t3, &AuditQuery::default())?.is_empty());
        assert!(count_audit(tx, &t3)?.is_empty());
        assert_eq!(tx.audit_anchor(&t3)?, None);
        Ok(())
    })
    .unwrap();

    // Archiving one tenant's chain leaves the other's alone.
    write(&*store, |tx| {
        assert_eq!(tx.delete_audit_through(&t1, 2)?, 2);
        tx.put_audit_anchor(&AuditCheckpoint {
            tenant: t1.clone(),
            seq: 2,
            hash: format!("{:064x}", 2),
            at: at(5),
        })
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(count_audit(tx, &t1)?, [3]);
        assert_eq!(count_audit(tx, &t2)?, [1, 2, 3]);
        assert!(tx.audit_anchor(&t1)?.is_some());
        assert_eq!(tx.audit_anchor(&t2)?, None);
        Ok(())
    })
    .unwrap();
}

/// Nothing of a transaction whose work returns an error is visible afterwards.
pub fn rollback_on_error(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "buyer-1"])?;
        put_sale(tx, &t, "s-1", "a1")?;
        tx.put_commission(&commission(
            &t,
            "c-1",
            "s-1",
            "a1",
            CommissionStatus::Pending,
        ))?;
        tx.insert_rule(&rule(&t, "r-1", 1))?;
        tx.put_batch(&batch(&t, "b-1"))?;
        tx.append_audit(&audit(&t, 1, 0, "sale.recorded", "s-1"))
    })
    .unwrap();

    let failed = store.write(&mut |tx| {
        let mut changed = affiliate(&t, "a1");
        changed.name = "changed".to_owned();
        tx.put_affiliate(&changed)?;
        put_affiliates(tx, &t, &["a2"])?;
        tx.insert_rule(&rule(&t, "r-1", 2))?;
        put_sale(tx, &t, "s-2", "a2")?;
        tx.put_commission(&commission(
            &t,
            "c-2",
            "s-2",
            "a2",
            CommissionStatus::Pending,
        ))?;
        tx.put_commission(&commission(
            &t,
            "c-1",
            "s-1",
            "a1",
            CommissionStatus::Rejected,
        ))?;
        tx.put_refund(&Refund {
            tenant: t.clone(),
            id: RefundId::new("rf-1").unwrap(),
            sale: sale_id("s-1"),
            amount: money("1.00", "USD"),
            reason: "r".to_owned(),
            reversals: Vec::new(),
            created_at: at(1),
        })?;
        tx.put_adjustment(&adjustment(&t, "adj-1", "a1", None))?;
        tx.put_batch(&batch(&t, "b-2"))?;
        tx.put_payout(&payout(&t, "p-1", "b-2", "a1", PayoutStatus::Pending))?;
        tx.append_audit(&audit(&t, 2, 1, "sale.recorded", "s-2"))?;
        tx.delete_audit_through(&t, 1)?;
        tx.put_audit_anchor(&AuditCheckpoint {
            tenant: t.clone(),
            seq: 1,
            hash: "h".to_owned(),
            at: at(2),
        })?;
        // Seen inside the transaction ...
        assert!(tx.affiliate(&t, &aff_id("a2"))?.is_some());
        Err(Error::validation("test", "roll it all back"))
    });
    assert!(failed.is_err());

    // ... and nowhere after it.
    read(&*store, |tx| {
        assert_eq!(tx.affiliate(&t, &aff_id("a1"))?, Some(affiliate(&t, "a1")));
        assert_eq!(tx.affiliate(&t, &aff_id("a2"))?, None);
        assert_eq!(tx.affiliates(&t)?.len(), 2);
        assert_eq!(
            tx.rule(&t, &RuleId::new("r-1").unwrap(), None)?
                .unwrap()
                .version,
            1
        );
        assert_eq!(tx.sale(&t, &sale_id("s-2"))?, None);
        assert_eq!(tx.commission(&t, &com_id("c-2"))?, None);
        assert_eq!(
            tx.commission(&t, &com_id("c-1"))?.unwrap().status,
            CommissionStatus::Pending
        );
        let by_sale = CommissionFilter {
            sale: Some(sale_id("s-2")),
            ..CommissionFilter::default()
        };
        assert!(tx.commissions(&t, &by_sale)?.is_empty());
        assert_eq!(tx.refund(&t, &RefundId::new("rf-1").unwrap())?, None);
        assert_eq!(tx.adjustment(&t, &adj_id("adj-1"))?, None);
        assert_eq!(tx.batch(&t, &batch_id("b-2"))?, None);
        assert_eq!(tx.payout(&t, &pay_id("p-1"))?, None);
        assert_eq!(tx.audit_head(&t)?.unwrap().seq, 1);
        assert_eq!(count_audit(tx, &t)?, [1]);
        assert_eq!(tx.audit_anchor(&t)?, None);
        Ok(())
    })
    .unwrap();

    // The store still works after a rollback.
    write(&*store, |tx| {
        tx.append_audit(&audit(&t, 2, 1, "sale.recorded", "s-2"))
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(count_audit(tx, &t)?, [1, 2]);
        Ok(())
    })
    .unwrap();
}

/// An error returned by the work comes back from `write` and `read` as it was.
pub fn work_error_is_returned_unchanged(factory: Factory<'_>) {
    let store = factory();
    let errors = [
        Error::validation("amount", "must be above zero"),
        Error::not_found("affiliate", "a1"),
        Error::conflict("sale", "s-1", "different amount"),
        Error::integrity("chain broken at 3"),
    ];
    for error in errors {
        let got = store.write(&mut |_| Err(error.clone())).unwrap_err();
        assert_eq!(got, error, "write must return the work's error unchanged");
        let got = store.read(&mut |_| Err(error.clone())).unwrap_err();
        assert_eq!(got, error, "read must return the work's error unchanged");
    }
}

/// A panic inside the work rolls the transaction back, and the store stays
/// usable (bindings catch panics at their boundary and carry on).
pub fn panic_in_work_rolls_back(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    write(&*store, |tx| put_affiliates(tx, &t, &["a1"])).unwrap();

    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = store.write(&mut |tx| {
            put_affiliates(tx, &t, &["a2"])?;
            tx.append_audit(&audit(&t, 1, 0, "x", "r"))?;
            panic!("the work panics mid-transaction");
        });
    }));
    assert!(outcome.is_err(), "the panic reaches the caller");

    read(&*store, |tx| {
        assert_eq!(tx.affiliate(&t, &aff_id("a2"))?, None);
        assert_eq!(tx.audit_head(&t)?, None);
        Ok(())
    })
    .unwrap();
    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a3"])?;
        tx.append_audit(&audit(&t, 1, 0, "x", "r"))
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.affiliates(&t)?.len(), 2);
        assert_eq!(count_audit(tx, &t)?, [1]);
        Ok(())
    })
    .unwrap();
}

/// Reads inside a write transaction see its own writes, including lists,
/// filters and the audit chain.
pub fn reads_see_own_writes(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "buyer-1"])?;
        assert_eq!(tx.affiliate(&t, &aff_id("a1"))?, Some(affiliate(&t, "a1")));
        assert_eq!(tx.affiliates(&t)?.len(), 2);

        tx.insert_rule(&rule(&t, "r-1", 1))?;
        tx.insert_rule(&rule(&t, "r-1", 2))?;
        assert_eq!(
            tx.rule(&t, &RuleId::new("r-1").unwrap(), None)?
                .unwrap()
                .version,
            2
        );
        assert_eq!(tx.rules(&t)?.len(), 1);

        put_sale(tx, &t, "s-1", "a1")?;
        assert!(tx.sale(&t, &sale_id("s-1"))?.is_some());
        assert_eq!(tx.sale_explanation(&t, &sale_id("s-1"))?, Some(json!({})));

        let c = commission(&t, "c-1", "s-1", "a1", CommissionStatus::Pending);
        tx.put_commission(&c)?;
        let by_sale = CommissionFilter {
            sale: Some(sale_id("s-1")),
            ..CommissionFilter::default()
        };
        assert_eq!(tx.commissions(&t, &by_sale)?, std::slice::from_ref(&c));
        let mut approved = c.clone();
        approved.status = CommissionStatus::Approved;
        tx.put_commission(&approved)?;
        let pending = CommissionFilter {
            status: Some(CommissionStatus::Pending),
            ..CommissionFilter::default()
        };
        assert!(tx.commissions(&t, &pending)?.is_empty());
        assert_eq!(tx.commissions(&t, &by_sale)?, [approved.clone()]);

        tx.put_batch(&batch(&t, "b-1"))?;
        assert!(tx.batch(&t, &batch_id("b-1"))?.is_some());
        tx.put_payout(&payout(&t, "p-1", "b-1", "a1", PayoutStatus::Pending))?;
        assert_eq!(tx.payouts(&t, &PayoutFilter::default())?.len(), 1);
        tx.put_adjustment(&adjustment(&t, "adj-1", "a1", None))?;
        let open = AdjustmentFilter {
            open_only: true,
            ..AdjustmentFilter::default()
        };
        assert_eq!(tx.adjustments(&t, &open)?.len(), 1);

        assert_eq!(tx.audit_head(&t)?, None);
        tx.append_audit(&audit(&t, 1, 0, "sale.recorded", "s-1"))?;
        assert_eq!(
            tx.audit_head(&t)?,
            Some(AuditHead {
                seq: 1,
                hash: format!("{:064x}", 1)
            })
        );
        tx.append_audit(&audit(&t, 2, 1, "commission.created", "c-1"))?;
        assert_eq!(count_audit(tx, &t)?, [1, 2]);
        assert_eq!(tx.query_audit(&t, &AuditQuery::default())?.len(), 2);
        assert_eq!(tx.delete_audit_through(&t, 1)?, 1);
        assert_eq!(count_audit(tx, &t)?, [2]);
        assert_eq!(tx.audit_head(&t)?.unwrap().seq, 2);
        Ok(())
    })
    .unwrap();
}

/// Audit records round-trip with every field.
pub fn audit_round_trip(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    let mut first = audit(&t, 1, 0, "affiliate.created", "aff-1");
    first.affiliate_id = None;
    first.payload = json!({
        "name": "Zoë \"quoted\" \\ back",
        "amount": "9007199254740993.01",
        "list": [1, "two", null, true, {"deep": []}],
        "empty": {}
    });
    let second = audit(&t, 2, 1, "commission.approved", "com_0192");
    write(&*store, |tx| {
        tx.append_audit(&first)?;
        tx.append_audit(&second)
    })
    .unwrap();
    read(&*store, |tx| {
        let all = tx.query_audit(&t, &AuditQuery::default())?;
        assert_eq!(all, [first.clone(), second.clone()]);
        let mut scanned = Vec::new();
        tx.scan_audit(&t, 1, &mut |r| {
            scanned.push(r);
            Ok(true)
        })?;
        assert_eq!(scanned, [first.clone(), second.clone()]);
        assert_eq!(
            tx.audit_head(&t)?,
            Some(AuditHead {
                seq: 2,
                hash: second.hash.clone()
            })
        );
        Ok(())
    })
    .unwrap();
}

/// Sequence numbers start at 1 and must follow the head (or the archiving
/// anchor when every record has been archived).
pub fn audit_append_rules(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");

    for bad in [0, 2] {
        let result = write(&*store, |tx| tx.append_audit(&audit(&t, bad, 0, "x", "r")));
        assert!(
            result.is_err(),
            "a first record with seq {bad} must be refused"
        );
    }
    write(&*store, |tx| tx.append_audit(&audit(&t, 1, 0, "x", "r"))).unwrap();
    for bad in [1, 3, 100] {
        let result = write(&*store, |tx| tx.append_audit(&audit(&t, bad, 0, "x", "r")));
        assert!(result.is_err(), "seq {bad} after head 1 must be refused");
    }
    read(&*store, |tx| {
        assert_eq!(count_audit(tx, &t)?, [1]);
        Ok(())
    })
    .unwrap();

    // A refused append inside a transaction leaves the rest of it usable.
    write(&*store, |tx| {
        assert!(tx.append_audit(&audit(&t, 5, 0, "x", "r")).is_err());
        tx.append_audit(&audit(&t, 2, 0, "x", "r"))?;
        tx.append_audit(&audit(&t, 3, 0, "x", "r"))
    })
    .unwrap();

    // After archiving everything, the anchor is the head.
    write(&*store, |tx| {
        assert_eq!(tx.delete_audit_through(&t, 3)?, 3);
        tx.put_audit_anchor(&AuditCheckpoint {
            tenant: t.clone(),
            seq: 3,
            hash: format!("{:064x}", 3),
            at: at(10),
        })?;
        assert_eq!(
            tx.audit_head(&t)?,
            Some(AuditHead {
                seq: 3,
                hash: format!("{:064x}", 3)
            })
        );
        Ok(())
    })
    .unwrap();
    for bad in [1, 3, 5] {
        let result = write(&*store, |tx| tx.append_audit(&audit(&t, bad, 0, "x", "r")));
        assert!(result.is_err(), "seq {bad} after anchor 3 must be refused");
    }
    write(&*store, |tx| tx.append_audit(&audit(&t, 4, 0, "x", "r"))).unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.audit_head(&t)?.unwrap().seq, 4);
        assert_eq!(count_audit(tx, &t)?, [4]);
        Ok(())
    })
    .unwrap();
}

/// `scan_audit` visits records from a sequence number in order, stops when told,
/// and passes the visitor's error through.
pub fn audit_scan(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    write(&*store, |tx| {
        for seq in 1..=250 {
            tx.append_audit(&audit(&t, seq, seq as i64, "x", "r"))?;
        }
        Ok(())
    })
    .unwrap();

    read(&*store, |tx| {
        let mut seen = Vec::new();
        tx.scan_audit(&t, 0, &mut |r| {
            seen.push(r.seq);
            Ok(true)
        })?;
        assert_eq!(seen, (1..=250).collect::<Vec<_>>());

        seen.clear();
        tx.scan_audit(&t, 100, &mut |r| {
            seen.push(r.seq);
            Ok(true)
        })?;
        assert_eq!(seen, (100..=250).collect::<Vec<_>>());

        seen.clear();
        tx.scan_audit(&t, 7, &mut |r| {
            seen.push(r.seq);
            Ok(seen.len() < 3)
        })?;
        assert_eq!(
            seen,
            [7, 8, 9],
            "the scan stops after the visitor says false"
        );

        seen.clear();
        tx.scan_audit(&t, 251, &mut |r| {
            seen.push(r.seq);
            Ok(true)
        })?;
        assert!(seen.is_empty());

        let mut calls = 0;
        let err = tx
            .scan_audit(&t, 1, &mut |_| {
                calls += 1;
                Err(Error::integrity("stop here"))
            })
            .unwrap_err();
        assert_eq!(err, Error::integrity("stop here"));
        assert_eq!(calls, 1, "the scan stops at the visitor's error");

        // The transaction is still usable after a scan stopped early.
        assert_eq!(tx.audit_head(&t)?.unwrap().seq, 250);
        Ok(())
    })
    .unwrap();
}

/// `scan_audit_rows` hands out, borrowed, the very records `scan_audit`
/// returns (a payload as text may be written differently, but must parse to
/// the same value and hash the same), from `from_seq`, stopping when told.
pub fn audit_rows(factory: Factory<'_>) {
    use crate::audit::{AuditEvent, ChainVerifier};
    let store = factory();
    let t = tenant("org-1");
    let other = tenant("org-2");
    let mut chain: Vec<AuditRecord> = Vec::new();
    for seq in 1..=40_u64 {
        let head = chain.last().map(AuditRecord::head);
        let event = AuditEvent {
            kind: "commission.calculated",
            resource_type: "commission",
            resource_id: format!("com-{seq}"),
            affiliate_id: (seq % 3 != 0).then(|| format!("aff-{seq}")),
            payload: json!({
                "amount": format!("-{seq}.50"), "nested": {"ok": true, "list": [1, "2", null]},
                "text": "é \" \\ \n \u{1} 😀 /", "n": seq,
            }),
        };
        let at = at(seq as i64) + chrono::TimeDelta::microseconds(123_456);
        chain.push(AuditRecord::chained(&t, head.as_ref(), at, "ops", event, None).unwrap());
    }
    write(&*store, |tx| {
        for r in &chain {
            tx.append_audit(r)?;
        }
        tx.append_audit(&audit(&other, 1, 1, "x", "r"))
    })
    .unwrap();

    read(&*store, |tx| {
        let mut rows = Vec::new();
        let mut verifier = ChainVerifier::from_genesis(None).for_tenant("org-1");
        tx.scan_audit_rows(&t, 0, &mut |row| {
            assert!(verifier.push_row(row)?, "row {} does not verify", row.seq);
            rows.push(row.to_record()?);
            Ok(true)
        })?;
        assert_eq!(rows, chain);
        let report = verifier.finish();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.head, Some(chain[39].head()));

        let mut seen = Vec::new();
        tx.scan_audit_rows(&t, 38, &mut |row| {
            seen.push((row.seq, row.tenant.to_owned()));
            Ok(true)
        })?;
        assert_eq!(
            seen,
            [
                (38, "org-1".to_owned()),
                (39, "org-1".into()),
                (40, "org-1".into())
            ]
        );

        seen.clear();
        tx.scan_audit_rows(&t, 7, &mut |row| {
            seen.push((row.seq, row.tenant.to_owned()));
            Ok(seen.len() < 2)
        })?;
        assert_eq!(seen.len(), 2, "the scan stops after the visitor says false");

        let mut others = 0;
        tx.scan_audit_rows(&other, 0, &mut |row| {
            assert_eq!(row.tenant, "org-2");
            others += 1;
            Ok(true)
        })?;
        assert_eq!(others, 1);

        let err = tx
            .scan_audit_rows(&t, 1, &mut |_| Err(Error::integrity("stop here")))
            .unwrap_err();
        assert_eq!(err, Error::integrity("stop here"));
        Ok(())
    })
    .unwrap();
}

/// `query_audit` filters by resource, affiliate, type and time range, pages with
/// `after_seq`, and honours `limit`, oldest first.
pub fn audit_query(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    // 30 records: kinds alternate, resources cycle over 5, affiliates over 3
    // (with every fourth record concerning no affiliate), one second apart.
    let records: Vec<AuditRecord> = (1..=30)
        .map(|seq| {
            let kind = if seq % 2 == 0 {
                "commission.approved"
            } else {
                "sale.recorded"
            };
            let mut r = audit(&t, seq, seq as i64, kind, &format!("res-{}", seq % 5));
            if seq % 4 == 0 {
                r.affiliate_id = None;
            }
            r
        })
        .collect();
    write(&*store, |tx| {
        for r in &records {
            tx.append_audit(r)?;
        }
        Ok(())
    })
    .unwrap();

    let check = |query: AuditQuery, keep: &dyn Fn(&AuditRecord) -> bool| {
        let got = read(&*store, |tx| tx.query_audit(&t, &query)).unwrap();
        let mut expected: Vec<AuditRecord> = records
            .iter()
            .filter(|r| keep(r) && query.after_seq.is_none_or(|a| r.seq > a))
            .cloned()
            .collect();
        expected.truncate(query.limit.unwrap_or(usize::MAX));
        let seqs = |rs: &[AuditRecord]| rs.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&got), seqs(&expected), "query_audit({query:?})");
        assert_eq!(got, expected);
    };

    check(AuditQuery::default(), &|_| true);
    check(
        AuditQuery {
            resource_id: Some("res-2".to_owned()),
            ..AuditQuery::default()
        },
        &|r| r.resource_id == "res-2",
    );
    check(
        AuditQuery {
            affiliate_id: Some("aff-1".to_owned()),
            ..AuditQuery::default()
        },
        &|r| r.affiliate_id.as_deref() == Some("aff-1"),
    );
    check(
        AuditQuery {
            kind: Some("commission.approved".to_owned()),
            ..AuditQuery::default()
        },
        &|r| r.kind == "commission.approved",
    );
    check(
        AuditQuery {
            kind: Some("nothing.like.this".to_owned()),
            ..AuditQuery::default()
        },
        &|_| false,
    );
    // `from` is inclusive, `until` exclusive.
    check(
        AuditQuery {
            from: Some(at(5)),
            until: Some(at(9)),
            ..AuditQuery::default()
        },
        &|r| (5..9).contains(&r.seq),
    );
    check(
        AuditQuery {
            from: Some(at(5) + TimeDelta::microseconds(1)),
            ..AuditQuery::default()
        },
        &|r| r.seq > 5,
    );
    check(
        AuditQuery {
            until: Some(at(3) + TimeDelta::microseconds(1)),
            ..AuditQuery::default()
        },
        &|r| r.seq <= 3,
    );
    check(
        AuditQuery {
            kind: Some("sale.recorded".to_owned()),
            affiliate_id: Some("aff-2".to_owned()),
            from: Some(at(3)),
            limit: Some(2),
            ..AuditQuery::default()
        },
        &|r| r.kind == "sale.recorded" && r.affiliate_id.as_deref() == Some("aff-2") && r.seq >= 3,
    );
    check(
        AuditQuery {
            after_seq: Some(25),
            ..AuditQuery::default()
        },
        &|_| true,
    );
    check(
        AuditQuery {
            after_seq: Some(30),
            ..AuditQuery::default()
        },
        &|_| false,
    );
    check(
        AuditQuery {
            limit: Some(0),
            ..AuditQuery::default()
        },
        &|_| false,
    );

    // Paging with the cursor visits every matching record exactly once, in order.
    let mut cursor = None;
    let mut paged = Vec::new();
    loop {
        let page = read(&*store, |tx| {
            tx.query_audit(
                &t,
                &AuditQuery {
                    resource_id: Some("res-1".to_owned()),
                    after_seq: cursor,
                    limit: Some(2),
                    ..AuditQuery::default()
                },
            )
        })
        .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some(last.seq);
        paged.extend(page.iter().map(|r| r.seq));
    }
    assert_eq!(paged, [1, 6, 11, 16, 21, 26]);
}

/// Archiving: `delete_audit_through` deletes up to a sequence number and says
/// how many; anchors round-trip and are replaced.
pub fn audit_archiving(factory: Factory<'_>) {
    let store = factory();
    let t = tenant("org-1");
    write(&*store, |tx| {
        for seq in 1..=10 {
            tx.append_audit(&audit(&t, seq, seq as i64, "x", "r"))?;
        }
        Ok(())
    })
    .unwrap();

    read(&*store, |tx| {
        assert_eq!(tx.audit_anchor(&t)?, None);
        Ok(())
    })
    .unwrap();

    let first = AuditCheckpoint {
        tenant: t.clone(),
        seq: 4,
        hash: format!("{:064x}", 4),
        at: at(100),
    };
    write(&*store, |tx| {
        assert_eq!(tx.delete_audit_through(&t, 4)?, 4);
        assert_eq!(tx.delete_audit_through(&t, 4)?, 0, "nothing left to delete");
        assert_eq!(tx.delete_audit_through(&t, 0)?, 0);
        tx.put_audit_anchor(&first)
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(tx.audit_anchor(&t)?, Some(first.clone()));
        assert_eq!(count_audit(tx, &t)?, (5..=10).collect::<Vec<_>>());
        assert_eq!(
            tx.audit_head(&t)?.unwrap().seq,
            10,
            "the head is the last record"
        );
        let queried = tx.query_audit(&t, &AuditQuery::default())?;
        assert_eq!(queried.first().map(|r| r.seq), Some(5));
        Ok(())
    })
    .unwrap();

    let second = AuditCheckpoint {
        tenant: t.clone(),
        seq: 7,
        hash: format!("{:064x}", 7),
        at: at(200),
    };
    write(&*store, |tx| {
        assert_eq!(tx.delete_audit_through(&t, 7)?, 3);
        tx.put_audit_anchor(&second)
    })
    .unwrap();
    read(&*store, |tx| {
        assert_eq!(
            tx.audit_anchor(&t)?,
            Some(second.clone()),
            "the anchor is replaced"
        );
        assert_eq!(count_audit(tx, &t)?, [8, 9, 10]);
        Ok(())
    })
    .unwrap();

    // Deleting past the head empties the chain; the anchor then is the head.
    let last = AuditCheckpoint {
        tenant: t.clone(),
        seq: 10,
        hash: format!("{:064x}", 10),
        at: at(300),
    };
    write(&*store, |tx| {
        assert_eq!(tx.delete_audit_through(&t, 1_000)?, 3);
        tx.put_audit_anchor(&last)
    })
    .unwrap();
    read(&*store, |tx| {
        assert!(count_audit(tx, &t)?.is_empty());
        assert_eq!(
            tx.audit_head(&t)?,
            Some(AuditHead {
                seq: 10,
                hash: last.hash.clone()
            })
        );
        Ok(())
    })
    .unwrap();
}

/// Every write method fails inside `read`, and changes nothing.
pub fn read_rejects_writes(factory: Factory<'_>) {
    type Attempt<'a> = (&'static str, Box<dyn Fn(&mut dyn Tx) -> Result<()> + 'a>);

    let store = factory();
    let t = tenant("org-1");
    write(&*store, |tx| {
        put_affiliates(tx, &t, &["a1", "buyer-1"])?;
        put_sale(tx, &t, "s-1", "a1")?;
        tx.put_batch(&batch(&t, "b-1"))?;
        tx.append_audit(&audit(&t, 1, 0, "x", "r"))
    })
    .unwrap();

    let t2 = t.clone();
    let attempts: Vec<Attempt<'_>> = vec![
        (
            "put_affiliate",
            Box::new(|tx| tx.put_affiliate(&affiliate(&t, "a2"))),
        ),
        (
            "insert_rule",
            Box::new(|tx| tx.insert_rule(&rule(&t, "r-1", 1))),
        ),
        ("put_sale", Box::new(|tx| put_sale(tx, &t, "s-2", "a1"))),
        (
            "put_commission",
            Box::new(|tx| {
                tx.put_commission(&commission(
                    &t,
                    "c-1",
                    "s-1",
                    "a1",
                    CommissionStatus::Pending,
                ))
            }),
        ),
        (
            "put_refund",
            Box::new(|tx| {
                tx.put_refund(&Refund {
                    tenant: t.clone(),
                    id: RefundId::new("rf-1").unwrap(),
                    sale: sale_id("s-1"),
                    amount: money("1.00", "USD"),
                    reason: "r".to_owned(),
                    reversals: Vec::new(),
                    created_at: at(1),
                })
            }),
        ),
        (
            "put_adjustment",
            Box::new(|tx| tx.put_adjustment(&adjustment(&t, "adj-1", "a1", None))),
        ),
        ("put_batch", Box::new(|tx| tx.put_batch(&batch(&t, "b-2")))),
        (
            "put_payout",
            Box::new(|tx| tx.put_payout(&payout(&t, "p-1", "b-1", "a1", PayoutStatus::Pending))),
        ),
        (
            "append_audit",
            Box::new(|tx| tx.append_audit(&audit(&t, 2, 0, "x", "r"))),
        ),
        (
            "delete_audit_through",
            Box::new(|tx| tx.delete_audit_through(&t, 1).map(|_| ())),
        ),
        (
            "put_audit_anchor",
            Box::new(move |tx| {
                tx.put_audit_anchor(&AuditCheckpoint {
                    tenant: t2.clone(),
                    seq: 1,
                    hash: "h".to_owned(),
                    at: at(0),
                })
            }),
        ),
    ];
    for (name, attempt) in &attempts {
        let mut inner = None;
        let outer = store.read(&mut |tx| {
            inner = Some(attempt(tx));
            Ok(())
        });
        let refused = outer.is_err() || inner.as_ref().is_some_and(Result::is_err);
        assert!(refused, "{name} inside read() must fail");
    }

    read(&*store, |tx| {
        assert_eq!(tx.affiliate(&t, &aff_id("a2"))?, None);
        assert_eq!(tx.rule(&t, &RuleId::new("r-1").unwrap(), None)?, None);
        assert_eq!(tx.sale(&t, &sale_id("s-2"))?, None);
        assert_eq!(tx.commission(&t, &com_id("c-1"))?, None);
        assert_eq!(tx.refund(&t, &RefundId::new("rf-1").unwrap())?, None);
        assert_eq!(tx.adjustment(&t, &adj_id("adj-1"))?, None);
        assert_eq!(tx.batch(&t, &batch_id("b-2"))?, None);
        assert_eq!(tx.payout(&t, &pay_id("p-1"))?, None);
        assert_eq!(count_audit(tx, &t)?, [1]);
        assert_eq!(tx.audit_anchor(&t)?, None);
        Ok(())
    })
    .unwrap();
}
