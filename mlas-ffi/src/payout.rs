//! Payouts: scheduling batches, processing them through a provider given as C
//! callbacks (or the simulated one), retries, cancellation, batch statistics
//! and balances.

use std::ffi::{c_char, c_void};

use mlas_core::{
    AffiliateId, BatchId, BatchStats, CommissionId, CommissionSelection, Error, Payout,
    PayoutBatch, PayoutFilter, PayoutId, PayoutInstruction, PayoutProvider, PayoutStatus,
    ProviderOutcome, ProviderStatus, ScheduleOutcome, ScheduleRequest, SimulatedProvider,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::boundary::{
    Failure, Out, Outcome, call, call_void, opt_str_arg, parse_json, str_arg, write_json,
};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json::{money, opt_time, time};
use crate::status::mlas_status;

/// `send` answer: the money was sent; the text buffer holds the provider's reference.
pub const MLAS_PROVIDER_PAID: i32 = 1;
/// `send`/`status` answer: refused, nothing paid, a retry cannot help; the
/// text buffer holds the reason.
pub const MLAS_PROVIDER_FAILED: i32 = 2;
/// `send`/`status` answer: refused, nothing paid, a retry (possibly with
/// corrected details) can help; the text buffer holds the reason.
pub const MLAS_PROVIDER_FAILED_RETRYABLE: i32 = 3;
/// `send` answer: nobody knows whether the money moved (a timeout); the text
/// buffer holds what happened. The payout stays SENDING until `status` answers.
pub const MLAS_PROVIDER_UNKNOWN: i32 = 4;
/// `status` answer: received but not settled, or cannot tell now: ask later.
pub const MLAS_PROVIDER_PENDING: i32 = 5;
/// `status` answer: the key never arrived; sending it again is safe.
pub const MLAS_PROVIDER_NOT_FOUND: i32 = 6;

/// The size of the text buffer handed to the provider callbacks, in bytes,
/// including the terminating NUL.
pub const MLAS_PROVIDER_TEXT_CAPACITY: usize = 1024;

const _: () = {
    assert!(MLAS_PROVIDER_PAID == 1);
    assert!(MLAS_PROVIDER_FAILED == 2);
    assert!(MLAS_PROVIDER_FAILED_RETRYABLE == 3);
    assert!(MLAS_PROVIDER_UNKNOWN == 4);
    assert!(MLAS_PROVIDER_PENDING == 5);
    assert!(MLAS_PROVIDER_NOT_FOUND == 6);
};

/// The `send` callback of a C payout provider.
///
/// Called with the `user_data` given to `mlas_provider_new`, the payout
/// instruction as JSON (`instruction_len` bytes, not NUL-terminated, valid only
/// during the call), and a text buffer of `text_capacity` bytes (zeroed) for
/// the reference or reason, which the callback fills with a NUL-terminated
/// UTF-8 string.
///
/// The instruction: `{"idempotency_key": "pay_...", "tenant": "org-123",
/// "batch_id", "affiliate_id", "amount": "75.00", "currency": "USD",
/// "details": {...}, "reference": "MLAS payout pay_...", "attempt": 1}`.
/// `details` holds the full payout details (unmasked account numbers: never
/// log them) in the form of `mlas_affiliate_create`'s `payout_details`.
///
/// It must return `MLAS_PROVIDER_PAID`, `MLAS_PROVIDER_FAILED`,
/// `MLAS_PROVIDER_FAILED_RETRYABLE` or `MLAS_PROVIDER_UNKNOWN`; any other value
/// is taken as UNKNOWN (the payout stays SENDING and is reconciled later). It
/// must never pay the same idempotency key twice.
#[allow(non_camel_case_types)]
pub type mlas_provider_send_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        instruction_json: *const c_char,
        instruction_len: usize,
        text: *mut c_char,
        text_capacity: usize,
    ) -> i32,
>;

/// The `status` callback of a C payout provider: what became of a key.
///
/// Called with `user_data`, the payout id (`payout_id_len` bytes, not
/// NUL-terminated, valid only during the call) and a zeroed text buffer as for
/// `send`. It must return `MLAS_PROVIDER_PAID` (reference in `text`),
/// `MLAS_PROVIDER_FAILED` or `MLAS_PROVIDER_FAILED_RETRYABLE` (reason in
/// `text`), `MLAS_PROVIDER_PENDING`, or `MLAS_PROVIDER_NOT_FOUND` (only when
/// sure the key never arrived); any other value is taken as PENDING.
#[allow(non_camel_case_types)]
pub type mlas_provider_status_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        payout_id: *const c_char,
        payout_id_len: usize,
        text: *mut c_char,
        text_capacity: usize,
    ) -> i32,
>;

/// A payout provider: what actually moves the money when a batch is processed.
///
/// Made with `mlas_provider_new` (C callbacks) or
/// `mlas_provider_new_simulated`, released with `mlas_provider_free`.
#[allow(non_camel_case_types)]
pub struct mlas_provider {
    inner: ProviderKind,
}

enum ProviderKind {
    Callbacks(CallbackProvider),
    Simulated(Box<SimulatedProvider>),
}

impl ProviderKind {
    fn as_dyn(&self) -> &dyn PayoutProvider {
        match self {
            ProviderKind::Callbacks(p) => p,
            ProviderKind::Simulated(p) => p.as_ref(),
        }
    }
}

struct CallbackProvider {
    send: unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut c_char, usize) -> i32,
    status: unsafe extern "C" fn(*mut c_void, *const c_char, usize, *mut c_char, usize) -> i32,
    user_data: *mut c_void,
}

// SAFETY: the host promises (documented on `mlas_provider_new`) that the
// callbacks and `user_data` may be used from any thread that processes a
// batch; the struct itself holds only plain pointers.
unsafe impl Send for CallbackProvider {}
// SAFETY: as above; libmlas never touches `user_data` itself.
unsafe impl Sync for CallbackProvider {}

/// The text a callback left in the buffer: up to the first NUL, lossy UTF-8.
fn buffer_text(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn instruction_json(i: &PayoutInstruction) -> String {
    json!({
        "idempotency_key": i.idempotency_key.as_str(),
        "tenant": i.tenant.as_str(),
        "batch_id": i.batch.as_str(),
        "affiliate_id": i.affiliate.as_str(),
        "amount": money(i.amount),
        "currency": i.amount.currency().code(),
        "details": i.details.to_storage_json(),
        "reference": i.reference,
        "attempt": i.attempt,
    })
    .to_string()
}

impl PayoutProvider for CallbackProvider {
    fn send(&self, instruction: &PayoutInstruction) -> ProviderOutcome {
        let doc = instruction_json(instruction);
        let mut text = vec![0u8; MLAS_PROVIDER_TEXT_CAPACITY];
        // SAFETY: the host gave this function pointer for exactly this
        // signature; the JSON and the buffer outlive the call, and the buffer
        // is `MLAS_PROVIDER_TEXT_CAPACITY` writable bytes.
        let answer = unsafe {
            (self.send)(
                self.user_data,
                doc.as_ptr().cast(),
                doc.len(),
                text.as_mut_ptr().cast(),
                text.len(),
            )
        };
        let text = buffer_text(&text);
        match answer {
            MLAS_PROVIDER_PAID => ProviderOutcome::Paid { reference: text },
            MLAS_PROVIDER_FAILED => ProviderOutcome::Failed {
                reason: text,
                retryable: false,
            },
            MLAS_PROVIDER_FAILED_RETRYABLE => ProviderOutcome::Failed {
                reason: text,
                retryable: true,
            },
            MLAS_PROVIDER_UNKNOWN => ProviderOutcome::Unknown { reason: text },
            other => ProviderOutcome::Unknown {
                reason: format!(
                    "the send callback returned {other}, not an MLAS_PROVIDER_* answer"
                ),
            },
        }
    }

    fn status(&self, key: &PayoutId) -> ProviderStatus {
        let id = key.as_str();
        let mut text = vec![0u8; MLAS_PROVIDER_TEXT_CAPACITY];
        // SAFETY: as in `send`.
        let answer = unsafe {
            (self.status)(
                self.user_data,
                id.as_ptr().cast(),
                id.len(),
                text.as_mut_ptr().cast(),
                text.len(),
            )
        };
        let text = buffer_text(&text);
        match answer {
            MLAS_PROVIDER_PAID => ProviderStatus::Paid { reference: text },
            MLAS_PROVIDER_FAILED => ProviderStatus::Failed {
                reason: text,
                retryable: false,
            },
            MLAS_PROVIDER_FAILED_RETRYABLE => ProviderStatus::Failed {
                reason: text,
                retryable: true,
            },
            MLAS_PROVIDER_NOT_FOUND => ProviderStatus::NotFound,
            // PENDING, and anything unexpected: leave the payout SENDING.
            _ => ProviderStatus::Pending,
        }
    }
}

/// Makes a payout provider from C callbacks. `send` and `status` are required;
/// `user_data` is passed to both unchanged and may be NULL.
///
/// The callbacks are called on the thread that calls `mlas_batch_process` or
/// `mlas_payout_retry`, during that call; with several such threads they may
/// run concurrently, so `user_data` must be safe to share between them. They
/// must not free the provider or the engine.
///
/// On success `*out_provider` receives a provider owned by the caller; release
/// it with `mlas_provider_free` (which does not touch `user_data`). On
/// failure `*out_provider` is not written.
///
/// # Safety
/// `send` and `status` are NULL or functions of the documented signatures;
/// `out_provider` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_provider_new(
    send: mlas_provider_send_fn,
    status: mlas_provider_status_fn,
    user_data: *mut c_void,
    out_provider: *mut *mut mlas_provider,
) -> mlas_status {
    call(|| {
        let out = Out::new(out_provider, "out_provider")?;
        let send = send.ok_or_else(|| Failure::null("send"))?;
        let status = status.ok_or_else(|| Failure::null("status"))?;
        let provider = Box::new(mlas_provider {
            inner: ProviderKind::Callbacks(CallbackProvider {
                send,
                status,
                user_data,
            }),
        });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { out.write(Box::into_raw(provider)) };
        Ok(())
    })
}

/// Makes the simulated provider, for tests and examples: every send pays,
/// with the reference `sim-<payout id>`, except to affiliates made to fail
/// with `mlas_provider_simulate_failure`. It never pays a key twice.
///
/// On success `*out_provider` receives a provider owned by the caller; release
/// it with `mlas_provider_free`. On failure `*out_provider` is not written.
///
/// # Safety
/// `out_provider` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_provider_new_simulated(
    out_provider: *mut *mut mlas_provider,
) -> mlas_status {
    call(|| {
        let out = Out::new(out_provider, "out_provider")?;
        let provider = Box::new(mlas_provider {
            inner: ProviderKind::Simulated(Box::default()),
        });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { out.write(Box::into_raw(provider)) };
        Ok(())
    })
}

/// Makes a simulated provider refuse (not retryable) every send to
/// `affiliate_id` with `reason`, until `mlas_provider_simulate_recovery`.
/// `MLAS_ERR_VALIDATION` for a provider made from callbacks.
///
/// # Safety
/// `provider` is NULL or a live provider; the strings are NULL or point to
/// their lengths in readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_provider_simulate_failure(
    provider: *const mlas_provider,
    affiliate_id: *const c_char,
    affiliate_len: usize,
    reason: *const c_char,
    reason_len: usize,
) -> mlas_status {
    call(|| {
        let simulated = simulated(provider)?;
        // SAFETY: the caller promises `affiliate_len` readable bytes or NULL.
        let affiliate =
            AffiliateId::new(unsafe { str_arg(affiliate_id, affiliate_len, "affiliate_id")? })?;
        // SAFETY: the caller promises `reason_len` readable bytes or NULL.
        let reason = unsafe { str_arg(reason, reason_len, "reason")? };
        simulated.fail_affiliate(&affiliate, reason);
        Ok(())
    })
}

/// Makes a simulated provider pay `affiliate_id` again.
///
/// # Safety
/// As `mlas_provider_simulate_failure`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_provider_simulate_recovery(
    provider: *const mlas_provider,
    affiliate_id: *const c_char,
    affiliate_len: usize,
) -> mlas_status {
    call(|| {
        let simulated = simulated(provider)?;
        // SAFETY: the caller promises `affiliate_len` readable bytes or NULL.
        let affiliate =
            AffiliateId::new(unsafe { str_arg(affiliate_id, affiliate_len, "affiliate_id")? })?;
        simulated.clear_affiliate(&affiliate);
        Ok(())
    })
}

fn simulated<'a>(provider: *const mlas_provider) -> Outcome<&'a SimulatedProvider> {
    // SAFETY: the caller of the exported function promises a live provider or NULL.
    let provider = unsafe { provider.as_ref() }.ok_or_else(|| Failure::null("provider"))?;
    match &provider.inner {
        ProviderKind::Simulated(p) => Ok(p),
        ProviderKind::Callbacks(_) => Err(Error::validation(
            "provider",
            "is made from callbacks, not the simulated provider",
        )
        .into()),
    }
}

/// Releases a provider. NULL is a no-op. `user_data` is not touched. No batch
/// may be processing with it at the time.
///
/// # Safety
/// `provider` is NULL or a live provider, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_provider_free(provider: *mut mlas_provider) {
    call_void(|| {
        if !provider.is_null() {
            // SAFETY: the caller gives back ownership of a box made by this library.
            drop(unsafe { Box::from_raw(provider) });
        }
    });
}

#[cfg(test)]
impl mlas_provider {
    /// The provider as the engine sees it.
    pub(crate) fn as_provider(&self) -> &dyn PayoutProvider {
        self.inner.as_dyn()
    }
}

fn provider_ref<'a>(provider: *const mlas_provider) -> Outcome<&'a dyn PayoutProvider> {
    // SAFETY: the caller of the exported function promises a live provider or NULL.
    let provider = unsafe { provider.as_ref() }.ok_or_else(|| Failure::null("provider"))?;
    Ok(provider.inner.as_dyn())
}

fn batch_json(b: &PayoutBatch) -> Value {
    json!({
        "id": b.id.as_str(),
        "scheduled_for": time(b.scheduled_for),
        "status": b.status.as_str(),
        "created_at": time(b.created_at),
        "started_at": opt_time(b.started_at),
        "finished_at": opt_time(b.finished_at),
    })
}

pub(crate) fn payout_json(p: &Payout) -> Value {
    json!({
        "id": p.id.as_str(),
        "batch_id": p.batch.as_str(),
        "affiliate_id": p.affiliate.as_str(),
        "amount": money(p.amount),
        "currency": p.amount.currency().code(),
        "status": p.status.as_str(),
        "attempts": p.attempts,
        "commission_ids": p.commissions.iter().map(CommissionId::as_str).collect::<Vec<_>>(),
        "adjustment_ids": p.adjustments.iter().map(mlas_core::AdjustmentId::as_str).collect::<Vec<_>>(),
        "provider_reference": p.provider_reference,
        "failure_reason": p.failure_reason,
        "retryable": p.retryable,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
        "paid_at": opt_time(p.paid_at),
    })
}

fn schedule_json(o: &ScheduleOutcome) -> Value {
    json!({
        "batch": batch_json(&o.batch),
        "payouts": o.payouts.iter().map(payout_json).collect::<Vec<_>>(),
        "held": o.held.iter().map(|h| json!({
            "affiliate_id": h.affiliate.as_str(),
            "amount": money(h.amount),
            "currency": h.amount.currency().code(),
            "reason": h.reason.as_str(),
        })).collect::<Vec<_>>(),
        "replayed": o.replayed,
    })
}

fn stats_json(s: &BatchStats) -> Value {
    json!({
        "batch": batch_json(&s.batch),
        "payouts": s.payouts,
        "totals": s.totals.iter().map(|t| json!({
            "status": t.status.as_str(),
            "count": t.count,
            "amount": money(t.amount),
            "currency": t.amount.currency().code(),
        })).collect::<Vec<_>>(),
        "attempts": s.attempts,
        "unresolved": s.unresolved,
        "duration_us": s.duration.and_then(|d| d.num_microseconds()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleJson {
    batch_id: String,
    scheduled_for: i64,
    #[serde(default)]
    commission_ids: Option<Vec<String>>,
}

fn schedule_request(text: &str) -> Outcome<ScheduleRequest> {
    let s: ScheduleJson = parse_json(text, "json")?;
    let scheduled_for = mlas_core::clock::from_micros(s.scheduled_for).ok_or_else(|| {
        Failure::from(Error::validation(
            "scheduled_for",
            format!("time {} is out of range", s.scheduled_for),
        ))
    })?;
    let selection = match s.commission_ids {
        None => CommissionSelection::AllApproved,
        Some(ids) => CommissionSelection::Ids(
            ids.into_iter()
                .map(CommissionId::new)
                .collect::<mlas_core::Result<_>>()?,
        ),
    };
    Ok(ScheduleRequest {
        batch: BatchId::new(s.batch_id)?,
        scheduled_for,
        selection,
    })
}

/// Schedules a payout batch: one payout per (affiliate, currency), the sum of
/// its selected APPROVED commissions and its open adjustments. Idempotent on
/// the batch id.
///
/// `json` (UTF-8, `json_len` bytes):
///
/// ```json
/// {"batch_id": "batch-123", "scheduled_for": 1770336000000000,
///  "commission_ids": ["com_...", "com_..."]}
/// ```
///
/// Without `commission_ids` (or with `null`), every APPROVED commission not in
/// a payout and every open adjustment is taken. Balances left out are listed
/// in `held` with their reason (`AFFILIATE_NOT_ACTIVE`, `NO_PAYOUT_DETAILS`,
/// `BELOW_MINIMUM`).
///
/// On success `*out_json` receives `{"batch": {id, scheduled_for, status,
/// created_at, started_at, finished_at}, "payouts": [payout documents],
/// "held": [{affiliate_id, amount, currency, reason}], "replayed": false}`,
/// owned by the caller; release it with `mlas_string_free`. A payout document
/// is `{id, batch_id, affiliate_id, amount, currency, status, attempts,
/// commission_ids, adjustment_ids, provider_reference, failure_reason,
/// retryable, created_at, updated_at, paid_at}`. On failure `*out_json` is not
/// written and nothing changes.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `json` is NULL or points to
/// `json_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_payout_schedule(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    json: *const c_char,
    json_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `json_len` readable bytes or NULL.
        let text = unsafe { str_arg(json, json_len, "json")? };
        let out = Out::new(out_json, "out_json")?;
        let outcome = engine.schedule_payouts(scope, schedule_request(text)?)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &schedule_json(&outcome)) }
    })
}

/// Processes a batch: reconciles payouts whose outcome is unknown, then sends
/// every PENDING payout through `provider` with the payout id as idempotency
/// key. `force` is 0 (refuse before `scheduled_for`:
/// `MLAS_ERR_ILLEGAL_TRANSITION`) or 1 (process now); any other value is
/// `MLAS_ERR_INVALID_ARGUMENT`. Processing a finished batch returns its
/// statistics and writes nothing.
///
/// On success `*out_json` receives the batch statistics (see
/// `mlas_batch_stats`), owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope`, `provider` are NULL or live handles; `batch_id` is NULL
/// or points to `batch_len` readable bytes; `out_json` is NULL or valid for a
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_batch_process(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    batch_id: *const c_char,
    batch_len: usize,
    provider: *const mlas_provider,
    force: i32,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `batch_len` readable bytes or NULL.
        let id = BatchId::new(unsafe { str_arg(batch_id, batch_len, "batch_id")? })?;
        let provider = provider_ref(provider)?;
        let out = Out::new(out_json, "out_json")?;
        let force = match force {
            0 => false,
            1 => true,
            other => return Err(Failure::argument(format!("force {other} is not 0 or 1"))),
        };
        let stats = engine.process_batch(scope, &id, provider, force)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &stats_json(&stats)) }
    })
}

/// Statistics of a batch (the runbook's `/payouts/batch/:id/stats`):
///
/// ```json
/// {"batch": {"id", "scheduled_for", "status", "created_at", "started_at",
///            "finished_at"},
///  "payouts": 3,
///  "totals": [{"status": "PAID", "count": 2, "amount": "112.50",
///              "currency": "USD"}],
///  "attempts": 3, "unresolved": 0, "duration_us": 0}
/// ```
///
/// `status` of the batch is SCHEDULED, PROCESSING, COMPLETED, PARTIALLY_FAILED
/// or FAILED; `unresolved` counts payouts whose outcome is still unknown;
/// `duration_us` is null until the batch finished.
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `batch_id` is NULL or points to
/// `batch_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_batch_stats(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    batch_id: *const c_char,
    batch_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `batch_len` readable bytes or NULL.
        let id = BatchId::new(unsafe { str_arg(batch_id, batch_len, "batch_id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let stats = engine.batch_stats(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &stats_json(&stats)) }
    })
}

/// Reads one payout (the payout document of `mlas_payout_schedule`).
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `id` is NULL or points to
/// `id_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_payout_get(
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
        let id = PayoutId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let payout = engine.payout(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &payout_json(&payout)) }
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PayoutFilterJson {
    #[serde(default)]
    batch_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    affiliate_id: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Lists payouts, oldest first. `filter_json` is optional (NULL with length 0
/// lists all): `{"batch_id": "batch-123", "status": "FAILED", "affiliate_id":
/// "aff-123", "limit": 100}`, every key optional; a status is PENDING,
/// SENDING, PAID, FAILED or CANCELLED.
///
/// On success `*out_json` receives a JSON array of payout documents, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `filter_json` is NULL or points
/// to `filter_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_payout_list(
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
        let f: PayoutFilterJson = match filter {
            Some(text) => parse_json(text, "filter_json")?,
            None => PayoutFilterJson::default(),
        };
        let filter = PayoutFilter {
            batch: f.batch_id.map(BatchId::new).transpose()?,
            status: f.status.as_deref().map(PayoutStatus::parse).transpose()?,
            affiliate: f.affiliate_id.map(AffiliateId::new).transpose()?,
            limit: f.limit,
        };
        let payouts: Vec<Value> = engine
            .payouts(scope, &filter)?
            .iter()
            .map(payout_json)
            .collect();
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(payouts)) }
    })
}

/// Sends a FAILED payout again through `provider`, to the affiliate's current
/// payout details, within the engine's `max_payout_attempts`.
/// `MLAS_ERR_ILLEGAL_TRANSITION` when it is not FAILED, has used its attempts,
/// or its affiliate cannot be paid.
///
/// On success `*out_json` receives the payout document as recorded (SENDING
/// if the outcome is unknown), owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_payout_get`, with `provider` NULL or a live provider.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_payout_retry(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    provider: *const mlas_provider,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = PayoutId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let provider = provider_ref(provider)?;
        let out = Out::new(out_json, "out_json")?;
        let payout = engine.retry_payout(scope, &id, provider)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &payout_json(&payout)) }
    })
}

/// Gives up a PENDING or FAILED payout with a `reason`: its commissions return
/// to APPROVED and its adjustments reopen, ready for a later batch.
///
/// On success `*out_json` receives the CANCELLED payout document, owned by the
/// caller; release it with `mlas_string_free`. On failure `*out_json` is not
/// written and nothing changes.
///
/// # Safety
/// As `mlas_payout_get`, with `reason` pointing to `reason_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_payout_cancel(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    reason: *const c_char,
    reason_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = PayoutId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `reason_len` readable bytes or NULL.
        let reason = unsafe { str_arg(reason, reason_len, "reason")? };
        let out = Out::new(out_json, "out_json")?;
        let payout = engine.cancel_payout(scope, &id, reason)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &payout_json(&payout)) }
    })
}

/// An affiliate's balance: approved commissions not yet in a payout plus open
/// adjustments, per currency; may be negative (a clawback carried forward).
///
/// On success `*out_json` receives `[{"amount": "-12.50", "currency":
/// "USD"}]` (empty when nothing is owed either way), owned by the caller;
/// release it with `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_payout_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_balance(
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
        let id = AffiliateId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let balance: Vec<Value> = engine
            .balance(scope, &id)?
            .into_iter()
            .map(|m| json!({"amount": money(m), "currency": m.currency().code()}))
            .collect();
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(balance)) }
    })
}
