//! `mlas.Engine`: every operation of the core, with the GIL released.
//!
//! Every method takes `tenant=` (keyword-only) and an optional `actor=` for the
//! audit trail (the engine's default actor otherwise). Arguments are parsed and
//! type-checked with the GIL held; the core call itself runs in `py.detach`.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use mlas_core::engine::Resolution;
use mlas_core::store::{AdjustmentFilter, CommissionFilter, PayoutFilter};
use mlas_core::{
    AffiliateStatus, AffiliateUpdate, CommissionStatus, EngineConfig, Money, NewAffiliate,
    NewRefund, Scope,
};
use mlas_core::{CommissionSelection, PayoutStatus, ScheduleRequest};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::audit::{AuditRecord, AuditVerification, Checkpoint, Health};
use crate::convert::{currency, decimal, id, opt_decimal, opt_id, text, utc};
use crate::errors::{core, run, validation};
use crate::input::{RuleArgs, SaleArgs, SaleInput, payout};
use crate::output::Output;
use crate::payouts::{
    BatchStats, FileProvider, Metrics, Payout, PayoutBatch, PyProvider, ScheduleOutcome,
    SimulatedProvider,
};
use crate::types::{
    Adjustment, Affiliate, AuditHead, Commission, Explanation, RecalculationOutcome, Refund,
    RefundOutcome, Rule, Sale, SaleOutcome,
};

/// A clock that stands still until moved: for tests and examples.
#[pyclass(frozen, module = "mlas")]
pub struct FixedClock {
    pub(crate) inner: Arc<mlas_core::FixedClock>,
}

#[pymethods]
impl FixedClock {
    /// A clock showing `now` (a timezone-aware datetime).
    #[new]
    fn new(now: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(FixedClock {
            inner: Arc::new(mlas_core::FixedClock::new(utc(now, "now")?)),
        })
    }

    /// The time it shows (UTC).
    fn now(&self) -> DateTime<Utc> {
        use mlas_core::Clock as _;
        self.inner.now()
    }

    /// Sets the time.
    fn set(&self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set(utc(now, "now")?);
        Ok(())
    }

    /// Moves the time forward by a `datetime.timedelta`.
    fn advance(&self, by: TimeDelta) {
        self.inner.advance(by);
    }

    fn __repr__(&self) -> String {
        use mlas_core::Clock as _;
        format!(
            "FixedClock({})",
            mlas_core::clock::rfc3339(self.inner.now())
        )
    }
}

/// A sale to record, checked when made; pass many to `Engine.record_sales`.
#[pyclass(frozen, eq, module = "mlas")]
#[derive(Clone, PartialEq)]
pub struct NewSale {
    pub(crate) inner: SaleInput,
}

#[pymethods]
impl NewSale {
    /// Takes the same keyword arguments as `Engine.record_sale`.
    #[new]
    #[pyo3(signature = (
        *, sale_id, amount, currency, affiliate_id=None, affiliate_chain=None,
        occurred_at=None, attribution_type=None, buyer_id=None, attributes=None
    ))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn new<'py>(
        py: Python<'py>,
        sale_id: Bound<'py, PyAny>,
        amount: Bound<'py, PyAny>,
        currency: Bound<'py, PyAny>,
        affiliate_id: Option<Bound<'py, PyAny>>,
        affiliate_chain: Option<Bound<'py, PyAny>>,
        occurred_at: Option<Bound<'py, PyAny>>,
        attribution_type: Option<Bound<'py, PyAny>>,
        buyer_id: Option<Bound<'py, PyAny>>,
        attributes: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Self> {
        let args = SaleArgs {
            sale_id: Some(sale_id),
            amount: Some(amount),
            currency: Some(currency),
            affiliate_id,
            affiliate_chain,
            occurred_at,
            attribution_type,
            buyer_id,
            attributes,
        };
        Ok(NewSale {
            inner: args.parse(py)?,
        })
    }

    /// The sale id.
    #[getter]
    fn sale_id(&self) -> &str {
        self.inner.id.as_str()
    }

    fn __repr__(&self) -> String {
        format!(
            "NewSale(sale_id='{}', amount=Decimal('{}'), currency='{}', affiliate_id='{}')",
            self.inner.id,
            self.inner.amount.amount(),
            self.inner.amount.currency(),
            self.inner.affiliate
        )
    }
}

/// The MLAS engine. Safe to share between threads; every call releases the GIL.
#[pyclass(frozen, module = "mlas")]
pub struct Engine {
    inner: mlas_core::Engine,
    actor: String,
    /// The SQLite store, for `backup`; `None` for an in-memory engine.
    sqlite: Option<Arc<mlas_sqlite::SqliteStore>>,
}

/// A provider argument: the simulated provider, the file provider, or any
/// Python object with `send` and `status`.
enum Provider {
    Simulated(Arc<mlas_core::SimulatedProvider>),
    File(Arc<mlas_core::provider::FileProvider>),
    Python(PyProvider),
}

impl Provider {
    fn from_py(provider: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(sim) = provider.cast::<SimulatedProvider>() {
            return Ok(Provider::Simulated(sim.get().inner.clone()));
        }
        if let Ok(file) = provider.cast::<FileProvider>() {
            return Ok(Provider::File(file.get().inner.clone()));
        }
        Ok(Provider::Python(PyProvider::new(provider)?))
    }

    fn get(&self) -> &dyn mlas_core::provider::PayoutProvider {
        match self {
            Provider::Simulated(sim) => sim.as_ref(),
            Provider::File(file) => file.as_ref(),
            Provider::Python(p) => p,
        }
    }
}

fn wrap<T, W>(items: Vec<T>, f: impl Fn(T) -> W) -> Vec<W> {
    items.into_iter().map(f).collect()
}

impl Engine {
    fn scope(&self, py: Python<'_>, tenant: &str, actor: Option<&str>) -> PyResult<Scope> {
        core(py, Scope::new(tenant, actor.unwrap_or(&self.actor)))
    }

    fn configured(
        py: Python<'_>,
        engine: mlas_core::Engine,
        clock: Option<&Bound<'_, FixedClock>>,
        actor: &str,
        min_payout: Option<&Bound<'_, PyAny>>,
        max_payout_attempts: u32,
        audit_key: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<Self> {
        let mut config = EngineConfig {
            max_payout_attempts,
            audit_key: audit_key.map(|k| k.as_bytes().to_vec()),
            ..EngineConfig::default()
        };
        if let Some(min) = min_payout.filter(|m| !m.is_none()) {
            let dict = min.cast::<pyo3::types::PyDict>().map_err(|_| {
                PyTypeError::new_err("min_payout must be a dict of currency to Decimal")
            })?;
            for (code, amount) in dict.iter() {
                let code = text(&code, "min_payout currency")?;
                config
                    .min_payout
                    .insert(currency(py, &code)?, decimal(&amount, "min_payout")?);
            }
        }
        let mut engine = core(py, engine.with_config(config))?;
        if let Some(clock) = clock {
            engine = engine.with_clock(clock.get().inner.clone());
        }
        core(py, Scope::new("check", actor))?;
        Ok(Engine {
            inner: engine,
            actor: actor.to_owned(),
            sqlite: None,
        })
    }
}

#[pymethods]
impl Engine {
    /// An engine over a fresh in-memory store (nothing survives the process).
    #[staticmethod]
    #[pyo3(signature = (
        *, clock=None, actor="mlas", min_payout=None, max_payout_attempts=3, audit_key=None
    ))]
    fn in_memory(
        py: Python<'_>,
        clock: Option<&Bound<'_, FixedClock>>,
        actor: &str,
        min_payout: Option<&Bound<'_, PyAny>>,
        max_payout_attempts: u32,
        audit_key: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<Self> {
        Engine::configured(
            py,
            mlas_core::Engine::in_memory(),
            clock,
            actor,
            min_payout,
            max_payout_attempts,
            audit_key,
        )
    }

    /// An engine over a SQLite file, created (and migrated) if needed.
    ///
    /// SQLite settings: `synchronous` is `"NORMAL"` (the default, with WAL) or
    /// `"FULL"`; `busy_timeout` (seconds, or a `timedelta`; default 5 s) is how
    /// long a connection waits for another one's lock; `max_write_attempts`
    /// (default 8) is how many times a write transaction is tried while the
    /// database stays busy; `max_idle_readers` (default 4) is how many idle
    /// read connections are kept for reuse.
    #[staticmethod]
    #[pyo3(signature = (
        path, *, clock=None, actor="mlas", min_payout=None, max_payout_attempts=3,
        audit_key=None, synchronous="NORMAL", busy_timeout=None, max_write_attempts=None,
        max_idle_readers=None
    ))]
    #[allow(clippy::too_many_arguments)] // the engine's settings
    fn open(
        py: Python<'_>,
        path: std::path::PathBuf,
        clock: Option<&Bound<'_, FixedClock>>,
        actor: &str,
        min_payout: Option<&Bound<'_, PyAny>>,
        max_payout_attempts: u32,
        audit_key: Option<&Bound<'_, PyBytes>>,
        synchronous: &str,
        busy_timeout: Option<&Bound<'_, PyAny>>,
        max_write_attempts: Option<i64>,
        max_idle_readers: Option<i64>,
    ) -> PyResult<Self> {
        let options = sqlite_options(
            py,
            path,
            synchronous,
            busy_timeout,
            max_write_attempts,
            max_idle_readers,
        )?;
        let store = Arc::new(run(py, || mlas_sqlite::SqliteStore::open_with(options))?);
        let mut engine = Engine::configured(
            py,
            mlas_core::Engine::from_arc(store.clone()),
            clock,
            actor,
            min_payout,
            max_payout_attempts,
            audit_key,
        )?;
        engine.sqlite = Some(store);
        Ok(engine)
    }

    /// Writes a consistent copy of a SQLite engine's database to `path` (which
    /// must not exist) while the engine stays in use.
    fn backup(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        let Some(store) = &self.sqlite else {
            return Err(validation(
                py,
                "backup",
                "an in-memory engine has no file to back up",
            ));
        };
        run(py, || store.backup_to(&path))
    }

    /// The engine's current time (UTC).
    fn now(&self) -> DateTime<Utc> {
        self.inner.now()
    }

    /// The actor recorded when a call gives none.
    #[getter]
    fn default_actor(&self) -> &str {
        &self.actor
    }

    fn __repr__(&self) -> String {
        format!(
            "Engine(backend='{}', default_actor='{}')",
            self.inner.store().describe().backend,
            self.actor
        )
    }

    // ------------------------------------------------------------ affiliates

    /// Creates an affiliate (ACTIVE unless `status` says otherwise).
    #[pyo3(signature = (
        *, tenant, name, email, commission_rate, payout_method=None, payout_details=None,
        status=None, tier=None, sponsor_id=None, affiliate_id=None, actor=None
    ))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn create_affiliate(
        &self,
        py: Python<'_>,
        tenant: &str,
        name: &str,
        email: &str,
        commission_rate: &Bound<'_, PyAny>,
        payout_method: Option<&str>,
        payout_details: Option<&Bound<'_, PyAny>>,
        status: Option<&str>,
        tier: Option<&str>,
        sponsor_id: Option<&str>,
        affiliate_id: Option<&str>,
        actor: Option<&str>,
    ) -> PyResult<Affiliate> {
        let scope = self.scope(py, tenant, actor)?;
        let new = NewAffiliate {
            id: opt_id(py, affiliate_id)?,
            name: name.to_owned(),
            email: email.to_owned(),
            status: status
                .map(|s| core(py, AffiliateStatus::parse(s)))
                .transpose()?,
            tier: tier.map(str::to_owned),
            commission_rate: decimal(commission_rate, "commission_rate")?,
            payout: payout(py, payout_method, payout_details)?,
            sponsor: opt_id(py, sponsor_id)?,
        };
        let inner = run(py, || self.inner.create_affiliate(&scope, new))?;
        Ok(Affiliate { inner })
    }

    /// An affiliate.
    #[pyo3(signature = (affiliate_id, *, tenant))]
    fn affiliate(&self, py: Python<'_>, affiliate_id: &str, tenant: &str) -> PyResult<Affiliate> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, affiliate_id)?;
        let inner = run(py, || self.inner.affiliate(&scope, &id))?;
        Ok(Affiliate { inner })
    }

    /// Every affiliate of the tenant, by id.
    #[pyo3(signature = (*, tenant))]
    fn affiliates(&self, py: Python<'_>, tenant: &str) -> PyResult<Vec<Affiliate>> {
        let scope = self.scope(py, tenant, None)?;
        let all = run(py, || self.inner.affiliates(&scope))?;
        Ok(wrap(all, |inner| Affiliate { inner }))
    }

    /// Changes profile fields; arguments left out stay as they are.
    /// `clear_payout=True` removes the payout details.
    #[pyo3(signature = (
        affiliate_id, *, tenant, name=None, email=None, tier=None, commission_rate=None,
        payout_method=None, payout_details=None, clear_payout=false, actor=None
    ))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn update_affiliate(
        &self,
        py: Python<'_>,
        affiliate_id: &str,
        tenant: &str,
        name: Option<&str>,
        email: Option<&str>,
        tier: Option<&str>,
        commission_rate: Option<&Bound<'_, PyAny>>,
        payout_method: Option<&str>,
        payout_details: Option<&Bound<'_, PyAny>>,
        clear_payout: bool,
        actor: Option<&str>,
    ) -> PyResult<Affiliate> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, affiliate_id)?;
        let new_payout = payout(py, payout_method, payout_details)?;
        if clear_payout && new_payout.is_some() {
            return Err(validation(
                py,
                "clear_payout",
                "cannot clear and set payout details at once",
            ));
        }
        let update = AffiliateUpdate {
            name: name.map(str::to_owned),
            email: email.map(str::to_owned),
            tier: tier.map(str::to_owned),
            commission_rate: opt_decimal(commission_rate, "commission_rate")?,
            payout: if clear_payout {
                Some(None)
            } else {
                new_payout.map(Some)
            },
        };
        let inner = run(py, || self.inner.update_affiliate(&scope, &id, update))?;
        Ok(Affiliate { inner })
    }

    /// Moves an affiliate to another status (`AffiliateStatus`); TERMINATED is final.
    #[pyo3(signature = (affiliate_id, status, *, tenant, reason, actor=None))]
    fn set_affiliate_status(
        &self,
        py: Python<'_>,
        affiliate_id: &str,
        status: &str,
        tenant: &str,
        reason: &str,
        actor: Option<&str>,
    ) -> PyResult<Affiliate> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, affiliate_id)?;
        let status = core(py, AffiliateStatus::parse(status))?;
        let inner = run(py, || {
            self.inner.set_affiliate_status(&scope, &id, status, reason)
        })?;
        Ok(Affiliate { inner })
    }

    /// Sets (or, with `None`, clears) an affiliate's sponsor; cycles are rejected.
    #[pyo3(signature = (affiliate_id, sponsor_id, *, tenant, actor=None))]
    fn set_sponsor(
        &self,
        py: Python<'_>,
        affiliate_id: &str,
        sponsor_id: Option<&str>,
        tenant: &str,
        actor: Option<&str>,
    ) -> PyResult<Affiliate> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, affiliate_id)?;
        let sponsor = opt_id(py, sponsor_id)?;
        let inner = run(py, || self.inner.set_sponsor(&scope, &id, sponsor.as_ref()))?;
        Ok(Affiliate { inner })
    }

    /// The affiliate and its upline, level 1 first.
    #[pyo3(signature = (affiliate_id, *, tenant))]
    fn upline(&self, py: Python<'_>, affiliate_id: &str, tenant: &str) -> PyResult<Vec<String>> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, affiliate_id)?;
        let chain = run(py, || self.inner.upline(&scope, &id))?;
        Ok(chain.into_iter().map(String::from).collect())
    }

    // ------------------------------------------------------------ rules

    /// Creates a rule (version 1). `levels` items are a percentage, or a dict
    /// with one of `percent`, `fixed`, `affiliate_rate=True` and an optional `cap`.
    #[pyo3(signature = (
        *, tenant, name, levels, priority=0, active=true, valid_from=None, valid_until=None,
        conditions=None, compression=false, total_cap_percent=None, currency=None,
        holding_days=0, rule_id=None, actor=None
    ))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn create_rule(
        &self,
        py: Python<'_>,
        tenant: &str,
        name: &str,
        levels: &Bound<'_, PyAny>,
        priority: i32,
        active: bool,
        valid_from: Option<&Bound<'_, PyAny>>,
        valid_until: Option<&Bound<'_, PyAny>>,
        conditions: Option<&Bound<'_, PyAny>>,
        compression: bool,
        total_cap_percent: Option<&Bound<'_, PyAny>>,
        currency: Option<&str>,
        holding_days: i64,
        rule_id: Option<&str>,
        actor: Option<&str>,
    ) -> PyResult<Rule> {
        let scope = self.scope(py, tenant, actor)?;
        let spec = RuleArgs {
            name,
            levels,
            priority,
            active,
            valid_from,
            valid_until,
            conditions,
            compression,
            total_cap_percent,
            currency,
            holding_days,
        }
        .spec(py)?;
        let rule_id = opt_id(py, rule_id)?;
        let inner = run(py, || self.inner.create_rule(&scope, rule_id, spec))?;
        Ok(Rule { inner })
    }

    /// Stores a new version of a rule. The arguments replace the whole spec:
    /// optional ones left out take their defaults, not the previous values.
    #[pyo3(signature = (
        rule_id, *, tenant, name, levels, priority=0, active=true, valid_from=None,
        valid_until=None, conditions=None, compression=false, total_cap_percent=None,
        currency=None, holding_days=0, actor=None
    ))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn update_rule(
        &self,
        py: Python<'_>,
        rule_id: &str,
        tenant: &str,
        name: &str,
        levels: &Bound<'_, PyAny>,
        priority: i32,
        active: bool,
        valid_from: Option<&Bound<'_, PyAny>>,
        valid_until: Option<&Bound<'_, PyAny>>,
        conditions: Option<&Bound<'_, PyAny>>,
        compression: bool,
        total_cap_percent: Option<&Bound<'_, PyAny>>,
        currency: Option<&str>,
        holding_days: i64,
        actor: Option<&str>,
    ) -> PyResult<Rule> {
        let scope = self.scope(py, tenant, actor)?;
        let spec = RuleArgs {
            name,
            levels,
            priority,
            active,
            valid_from,
            valid_until,
            conditions,
            compression,
            total_cap_percent,
            currency,
            holding_days,
        }
        .spec(py)?;
        let id = id(py, rule_id)?;
        let inner = run(py, || self.inner.update_rule(&scope, &id, spec))?;
        Ok(Rule { inner })
    }

    /// A rule: the latest version, or the given one.
    #[pyo3(signature = (rule_id, *, tenant, version=None))]
    fn rule(
        &self,
        py: Python<'_>,
        rule_id: &str,
        tenant: &str,
        version: Option<u32>,
    ) -> PyResult<Rule> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, rule_id)?;
        let inner = run(py, || self.inner.rule(&scope, &id, version))?;
        Ok(Rule { inner })
    }

    /// The latest version of every rule.
    #[pyo3(signature = (*, tenant))]
    fn rules(&self, py: Python<'_>, tenant: &str) -> PyResult<Vec<Rule>> {
        let scope = self.scope(py, tenant, None)?;
        let all = run(py, || self.inner.rules(&scope))?;
        Ok(wrap(all, |inner| Rule { inner }))
    }

    /// Every version of a rule, oldest first.
    #[pyo3(signature = (rule_id, *, tenant))]
    fn rule_versions(&self, py: Python<'_>, rule_id: &str, tenant: &str) -> PyResult<Vec<Rule>> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, rule_id)?;
        let all = run(py, || self.inner.rule_versions(&scope, &id))?;
        Ok(wrap(all, |inner| Rule { inner }))
    }

    // ------------------------------------------------------------ sales

    /// Records a sale with its attribution and calculates its commissions, in
    /// one transaction. Idempotent on `sale_id`.
    #[pyo3(signature = (
        *, tenant, sale_id, amount, currency, affiliate_id=None, affiliate_chain=None,
        occurred_at=None, attribution_type=None, buyer_id=None, attributes=None, actor=None
    ))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn record_sale<'py>(
        &self,
        py: Python<'py>,
        tenant: &str,
        sale_id: Bound<'py, PyAny>,
        amount: Bound<'py, PyAny>,
        currency: Bound<'py, PyAny>,
        affiliate_id: Option<Bound<'py, PyAny>>,
        affiliate_chain: Option<Bound<'py, PyAny>>,
        occurred_at: Option<Bound<'py, PyAny>>,
        attribution_type: Option<Bound<'py, PyAny>>,
        buyer_id: Option<Bound<'py, PyAny>>,
        attributes: Option<Bound<'py, PyAny>>,
        actor: Option<&str>,
    ) -> PyResult<SaleOutcome> {
        let scope = self.scope(py, tenant, actor)?;
        let input = SaleArgs {
            sale_id: Some(sale_id),
            amount: Some(amount),
            currency: Some(currency),
            affiliate_id,
            affiliate_chain,
            occurred_at,
            attribution_type,
            buyer_id,
            attributes,
        }
        .parse(py)?;
        let inner = run(py, || {
            let sale = input.build(self.inner.now());
            self.inner.record_sale(&scope, sale)
        })?;
        Ok(SaleOutcome { inner })
    }

    /// Records many sales in one transaction: all or none. Items are `NewSale`
    /// objects or mappings with `record_sale`'s keyword names (or the
    /// runbook's camelCase JSON names).
    #[pyo3(signature = (sales, *, tenant, actor=None))]
    fn record_sales(
        &self,
        py: Python<'_>,
        sales: &Bound<'_, PyAny>,
        tenant: &str,
        actor: Option<&str>,
    ) -> PyResult<Vec<SaleOutcome>> {
        let scope = self.scope(py, tenant, actor)?;
        if sales.is_instance_of::<pyo3::types::PyString>()
            || sales.cast::<pyo3::types::PyMapping>().is_ok()
        {
            return Err(PyTypeError::new_err("sales must be a sequence of sales"));
        }
        let mut inputs = Vec::new();
        for (index, item) in sales
            .try_iter()
            .map_err(|_| PyTypeError::new_err("sales must be a sequence of sales"))?
            .enumerate()
        {
            let item = item?;
            if let Ok(given) = item.cast::<NewSale>() {
                inputs.push(given.get().inner.clone());
            } else {
                inputs.push(SaleArgs::from_mapping(&item, index)?.parse(py)?);
            }
        }
        let outcomes = run(py, || {
            let now = self.inner.now();
            let sales: Vec<_> = inputs.iter().map(|s| s.build(now)).collect();
            self.inner.record_sales(&scope, &sales)
        })?;
        Ok(wrap(outcomes, |inner| SaleOutcome { inner }))
    }

    /// A recorded sale.
    #[pyo3(signature = (sale_id, *, tenant))]
    fn sale(&self, py: Python<'_>, sale_id: &str, tenant: &str) -> PyResult<Sale> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, sale_id)?;
        let inner = run(py, || self.inner.sale(&scope, &id))?;
        Ok(Sale { inner })
    }

    /// Why a sale's commissions are what they are.
    #[pyo3(signature = (sale_id, *, tenant))]
    fn explain(&self, py: Python<'_>, sale_id: &str, tenant: &str) -> PyResult<Explanation> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, sale_id)?;
        let inner = run(py, || self.inner.explain(&scope, &id))?;
        Ok(Explanation { inner })
    }

    /// Why one commission is what it is: the explanation of its sale.
    #[pyo3(signature = (commission_id, *, tenant))]
    fn explain_commission(
        &self,
        py: Python<'_>,
        commission_id: &str,
        tenant: &str,
    ) -> PyResult<Explanation> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, commission_id)?;
        let inner = run(py, || self.inner.explain_commission(&scope, &id))?;
        Ok(Explanation { inner })
    }

    // ------------------------------------------------------------ commissions

    /// A commission.
    #[pyo3(signature = (commission_id, *, tenant))]
    fn commission(
        &self,
        py: Python<'_>,
        commission_id: &str,
        tenant: &str,
    ) -> PyResult<Commission> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, commission_id)?;
        let inner = run(py, || self.inner.commission(&scope, &id))?;
        Ok(Commission { inner })
    }

    /// Commissions, optionally only one status, affiliate or sale; oldest first.
    #[pyo3(signature = (*, tenant, status=None, affiliate_id=None, sale_id=None, limit=None))]
    fn commissions(
        &self,
        py: Python<'_>,
        tenant: &str,
        status: Option<&str>,
        affiliate_id: Option<&str>,
        sale_id: Option<&str>,
        limit: Option<i64>,
    ) -> PyResult<Vec<Commission>> {
        let scope = self.scope(py, tenant, None)?;
        let filter = CommissionFilter {
            status: status
                .map(|s| core(py, CommissionStatus::parse(s)))
                .transpose()?,
            affiliate: opt_id(py, affiliate_id)?,
            sale: opt_id(py, sale_id)?,
            limit: limit.map(|l| limit_of(py, l)).transpose()?,
        };
        let all = run(py, || self.inner.commissions(&scope, &filter))?;
        Ok(wrap(all, |inner| Commission { inner }))
    }

    /// Approves a PENDING commission whose holding period is over.
    #[pyo3(signature = (commission_id, *, tenant, actor=None))]
    fn approve(
        &self,
        py: Python<'_>,
        commission_id: &str,
        tenant: &str,
        actor: Option<&str>,
    ) -> PyResult<Commission> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, commission_id)?;
        let inner = run(py, || self.inner.approve(&scope, &id))?;
        Ok(Commission { inner })
    }

    /// Approves every PENDING commission whose holding period is over.
    #[pyo3(signature = (*, tenant, actor=None))]
    fn approve_available(
        &self,
        py: Python<'_>,
        tenant: &str,
        actor: Option<&str>,
    ) -> PyResult<Vec<Commission>> {
        let scope = self.scope(py, tenant, actor)?;
        let all = run(py, || self.inner.approve_available(&scope))?;
        Ok(wrap(all, |inner| Commission { inner }))
    }

    /// Rejects a PENDING or APPROVED commission.
    #[pyo3(signature = (commission_id, *, tenant, reason, actor=None))]
    fn reject(
        &self,
        py: Python<'_>,
        commission_id: &str,
        tenant: &str,
        reason: &str,
        actor: Option<&str>,
    ) -> PyResult<Commission> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, commission_id)?;
        let inner = run(py, || self.inner.reject(&scope, &id, reason))?;
        Ok(Commission { inner })
    }

    /// Disputes a PENDING or APPROVED commission.
    #[pyo3(signature = (commission_id, *, tenant, reason, actor=None))]
    fn dispute(
        &self,
        py: Python<'_>,
        commission_id: &str,
        tenant: &str,
        reason: &str,
        actor: Option<&str>,
    ) -> PyResult<Commission> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, commission_id)?;
        let inner = run(py, || self.inner.dispute(&scope, &id, reason))?;
        Ok(Commission { inner })
    }

    /// Resolves a DISPUTED commission: `Resolution.APPROVE` or `Resolution.REJECT`.
    #[pyo3(signature = (commission_id, resolution, *, tenant, reason, actor=None))]
    fn resolve(
        &self,
        py: Python<'_>,
        commission_id: &str,
        resolution: &str,
        tenant: &str,
        reason: &str,
        actor: Option<&str>,
    ) -> PyResult<Commission> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, commission_id)?;
        let resolution = match resolution {
            "APPROVE" => Resolution::Approve,
            "REJECT" => Resolution::Reject,
            other => {
                return Err(validation(
                    py,
                    "resolution",
                    format!("{other:?} is not APPROVE or REJECT"),
                ));
            }
        };
        let inner = run(py, || self.inner.resolve(&scope, &id, resolution, reason))?;
        Ok(Commission { inner })
    }

    /// Refunds all or part of a sale and reverses its commissions pro rata.
    /// `currency` defaults to the sale's. Idempotent on `refund_id`.
    #[pyo3(signature = (*, tenant, refund_id, sale_id, amount, reason, currency=None, actor=None))]
    #[allow(clippy::too_many_arguments)] // the domain's keyword arguments
    fn refund(
        &self,
        py: Python<'_>,
        tenant: &str,
        refund_id: &str,
        sale_id: &str,
        amount: &Bound<'_, PyAny>,
        reason: &str,
        currency: Option<&str>,
        actor: Option<&str>,
    ) -> PyResult<RefundOutcome> {
        let scope = self.scope(py, tenant, actor)?;
        let refund_id = id(py, refund_id)?;
        let sale_id: mlas_core::SaleId = id(py, sale_id)?;
        let amount = decimal(amount, "amount")?;
        let currency = currency
            .map(|c| crate::convert::currency(py, c))
            .transpose()?;
        let (refund, replayed) = run(py, || {
            let currency = match currency {
                Some(c) => c,
                None => self.inner.sale(&scope, &sale_id)?.amount.currency(),
            };
            let request = NewRefund {
                id: refund_id,
                sale: sale_id.clone(),
                amount: Money::new(amount, currency, "amount")?,
                reason: reason.to_owned(),
            };
            self.inner.refund(&scope, request)
        })?;
        Ok(RefundOutcome { refund, replayed })
    }

    /// A recorded refund.
    #[pyo3(signature = (refund_id, *, tenant))]
    fn refund_record(&self, py: Python<'_>, refund_id: &str, tenant: &str) -> PyResult<Refund> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, refund_id)?;
        let inner = run(py, || self.inner.refund_record(&scope, &id))?;
        Ok(Refund { inner })
    }

    /// Recalculates a sale with the current rules and affiliates.
    #[pyo3(signature = (sale_id, *, tenant, actor=None))]
    fn recalculate(
        &self,
        py: Python<'_>,
        sale_id: &str,
        tenant: &str,
        actor: Option<&str>,
    ) -> PyResult<RecalculationOutcome> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, sale_id)?;
        let inner = run(py, || self.inner.recalculate(&scope, &id))?;
        Ok(RecalculationOutcome { inner })
    }

    /// Adjustments (clawbacks and corrections), optionally filtered.
    #[pyo3(signature = (*, tenant, affiliate_id=None, open_only=false, payout_id=None))]
    fn adjustments(
        &self,
        py: Python<'_>,
        tenant: &str,
        affiliate_id: Option<&str>,
        open_only: bool,
        payout_id: Option<&str>,
    ) -> PyResult<Vec<Adjustment>> {
        let scope = self.scope(py, tenant, None)?;
        let filter = AdjustmentFilter {
            affiliate: opt_id(py, affiliate_id)?,
            open_only,
            payout: opt_id(py, payout_id)?,
        };
        let all = run(py, || self.inner.adjustments(&scope, &filter))?;
        Ok(wrap(all, |inner| Adjustment { inner }))
    }

    // ------------------------------------------------------------ payouts

    /// Schedules a payout batch: one payout per (affiliate, currency). With
    /// `commission_ids=None`, every APPROVED unscheduled commission and every
    /// open adjustment. Idempotent on `batch_id`.
    #[pyo3(signature = (*, tenant, batch_id, scheduled_for, commission_ids=None, actor=None))]
    fn schedule_payouts(
        &self,
        py: Python<'_>,
        tenant: &str,
        batch_id: &str,
        scheduled_for: &Bound<'_, PyAny>,
        commission_ids: Option<&Bound<'_, PyAny>>,
        actor: Option<&str>,
    ) -> PyResult<ScheduleOutcome> {
        let scope = self.scope(py, tenant, actor)?;
        let selection = match commission_ids.filter(|c| !c.is_none()) {
            None => CommissionSelection::AllApproved,
            Some(ids) => {
                if ids.is_instance_of::<pyo3::types::PyString>() {
                    return Err(PyTypeError::new_err(
                        "commission_ids must be a sequence of ids",
                    ));
                }
                CommissionSelection::Ids(
                    ids.try_iter()
                        .map_err(|_| PyTypeError::new_err("commission_ids must be a sequence"))?
                        .map(|c| id(py, &text(&c?, "commission_ids")?))
                        .collect::<PyResult<Vec<_>>>()?,
                )
            }
        };
        let request = ScheduleRequest {
            batch: id(py, batch_id)?,
            scheduled_for: utc(scheduled_for, "scheduled_for")?,
            selection,
        };
        let inner = run(py, || self.inner.schedule_payouts(&scope, request))?;
        Ok(ScheduleOutcome { inner })
    }

    /// Processes a batch through `provider` (a `SimulatedProvider`, a
    /// `FileProvider` or any object with `send(instruction)` and
    /// `status(key)`); returns its statistics.
    #[pyo3(signature = (batch_id, *, tenant, provider, force=false, actor=None))]
    fn process_batch(
        &self,
        py: Python<'_>,
        batch_id: &str,
        tenant: &str,
        provider: &Bound<'_, PyAny>,
        force: bool,
        actor: Option<&str>,
    ) -> PyResult<BatchStats> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, batch_id)?;
        let provider = Provider::from_py(provider)?;
        let inner = run(py, || {
            self.inner.process_batch(&scope, &id, provider.get(), force)
        })?;
        Ok(BatchStats { inner })
    }

    /// Sends a FAILED payout again, to the affiliate's current details.
    #[pyo3(signature = (payout_id, *, tenant, provider, actor=None))]
    fn retry_payout(
        &self,
        py: Python<'_>,
        payout_id: &str,
        tenant: &str,
        provider: &Bound<'_, PyAny>,
        actor: Option<&str>,
    ) -> PyResult<Payout> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, payout_id)?;
        let provider = Provider::from_py(provider)?;
        let inner = run(py, || self.inner.retry_payout(&scope, &id, provider.get()))?;
        Ok(Payout { inner })
    }

    /// Gives up a PENDING or FAILED payout; its commissions return to APPROVED.
    #[pyo3(signature = (payout_id, *, tenant, reason, actor=None))]
    fn cancel_payout(
        &self,
        py: Python<'_>,
        payout_id: &str,
        tenant: &str,
        reason: &str,
        actor: Option<&str>,
    ) -> PyResult<Payout> {
        let scope = self.scope(py, tenant, actor)?;
        let id = id(py, payout_id)?;
        let inner = run(py, || self.inner.cancel_payout(&scope, &id, reason))?;
        Ok(Payout { inner })
    }

    /// A payout batch.
    #[pyo3(signature = (batch_id, *, tenant))]
    fn batch(&self, py: Python<'_>, batch_id: &str, tenant: &str) -> PyResult<PayoutBatch> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, batch_id)?;
        let inner = run(py, || self.inner.batch(&scope, &id))?;
        Ok(PayoutBatch { inner })
    }

    /// A batch's statistics (the runbook's `/payouts/batch/:id/stats`).
    #[pyo3(signature = (batch_id, *, tenant))]
    fn batch_stats(&self, py: Python<'_>, batch_id: &str, tenant: &str) -> PyResult<BatchStats> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, batch_id)?;
        let inner = run(py, || self.inner.batch_stats(&scope, &id))?;
        Ok(BatchStats { inner })
    }

    /// A payout.
    #[pyo3(signature = (payout_id, *, tenant))]
    fn payout(&self, py: Python<'_>, payout_id: &str, tenant: &str) -> PyResult<Payout> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, payout_id)?;
        let inner = run(py, || self.inner.payout(&scope, &id))?;
        Ok(Payout { inner })
    }

    /// Payouts, optionally of one batch, status or affiliate; oldest first.
    #[pyo3(signature = (*, tenant, batch_id=None, status=None, affiliate_id=None, limit=None))]
    fn payouts(
        &self,
        py: Python<'_>,
        tenant: &str,
        batch_id: Option<&str>,
        status: Option<&str>,
        affiliate_id: Option<&str>,
        limit: Option<i64>,
    ) -> PyResult<Vec<Payout>> {
        let scope = self.scope(py, tenant, None)?;
        let filter = PayoutFilter {
            batch: opt_id(py, batch_id)?,
            status: status
                .map(|s| core(py, PayoutStatus::parse(s)))
                .transpose()?,
            affiliate: opt_id(py, affiliate_id)?,
            limit: limit.map(|l| limit_of(py, l)).transpose()?,
        };
        let all = run(py, || self.inner.payouts(&scope, &filter))?;
        Ok(wrap(all, |inner| Payout { inner }))
    }

    /// Every FAILED payout (the runbook's `payouts?status=FAILED`).
    #[pyo3(signature = (*, tenant))]
    fn failed_payouts(&self, py: Python<'_>, tenant: &str) -> PyResult<Vec<Payout>> {
        let scope = self.scope(py, tenant, None)?;
        let all = run(py, || self.inner.failed_payouts(&scope))?;
        Ok(wrap(all, |inner| Payout { inner }))
    }

    /// What the next batch would owe an affiliate, by currency (may be negative).
    #[pyo3(signature = (affiliate_id, *, tenant))]
    fn balance(
        &self,
        py: Python<'_>,
        affiliate_id: &str,
        tenant: &str,
    ) -> PyResult<std::collections::BTreeMap<String, mlas_core::Decimal>> {
        let scope = self.scope(py, tenant, None)?;
        let id = id(py, affiliate_id)?;
        let all = run(py, || self.inner.balance(&scope, &id))?;
        Ok(all
            .into_iter()
            .map(|m| (m.currency().code().to_owned(), m.amount()))
            .collect())
    }

    /// A snapshot of the tenant's metrics.
    #[pyo3(signature = (*, tenant))]
    fn metrics(&self, py: Python<'_>, tenant: &str) -> PyResult<Metrics> {
        let scope = self.scope(py, tenant, None)?;
        let inner = run(py, || self.inner.metrics(&scope))?;
        Ok(Metrics { inner })
    }

    // ------------------------------------------------------------ audit

    /// The head of the tenant's audit chain, or `None` before the first record.
    #[pyo3(signature = (*, tenant))]
    fn audit_head(&self, py: Python<'_>, tenant: &str) -> PyResult<Option<AuditHead>> {
        let scope = self.scope(py, tenant, None)?;
        let head = run(py, || self.inner.audit_head(&scope))?;
        Ok(head.map(|inner| AuditHead { inner }))
    }

    /// Verifies the tenant's whole chain in constant memory. The answer is a
    /// report: `intact`, or `broken_seq` and `broken_reason`.
    #[pyo3(signature = (*, tenant))]
    fn verify_audit(&self, py: Python<'_>, tenant: &str) -> PyResult<AuditVerification> {
        let scope = self.scope(py, tenant, None)?;
        let inner = run(py, || self.inner.verify_audit(&scope))?;
        Ok(AuditVerification { inner })
    }

    /// Verifies the records `from_seq..=through_seq` only. `from_seq=None`
    /// starts at the first record in the database (after any archived ones),
    /// `through_seq=None` ends at the head. The record before `from_seq` is
    /// checked too, so the range's first link is verified, and is counted.
    #[pyo3(signature = (from_seq=None, through_seq=None, *, tenant))]
    fn verify_audit_range(
        &self,
        py: Python<'_>,
        from_seq: Option<u64>,
        through_seq: Option<u64>,
        tenant: &str,
    ) -> PyResult<AuditVerification> {
        let scope = self.scope(py, tenant, None)?;
        let inner = run(py, || {
            let from_seq = match from_seq {
                Some(seq) => seq,
                None => first_stored_seq(&self.inner, &scope)?,
            };
            self.inner.verify_audit_range(&scope, from_seq, through_seq)
        })?;
        Ok(AuditVerification { inner })
    }

    /// The chain head as a `Checkpoint` to keep outside the database.
    #[pyo3(signature = (*, tenant))]
    fn checkpoint(&self, py: Python<'_>, tenant: &str) -> PyResult<Checkpoint> {
        let scope = self.scope(py, tenant, None)?;
        let inner = run(py, || self.inner.checkpoint(&scope))?;
        Ok(Checkpoint { inner })
    }

    /// Verifies the chain and that the record a checkpoint names is unchanged
    /// (catches a truncated or rewritten tail).
    #[pyo3(signature = (checkpoint, *, tenant))]
    fn verify_against(
        &self,
        py: Python<'_>,
        checkpoint: &Bound<'_, Checkpoint>,
        tenant: &str,
    ) -> PyResult<AuditVerification> {
        let scope = self.scope(py, tenant, None)?;
        let checkpoint = checkpoint.get().inner.clone();
        let inner = run(py, || self.inner.verify_against(&scope, &checkpoint))?;
        Ok(AuditVerification { inner })
    }

    /// Audit records, oldest first, one page at a time: returns the records and
    /// the cursor to pass as `after_seq` for the next page (`None` at the end).
    #[pyo3(signature = (
        *, tenant, resource_id=None, affiliate_id=None, kind=None, since=None, until=None,
        after_seq=None, limit=None
    ))]
    #[allow(clippy::too_many_arguments)] // the query's filters
    fn audit_records(
        &self,
        py: Python<'_>,
        tenant: &str,
        resource_id: Option<String>,
        affiliate_id: Option<String>,
        kind: Option<String>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        after_seq: Option<u64>,
        limit: Option<i64>,
    ) -> PyResult<(Vec<AuditRecord>, Option<u64>)> {
        let scope = self.scope(py, tenant, None)?;
        let query = mlas_core::AuditQuery {
            resource_id,
            affiliate_id,
            kind,
            from: crate::convert::opt_utc(since, "since")?,
            until: crate::convert::opt_utc(until, "until")?,
            after_seq,
            limit: limit.map(|l| limit_of(py, l)).transpose()?,
        };
        let page = run(py, || self.inner.audit_records(&scope, &query))?;
        Ok((
            wrap(page.records, |inner| AuditRecord { inner }),
            page.next_cursor,
        ))
    }

    /// Streams records as JSON Lines (`format="jsonl"`, verifiable on its own)
    /// or CSV (`format="csv"`, for people) to `target`: a path (a new file is
    /// created; an existing one is an error) or a binary file object with
    /// `write(bytes)`, written in chunks of 64 KiB. Returns how many records
    /// were written.
    #[pyo3(signature = (target, *, tenant, format="jsonl", from_seq=None, through_seq=None))]
    fn export_audit(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        tenant: &str,
        format: &str,
        from_seq: Option<u64>,
        through_seq: Option<u64>,
    ) -> PyResult<u64> {
        let scope = self.scope(py, tenant, None)?;
        let csv = match format {
            "jsonl" => false,
            "csv" => true,
            other => {
                return Err(validation(
                    py,
                    "format",
                    format!("{other:?} is not jsonl or csv"),
                ));
            }
        };
        let range = mlas_core::AuditRange {
            from_seq,
            through_seq,
        };
        let output = Output::from_py(target, "target")?;
        let mut sink = None;
        let summary = run(py, || {
            let out = sink.insert(output.open()?);
            let summary = if csv {
                self.inner.export_audit_csv(&scope, range, out)?
            } else {
                self.inner.export_audit_jsonl(&scope, range, out)?
            };
            std::io::Write::flush(out)
                .map_err(|e| mlas_core::Error::storage(format!("cannot write the export: {e}")))?;
            Ok(summary)
        });
        finish(sink, summary).map(|s| s.records)
    }

    /// Archives the records older than `before` as JSON Lines into `target`
    /// (a path for a new file, synced to disk before anything is deleted, or a
    /// binary file object with `write(bytes)`, written in chunks and flushed
    /// if it has `flush()`), deletes them and keeps a checkpoint so the rest
    /// still verifies. Returns how many records were archived. When it raises,
    /// nothing was deleted, but the target may hold a partial archive.
    #[pyo3(signature = (target, *, tenant, before, actor=None))]
    fn archive_audit(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyAny>,
        tenant: &str,
        before: &Bound<'_, PyAny>,
        actor: Option<&str>,
    ) -> PyResult<u64> {
        let scope = self.scope(py, tenant, actor)?;
        let before = utc(before, "before")?;
        let output = Output::from_py(target, "target")?;
        let mut sink = None;
        let outcome = run(py, || {
            let out = sink.insert(output.open()?);
            self.inner.archive_audit(&scope, before, out)
        });
        finish(sink, outcome).map(|o| o.records)
    }

    /// Verifies archive files (oldest first) and then the chain in the database
    /// as one chain.
    #[pyo3(signature = (archives, *, tenant))]
    fn verify_audit_with_archives(
        &self,
        py: Python<'_>,
        archives: Vec<std::path::PathBuf>,
        tenant: &str,
    ) -> PyResult<AuditVerification> {
        let scope = self.scope(py, tenant, None)?;
        let inner = run(py, || {
            let readers = archives
                .iter()
                .map(|p| {
                    std::fs::File::open(p)
                        .map(std::io::BufReader::new)
                        .map_err(|e| {
                            mlas_core::Error::storage(format!("cannot read {}: {e}", p.display()))
                        })
                })
                .collect::<mlas_core::Result<Vec<_>>>()?;
            self.inner.verify_audit_with_archives(&scope, readers)
        })?;
        Ok(AuditVerification { inner })
    }

    /// A health report: version, backend, schema, audit head and whether the
    /// chain verifies.
    #[pyo3(signature = (*, tenant))]
    fn health(&self, py: Python<'_>, tenant: &str) -> PyResult<Health> {
        let scope = self.scope(py, tenant, None)?;
        let inner = run(py, || Ok(self.inner.health(&scope)))?;
        Ok(Health { inner })
    }
}

/// The answer of an export or archive: the exception the host's file object
/// raised, if any, comes first (the core only saw an I/O error).
fn finish<T>(sink: Option<crate::output::Sink>, result: PyResult<T>) -> PyResult<T> {
    match sink.and_then(crate::output::Sink::finish) {
        Some(err) => Err(err),
        None => result,
    }
}

/// The sequence number of the first record still in the database: 1, or the
/// one after the archiving anchor.
fn first_stored_seq(engine: &mlas_core::Engine, scope: &Scope) -> mlas_core::Result<u64> {
    let mut anchor = 0;
    engine.store().read(&mut |tx| {
        anchor = tx.audit_anchor(scope.tenant())?.map_or(0, |a| a.seq);
        Ok(())
    })?;
    Ok(anchor + 1)
}

/// The SQLite options `Engine.open` takes, checked.
fn sqlite_options(
    py: Python<'_>,
    path: std::path::PathBuf,
    synchronous: &str,
    busy_timeout: Option<&Bound<'_, PyAny>>,
    max_write_attempts: Option<i64>,
    max_idle_readers: Option<i64>,
) -> PyResult<mlas_sqlite::SqliteOptions> {
    let synchronous = match synchronous {
        "NORMAL" => mlas_sqlite::Synchronous::Normal,
        "FULL" => mlas_sqlite::Synchronous::Full,
        other => {
            return Err(validation(
                py,
                "synchronous",
                format!("{other:?} is not NORMAL or FULL"),
            ));
        }
    };
    let mut options = mlas_sqlite::SqliteOptions::file(path).synchronous(synchronous);
    if let Some(timeout) = busy_timeout.filter(|t| !t.is_none()) {
        options = options.busy_timeout(duration(py, timeout, "busy_timeout")?);
    }
    if let Some(attempts) = max_write_attempts {
        let attempts = u32::try_from(attempts)
            .ok()
            .filter(|a| *a > 0)
            .ok_or_else(|| {
                validation(
                    py,
                    "max_write_attempts",
                    format!("{attempts} is not a positive count"),
                )
            })?;
        options = options.max_write_attempts(attempts);
    }
    if let Some(readers) = max_idle_readers {
        let readers = usize::try_from(readers).map_err(|_| {
            validation(
                py,
                "max_idle_readers",
                format!("{readers} is not a count (0 or more)"),
            )
        })?;
        options = options.max_idle_readers(readers);
    }
    Ok(options)
}

/// A non-negative duration: a `datetime.timedelta`, or seconds as an `int`
/// or `float` (as `sqlite3.connect(timeout=...)` takes it).
fn duration(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    field: &str,
) -> PyResult<std::time::Duration> {
    use pyo3::types::{PyBool, PyDelta, PyFloat, PyInt};

    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{field} must be seconds or a datetime.timedelta, not bool"
        )));
    }
    let seconds: f64 = if value.is_instance_of::<PyDelta>() {
        value.call_method0("total_seconds")?.extract()?
    } else if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        value.extract()?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{field} must be seconds or a datetime.timedelta, not {}",
            value.get_type().name()?
        )));
    };
    std::time::Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| d.as_secs() <= 24 * 60 * 60)
        .ok_or_else(|| {
            validation(
                py,
                field,
                format!("{seconds} s is not between 0 and one day"),
            )
        })
}

fn limit_of(py: Python<'_>, limit: i64) -> PyResult<usize> {
    usize::try_from(limit)
        .ok()
        .filter(|l| *l > 0)
        .ok_or_else(|| validation(py, "limit", format!("{limit} is not a positive count")))
}
