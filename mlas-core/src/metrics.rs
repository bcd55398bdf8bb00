//! Metrics per tenant: what the runbook's monitoring section watches.
//!
//! Every figure is computed from stored state when asked, except the
//! calculation counters, which count calls made through this engine value
//! (and its clones) since it was made: a failed calculation writes nothing,
//! so storage cannot remember it.
//!
//! | metric | definition |
//! | --- | --- |
//! | `calculations_succeeded` / `_failed` | `record_sale` / `record_sales` calls that returned `Ok` / `Err` (a bulk call counts once per sale on success, once on failure) |
//! | `calculation_success_rate` | succeeded / (succeeded + failed); none before the first call |
//! | `commissions_by_status` | commissions in each status now |
//! | `average_commission` | mean first-calculated amount per currency, rounded half-even to the minor unit |
//! | `approval_rate` | (APPROVED + SCHEDULED + PAID) / (those + REJECTED): of the decided commissions, the share approved |
//! | `dispute_rate` | commissions with a `commission.disputed` audit record / all commissions (archived audit records no longer count) |
//! | `batches_by_status` | payout batches in each status now |
//! | `batch_success_rate` | COMPLETED / finished batches (COMPLETED, PARTIALLY_FAILED, FAILED) |
//! | `average_batch_processing` | mean of finished batches' first start to last finish |
//! | `failed_payouts` | payouts in FAILED now |
//! | `payout_retry_rate` | payouts handed to the provider more than once / payouts handed over at all |
//! | `active_affiliates` | affiliates in ACTIVE |
//! | `tier_distribution` etc. | affiliates per tier, per personal rate, per payout method (`NONE` without details) |
//!
//! Rates are decimals from 0 to 1 with four places.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;

use crate::ids::TenantId;
use crate::money::{Currency, Money, round_half_even};

/// A snapshot of one tenant's metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metrics {
    /// The tenant.
    pub tenant: TenantId,
    /// When the snapshot was taken.
    pub at: DateTime<Utc>,
    /// Successful calculations through this engine.
    pub calculations_succeeded: u64,
    /// Failed calculations through this engine.
    pub calculations_failed: u64,
    /// succeeded / all calculations.
    pub calculation_success_rate: Option<Decimal>,
    /// Commissions per status.
    pub commissions_by_status: BTreeMap<String, u64>,
    /// Mean first-calculated commission per currency.
    pub average_commission: Vec<Money>,
    /// Share of decided commissions that were approved.
    pub approval_rate: Option<Decimal>,
    /// Share of commissions ever disputed.
    pub dispute_rate: Option<Decimal>,
    /// Payout batches per status.
    pub batches_by_status: BTreeMap<String, u64>,
    /// Share of finished batches that completed.
    pub batch_success_rate: Option<Decimal>,
    /// Mean processing time of finished batches.
    pub average_batch_processing: Option<TimeDelta>,
    /// Payouts in FAILED.
    pub failed_payouts: u64,
    /// Share of sent payouts that needed more than one attempt.
    pub payout_retry_rate: Option<Decimal>,
    /// Affiliates in ACTIVE.
    pub active_affiliates: u64,
    /// Affiliates per status.
    pub affiliates_by_status: BTreeMap<String, u64>,
    /// Affiliates per tier.
    pub tier_distribution: BTreeMap<String, u64>,
    /// Affiliates per personal commission rate (percent, as text).
    pub commission_rate_distribution: BTreeMap<String, u64>,
    /// Affiliates per payout method.
    pub payout_method_distribution: BTreeMap<String, u64>,
}

/// `part / whole` with four decimals, or none when `whole` is zero.
pub fn rate(part: u64, whole: u64) -> Option<Decimal> {
    (whole > 0).then(|| round_half_even(Decimal::from(part) / Decimal::from(whole), 4))
}

/// The mean of `sum` over `count` values in `currency`, rounded half-even.
pub fn mean(sum_minor: i128, count: u64, currency: Currency) -> Money {
    let mean = Decimal::from_i128_with_scale(sum_minor, currency.minor_units())
        / Decimal::from(count.max(1));
    Money::from_rounded(round_half_even(mean, currency.minor_units()), currency)
}

impl Metrics {
    /// The snapshot in the Prometheus text exposition format (version 0.0.4),
    /// every series labelled with the tenant. A host can serve it as-is.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        let tenant = escape(self.tenant.as_str());
        let mut family = |name: &str, help: &str, kind: &str, samples: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP mlas_{name} {help}");
            let _ = writeln!(out, "# TYPE mlas_{name} {kind}");
            for (labels, value) in samples {
                let sep = if labels.is_empty() { "" } else { "," };
                let _ = writeln!(
                    out,
                    "mlas_{name}{{tenant=\"{tenant}\"{sep}{labels}}} {value}"
                );
            }
        };
        let by = |label: &str, map: &BTreeMap<String, u64>| -> Vec<(String, String)> {
            map.iter()
                .map(|(k, v)| (format!("{label}=\"{}\"", escape(k)), v.to_string()))
                .collect()
        };
        let opt = |v: Option<Decimal>| {
            v.map(|d| vec![(String::new(), d.to_string())])
                .unwrap_or_default()
        };

        family(
            "commission_calculations_total",
            "Commission calculations through this engine, by outcome.",
            "counter",
            vec![
                (
                    "outcome=\"success\"".into(),
                    self.calculations_succeeded.to_string(),
                ),
                (
                    "outcome=\"failure\"".into(),
                    self.calculations_failed.to_string(),
                ),
            ],
        );
        family(
            "commission_calculation_success_ratio",
            "Successful / all calculations.",
            "gauge",
            opt(self.calculation_success_rate),
        );
        family(
            "commissions",
            "Commissions by status.",
            "gauge",
            by("status", &self.commissions_by_status),
        );
        family(
            "commission_average_amount",
            "Mean first-calculated commission, by currency.",
            "gauge",
            self.average_commission
                .iter()
                .map(|m| {
                    (
                        format!("currency=\"{}\"", m.currency()),
                        m.amount().to_string(),
                    )
                })
                .collect(),
        );
        family(
            "commission_approval_ratio",
            "Approved / decided commissions.",
            "gauge",
            opt(self.approval_rate),
        );
        family(
            "commission_dispute_ratio",
            "Commissions ever disputed / all commissions.",
            "gauge",
            opt(self.dispute_rate),
        );
        family(
            "payout_batches",
            "Payout batches by status.",
            "gauge",
            by("status", &self.batches_by_status),
        );
        family(
            "payout_batch_success_ratio",
            "Completed / finished batches.",
            "gauge",
            opt(self.batch_success_rate),
        );
        family(
            "payout_batch_processing_seconds",
            "Mean processing time of finished batches.",
            "gauge",
            self.average_batch_processing
                .map(|d| {
                    vec![(
                        String::new(),
                        Decimal::new(d.num_microseconds().unwrap_or(i64::MAX), 6)
                            .normalize()
                            .to_string(),
                    )]
                })
                .unwrap_or_default(),
        );
        family(
            "payouts_failed",
            "Payouts in FAILED.",
            "gauge",
            vec![(String::new(), self.failed_payouts.to_string())],
        );
        family(
            "payout_retry_ratio",
            "Payouts sent more than once / payouts sent.",
            "gauge",
            opt(self.payout_retry_rate),
        );
        family(
            "affiliates_active",
            "Affiliates in ACTIVE.",
            "gauge",
            vec![(String::new(), self.active_affiliates.to_string())],
        );
        family(
            "affiliates",
            "Affiliates by status.",
            "gauge",
            by("status", &self.affiliates_by_status),
        );
        family(
            "affiliates_by_tier",
            "Affiliates by tier.",
            "gauge",
            by("tier", &self.tier_distribution),
        );
        family(
            "affiliates_by_commission_rate",
            "Affiliates by personal commission rate (percent).",
            "gauge",
            by("rate", &self.commission_rate_distribution),
        );
        family(
            "affiliates_by_payout_method",
            "Affiliates by payout method.",
            "gauge",
            by("method", &self.payout_method_distribution),
        );
        out
    }
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Calculation outcomes per tenant, shared by an engine and its clones.
#[derive(Debug, Default)]
pub(crate) struct CalculationCounters {
    by_tenant: Mutex<HashMap<TenantId, (u64, u64)>>,
}

impl CalculationCounters {
    /// Counts `succeeded` successes, or one failure.
    pub fn record(&self, tenant: &TenantId, outcome: Result<u64, ()>) {
        let mut map = self
            .by_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = map.entry(tenant.clone()).or_default();
        match outcome {
            Ok(n) => entry.0 += n,
            Err(()) => entry.1 += 1,
        }
    }

    /// (succeeded, failed) for a tenant.
    pub fn get(&self, tenant: &TenantId) -> (u64, u64) {
        let map = self
            .by_tenant
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(tenant).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_have_four_places_and_none_without_data() {
        assert_eq!(rate(1, 3), Some(Decimal::new(3333, 4)));
        assert_eq!(rate(0, 0), None);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
