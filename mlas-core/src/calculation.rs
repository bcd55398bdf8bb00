//! The commission calculation (DESIGN.md steps 2 to 6 and 8), as a pure function.
//!
//! It reads nothing and writes nothing: the engine loads the chain and the
//! rules, calls [`calculate`], and records what it returns.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::affiliate::AffiliateStatus;
use crate::allocation::allocate;
use crate::ids::{AffiliateId, RuleId};
use crate::money::Money;
use crate::rule::{LevelRate, LevelRule, Rule, SaleFacts, select_rule};

/// One affiliate of a sale's chain as the calculation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainMember {
    /// The affiliate.
    pub affiliate: AffiliateId,
    /// Its status at calculation time.
    pub status: AffiliateStatus,
    /// Its personal rate, in percent.
    pub commission_rate: Decimal,
    /// Its tier.
    pub tier: String,
}

/// Which rule was chosen and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChoice {
    /// The rule, or `None` for the default plan.
    pub rule_id: Option<RuleId>,
    /// The rule version.
    pub rule_version: Option<u32>,
    /// The rule's name (`"default plan"` without a rule).
    pub name: String,
    /// Why it was chosen, in words.
    pub reason: String,
    /// How many rules applied to the sale.
    pub matching_rules: u32,
}

/// What happened to an affiliate of the chain who did not earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not ACTIVE; compression passed the level to the next active upline.
    Compressed,
    /// Not ACTIVE; without compression the level's share is forfeited.
    Forfeited,
    /// Beyond the rule's depth.
    BeyondDepth,
}

/// A chain member who earned nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// Level in the chain (1 = credited affiliate).
    pub chain_level: u32,
    /// The affiliate.
    pub affiliate: AffiliateId,
    /// Their status at calculation time.
    pub status: String,
    /// Why they earned nothing.
    pub reason: SkipReason,
}

/// One earning line, with every step that shaped its amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Level in the chain.
    pub chain_level: u32,
    /// Level paid after compression (the rule level that applied).
    pub paid_level: u32,
    /// The earning affiliate.
    pub affiliate: AffiliateId,
    /// What the level pays, frozen from the rule version.
    pub rate: LevelRate,
    /// The percentage applied, when the rate is a percentage or the affiliate's rate.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub percent: Option<Decimal>,
    /// The exact amount before caps.
    #[serde(with = "rust_decimal::serde::str")]
    pub exact: Decimal,
    /// How much the per-level cap cut.
    #[serde(with = "rust_decimal::serde::str")]
    pub level_cap_cut: Decimal,
    /// How much the total cap cut.
    #[serde(with = "rust_decimal::serde::str")]
    pub total_cap_cut: Decimal,
    /// The exact amount after caps.
    #[serde(with = "rust_decimal::serde::str")]
    pub capped: Decimal,
    /// Whether the line received one left-over rounding unit.
    pub extra_unit: bool,
    /// The final amount, in the sale currency.
    pub amount: Money,
}

/// The full answer to "why did I get this amount?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// The sale amount.
    pub sale_amount: Money,
    /// The rule choice.
    pub rule: RuleChoice,
    /// Whether compression was on.
    pub compression: bool,
    /// Chain members who earned nothing, and why.
    pub skipped: Vec<Skipped>,
    /// The total cap in money, when the rule has one.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub total_cap: Option<Decimal>,
    /// The exact total after caps, before rounding.
    #[serde(with = "rust_decimal::serde::str")]
    pub exact_total: Decimal,
    /// The total after rounding half-even; the lines sum to it.
    pub total: Money,
    /// Every line, level order, including lines that rounded to zero.
    pub lines: Vec<Line>,
    /// Days from the sale before commissions may be approved.
    pub holding_days: u32,
}

impl Explanation {
    /// The lines that earn something: one commission each.
    pub fn earning_lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| !l.amount.is_zero())
    }

    /// A plain-text rendering for operators, one step per line.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "sale amount: {}", self.sale_amount);
        let _ = writeln!(out, "rule: {} ({})", self.rule.name, self.rule.reason);
        let _ = writeln!(
            out,
            "compression: {}",
            if self.compression { "on" } else { "off" }
        );
        for skip in &self.skipped {
            let what = match skip.reason {
                SkipReason::Compressed => "skipped, level passed up (compression)",
                SkipReason::Forfeited => "skipped, level forfeited (no compression)",
                SkipReason::BeyondDepth => "beyond the rule's depth",
            };
            let _ = writeln!(
                out,
                "chain level {} {} ({}): {what}",
                skip.chain_level, skip.affiliate, skip.status
            );
        }
        for line in &self.lines {
            let rate = match (&line.rate, line.percent) {
                (LevelRate::Fixed { amount }, _) => format!("fixed {amount}"),
                (LevelRate::AffiliateRate, Some(p)) => format!("own rate {p}%"),
                (_, Some(p)) => format!("{p}%"),
                (_, None) => String::new(),
            };
            let _ = write!(
                out,
                "level {} (chain level {}) {}: {rate} = {}",
                line.paid_level, line.chain_level, line.affiliate, line.exact
            );
            if !line.level_cap_cut.is_zero() {
                let _ = write!(out, ", level cap cut {}", line.level_cap_cut);
            }
            if !line.total_cap_cut.is_zero() {
                let _ = write!(out, ", total cap cut {}", line.total_cap_cut);
            }
            if line.extra_unit {
                let _ = write!(out, ", +1 rounding unit");
            }
            let _ = writeln!(out, " -> {}", line.amount);
        }
        if let Some(cap) = self.total_cap {
            let _ = writeln!(out, "total cap: {cap}");
        }
        let _ = writeln!(
            out,
            "exact total {} rounded half-even to {}",
            self.exact_total, self.total
        );
        out
    }
}

/// Calculates a sale's commissions.
///
/// `chain` is level 1 first and already validated (non-empty, no repeats, all
/// in the tenant). `rules` are the latest versions of the tenant's rules.
pub fn calculate(
    amount: Money,
    at: DateTime<Utc>,
    attribution_type: &str,
    attributes: &std::collections::BTreeMap<String, String>,
    chain: &[ChainMember],
    rules: &[Rule],
) -> Explanation {
    let tier = chain.first().map_or("", |m| m.tier.as_str());
    let facts = SaleFacts {
        amount,
        attribution_type,
        tier,
        attributes,
    };

    // Step 2: select a rule, or fall back to the default plan.
    let matching = rules.iter().filter(|r| r.spec.applies(at, &facts)).count() as u32;
    let default_levels = [LevelRule {
        rate: LevelRate::AffiliateRate,
        cap: None,
    }];
    let (choice, levels, compression, total_cap_percent, holding_days) = match select_rule(
        rules, at, &facts,
    ) {
        Some(rule) => (
            RuleChoice {
                rule_id: Some(rule.id.clone()),
                rule_version: Some(rule.version),
                name: rule.spec.name.clone(),
                reason: format!(
                    "highest priority ({}) of {matching} matching rule(s); ties go to the older rule",
                    rule.spec.priority
                ),
                matching_rules: matching,
            },
            rule.spec.levels.as_slice(),
            rule.spec.compression,
            rule.spec.total_cap_percent,
            rule.spec.holding_days,
        ),
        None => (
            RuleChoice {
                rule_id: None,
                rule_version: None,
                name: "default plan".to_owned(),
                reason: "no active rule matched; level 1 earns its own commission rate".to_owned(),
                matching_rules: 0,
            },
            &default_levels[..],
            false,
            None,
            0,
        ),
    };

    // Step 3: compress, and step 4: exact amounts with per-level caps (step 5a).
    let mut skipped = Vec::new();
    let mut lines = Vec::new();
    let mut next_paid_level = 1usize;
    for (index, member) in chain.iter().enumerate() {
        let chain_level = index as u32 + 1;
        let paid_level = if compression {
            next_paid_level
        } else {
            index + 1
        };
        if paid_level > levels.len() {
            skipped.push(skip(chain_level, member, SkipReason::BeyondDepth));
            continue;
        }
        if member.status != AffiliateStatus::Active {
            let reason = if compression {
                SkipReason::Compressed
            } else {
                SkipReason::Forfeited
            };
            skipped.push(skip(chain_level, member, reason));
            continue;
        }
        next_paid_level += 1;

        let level = &levels[paid_level - 1];
        let (exact, percent) = match &level.rate {
            LevelRate::Percent { percent } => (
                amount.amount() * percent / Decimal::ONE_HUNDRED,
                Some(*percent),
            ),
            LevelRate::AffiliateRate => (
                amount.amount() * member.commission_rate / Decimal::ONE_HUNDRED,
                Some(member.commission_rate),
            ),
            LevelRate::Fixed { amount } => (*amount, None),
        };
        let capped = level.cap.map_or(exact, |cap| exact.min(cap));
        lines.push(Line {
            chain_level,
            paid_level: paid_level as u32,
            affiliate: member.affiliate.clone(),
            rate: level.rate.clone(),
            percent,
            exact,
            level_cap_cut: exact - capped,
            total_cap_cut: Decimal::ZERO,
            capped,
            extra_unit: false,
            amount: Money::zero(amount.currency()),
        });
    }

    // Step 5b: the total cap, cutting the deepest levels first.
    let total_cap = total_cap_percent.map(|p| amount.amount() * p / Decimal::ONE_HUNDRED);
    if let Some(cap) = total_cap {
        let mut excess = lines.iter().map(|l| l.capped).sum::<Decimal>() - cap;
        for line in lines.iter_mut().rev() {
            if excess <= Decimal::ZERO {
                break;
            }
            let cut = line.capped.min(excess);
            line.capped -= cut;
            line.total_cap_cut = cut;
            excess -= cut;
        }
    }

    // Step 6: round once, lose nothing.
    let exact: Vec<Decimal> = lines.iter().map(|l| l.capped).collect();
    let allocation = allocate(&exact, amount.currency());
    for (i, line) in lines.iter_mut().enumerate() {
        line.amount = Money::from_rounded(allocation.amounts[i], amount.currency());
        line.extra_unit = allocation.extra_unit[i];
    }

    Explanation {
        sale_amount: amount,
        rule: choice,
        compression,
        skipped,
        total_cap,
        exact_total: exact.iter().copied().sum(),
        total: Money::from_rounded(allocation.total, amount.currency()),
        lines,
        holding_days,
    }
}

fn skip(chain_level: u32, member: &ChainMember, reason: SkipReason) -> Skipped {
    Skipped {
        chain_level,
        affiliate: member.affiliate.clone(),
        status: member.status.as_str().to_owned(),
        reason,
    }
}
