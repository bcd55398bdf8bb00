//! The metrics snapshot of a tenant (the runbook's monitoring section).

use std::ffi::c_char;

use mlas_core::metrics::Metrics;
use serde_json::{Value, json};

use crate::boundary::{Out, call, write_json, write_string};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json::{money, time};
use crate::status::mlas_status;

fn rate(r: Option<mlas_core::Decimal>) -> Value {
    r.map_or(Value::Null, |d| Value::String(d.normalize().to_string()))
}

fn metrics_json(m: &Metrics) -> Value {
    json!({
        "tenant": m.tenant.as_str(),
        "at": time(m.at),
        "calculations_succeeded": m.calculations_succeeded,
        "calculations_failed": m.calculations_failed,
        "calculation_success_rate": rate(m.calculation_success_rate),
        "commissions_by_status": m.commissions_by_status,
        "average_commission": m.average_commission.iter()
            .map(|a| json!({"amount": money(*a), "currency": a.currency().code()}))
            .collect::<Vec<_>>(),
        "approval_rate": rate(m.approval_rate),
        "dispute_rate": rate(m.dispute_rate),
        "batches_by_status": m.batches_by_status,
        "batch_success_rate": rate(m.batch_success_rate),
        "average_batch_processing_us": m.average_batch_processing.and_then(|d| d.num_microseconds()),
        "failed_payouts": m.failed_payouts,
        "payout_retry_rate": rate(m.payout_retry_rate),
        "active_affiliates": m.active_affiliates,
        "affiliates_by_status": m.affiliates_by_status,
        "tier_distribution": m.tier_distribution,
        "commission_rate_distribution": m.commission_rate_distribution,
        "payout_method_distribution": m.payout_method_distribution,
    })
}

/// A snapshot of the tenant's metrics as JSON. Rates are decimal strings
/// between 0 and 1 (or null when nothing was counted), counts are integers,
/// `average_commission` is one `{"amount", "currency"}` per currency, and
/// `average_batch_processing_us` is microseconds (or null). The definition of
/// each metric is in mlas-core's `metrics` module docs; keys:
/// `tenant, at, calculations_succeeded, calculations_failed,
/// calculation_success_rate, commissions_by_status, average_commission,
/// approval_rate, dispute_rate, batches_by_status, batch_success_rate,
/// average_batch_processing_us, failed_payouts, payout_retry_rate,
/// active_affiliates, affiliates_by_status, tier_distribution,
/// commission_rate_distribution, payout_method_distribution`.
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `out_json` is NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_metrics_json(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let metrics = engine.metrics(scope)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &metrics_json(&metrics)) }
    })
}

/// The same snapshot in the Prometheus text exposition format, for a host
/// that serves a `/metrics` endpoint.
///
/// On success `*out_text` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_text` is not written.
///
/// # Safety
/// As `mlas_metrics_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_metrics_prometheus(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_text: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_text, "out_text")?;
        let metrics = engine.metrics(scope)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_string(out, metrics.to_prometheus()) }
    })
}
