//! The audit trail: verification, checkpoints, queries, streamed exports,
//! archiving, and the health report.

use std::ffi::{c_char, c_void};
use std::fs::File;
use std::io::{BufReader, Write};

use mlas_core::{
    AuditHead, AuditQuery, AuditRange, AuditRecord, AuditVerification, Checkpoint, Error,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::boundary::{Failure, Out, Outcome, call, parse_json, str_arg, write_json, write_string};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json::time;
use crate::status::{MLAS_ERR_STORAGE, mlas_status};

/// Export format: JSON Lines, one canonical record per line; verifies on its own.
pub const MLAS_AUDIT_FORMAT_JSONL: i32 = 1;
/// Export format: CSV with a header row, text cells defused against
/// spreadsheet formulas; for people.
pub const MLAS_AUDIT_FORMAT_CSV: i32 = 2;

const _: () = {
    assert!(MLAS_AUDIT_FORMAT_JSONL == 1);
    assert!(MLAS_AUDIT_FORMAT_CSV == 2);
};

/// Receives exported bytes: `len` bytes at `bytes` (valid only during the
/// call), in order. Returns 0 to go on; any other value stops the export,
/// which then fails with `MLAS_ERR_STORAGE`.
#[allow(non_camel_case_types)]
pub type mlas_write_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, bytes: *const u8, len: usize) -> i32>;

struct CallbackWriter {
    write: unsafe extern "C" fn(*mut c_void, *const u8, usize) -> i32,
    user_data: *mut c_void,
}

impl Write for CallbackWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // SAFETY: the host gave this function for this signature; `buf` is
        // valid for `buf.len()` bytes during the call.
        let answer = unsafe { (self.write)(self.user_data, buf.as_ptr(), buf.len()) };
        if answer == 0 {
            Ok(buf.len())
        } else {
            Err(std::io::Error::other(format!(
                "the write callback returned {answer}"
            )))
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn head_json(head: Option<&AuditHead>) -> Value {
    head.map_or(Value::Null, |h| json!({"seq": h.seq, "hash": h.hash}))
}

fn verification_json(v: &AuditVerification) -> Value {
    json!({
        "intact": v.is_intact(),
        "records": v.records,
        "start": head_json(v.start.as_ref()),
        "head": head_json(v.head.as_ref()),
        "broken": v.broken.as_ref().map(|b| json!({
            "seq": b.seq,
            "reason": b.reason.to_string(),
        })),
    })
}

fn record_json(r: &AuditRecord) -> Value {
    json!({
        "seq": r.seq,
        "at": time(r.at),
        "kind": r.kind,
        "resource_type": r.resource_type,
        "resource_id": r.resource_id,
        "affiliate_id": r.affiliate_id,
        "actor": r.actor,
        "payload": r.payload,
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    })
}

/// Verifies the tenant's whole audit chain in constant memory. A broken chain
/// is a finding, not a failure: the call returns `MLAS_OK` and the report
/// says where.
///
/// On success `*out_json` receives `{"intact": true, "records": 42,
/// "start": null, "head": {"seq": 42, "hash": "..."}, "broken": null}`; when
/// broken, `"broken": {"seq": 7, "reason": "hash mismatch: ..."}` names the
/// first broken record. Owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `out_json` is NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_verify(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let report = engine.verify_audit(scope)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &verification_json(&report)) }
    })
}

/// The chain head as a checkpoint, for the host to keep outside the database
/// (only a checkpoint kept elsewhere reveals a truncated or rewritten tail).
///
/// On success `*out_json` receives one line of canonical JSON,
/// `{"at":"2026-...Z","hash":"...","seq":"42","tag":null,"tenant":"org-123"}`
/// (store it as it is), owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_audit_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_checkpoint(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let checkpoint = engine.checkpoint(scope)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_string(out, checkpoint.to_json()) }
    })
}

/// Verifies the chain as `mlas_audit_verify` does and also against a
/// checkpoint from `mlas_audit_checkpoint` (`checkpoint_json`, UTF-8,
/// `checkpoint_len` bytes): a truncated tail or a tail rewritten since then is
/// reported in `broken`. A malformed checkpoint or one of another tenant is
/// `MLAS_ERR_VALIDATION`.
///
/// On success `*out_json` receives the report (see `mlas_audit_verify`),
/// owned by the caller; release it with `mlas_string_free`. On failure
/// `*out_json` is not written.
///
/// # Safety
/// As `mlas_audit_verify`, with `checkpoint_json` pointing to
/// `checkpoint_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_verify_checkpoint(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    checkpoint_json: *const c_char,
    checkpoint_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `checkpoint_len` readable bytes or NULL.
        let text = unsafe { str_arg(checkpoint_json, checkpoint_len, "checkpoint_json")? };
        let out = Out::new(out_json, "out_json")?;
        let checkpoint = Checkpoint::from_json(text)?;
        let report = engine.verify_against(scope, &checkpoint)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &verification_json(&report)) }
    })
}

/// Verifies part of the chain: the records `from_seq..=through_seq`
/// (`through_seq` 0: to the head), in constant memory. The record before
/// `from_seq` is read and checked as well, so the range's first link is
/// verified too; `records` in the report counts it. Cheaper than
/// `mlas_audit_verify` for checking what was added since a known-good point.
///
/// A broken range is a finding: `MLAS_OK` with `broken` set, as for
/// `mlas_audit_verify`. Fails with `MLAS_ERR_VALIDATION` for `from_seq` 0, a
/// `through_seq` below `from_seq`, or a `from_seq` that was archived (verify
/// archives with `mlas_audit_verify_archives`).
///
/// On success `*out_json` receives the report (see `mlas_audit_verify`),
/// owned by the caller; release it with `mlas_string_free`. On failure
/// `*out_json` is not written.
///
/// # Safety
/// As `mlas_audit_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_verify_range(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    from_seq: u64,
    through_seq: u64,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let through = (through_seq != 0).then_some(through_seq);
        let report = engine.verify_audit_range(scope, from_seq, through)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &verification_json(&report)) }
    })
}

/// Verifies archive files and the chain in the database as one chain: the
/// archives in the order given, from genesis, each continuing the one
/// before, then the database from its anchor, which must be where the last
/// archive ends. This is how to check a tenant's whole history after
/// `mlas_audit_archive` removed its oldest records.
///
/// `paths_json` (UTF-8, `paths_len` bytes) is a JSON array of the archive
/// files' paths, oldest first: `["/srv/mlas/archive-1.jsonl",
/// "/srv/mlas/archive-2.jsonl"]`. Each file holds exactly the JSON Lines that
/// `mlas_audit_archive` passed to its write callback. The files are opened
/// before anything is verified and read once, line by line. An empty array
/// verifies the database alone, from genesis (broken when records were
/// archived).
///
/// A broken chain, a missing archive or one out of order is a finding:
/// `MLAS_OK` with `broken` set (`"reason"` says which archive boundary or
/// record failed). Fails with `MLAS_ERR_INVALID_JSON` / `MLAS_ERR_VALIDATION`
/// for `paths_json` that is not an array of non-empty strings, and with
/// `MLAS_ERR_STORAGE` for a file that cannot be opened or read (the message
/// names it).
///
/// On success `*out_json` receives the report (see `mlas_audit_verify`),
/// owned by the caller; release it with `mlas_string_free`. On failure
/// `*out_json` is not written.
///
/// # Safety
/// As `mlas_audit_verify`, with `paths_json` pointing to `paths_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_verify_archives(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    paths_json: *const c_char,
    paths_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `paths_len` readable bytes or NULL.
        let text = unsafe { str_arg(paths_json, paths_len, "paths_json")? };
        let out = Out::new(out_json, "out_json")?;
        let paths: Vec<String> = parse_json(text, "paths_json")?;
        let mut archives = Vec::with_capacity(paths.len());
        for path in &paths {
            if path.is_empty() || path.contains('\0') {
                return Err(Error::validation(
                    "paths_json",
                    "each path must be non-empty and without NUL",
                )
                .into());
            }
            let file = File::open(path).map_err(|e| {
                Failure::new(
                    MLAS_ERR_STORAGE,
                    format!("cannot open audit archive {path}: {e}"),
                )
            })?;
            archives.push(BufReader::new(file));
        }
        let report = engine.verify_audit_with_archives(scope, archives)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &verification_json(&report)) }
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct QueryJson {
    #[serde(default)]
    resource_id: Option<String>,
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    until: Option<i64>,
    #[serde(default)]
    after_seq: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

fn micros_field(us: Option<i64>, field: &str) -> Outcome<Option<chrono::DateTime<chrono::Utc>>> {
    us.map(|us| {
        mlas_core::clock::from_micros(us).ok_or_else(|| {
            Failure::from(Error::validation(
                field,
                format!("time {us} is out of range"),
            ))
        })
    })
    .transpose()
}

/// Queries the audit trail, oldest first, one page at a time. `query_json`
/// (UTF-8, `query_len` bytes; every key optional):
///
/// ```json
/// {"resource_id": "com_...", "affiliate_id": "aff-123",
///  "kind": "commission.approved", "from": 1769947200000000,
///  "until": 1772539200000000, "after_seq": 100, "limit": 10}
/// ```
///
/// `from`/`until` are microseconds (`until` exclusive); `limit` defaults to
/// 100 and is at most 1000; `after_seq` is the cursor of the previous page.
///
/// On success `*out_json` receives `{"records": [{"seq", "at", "kind",
/// "resource_type", "resource_id", "affiliate_id", "actor", "payload",
/// "prev_hash", "hash"}], "next_cursor": 110}` (`next_cursor` is null on the
/// last page), owned by the caller; release it with `mlas_string_free`. On
/// failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_audit_verify`, with `query_json` pointing to `query_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_query(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    query_json: *const c_char,
    query_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `query_len` readable bytes or NULL.
        let text = unsafe { str_arg(query_json, query_len, "query_json")? };
        let out = Out::new(out_json, "out_json")?;
        let q: QueryJson = parse_json(text, "query_json")?;
        let query = AuditQuery {
            resource_id: q.resource_id,
            affiliate_id: q.affiliate_id,
            kind: q.kind,
            from: micros_field(q.from, "from")?,
            until: micros_field(q.until, "until")?,
            after_seq: q.after_seq,
            limit: q.limit,
        };
        let page = engine.audit_records(scope, &query)?;
        let doc = json!({
            "records": page.records.iter().map(record_json).collect::<Vec<_>>(),
            "next_cursor": page.next_cursor,
        });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &doc) }
    })
}

/// Streams the audit records `from_seq..=through_seq` (0 for "from the
/// start" / "to the head") to `write` as `format`
/// (`MLAS_AUDIT_FORMAT_JSONL` or `MLAS_AUDIT_FORMAT_CSV`; any other value is
/// `MLAS_ERR_INVALID_ARGUMENT`). `write` is called on this thread, during
/// this call, with `user_data`.
///
/// On success `*out_json` receives `{"records": 42, "first_seq": 1, "last":
/// {"seq": 42, "hash": "..."}}`, owned by the caller; release it with
/// `mlas_string_free`. On failure (`MLAS_ERR_STORAGE` when `write` refused)
/// `*out_json` is not written, and the bytes already written are a partial
/// export to discard.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `write` is NULL or a function
/// of the documented signature; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_export(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    format: i32,
    from_seq: u64,
    through_seq: u64,
    write: mlas_write_fn,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let write = write.ok_or_else(|| Failure::null("write"))?;
        let out = Out::new(out_json, "out_json")?;
        let range = AuditRange {
            from_seq: (from_seq != 0).then_some(from_seq),
            through_seq: (through_seq != 0).then_some(through_seq),
        };
        let mut writer = CallbackWriter { write, user_data };
        let summary = match format {
            MLAS_AUDIT_FORMAT_JSONL => engine.export_audit_jsonl(scope, range, &mut writer)?,
            MLAS_AUDIT_FORMAT_CSV => engine.export_audit_csv(scope, range, &mut writer)?,
            other => {
                return Err(Failure::argument(format!(
                    "format {other} is not an MLAS_AUDIT_FORMAT_* value"
                )));
            }
        };
        let doc = json!({
            "records": summary.records,
            "first_seq": summary.first_seq,
            "last": head_json(summary.last.as_ref()),
        });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &doc) }
    })
}

/// Archives the audit records older than `before_micros`: streams them to
/// `write` as JSON Lines, then deletes them, keeping the last one as the
/// chain's anchor and appending an `audit.archived` record, so the rest of
/// the chain still verifies. Keep the archive: it verifies on its own.
///
/// On success `*out_json` receives `{"records": 10, "from_seq": 1, "anchor":
/// {"seq": 10, "hash": "..."}}` (`records` 0 when nothing was old enough),
/// owned by the caller; release it with `mlas_string_free`. On failure
/// `*out_json` is not written and nothing was deleted (discard what `write`
/// received).
///
/// # Safety
/// As `mlas_audit_export`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_audit_archive(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    before_micros: i64,
    write: mlas_write_fn,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let write = write.ok_or_else(|| Failure::null("write"))?;
        let out = Out::new(out_json, "out_json")?;
        let before = mlas_core::clock::from_micros(before_micros)
            .ok_or_else(|| Failure::argument(format!("time {before_micros} is out of range")))?;
        let mut writer = CallbackWriter { write, user_data };
        let outcome = engine.archive_audit(scope, before, &mut writer)?;
        let doc = json!({
            "records": outcome.records,
            "from_seq": outcome.from_seq,
            "anchor": head_json(outcome.anchor.as_ref()),
        });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &doc) }
    })
}

/// The health report of the engine for the tenant (the runbook's health
/// check): `{"status": "healthy", "version": "0.1.0", "backend": "sqlite",
/// "schema_version": 1, "audit_head": {"seq", "hash"} | null,
/// "audit_records": 42, "audit_intact": true, "problem": null,
/// "checked_at": 1769947200000000}`.
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_audit_verify`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_health(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let h = engine.health(scope);
        let doc = json!({
            "status": h.status.as_str(),
            "version": h.version,
            "backend": h.backend,
            "schema_version": h.schema_version,
            "audit_head": head_json(h.audit_head.as_ref()),
            "audit_records": h.audit_records,
            "audit_intact": h.audit_intact,
            "problem": h.problem,
            "checked_at": time(h.checked_at),
        });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &doc) }
    })
}
