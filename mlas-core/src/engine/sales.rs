//! Recording sales and calculating their commissions (DESIGN.md steps 1 to 8).

use std::collections::{HashMap, HashSet};

use chrono::TimeDelta;
use serde_json::json;

use super::{Ctx, Engine, Scope, money_str};
use crate::audit::AuditEvent;
use crate::calculation::{ChainMember, Explanation, calculate};
use crate::commission::{Commission, CommissionStatus};
use crate::error::{Error, Result};
use crate::ids::{AffiliateId, CommissionId, SaleId};
use crate::money::Money;
use crate::rule::Rule;
use crate::sale::{MAX_CHAIN_DEPTH, NewSale, Sale};
use crate::store::CommissionFilter;

/// What recording a sale produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleOutcome {
    /// The sale as stored.
    pub sale: Sale,
    /// Its commissions, level order.
    pub commissions: Vec<Commission>,
    /// True when the sale was already recorded and nothing was written.
    pub replayed: bool,
}

impl Engine {
    /// Records a sale with its attribution and calculates its commissions, in
    /// one transaction.
    ///
    /// Idempotent on the sale id: the same sale again returns the stored
    /// result and writes nothing. The same id with a different amount,
    /// currency, credited affiliate or explicit chain is a conflict.
    ///
    /// # Errors
    /// `Validation` for bad input, a repeated affiliate in the chain or a
    /// self-referral; `NotFound` for an affiliate not in the tenant;
    /// `Conflict` as above.
    pub fn record_sale(&self, scope: &Scope, sale: NewSale) -> Result<SaleOutcome> {
        let outcome = sale.validate().and_then(|()| {
            self.write(scope, |ctx| {
                record_one(ctx, &mut SaleReads::default(), &sale)
            })
        });
        self.counters
            .record(scope.tenant(), outcome.as_ref().map(|_| 1).map_err(|_| ()));
        if let Ok(o) = &outcome {
            // After the commit: a retried or rolled-back transaction logs nothing.
            tracing::debug!(sale = %o.sale.id, lines = o.commissions.len(), replayed = o.replayed, "sale recorded");
        }
        outcome
    }

    /// Records many sales in one transaction (for imports): all or none.
    ///
    /// # Errors
    /// The first error of any sale; then nothing is written.
    pub fn record_sales(&self, scope: &Scope, sales: &[NewSale]) -> Result<Vec<SaleOutcome>> {
        let outcome = sales.iter().try_for_each(NewSale::validate).and_then(|()| {
            self.write(scope, |ctx| {
                // One cache per attempt: a retried transaction reads afresh.
                let mut reads = SaleReads::default();
                sales
                    .iter()
                    .map(|sale| record_one(ctx, &mut reads, sale))
                    .collect()
            })
        });
        let succeeded = outcome.as_ref().map(|o: &Vec<SaleOutcome>| o.len() as u64);
        self.counters
            .record(scope.tenant(), succeeded.map_err(|_| ()));
        outcome
    }

    /// A recorded sale.
    ///
    /// # Errors
    /// `NotFound` when it does not exist in the tenant.
    pub fn sale(&self, scope: &Scope, id: &SaleId) -> Result<Sale> {
        self.read(|tx| {
            tx.sale(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("sale", id))
        })
    }

    /// Why a sale's commissions are what they are: the rule chosen and why,
    /// who compression skipped, which cap cut how much, where each rounding
    /// unit went. Reflects the latest calculation (after a recalculation, that one).
    ///
    /// # Errors
    /// `NotFound` when the sale does not exist in the tenant.
    pub fn explain(&self, scope: &Scope, id: &SaleId) -> Result<Explanation> {
        let stored = self.read(|tx| tx.sale_explanation(scope.tenant(), id))?;
        let stored = stored.ok_or_else(|| Error::not_found("sale", id))?;
        serde_json::from_value(stored).map_err(|e| {
            Error::integrity(format!(
                "stored explanation of sale {id} is unreadable: {e}"
            ))
        })
    }

    /// Why one commission is what it is: the explanation of its sale.
    ///
    /// # Errors
    /// `NotFound` when the commission does not exist in the tenant.
    pub fn explain_commission(&self, scope: &Scope, id: &CommissionId) -> Result<Explanation> {
        let commission = self.commission(scope, id)?;
        self.explain(scope, &commission.sale)
    }

    /// A commission.
    ///
    /// # Errors
    /// `NotFound` when it does not exist in the tenant.
    pub fn commission(&self, scope: &Scope, id: &CommissionId) -> Result<Commission> {
        self.read(|tx| {
            tx.commission(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("commission", id))
        })
    }

    /// Commissions matching a filter, in id order.
    pub fn commissions(&self, scope: &Scope, filter: &CommissionFilter) -> Result<Vec<Commission>> {
        self.read(|tx| tx.commissions(scope.tenant(), filter))
    }
}

/// What recording sales reads but never writes, read once per `record_sale(s)`
/// call: the tenant's latest rules and the affiliates of the chains.
///
/// Recording a sale writes sales, commissions and audit records only, so
/// within one call (one transaction attempt) these reads cannot go stale. A
/// cache lives no longer than the call: the next call (and any other engine
/// operation, which may change rules or affiliates) reads the store again.
#[derive(Default)]
pub(crate) struct SaleReads {
    rules: Option<Vec<Rule>>,
    /// By id; `None` for an id not in the tenant.
    affiliates: HashMap<AffiliateId, Option<ChainMemberRead>>,
}

/// The fields of an affiliate that a calculation uses.
#[derive(Clone)]
struct ChainMemberRead {
    member: ChainMember,
    sponsor: Option<AffiliateId>,
}

impl SaleReads {
    fn rules(&mut self, ctx: &mut Ctx<'_>) -> Result<&[Rule]> {
        if self.rules.is_none() {
            self.rules = Some(ctx.tx.rules(&ctx.scope.tenant)?);
        }
        Ok(self.rules.as_deref().unwrap_or_default())
    }

    fn affiliate(
        &mut self,
        ctx: &mut Ctx<'_>,
        id: &AffiliateId,
    ) -> Result<Option<&ChainMemberRead>> {
        if !self.affiliates.contains_key(id) {
            let read = ctx
                .tx
                .affiliate(&ctx.scope.tenant, id)?
                .map(|a| ChainMemberRead {
                    member: ChainMember {
                        affiliate: a.id,
                        status: a.status,
                        commission_rate: a.commission_rate,
                        tier: a.tier,
                    },
                    sponsor: a.sponsor,
                });
            self.affiliates.insert(id.clone(), read);
        }
        Ok(self.affiliates.get(id).and_then(Option::as_ref))
    }

    /// The same walk as [`super::affiliates::walk_upline`], through the cache.
    fn walk_upline(&mut self, ctx: &mut Ctx<'_>, id: &AffiliateId) -> Result<Vec<AffiliateId>> {
        let mut chain = Vec::with_capacity(MAX_CHAIN_DEPTH.min(8));
        chain.push(id.clone());
        while chain.len() < MAX_CHAIN_DEPTH {
            let current = &chain[chain.len() - 1];
            let Some(read) = self.affiliate(ctx, current)? else {
                break;
            };
            let Some(sponsor) = &read.sponsor else {
                break;
            };
            if chain.contains(sponsor) {
                break;
            }
            chain.push(sponsor.clone());
        }
        Ok(chain)
    }
}

fn record_one(ctx: &mut Ctx<'_>, reads: &mut SaleReads, new: &NewSale) -> Result<SaleOutcome> {
    if let Some(existing) = ctx.tx.sale(&ctx.scope.tenant, &new.id)? {
        return replay(ctx, new, existing);
    }

    // Step 1: the chain, given or walked from the sponsor links, validated.
    let chain = if let Some(chain) = &new.chain {
        chain.clone()
    } else {
        reads.walk_upline(ctx, &new.affiliate)?
    };
    let members = load_chain_with(ctx, reads, &chain)?;
    if new.buyer.as_ref() == Some(&new.affiliate) {
        return Err(Error::validation(
            "buyer",
            format!(
                "{} cannot earn from their own purchase (self-referral)",
                new.affiliate
            ),
        ));
    }

    // Every backend keeps microseconds: drop finer digits now, so what is
    // returned is what a reload will read.
    let occurred_at = crate::clock::micros(new.occurred_at);

    // Steps 2 to 6: the pure calculation.
    let explanation = calculate(
        new.amount,
        occurred_at,
        &new.attribution_type,
        &new.attributes,
        &members,
        reads.rules(ctx)?,
    );

    let sale = Sale {
        tenant: ctx.scope.tenant.clone(),
        id: new.id.clone(),
        amount: new.amount,
        refunded: Money::zero(new.amount.currency()),
        occurred_at,
        chain,
        attribution_type: new.attribution_type.clone(),
        buyer: new.buyer.clone(),
        attributes: new.attributes.clone(),
        recorded_at: ctx.now,
    };
    ctx.tx.put_sale(&sale, &explanation_json(&explanation)?)?;
    ctx.audit(AuditEvent {
        kind: "sale.recorded",
        resource_type: "sale",
        resource_id: sale.id.to_string(),
        affiliate_id: Some(new.affiliate.to_string()),
        payload: json!({
            "amount": money_str(sale.amount),
            "currency": sale.amount.currency().code(),
            "occurred_at": crate::clock::rfc3339(sale.occurred_at),
            "attribution_type": sale.attribution_type,
            "chain": sale.chain.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "rule_id": explanation.rule.rule_id.as_ref().map(ToString::to_string),
            "rule_version": explanation.rule.rule_version.map(|v| v.to_string()),
            "total_commission": money_str(explanation.total),
        }),
    })?;

    // Step 7: one PENDING commission per earning line.
    let commissions = record_commissions(ctx, &sale, &explanation)?;
    Ok(SaleOutcome {
        sale,
        commissions,
        replayed: false,
    })
}

/// Writes the commissions of an explanation's earning lines.
pub(crate) fn record_commissions(
    ctx: &mut Ctx<'_>,
    sale: &Sale,
    explanation: &Explanation,
) -> Result<Vec<Commission>> {
    let available_at = sale.occurred_at + TimeDelta::days(i64::from(explanation.holding_days));
    let zero = Money::zero(sale.amount.currency());
    let mut commissions = Vec::new();
    for line in explanation.earning_lines() {
        let commission = Commission {
            tenant: ctx.scope.tenant.clone(),
            id: CommissionId::generate(),
            sale: sale.id.clone(),
            affiliate: line.affiliate.clone(),
            chain_level: line.chain_level,
            paid_level: line.paid_level,
            base_amount: sale.amount,
            rate: line.rate.clone(),
            percent: line.percent,
            rule_id: explanation.rule.rule_id.clone(),
            rule_version: explanation.rule.rule_version,
            original_amount: line.amount,
            amount: line.amount,
            reversed_amount: zero,
            adjusted: zero,
            status: CommissionStatus::Pending,
            status_reason: None,
            available_at,
            payout: None,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        ctx.tx.put_commission(&commission)?;
        ctx.audit(AuditEvent {
            kind: "commission.calculated",
            resource_type: "commission",
            resource_id: commission.id.to_string(),
            affiliate_id: Some(commission.affiliate.to_string()),
            payload: json!({
                "sale_id": sale.id.to_string(),
                "amount": money_str(commission.amount),
                "currency": commission.amount.currency().code(),
                "chain_level": commission.chain_level.to_string(),
                "paid_level": commission.paid_level.to_string(),
                "available_at": crate::clock::rfc3339(available_at),
            }),
        })?;
        commissions.push(commission);
    }
    Ok(commissions)
}

pub(crate) fn explanation_json(explanation: &Explanation) -> Result<serde_json::Value> {
    serde_json::to_value(explanation)
        .map_err(|e| Error::storage(format!("explanation cannot be encoded: {e}")))
}

/// The same sale id again: the stored result if the request is the same one.
fn replay(ctx: &mut Ctx<'_>, new: &NewSale, existing: Sale) -> Result<SaleOutcome> {
    let differs = |what: &str, stored: String, asked: String| {
        Error::conflict(
            "sale",
            &new.id,
            format!("{what} {asked} differs from the recorded {stored}"),
        )
    };
    if existing.amount.currency() != new.amount.currency() {
        return Err(differs(
            "currency",
            existing.amount.currency().to_string(),
            new.amount.currency().to_string(),
        ));
    }
    if existing.amount != new.amount {
        return Err(differs(
            "amount",
            existing.amount.to_string(),
            new.amount.to_string(),
        ));
    }
    if existing.chain.first() != Some(&new.affiliate) {
        let stored = existing
            .chain
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(differs("affiliate", stored, new.affiliate.to_string()));
    }
    if let Some(chain) = &new.chain {
        if chain != &existing.chain {
            return Err(differs(
                "chain",
                format!("{:?}", existing.chain),
                format!("{chain:?}"),
            ));
        }
    }
    let filter = CommissionFilter {
        sale: Some(existing.id.clone()),
        ..CommissionFilter::default()
    };
    let mut commissions = ctx.tx.commissions(&ctx.scope.tenant, &filter)?;
    commissions.sort_by_key(|c| c.chain_level);
    Ok(SaleOutcome {
        sale: existing,
        commissions,
        replayed: true,
    })
}

/// Loads the chain's affiliates: none twice, all in the tenant.
pub(crate) fn load_chain(ctx: &mut Ctx<'_>, chain: &[AffiliateId]) -> Result<Vec<ChainMember>> {
    load_chain_with(ctx, &mut SaleReads::default(), chain)
}

/// [`load_chain`] through a cache.
fn load_chain_with(
    ctx: &mut Ctx<'_>,
    reads: &mut SaleReads,
    chain: &[AffiliateId],
) -> Result<Vec<ChainMember>> {
    if chain.is_empty() {
        return Err(Error::validation("chain", "must not be empty"));
    }
    if chain.len() > MAX_CHAIN_DEPTH {
        return Err(Error::validation(
            "chain",
            format!("has {} levels, more than {MAX_CHAIN_DEPTH}", chain.len()),
        ));
    }
    let mut seen = HashSet::with_capacity(chain.len());
    let mut members = Vec::with_capacity(chain.len());
    for id in chain {
        if !seen.insert(id) {
            return Err(Error::validation(
                "chain",
                format!("{id} appears more than once"),
            ));
        }
        let read = reads
            .affiliate(ctx, id)?
            .ok_or_else(|| Error::not_found("affiliate", id))?;
        members.push(read.member.clone());
    }
    Ok(members)
}
