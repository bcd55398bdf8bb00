//! Payout batches, payouts, providers (Python-written and simulated) and metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mlas_core::provider::{
    FileMode, PayoutInstruction as CoreInstruction, PayoutProvider, ProviderOutcome as CoreOutcome,
    ProviderStatus as CoreStatus, SimulatedStep,
};
use mlas_core::{Decimal, PayoutId};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::convert::{currency, enum_member, id, repr_of};
use crate::errors::{ProviderError, run, validation};
use crate::types::PayoutDetails;

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    pyo3::conversion::IntoPyObjectExt::into_bound_py_any(value, py)
}

fn strs<'py>(py: Python<'py>, items: &[impl AsRef<str>]) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, items.iter().map(AsRef::as_ref))
}

/// A payout batch.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct PayoutBatch {
    pub(crate) inner: mlas_core::PayoutBatch,
}

#[pymethods]
impl PayoutBatch {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The batch id (the scheduling's idempotency key).
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// Not processed before this time unless forced (UTC).
    #[getter]
    fn scheduled_for(&self) -> DateTime<Utc> {
        self.inner.scheduled_for
    }
    /// Status (`BatchStatus`).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "BatchStatus", self.inner.status.as_str())
    }
    /// When made (UTC).
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
    /// When processing first started.
    #[getter]
    fn started_at(&self) -> Option<DateTime<Utc>> {
        self.inner.started_at
    }
    /// When processing last finished.
    #[getter]
    fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.inner.finished_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "PayoutBatch",
            &[
                ("id", obj(py, self.id())?),
                ("status", obj(py, self.inner.status.as_str())?),
                ("scheduled_for", obj(py, self.inner.scheduled_for)?),
            ],
        )
    }
}

/// What one affiliate is paid in one currency in one batch.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Payout {
    pub(crate) inner: mlas_core::Payout,
}

#[pymethods]
impl Payout {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The payout id, also the provider's idempotency key.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// Its batch.
    #[getter]
    fn batch_id(&self) -> &str {
        self.inner.batch.as_str()
    }
    /// Who is paid.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// Commissions plus adjustments.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// Status (`PayoutStatus`).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "PayoutStatus", self.inner.status.as_str())
    }
    /// How many times it was handed to the provider.
    #[getter]
    fn attempts(&self) -> u32 {
        self.inner.attempts
    }
    /// The commissions it pays.
    #[getter]
    fn commission_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        strs(py, &self.inner.commissions)
    }
    /// The adjustments it nets.
    #[getter]
    fn adjustment_ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        strs(py, &self.inner.adjustments)
    }
    /// The provider's reference once paid.
    #[getter]
    fn provider_reference(&self) -> Option<&str> {
        self.inner.provider_reference.as_deref()
    }
    /// The provider's reason for the last failure.
    #[getter]
    fn failure_reason(&self) -> Option<&str> {
        self.inner.failure_reason.as_deref()
    }
    /// Whether the provider said a retry can help.
    #[getter]
    fn retryable(&self) -> bool {
        self.inner.retryable
    }
    /// When made (UTC).
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
    /// When last changed (UTC).
    #[getter]
    fn updated_at(&self) -> DateTime<Utc> {
        self.inner.updated_at
    }
    /// When paid (UTC).
    #[getter]
    fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.inner.paid_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Payout",
            &[
                ("id", obj(py, self.id())?),
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("amount", obj(py, self.amount())?),
                ("currency", obj(py, self.currency())?),
                ("status", obj(py, self.inner.status.as_str())?),
                ("attempts", obj(py, self.attempts())?),
            ],
        )
    }
}

/// A balance a scheduling left out, and why.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct HeldBalance {
    pub(crate) inner: mlas_core::HeldBalance,
}

#[pymethods]
impl HeldBalance {
    /// Whose balance.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// The balance.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// Why it was held (`HoldReason`).
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "HoldReason", self.inner.reason.as_str())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "HeldBalance",
            &[
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("amount", obj(py, self.amount())?),
                ("currency", obj(py, self.currency())?),
                ("reason", obj(py, self.inner.reason.as_str())?),
            ],
        )
    }
}

/// What a scheduling made.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct ScheduleOutcome {
    pub(crate) inner: mlas_core::ScheduleOutcome,
}

#[pymethods]
impl ScheduleOutcome {
    /// The batch.
    #[getter]
    fn batch(&self) -> PayoutBatch {
        PayoutBatch {
            inner: self.inner.batch.clone(),
        }
    }
    /// Its payouts.
    #[getter]
    fn payouts(&self) -> Vec<Payout> {
        self.inner
            .payouts
            .iter()
            .map(|p| Payout { inner: p.clone() })
            .collect()
    }
    /// The balances left out.
    #[getter]
    fn held(&self) -> Vec<HeldBalance> {
        self.inner
            .held
            .iter()
            .map(|h| HeldBalance { inner: h.clone() })
            .collect()
    }
    /// True when the same request was made before and nothing was written.
    #[getter]
    fn replayed(&self) -> bool {
        self.inner.replayed
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "ScheduleOutcome",
            &[
                ("batch", obj(py, self.batch())?),
                ("payouts", obj(py, self.payouts())?),
                ("held", obj(py, self.held())?),
                ("replayed", obj(py, self.replayed())?),
            ],
        )
    }
}

/// A batch's statistics.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct BatchStats {
    pub(crate) inner: mlas_core::BatchStats,
}

#[pymethods]
impl BatchStats {
    /// The batch.
    #[getter]
    fn batch(&self) -> PayoutBatch {
        PayoutBatch {
            inner: self.inner.batch.clone(),
        }
    }
    /// How many payouts it has.
    #[getter]
    fn payouts(&self) -> u64 {
        self.inner.payouts
    }
    /// `(status, currency, count, amount)` for each status and currency.
    #[getter]
    fn totals<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.inner
            .totals
            .iter()
            .map(|t| {
                PyTuple::new(
                    py,
                    [
                        enum_member(py, "PayoutStatus", t.status.as_str())?,
                        obj(py, t.amount.currency().code())?,
                        obj(py, t.count)?,
                        obj(py, t.amount.amount())?,
                    ],
                )
            })
            .collect()
    }
    /// Provider hand-overs in all.
    #[getter]
    fn attempts(&self) -> u64 {
        self.inner.attempts
    }
    /// Payouts whose outcome is still unknown.
    #[getter]
    fn unresolved(&self) -> u64 {
        self.inner.unresolved
    }
    /// From the first processing start to the last end, once finished.
    #[getter]
    fn duration(&self) -> Option<TimeDelta> {
        self.inner.duration
    }
    /// How many payouts are in `status` (any currency).
    fn count(&self, py: Python<'_>, status: &str) -> PyResult<u64> {
        let status = crate::errors::core(py, mlas_core::PayoutStatus::parse(status))?;
        Ok(self.inner.count(status))
    }
    /// The sum of the payouts in `status` and `currency`.
    fn amount(&self, py: Python<'_>, status: &str, currency: &str) -> PyResult<Decimal> {
        let status = crate::errors::core(py, mlas_core::PayoutStatus::parse(status))?;
        let currency = crate::convert::currency(py, currency)?;
        Ok(self.inner.total(status, currency).1.amount())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "BatchStats",
            &[
                ("batch_id", obj(py, self.inner.batch.id.as_str())?),
                ("status", obj(py, self.inner.batch.status.as_str())?),
                ("payouts", obj(py, self.payouts())?),
                ("attempts", obj(py, self.attempts())?),
                ("unresolved", obj(py, self.unresolved())?),
            ],
        )
    }
}

/// What a provider is asked to pay. Its repr masks the account.
#[pyclass(frozen, module = "mlas")]
pub struct PayoutInstruction {
    inner: CoreInstruction,
}

#[pymethods]
impl PayoutInstruction {
    /// The payout id: the idempotency key. Never pay one key twice.
    #[getter]
    fn idempotency_key(&self) -> &str {
        self.inner.idempotency_key.as_str()
    }
    /// The tenant paying.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The batch.
    #[getter]
    fn batch_id(&self) -> &str {
        self.inner.batch.as_str()
    }
    /// Who is paid.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// How much (above zero).
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// Where to pay (`to_dict(reveal=True)` gives the full account).
    #[getter]
    fn details(&self) -> PayoutDetails {
        PayoutDetails {
            inner: self.inner.details.clone(),
        }
    }
    /// A reference for the affiliate's statement.
    #[getter]
    fn reference(&self) -> &str {
        &self.inner.reference
    }
    /// Which attempt this is, from 1.
    #[getter]
    fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    fn __repr__(&self) -> String {
        format!("PayoutInstruction({:?})", self.inner)
    }
}

/// What a Python provider's `send` returns.
#[pyclass(frozen, module = "mlas")]
pub struct ProviderOutcome {
    inner: CoreOutcome,
}

#[pymethods]
impl ProviderOutcome {
    /// The money was sent; `reference` is the provider's receipt.
    #[staticmethod]
    fn paid(reference: String) -> Self {
        ProviderOutcome {
            inner: CoreOutcome::Paid { reference },
        }
    }
    /// The provider refused; nothing was paid.
    #[staticmethod]
    #[pyo3(signature = (reason, *, retryable=false))]
    fn failed(reason: String, retryable: bool) -> Self {
        ProviderOutcome {
            inner: CoreOutcome::Failed { reason, retryable },
        }
    }
    /// Nobody knows whether the money moved: `status` is asked later.
    #[staticmethod]
    fn unknown(reason: String) -> Self {
        ProviderOutcome {
            inner: CoreOutcome::Unknown { reason },
        }
    }

    fn __repr__(&self) -> String {
        format!("ProviderOutcome.{:?}", self.inner)
    }
}

/// What a Python provider's `status` returns.
#[pyclass(frozen, module = "mlas")]
pub struct ProviderStatus {
    inner: CoreStatus,
}

#[pymethods]
impl ProviderStatus {
    /// Paid, with the provider's reference.
    #[staticmethod]
    fn paid(reference: String) -> Self {
        ProviderStatus {
            inner: CoreStatus::Paid { reference },
        }
    }
    /// The last attempt failed and nothing was paid.
    #[staticmethod]
    #[pyo3(signature = (reason, *, retryable=false))]
    fn failed(reason: String, retryable: bool) -> Self {
        ProviderStatus {
            inner: CoreStatus::Failed { reason, retryable },
        }
    }
    /// Not settled yet, or cannot tell now: ask again later.
    #[staticmethod]
    fn pending() -> Self {
        ProviderStatus {
            inner: CoreStatus::Pending,
        }
    }
    /// The key never arrived: sending it again is safe.
    #[staticmethod]
    fn not_found() -> Self {
        ProviderStatus {
            inner: CoreStatus::NotFound,
        }
    }

    fn __repr__(&self) -> String {
        format!("ProviderStatus.{:?}", self.inner)
    }
}

/// A provider written in Python: any object with `send(instruction)` and
/// `status(key)`. Called with the GIL re-acquired.
///
/// `send`: returning a `ProviderOutcome` is taken as is; raising
/// `mlas.ProviderError` is a refusal (`Failed`, retryable if the exception's
/// `retryable` attribute is true); any other exception, or a wrong return type,
/// is `Unknown` (the money may have moved): the payout stays SENDING and is
/// reconciled through `status` before it is ever sent again.
/// `status`: any exception or wrong return type is `Pending` (ask later).
pub struct PyProvider {
    object: Py<PyAny>,
}

impl PyProvider {
    /// Wraps a Python object, checking it has the two methods.
    pub fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        for method in ["send", "status"] {
            if !object.getattr(method).is_ok_and(|m| m.is_callable()) {
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "a payout provider needs a callable {method}() method"
                )));
            }
        }
        Ok(PyProvider {
            object: object.clone().unbind(),
        })
    }
}

fn describe(py: Python<'_>, err: &PyErr) -> String {
    let name = err
        .get_type(py)
        .name()
        .map_or_else(|_| "exception".to_owned(), |n| n.to_string());
    format!("provider raised {name}: {}", err.value(py))
}

impl PayoutProvider for PyProvider {
    fn send(&self, instruction: &CoreInstruction) -> CoreOutcome {
        Python::attach(|py| {
            let arg = PayoutInstruction {
                inner: instruction.clone(),
            };
            match self.object.bind(py).call_method1("send", (arg,)) {
                Ok(answer) => match answer.cast::<ProviderOutcome>() {
                    Ok(outcome) => outcome.get().inner.clone(),
                    Err(_) => CoreOutcome::Unknown {
                        reason: "provider send() did not return a ProviderOutcome".to_owned(),
                    },
                },
                Err(err) if err.is_instance_of::<ProviderError>(py) => CoreOutcome::Failed {
                    reason: err.value(py).to_string(),
                    retryable: err
                        .value(py)
                        .getattr("retryable")
                        .and_then(|r| r.is_truthy())
                        .unwrap_or(false),
                },
                Err(err) => CoreOutcome::Unknown {
                    reason: describe(py, &err),
                },
            }
        })
    }

    fn status(&self, key: &PayoutId) -> CoreStatus {
        Python::attach(
            |py| match self.object.bind(py).call_method1("status", (key.as_str(),)) {
                Ok(answer) => answer
                    .cast::<ProviderStatus>()
                    .map_or(CoreStatus::Pending, |s| s.get().inner.clone()),
                Err(_) => CoreStatus::Pending,
            },
        )
    }
}

/// The deterministic provider for tests and examples: pays everything unless
/// told otherwise, never pays a key twice, and counts what it was asked.
#[pyclass(frozen, module = "mlas")]
pub struct SimulatedProvider {
    pub(crate) inner: Arc<mlas_core::SimulatedProvider>,
}

#[pymethods]
impl SimulatedProvider {
    /// A provider that pays everything.
    #[new]
    fn new() -> Self {
        SimulatedProvider {
            inner: Arc::new(mlas_core::SimulatedProvider::new()),
        }
    }

    /// Scripts the next answers for one payout: each step is `"fail"`,
    /// `"fail_retryable"`, `"lost"`, `"paid_but_unknown"`, `"panic"` or
    /// `"paid_then_panic"`; after the script it pays.
    fn script(&self, py: Python<'_>, payout_id: &str, steps: Vec<String>) -> PyResult<()> {
        let key: PayoutId = id(py, payout_id)?;
        let steps = steps
            .iter()
            .map(|s| {
                Ok(match s.as_str() {
                    "fail" | "fail_retryable" => SimulatedStep::Fail {
                        reason: "simulated refusal".to_owned(),
                        retryable: s == "fail_retryable",
                    },
                    "lost" => SimulatedStep::Lost,
                    "paid_but_unknown" => SimulatedStep::PaidButUnknown,
                    "panic" => SimulatedStep::Panic,
                    "paid_then_panic" => SimulatedStep::PaidThenPanic,
                    other => {
                        return Err(validation(
                            py,
                            "steps",
                            format!("{other:?} is not a simulated step"),
                        ));
                    }
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.inner.script(&key, steps);
        Ok(())
    }

    /// Makes one payout fail `times` times.
    #[pyo3(signature = (payout_id, *, times=1, reason="simulated failure", retryable=true))]
    fn fail_payout(
        &self,
        py: Python<'_>,
        payout_id: &str,
        times: usize,
        reason: &str,
        retryable: bool,
    ) -> PyResult<()> {
        let key: PayoutId = id(py, payout_id)?;
        self.inner.fail_payout(&key, times, reason, retryable);
        Ok(())
    }

    /// Makes every payout to an affiliate fail until cleared.
    #[pyo3(signature = (affiliate_id, *, reason="simulated failure"))]
    fn fail_affiliate(&self, py: Python<'_>, affiliate_id: &str, reason: &str) -> PyResult<()> {
        self.inner.fail_affiliate(&id(py, affiliate_id)?, reason);
        Ok(())
    }

    /// Stops failing an affiliate's payouts.
    fn clear_affiliate(&self, py: Python<'_>, affiliate_id: &str) -> PyResult<()> {
        self.inner.clear_affiliate(&id(py, affiliate_id)?);
        Ok(())
    }

    /// How many times `send` was called for a payout.
    fn calls(&self, py: Python<'_>, payout_id: &str) -> PyResult<u32> {
        Ok(self.inner.calls(&id(py, payout_id)?))
    }

    /// How many times a payout was actually paid (never more than 1).
    fn payments(&self, py: Python<'_>, payout_id: &str) -> PyResult<u32> {
        Ok(self.inner.payments(&id(py, payout_id)?))
    }

    /// Everything paid: payout id to amount.
    fn paid_all(&self) -> BTreeMap<String, Decimal> {
        self.inner
            .paid_all()
            .into_iter()
            .map(|(k, m)| (String::from(k), m.amount()))
            .collect()
    }

    /// The total paid in a currency.
    fn total_paid(&self, py: Python<'_>, currency_code: &str) -> PyResult<Decimal> {
        Ok(self.inner.total_paid(currency(py, currency_code)?).amount())
    }

    fn __repr__(&self) -> String {
        format!("SimulatedProvider(paid={})", self.inner.paid_all().len())
    }
}

/// A provider that writes each payout as a row of a CSV file for manual upload
/// to a bank or PSP (the core's `FileProvider`).
///
/// Columns: `reference` (the payout id), `affiliate_id`, `method`, `account`
/// (masked to its last four characters), `amount`, `currency`. A payout id is
/// written once: the ids already in the file are read back when it is opened.
#[pyclass(frozen, module = "mlas")]
pub struct FileProvider {
    pub(crate) inner: Arc<mlas_core::provider::FileProvider>,
    mode: FileMode,
}

fn file_mode(py: Python<'_>, mode: &Bound<'_, PyAny>) -> PyResult<FileMode> {
    let text = crate::convert::text(mode, "mode")?;
    match text.as_str() {
        "SUBMITTED_IS_PAID" => Ok(FileMode::SubmittedIsPaid),
        "AWAIT_CONFIRMATION" => Ok(FileMode::AwaitConfirmation),
        other => Err(validation(
            py,
            "mode",
            format!("{other:?} is not SUBMITTED_IS_PAID or AWAIT_CONFIRMATION"),
        )),
    }
}

fn file_mode_name(mode: FileMode) -> &'static str {
    match mode {
        FileMode::SubmittedIsPaid => "SUBMITTED_IS_PAID",
        FileMode::AwaitConfirmation => "AWAIT_CONFIRMATION",
    }
}

#[pymethods]
impl FileProvider {
    /// Opens (or creates) the batch file at `path`, appending to it. `mode` is
    /// a `FileMode`: `SUBMITTED_IS_PAID` (a written row counts as paid) or
    /// `AWAIT_CONFIRMATION` (a written row stays SENDING until `confirm`).
    #[new]
    #[pyo3(signature = (path, *, mode))]
    fn new(py: Python<'_>, path: std::path::PathBuf, mode: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mode = file_mode(py, mode)?;
        let inner = run(py, || mlas_core::provider::FileProvider::open(&path, mode))?;
        Ok(FileProvider {
            inner: Arc::new(inner),
            mode,
        })
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> std::path::PathBuf {
        self.inner.path().to_path_buf()
    }

    /// How it answers (`FileMode`).
    #[getter]
    fn mode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "FileMode", file_mode_name(self.mode))
    }

    /// Records that the bank confirmed payout `payout_id` with `reference`
    /// (`AWAIT_CONFIRMATION` mode); the next `process_batch` or `retry_payout`
    /// reconciles it to PAID. Confirmations live in memory only.
    fn confirm(&self, py: Python<'_>, payout_id: &str, reference: &str) -> PyResult<()> {
        let key: PayoutId = id(py, payout_id)?;
        self.inner.confirm(&key, reference);
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "FileProvider(path={:?}, mode={})",
            self.inner.path().display().to_string(),
            file_mode_name(self.mode)
        )
    }
}

/// A tenant's metrics snapshot (definitions in the core's `metrics` module).
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Metrics {
    pub(crate) inner: mlas_core::metrics::Metrics,
}

#[pymethods]
impl Metrics {
    /// The tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// When taken (UTC).
    #[getter]
    fn at(&self) -> DateTime<Utc> {
        self.inner.at
    }
    /// Calculations that succeeded through this engine.
    #[getter]
    fn calculations_succeeded(&self) -> u64 {
        self.inner.calculations_succeeded
    }
    /// Calculations that failed through this engine.
    #[getter]
    fn calculations_failed(&self) -> u64 {
        self.inner.calculations_failed
    }
    /// Succeeded / all calculations.
    #[getter]
    fn calculation_success_rate(&self) -> Option<Decimal> {
        self.inner.calculation_success_rate
    }
    /// Commissions by status.
    #[getter]
    fn commissions_by_status(&self) -> BTreeMap<String, u64> {
        self.inner.commissions_by_status.clone()
    }
    /// Mean first-calculated commission, by currency.
    #[getter]
    fn average_commission(&self) -> BTreeMap<String, Decimal> {
        self.inner
            .average_commission
            .iter()
            .map(|m| (m.currency().code().to_owned(), m.amount()))
            .collect()
    }
    /// Approved / decided commissions.
    #[getter]
    fn approval_rate(&self) -> Option<Decimal> {
        self.inner.approval_rate
    }
    /// Commissions ever disputed / all commissions.
    #[getter]
    fn dispute_rate(&self) -> Option<Decimal> {
        self.inner.dispute_rate
    }
    /// Batches by status.
    #[getter]
    fn batches_by_status(&self) -> BTreeMap<String, u64> {
        self.inner.batches_by_status.clone()
    }
    /// Completed / finished batches.
    #[getter]
    fn batch_success_rate(&self) -> Option<Decimal> {
        self.inner.batch_success_rate
    }
    /// Mean processing time of finished batches.
    #[getter]
    fn average_batch_processing(&self) -> Option<TimeDelta> {
        self.inner.average_batch_processing
    }
    /// FAILED payouts now.
    #[getter]
    fn failed_payouts(&self) -> u64 {
        self.inner.failed_payouts
    }
    /// Payouts retried / payouts sent.
    #[getter]
    fn payout_retry_rate(&self) -> Option<Decimal> {
        self.inner.payout_retry_rate
    }
    /// ACTIVE affiliates.
    #[getter]
    fn active_affiliates(&self) -> u64 {
        self.inner.active_affiliates
    }
    /// Affiliates by status.
    #[getter]
    fn affiliates_by_status(&self) -> BTreeMap<String, u64> {
        self.inner.affiliates_by_status.clone()
    }
    /// Affiliates by tier.
    #[getter]
    fn tier_distribution(&self) -> BTreeMap<String, u64> {
        self.inner.tier_distribution.clone()
    }
    /// Affiliates by commission-rate band.
    #[getter]
    fn commission_rate_distribution(&self) -> BTreeMap<String, u64> {
        self.inner.commission_rate_distribution.clone()
    }
    /// Affiliates by payout method.
    #[getter]
    fn payout_method_distribution(&self) -> BTreeMap<String, u64> {
        self.inner.payout_method_distribution.clone()
    }
    /// The snapshot in the Prometheus text format.
    fn to_prometheus(&self) -> String {
        self.inner.to_prometheus()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Metrics",
            &[
                ("tenant", obj(py, self.tenant())?),
                ("active_affiliates", obj(py, self.active_affiliates())?),
                (
                    "commissions_by_status",
                    obj(py, self.commissions_by_status())?,
                ),
                ("failed_payouts", obj(py, self.failed_payouts())?),
            ],
        )
    }
}
