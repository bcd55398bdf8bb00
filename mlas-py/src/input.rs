//! Parsing Python arguments into core inputs: payout details, rule specs and sales.
//!
//! Mappings accept the runbook's JSON spelling (`accountNumber`,
//! `affiliateChain`, ...) as well as the snake_case names of the Python API.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use mlas_core::{
    AffiliateId, Condition as CoreCondition, LevelRate, LevelRule as CoreLevelRule, Money,
    NewSale as CoreNewSale, RuleSpec, SaleId,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyMapping, PyString, PyTuple};

use crate::convert::{currency, decimal, id, opt_id, text, utc};
use crate::errors::{core, validation};
use crate::types::{Condition, LevelRule, PayoutDetails};

/// `accountNumber` -> `account_number`; snake_case passes through.
pub fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A mapping's items with snake_case keys; keys must be `str`.
fn items<'py>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut out = raw_items(obj, what)?;
    for (key, _) in &mut out {
        *key = snake(key);
    }
    Ok(out)
}

/// A mapping's items as given; keys must be `str`.
fn raw_items<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mapping = obj.cast::<PyMapping>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a mapping, not {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    let mut out = Vec::new();
    for item in mapping.items()?.iter() {
        let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract()?;
        let key = text(&key, &format!("{what} key"))?;
        out.push((key, value));
    }
    Ok(out)
}

/// Payout details from `payout_method` and `payout_details` (a `PayoutDetails`
/// or a mapping shaped like the runbook's `payoutDetails`).
pub fn payout(
    py: Python<'_>,
    method: Option<&str>,
    details: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<mlas_core::PayoutDetails>> {
    let method = method
        .map(|m| core(py, mlas_core::PayoutMethod::parse(m)))
        .transpose()?;
    let Some(details) = details.filter(|d| !d.is_none()) else {
        return match method {
            None => Ok(None),
            Some(m) => Err(validation(
                py,
                "payout_details",
                format!("payout method {m} needs payout details"),
            )),
        };
    };
    let parsed = if let Ok(given) = details.cast::<PayoutDetails>() {
        given.get().inner.clone()
    } else {
        details_from_mapping(py, method, details)?
    };
    if let Some(m) = method {
        if parsed.method() != m {
            return Err(validation(
                py,
                "payout_method",
                format!("{m} does not match details for {}", parsed.method()),
            ));
        }
    }
    Ok(Some(parsed))
}

fn details_from_mapping(
    py: Python<'_>,
    method: Option<mlas_core::PayoutMethod>,
    obj: &Bound<'_, PyAny>,
) -> PyResult<mlas_core::PayoutDetails> {
    const KNOWN: [&str; 7] = [
        "account_number",
        "routing_number",
        "bank_name",
        "account_holder_name",
        "iban",
        "bic",
        "email",
    ];
    let mut fields = BTreeMap::new();
    for (key, value) in items(obj, "payout_details")? {
        if !KNOWN.contains(&key.as_str()) {
            return Err(validation(
                py,
                "payout_details",
                format!("unknown field {key:?}; expected some of {KNOWN:?}"),
            ));
        }
        if value.is_none() {
            continue;
        }
        let value = text(&value, &format!("payout_details.{key}"))?;
        fields.insert(key, value);
    }
    let get = |name: &str| -> PyResult<&str> {
        fields
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| validation(py, &format!("payout_details.{name}"), "is required"))
    };
    let paypal = match method {
        Some(mlas_core::PayoutMethod::PayPal) => true,
        Some(mlas_core::PayoutMethod::BankTransfer) => false,
        None => fields.contains_key("email") && !fields.contains_key("bank_name"),
    };
    let details = if paypal {
        mlas_core::PayoutDetails::paypal(get("email")?)
    } else if fields.contains_key("iban") {
        mlas_core::PayoutDetails::iban(
            get("iban")?,
            fields.get("bic").map(String::as_str),
            get("bank_name")?,
            get("account_holder_name")?,
        )
    } else {
        mlas_core::PayoutDetails::us_bank(
            get("account_number")?,
            get("routing_number")?,
            get("bank_name")?,
            get("account_holder_name")?,
        )
    };
    core(py, details)
}

/// A decimal given as text for a condition or an attribute: `str`, `int` or
/// `Decimal`; floats and bools raise `TypeError`.
fn value_text(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    if obj.is_instance_of::<PyString>() {
        return obj.extract();
    }
    Ok(decimal(obj, field)?.normalize().to_string())
}

/// A rule level: a percentage, a `LevelRule`, or a mapping with exactly one of
/// `percent`, `fixed`, `affiliate_rate` (true) and an optional `cap`.
fn level(py: Python<'_>, obj: &Bound<'_, PyAny>, index: usize) -> PyResult<CoreLevelRule> {
    if let Ok(given) = obj.cast::<LevelRule>() {
        return Ok(given.get().inner.clone());
    }
    if !obj.is_instance_of::<PyDict>() && obj.cast::<PyMapping>().is_err() {
        let percent = decimal(obj, &format!("levels[{index}]"))?;
        return Ok(CoreLevelRule::percent(percent));
    }
    let mut rate = None;
    let mut cap = None;
    for (key, value) in items(obj, &format!("levels[{index}]"))? {
        let field = format!("levels[{index}].{key}");
        let this = match key.as_str() {
            "percent" => LevelRate::Percent {
                percent: decimal(&value, &field)?,
            },
            "fixed" | "amount" => LevelRate::Fixed {
                amount: decimal(&value, &field)?,
            },
            "affiliate_rate" => {
                if !value.extract::<bool>().unwrap_or(false) {
                    return Err(validation(py, &field, "must be True when given"));
                }
                LevelRate::AffiliateRate
            }
            "cap" => {
                cap = if value.is_none() {
                    None
                } else {
                    Some(decimal(&value, &field)?)
                };
                continue;
            }
            "kind" => continue,
            other => {
                return Err(validation(
                    py,
                    &format!("levels[{index}]"),
                    format!("unknown key {other:?}; expected percent, fixed, affiliate_rate, cap"),
                ));
            }
        };
        if rate.replace(this).is_some() {
            return Err(validation(
                py,
                &format!("levels[{index}]"),
                "give exactly one of percent, fixed, affiliate_rate",
            ));
        }
    }
    let rate = rate.ok_or_else(|| {
        validation(
            py,
            &format!("levels[{index}]"),
            "give one of percent, fixed, affiliate_rate",
        )
    })?;
    Ok(CoreLevelRule { rate, cap })
}

/// A rule condition: a `Condition`, a `(field, op, value_or_values)` tuple, or
/// a mapping with `field`, `op` and `value` or `values`.
fn condition(py: Python<'_>, obj: &Bound<'_, PyAny>, index: usize) -> PyResult<CoreCondition> {
    if let Ok(given) = obj.cast::<Condition>() {
        return Ok(given.get().inner.clone());
    }
    let what = format!("conditions[{index}]");
    let (field, op, values): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>) =
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            if tuple.len() != 3 {
                return Err(validation(py, &what, "must be (field, op, value)"));
            }
            (tuple.get_item(0)?, tuple.get_item(1)?, tuple.get_item(2)?)
        } else {
            let mut field = None;
            let mut op = None;
            let mut values = None;
            for (key, value) in items(obj, &what)? {
                match key.as_str() {
                    "field" => field = Some(value),
                    "op" => op = Some(value),
                    "value" | "values" => values = Some(value),
                    other => {
                        return Err(validation(py, &what, format!("unknown key {other:?}")));
                    }
                }
            }
            match (field, op, values) {
                (Some(f), Some(o), Some(v)) => (f, o, v),
                _ => return Err(validation(py, &what, "needs field, op and value(s)")),
            }
        };
    let field = text(&field, &format!("{what}.field"))?;
    let op = text(&op, &format!("{what}.op"))?;
    let values_field = format!("{what}.values");
    let values = if values.is_instance_of::<PyList>() || values.is_instance_of::<PyTuple>() {
        values
            .try_iter()?
            .map(|v| value_text(&v?, &values_field))
            .collect::<PyResult<Vec<_>>>()?
    } else {
        vec![value_text(&values, &values_field)?]
    };
    core(py, CoreCondition::new(&field, &op, values))
}

/// The arguments of `create_rule` / `update_rule`, before parsing.
pub struct RuleArgs<'a, 'py> {
    pub name: &'a str,
    pub levels: &'a Bound<'py, PyAny>,
    pub priority: i32,
    pub active: bool,
    pub valid_from: Option<&'a Bound<'py, PyAny>>,
    pub valid_until: Option<&'a Bound<'py, PyAny>>,
    pub conditions: Option<&'a Bound<'py, PyAny>>,
    pub compression: bool,
    pub total_cap_percent: Option<&'a Bound<'py, PyAny>>,
    pub currency: Option<&'a str>,
    pub holding_days: i64,
}

impl RuleArgs<'_, '_> {
    /// The rule spec these arguments describe (validated by the core later).
    pub fn spec(&self, py: Python<'_>) -> PyResult<RuleSpec> {
        let levels = self
            .levels
            .try_iter()
            .map_err(|_| PyTypeError::new_err("levels must be a sequence"))?
            .enumerate()
            .map(|(i, l)| level(py, &l?, i))
            .collect::<PyResult<Vec<_>>>()?;
        let conditions = match self.conditions {
            Some(c) if !c.is_none() => c
                .try_iter()
                .map_err(|_| PyTypeError::new_err("conditions must be a sequence"))?
                .enumerate()
                .map(|(i, c)| condition(py, &c?, i))
                .collect::<PyResult<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let holding_days = u32::try_from(self.holding_days).map_err(|_| {
            validation(
                py,
                "holding_days",
                format!("{} is not a number of days", self.holding_days),
            )
        })?;
        Ok(RuleSpec {
            name: self.name.to_owned(),
            priority: self.priority,
            active: self.active,
            valid_from: crate::convert::opt_utc(self.valid_from, "valid_from")?,
            valid_until: crate::convert::opt_utc(self.valid_until, "valid_until")?,
            conditions,
            levels,
            compression: self.compression,
            total_cap_percent: crate::convert::opt_decimal(
                self.total_cap_percent,
                "total_cap_percent",
            )?,
            currency: self.currency.map(|c| currency(py, c)).transpose()?,
            holding_days,
        })
    }
}

/// A sale to record, parsed from Python; `occurred_at` defaults to the
/// engine's clock when the sale is recorded.
#[derive(Clone, PartialEq)]
pub struct SaleInput {
    pub id: SaleId,
    pub amount: Money,
    pub occurred_at: Option<DateTime<Utc>>,
    pub affiliate: AffiliateId,
    pub chain: Option<Vec<AffiliateId>>,
    pub attribution_type: String,
    pub buyer: Option<AffiliateId>,
    pub attributes: BTreeMap<String, String>,
}

impl SaleInput {
    /// The core input, with `now` for a missing time.
    pub fn build(&self, now: DateTime<Utc>) -> CoreNewSale {
        CoreNewSale {
            id: self.id.clone(),
            amount: self.amount,
            occurred_at: self.occurred_at.unwrap_or(now),
            affiliate: self.affiliate.clone(),
            chain: self.chain.clone(),
            attribution_type: self.attribution_type.clone(),
            buyer: self.buyer.clone(),
            attributes: self.attributes.clone(),
        }
    }
}

/// The keyword arguments of `record_sale`, before parsing.
#[derive(Default)]
pub struct SaleArgs<'py> {
    pub sale_id: Option<Bound<'py, PyAny>>,
    pub amount: Option<Bound<'py, PyAny>>,
    pub currency: Option<Bound<'py, PyAny>>,
    pub affiliate_id: Option<Bound<'py, PyAny>>,
    pub affiliate_chain: Option<Bound<'py, PyAny>>,
    pub occurred_at: Option<Bound<'py, PyAny>>,
    pub attribution_type: Option<Bound<'py, PyAny>>,
    pub buyer_id: Option<Bound<'py, PyAny>>,
    pub attributes: Option<Bound<'py, PyAny>>,
}

fn some<'a, 'py>(v: Option<&'a Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    v.filter(|v| !v.is_none())
}

impl<'py> SaleArgs<'py> {
    /// Reads a mapping such as `{"saleId": ..., "saleAmount": ..., "affiliateChain": [...]}`.
    pub fn from_mapping(obj: &Bound<'py, PyAny>, index: usize) -> PyResult<Self> {
        let mut args = SaleArgs::default();
        for (key, value) in items(obj, &format!("sales[{index}]"))? {
            let slot = match key.as_str() {
                "sale_id" | "id" => &mut args.sale_id,
                "amount" | "sale_amount" => &mut args.amount,
                "currency" => &mut args.currency,
                "affiliate_id" => &mut args.affiliate_id,
                "affiliate_chain" | "chain" => &mut args.affiliate_chain,
                "occurred_at" => &mut args.occurred_at,
                "attribution_type" => &mut args.attribution_type,
                "buyer_id" => &mut args.buyer_id,
                "attributes" => &mut args.attributes,
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "sales[{index}] has an unexpected key {other:?}"
                    )));
                }
            };
            *slot = Some(value);
        }
        Ok(args)
    }

    /// Parses and checks the types; the core validates the values.
    pub fn parse(&self, py: Python<'py>) -> PyResult<SaleInput> {
        let required = |v: &Option<Bound<'py, PyAny>>, name: &str| -> PyResult<Bound<'py, PyAny>> {
            some(v.as_ref())
                .cloned()
                .ok_or_else(|| PyTypeError::new_err(format!("missing required argument {name:?}")))
        };
        let sale_id = text(&required(&self.sale_id, "sale_id")?, "sale_id")?;
        let amount = decimal(&required(&self.amount, "amount")?, "amount")?;
        let currency_code = text(&required(&self.currency, "currency")?, "currency")?;
        let amount = core(
            py,
            Money::new(amount, currency(py, &currency_code)?, "amount"),
        )?;

        let chain = some(self.affiliate_chain.as_ref())
            .map(|c| -> PyResult<Vec<AffiliateId>> {
                if c.is_instance_of::<PyString>() {
                    return Err(PyTypeError::new_err(
                        "affiliate_chain must be a sequence of ids, not a str",
                    ));
                }
                c.try_iter()
                    .map_err(|_| PyTypeError::new_err("affiliate_chain must be a sequence"))?
                    .map(|a| id(py, &text(&a?, "affiliate_chain")?))
                    .collect()
            })
            .transpose()?;
        let affiliate: AffiliateId = match (some(self.affiliate_id.as_ref()), &chain) {
            (Some(a), _) => id(py, &text(a, "affiliate_id")?)?,
            (None, Some(chain)) => chain
                .first()
                .cloned()
                .ok_or_else(|| validation(py, "chain", "must not be empty"))?,
            (None, None) => {
                return Err(PyTypeError::new_err(
                    "give affiliate_id, affiliate_chain or both",
                ));
            }
        };
        let occurred_at = some(self.occurred_at.as_ref())
            .map(|t| utc(t, "occurred_at"))
            .transpose()?;
        let attribution_type = match some(self.attribution_type.as_ref()) {
            Some(t) => text(t, "attribution_type")?,
            None => "DIRECT".to_owned(),
        };
        let buyer = match some(self.buyer_id.as_ref()) {
            Some(b) => opt_id(py, Some(&text(b, "buyer_id")?))?,
            None => None,
        };
        let mut attributes = BTreeMap::new();
        if let Some(attrs) = some(self.attributes.as_ref()) {
            for (key, value) in raw_items(attrs, "attributes")? {
                let value = value_text(&value, &format!("attributes.{key}"))?;
                attributes.insert(key, value);
            }
        }
        Ok(SaleInput {
            id: id(py, &sale_id)?,
            amount,
            occurred_at,
            affiliate,
            chain,
            attribution_type,
            buyer,
            attributes,
        })
    }
}
