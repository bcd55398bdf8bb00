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
