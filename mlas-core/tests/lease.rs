//! One worker per batch: a live lease turns a second worker away, a lapsed one
//! is taken over.

#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod common;

use chrono::TimeDelta;
use common::*;
use mlas_core::payout::BatchLease;
use mlas_core::{
    AffiliateUpdate, BatchId, BatchStatus, CommissionSelection, ErrorKind, PayoutDetails,
    ScheduleRequest, SimulatedProvider,
};

#[test]
fn a_second_worker_is_turned_away_until_the_lease_lapses() {
    let (engine, clock) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "10");
    let details = PayoutDetails::paypal("a@example.com").unwrap();
    let update = AffiliateUpdate {
        payout: Some(Some(details)),
        ..Default::default()
    };
    engine.update_affiliate(&scope, &aid("a"), update).unwrap();
    let c = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap()
        .commissions;
    engine.approve(&scope, &c[0].id).unwrap();
    let batch = BatchId::new("b1").unwrap();
    let request = ScheduleRequest {
        batch: batch.clone(),
        scheduled_for: t0(),
        selection: CommissionSelection::AllApproved,
    };
    engine.schedule_payouts(&scope, request).unwrap();

    // Another worker holds the batch for five more minutes.
    let held_until = engine.now() + TimeDelta::minutes(5);
    engine
        .store()
        .write(&mut |tx| {
            let mut b = tx.batch(scope.tenant(), &batch)?.unwrap();
            b.lease = Some(BatchLease {
                holder: "worker_other".into(),
                until: held_until,
            });
            tx.put_batch(&b)
        })
        .unwrap();
    let before = engine.audit_records_len(&scope);
    let provider = SimulatedProvider::new();

    let err = engine
        .process_batch(&scope, &batch, &provider, false)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("another worker"), "{err}");
    assert_eq!(engine.audit_records_len(&scope), before);
    assert_eq!(
        engine.batch(&scope, &batch).unwrap().status,
        BatchStatus::Scheduled
    );

    // Once it lapses (the worker died), the batch is taken over and the lease released.
    clock.advance(TimeDelta::minutes(5));
    let stats = engine
        .process_batch(&scope, &batch, &provider, false)
        .unwrap();
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    assert_eq!(engine.batch(&scope, &batch).unwrap().lease, None);
}

#[test]
fn the_lease_length_must_be_positive() {
    let config = mlas_core::EngineConfig {
        batch_lease: TimeDelta::zero(),
        ..Default::default()
    };
    let err = mlas_core::Engine::in_memory()
        .with_config(config)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
}

#[test]
fn a_payout_wave_must_hold_at_least_one_payout() {
    let config = mlas_core::EngineConfig {
        payout_wave: 0,
        ..Default::default()
    };
    let err = mlas_core::Engine::in_memory()
        .with_config(config)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert!(err.to_string().contains("payout_wave"), "{err}");
}
