//! "Round once, lose nothing": turning exact shares into amounts in minor units.
//!
//! Used for commission lines and for refund reversals alike, so both follow
//! the same rule (DESIGN.md, commission calculation step 6).

use rust_decimal::Decimal;

use crate::money::{Currency, round_half_even, truncate};

/// The rounded form of a list of exact, non-negative shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The exact total rounded half-even to the minor unit.
    pub total: Decimal,
    /// Each share, truncated then topped up by at most one minor unit; they sum
    /// to `total` exactly.
    pub amounts: Vec<Decimal>,
    /// Whether each share received one of the left-over units.
    pub extra_unit: Vec<bool>,
}

/// Rounds `exact` shares to `currency`'s minor unit.
///
/// Let T be the exact total rounded half-even. Each share is truncated; the
/// units of T left over go one at a time to the shares with the largest
/// truncated remainders, ties to the lower index (the lower level) first.
pub fn allocate(exact: &[Decimal], currency: Currency) -> Allocation {
    let dp = currency.minor_units();
    let unit = currency.unit();

    let exact_total: Decimal = exact.iter().copied().sum();
    let total = round_half_even(exact_total, dp);

    let mut amounts: Vec<Decimal> = exact.iter().map(|e| truncate(*e, dp)).collect();
    let truncated_total: Decimal = amounts.iter().copied().sum();

    // Left-over units: never negative, and never more than the shares with a
    // remainder, because T lies within half a unit of the exact total.
    let mut left = ((total - truncated_total) / unit).trunc();

    let mut order: Vec<usize> = (0..exact.len()).collect();
    order.sort_by(|&a, &b| {
        let rem_a = exact[a] - amounts[a];
        let rem_b = exact[b] - amounts[b];
        rem_b.cmp(&rem_a).then(a.cmp(&b))
    });

    let mut extra_unit = vec![false; exact.len()];
    for index in order {
        if left <= Decimal::ZERO {
            break;
        }
        amounts[index] += unit;
        extra_unit[index] = true;
        left -= Decimal::ONE;
    }

    for amount in &mut amounts {
        amount.rescale(dp);
    }
    let mut total = total;
    total.rescale(dp);
    Allocation {
        total,
        amounts,
        extra_unit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn three_thirds_of_a_hundred_give_the_extra_cent_to_level_one() {
        let usd = Currency::parse("USD").unwrap();
        let third = d("33.3333");
        let a = allocate(&[third, third, third], usd);
        assert_eq!(a.total, d("100.00"));
        assert_eq!(a.amounts, vec![d("33.34"), d("33.33"), d("33.33")]);
    }

    #[test]
    fn largest_remainder_wins_over_level_order() {
        let usd = Currency::parse("USD").unwrap();
        let a = allocate(&[d("1.001"), d("1.009"), d("1.000")], usd);
        assert_eq!(a.total, d("3.01"));
        assert_eq!(a.amounts, vec![d("1.00"), d("1.01"), d("1.00")]);
    }

    proptest! {
        #[test]
        fn lines_sum_to_the_rounded_total_and_stay_within_a_unit(
            cents in proptest::collection::vec(0i64..10_000_000, 1..12),
            scale in 2u32..8,
            dp in prop::sample::select(vec!["JPY", "USD", "BHD"]),
        ) {
            let currency = Currency::parse(dp).unwrap();
            let exact: Vec<Decimal> = cents.iter().map(|c| Decimal::new(*c, scale)).collect();
            let a = allocate(&exact, currency);
            let sum: Decimal = a.amounts.iter().copied().sum();
            prop_assert_eq!(sum, a.total);
            prop_assert_eq!(a.total, round_half_even(exact.iter().copied().sum(), currency.minor_units()));
            for (amount, e) in a.amounts.iter().zip(&exact) {
                prop_assert!((*amount - *e).abs() < currency.unit());
                prop_assert!(!amount.is_sign_negative() || amount.is_zero());
            }
        }
    }
}
