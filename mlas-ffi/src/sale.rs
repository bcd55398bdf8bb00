//! Sales with their attribution, explanations, recalculation and refunds.

use std::collections::BTreeMap;
use std::ffi::c_char;

use mlas_core::{
    AffiliateId, Currency, Engine, Error, Money, NewRefund, NewSale, RefundId, SaleId, Scope,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::boundary::{Failure, Out, Outcome, call, parse_json, str_arg, write_json, write_string};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json;
use crate::status::mlas_status;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaleJson {
    id: String,
    amount: String,
    currency: String,
    #[serde(default)]
    occurred_at: Option<i64>,
    affiliate_id: String,
    #[serde(default)]
    chain: Option<Vec<String>>,
    #[serde(default)]
    attribution_type: Option<String>,
    #[serde(default)]
    buyer_id: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

fn new_sale(engine: &Engine, s: SaleJson) -> Outcome<NewSale> {
    let currency = Currency::parse(&s.currency)?;
    let occurred_at = match s.occurred_at {
        None => engine.now(),
        Some(us) => mlas_core::clock::from_micros(us).ok_or_else(|| {
            Failure::from(Error::validation(
                "occurred_at",
                format!("time {us} is out of range"),
            ))
        })?,
    };
    let mut sale = NewSale::new(
        SaleId::new(s.id)?,
        Money::parse(&s.amount, currency, "amount")?,
        occurred_at,
        AffiliateId::new(s.affiliate_id)?,
    );
    sale.chain = s
        .chain
        .map(|c| c.into_iter().map(AffiliateId::new).collect())
        .transpose()?;
    if let Some(kind) = s.attribution_type {
        sale.attribution_type = kind;
    }
    sale.buyer = s.buyer_id.map(AffiliateId::new).transpose()?;
    sale.attributes = s.attributes;
    Ok(sale)
}

/// Records a sale with its attribution and calculates its commissions, in one
/// transaction. Idempotent on the sale id: the same sale again returns the
/// stored result (with `"replayed": true`) and writes nothing; the same id
/// with a different amount, currency, affiliate or chain is
/// `MLAS_ERR_CONFLICT`.
///
/// `json` (UTF-8, `json_len` bytes) is the sale document:
///
/// ```json
/// {"id": "sale-456", "amount": "1000.00", "currency": "USD",
///  "occurred_at": 1769947200000000, "affiliate_id": "aff-123",
///  "chain": ["aff-123", "aff-456"], "attribution_type": "DIRECT",
///  "buyer_id": null, "attributes": {"channel": "web"}}
/// ```
///
/// `id`, `amount` (a decimal string with at most the currency's minor units),
/// `currency` and `affiliate_id` are required. `occurred_at` (microseconds
/// since the Unix epoch, UTC) defaults to the engine's now; `chain` defaults to
/// the sponsor links walked from `affiliate_id` and, when given, starts with
/// it; `attribution_type` defaults to `"DIRECT"`.
///
/// On success `*out_json` receives `{"sale": {...}, "commissions": [...],
/// "replayed": false}` (the "sale" and "commission" documents of the README),
/// owned by the caller; release it with `mlas_string_free`. On failure
/// `*out_json` is not written and nothing is stored.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `json` is NULL or points to
/// `json_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_sale_record(
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
        let sale = new_sale(engine, parse_json(text, "json")?)?;
        let outcome = engine.record_sale(scope, sale)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::sale_outcome(&outcome)?) }
    })
}

/// Records many sales in one transaction, all or none (for imports). `json`
/// is a JSON array of sale documents (see `mlas_sale_record`).
///
/// On success `*out_json` receives a JSON array of `{"sale", "commissions",
/// "replayed"}` results in input order, owned by the caller; release it with
/// `mlas_string_free`. On failure (the first failing sale) `*out_json` is not
/// written and nothing is stored.
///
/// # Safety
/// As `mlas_sale_record`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_sale_record_many(
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
        let docs: Vec<SaleJson> = parse_json(text, "json")?;
        let sales = docs
            .into_iter()
            .map(|s| new_sale(engine, s))
            .collect::<Outcome<Vec<_>>>()?;
        let outcomes = engine
            .record_sales(scope, &sales)?
            .iter()
            .map(json::sale_outcome)
            .collect::<Outcome<Vec<_>>>()?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(outcomes)) }
    })
}

/// Reads a recorded sale (the "sale" document: id, amount, currency,
/// refunded, occurred_at, affiliate_id, chain, attribution_type, buyer_id,
/// attributes, recorded_at).
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `id` is NULL or points to
/// `id_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_sale_get(
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
        let id = SaleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let sale = engine.sale(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::sale(&sale)) }
    })
}

/// Explains a sale's commissions as JSON: the rule chosen and why, who was
/// skipped (compression, forfeits, depth), which cap cut how much, and where
/// each rounding unit went. Schema (every decimal a string):
///
/// ```json
/// {"sale_amount": {"amount": "1000.00", "currency": "USD"},
///  "rule": {"rule_id", "rule_version", "name", "reason", "matching_rules"},
///  "compression": true, "skipped": [{"chain_level", "affiliate", "status",
///  "reason": "compressed|forfeited|beyond_depth"}], "total_cap": null,
///  "exact_total": "150", "total": {"amount", "currency"},
///  "lines": [{"chain_level", "paid_level", "affiliate", "rate", "percent",
///    "exact", "level_cap_cut", "total_cap_cut", "capped", "extra_unit",
///    "amount": {"amount", "currency"}}], "holding_days": 30}
/// ```
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_sale_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_sale_explain(
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
        let id = SaleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let explanation = engine.explain(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::serde(&explanation)?) }
    })
}

/// Explains a sale's commissions as readable text (several lines, for an
/// operator or a log).
///
/// On success `*out_text` receives a NUL-terminated UTF-8 string owned by the
/// caller; release it with `mlas_string_free`. On failure `*out_text` is not
/// written.
///
/// # Safety
/// As `mlas_sale_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_sale_explain_text(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    out_text: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = SaleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_text, "out_text")?;
        let explanation = engine.explain(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_string(out, explanation.to_text()) }
    })
}

/// Recalculates a sale with the current rules and affiliates (after a rule
/// fix). Unpaid commissions take their new amounts; scheduled and paid ones
/// are corrected by adjustments. A recalculation that changes nothing writes
/// nothing.
///
/// On success `*out_json` receives `{"commissions": [...], "adjustments":
/// [...], "changed": true}`, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written and nothing
/// changes.
///
/// # Safety
/// As `mlas_sale_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_sale_recalculate(
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
        let id = SaleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let outcome = engine.recalculate(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::recalculation(&outcome)?) }
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundJson {
    id: String,
    sale_id: String,
    amount: String,
    #[serde(default)]
    currency: Option<String>,
    reason: String,
}

fn new_refund(engine: &Engine, scope: &Scope, r: RefundJson) -> Outcome<NewRefund> {
    let sale = SaleId::new(r.sale_id)?;
    let currency = match r.currency {
        Some(code) => Currency::parse(&code)?,
        None => engine.sale(scope, &sale)?.amount.currency(),
    };
    Ok(NewRefund {
        id: RefundId::new(r.id)?,
        sale,
        amount: Money::parse(&r.amount, currency, "amount")?,
        reason: r.reason,
    })
}

/// Refunds all or part of a sale and reverses its commissions pro rata: an
/// unpaid commission is reduced (REVERSED when nothing is left), a scheduled
/// or paid one gets a clawback adjustment netted against the affiliate's next
/// payout. Idempotent on the refund id: the same refund again returns the
/// first result with `"replayed": true`; a different one under the same id is
/// `MLAS_ERR_CONFLICT`.
///
/// `json` (UTF-8, `json_len` bytes):
///
/// ```json
/// {"id": "refund-1", "sale_id": "sale-456", "amount": "250.00",
///  "currency": "USD", "reason": "customer returned one item"}
/// ```
///
/// `currency` is optional (the sale's); a different one is
/// `MLAS_ERR_VALIDATION`.
///
/// On success `*out_json` receives `{"refund": {"id", "sale_id", "amount",
/// "currency", "reason", "reversals": [{"commission_id", "affiliate_id",
/// "amount", "adjustment_id"}], "created_at"}, "replayed": false}`, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_sale_record`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_refund_create(
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
        let refund = new_refund(engine, scope, parse_json(text, "json")?)?;
        let (refund, replayed) = engine.refund(scope, refund)?;
        let doc = json!({ "refund": json::refund(&refund), "replayed": replayed });
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &doc) }
    })
}

/// Reads a recorded refund (the "refund" document of `mlas_refund_create`).
///
/// On success `*out_json` receives it, owned by the caller; release it with
/// `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_sale_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_refund_get(
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
        let id = RefundId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let refund = engine.refund_record(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::refund(&refund)) }
    })
}
