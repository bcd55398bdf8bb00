//! The exception hierarchy of `mlas`, and the one mapping from core error kinds.
//!
//! `MlasError` is the base. `ValidationError` is also a `ValueError` and
//! `NotFoundError` also a `LookupError`, so generic Python code that catches
//! those still works; PyO3's `create_exception!` takes a single base, so these
//! two are made with `type(name, bases, namespace)` at first use.

use std::panic::AssertUnwindSafe;

use mlas_core::{Error, ErrorKind};
use pyo3::exceptions::{PyException, PyLookupError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

pyo3::create_exception!(
    mlas,
    MlasError,
    PyException,
    "Base class of every error raised by mlas. `kind` holds the core's stable error kind."
);
pyo3::create_exception!(
    mlas,
    ConflictError,
    MlasError,
    "The request disagrees with what is already stored under the same key."
);
pyo3::create_exception!(
    mlas,
    IllegalTransitionError,
    MlasError,
    "The object's current status does not allow the requested transition."
);
pyo3::create_exception!(
    mlas,
    StorageError,
    MlasError,
    "The storage backend failed; `retryable` says whether the same call may succeed again."
);
pyo3::create_exception!(
    mlas,
    ProviderError,
    MlasError,
    "The payout provider failed."
);
pyo3::create_exception!(
    mlas,
    IntegrityError,
    MlasError,
    "Stored data failed an integrity check (for example a broken audit chain)."
);

static VALIDATION_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NOT_FOUND_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// An exception class deriving from `MlasError` and `second`, with module `mlas`.
fn two_base_class(
    py: Python<'_>,
    name: &str,
    doc: &str,
    second: Bound<'_, PyType>,
) -> PyResult<Py<PyType>> {
    let bases = PyTuple::new(py, [py.get_type::<MlasError>(), second])?;
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "mlas")?;
    namespace.set_item("__doc__", doc)?;
    let class = py
        .get_type::<PyType>()
        .call1((name, bases, namespace))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}

/// `ValidationError(MlasError, ValueError)`.
pub fn validation_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    VALIDATION_ERROR
        .get_or_try_init(py, || {
            two_base_class(
                py,
                "ValidationError",
                "The input was malformed or broke a rule; nothing was changed. \
                 `field` names the input.",
                py.get_type::<PyValueError>(),
            )
        })
        .map(|t| t.bind(py))
}

/// `NotFoundError(MlasError, LookupError)`.
pub fn not_found_error(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    NOT_FOUND_ERROR
        .get_or_try_init(py, || {
            two_base_class(
                py,
                "NotFoundError",
                "The object does not exist in this tenant (another tenant's id counts as unknown).",
                py.get_type::<PyLookupError>(),
            )
        })
        .map(|t| t.bind(py))
}

/// The Python class for a core error kind. This is the only place kinds map.
pub fn class_for_kind(py: Python<'_>, kind: ErrorKind) -> PyResult<Bound<'_, PyType>> {
    Ok(match kind {
        ErrorKind::Validation => validation_error(py)?.clone(),
        ErrorKind::NotFound => not_found_error(py)?.clone(),
        ErrorKind::Conflict => py.get_type::<ConflictError>(),
        ErrorKind::IllegalTransition => py.get_type::<IllegalTransitionError>(),
        ErrorKind::Storage => py.get_type::<StorageError>(),
        ErrorKind::Provider => py.get_type::<ProviderError>(),
        ErrorKind::Integrity => py.get_type::<IntegrityError>(),
        // `ErrorKind` is non_exhaustive: a kind added to the core lands here
        // until it gets its own class; the kind-mapping test then fails.
        _ => py.get_type::<MlasError>(),
    })
}

/// Converts a core error into the matching Python exception, with `kind`
/// (and `field` for validation, `retryable` for storage) set on the instance.
pub fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let class = match class_for_kind(py, err.kind()) {
        Ok(class) => class,
        Err(e) => return e,
    };
    let exc = PyErr::from_type(class, err.to_string());
    let value = exc.value(py);
    let set = || -> PyResult<()> {
        value.setattr("kind", err.kind().as_str())?;
        if let Error::Validation { field, .. } = err {
            value.setattr("field", field)?;
        }
        value.setattr("retryable", err.is_retryable())?;
        Ok(())
    };
    match set() {
        Ok(()) => exc,
        Err(e) => e,
    }
}

/// A validation error for `field`, made in the binding (bad Python values).
pub fn validation(py: Python<'_>, field: &str, message: impl Into<String>) -> PyErr {
    to_py_err(py, &Error::validation(field, message))
}

/// Maps a core result.
pub fn core<T>(py: Python<'_>, result: mlas_core::Result<T>) -> PyResult<T> {
    result.map_err(|e| to_py_err(py, &e))
}

/// Runs `work` (a call into the core) with the GIL released and any panic
/// caught: a panic becomes an `MlasError`, never an abort or a `PanicException`.
pub fn run<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> mlas_core::Result<T> + Send,
{
    match py.detach(|| std::panic::catch_unwind(AssertUnwindSafe(work))) {
        Ok(result) => core(py, result),
        Err(panic) => Err(panic_error(panic.as_ref())),
    }
}

/// The `MlasError` for a caught panic.
pub fn panic_error(panic: &(dyn std::any::Any + Send)) -> PyErr {
    let message = panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    MlasError::new_err(format!(
        "internal error in mlas (please report it): {message}"
    ))
}
