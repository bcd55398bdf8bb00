"""Type stubs for the native module `mlas._mlas` (checked by mypy.stubtest)."""

import datetime
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any, Protocol, final

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
    SkipReason,
)

__version__: str

__all__ = [
    "ERROR_CLASSES",
    "Adjustment",
    "Affiliate",
    "AuditHead",
    "AuditRecord",
    "AuditVerification",
    "BatchStats",
    "Checkpoint",
    "Commission",
    "Condition",
    "ConflictError",
    "Engine",
    "Explanation",
    "ExplanationLine",
    "FileProvider",
    "FixedClock",
    "Health",
    "HeldBalance",
    "IllegalTransitionError",
    "IntegrityError",
    "LevelRule",
    "Metrics",
    "MlasError",
    "NewSale",
    "NotFoundError",
    "Payout",
    "PayoutBatch",
    "PayoutDetails",
    "PayoutInstruction",
    "ProviderError",
    "ProviderOutcome",
    "ProviderStatus",
    "RecalculationOutcome",
    "Refund",
    "RefundOutcome",
    "Reversal",
    "Rule",
    "RuleChoice",
    "Sale",
    "SaleOutcome",
    "ScheduleOutcome",
    "SimulatedProvider",
    "Skipped",
    "StorageError",
    "ValidationError",
    "__version__",
    "enable_logging",
]

def enable_logging(level: int | str = "INFO") -> bool:
    """Forwards the engine's ``tracing`` events at ``level`` and above to ``logging``.

    Loggers are named after the Rust module: ``mlas.core.engine.payouts``,
    ``mlas.sqlite.store``, ... (all under ``"mlas"``). ``level`` is ``"TRACE"``,
    ``"DEBUG"``, ``"INFO"``, ``"WARNING"``, ``"ERROR"``, ``"OFF"`` or a
    ``logging`` level number (TRACE is 5). The first call in a process installs
    the bridge and returns True; later calls only change the level and return
    False. Handlers run on the engine's calling thread and must not call back
    into the engine.
    """

#: Every core error kind (``"validation"``, ``"not_found"``, ...) and its class.
ERROR_CLASSES: dict[str, type[MlasError]]

_Money = Decimal | int
"""_Money and rates: a Decimal, or an exact int. Never a float."""

class MlasError(Exception):
    """Base class of every mlas error."""

    kind: str
    retryable: bool

class ValidationError(MlasError, ValueError):
    """The input was malformed or broke a rule; nothing was changed."""

    field: str

class NotFoundError(MlasError, LookupError):
    """The object does not exist in this tenant."""

class ConflictError(MlasError):
    """The request disagrees with what is stored under the same key."""

class IllegalTransitionError(MlasError):
    """The current status does not allow the requested transition."""

class StorageError(MlasError):
    """The storage backend failed."""

class ProviderError(MlasError):
    """The payout provider failed."""

class IntegrityError(MlasError):
    """Stored data failed an integrity check."""

@final
class FixedClock:
    """A clock that stands still until moved."""

    def __new__(cls, now: datetime.datetime) -> FixedClock: ...
    def now(self) -> datetime.datetime: ...
    def set(self, now: datetime.datetime) -> None: ...
    def advance(self, by: datetime.timedelta) -> None: ...

@final
class PayoutDetails:
    """Validated payout details; secrets masked in reprs."""

    @staticmethod
    def us_bank(
        *, account_number: str, routing_number: str, bank_name: str, account_holder_name: str
    ) -> PayoutDetails: ...
    @staticmethod
    def iban(
        *, iban: str, bank_name: str, account_holder_name: str, bic: str | None = None
    ) -> PayoutDetails: ...
    @staticmethod
    def paypal(*, email: str) -> PayoutDetails: ...
    @property
    def method(self) -> PayoutMethod: ...
    @property
    def kind(self) -> str: ...
    @property
    def masked_account(self) -> str: ...
    def to_dict(self, *, reveal: bool = False) -> dict[str, str | None]: ...

@final
class Affiliate:
    """An affiliate."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def status(self) -> AffiliateStatus: ...
    @property
    def tier(self) -> str: ...
    @property
    def commission_rate(self) -> Decimal: ...
    @property
    def payout_method(self) -> PayoutMethod | None: ...
    @property
    def payout_details(self) -> PayoutDetails | None: ...
    @property
    def sponsor_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def updated_at(self) -> datetime.datetime: ...

@final
class LevelRule:
    """One level of a rule."""

    @property
    def kind(self) -> LevelRateKind: ...
    @property
    def percent(self) -> Decimal | None: ...
    @property
    def amount(self) -> Decimal | None: ...
    @property
    def cap(self) -> Decimal | None: ...

@final
class Condition:
    """One rule condition: ``field op values``."""

    @property
    def field(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def values(self) -> tuple[str, ...]: ...

@final
class Rule:
    """One version of a commission rule."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def valid_from(self) -> datetime.datetime | None: ...
    @property
    def valid_until(self) -> datetime.datetime | None: ...
    @property
    def conditions(self) -> tuple[Condition, ...]: ...
    @property
    def levels(self) -> tuple[LevelRule, ...]: ...
    @property
    def compression(self) -> bool: ...
    @property
    def total_cap_percent(self) -> Decimal | None: ...
    @property
    def currency(self) -> str | None: ...
    @property
    def holding_days(self) -> int: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def version_created_at(self) -> datetime.datetime: ...

@final
class Sale:
    """A recorded sale."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def refunded(self) -> Decimal: ...
    @property
    def occurred_at(self) -> datetime.datetime: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def affiliate_chain(self) -> tuple[str, ...]: ...
    @property
    def attribution_type(self) -> str: ...
    @property
    def buyer_id(self) -> str | None: ...
    @property
    def attributes(self) -> dict[str, str]: ...
    @property
    def recorded_at(self) -> datetime.datetime: ...

@final
class Commission:
    """One commission line."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def sale_id(self) -> str: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def chain_level(self) -> int: ...
    @property
    def paid_level(self) -> int: ...
    @property
    def base_amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def rate_kind(self) -> LevelRateKind: ...
    @property
    def percent(self) -> Decimal | None: ...
    @property
    def fixed_amount(self) -> Decimal | None: ...
    @property
    def rule_id(self) -> str | None: ...
    @property
    def rule_version(self) -> int | None: ...
    @property
    def original_amount(self) -> Decimal: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def reversed_amount(self) -> Decimal: ...
    @property
    def adjusted(self) -> Decimal: ...
    @property
    def status(self) -> CommissionStatus: ...
    @property
    def status_reason(self) -> str | None: ...
    @property
    def available_at(self) -> datetime.datetime: ...
    @property
    def payout_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def updated_at(self) -> datetime.datetime: ...

@final
class Adjustment:
    """A signed amount owed to (positive) or by (negative) an affiliate."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def kind(self) -> AdjustmentKind: ...
    @property
    def reason(self) -> str: ...
    @property
    def commission_id(self) -> str | None: ...
    @property
    def sale_id(self) -> str | None: ...
    @property
    def refund_id(self) -> str | None: ...
    @property
    def payout_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime.datetime: ...

@final
class Reversal:
    """What one refund took back from one commission."""

    @property
    def commission_id(self) -> str: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def adjustment_id(self) -> str | None: ...

@final
class Refund:
    """A recorded refund."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def sale_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def reversals(self) -> tuple[Reversal, ...]: ...
    @property
    def created_at(self) -> datetime.datetime: ...

@final
class SaleOutcome:
    """What recording a sale produced."""

    @property
    def sale(self) -> Sale: ...
    @property
    def commissions(self) -> tuple[Commission, ...]: ...
    @property
    def replayed(self) -> bool: ...

@final
class RefundOutcome:
    """What a refund call produced."""

    @property
    def refund(self) -> Refund: ...
    @property
    def replayed(self) -> bool: ...

@final
class RecalculationOutcome:
    """What a recalculation changed."""

    @property
    def commissions(self) -> tuple[Commission, ...]: ...
    @property
    def adjustments(self) -> tuple[Adjustment, ...]: ...
    @property
    def changed(self) -> bool: ...

@final
class RuleChoice:
    """Which rule was chosen and why."""

    @property
    def rule_id(self) -> str | None: ...
    @property
    def rule_version(self) -> int | None: ...
    @property
    def name(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def matching_rules(self) -> int: ...

@final
class Skipped:
    """A chain member who earned nothing."""

    @property
    def chain_level(self) -> int: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def status(self) -> AffiliateStatus: ...
    @property
    def reason(self) -> SkipReason: ...

@final
class ExplanationLine:
    """One calculation line with every step that shaped it."""

    @property
    def chain_level(self) -> int: ...
    @property
    def paid_level(self) -> int: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def rate_kind(self) -> LevelRateKind: ...
    @property
    def percent(self) -> Decimal | None: ...
    @property
    def fixed_amount(self) -> Decimal | None: ...
    @property
    def exact(self) -> Decimal: ...
    @property
    def level_cap_cut(self) -> Decimal: ...
    @property
    def total_cap_cut(self) -> Decimal: ...
    @property
    def capped(self) -> Decimal: ...
    @property
    def extra_unit(self) -> bool: ...
    @property
    def amount(self) -> Decimal: ...

@final
class Explanation:
    """Why a sale's commissions are what they are."""

    @property
    def sale_amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def rule(self) -> RuleChoice: ...
    @property
    def compression(self) -> bool: ...
    @property
    def skipped(self) -> tuple[Skipped, ...]: ...
    @property
    def total_cap(self) -> Decimal | None: ...
    @property
    def exact_total(self) -> Decimal: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def lines(self) -> tuple[ExplanationLine, ...]: ...
    @property
    def holding_days(self) -> int: ...
    @property
    def text(self) -> str: ...
    def to_json(self) -> str: ...

@final
class AuditHead:
    """The head of a tenant's audit chain."""

    @property
    def seq(self) -> int: ...
    @property
    def hash(self) -> str: ...

#: A payout-details argument: a ``PayoutDetails`` or a runbook-style mapping.
_PayoutDetailsLike = PayoutDetails | Mapping[str, str | None]
#: A rule level: a percentage, a ``LevelRule``, or a mapping.
_LevelLike = Decimal | int | LevelRule | Mapping[str, Any]
#: A rule condition: a ``Condition``, a ``(field, op, value)`` tuple, or a mapping.
_ConditionLike = Condition | tuple[str, str, Any] | Mapping[str, Any]

@final
class PayoutBatch:
    """A payout batch."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def scheduled_for(self) -> datetime.datetime: ...
    @property
    def status(self) -> BatchStatus: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def started_at(self) -> datetime.datetime | None: ...
    @property
    def finished_at(self) -> datetime.datetime | None: ...

@final
class Payout:
    """What one affiliate is paid in one currency in one batch."""

    @property
    def tenant(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def batch_id(self) -> str: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def status(self) -> PayoutStatus: ...
    @property
    def attempts(self) -> int: ...
    @property
    def commission_ids(self) -> tuple[str, ...]: ...
    @property
    def adjustment_ids(self) -> tuple[str, ...]: ...
    @property
    def provider_reference(self) -> str | None: ...
    @property
    def failure_reason(self) -> str | None: ...
    @property
    def retryable(self) -> bool: ...
    @property
    def created_at(self) -> datetime.datetime: ...
    @property
    def updated_at(self) -> datetime.datetime: ...
    @property
    def paid_at(self) -> datetime.datetime | None: ...

@final
class HeldBalance:
    """A balance a scheduling left out."""

    @property
    def affiliate_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def reason(self) -> HoldReason: ...

@final
class ScheduleOutcome:
    """What a scheduling made."""

    @property
    def batch(self) -> PayoutBatch: ...
    @property
    def payouts(self) -> list[Payout]: ...
    @property
    def held(self) -> list[HeldBalance]: ...
    @property
    def replayed(self) -> bool: ...

@final
class BatchStats:
    """A batch's statistics."""

    @property
    def batch(self) -> PayoutBatch: ...
    @property
    def payouts(self) -> int: ...
    @property
    def totals(self) -> list[tuple[PayoutStatus, str, int, Decimal]]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def unresolved(self) -> int: ...
    @property
    def duration(self) -> datetime.timedelta | None: ...
    def count(self, status: PayoutStatus | str) -> int: ...
    def amount(self, status: PayoutStatus | str, currency: str) -> Decimal: ...

@final
class PayoutInstruction:
    """What a provider is asked to pay."""

    @property
    def idempotency_key(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def batch_id(self) -> str: ...
    @property
    def affiliate_id(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def details(self) -> PayoutDetails: ...
    @property
    def reference(self) -> str: ...
    @property
    def attempt(self) -> int: ...

@final
class ProviderOutcome:
    """What a provider's ``send`` returns."""

    @staticmethod
    def paid(reference: str) -> ProviderOutcome: ...
    @staticmethod
    def failed(reason: str, *, retryable: bool = False) -> ProviderOutcome: ...
    @staticmethod
    def unknown(reason: str) -> ProviderOutcome: ...

@final
class ProviderStatus:
    """What a provider's ``status`` returns."""

    @staticmethod
    def paid(reference: str) -> ProviderStatus: ...
    @staticmethod
    def failed(reason: str, *, retryable: bool = False) -> ProviderStatus: ...
    @staticmethod
    def pending() -> ProviderStatus: ...
    @staticmethod
    def not_found() -> ProviderStatus: ...

class _PayoutProvider(Protocol):
    def send(self, instruction: PayoutInstruction, /) -> ProviderOutcome: ...
    def status(self, key: str, /) -> ProviderStatus: ...

@final
class SimulatedProvider:
    """The deterministic provider for tests and examples."""

    def __new__(cls) -> SimulatedProvider: ...
    def script(self, payout_id: str, steps: list[str]) -> None: ...
    def fail_payout(
        self,
        payout_id: str,
        *,
        times: int = 1,
        reason: str = "simulated failure",
        retryable: bool = True,
    ) -> None: ...
    def fail_affiliate(self, affiliate_id: str, *, reason: str = "simulated failure") -> None: ...
    def clear_affiliate(self, affiliate_id: str) -> None: ...
    def calls(self, payout_id: str) -> int: ...
    def payments(self, payout_id: str) -> int: ...
    def paid_all(self) -> dict[str, Decimal]: ...
    def total_paid(self, currency_code: str) -> Decimal: ...

@final
class FileProvider:
    """Writes each payout as a CSV row for manual upload (account masked)."""

    def __new__(cls, path: str | PathLike[str], *, mode: FileMode | str) -> FileProvider: ...
    @property
    def path(self) -> Path: ...
    @property
    def mode(self) -> FileMode: ...
    def confirm(self, payout_id: str, reference: str) -> None: ...

@final
class Metrics:
    """A tenant's metrics snapshot."""

    @property
    def tenant(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def calculations_succeeded(self) -> int: ...
    @property
    def calculations_failed(self) -> int: ...
    @property
    def calculation_success_rate(self) -> Decimal | None: ...
    @property
    def commissions_by_status(self) -> dict[str, int]: ...
    @property
    def average_commission(self) -> dict[str, Decimal]: ...
    @property
    def approval_rate(self) -> Decimal | None: ...
    @property
    def dispute_rate(self) -> Decimal | None: ...
    @property
    def batches_by_status(self) -> dict[str, int]: ...
    @property
    def batch_success_rate(self) -> Decimal | None: ...
    @property
    def average_batch_processing(self) -> datetime.timedelta | None: ...
    @property
    def failed_payouts(self) -> int: ...
    @property
    def payout_retry_rate(self) -> Decimal | None: ...
    @property
    def active_affiliates(self) -> int: ...
    @property
    def affiliates_by_status(self) -> dict[str, int]: ...
    @property
    def tier_distribution(self) -> dict[str, int]: ...
    @property
    def commission_rate_distribution(self) -> dict[str, int]: ...
    @property
    def payout_method_distribution(self) -> dict[str, int]: ...
    def to_prometheus(self) -> str: ...

_Provider = SimulatedProvider | FileProvider | _PayoutProvider

class _BinaryWriter(Protocol):
    def write(self, data: bytes, /) -> object: ...

_Target = str | PathLike[str] | _BinaryWriter
"""Where an export goes: a path for a new file, or a binary file object."""

@final
class AuditRecord:
    """One audit record of a tenant's chain."""

    @property
    def tenant(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def resource_type(self) -> str: ...
    @property
    def resource_id(self) -> str: ...
    @property
    def affiliate_id(self) -> str | None: ...
    @property
    def actor(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...

@final
class AuditVerification:
    """How far a chain is intact, and the first broken record if any."""

    @property
    def intact(self) -> bool: ...
    @property
    def records(self) -> int: ...
    @property
    def head(self) -> AuditHead | None: ...
    @property
    def start(self) -> AuditHead | None: ...
    @property
    def broken_seq(self) -> int | None: ...
    @property
    def broken_reason(self) -> str | None: ...
    def raise_if_broken(self) -> None: ...

@final
class Checkpoint:
    """A chain head to keep outside the database."""

    @staticmethod
    def from_json(text: str) -> Checkpoint: ...
    def to_json(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def at(self) -> datetime.datetime: ...
    @property
    def tag(self) -> str | None: ...

@final
class Health:
    """A health report."""

    @property
    def status(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def backend(self) -> str: ...
    @property
    def schema_version(self) -> int | None: ...
    @property
    def audit_head(self) -> AuditHead | None: ...
    @property
    def audit_records(self) -> int: ...
    @property
    def audit_intact(self) -> bool: ...
    @property
    def problem(self) -> str | None: ...
    @property
    def checked_at(self) -> datetime.datetime: ...

@final
class NewSale:
    """A sale to record, checked when made."""

    def __new__(
        cls,
        *,
        sale_id: str,
        amount: _Money,
        currency: str,
        affiliate_id: str | None = None,
        affiliate_chain: Sequence[str] | None = None,
        occurred_at: datetime.datetime | None = None,
        attribution_type: str | None = None,
        buyer_id: str | None = None,
        attributes: Mapping[str, str | Decimal | int] | None = None,
    ) -> NewSale: ...
    @property
    def sale_id(self) -> str: ...

@final
class Engine:
    """The MLAS engine; thread-safe, and every call releases the GIL."""

    @staticmethod
    def in_memory(
        *,
        clock: FixedClock | None = None,
        actor: str = "mlas",
        min_payout: Mapping[str, _Money] | None = None,
        max_payout_attempts: int = 3,
        audit_key: bytes | None = None,
    ) -> Engine: ...
    @staticmethod
    def open(
        path: str | PathLike[str],
        *,
        clock: FixedClock | None = None,
        actor: str = "mlas",
        min_payout: Mapping[str, _Money] | None = None,
        max_payout_attempts: int = 3,
        audit_key: bytes | None = None,
        synchronous: str = "NORMAL",
        busy_timeout: float | datetime.timedelta | None = None,
        max_write_attempts: int | None = None,
        max_idle_readers: int | None = None,
    ) -> Engine: ...
    def backup(self, path: str | PathLike[str]) -> None: ...
    def now(self) -> datetime.datetime: ...
    @property
    def default_actor(self) -> str: ...
    def create_affiliate(
        self,
        *,
        tenant: str,
        name: str,
        email: str,
        commission_rate: _Money,
        payout_method: PayoutMethod | str | None = None,
        payout_details: _PayoutDetailsLike | None = None,
        status: AffiliateStatus | str | None = None,
        tier: str | None = None,
        sponsor_id: str | None = None,
        affiliate_id: str | None = None,
        actor: str | None = None,
    ) -> Affiliate: ...
    def affiliate(self, affiliate_id: str, *, tenant: str) -> Affiliate: ...
    def affiliates(self, *, tenant: str) -> list[Affiliate]: ...
    def update_affiliate(
        self,
        affiliate_id: str,
        *,
        tenant: str,
        name: str | None = None,
        email: str | None = None,
        tier: str | None = None,
        commission_rate: _Money | None = None,
        payout_method: PayoutMethod | str | None = None,
        payout_details: _PayoutDetailsLike | None = None,
        clear_payout: bool = False,
        actor: str | None = None,
    ) -> Affiliate: ...
    def set_affiliate_status(
        self,
        affiliate_id: str,
        status: AffiliateStatus | str,
        *,
        tenant: str,
        reason: str,
        actor: str | None = None,
    ) -> Affiliate: ...
    def set_sponsor(
        self, affiliate_id: str, sponsor_id: str | None, *, tenant: str, actor: str | None = None
    ) -> Affiliate: ...
    def upline(self, affiliate_id: str, *, tenant: str) -> list[str]: ...
    def create_rule(
        self,
        *,
        tenant: str,
        name: str,
        levels: Iterable[_LevelLike],
        priority: int = 0,
        active: bool = True,
        valid_from: datetime.datetime | None = None,
        valid_until: datetime.datetime | None = None,
        conditions: Iterable[_ConditionLike] | None = None,
        compression: bool = False,
        total_cap_percent: _Money | None = None,
        currency: str | None = None,
        holding_days: int = 0,
        rule_id: str | None = None,
        actor: str | None = None,
    ) -> Rule: ...
    def update_rule(
        self,
        rule_id: str,
        *,
        tenant: str,
        name: str,
        levels: Iterable[_LevelLike],
        priority: int = 0,
        active: bool = True,
        valid_from: datetime.datetime | None = None,
        valid_until: datetime.datetime | None = None,
        conditions: Iterable[_ConditionLike] | None = None,
        compression: bool = False,
        total_cap_percent: _Money | None = None,
        currency: str | None = None,
        holding_days: int = 0,
        actor: str | None = None,
    ) -> Rule: ...
    def rule(self, rule_id: str, *, tenant: str, version: int | None = None) -> Rule: ...
    def rules(self, *, tenant: str) -> list[Rule]: ...
    def rule_versions(self, rule_id: str, *, tenant: str) -> list[Rule]: ...
    def record_sale(
        self,
        *,
        tenant: str,
        sale_id: str,
        amount: _Money,
        currency: str,
        affiliate_id: str | None = None,
        affiliate_chain: Sequence[str] | None = None,
        occurred_at: datetime.datetime | None = None,
        attribution_type: str | None = None,
        buyer_id: str | None = None,
        attributes: Mapping[str, str | Decimal | int] | None = None,
        actor: str | None = None,
    ) -> SaleOutcome: ...
    def record_sales(
        self,
        sales: Iterable[NewSale | Mapping[str, Any]],
        *,
        tenant: str,
        actor: str | None = None,
    ) -> list[SaleOutcome]: ...
    def sale(self, sale_id: str, *, tenant: str) -> Sale: ...
    def explain(self, sale_id: str, *, tenant: str) -> Explanation: ...
    def explain_commission(self, commission_id: str, *, tenant: str) -> Explanation: ...
    def commission(self, commission_id: str, *, tenant: str) -> Commission: ...
    def commissions(
        self,
        *,
        tenant: str,
        status: CommissionStatus | str | None = None,
        affiliate_id: str | None = None,
        sale_id: str | None = None,
        limit: int | None = None,
    ) -> list[Commission]: ...
    def approve(
        self, commission_id: str, *, tenant: str, actor: str | None = None
    ) -> Commission: ...
    def approve_available(self, *, tenant: str, actor: str | None = None) -> list[Commission]: ...
    def reject(
        self, commission_id: str, *, tenant: str, reason: str, actor: str | None = None
    ) -> Commission: ...
    def dispute(
        self, commission_id: str, *, tenant: str, reason: str, actor: str | None = None
    ) -> Commission: ...
    def resolve(
        self,
        commission_id: str,
        resolution: str,
        *,
        tenant: str,
        reason: str,
        actor: str | None = None,
    ) -> Commission: ...
    def refund(
        self,
        *,
        tenant: str,
        refund_id: str,
        sale_id: str,
        amount: _Money,
        reason: str,
        currency: str | None = None,
        actor: str | None = None,
    ) -> RefundOutcome: ...
    def refund_record(self, refund_id: str, *, tenant: str) -> Refund: ...
    def recalculate(
        self, sale_id: str, *, tenant: str, actor: str | None = None
    ) -> RecalculationOutcome: ...
    def adjustments(
        self,
        *,
        tenant: str,
        affiliate_id: str | None = None,
        open_only: bool = False,
        payout_id: str | None = None,
    ) -> list[Adjustment]: ...
    def schedule_payouts(
        self,
        *,
        tenant: str,
        batch_id: str,
        scheduled_for: datetime.datetime,
        commission_ids: Iterable[str] | None = None,
        actor: str | None = None,
    ) -> ScheduleOutcome: ...
    def process_batch(
        self,
        batch_id: str,
        *,
        tenant: str,
        provider: _Provider,
        force: bool = False,
        actor: str | None = None,
    ) -> BatchStats: ...
    def retry_payout(
        self, payout_id: str, *, tenant: str, provider: _Provider, actor: str | None = None
    ) -> Payout: ...
    def cancel_payout(
        self, payout_id: str, *, tenant: str, reason: str, actor: str | None = None
    ) -> Payout: ...
    def batch(self, batch_id: str, *, tenant: str) -> PayoutBatch: ...
    def batch_stats(self, batch_id: str, *, tenant: str) -> BatchStats: ...
    def payout(self, payout_id: str, *, tenant: str) -> Payout: ...
    def payouts(
        self,
        *,
        tenant: str,
        batch_id: str | None = None,
        status: PayoutStatus | str | None = None,
        affiliate_id: str | None = None,
        limit: int | None = None,
    ) -> list[Payout]: ...
    def failed_payouts(self, *, tenant: str) -> list[Payout]: ...
    def balance(self, affiliate_id: str, *, tenant: str) -> dict[str, Decimal]: ...
    def metrics(self, *, tenant: str) -> Metrics: ...
    def audit_head(self, *, tenant: str) -> AuditHead | None: ...
    def verify_audit(self, *, tenant: str) -> AuditVerification: ...
    def verify_audit_range(
        self, from_seq: int | None = None, through_seq: int | None = None, *, tenant: str
    ) -> AuditVerification: ...
    def checkpoint(self, *, tenant: str) -> Checkpoint: ...
    def verify_against(self, checkpoint: Checkpoint, *, tenant: str) -> AuditVerification: ...
    def audit_records(
        self,
        *,
        tenant: str,
        resource_id: str | None = None,
        affiliate_id: str | None = None,
        kind: str | None = None,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> tuple[list[AuditRecord], int | None]: ...
    def export_audit(
        self,
        target: _Target,
        *,
        tenant: str,
        format: str = "jsonl",
        from_seq: int | None = None,
        through_seq: int | None = None,
    ) -> int: ...
    def archive_audit(
        self,
        target: _Target,
        *,
        tenant: str,
        before: datetime.datetime,
        actor: str | None = None,
    ) -> int: ...
    def verify_audit_with_archives(
        self, archives: Sequence[str | PathLike[str]], *, tenant: str
    ) -> AuditVerification: ...
    def health(self, *, tenant: str) -> Health: ...
