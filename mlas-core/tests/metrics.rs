//! The metrics snapshot and its Prometheus rendering.

#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod common;

use common::*;
use mlas_core::{
    AffiliateUpdate, BatchId, CommissionSelection, PayoutDetails, ScheduleRequest,
    SimulatedProvider,
};

#[test]
fn metrics_follow_the_runbook_definitions() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "10");
    engine
        .update_affiliate(
            &scope,
            &aid("a"),
            AffiliateUpdate {
                tier: Some("gold".into()),
                payout: Some(Some(PayoutDetails::paypal("a@example.com").unwrap())),
                ..Default::default()
            },
        )
        .unwrap();
    let c1 = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap()
        .commissions[0]
        .clone();
    let c2 = engine
        .record_sale(&scope, sale("s2", money("50.00", "USD"), "a"))
        .unwrap()
        .commissions[0]
        .clone();
    let c3 = engine
        .record_sale(&scope, sale("s3", money("20.00", "USD"), "a"))
        .unwrap()
        .commissions[0]
        .clone();
    assert!(
        engine
            .record_sale(&scope, sale("s4", money("1.00", "USD"), "nobody"))
            .is_err()
    );

    engine.approve(&scope, &c1.id).unwrap();
    engine
        .dispute(&scope, &c2.id, "customer complaint")
        .unwrap();
    engine.reject(&scope, &c3.id, "test order").unwrap();
    let request = ScheduleRequest {
        batch: BatchId::new("batch-1").unwrap(),
        scheduled_for: t0(),
        selection: CommissionSelection::AllApproved,
    };
    engine.schedule_payouts(&scope, request).unwrap();
    engine
        .process_batch(
            &scope,
            &BatchId::new("batch-1").unwrap(),
            &SimulatedProvider::new(),
            false,
        )
        .unwrap();

    let m = engine.metrics(&scope).unwrap();

    assert_eq!((m.calculations_succeeded, m.calculations_failed), (3, 1));
    assert_eq!(m.calculation_success_rate, Some(dec("0.75")));
    assert_eq!(m.average_commission[0].to_string(), "5.67 USD"); // (10 + 5 + 2) / 3
    assert_eq!(m.approval_rate, Some(dec("0.5"))); // 1 paid of 2 decided
    assert_eq!(m.dispute_rate, Some(dec("0.3333")));
    assert_eq!(m.batches_by_status.get("COMPLETED"), Some(&1));
    assert_eq!(m.batch_success_rate, Some(dec("1")));
    assert_eq!(m.failed_payouts, 0);
    assert_eq!(m.payout_retry_rate, Some(dec("0")));
    assert_eq!(m.active_affiliates, 2);
    assert_eq!(m.tier_distribution.get("gold"), Some(&1));
    assert_eq!(m.payout_method_distribution.get("PAYPAL"), Some(&1));
    assert_eq!(m.payout_method_distribution.get("NONE"), Some(&1));
    assert_eq!(m.commission_rate_distribution.get("10"), Some(&2));

    let text = m.to_prometheus();
    assert!(
        text.contains(
            "mlas_commission_calculations_total{tenant=\"org-123\",outcome=\"failure\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("mlas_commission_average_amount{tenant=\"org-123\",currency=\"USD\"} 5.67")
    );
    assert!(text.contains("# TYPE mlas_affiliates_active gauge"));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(
            series.starts_with("mlas_") && series.ends_with('}'),
            "{line}"
        );
        assert!(value.parse::<f64>().is_ok(), "{line}");
    }
}

#[test]
fn health_reports_the_chain_head_and_a_broken_chain() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "10");
    let health = engine.health(&scope);
    assert_eq!(health.status, mlas_core::HealthStatus::Healthy);
    assert_eq!(health.audit_head.as_ref().map(|h| h.seq), Some(1));
    assert_eq!(health.backend, "memory");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));

    // Rewrite a stored record behind the engine's back.
    engine
        .store()
        .write(&mut |tx| {
            let mut records = Vec::new();
            tx.scan_audit(scope.tenant(), 1, &mut |r| {
                records.push(r);
                Ok(true)
            })?;
            tx.delete_audit_through(scope.tenant(), 1)?;
            records[0].actor = "mallory".into();
            tx.append_audit(&records[0])
        })
        .unwrap();
    let health = engine.health(&scope);
    assert_eq!(health.status, mlas_core::HealthStatus::Unhealthy);
    assert!(health.problem.unwrap().contains("seq 1"));
}
