//! Commission rules and their versions.

use std::ffi::c_char;

use mlas_core::rule::Condition;
use mlas_core::{Currency, Error, LevelRule, RuleId, RuleSpec};
use serde::Deserialize;
use serde_json::Value;

use crate::boundary::{Failure, Out, Outcome, call, parse_json, str_arg, write_json};
use crate::engine::{handles, mlas_engine, mlas_scope};
use crate::json;
use crate::status::mlas_status;

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleJson {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    priority: i32,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    valid_from: Option<i64>,
    #[serde(default)]
    valid_until: Option<i64>,
    #[serde(default)]
    conditions: Vec<Condition>,
    levels: Vec<LevelRule>,
    #[serde(default)]
    compression: bool,
    #[serde(default)]
    total_cap_percent: Option<String>,
    #[serde(default)]
    currency: Option<String>,
    #[serde(default)]
    holding_days: u32,
}

fn time_field(micros: Option<i64>, field: &str) -> Outcome<Option<chrono::DateTime<chrono::Utc>>> {
    micros
        .map(|us| {
            mlas_core::clock::from_micros(us).ok_or_else(|| {
                Failure::from(Error::validation(
                    field,
                    format!("time {us} is out of range"),
                ))
            })
        })
        .transpose()
}

/// Parses a rule document into its optional id and its spec.
fn rule_spec(text: &str) -> Outcome<(Option<RuleId>, RuleSpec)> {
    let r: RuleJson = parse_json(text, "json")?;
    let spec = RuleSpec {
        name: r.name,
        priority: r.priority,
        active: r.active,
        valid_from: time_field(r.valid_from, "valid_from")?,
        valid_until: time_field(r.valid_until, "valid_until")?,
        conditions: r.conditions,
        levels: r.levels,
        compression: r.compression,
        total_cap_percent: r
            .total_cap_percent
            .map(|p| mlas_core::money::parse_decimal(&p, "total_cap_percent"))
            .transpose()?,
        currency: r.currency.as_deref().map(Currency::parse).transpose()?,
        holding_days: r.holding_days,
    };
    Ok((r.id.map(RuleId::new).transpose()?, spec))
}

/// Creates a commission rule (version 1).
///
/// `json` (UTF-8, `json_len` bytes) is the rule document:
///
/// ```json
/// {"id": "standard", "name": "Standard plan", "priority": 0, "active": true,
///  "valid_from": null, "valid_until": null,
///  "conditions": [{"field": "currency", "op": "eq", "values": ["USD"]}],
///  "levels": [{"rate": {"kind": "percent", "percent": "10"}},
///             {"rate": {"kind": "percent", "percent": "5"}, "cap": "20.00"}],
///  "compression": true, "total_cap_percent": "30", "currency": "USD",
///  "holding_days": 30}
/// ```
///
/// `name` and `levels` are required; `id` defaults to a generated one,
/// `priority` to 0, `active` to true, `compression` to false, `holding_days`
/// to 0. `valid_from` / `valid_until` are microseconds since the Unix epoch or
/// null. A level's `rate` is `{"kind":"percent","percent":"10"}`,
/// `{"kind":"affiliate_rate"}` or `{"kind":"fixed","amount":"5.00"}`; `cap` is
/// an optional decimal string. A condition's `field` is `amount`, `currency`,
/// `attribution_type`, `tier` or `attributes.<name>`; `op` is `eq`, `ne`,
/// `in`, `gt`, `gte`, `lt` or `lte`; `values` are strings. Every decimal is a
/// string: a JSON number is rejected.
///
/// On success `*out_json` receives the stored rule (the same fields plus
/// `version`, `created_at` and `version_created_at`), owned by the caller;
/// release it with `mlas_string_free`. On failure `*out_json` is not written
/// and nothing is stored.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `json` is NULL or points to
/// `json_len` readable bytes; `out_json` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_rule_create(
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
        let (id, spec) = rule_spec(text)?;
        let rule = engine.create_rule(scope, id, spec)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::rule(&rule)?) }
    })
}

/// Edits a rule: stores `json` (a rule document as for `mlas_rule_create`,
/// without `id`) as its next version. Older versions stay readable, and
/// existing commissions keep the version they were calculated with.
///
/// On success `*out_json` receives the new version, owned by the caller;
/// release it with `mlas_string_free`. On failure `*out_json` is not written
/// and nothing is stored.
///
/// # Safety
/// As `mlas_rule_create`, with `id` pointing to `id_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_rule_update(
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
        let id = RuleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        // SAFETY: the caller promises `json_len` readable bytes or NULL.
        let text = unsafe { str_arg(json, json_len, "json")? };
        let out = Out::new(out_json, "out_json")?;
        let (given, spec) = rule_spec(text)?;
        if given.is_some_and(|g| g != id) {
            return Err(Error::validation("id", "an update cannot change the rule id").into());
        }
        let rule = engine.update_rule(scope, &id, spec)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::rule(&rule)?) }
    })
}

/// Reads a rule: its latest version when `version` is 0, otherwise that version.
///
/// On success `*out_json` receives the rule document, owned by the caller;
/// release it with `mlas_string_free`. `MLAS_ERR_NOT_FOUND` for an unknown id
/// or version. On failure `*out_json` is not written.
///
/// # Safety
/// As `mlas_rule_update`, without `json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_rule_get(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    id: *const c_char,
    id_len: usize,
    version: u32,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        // SAFETY: the caller promises `id_len` readable bytes or NULL.
        let id = RuleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let rule = engine.rule(scope, &id, (version != 0).then_some(version))?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &json::rule(&rule)?) }
    })
}

/// Lists the latest version of every rule of the tenant.
///
/// On success `*out_json` receives a JSON array of rule documents, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written.
///
/// # Safety
/// `engine`, `scope` are NULL or live handles; `out_json` is NULL or valid for
/// a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_rule_list(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
    out_json: *mut *mut c_char,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises live handles or NULL.
        let (engine, scope) = unsafe { handles(engine, scope)? };
        let out = Out::new(out_json, "out_json")?;
        let rules = engine
            .rules(scope)?
            .iter()
            .map(json::rule)
            .collect::<Outcome<Vec<_>>>()?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(rules)) }
    })
}

/// Lists every version of a rule, oldest first.
///
/// On success `*out_json` receives a JSON array of rule documents, owned by
/// the caller; release it with `mlas_string_free`. On failure `*out_json` is
/// not written.
///
/// # Safety
/// As `mlas_rule_get`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_rule_versions(
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
        let id = RuleId::new(unsafe { str_arg(id, id_len, "id")? })?;
        let out = Out::new(out_json, "out_json")?;
        let rules = engine
            .rule_versions(scope, &id)?
            .iter()
            .map(json::rule)
            .collect::<Outcome<Vec<_>>>()?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { write_json(out, &Value::Array(rules)) }
    })
}
