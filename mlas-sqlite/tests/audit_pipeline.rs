//! Long chains in a real SQLite file, long enough for `Engine::verify_audit`
//! to verify them on two threads: intact or tampered with plain SQL, the
//! report must be the one a single-threaded walk over the same rows gives
//! (`Tx::scan_audit_rows` into `ChainVerifier::push_row`, a row that cannot
//! be read being a `Malformed` break at the next seq).

// Helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::{attack, copy_of};
use mlas_core::store::Store;
use mlas_core::{
    AuditEvent, AuditHead, AuditRecord, AuditVerification, BreakReason, ChainVerifier, Engine,
    EngineConfig, ErrorKind, FixedClock, Scope, TenantId,
};
use mlas_sqlite::SqliteStore;
use serde_json::json;

const KEY: &[u8] = b"host-held audit key";

/// Past the records verified on the calling thread (4,096) and a few batches
/// (512 records each) beyond.
const RECORDS: u64 = 6_000;
/// The first record verified on the second thread.
const FIRST_PIPED: u64 = 4_097;
/// The first record of the second batch.
const SECOND_BATCH: u64 = FIRST_PIPED + 512;

fn scope() -> Scope {
    Scope::new("org-1", "ops").unwrap()
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn engine_on(path: &Path, key: Option<&[u8]>) -> Engine {
    let config = EngineConfig {
        audit_key: key.map(<[u8]>::to_vec),
        ..EngineConfig::default()
    };
    Engine::new(SqliteStore::open(path).unwrap())
        .with_clock(Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        )))
        .with_config(config)
        .unwrap()
}

/// A file with `RECORDS` commission-like records, one a second from
/// `start()`, and a few of another tenant's.
fn populated(dir: &Path, name: &str, key: Option<&[u8]>) -> PathBuf {
    let path = dir.join(name);
    let store = SqliteStore::open(&path).unwrap();
    store
        .write(&mut |tx| {
            for (tenant, count) in [("org-1", RECORDS), ("org-2", 10)] {
                let tenant = TenantId::new(tenant).unwrap();
                let mut head: Option<AuditHead> = None;
                for i in 0..count {
                    let record = AuditRecord::chained(
                        &tenant,
                        head.as_ref(),
                        start() + TimeDelta::seconds(i as i64),
                        "ops",
                        AuditEvent {
                            kind: "commission.calculated",
                            resource_type: "commission",
                            resource_id: format!("com-{i:08}"),
                            affiliate_id: (i % 4 != 0).then(|| format!("aff-{}", i % 97)),
                            payload: json!({
                                "amount": format!("{}.{:02}", i % 500, i % 100),
                                "chain_level": (i % 5 + 1).to_string(),
                                "currency": "USD",
                                "note": format!("Zoë \"{i}\"\n"),
                            }),
                        },
                        key,
                    )?;
                    tx.append_audit(&record)?;
                    head = Some(record.head());
                }
            }
            Ok(())
        })
        .unwrap();
    path
}

/// The whole chain verified on one thread, record by record.
fn single_threaded(path: &Path, key: Option<&[u8]>) -> AuditVerification {
    let store = SqliteStore::open(path).unwrap();
    let tenant = TenantId::new("org-1").unwrap();
    let mut verifier = ChainVerifier::from_genesis(key).for_tenant("org-1");
    let scanned =
        store.read(&mut |tx| tx.scan_audit_rows(&tenant, 0, &mut |row| verifier.push_row(row)));
    if let Err(e) = scanned {
        assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
        let at = verifier.next_seq().unwrap_or(0);
        verifier.fail(
            at,
            BreakReason::Malformed {
                message: e.to_string(),
            },
        );
    }
    verifier.finish()
}

/// Verifies `path` through the engine and demands the single-threaded
/// report; returns the broken record's seq and reason.
fn verdict(path: &Path, key: Option<&[u8]>) -> Option<(u64, BreakReason)> {
    let report = engine_on(path, key).verify_audit(&scope()).unwrap();
    assert_eq!(report, single_threaded(path, key));
    report.broken.map(|b| (b.seq, b.reason))
}

#[test]
fn an_intact_long_chain_verifies_on_two_threads_as_on_one() {
    let dir = tempfile::tempdir().unwrap();
    for key in [None, Some(KEY)] {
        let path = populated(dir.path(), &format!("intact-{}.db", key.is_some()), key);
        assert_eq!(verdict(&path, key), None);
        let engine = engine_on(&path, key);
        let report = engine.verify_audit(&scope()).unwrap();
        assert_eq!(report.records, RECORDS);
        // Against its own checkpoint too, and in ranges that start anywhere.
        let checkpoint = engine.checkpoint(&scope()).unwrap();
        assert!(
            engine
                .verify_against(&scope(), &checkpoint)
                .unwrap()
                .is_intact()
        );
        for from in [1, FIRST_PIPED, 5_000] {
            let range = engine.verify_audit_range(&scope(), from, None).unwrap();
            assert!(range.is_intact(), "{from}: {:?}", range.broken);
            assert_eq!(range.head, report.head);
        }
    }
    // A keyed chain without the key breaks at its first record.
    let path = populated(dir.path(), "keyed.db", Some(KEY));
    assert!(matches!(
        verdict(&path, None),
        Some((1, BreakReason::HashMismatch { .. }))
    ));
}

#[test]
fn tampering_anywhere_in_a_long_chain_is_named_as_on_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let path = populated(dir.path(), "base.db", None);
    let positions = [
        1,
        FIRST_PIPED - 1,
        FIRST_PIPED,
        SECOND_BATCH - 1,
        SECOND_BATCH,
        RECORDS,
    ];
    let mut n = 0;
    for seq in positions {
        let next = seq + 1;
        let attacks: [(&str, String); 7] = [
            (
                "edit",
                format!("UPDATE audit_records SET actor = 'mallory' WHERE tenant = 'org-1' AND seq = {seq}"),
            ),
            (
                "delete",
                format!("DELETE FROM audit_records WHERE tenant = 'org-1' AND seq = {seq}"),
            ),
            (
                "insert",
                format!(
                    "UPDATE audit_records SET seq = seq + 1000000 WHERE tenant = 'org-1' AND seq >= {seq};
                     UPDATE audit_records SET seq = seq - 999999 WHERE tenant = 'org-1' AND seq > 1000000;
                     INSERT INTO audit_records SELECT tenant, {seq}, at, type, resource_type,
                         'com-forged', affiliate_id, actor, payload, prev_hash, hash
                       FROM audit_records WHERE tenant = 'org-1' AND seq = {next};"
                ),
            ),
            (
                "reorder",
                format!(
                    "UPDATE audit_records SET seq = 2000000 WHERE tenant = 'org-1' AND seq = {seq};
                     UPDATE audit_records SET seq = {seq} WHERE tenant = 'org-1' AND seq = {next};
                     UPDATE audit_records SET seq = {next} WHERE tenant = 'org-1' AND seq = 2000000;"
                ),
            ),
            (
                "payload not json",
                format!("UPDATE audit_records SET payload = 'not json' WHERE tenant = 'org-1' AND seq = {seq}"),
            ),
            (
                "unreadable time",
                format!(
                    "UPDATE audit_records SET at = 9223372036854775807 WHERE tenant = 'org-1' AND seq = {seq}"
                ),
            ),
            (
                "payload rewritten, same value",
                format!(
                    "UPDATE audit_records SET payload = ' ' || payload WHERE tenant = 'org-1' AND seq = {seq}"
                ),
            ),
        ];
        for (what, sql) in attacks {
            n += 1;
            let copy = copy_of(&path, dir.path(), &format!("attack-{n}.db"));
            attack(&copy, &sql);
            let broken = verdict(&copy, None);
            match (what, broken) {
                ("payload rewritten, same value", None) => {}
                // Deleting the last record leaves a valid, shorter chain.
                ("delete", None) if seq == RECORDS => {}
                ("reorder", Some((at, _))) if seq == RECORDS => {
                    // No record after the last one: it only moved.
                    assert_eq!(at, seq, "{what} at {seq}");
                }
                (_, Some((at, reason))) => {
                    assert_eq!(at, seq, "{what} at {seq}: {reason}");
                }
                (_, None) => panic!("{what} at {seq} went unnoticed"),
            }
        }
    }
}

#[test]
fn checkpoints_and_anchors_of_a_long_chain_are_checked_on_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = populated(dir.path(), "base.db", None);
    let engine = engine_on(&path, None);
    let checkpoint = engine.checkpoint(&scope()).unwrap();

    // A truncated tail, and a record the checkpoint names rewritten.
    let copy = copy_of(&path, dir.path(), "truncated.db");
    attack(
        &copy,
        "DELETE FROM audit_records WHERE tenant = 'org-1' AND seq > 5000",
    );
    let report = engine_on(&copy, None)
        .verify_against(&scope(), &checkpoint)
        .unwrap();
    assert_eq!(
        report.broken.map(|b| (b.seq, b.reason)),
        Some((5_001, BreakReason::Truncated { head_seq: 5_000 }))
    );
    let copy = copy_of(&path, dir.path(), "rewritten.db");
    attack(
        &copy,
        &format!(
            "UPDATE audit_records SET hash = '{}' WHERE tenant = 'org-1' AND seq = {RECORDS}",
            "0".repeat(64)
        ),
    );
    let broken = engine_on(&copy, None)
        .verify_against(&scope(), &checkpoint)
        .unwrap()
        .broken
        .unwrap();
    assert_eq!(broken.seq, RECORDS);

    // Archive the first 1,000 records: the rest (and the `audit.archived`
    // record that vouches for the anchor, last, on the second thread)
    // verifies from the anchor; an anchor moved by hand does not.
    let mut archive = Vec::new();
    let outcome = engine
        .archive_audit(&scope(), start() + TimeDelta::seconds(1_000), &mut archive)
        .unwrap();
    assert_eq!(outcome.records, 1_000);
    let report = engine.verify_audit(&scope()).unwrap();
    assert!(report.is_intact(), "{:?}", report.broken);
    assert_eq!(report.records, RECORDS - 1_000 + 1);
    let copy = copy_of(&path, dir.path(), "anchor.db");
    attack(
        &copy,
        "DELETE FROM audit_records WHERE tenant = 'org-1' AND seq <= 1100;
         UPDATE audit_anchors SET seq = 1100,
             hash = (SELECT prev_hash FROM audit_records WHERE tenant = 'org-1' AND seq = 1101)
           WHERE tenant = 'org-1';",
    );
    let broken = engine_on(&copy, None)
        .verify_audit(&scope())
        .unwrap()
        .broken
        .unwrap();
    assert!(
        matches!(broken.reason, BreakReason::BadAnchor { .. }),
        "{broken}"
    );
}
