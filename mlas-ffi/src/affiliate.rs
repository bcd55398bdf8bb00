//! Affiliates and the sponsor tree.

use std::ffi::c_char;

use mlas_core::{
    AffiliateId, AffiliateStatus, AffiliateUpdate, Error, NewAffiliate, PayoutDetails,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::boundary::{
    Failure, Out, Outcome, call, from_json_value, opt_str_arg, parse_json, str_arg, write_json,
};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json;
use crate::status::mlas_status;

/// The affiliate status PENDING: applied, not yet approved; earns nothing.
pub const MLAS_AFFILIATE_STATUS_PENDING: i32 = 1;
/// The affiliate status ACTIVE: earns commissions and receives payouts.
pub const MLAS_AFFILIATE_STATUS_ACTIVE: i32 = 2;
/// The affiliate status SUSPENDED: skipped by compression, payouts held.
pub const MLAS_AFFILIATE_STATUS_SUSPENDED: i32 = 3;
/// The affiliate status TERMINATED: final.
pub const MLAS_AFFILIATE_STATUS_TERMINATED: i32 = 4;

const _: () = {
    assert!(MLAS_AFFILIATE_STATUS_PENDING == 1);
    assert!(MLAS_AFFILIATE_STATUS_ACTIVE == 2);
    assert!(MLAS_AFFILIATE_STATUS_SUSPENDED == 3);
    assert!(MLAS_AFFILIATE_STATUS_TERMINATED == 4);
};

pub(crate) fn status_from_c(status: i32) -> Outcome<AffiliateStatus> {
    match status {
        MLAS_AFFILIATE_STATUS_PENDING => Ok(AffiliateStatus::Pending),
        MLAS_AFFILIATE_STATUS_ACTIVE => Ok(AffiliateStatus::Active),
        MLAS_AFFILIATE_STATUS_SUSPENDED => Ok(AffiliateStatus::Suspended),
        MLAS_AFFILIATE_STATUS_TERMINATED => Ok(AffiliateStatus::Terminated),
        other => Err(Failure::argument(format!(
            "status {other} is not an MLAS_AFFILIATE_STATUS_* value"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAffiliateJson {
    #[serde(default)]
    id: Option<String>,
    name: String,
    email: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    commission_rate: String,
    #[serde(default)]
    payout_details: Option<Value>,
    #[serde(default)]
    sponsor_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    commission_rate: Option<String>,
    /// Absent: unchanged; `null`: removed; an object: replaced.
    #[serde(default, deserialize_with = "present")]
    payout_details: Option<Value>,
}

/// Deserialises a field that is present (possibly `null`) as `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Reads payout details without ever echoing a value in an error (account
/// numbers and IBANs are secrets).
fn payout_from_json(value: &Value) -> Outcome<PayoutDetails> {
    let invalid = |message: String| Failure::from(Error::validation("payout_details", message));
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("must be a JSON object".into()))?;
    let text = |obj: &Map<String, Value>, key: &str| -> Outcome<String> {
        match obj.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(invalid(format!("{key} must be a string"))),
            None => Err(invalid(format!("{key} is missing"))),
        }
    };
    let allowed: &[&str] = match obj.get("type").and_then(Value::as_str) {
        Some("us_bank") => &[
            "type",
            "account_number",
            "routing_number",
            "bank_name",
            "account_holder_name",
        ],
        Some("iban") => &["type", "iban", "bic", "bank_name", "account_holder_name"],
        Some("paypal") => &["type", "email"],
        _ => {
            return Err(invalid(
                "type must be \"us_bank\", \"iban\" or \"paypal\"".into(),
            ));
        }
    };
    if let Some(key) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(invalid(format!("unknown field {key:?}")));
    }
    let details = match obj.get("type").and_then(Value::as_str) {
        Some("us_bank") => PayoutDetails::us_bank(
            &text(obj, "account_number")?,
            &text(obj, "routing_number")?,
            &text(obj, "bank_name")?,
            &text(obj, "account_holder_name")?,
        )?,
        Some("iban") => {
            let bic = match obj.get("bic") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(invalid("bic must be a string or null".into())),
            };
            PayoutDetails::iban(
                &text(obj, "iban")?,
                bic.as_deref(),
                &text(obj, "bank_name")?,
                &text(obj, "account_holder_name")?,
            )?
        }
        _ => PayoutDetails::paypal(&text(obj, "email")?)?,
    };
    Ok(details)
}

fn new_affiliate(text: &str) -> Outcome<NewAffiliate> {
    // Parse to a `Value` first: a serde error about `payout_details` could
    // otherwise quote an account number.
    let value: Value = parse_json(text, "json")?;
    let mut input = value;
    let payout = input
        .as_object_mut()
        .and_then(|o| o.remove("payout_details"));
    let parsed: NewAffiliateJson = from_json_value(input, "json")?;
    let mut new = NewAffiliate::new(
        parsed.name,
        parsed.email,
        mlas_core::money::parse_decimal(&parsed.commission_rate, "commission_rate")?,
    );
    new.id = parsed.id.map(AffiliateId::new).transpose()?;
    new.status = parsed
        .status
        .as_deref()
        .map(AffiliateStatus::parse)
        .transpose()?;
    new.tier = parsed.tier;
    new.sponsor = parsed.sponsor_id.map(AffiliateId::new).transpose()?;
    debug_assert!(parsed.payout_details.is_none());
    new.payout = match payout {
        None | Some(Value::Null) => None,
        Some(details) => Some(payout_from_json(&details)?),
    };
    Ok(new)
}

fn affiliate_update(text: &str) -> Outcome<AffiliateUpdate> {
    let value: Value = parse_json(text, "json")?;
    let mut input = value;
    let payout = input
        .as_object_mut()
        .and_then(|o| o.remove("payout_details"));
    let parsed: UpdateJson = from_json_value(input, "json")?;
    debug_assert!(parsed.payout_details.is_none());
    Ok(AffiliateUpdate {
        name: parsed.name,
        email: parsed.email,
        tier: parsed.tier,
        commission_rate: parsed
            .commission_rate
            .map(|r| mlas_core::money::parse_decimal(&r, "commission_rate"))
            .transpose()?,
        payout: match payout {
            None => None,
            Some(Value::Null) => Some(None),
            Some(details) => Some(Some(payout_from_json(&details)?)),
        },
    })
}

/// Creates an affiliate.
///
/// `json` (UTF-8, `json_len` bytes) describes it:
///
/// ```json
/// {"id": "aff-123", "name": "John Affiliate", "email": "john@example.com",
///  "status": "ACTIVE", "tier": "gold", "commission_rate": "10",
///  "sponsor_id": "aff-100",
///  "payout_details": {"type": "us_bank", "account_number": "1234567890",
///    "routing_number": "021000021", "bank_name": "Chase Bank",
///    "account_holder_name": "John Affiliate"}}
/// ```
///
/// `name`, `email` and `commission_rate` (a percentage from 0 to 100, as a
/// decimal string) are required; `id` defaults to a generated one, `status` to
/// `"ACTIVE"`, `tier` to `"standard"`. `payout_details` is `null` or one of
/// `{"type":"us_bank", account_number, routing_number, bank_name,
/// account_holder_name}`, `{"type":"iban", iban, bic (optional), bank_name,
/// account_holder_name}` or `{"type":"paypal", email}`.
///
/// On success `*out_json` receives the affiliate as JSON (the "affiliate"
/// document of the README: id, name, email, status, tier, commission_rate,
/// payout_method, payout_details with the account masked, sponsor_id,
/// created_at, updated_at), owned by the caller and released with
/// `mlas_string_free`. On failure `*out_json` is not written and nothing is
/// stored.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `json` is NULL or points to
/// `json_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_create(
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
        let affiliate = engine.create_affiliate(scope, new_affiliate(text)?)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::affiliate(&affiliate)) }
    })
}

/// Reads one affiliate by id (UTF-8, `id_len` bytes).
///
/// On success `*out_json` receives the affiliate document (see
/// `mlas_affiliate_create`), owned by the caller; release it with
/// `mlas_string_free`. `MLAS_ERR_NOT_FOUND` when no such affiliate exists in
/// the scope's tenant. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_affiliate_create`, with `id` pointing to `id_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_get(
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
        let affiliate = engine.affiliate(scope, &id)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::affiliate(&affiliate)) }
    })
}

/// Lists the tenant's affiliates, in id order.
///
/// On success `*out_json` receives a JSON array of affiliate documents, owned
/// by the caller; release it with `mlas_string_free`. On failure `*out_json`
/// is not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `out_json` is NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_list(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let list: Vec<Value> = engine
            .affiliates(scope)?
            .iter()
            .map(json::affiliate)
            .collect();
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(list)) }
    })
}

/// Changes an affiliate's profile. `json` holds the fields to change, each
/// optional: `{"name", "email", "tier", "commission_rate", "payout_details"}`
/// (`"payout_details": null` removes the payout details). Status and sponsor
/// have their own functions.
///
/// On success `*out_json` receives the updated affiliate document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_affiliate_create`, with `id` pointing to `id_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_update(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    json: *const c_char,
    json_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = AffiliateId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `json_len` readable bytes or NULL.
        let text = unsafe { str_arg(json, json_len, "json")? };
        let out = Out::new(out_json, "out_json")?;
        let affiliate = engine.update_affiliate(scope, &id, affiliate_update(text)?)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::affiliate(&affiliate)) }
    })
}

/// Moves an affiliate to `status`, one of the `MLAS_AFFILIATE_STATUS_*`
/// values, giving a `reason` (UTF-8, non-empty) for the audit trail.
/// TERMINATED is final and nothing returns to PENDING
/// (`MLAS_ERR_ILLEGAL_TRANSITION`); any other integer is
/// `MLAS_ERR_INVALID_ARGUMENT`.
///
/// On success `*out_json` receives the updated affiliate document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_affiliate_get`, with `reason` pointing to `reason_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_set_status(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    status: i32,
    reason: *const c_char,
    reason_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = AffiliateId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `reason_len` readable bytes or NULL.
        let reason = unsafe { str_arg(reason, reason_len, "reason")? };
        let out = Out::new(out_json, "out_json")?;
        let status = status_from_c(status)?;
        let affiliate = engine.set_affiliate_status(scope, &id, status, reason)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::affiliate(&affiliate)) }
    })
}

/// Sets an affiliate's sponsor (the next level up), or removes it when
/// `sponsor_id` is NULL (with `sponsor_len` 0). A sponsor that would close a
/// cycle is `MLAS_ERR_VALIDATION`; an unknown one `MLAS_ERR_NOT_FOUND`.
///
/// On success `*out_json` receives the updated affiliate document, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written and nothing changes.
///
/// # Safety
/// As `mlas_affiliate_get`, with `sponsor_id` NULL or pointing to
/// `sponsor_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_set_sponsor(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    sponsor_id: *const c_char,
    sponsor_len: usize,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = AffiliateId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `sponsor_len` readable bytes or NULL.
        let sponsor = unsafe { opt_str_arg(sponsor_id, sponsor_len, "sponsor_id")? }
            .map(AffiliateId::new)
            .transpose()?;
        let out = Out::new(out_json, "out_json")?;
        let affiliate = engine.set_sponsor(scope, &id, sponsor.as_ref())?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::affiliate(&affiliate)) }
    })
}

/// The upline of an affiliate: a JSON array of ids, the affiliate first, then
/// its sponsor, and so on up the tree.
///
/// On success `*out_json` receives the array, owned by the caller; release it
/// with `mlas_string_free`. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_affiliate_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_affiliate_upline(
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
        let upline: Vec<Value> = engine
            .upline(scope, &id)?
            .into_iter()
            .map(|a| Value::String(a.into()))
            .collect();
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(upline)) }
    })
}
