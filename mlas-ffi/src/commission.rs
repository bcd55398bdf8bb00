//! Commissions: reading, explaining and moving them through their lifecycle;
//! adjustments.

use std::ffi::c_char;

use mlas_core::engine::Resolution;
use mlas_core::store::{AdjustmentFilter, CommissionFilter};
use mlas_core::{
    AffiliateId, Commission, CommissionId, CommissionStatus, Engine, PayoutId, SaleId, Scope,
};
use serde::Deserialize;
use serde_json::Value;

use crate::boundary::{Failure, Out, Outcome, call, opt_str_arg, parse_json, str_arg, write_json};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json;
use crate::status::mlas_status;

/// Resolve a dispute in the affiliate's favour: the commission goes back to APPROVED.
pub const MLAS_RESOLUTION_APPROVE: i32 = 1;
/// Resolve a dispute against the commission: it becomes REJECTED.
pub const MLAS_RESOLUTION_REJECT: i32 = 2;

const _: () = {
    assert!(MLAS_RESOLUTION_APPROVE == 1);
    assert!(MLAS_RESOLUTION_REJECT == 2);
};

fn resolution_from_c(resolution: i32) -> Outcome<Resolution> {
    match resolution {
        MLAS_RESOLUTION_APPROVE => Ok(Resolution::Approve),
        MLAS_RESOLUTION_REJECT => Ok(Resolution::Reject),
        other => Err(Failure::argument(format!(
            "resolution {other} is not an MLAS_RESOLUTION_* value"
        ))),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CommissionFilterJson {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    sale_id: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

fn commission_filter(text: Option<&str>) -> Outcome<CommissionFilter> {
    let f: CommissionFilterJson = match text {
        Some(text) => parse_json(text, "filter_json")?,
        None => CommissionFilterJson::default(),
    };
    Ok(CommissionFilter {
        status: f
            .status
            .as_deref()
            .map(CommissionStatus::parse)
            .transpose()?,
        affiliate: f.affiliate_id.map(AffiliateId::new).transpose()?,
        sale: f.sale_id.map(SaleId::new).transpose()?,
        limit: f.limit,
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AdjustmentFilterJson {
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    open_only: bool,
    #[serde(default)]
    payout_id: Option<String>,
}

fn adjustment_filter(text: Option<&str>) -> Outcome<AdjustmentFilter> {
    let f: AdjustmentFilterJson = match text {
        Some(text) => parse_json(text, "filter_json")?,
        None => AdjustmentFilterJson::default(),
    };
    Ok(AdjustmentFilter {
        affiliate: f.affiliate_id.map(AffiliateId::new).transpose()?,
        open_only: f.open_only,
        payout: f.payout_id.map(PayoutId::new).transpose()?,
    })
}

/// Reads one commission: the "commission" document (id, sale_id,
/// affiliate_id, chain_level, paid_level, currency, base_amount, rate,
/// percent, rule_id, rule_version, original_amount, amount, reversed_amount,
/// adjusted, status, status_reason, available_at, payout_id, created_at,
/// updated_at; amounts are decimal strings, times microseconds).
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `id` is NULL or points to
/// `id_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_get(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = CommissionId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let commission = engine.commission(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::commission(&commission)?) }
    })
}

/// Lists commissions, oldest first. `filter_json` is optional (NULL with
/// length 0 lists all): `{"status": "APPROVED", "affiliate_id": "aff-123",
/// "sale_id": "sale-456", "limit": 100}`, every key optional.
///
/// On success `*out_json` receives a JSON array of commission documents,
/// owned by the caller; release it with `mlas_string_free`. On failure
/// `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `filter_json` is NULL or points
/// to `filter_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_list(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    filter_json: *const c_char,
    filter_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `filter_len` readable bytes or NULL.
        let filter = unsafe { opt_str_arg(filter_json, filter_len, "filter_json")? };
        let out = Out::new(out_json, "out_json")?;
        let commissions = engine.commissions(scope, &commission_filter(filter)?)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::commissions(&commissions)?) }
    })
}

/// Explains one commission: the explanation of its sale (see
/// `mlas_sale_explain`), as JSON.
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_commission_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_explain(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = CommissionId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let explanation = engine.explain_commission(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::serde(&explanation)?) }
    })
}

/// Approves a PENDING commission whose holding period is over.
/// `MLAS_ERR_ILLEGAL_TRANSITION` from any other status or before
/// `available_at`.
///
/// On success `*out_json` receives the updated commission document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_commission_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_approve(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = CommissionId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let commission = engine.approve(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::commission(&commission)?) }
    })
}

/// Approves every PENDING commission of the tenant whose holding period is
/// over, in one transaction.
///
/// On success `*out_json` receives a JSON array of the approved commission
/// documents, owned by the caller; release it with `mlas_string_free`. On
/// failure `*out_json` is not written and nothing changes.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `out_json` is NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_approve_available(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let approved = engine.approve_available(scope)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::commissions(&approved)?) }
    })
}

/// Rejects a PENDING or APPROVED commission with a `reason` (UTF-8,
/// non-empty); it will never be paid.
///
/// On success `*out_json` receives the updated commission document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_commission_get`, with `reason` pointing to `reason_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_reject(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    reason: *const c_char,
    reason_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    // SAFETY: the caller's promises are passed on unchanged.
    unsafe {
        decide(
            engine,
            scope,
            id,
            id_len,
            reason,
            reason_len,
            out_json,
            Engine::reject,
        )
    }
}

/// Disputes a PENDING or APPROVED commission with a `reason`: it is held
/// (neither payable nor rejected) until `mlas_commission_resolve`.
///
/// On success `*out_json` receives the updated commission document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_commission_reject`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_dispute(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    reason: *const c_char,
    reason_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    // SAFETY: the caller's promises are passed on unchanged.
    unsafe {
        decide(
            engine,
            scope,
            id,
            id_len,
            reason,
            reason_len,
            out_json,
            Engine::dispute,
        )
    }
}

/// Resolves a DISPUTED commission: `resolution` is `MLAS_RESOLUTION_APPROVE`
/// (back to APPROVED) or `MLAS_RESOLUTION_REJECT` (REJECTED); any other value
/// is `MLAS_ERR_INVALID_ARGUMENT`. `reason` (UTF-8, non-empty) goes to the
/// audit trail.
///
/// On success `*out_json` receives the updated commission document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_commission_reject`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_commission_resolve(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    resolution: i32,
    reason: *const c_char,
    reason_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = CommissionId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `reason_len` readable bytes or NULL.
        let reason = unsafe { str_arg(reason, reason_len, "reason")? };
        let out = Out::new(out_json, "out_json")?;
        let resolution = resolution_from_c(resolution)?;
        let commission = engine.resolve(scope, &id, resolution, reason)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::commission(&commission)?) }
    })
}

/// Lists adjustments (clawbacks and corrections), oldest first.
/// `filter_json` is optional (NULL with length 0 lists all):
/// `{"affiliate_id": "aff-123", "open_only": true, "payout_id": "pay_..."}`.
///
/// On success `*out_json` receives a JSON array of adjustment documents (id,
/// affiliate_id, amount (signed decimal string), currency, kind
/// (`"CLAWBACK"`/`"CORRECTION"`), reason, commission_id, sale_id, refund_id,
/// payout_id, created_at), owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_commission_list`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_adjustment_list(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    filter_json: *const c_char,
    filter_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `filter_len` readable bytes or NULL.
        let filter = unsafe { opt_str_arg(filter_json, filter_len, "filter_json")? };
        let out = Out::new(out_json, "out_json")?;
        let adjustments: Vec<Value> = engine
            .adjustments(scope, &adjustment_filter(filter)?)?
            .iter()
            .map(json::adjustment)
            .collect();
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(adjustments)) }
    })
}

/// The body of `mlas_commission_reject` and `mlas_commission_dispute`: they
/// differ only in the engine call that moves the commission.
///
/// # Safety
/// As `mlas_commission_reject`.
#[allow(clippy::too_many_arguments)] // the C arguments, passed through
unsafe fn decide(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    reason: *const c_char,
    reason_len: usize,
    out_json: *mut *mut c_char,
    act: fn(&Engine, &Scope, &CommissionId, &str) -> mlas_core::Result<Commission>,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = CommissionId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `reason_len` readable bytes or NULL.
        let reason = unsafe { str_arg(reason, reason_len, "reason")? };
        let out = Out::new(out_json, "out_json")?;
        let commission = act(engine, scope, &id, reason)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::commission(&commission)?) }
    })
}
