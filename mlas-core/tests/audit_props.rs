//! Property: no sequence of operations, failed ones included, ever leaves a
//! chain that fails verification, a checkpoint that no longer holds, or an
//! export that does not verify on its own.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use mlas_core::audit::export::verify_jsonl;
use mlas_core::store::{CommissionFilter, PayoutFilter};
use mlas_core::{
    AffiliateId, AffiliateStatus, AffiliateUpdate, AuditRange, ChainVerifier, Clock, Currency,
    Decimal, Engine, EngineConfig, FixedClock, Money, NewAffiliate, NewRefund, NewSale, RefundId,
    Resolution, RuleSpec, SaleId, Scope,
};
use mlas_core::{BatchId, CommissionSelection, PayoutDetails, ScheduleRequest, SimulatedProvider};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    CreateAffiliate { sponsor: usize },
    UpdateAffiliate { who: usize, tier: u8 },
    SetStatus { who: usize, status: u8 },
    SetSponsor { who: usize, sponsor: Option<usize> },
    CreateRule { percent: u8 },
    UpdateRule { percent: u8 },
    RecordSale { who: usize, cents: u32 },
    Approve { which: usize },
    Reject { which: usize },
    Dispute { which: usize },
    Resolve { which: usize, approve: bool },
    Refund { sale: usize, cents: u32 },
    Recalculate { sale: usize },
    Archive { hours_back: u8 },
    Schedule,
    Process { which: usize, fail: bool },
    Advance { hours: u8 },
    Checkpoint,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..8).prop_map(|sponsor| Op::CreateAffiliate { sponsor }),
        1 => (0usize..8, 0u8..3).prop_map(|(who, tier)| Op::UpdateAffiliate { who, tier }),
        1 => (0usize..8, 0u8..4).prop_map(|(who, status)| Op::SetStatus { who, status }),
        1 => (0usize..8, proptest::option::of(0usize..8))
            .prop_map(|(who, sponsor)| Op::SetSponsor { who, sponsor }),
        1 => (0u8..40).prop_map(|percent| Op::CreateRule { percent }),
        1 => (0u8..40).prop_map(|percent| Op::UpdateRule { percent }),
        4 => (0usize..8, 0u32..50_000).prop_map(|(who, cents)| Op::RecordSale { who, cents }),
        2 => (0usize..20).prop_map(|which| Op::Approve { which }),
        1 => (0usize..20).prop_map(|which| Op::Reject { which }),
        1 => (0usize..20).prop_map(|which| Op::Dispute { which }),
        1 => (0usize..20, any::<bool>()).prop_map(|(which, approve)| Op::Resolve { which, approve }),
        2 => (0usize..10, 0u32..20_000).prop_map(|(sale, cents)| Op::Refund { sale, cents }),
        1 => (0usize..10).prop_map(|sale| Op::Recalculate { sale }),
        1 => (0u8..48).prop_map(|hours_back| Op::Archive { hours_back }),
        1 => Just(Op::Schedule),
        1 => (0usize..4, any::<bool>()).prop_map(|(which, fail)| Op::Process { which, fail }),
        2 => (0u8..30).prop_map(|hours| Op::Advance { hours }),
        1 => Just(Op::Checkpoint),
    ]
}

fn pick<T: Clone>(items: &[T], i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[i % items.len()].clone())
}

/// Runs the operations, ignoring their (legitimate) errors, and returns the
/// engine and every checkpoint taken along the way.
fn run(ops: &[Op], key: Option<&[u8]>) -> (Engine, Vec<mlas_core::Checkpoint>, Vec<Vec<u8>>) {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    ));
    let config = EngineConfig {
        audit_key: key.map(<[u8]>::to_vec),
        ..EngineConfig::default()
    };
    let engine = Engine::in_memory()
        .with_clock(clock.clone())
        .with_config(config)
        .unwrap();
    let s = Scope::new("org-p", "prop").unwrap();
    let usd = Currency::parse("USD").unwrap();
    let mut affiliates: Vec<AffiliateId> = Vec::new();
    let mut sales: Vec<SaleId> = Vec::new();
    let mut rule = None;
    let mut checkpoints = Vec::new();
    let mut archives = Vec::new();
    let mut batches: Vec<BatchId> = Vec::new();
    let provider = SimulatedProvider::new();
    let statuses = [
        AffiliateStatus::Pending,
        AffiliateStatus::Active,
        AffiliateStatus::Suspended,
        AffiliateStatus::Terminated,
    ];

    for (n, op) in ops.iter().enumerate() {
        let commissions = engine
            .commissions(&s, &CommissionFilter::default())
            .unwrap();
        let commission = |i: usize| pick(&commissions, i).map(|c| c.id);
        match op {
            Op::CreateAffiliate { sponsor } => {
                let mut new = NewAffiliate::new(
                    format!("A{n}"),
                    format!("a{n}@example.com"),
                    Decimal::new(5, 0),
                );
                new.sponsor = pick(&affiliates, *sponsor);
                new.payout = Some(PayoutDetails::paypal(&format!("a{n}@example.com")).unwrap());
                if let Ok(a) = engine.create_affiliate(&s, new) {
                    affiliates.push(a.id);
                }
            }
            Op::UpdateAffiliate { who, tier } => {
                if let Some(id) = pick(&affiliates, *who) {
                    let update = AffiliateUpdate {
                        tier: Some(format!("tier-{tier}")),
                        ..AffiliateUpdate::default()
                    };
                    let _ = engine.update_affiliate(&s, &id, update);
                }
            }
            Op::SetStatus { who, status } => {
                if let Some(id) = pick(&affiliates, *who) {
                    let _ = engine.set_affiliate_status(
                        &s,
                        &id,
                        statuses[usize::from(*status)],
                        "prop",
                    );
                }
            }
            Op::SetSponsor { who, sponsor } => {
                if let Some(id) = pick(&affiliates, *who) {
                    let sponsor = sponsor.and_then(|i| pick(&affiliates, i));
                    let _ = engine.set_sponsor(&s, &id, sponsor.as_ref());
                }
            }
            Op::CreateRule { percent } => {
                let spec = RuleSpec::percentages("p", &[Decimal::from(*percent), Decimal::ONE]);
                if let Ok(r) = engine.create_rule(&s, None, spec) {
                    rule = Some(r.id);
                }
            }
            Op::UpdateRule { percent } => {
                if let Some(id) = &rule {
                    let spec = RuleSpec::percentages("p", &[Decimal::from(*percent)]);
                    let _ = engine.update_rule(&s, id, spec);
                }
            }
            Op::RecordSale { who, cents } => {
                if let Some(id) = pick(&affiliates, *who) {
                    let amount = Money::new(Decimal::new(i64::from(*cents), 2), usd, "amount");
                    if let Ok(amount) = amount {
                        let sale = SaleId::new(format!("s{n}")).unwrap();
                        let new = NewSale::new(sale.clone(), amount, clock.now(), id);
                        if engine.record_sale(&s, new).is_ok() {
                            sales.push(sale);
                        }
                    }
                }
            }
            Op::Approve { which } => {
                if let Some(id) = commission(*which) {
                    let _ = engine.approve(&s, &id);
                }
            }
            Op::Reject { which } => {
                if let Some(id) = commission(*which) {
                    let _ = engine.reject(&s, &id, "prop");
                }
            }
            Op::Dispute { which } => {
                if let Some(id) = commission(*which) {
                    let _ = engine.dispute(&s, &id, "prop");
                }
            }
            Op::Resolve { which, approve } => {
                if let Some(id) = commission(*which) {
                    let resolution = if *approve {
                        Resolution::Approve
                    } else {
                        Resolution::Reject
                    };
                    let _ = engine.resolve(&s, &id, resolution, "prop");
                }
            }
            Op::Refund { sale, cents } => {
                if let Some(sale) = pick(&sales, *sale) {
                    let amount = Money::new(Decimal::new(i64::from(*cents), 2), usd, "amount");
                    if let Ok(amount) = amount {
                        let refund = NewRefund {
                            id: RefundId::new(format!("r{n}")).unwrap(),
                            sale,
                            amount,
                            reason: "prop".into(),
                        };
                        let _ = engine.refund(&s, refund);
                    }
                }
            }
            Op::Recalculate { sale } => {
                if let Some(sale) = pick(&sales, *sale) {
                    let _ = engine.recalculate(&s, &sale);
                }
            }
            Op::Archive { hours_back } => {
                let before = clock.now() - TimeDelta::hours(i64::from(*hours_back));
                let mut archive = Vec::new();
                let outcome = engine.archive_audit(&s, before, &mut archive).unwrap();
                if outcome.records > 0 {
                    archives.push(archive);
                }
            }
            Op::Schedule => {
                let request = ScheduleRequest {
                    batch: BatchId::new(format!("b{n}")).unwrap(),
                    scheduled_for: clock.now(),
                    selection: CommissionSelection::AllApproved,
                };
                if let Ok(outcome) = engine.schedule_payouts(&s, request) {
                    batches.push(outcome.batch.id);
                }
            }
            Op::Process { which, fail } => {
                if let Some(batch) = pick(&batches, *which) {
                    if *fail {
                        for payout in engine.payouts(&s, &PayoutFilter::default()).unwrap() {
                            provider.fail_payout(&payout.id, 1, "declined", true);
                        }
                    }
                    let _ = engine.process_batch(&s, &batch, &provider, true);
                }
            }
            Op::Advance { hours } => clock.advance(TimeDelta::hours(i64::from(*hours))),
            Op::Checkpoint => checkpoints.push(engine.checkpoint(&s).unwrap()),
        }
    }
    (engine, checkpoints, archives)
}

fn check(ops: &[Op], key: Option<&[u8]>) -> Result<(), TestCaseError> {
    let (engine, checkpoints, archives) = run(ops, key);
    let s = Scope::new("org-p", "prop").unwrap();

    let report = engine.verify_audit(&s).unwrap();
    prop_assert!(report.is_intact(), "{:?}", report);
    let head = engine.audit_head(&s).unwrap();
    prop_assert_eq!(&report.head, &head);

    let whole = engine
        .verify_audit_with_archives(&s, archives.iter().map(Vec::as_slice))
        .unwrap();
    prop_assert!(whole.is_intact(), "{:?}", whole);

    let anchor = engine.verify_audit(&s).unwrap().start;
    for checkpoint in &checkpoints {
        // A checkpoint inside what was archived can only be checked against the archive.
        if anchor.as_ref().is_some_and(|a| checkpoint.seq < a.seq) {
            continue;
        }
        let against = engine.verify_against(&s, checkpoint).unwrap();
        prop_assert!(against.is_intact(), "{:?}", against);
    }

    let mut export = Vec::new();
    engine
        .export_audit_jsonl(&s, AuditRange::default(), &mut export)
        .unwrap();
    let verifier = match &anchor {
        Some(a) => ChainVerifier::from_anchor(a, key),
        None => ChainVerifier::from_genesis(key),
    };
    let exported = verify_jsonl(&export[..], verifier).unwrap();
    prop_assert!(exported.is_intact(), "{:?}", exported);
    prop_assert_eq!(exported.head, head);
    Ok(())
}

proptest! {
    // Sized for a 2-core CI: each case runs up to 40 engine operations.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn operations_never_break_the_chain(ops in proptest::collection::vec(op(), 1..40)) {
        check(&ops, None)?;
    }

    #[test]
    fn operations_never_break_a_keyed_chain(ops in proptest::collection::vec(op(), 1..40)) {
        check(&ops, Some(b"prop key"))?;
    }
}
