//! Commission rules: which sales they apply to and how they split a sale up the chain.
//!
//! Rules are versioned: an edit stores a new version under the same id, and old
//! versions stay readable. A commission names the rule version it came from, so
//! later edits never change how it is explained or reversed.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{RuleId, TenantId};
use crate::money::{Currency, Money, check_percent, parse_decimal};

/// The most levels a rule may pay.
pub const MAX_RULE_LEVELS: usize = 32;

/// What a rule's levels pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LevelRate {
    /// A percentage of the sale amount.
    Percent {
        /// The percentage, 0 to 100.
        #[serde(with = "rust_decimal::serde::str")]
        percent: Decimal,
    },
    /// The earning affiliate's own `commission_rate`, as a percentage of the sale.
    AffiliateRate,
    /// A fixed amount in the rule's currency.
    Fixed {
        /// The amount.
        #[serde(with = "rust_decimal::serde::str")]
        amount: Decimal,
    },
}

/// One level of a rule: what it pays and an optional cap on the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelRule {
    /// What the level pays.
    pub rate: LevelRate,
    /// The most this level's line may be, in the rule's currency.
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub cap: Option<Decimal>,
}

impl LevelRule {
    /// A level paying `percent` of the sale, uncapped.
    pub fn percent(percent: Decimal) -> Self {
        LevelRule {
            rate: LevelRate::Percent { percent },
            cap: None,
        }
    }
}

/// The sale field a condition looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ConditionField {
    /// The sale amount (compared as a decimal).
    Amount,
    /// The sale currency code.
    Currency,
    /// The attribution type.
    AttributionType,
    /// The level-1 affiliate's tier.
    Tier,
    /// A free-form attribute, written `attributes.<name>`.
    Attribute(String),
}

impl ConditionField {
    /// Parses `amount`, `currency`, `attribution_type`, `tier` or `attributes.<name>`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "amount" => Ok(ConditionField::Amount),
            "currency" => Ok(ConditionField::Currency),
            "attribution_type" => Ok(ConditionField::AttributionType),
            "tier" => Ok(ConditionField::Tier),
            _ => match s.strip_prefix("attributes.") {
                Some(name) if !name.is_empty() => Ok(ConditionField::Attribute(name.to_owned())),
                _ => Err(Error::validation(
                    "condition.field",
                    format!(
                        "{s:?} is not amount, currency, attribution_type, tier or attributes.<name>"
                    ),
                )),
            },
        }
    }

    /// The field as written in rules.
    pub fn name(&self) -> String {
        match self {
            ConditionField::Amount => "amount".to_owned(),
            ConditionField::Currency => "currency".to_owned(),
            ConditionField::AttributionType => "attribution_type".to_owned(),
            ConditionField::Tier => "tier".to_owned(),
            ConditionField::Attribute(name) => format!("attributes.{name}"),
        }
    }
}

impl TryFrom<String> for ConditionField {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        ConditionField::parse(&s)
    }
}

impl From<ConditionField> for String {
    fn from(f: ConditionField) -> String {
        f.name()
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Equal to one of the values.
    In,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
}

impl Op {
    /// Parses `eq`, `ne`, `in`, `gt`, `gte`, `lt` or `lte`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "eq" => Ok(Op::Eq),
            "ne" => Ok(Op::Ne),
            "in" => Ok(Op::In),
            "gt" => Ok(Op::Gt),
            "gte" => Ok(Op::Gte),
            "lt" => Ok(Op::Lt),
            "lte" => Ok(Op::Lte),
            _ => Err(Error::validation(
                "condition.op",
                format!("{s:?} is not one of eq, ne, in, gt, gte, lt, lte"),
            )),
        }
    }

    /// The operator as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::In => "in",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
        }
    }
}

/// One condition: `field op values`. `in` takes one or more values; every other
/// operator takes exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// What is compared.
    pub field: ConditionField,
    /// How.
    pub op: Op,
    /// With what, as text; numbers are compared as decimals.
    pub values: Vec<String>,
}

/// The facts about a sale that conditions can see.
#[derive(Debug, Clone, Copy)]
pub struct SaleFacts<'a> {
    /// The sale amount.
    pub amount: Money,
    /// The attribution type.
    pub attribution_type: &'a str,
    /// The level-1 affiliate's tier.
    pub tier: &'a str,
    /// The sale's attributes.
    pub attributes: &'a std::collections::BTreeMap<String, String>,
}

impl Condition {
    /// A condition from its three parts, validated.
    pub fn new(field: &str, op: &str, values: Vec<String>) -> Result<Self> {
        let condition = Condition {
            field: ConditionField::parse(field)?,
            op: Op::parse(op)?,
            values,
        };
        condition.validate()?;
        Ok(condition)
    }

    /// Checks the arity, and that amount comparisons hold decimals.
    pub fn validate(&self) -> Result<()> {
        let arity_ok = match self.op {
            Op::In => !self.values.is_empty(),
            _ => self.values.len() == 1,
        };
        if !arity_ok {
            return Err(Error::validation(
                "condition.values",
                format!(
                    "{} {} takes {}, got {}",
                    self.field.name(),
                    self.op.as_str(),
                    if self.op == Op::In {
                        "one or more values"
                    } else {
                        "exactly one value"
                    },
                    self.values.len()
                ),
            ));
        }
        if self.field == ConditionField::Amount {
            for value in &self.values {
                parse_decimal(value, "condition.values")?;
            }
        }
        Ok(())
    }

    /// Whether the sale satisfies this condition. A missing attribute matches
    /// only `ne`; ordering compares decimals when both sides are numbers and
    /// text otherwise.
    pub fn matches(&self, sale: &SaleFacts<'_>) -> bool {
        let actual = match &self.field {
            ConditionField::Amount => Some(sale.amount.amount().normalize().to_string()),
            ConditionField::Currency => Some(sale.amount.currency().code().to_owned()),
            ConditionField::AttributionType => Some(sale.attribution_type.to_owned()),
            ConditionField::Tier => Some(sale.tier.to_owned()),
            ConditionField::Attribute(name) => sale.attributes.get(name).cloned(),
        };
        let Some(actual) = actual else {
            return self.op == Op::Ne;
        };
        let order = |expected: &String| compare(&actual, expected);
        match self.op {
            Op::Eq => self.values.iter().any(|v| order(v) == Ordering::Equal),
            Op::Ne => self.values.iter().all(|v| order(v) != Ordering::Equal),
            Op::In => self.values.iter().any(|v| order(v) == Ordering::Equal),
            Op::Gt => self.values.iter().all(|v| order(v) == Ordering::Greater),
            Op::Gte => self.values.iter().all(|v| order(v) != Ordering::Less),
            Op::Lt => self.values.iter().all(|v| order(v) == Ordering::Less),
            Op::Lte => self.values.iter().all(|v| order(v) != Ordering::Greater),
        }
    }
}

fn compare(actual: &str, expected: &str) -> Ordering {
    match (
        Decimal::from_str_exact(actual),
        Decimal::from_str_exact(expected),
    ) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => actual.cmp(expected),
    }
}

/// Everything a rule says. Editing a rule stores a new spec as a new version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    /// A name for operators.
    pub name: String,
    /// Higher wins when several rules match.
    pub priority: i32,
    /// An inactive rule is never selected.
    pub active: bool,
    /// The rule applies to sales at or after this time.
    pub valid_from: Option<DateTime<Utc>>,
    /// The rule applies to sales before this time.
    pub valid_until: Option<DateTime<Utc>>,
    /// All must match.
    pub conditions: Vec<Condition>,
    /// Level 1 first; levels beyond the list earn nothing.
    pub levels: Vec<LevelRule>,
    /// With compression, a skipped (non-ACTIVE) affiliate's level passes to the
    /// next active upline; without it, that level's share is forfeited.
    pub compression: bool,
    /// The most all lines together may be, as a percentage of the sale.
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub total_cap_percent: Option<Decimal>,
    /// The currency of fixed amounts and caps. A rule with a currency applies
    /// only to sales in it; one with fixed amounts or caps must have one.
    pub currency: Option<Currency>,
    /// Days from the sale before its commissions may be approved.
    pub holding_days: u32,
}

impl RuleSpec {
    /// A plain active rule paying the given percentages, level 1 first.
    pub fn percentages(name: impl Into<String>, percents: &[Decimal]) -> Self {
        RuleSpec {
            name: name.into(),
            priority: 0,
            active: true,
            valid_from: None,
            valid_until: None,
            conditions: Vec::new(),
            levels: percents.iter().copied().map(LevelRule::percent).collect(),
            compression: false,
            total_cap_percent: None,
            currency: None,
            holding_days: 0,
        }
    }

    /// Checks the whole spec.
    pub fn validate(&self) -> Result<()> {
        crate::affiliate::check_name(&self.name, "name")?;
        if self.levels.is_empty() || self.levels.len() > MAX_RULE_LEVELS {
            return Err(Error::validation(
                "levels",
                format!(
                    "must have 1 to {MAX_RULE_LEVELS} levels, got {}",
                    self.levels.len()
                ),
            ));
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if from >= until {
                return Err(Error::validation(
                    "valid_until",
                    format!("{until} is not after valid_from {from}"),
                ));
            }
        }
        for condition in &self.conditions {
            condition.validate()?;
        }
        let mut needs_currency = false;
        for level in &self.levels {
            match &level.rate {
                LevelRate::Percent { percent } => {
                    check_percent(*percent, "levels.percent")?;
                }
                LevelRate::AffiliateRate => {}
                LevelRate::Fixed { amount } => {
                    needs_currency = true;
                    self.check_amount(*amount, "levels.amount")?;
                }
            }
            if let Some(cap) = level.cap {
                needs_currency = true;
                self.check_amount(cap, "levels.cap")?;
            }
        }
        if needs_currency && self.currency.is_none() {
            return Err(Error::validation(
                "currency",
                "a rule with fixed amounts or caps must name its currency",
            ));
        }
        if let Some(cap) = self.total_cap_percent {
            check_percent(cap, "total_cap_percent")?;
        }
        if self.holding_days > 3650 {
            return Err(Error::validation(
                "holding_days",
                format!("{} is more than ten years", self.holding_days),
            ));
        }
        Ok(())
    }

    fn check_amount(&self, amount: Decimal, field: &str) -> Result<()> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(Error::validation(
                field,
                format!("{amount} must not be negative"),
            ));
        }
        if let Some(currency) = self.currency {
            Money::new(amount, currency, field)?;
        }
        Ok(())
    }

    /// Whether the rule applies to a sale at `at` with these facts.
    pub fn applies(&self, at: DateTime<Utc>, sale: &SaleFacts<'_>) -> bool {
        self.active
            && self.valid_from.is_none_or(|from| at >= from)
            && self.valid_until.is_none_or(|until| at < until)
            && self.currency.is_none_or(|c| c == sale.amount.currency())
            && self.conditions.iter().all(|c| c.matches(sale))
    }
}

/// One stored version of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The owning tenant.
    pub tenant: TenantId,
    /// The rule id, shared by all versions.
    pub id: RuleId,
    /// 1 for the first version, then 2, 3, ...
    pub version: u32,
    /// What this version says.
    pub spec: RuleSpec,
    /// When the rule's first version was made; ties in priority go to the older rule.
    pub created_at: DateTime<Utc>,
    /// When this version was made.
    pub version_created_at: DateTime<Utc>,
}

/// Picks the rule for a sale: among rules that apply, the highest priority; ties
/// go to the older rule, then the smaller id.
pub fn select_rule<'r>(
    rules: &'r [Rule],
    at: DateTime<Utc>,
    sale: &SaleFacts<'_>,
) -> Option<&'r Rule> {
    rules
        .iter()
        .filter(|r| r.spec.applies(at, sale))
        .min_by(|a, b| {
            b.spec
                .priority
                .cmp(&a.spec.priority)
                .then(a.created_at.cmp(&b.created_at))
                .then(a.id.cmp(&b.id))
        })
}
