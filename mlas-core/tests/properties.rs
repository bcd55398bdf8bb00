//! Property tests of the engine's money invariants over random sales, chains,
//! rules and refund sequences.

#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod common;

use common::*;
use mlas_core::rule::{LevelRate, LevelRule};
use mlas_core::store::AdjustmentFilter;
use mlas_core::{
    AffiliateStatus, CommissionStatus, Currency, Decimal, Money, NewRefund, RefundId, RuleSpec,
    SaleId,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    currency: &'static str,
    amount_minor: i64,
    statuses: Vec<bool>,
    levels: Vec<(u32, Option<u32>)>,
    compression: bool,
    total_cap: Option<u32>,
    refunds: Vec<u32>,
    paid_mask: Vec<bool>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(vec!["USD", "JPY", "BHD"]),
        1i64..50_000_000,
        prop::collection::vec(prop::bool::weighted(0.8), 1..7),
        prop::collection::vec((0u32..400_000, prop::option::of(1u32..5_000)), 1..6),
        any::<bool>(),
        prop::option::of(0u32..100),
        prop::collection::vec(1u32..100, 0..5),
        prop::collection::vec(any::<bool>(), 7),
    )
        .prop_map(
            |(
                currency,
                amount_minor,
                statuses,
                levels,
                compression,
                total_cap,
                refunds,
                paid_mask,
            )| Case {
                currency,
                amount_minor,
                statuses,
                levels,
                compression,
                total_cap,
                refunds,
                paid_mask,
            },
        )
}

fn setup(case: &Case) -> (mlas_core::Engine, mlas_core::Scope, Money, Vec<String>) {
    let (engine, _) = engine();
    let scope = scope();
    let currency = Currency::parse(case.currency).unwrap();
    let ids: Vec<String> = (0..case.statuses.len())
        .map(|i| format!("aff-{i}"))
        .collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    line_of(&engine, &scope, &id_refs, "7.5");
    for (id, active) in ids.iter().zip(&case.statuses) {
        if !active {
            engine
                .set_affiliate_status(&scope, &aid(id), AffiliateStatus::Suspended, "test")
                .unwrap();
        }
    }
    let mut spec = RuleSpec::percentages("random", &[]);
    spec.levels = case
        .levels
        .iter()
        .map(|(bp, cap)| LevelRule {
            // Up to 40% with four decimals: rates such as 33.3333%.
            rate: LevelRate::Percent {
                percent: Decimal::new(i64::from(*bp), 4),
            },
            cap: cap.map(|c| Decimal::new(i64::from(c), 0)),
        })
        .collect();
    spec.currency = Some(currency);
    spec.compression = case.compression;
    spec.total_cap_percent = case.total_cap.map(Decimal::from);
    engine.create_rule(&scope, None, spec).unwrap();
    let amount = Money::from_minor(case.amount_minor, currency);
    (engine, scope, amount, ids)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn calculated_lines_obey_the_rounding_and_cap_rules(case in cases()) {
        let (engine, scope, amount, _) = setup(&case);
        let outcome = engine.record_sale(&scope, sale("s", amount, "aff-0")).unwrap();
        let explanation = engine.explain(&scope, &outcome.sale.id).unwrap();
        let unit = amount.currency().unit();

        let sum: i64 = outcome.commissions.iter().map(|c| c.amount.minor()).sum();
        prop_assert_eq!(sum, explanation.total.minor());
        prop_assert_eq!(
            explanation.total.amount(),
            mlas_core::money::round_half_even(explanation.exact_total, amount.currency().minor_units())
        );
        for line in &explanation.lines {
            prop_assert!((line.amount.amount() - line.capped).abs() < unit);
            prop_assert!(!line.amount.is_negative());
        }
        if let Some(cap) = explanation.total_cap {
            prop_assert!(explanation.exact_total <= cap);
        }
        prop_assert!(outcome.commissions.iter().all(|c| c.status == CommissionStatus::Pending && !c.amount.is_zero()));

        // An idempotent replay writes nothing.
        let before = engine.audit_records_len(&scope);
        let again = engine.record_sale(&scope, sale("s", amount, "aff-0")).unwrap();
        prop_assert!(again.replayed);
        prop_assert_eq!(engine.audit_records_len(&scope), before);
    }

    #[test]
    fn refunds_never_reverse_more_than_earned_and_a_full_refund_nets_to_zero(case in cases()) {
        let (engine, scope, amount, ids) = setup(&case);
        let outcome = engine.record_sale(&scope, sale("s", amount, "aff-0")).unwrap();
        // Some commissions are already paid: their reversals become clawbacks.
        engine.store().write(&mut |tx| {
            for (c, paid) in outcome.commissions.iter().zip(&case.paid_mask) {
                if *paid {
                    let mut c = c.clone();
                    c.status = CommissionStatus::Paid;
                    tx.put_commission(&c)?;
                }
            }
            Ok(())
        }).unwrap();
        let earned: i64 = outcome.commissions.iter().map(|c| c.amount.minor()).sum();

        // Partial refunds in random sizes, then whatever is left.
        let mut left = amount.minor();
        let mut reversed = 0i64;
        for (i, pct) in case.refunds.iter().enumerate() {
            let part = left * i64::from(*pct) / 100;
            if part == 0 {
                continue;
            }
            let refund = NewRefund {
                id: RefundId::new(format!("r{i}")).unwrap(),
                sale: SaleId::new("s").unwrap(),
                amount: Money::from_minor(part, amount.currency()),
                reason: "partial".into(),
            };
            let (r, _) = engine.refund(&scope, refund).unwrap();
            reversed += r.reversals.iter().map(|x| x.amount.minor()).sum::<i64>();
            prop_assert!(r.reversals.iter().all(|x| !x.amount.is_negative()));
            prop_assert!(reversed <= earned);
            left -= part;
        }
        let last = NewRefund {
            id: RefundId::new("last").unwrap(),
            sale: SaleId::new("s").unwrap(),
            amount: Money::from_minor(left, amount.currency()),
            reason: "the rest".into(),
        };
        engine.refund(&scope, last).unwrap();

        let adjustments = engine.adjustments(&scope, &AdjustmentFilter::default()).unwrap();
        for id in &ids {
            let kept: i64 = engine
                .commissions(&scope, &Default::default())
                .unwrap()
                .iter()
                .filter(|c| c.affiliate.as_str() == id)
                .map(|c| c.amount.minor())
                .sum();
            let adjusted: i64 =
                adjustments.iter().filter(|a| a.affiliate.as_str() == id).map(|a| a.amount.minor()).sum();
            prop_assert_eq!(kept + adjusted, 0, "affiliate {} keeps money after a full refund", id);
        }
    }
}
