"""MLAS: a multi-level affiliate system as a library.

Affiliates in sponsor trees, sales attributed to them, rule-based commission
splits up the chain, the commission lifecycle (approval, disputes, refunds,
clawbacks) and a tamper-evident audit chain. The engine is written in Rust;
this package is its Python face.

Conventions:

* Every `Engine` method takes ``tenant=`` (keyword-only) and, for writes, an
  optional ``actor=`` recorded in the audit trail (the engine's
  ``default_actor`` otherwise).
* Money and rates are ``decimal.Decimal`` (``int`` is accepted as exact); a
  ``float`` or ``bool`` raises ``TypeError``.
* Datetimes must be timezone-aware: a naive one raises ``ValidationError``;
  any zone is converted to UTC, and UTC comes back.
* Statuses are ``str`` enums; value objects are frozen and compare by value.
* The engine runs in memory (``Engine.in_memory``) or on a SQLite file
  (``Engine.open``); payouts go through a provider: ``SimulatedProvider``,
  ``FileProvider`` (a CSV file for manual upload) or any object with
  ``send(instruction)`` and ``status(key)`` methods.
* Nothing is logged until the host calls ``enable_logging(level)``, which
  forwards the engine's events to the ``logging`` loggers under ``"mlas"``.
* Errors derive from ``MlasError``: ``ValidationError`` (also ``ValueError``),
  ``NotFoundError`` (also ``LookupError``), ``ConflictError``,
  ``IllegalTransitionError``, ``StorageError``, ``ProviderError``,
  ``IntegrityError``. A call that raises has changed nothing.
"""

from __future__ import annotations

from mlas._enums import (
    AdjustmentKind,
    AffiliateStatus,
    BatchStatus,
    CommissionStatus,
    FileMode,
    HoldReason,
    LevelRateKind,
    PayoutMethod,
    PayoutStatus,
    Resolution,
    SkipReason,
)
from mlas._mlas import (
    Adjustment,
    Affiliate,
    AuditHead,
    AuditRecord,
    AuditVerification,
    BatchStats,
    Checkpoint,
    Commission,
    Condition,
    ConflictError,
    Engine,
    Explanation,
    ExplanationLine,
    FileProvider,
    FixedClock,
    Health,
    HeldBalance,
    IllegalTransitionError,
    IntegrityError,
    LevelRule,
    Metrics,
    MlasError,
    NewSale,
    NotFoundError,
    Payout,
    PayoutBatch,
    PayoutDetails,
    PayoutInstruction,
    ProviderError,
    ProviderOutcome,
    ProviderStatus,
    RecalculationOutcome,
    Refund,
    RefundOutcome,
    Reversal,
    Rule,
    RuleChoice,
    Sale,
    SaleOutcome,
    ScheduleOutcome,
    SimulatedProvider,
    Skipped,
    StorageError,
    ValidationError,
    __version__,
    enable_logging,
)

__all__ = [
    "Adjustment",
    "AdjustmentKind",
    "Affiliate",
    "AffiliateStatus",
    "AuditHead",
    "AuditRecord",
    "AuditVerification",
    "BatchStats",
    "BatchStatus",
    "Checkpoint",
    "Commission",
    "CommissionStatus",
    "Condition",
    "ConflictError",
    "Engine",
    "Explanation",
    "ExplanationLine",
    "FileMode",
    "FileProvider",
    "FixedClock",
    "Health",
    "HeldBalance",
    "HoldReason",
    "IllegalTransitionError",
    "IntegrityError",
    "LevelRateKind",
    "LevelRule",
    "Metrics",
    "MlasError",
    "NewSale",
    "NotFoundError",
    "Payout",
    "PayoutBatch",
    "PayoutDetails",
    "PayoutInstruction",
    "PayoutMethod",
    "PayoutStatus",
    "ProviderError",
    "ProviderOutcome",
    "ProviderStatus",
    "RecalculationOutcome",
    "Refund",
    "RefundOutcome",
    "Resolution",
    "Reversal",
    "Rule",
    "RuleChoice",
    "Sale",
    "SaleOutcome",
    "ScheduleOutcome",
    "SimulatedProvider",
    "SkipReason",
    "Skipped",
    "StorageError",
    "ValidationError",
    "__version__",
    "enable_logging",
]
