//! The engine: every operation of MLAS, each one storage transaction.
//!
//! An [`Engine`] owns a [`Store`] and a [`Clock`]. Every call takes a [`Scope`]
//! (the tenant and the actor for the audit trail); what one call changes, and
//! the audit records describing it, commit together or not at all.

mod affiliates;
mod audit;
mod health;
mod lifecycle;
mod metrics;
mod payouts;
mod rules;
mod sales;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::audit::{AuditEvent, AuditHead, AuditRecord};
use crate::clock::{Clock, SystemClock, micros};
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::memory::MemoryStore;
use crate::money::Currency;
use crate::store::{Store, Tx};

pub use audit::{
    ARCHIVED_KIND, ArchiveOutcome, AuditPage, AuditRange, DEFAULT_AUDIT_PAGE, ExportSummary,
    MAX_AUDIT_PAGE,
};
pub use health::{Health, HealthStatus};
pub use lifecycle::{RecalculationOutcome, Resolution};
pub use sales::SaleOutcome;

/// Who is acting, for which tenant. Every engine call takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    tenant: TenantId,
    actor: String,
}

impl Scope {
    /// A scope for `tenant`, acting as `actor` (a user, a job name, ...).
    pub fn new(tenant: &str, actor: &str) -> Result<Self> {
        crate::affiliate::check_text(actor, "actor", 200)?;
        Ok(Scope {
            tenant: TenantId::new(tenant)?,
            actor: actor.to_owned(),
        })
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The actor.
    pub fn actor(&self) -> &str {
        &self.actor
    }
}

/// Settings of an engine.
#[derive(Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The smallest payout per currency; a payout below it is left out of a
    /// batch and its commissions stay APPROVED. Currencies not listed use one
    /// minor unit, so only positive balances are paid.
    pub min_payout: BTreeMap<Currency, Decimal>,
    /// How many times a payout may be handed to the provider in all.
    pub max_payout_attempts: u32,
    /// The HMAC key of the keyed audit mode; `None` hashes with plain SHA-256.
    pub audit_key: Option<Vec<u8>>,
    /// How long a worker's claim on a batch lasts without renewal. It is
    /// renewed before every wave of payouts (see `payout_wave`), and a wave
    /// stops sending once half of it has passed, so it must exceed twice the
    /// slowest provider call; after a crash, the batch can be processed again
    /// once it lapses.
    pub batch_lease: chrono::TimeDelta,
    /// How many payouts batch processing marks SENDING in one transaction
    /// before sending them (at least 1; 100 by default). A crash leaves at
    /// most this many payouts to reconcile with the provider; larger waves
    /// commit less often. 1 sends strictly one payout at a time.
    pub payout_wave: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            min_payout: BTreeMap::new(),
            max_payout_attempts: 3,
            audit_key: None,
            batch_lease: chrono::TimeDelta::minutes(5),
            payout_wave: 100,
        }
    }
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("min_payout", &self.min_payout)
            .field("max_payout_attempts", &self.max_payout_attempts)
            .field("audit_key", &self.audit_key.as_ref().map(|_| "<secret>"))
            .field("batch_lease", &self.batch_lease)
            .field("payout_wave", &self.payout_wave)
            .finish()
    }
}

/// The MLAS engine. Cheap to share: clone the `Arc`s, or wrap it in one.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    counters: Arc<crate::metrics::CalculationCounters>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store.describe())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `store`, with the system clock and default settings.
    pub fn new(store: impl Store + 'static) -> Self {
        Engine::from_arc(Arc::new(store))
    }

    /// An engine over a shared store.
    pub fn from_arc(store: Arc<dyn Store>) -> Self {
        Engine {
            store,
            clock: Arc::new(SystemClock),
            config: EngineConfig::default(),
            counters: Arc::default(),
        }
    }

    /// An engine over a fresh in-memory store.
    pub fn in_memory() -> Self {
        Engine::new(MemoryStore::new())
    }

    /// Replaces the clock (tests and examples use a [`crate::FixedClock`]).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the settings.
    pub fn with_config(mut self, config: EngineConfig) -> Result<Self> {
        if config.max_payout_attempts == 0 {
            return Err(Error::validation(
                "max_payout_attempts",
                "must be at least 1",
            ));
        }
        for (currency, min) in &config.min_payout {
            if min.is_sign_negative() {
                return Err(Error::validation(
                    "min_payout",
                    format!("{min} {currency} must not be negative"),
                ));
            }
            crate::money::Money::new(*min, *currency, "min_payout")?;
        }
        if config.batch_lease <= chrono::TimeDelta::zero() {
            return Err(Error::validation("batch_lease", "must be longer than zero"));
        }
        if config.payout_wave == 0 {
            return Err(Error::validation("payout_wave", "must be at least 1"));
        }
        if config.audit_key.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::validation("audit_key", "must not be empty"));
        }
        self.config = config;
        Ok(self)
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current time, to the microsecond.
    pub fn now(&self) -> DateTime<Utc> {
        micros(self.clock.now())
    }

    /// Runs `work` in one write transaction with an audit recorder.
    pub(crate) fn write<R>(
        &self,
        scope: &Scope,
        mut work: impl FnMut(&mut Ctx<'_>) -> Result<R>,
    ) -> Result<R> {
        let now = self.now();
        let key = self.config.audit_key.as_deref();
        let mut out = None;
        self.store.write(&mut |tx| {
            let mut ctx = Ctx {
                tx,
                scope,
                now,
                key,
                head: HeadCache::Unread,
            };
            out = Some(work(&mut ctx)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::storage("the transaction finished without a result"))
    }

    /// Runs `work` in a read transaction.
    pub(crate) fn read<R>(&self, mut work: impl FnMut(&mut dyn Tx) -> Result<R>) -> Result<R> {
        let mut out = None;
        self.store.read(&mut |tx| {
            out = Some(work(tx)?);
            Ok(())
        })?;
        out.ok_or_else(|| Error::storage("the transaction finished without a result"))
    }
}

/// One operation in progress: its transaction, scope, time and audit head.
pub(crate) struct Ctx<'a> {
    pub tx: &'a mut dyn Tx,
    pub scope: &'a Scope,
    pub now: DateTime<Utc>,
    key: Option<&'a [u8]>,
    /// The chain head, read once per transaction and then kept here.
    head: HeadCache,
}

impl Ctx<'_> {
    /// Appends an audit record for `event` to the tenant's chain.
    pub fn audit(&mut self, event: AuditEvent) -> Result<()> {
        let head = match std::mem::replace(&mut self.head, HeadCache::Unread) {
            HeadCache::Known(head) => head,
            HeadCache::Unread => self.tx.audit_head(&self.scope.tenant)?,
        };
        let record = AuditRecord::chained(
            &self.scope.tenant,
            head.as_ref(),
            self.now,
            &self.scope.actor,
            event,
            self.key,
        )?;
        self.tx.append_audit(&record)?;
        self.head = HeadCache::Known(Some(AuditHead {
            seq: record.seq,
            hash: record.hash,
        }));
        Ok(())
    }
}

/// The audit head as far as this transaction knows it.
enum HeadCache {
    /// Not read yet.
    Unread,
    /// Read (or written) in this transaction; `None` for an empty chain.
    Known(Option<AuditHead>),
}

/// A money amount as an audit payload value (a decimal string).
pub(crate) fn money_str(m: crate::money::Money) -> serde_json::Value {
    serde_json::Value::String(m.amount().to_string())
}
