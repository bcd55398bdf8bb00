//! The commission lifecycle: approval, rejection, disputes, refunds and
//! recalculation.

use rust_decimal::Decimal;
use serde_json::json;

use super::sales::{explanation_json, load_chain, record_commissions};
use super::{Ctx, Engine, Scope, money_str};
use crate::allocation::allocate;
use crate::audit::AuditEvent;
use crate::calculation::calculate;
use crate::commission::{Adjustment, AdjustmentKind, Commission, CommissionStatus};
use crate::error::{Error, Result};
use crate::ids::{AdjustmentId, CommissionId, RefundId, SaleId};
use crate::money::Money;
use crate::sale::{NewRefund, Refund, Reversal, Sale};
use crate::store::{AdjustmentFilter, CommissionFilter};

/// How a dispute ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The commission stands: back to APPROVED.
    Approve,
    /// The commission is void: REJECTED.
    Reject,
}

/// What a recalculation changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecalculationOutcome {
    /// The sale's commissions after the recalculation.
    pub commissions: Vec<Commission>,
    /// Corrections made for commissions already scheduled or paid.
    pub adjustments: Vec<Adjustment>,
    /// Whether anything changed at all.
    pub changed: bool,
}

impl Engine {
    /// Approves a PENDING commission whose holding period is over.
    ///
    /// # Errors
    /// `IllegalTransition` when it is not PENDING or not yet available.
    pub fn approve(&self, scope: &Scope, id: &CommissionId) -> Result<Commission> {
        self.write(scope, |ctx| {
            let mut commission = load(ctx, id)?;
            if commission.status != CommissionStatus::Pending {
                return Err(illegal(&commission, "approve"));
            }
            if ctx.now < commission.available_at {
                return Err(Error::IllegalTransition {
                    resource: "commission",
                    id: id.to_string(),
                    from: format!(
                        "PENDING until {}",
                        crate::clock::rfc3339(commission.available_at)
                    ),
                    action: "approve",
                });
            }
            transition(
                ctx,
                &mut commission,
                CommissionStatus::Approved,
                None,
                "commission.approved",
            )?;
            Ok(commission)
        })
    }

    /// Approves every PENDING commission of the tenant whose holding period is
    /// over, in one transaction. Returns the approved ones.
    pub fn approve_available(&self, scope: &Scope) -> Result<Vec<Commission>> {
        self.write(scope, |ctx| {
            let filter = CommissionFilter {
                status: Some(CommissionStatus::Pending),
                ..Default::default()
            };
            let mut approved = Vec::new();
            for mut commission in ctx.tx.commissions(&ctx.scope.tenant, &filter)? {
                if commission.available_at <= ctx.now {
                    transition(
                        ctx,
                        &mut commission,
                        CommissionStatus::Approved,
                        None,
                        "commission.approved",
                    )?;
                    approved.push(commission);
                }
            }
            Ok(approved)
        })
    }

    /// Rejects a PENDING or APPROVED commission; it will never be paid.
    ///
    /// # Errors
    /// `IllegalTransition` from any other status; `Validation` for an empty reason.
    pub fn reject(&self, scope: &Scope, id: &CommissionId, reason: &str) -> Result<Commission> {
        self.decide(scope, id, reason, CommissionStatus::Rejected)
    }

    /// Disputes a PENDING or APPROVED commission: it is held until resolved.
    ///
    /// # Errors
    /// `IllegalTransition` from any other status; `Validation` for an empty reason.
    pub fn dispute(&self, scope: &Scope, id: &CommissionId, reason: &str) -> Result<Commission> {
        self.decide(scope, id, reason, CommissionStatus::Disputed)
    }

    /// Moves a PENDING or APPROVED commission to REJECTED or DISPUTED.
    fn decide(
        &self,
        scope: &Scope,
        id: &CommissionId,
        reason: &str,
        to: CommissionStatus,
    ) -> Result<Commission> {
        check_reason(reason)?;
        let (action, kind) = if to == CommissionStatus::Rejected {
            ("reject", "commission.rejected")
        } else {
            ("dispute", "commission.disputed")
        };
        self.write(scope, |ctx| {
            let mut commission = load(ctx, id)?;
            if !matches!(
                commission.status,
                CommissionStatus::Pending | CommissionStatus::Approved
            ) {
                return Err(illegal(&commission, action));
            }
            transition(ctx, &mut commission, to, Some(reason), kind)?;
            Ok(commission)
        })
    }

    /// Resolves a DISPUTED commission to APPROVED or REJECTED.
    ///
    /// # Errors
    /// `IllegalTransition` when it is not DISPUTED; `Validation` for an empty reason.
    pub fn resolve(
        &self,
        scope: &Scope,
        id: &CommissionId,
        resolution: Resolution,
        reason: &str,
    ) -> Result<Commission> {
        check_reason(reason)?;
        self.write(scope, |ctx| {
            let mut commission = load(ctx, id)?;
            if commission.status != CommissionStatus::Disputed {
                return Err(illegal(&commission, "resolve"));
            }
            let to = match resolution {
                Resolution::Approve => CommissionStatus::Approved,
                Resolution::Reject => CommissionStatus::Rejected,
            };
            transition(
                ctx,
                &mut commission,
                to,
                Some(reason),
                "commission.resolved",
            )?;
            Ok(commission)
        })
    }

    /// Refunds all or part of a sale and reverses its commissions pro rata.
    ///
    /// Each earning commission gives back its share of what it still keeps,
    /// in proportion to the refund over what is left of the sale, rounded
    /// with the same rule as the calculation. An unpaid commission (PENDING,
    /// APPROVED, DISPUTED) is reduced, and REVERSED when nothing is left; a
    /// SCHEDULED or PAID one keeps its amount and gets a negative adjustment
    /// (a clawback) netted against the affiliate's next payout. Refunds in any
    /// order never reverse more than was earned, and a full refund brings
    /// every affiliate's net for the sale to zero.
    ///
    /// Idempotent on the refund id.
    ///
    /// # Errors
    /// `Validation` for a bad amount or one above what is left of the sale;
    /// `NotFound` for an unknown sale; `Conflict` for a different request
    /// under a used refund id.
    pub fn refund(&self, scope: &Scope, refund: NewRefund) -> Result<(Refund, bool)> {
        crate::affiliate::check_text(&refund.reason, "reason", 1000)?;
        if refund.amount.is_zero() || refund.amount.is_negative() {
            return Err(Error::validation(
                "amount",
                format!("{} must be above zero", refund.amount),
            ));
        }
        self.write(scope, |ctx| {
            if let Some(existing) = ctx.tx.refund(&ctx.scope.tenant, &refund.id)? {
                if existing.sale != refund.sale || existing.amount != refund.amount {
                    return Err(Error::conflict(
                        "refund",
                        &refund.id,
                        format!(
                            "already recorded as {} for sale {}",
                            existing.amount, existing.sale
                        ),
                    ));
                }
                return Ok((existing, true));
            }
            apply_refund(ctx, &refund).map(|r| (r, false))
        })
    }

    /// Recalculates a sale with the current rules and affiliates (after a rule
    /// fix). Unpaid commissions take their new amounts; scheduled and paid
    /// ones are corrected by adjustments; earlier refunds stay applied. A
    /// recalculation that changes nothing writes nothing.
    ///
    /// # Errors
    /// `NotFound` for an unknown sale or a chain affiliate that no longer exists.
    pub fn recalculate(&self, scope: &Scope, sale: &SaleId) -> Result<RecalculationOutcome> {
        self.write(scope, |ctx| recalculate(ctx, sale))
    }

    /// Adjustments matching a filter.
    pub fn adjustments(&self, scope: &Scope, filter: &AdjustmentFilter) -> Result<Vec<Adjustment>> {
        self.read(|tx| tx.adjustments(scope.tenant(), filter))
    }

    /// A recorded refund.
    ///
    /// # Errors
    /// `NotFound` when it does not exist in the tenant.
    pub fn refund_record(&self, scope: &Scope, id: &crate::ids::RefundId) -> Result<Refund> {
        self.read(|tx| {
            tx.refund(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("refund", id))
        })
    }
}

fn check_reason(reason: &str) -> Result<()> {
    crate::affiliate::check_text(reason, "reason", 1000)
}

fn load(ctx: &mut Ctx<'_>, id: &CommissionId) -> Result<Commission> {
    ctx.tx
        .commission(&ctx.scope.tenant, id)?
        .ok_or_else(|| Error::not_found("commission", id))
}

fn illegal(commission: &Commission, action: &'static str) -> Error {
    Error::IllegalTransition {
        resource: "commission",
        id: commission.id.to_string(),
        from: commission.status.to_string(),
        action,
    }
}

fn transition(
    ctx: &mut Ctx<'_>,
    commission: &mut Commission,
    to: CommissionStatus,
    reason: Option<&str>,
    kind: &'static str,
) -> Result<()> {
    let from = commission.status;
    commission.status = to;
    if let Some(reason) = reason {
        commission.status_reason = Some(reason.to_owned());
    }
    commission.updated_at = ctx.now;
    ctx.tx.put_commission(commission)?;
    ctx.audit(AuditEvent {
        kind,
        resource_type: "commission",
        resource_id: commission.id.to_string(),
        affiliate_id: Some(commission.affiliate.to_string()),
        payload: json!({"from": from.as_str(), "to": to.as_str(), "reason": reason}),
    })
}

/// What a commission still keeps for its affiliate: its amount plus its adjustments.
fn kept(commission: &Commission) -> Result<Money> {
    commission.amount.checked_add(commission.adjusted)
}

fn earning(commission: &Commission) -> bool {
    !matches!(
        commission.status,
        CommissionStatus::Rejected | CommissionStatus::Reversed
    )
}

fn sale_commissions(ctx: &mut Ctx<'_>, sale: &SaleId) -> Result<Vec<Commission>> {
    let filter = CommissionFilter {
        sale: Some(sale.clone()),
        ..Default::default()
    };
    let mut commissions = ctx.tx.commissions(&ctx.scope.tenant, &filter)?;
    commissions.sort_by_key(|c| c.chain_level);
    Ok(commissions)
}

fn apply_refund(ctx: &mut Ctx<'_>, request: &NewRefund) -> Result<Refund> {
    let mut sale = ctx
        .tx
        .sale(&ctx.scope.tenant, &request.sale)?
        .ok_or_else(|| Error::not_found("sale", &request.sale))?;
    let remaining_sale = sale.amount.checked_sub(sale.refunded)?;
    if request.amount.currency() != sale.amount.currency() {
        return Err(Error::validation(
            "amount",
            format!(
                "{} is not in the sale currency {}",
                request.amount,
                sale.amount.currency()
            ),
        ));
    }
    if request.amount.minor() > remaining_sale.minor() {
        return Err(Error::validation(
            "amount",
            format!(
                "{} is more than the {} left to refund on sale {}",
                request.amount, remaining_sale, sale.id
            ),
        ));
    }

    // Each commission gives back refund / remaining-sale of what it still keeps.
    let commissions: Vec<Commission> = sale_commissions(ctx, &sale.id)?
        .into_iter()
        .filter(earning)
        .collect();
    let fraction = request.amount.amount() / remaining_sale.amount();
    let keeps: Vec<Money> = commissions.iter().map(kept).collect::<Result<_>>()?;
    let exact: Vec<Decimal> = keeps
        .iter()
        .map(|k| {
            if request.amount == remaining_sale {
                k.amount()
            } else {
                k.amount() * fraction
            }
        })
        .collect();
    let allocation = allocate(&exact, sale.amount.currency());

    let mut reversals = Vec::new();
    for ((mut commission, share), keeps) in
        commissions.into_iter().zip(&allocation.amounts).zip(&keeps)
    {
        let share = Money::from_rounded(*share, sale.amount.currency());
        if share.is_zero() {
            continue;
        }
        debug_assert!(share.minor() <= keeps.minor());
        let adjustment = reverse(ctx, &mut commission, share, request)?;
        reversals.push(Reversal {
            commission: commission.id.clone(),
            affiliate: commission.affiliate.clone(),
            amount: share,
            adjustment,
        });
    }

    sale.refunded = sale.refunded.checked_add(request.amount)?;
    ctx.tx
        .set_sale_refunded(&ctx.scope.tenant, &sale.id, sale.refunded)?;
    let refund = Refund {
        tenant: ctx.scope.tenant.clone(),
        id: request.id.clone(),
        sale: sale.id.clone(),
        amount: request.amount,
        reason: request.reason.clone(),
        reversals,
        created_at: ctx.now,
    };
    ctx.tx.put_refund(&refund)?;
    ctx.audit(AuditEvent {
        kind: "sale.refunded",
        resource_type: "refund",
        resource_id: refund.id.to_string(),
        affiliate_id: sale.chain.first().map(ToString::to_string),
        payload: json!({
            "sale_id": sale.id.to_string(),
            "amount": money_str(refund.amount),
            "currency": refund.amount.currency().code(),
            "refunded_total": money_str(sale.refunded),
            "reason": refund.reason,
            "reversed_total": allocation.total.to_string(),
        }),
    })?;
    Ok(refund)
}

/// Takes `share` back from one commission: off its amount while unpaid, as a
/// clawback adjustment once scheduled or paid.
fn reverse(
    ctx: &mut Ctx<'_>,
    commission: &mut Commission,
    share: Money,
    request: &NewRefund,
) -> Result<Option<AdjustmentId>> {
    commission.reversed_amount = commission.reversed_amount.checked_add(share)?;
    commission.updated_at = ctx.now;
    let from = commission.status;
    let adjustment = if commission.status.is_unpaid() {
        commission.amount = commission.amount.checked_sub(share)?;
        if commission.amount.is_zero() {
            commission.status = CommissionStatus::Reversed;
            commission.status_reason = Some(format!("refund {}", request.id));
        }
        None
    } else {
        commission.adjusted = commission.adjusted.checked_sub(share)?;
        let reason = format!("refund {} of sale {}", request.id, commission.sale);
        let adjustment = add_adjustment(
            ctx,
            commission,
            share.negated(),
            AdjustmentKind::Clawback,
            reason,
            Some(&request.id),
        )?;
        Some(adjustment.id)
    };
    ctx.tx.put_commission(commission)?;
    ctx.audit(AuditEvent {
        kind: "commission.reversed",
        resource_type: "commission",
        resource_id: commission.id.to_string(),
        affiliate_id: Some(commission.affiliate.to_string()),
        payload: json!({
            "refund_id": request.id.to_string(),
            "reversed": money_str(share),
            "amount": money_str(commission.amount),
            "from": from.as_str(),
            "to": commission.status.as_str(),
            "adjustment_id": adjustment.as_ref().map(ToString::to_string),
        }),
    })?;
    Ok(adjustment)
}

/// Stores and audits an adjustment of `amount` for `commission`'s affiliate.
fn add_adjustment(
    ctx: &mut Ctx<'_>,
    commission: &Commission,
    amount: Money,
    kind: AdjustmentKind,
    reason: String,
    refund: Option<&RefundId>,
) -> Result<Adjustment> {
    let adjustment = Adjustment {
        tenant: ctx.scope.tenant.clone(),
        id: AdjustmentId::generate(),
        affiliate: commission.affiliate.clone(),
        amount,
        kind,
        reason,
        commission: Some(commission.id.clone()),
        sale: Some(commission.sale.clone()),
        refund: refund.cloned(),
        payout: None,
        created_at: ctx.now,
    };
    ctx.tx.put_adjustment(&adjustment)?;
    ctx.audit(adjustment_event(&adjustment))?;
    Ok(adjustment)
}

fn adjustment_event(adjustment: &Adjustment) -> AuditEvent {
    AuditEvent {
        kind: "adjustment.created",
        resource_type: "adjustment",
        resource_id: adjustment.id.to_string(),
        affiliate_id: Some(adjustment.affiliate.to_string()),
        payload: json!({
            "kind": adjustment.kind.as_str(),
            "amount": money_str(adjustment.amount),
            "currency": adjustment.amount.currency().code(),
            "commission_id": adjustment.commission.as_ref().map(ToString::to_string),
            "sale_id": adjustment.sale.as_ref().map(ToString::to_string),
            "reason": adjustment.reason,
        }),
    }
}

fn recalculate(ctx: &mut Ctx<'_>, sale_id: &SaleId) -> Result<RecalculationOutcome> {
    let sale: Sale = ctx
        .tx
        .sale(&ctx.scope.tenant, sale_id)?
        .ok_or_else(|| Error::not_found("sale", sale_id))?;
    let currency = sale.amount.currency();
    let members = load_chain(ctx, &sale.chain)?;
    let rules = ctx.tx.rules(&ctx.scope.tenant)?;
    let explanation = calculate(
        sale.amount,
        sale.occurred_at,
        &sale.attribution_type,
        &sale.attributes,
        &members,
        &rules,
    );

    // The new gross lines, scaled down by what has been refunded so far.
    let kept_fraction = (sale.amount.amount() - sale.refunded.amount()) / sale.amount.amount();
    let lines: Vec<_> = explanation.lines.iter().collect();
    let exact: Vec<Decimal> = lines
        .iter()
        .map(|l| l.amount.amount() * kept_fraction)
        .collect();
    let targets = allocate(&exact, currency);

    let existing = sale_commissions(ctx, sale_id)?;
    let mut changed = false;
    let mut adjustments = Vec::new();
    let mut matched = vec![false; existing.len()];
    let mut fresh_lines = Vec::new();

    for (line, target) in lines.iter().zip(&targets.amounts) {
        let target = Money::from_rounded(*target, currency);
        // An affiliate has at most one commission per sale. A REJECTED one
        // stays rejected: an operator's decision outlives a rule fix.
        let found = existing.iter().position(|c| c.affiliate == line.affiliate);
        match found {
            Some(index) if existing[index].status == CommissionStatus::Rejected => {
                matched[index] = true;
            }
            Some(index) => {
                matched[index] = true;
                let mut commission = existing[index].clone();
                commission.paid_level = line.paid_level;
                commission.rate = line.rate.clone();
                commission.percent = line.percent;
                commission.rule_id.clone_from(&explanation.rule.rule_id);
                commission.rule_version = explanation.rule.rule_version;
                if let Some(adjustment) = retarget(ctx, &mut commission, target)? {
                    adjustments.push(adjustment);
                }
                changed |= commission != existing[index];
                if commission != existing[index] {
                    commission.updated_at = ctx.now;
                    ctx.tx.put_commission(&commission)?;
                }
            }
            None if !target.is_zero() => fresh_lines.push((*line, target)),
            None => {}
        }
    }
    for (index, commission) in existing.iter().enumerate() {
        if !matched[index] && earning(commission) {
            let mut commission = commission.clone();
            if let Some(adjustment) = retarget(ctx, &mut commission, Money::zero(currency))? {
                adjustments.push(adjustment);
            }
            if commission != existing[index] {
                changed = true;
                commission.updated_at = ctx.now;
                ctx.tx.put_commission(&commission)?;
            }
        }
    }
    if !fresh_lines.is_empty() {
        changed = true;
        let mut partial = explanation.clone();
        partial.lines = fresh_lines
            .iter()
            .map(|(line, target)| {
                let mut line = (*line).clone();
                line.amount = *target;
                line
            })
            .collect();
        record_commissions(ctx, &sale, &partial)?;
    }

    if changed {
        ctx.tx.put_sale(&sale, &explanation_json(&explanation)?)?;
        ctx.audit(AuditEvent {
            kind: "sale.recalculated",
            resource_type: "sale",
            resource_id: sale.id.to_string(),
            affiliate_id: sale.chain.first().map(ToString::to_string),
            payload: json!({
                "rule_id": explanation.rule.rule_id.as_ref().map(ToString::to_string),
                "rule_version": explanation.rule.rule_version.map(|v| v.to_string()),
                "total_commission": money_str(explanation.total),
            }),
        })?;
    }
    let commissions = sale_commissions(ctx, sale_id)?;
    Ok(RecalculationOutcome {
        commissions,
        adjustments,
        changed,
    })
}

/// Moves a commission to keep `target`: by changing its amount while unpaid,
/// by a correction adjustment once scheduled or paid.
fn retarget(
    ctx: &mut Ctx<'_>,
    commission: &mut Commission,
    target: Money,
) -> Result<Option<Adjustment>> {
    let keeps = kept(commission)?;
    if keeps == target {
        return Ok(None);
    }
    let difference = target.checked_sub(keeps)?;
    // A REVERSED commission was never paid: it is brought back like an unpaid one.
    if commission.status.is_unpaid() || commission.status == CommissionStatus::Reversed {
        let from = commission.amount;
        commission.amount = commission.amount.checked_add(difference)?;
        if commission.amount.is_zero() {
            commission.status = CommissionStatus::Reversed;
            commission.status_reason = Some("recalculated to zero".to_owned());
        } else if commission.status == CommissionStatus::Reversed {
            commission.status = CommissionStatus::Pending;
            commission.status_reason = Some("recalculated above zero".to_owned());
        }
        ctx.audit(AuditEvent {
            kind: "commission.recalculated",
            resource_type: "commission",
            resource_id: commission.id.to_string(),
            affiliate_id: Some(commission.affiliate.to_string()),
            payload: json!({
                "from": money_str(from),
                "to": money_str(commission.amount),
                "difference": money_str(difference),
                "status": commission.status.as_str(),
            }),
        })?;
        return Ok(None);
    }
    commission.adjusted = commission.adjusted.checked_add(difference)?;
    let reason = format!("recalculation of sale {}", commission.sale);
    let adjustment = add_adjustment(
        ctx,
        commission,
        difference,
        AdjustmentKind::Correction,
        reason,
        None,
    )?;
    Ok(Some(adjustment))
}
