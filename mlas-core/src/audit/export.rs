//! Exports: JSON Lines (verifiable on its own) and CSV (for people).
//!
//! A JSON Lines export has one record per line: the canonical JSON of the
//! record's ten hashed members plus its `hash`, then `\n`. Dropping `hash` from
//! a line's object and hashing the canonical JSON of the rest gives `hash`
//! back, so the file verifies with nothing but itself (and the key, in keyed
//! mode). See AUDIT.md.
//!
//! A CSV export is for spreadsheets and does not verify on its own: text cells
//! that a spreadsheet would run as a formula are defused, which changes them.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{BufRead, Write};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::canonical::{Stored, write_row};
use super::checkpoint::is_hash;
use super::row::AuditRow;
use super::verify::{AuditVerification, BreakReason, ChainVerifier};
use super::{AuditRecord, canonical_json, check_profile, digest};
use crate::error::{Error, Result};

/// The members of a JSON Lines record: the ten hashed ones and `hash`.
pub const JSONL_MEMBERS: [&str; 11] = [
    "actor",
    "affiliate_id",
    "at",
    "hash",
    "payload",
    "prev_hash",
    "resource_id",
    "resource_type",
    "seq",
    "tenant",
    "type",
];

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 11] = [
    "seq",
    "at",
    "tenant",
    "type",
    "resource_type",
    "resource_id",
    "affiliate_id",
    "actor",
    "payload",
    "prev_hash",
    "hash",
];

fn write_error(e: &dyn fmt::Display) -> Error {
    Error::storage(format!("writing the audit export failed: {e}"))
}

/// Writes `record` as one JSON Lines line (canonical JSON, then `\n`).
///
/// # Errors
/// `Storage` when the writer fails; `Integrity` for a record outside the profile.
pub fn write_jsonl_record(out: &mut dyn Write, record: &AuditRecord) -> Result<()> {
    write_jsonl_row(out, &record.as_row(), &mut Vec::new())
}

/// Writes a stored row as one JSON Lines line, like [`write_jsonl_record`],
/// using `buf` as scratch space (reuse it across rows). A payload stored as
/// canonical JSON text is copied as it is; other text is parsed and
/// re-encoded.
///
/// # Errors
/// `Storage` when the writer fails; `Integrity` for a payload that is not
/// JSON or lies outside the profile.
pub fn write_jsonl_row(out: &mut dyn Write, row: &AuditRow<'_>, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    write_row(buf, row, Some(row.hash), Stored::Lenient)
        .map_err(|e| Error::integrity(format!("audit record {}: {e}", row.seq)))?;
    buf.push(b'\n');
    out.write_all(buf).map_err(|e| write_error(&e))
}

/// Verifies a JSON Lines export read from `input` with `verifier` (which says
/// where the first line must attach and holds the key in keyed mode).
///
/// Memory stays constant: one line is held at a time. A line that is not a
/// record in the documented format is reported as [`BreakReason::Malformed`]
/// at the sequence number it should have had.
///
/// # Errors
/// `Storage` when reading fails. A broken chain is not an error: it is in the
/// returned report.
pub fn verify_jsonl(input: impl BufRead, mut verifier: ChainVerifier) -> Result<AuditVerification> {
    feed_jsonl(input, &mut verifier)?;
    Ok(verifier.finish())
}

/// Feeds every line of a JSON Lines export to `verifier`, stopping at the
/// first broken record (so several files can be checked as one chain).
///
/// # Errors
/// `Storage` when reading fails.
pub fn feed_jsonl(mut input: impl BufRead, verifier: &mut ChainVerifier) -> Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .map_err(|e| Error::storage(format!("reading the audit export failed: {e}")))?;
        if read == 0 {
            break;
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        if !check_line(verifier, text) {
            break;
        }
    }
    Ok(())
}

/// Checks one line; `false` once the chain is broken.
fn check_line(verifier: &mut ChainVerifier, text: &str) -> bool {
    let at = verifier.next_seq().unwrap_or(0);
    match parse_line(text) {
        Err(message) => {
            verifier.fail(at, BreakReason::Malformed { message });
            false
        }
        Ok(line) => {
            let computed = digest(&line.hashed_bytes, verifier.key());
            verifier.check(
                line.seq,
                &line.tenant,
                &line.prev_hash,
                &line.hash,
                match &computed {
                    Ok(hash) => Ok(hash),
                    Err(e) => Err(e.to_string()),
                },
            )
        }
    }
}

/// What a line holds, ready to check.
struct Line {
    seq: u64,
    tenant: String,
    prev_hash: String,
    hash: String,
    /// The canonical JSON of the line's object without `hash`.
    hashed_bytes: Vec<u8>,
}

fn parse_line(text: &str) -> std::result::Result<Line, String> {
    let Strict(value) = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("not a JSON object".into());
    };
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = JSONL_MEMBERS.into_iter().collect();
    if keys != expected {
        return Err(format!("members {keys:?}, expected exactly {expected:?}"));
    }
    for name in ["actor", "at", "resource_id", "resource_type", "type"] {
        string_member(&object, name)?;
    }
    if !matches!(
        object.get("affiliate_id"),
        Some(Value::String(_) | Value::Null)
    ) {
        return Err("affiliate_id is neither a string nor null".into());
    }
    match object.get("payload") {
        Some(payload @ Value::Object(_)) => check_profile(payload).map_err(|e| e.to_string())?,
        _ => return Err("payload is not an object".into()),
    }
    let seq = parse_seq(string_member(&object, "seq")?)?;
    let tenant = string_member(&object, "tenant")?.to_owned();
    let prev_hash = string_member(&object, "prev_hash")?.to_owned();
    if !is_hash(&prev_hash) {
        return Err("prev_hash is not 64 lower-case hex digits".into());
    }
    let Some(Value::String(hash)) = object.remove("hash") else {
        return Err("hash is not a string".into());
    };
    let hashed_bytes = canonical_json(&Value::Object(object))?;
    Ok(Line {
        seq,
        tenant,
        prev_hash,
        hash,
        hashed_bytes,
    })
}

fn string_member<'a>(
    object: &'a Map<String, Value>,
    name: &str,
) -> std::result::Result<&'a str, String> {
    object
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} is not a string"))
}

/// A sequence number as the format writes it: decimal digits, no sign, no
/// leading zero, at least 1.
fn parse_seq(text: &str) -> std::result::Result<u64, String> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    if !canonical {
        return Err(format!("seq {text:?} is not a decimal number from 1"));
    }
    text.parse()
        .map_err(|_| format!("seq {text:?} is out of range"))
}

/// A JSON value parsed with duplicate object keys refused: a line whose
/// members two readers could see differently is not a record.
pub(crate) struct Strict(pub(crate) Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> std::result::Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Strict, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Strict(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Strict, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate member {key:?}")));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Strict(Value::Object(object)))
    }
}

/// A CSV export in progress: a header row, then one row per record.
///
/// Text cells starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// get a leading `'` so that a spreadsheet shows them instead of running them
/// as a formula. The export has no amount columns; money stays inside the
/// `payload` column, a JSON object that always starts with `{`, and is left
/// as it is (`"-10.00"` there is a real clawback). `seq`, `at` and the hashes
/// cannot start with those characters and are written as they are.
pub struct CsvExport<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> fmt::Debug for CsvExport<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvExport").finish_non_exhaustive()
    }
}

impl<W: Write> CsvExport<W> {
    /// Starts an export to `out`, writing the header row.
    ///
    /// # Errors
    /// `Storage` when the writer fails.
    pub fn new(out: W) -> Result<Self> {
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(CSV_COLUMNS)
            .map_err(|e| write_error(&e))?;
        Ok(CsvExport { writer })
    }

    /// Writes one record as a row.
    ///
    /// # Errors
    /// `Storage` when the writer fails; `Integrity` for a record outside the profile.
    pub fn write(&mut self, record: &AuditRecord) -> Result<()> {
        let payload = canonical_json(&record.payload)
            .map_err(|e| Error::integrity(format!("audit record {}: {e}", record.seq)))?;
        let payload = String::from_utf8(payload)
            .map_err(|e| Error::integrity(format!("audit record {}: {e}", record.seq)))?;
        let row = [
            record.seq.to_string(),
            crate::clock::rfc3339(record.at),
            neutralise(record.tenant.as_str()),
            neutralise(&record.kind),
            neutralise(&record.resource_type),
            neutralise(&record.resource_id),
            record
                .affiliate_id
                .as_deref()
                .map(neutralise)
                .unwrap_or_default(),
            neutralise(&record.actor),
            payload,
            record.prev_hash.clone(),
            record.hash.clone(),
        ];
        self.writer.write_record(&row).map_err(|e| write_error(&e))
    }

    /// Flushes the export and gives the writer back.
    ///
    /// # Errors
    /// `Storage` when flushing fails.
    pub fn finish(self) -> Result<W> {
        self.writer.into_inner().map_err(|e| write_error(&e))
    }
}

/// Defuses a text cell a spreadsheet would take for a formula.
pub fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditEvent;
    use crate::ids::TenantId;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn records(n: u64) -> Vec<AuditRecord> {
        let tenant = TenantId::new("org-1").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap();
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let head = out.last().map(AuditRecord::head);
            let event = AuditEvent {
                kind: "adjustment.created",
                resource_type: "adjustment",
                resource_id: format!("adj-{i}"),
                affiliate_id: (i % 2 == 0).then(|| "=HYPERLINK(1)".to_owned()),
                payload: json!({"amount": "-10.00", "reason": "é\u{1}\"\\ 😀"}),
            };
            out.push(
                AuditRecord::chained(&tenant, head.as_ref(), at, "-ops", event, None).unwrap(),
            );
        }
        out
    }

    fn jsonl(records: &[AuditRecord]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            write_jsonl_record(&mut out, r).unwrap();
        }
        out
    }

    #[test]
    fn an_export_verifies_on_its_own() {
        let records = records(4);
        let file = jsonl(&records);
        let report = verify_jsonl(&file[..], ChainVerifier::from_genesis(None)).unwrap();
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.head, Some(records[3].head()));
    }

    #[test]
    fn an_edited_line_is_caught() {
        let file = String::from_utf8(jsonl(&records(4))).unwrap();
        let mut lines: Vec<String> = file.lines().map(str::to_owned).collect();
        lines[2] = lines[2].replace("-10.00", "-99.00");
        let edited = lines.join("\n");
        let report = verify_jsonl(edited.as_bytes(), ChainVerifier::from_genesis(None)).unwrap();
        let broken = report.broken.unwrap();
        assert_eq!(broken.seq, 3);
        assert!(matches!(broken.reason, BreakReason::HashMismatch { .. }));
    }

    #[test]
    fn malformed_lines_are_named_by_position() {
        let file = String::from_utf8(jsonl(&records(3))).unwrap();
        let mut lines: Vec<&str> = file.lines().collect();
        lines[1] = r#"{"seq":"2","seq":"2"}"#;
        let report = verify_jsonl(
            lines.join("\n").as_bytes(),
            ChainVerifier::from_genesis(None),
        )
        .unwrap();
        let broken = report.broken.unwrap();
        assert_eq!(broken.seq, 2);
        assert!(matches!(broken.reason, BreakReason::Malformed { .. }));
    }

    #[test]
    fn csv_defuses_formulas_but_not_the_payload() {
        let mut export = CsvExport::new(Vec::new()).unwrap();
        for r in records(2) {
            export.write(&r).unwrap();
        }
        let text = String::from_utf8(export.finish().unwrap()).unwrap();
        assert!(text.starts_with("seq,at,tenant,type,"));
        assert!(text.contains("'=HYPERLINK(1)"));
        assert!(text.contains(",'-ops,"));
        assert!(text.contains(r#"""amount"":""-10.00"""#));
    }

    #[test]
    fn neutralise_covers_every_trigger() {
        for cell in ["=1", "+1", "-1", "@a", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"));
        }
        assert_eq!(neutralise("ok"), "ok");
    }
}
