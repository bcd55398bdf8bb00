//! Payout scheduling, processing, retries and crash recovery over the memory store.

// Tests may unwrap: a failure is a test failure with its message.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mlas_core::audit::{GENESIS_HASH, record_hash};
use mlas_core::{
    AffiliateId, AffiliateStatus, AffiliateUpdate, BatchId, BatchStatus, CommissionId,
    CommissionSelection, CommissionStatus, Currency, Decimal, Engine, EngineConfig, ErrorKind,
    FileMode, FileProvider, FixedClock, HoldReason, Money, NewAffiliate, NewRefund, NewSale,
    PayoutDetails, PayoutId, PayoutProvider, PayoutStatus, ProviderStatus, RefundId, SaleId,
    ScheduleRequest, Scope, SimulatedProvider, SimulatedStep,
};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn money(text: &str, currency: Currency) -> Money {
    Money::parse(text, currency, "amount").unwrap()
}

struct World {
    engine: Engine,
    clock: Arc<FixedClock>,
    scope: Scope,
    sales: u32,
}

fn world_with(config: EngineConfig) -> World {
    let clock = Arc::new(FixedClock::new(t0()));
    let engine = Engine::in_memory()
        .with_clock(clock.clone())
        .with_config(config)
        .unwrap();
    World {
        engine,
        clock,
        scope: Scope::new("org-1", "ops").unwrap(),
        sales: 0,
    }
}

fn world() -> World {
    world_with(EngineConfig::default())
}

impl World {
    /// An ACTIVE affiliate earning 10% with PayPal details.
    fn affiliate(&self, id: &str) -> AffiliateId {
        let mut new = NewAffiliate::new(id, format!("{id}@example.com"), Decimal::TEN);
        new.id = Some(AffiliateId::new(id).unwrap());
        new.payout = Some(PayoutDetails::paypal(&format!("{id}@example.com")).unwrap());
        self.engine.create_affiliate(&self.scope, new).unwrap().id
    }

    /// Records a sale of `amount` (10% commission) and approves it.
    fn earn(&mut self, affiliate: &AffiliateId, amount: Money) -> (SaleId, CommissionId) {
        self.sales += 1;
        let sale = SaleId::new(format!("sale-{}", self.sales)).unwrap();
        let outcome = self
            .engine
            .record_sale(
                &self.scope,
                NewSale::new(sale.clone(), amount, t0(), affiliate.clone()),
            )
            .unwrap();
        let id = outcome.commissions[0].id.clone();
        self.engine.approve(&self.scope, &id).unwrap();
        (sale, id)
    }

    fn refund(&self, sale: &SaleId, amount: Money, key: &str) {
        self.engine
            .refund(
                &self.scope,
                NewRefund {
                    id: RefundId::new(key).unwrap(),
                    sale: sale.clone(),
                    amount,
                    reason: "customer returned it".to_owned(),
                },
            )
            .unwrap();
    }

    fn schedule_all(&self, batch: &str) -> mlas_core::ScheduleOutcome {
        self.engine
            .schedule_payouts(
                &self.scope,
                ScheduleRequest {
                    batch: BatchId::new(batch).unwrap(),
                    scheduled_for: t0(),
                    selection: CommissionSelection::AllApproved,
                },
            )
            .unwrap()
    }

    fn process(&self, batch: &str, provider: &dyn PayoutProvider) -> mlas_core::BatchStats {
        self.engine
            .process_batch(&self.scope, &BatchId::new(batch).unwrap(), provider, false)
            .unwrap()
    }

    fn status(&self, id: &CommissionId) -> CommissionStatus {
        self.engine.commission(&self.scope, id).unwrap().status
    }

    fn audit_len(&self) -> u64 {
        audit_chain(&self.engine, &self.scope)
    }
}

/// Walks the whole chain, checking contiguity, links and hashes; returns its length.
fn audit_chain(engine: &Engine, scope: &Scope) -> u64 {
    let mut expected_seq = 1;
    let mut prev = GENESIS_HASH.to_owned();
    engine
        .store()
        .read(&mut |tx| {
            tx.scan_audit(scope.tenant(), 1, &mut |record| {
                assert_eq!(record.seq, expected_seq, "sequence gap");
                assert_eq!(record.prev_hash, prev, "broken link at {}", record.seq);
                assert_eq!(record_hash(&record, None).unwrap(), record.hash);
                prev = record.hash.clone();
                expected_seq += 1;
                Ok(true)
            })
        })
        .unwrap();
    expected_seq - 1
}

#[test]
fn clawbacks_net_and_negative_balances_carry_forward() {
    let mut w = world();
    let a = w.affiliate("aff-a");
    let (sale1, c1) = w.earn(&a, money("100.00", usd()));
    let (_, c2) = w.earn(&a, money("200.00", usd()));
    let provider = SimulatedProvider::new();

    let first = w.schedule_all("b1");
    assert_eq!(first.payouts.len(), 1);
    assert_eq!(first.payouts[0].amount, money("30.00", usd()));
    assert_eq!(w.status(&c1), CommissionStatus::Scheduled);
    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    assert_eq!(w.status(&c1), CommissionStatus::Paid);
    assert_eq!(w.status(&c2), CommissionStatus::Paid);

    // A full refund of a paid sale claws back 10.00; 5.00 earned since does not cover it.
    w.refund(&sale1, money("100.00", usd()), "r1");
    let (_, c3) = w.earn(&a, money("50.00", usd()));
    assert_eq!(
        w.engine.balance(&w.scope, &a).unwrap(),
        vec![money("-5.00", usd())]
    );
    let second = w.schedule_all("b2");
    assert!(second.payouts.is_empty());
    assert_eq!(second.held.len(), 1);
    assert_eq!(second.held[0].reason, HoldReason::BelowMinimum);
    assert_eq!(second.held[0].amount, money("-5.00", usd()));
    assert_eq!(w.status(&c3), CommissionStatus::Approved);
    let open = w
        .engine
        .adjustments(
            &w.scope,
            &mlas_core::AdjustmentFilter {
                open_only: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(open.len(), 1);

    // More earnings: the clawback is netted into the next payout.
    let (_, c4) = w.earn(&a, money("300.00", usd()));
    let third = w.schedule_all("b3");
    assert_eq!(third.payouts.len(), 1);
    let payout = &third.payouts[0];
    assert_eq!(payout.amount, money("25.00", usd()));
    assert_eq!(payout.commissions, vec![c3.clone(), c4.clone()]);
    assert_eq!(payout.adjustments, vec![open[0].id.clone()]);
    w.process("b3", &provider);
    assert_eq!(provider.total_paid(usd()), money("55.00", usd()));
    assert!(w.engine.balance(&w.scope, &a).unwrap().is_empty());
    let settled = w
        .engine
        .adjustments(&w.scope, &mlas_core::AdjustmentFilter::default())
        .unwrap();
    assert_eq!(settled[0].payout.as_ref(), Some(&payout.id));
    w.audit_len();
}

#[test]
fn minimum_threshold_per_currency() {
    let mut config = EngineConfig::default();
    config
        .min_payout
        .insert(usd(), Decimal::from_str("20.00").unwrap());
    let mut w = world_with(config);
    let small = w.affiliate("aff-small");
    let big = w.affiliate("aff-big");
    let (_, c_small) = w.earn(&small, money("100.00", usd()));
    let (_, c_big) = w.earn(&big, money("250.00", usd()));
    let (_, c_eur) = w.earn(&small, money("10.00", eur()));

    let outcome = w.schedule_all("b1");
    let amounts: BTreeMap<_, _> = outcome
        .payouts
        .iter()
        .map(|p| (p.affiliate.to_string(), p.amount))
        .collect();
    // EUR has no configured minimum: one cent is enough.
    assert_eq!(
        amounts,
        BTreeMap::from([
            ("aff-big".to_owned(), money("25.00", usd())),
            ("aff-small".to_owned(), money("1.00", eur())),
        ])
    );
    assert_eq!(outcome.held.len(), 1);
    assert_eq!(outcome.held[0].affiliate, small);
    assert_eq!(outcome.held[0].reason, HoldReason::BelowMinimum);
    assert_eq!(w.status(&c_small), CommissionStatus::Approved);
    assert_eq!(w.status(&c_big), CommissionStatus::Scheduled);
    assert_eq!(w.status(&c_eur), CommissionStatus::Scheduled);
}

#[test]
fn inactive_affiliates_and_missing_details_are_held() {
    let mut w = world();
    let suspended = w.affiliate("aff-s");
    let (_, c_s) = w.earn(&suspended, money("100.00", usd()));
    w.engine
        .set_affiliate_status(&w.scope, &suspended, AffiliateStatus::Suspended, "review")
        .unwrap();
    let bare = w.affiliate("aff-bare");
    let (_, c_b) = w.earn(&bare, money("100.00", usd()));
    w.engine
        .update_affiliate(
            &w.scope,
            &bare,
            AffiliateUpdate {
                payout: Some(None),
                ..Default::default()
            },
        )
        .unwrap();

    let outcome = w.schedule_all("b1");
    assert!(outcome.payouts.is_empty());
    let reasons: BTreeSet<_> = outcome
        .held
        .iter()
        .map(|h| (h.affiliate.to_string(), h.reason))
        .collect();
    assert_eq!(
        reasons,
        BTreeSet::from([
            ("aff-s".to_owned(), HoldReason::AffiliateNotActive),
            ("aff-bare".to_owned(), HoldReason::NoPayoutDetails),
        ])
    );
    assert_eq!(w.status(&c_s), CommissionStatus::Approved);
    assert_eq!(w.status(&c_b), CommissionStatus::Approved);

    // A replay reads the held list back from the audit record.
    let again = w.schedule_all("b1");
    assert!(again.replayed);
    assert_eq!(again.held, outcome.held);
}

#[test]
fn scheduling_is_idempotent_and_conflicts_on_a_different_request() {
    let mut w = world();
    let a = w.affiliate("aff-a");
    let (_, c1) = w.earn(&a, money("100.00", usd()));
    let (_, c2) = w.earn(&a, money("100.00", usd()));
    let request = ScheduleRequest {
        batch: BatchId::new("batch-123").unwrap(),
        scheduled_for: t0() + TimeDelta::days(5),
        selection: CommissionSelection::Ids(vec![c2.clone(), c1.clone()]),
    };
    let first = w
        .engine
        .schedule_payouts(&w.scope, request.clone())
        .unwrap();
    assert!(!first.replayed);
    let head = w.audit_len();

    // The same request (ids in another order) replays without writing.
    let mut same = request.clone();
    same.selection = CommissionSelection::Ids(vec![c1.clone(), c2.clone(), c1.clone()]);
    let second = w.engine.schedule_payouts(&w.scope, same).unwrap();
    assert!(second.replayed);
    assert_eq!(second.batch, first.batch);
    assert_eq!(second.payouts, first.payouts);
    assert_eq!(w.audit_len(), head);

    let mut other = request.clone();
    other.scheduled_for = t0() + TimeDelta::days(6);
    let err = w.engine.schedule_payouts(&w.scope, other).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let mut other = request;
    other.selection = CommissionSelection::AllApproved;
    let err = w.engine.schedule_payouts(&w.scope, other).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(w.audit_len(), head);
}

#[test]
fn explicit_ids_must_all_be_approved_or_nothing_changes() {
    let mut w = world();
    let a = w.affiliate("aff-a");
    let (_, approved) = w.earn(&a, money("100.00", usd()));
    let (_, scheduled) = w.earn(&a, money("100.00", usd()));
    w.engine
        .schedule_payouts(
            &w.scope,
            ScheduleRequest {
                batch: BatchId::new("b0").unwrap(),
                scheduled_for: t0(),
                selection: CommissionSelection::Ids(vec![scheduled.clone()]),
            },
        )
        .unwrap();
    let head = w.audit_len();

    let request = |ids: Vec<CommissionId>, batch: &str| ScheduleRequest {
        batch: BatchId::new(batch).unwrap(),
        scheduled_for: t0(),
        selection: CommissionSelection::Ids(ids),
    };
    // Already in a live payout: never in two.
    let err = w
        .engine
        .schedule_payouts(&w.scope, request(vec![approved.clone(), scheduled], "b1"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalTransition);
    let err = w
        .engine
        .schedule_payouts(
            &w.scope,
            request(
                vec![approved.clone(), CommissionId::new("com-nope").unwrap()],
                "b1",
            ),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = w
        .engine
        .schedule_payouts(&w.scope, request(vec![], "b1"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(w.status(&approved), CommissionStatus::Approved);
    assert!(
        w.engine
            .batch(&w.scope, &BatchId::new("b1").unwrap())
            .is_err()
    );
    assert_eq!(w.audit_len(), head);
}

#[test]
fn not_processed_before_its_date_unless_forced() {
    let mut w = world();
    let a = w.affiliate("aff-a");
    w.earn(&a, money("100.00", usd()));
    w.engine
        .schedule_payouts(
            &w.scope,
            ScheduleRequest {
                batch: BatchId::new("b1").unwrap(),
                scheduled_for: t0() + TimeDelta::days(5),
                selection: CommissionSelection::AllApproved,
            },
        )
        .unwrap();
    let provider = SimulatedProvider::new();
    let batch = BatchId::new("b1").unwrap();
    let err = w
        .engine
        .process_batch(&w.scope, &batch, &provider, false)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalTransition);
    assert_eq!(
        w.engine.batch(&w.scope, &batch).unwrap().status,
        BatchStatus::Scheduled
    );

    let forced = w
        .engine
        .process_batch(&w.scope, &batch, &provider, true)
        .unwrap();
    assert_eq!(forced.batch.status, BatchStatus::Completed);

    // Another batch, processed once its date has come.
    let (_, _) = w.earn(&a, money("100.00", usd()));
    w.engine
        .schedule_payouts(
            &w.scope,
            ScheduleRequest {
                batch: BatchId::new("b2").unwrap(),
                scheduled_for: t0() + TimeDelta::days(5),
                selection: CommissionSelection::AllApproved,
            },
        )
        .unwrap();
    w.clock.advance(TimeDelta::days(5));
    assert_eq!(
        w.process("b2", &provider).batch.status,
        BatchStatus::Completed
    );
}

#[test]
fn failed_payout_is_retried_with_the_current_details() {
    let mut w = world();
    let a = w.affiliate("aff-a");
    let (_, c1) = w.earn(&a, money("100.00", usd()));
    let outcome = w.schedule_all("b1");
    let key = outcome.payouts[0].id.clone();
    let provider = SimulatedProvider::new();
    provider.fail_payout(&key, 1, "account closed", false);

    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Failed);
    let failed = w.engine.failed_payouts(&w.scope).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].failure_reason.as_deref(), Some("account closed"));
    assert!(!failed[0].retryable);
    assert_eq!(w.status(&c1), CommissionStatus::Scheduled);

    // Processing a finished batch again writes nothing.
    let head = w.audit_len();
    assert_eq!(w.process("b1", &provider).batch.status, BatchStatus::Failed);
    assert_eq!(w.audit_len(), head);

    let new_details = PayoutDetails::paypal("new-a@example.com").unwrap();
    w.engine
        .update_affiliate(
            &w.scope,
            &a,
            AffiliateUpdate {
                payout: Some(Some(new_details.clone())),
                ..Default::default()
            },
        )
        .unwrap();
    let paid = w.engine.retry_payout(&w.scope, &key, &provider).unwrap();
    assert_eq!(paid.status, PayoutStatus::Paid);
    assert_eq!(paid.attempts, 2);
    assert_eq!(
        provider.last_instruction(&key).unwrap().details,
        new_details
    );
    assert_eq!(w.status(&c1), CommissionStatus::Paid);
    let stats = w
        .engine
        .batch_stats(&w.scope, &BatchId::new("b1").unwrap())
        .unwrap();
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    assert_eq!(stats.attempts, 2);
    assert_eq!(provider.payments(&key), 1);
    w.audit_len();
}

#[test]
fn retries_stop_at_the_attempt_limit_and_cancel_returns_the_commissions() {
    let config = EngineConfig {
        max_payout_attempts: 2,
        ..Default::default()
    };
    let mut w = world_with(config);
    let a = w.affiliate("aff-a");
    let (sale, c1) = w.earn(&a, money("100.00", usd()));
    // A refund while scheduled leaves a clawback open; it is not in this payout.
    let outcome = w.schedule_all("b1");
    let key = outcome.payouts[0].id.clone();
    let provider = SimulatedProvider::new();
    provider.fail_payout(&key, 5, "bank offline", true);

    w.process("b1", &provider);
    let retried = w.engine.retry_payout(&w.scope, &key, &provider).unwrap();
    assert_eq!(retried.status, PayoutStatus::Failed);
    assert_eq!(retried.attempts, 2);
    let err = w
        .engine
        .retry_payout(&w.scope, &key, &provider)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalTransition);
    assert_eq!(provider.calls(&key), 2);

    w.refund(&sale, money("50.00", usd()), "r1");
    let cancelled = w.engine.cancel_payout(&w.scope, &key, "bank gone").unwrap();
    assert_eq!(cancelled.status, PayoutStatus::Cancelled);
    let commission = w.engine.commission(&w.scope, &c1).unwrap();
    assert_eq!(commission.status, CommissionStatus::Approved);
    assert_eq!(commission.payout, None);
    // The batch had nothing else: with its one payout cancelled it is complete.
    let stats = w
        .engine
        .batch_stats(&w.scope, &BatchId::new("b1").unwrap())
        .unwrap();
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    let err = w
        .engine
        .retry_payout(&w.scope, &key, &provider)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalTransition);

    // Rescheduled: 10.00 less the 5.00 clawback.
    let again = w.schedule_all("b2");
    assert_eq!(again.payouts[0].amount, money("5.00", usd()));
    w.process("b2", &SimulatedProvider::new());
    assert_eq!(w.status(&c1), CommissionStatus::Paid);
}

fn three_payouts(w: &mut World) -> Vec<PayoutId> {
    for name in ["aff-1", "aff-2", "aff-3"] {
        let a = w.affiliate(name);
        w.earn(&a, money("100.00", usd()));
    }
    let outcome = w.schedule_all("b1");
    outcome.payouts.iter().map(|p| p.id.clone()).collect()
}

#[test]
fn a_provider_panic_mid_batch_is_contained_and_reconciled() {
    let mut w = world();
    let keys = three_payouts(&mut w);
    let provider = SimulatedProvider::new();
    provider.script(&keys[1], [SimulatedStep::Panic]);

    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Processing);
    assert_eq!(stats.unresolved, 1);
    assert_eq!(stats.count(PayoutStatus::Paid), 2);
    let stuck = w.engine.payout(&w.scope, &keys[1]).unwrap();
    assert_eq!(stuck.status, PayoutStatus::Sending);

    // The provider never got it: reconciliation sends it again.
    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    assert_eq!(provider.status_calls(&keys[1]), 1);
    assert_eq!(provider.calls(&keys[1]), 2);
    for key in &keys {
        assert_eq!(provider.payments(key), 1);
    }
    assert_eq!(
        stats.total(PayoutStatus::Paid, usd()),
        (3, money("30.00", usd()))
    );
    w.audit_len();
}

#[test]
fn unknown_outcomes_are_reconciled_before_any_resend() {
    for step in [SimulatedStep::PaidButUnknown, SimulatedStep::PaidThenPanic] {
        let mut w = world();
        let keys = three_payouts(&mut w);
        let provider = SimulatedProvider::new();
        provider.script(&keys[0], [step.clone()]);

        let stats = w.process("b1", &provider);
        assert_eq!(stats.unresolved, 1, "{step:?}");
        let stats = w.process("b1", &provider);
        assert_eq!(stats.batch.status, BatchStatus::Completed);
        // Paid once, asked once, never sent again.
        assert_eq!(provider.calls(&keys[0]), 1);
        assert_eq!(provider.payments(&keys[0]), 1);
        assert_eq!(provider.duplicate_sends(&keys[0]), 0);
        let paid = w.engine.payout(&w.scope, &keys[0]).unwrap();
        assert_eq!(paid.status, PayoutStatus::Paid);
        assert_eq!(paid.provider_reference, Some(format!("sim-{}", keys[0])));
        assert_eq!(paid.attempts, 1);
    }
}

#[test]
fn lost_requests_and_a_panicking_status_are_safe() {
    struct StatusPanics(SimulatedProvider);
    impl PayoutProvider for StatusPanics {
        fn send(&self, i: &mlas_core::PayoutInstruction) -> mlas_core::ProviderOutcome {
            self.0.send(i)
        }
        fn status(&self, _: &PayoutId) -> ProviderStatus {
            panic!("status is down")
        }
    }
    let mut w = world();
    let keys = three_payouts(&mut w);
    let provider = StatusPanics(SimulatedProvider::new());
    provider.0.script(&keys[2], [SimulatedStep::Lost]);
    w.process("b1", &provider);
    let stats = w.process("b1", &provider);
    assert_eq!(stats.unresolved, 1);
    assert_eq!(provider.0.calls(&keys[2]), 1);

    let stats = w.process("b1", &provider.0);
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    assert_eq!(provider.0.calls(&keys[2]), 2);
    assert_eq!(provider.0.payments(&keys[2]), 1);
    assert_eq!(w.engine.payout(&w.scope, &keys[2]).unwrap().attempts, 1);
}

#[test]
fn an_affiliate_suspended_after_scheduling_is_not_paid() {
    let mut w = world();
    let keys = three_payouts(&mut w);
    let a2 = AffiliateId::new("aff-2").unwrap();
    w.engine
        .set_affiliate_status(&w.scope, &a2, AffiliateStatus::Suspended, "fraud check")
        .unwrap();
    let provider = SimulatedProvider::new();
    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::PartiallyFailed);
    assert_eq!(provider.calls(&keys[1]), 0);
    let held = w.engine.payout(&w.scope, &keys[1]).unwrap();
    assert_eq!(held.status, PayoutStatus::Failed);
    assert_eq!(held.attempts, 0);
    assert!(held.retryable);
    let err = w
        .engine
        .retry_payout(&w.scope, &keys[1], &provider)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalTransition);
    w.engine
        .set_affiliate_status(&w.scope, &a2, AffiliateStatus::Active, "cleared")
        .unwrap();
    w.engine
        .retry_payout(&w.scope, &keys[1], &provider)
        .unwrap();
    let stats = w
        .engine
        .batch_stats(&w.scope, &BatchId::new("b1").unwrap())
        .unwrap();
    assert_eq!(stats.batch.status, BatchStatus::Completed);
}

#[test]
fn an_affiliate_that_always_fails_fails_the_batch_partially() {
    let mut w = world();
    let keys = three_payouts(&mut w);
    let provider = SimulatedProvider::new();
    provider.fail_affiliate(&AffiliateId::new("aff-3").unwrap(), "blocked account");
    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::PartiallyFailed);
    assert_eq!(
        stats.total(PayoutStatus::Paid, usd()),
        (2, money("20.00", usd()))
    );
    assert_eq!(
        stats.total(PayoutStatus::Failed, usd()),
        (1, money("10.00", usd()))
    );
    assert_eq!(stats.attempts, 3);
    assert!(stats.duration.is_some());
    assert_eq!(provider.payments(&keys[2]), 0);
}

#[test]
fn file_provider_writes_masked_neutralised_rows_once() {
    let dir = std::env::temp_dir().join(format!("mlas-file-provider-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("batch.csv");
    let _ = std::fs::remove_file(&path);

    let mut w = world();
    let mut new = NewAffiliate::new("Formula", "f@example.com", Decimal::TEN);
    new.id = Some(AffiliateId::new("=HYPERLINK(1)").unwrap());
    new.payout =
        Some(PayoutDetails::us_bank("123456789", "021000021", "Bank", "Formula Person").unwrap());
    let a = w.engine.create_affiliate(&w.scope, new).unwrap().id;
    w.earn(&a, money("100.00", usd()));
    let key = w.schedule_all("b1").payouts[0].id.clone();

    let provider = FileProvider::open(&path, FileMode::SubmittedIsPaid).unwrap();
    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        format!(
            "reference,affiliate_id,method,account,amount,currency\n\
             {key},'=HYPERLINK(1),BANK_TRANSFER,****6789,10.00,USD\n"
        )
    );
    assert!(!text.contains("123456789"));

    // Reopened, it knows the key and writes no second row.
    let reopened = FileProvider::open(&path, FileMode::AwaitConfirmation).unwrap();
    assert_eq!(reopened.status(&key), ProviderStatus::Pending);
    reopened.confirm(&key, "bank-77");
    assert_eq!(
        reopened.status(&key),
        ProviderStatus::Paid {
            reference: "bank-77".to_owned()
        }
    );
    assert_eq!(
        reopened.status(&PayoutId::new("pay-other").unwrap()),
        ProviderStatus::NotFound
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn await_confirmation_keeps_the_batch_open_until_confirmed() {
    let dir = std::env::temp_dir().join(format!("mlas-file-await-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("batch.csv");
    let _ = std::fs::remove_file(&path);
    let mut w = world();
    let keys = three_payouts(&mut w);
    let provider = FileProvider::open(&path, FileMode::AwaitConfirmation).unwrap();
    assert_eq!(w.process("b1", &provider).unresolved, 3);
    assert_eq!(w.process("b1", &provider).unresolved, 3);
    for key in &keys {
        provider.confirm(key, &format!("bank-{key}"));
    }
    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    let rows = std::fs::read_to_string(&path).unwrap().lines().count();
    assert_eq!(rows, 4);
    std::fs::remove_dir_all(&dir).unwrap();
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Earn { affiliate: usize, cents: u32 },
        Refund { sale: usize, percent: u8 },
        Schedule,
        Process { fail: Vec<u8> },
        Retry { pick: usize },
        Cancel { pick: usize },
        Suspend { affiliate: usize, on: bool },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0..3usize, 100..50_000u32).prop_map(|(affiliate, cents)| Op::Earn { affiliate, cents }),
            1 => (0..20usize, 1..=100u8).prop_map(|(sale, percent)| Op::Refund { sale, percent }),
            2 => Just(Op::Schedule),
            2 => proptest::collection::vec(0..7u8, 0..6).prop_map(|fail| Op::Process { fail }),
            1 => (0..10usize).prop_map(|pick| Op::Retry { pick }),
            1 => (0..10usize).prop_map(|pick| Op::Cancel { pick }),
            1 => (0..3usize, any::<bool>()).prop_map(|(affiliate, on)| Op::Suspend { affiliate, on }),
        ]
    }

    fn step(kind: u8) -> SimulatedStep {
        match kind {
            0 | 1 => SimulatedStep::Fail {
                reason: "declined".to_owned(),
                retryable: kind == 0,
            },
            2 => SimulatedStep::Lost,
            3 => SimulatedStep::PaidButUnknown,
            4 => SimulatedStep::Panic,
            5 => SimulatedStep::PaidThenPanic,
            _ => SimulatedStep::Fail {
                reason: "later".to_owned(),
                retryable: true,
            },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn money_is_paid_exactly_once(ops in proptest::collection::vec(op(), 1..40)) {
            run(&ops)?;
        }
    }

    fn run(ops: &[Op]) -> Result<(), TestCaseError> {
        let mut w = world();
        let affiliates: Vec<_> = (0..3).map(|i| w.affiliate(&format!("aff-{i}"))).collect();
        let provider = SimulatedProvider::new();
        let mut sales = Vec::new();
        let mut batches = 0;
        for op in ops {
            match op {
                Op::Earn { affiliate, cents } => {
                    let a = &affiliates[*affiliate];
                    if w.engine.affiliate(&w.scope, a).unwrap().status == AffiliateStatus::Active {
                        let (sale, _) = w.earn(a, Money::from_minor(i64::from(*cents), usd()));
                        sales.push((sale, i64::from(*cents)));
                    }
                }
                Op::Refund { sale, percent } => {
                    if let Some((id, left)) = sales.get_mut(*sale) {
                        let amount = *left * i64::from(*percent) / 100;
                        if amount > 0 {
                            *left -= amount;
                            let key = format!("r-{}-{}", id, *left);
                            w.refund(id, Money::from_minor(amount, usd()), &key);
                        }
                    }
                }
                Op::Schedule => {
                    batches += 1;
                    w.schedule_all(&format!("b{batches}"));
                }
                Op::Process { fail } => {
                    let pending = w
                        .engine
                        .payouts(
                            &w.scope,
                            &mlas_core::PayoutFilter {
                                status: Some(PayoutStatus::Pending),
                                ..Default::default()
                            },
                        )
                        .unwrap();
                    for (payout, kind) in pending.iter().zip(fail) {
                        provider.script(&payout.id, [step(*kind)]);
                    }
                    for b in 1..=batches {
                        w.process(&format!("b{b}"), &provider);
                    }
                }
                Op::Retry { pick } => {
                    let failed = w.engine.failed_payouts(&w.scope).unwrap();
                    if let Some(p) = failed.get(*pick % failed.len().max(1)) {
                        let _ = w.engine.retry_payout(&w.scope, &p.id, &provider);
                    }
                }
                Op::Cancel { pick } => {
                    let failed = w.engine.failed_payouts(&w.scope).unwrap();
                    if let Some(p) = failed.get(*pick % failed.len().max(1)) {
                        w.engine.cancel_payout(&w.scope, &p.id, "given up").unwrap();
                    }
                }
                Op::Suspend { affiliate, on } => {
                    let status = if *on {
                        AffiliateStatus::Suspended
                    } else {
                        AffiliateStatus::Active
                    };
                    let _ = w.engine.set_affiliate_status(
                        &w.scope,
                        &affiliates[*affiliate],
                        status,
                        "ops",
                    );
                }
            }
            check(&w, &provider)?;
        }
        // Drain: whatever is unknown gets reconciled, and the invariants still hold.
        for b in 1..=batches {
            w.process(&format!("b{b}"), &provider);
            w.process(&format!("b{b}"), &provider);
        }
        check(&w, &provider)?;
        let sending = w
            .engine
            .payouts(
                &w.scope,
                &mlas_core::PayoutFilter {
                    status: Some(PayoutStatus::Sending),
                    ..Default::default()
                },
            )
            .unwrap();
        prop_assert!(sending.is_empty());
        w.audit_len();
        Ok(())
    }

    fn check(w: &World, provider: &SimulatedProvider) -> Result<(), TestCaseError> {
        let payouts = w
            .engine
            .payouts(&w.scope, &mlas_core::PayoutFilter::default())
            .unwrap();
        let commissions = w
            .engine
            .commissions(&w.scope, &mlas_core::CommissionFilter::default())
            .unwrap();
        let adjustments = w
            .engine
            .adjustments(&w.scope, &mlas_core::AdjustmentFilter::default())
            .unwrap();

        // No key paid twice, and the provider's ledger is the store's PAID payouts
        // (plus any whose payment is not yet known to the store: SENDING).
        let paid_by_provider = provider.paid_all();
        for payout in &payouts {
            prop_assert!(provider.payments(&payout.id) <= 1);
            // The engine reconciles before it resends: it never leans on the
            // provider's idempotency to avoid paying twice.
            prop_assert_eq!(provider.duplicate_sends(&payout.id), 0);
            match payout.status {
                PayoutStatus::Paid => {
                    prop_assert_eq!(paid_by_provider.get(&payout.id), Some(&payout.amount));
                }
                PayoutStatus::Sending => {}
                _ => prop_assert!(!paid_by_provider.contains_key(&payout.id)),
            }
        }

        // A commission is in at most one live payout, and it points back to it.
        let mut seen = BTreeSet::new();
        for payout in payouts.iter().filter(|p| p.status.is_live()) {
            let mut sum = 0i64;
            for id in &payout.commissions {
                prop_assert!(seen.insert(id.clone()), "commission {} in two payouts", id);
                let c = commissions.iter().find(|c| &c.id == id).unwrap();
                prop_assert_eq!(c.payout.as_ref(), Some(&payout.id));
                let expected = if payout.status == PayoutStatus::Paid {
                    CommissionStatus::Paid
                } else {
                    CommissionStatus::Scheduled
                };
                prop_assert_eq!(c.status, expected);
                sum += c.amount.minor();
            }
            for id in &payout.adjustments {
                let a = adjustments.iter().find(|a| &a.id == id).unwrap();
                prop_assert_eq!(a.payout.as_ref(), Some(&payout.id));
                sum += a.amount.minor();
            }
            prop_assert_eq!(sum, payout.amount.minor());
        }
        for c in &commissions {
            if matches!(
                c.status,
                CommissionStatus::Scheduled | CommissionStatus::Paid
            ) {
                prop_assert!(seen.contains(&c.id));
            } else {
                prop_assert!(c.payout.is_none());
            }
        }

        // Paid money = PAID commissions + adjustments settled in PAID payouts.
        let paid_total: i64 = payouts
            .iter()
            .filter(|p| p.status == PayoutStatus::Paid)
            .map(|p| p.amount.minor())
            .sum();
        let paid_ids: BTreeSet<_> = payouts
            .iter()
            .filter(|p| p.status == PayoutStatus::Paid)
            .map(|p| p.id.clone())
            .collect();
        let commission_total: i64 = commissions
            .iter()
            .filter(|c| c.status == CommissionStatus::Paid)
            .map(|c| c.amount.minor())
            .sum();
        let adjustment_total: i64 = adjustments
            .iter()
            .filter(|a| a.payout.as_ref().is_some_and(|p| paid_ids.contains(p)))
            .map(|a| a.amount.minor())
            .sum();
        prop_assert_eq!(paid_total, commission_total + adjustment_total);
        Ok(())
    }
}

#[test]
fn a_slow_provider_never_outlives_the_lease_of_a_wave() {
    /// Takes three minutes a send: past half the five-minute lease after one.
    struct Slow<'a>(SimulatedProvider, &'a FixedClock);
    impl PayoutProvider for Slow<'_> {
        fn send(&self, i: &mlas_core::PayoutInstruction) -> mlas_core::ProviderOutcome {
            self.1.advance(TimeDelta::minutes(3));
            self.0.send(i)
        }
        fn status(&self, id: &PayoutId) -> ProviderStatus {
            self.0.status(id)
        }
    }
    let mut w = world();
    let keys = three_payouts(&mut w);
    let provider = Slow(SimulatedProvider::new(), &w.clock);

    let stats = w.process("b1", &provider);
    assert_eq!(stats.batch.status, BatchStatus::Completed);
    for key in &keys {
        let payout = w.engine.payout(&w.scope, key).unwrap();
        assert_eq!(payout.status, PayoutStatus::Paid);
        assert_eq!(
            payout.attempts, 1,
            "an unsent payout's attempt is taken back"
        );
        assert_eq!(provider.0.calls(key), 1);
        assert_eq!(provider.0.payments(key), 1);
    }

    // Each wave sent one payout and put the rest back: 2 + 1 of them.
    let unsent = w
        .engine
        .audit_records(
            &w.scope,
            &mlas_core::AuditQuery {
                kind: Some("payout.unsent".to_owned()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(unsent.records.len(), 3);
    assert!(
        unsent
            .records
            .iter()
            .all(|r| r.payload["to"] == "PENDING" && r.payload["attempts"] == "0")
    );
    w.audit_len();
}

#[test]
fn a_wave_of_one_sends_each_payout_between_its_own_two_commits() {
    let mut w = world_with(EngineConfig {
        payout_wave: 1,
        ..EngineConfig::default()
    });
    let keys = three_payouts(&mut w);
    let stats = w.process("b1", &SimulatedProvider::new());
    assert_eq!(stats.count(PayoutStatus::Paid), 3);

    // sending, paid, sending, paid, ...: never two payouts SENDING at once.
    let expected: Vec<String> = keys
        .iter()
        .flat_map(|k| [format!("payout.sending {k}"), format!("payout.paid {k}")])
        .collect();
    assert_eq!(sends_and_payments(&w), expected);
}

/// The `payout.sending` and `payout.paid` records, in chain order, as
/// "<kind> <payout id>".
fn sends_and_payments(w: &World) -> Vec<String> {
    w.engine
        .audit_records(&w.scope, &mlas_core::AuditQuery::default())
        .unwrap()
        .records
        .into_iter()
        .filter(|r| r.kind == "payout.sending" || r.kind == "payout.paid")
        .map(|r| format!("{} {}", r.kind, r.resource_id))
        .collect()
}

#[test]
fn a_wave_of_several_marks_them_all_before_sending_any() {
    let mut w = world();
    let keys = three_payouts(&mut w);
    w.process("b1", &SimulatedProvider::new());
    let expected: Vec<String> = ["payout.sending", "payout.paid"]
        .iter()
        .flat_map(|kind| keys.iter().map(move |k| format!("{kind} {k}")))
        .collect();
    assert_eq!(sends_and_payments(&w), expected);
}
