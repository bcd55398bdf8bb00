//! Where an audit export or archive goes: a new file at a path, or a binary
//! file object the host opened (anything with `write(bytes)`).
//!
//! Either way the core streams records into a buffer of [`CHUNK`] bytes, so an
//! export never sits in memory whole. A file object is written one chunk at a
//! time with the GIL re-acquired for each call; an exception its `write`
//! raises stops the export and is raised again, as it was, to the caller.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyString, PyType};

static TEXT_IO: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// How many bytes are gathered before each write.
pub const CHUNK: usize = 64 * 1024;

/// A destination argument.
pub enum Output {
    /// A path: a new file is created there (an existing one is an error).
    Path(PathBuf),
    /// A binary file object.
    Stream(Py<PyAny>),
}

impl Output {
    /// A `str` or `os.PathLike` is a path; anything else needs a `write` method.
    pub fn from_py(target: &Bound<'_, PyAny>, field: &str) -> PyResult<Self> {
        let py = target.py();
        if target.is_instance_of::<PyString>() || target.hasattr("__fspath__")? {
            return Ok(Output::Path(target.extract()?));
        }
        if !target.getattr("write").is_ok_and(|w| w.is_callable()) {
            return Err(PyTypeError::new_err(format!(
                "{field} must be a path or a binary file object with write(), not {}",
                target.get_type().name()?
            )));
        }
        if target.is_instance(TEXT_IO.import(py, "io", "TextIOBase")?)? {
            return Err(PyTypeError::new_err(format!(
                "{field} is a text file: open it in binary mode ('wb')"
            )));
        }
        Ok(Output::Stream(target.clone().unbind()))
    }

    /// A buffered writer for the core to stream into (creates the file).
    pub fn open(self) -> mlas_core::Result<Sink> {
        Ok(match self {
            Output::Path(path) => Sink::File(BufWriter::with_capacity(CHUNK, new_file(&path)?)),
            Output::Stream(object) => Sink::Stream(BufWriter::with_capacity(
                CHUNK,
                PyWriter {
                    object,
                    error: None,
                },
            )),
        })
    }
}

/// The buffered writer over a new file or a file object.
pub enum Sink {
    /// A new file.
    File(BufWriter<SyncedFile>),
    /// A Python file object.
    Stream(BufWriter<PyWriter>),
}

impl Sink {
    /// Ends the export: returns the exception a file object's `write` or
    /// `flush` raised, if any, and drops what was never flushed (after a
    /// failure) without writing it.
    pub fn finish(self) -> Option<PyErr> {
        match self {
            Sink::File(writer) => {
                drop(writer.into_parts());
                None
            }
            Sink::Stream(writer) => writer.into_parts().0.error,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::File(w) => w.write(buf),
            Sink::Stream(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::File(w) => w.flush(),
            Sink::Stream(w) => w.flush(),
        }
    }
}

/// A file whose `flush` also syncs it to disk, so an archive is durable
/// before the core deletes the records it holds (the core flushes first).
pub struct SyncedFile(File);

impl Write for SyncedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.0.sync_data()
    }
}

/// Creates a new file for an export or archive; an existing one is an error.
fn new_file(path: &Path) -> mlas_core::Result<SyncedFile> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(SyncedFile)
        .map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                mlas_core::Error::validation("path", format!("{} already exists", path.display()))
            } else {
                mlas_core::Error::storage(format!("cannot create {}: {e}", path.display()))
            }
        })
}

/// Writes to a Python file object, re-acquiring the GIL for each call.
pub struct PyWriter {
    object: Py<PyAny>,
    /// The first exception the object raised; nothing is written after it.
    error: Option<PyErr>,
}

impl PyWriter {
    fn failed(&mut self, py: Python<'_>, err: PyErr, what: &str) -> io::Error {
        let message = format!("the file object's {what}() raised {}", err.value(py));
        self.error.get_or_insert(err);
        io::Error::other(message)
    }
}

impl Write for PyWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    /// Hands `buf` over in one call, or in several when `write` reports a
    /// short write (raw file objects may); `None` counts as all written.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.error.is_some() {
            return Err(io::Error::other("the file object failed earlier"));
        }
        Python::attach(|py| {
            let mut rest = buf;
            while !rest.is_empty() {
                let answer = match self
                    .object
                    .bind(py)
                    .call_method1("write", (PyBytes::new(py, rest),))
                {
                    Ok(answer) => answer,
                    Err(err) => return Err(self.failed(py, err, "write")),
                };
                if !answer.is_instance_of::<PyInt>() {
                    break;
                }
                match answer.extract::<usize>() {
                    Ok(n) if n > 0 && n <= rest.len() => rest = &rest[n..],
                    _ => {
                        let err = PyTypeError::new_err(format!(
                            "write() returned {answer}, not a count between 1 and {}",
                            rest.len()
                        ));
                        return Err(self.failed(py, err, "write"));
                    }
                }
            }
            Ok(())
        })
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Err(io::Error::other("the file object failed earlier"));
        }
        Python::attach(|py| {
            let object = self.object.bind(py);
            if !object.hasattr("flush").unwrap_or(false) {
                return Ok(());
            }
            match object.call_method0("flush") {
                Ok(_) => Ok(()),
                Err(err) => Err(self.failed(py, err, "flush")),
            }
        })
    }
}
