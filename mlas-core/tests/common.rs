//! Helpers shared by the engine tests: a fixed clock, a scope, tiny builders.

#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use mlas_core::{
    AffiliateId, Currency, Decimal, Engine, FixedClock, Money, NewAffiliate, NewSale, SaleId, Scope,
};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap()
}

pub fn engine() -> (Engine, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(t0()));
    (Engine::in_memory().with_clock(clock.clone()), clock)
}

pub fn scope() -> Scope {
    Scope::new("org-123", "tester").unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, Currency::parse(currency).unwrap(), "amount").unwrap()
}

pub fn aid(id: &str) -> AffiliateId {
    AffiliateId::new(id).unwrap()
}

/// Creates affiliates `ids[0]` sponsored by `ids[1]` sponsored by ... (a line).
pub fn line_of(engine: &Engine, scope: &Scope, ids: &[&str], rate: &str) {
    for (i, id) in ids.iter().enumerate().rev() {
        let mut new = NewAffiliate::new(
            format!("Affiliate {id}"),
            format!("{id}@example.com"),
            dec(rate),
        );
        new.id = Some(aid(id));
        new.sponsor = ids.get(i + 1).map(|s| aid(s));
        engine.create_affiliate(scope, new).unwrap();
    }
}

pub fn sale(id: &str, amount: Money, affiliate: &str) -> NewSale {
    NewSale::new(SaleId::new(id).unwrap(), amount, t0(), aid(affiliate))
}

/// How long the tenant's audit chain is, read straight from the store.
pub trait AuditLen {
    fn audit_records_len(&self, scope: &Scope) -> u64;
}

impl AuditLen for Engine {
    fn audit_records_len(&self, scope: &Scope) -> u64 {
        let mut seq = 0;
        self.store()
            .read(&mut |tx| {
                seq = tx.audit_head(scope.tenant())?.map_or(0, |h| h.seq);
                Ok(())
            })
            .unwrap();
        seq
    }
}
