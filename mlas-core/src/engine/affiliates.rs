//! Affiliates and the sponsor tree.

use serde_json::{Value, json};

use super::{Ctx, Engine, Scope};
use crate::affiliate::{Affiliate, AffiliateStatus, AffiliateUpdate, NewAffiliate};
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::AffiliateId;
use crate::sale::MAX_CHAIN_DEPTH;

impl Engine {
    /// Creates an affiliate.
    ///
    /// # Errors
    /// `Validation` for a bad field, `NotFound` for an unknown sponsor,
    /// `Conflict` when the chosen id is taken.
    pub fn create_affiliate(&self, scope: &Scope, new: NewAffiliate) -> Result<Affiliate> {
        new.validate()?;
        let id = new.id.clone().unwrap_or_else(AffiliateId::generate);
        self.write(scope, |ctx| {
            if ctx.tx.affiliate(&ctx.scope.tenant, &id)?.is_some() {
                return Err(Error::conflict(
                    "affiliate",
                    &id,
                    "an affiliate with this id exists",
                ));
            }
            if let Some(sponsor) = &new.sponsor {
                load_affiliate(ctx, sponsor)?;
            }
            let affiliate = Affiliate {
                tenant: ctx.scope.tenant.clone(),
                id: id.clone(),
                name: new.name.trim().to_owned(),
                email: new.email.trim().to_owned(),
                status: new.status.unwrap_or(AffiliateStatus::Active),
                tier: new.tier.clone().unwrap_or_else(|| "standard".to_owned()),
                commission_rate: new.commission_rate.normalize(),
                payout: new.payout.clone(),
                sponsor: new.sponsor.clone(),
                created_at: ctx.now,
                updated_at: ctx.now,
            };
            save(
                ctx,
                &affiliate,
                "affiliate.created",
                affiliate_payload(&affiliate),
            )?;
            Ok(affiliate)
        })
        .inspect(|a| tracing::debug!(affiliate = %a.id, "affiliate created"))
    }

    /// Reads an affiliate.
    ///
    /// # Errors
    /// `NotFound` when it does not exist in the tenant.
    pub fn affiliate(&self, scope: &Scope, id: &AffiliateId) -> Result<Affiliate> {
        self.read(|tx| {
            tx.affiliate(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("affiliate", id))
        })
    }

    /// Every affiliate of the tenant, by id.
    pub fn affiliates(&self, scope: &Scope) -> Result<Vec<Affiliate>> {
        self.read(|tx| tx.affiliates(scope.tenant()))
    }

    /// Changes an affiliate's profile fields.
    ///
    /// # Errors
    /// `Validation` for a bad field, `NotFound` for an unknown affiliate.
    pub fn update_affiliate(
        &self,
        scope: &Scope,
        id: &AffiliateId,
        update: AffiliateUpdate,
    ) -> Result<Affiliate> {
        update.validate()?;
        self.write(scope, |ctx| {
            let mut affiliate = load_affiliate(ctx, id)?;
            if let Some(name) = &update.name {
                affiliate.name = name.trim().to_owned();
            }
            if let Some(email) = &update.email {
                affiliate.email = email.trim().to_owned();
            }
            if let Some(tier) = &update.tier {
                affiliate.tier.clone_from(tier);
            }
            if let Some(rate) = update.commission_rate {
                affiliate.commission_rate = rate.normalize();
            }
            if let Some(payout) = &update.payout {
                affiliate.payout.clone_from(payout);
            }
            affiliate.updated_at = ctx.now;
            save(
                ctx,
                &affiliate,
                "affiliate.updated",
                affiliate_payload(&affiliate),
            )?;
            Ok(affiliate)
        })
    }

    /// Moves an affiliate to another status. TERMINATED is final.
    ///
    /// # Errors
    /// `IllegalTransition` when the status cannot follow the current one.
    pub fn set_affiliate_status(
        &self,
        scope: &Scope,
        id: &AffiliateId,
        status: AffiliateStatus,
        reason: &str,
    ) -> Result<Affiliate> {
        crate::affiliate::check_text(reason, "reason", 1000)?;
        self.write(scope, |ctx| {
            let mut affiliate = load_affiliate(ctx, id)?;
            if !affiliate.status.can_become(status) {
                return Err(Error::IllegalTransition {
                    resource: "affiliate",
                    id: id.to_string(),
                    from: affiliate.status.to_string(),
                    action: status_action(status),
                });
            }
            let from = affiliate.status;
            affiliate.status = status;
            affiliate.updated_at = ctx.now;
            save(
                ctx,
                &affiliate,
                "affiliate.status_changed",
                json!({"from": from.as_str(), "to": status.as_str(), "reason": reason}),
            )?;
            Ok(affiliate)
        })
    }

    /// Sets or clears an affiliate's sponsor. A sponsor that would close a
    /// cycle of any length (including the affiliate itself) is rejected.
    ///
    /// # Errors
    /// `Validation` for a cycle, `NotFound` for an unknown affiliate or sponsor.
    pub fn set_sponsor(
        &self,
        scope: &Scope,
        id: &AffiliateId,
        sponsor: Option<&AffiliateId>,
    ) -> Result<Affiliate> {
        self.write(scope, |ctx| {
            let mut affiliate = load_affiliate(ctx, id)?;
            if let Some(sponsor) = sponsor {
                load_affiliate(ctx, sponsor)?;
                let upline = upline_of(ctx, sponsor)?;
                if upline.contains(id) {
                    return Err(Error::validation(
                        "sponsor",
                        format!("making {sponsor} the sponsor of {id} would close a cycle"),
                    ));
                }
            }
            let from = affiliate.sponsor.clone();
            affiliate.sponsor = sponsor.cloned();
            affiliate.updated_at = ctx.now;
            save(
                ctx,
                &affiliate,
                "affiliate.sponsor_changed",
                json!({
                    "from": from.map(String::from),
                    "to": sponsor.map(ToString::to_string),
                }),
            )?;
            Ok(affiliate)
        })
    }

    /// The affiliate and its upline, level 1 first, as the sponsor links say now.
    ///
    /// # Errors
    /// `NotFound` for an unknown affiliate.
    pub fn upline(&self, scope: &Scope, id: &AffiliateId) -> Result<Vec<AffiliateId>> {
        self.read(|tx| {
            if tx.affiliate(scope.tenant(), id)?.is_none() {
                return Err(Error::not_found("affiliate", id));
            }
            walk_upline(tx, scope.tenant(), id)
        })
    }
}

/// Stores an affiliate and appends the audit record of its change.
fn save(
    ctx: &mut Ctx<'_>,
    affiliate: &Affiliate,
    kind: &'static str,
    payload: Value,
) -> Result<()> {
    ctx.tx.put_affiliate(affiliate)?;
    ctx.audit(AuditEvent {
        kind,
        resource_type: "affiliate",
        resource_id: affiliate.id.to_string(),
        affiliate_id: Some(affiliate.id.to_string()),
        payload,
    })
}

/// Loads an affiliate of the operation's tenant or answers not found.
pub(crate) fn load_affiliate(ctx: &mut Ctx<'_>, id: &AffiliateId) -> Result<Affiliate> {
    ctx.tx
        .affiliate(&ctx.scope.tenant, id)?
        .ok_or_else(|| Error::not_found("affiliate", id))
}

fn upline_of(ctx: &mut Ctx<'_>, id: &AffiliateId) -> Result<Vec<AffiliateId>> {
    let tenant = ctx.scope.tenant.clone();
    walk_upline(ctx.tx, &tenant, id)
}

/// Follows sponsor links from `id` upwards: `id` first, at most
/// [`MAX_CHAIN_DEPTH`] affiliates. Stops early on a repeat, which the sponsor
/// rules prevent but a hand-edited database could contain.
pub(crate) fn walk_upline(
    tx: &mut dyn crate::store::Tx,
    tenant: &crate::ids::TenantId,
    id: &AffiliateId,
) -> Result<Vec<AffiliateId>> {
    let mut chain = vec![id.clone()];
    let mut current = id.clone();
    while chain.len() < MAX_CHAIN_DEPTH {
        let Some(affiliate) = tx.affiliate(tenant, &current)? else {
            break;
        };
        let Some(sponsor) = affiliate.sponsor else {
            break;
        };
        if chain.contains(&sponsor) {
            break;
        }
        chain.push(sponsor.clone());
        current = sponsor;
    }
    Ok(chain)
}

fn status_action(status: AffiliateStatus) -> &'static str {
    match status {
        AffiliateStatus::Pending => "make pending",
        AffiliateStatus::Active => "activate",
        AffiliateStatus::Suspended => "suspend",
        AffiliateStatus::Terminated => "terminate",
    }
}

/// An affiliate as an audit payload: payout details masked.
fn affiliate_payload(a: &Affiliate) -> Value {
    json!({
        "name": a.name,
        "email": a.email,
        "status": a.status.as_str(),
        "tier": a.tier,
        "commission_rate": a.commission_rate.to_string(),
        "sponsor": a.sponsor.as_ref().map(ToString::to_string),
        "payout": a.payout.as_ref().map_or(Value::Null, crate::payout_method::PayoutDetails::masked_json),
    })
}
