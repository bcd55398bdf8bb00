//! The engine and scope handles, and the engine's clock.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use mlas_core::{Clock, Currency, Engine, EngineConfig, Scope, Store};
use mlas_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use serde::Deserialize;

use crate::boundary::{Failure, Out, Outcome, call, call_void, opt_str_arg, parse_json, str_arg};
use crate::status::{MLAS_ERR_UNSUPPORTED, mlas_status};

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
    /// The same store as `inner`'s, typed, for what only SQLite can do
    /// (backups); `None` for an in-memory engine.
    pub(crate) sqlite: Option<Arc<SqliteStore>>,
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
    /// How the SQLite file is opened (`mlas_engine_open` only).
    #[serde(default)]
    sqlite: Option<SqliteJson>,
}

/// The `"sqlite"` object of the settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SqliteJson {
    /// `"NORMAL"` or `"FULL"`.
    #[serde(default)]
    synchronous: Option<String>,
    /// Milliseconds a connection waits for another one's lock.
    #[serde(default)]
    busy_timeout_ms: Option<u64>,
}

/// The settings of an engine: the core's, and how to open a SQLite file.
struct Settings {
    engine: EngineConfig,
    sqlite: Option<SqliteJson>,
}

fn settings_from_json(text: Option<&str>) -> Outcome<Settings> {
    let mut config = EngineConfig::default();
    let Some(text) = text else {
        return Ok(Settings {
            engine: config,
            sqlite: None,
        });
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
    Ok(Settings {
        engine: config,
        sqlite: json.sqlite,
    })
}

/// The SQLite options for `path` with the `"sqlite"` settings applied.
fn sqlite_options(path: &str, json: Option<&SqliteJson>) -> Outcome<SqliteOptions> {
    let mut options = SqliteOptions::file(path);
    let Some(json) = json else {
        return Ok(options);
    };
    if let Some(mode) = &json.synchronous {
        let mode = if mode.eq_ignore_ascii_case("NORMAL") {
            Synchronous::Normal
        } else if mode.eq_ignore_ascii_case("FULL") {
            Synchronous::Full
        } else {
            return Err(mlas_core::Error::validation(
                "sqlite.synchronous",
                format!("{mode:?} is neither \"NORMAL\" nor \"FULL\""),
            )
            .into());
        };
        options = options.synchronous(mode);
    }
    if let Some(ms) = json.busy_timeout_ms {
        // SQLite takes the timeout as a C int of milliseconds.
        if i32::try_from(ms).is_err() {
            return Err(mlas_core::Error::validation(
                "sqlite.busy_timeout_ms",
                format!("{ms} is above {}", i32::MAX),
            )
            .into());
        }
        options = options.busy_timeout(Duration::from_millis(ms));
    }
    Ok(options)
}

/// Wraps a configured engine in a handle with a host clock.
fn new_handle(
    engine: Engine,
    config: EngineConfig,
    sqlite: Option<Arc<SqliteStore>>,
) -> Outcome<Box<mlas_engine>> {
    let clock = Arc::new(HostClock::default());
    let inner = engine.with_config(config)?.with_clock(clock.clone());
    Ok(Box::new(mlas_engine {
        inner,
        clock,
        sqlite,
    }))
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
/// with that key. The `"sqlite"` settings of `mlas_engine_open` are
/// `MLAS_ERR_VALIDATION` here.
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
        let settings = settings_from_json(config)?;
        if settings.sqlite.is_some() {
            return Err(mlas_core::Error::validation(
                "sqlite",
                "applies to engines opened on a file with mlas_engine_open",
            )
            .into());
        }
        let handle = new_handle(Engine::in_memory(), settings.engine, None)?;
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
/// `config_json` is optional, as for `mlas_engine_open_memory`, and may also
/// say how the file is opened:
///
/// ```json
/// {"sqlite": {"synchronous": "FULL", "busy_timeout_ms": 10000}}
/// ```
///
/// `synchronous` is `"NORMAL"` (the default: a commit survives a crash of
/// the process; a power loss may lose the last commits, never corrupt the
/// file) or `"FULL"` (every commit is on disk before the call returns);
/// `busy_timeout_ms` (default 5000, at most 2147483647) is how long a
/// connection waits for another one's lock before the write is retried and,
/// in the end, fails with `MLAS_ERR_STORAGE`.
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
        let settings = settings_from_json(config)?;
        let options = sqlite_options(path, settings.sqlite.as_ref())?;
        let store = Arc::new(SqliteStore::open_with(options)?);
        let shared: Arc<dyn Store> = store.clone();
        let handle = new_handle(Engine::from_arc(shared), settings.engine, Some(store))?;
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

/// Writes a consistent copy of the engine's SQLite database, every tenant in
/// it, to a new file at `path` (UTF-8, `path_len` bytes, no NUL), while the
/// engine stays in use: other threads may go on calling it. The copy is one
/// self-contained file (no `-wal` or `-shm` companions) that
/// `mlas_engine_open` opens. Copying the database file by hand is not a
/// backup: its `-wal` file may hold the latest commits.
///
/// Fails with `MLAS_ERR_VALIDATION` when `path` already exists (a backup
/// never overwrites) or is empty, `MLAS_ERR_STORAGE` when SQLite cannot
/// write it, and `MLAS_ERR_UNSUPPORTED` for an engine from
/// `mlas_engine_open_memory`, which has no database file to copy. On failure
/// no file is left at `path`, except a partial one SQLite could not remove.
///
/// # Safety
/// `engine` is NULL or a live engine; `path` is NULL or points to `path_len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_engine_backup(
    engine: *const mlas_engine,
    path: *const c_char,
    path_len: usize,
) -> mlas_status {
    call(|| {
        // SAFETY: the caller promises a live handle or NULL.
        let engine = unsafe { engine.as_ref() }.ok_or_else(|| Failure::null("engine"))?;
        // SAFETY: the caller promises `path_len` readable bytes or NULL.
        let path = unsafe { str_arg(path, path_len, "path")? };
        if path.is_empty() || path.contains('\0') {
            return Err(mlas_core::Error::validation(
                "path",
                "must be a non-empty path without NUL",
            )
            .into());
        }
        let store = engine.sqlite.as_ref().ok_or_else(|| {
            Failure::new(
                MLAS_ERR_UNSUPPORTED,
                "an in-memory engine has no database file to back up",
            )
        })?;
        store.backup_to(path)?;
        Ok(())
    })
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
