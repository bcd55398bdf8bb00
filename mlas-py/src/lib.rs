//! # mlas-py
//!
//! The native module `mlas._mlas` behind the Python package `mlas`: a thin
//! PyO3 layer over [`mlas_core`]. The public API, its documentation and its
//! tests live in the Python package (`python/mlas`, `tests/`); see the README.
//!
//! Rules of the boundary: money is `decimal.Decimal` (never a float), datetimes
//! are timezone-aware and come back in UTC, every core call releases the GIL and
//! catches panics, and every core error kind maps to one exception class.

mod audit;
mod convert;
mod engine;
mod errors;
mod input;
mod logging;
mod output;
mod payouts;
mod types;

use mlas_core::ErrorKind;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The native module. Import `mlas`, not this.
#[pymodule]
fn _mlas(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;

    m.add("MlasError", py.get_type::<errors::MlasError>())?;
    m.add("ValidationError", errors::validation_error(py)?)?;
    m.add("NotFoundError", errors::not_found_error(py)?)?;
    m.add("ConflictError", py.get_type::<errors::ConflictError>())?;
    m.add(
        "IllegalTransitionError",
        py.get_type::<errors::IllegalTransitionError>(),
    )?;
    m.add("StorageError", py.get_type::<errors::StorageError>())?;
    m.add("ProviderError", py.get_type::<errors::ProviderError>())?;
    m.add("IntegrityError", py.get_type::<errors::IntegrityError>())?;

    // Every core error kind and its class, so the tests can prove the mapping
    // is total and one-to-one.
    let kinds = PyDict::new(py);
    for kind in ErrorKind::ALL {
        kinds.set_item(kind.as_str(), errors::class_for_kind(py, kind)?)?;
    }
    m.add("ERROR_CLASSES", kinds)?;

    m.add_function(wrap_pyfunction!(logging::enable_logging, m)?)?;

    m.add_class::<engine::Engine>()?;
    m.add_class::<engine::FixedClock>()?;
    m.add_class::<engine::NewSale>()?;
    m.add_class::<types::PayoutDetails>()?;
    m.add_class::<types::Affiliate>()?;
    m.add_class::<types::LevelRule>()?;
    m.add_class::<types::Condition>()?;
    m.add_class::<types::Rule>()?;
    m.add_class::<types::Sale>()?;
    m.add_class::<types::Commission>()?;
    m.add_class::<types::Adjustment>()?;
    m.add_class::<types::Reversal>()?;
    m.add_class::<types::Refund>()?;
    m.add_class::<types::SaleOutcome>()?;
    m.add_class::<types::RefundOutcome>()?;
    m.add_class::<types::RecalculationOutcome>()?;
    m.add_class::<types::RuleChoice>()?;
    m.add_class::<types::Skipped>()?;
    m.add_class::<types::ExplanationLine>()?;
    m.add_class::<types::Explanation>()?;
    m.add_class::<types::AuditHead>()?;
    m.add_class::<payouts::PayoutBatch>()?;
    m.add_class::<payouts::Payout>()?;
    m.add_class::<payouts::HeldBalance>()?;
    m.add_class::<payouts::ScheduleOutcome>()?;
    m.add_class::<payouts::BatchStats>()?;
    m.add_class::<payouts::PayoutInstruction>()?;
    m.add_class::<payouts::ProviderOutcome>()?;
    m.add_class::<payouts::ProviderStatus>()?;
    m.add_class::<payouts::SimulatedProvider>()?;
    m.add_class::<payouts::FileProvider>()?;
    m.add_class::<payouts::Metrics>()?;
    m.add_class::<audit::AuditRecord>()?;
    m.add_class::<audit::AuditVerification>()?;
    m.add_class::<audit::Checkpoint>()?;
    m.add_class::<audit::Health>()?;
    Ok(())
}
