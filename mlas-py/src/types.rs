//! Value objects returned to Python: frozen, compared by value, readable reprs.
//!
//! Each wraps the core value it shows and converts fields on access: money as
//! `decimal.Decimal` with a separate `currency` code, times as UTC datetimes,
//! statuses as members of the string enums in `mlas._enums`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mlas_core::Decimal;
use mlas_core::rule::LevelRate;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::convert::{enum_member, repr_of};
use crate::errors::core;

/// Turns a Rust value into a Python object (for reprs).
fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, value: T) -> PyResult<Bound<'py, PyAny>> {
    value.into_bound_py_any(py)
}

use pyo3::conversion::IntoPyObjectExt;

/// Wraps each item in a pyclass and returns a tuple.
fn tuple_of<'py, T, W>(
    py: Python<'py>,
    items: &[T],
    wrap: impl Fn(T) -> W,
) -> PyResult<Bound<'py, PyTuple>>
where
    T: Clone,
    W: pyo3::PyClass + Into<pyo3::PyClassInitializer<W>>,
{
    let objects = items
        .iter()
        .map(|i| Bound::new(py, wrap(i.clone())))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, objects)
}

fn kind_of(rate: &LevelRate) -> &'static str {
    match rate {
        LevelRate::Percent { .. } => "percent",
        LevelRate::AffiliateRate => "affiliate_rate",
        LevelRate::Fixed { .. } => "fixed",
    }
}

fn fixed_of(rate: &LevelRate) -> Option<Decimal> {
    match rate {
        LevelRate::Fixed { amount } => Some(*amount),
        _ => None,
    }
}

// ---------------------------------------------------------------- payout details

/// Validated payout details. The repr, `str` and `to_dict()` mask the account
/// number or IBAN to its last four characters; `to_dict(reveal=True)` shows it.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct PayoutDetails {
    pub(crate) inner: mlas_core::PayoutDetails,
}

#[pymethods]
impl PayoutDetails {
    /// US bank account (ACH) details.
    #[staticmethod]
    #[pyo3(signature = (*, account_number, routing_number, bank_name, account_holder_name))]
    fn us_bank(
        py: Python<'_>,
        account_number: &str,
        routing_number: &str,
        bank_name: &str,
        account_holder_name: &str,
    ) -> PyResult<Self> {
        let inner = core(
            py,
            mlas_core::PayoutDetails::us_bank(
                account_number,
                routing_number,
                bank_name,
                account_holder_name,
            ),
        )?;
        Ok(PayoutDetails { inner })
    }

    /// IBAN account details.
    #[staticmethod]
    #[pyo3(signature = (*, iban, bank_name, account_holder_name, bic=None))]
    fn iban(
        py: Python<'_>,
        iban: &str,
        bank_name: &str,
        account_holder_name: &str,
        bic: Option<&str>,
    ) -> PyResult<Self> {
        let inner = core(
            py,
            mlas_core::PayoutDetails::iban(iban, bic, bank_name, account_holder_name),
        )?;
        Ok(PayoutDetails { inner })
    }

    /// PayPal details.
    #[staticmethod]
    #[pyo3(signature = (*, email))]
    fn paypal(py: Python<'_>, email: &str) -> PyResult<Self> {
        let inner = core(py, mlas_core::PayoutDetails::paypal(email))?;
        Ok(PayoutDetails { inner })
    }

    /// The payout method (`PayoutMethod`).
    #[getter]
    fn method<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "PayoutMethod", self.inner.method().as_str())
    }

    /// `"us_bank"`, `"iban"` or `"paypal"`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner {
            mlas_core::PayoutDetails::UsBank { .. } => "us_bank",
            mlas_core::PayoutDetails::Iban { .. } => "iban",
            mlas_core::PayoutDetails::PayPal { .. } => "paypal",
        }
    }

    /// The account as shown to people: `****7890`, or the PayPal email.
    #[getter]
    fn masked_account(&self) -> String {
        self.inner.masked_account()
    }

    /// The fields as a dict of strings (and `None`); secrets masked unless `reveal`.
    #[pyo3(signature = (*, reveal=false))]
    fn to_dict<'py>(&self, py: Python<'py>, reveal: bool) -> PyResult<Bound<'py, PyAny>> {
        let json = if reveal {
            self.inner.to_storage_json()
        } else {
            self.inner.masked_json()
        };
        json_to_py(py, &json)
    }

    fn __repr__(&self) -> String {
        format!("PayoutDetails({:?})", self.inner)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

/// A JSON value as plain Python objects (dict, list, str, bool, None; numbers as str).
pub fn json_to_py<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::types::{PyDict, PyList};
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => obj(py, *b)?,
        Value::Number(n) => obj(py, n.to_string())?,
        Value::String(s) => obj(py, s)?,
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

// ---------------------------------------------------------------- affiliates

/// An affiliate.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Affiliate {
    pub(crate) inner: mlas_core::Affiliate,
}

#[pymethods]
impl Affiliate {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The affiliate id.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// Display name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Contact email.
    #[getter]
    fn email(&self) -> &str {
        &self.inner.email
    }
    /// Status (`AffiliateStatus`).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "AffiliateStatus", self.inner.status.as_str())
    }
    /// The programme tier.
    #[getter]
    fn tier(&self) -> &str {
        &self.inner.tier
    }
    /// Personal commission rate, a percentage.
    #[getter]
    fn commission_rate(&self) -> Decimal {
        self.inner.commission_rate
    }
    /// The payout method (`PayoutMethod`), or `None`.
    #[getter]
    fn payout_method<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .payout
            .as_ref()
            .map(|p| enum_member(py, "PayoutMethod", p.method().as_str()))
            .transpose()
    }
    /// The payout details (masked in reprs), or `None`.
    #[getter]
    fn payout_details(&self) -> Option<PayoutDetails> {
        self.inner
            .payout
            .clone()
            .map(|inner| PayoutDetails { inner })
    }
    /// The sponsor's id, or `None`.
    #[getter]
    fn sponsor_id(&self) -> Option<&str> {
        self.inner.sponsor.as_ref().map(AsRef::as_ref)
    }
    /// When created (UTC).
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
    /// When last changed (UTC).
    #[getter]
    fn updated_at(&self) -> DateTime<Utc> {
        self.inner.updated_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Affiliate",
            &[
                ("id", obj(py, self.id())?),
                ("name", obj(py, self.name())?),
                ("status", obj(py, self.inner.status.as_str())?),
                ("tier", obj(py, self.tier())?),
                ("commission_rate", obj(py, self.inner.commission_rate)?),
                ("sponsor_id", obj(py, self.sponsor_id())?),
                (
                    "payout",
                    obj(py, self.inner.payout.as_ref().map(ToString::to_string))?,
                ),
            ],
        )
    }
}

// ---------------------------------------------------------------- rules

/// One level of a rule.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct LevelRule {
    pub(crate) inner: mlas_core::LevelRule,
}

#[pymethods]
impl LevelRule {
    /// `"percent"`, `"affiliate_rate"` or `"fixed"` (`LevelRateKind`).
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "LevelRateKind", kind_of(&self.inner.rate))
    }
    /// The percentage, for a `percent` level.
    #[getter]
    fn percent(&self) -> Option<Decimal> {
        match self.inner.rate {
            LevelRate::Percent { percent } => Some(percent),
            _ => None,
        }
    }
    /// The amount, for a `fixed` level.
    #[getter]
    fn amount(&self) -> Option<Decimal> {
        fixed_of(&self.inner.rate)
    }
    /// The cap on the line, or `None`.
    #[getter]
    fn cap(&self) -> Option<Decimal> {
        self.inner.cap
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut fields = vec![("kind", obj(py, kind_of(&self.inner.rate))?)];
        if let Some(p) = self.percent() {
            fields.push(("percent", obj(py, p)?));
        }
        if let Some(a) = self.amount() {
            fields.push(("amount", obj(py, a)?));
        }
        if let Some(c) = self.inner.cap {
            fields.push(("cap", obj(py, c)?));
        }
        repr_of("LevelRule", &fields)
    }
}

/// One condition of a rule: `field op values`.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Condition {
    pub(crate) inner: mlas_core::Condition,
}

#[pymethods]
impl Condition {
    /// `amount`, `currency`, `attribution_type`, `tier` or `attributes.<name>`.
    #[getter]
    fn field(&self) -> String {
        self.inner.field.name()
    }
    /// `eq`, `ne`, `in`, `gt`, `gte`, `lt` or `lte`.
    #[getter]
    fn op(&self) -> &'static str {
        self.inner.op.as_str()
    }
    /// The compared values, as text.
    #[getter]
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.inner.values)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Condition",
            &[
                ("field", obj(py, self.field())?),
                ("op", obj(py, self.op())?),
                ("values", self.values(py)?.into_any()),
            ],
        )
    }
}

/// One version of a commission rule.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Rule {
    pub(crate) inner: mlas_core::Rule,
}

#[pymethods]
impl Rule {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The rule id (shared by all versions).
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// The version, from 1.
    #[getter]
    fn version(&self) -> u32 {
        self.inner.version
    }
    /// A name for operators.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.spec.name
    }
    /// Higher wins.
    #[getter]
    fn priority(&self) -> i32 {
        self.inner.spec.priority
    }
    /// Whether the rule can be selected.
    #[getter]
    fn active(&self) -> bool {
        self.inner.spec.active
    }
    /// Start of validity, or `None`.
    #[getter]
    fn valid_from(&self) -> Option<DateTime<Utc>> {
        self.inner.spec.valid_from
    }
    /// End of validity (exclusive), or `None`.
    #[getter]
    fn valid_until(&self) -> Option<DateTime<Utc>> {
        self.inner.spec.valid_until
    }
    /// The conditions, all of which must match.
    #[getter]
    fn conditions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.spec.conditions, |inner| Condition { inner })
    }
    /// The levels, level 1 first.
    #[getter]
    fn levels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.spec.levels, |inner| LevelRule { inner })
    }
    /// Whether compression is on.
    #[getter]
    fn compression(&self) -> bool {
        self.inner.spec.compression
    }
    /// The total cap as a percentage of the sale, or `None`.
    #[getter]
    fn total_cap_percent(&self) -> Option<Decimal> {
        self.inner.spec.total_cap_percent
    }
    /// The currency of fixed amounts and caps, or `None`.
    #[getter]
    fn currency(&self) -> Option<&str> {
        self.inner
            .spec
            .currency
            .as_ref()
            .map(mlas_core::Currency::code)
    }
    /// Days before the commissions may be approved.
    #[getter]
    fn holding_days(&self) -> u32 {
        self.inner.spec.holding_days
    }
    /// When the first version was made.
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
    /// When this version was made.
    #[getter]
    fn version_created_at(&self) -> DateTime<Utc> {
        self.inner.version_created_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Rule",
            &[
                ("id", obj(py, self.id())?),
                ("version", obj(py, self.version())?),
                ("name", obj(py, self.name())?),
                ("priority", obj(py, self.priority())?),
                ("active", obj(py, self.active())?),
                ("levels", self.levels(py)?.into_any()),
            ],
        )
    }
}

// ---------------------------------------------------------------- sales

/// A recorded sale.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Sale {
    pub(crate) inner: mlas_core::Sale,
}

#[pymethods]
impl Sale {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The host's sale id.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// The sale amount.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// How much has been refunded.
    #[getter]
    fn refunded(&self) -> Decimal {
        self.inner.refunded.amount()
    }
    /// When the sale happened (UTC).
    #[getter]
    fn occurred_at(&self) -> DateTime<Utc> {
        self.inner.occurred_at
    }
    /// The credited (level-1) affiliate.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.chain.first().map_or("", AsRef::as_ref)
    }
    /// The resolved chain, level 1 first.
    #[getter]
    fn affiliate_chain<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.chain.iter().map(AsRef::<str>::as_ref))
    }
    /// How the sale was attributed.
    #[getter]
    fn attribution_type(&self) -> &str {
        &self.inner.attribution_type
    }
    /// The buyer's affiliate id, when given.
    #[getter]
    fn buyer_id(&self) -> Option<&str> {
        self.inner.buyer.as_ref().map(AsRef::as_ref)
    }
    /// The attributes (a fresh dict).
    #[getter]
    fn attributes(&self) -> BTreeMap<String, String> {
        self.inner.attributes.clone()
    }
    /// When recorded (UTC).
    #[getter]
    fn recorded_at(&self) -> DateTime<Utc> {
        self.inner.recorded_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Sale",
            &[
                ("id", obj(py, self.id())?),
                ("amount", obj(py, self.amount())?),
                ("currency", obj(py, self.currency())?),
                ("refunded", obj(py, self.refunded())?),
                ("affiliate_chain", self.affiliate_chain(py)?.into_any()),
                ("attribution_type", obj(py, self.attribution_type())?),
            ],
        )
    }
}

// ---------------------------------------------------------------- commissions

/// One commission line: what one affiliate earns from one sale.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Commission {
    pub(crate) inner: mlas_core::Commission,
}

#[pymethods]
impl Commission {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The commission id.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// The sale it comes from.
    #[getter]
    fn sale_id(&self) -> &str {
        self.inner.sale.as_str()
    }
    /// The earning affiliate.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// Level in the sale's chain.
    #[getter]
    fn chain_level(&self) -> u32 {
        self.inner.chain_level
    }
    /// Level paid after compression.
    #[getter]
    fn paid_level(&self) -> u32 {
        self.inner.paid_level
    }
    /// The sale amount the rate applied to.
    #[getter]
    fn base_amount(&self) -> Decimal {
        self.inner.base_amount.amount()
    }
    /// The currency code (the sale's).
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// How the level paid (`LevelRateKind`).
    #[getter]
    fn rate_kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "LevelRateKind", kind_of(&self.inner.rate))
    }
    /// The percentage applied, where the rate was one.
    #[getter]
    fn percent(&self) -> Option<Decimal> {
        self.inner.percent
    }
    /// The fixed amount, for a fixed level.
    #[getter]
    fn fixed_amount(&self) -> Option<Decimal> {
        fixed_of(&self.inner.rate)
    }
    /// The rule, or `None` for the default plan.
    #[getter]
    fn rule_id(&self) -> Option<&str> {
        self.inner.rule_id.as_ref().map(AsRef::as_ref)
    }
    /// The rule version.
    #[getter]
    fn rule_version(&self) -> Option<u32> {
        self.inner.rule_version
    }
    /// The amount first calculated.
    #[getter]
    fn original_amount(&self) -> Decimal {
        self.inner.original_amount.amount()
    }
    /// What is owed now.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// Total reversed by refunds.
    #[getter]
    fn reversed_amount(&self) -> Decimal {
        self.inner.reversed_amount.amount()
    }
    /// Signed sum of the adjustments made for it.
    #[getter]
    fn adjusted(&self) -> Decimal {
        self.inner.adjusted.amount()
    }
    /// Lifecycle status (`CommissionStatus`).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "CommissionStatus", self.inner.status.as_str())
    }
    /// The reason of the last reject, dispute or resolution.
    #[getter]
    fn status_reason(&self) -> Option<&str> {
        self.inner.status_reason.as_deref()
    }
    /// The earliest time it may be approved (UTC).
    #[getter]
    fn available_at(&self) -> DateTime<Utc> {
        self.inner.available_at
    }
    /// The payout carrying it, or `None`.
    #[getter]
    fn payout_id(&self) -> Option<&str> {
        self.inner.payout.as_ref().map(AsRef::as_ref)
    }
    /// When calculated (UTC).
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
    /// When last changed (UTC).
    #[getter]
    fn updated_at(&self) -> DateTime<Utc> {
        self.inner.updated_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Commission",
            &[
                ("id", obj(py, self.id())?),
                ("sale_id", obj(py, self.sale_id())?),
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("chain_level", obj(py, self.chain_level())?),
                ("amount", obj(py, self.amount())?),
                ("currency", obj(py, self.currency())?),
                ("status", obj(py, self.inner.status.as_str())?),
            ],
        )
    }
}

/// A signed amount owed to (positive) or by (negative) an affiliate.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Adjustment {
    pub(crate) inner: mlas_core::Adjustment,
}

#[pymethods]
impl Adjustment {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The adjustment id.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// Whose balance it changes.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// The signed amount.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// Why (`AdjustmentKind`).
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "AdjustmentKind", self.inner.kind.as_str())
    }
    /// A description for the affiliate statement.
    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }
    /// The commission it corrects.
    #[getter]
    fn commission_id(&self) -> Option<&str> {
        self.inner.commission.as_ref().map(AsRef::as_ref)
    }
    /// The sale it relates to.
    #[getter]
    fn sale_id(&self) -> Option<&str> {
        self.inner.sale.as_ref().map(AsRef::as_ref)
    }
    /// The refund that caused it.
    #[getter]
    fn refund_id(&self) -> Option<&str> {
        self.inner.refund.as_ref().map(AsRef::as_ref)
    }
    /// The payout it was netted into, or `None` while open.
    #[getter]
    fn payout_id(&self) -> Option<&str> {
        self.inner.payout.as_ref().map(AsRef::as_ref)
    }
    /// When made (UTC).
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Adjustment",
            &[
                ("id", obj(py, self.id())?),
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("amount", obj(py, self.amount())?),
                ("currency", obj(py, self.currency())?),
                ("kind", obj(py, self.inner.kind.as_str())?),
            ],
        )
    }
}

/// What one refund took back from one commission.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Reversal {
    pub(crate) inner: mlas_core::Reversal,
}

#[pymethods]
impl Reversal {
    /// The commission.
    #[getter]
    fn commission_id(&self) -> &str {
        self.inner.commission.as_str()
    }
    /// Its affiliate.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// The amount taken back (positive).
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The clawback adjustment, when the commission was scheduled or paid.
    #[getter]
    fn adjustment_id(&self) -> Option<&str> {
        self.inner.adjustment.as_ref().map(AsRef::as_ref)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Reversal",
            &[
                ("commission_id", obj(py, self.commission_id())?),
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("amount", obj(py, self.amount())?),
                ("adjustment_id", obj(py, self.adjustment_id())?),
            ],
        )
    }
}

/// A recorded refund.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Refund {
    pub(crate) inner: mlas_core::Refund,
}

#[pymethods]
impl Refund {
    /// The owning tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant.as_str()
    }
    /// The refund id.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id.as_str()
    }
    /// The refunded sale.
    #[getter]
    fn sale_id(&self) -> &str {
        self.inner.sale.as_str()
    }
    /// The refunded amount.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.amount.currency().code().to_owned()
    }
    /// Why.
    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }
    /// What it took back from each commission.
    #[getter]
    fn reversals<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.reversals, |inner| Reversal { inner })
    }
    /// When recorded (UTC).
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Refund",
            &[
                ("id", obj(py, self.id())?),
                ("sale_id", obj(py, self.sale_id())?),
                ("amount", obj(py, self.amount())?),
                ("currency", obj(py, self.currency())?),
                ("reversals", self.reversals(py)?.into_any()),
            ],
        )
    }
}

// ---------------------------------------------------------------- outcomes

/// What recording a sale produced.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct SaleOutcome {
    pub(crate) inner: mlas_core::SaleOutcome,
}

#[pymethods]
impl SaleOutcome {
    /// The sale as stored.
    #[getter]
    fn sale(&self) -> Sale {
        Sale {
            inner: self.inner.sale.clone(),
        }
    }
    /// Its commissions, level order.
    #[getter]
    fn commissions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.commissions, |inner| Commission { inner })
    }
    /// True when the sale was already recorded and nothing was written.
    #[getter]
    fn replayed(&self) -> bool {
        self.inner.replayed
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "SaleOutcome",
            &[
                ("sale", obj(py, self.sale())?),
                ("commissions", self.commissions(py)?.into_any()),
                ("replayed", obj(py, self.replayed())?),
            ],
        )
    }
}

/// What a refund call produced.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct RefundOutcome {
    pub(crate) refund: mlas_core::Refund,
    pub(crate) replayed: bool,
}

#[pymethods]
impl RefundOutcome {
    /// The refund as stored.
    #[getter]
    fn refund(&self) -> Refund {
        Refund {
            inner: self.refund.clone(),
        }
    }
    /// True when the refund was already recorded and nothing was written.
    #[getter]
    fn replayed(&self) -> bool {
        self.replayed
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "RefundOutcome",
            &[
                ("refund", obj(py, self.refund())?),
                ("replayed", obj(py, self.replayed)?),
            ],
        )
    }
}

/// What a recalculation changed.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct RecalculationOutcome {
    pub(crate) inner: mlas_core::RecalculationOutcome,
}

#[pymethods]
impl RecalculationOutcome {
    /// The sale's commissions after the recalculation.
    #[getter]
    fn commissions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.commissions, |inner| Commission { inner })
    }
    /// Corrections made for commissions already scheduled or paid.
    #[getter]
    fn adjustments<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.adjustments, |inner| Adjustment { inner })
    }
    /// Whether anything changed.
    #[getter]
    fn changed(&self) -> bool {
        self.inner.changed
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "RecalculationOutcome",
            &[
                ("changed", obj(py, self.changed())?),
                ("commissions", self.commissions(py)?.into_any()),
                ("adjustments", self.adjustments(py)?.into_any()),
            ],
        )
    }
}

// ---------------------------------------------------------------- explanations

/// Which rule was chosen and why.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct RuleChoice {
    pub(crate) inner: mlas_core::calculation::RuleChoice,
}

#[pymethods]
impl RuleChoice {
    /// The rule, or `None` for the default plan.
    #[getter]
    fn rule_id(&self) -> Option<&str> {
        self.inner.rule_id.as_ref().map(AsRef::as_ref)
    }
    /// The rule version.
    #[getter]
    fn rule_version(&self) -> Option<u32> {
        self.inner.rule_version
    }
    /// The rule's name (`"default plan"` without a rule).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Why it was chosen.
    #[getter]
    fn reason(&self) -> &str {
        &self.inner.reason
    }
    /// How many rules applied to the sale.
    #[getter]
    fn matching_rules(&self) -> u32 {
        self.inner.matching_rules
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "RuleChoice",
            &[
                ("rule_id", obj(py, self.rule_id())?),
                ("rule_version", obj(py, self.rule_version())?),
                ("name", obj(py, self.name())?),
                ("matching_rules", obj(py, self.matching_rules())?),
            ],
        )
    }
}

/// A chain member who earned nothing, and why.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Skipped {
    pub(crate) inner: mlas_core::calculation::Skipped,
}

#[pymethods]
impl Skipped {
    /// Level in the chain.
    #[getter]
    fn chain_level(&self) -> u32 {
        self.inner.chain_level
    }
    /// The affiliate.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// Their status at calculation time (`AffiliateStatus`).
    #[getter]
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "AffiliateStatus", &self.inner.status)
    }
    /// Why they earned nothing (`SkipReason`).
    #[getter]
    fn reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use mlas_core::calculation::SkipReason;
        let value = match self.inner.reason {
            SkipReason::Compressed => "compressed",
            SkipReason::Forfeited => "forfeited",
            SkipReason::BeyondDepth => "beyond_depth",
        };
        enum_member(py, "SkipReason", value)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Skipped",
            &[
                ("chain_level", obj(py, self.chain_level())?),
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("status", obj(py, &self.inner.status)?),
                ("reason", self.reason(py)?.getattr("value")?),
            ],
        )
    }
}

/// One line of a calculation, with every step that shaped its amount.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct ExplanationLine {
    pub(crate) inner: mlas_core::calculation::Line,
}

#[pymethods]
impl ExplanationLine {
    /// Level in the chain.
    #[getter]
    fn chain_level(&self) -> u32 {
        self.inner.chain_level
    }
    /// Level paid after compression.
    #[getter]
    fn paid_level(&self) -> u32 {
        self.inner.paid_level
    }
    /// The earning affiliate.
    #[getter]
    fn affiliate_id(&self) -> &str {
        self.inner.affiliate.as_str()
    }
    /// How the level pays (`LevelRateKind`).
    #[getter]
    fn rate_kind<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        enum_member(py, "LevelRateKind", kind_of(&self.inner.rate))
    }
    /// The percentage applied, where the rate was one.
    #[getter]
    fn percent(&self) -> Option<Decimal> {
        self.inner.percent
    }
    /// The fixed amount, for a fixed level.
    #[getter]
    fn fixed_amount(&self) -> Option<Decimal> {
        fixed_of(&self.inner.rate)
    }
    /// The exact amount before caps.
    #[getter]
    fn exact(&self) -> Decimal {
        self.inner.exact
    }
    /// How much the per-level cap cut.
    #[getter]
    fn level_cap_cut(&self) -> Decimal {
        self.inner.level_cap_cut
    }
    /// How much the total cap cut.
    #[getter]
    fn total_cap_cut(&self) -> Decimal {
        self.inner.total_cap_cut
    }
    /// The exact amount after caps.
    #[getter]
    fn capped(&self) -> Decimal {
        self.inner.capped
    }
    /// Whether the line received a left-over rounding unit.
    #[getter]
    fn extra_unit(&self) -> bool {
        self.inner.extra_unit
    }
    /// The final amount.
    #[getter]
    fn amount(&self) -> Decimal {
        self.inner.amount.amount()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "ExplanationLine",
            &[
                ("chain_level", obj(py, self.chain_level())?),
                ("paid_level", obj(py, self.paid_level())?),
                ("affiliate_id", obj(py, self.affiliate_id())?),
                ("exact", obj(py, self.exact())?),
                ("capped", obj(py, self.capped())?),
                ("extra_unit", obj(py, self.extra_unit())?),
                ("amount", obj(py, self.amount())?),
            ],
        )
    }
}

/// The answer to "why did I get this amount?"; `text` renders it for people.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct Explanation {
    pub(crate) inner: mlas_core::Explanation,
}

#[pymethods]
impl Explanation {
    /// The sale amount.
    #[getter]
    fn sale_amount(&self) -> Decimal {
        self.inner.sale_amount.amount()
    }
    /// The currency code.
    #[getter]
    fn currency(&self) -> String {
        self.inner.sale_amount.currency().code().to_owned()
    }
    /// The rule choice.
    #[getter]
    fn rule(&self) -> RuleChoice {
        RuleChoice {
            inner: self.inner.rule.clone(),
        }
    }
    /// Whether compression was on.
    #[getter]
    fn compression(&self) -> bool {
        self.inner.compression
    }
    /// Chain members who earned nothing.
    #[getter]
    fn skipped<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.skipped, |inner| Skipped { inner })
    }
    /// The total cap in money, or `None`.
    #[getter]
    fn total_cap(&self) -> Option<Decimal> {
        self.inner.total_cap
    }
    /// The exact total after caps, before rounding.
    #[getter]
    fn exact_total(&self) -> Decimal {
        self.inner.exact_total
    }
    /// The total rounded half-even; the lines sum to it.
    #[getter]
    fn total(&self) -> Decimal {
        self.inner.total.amount()
    }
    /// Every line, level order, including lines that rounded to zero.
    #[getter]
    fn lines<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        tuple_of(py, &self.inner.lines, |inner| ExplanationLine { inner })
    }
    /// Days before the commissions may be approved.
    #[getter]
    fn holding_days(&self) -> u32 {
        self.inner.holding_days
    }
    /// A plain-text rendering for operators, one step per line.
    #[getter]
    fn text(&self) -> String {
        self.inner.to_text()
    }
    /// The explanation as JSON (money and decimals as strings).
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        serde_json::to_string(&self.inner).map_err(|e| {
            crate::errors::to_py_err(
                py,
                &mlas_core::Error::integrity(format!("explanation cannot be encoded: {e}")),
            )
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        repr_of(
            "Explanation",
            &[
                ("sale_amount", obj(py, self.sale_amount())?),
                ("currency", obj(py, self.currency())?),
                ("rule", obj(py, self.inner.rule.name.as_str())?),
                ("total", obj(py, self.total())?),
                ("lines", obj(py, self.inner.lines.len())?),
            ],
        )
    }

    fn __str__(&self) -> String {
        self.inner.to_text()
    }
}

// ---------------------------------------------------------------- audit

/// The head of a tenant's audit chain: the last record's sequence number and hash.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct AuditHead {
    pub(crate) inner: mlas_core::AuditHead,
}

#[pymethods]
impl AuditHead {
    /// The last record's sequence number (1 for the first record).
    #[getter]
    fn seq(&self) -> u64 {
        self.inner.seq
    }
    /// The last record's hash (lower-case hex).
    #[getter]
    fn hash(&self) -> &str {
        &self.inner.hash
    }

    fn __repr__(&self) -> String {
        format!(
            "AuditHead(seq={}, hash='{}')",
            self.inner.seq, self.inner.hash
        )
    }
}
