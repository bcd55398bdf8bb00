//! # mlas-core
//!
//! The heart of MLAS, a multi-level affiliate system packaged as a library:
//! affiliates in sponsor trees, sales attributed to them, rule-based commission
//! splits across the upline, the commission lifecycle (approval, disputes,
//! refunds, clawbacks), payout batches sent through a provider, and a
//! tamper-evident audit chain.
//!
//! The core does no I/O of its own: storage is behind the [`Store`] trait, with
//! an in-memory backend here ([`MemoryStore`]) and SQLite in `mlas-sqlite`.
//! Money is always [`rust_decimal::Decimal`] with an ISO 4217 currency.
//!
//! The audit chain's exact format (what is hashed, how to verify an export in
//! another language, what it detects) is specified in AUDIT.md at the repository
//! root; see [`audit`] and [`Engine::verify_audit`].
//!
//! Logging goes through `tracing`; the library never installs a subscriber.

pub mod affiliate;
pub mod allocation;
pub mod audit;
pub mod calculation;
pub mod clock;
pub mod commission;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod engine;
pub mod error;
pub mod ids;
pub mod memory;
pub mod metrics;
pub mod money;
pub mod payout;
pub mod payout_method;
pub mod provider;
pub mod rule;
pub mod sale;
pub mod store;

pub use affiliate::{Affiliate, AffiliateStatus, AffiliateUpdate, NewAffiliate};
pub use audit::{
    AuditEvent, AuditHead, AuditQuery, AuditRecord, AuditVerification, BreakReason, ChainBreak,
    ChainVerifier, Checkpoint,
};
pub use calculation::Explanation;
pub use clock::{Clock, FixedClock, SystemClock};
pub use commission::{Adjustment, AdjustmentKind, Commission, CommissionStatus};
pub use engine::{
    ArchiveOutcome, AuditPage, AuditRange, Engine, EngineConfig, ExportSummary, Health,
    HealthStatus, RecalculationOutcome, Resolution, SaleOutcome, Scope,
};
pub use error::{Error, ErrorKind, Result};
pub use ids::{
    AdjustmentId, AffiliateId, BatchId, CommissionId, PayoutId, RefundId, RuleId, SaleId, TenantId,
};
pub use memory::MemoryStore;
pub use money::{Currency, Money};
pub use payout::{
    BatchLease, BatchStats, BatchStatus, CommissionSelection, HeldBalance, HoldReason, Payout,
    PayoutBatch, PayoutStatus, ScheduleOutcome, ScheduleRequest, StatusTotal,
};
pub use payout_method::{PayoutDetails, PayoutMethod};
pub use provider::{
    FileMode, FileProvider, PayoutInstruction, PayoutProvider, ProviderOutcome, ProviderStatus,
    SimulatedProvider, SimulatedStep,
};
pub use rule::{Condition, LevelRate, LevelRule, Rule, RuleSpec};
pub use rust_decimal::Decimal;
pub use sale::{NewRefund, NewSale, Refund, Reversal, Sale};
pub use store::{
    AdjustmentFilter, CommissionFilter, CommissionTally, PayableCommission, PayoutFilter,
    PayoutHead, PayoutTally, Store, Tx,
};
