"""The string enums of mlas: statuses and kinds, compared equal to their values."""

from __future__ import annotations

import enum

__all__ = [
    "AdjustmentKind",
    "AffiliateStatus",
    "BatchStatus",
    "CommissionStatus",
    "FileMode",
    "HoldReason",
    "LevelRateKind",
    "PayoutMethod",
    "PayoutStatus",
    "Resolution",
    "SkipReason",
]


class _StrEnum(str, enum.Enum):
    """A `str` enum whose `str()` is its value (3.10 has no `enum.StrEnum`)."""

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class AffiliateStatus(_StrEnum):
    """Where an affiliate stands. Only ACTIVE affiliates earn and get paid."""

    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"


class CommissionStatus(_StrEnum):
    """Where a commission is in its lifecycle."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    SCHEDULED = "SCHEDULED"
    PAID = "PAID"
    DISPUTED = "DISPUTED"
    REJECTED = "REJECTED"
    REVERSED = "REVERSED"


class PayoutMethod(_StrEnum):
    """How an affiliate is paid."""

    BANK_TRANSFER = "BANK_TRANSFER"
    PAYPAL = "PAYPAL"


class AdjustmentKind(_StrEnum):
    """Why an adjustment exists."""

    CLAWBACK = "CLAWBACK"
    CORRECTION = "CORRECTION"


class Resolution(_StrEnum):
    """How a dispute ends."""

    APPROVE = "APPROVE"
    REJECT = "REJECT"


class LevelRateKind(_StrEnum):
    """What a rule level pays."""

    PERCENT = "percent"
    AFFILIATE_RATE = "affiliate_rate"
    FIXED = "fixed"


class SkipReason(_StrEnum):
    """Why a chain member earned nothing."""

    COMPRESSED = "compressed"
    FORFEITED = "forfeited"
    BEYOND_DEPTH = "beyond_depth"


class PayoutStatus(_StrEnum):
    """Where a payout is."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    PAID = "PAID"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class BatchStatus(_StrEnum):
    """Where a payout batch is."""

    SCHEDULED = "SCHEDULED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    PARTIALLY_FAILED = "PARTIALLY_FAILED"
    FAILED = "FAILED"


class HoldReason(_StrEnum):
    """Why a balance was left out of a batch."""

    AFFILIATE_NOT_ACTIVE = "AFFILIATE_NOT_ACTIVE"
    NO_PAYOUT_DETAILS = "NO_PAYOUT_DETAILS"
    BELOW_MINIMUM = "BELOW_MINIMUM"


class FileMode(_StrEnum):
    """How a `FileProvider` answers once a payout's row is written."""

    SUBMITTED_IS_PAID = "SUBMITTED_IS_PAID"
    AWAIT_CONFIRMATION = "AWAIT_CONFIRMATION"
