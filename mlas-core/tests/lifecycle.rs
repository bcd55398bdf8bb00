//! The commission lifecycle, refunds, recalculation, tenancy and the sponsor tree.

#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod common;

use chrono::TimeDelta;
use common::*;
use mlas_core::engine::Resolution;
use mlas_core::store::AdjustmentFilter;
use mlas_core::{
    AffiliateStatus, CommissionStatus, ErrorKind, NewAffiliate, NewRefund, PayoutDetails, RefundId,
    RuleSpec, Scope,
};

fn refund(id: &str, sale: &str, amount: mlas_core::Money) -> NewRefund {
    NewRefund {
        id: RefundId::new(id).unwrap(),
        sale: mlas_core::SaleId::new(sale).unwrap(),
        amount,
        reason: "customer returned it".into(),
    }
}

#[test]
fn approval_waits_for_the_holding_period() {
    let (engine, clock) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "0");
    let mut spec = RuleSpec::percentages("held", &[dec("10")]);
    spec.holding_days = 30;
    engine.create_rule(&scope, None, spec).unwrap();
    let c = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap()
        .commissions[0]
        .clone();

    let early = engine.approve(&scope, &c.id).unwrap_err();
    assert_eq!(early.kind(), ErrorKind::IllegalTransition);
    assert_eq!(
        engine.commission(&scope, &c.id).unwrap().status,
        CommissionStatus::Pending
    );

    clock.advance(TimeDelta::days(30));
    assert_eq!(
        engine.approve(&scope, &c.id).unwrap().status,
        CommissionStatus::Approved
    );
    assert_eq!(
        engine.approve(&scope, &c.id).unwrap_err().kind(),
        ErrorKind::IllegalTransition
    );
}

#[test]
fn disputes_resolve_to_approved_or_rejected_and_illegal_moves_change_nothing() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "0");
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("r", &[dec("10"), dec("5")]),
        )
        .unwrap();
    let cs = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap()
        .commissions;

    engine
        .dispute(&scope, &cs[0].id, "customer says no")
        .unwrap();
    assert_eq!(
        engine.approve(&scope, &cs[0].id).unwrap_err().kind(),
        ErrorKind::IllegalTransition
    );
    let before = engine.audit_records_len(&scope);
    assert_eq!(
        engine
            .dispute(&scope, &cs[0].id, "again")
            .unwrap_err()
            .kind(),
        ErrorKind::IllegalTransition
    );
    assert_eq!(engine.audit_records_len(&scope), before);
    let resolved = engine
        .resolve(&scope, &cs[0].id, Resolution::Approve, "checked")
        .unwrap();
    assert_eq!(resolved.status, CommissionStatus::Approved);

    engine.dispute(&scope, &cs[1].id, "fraud").unwrap();
    let rejected = engine
        .resolve(&scope, &cs[1].id, Resolution::Reject, "fraud confirmed")
        .unwrap();
    assert_eq!(rejected.status, CommissionStatus::Rejected);
    assert_eq!(rejected.status_reason.as_deref(), Some("fraud confirmed"));
    assert_eq!(
        engine
            .resolve(&scope, &cs[1].id, Resolution::Approve, "x")
            .unwrap_err()
            .kind(),
        ErrorKind::IllegalTransition
    );
    assert_eq!(
        engine.reject(&scope, &cs[0].id, "").unwrap_err().kind(),
        ErrorKind::Validation
    );
}

#[test]
fn partial_then_full_refund_reverses_pro_rata_down_to_zero() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c"], "0");
    let third = dec("33.3333");
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("thirds", &[third, third, third]),
        )
        .unwrap();
    engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap();

    let (first, replayed) = engine
        .refund(&scope, refund("r1", "s1", money("30.00", "USD")))
        .unwrap();
    assert!(!replayed);
    let taken: Vec<_> = first
        .reversals
        .iter()
        .map(|r| r.amount.amount().to_string())
        .collect();
    // 30% of 33.34 / 33.33 / 33.33 = 10.002 / 9.999 / 9.999: T = 30.00.
    assert_eq!(taken, ["10.00", "10.00", "10.00"]);

    let (again, replayed) = engine
        .refund(&scope, refund("r1", "s1", money("30.00", "USD")))
        .unwrap();
    assert!(replayed);
    assert_eq!(again, first);
    assert_eq!(
        engine
            .refund(&scope, refund("r1", "s1", money("31.00", "USD")))
            .unwrap_err()
            .kind(),
        ErrorKind::Conflict
    );
    assert_eq!(
        engine
            .refund(&scope, refund("r2", "s1", money("70.01", "USD")))
            .unwrap_err()
            .kind(),
        ErrorKind::Validation
    );

    engine
        .refund(&scope, refund("r2", "s1", money("70.00", "USD")))
        .unwrap();
    let all = engine.commissions(&scope, &Default::default()).unwrap();
    assert!(
        all.iter()
            .all(|c| c.amount.is_zero() && c.status == CommissionStatus::Reversed)
    );
    assert_eq!(
        engine
            .sale(&scope, &mlas_core::SaleId::new("s1").unwrap())
            .unwrap()
            .refunded,
        money("100.00", "USD")
    );
}

#[test]
fn refunds_of_scheduled_or_paid_commissions_become_clawbacks() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "10");
    let c = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap()
        .commissions[0]
        .clone();
    // Mark it paid directly through the store, as a payout would.
    engine
        .store()
        .write(&mut |tx| {
            let mut paid = tx.commission(scope.tenant(), &c.id)?.unwrap();
            paid.status = CommissionStatus::Paid;
            tx.put_commission(&paid)
        })
        .unwrap();

    let (r, _) = engine
        .refund(&scope, refund("r1", "s1", money("100.00", "USD")))
        .unwrap();
    assert!(r.reversals[0].adjustment.is_some());
    let after = engine.commission(&scope, &c.id).unwrap();
    assert_eq!(after.status, CommissionStatus::Paid);
    assert_eq!(after.amount.to_string(), "10.00 USD");
    let adjustments = engine
        .adjustments(&scope, &AdjustmentFilter::default())
        .unwrap();
    assert_eq!(adjustments.len(), 1);
    assert_eq!(adjustments[0].amount.to_string(), "-10.00 USD");
    assert_eq!(after.amount.checked_add(after.adjusted).unwrap().minor(), 0);
}

#[test]
fn recalculation_after_a_rule_fix_changes_unpaid_lines_and_corrects_paid_ones() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "0");
    let rule = engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("typo", &[dec("1"), dec("5")]),
        )
        .unwrap();
    let cs = engine
        .record_sale(&scope, sale("s1", money("200.00", "USD"), "a"))
        .unwrap()
        .commissions;
    engine
        .store()
        .write(&mut |tx| {
            let mut paid = tx.commission(scope.tenant(), &cs[1].id)?.unwrap();
            paid.status = CommissionStatus::Paid;
            tx.put_commission(&paid)
        })
        .unwrap();

    engine
        .update_rule(
            &scope,
            &rule.id,
            RuleSpec::percentages("fixed", &[dec("10"), dec("4")]),
        )
        .unwrap();
    let outcome = engine
        .recalculate(&scope, &mlas_core::SaleId::new("s1").unwrap())
        .unwrap();

    assert!(outcome.changed);
    assert_eq!(outcome.commissions[0].amount.to_string(), "20.00 USD");
    assert_eq!(outcome.commissions[0].rule_version, Some(2));
    assert_eq!(outcome.adjustments.len(), 1);
    assert_eq!(outcome.adjustments[0].amount.to_string(), "-2.00 USD");
    let again = engine
        .recalculate(&scope, &mlas_core::SaleId::new("s1").unwrap())
        .unwrap();
    assert!(!again.changed);
}

#[test]
fn another_tenants_objects_are_not_found() {
    let (engine, _) = engine();
    let ours = scope();
    let theirs = Scope::new("org-999", "them").unwrap();
    line_of(&engine, &ours, &["a"], "10");
    let c = engine
        .record_sale(&ours, sale("s1", money("10.00", "USD"), "a"))
        .unwrap()
        .commissions[0]
        .clone();

    assert_eq!(
        engine.affiliate(&theirs, &aid("a")).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        engine.commission(&theirs, &c.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        engine.approve(&theirs, &c.id).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        engine
            .record_sale(&theirs, sale("s1", money("10.00", "USD"), "a"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let err = engine.commission(&theirs, &c.id).unwrap_err().to_string();
    let missing = engine
        .commission(&theirs, &mlas_core::CommissionId::new("com_nope").unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err.replace(c.id.as_str(), "X"),
        missing.replace("com_nope", "X")
    );
    // The same sale id is free in the other tenant.
    line_of(&engine, &theirs, &["a"], "10");
    assert!(
        !engine
            .record_sale(&theirs, sale("s1", money("10.00", "USD"), "a"))
            .unwrap()
            .replayed
    );
}

#[test]
fn sponsor_cycles_of_any_length_are_rejected() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c"], "0"); // a -> b -> c
    for (who, sponsor) in [("c", "a"), ("c", "b"), ("b", "a"), ("a", "a")] {
        let err = engine
            .set_sponsor(&scope, &aid(who), Some(&aid(sponsor)))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Validation, "{who} <- {sponsor}");
        assert!(err.to_string().contains("cycle"));
    }
    assert_eq!(
        engine.upline(&scope, &aid("a")).unwrap(),
        vec![aid("a"), aid("b"), aid("c")]
    );
    engine.set_sponsor(&scope, &aid("a"), None).unwrap();
    engine
        .set_sponsor(&scope, &aid("c"), Some(&aid("a")))
        .unwrap();
    assert_eq!(
        engine.upline(&scope, &aid("b")).unwrap(),
        vec![aid("b"), aid("c"), aid("a")]
    );
}

#[test]
fn account_numbers_are_masked_in_debug_errors_and_audit() {
    let (engine, _) = engine();
    let scope = scope();
    let mut new = NewAffiliate::new("John Affiliate", "john@example.com", dec("10"));
    new.payout = Some(
        PayoutDetails::us_bank("1234567890", "021000021", "Chase Bank", "John Affiliate").unwrap(),
    );
    let a = engine.create_affiliate(&scope, new).unwrap();

    assert!(!format!("{a:?}").contains("1234567890"));
    let mut records = Vec::new();
    engine
        .store()
        .read(&mut |tx| {
            tx.scan_audit(scope.tenant(), 1, &mut |r| {
                records.push(r);
                Ok(true)
            })
        })
        .unwrap();
    let payload = records[0].payload.to_string();
    assert!(
        !payload.contains("1234567890") && payload.contains("7890"),
        "{payload}"
    );
    let err = PayoutDetails::us_bank("1234567890", "021000022", "Chase", "John").unwrap_err();
    assert!(!err.to_string().contains("1234567890"));
    let err = PayoutDetails::iban("GB82WEST12345698765431", None, "Bank", "John").unwrap_err();
    assert!(!err.to_string().contains("12345698765431"));
}

#[test]
fn terminated_affiliates_stay_terminated() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "0");
    engine
        .set_affiliate_status(&scope, &aid("a"), AffiliateStatus::Terminated, "left")
        .unwrap();
    let err = engine
        .set_affiliate_status(&scope, &aid("a"), AffiliateStatus::Active, "back")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::IllegalTransition);
}

#[test]
fn bad_affiliate_input_is_rejected_with_the_value() {
    let (engine, _) = engine();
    let scope = scope();
    let err = engine
        .create_affiliate(&scope, NewAffiliate::new("X", "not-an-email", dec("10")))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let err = engine
        .create_affiliate(
            &scope,
            NewAffiliate::new("X", "x@example.com", dec("100.01")),
        )
        .unwrap_err();
    assert!(err.to_string().contains("100.01"), "{err}");
    let mut orphan = NewAffiliate::new("X", "x@example.com", dec("1"));
    orphan.sponsor = Some(aid("ghost"));
    assert_eq!(
        engine.create_affiliate(&scope, orphan).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(engine.audit_records_len(&scope), 0);
}

#[test]
fn recalculation_keeps_rejections_and_revives_lines_it_zeroed() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c"], "0");
    let rule = engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("r", &[dec("10"), dec("5"), dec("1")]),
        )
        .unwrap();
    let cs = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap()
        .commissions;
    engine.reject(&scope, &cs[1].id, "fraud").unwrap();
    let s1 = mlas_core::SaleId::new("s1").unwrap();

    // One level only: level 3 goes to zero (REVERSED), level 2 stays rejected.
    engine
        .update_rule(&scope, &rule.id, RuleSpec::percentages("r", &[dec("10")]))
        .unwrap();
    let out = engine.recalculate(&scope, &s1).unwrap();
    let statuses: Vec<_> = out.commissions.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [
            CommissionStatus::Pending,
            CommissionStatus::Rejected,
            CommissionStatus::Reversed
        ]
    );

    // Back to three levels: level 3 is PENDING again, level 2 still rejected, nothing new.
    engine
        .update_rule(
            &scope,
            &rule.id,
            RuleSpec::percentages("r", &[dec("10"), dec("5"), dec("1")]),
        )
        .unwrap();
    let out = engine.recalculate(&scope, &s1).unwrap();
    assert_eq!(out.commissions.len(), 3);
    let lines: Vec<_> = out
        .commissions
        .iter()
        .map(|c| (c.status, c.amount.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            (CommissionStatus::Pending, "10.00 USD".to_owned()),
            (CommissionStatus::Rejected, "5.00 USD".to_owned()),
            (CommissionStatus::Pending, "1.00 USD".to_owned()),
        ]
    );
}
