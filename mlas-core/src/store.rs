//! The storage trait: what a backend must do for the engine.
//!
//! One engine operation is one call to [`Store::write`]: the state change and
//! its audit records commit together or not at all. A backend may run the work
//! again when its database asks for a retry (a busy SQLite file, a PostgreSQL
//! serialization failure), so the work must have no effect outside the
//! transaction it is given. Every method is scoped to one tenant.
//!
//! What the engine guarantees a backend: by the time a transaction commits,
//! every reference it wrote points at a row that exists (a commission's sale
//! and affiliate, a refund's sale, a payout's batch and affiliate, an
//! adjustment's affiliate, a sponsor), so a backend may enforce foreign keys
//! at commit; all amounts of one row share one currency; times carry whole
//! microseconds.
//!
//! [`Tx::audit_head`] must read the head under the transaction's write lock
//! (SQLite's IMMEDIATE transaction; `SELECT ... FOR UPDATE` on a networked
//! database), so that two writers never chain onto the same record.

use std::collections::BTreeMap;

use crate::affiliate::Affiliate;
use crate::audit::{AuditHead, AuditQuery, AuditRecord, AuditRow};
use crate::commission::{Adjustment, Commission, CommissionStatus};
use crate::error::Result;
use crate::ids::{
    AdjustmentId, AffiliateId, BatchId, CommissionId, PayoutId, RefundId, RuleId, SaleId, TenantId,
};
use crate::money::{Currency, Money};
use crate::payout::{Payout, PayoutBatch, PayoutStatus};
use crate::rule::Rule;
use crate::sale::{Refund, Sale};

/// A filter over a tenant's commissions, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommissionFilter {
    /// Only this status.
    pub status: Option<CommissionStatus>,
    /// Only this affiliate's.
    pub affiliate: Option<AffiliateId>,
    /// Only this sale's.
    pub sale: Option<SaleId>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// A filter over a tenant's adjustments, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdjustmentFilter {
    /// Only this affiliate's.
    pub affiliate: Option<AffiliateId>,
    /// Only those not yet netted into a payout.
    pub open_only: bool,
    /// Only those netted into this payout.
    pub payout: Option<PayoutId>,
}

/// A filter over a tenant's payouts, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayoutFilter {
    /// Only this batch's.
    pub batch: Option<BatchId>,
    /// Only this status.
    pub status: Option<PayoutStatus>,
    /// Only this affiliate's.
    pub affiliate: Option<AffiliateId>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// A status change applied to a list of commissions by
/// [`Tx::move_commissions`]: each one that is `from` in `from_payout` becomes
/// `to` in `to_payout`, with `updated_at` set to `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommissionMove<'a> {
    /// The status a commission must have to be moved.
    pub from: CommissionStatus,
    /// The payout it must be in (`None`: in none).
    pub from_payout: Option<&'a PayoutId>,
    /// Its new status.
    pub to: CommissionStatus,
    /// Its new payout (`None`: none).
    pub to_payout: Option<&'a PayoutId>,
    /// Its new `updated_at`.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// An APPROVED commission in no payout, as scheduling reads it: one row of
/// [`Tx::payable_commissions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayableCommission {
    /// The commission.
    pub id: CommissionId,
    /// Who earned it.
    pub affiliate: AffiliateId,
    /// Its current amount.
    pub amount: Money,
}

impl PayableCommission {
    /// What scheduling needs of a whole commission.
    #[must_use]
    pub fn of(commission: Commission) -> Self {
        PayableCommission {
            id: commission.id,
            affiliate: commission.affiliate,
            amount: commission.amount,
        }
    }
}

/// A payout without its commission and adjustment lists, as batch
/// processing and batch statistics read it: one row of [`Tx::payout_heads`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutHead {
    /// The payout.
    pub id: PayoutId,
    /// Where it is in its lifecycle.
    pub status: PayoutStatus,
    /// What it pays.
    pub amount: Money,
    /// How many times it has been sent.
    pub attempts: u32,
}

impl PayoutHead {
    /// The head of a whole payout.
    #[must_use]
    pub fn of(payout: &Payout) -> Self {
        PayoutHead {
            id: payout.id.clone(),
            status: payout.status,
            amount: payout.amount,
            attempts: payout.attempts,
        }
    }
}

/// How many of a tenant's commissions are in one status and currency, and the
/// sum of their original amounts: one row of [`Tx::commission_tallies`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommissionTally {
    /// The status counted.
    pub status: CommissionStatus,
    /// The currency counted.
    pub currency: Currency,
    /// How many commissions.
    pub count: u64,
    /// The sum of their original amounts, in minor units.
    pub original_minor: i128,
}

/// How many of a tenant's payouts are in one batch and status: one row of
/// [`Tx::payout_tallies`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutTally {
    /// The batch counted.
    pub batch: BatchId,
    /// The status counted.
    pub status: PayoutStatus,
    /// How many payouts.
    pub count: u64,
    /// How many of them were handed to the provider at least once.
    pub sent: u64,
    /// How many of them were handed to the provider more than once.
    pub retried: u64,
}

/// A checkpoint: the position and hash of one audit record, kept so a chain can
/// be verified from it (after archiving) or against it (to catch a rewritten tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpoint {
    /// The tenant.
    pub tenant: TenantId,
    /// The record's sequence number.
    pub seq: u64,
    /// The record's hash.
    pub hash: String,
    /// When the checkpoint was taken.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One transaction. Reads see the transaction's own writes.
pub trait Tx {
    /// The affiliate, if it exists in the tenant.
    fn affiliate(&mut self, tenant: &TenantId, id: &AffiliateId) -> Result<Option<Affiliate>>;
    /// Inserts or replaces an affiliate.
    fn put_affiliate(&mut self, affiliate: &Affiliate) -> Result<()>;
    /// All affiliates of the tenant, by id.
    fn affiliates(&mut self, tenant: &TenantId) -> Result<Vec<Affiliate>>;

    /// A rule version (`None`: the latest).
    fn rule(
        &mut self,
        tenant: &TenantId,
        id: &RuleId,
        version: Option<u32>,
    ) -> Result<Option<Rule>>;
    /// Stores a new rule version; an existing (id, version) is a conflict.
    fn insert_rule(&mut self, rule: &Rule) -> Result<()>;
    /// The latest version of every rule of the tenant.
    fn rules(&mut self, tenant: &TenantId) -> Result<Vec<Rule>>;
    /// Every version of one rule, oldest first.
    fn rule_versions(&mut self, tenant: &TenantId, id: &RuleId) -> Result<Vec<Rule>>;

    /// The sale, if recorded.
    fn sale(&mut self, tenant: &TenantId, id: &SaleId) -> Result<Option<Sale>>;
    /// Inserts or replaces a sale, with its explanation as JSON.
    fn put_sale(&mut self, sale: &Sale, explanation: &serde_json::Value) -> Result<()>;
    /// Sets how much of a sale has been refunded, leaving the rest of the row
    /// (its explanation included) as it is.
    ///
    /// The default reads and replaces the sale; a backend may update the one
    /// column instead.
    ///
    /// # Errors
    /// `NotFound` when the sale does not exist in the tenant.
    fn set_sale_refunded(
        &mut self,
        tenant: &TenantId,
        id: &SaleId,
        refunded: crate::money::Money,
    ) -> Result<()> {
        let not_found = || crate::error::Error::not_found("sale", id);
        let mut sale = self.sale(tenant, id)?.ok_or_else(not_found)?;
        let explanation = self.sale_explanation(tenant, id)?.ok_or_else(not_found)?;
        sale.refunded = refunded;
        self.put_sale(&sale, &explanation)
    }
    /// The stored explanation of a sale's calculation.
    fn sale_explanation(
        &mut self,
        tenant: &TenantId,
        id: &SaleId,
    ) -> Result<Option<serde_json::Value>>;

    /// The commission, if it exists.
    fn commission(&mut self, tenant: &TenantId, id: &CommissionId) -> Result<Option<Commission>>;
    /// Inserts or replaces a commission.
    fn put_commission(&mut self, commission: &Commission) -> Result<()>;
    /// Applies `change` to each commission of `ids` that matches its `from` and
    /// `from_payout`, leaving every other field as it is. Returns, in the order
    /// given, the ids it left alone: unknown, or in another status or payout.
    ///
    /// The default reads and replaces each commission; a backend may do it
    /// with a narrower update (payouts move thousands of commissions at a time).
    fn move_commissions(
        &mut self,
        tenant: &TenantId,
        ids: &[CommissionId],
        change: &CommissionMove<'_>,
    ) -> Result<Vec<CommissionId>> {
        let mut skipped = Vec::new();
        for id in ids {
            match self.commission(tenant, id)? {
                Some(mut commission)
                    if commission.status == change.from
                        && commission.payout.as_ref() == change.from_payout =>
                {
                    commission.status = change.to;
                    commission.payout = change.to_payout.cloned();
                    commission.updated_at = change.at;
                    self.put_commission(&commission)?;
                }
                _ => skipped.push(id.clone()),
            }
        }
        Ok(skipped)
    }
    /// Commissions matching the filter, in id order (ids the library makes sort
    /// by creation time).
    fn commissions(
        &mut self,
        tenant: &TenantId,
        filter: &CommissionFilter,
    ) -> Result<Vec<Commission>>;

    /// The tenant's APPROVED commissions that are in no payout, in id order,
    /// with only what scheduling needs: a batch of all approved commissions
    /// reads this instead of every full row.
    ///
    /// The default goes through [`Tx::commissions`]; a backend may read an
    /// index that holds these columns.
    fn payable_commissions(&mut self, tenant: &TenantId) -> Result<Vec<PayableCommission>> {
        let filter = CommissionFilter {
            status: Some(CommissionStatus::Approved),
            ..CommissionFilter::default()
        };
        let approved = self.commissions(tenant, &filter)?;
        Ok(approved
            .into_iter()
            .filter(|c| c.payout.is_none())
            .map(PayableCommission::of)
            .collect())
    }

    /// The tenant's commissions counted per status and currency (ordered by
    /// status, then currency code, as text), with the sum of their original
    /// amounts: what metrics report, without reading every commission.
    ///
    /// The default reads every commission; a backend should count where the
    /// rows are.
    fn commission_tallies(&mut self, tenant: &TenantId) -> Result<Vec<CommissionTally>> {
        let mut tallies: BTreeMap<(&'static str, String), CommissionTally> = BTreeMap::new();
        for c in self.commissions(tenant, &CommissionFilter::default())? {
            let currency = c.original_amount.currency();
            let tally = tallies
                .entry((c.status.as_str(), currency.code().to_owned()))
                .or_insert(CommissionTally {
                    status: c.status,
                    currency,
                    count: 0,
                    original_minor: 0,
                });
            tally.count += 1;
            tally.original_minor += i128::from(c.original_amount.minor());
        }
        Ok(tallies.into_values().collect())
    }

    /// The refund, if recorded.
    fn refund(&mut self, tenant: &TenantId, id: &RefundId) -> Result<Option<Refund>>;
    /// Inserts a refund.
    fn put_refund(&mut self, refund: &Refund) -> Result<()>;

    /// The adjustment, if it exists.
    fn adjustment(&mut self, tenant: &TenantId, id: &AdjustmentId) -> Result<Option<Adjustment>>;
    /// Inserts or replaces an adjustment.
    fn put_adjustment(&mut self, adjustment: &Adjustment) -> Result<()>;
    /// Adjustments matching the filter, in id order.
    fn adjustments(
        &mut self,
        tenant: &TenantId,
        filter: &AdjustmentFilter,
    ) -> Result<Vec<Adjustment>>;

    /// The batch, if it exists.
    fn batch(&mut self, tenant: &TenantId, id: &BatchId) -> Result<Option<PayoutBatch>>;
    /// Inserts or replaces a batch.
    fn put_batch(&mut self, batch: &PayoutBatch) -> Result<()>;

    /// The payout, if it exists.
    fn payout(&mut self, tenant: &TenantId, id: &PayoutId) -> Result<Option<Payout>>;
    /// Inserts or replaces a payout.
    fn put_payout(&mut self, payout: &Payout) -> Result<()>;
    /// Payouts matching the filter, in id order.
    fn payouts(&mut self, tenant: &TenantId, filter: &PayoutFilter) -> Result<Vec<Payout>>;
    /// The payouts [`Tx::payouts`] lists for `filter`, without their lists:
    /// what a batch's processing and statistics need, for a fraction of the
    /// reading (a payout lists up to thousands of commission ids).
    ///
    /// The default goes through [`Tx::payouts`]; a backend may leave the
    /// lists unread.
    fn payout_heads(
        &mut self,
        tenant: &TenantId,
        filter: &PayoutFilter,
    ) -> Result<Vec<PayoutHead>> {
        Ok(self
            .payouts(tenant, filter)?
            .iter()
            .map(PayoutHead::of)
            .collect())
    }
    /// The tenant's payouts counted per batch and status (ordered by batch id,
    /// then status, as text), with how many were sent once or more: what
    /// metrics report, without reading every payout and its id lists.
    ///
    /// The default reads every payout; a backend should count where the rows
    /// are.
    fn payout_tallies(&mut self, tenant: &TenantId) -> Result<Vec<PayoutTally>> {
        let mut tallies: BTreeMap<(BatchId, &'static str), PayoutTally> = BTreeMap::new();
        for p in self.payouts(tenant, &PayoutFilter::default())? {
            let tally = tallies
                .entry((p.batch.clone(), p.status.as_str()))
                .or_insert_with(|| PayoutTally {
                    batch: p.batch.clone(),
                    status: p.status,
                    count: 0,
                    sent: 0,
                    retried: 0,
                });
            tally.count += 1;
            tally.sent += u64::from(p.attempts > 0);
            tally.retried += u64::from(p.attempts > 1);
        }
        Ok(tallies.into_values().collect())
    }

    /// The tenant's last audit record, read under the write lock.
    fn audit_head(&mut self, tenant: &TenantId) -> Result<Option<AuditHead>>;
    /// Appends a record; its sequence number must follow the head.
    fn append_audit(&mut self, record: &AuditRecord) -> Result<()>;
    /// Calls `visit` with each record with `seq >= from_seq` in order, until it
    /// returns `false`. Backends stream: memory use must not grow with the chain.
    fn scan_audit(
        &mut self,
        tenant: &TenantId,
        from_seq: u64,
        visit: &mut dyn FnMut(AuditRecord) -> Result<bool>,
    ) -> Result<()>;
    /// Like [`Tx::scan_audit`], but hands `visit` each record borrowed as the
    /// backend holds it, without building an owned [`AuditRecord`]: what
    /// verification and exports read. A backend that stores the payload as
    /// JSON text should hand the text as it is ([`AuditPayload::Json`]); it
    /// need not be canonical. A row that cannot be read as a record (a time
    /// out of range, a column of the wrong type) is an `Integrity` error.
    ///
    /// The default goes through [`Tx::scan_audit`].
    ///
    /// [`AuditPayload::Json`]: crate::audit::AuditPayload::Json
    fn scan_audit_rows(
        &mut self,
        tenant: &TenantId,
        from_seq: u64,
        visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<bool>,
    ) -> Result<()> {
        self.scan_audit(tenant, from_seq, &mut |record| visit(&record.as_row()))
    }
    /// Records matching the query, oldest first.
    fn query_audit(&mut self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>>;
    /// Deletes the records with `seq <= through_seq` (archiving).
    fn delete_audit_through(&mut self, tenant: &TenantId, through_seq: u64) -> Result<u64>;
    /// The checkpoint left by the last archiving: the chain now starts after it.
    fn audit_anchor(&mut self, tenant: &TenantId) -> Result<Option<AuditCheckpoint>>;
    /// Replaces the archiving checkpoint.
    fn put_audit_anchor(&mut self, checkpoint: &AuditCheckpoint) -> Result<()>;
}

/// A storage backend.
pub trait Store: Send + Sync {
    /// Runs `work` in one write transaction and commits it if `work` returns
    /// `Ok`; rolls back otherwise. May run `work` more than once on a
    /// retryable conflict.
    fn write(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// Runs `work` in a read-only snapshot. Writes inside it are an error.
    fn read(&self, work: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// The backend's name and schema version, for health reports.
    fn describe(&self) -> StoreInfo;
}

/// What a backend says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreInfo {
    /// `"memory"`, `"sqlite"`, ...
    pub backend: &'static str,
    /// The schema version, where the backend has one.
    pub schema_version: Option<u32>,
}
