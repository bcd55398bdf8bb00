//! The audit trail: records, verification reports, checkpoints and health.

use chrono::{DateTime, Utc};
use pyo3::prelude::*;

use crate::convert::repr_of;
use crate::errors::core;
use crate::types::{AuditHead, json_to_py};

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    pyo3::conversion::IntoPyObjectExt::into_bound_py_any(value, py)
}

/// One audit record of a tenant's chain.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct AuditRecord {
    pub(crate) inner: mlas_core::AuditRecord,
}

#[pymethods]
impl AuditRecord {
    /// The tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// Position in the chain, from 1.
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq
    }
    /// When the change was made (UTC).
    #[getter]
    fn at(&self) -> DateTime<Utc> {
        self.inner.at
    }
    /// The transaction type (`"commission.approved"`, ...).
    #[getter]
    fn kind(&self) -> &str {
        &self.inner.kind
    }
    /// The resource type.
    #[getter]
    fn resource_type(&self) -> &str {
        &self.inner.resource_type
    }
    /// The resource id.
    #[getter]
    fn resource_id(&self) -> &str {
        &self.inner.resource_id
    }
    /// The affiliate concerned, where one applies.
    #[getter]
    fn affiliate_id(&self) -> Option<&str> {
        self.inner.affiliate_id.as_deref()
    }
    /// Who made the change.
    #[getter]
    fn actor(&self) -> &str {
        &self.inner.actor
    }
    /// What changed (a fresh dict; money as decimal strings).
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.payload)
    }
    /// The previous record's hash.
    #[getter]
    fn prev_hash(&self) -> &str {
        &self.inner.prev_hash
    }
    /// This record's hash.
    #[getter]
    fn hash(&self) -> &str {
        &self.inner.hash
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "AuditRecord",
            &[
                ("seq", obj(py, self.seq())?),
                ("kind", obj(py, self.kind())?),
                ("resource_id", obj(py, self.resource_id())?),
                ("actor", obj(py, self.actor())?),
            ],
        )
    }
}

/// The answer of a verification: how far the chain is intact, and the first
/// broken record if any.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct AuditVerification {
    pub(crate) inner: mlas_core::AuditVerification,
}

#[pymethods]
impl AuditVerification {
    /// Whether no broken record was found.
    #[getter]
    fn intact(&self) -> bool {
        self.inner.is_intact()
    }
    /// How many records were verified intact.
    #[getter]
    fn records(&self) -> u64 {
        self.inner.records
    }
    /// The last record verified intact.
    #[getter]
    fn head(&self) -> Option<AuditHead> {
        self.inner.head.clone().map(|inner| AuditHead { inner })
    }
    /// Where the verified span attaches (`None` for genesis).
    #[getter]
    fn start(&self) -> Option<AuditHead> {
        self.inner.start.clone().map(|inner| AuditHead { inner })
    }
    /// The sequence number of the first broken record, or `None`.
    #[getter]
    fn broken_seq(&self) -> Option<u64> {
        self.inner.broken.as_ref().map(|b| b.seq)
    }
    /// What is wrong with it, in words, or `None`.
    #[getter]
    fn broken_reason(&self) -> Option<String> {
        self.inner.broken.as_ref().map(|b| b.reason.to_string())
    }
    /// Raises `IntegrityError` naming the broken record when the chain is broken.
    fn raise_if_broken(&self, py: Python<'_>) -> PyResult<()> {
        core(py, self.inner.clone().into_result()).map(|_| ())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "AuditVerification",
            &[
                ("intact", obj(py, self.intact())?),
                ("records", obj(py, self.records())?),
                ("broken_seq", obj(py, self.broken_seq())?),
                ("broken_reason", obj(py, self.broken_reason())?),
            ],
        )
    }
}

/// A tenant's chain head at one moment, for the host to keep outside the
/// database (it catches a truncated or rewritten tail).
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Checkpoint {
    pub(crate) inner: mlas_core::Checkpoint,
}

#[pymethods]
impl Checkpoint {
    /// Parses what `to_json` wrote.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(Checkpoint {
            inner: core(py, mlas_core::Checkpoint::from_json(text))?,
        })
    }
    /// The checkpoint as JSON, to store elsewhere.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }
    /// The tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The head record's sequence number (0 for an empty chain).
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq
    }
    /// The head record's hash.
    #[getter]
    fn hash(&self) -> &str {
        &self.inner.hash
    }
    /// When taken (UTC).
    #[getter]
    fn at(&self) -> DateTime<Utc> {
        self.inner.at
    }
    /// The HMAC tag in keyed mode, else `None`.
    #[getter]
    fn tag(&self) -> Option<&str> {
        self.inner.tag.as_deref()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Checkpoint",
            &[
                ("tenant", obj(py, self.tenant())?),
                ("seq", obj(py, self.seq())?),
                ("hash", obj(py, self.hash())?),
            ],
        )
    }
}

/// A health report: storage answers and the audit chain verifies.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Health {
    pub(crate) inner: mlas_core::Health,
}

#[pymethods]
impl Health {
    /// `"healthy"` or `"unhealthy"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status.as_str()
    }
    /// The library version.
    #[getter]
    fn version(&self) -> &'static str {
        self.inner.version
    }
    /// `"memory"`, `"sqlite"`, ...
    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend
    }
    /// The schema version, where the backend has one.
    #[getter]
    fn schema_version(&self) -> Option<u32> {
        self.inner.schema_version
    }
    /// The audit chain's head.
    #[getter]
    fn audit_head(&self) -> Option<AuditHead> {
        self.inner
            .audit_head
            .clone()
            .map(|inner| AuditHead { inner })
    }
    /// How many audit records were verified.
    #[getter]
    fn audit_records(&self) -> u64 {
        self.inner.audit_records
    }
    /// Whether the audit chain verifies.
    #[getter]
    fn audit_intact(&self) -> bool {
        self.inner.audit_intact
    }
    /// What is wrong, when unhealthy.
    #[getter]
    fn problem(&self) -> Option<&str> {
        self.inner.problem.as_deref()
    }
    /// When checked (UTC).
    #[getter]
    fn checked_at(&self) -> DateTime<Utc> {
        self.inner.checked_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Health",
            &[
                ("status", obj(py, self.status())?),
                ("backend", obj(py, self.backend())?),
                ("audit_records", obj(py, self.audit_records())?),
                ("problem", obj(py, self.problem())?),
            ],
        )
    }
}
