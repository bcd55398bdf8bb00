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
