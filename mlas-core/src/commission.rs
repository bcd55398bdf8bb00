//! Commissions and adjustments, and the lifecycle that moves them.
//!
//! ```text
//! PENDING --approve (after available_at)--> APPROVED --schedule--> SCHEDULED --paid--> PAID
//! PENDING|APPROVED --dispute--> DISPUTED --resolve--> APPROVED | REJECTED
//! PENDING|APPROVED --reject--> REJECTED
//! PENDING|APPROVED|DISPUTED --full refund--> REVERSED
//! ```

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::ids::{
    AdjustmentId, AffiliateId, CommissionId, PayoutId, RefundId, RuleId, SaleId, TenantId,
};
use crate::money::Money;
use crate::rule::LevelRate;

/// Where a commission is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CommissionStatus {
    /// Calculated, waiting for its holding period and approval.
    Pending,
    /// Approved; will be picked up by the next payout scheduling.
    Approved,
    /// In a live payout.
    Scheduled,
    /// Paid out.
    Paid,
    /// Contested; neither payable nor rejected until resolved.
    Disputed,
    /// Rejected; never paid.
    Rejected,
    /// Cancelled by a full refund of its sale before it was paid.
    Reversed,
}

impl CommissionStatus {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CommissionStatus::Pending => "PENDING",
            CommissionStatus::Approved => "APPROVED",
            CommissionStatus::Scheduled => "SCHEDULED",
            CommissionStatus::Paid => "PAID",
            CommissionStatus::Disputed => "DISPUTED",
            CommissionStatus::Rejected => "REJECTED",
            CommissionStatus::Reversed => "REVERSED",
        }
    }

    /// Parses an upper-case name.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "PENDING" => CommissionStatus::Pending,
            "APPROVED" => CommissionStatus::Approved,
            "SCHEDULED" => CommissionStatus::Scheduled,
            "PAID" => CommissionStatus::Paid,
            "DISPUTED" => CommissionStatus::Disputed,
            "REJECTED" => CommissionStatus::Rejected,
            "REVERSED" => CommissionStatus::Reversed,
            _ => {
                return Err(Error::validation(
                    "status",
                    format!("{s:?} is not a commission status"),
                ));
            }
        })
    }

    /// Whether money for this commission is still owed and not yet paid: a
    /// refund reduces such a commission instead of clawing back.
    pub fn is_unpaid(self) -> bool {
        matches!(
            self,
            CommissionStatus::Pending | CommissionStatus::Approved | CommissionStatus::Disputed
        )
    }
}

impl fmt::Display for CommissionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One commission line: what one affiliate earns from one sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commission {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The commission id.
    pub id: CommissionId,
    /// The sale it comes from.
    pub sale: SaleId,
    /// The earning affiliate.
    pub affiliate: AffiliateId,
    /// Level in the sale's chain.
    pub chain_level: u32,
    /// Level paid after compression.
    pub paid_level: u32,
    /// The sale amount the rate applied to.
    pub base_amount: Money,
    /// The rate, frozen from the rule version.
    pub rate: LevelRate,
    /// The percentage applied, where the rate was one.
    pub percent: Option<Decimal>,
    /// The rule, or `None` for the default plan.
    pub rule_id: Option<RuleId>,
    /// The rule version.
    pub rule_version: Option<u32>,
    /// The amount first calculated.
    pub original_amount: Money,
    /// What is owed now: the original, less refund reversals, plus or minus
    /// recalculation changes made while unpaid.
    pub amount: Money,
    /// Total reversed by refunds, whether taken off `amount` (while unpaid) or
    /// clawed back through adjustments (once scheduled or paid).
    pub reversed_amount: Money,
    /// The signed sum of the adjustments made for this commission (clawbacks
    /// are negative). What the affiliate keeps is `amount + adjusted`.
    pub adjusted: Money,
    /// Lifecycle status.
    pub status: CommissionStatus,
    /// The reason given for the last reject, dispute or resolution.
    pub status_reason: Option<String>,
    /// The earliest time it may be approved.
    pub available_at: DateTime<Utc>,
    /// The live or paid payout that carries it.
    pub payout: Option<PayoutId>,
    /// When calculated.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Why an adjustment exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdjustmentKind {
    /// A refund of a sale whose commission was already paid or scheduled.
    Clawback,
    /// A recalculation changed a commission that was already paid or scheduled.
    Correction,
}

impl AdjustmentKind {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::Clawback => "CLAWBACK",
            AdjustmentKind::Correction => "CORRECTION",
        }
    }

    /// Parses an upper-case name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "CLAWBACK" => Ok(AdjustmentKind::Clawback),
            "CORRECTION" => Ok(AdjustmentKind::Correction),
            _ => Err(Error::validation(
                "kind",
                format!("{s:?} is not an adjustment kind"),
            )),
        }
    }
}

/// A signed amount owed to (positive) or by (negative) an affiliate, netted
/// against their next payout. A balance may go negative and carries forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The adjustment id.
    pub id: AdjustmentId,
    /// Whose balance it changes.
    pub affiliate: AffiliateId,
    /// The signed amount.
    pub amount: Money,
    /// Why.
    pub kind: AdjustmentKind,
    /// A description for the affiliate statement.
    pub reason: String,
    /// The commission it corrects.
    pub commission: Option<CommissionId>,
    /// The sale it relates to.
    pub sale: Option<SaleId>,
    /// The refund that caused it.
    pub refund: Option<RefundId>,
    /// The payout it was netted into; `None` while open.
    pub payout: Option<PayoutId>,
    /// When made.
    pub created_at: DateTime<Utc>,
}
