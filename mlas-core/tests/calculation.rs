//! Worked examples of DESIGN.md's commission calculation, written out.

#![allow(clippy::unwrap_used, clippy::default_trait_access)]

mod common;

use common::*;
use mlas_core::rule::{Condition, LevelRate, LevelRule};
use mlas_core::{AffiliateStatus, CommissionStatus, ErrorKind, RuleSpec};

#[test]
fn runbook_sale_pays_ten_and_five_percent() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["aff-123", "aff-456"], "10");
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("two levels", &[dec("10"), dec("5")]),
        )
        .unwrap();

    let mut new = sale("sale-456", money("1000.00", "USD"), "aff-123");
    new.chain = Some(vec![aid("aff-123"), aid("aff-456")]);
    let outcome = engine.record_sale(&scope, new).unwrap();

    let amounts: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| c.amount.to_string())
        .collect();
    assert_eq!(amounts, ["100.00 USD", "50.00 USD"]);
    assert!(
        outcome
            .commissions
            .iter()
            .all(|c| c.status == CommissionStatus::Pending)
    );
    assert_eq!(outcome.commissions[1].affiliate, aid("aff-456"));
    assert_eq!(outcome.commissions[1].chain_level, 2);
}

#[test]
fn a_third_each_of_a_hundred_gives_the_extra_cent_to_level_one() {
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

    let outcome = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap();

    // Exact 33.3333 each, total 99.9999 -> T = 100.00; truncated 33.33 x3 = 99.99;
    // the left-over cent goes to the lowest level among equal remainders.
    let amounts: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| c.amount.amount().to_string())
        .collect();
    assert_eq!(amounts, ["33.34", "33.33", "33.33"]);
    let explanation = engine.explain(&scope, &outcome.sale.id).unwrap();
    assert!(explanation.lines[0].extra_unit);
    assert_eq!(explanation.total.amount().to_string(), "100.00");
    assert!(explanation.to_text().contains("+1 rounding unit"));
}

#[test]
fn yen_has_no_decimals() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "0");
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("jpy", &[dec("7.5"), dec("2.5")]),
        )
        .unwrap();

    let outcome = engine
        .record_sale(&scope, sale("s1", money("999", "JPY"), "a"))
        .unwrap();

    // 74.925 and 24.975, total 99.9 -> T = 100; truncated 74 + 24 = 98; two
    // units left, one each (remainders .975 > .925).
    let amounts: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| c.amount.to_string())
        .collect();
    assert_eq!(amounts, ["75 JPY", "25 JPY"]);
    assert!(
        engine
            .record_sale(&scope, sale("s2", money("1", "JPY"), "a"))
            .is_ok()
    );
    let bad = mlas_core::Money::parse("10.5", mlas_core::Currency::parse("JPY").unwrap(), "amount");
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::Validation);
}

#[test]
fn bahraini_dinar_has_three_decimals() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c"], "0");
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("bhd", &[dec("3.3333"), dec("3.3333"), dec("3.3333")]),
        )
        .unwrap();

    let outcome = engine
        .record_sale(&scope, sale("s1", money("10.001", "BHD"), "a"))
        .unwrap();

    // Exact 0.33336666.. each, total 1.0002 -> T = 1.000; truncated 0.333 x3.
    let amounts: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| c.amount.to_string())
        .collect();
    assert_eq!(amounts, ["0.334 BHD", "0.333 BHD", "0.333 BHD"]);
}

#[test]
fn compression_passes_a_suspended_middle_level_up() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c", "d"], "0");
    engine
        .set_affiliate_status(
            &scope,
            &aid("b"),
            AffiliateStatus::Suspended,
            "fraud review",
        )
        .unwrap();
    let mut spec = RuleSpec::percentages("compressed", &[dec("10"), dec("5"), dec("2")]);
    spec.compression = true;
    engine.create_rule(&scope, None, spec).unwrap();

    let outcome = engine
        .record_sale(&scope, sale("s1", money("200.00", "USD"), "a"))
        .unwrap();

    let lines: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| {
            (
                c.affiliate.to_string(),
                c.chain_level,
                c.paid_level,
                c.amount.to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("a".to_owned(), 1, 1, "20.00 USD".to_owned()),
            ("c".to_owned(), 3, 2, "10.00 USD".to_owned()),
            ("d".to_owned(), 4, 3, "4.00 USD".to_owned()),
        ]
    );
    let explanation = engine.explain(&scope, &outcome.sale.id).unwrap();
    assert_eq!(explanation.skipped[0].affiliate, aid("b"));
}

#[test]
fn without_compression_the_skipped_share_is_forfeited() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c"], "0");
    engine
        .set_affiliate_status(&scope, &aid("b"), AffiliateStatus::Suspended, "review")
        .unwrap();
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("plain", &[dec("10"), dec("5"), dec("2")]),
        )
        .unwrap();

    let outcome = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap();

    let lines: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| (c.affiliate.to_string(), c.amount.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            ("a".to_owned(), "10.00 USD".to_owned()),
            ("c".to_owned(), "2.00 USD".to_owned())
        ]
    );
}

#[test]
fn default_plan_pays_level_one_its_own_rate() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "12.5");

    let outcome = engine
        .record_sale(&scope, sale("s1", money("80.00", "USD"), "a"))
        .unwrap();

    assert_eq!(outcome.commissions.len(), 1);
    assert_eq!(outcome.commissions[0].amount.to_string(), "10.00 USD");
    assert_eq!(outcome.commissions[0].rule_id, None);
}

#[test]
fn highest_priority_wins_and_ties_go_to_the_older_rule() {
    let (engine, clock) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "0");
    let mut low = RuleSpec::percentages("low", &[dec("1")]);
    low.priority = 1;
    let mut high_old = RuleSpec::percentages("high old", &[dec("2")]);
    high_old.priority = 5;
    let mut high_new = RuleSpec::percentages("high new", &[dec("3")]);
    high_new.priority = 5;
    engine.create_rule(&scope, None, low).unwrap();
    engine.create_rule(&scope, None, high_old).unwrap();
    clock.advance(chrono::TimeDelta::seconds(1));
    engine.create_rule(&scope, None, high_new).unwrap();

    let outcome = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap();
    assert_eq!(outcome.commissions[0].amount.to_string(), "2.00 USD");
}

#[test]
fn conditions_select_rules_by_sale_fields_and_attributes() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "0");
    let mut big = RuleSpec::percentages("big coupon sales", &[dec("20")]);
    big.priority = 10;
    big.conditions = vec![
        Condition::new("amount", "gte", vec!["500".into()]).unwrap(),
        Condition::new("attributes.channel", "in", vec!["web".into(), "app".into()]).unwrap(),
        Condition::new("currency", "eq", vec!["USD".into()]).unwrap(),
        Condition::new("tier", "ne", vec!["bronze".into()]).unwrap(),
    ];
    engine.create_rule(&scope, None, big).unwrap();
    engine
        .create_rule(&scope, None, RuleSpec::percentages("base", &[dec("5")]))
        .unwrap();

    let mut web = sale("s1", money("500.00", "USD"), "a");
    web.attributes.insert("channel".into(), "web".into());
    let mut store = sale("s2", money("500.00", "USD"), "a");
    store.attributes.insert("channel".into(), "store".into());
    let small = {
        let mut s = sale("s3", money("499.99", "USD"), "a");
        s.attributes.insert("channel".into(), "web".into());
        s
    };

    let pay = |s| {
        engine.record_sale(&scope, s).unwrap().commissions[0]
            .amount
            .to_string()
    };
    assert_eq!(pay(web), "100.00 USD");
    assert_eq!(pay(store), "25.00 USD");
    assert_eq!(pay(small), "25.00 USD");
}

#[test]
fn caps_bound_lines_and_the_total_cuts_deepest_first() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b", "c"], "0");
    let mut spec = RuleSpec::percentages("capped", &[dec("10"), dec("10"), dec("10")]);
    spec.levels[0] = LevelRule {
        rate: LevelRate::Percent { percent: dec("10") },
        cap: Some(dec("50")),
    };
    spec.levels[2] = LevelRule {
        rate: LevelRate::Fixed { amount: dec("30") },
        cap: None,
    };
    spec.currency = Some(mlas_core::Currency::parse("USD").unwrap());
    spec.total_cap_percent = Some(dec("15"));
    engine.create_rule(&scope, None, spec).unwrap();

    let outcome = engine
        .record_sale(&scope, sale("s1", money("1000.00", "USD"), "a"))
        .unwrap();

    // Level 1: 100 capped to 50; level 2: 100; level 3: fixed 30. Sum 180, total
    // cap 150: the 30 excess comes off level 3 first (to 0), so level 3 earns nothing.
    let lines: Vec<_> = outcome
        .commissions
        .iter()
        .map(|c| (c.affiliate.to_string(), c.amount.to_string()))
        .collect();
    assert_eq!(
        lines,
        [
            ("a".to_owned(), "50.00 USD".to_owned()),
            ("b".to_owned(), "100.00 USD".to_owned())
        ]
    );
    let explanation = engine.explain(&scope, &outcome.sale.id).unwrap();
    assert_eq!(explanation.lines[0].level_cap_cut, dec("50"));
    assert_eq!(explanation.lines[2].total_cap_cut, dec("30"));
}

#[test]
fn idempotent_replay_returns_the_first_result_and_conflicts_are_errors() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "10");
    let first = engine
        .record_sale(&scope, sale("s1", money("10.00", "USD"), "a"))
        .unwrap();
    let before = engine.audit_records_len(&scope);

    let again = engine
        .record_sale(&scope, sale("s1", money("10.00", "USD"), "a"))
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.commissions, first.commissions);
    assert_eq!(engine.audit_records_len(&scope), before);

    let err = engine
        .record_sale(&scope, sale("s1", money("11.00", "USD"), "a"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = engine
        .record_sale(&scope, sale("s1", money("10.00", "EUR"), "a"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let mut other_chain = sale("s1", money("10.00", "USD"), "a");
    other_chain.chain = Some(vec![aid("a")]);
    assert_eq!(
        engine.record_sale(&scope, other_chain).unwrap_err().kind(),
        ErrorKind::Conflict
    );
}

#[test]
fn bad_chains_and_self_referrals_change_nothing() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a", "b"], "10");
    let before = engine.audit_records_len(&scope);

    let mut twice = sale("s1", money("10.00", "USD"), "a");
    twice.chain = Some(vec![aid("a"), aid("b"), aid("a")]);
    assert_eq!(
        engine.record_sale(&scope, twice).unwrap_err().kind(),
        ErrorKind::Validation
    );

    let mut unknown = sale("s1", money("10.00", "USD"), "a");
    unknown.chain = Some(vec![aid("a"), aid("zzz")]);
    assert_eq!(
        engine.record_sale(&scope, unknown).unwrap_err().kind(),
        ErrorKind::NotFound
    );

    let mut selfish = sale("s1", money("10.00", "USD"), "a");
    selfish.buyer = Some(aid("a"));
    assert_eq!(
        engine.record_sale(&scope, selfish).unwrap_err().kind(),
        ErrorKind::Validation
    );

    let zero = sale("s1", money("0.00", "USD"), "a");
    assert_eq!(
        engine.record_sale(&scope, zero).unwrap_err().kind(),
        ErrorKind::Validation
    );

    assert_eq!(engine.audit_records_len(&scope), before);
    assert_eq!(
        engine
            .sale(&scope, &mlas_core::SaleId::new("s1").unwrap())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn rule_edits_make_versions_and_commissions_keep_theirs() {
    let (engine, _) = engine();
    let scope = scope();
    line_of(&engine, &scope, &["a"], "0");
    let rule = engine
        .create_rule(&scope, None, RuleSpec::percentages("r", &[dec("10")]))
        .unwrap();
    let first = engine
        .record_sale(&scope, sale("s1", money("100.00", "USD"), "a"))
        .unwrap();
    let edited = engine
        .update_rule(&scope, &rule.id, RuleSpec::percentages("r", &[dec("20")]))
        .unwrap();
    assert_eq!(edited.version, 2);
    let second = engine
        .record_sale(&scope, sale("s2", money("100.00", "USD"), "a"))
        .unwrap();

    assert_eq!(first.commissions[0].rule_version, Some(1));
    assert_eq!(second.commissions[0].rule_version, Some(2));
    assert_eq!(second.commissions[0].amount.to_string(), "20.00 USD");
    assert_eq!(
        engine.rule(&scope, &rule.id, Some(1)).unwrap().spec.levels[0],
        LevelRule::percent(dec("10"))
    );
    assert_eq!(engine.rule_versions(&scope, &rule.id).unwrap().len(), 2);
    let c = engine.commission(&scope, &first.commissions[0].id).unwrap();
    assert_eq!(c.amount.to_string(), "10.00 USD");
}
