//! # mlas-ffi: the C library of MLAS
//!
//! This crate builds `libmlas.so` (SONAME `libmlas.so.0`) and `libmlas.a`, and
//! its exported functions are described by `include/mlas.h`, which cbindgen
//! generates from the doc comments here (a test fails when the checked-in
//! header differs; `MLAS_BLESS=1 cargo test -p mlas-ffi` rewrites it).
//!
//! The conventions, in short (README.md, chapter "C API conventions", has them
//! in full):
//!
//! - opaque handles (`mlas_engine`, `mlas_scope`) made by `_open`/`_new` and
//!   released by `_free` (NULL is a no-op);
//! - every fallible function returns an `int32_t` status, `MLAS_OK` (0) or an
//!   explicit, never-reused error code, and writes its out-parameters only on
//!   success; the message of the last failure on the calling thread is
//!   `mlas_last_error_message()`;
//! - strings in are UTF-8 pointer + length; strings out are NUL-terminated
//!   UTF-8 owned by the caller and released with `mlas_string_free`;
//! - money is a decimal string, time is `int64_t` microseconds since the Unix
//!   epoch (UTC), and there is no floating point anywhere;
//! - structured inputs and results are JSON documents whose schema each
//!   function documents;
//! - no panic crosses the boundary: each exported body runs under
//!   `catch_unwind` and a panic becomes `MLAS_ERR_INTERNAL`;
//! - libmlas logs nothing anywhere until the host installs a log callback
//!   with `mlas_log_set_callback` (`log.rs`).
//!
//! ## Quick start (C)
//!
//! ```c
//! #include <mlas.h>
//! #include <stdio.h>
//! #include <string.h>
//!
//! int main(void) {
//!     mlas_engine *engine = NULL;
//!     mlas_scope *scope = NULL;
//!     char *json = NULL;
//!     const char *aff = "{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"commission_rate\":\"10\"}";
//!     if (mlas_engine_open_memory(NULL, 0, &engine) != MLAS_OK) return 1;
//!     if (mlas_scope_new("org-123", 7, "ops", 3, &scope) != MLAS_OK) return 1;
//!     if (mlas_affiliate_create(engine, scope, aff, strlen(aff), &json) == MLAS_OK) {
//!         printf("%s\n", json);
//!         mlas_string_free(json);
//!     } else {
//!         fprintf(stderr, "%s\n", mlas_last_error_message());
//!     }
//!     mlas_scope_free(scope);
//!     mlas_engine_free(engine);
//!     return 0;
//! }
//! ```
//!
//! The complete runbook flow is in `examples/c/runbook.c` at the repository root.

#![allow(clippy::missing_safety_doc)] // Every exported function has a `# Safety` section.

pub mod affiliate;
pub mod audit;
mod boundary;
pub mod commission;
pub mod engine;
mod json;
pub mod log;
pub mod metrics;
pub mod payout;
pub mod rule;
pub mod sale;
pub mod status;

use std::ffi::{CString, c_char};

use boundary::{call_void, last_error_ptr};
use status::mlas_status;

/// Releases a string returned by libmlas (every `out_json` / `out_text`).
///
/// NULL is a no-op. The pointer must come from libmlas, be released once, and
/// not be used afterwards. Does not change the last error.
///
/// # Safety
/// `text` is NULL or a string returned by libmlas and not yet released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mlas_string_free(text: *mut c_char) {
    call_void(|| {
        if !text.is_null() {
            // SAFETY: the caller gives back a string made by `CString::into_raw`
            // in this library; it has not been released before.
            drop(unsafe { CString::from_raw(text) });
        }
    });
}

/// The message of the last failed libmlas call on the calling thread, as a
/// NUL-terminated UTF-8 string; `""` when the last call succeeded. Messages
/// are lower-case, name the offending value, and never contain a full account
/// number.
///
/// The pointer is borrowed: it is never NULL, must not be freed, and stays
/// valid until the next libmlas call on the same thread (other than
/// `mlas_last_error_message`, `mlas_status_name`, `mlas_version` and the
/// `_free` functions, which leave it alone). Copy it to keep it.
#[unsafe(no_mangle)]
pub extern "C" fn mlas_last_error_message() -> *const c_char {
    static EMPTY: &std::ffi::CStr = c"";
    std::panic::catch_unwind(last_error_ptr)
        .ok()
        .flatten()
        .unwrap_or(EMPTY.as_ptr())
}

/// The name of a status code (`"MLAS_ERR_NOT_FOUND"`), or
/// `"MLAS_UNKNOWN_STATUS"` for a value libmlas never returns. The string is
/// static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mlas_status_name(status: mlas_status) -> *const c_char {
    let name = match status::name_of(status) {
        Some("MLAS_OK") => c"MLAS_OK",
        Some("MLAS_ERR_VALIDATION") => c"MLAS_ERR_VALIDATION",
        Some("MLAS_ERR_NOT_FOUND") => c"MLAS_ERR_NOT_FOUND",
        Some("MLAS_ERR_CONFLICT") => c"MLAS_ERR_CONFLICT",
        Some("MLAS_ERR_ILLEGAL_TRANSITION") => c"MLAS_ERR_ILLEGAL_TRANSITION",
        Some("MLAS_ERR_STORAGE") => c"MLAS_ERR_STORAGE",
        Some("MLAS_ERR_PROVIDER") => c"MLAS_ERR_PROVIDER",
        Some("MLAS_ERR_INTEGRITY") => c"MLAS_ERR_INTEGRITY",
        Some("MLAS_ERR_NULL_POINTER") => c"MLAS_ERR_NULL_POINTER",
        Some("MLAS_ERR_INVALID_UTF8") => c"MLAS_ERR_INVALID_UTF8",
        Some("MLAS_ERR_INVALID_JSON") => c"MLAS_ERR_INVALID_JSON",
        Some("MLAS_ERR_INTERNAL") => c"MLAS_ERR_INTERNAL",
        Some("MLAS_ERR_INVALID_ARGUMENT") => c"MLAS_ERR_INVALID_ARGUMENT",
        Some("MLAS_ERR_UNSUPPORTED") => c"MLAS_ERR_UNSUPPORTED",
        _ => c"MLAS_UNKNOWN_STATUS",
    };
    name.as_ptr()
}

/// The version of libmlas (`"0.1.0"`), static: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mlas_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests;
