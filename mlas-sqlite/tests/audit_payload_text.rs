//! The payload column holds JSON text, which verification hashes as it is
//! when it is canonical and otherwise parses and re-encodes. A payload edited
//! in SQL into other text for the same value (whitespace, member order,
//! escapes) still verifies, in Rust and in `tools/verify_audit.py`; text the
//! verifiers refuse (duplicate members, floats, not an object) breaks the
//! chain at that record in both.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use mlas_core::{BreakReason, Decimal, Engine, NewAffiliate, Scope};
use mlas_sqlite::SqliteStore;
use rusqlite::{Connection, params};

fn scope() -> Scope {
    Scope::new("org-1", "ops").unwrap()
}

/// A file with five records; returns its path.
fn populated(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let engine = Engine::new(SqliteStore::open(&path).unwrap());
    for i in 0..5 {
        let mut new = NewAffiliate::new(
            format!("Zoë \"{i}\" / \\ \u{2028}"),
            format!("a{i}@example.com"),
            Decimal::TEN,
        );
        new.tier = Some(format!("tier/{i}"));
        engine.create_affiliate(&scope(), new).unwrap();
    }
    assert!(engine.verify_audit(&scope()).unwrap().is_intact());
    path
}

fn copy_of(path: &Path, copy: &Path) {
    SqliteStore::open(path).unwrap().backup_to(copy).unwrap();
}

fn set_payload(path: &Path, seq: i64, text: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute(
        "UPDATE audit_records SET payload = ?1 WHERE tenant = 'org-1' AND seq = ?2",
        params![text, seq],
    )
    .unwrap();
}

fn payload(path: &Path, seq: i64) -> String {
    let conn = Connection::open(path).unwrap();
    conn.query_row(
        "SELECT payload FROM audit_records WHERE tenant = 'org-1' AND seq = ?1",
        params![seq],
        |row| row.get(0),
    )
    .unwrap()
}

fn rust_verdict(path: &Path) -> Option<(u64, BreakReason)> {
    let engine = Engine::new(SqliteStore::open(path).unwrap());
    let report = engine.verify_audit(&scope()).unwrap();
    report.broken.map(|b| (b.seq, b.reason))
}

fn python_verdict(path: &Path) -> (i32, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tools/verify_audit.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--sqlite")
        .arg(path)
        .args(["--tenant", "org-1"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The members of a JSON object's text, written in reverse order with
/// spaces around the punctuation and `/` escaped: the same value, other text.
fn rewritten(text: &str) -> String {
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).unwrap();
    let members: Vec<String> = value
        .iter()
        .rev()
        .map(|(k, v)| {
            format!(
                "{} : {}",
                serde_json::to_string(k).unwrap(),
                serde_json::to_string(v).unwrap().replace('/', "\\/")
            )
        })
        .collect();
    format!(" {{ {} }} ", members.join(" , "))
}

#[test]
fn payload_text_is_judged_alike_by_both_verifiers() {
    let dir = tempfile::tempdir().unwrap();
    let path = populated(dir.path(), "base.db");
    let stored = payload(&path, 2);
    assert!(stored.contains("tier/1"), "{stored}");

    let equivalent = [
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&stored).unwrap())
            .unwrap(),
        rewritten(&stored),
    ];
    for (i, text) in equivalent.iter().enumerate() {
        assert_ne!(text, &stored);
        let copy = dir.path().join(format!("same-{i}.db"));
        copy_of(&path, &copy);
        set_payload(&copy, 2, text);
        assert_eq!(rust_verdict(&copy), None, "{text}");
        let (code, out) = python_verdict(&copy);
        assert_eq!(code, 0, "{text}: {out}");
    }

    let body = stored.strip_prefix('{').unwrap();
    let refused = [
        format!(r#"{{"a":"1","a":"2",{body}"#),
        format!(r#"{{"a":1.5,{body}"#),
        format!(r#"{{"a":9007199254740993,{body}"#),
        "[]".to_owned(),
        "not json".to_owned(),
    ];
    for (i, text) in refused.iter().enumerate() {
        let copy = dir.path().join(format!("refused-{i}.db"));
        copy_of(&path, &copy);
        set_payload(&copy, 2, text);
        let verdict = rust_verdict(&copy);
        assert!(
            matches!(verdict, Some((2, BreakReason::Malformed { .. }))),
            "{text}: {verdict:?}"
        );
        let (code, out) = python_verdict(&copy);
        assert_eq!(code, 1, "{text}: {out}");
        assert!(out.contains("BROKEN at seq 2"), "{text}: {out}");
    }

    // A value for the same payload, changed: a plain hash mismatch.
    let copy = dir.path().join("edited.db");
    copy_of(&path, &copy);
    set_payload(&copy, 2, &stored.replace("tier/1", "tier/9"));
    assert!(matches!(
        rust_verdict(&copy),
        Some((2, BreakReason::HashMismatch { .. }))
    ));
    let (code, out) = python_verdict(&copy);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at seq 2: hash mismatch"), "{out}");
}

#[test]
fn a_number_written_into_a_text_column_is_an_edit_in_both() {
    // The tables are STRICT: a value of another type is refused or, like
    // this number in a TEXT column, stored as text. Either way, an edit.
    let dir = tempfile::tempdir().unwrap();
    let path = populated(dir.path(), "base.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("UPDATE audit_records SET actor = 5 WHERE tenant = 'org-1' AND seq = 3")
        .unwrap();
    let verdict = rust_verdict(&path);
    assert!(
        matches!(verdict, Some((3, BreakReason::HashMismatch { .. }))),
        "{verdict:?}"
    );
    let (code, out) = python_verdict(&path);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at seq 3: hash mismatch"), "{out}");
}
