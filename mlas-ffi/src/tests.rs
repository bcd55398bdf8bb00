//! Rust-side tests of the C boundary: the panic guard, NULL handling,
//! out-parameters left alone on failure, the last error, and a round trip.

#![allow(clippy::unwrap_used)]

use std::ffi::{CStr, c_char};
use std::ptr;

use crate::boundary::{Failure, call, call_void};
use crate::engine::{
    mlas_engine, mlas_engine_free, mlas_engine_open_memory, mlas_engine_set_time, mlas_scope,
    mlas_scope_free, mlas_scope_new,
};
use crate::status::*;
use crate::*;

fn last_error() -> String {
    // SAFETY: the pointer is never NULL and valid until the next call.
    unsafe { CStr::from_ptr(mlas_last_error_message()) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn take(text: *mut c_char) -> String {
    assert!(!text.is_null());
    // SAFETY: a string returned by libmlas, released right after.
    let owned = unsafe { CStr::from_ptr(text) }.to_str().unwrap().to_owned();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    unsafe { mlas_string_free(text) };
    owned
}

struct Fixture {
    engine: *mut mlas_engine,
    scope: *mut mlas_scope,
}

impl Fixture {
    fn new() -> Self {
        let mut engine = ptr::null_mut();
        let mut scope = ptr::null_mut();
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        unsafe {
            assert_eq!(
                mlas_engine_open_memory(ptr::null(), 0, &raw mut engine),
                MLAS_OK
            );
            assert_eq!(mlas_engine_set_time(engine, 1_769_947_200_000_000), MLAS_OK);
            let (t, a) = ("org-123", "rust-tests");
            assert_eq!(
                mlas_scope_new(
                    t.as_ptr().cast(),
                    t.len(),
                    a.as_ptr().cast(),
                    a.len(),
                    &raw mut scope
                ),
                MLAS_OK
            );
        }
        Fixture { engine, scope }
    }

    fn create(&self, doc: &str) -> (mlas_status, *mut c_char) {
        let mut out = ptr::null_mut();
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        let status = unsafe {
            affiliate::mlas_affiliate_create(
                self.engine,
                self.scope,
                doc.as_ptr().cast(),
                doc.len(),
                &raw mut out,
            )
        };
        (status, out)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        unsafe {
            mlas_scope_free(self.scope);
            mlas_engine_free(self.engine);
        }
    }
}

#[test]
fn a_panic_becomes_an_internal_status_and_a_message() {
    let status = call(|| panic!("boom {}", 42));
    assert_eq!(status, MLAS_ERR_INTERNAL);
    assert!(last_error().contains("boom 42"), "{}", last_error());

    let status = call(|| std::panic::panic_any(17_u8));
    assert_eq!(status, MLAS_ERR_INTERNAL);
    assert!(last_error().contains("panic"));

    // A later success clears the message; the thread is still usable.
    assert_eq!(call(|| Ok(())), MLAS_OK);
    assert_eq!(last_error(), "");
    call_void(|| panic!("in a free function"));
}

#[test]
fn failures_carry_their_status_and_message() {
    let status = call(|| Err(Failure::new(MLAS_ERR_CONFLICT, "taken")));
    assert_eq!(status, MLAS_ERR_CONFLICT);
    assert_eq!(last_error(), "taken");
    // A NUL inside a message does not lose it.
    call(|| Err(Failure::internal("a\0b")));
    assert_eq!(last_error(), "a\u{fffd}b");
}

#[test]
fn null_handles_and_out_parameters_are_refused_without_writing() {
    let fx = Fixture::new();
    let doc = r#"{"name":"Ann","email":"ann@example.com","commission_rate":"10"}"#;
    let sentinel = ptr::dangling_mut::<c_char>();
    let mut out = sentinel;
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    unsafe {
        let status = affiliate::mlas_affiliate_create(
            ptr::null(),
            fx.scope,
            doc.as_ptr().cast(),
            doc.len(),
            &raw mut out,
        );
        assert_eq!(status, MLAS_ERR_NULL_POINTER);
        assert!(last_error().contains("engine"));
        let status = affiliate::mlas_affiliate_create(
            fx.engine,
            ptr::null(),
            doc.as_ptr().cast(),
            doc.len(),
            &raw mut out,
        );
        assert_eq!(status, MLAS_ERR_NULL_POINTER);
        let status =
            affiliate::mlas_affiliate_create(fx.engine, fx.scope, ptr::null(), 3, &raw mut out);
        assert_eq!(status, MLAS_ERR_NULL_POINTER);
        let status = affiliate::mlas_affiliate_create(
            fx.engine,
            fx.scope,
            doc.as_ptr().cast(),
            doc.len(),
            ptr::null_mut(),
        );
        assert_eq!(status, MLAS_ERR_NULL_POINTER);
        assert_eq!(out, sentinel);

        // Nothing was created by any of them.
        let mut list = ptr::null_mut();
        assert_eq!(
            affiliate::mlas_affiliate_list(fx.engine, fx.scope, &raw mut list),
            MLAS_OK
        );
        assert_eq!(take(list), "[]");

        mlas_string_free(ptr::null_mut());
        mlas_engine_free(ptr::null_mut());
        mlas_scope_free(ptr::null_mut());
        payout::mlas_provider_free(ptr::null_mut());
    }
}

#[test]
fn invalid_utf8_and_lengths_are_refused() {
    let fx = Fixture::new();
    let (status, out) = fx.create("{\"name\":\"\u{0}\"}");
    assert_eq!(
        status, MLAS_ERR_INVALID_JSON,
        "a raw control character is not JSON"
    );
    assert!(out.is_null());
    let bad = [b'{', 0xff, b'}'];
    let mut out = ptr::null_mut();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        affiliate::mlas_affiliate_create(fx.engine, fx.scope, bad.as_ptr().cast(), 3, &raw mut out)
    };
    assert_eq!(status, MLAS_ERR_INVALID_UTF8);
    assert!(last_error().contains("offset 1"));
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        affiliate::mlas_affiliate_get(
            fx.engine,
            fx.scope,
            bad.as_ptr().cast(),
            usize::MAX,
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_ERR_INVALID_ARGUMENT);
    assert!(out.is_null());
}

#[test]
fn money_is_a_string_and_secrets_stay_masked() {
    let fx = Fixture::new();
    let (status, _) =
        fx.create(r#"{"name":"Ann","email":"ann@example.com","commission_rate":10.5}"#);
    assert_eq!(status, MLAS_ERR_VALIDATION);

    let (status, out) = fx.create(
        r#"{"id":"aff-1","name":"Ann","email":"ann@example.com","commission_rate":"10.5",
            "payout_details":{"type":"us_bank","account_number":"1234567890",
            "routing_number":"021000021","bank_name":"Chase","account_holder_name":"Ann"}}"#,
    );
    assert_eq!(status, MLAS_OK, "{}", last_error());
    let json = take(out);
    assert!(json.contains(r#""commission_rate":"10.5""#), "{json}");
    assert!(
        json.contains("****7890") && !json.contains("1234567890"),
        "{json}"
    );

    // A bad account number is refused without echoing it.
    let (status, _) = fx.create(
        r#"{"id":"aff-2","name":"Bo","email":"bo@example.com","commission_rate":"1",
            "payout_details":{"type":"us_bank","account_number":"12345678901234567890",
            "routing_number":"021000021","bank_name":"Chase","account_holder_name":"Bo"}}"#,
    );
    assert_eq!(status, MLAS_ERR_VALIDATION);
    assert!(
        !last_error().contains("12345678901234567890"),
        "{}",
        last_error()
    );
}

#[test]
fn status_names_and_version_are_static() {
    for (status, name) in ALL {
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        let got = unsafe { CStr::from_ptr(mlas_status_name(status)) };
        assert_eq!(got.to_str().unwrap(), name);
    }
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let unknown = unsafe { CStr::from_ptr(mlas_status_name(9999)) };
    assert_eq!(unknown.to_str().unwrap(), "MLAS_UNKNOWN_STATUS");
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let version = unsafe { CStr::from_ptr(mlas_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_sale_round_trips_through_json_and_explains_itself() {
    let fx = Fixture::new();
    let (status, out) =
        fx.create(r#"{"id":"a","name":"A","email":"a@example.com","commission_rate":"10"}"#);
    assert_eq!(status, MLAS_OK);
    take(out);
    let sale = r#"{"id":"s1","amount":"99.99","currency":"USD","affiliate_id":"a"}"#;
    let mut out = ptr::null_mut();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        sale::mlas_sale_record(
            fx.engine,
            fx.scope,
            sale.as_ptr().cast(),
            sale.len(),
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_OK, "{}", last_error());
    let json: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
    assert_eq!(json["commissions"][0]["amount"], "10.00");
    assert_eq!(json["sale"]["occurred_at"], 1_769_947_200_000_000_i64);
    assert_eq!(json["replayed"], false);

    // The same sale again is a replay; a different amount is a conflict.
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        sale::mlas_sale_record(
            fx.engine,
            fx.scope,
            sale.as_ptr().cast(),
            sale.len(),
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_OK);
    assert!(take(out).contains(r#""replayed":true"#));
    let other = r#"{"id":"s1","amount":"10.00","currency":"USD","affiliate_id":"a"}"#;
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        sale::mlas_sale_record(
            fx.engine,
            fx.scope,
            other.as_ptr().cast(),
            other.len(),
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_ERR_CONFLICT);

    let id = "s1";
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        sale::mlas_sale_explain(
            fx.engine,
            fx.scope,
            id.as_ptr().cast(),
            id.len(),
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_OK);
    let explanation: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
    assert_eq!(explanation["total"]["amount"], "10.00");
}

#[test]
fn unexpected_callback_answers_never_count_as_paid_or_failed() {
    unsafe extern "C" fn send(
        _: *mut std::ffi::c_void,
        _: *const c_char,
        _: usize,
        text: *mut c_char,
        cap: usize,
    ) -> i32 {
        // Answers garbage with a full, unterminated buffer.
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        unsafe { ptr::write_bytes(text, b'x', cap) };
        99
    }
    unsafe extern "C" fn status(
        _: *mut std::ffi::c_void,
        _: *const c_char,
        _: usize,
        _: *mut c_char,
        _: usize,
    ) -> i32 {
        -7
    }
    let mut provider = ptr::null_mut();
    assert_eq!(
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        unsafe {
            payout::mlas_provider_new(Some(send), Some(status), ptr::null_mut(), &raw mut provider)
        },
        MLAS_OK
    );
    // An unexpected answer is taken as UNKNOWN for send and PENDING for status:
    // the payout stays SENDING, never PAID or FAILED on a guess.
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let p = unsafe { &*provider };
    let instruction = mlas_core::PayoutInstruction {
        idempotency_key: mlas_core::PayoutId::new("pay_1").unwrap(),
        tenant: mlas_core::TenantId::new("t").unwrap(),
        batch: mlas_core::BatchId::new("b").unwrap(),
        affiliate: mlas_core::AffiliateId::new("a").unwrap(),
        amount: mlas_core::Money::parse(
            "1.00",
            mlas_core::Currency::parse("USD").unwrap(),
            "amount",
        )
        .unwrap(),
        details: mlas_core::PayoutDetails::paypal("a@example.com").unwrap(),
        reference: "r".into(),
        attempt: 1,
    };
    let provider_dyn = p.as_provider();
    assert!(matches!(
        provider_dyn.send(&instruction),
        mlas_core::ProviderOutcome::Unknown { .. }
    ));
    assert_eq!(
        provider_dyn.status(&instruction.idempotency_key),
        mlas_core::ProviderStatus::Pending
    );
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    unsafe { payout::mlas_provider_free(provider) };
}

// ---- SQLite settings, backups, and audit verification by range and archive.

/// A UTF-8 argument as pointer + length.
fn arg(text: &str) -> (*const c_char, usize) {
    (text.as_ptr().cast(), text.len())
}

/// Opens an engine on `path` with `config`; the status and the handle.
fn open_file(path: &std::path::Path, config: Option<&str>) -> (mlas_status, *mut mlas_engine) {
    let path = path.to_str().unwrap();
    let (config_ptr, config_len) = config.map_or((ptr::null(), 0), arg);
    let mut engine = ptr::null_mut();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        engine::mlas_engine_open(
            path.as_ptr().cast(),
            path.len(),
            config_ptr,
            config_len,
            &raw mut engine,
        )
    };
    (status, engine)
}

impl Fixture {
    /// A fixture over a SQLite file instead of memory.
    fn file(path: &std::path::Path) -> Self {
        let (status, engine) = open_file(path, None);
        assert_eq!(status, MLAS_OK, "{}", last_error());
        let mut fx = Fixture::new();
        // SAFETY: the memory engine made by `new` is replaced and freed once.
        unsafe { mlas_engine_free(fx.engine) };
        fx.engine = engine;
        // SAFETY: a live engine.
        assert_eq!(
            unsafe { mlas_engine_set_time(engine, 1_769_947_200_000_000) },
            MLAS_OK
        );
        fx
    }

    fn affiliate(&self, id: &str) {
        let doc = format!(
            r#"{{"id":"{id}","name":"Ann","email":"ann@example.com","commission_rate":"10"}}"#
        );
        let (status, out) = self.create(&doc);
        assert_eq!(status, MLAS_OK, "{}", last_error());
        take(out);
    }

    /// Calls an audit verification; the status and the report, if any.
    fn verify(
        &self,
        f: impl FnOnce(*const mlas_engine, *const mlas_scope, *mut *mut c_char) -> mlas_status,
    ) -> (mlas_status, Option<serde_json::Value>) {
        let mut out = ptr::null_mut();
        let status = f(self.engine, self.scope, &raw mut out);
        let report = (!out.is_null()).then(|| serde_json::from_str(&take(out)).unwrap());
        (status, report)
    }

    fn verify_archives(&self, paths: &str) -> (mlas_status, Option<serde_json::Value>) {
        let (p, n) = arg(paths);
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        self.verify(|e, s, out| unsafe { audit::mlas_audit_verify_archives(e, s, p, n, out) })
    }

    fn verify_range(&self, from: u64, through: u64) -> (mlas_status, Option<serde_json::Value>) {
        // SAFETY: every pointer is a live handle or string from this library,
        // a local that outlives the call, or NULL where NULL is under test.
        self.verify(|e, s, out| unsafe { audit::mlas_audit_verify_range(e, s, from, through, out) })
    }
}

#[test]
fn sqlite_settings_reach_the_store_and_bad_ones_touch_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("settings.db");

    let (status, engine) = open_file(
        &path,
        Some(r#"{"sqlite":{"synchronous":"FULL","busy_timeout_ms":250}}"#),
    );
    assert_eq!(status, MLAS_OK, "{}", last_error());
    // SAFETY: a live engine, freed below.
    let options = unsafe { &*engine }
        .sqlite
        .as_ref()
        .unwrap()
        .options()
        .clone();
    assert_eq!(options.synchronous, mlas_sqlite::Synchronous::Full);
    assert_eq!(options.busy_timeout, std::time::Duration::from_millis(250));
    // SAFETY: a live engine, freed once.
    unsafe { mlas_engine_free(engine) };

    let other = dir.path().join("never.db");
    for bad in [
        r#"{"sqlite":{"synchronous":"OFF"}}"#,
        r#"{"sqlite":{"busy_timeout_ms":2147483648}}"#,
        r#"{"sqlite":{"busy_timeout_ms":-1}}"#,
        r#"{"sqlite":{"journal_mode":"DELETE"}}"#,
        r#"{"sqlite":{"synchronous":0}}"#,
    ] {
        let (status, engine) = open_file(&other, Some(bad));
        assert_eq!(status, MLAS_ERR_VALIDATION, "{bad}: {}", last_error());
        assert!(engine.is_null());
        assert!(!other.exists(), "{bad} created the file");
    }

    // The settings of a file mean nothing to a memory engine: refused.
    let (p, n) = arg(r#"{"sqlite":{"synchronous":"NORMAL"}}"#);
    let mut engine = ptr::null_mut();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe { mlas_engine_open_memory(p, n, &raw mut engine) };
    assert_eq!(status, MLAS_ERR_VALIDATION);
    assert!(engine.is_null());
}

#[test]
fn a_backup_is_a_database_that_opens_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::file(&dir.path().join("live.db"));
    fx.affiliate("aff-backup");

    let target = dir.path().join("copy.db");
    let (p, n) = arg(target.to_str().unwrap());
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    unsafe {
        assert_eq!(engine::mlas_engine_backup(fx.engine, p, n), MLAS_OK);
        assert_eq!(
            engine::mlas_engine_backup(fx.engine, p, n),
            MLAS_ERR_VALIDATION
        );
        assert!(last_error().contains("already exists"), "{}", last_error());
        assert_eq!(
            engine::mlas_engine_backup(ptr::null(), p, n),
            MLAS_ERR_NULL_POINTER
        );
        assert_eq!(
            engine::mlas_engine_backup(fx.engine, ptr::null(), 0),
            MLAS_ERR_NULL_POINTER
        );
        assert_eq!(
            engine::mlas_engine_backup(fx.engine, p, 0),
            MLAS_ERR_VALIDATION
        );
    }

    let copy = Fixture::file(&target);
    copy.affiliate("aff-after");
    let id = "aff-backup";
    let mut out = ptr::null_mut();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        affiliate::mlas_affiliate_get(
            copy.engine,
            copy.scope,
            id.as_ptr().cast(),
            id.len(),
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_OK, "{}", last_error());
    take(out);

    // An in-memory engine has nothing to copy.
    let memory = Fixture::new();
    let target = dir.path().join("memory.db");
    let (p, n) = arg(target.to_str().unwrap());
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe { engine::mlas_engine_backup(memory.engine, p, n) };
    assert_eq!(status, MLAS_ERR_UNSUPPORTED);
    assert!(!target.exists());
}

#[test]
fn a_range_of_the_chain_verifies_and_an_empty_range_is_refused() {
    let fx = Fixture::new();
    for id in ["aff-r1", "aff-r2", "aff-r3"] {
        fx.affiliate(id);
    }

    let (status, report) = fx.verify_range(2, 3);
    assert_eq!(status, MLAS_OK, "{}", last_error());
    let report = report.unwrap();
    assert_eq!(report["intact"], true);
    assert_eq!(report["head"]["seq"], 3);

    let (status, report) = fx.verify_range(2, 0);
    assert_eq!(status, MLAS_OK);
    assert_eq!(report.unwrap()["head"]["seq"], 3);

    for (from, through) in [(0, 0), (0, 2), (3, 2)] {
        let (status, report) = fx.verify_range(from, through);
        assert_eq!(status, MLAS_ERR_VALIDATION, "{from}..={through}");
        assert!(report.is_none());
    }
    // SAFETY: NULL handles are refused before anything is read.
    let status =
        unsafe { audit::mlas_audit_verify_range(ptr::null(), fx.scope, 1, 0, ptr::null_mut()) };
    assert_eq!(status, MLAS_ERR_NULL_POINTER);
}

unsafe extern "C" fn append(user_data: *mut std::ffi::c_void, bytes: *const u8, len: usize) -> i32 {
    // SAFETY: the tests pass a `Vec<u8>` as user data; libmlas passes `len` bytes.
    unsafe {
        (*user_data.cast::<Vec<u8>>()).extend_from_slice(std::slice::from_raw_parts(bytes, len));
    }
    0
}

#[test]
fn archives_and_the_database_verify_as_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::file(&dir.path().join("archived.db"));
    fx.affiliate("aff-a1");
    fx.affiliate("aff-a2");
    // SAFETY: a live engine.
    assert_eq!(
        unsafe { mlas_engine_set_time(fx.engine, 1_772_539_200_000_000) },
        MLAS_OK
    );
    fx.affiliate("aff-a3");

    let mut archive = Vec::<u8>::new();
    let mut out = ptr::null_mut();
    // SAFETY: every pointer is a live handle or string from this library,
    // a local that outlives the call, or NULL where NULL is under test.
    let status = unsafe {
        audit::mlas_audit_archive(
            fx.engine,
            fx.scope,
            1_772_539_200_000_000,
            Some(append),
            (&raw mut archive).cast(),
            &raw mut out,
        )
    };
    assert_eq!(status, MLAS_OK, "{}", last_error());
    let outcome: serde_json::Value = serde_json::from_str(&take(out)).unwrap();
    assert_eq!(outcome["records"], 2);
    let path = dir.path().join("archive-1.jsonl");
    std::fs::write(&path, &archive).unwrap();
    let paths = serde_json::to_string(&[path.to_str().unwrap()]).unwrap();

    let (status, report) = fx.verify_archives(&paths);
    assert_eq!(status, MLAS_OK, "{}", last_error());
    let report = report.unwrap();
    assert_eq!(report["intact"], true, "{report}");
    assert_eq!(report["broken"], serde_json::Value::Null);

    // Without its archive, the database does not start at genesis: a finding.
    let (status, report) = fx.verify_archives("[]");
    assert_eq!(status, MLAS_OK);
    assert_eq!(report.unwrap()["intact"], false);

    // A changed archive is a finding too.
    let text = String::from_utf8(archive)
        .unwrap()
        .replace("aff-a1", "aff-z1");
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, text).unwrap();
    let paths = serde_json::to_string(&[tampered.to_str().unwrap()]).unwrap();
    let (status, report) = fx.verify_archives(&paths);
    assert_eq!(status, MLAS_OK);
    let report = report.unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(report["broken"]["seq"], 1, "{report}");

    // A range cannot start inside the archived part.
    let (status, _) = fx.verify_range(1, 0);
    assert_eq!(status, MLAS_ERR_VALIDATION);

    // Files that cannot be read, and documents of the wrong shape, fail.
    let missing = dir.path().join("missing.jsonl");
    let paths = serde_json::to_string(&[missing.to_str().unwrap()]).unwrap();
    let (status, report) = fx.verify_archives(&paths);
    assert_eq!(status, MLAS_ERR_STORAGE);
    assert!(last_error().contains("missing.jsonl"), "{}", last_error());
    assert!(report.is_none());
    for (bad, expected) in [
        ("{}", MLAS_ERR_VALIDATION),
        ("[1]", MLAS_ERR_VALIDATION),
        (r#"[""]"#, MLAS_ERR_VALIDATION),
        ("[", MLAS_ERR_INVALID_JSON),
    ] {
        let (status, report) = fx.verify_archives(bad);
        assert_eq!(status, expected, "{bad}");
        assert!(report.is_none());
    }
}
