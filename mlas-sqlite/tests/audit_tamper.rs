//! Tampering with a real SQLite file the way an attacker with the `sqlite3`
//! shell would: plain SQL on `audit_records` and `audit_anchors`, behind the
//! library's back. Every change must be caught and must name the right record;
//! an untouched file must never raise a false alarm.

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use common::{attack, copy_of};
use mlas_core::{
    AffiliateStatus, AuditQuery, AuditRecord, BreakReason, Checkpoint, Currency, Decimal, Engine,
    EngineConfig, FixedClock, Money, NewAffiliate, NewRefund, NewSale, RefundId, RuleSpec, SaleId,
    Scope,
};
use mlas_sqlite::SqliteStore;
use rusqlite::{Connection, params};

const KEY: &[u8] = b"host-held audit key";

fn scope() -> Scope {
    Scope::new("org-1", "ops").unwrap()
}

fn engine_on(path: &Path, key: Option<&[u8]>) -> Engine {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
    ));
    let config = EngineConfig {
        audit_key: key.map(<[u8]>::to_vec),
        ..EngineConfig::default()
    };
    Engine::new(SqliteStore::open(path).unwrap())
        .with_clock(clock)
        .with_config(config)
        .unwrap()
}

/// A file with a few dozen audit records from ordinary operations (and
/// another tenant's chain beside it), and a checkpoint of its head.
fn populated(dir: &Path, name: &str, key: Option<&[u8]>) -> (PathBuf, Checkpoint, u64) {
    let path = dir.join(name);
    let engine = engine_on(&path, key);
    let s = scope();
    let usd = Currency::parse("USD").unwrap();
    let top = engine
        .create_affiliate(
            &s,
            NewAffiliate::new("Top", "top@example.com", Decimal::TEN),
        )
        .unwrap();
    let mut low = NewAffiliate::new("Low", "low@example.com", Decimal::ONE);
    low.sponsor = Some(top.id.clone());
    let low = engine.create_affiliate(&s, low).unwrap();
    engine
        .create_rule(
            &s,
            None,
            RuleSpec::percentages("two levels", &[Decimal::TEN, Decimal::new(5, 0)]),
        )
        .unwrap();
    let when = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
    for i in 0..6 {
        let amount = Money::parse(&format!("{}.25", 40 + i), usd, "amount").unwrap();
        let sale = engine
            .record_sale(
                &s,
                NewSale::new(
                    SaleId::new(format!("sale-{i}")).unwrap(),
                    amount,
                    when,
                    low.id.clone(),
                ),
            )
            .unwrap();
        if i % 2 == 0 {
            engine.approve(&s, &sale.commissions[0].id).unwrap();
        } else {
            engine
                .refund(
                    &s,
                    NewRefund {
                        id: RefundId::new(format!("refund-{i}")).unwrap(),
                        sale: sale.sale.id.clone(),
                        amount: Money::parse("10.00", usd, "amount").unwrap(),
                        reason: "partial return".into(),
                    },
                )
                .unwrap();
        }
    }
    engine
        .set_affiliate_status(&s, &top.id, AffiliateStatus::Suspended, "review")
        .unwrap();
    let other = Scope::new("org-2", "ops").unwrap();
    engine
        .create_affiliate(
            &other,
            NewAffiliate::new("Else", "e@example.com", Decimal::ONE),
        )
        .unwrap();

    let checkpoint = engine.checkpoint(&s).unwrap();
    let report = engine.verify_audit(&s).unwrap();
    assert!(report.is_intact(), "{report:?}");
    (path, checkpoint, report.head.unwrap().seq)
}

fn records(engine: &Engine) -> Vec<AuditRecord> {
    engine
        .audit_records(
            &scope(),
            &AuditQuery {
                limit: Some(1000),
                ..AuditQuery::default()
            },
        )
        .unwrap()
        .records
}

/// Verifies the attacked file plainly and against the checkpoint; both must
/// name `seq` (plainly only where the chain alone can show it).
fn assert_caught(
    path: &Path,
    key: Option<&[u8]>,
    checkpoint: &Checkpoint,
    seq: u64,
    plain_too: bool,
    case: &str,
) -> BreakReason {
    let engine = engine_on(path, key);
    let against = engine.verify_against(&scope(), checkpoint).unwrap();
    let broken = against
        .broken
        .unwrap_or_else(|| panic!("{case}: not caught against the checkpoint"));
    assert_eq!(broken.seq, seq, "{case}: {broken}");
    let plain = engine.verify_audit(&scope()).unwrap();
    if plain_too {
        let plain = plain
            .broken
            .unwrap_or_else(|| panic!("{case}: not caught by plain verification"));
        assert_eq!(plain.seq, seq, "{case}: {plain}");
    }
    // The other tenant's chain is untouched and stays intact.
    let other = Scope::new("org-2", "ops").unwrap();
    assert!(engine.verify_audit(&other).unwrap().is_intact(), "{case}");
    broken.reason
}

#[test]
fn an_untouched_file_never_raises_an_alarm() {
    let dir = tempfile::tempdir().unwrap();
    for key in [None, Some(KEY)] {
        let (path, checkpoint, head) = populated(dir.path(), "clean.db", key);
        for _ in 0..3 {
            // Reopened each time, as a host would after a restart.
            let engine = engine_on(&path, key);
            let report = engine.verify_audit(&scope()).unwrap();
            assert!(report.is_intact(), "{report:?}");
            assert_eq!(report.head.unwrap().seq, head);
            assert!(
                engine
                    .verify_against(&scope(), &checkpoint)
                    .unwrap()
                    .is_intact()
            );
            for from in [1, 2, head / 2, head] {
                assert!(
                    engine
                        .verify_audit_range(&scope(), from, None)
                        .unwrap()
                        .is_intact()
                );
            }
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn every_column_of_sampled_records_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let (path, checkpoint, head) = populated(dir.path(), "base.db", None);
    let columns: [(&str, &str); 13] = [
        ("tenant", "tenant = 'org-evil'"),
        ("seq", "seq = seq + 100000"),
        ("at", "at = at + 1"),
        ("at unreadable", "at = 9223372036854775807"),
        ("type", "type = type || '.x'"),
        ("resource_type", "resource_type = resource_type || 's'"),
        ("resource_id", "resource_id = resource_id || '0'"),
        (
            "affiliate_id",
            "affiliate_id = CASE WHEN affiliate_id IS NULL THEN 'aff-x' ELSE NULL END",
        ),
        ("actor", "actor = 'mallory'"),
        (
            "payload",
            "payload = json_set(payload, '$.tampered', 'yes')",
        ),
        ("payload unreadable", "payload = 'not json'"),
        ("prev_hash", "prev_hash = printf('%064d', 7)"),
        ("hash", "hash = printf('%064d', 9)"),
    ];
    let samples = [1, 2, head / 2, head - 1, head];
    let mut case_no = 0;
    for (column, set) in columns {
        for seq in samples {
            case_no += 1;
            let copy = copy_of(&path, dir.path(), &format!("case-{case_no}.db"));
            attack(
                &copy,
                &format!("UPDATE audit_records SET {set} WHERE tenant = 'org-1' AND seq = {seq}"),
            );
            // Moving the last record to another tenant looks like a chain that
            // simply ends earlier: only the checkpoint shows it. (Renumbering
            // it leaves it in the scan, out of sequence.)
            let tail_move = seq == head && column == "tenant";
            let case = format!("{column} of seq {seq}");
            let reason = assert_caught(&copy, None, &checkpoint, seq, !tail_move, &case);
            let fits = match column {
                "tenant" if tail_move => matches!(reason, BreakReason::Truncated { .. }),
                "tenant" | "seq" => matches!(reason, BreakReason::SequenceGap { .. }),
                "at unreadable" | "payload unreadable" => {
                    matches!(reason, BreakReason::Malformed { .. })
                }
                _ => matches!(reason, BreakReason::HashMismatch { .. }),
            };
            assert!(fits, "{case}: {reason}");
            std::fs::remove_file(&copy).unwrap();
        }
    }
}

#[test]
fn deleting_inserting_and_swapping_records_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (path, checkpoint, head) = populated(dir.path(), "base.db", None);
    let mid = head / 2;

    let copy = copy_of(&path, dir.path(), "delete.db");
    attack(
        &copy,
        &format!("DELETE FROM audit_records WHERE tenant = 'org-1' AND seq = {mid}"),
    );
    let reason = assert_caught(&copy, None, &checkpoint, mid, true, "delete");
    assert_eq!(
        reason,
        BreakReason::SequenceGap {
            expected: mid,
            found: mid + 1
        }
    );

    // Insert a copy of the record before `mid` at `mid`, shifting the rest up.
    let copy = copy_of(&path, dir.path(), "insert.db");
    attack(
        &copy,
        &format!(
            "UPDATE audit_records SET seq = seq + 1000000 WHERE tenant = 'org-1' AND seq >= {mid};
             UPDATE audit_records SET seq = seq - 999999 WHERE tenant = 'org-1' AND seq > 1000000;
             INSERT INTO audit_records SELECT tenant, {mid}, at, type, resource_type, resource_id,
                 affiliate_id, actor, payload, prev_hash, hash
               FROM audit_records WHERE tenant = 'org-1' AND seq = {};",
            mid - 1
        ),
    );
    let reason = assert_caught(&copy, None, &checkpoint, mid, true, "insert in the middle");
    assert!(
        matches!(reason, BreakReason::HashMismatch { .. }),
        "{reason}"
    );

    // Append a replayed record after the head.
    let copy = copy_of(&path, dir.path(), "append.db");
    attack(
        &copy,
        &format!(
            "INSERT INTO audit_records SELECT tenant, {}, at, type, resource_type, resource_id,
                 affiliate_id, actor, payload, prev_hash, hash
               FROM audit_records WHERE tenant = 'org-1' AND seq = {head};",
            head + 1
        ),
    );
    assert_caught(&copy, None, &checkpoint, head + 1, true, "append a replay");

    // Swap the contents of two records, keeping their positions.
    let (a, b) = (3, mid + 1);
    let copy = copy_of(&path, dir.path(), "swap.db");
    attack(
        &copy,
        &format!(
            "UPDATE audit_records SET seq = 2000000 WHERE tenant = 'org-1' AND seq = {a};
             UPDATE audit_records SET seq = {a} WHERE tenant = 'org-1' AND seq = {b};
             UPDATE audit_records SET seq = {b} WHERE tenant = 'org-1' AND seq = 2000000;"
        ),
    );
    let reason = assert_caught(&copy, None, &checkpoint, a, true, "swap");
    assert!(
        matches!(reason, BreakReason::HashMismatch { .. }),
        "{reason}"
    );
}

#[test]
fn a_truncated_tail_is_caught_only_against_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (path, checkpoint, head) = populated(dir.path(), "base.db", None);
    let copy = copy_of(&path, dir.path(), "truncate.db");
    attack(
        &copy,
        &format!(
            "DELETE FROM audit_records WHERE tenant = 'org-1' AND seq > {}",
            head - 3
        ),
    );
    let engine = engine_on(&copy, None);
    // The chain alone cannot tell: this is the documented limit.
    assert!(engine.verify_audit(&scope()).unwrap().is_intact());
    let reason = assert_caught(&copy, None, &checkpoint, head - 2, false, "truncate");
    assert_eq!(reason, BreakReason::Truncated { head_seq: head - 3 });

    // New records after the truncation reuse the numbers; the checkpoint
    // still shows the rewrite.
    engine
        .create_affiliate(
            &scope(),
            NewAffiliate::new("New", "n@example.com", Decimal::ONE),
        )
        .unwrap();
    engine
        .create_affiliate(
            &scope(),
            NewAffiliate::new("New2", "n2@example.com", Decimal::ONE),
        )
        .unwrap();
    engine
        .create_affiliate(
            &scope(),
            NewAffiliate::new("New3", "n3@example.com", Decimal::ONE),
        )
        .unwrap();
    let reason = assert_caught(&copy, None, &checkpoint, head, false, "truncate and regrow");
    assert!(
        matches!(reason, BreakReason::CheckpointMismatch { .. }),
        "{reason}"
    );
}

/// Rewrites record `seq` (actor changed) and every later one with
/// recomputed hashes, as an attacker who knows the format would.
fn rewrite_tail(path: &Path, seq: u64, attacker_key: Option<&[u8]>) {
    let engine = engine_on(path, None);
    let mut chain = records(&engine);
    drop(engine);
    let conn = Connection::open(path).unwrap();
    for i in (seq as usize - 1)..chain.len() {
        if chain[i].seq == seq {
            chain[i].actor = "mallory".into();
        }
        if i > 0 {
            chain[i].prev_hash = chain[i - 1].hash.clone();
        }
        chain[i].hash = mlas_core::audit::record_hash(&chain[i], attacker_key).unwrap();
        conn.execute(
            "UPDATE audit_records SET actor = ?1, prev_hash = ?2, hash = ?3 \
             WHERE tenant = 'org-1' AND seq = ?4",
            params![
                chain[i].actor,
                chain[i].prev_hash,
                chain[i].hash,
                chain[i].seq as i64
            ],
        )
        .unwrap();
    }
}

#[test]
fn a_rewritten_tail_needs_a_checkpoint_or_the_key() {
    let dir = tempfile::tempdir().unwrap();

    // Unkeyed: the recomputed chain is consistent; the checkpoint catches it.
    let (path, checkpoint, head) = populated(dir.path(), "plain.db", None);
    let target = head - 4;
    rewrite_tail(&path, target, None);
    let engine = engine_on(&path, None);
    assert!(engine.verify_audit(&scope()).unwrap().is_intact());
    let reason = assert_caught(&path, None, &checkpoint, head, false, "unkeyed rewrite");
    assert!(
        matches!(reason, BreakReason::CheckpointMismatch { .. }),
        "{reason}"
    );

    // Keyed: without the key the attacker's hashes are wrong at the first
    // rewritten record, checkpoint or not.
    let (path, checkpoint, head) = populated(dir.path(), "keyed.db", Some(KEY));
    let target = head - 4;
    rewrite_tail(&path, target, None);
    let reason = assert_caught(&path, Some(KEY), &checkpoint, target, true, "keyed rewrite");
    assert!(
        matches!(reason, BreakReason::HashMismatch { .. }),
        "{reason}"
    );

    // Keyed, an inserted record with a correctly computed SHA-256 is still
    // named itself.
    let (path, checkpoint, head) = populated(dir.path(), "keyed-insert.db", Some(KEY));
    let engine = engine_on(&path, Some(KEY));
    let chain = records(&engine);
    drop(engine);
    let mid = head / 2;
    let mut forged = chain[mid as usize - 1].clone();
    forged.prev_hash = chain[mid as usize - 2].hash.clone();
    forged.hash = mlas_core::audit::record_hash(&forged, None).unwrap();
    attack(
        &path,
        &format!(
            "UPDATE audit_records SET seq = seq + 1000000 WHERE tenant = 'org-1' AND seq >= {mid};
             UPDATE audit_records SET seq = seq - 999999 WHERE tenant = 'org-1' AND seq > 1000000;"
        ),
    );
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO audit_records SELECT tenant, ?1, at, type, resource_type, resource_id, \
         affiliate_id, actor, payload, ?2, ?3 FROM audit_records WHERE tenant = 'org-1' AND seq = ?4",
        params![mid as i64, forged.prev_hash, forged.hash, (mid + 1) as i64],
    )
    .unwrap();
    drop(conn);
    let reason = assert_caught(&path, Some(KEY), &checkpoint, mid, true, "keyed insert");
    assert!(
        matches!(reason, BreakReason::HashMismatch { .. }),
        "{reason}"
    );
}

#[test]
fn a_forged_anchor_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (path, checkpoint, _) = populated(dir.path(), "base.db", None);

    // Delete the oldest five records and write an anchor by hand that the
    // sixth links to: it looks like archiving, but nothing vouches for it.
    let copy = copy_of(&path, dir.path(), "anchor.db");
    attack(
        &copy,
        "INSERT INTO audit_anchors (tenant, seq, hash, at)
           SELECT tenant, 5, prev_hash, at FROM audit_records WHERE tenant = 'org-1' AND seq = 6;
         DELETE FROM audit_records WHERE tenant = 'org-1' AND seq <= 5;",
    );
    let engine = engine_on(&copy, None);
    let plain = engine.verify_audit(&scope()).unwrap().broken.unwrap();
    assert_eq!(plain.seq, 5, "{plain}");
    assert!(
        matches!(plain.reason, BreakReason::BadAnchor { .. }),
        "{plain}"
    );

    // A real archive, then its anchor changed: the first record no longer links.
    let copy = copy_of(&path, dir.path(), "archived.db");
    let engine = engine_on(&copy, None);
    let cutoff = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + TimeDelta::hours(1);
    let outcome = engine
        .archive_audit(&scope(), cutoff, &mut Vec::new())
        .unwrap();
    let anchor = outcome.anchor.unwrap();
    assert!(engine.verify_audit(&scope()).unwrap().is_intact());
    assert!(
        engine
            .verify_against(&scope(), &checkpoint)
            .unwrap()
            .is_intact()
    );
    drop(engine);
    attack(
        &copy,
        "UPDATE audit_anchors SET hash = printf('%064d', 3) WHERE tenant = 'org-1'",
    );
    let engine = engine_on(&copy, None);
    let plain = engine.verify_audit(&scope()).unwrap().broken.unwrap();
    assert_eq!(plain.seq, anchor.seq + 1, "{plain}");
    assert!(
        matches!(plain.reason, BreakReason::BadAnchor { .. }),
        "{plain}"
    );
}

/// Runs `tools/verify_audit.py --sqlite` on a file, as a third party would.
fn python_verdict(path: &Path, extra: &[&str]) -> (i32, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/verify_audit.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--sqlite")
        .arg(path)
        .args(["--tenant", "org-1"])
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_python_verifier_reads_the_sqlite_file_directly() {
    let dir = tempfile::tempdir().unwrap();
    for key in [None, Some(KEY)] {
        let name = if key.is_some() {
            "keyed.db"
        } else {
            "plain.db"
        };
        let (path, checkpoint, head) = populated(dir.path(), name, key);
        let key_hex: Vec<String> = key
            .map(|k| vec!["--key-hex".to_owned(), hex(k)])
            .unwrap_or_default();
        let key_args: Vec<&str> = key_hex.iter().map(String::as_str).collect();
        let (code, out) = python_verdict(&path, &key_args);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(&format!("head seq {head} hash {}", checkpoint.hash)),
            "{out}"
        );

        let copy = copy_of(&path, dir.path(), &format!("edited-{name}"));
        attack(
            &copy,
            "UPDATE audit_records SET payload = json_set(payload, '$.x', 'y')
             WHERE tenant = 'org-1' AND seq = 7",
        );
        let (code, out) = python_verdict(&copy, &key_args);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("BROKEN at seq 7: hash mismatch"), "{out}");

        let copy = copy_of(&path, dir.path(), &format!("truncated-{name}"));
        attack(
            &copy,
            &format!("DELETE FROM audit_records WHERE seq >= {head} AND tenant = 'org-1'"),
        );
        let (code, out) = python_verdict(&copy, &key_args);
        assert_eq!(code, 0, "{out}");
        let mut with_checkpoint = key_args.clone();
        let seq = head.to_string();
        with_checkpoint.extend([
            "--checkpoint-seq",
            &seq,
            "--checkpoint-hash",
            &checkpoint.hash,
        ]);
        let (code, out) = python_verdict(&copy, &with_checkpoint);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!("BROKEN at seq {head}: missing")),
            "{out}"
        );
    }

    // An anchor written by hand, with the records before it deleted.
    let (path, _, _) = populated(dir.path(), "anchor.db", None);
    attack(
        &path,
        "INSERT INTO audit_anchors (tenant, seq, hash, at)
           SELECT tenant, 5, prev_hash, at FROM audit_records WHERE tenant = 'org-1' AND seq = 6;
         DELETE FROM audit_records WHERE tenant = 'org-1' AND seq <= 5;",
    );
    let (code, out) = python_verdict(&path, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at seq 5: bad anchor"), "{out}");

    // A real archive leaves a file that still verifies.
    let (path, _, _) = populated(dir.path(), "archived.db", None);
    let engine = engine_on(&path, None);
    let cutoff = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    engine
        .archive_audit(&scope(), cutoff, &mut Vec::new())
        .unwrap();
    drop(engine);
    let (code, out) = python_verdict(&path, &[]);
    assert_eq!(code, 0, "{out}");
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
