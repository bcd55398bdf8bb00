//! Sales, their attribution, and refunds against them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::ids::{AdjustmentId, AffiliateId, CommissionId, RefundId, SaleId, TenantId};
use crate::money::Money;

/// The most levels a chain may have.
pub const MAX_CHAIN_DEPTH: usize = 64;

/// A sale to record and calculate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSale {
    /// The host's sale id, unique per tenant; also the idempotency key.
    pub id: SaleId,
    /// The sale amount, above zero.
    pub amount: Money,
    /// When the sale happened; rule validity and holding periods count from it.
    pub occurred_at: DateTime<Utc>,
    /// The affiliate credited with the sale (level 1).
    pub affiliate: AffiliateId,
    /// The whole chain, level 1 first; `None` walks the sponsor links from
    /// `affiliate`. When given, its first element must be `affiliate`.
    pub chain: Option<Vec<AffiliateId>>,
    /// How the sale was attributed (`"DIRECT"`, `"COUPON"`, ...).
    pub attribution_type: String,
    /// The buyer's affiliate id, when the buyer is an affiliate; a sale whose
    /// buyer is its own level-1 affiliate is a self-referral and is rejected.
    pub buyer: Option<AffiliateId>,
    /// Free-form attributes for rule conditions (`attributes.<name>`).
    pub attributes: BTreeMap<String, String>,
}

impl NewSale {
    /// A direct sale by `affiliate` with the chain taken from the sponsor tree.
    pub fn new(
        id: SaleId,
        amount: Money,
        occurred_at: DateTime<Utc>,
        affiliate: AffiliateId,
    ) -> Self {
        NewSale {
            id,
            amount,
            occurred_at,
            affiliate,
            chain: None,
            attribution_type: "DIRECT".to_owned(),
            buyer: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Checks what can be checked without storage.
    pub fn validate(&self) -> Result<()> {
        if self.amount.is_zero() || self.amount.is_negative() {
            return Err(Error::validation(
                "amount",
                format!("{} must be above zero", self.amount),
            ));
        }
        crate::affiliate::check_text(&self.attribution_type, "attribution_type", 64)?;
        if let Some(chain) = &self.chain {
            if chain.first() != Some(&self.affiliate) {
                return Err(Error::validation(
                    "chain",
                    format!("must start with the credited affiliate {}", self.affiliate),
                ));
            }
        }
        for (name, value) in &self.attributes {
            crate::affiliate::check_text(name, "attributes", 64)?;
            if value.len() > 1024 || value.chars().any(char::is_control) {
                return Err(Error::validation(
                    "attributes",
                    format!(
                        "value of {name:?} must be at most 1024 characters without control characters"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A recorded sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sale {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The host's sale id.
    pub id: SaleId,
    /// The sale amount.
    pub amount: Money,
    /// How much of it has been refunded so far.
    pub refunded: Money,
    /// When the sale happened.
    pub occurred_at: DateTime<Utc>,
    /// The resolved chain, level 1 first.
    pub chain: Vec<AffiliateId>,
    /// How the sale was attributed.
    pub attribution_type: String,
    /// The buyer, when given.
    pub buyer: Option<AffiliateId>,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, String>,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A refund request, full or partial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// The host's refund id; retrying with the same id returns the first result.
    pub id: RefundId,
    /// The refunded sale.
    pub sale: SaleId,
    /// The refunded amount, above zero and at most what is left of the sale.
    pub amount: Money,
    /// Why, for the audit trail.
    pub reason: String,
}

/// A recorded refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The refund id.
    pub id: RefundId,
    /// The refunded sale.
    pub sale: SaleId,
    /// The refunded amount.
    pub amount: Money,
    /// Why.
    pub reason: String,
    /// What it took back from each commission.
    pub reversals: Vec<Reversal>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

/// What one refund took back from one commission.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reversal {
    /// The commission.
    pub commission: CommissionId,
    /// Its affiliate.
    pub affiliate: AffiliateId,
    /// The amount taken back (positive).
    pub amount: Money,
    /// The clawback adjustment, when the commission was already scheduled or paid.
    pub adjustment: Option<AdjustmentId>,
}
