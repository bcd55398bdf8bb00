//! A direct RFC 8785 (JCS) writer for audit records.
//!
//! Building a `serde_json::Map` per record and handing it to a general
//! canonicalizer cost about 8 µs a record, twenty times the SHA-256 over the
//! result, and made verification slow. This writer emits the same bytes
//! straight from the record: the ten top-level members in their fixed sorted
//! order, then the payload with object keys sorted by UTF-16 code units as
//! RFC 8785 requires. Integers of magnitude up to 2^53 are written as
//! integers; any other number (outside the audit profile) is handed to
//! `serde_json_canonicalizer`, so the output is RFC 8785 for every value.
//! The tests compare both encoders.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::row::{AuditPayload, AuditRow};
use super::{AuditRecord, check_profile};
use crate::clock::rfc3339;

/// What to do with a payload stored as JSON text that is not already
/// canonical JSON within the audit profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stored {
    /// Parse it as the verifiers do (duplicate member names refused), demand
    /// an object within the profile, and write its canonical form: what
    /// verification uses, so that Rust and `tools/verify_audit.py` agree.
    Strict,
    /// Parse it (as reading a record does) and write its canonical form.
    Lenient,
    /// Never parse it: the text is this module's own encoding of a parsed
    /// payload ([`value`]), written on another thread (see
    /// [`super::pipeline`]), so it is what encoding the value would write.
    /// Never for text read from a store.
    Encoded,
}

/// The canonical bytes of `record`'s hashed object.
pub(crate) fn record_bytes(record: &AuditRecord) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(320 + record.resource_id.len());
    write_row(&mut out, &record.as_row(), None, Stored::Lenient)?;
    Ok(out)
}

/// Appends the canonical JSON of `row`'s hashed object to `out`; with
/// `hash`, of the hashed object plus `hash` (a JSON Lines export line,
/// without its newline).
pub(crate) fn write_row(
    out: &mut Vec<u8>,
    row: &AuditRow<'_>,
    hash: Option<&str>,
    stored: Stored,
) -> Result<(), String> {
    out.extend_from_slice(b"{\"actor\":");
    string(out, row.actor);
    out.extend_from_slice(b",\"affiliate_id\":");
    match row.affiliate_id {
        Some(id) => string(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"at\":\"");
    time(out, row.at);
    if let Some(hash) = hash {
        out.extend_from_slice(b"\",\"hash\":");
        string(out, hash);
        out.extend_from_slice(b",\"payload\":");
    } else {
        out.extend_from_slice(b"\",\"payload\":");
    }
    payload(out, row.payload, stored)?;
    out.extend_from_slice(b",\"prev_hash\":");
    string(out, row.prev_hash);
    out.extend_from_slice(b",\"resource_id\":");
    string(out, row.resource_id);
    out.extend_from_slice(b",\"resource_type\":");
    string(out, row.resource_type);
    out.extend_from_slice(b",\"seq\":\"");
    decimal(out, row.seq);
    out.extend_from_slice(b"\",\"tenant\":");
    string(out, row.tenant);
    out.extend_from_slice(b",\"type\":");
    string(out, row.kind);
    out.push(b'}');
    Ok(())
}

/// Appends the canonical JSON of a payload.
fn payload(out: &mut Vec<u8>, payload: AuditPayload<'_>, stored: Stored) -> Result<(), String> {
    let text = match payload {
        AuditPayload::Value(v) => return value(out, v),
        AuditPayload::Json(text) => text,
    };
    // The library stores payloads as canonical JSON already; such text is
    // its own canonical form (`is_canonical` accepts only fixed points of
    // parse-then-encode), so its bytes are copied as they are.
    if stored == Stored::Encoded || is_canonical(text.as_bytes()) {
        out.extend_from_slice(text.as_bytes());
        return Ok(());
    }
    let parsed = match stored {
        // (`Encoded` text was copied above.)
        Stored::Lenient | Stored::Encoded => serde_json::from_str::<Value>(text)
            .map_err(|e| format!("stored payload is not valid: {e}"))?,
        Stored::Strict => {
            let super::export::Strict(parsed) = serde_json::from_str(text)
                .map_err(|e| format!("stored payload is not valid: {e}"))?;
            if !parsed.is_object() {
                return Err("stored payload is not a JSON object".into());
            }
            check_profile(&parsed).map_err(|e| e.to_string())?;
            parsed
        }
    };
    value(out, &parsed)
}

/// Appends `n` in decimal.
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The first and last second of the years 0000 to 9999, which the fast path
/// of [`time`] covers.
const FIRST_SECOND: i64 = -62_167_219_200;
const LAST_SECOND: i64 = 253_402_300_799;

/// Appends `t` as [`rfc3339`] writes it (`2026-02-06T09:30:00.250000Z`),
/// without a formatter for the years 0000 to 9999.
fn time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    let nanos = t.timestamp_subsec_nanos();
    let secs = t.timestamp();
    if nanos >= 1_000_000_000 || !(FIRST_SECOND..=LAST_SECOND).contains(&secs) {
        // A leap second or a year chrono writes with a sign: its own format.
        out.extend_from_slice(rfc3339(t).as_bytes());
        return;
    }
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let micros = nanos / 1_000;
    let mut b = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, second_of_day / 3_600);
    put(14, 2, second_of_day / 60 % 60);
    put(17, 2, second_of_day % 60);
    put(20, 6, micros);
    out.extend_from_slice(&b);
}

/// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01
/// (H. Hinnant's `civil_from_days`), for years 0 to 9999.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn civil_from_days(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// How deep [`is_canonical`] follows nesting before it leaves the text to
/// the parser (whose own limit then applies).
const MAX_DEPTH: usize = 64;

/// Whether `text` is a JSON object written exactly as this module would
/// write its parsed value, within the audit profile: no whitespace, members
/// in strictly increasing order (so no duplicates), names without escapes or
/// characters beyond U+FFFF, strings escaped as [`string`] does, integers of
/// at most 15 digits and no other numbers. Such text parses to a value whose
/// canonical JSON is the text itself. `false` means only "not known to be":
/// the caller then parses and re-encodes.
pub(crate) fn is_canonical(text: &[u8]) -> bool {
    let mut scan = Scan { b: text, i: 0 };
    text.first() == Some(&b'{') && scan.value(0) && scan.i == text.len()
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().is_some(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            _ => false,
        }
    }

    fn object(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.eat(b'}') {
            return true;
        }
        let mut previous: Option<&'a [u8]> = None;
        loop {
            let Some(name) = self.string() else {
                return false;
            };
            // Raw UTF-8 byte order is code point order, which is RFC 8785's
            // UTF-16 order for names within the Basic Multilingual Plane
            // (no 4-byte sequences). Escaped names are left to the parser.
            if name.contains(&b'\\') || name.iter().any(|&b| b >= 0xF0) {
                return false;
            }
            if previous.is_some_and(|p| p >= name) {
                return false;
            }
            previous = Some(name);
            if !self.eat(b':') || !self.value(depth + 1) {
                return false;
            }
            if self.eat(b'}') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn array(&mut self, depth: usize) -> bool {
        self.i += 1;
        if self.eat(b']') {
            return true;
        }
        loop {
            if !self.value(depth + 1) {
                return false;
            }
            if self.eat(b']') {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    /// A string escaped exactly as [`string`] escapes; returns its raw
    /// contents (between the quotes).
    fn string(&mut self) -> Option<&'a [u8]> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        loop {
            self.i += plain_prefix(&self.b[self.i..]);
            let b = *self.b.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return Some(&self.b[start..self.i - 1]),
                b'\\' => {
                    let e = *self.b.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            // Only `\u00XX`, lower-case, for a control
                            // character without a short form.
                            let hex = self.b.get(self.i..self.i + 4)?;
                            self.i += 4;
                            let low = match hex[3] {
                                d @ b'0'..=b'9' => d - b'0',
                                d @ b'a'..=b'f' => d - b'a' + 10,
                                _ => return None,
                            };
                            let c = match hex[..3] {
                                [b'0', b'0', b'0'] => low,
                                [b'0', b'0', b'1'] => 0x10 | low,
                                _ => return None,
                            };
                            if matches!(c, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d) {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => {}
            }
        }
    }

    /// `0` or `-?[1-9][0-9]{0,14}`: an integer well inside 2^53 that the
    /// writer gives back digit for digit (not `-0`, which parses as a float).
    fn integer(&mut self) -> bool {
        let negative = self.eat(b'-');
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        match digits {
            [b'0'] => !negative,
            [] | [b'0', ..] => false,
            _ => digits.len() <= 15,
        }
    }
}

/// Appends the canonical JSON of `v`.
pub(crate) fn value(out: &mut Vec<u8>, v: &Value) -> Result<(), String> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::String(s) => string(out, s),
        Value::Number(n) => {
            const SAFE: u64 = 1 << 53;
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) if i.unsigned_abs() <= SAFE => {
                    out.extend_from_slice(i.to_string().as_bytes());
                }
                (_, Some(u)) if u <= SAFE => out.extend_from_slice(u.to_string().as_bytes()),
                _ => out.extend_from_slice(
                    &serde_json_canonicalizer::to_vec(v).map_err(|e| e.to_string())?,
                ),
            }
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // The map iterates in UTF-8 (code point) order, which is UTF-16
            // order unless a key has characters beyond U+FFFF (4-byte UTF-8
            // sequences, led by 0xF0 to 0xF4): only then sort.
            let member = |out: &mut Vec<u8>, i: usize, key: &str, item: &Value| {
                if i > 0 {
                    out.push(b',');
                }
                string(out, key);
                out.push(b':');
                value(out, item)
            };
            out.push(b'{');
            if map.keys().any(|k| k.bytes().any(|b| b >= 0xF0)) {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                for (i, (key, item)) in entries.into_iter().enumerate() {
                    member(out, i, key, item)?;
                }
            } else {
                for (i, (key, item)) in map.iter().enumerate() {
                    member(out, i, key, item)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// How many leading bytes of `bytes` a JSON string holds as they are (no
/// `"`, `\` or control character), eight at a time.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
        // A byte below 0x20, or equal to `"`, or to `\`.
        let special = (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
            | zero_in(w ^ (ONES * u64::from(b'"')))
            | zero_in(w ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            break;
        }
        i += 8;
    }
    while bytes
        .get(i)
        .is_some_and(|&b| b >= 0x20 && b != b'"' && b != b'\\')
    {
        i += 1;
    }
    i
}

/// Appends `s` as a JSON string, escaped as RFC 8785 (ECMAScript) does: `"`,
/// `\` and the control characters only, short forms where they exist.
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut bytes = s.as_bytes();
    loop {
        let plain = plain_prefix(bytes);
        out.extend_from_slice(&bytes[..plain]);
        let Some((&b, rest)) = bytes[plain..].split_first() else {
            break;
        };
        bytes = rest;
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => b"",
        };
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    fn same(v: &serde_json::Value) {
        let mut ours = Vec::new();
        super::value(&mut ours, v).unwrap();
        let reference = serde_json_canonicalizer::to_vec(v).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&reference),
            "{v:?}"
        );
    }

    #[test]
    fn matches_the_reference_canonicalizer_on_awkward_values() {
        same(&json!({
            "b": [1, -2, 9_007_199_254_740_992_u64, 1.5, 1e21, -0.0, 18_446_744_073_709_551_615_u64],
            "a": "quote \" backslash \\ slash / nl \n cr \r tab \t bs \u{8} ff \u{c} nul \u{0} \
                  us \u{1f} del \u{7f} ls \u{2028} é 😀",
            "\u{e000}": 1, "😀": 2, "": null, "A": true, "aa": false,
            "nested": {"z": [], "y": {}, "x": [{"k": "v"}, null]},
            "big": -9_007_199_254_740_993_i64,
        }));
    }

    #[test]
    fn a_record_encodes_as_its_hashed_object() {
        use chrono::TimeZone;
        let record = crate::audit::AuditRecord {
            tenant: crate::ids::TenantId::new("org-1").unwrap(),
            seq: 17,
            at: chrono::Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap(),
            kind: "commission.approved".into(),
            resource_type: "commission".into(),
            resource_id: "com-\"1\"".into(),
            affiliate_id: None,
            actor: "ops é".into(),
            payload: json!({"to": "APPROVED", "from": "PENDING", "n": [1, "2"]}),
            prev_hash: crate::audit::GENESIS_HASH.into(),
            hash: String::new(),
        };
        let reference = json!({
            "actor": record.actor, "affiliate_id": null,
            "at": crate::clock::rfc3339(record.at), "payload": record.payload,
            "prev_hash": record.prev_hash, "resource_id": record.resource_id,
            "resource_type": record.resource_type, "seq": "17", "tenant": "org-1",
            "type": record.kind,
        });
        assert_eq!(
            super::record_bytes(&record).unwrap(),
            serde_json_canonicalizer::to_vec(&reference).unwrap()
        );
    }

    /// What `is_canonical` promises: accepted text is the canonical JSON of
    /// its own parse.
    fn fixed_point(text: &str) -> bool {
        let accepted = super::is_canonical(text.as_bytes());
        if accepted {
            let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
            let mut again = Vec::new();
            super::value(&mut again, &parsed).unwrap();
            assert_eq!(String::from_utf8(again).unwrap(), text);
        }
        accepted
    }

    #[test]
    fn canonical_payload_text_is_recognised() {
        for text in [
            "{}",
            r#"{"a":"x","b":null,"c":[true,false,[],{}],"d":{"e":"\"\\\b\f\n\r\t\u0000\u001f/é😀"}}"#,
            r#"{"amount":"-10.50","big":999999999999999,"m":-7,"n":0}"#,
            r#"{"":1,"A":2,"a":3,"é":4}"#,
        ] {
            assert!(fixed_point(text), "{text}");
        }
        for text in [
            r#"{"a": "x"}"#,
            r#" {"a":"x"}"#,
            r#"{"a":"x"} "#,
            r#"{"b":"x","a":"y"}"#,
            r#"{"a":"x","a":"y"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\u001F"}"#,
            r#"{"a":"\u0008"}"#,
            r#"{"a":"\u00e9"}"#,
            r#"{"\u0061":"x"}"#,
            r#"{"😀":"x"}"#,
            r#"{"a":-0}"#,
            r#"{"a":1.0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":01}"#,
            r#"{"a":1234567890123456}"#,
            r#"{"a":tru}"#,
            r#"{"a":"x""#,
            r#"{"a":"x",}"#,
            r#"["a"]"#,
            r#""a""#,
            "",
        ] {
            assert!(!fixed_point(text), "{text}");
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(!fixed_point(&deep));
    }

    #[test]
    fn the_time_writer_matches_chrono() {
        use chrono::{DateTime, TimeZone, Utc};
        let mut cases: Vec<DateTime<Utc>> = vec![
            Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2000, 2, 29, 12, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2100, 3, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 12, 31, 23, 59, 59).unwrap(),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::from_timestamp_micros(-1).unwrap(),
            DateTime::from_timestamp_micros(1_772_366_400_123_456).unwrap(),
            DateTime::from_timestamp(1_772_366_400, 999_999_999).unwrap(),
            // A leap second, which chrono writes as :60.
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
        ];
        let mut t = -62_167_219_200_000_000_i64;
        while t < 253_402_300_800_000_000 {
            cases.push(DateTime::from_timestamp_micros(t).unwrap());
            t += 9_876_543_210_987;
        }
        for at in cases {
            let mut ours = Vec::new();
            super::time(&mut ours, at);
            assert_eq!(String::from_utf8(ours).unwrap(), crate::clock::rfc3339(at));
        }
    }

    proptest! {
        #[test]
        fn matches_the_reference_canonicalizer(
            entries in prop::collection::btree_map(".{0,6}", (".{0,12}", any::<i64>(), any::<bool>()), 0..6)
        ) {
            let object: serde_json::Map<String, serde_json::Value> = entries
                .into_iter()
                .map(|(k, (s, i, b))| (k, json!([s, i, b, {"s": s}])))
                .collect();
            same(&serde_json::Value::Object(object));
        }
        #[test]
        fn stored_text_is_either_canonical_or_left_to_the_parser(
            entries in prop::collection::btree_map("[a-c\\\\\"é]{0,3}", ("[ -~\u{0}-\u{1f}é😀]{0,6}", -99_i64..99, any::<bool>()), 0..5),
        ) {
            let object: serde_json::Map<String, serde_json::Value> = entries
                .into_iter()
                .map(|(k, (s, i, b))| (k, json!([s, i, b, null, {"s": s}])))
                .collect();
            let value = serde_json::Value::Object(object);
            // serde_json writes sorted members with the same escapes: the
            // SQLite backend stores canonical text.
            let compact = serde_json::to_string(&value).unwrap();
            let plain_keys = value.as_object().unwrap().keys().all(|k| !k.contains(['\\', '"']));
            prop_assert!(fixed_point(&compact) || !plain_keys, "{}", compact);
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            if pretty != compact {
                prop_assert!(!fixed_point(&pretty));
            }
            let mut ours = Vec::new();
            super::value(&mut ours, &value).unwrap();
            prop_assert_eq!(ours, compact.into_bytes());
        }

        #[test]
        fn plain_prefix_stops_where_a_byte_needs_escaping(bytes in prop::collection::vec(prop::sample::select(vec![0u8, 0x1f, 0x20, b'"', b'\\', b'a', 0x7f, 0x80, 0xdf, 0xff]), 0..40)) {
            let naive = bytes.iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').unwrap_or(bytes.len());
            prop_assert_eq!(super::plain_prefix(&bytes), naive);
        }

        #[test]
        fn the_time_writer_matches_chrono_anywhere(us in -62_167_219_200_000_000_i64..253_402_300_800_000_000) {
            let at = chrono::DateTime::from_timestamp_micros(us).unwrap();
            let mut ours = Vec::new();
            super::time(&mut ours, at);
            prop_assert_eq!(String::from_utf8(ours).unwrap(), crate::clock::rfc3339(at));
        }
    }
}
