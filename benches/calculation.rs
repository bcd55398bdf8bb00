//! Benchmark 1: commission calculation in memory, by chain depth.
//!
//! Baseline: the bare decimal arithmetic of the same split (one multiply and
//! one divide per level, then one rounding), so the figure shows what rule
//! matching, compression, caps, allocation and the trace cost on top.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mlas::calculation::{ChainMember, calculate};
use mlas::rule::Condition;
use mlas::{
    AffiliateId, AffiliateStatus, Currency, Decimal, Money, Rule, RuleId, RuleSpec, TenantId,
};

fn chain(depth: usize) -> Vec<ChainMember> {
    (0..depth)
        .map(|i| ChainMember {
            affiliate: AffiliateId::new(format!("aff-{i}")).unwrap(),
            status: if i == 2 {
                AffiliateStatus::Suspended
            } else {
                AffiliateStatus::Active
            },
            commission_rate: Decimal::new(75, 1),
            tier: "gold".to_owned(),
        })
        .collect()
}

fn rules(depth: usize) -> Vec<Rule> {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let percents: Vec<Decimal> = (0..depth)
        .map(|i| Decimal::new(100 - 3 * i as i64, 1))
        .collect();
    let mut spec = RuleSpec::percentages("split", &percents);
    spec.compression = true;
    spec.total_cap_percent = Some(Decimal::from(40));
    spec.conditions = vec![Condition::new("amount", "gte", vec!["10".into()]).unwrap()];
    let other = RuleSpec::percentages("other", &[Decimal::ONE]);
    [spec, other]
        .into_iter()
        .enumerate()
        .map(|(i, spec)| Rule {
            tenant: TenantId::new("org").unwrap(),
            id: RuleId::new(format!("rule-{i}")).unwrap(),
            version: 1,
            spec,
            created_at: t,
            version_created_at: t,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let usd = Currency::parse("USD").unwrap();
    let amount = Money::parse("1234.56", usd, "amount").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    let attributes = BTreeMap::new();

    let mut group = c.benchmark_group("calculation");
    for depth in [1usize, 2, 5, 10, 20] {
        let members = chain(depth);
        let rules = rules(depth);
        group.bench_with_input(BenchmarkId::new("calculate", depth), &depth, |b, _| {
            b.iter(|| {
                calculate(
                    black_box(amount),
                    at,
                    "DIRECT",
                    &attributes,
                    &members,
                    &rules,
                )
            });
        });
        let percents: Vec<Decimal> = (0..depth)
            .map(|i| Decimal::new(100 - 3 * i as i64, 1))
            .collect();
        group.bench_with_input(
            BenchmarkId::new("baseline_arithmetic", depth),
            &depth,
            |b, _| {
                b.iter(|| {
                    let total: Decimal = percents
                        .iter()
                        .map(|p| black_box(amount.amount()) * p / Decimal::ONE_HUNDRED)
                        .sum();
                    mlas::money::round_half_even(total, 2)
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
