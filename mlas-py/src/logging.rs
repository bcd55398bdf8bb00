//! The logging bridge: `tracing` events of the engine forwarded to Python's
//! `logging` module, installed only when the host calls `mlas.enable_logging`.
//!
//! The libraries emit events and never install a subscriber. This module holds
//! a small `tracing` subscriber (events only: the core opens no spans) that is
//! made the process's global default on the first `enable_logging` call and
//! stays for the life of the process; later calls only change its level.
//!
//! Events fire on the thread that runs the engine call, usually with the GIL
//! released (`py.detach`). The subscriber re-acquires it with
//! `Python::try_attach`, which, unlike `Python::attach`, gives up instead of
//! panicking while the interpreter shuts down. Taking the GIL there cannot
//! deadlock with the engine: no Python thread holds the GIL while it waits for
//! an engine lock, because every engine call releases the GIL first. A
//! `logging` handler must not call back into the engine, though: the event
//! may come from inside a transaction.
//!
//! Logger names come from the event's target: the crate without its `mlas_`
//! prefix, then the module path, so `mlas_core::engine::payouts` logs to
//! `mlas.core.engine.payouts` and `mlas_sqlite::store` to `mlas.sqlite.store`.
//! The message is the event's message followed by its fields as `key=value`;
//! the fields also travel as a dict in the record's `mlas_fields` attribute.

use std::fmt::{self, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyTuple};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

/// Python's number for the TRACE level, which `logging` lacks (DEBUG is 10).
const PY_TRACE: u8 = 5;

/// The bridge's threshold: 0 is off, 1 ERROR ... 5 TRACE.
static THRESHOLD: AtomicU8 = AtomicU8::new(0);
/// Whether the first `enable_logging` made the bridge the global default.
static INSTALLED: OnceLock<bool> = OnceLock::new();
static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn rank(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn filter_of(threshold: u8) -> LevelFilter {
    match threshold {
        0 => LevelFilter::OFF,
        1 => LevelFilter::ERROR,
        2 => LevelFilter::WARN,
        3 => LevelFilter::INFO,
        4 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// The `logging` level number of a `tracing` level.
fn py_level(level: Level) -> u8 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => PY_TRACE,
    }
}

/// The Python logger name for a `tracing` target.
fn logger_name(target: &str) -> String {
    let mut parts = target.split("::");
    let first = parts.next().unwrap_or_default();
    let mut name = String::from("mlas");
    let first = first.strip_prefix("mlas_").unwrap_or(first);
    if !first.is_empty() && first != "mlas" {
        name.push('.');
        name.push_str(first);
    }
    for part in parts.filter(|p| !p.is_empty()) {
        name.push('.');
        name.push_str(part);
    }
    name
}

/// One field value of an event, kept as the closest Python type.
enum Value {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Collects an event's message and fields.
#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.pairs.push((field.name(), value));
        }
    }

    /// `message key=value key=value`.
    fn text(&self) -> String {
        let mut text = self.message.clone();
        for (key, value) in &self.pairs {
            if !text.is_empty() {
                text.push(' ');
            }
            // Writing to a String cannot fail.
            let _ = write!(text, "{key}={value}");
        }
        text
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Int(value.into()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::Int(value.into()));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, Value::Int(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Str(value.to_owned()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::Str(format!("{value:?}")));
    }
}

/// The subscriber: filters by [`THRESHOLD`] and forwards events to `logging`.
struct Bridge;

impl Subscriber for Bridge {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The level can change at any time: ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && rank(*metadata.level()) <= THRESHOLD.load(Ordering::Relaxed)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(filter_of(THRESHOLD.load(Ordering::Relaxed)))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // `enabled` refuses spans, so this is not reached; any id will do.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        // `None` while the interpreter shuts down: the event is dropped.
        let _ = Python::try_attach(|py| {
            if let Err(err) = forward(py, metadata, &fields) {
                // A failing handler must not fail the engine call.
                err.write_unraisable(py, None);
            }
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// Hands one event to its Python logger, as `Logger.log` would.
fn forward(py: Python<'_>, metadata: &Metadata<'_>, fields: &Fields) -> PyResult<()> {
    let name = logger_name(metadata.target());
    let logger = GET_LOGGER
        .import(py, "logging", "getLogger")?
        .call1((name.as_str(),))?;
    let level = py_level(*metadata.level());
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }

    let values = PyDict::new(py);
    for (key, value) in &fields.pairs {
        match value {
            Value::Str(s) => values.set_item(key, s)?,
            Value::Int(i) => values.set_item(key, i)?,
            Value::Float(x) => values.set_item(key, x)?,
            Value::Bool(b) => values.set_item(key, b)?,
        }
    }
    let extra = PyDict::new(py);
    extra.set_item("mlas_fields", values)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("extra", extra)?;
    let record = logger.call_method(
        "makeRecord",
        (
            name.as_str(),
            level,
            metadata.file().unwrap_or("<rust>"),
            metadata.line().unwrap_or(0),
            fields.text(),
            PyTuple::empty(py),
            py.None(),
        ),
        Some(&kwargs),
    )?;
    logger.call_method1("handle", (record,))?;
    Ok(())
}

/// The threshold a Python `level` argument names.
fn threshold_of(level: &Bound<'_, PyAny>) -> PyResult<u8> {
    if level.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(
            "level must be a str or an int, not bool",
        ));
    }
    if level.is_instance_of::<PyInt>() {
        let number: i64 = level.extract()?;
        return Ok(match number {
            ..=5 => 5,
            6..=10 => 4,
            11..=20 => 3,
            21..=30 => 2,
            31..=40 => 1,
            _ => 0,
        });
    }
    if level.is_instance_of::<PyString>() {
        let name: String = level.extract()?;
        return match name.to_ascii_uppercase().as_str() {
            "TRACE" => Ok(5),
            "DEBUG" => Ok(4),
            "INFO" => Ok(3),
            "WARNING" | "WARN" => Ok(2),
            "ERROR" => Ok(1),
            "OFF" => Ok(0),
            _ => Err(PyValueError::new_err(format!(
                "level {name:?} is not TRACE, DEBUG, INFO, WARNING, ERROR or OFF"
            ))),
        };
    }
    Err(PyTypeError::new_err(format!(
        "level must be a str or an int, not {}",
        level.get_type().name()?
    )))
}

/// Forwards the engine's `tracing` events at `level` and above to Python's
/// `logging` (loggers under `"mlas"`). Installs the bridge the first time it
/// is called in a process and returns `True`; later calls only change the
/// level and return `False`. `level` is a name (`"TRACE"`, `"DEBUG"`,
/// `"INFO"`, `"WARNING"`, `"ERROR"`, `"OFF"`) or a `logging` level number;
/// TRACE is number 5.
#[pyfunction]
#[pyo3(signature = (level = None), text_signature = "(level='INFO')")]
pub fn enable_logging(py: Python<'_>, level: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
    let threshold = match level {
        Some(level) => threshold_of(level)?,
        None => rank(Level::INFO),
    };

    let mut installed_now = false;
    let installed = *INSTALLED.get_or_init(|| {
        installed_now = tracing::subscriber::set_global_default(Bridge).is_ok();
        installed_now
    });
    if !installed {
        return Err(crate::errors::MlasError::new_err(
            "cannot install the logging bridge: another tracing subscriber is the global default",
        ));
    }
    if installed_now {
        let logging = py.import("logging")?;
        if logging
            .call_method1("getLevelName", (PY_TRACE,))?
            .extract::<String>()?
            .starts_with("Level ")
        {
            logging.call_method1("addLevelName", (PY_TRACE, "TRACE"))?;
        }
    }

    THRESHOLD.store(threshold, Ordering::Relaxed);
    // Callsites cache the global maximum level: recompute it for the new one.
    tracing::callsite::rebuild_interest_cache();
    Ok(installed_now)
}
