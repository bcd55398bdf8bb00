//! The JSON documents libmlas returns. Their schema is documented in the
//! header and in README.md; money is always a decimal string, times are
//! integers of microseconds since the Unix epoch (UTC), ids are strings, and
//! account numbers and IBANs are masked to their last four characters.

use chrono::{DateTime, Utc};
use mlas_core::clock::to_micros;
use mlas_core::{
    Adjustment, Affiliate, Commission, Money, RecalculationOutcome, Refund, Rule, Sale, SaleOutcome,
};
use serde_json::{Value, json};

use crate::boundary::{Failure, Outcome};

pub(crate) fn time(t: DateTime<Utc>) -> Value {
    Value::from(to_micros(t))
}

pub(crate) fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, time)
}

pub(crate) fn money(m: Money) -> Value {
    Value::String(m.amount().to_string())
}

fn opt_str<T: AsRef<str>>(s: Option<&T>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.as_ref().to_owned()))
}

/// Serialises a value of a core type that derives `Serialize`.
pub(crate) fn serde<T: serde::Serialize>(value: &T) -> Outcome<Value> {
    serde_json::to_value(value)
        .map_err(|e| Failure::internal(format!("internal error: cannot write JSON: {e}")))
}

pub(crate) fn affiliate(a: &Affiliate) -> Value {
    json!({
        "id": a.id.as_str(),
        "name": a.name,
        "email": a.email,
        "status": a.status.as_str(),
        "tier": a.tier,
        "commission_rate": a.commission_rate.normalize().to_string(),
        "payout_method": a.payout.as_ref().map(|p| p.method().as_str()),
        "payout_details": a.payout.as_ref().map(mlas_core::PayoutDetails::masked_json),
        "sponsor_id": opt_str(a.sponsor.as_ref()),
        "created_at": time(a.created_at),
        "updated_at": time(a.updated_at),
    })
}

pub(crate) fn rule(r: &Rule) -> Outcome<Value> {
    let s = &r.spec;
    Ok(json!({
        "id": r.id.as_str(),
        "version": r.version,
        "name": s.name,
        "priority": s.priority,
        "active": s.active,
        "valid_from": opt_time(s.valid_from),
        "valid_until": opt_time(s.valid_until),
        "conditions": serde(&s.conditions)?,
        "levels": serde(&s.levels)?,
        "compression": s.compression,
        "total_cap_percent": s.total_cap_percent.map(|d| d.normalize().to_string()),
        "currency": s.currency.map(|c| c.code().to_owned()),
        "holding_days": s.holding_days,
        "created_at": time(r.created_at),
        "version_created_at": time(r.version_created_at),
    }))
}

pub(crate) fn sale(s: &Sale) -> Value {
    json!({
        "id": s.id.as_str(),
        "amount": money(s.amount),
        "currency": s.amount.currency().code(),
        "refunded": money(s.refunded),
        "occurred_at": time(s.occurred_at),
        "affiliate_id": opt_str(s.chain.first()),
        "chain": s.chain.iter().map(mlas_core::AffiliateId::as_str).collect::<Vec<_>>(),
        "attribution_type": s.attribution_type,
        "buyer_id": opt_str(s.buyer.as_ref()),
        "attributes": s.attributes,
        "recorded_at": time(s.recorded_at),
    })
}

pub(crate) fn commission(c: &Commission) -> Outcome<Value> {
    Ok(json!({
        "id": c.id.as_str(),
        "sale_id": c.sale.as_str(),
        "affiliate_id": c.affiliate.as_str(),
        "chain_level": c.chain_level,
        "paid_level": c.paid_level,
        "currency": c.amount.currency().code(),
        "base_amount": money(c.base_amount),
        "rate": serde(&c.rate)?,
        "percent": c.percent.map(|p| p.normalize().to_string()),
        "rule_id": opt_str(c.rule_id.as_ref()),
        "rule_version": c.rule_version,
        "original_amount": money(c.original_amount),
        "amount": money(c.amount),
        "reversed_amount": money(c.reversed_amount),
        "adjusted": money(c.adjusted),
        "status": c.status.as_str(),
        "status_reason": c.status_reason,
        "available_at": time(c.available_at),
        "payout_id": opt_str(c.payout.as_ref()),
        "created_at": time(c.created_at),
        "updated_at": time(c.updated_at),
    }))
}

pub(crate) fn commissions(cs: &[Commission]) -> Outcome<Value> {
    cs.iter()
        .map(commission)
        .collect::<Outcome<Vec<_>>>()
        .map(Value::Array)
}

pub(crate) fn sale_outcome(o: &SaleOutcome) -> Outcome<Value> {
    Ok(json!({
        "sale": sale(&o.sale),
        "commissions": commissions(&o.commissions)?,
        "replayed": o.replayed,
    }))
}

pub(crate) fn refund(r: &Refund) -> Value {
    json!({
        "id": r.id.as_str(),
        "sale_id": r.sale.as_str(),
        "amount": money(r.amount),
        "currency": r.amount.currency().code(),
        "reason": r.reason,
        "reversals": r.reversals.iter().map(|v| json!({
            "commission_id": v.commission.as_str(),
            "affiliate_id": v.affiliate.as_str(),
            "amount": money(v.amount),
            "adjustment_id": opt_str(v.adjustment.as_ref()),
        })).collect::<Vec<_>>(),
        "created_at": time(r.created_at),
    })
}

pub(crate) fn adjustment(a: &Adjustment) -> Value {
    json!({
        "id": a.id.as_str(),
        "affiliate_id": a.affiliate.as_str(),
        "amount": money(a.amount),
        "currency": a.amount.currency().code(),
        "kind": a.kind.as_str(),
        "reason": a.reason,
        "commission_id": opt_str(a.commission.as_ref()),
        "sale_id": opt_str(a.sale.as_ref()),
        "refund_id": opt_str(a.refund.as_ref()),
        "payout_id": opt_str(a.payout.as_ref()),
        "created_at": time(a.created_at),
    })
}

pub(crate) fn recalculation(o: &RecalculationOutcome) -> Outcome<Value> {
    Ok(json!({
        "commissions": commissions(&o.commissions)?,
        "adjustments": o.adjustments.iter().map(adjustment).collect::<Vec<_>>(),
        "changed": o.changed,
    }))
}
