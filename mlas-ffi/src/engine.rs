//! The engine and scope handles, and the engine's clock.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use mlas_core::{Clock, Currency, Engine, EngineConfig, Scope};
use serde::Deserialize;

use crate::boundary::{Failure, Out, Outcome, call, call_void, opt_str_arg, parse_json, str_arg};
use crate::status::mlas_status;

/// An MLAS engine: the storage and the settings every operation runs against.
///
/// Opened with `mlas_engine_open` (a SQLite file) or `mlas_engine_open_memory`,
/// released with `mlas_engine_free`. An engine may
/// be used from several threads at once; it must not be freed while another
/// call is using it.
#[allow(non_camel_case_types)]
pub struct mlas_engine {
    pub(crate) inner: Engine,
    clock: Arc<HostClock>,
}

/// Who is acting, for which tenant: the first argument of every operation
/// after the engine.
///
/// Made with `mlas_scope_new`, released with `mlas_scope_free`. A scope is
/// immutable and may be shared between threads and engines.
#[allow(non_camel_case_types)]
pub struct mlas_scope {
    pub(crate) inner: Scope,
}

/// The clock of an engine opened through C: the system clock until a host
/// (a test) fixes it with `mlas_engine_set_time`.
#[derive(Debug, Default)]
struct HostClock {
    fixed: Mutex<Option<DateTime<Utc>>>,
}

impl Clock for HostClock {
    fn now(&self) -> DateTime<Utc> {
        let fixed = *self.fixed.lock().unwrap_or_else(PoisonError::into_inner);
        fixed.unwrap_or_else(Utc::now)
    }
}

/// The engine settings as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigJson {
    /// Currency code to the smallest payout, as a decimal string.
    #[serde(default)]
    min_payout: BTreeMap<String, String>,
    #[serde(default)]
    max_payout_attempts: Option<u32>,
    /// The HMAC key of the keyed audit mode, hex-encoded.
    #[serde(default)]
    audit_key_hex: Option<String>,
}

fn config_from_json(text: Option<&str>) -> Outcome<EngineConfig> {
    let mut config = EngineConfig::default();
    let Some(text) = text else {
        return Ok(config);
    };
    let json: ConfigJson = parse_json(text, "config_json")?;
    for (code, amount) in json.min_payout {
        let currency = Currency::parse(&code)?;
        let amount = mlas_core::money::parse_decimal(&amount, "min_payout")?;
        config.min_payout.insert(currency, amount);
    }
    if let Some(attempts) = json.max_payout_attempts {
        config.max_payout_attempts = attempts;
    }
    if let Some(key) = json.audit_key_hex {
        let key = hex::decode(key.trim()).map_err(|_| {
            Failure::from(mlas_core::Error::validation(
                "audit_key_hex",
                "is not a hexadecimal string",
            ))
        })?;
        config.audit_key = Some(key);
    }
    Ok(config)
}

/// Wraps a configured engine in a handle with a host clock.
pub(crate) fn new_handle(engine: Engine, config: Option<&str>) -> Outcome<Box<mlas_engine>> {
    let config = config_from_json(config)?;
    let clock = Arc::new(HostClock::default());
    let inner = engine.with_config(config)?.with_clock(clock.clone());
    Ok(Box::new(mlas_engine { inner, clock }))
}

/// Borrows an engine and a scope handle, or fails on NULL.
///
/// # Safety
/// Each pointer is NULL or points to a live handle made by this library.
pub(crate) unsafe fn handles<'a>(
    engine: *const mlas_engine,
    scope: *const mlas_scope,
) -> Outcome<(&'a Engine, &'a Scope)> {
    // SAFETY: the caller promises a live handle or NULL; `as_ref` handles NULL.
    let engine = unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))?;
    // SAFETY: as above.
    let scope = unsafe { scope.as_ref() }.ok_or_else(|| Failure::null("scope"))?;
    Ok((&engine.inner, &scope.inner))
}

/// Opens an engine over a fresh in-memory store (nothing is kept after
/// `mlas_engine_free`). For tests, examples and hosts that only calculate.
///
/// `config_json` (UTF-8, `config_len` bytes) is optional: NULL with length 0
/// means the defaults. Its schema:
///
/// ```json
/// {"min_payout": {"USD": "50.00"}, "max_payout_attempts": 3,
///  "audit_key_hex": "00112233..."}
/// ```
///
/// Every key is optional. `min_payout` maps a currency to the smallest payout
/// (a decimal string); `audit_key_hex` switches the audit chain to HMAC-SHA-256
/// with that key.
///
/// On success `*out_engine` receives a new engine owned by the caller; release
/// it with `mlas_engine_free`. On failure `*out_engine` is not written.
///
/// # Safety
/// `config_json` is NULL or points to `config_len` readable bytes;
/// `out_engine` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_open_memory(
    config_json: *const c_char,
    config_len: usize,
    out_engine: *mut *mut mlas_engine,
) -> mlas_status {
    call(|| {
        let out = Out::new(out_engine, "out_engine")?;
        // SAFETY: the caller promises `config_len` readable bytes or NULL.
        let config = unsafe { opt_str_arg(config_json, config_len, "config_json")? };
        let handle = new_handle(Engine::in_memory(), config)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Opens an engine over a SQLite database file (created, and migrated to the
/// current schema, if needed), in WAL mode. Several engines, in this or other
/// processes, may open the same file; every operation is one transaction.
///
/// `path` is the file's path as UTF-8 (`path_len` bytes, no NUL).
/// `config_json` is optional, as for `mlas_engine_open_memory`.
///
/// On success `*out_engine` receives a new engine owned by the caller; release
/// it with `mlas_engine_free` (which closes the file). On failure (for example
/// `MLAS_ERR_STORAGE` for a file that cannot be opened or that a newer MLAS
/// wrote) `*out_engine` is not written.
///
/// # Safety
/// `path` and `config_json` are NULL or point to their lengths in readable
/// bytes; `out_engine` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_open(
    path: *const c_char,
    path_len: usize,
    config_json: *const c_char,
    config_len: usize,
    out_engine: *mut *mut mlas_engine,
) -> mlas_status {
    call(|| {
        let out = Out::new(out_engine, "out_engine")?;
        // SAFETY: the caller promises `path_len` readable bytes or NULL.
        let path = unsafe { str_arg(path, path_len, "path")? };
        // SAFETY: the caller promises `config_len` readable bytes or NULL.
        let config = unsafe { opt_str_arg(config_json, config_len, "config_json")? };
        if path.is_empty() || path.contains('\0') {
            return Err(mlas_core::Error::validation(
                "path",
                "must be a non-empty path without NUL",
            )
            .into());
        }
        // Validate the settings before touching the file.
        config_from_json(config)?;
        let store = mlas_sqlite::SqliteStore::open(path)?;
        let handle = new_handle(Engine::new(store), config)?;
        // SAFETY: `out` is non-NULL and the caller promises it is writable.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    })
}

/// Releases an engine and, for an in-memory engine, everything in it.
///
/// NULL is a no-op. The pointer must not be used again, and no other call may
/// be using the engine at the time.
///
/// # Safety
/// `engine` is NULL or a live engine from `mlas_engine_open*`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_free(engine: *mut mlas_engine) {
    call_void(|| {
        if !engine.is_null() {
            // SAFETY: the caller gives back ownership of a box made by this library.
            drop(unsafe { Box::from_raw(engine) });
        }
    });
}

/// Fixes the engine's clock at `micros` microseconds since the Unix epoch, UTC.
/// Every later operation of this engine sees that time (holding periods,
/// `created_at`, audit times) until it is set again or
/// `mlas_engine_use_system_time` is called. Meant for tests and examples.
///
/// Fails with `MLAS_ERR_INVALID_ARGUMENT` for a time outside the representable
/// range. Thread-safe.
///
/// # Safety
/// `engine` is NULL or a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_set_time(
    engine: *const mlas_engine,
    micros: i64,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises a live handle or NULL.
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))?;
        let at = mlas_core::clock::from_micros(micros)
            .ok_or_else(|| Failure::argument(format!("time {micros} is out of range")))?;
        *engine
            .clock
            .fixed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(at);
        Ok(())
    })
}

/// Returns the engine to the system clock. Thread-safe.
///
/// # Safety
/// `engine` is NULL or a live engine.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_use_system_time(engine: *const mlas_engine) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises a live handle or NULL.
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))?;
        *engine
            .clock
            .fixed
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    })
}

/// Writes the engine's current time (microseconds since the Unix epoch, UTC)
/// to `*out_micros`. On failure `*out_micros` is not written.
///
/// # Safety
/// `engine` is NULL or a live engine; `out_micros` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_now(
    engine: *const mlas_engine,
    out_micros: *mut i64,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises a live handle or NULL.
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))?;
        let out = Out::new(out_micros, "out_micros")?;
        let now = mlas_core::clock::to_micros(engine.inner.now());
        // SAFETY: non-NULL, and the caller promises it is writable.
        unsafe { out.write(now) };
        Ok(())
    })
}

/// Makes a scope: the tenant (the runbook's `organizationId`) and the actor
/// recorded in the audit trail (a user, a job name). Both are UTF-8 strings
/// given as pointer + length; the tenant is 1 to 128 printable ASCII
/// characters without spaces, the actor 1 to 200 characters without control
/// characters.
///
/// On success `*out_scope` receives a new scope owned by the caller; release it
/// with `mlas_scope_free`. On failure `*out_scope` is not written.
///
/// # Safety
/// `tenant` and `actor` are NULL or point to their lengths in readable bytes;
/// `out_scope` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_scope_new(
    tenant: *const c_char,
    tenant_len: usize,
    actor: *const c_char,
    actor_len: usize,
    out_scope: *mut *mut mlas_scope,
) -> mlas_status {
    call(|| {
        let out = Out::new(out_scope, "out_scope")?;
        // SAFETY: the caller promises `tenant_len` readable bytes or NULL.
        let tenant = unsafe { str_arg(tenant, tenant_len, "tenant")? };
        // SAFETY: the caller promises `actor_len` readable bytes or NULL.
        let actor = unsafe { str_arg(actor, actor_len, "actor")? };
        let scope = Box::new(mlas_scope {
            inner: Scope::new(tenant, actor)?,
        });
        // SAFETY: non-NULL, and the caller promises it is writable.
        unsafe { out.write(Box::into_raw(scope)) };
        Ok(())
    })
}

/// Releases a scope. NULL is a no-op; the pointer must not be used again.
///
/// # Safety
/// `scope` is NULL or a live scope from `mlas_scope_new`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_scope_free(scope: *mut mlas_scope) {
    call_void(|| {
        if !scope.is_null() {
            // SAFETY: the caller gives back ownership of a box made by this library.
            drop(unsafe { Box::from_raw(scope) });
        }
    });
}
