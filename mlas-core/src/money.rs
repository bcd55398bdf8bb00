//! Money: exact decimal amounts with an ISO 4217 currency.
//!
//! Amounts never pass through floating point. A stored amount has at most its
//! currency's minor units of decimals; at rest it is an integer of minor units.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{Error, Result};

/// An ISO 4217 currency with a defined number of minor units.
///
/// Codes without minor units (precious metals, testing codes) are rejected.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    minor_units: u32,
}

impl Currency {
    /// Parses an upper-case ISO 4217 alphabetic code such as `"USD"`.
    pub fn parse(code: &str) -> Result<Self> {
        let known = iso_currency::Currency::from_code(code).ok_or_else(|| {
            Error::validation("currency", format!("unknown ISO 4217 code {code:?}"))
        })?;
        let minor_units = known.exponent().ok_or_else(|| {
            Error::validation(
                "currency",
                format!("{code} has no minor units and cannot be paid"),
            )
        })?;
        let bytes = code.as_bytes();
        Ok(Currency {
            code: [bytes[0], bytes[1], bytes[2]],
            minor_units: u32::from(minor_units),
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // The bytes came from a validated ASCII code.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// The number of decimal places of the minor unit (USD 2, JPY 0, BHD 3).
    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// The value of one minor unit (0.01 for USD, 1 for JPY).
    pub fn unit(&self) -> Decimal {
        Decimal::new(1, self.minor_units)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Currency::parse(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// An exact amount in one currency, with at most the currency's minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Money {
    #[serde(with = "rust_decimal::serde::str")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Makes an amount, rejecting more decimals than the currency has.
    ///
    /// `field` names the input in the error message.
    pub fn new(amount: Decimal, currency: Currency, field: &str) -> Result<Self> {
        if amount.normalize().scale() > currency.minor_units() {
            return Err(Error::validation(
                field,
                format!(
                    "{amount} has more than {} decimal places for {currency}",
                    currency.minor_units()
                ),
            ));
        }
        let mut amount = amount;
        amount.rescale(currency.minor_units());
        // At rest an amount is an i64 of minor units; refuse what cannot be stored.
        if i64::try_from(amount.mantissa()).is_err() {
            return Err(Error::validation(
                field,
                format!("{amount} {currency} is out of range"),
            ));
        }
        Ok(Money { amount, currency })
    }

    /// A decimal that is already rounded to `currency`'s minor unit, such as an
    /// [`crate::allocation::allocate`] share. Extra decimals are truncated and
    /// amounts beyond the `i64` range of minor units saturate, neither of which
    /// an allocation can produce.
    pub fn from_rounded(amount: Decimal, currency: Currency) -> Self {
        let mut scaled = truncate(amount, currency.minor_units());
        scaled.rescale(currency.minor_units());
        let minor = i64::try_from(scaled.mantissa()).unwrap_or(if scaled.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        });
        Money::from_minor(minor, currency)
    }

    /// Parses a decimal string such as `"10.50"` in `currency`.
    pub fn parse(amount: &str, currency: Currency, field: &str) -> Result<Self> {
        let value = parse_decimal(amount, field)?;
        Money::new(value, currency, field)
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Money::from_minor(0, currency)
    }

    /// An amount from integer minor units (1050 USD cents is 10.50).
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Money {
            amount: Decimal::new(minor, currency.minor_units()),
            currency,
        }
    }

    /// The amount as integer minor units.
    pub fn minor(&self) -> i64 {
        let mut scaled = self.amount;
        scaled.rescale(self.currency.minor_units());
        i64::try_from(scaled.mantissa()).unwrap_or(if scaled.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }

    /// The decimal amount.
    pub fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Whether the amount is zero.
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Whether the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// The sum, or an error on a currency mismatch or overflow.
    pub fn checked_add(&self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        let minor = self
            .minor()
            .checked_add(other.minor())
            .ok_or_else(overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// The difference, or an error on a currency mismatch or overflow.
    pub fn checked_sub(&self, other: Money) -> Result<Money> {
        self.same_currency(other)?;
        let minor = self
            .minor()
            .checked_sub(other.minor())
            .ok_or_else(overflow)?;
        Ok(Money::from_minor(minor, self.currency))
    }

    /// The negated amount.
    pub fn negated(&self) -> Money {
        Money::from_minor(-self.minor(), self.currency)
    }

    fn same_currency(&self, other: Money) -> Result<()> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(Error::validation(
                "currency",
                format!("cannot combine {} with {}", self.currency, other.currency),
            ))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

fn overflow() -> Error {
    Error::validation("amount", "amount is out of range")
}

/// Parses a decimal string strictly: digits, an optional sign and point, no
/// exponent, no spaces.
pub fn parse_decimal(text: &str, field: &str) -> Result<Decimal> {
    let well_formed = !text.is_empty()
        && text.len() <= 40
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+');
    if !well_formed {
        return Err(Error::validation(
            field,
            format!("{text:?} is not a decimal number"),
        ));
    }
    Decimal::from_str_exact(text)
        .map_err(|_| Error::validation(field, format!("{text:?} is not a decimal number")))
}

/// Rounds half to even at `dp` decimal places (banker's rounding).
pub fn round_half_even(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven)
}

/// Truncates towards zero at `dp` decimal places.
pub fn truncate(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::ToZero)
}

/// Validates a percentage from 0 to 100 inclusive.
pub fn check_percent(value: Decimal, field: &str) -> Result<Decimal> {
    if value.is_sign_negative() && !value.is_zero() || value > Decimal::ONE_HUNDRED {
        return Err(Error::validation(
            field,
            format!("{value} is not a percentage from 0 to 100"),
        ));
    }
    Ok(value.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::parse("USD").unwrap().minor_units(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("BHD").unwrap().minor_units(), 3);
        assert!(Currency::parse("XAU").is_err());
        assert!(Currency::parse("usd").is_err());
        assert!(Currency::parse("ZZZ").is_err());
    }

    #[test]
    fn too_many_decimals_is_an_error_not_a_rounding() {
        let err = Money::parse("10.005", usd(), "amount").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Validation);
        assert!(err.to_string().contains("10.005"));
        assert_eq!(
            Money::parse("10.50", usd(), "amount").unwrap().minor(),
            1050
        );
        assert_eq!(
            Money::parse("10.500", usd(), "amount").unwrap().minor(),
            1050
        );
        assert!(Money::parse("1.5", Currency::parse("JPY").unwrap(), "amount").is_err());
    }

    #[test]
    fn decimals_parse_strictly() {
        for bad in ["", "1e3", " 1", "1,5", "NaN", "0x10", "1.2.3"] {
            assert!(parse_decimal(bad, "amount").is_err(), "{bad}");
        }
    }

    #[test]
    fn roundings_name_their_strategy() {
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        assert_eq!(round_half_even(d("0.125"), 2), d("0.12"));
        assert_eq!(round_half_even(d("0.135"), 2), d("0.14"));
        assert_eq!(truncate(d("0.129"), 2), d("0.12"));
    }
}
