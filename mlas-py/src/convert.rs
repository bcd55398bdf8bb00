//! Conversions across the boundary: strict money and time in, Python values out.
//!
//! Money and rates must be `decimal.Decimal` (or `int`, which is exact): a
//! `float` or a `bool` raises `TypeError`, because PyO3 alone would accept a
//! float by way of its `str`. Datetimes must be timezone-aware: a naive one
//! raises `ValidationError` (a `ValueError`), and any zone is converted to UTC
//! here before the core sees it; times come back in UTC.

use chrono::{DateTime, Utc};
use mlas_core::Decimal;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString, PyType};

use crate::errors::{core, validation};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UTC: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static ENUMS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// A `decimal.Decimal` (or `int`) as a core decimal; `field` names it in errors.
pub fn decimal(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<Decimal> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
        return Err(PyTypeError::new_err(format!(
            "{field} must be a decimal.Decimal, not {} (floats are never accepted for money or rates)",
            obj.get_type().name()?
        )));
    }
    let text: String = if obj.is_instance_of::<PyInt>() {
        obj.str()?.extract()?
    } else if obj.is_instance(DECIMAL.import(py, "decimal", "Decimal")?)? {
        if !obj.call_method0("is_finite")?.is_truthy()? {
            return Err(validation(
                py,
                field,
                format!("{} is not a finite number", obj.str()?),
            ));
        }
        obj.call_method1("__format__", ("f",))?.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{field} must be a decimal.Decimal, not {}",
            obj.get_type().name()?
        )));
    };
    core(py, mlas_core::money::parse_decimal(&text, field))
}

/// An optional decimal.
pub fn opt_decimal(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<Decimal>> {
    match obj {
        Some(o) if !o.is_none() => decimal(o, field).map(Some),
        _ => Ok(None),
    }
}

/// A timezone-aware `datetime.datetime`, converted to UTC.
pub fn utc(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<DateTime<Utc>> {
    let py = obj.py();
    if !obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        return Err(PyTypeError::new_err(format!(
            "{field} must be a timezone-aware datetime.datetime, not {}",
            obj.get_type().name()?
        )));
    }
    if obj.call_method0("utcoffset")?.is_none() {
        return Err(validation(
            py,
            field,
            format!(
                "{} is a naive datetime; give a timezone (for example tzinfo=datetime.timezone.utc)",
                obj.str()?
            ),
        ));
    }
    let utc_zone = UTC.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py
            .import("datetime")?
            .getattr("timezone")?
            .getattr("utc")?
            .unbind())
    })?;
    obj.call_method1("astimezone", (utc_zone.bind(py),))?
        .extract::<DateTime<Utc>>()
        .map_err(|e| validation(py, field, format!("cannot be represented: {e}")))
}

/// An optional aware datetime.
pub fn opt_utc(obj: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<DateTime<Utc>>> {
    match obj {
        Some(o) if !o.is_none() => utc(o, field).map(Some),
        _ => Ok(None),
    }
}

/// A `str` argument, `TypeError` otherwise (a `str` enum member counts).
pub fn text(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    if !obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{field} must be a str, not {}",
            obj.get_type().name()?
        )));
    }
    obj.extract()
}

/// A core id from text, validated.
pub fn id<T>(py: Python<'_>, text: &str) -> PyResult<T>
where
    T: for<'a> TryFrom<&'a str, Error = mlas_core::Error>,
{
    core(py, T::try_from(text))
}

/// An optional core id.
pub fn opt_id<T>(py: Python<'_>, text: Option<&str>) -> PyResult<Option<T>>
where
    T: for<'a> TryFrom<&'a str, Error = mlas_core::Error>,
{
    text.map(|t| id(py, t)).transpose()
}

/// A currency code.
pub fn currency(py: Python<'_>, code: &str) -> PyResult<mlas_core::Currency> {
    core(py, mlas_core::Currency::parse(code))
}

/// A member of one of the string enums of `mlas._enums`, by value.
pub fn enum_member<'py>(py: Python<'py>, class: &str, value: &str) -> PyResult<Bound<'py, PyAny>> {
    let module = ENUMS.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        Ok(py.import("mlas._enums")?.unbind())
    })?;
    module.bind(py).getattr(class)?.call1((value,))
}

/// `Name(field=repr(value), ...)`, the repr of every value object.
pub fn repr_of(name: &str, fields: &[(&str, Bound<'_, PyAny>)]) -> PyResult<String> {
    let mut out = String::with_capacity(64);
    out.push_str(name);
    out.push('(');
    for (i, (field, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(field);
        out.push('=');
        out.push_str(&value.repr()?.to_cow()?);
    }
    out.push(')');
    Ok(out)
}
