//! Affiliates and their place in the sponsor tree.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::error::{Error, Result};
use crate::ids::{AffiliateId, TenantId};
use crate::money::check_percent;
use crate::payout_method::{PayoutDetails, validate_email};

/// Where an affiliate stands. Only ACTIVE affiliates earn and get paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AffiliateStatus {
    /// Applied, not yet approved by the operator; earns nothing.
    Pending,
    /// Earns commissions and receives payouts.
    Active,
    /// Temporarily barred: skipped by compression, payouts held.
    Suspended,
    /// Left the programme for good; cannot come back.
    Terminated,
}

impl AffiliateStatus {
    /// The upper-case name used in every binding and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            AffiliateStatus::Pending => "PENDING",
            AffiliateStatus::Active => "ACTIVE",
            AffiliateStatus::Suspended => "SUSPENDED",
            AffiliateStatus::Terminated => "TERMINATED",
        }
    }

    /// Parses an upper-case name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "PENDING" => Ok(AffiliateStatus::Pending),
            "ACTIVE" => Ok(AffiliateStatus::Active),
            "SUSPENDED" => Ok(AffiliateStatus::Suspended),
            "TERMINATED" => Ok(AffiliateStatus::Terminated),
            _ => Err(Error::validation(
                "status",
                format!("{s:?} is not an affiliate status"),
            )),
        }
    }

    /// Whether the lifecycle allows moving from `self` to `to`. TERMINATED is
    /// final; nothing returns to PENDING.
    pub fn can_become(self, to: AffiliateStatus) -> bool {
        use AffiliateStatus::{Active, Pending, Suspended, Terminated};
        match (self, to) {
            (Terminated, _) | (_, Pending) => false,
            (from, to) if from == to => false,
            (Pending | Active | Suspended, Active | Suspended | Terminated) => true,
        }
    }
}

impl fmt::Display for AffiliateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An affiliate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affiliate {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The affiliate's id.
    pub id: AffiliateId,
    /// Display name.
    pub name: String,
    /// Contact email.
    pub email: String,
    /// Current status.
    pub status: AffiliateStatus,
    /// The programme tier (free text such as `"gold"`), usable in rule conditions.
    pub tier: String,
    /// The personal commission rate, a percentage from 0 to 100.
    pub commission_rate: Decimal,
    /// How the affiliate is paid; `None` holds payouts until it is set.
    pub payout: Option<PayoutDetails>,
    /// The sponsor (the next level up), if any.
    pub sponsor: Option<AffiliateId>,
    /// When the affiliate was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The input for creating an affiliate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAffiliate {
    /// A host-chosen id; a fresh one is made when `None`.
    pub id: Option<AffiliateId>,
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Contact email.
    pub email: String,
    /// Initial status; `None` means ACTIVE, so a new affiliate earns at once.
    pub status: Option<AffiliateStatus>,
    /// Tier; `None` means `"standard"`.
    pub tier: Option<String>,
    /// Personal rate in percent, 0 to 100.
    pub commission_rate: Decimal,
    /// Payout method and details.
    pub payout: Option<PayoutDetails>,
    /// The sponsor, who must exist in the same tenant.
    pub sponsor: Option<AffiliateId>,
}

impl NewAffiliate {
    /// A minimal input: name, email and rate; everything else defaulted.
    pub fn new(
        name: impl Into<String>,
        email: impl Into<String>,
        commission_rate: Decimal,
    ) -> Self {
        NewAffiliate {
            id: None,
            name: name.into(),
            email: email.into(),
            status: None,
            tier: None,
            commission_rate,
            payout: None,
            sponsor: None,
        }
    }
}

/// Changes to an affiliate's profile; `None` leaves a field as it is. Status and
/// sponsor have their own operations because they have rules of their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AffiliateUpdate {
    /// New name.
    pub name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New tier.
    pub tier: Option<String>,
    /// New personal rate.
    pub commission_rate: Option<Decimal>,
    /// New payout details (`Some(None)` removes them).
    pub payout: Option<Option<PayoutDetails>>,
}

/// Checks a display name.
pub fn check_name(name: &str, field: &str) -> Result<()> {
    check_text(name, field, 200)
}

/// Checks a tier name.
pub fn check_tier(tier: &str) -> Result<()> {
    check_text(tier, "tier", 64)
}

/// Checks a free text: non-blank, at most `max` characters, no control characters.
pub fn check_text(text: &str, field: &str, max: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(Error::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            format!("{text:?} contains a control character"),
        ));
    }
    Ok(())
}

impl NewAffiliate {
    /// Checks every field that can be checked without storage.
    pub fn validate(&self) -> Result<()> {
        check_name(&self.name, "name")?;
        validate_email(&self.email, "email")?;
        if let Some(tier) = &self.tier {
            check_tier(tier)?;
        }
        check_percent(self.commission_rate, "commission_rate")?;
        if let Some(payout) = &self.payout {
            payout.validate()?;
        }
        Ok(())
    }
}

impl AffiliateUpdate {
    /// Checks every field that is set.
    pub fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            check_name(name, "name")?;
        }
        if let Some(email) = &self.email {
            validate_email(email, "email")?;
        }
        if let Some(tier) = &self.tier {
            check_tier(tier)?;
        }
        if let Some(rate) = self.commission_rate {
            check_percent(rate, "commission_rate")?;
        }
        if let Some(Some(payout)) = &self.payout {
            payout.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::AffiliateStatus::*;

    #[test]
    fn terminated_is_final() {
        assert!(!Terminated.can_become(Active));
        assert!(Pending.can_become(Active));
        assert!(Suspended.can_become(Active));
        assert!(!Active.can_become(Pending));
        assert!(!Active.can_become(Active));
    }
}
