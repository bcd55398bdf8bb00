//! The boundary between C and Rust: the panic guard around every exported
//! function, the thread-local last error, and the checked reading of C
//! arguments and writing of out-parameters.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::{
    MLAS_ERR_INTERNAL, MLAS_ERR_INVALID_ARGUMENT, MLAS_ERR_INVALID_JSON, MLAS_ERR_INVALID_UTF8,
    MLAS_ERR_NULL_POINTER, MLAS_ERR_VALIDATION, MLAS_OK, mlas_status, status_of,
};

/// Why a call failed: the status it returns and the message it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: mlas_status,
    pub message: String,
}

impl Failure {
    pub fn new(status: mlas_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    pub fn null(name: &str) -> Self {
        Failure::new(MLAS_ERR_NULL_POINTER, format!("{name} is NULL"))
    }

    pub fn argument(message: impl Into<String>) -> Self {
        Failure::new(MLAS_ERR_INVALID_ARGUMENT, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Failure::new(MLAS_ERR_INTERNAL, message)
    }
}

impl From<mlas_core::Error> for Failure {
    fn from(error: mlas_core::Error) -> Self {
        Failure::new(status_of(error.kind()), error.to_string())
    }
}

/// The result of the body of an exported function.
pub(crate) type Outcome<T = ()> = Result<T, Failure>;

thread_local! {
    /// The message of the last failed call on this thread; empty after a success.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records the outcome of a call as this thread's last error.
fn set_last_error(message: &str) {
    // A message cannot hold a NUL for C; replace any rather than lose the message.
    let text = CString::new(message.replace('\0', "\u{fffd}")).unwrap_or_default();
    // `try_with`: during thread teardown the slot may be gone; then nothing is kept.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = text;
        }
    });
}

/// A pointer to this thread's last error message, valid until the message is
/// next replaced (by the next failing or succeeding call on this thread).
pub(crate) fn last_error_ptr() -> Option<*const c_char> {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().ok().map(|text| text.as_ptr()))
        .ok()
        .flatten()
}

/// The text of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "a panic with no message"
    }
}

/// The panic boundary: runs the body of an exported function, turns its
/// outcome into a status, and records the last error. No panic leaves it.
pub(crate) fn call(body: impl FnOnce() -> Outcome) -> mlas_status {
    let outcome = catch_unwind(AssertUnwindSafe(body));
    match outcome {
        Ok(Ok(())) => {
            set_last_error("");
            MLAS_OK
        }
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.status
        }
        Err(payload) => {
            set_last_error(&format!(
                "internal error: a panic was caught at the C boundary: {}",
                panic_text(payload.as_ref())
            ));
            // Dropping the payload runs its destructor, which could panic again.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            MLAS_ERR_INTERNAL
        }
    }
}

/// The panic boundary for functions that return nothing (the `_free` functions).
pub(crate) fn call_void(body: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(body)) {
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
    }
}

/// Reads a required UTF-8 string given as pointer + length.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that stay valid and
/// unmodified for `'a`.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, name: &str) -> Outcome<&'a str> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL per the check above; the caller promises the rest.
    unsafe { str_from_raw(ptr, len, name) }
}

/// Reads an optional UTF-8 string: NULL means absent (`len` must then be 0).
///
/// # Safety
/// As [`str_arg`].
pub(crate) unsafe fn opt_str_arg<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Outcome<Option<&'a str>> {
    if ptr.is_null() {
        if len != 0 {
            return Err(Failure::null(&format!("{name} (with length {len})")));
        }
        return Ok(None);
    }
    // SAFETY: non-NULL per the check above; the caller promises the rest.
    unsafe { str_from_raw(ptr, len, name) }.map(Some)
}

/// # Safety
/// `ptr` is non-NULL and points to `len` readable bytes valid for `'a`.
unsafe fn str_from_raw<'a>(ptr: *const c_char, len: usize, name: &str) -> Outcome<&'a str> {
    if isize::try_from(len).is_err() {
        return Err(Failure::argument(format!(
            "{name}_len {len} is larger than PTRDIFF_MAX"
        )));
    }
    // SAFETY: the pointer is non-NULL, `u8` needs no alignment, the length fits
    // in `isize`, and the caller promises `len` readable bytes valid for `'a`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            MLAS_ERR_INVALID_UTF8,
            format!(
                "{name} is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Parses a JSON argument into `T`. Text that is not JSON is
/// `MLAS_ERR_INVALID_JSON`; JSON of the wrong shape is `MLAS_ERR_VALIDATION`.
///
/// The whole text is checked for syntax first: a streaming parse into `T`
/// would report a shape error in `{"unknown": ` before the syntax error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str, name: &str) -> Outcome<T> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        Failure::new(
            MLAS_ERR_INVALID_JSON,
            format!("invalid {name}: is not valid JSON: {e}"),
        )
    })?;
    from_json_value(value, name)
}

/// Reads an already-parsed JSON value into `T`; a wrong shape is `MLAS_ERR_VALIDATION`.
pub(crate) fn from_json_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    name: &str,
) -> Outcome<T> {
    T::deserialize(value).map_err(|e| {
        Failure::new(
            MLAS_ERR_VALIDATION,
            format!("invalid {name}: does not match the documented schema: {e}"),
        )
    })
}

/// A checked out-parameter: non-NULL, written only by [`Out::write`].
pub(crate) struct Out<T> {
    ptr: *mut T,
}

impl<T> Out<T> {
    /// Checks that `ptr` is not NULL. Call this before doing any work, so that
    /// a NULL out-parameter fails before anything is changed.
    pub fn new(ptr: *mut T, name: &str) -> Outcome<Self> {
        if ptr.is_null() {
            return Err(Failure::null(name));
        }
        Ok(Out { ptr })
    }

    /// Writes the result. The only write to an out-parameter, made on success.
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] must be valid for a write of `T`.
    pub unsafe fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`); the caller promises it is valid
        // and aligned for `T`. `write` does not drop the old (uninitialised) value.
        unsafe { self.ptr.write(value) }
    }
}

/// Turns a string into a C string the caller owns (freed with `mlas_string_free`).
pub(crate) fn c_string(text: String) -> Outcome<*mut c_char> {
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| Failure::internal("internal error: a result held a NUL byte"))
}

/// Writes `text` into a C-string out-parameter.
///
/// # Safety
/// As [`Out::write`].
pub(crate) unsafe fn write_string(out: Out<*mut c_char>, text: String) -> Outcome {
    let raw = c_string(text)?;
    // SAFETY: the caller's promise is passed on.
    unsafe { out.write(raw) };
    Ok(())
}

/// Writes a JSON value into a C-string out-parameter.
///
/// # Safety
/// As [`Out::write`].
pub(crate) unsafe fn write_json(out: Out<*mut c_char>, value: &serde_json::Value) -> Outcome {
    let text = serde_json::to_string(value)
        .map_err(|e| Failure::internal(format!("internal error: cannot write JSON: {e}")))?;
    // SAFETY: the caller's promise is passed on.
    unsafe { write_string(out, text) }
}
