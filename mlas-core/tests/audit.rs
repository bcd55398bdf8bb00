//! The audit trail end to end on the in-memory store: the kinds a full flow
//! emits, verification, checkpoints, queries, exports, archiving, and the
//! standalone Python verifier run on real exports.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use mlas_core::audit::export::verify_jsonl;
use mlas_core::{
    AffiliateId, AffiliateStatus, AffiliateUpdate, AuditQuery, AuditRange, BreakReason,
    ChainVerifier, Checkpoint, Currency, Decimal, Engine, EngineConfig, FixedClock, Money,
    NewAffiliate, NewRefund, NewSale, PayoutDetails, RefundId, Resolution, RuleSpec, SaleId, Scope,
};
use mlas_core::{BatchId, CommissionSelection, ScheduleRequest, SimulatedProvider};

const ACCOUNT: &str = "98765432101234";
const SECOND_ACCOUNT: &str = "11112222333344";

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::parse("USD").unwrap(), "amount").unwrap()
}

fn engine(key: Option<&[u8]>) -> (Engine, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
    ));
    let config = EngineConfig {
        audit_key: key.map(<[u8]>::to_vec),
        ..EngineConfig::default()
    };
    let engine = Engine::in_memory()
        .with_clock(clock.clone())
        .with_config(config)
        .unwrap();
    (engine, clock)
}

fn scope() -> Scope {
    Scope::new("org-1", "Zoë 😀 ops").unwrap()
}

/// Runs every operation of the library that changes state at least once.
fn full_flow(engine: &Engine, clock: &FixedClock) {
    let s = scope();
    let mut top = NewAffiliate::new("Top", "top@example.com", Decimal::new(10, 0));
    top.payout = Some(PayoutDetails::us_bank(ACCOUNT, "021000021", "Chase", "Top").unwrap());
    let top = engine.create_affiliate(&s, top).unwrap();
    let mut mid = NewAffiliate::new("Mid", "mid@example.com", Decimal::new(5, 0));
    mid.sponsor = Some(top.id.clone());
    let mid = engine.create_affiliate(&s, mid).unwrap();
    let low = engine
        .create_affiliate(
            &s,
            NewAffiliate::new("=Low", "low@example.com", Decimal::ONE),
        )
        .unwrap();
    engine.set_sponsor(&s, &low.id, Some(&mid.id)).unwrap();
    engine
        .update_affiliate(
            &s,
            &top.id,
            AffiliateUpdate {
                tier: Some("gold".into()),
                ..AffiliateUpdate::default()
            },
        )
        .unwrap();

    let rule = engine
        .create_rule(
            &s,
            None,
            RuleSpec::percentages("three levels", &[Decimal::new(10, 0), Decimal::new(5, 0)]),
        )
        .unwrap();

    let sold = clock.now_for_test();
    let sale = |id: &str, amount: &str| {
        engine
            .record_sale(
                &s,
                NewSale::new(SaleId::new(id).unwrap(), usd(amount), sold, low.id.clone()),
            )
            .unwrap()
    };
    let first = sale("sale-1", "100.00");
    let second = sale("sale-2", "50.00");
    let third = sale("sale-3", "80.00");

    engine.approve(&s, &first.commissions[0].id).unwrap();
    engine
        .reject(&s, &first.commissions[1].id, "duplicate order")
        .unwrap();
    engine
        .dispute(&s, &second.commissions[0].id, "customer complained")
        .unwrap();
    engine
        .resolve(
            &s,
            &second.commissions[0].id,
            Resolution::Approve,
            "ok after review",
        )
        .unwrap();
    engine
        .refund(
            &s,
            NewRefund {
                id: RefundId::new("refund-1").unwrap(),
                sale: third.sale.id.clone(),
                amount: usd("80.00"),
                reason: "returned, 100% 🙁".into(),
            },
        )
        .unwrap();
    engine
        .update_rule(
            &s,
            &rule.id,
            RuleSpec::percentages("richer", &[Decimal::new(12, 0), Decimal::new(6, 0)]),
        )
        .unwrap();
    engine.recalculate(&s, &second.sale.id).unwrap();
    engine
        .set_affiliate_status(&s, &mid.id, AffiliateStatus::Suspended, "review")
        .unwrap();

    // Payouts: a failed send, a retry, a clawback after payment, a cancellation.
    engine
        .update_affiliate(
            &s,
            &low.id,
            AffiliateUpdate {
                payout: Some(Some(
                    PayoutDetails::us_bank(SECOND_ACCOUNT, "021000021", "Chase", "Low").unwrap(),
                )),
                ..AffiliateUpdate::default()
            },
        )
        .unwrap();
    engine.approve_available(&s).unwrap();
    let provider = SimulatedProvider::new();
    let batch = engine
        .schedule_payouts(
            &s,
            ScheduleRequest {
                batch: BatchId::new("batch-1").unwrap(),
                scheduled_for: sold,
                selection: CommissionSelection::AllApproved,
            },
        )
        .unwrap();
    let payout = batch.payouts[0].id.clone();
    provider.fail_payout(&payout, 1, "bank =down", true);
    engine
        .process_batch(&s, &batch.batch.id, &provider, false)
        .unwrap();
    engine.retry_payout(&s, &payout, &provider).unwrap();
    engine
        .refund(
            &s,
            NewRefund {
                id: RefundId::new("refund-2").unwrap(),
                sale: first.sale.id.clone(),
                amount: usd("100.00"),
                reason: "chargeback".into(),
            },
        )
        .unwrap();
    let fourth = sale("sale-4", "500.00");
    engine.approve(&s, &fourth.commissions[0].id).unwrap();
    let batch = engine
        .schedule_payouts(
            &s,
            ScheduleRequest {
                batch: BatchId::new("batch-2").unwrap(),
                scheduled_for: sold,
                selection: CommissionSelection::Ids(vec![fourth.commissions[0].id.clone()]),
            },
        )
        .unwrap();
    engine
        .cancel_payout(&s, &batch.payouts[0].id, "wrong account")
        .unwrap();
}

trait NowForTest {
    fn now_for_test(&self) -> chrono::DateTime<Utc>;
}

impl NowForTest for FixedClock {
    fn now_for_test(&self) -> chrono::DateTime<Utc> {
        mlas_core::Clock::now(self)
    }
}

fn all_records(engine: &Engine) -> Vec<mlas_core::AuditRecord> {
    let mut out = Vec::new();
    let mut query = AuditQuery {
        limit: Some(7),
        ..AuditQuery::default()
    };
    loop {
        let page = engine.audit_records(&scope(), &query).unwrap();
        out.extend(page.records);
        match page.next_cursor {
            Some(cursor) => query.after_seq = Some(cursor),
            None => return out,
        }
    }
}

#[test]
fn a_full_flow_emits_every_kind_and_verifies() {
    let (engine, clock) = engine(None);
    full_flow(&engine, &clock);
    clock.advance(TimeDelta::days(1));
    engine
        .archive_audit(&scope(), clock.now_for_test(), &mut Vec::new())
        .unwrap();

    let records = engine
        .audit_records(
            &scope(),
            &AuditQuery {
                limit: Some(1000),
                ..AuditQuery::default()
            },
        )
        .unwrap()
        .records;
    let kinds: BTreeSet<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    // After archiving only the archive record is left; the archive holds the rest.
    assert_eq!(kinds, BTreeSet::from(["audit.archived"]));

    let (engine, clock) = self::engine(None);
    full_flow(&engine, &clock);
    let records = all_records(&engine);
    let kinds: BTreeSet<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    let expected = BTreeSet::from([
        "affiliate.created",
        "affiliate.updated",
        "affiliate.status_changed",
        "affiliate.sponsor_changed",
        "rule.created",
        "rule.updated",
        "sale.recorded",
        "commission.calculated",
        "commission.approved",
        "commission.rejected",
        "commission.disputed",
        "commission.resolved",
        "commission.reversed",
        "commission.recalculated",
        "sale.refunded",
        "sale.recalculated",
        "adjustment.created",
        // Scheduling and paying a commission are recorded by its payout's
        // `payout.scheduled` and `payout.paid`, which list it.
        "commission.unscheduled",
        "batch.scheduled",
        "batch.processing",
        "batch.finished",
        "batch.reopened",
        "payout.scheduled",
        "payout.sending",
        "payout.failed",
        "payout.paid",
        "payout.cancelled",
    ]);
    assert_eq!(kinds, expected);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.seq, i as u64 + 1);
        let payload = record.payload.to_string();
        assert!(
            !payload.contains(ACCOUNT),
            "{} leaks {payload}",
            record.kind
        );
    }
    let report = engine.verify_audit(&scope()).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.records, records.len() as u64);
    assert_eq!(report.head, Some(records.last().unwrap().head()));
}

#[test]
fn queries_filter_and_page_with_a_cursor() {
    let (engine, clock) = engine(None);
    full_flow(&engine, &clock);
    let all = all_records(&engine);

    let by_kind = engine
        .audit_records(
            &scope(),
            &AuditQuery {
                kind: Some("sale.recorded".into()),
                limit: Some(2),
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(by_kind.records.len(), 2);
    assert!(by_kind.next_cursor.is_some());
    let rest = engine
        .audit_records(
            &scope(),
            &AuditQuery {
                kind: Some("sale.recorded".into()),
                after_seq: by_kind.next_cursor,
                limit: Some(2),
                ..AuditQuery::default()
            },
        )
        .unwrap();
    // Exactly a full last page: no cursor, because nothing follows.
    assert_eq!(rest.records.len(), 2);
    assert_eq!(rest.next_cursor, None);

    let sale_2: Vec<_> = all
        .iter()
        .filter(|r| r.resource_id == "sale-2")
        .cloned()
        .collect();
    let by_resource = engine
        .audit_records(
            &scope(),
            &AuditQuery {
                resource_id: Some("sale-2".into()),
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(by_resource.records, sale_2);

    let first_affiliate = all[0].affiliate_id.clone();
    let by_affiliate = engine
        .audit_records(
            &scope(),
            &AuditQuery {
                affiliate_id: first_affiliate.clone(),
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert!(!by_affiliate.records.is_empty());
    assert!(
        by_affiliate
            .records
            .iter()
            .all(|r| r.affiliate_id == first_affiliate)
    );

    let t = all[0].at;
    let none_before = engine
        .audit_records(
            &scope(),
            &AuditQuery {
                until: Some(t),
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert!(none_before.records.is_empty());

    for limit in [0, 1001] {
        let err = engine
            .audit_records(
                &scope(),
                &AuditQuery {
                    limit: Some(limit),
                    ..AuditQuery::default()
                },
            )
            .unwrap_err();
        assert_eq!(err.kind(), mlas_core::ErrorKind::Validation);
    }
}

#[test]
fn exports_verify_on_their_own_and_csv_is_defused() {
    let (engine, clock) = engine(None);
    full_flow(&engine, &clock);
    let head = engine.audit_head(&scope()).unwrap().unwrap();

    let mut jsonl = Vec::new();
    let summary = engine
        .export_audit_jsonl(&scope(), AuditRange::default(), &mut jsonl)
        .unwrap();
    assert_eq!(summary.last, Some(head.clone()));
    let report = verify_jsonl(&jsonl[..], ChainVerifier::from_genesis(None)).unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.head, Some(head));

    let mut part = Vec::new();
    let range = AuditRange {
        from_seq: Some(3),
        through_seq: Some(6),
    };
    let summary = engine
        .export_audit_jsonl(&scope(), range, &mut part)
        .unwrap();
    assert_eq!((summary.records, summary.first_seq), (4, Some(3)));
    let report = verify_jsonl(&part[..], ChainVerifier::unanchored(None)).unwrap();
    assert!(report.is_intact());

    let formula = Scope::new("org-1", "=HYPERLINK(\"x\")").unwrap();
    let first = all_records(&engine)[0].resource_id.parse_affiliate();
    engine
        .set_affiliate_status(&formula, &first, AffiliateStatus::Suspended, "-1 test")
        .unwrap();
    let mut csv = Vec::new();
    engine
        .export_audit_csv(&scope(), AuditRange::default(), &mut csv)
        .unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        mlas_core::audit::export::CSV_COLUMNS.join(",")
    );
    assert!(csv.contains(r#""'=HYPERLINK(""x"")""#), "{csv}");
    // The payload column is JSON and stays as it is.
    assert!(csv.contains(r#"""reason"":""-1 test"""#), "{csv}");
    assert!(!csv.contains(ACCOUNT) && !csv.contains(SECOND_ACCOUNT));
}

#[test]
fn verification_ranges_and_keys() {
    let (engine, clock) = engine(Some(b"host secret"));
    full_flow(&engine, &clock);
    assert!(engine.verify_audit(&scope()).unwrap().is_intact());
    let range = engine.verify_audit_range(&scope(), 5, Some(9)).unwrap();
    assert!(range.is_intact());
    assert_eq!(range.head.unwrap().seq, 9);

    // The same records under another key (or none) do not verify.
    let mut jsonl = Vec::new();
    engine
        .export_audit_jsonl(&scope(), AuditRange::default(), &mut jsonl)
        .unwrap();
    let wrong = verify_jsonl(&jsonl[..], ChainVerifier::from_genesis(Some(b"guess"))).unwrap();
    assert_eq!(wrong.broken.unwrap().seq, 1);
    let right = verify_jsonl(
        &jsonl[..],
        ChainVerifier::from_genesis(Some(b"host secret")),
    )
    .unwrap();
    assert!(right.is_intact());
}

#[test]
fn checkpoints_round_trip_and_verify() {
    let (engine, clock) = engine(Some(b"k"));
    full_flow(&engine, &clock);
    let checkpoint = engine.checkpoint(&scope()).unwrap();
    assert!(checkpoint.tag.is_some());
    let stored = Checkpoint::from_json(&checkpoint.to_json()).unwrap();
    assert!(
        engine
            .verify_against(&scope(), &stored)
            .unwrap()
            .is_intact()
    );

    // More records later: the old checkpoint still holds.
    engine
        .set_affiliate_status(
            &scope(),
            &all_records(&engine)[0].resource_id.parse_affiliate(),
            AffiliateStatus::Suspended,
            "later",
        )
        .unwrap();
    assert!(
        engine
            .verify_against(&scope(), &stored)
            .unwrap()
            .is_intact()
    );

    // A checkpoint claiming a later head means the tail was truncated.
    let mut ahead = stored.clone();
    ahead.seq += 5;
    ahead.tag = Checkpoint::new(&ahead.tenant, ahead.head().as_ref(), ahead.at, Some(b"k"))
        .unwrap()
        .tag;
    let report = engine.verify_against(&scope(), &ahead).unwrap();
    let broken = report.broken.unwrap();
    assert!(
        matches!(broken.reason, BreakReason::Truncated { .. }),
        "{broken}"
    );
    assert_eq!(broken.seq, stored.seq + 2);

    // A changed checkpoint fails its tag.
    let mut forged = stored.clone();
    forged.hash = "f".repeat(64);
    let report = engine.verify_against(&scope(), &forged).unwrap();
    assert_eq!(report.broken.unwrap().reason, BreakReason::BadCheckpointTag);
}

#[test]
fn archiving_keeps_every_part_verifiable() {
    let (engine, clock) = engine(None);
    full_flow(&engine, &clock);
    let before_archive = engine.audit_head(&scope()).unwrap().unwrap();
    let checkpoint = engine.checkpoint(&scope()).unwrap();
    clock.advance(TimeDelta::hours(1));
    let cutoff = clock.now_for_test();
    engine
        .set_affiliate_status(
            &scope(),
            &all_records(&engine)[0].resource_id.parse_affiliate(),
            AffiliateStatus::Suspended,
            "after the cutoff",
        )
        .unwrap();

    let mut archive = Vec::new();
    let outcome = engine
        .archive_audit(&scope(), cutoff, &mut archive)
        .unwrap();
    assert_eq!(outcome.records, before_archive.seq);
    assert_eq!(outcome.anchor, Some(before_archive.clone()));

    // The archive on its own, the rest on its own, and both together.
    let alone = verify_jsonl(&archive[..], ChainVerifier::from_genesis(None)).unwrap();
    assert_eq!(alone.head, Some(before_archive.clone()));
    let rest = engine.verify_audit(&scope()).unwrap();
    assert!(rest.is_intact(), "{rest:?}");
    assert_eq!(rest.records, 2);
    assert_eq!(rest.start, Some(before_archive.clone()));
    let both = engine
        .verify_audit_with_archives(&scope(), [&archive[..]])
        .unwrap();
    assert!(both.is_intact(), "{both:?}");
    assert_eq!(both.records, before_archive.seq + 2);
    assert!(
        engine
            .verify_against(&scope(), &checkpoint)
            .unwrap()
            .is_intact()
    );

    let kinds: Vec<String> = all_records(&engine).into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["affiliate.status_changed", "audit.archived"]);

    // Nothing older left: a second run archives nothing and writes nothing.
    let again = engine
        .archive_audit(&scope(), cutoff, &mut Vec::new())
        .unwrap();
    assert_eq!(again.records, 0);
    assert_eq!(engine.verify_audit(&scope()).unwrap().records, 2);

    // A second archive continues from the first anchor.
    clock.advance(TimeDelta::hours(1));
    let mut second = Vec::new();
    let outcome = engine
        .archive_audit(&scope(), clock.now_for_test(), &mut second)
        .unwrap();
    assert_eq!(outcome.records, 2);
    let both = engine
        .verify_audit_with_archives(&scope(), [&archive[..], &second[..]])
        .unwrap();
    assert!(both.is_intact(), "{both:?}");
    let missing_one = engine
        .verify_audit_with_archives(&scope(), [&second[..]])
        .unwrap();
    assert_eq!(missing_one.broken.unwrap().seq, 1);
}

trait ParseAffiliate {
    fn parse_affiliate(&self) -> AffiliateId;
}

impl ParseAffiliate for String {
    fn parse_affiliate(&self) -> AffiliateId {
        AffiliateId::new(self.as_str()).unwrap()
    }
}

// --- The standalone Python verifier -------------------------------------------------

fn verifier_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/verify_audit.py")
}

fn run_python(args: &[&str]) -> (i32, String) {
    let out = Command::new("python3")
        .arg(verifier_script())
        .args(args)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_python_verifier_accepts_exports_and_names_tampered_records() {
    let dir = tempfile::tempdir().unwrap();
    let (engine, clock) = engine(None);
    full_flow(&engine, &clock);
    let head = engine.audit_head(&scope()).unwrap().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    engine
        .export_audit_jsonl(&scope(), AuditRange::default(), &mut file)
        .unwrap();
    drop(file);
    let path_text = path.to_str().unwrap();

    let (code, out) = run_python(&[path_text]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("head seq {} hash {}", head.seq, head.hash)),
        "{out}"
    );

    let (code, out) = run_python(&[
        path_text,
        "--checkpoint-seq",
        &head.seq.to_string(),
        "--checkpoint-hash",
        &head.hash,
    ]);
    assert_eq!(code, 0, "{out}");

    // Edit an amount in record 9: the verifier names seq 9.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let tampered = lines[8].replacen("\"amount\":\"", "\"amount\":\"1", 1);
    assert_ne!(tampered, lines[8], "record 9 has an amount");
    let original = std::mem::replace(&mut lines[8], tampered);
    let bad = dir.path().join("edited.jsonl");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let (code, out) = run_python(&[bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at seq 9: hash mismatch"), "{out}");

    // Delete record 4: a gap at 4.
    lines[8] = original;
    let mut deleted = lines.clone();
    deleted.remove(3);
    std::fs::write(&bad, deleted.join("\n") + "\n").unwrap();
    let (code, out) = run_python(&[bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at seq 4: sequence gap"), "{out}");

    // Truncate the tail: only a checkpoint shows it.
    let truncated = lines[..lines.len() - 2].join("\n") + "\n";
    std::fs::write(&bad, truncated).unwrap();
    let (code, _) = run_python(&[bad.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, out) = run_python(&[
        bad.to_str().unwrap(),
        "--checkpoint-seq",
        &head.seq.to_string(),
        "--checkpoint-hash",
        &head.hash,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("BROKEN at seq {}: missing", head.seq - 1)),
        "{out}"
    );
}

#[test]
fn the_python_verifier_checks_keyed_exports_and_archives_with_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let key = b"\x00\xffhost key";
    let (engine, clock) = engine(Some(key));
    full_flow(&engine, &clock);
    clock.advance(TimeDelta::hours(1));
    let cutoff = clock.now_for_test();
    engine
        .set_affiliate_status(
            &scope(),
            &all_records(&engine)[0].resource_id.parse_affiliate(),
            AffiliateStatus::Suspended,
            "after the cutoff",
        )
        .unwrap();
    let archive_path = dir.path().join("archive.jsonl");
    let mut archive = std::fs::File::create(&archive_path).unwrap();
    let outcome = engine
        .archive_audit(&scope(), cutoff, &mut archive)
        .unwrap();
    drop(archive);
    let anchor = outcome.anchor.unwrap();
    let rest_path = dir.path().join("rest.jsonl");
    let mut rest = std::fs::File::create(&rest_path).unwrap();
    engine
        .export_audit_jsonl(&scope(), AuditRange::default(), &mut rest)
        .unwrap();
    drop(rest);
    let key_hex = hex_of(key);

    let (code, out) = run_python(&[archive_path.to_str().unwrap(), "--key-hex", &key_hex]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("head seq {} hash {}", anchor.seq, anchor.hash)),
        "{out}"
    );

    let key_file = dir.path().join("key.bin");
    std::fs::write(&key_file, key).unwrap();
    let (code, out) = run_python(&[
        rest_path.to_str().unwrap(),
        "--key-file",
        key_file.to_str().unwrap(),
        "--anchor-seq",
        &anchor.seq.to_string(),
        "--anchor-hash",
        &anchor.hash,
    ]);
    assert_eq!(code, 0, "{out}");

    // Without the key, or with a wrong anchor, it fails.
    let (code, out) = run_python(&[archive_path.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at seq 1: hash mismatch"), "{out}");
    let (code, out) = run_python(&[
        rest_path.to_str().unwrap(),
        "--key-hex",
        &key_hex,
        "--anchor-seq",
        &anchor.seq.to_string(),
        "--anchor-hash",
        &"0".repeat(64),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("broken link"), "{out}");
}

#[test]
fn python_and_rust_agree_on_unusual_text() {
    // Control characters, quotes, backslashes, non-ASCII and astral-plane text
    // in values: the cases where JSON encoders most often differ.
    let dir = tempfile::tempdir().unwrap();
    let tenant = mlas_core::TenantId::new("org-1").unwrap();
    let at = Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap() + TimeDelta::microseconds(123_456);
    let mut records: Vec<mlas_core::AuditRecord> = Vec::new();
    let texts = [
        "\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f}\u{7f}",
        "\"quoted\" \\ back/slash",
        "é ß 中文 \u{2028}\u{2029} \u{feff}",
        "😀 \u{10ffff}",
        "",
    ];
    for (i, text) in texts.iter().enumerate() {
        let head = records.last().map(mlas_core::AuditRecord::head);
        let event = mlas_core::AuditEvent {
            kind: "affiliate.updated",
            resource_type: "affiliate",
            resource_id: format!("aff-{i}"),
            affiliate_id: None,
            payload: serde_json::json!({
                "text": text,
                "list": [text, null, true, false, 42, -7],
                "nested": {"é": text, "a": {}},
            }),
        };
        records.push(
            mlas_core::AuditRecord::chained(&tenant, head.as_ref(), at, text, event, None).unwrap(),
        );
    }
    let path = dir.path().join("unusual.jsonl");
    let mut bytes = Vec::new();
    for r in &records {
        mlas_core::audit::export::write_jsonl_record(&mut bytes, r).unwrap();
    }
    std::fs::write(&path, &bytes).unwrap();
    let (code, out) = run_python(&[path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&records.last().unwrap().hash), "{out}");
}

fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The Python snippet in AUDIT.md, exactly as printed there.
fn documented_snippet() -> String {
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../AUDIT.md"))
            .unwrap();
    let start = doc
        .find("```python\n")
        .expect("AUDIT.md has a python block")
        + 10;
    let end = start + doc[start..].find("```").unwrap();
    doc[start..end].to_owned()
}

#[test]
fn the_snippet_in_audit_md_verifies_an_export() {
    let dir = tempfile::tempdir().unwrap();
    let snippet = dir.path().join("snippet.py");
    std::fs::write(&snippet, documented_snippet()).unwrap();
    let (engine, clock) = engine(None);
    full_flow(&engine, &clock);
    let head = engine.audit_head(&scope()).unwrap().unwrap();
    let path = dir.path().join("audit.jsonl");
    let mut file = std::fs::File::create(&path).unwrap();
    engine
        .export_audit_jsonl(&scope(), AuditRange::default(), &mut file)
        .unwrap();
    drop(file);

    let run = |file: &std::path::Path| {
        Command::new("python3")
            .arg(&snippet)
            .arg(file)
            .output()
            .unwrap()
    };
    let out = run(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("{} {}", head.seq, head.hash)
    );

    let text = std::fs::read_to_string(&path).unwrap();
    let tampered = text.replacen("\"actor\":\"Zoë", "\"actor\":\"Zoe", 1);
    assert_ne!(tampered, text);
    std::fs::write(&path, tampered).unwrap();
    let out = run(&path);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken at seq 1"));
}
