//! The metrics snapshot of a tenant (definitions in [`crate::metrics`]).

use std::collections::{BTreeMap, BTreeSet};

use chrono::TimeDelta;

use super::{Engine, Scope};
use crate::audit::AuditQuery;
use crate::commission::CommissionStatus;
use crate::error::Result;
use crate::metrics::{Metrics, mean, rate};
use crate::money::Currency;
use crate::payout::PayoutStatus;

impl Engine {
    /// A snapshot of the tenant's metrics, read in one transaction.
    ///
    /// # Errors
    /// `Storage` when the backend fails.
    pub fn metrics(&self, scope: &Scope) -> Result<Metrics> {
        let (succeeded, failed) = self.counters.get(scope.tenant());
        let at = self.now();
        self.read(|tx| {
            let tenant = scope.tenant();

            // Counted by the backend: a scrape must not read every commission.
            let mut commissions_by_status = BTreeMap::new();
            let mut sums: BTreeMap<Currency, (i128, u64)> = BTreeMap::new();
            let mut commission_count = 0u64;
            for t in tx.commission_tallies(tenant)? {
                *commissions_by_status
                    .entry(t.status.as_str().to_owned())
                    .or_insert(0) += t.count;
                let entry = sums.entry(t.currency).or_default();
                entry.0 += t.original_minor;
                entry.1 += t.count;
                commission_count += t.count;
            }
            let count =
                |s: CommissionStatus| commissions_by_status.get(s.as_str()).copied().unwrap_or(0);
            let approved = count(CommissionStatus::Approved)
                + count(CommissionStatus::Scheduled)
                + count(CommissionStatus::Paid);
            let decided = approved + count(CommissionStatus::Rejected);
            let disputes = AuditQuery {
                kind: Some("commission.disputed".into()),
                ..AuditQuery::default()
            };
            let disputed: BTreeSet<String> = tx
                .query_audit(tenant, &disputes)?
                .into_iter()
                .map(|r| r.resource_id)
                .collect();

            let payouts = tx.payout_tallies(tenant)?;
            let failed_payouts = payouts
                .iter()
                .filter(|p| p.status == PayoutStatus::Failed)
                .map(|p| p.count)
                .sum::<u64>();
            let sent = payouts.iter().map(|p| p.sent).sum::<u64>();
            let retried = payouts.iter().map(|p| p.retried).sum::<u64>();
            let batch_ids: BTreeSet<_> = payouts.iter().map(|p| p.batch.clone()).collect();
            let mut batches_by_status = BTreeMap::new();
            let (mut finished, mut completed) = (0u64, 0u64);
            let mut durations = Vec::new();
            for id in &batch_ids {
                let Some(batch) = tx.batch(tenant, id)? else {
                    continue;
                };
                *batches_by_status
                    .entry(batch.status.as_str().to_owned())
                    .or_insert(0) += 1;
                if batch.status.is_finished() {
                    finished += 1;
                    completed += u64::from(batch.status == crate::payout::BatchStatus::Completed);
                    if let (Some(start), Some(end)) = (batch.started_at, batch.finished_at) {
                        durations.push(end - start);
                    }
                }
            }
            let average_batch_processing = (!durations.is_empty()).then(|| {
                durations.iter().copied().sum::<TimeDelta>()
                    / i32::try_from(durations.len()).unwrap_or(i32::MAX)
            });

            let affiliates = tx.affiliates(tenant)?;
            let mut affiliates_by_status = BTreeMap::new();
            let mut tier_distribution = BTreeMap::new();
            let mut commission_rate_distribution = BTreeMap::new();
            let mut payout_method_distribution = BTreeMap::new();
            for a in &affiliates {
                *affiliates_by_status
                    .entry(a.status.as_str().to_owned())
                    .or_insert(0) += 1;
                *tier_distribution.entry(a.tier.clone()).or_insert(0) += 1;
                *commission_rate_distribution
                    .entry(a.commission_rate.normalize().to_string())
                    .or_insert(0) += 1;
                let method = a.payout.as_ref().map_or("NONE", |p| p.method().as_str());
                *payout_method_distribution
                    .entry(method.to_owned())
                    .or_insert(0) += 1;
            }

            Ok(Metrics {
                tenant: tenant.clone(),
                at,
                calculations_succeeded: succeeded,
                calculations_failed: failed,
                calculation_success_rate: rate(succeeded, succeeded + failed),
                average_commission: sums
                    .iter()
                    .map(|(c, (sum, n))| mean(*sum, *n, *c))
                    .collect(),
                approval_rate: rate(approved, decided),
                dispute_rate: rate(disputed.len() as u64, commission_count),
                commissions_by_status,
                batches_by_status,
                batch_success_rate: rate(completed, finished),
                average_batch_processing,
                failed_payouts,
                payout_retry_rate: rate(retried, sent),
                active_affiliates: affiliates_by_status.get("ACTIVE").copied().unwrap_or(0),
                affiliates_by_status,
                tier_distribution,
                commission_rate_distribution,
                payout_method_distribution,
            })
        })
    }
}
