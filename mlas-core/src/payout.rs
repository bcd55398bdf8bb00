//! Payout batches and payouts: what is owed to whom, and what became of sending it.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::ids::{AdjustmentId, AffiliateId, BatchId, CommissionId, PayoutId, TenantId};
use crate::money::Money;

macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The upper-case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses an upper-case name.
            pub fn parse(s: &str) -> Result<Self> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(Error::validation("status", format!("{s:?} is not a {}", $what))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

status_enum!(
    /// Where a batch is.
    BatchStatus, "batch status" {
        /// Made, not yet processed.
        Scheduled = "SCHEDULED",
        /// Being processed (or interrupted while being processed).
        Processing = "PROCESSING",
        /// Every payout was paid.
        Completed = "COMPLETED",
        /// Some payouts were paid, some failed.
        PartiallyFailed = "PARTIALLY_FAILED",
        /// No payout was paid.
        Failed = "FAILED",
    }
);

status_enum!(
    /// Where a payout is.
    PayoutStatus, "payout status" {
        /// Waiting to be sent.
        Pending = "PENDING",
        /// Handed to the provider; the outcome is not recorded yet. After a crash
        /// it is reconciled through the provider before anything else.
        Sending = "SENDING",
        /// The provider paid it.
        Paid = "PAID",
        /// The provider refused it; it may be retried.
        Failed = "FAILED",
        /// Given up: its commissions went back to APPROVED.
        Cancelled = "CANCELLED",
    }
);

/// A payout batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutBatch {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The batch id, also the scheduling idempotency key.
    pub id: BatchId,
    /// Not processed before this time unless forced.
    pub scheduled_for: DateTime<Utc>,
    /// Status.
    pub status: BatchStatus,
    /// A digest of the scheduling request, to tell a retry from a different request.
    pub request_digest: String,
    /// When made.
    pub created_at: DateTime<Utc>,
    /// When processing first started.
    pub started_at: Option<DateTime<Utc>>,
    /// When processing last finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// The worker processing the batch right now, if any.
    pub lease: Option<BatchLease>,
}

/// A claim on a batch by one worker, so that two workers (threads, processes
/// or hosts on one database) never process the same batch at once. It lapses
/// at `until`, so a crashed worker's batch can be taken over. It is
/// coordination state, not business state, and is not audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchLease {
    /// An id made for one processing call.
    pub holder: String,
    /// When the claim lapses unless renewed.
    pub until: DateTime<Utc>,
}

/// What one affiliate is paid in one currency in one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The payout id, and the idempotency key handed to the provider.
    pub id: PayoutId,
    /// Its batch.
    pub batch: BatchId,
    /// Who is paid.
    pub affiliate: AffiliateId,
    /// Commissions plus adjustments.
    pub amount: Money,
    /// Status.
    pub status: PayoutStatus,
    /// How many times it was handed to the provider.
    pub attempts: u32,
    /// The commissions it pays.
    pub commissions: Vec<CommissionId>,
    /// The adjustments it nets.
    pub adjustments: Vec<AdjustmentId>,
    /// The provider's reference once paid.
    pub provider_reference: Option<String>,
    /// The provider's reason for the last failure.
    pub failure_reason: Option<String>,
    /// Whether the provider said a retry can help.
    pub retryable: bool,
    /// When made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was paid.
    pub paid_at: Option<DateTime<Utc>>,
}

impl BatchStatus {
    /// Whether processing has finished (COMPLETED, PARTIALLY_FAILED or FAILED).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            BatchStatus::Completed | BatchStatus::PartiallyFailed | BatchStatus::Failed
        )
    }
}

impl PayoutStatus {
    /// Whether the payout still holds its commissions (anything but CANCELLED).
    /// A commission is in at most one live payout.
    pub fn is_live(self) -> bool {
        self != PayoutStatus::Cancelled
    }
}

/// Which commissions a scheduling takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommissionSelection {
    /// Exactly these commissions (the runbook's `commissionIds`). Every one
    /// must exist and be APPROVED, or nothing is scheduled. Open adjustments of
    /// the affiliates concerned, in the same currencies, are netted in.
    Ids(Vec<CommissionId>),
    /// Every APPROVED commission not in a payout, and every open adjustment of
    /// the tenant (so an affiliate owed only a positive correction is paid too).
    AllApproved,
}

/// A request to schedule a payout batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRequest {
    /// The caller-chosen batch id: the idempotency key of the scheduling.
    pub batch: BatchId,
    /// The batch is not processed before this time unless forced (the
    /// runbook's `scheduledDate`).
    pub scheduled_for: DateTime<Utc>,
    /// The commissions to pay.
    pub selection: CommissionSelection,
}

/// Why a balance was left out of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HoldReason {
    /// The affiliate is not ACTIVE; its payouts are held until it is.
    AffiliateNotActive,
    /// The affiliate has no payout details to pay to.
    NoPayoutDetails,
    /// The balance is below the currency's minimum payout (a negative balance
    /// always is): it carries forward to a later batch.
    BelowMinimum,
}

impl HoldReason {
    /// The upper-case name used in audit payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            HoldReason::AffiliateNotActive => "AFFILIATE_NOT_ACTIVE",
            HoldReason::NoPayoutDetails => "NO_PAYOUT_DETAILS",
            HoldReason::BelowMinimum => "BELOW_MINIMUM",
        }
    }

    /// Parses an upper-case name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "AFFILIATE_NOT_ACTIVE" => Ok(HoldReason::AffiliateNotActive),
            "NO_PAYOUT_DETAILS" => Ok(HoldReason::NoPayoutDetails),
            "BELOW_MINIMUM" => Ok(HoldReason::BelowMinimum),
            _ => Err(Error::validation(
                "hold_reason",
                format!("{s:?} is not a hold reason"),
            )),
        }
    }
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A balance a scheduling left out: its commissions stay APPROVED and its
/// adjustments stay open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBalance {
    /// Whose balance.
    pub affiliate: AffiliateId,
    /// The balance (approved commissions plus open adjustments) in one currency.
    pub amount: Money,
    /// Why it was left out.
    pub reason: HoldReason,
}

/// What a scheduling made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleOutcome {
    /// The batch.
    pub batch: PayoutBatch,
    /// Its payouts, as stored now (on a replay they may have moved on).
    pub payouts: Vec<Payout>,
    /// The balances left out, and why. On a replay they are read back from the
    /// batch's `batch.scheduled` audit record (empty if that was archived).
    pub held: Vec<HeldBalance>,
    /// True when the batch already existed with the same request and nothing
    /// was written.
    pub replayed: bool,
}

/// The count and sum of a batch's payouts in one status and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusTotal {
    /// The payout status.
    pub status: PayoutStatus,
    /// How many payouts.
    pub count: u64,
    /// Their sum, in one currency.
    pub amount: Money,
}

/// Statistics of a batch (the runbook's `/payouts/batch/:id/stats`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchStats {
    /// The batch as stored.
    pub batch: PayoutBatch,
    /// How many payouts it has.
    pub payouts: u64,
    /// Counts and amounts by status and currency, ordered by status then currency.
    pub totals: Vec<StatusTotal>,
    /// How many times its payouts were handed to the provider in all.
    pub attempts: u64,
    /// Payouts whose outcome is still unknown (SENDING): they are reconciled by
    /// the next call to process the batch.
    pub unresolved: u64,
    /// From the start of the first processing to the end of the last, once finished.
    pub duration: Option<chrono::TimeDelta>,
}

impl BatchStats {
    /// The count and amount of payouts in `status` and `currency` (zero if none).
    pub fn total(&self, status: PayoutStatus, currency: crate::money::Currency) -> (u64, Money) {
        self.totals
            .iter()
            .find(|t| t.status == status && t.amount.currency() == currency)
            .map_or((0, Money::zero(currency)), |t| (t.count, t.amount))
    }

    /// How many payouts are in `status`, across currencies.
    pub fn count(&self, status: PayoutStatus) -> u64 {
        self.totals
            .iter()
            .filter(|t| t.status == status)
            .map(|t| t.count)
            .sum()
    }
}
