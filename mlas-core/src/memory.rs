//! The in-memory backend: for tests, examples and hosts that keep nothing.
//!
//! One mutex guards everything, so transactions run one at a time. A write
//! transaction keeps an undo log and replays it backwards on rollback.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::affiliate::Affiliate;
use crate::audit::{AuditHead, AuditQuery, AuditRecord, AuditRow};
use crate::commission::{Adjustment, Commission};
use crate::error::{Error, Result};
use crate::ids::{
    AdjustmentId, AffiliateId, BatchId, CommissionId, PayoutId, RefundId, RuleId, SaleId, TenantId,
};
use crate::payout::{Payout, PayoutBatch};
use crate::rule::Rule;
use crate::sale::{Refund, Sale};
use crate::store::{
    AdjustmentFilter, AuditCheckpoint, CommissionFilter, PayoutFilter, Store, StoreInfo, Tx,
};

type Key<I> = (TenantId, I);

#[derive(Default)]
struct State {
    affiliates: BTreeMap<Key<AffiliateId>, Affiliate>,
    rules: BTreeMap<(TenantId, RuleId, u32), Rule>,
    sales: BTreeMap<Key<SaleId>, (Sale, serde_json::Value)>,
    commissions: BTreeMap<Key<CommissionId>, Commission>,
    commissions_by_sale: BTreeMap<Key<SaleId>, Vec<CommissionId>>,
    refunds: BTreeMap<Key<RefundId>, Refund>,
    adjustments: BTreeMap<Key<AdjustmentId>, Adjustment>,
    batches: BTreeMap<Key<BatchId>, PayoutBatch>,
    payouts: BTreeMap<Key<PayoutId>, Payout>,
    audit: BTreeMap<Key<u64>, AuditRecord>,
    anchors: BTreeMap<TenantId, AuditCheckpoint>,
}

type UndoStep = Box<dyn FnOnce(&mut State) + Send>;

/// A store that lives in memory and is gone when dropped.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic inside a transaction has already been rolled back by the
        // guard below, so the state behind a poisoned lock is consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

/// Rolls back whatever the transaction did unless it was committed, also when
/// the work panics.
struct MemoryTx<'a> {
    state: MutexGuard<'a, State>,
    undo: Vec<UndoStep>,
    read_only: bool,
    committed: bool,
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        if !self.committed {
            while let Some(step) = self.undo.pop() {
                step(&mut self.state);
            }
        }
    }
}

impl Store for MemoryStore {
    fn write(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut tx = MemoryTx {
            state: self.lock(),
            undo: Vec::new(),
            read_only: false,
            committed: false,
        };
        work(&mut tx)?;
        tx.committed = true;
        Ok(())
    }

    fn read(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut tx = MemoryTx {
            state: self.lock(),
            undo: Vec::new(),
            read_only: true,
            committed: false,
        };
        work(&mut tx)
    }

    fn describe(&self) -> StoreInfo {
        StoreInfo {
            backend: "memory",
            schema_version: None,
        }
    }
}

fn restore<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, old: Option<V>) {
    match old {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}

macro_rules! put_row {
    ($tx:ident, $table:ident, $key:expr, $value:expr) => {{
        $tx.writable()?;
        let key = $key;
        let old = $tx.state.$table.insert(key.clone(), $value);
        $tx.undo.push(Box::new(move |s: &mut State| {
            restore(&mut s.$table, key, old)
        }));
    }};
}

impl MemoryTx<'_> {
    fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::storage("write attempted in a read-only transaction"))
        } else {
            Ok(())
        }
    }
}

fn rows<'m, I: Ord + Clone + 'm, V: 'm>(
    map: &'m BTreeMap<Key<I>, V>,
    tenant: &'m TenantId,
) -> impl Iterator<Item = &'m V> + 'm {
    map.iter()
        .filter(move |((t, _), _)| t == tenant)
        .map(|(_, v)| v)
}

fn limited<T>(iter: impl Iterator<Item = T>, limit: Option<usize>) -> Vec<T> {
    iter.take(limit.unwrap_or(usize::MAX)).collect()
}

impl Tx for MemoryTx<'_> {
    fn affiliate(&mut self, tenant: &TenantId, id: &AffiliateId) -> Result<Option<Affiliate>> {
        Ok(self
            .state
            .affiliates
            .get(&(tenant.clone(), id.clone()))
            .cloned())
    }

    fn put_affiliate(&mut self, affiliate: &Affiliate) -> Result<()> {
        put_row!(
            self,
            affiliates,
            (affiliate.tenant.clone(), affiliate.id.clone()),
            affiliate.clone()
        );
        Ok(())
    }

    fn affiliates(&mut self, tenant: &TenantId) -> Result<Vec<Affiliate>> {
        Ok(rows(&self.state.affiliates, tenant).cloned().collect())
    }

    fn rule(
        &mut self,
        tenant: &TenantId,
        id: &RuleId,
        version: Option<u32>,
    ) -> Result<Option<Rule>> {
        let lo = (tenant.clone(), id.clone(), 0);
        let hi = (tenant.clone(), id.clone(), u32::MAX);
        let mut versions = self.state.rules.range(lo..=hi).map(|(_, r)| r);
        Ok(match version {
            Some(v) => versions.find(|r| r.version == v).cloned(),
            None => versions.next_back().cloned(),
        })
    }

    fn insert_rule(&mut self, rule: &Rule) -> Result<()> {
        let key = (rule.tenant.clone(), rule.id.clone(), rule.version);
        if self.state.rules.contains_key(&key) {
            return Err(Error::conflict(
                "rule",
                &rule.id,
                format!("version {} exists", rule.version),
            ));
        }
        put_row!(self, rules, key, rule.clone());
        Ok(())
    }

    fn rules(&mut self, tenant: &TenantId) -> Result<Vec<Rule>> {
        let mut latest: BTreeMap<&RuleId, &Rule> = BTreeMap::new();
        for ((t, id, _), rule) in &self.state.rules {
            if t == tenant {
                latest.insert(id, rule);
            }
        }
        Ok(latest.into_values().cloned().collect())
    }

    fn rule_versions(&mut self, tenant: &TenantId, id: &RuleId) -> Result<Vec<Rule>> {
        let lo = (tenant.clone(), id.clone(), 0);
        let hi = (tenant.clone(), id.clone(), u32::MAX);
        Ok(self
            .state
            .rules
            .range(lo..=hi)
            .map(|(_, r)| r.clone())
            .collect())
    }

    fn sale(&mut self, tenant: &TenantId, id: &SaleId) -> Result<Option<Sale>> {
        Ok(self
            .state
            .sales
            .get(&(tenant.clone(), id.clone()))
            .map(|(s, _)| s.clone()))
    }

    fn put_sale(&mut self, sale: &Sale, explanation: &serde_json::Value) -> Result<()> {
        put_row!(
            self,
            sales,
            (sale.tenant.clone(), sale.id.clone()),
            (sale.clone(), explanation.clone())
        );
        Ok(())
    }

    fn sale_explanation(
        &mut self,
        tenant: &TenantId,
        id: &SaleId,
    ) -> Result<Option<serde_json::Value>> {
        Ok(self
            .state
            .sales
            .get(&(tenant.clone(), id.clone()))
            .map(|(_, e)| e.clone()))
    }

    fn commission(&mut self, tenant: &TenantId, id: &CommissionId) -> Result<Option<Commission>> {
        Ok(self
            .state
            .commissions
            .get(&(tenant.clone(), id.clone()))
            .cloned())
    }

    fn put_commission(&mut self, commission: &Commission) -> Result<()> {
        self.writable()?;
        let key = (commission.tenant.clone(), commission.id.clone());
        let old_sale = self.state.commissions.get(&key).map(|c| c.sale.clone());
        // The by-sale index must follow a replacement that changes the sale,
        // or a filter by the new sale would miss the commission.
        if old_sale.as_ref() != Some(&commission.sale) {
            if let Some(old_sale) = old_sale {
                let old_key = (commission.tenant.clone(), old_sale);
                let ids = self
                    .state
                    .commissions_by_sale
                    .entry(old_key.clone())
                    .or_default();
                if let Some(pos) = ids.iter().position(|id| id == &commission.id) {
                    let id = ids.remove(pos);
                    self.undo.push(Box::new(move |s: &mut State| {
                        s.commissions_by_sale
                            .entry(old_key)
                            .or_default()
                            .insert(pos, id);
                    }));
                }
            }
            let sale_key = (commission.tenant.clone(), commission.sale.clone());
            self.state
                .commissions_by_sale
                .entry(sale_key.clone())
                .or_default()
                .push(commission.id.clone());
            self.undo.push(Box::new(move |s: &mut State| {
                if let Some(ids) = s.commissions_by_sale.get_mut(&sale_key) {
                    ids.pop();
                }
            }));
        }
        put_row!(self, commissions, key, commission.clone());
        Ok(())
    }

    fn commissions(
        &mut self,
        tenant: &TenantId,
        filter: &CommissionFilter,
    ) -> Result<Vec<Commission>> {
        let keep = |c: &&Commission| {
            filter.status.is_none_or(|s| c.status == s)
                && filter.affiliate.as_ref().is_none_or(|a| &c.affiliate == a)
                && filter.sale.as_ref().is_none_or(|s| &c.sale == s)
        };
        if let Some(sale) = &filter.sale {
            let ids = self
                .state
                .commissions_by_sale
                .get(&(tenant.clone(), sale.clone()));
            let found = ids
                .into_iter()
                .flatten()
                .filter_map(|id| self.state.commissions.get(&(tenant.clone(), id.clone())))
                .filter(keep)
                .cloned();
            let mut found: Vec<Commission> = found.collect();
            found.sort_by(|a, b| a.id.cmp(&b.id));
            found.truncate(filter.limit.unwrap_or(usize::MAX));
            return Ok(found);
        }
        Ok(limited(
            rows(&self.state.commissions, tenant).filter(keep).cloned(),
            filter.limit,
        ))
    }

    fn refund(&mut self, tenant: &TenantId, id: &RefundId) -> Result<Option<Refund>> {
        Ok(self
            .state
            .refunds
            .get(&(tenant.clone(), id.clone()))
            .cloned())
    }

    fn put_refund(&mut self, refund: &Refund) -> Result<()> {
        put_row!(
            self,
            refunds,
            (refund.tenant.clone(), refund.id.clone()),
            refund.clone()
        );
        Ok(())
    }

    fn adjustment(&mut self, tenant: &TenantId, id: &AdjustmentId) -> Result<Option<Adjustment>> {
        Ok(self
            .state
            .adjustments
            .get(&(tenant.clone(), id.clone()))
            .cloned())
    }

    fn put_adjustment(&mut self, adjustment: &Adjustment) -> Result<()> {
        put_row!(
            self,
            adjustments,
            (adjustment.tenant.clone(), adjustment.id.clone()),
            adjustment.clone()
        );
        Ok(())
    }

    fn adjustments(
        &mut self,
        tenant: &TenantId,
        filter: &AdjustmentFilter,
    ) -> Result<Vec<Adjustment>> {
        Ok(rows(&self.state.adjustments, tenant)
            .filter(|a| {
                filter.affiliate.as_ref().is_none_or(|f| &a.affiliate == f)
                    && (!filter.open_only || a.payout.is_none())
                    && filter
                        .payout
                        .as_ref()
                        .is_none_or(|p| a.payout.as_ref() == Some(p))
            })
            .cloned()
            .collect())
    }

    fn batch(&mut self, tenant: &TenantId, id: &BatchId) -> Result<Option<PayoutBatch>> {
        Ok(self
            .state
            .batches
            .get(&(tenant.clone(), id.clone()))
            .cloned())
    }

    fn put_batch(&mut self, batch: &PayoutBatch) -> Result<()> {
        put_row!(
            self,
            batches,
            (batch.tenant.clone(), batch.id.clone()),
            batch.clone()
        );
        Ok(())
    }

    fn payout(&mut self, tenant: &TenantId, id: &PayoutId) -> Result<Option<Payout>> {
        Ok(self
            .state
            .payouts
            .get(&(tenant.clone(), id.clone()))
            .cloned())
    }

    fn put_payout(&mut self, payout: &Payout) -> Result<()> {
        put_row!(
            self,
            payouts,
            (payout.tenant.clone(), payout.id.clone()),
            payout.clone()
        );
        Ok(())
    }

    fn payouts(&mut self, tenant: &TenantId, filter: &PayoutFilter) -> Result<Vec<Payout>> {
        let keep = |p: &&Payout| {
            filter.batch.as_ref().is_none_or(|b| &p.batch == b)
                && filter.status.is_none_or(|s| p.status == s)
                && filter.affiliate.as_ref().is_none_or(|a| &p.affiliate == a)
        };
        Ok(limited(
            rows(&self.state.payouts, tenant).filter(keep).cloned(),
            filter.limit,
        ))
    }

    fn audit_head(&mut self, tenant: &TenantId) -> Result<Option<AuditHead>> {
        let lo = (tenant.clone(), 0);
        let hi = (tenant.clone(), u64::MAX);
        let last = self.state.audit.range(lo..=hi).next_back().map(|(_, r)| r);
        let anchor = self.state.anchors.get(tenant);
        Ok(match (last, anchor) {
            (Some(r), _) => Some(AuditHead {
                seq: r.seq,
                hash: r.hash.clone(),
            }),
            (None, Some(a)) => Some(AuditHead {
                seq: a.seq,
                hash: a.hash.clone(),
            }),
            (None, None) => None,
        })
    }

    fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        let expected = self.audit_head(&record.tenant)?.map_or(1, |h| h.seq + 1);
        if record.seq != expected {
            return Err(Error::storage(format!(
                "audit record {} does not follow the head (expected {expected})",
                record.seq
            )));
        }
        put_row!(
            self,
            audit,
            (record.tenant.clone(), record.seq),
            record.clone()
        );
        Ok(())
    }

    fn scan_audit(
        &mut self,
        tenant: &TenantId,
        from_seq: u64,
        visit: &mut dyn FnMut(AuditRecord) -> Result<bool>,
    ) -> Result<()> {
        let lo = (tenant.clone(), from_seq);
        let hi = (tenant.clone(), u64::MAX);
        for (_, record) in self.state.audit.range(lo..=hi) {
            if !visit(record.clone())? {
                break;
            }
        }
        Ok(())
    }

    fn scan_audit_rows(
        &mut self,
        tenant: &TenantId,
        from_seq: u64,
        visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<bool>,
    ) -> Result<()> {
        let lo = (tenant.clone(), from_seq);
        let hi = (tenant.clone(), u64::MAX);
        for (_, record) in self.state.audit.range(lo..=hi) {
            if !visit(&record.as_row())? {
                break;
            }
        }
        Ok(())
    }

    fn query_audit(&mut self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let lo = (
            tenant.clone(),
            query.after_seq.map_or(0, |s| s.saturating_add(1)),
        );
        let hi = (tenant.clone(), u64::MAX);
        let found = self.state.audit.range(lo..=hi).map(|(_, r)| r).filter(|r| {
            query
                .resource_id
                .as_ref()
                .is_none_or(|id| &r.resource_id == id)
                && query
                    .affiliate_id
                    .as_ref()
                    .is_none_or(|a| r.affiliate_id.as_ref() == Some(a))
                && query.kind.as_ref().is_none_or(|k| &r.kind == k)
                && query.from.is_none_or(|f| r.at >= f)
                && query.until.is_none_or(|u| r.at < u)
        });
        Ok(limited(found.cloned(), query.limit))
    }

    fn delete_audit_through(&mut self, tenant: &TenantId, through_seq: u64) -> Result<u64> {
        self.writable()?;
        let lo = (tenant.clone(), 0);
        let hi = (tenant.clone(), through_seq);
        let doomed: Vec<Key<u64>> = self
            .state
            .audit
            .range(lo..=hi)
            .map(|(k, _)| k.clone())
            .collect();
        for key in &doomed {
            let old = self.state.audit.remove(key);
            let key = key.clone();
            self.undo.push(Box::new(move |s: &mut State| {
                restore(&mut s.audit, key, old);
            }));
        }
        Ok(doomed.len() as u64)
    }

    fn audit_anchor(&mut self, tenant: &TenantId) -> Result<Option<AuditCheckpoint>> {
        Ok(self.state.anchors.get(tenant).cloned())
    }

    fn put_audit_anchor(&mut self, checkpoint: &AuditCheckpoint) -> Result<()> {
        put_row!(self, anchors, checkpoint.tenant.clone(), checkpoint.clone());
        Ok(())
    }
}
