//! Conversions between domain values and SQLite columns.
//!
//! Money is stored as integer minor units beside a currency code, times as
//! integer microseconds since the Unix epoch (UTC), rates as exact decimal
//! text, and nested values as JSON text. Anything read back that does not
//! decode is an [`Error::Integrity`]: the file was changed outside MLAS.

use chrono::{DateTime, Utc};
use mlas_core::{Currency, Decimal, Error, Money, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Microseconds since the Unix epoch; finer precision is dropped.
pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// An optional time as optional microseconds.
pub(crate) fn opt_micros(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(micros)
}

/// The time stored as `us`.
pub(crate) fn time(us: i64, column: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| Error::integrity(format!("stored {column} {us} is not a valid time")))
}

/// An optional stored time.
pub(crate) fn opt_time(us: Option<i64>, column: &str) -> Result<Option<DateTime<Utc>>> {
    us.map(|us| time(us, column)).transpose()
}

/// A stored currency code.
pub(crate) fn currency(code: &str) -> Result<Currency> {
    Currency::parse(code)
        .map_err(|_| Error::integrity(format!("stored currency {code:?} is not usable")))
}

/// The one currency of several amounts that belong to one row: a row keeps a
/// single currency column, so mixed currencies are refused.
pub(crate) fn row_currency(what: &str, id: &str, amounts: &[Money]) -> Result<Currency> {
    let Some(first) = amounts.first() else {
        return Err(Error::validation(
            "currency",
            format!("{what} {id} has no amount"),
        ));
    };
    let currency = first.currency();
    if let Some(other) = amounts.iter().find(|m| m.currency() != currency) {
        return Err(Error::validation(
            "currency",
            format!("{what} {id} mixes {currency} and {}", other.currency()),
        ));
    }
    Ok(currency)
}

/// An amount from minor units.
pub(crate) fn money(minor: i64, currency: Currency) -> Money {
    Money::from_minor(minor, currency)
}

/// A decimal stored as exact text.
pub(crate) fn decimal(text: &str, column: &str) -> Result<Decimal> {
    Decimal::from_str_exact(text)
        .map_err(|_| Error::integrity(format!("stored {column} {text:?} is not a decimal")))
}

/// An id stored as text.
pub(crate) fn id<I: TryFrom<String, Error = Error>>(text: String, column: &str) -> Result<I> {
    I::try_from(text).map_err(|e| Error::integrity(format!("stored {column} is not an id: {e}")))
}

/// An optional stored id.
pub(crate) fn opt_id<I: TryFrom<String, Error = Error>>(
    text: Option<String>,
    column: &str,
) -> Result<Option<I>> {
    text.map(|t| id(t, column)).transpose()
}

/// A value as JSON text.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, column: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::storage(format!("cannot encode {column} as json: {e}")))
}

/// A list of ids as JSON text, byte for byte what `serde_json` writes for it,
/// without going through its serializer: payouts store lists of hundreds of
/// commission ids, and writing them was a twentieth of a batch's time. Ids
/// hold printable ASCII only (checked when they are made), so `"` and `\`
/// are the only characters to escape.
pub(crate) fn id_list<I: AsRef<str>>(ids: &[I]) -> String {
    let mut out =
        String::with_capacity(2 + ids.iter().map(|i| i.as_ref().len() + 3).sum::<usize>());
    out.push('[');
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('"');
        for part in id.as_ref().split_inclusive(['"', '\\']) {
            match part.as_bytes().last() {
                Some(&last @ (b'"' | b'\\')) => {
                    out.push_str(&part[..part.len() - 1]);
                    out.push('\\');
                    out.push(char::from(last));
                }
                _ => out.push_str(part),
            }
        }
        out.push('"');
    }
    out.push(']');
    out
}

/// A value from JSON text.
pub(crate) fn from_json<T: DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| Error::integrity(format!("stored {column} is not valid: {e}")))
}

/// A stored status (or other enum text) as its type parses it: text the type
/// does not know means the file was edited outside MLAS.
pub(crate) fn stored<T>(parsed: Result<T>) -> Result<T> {
    parsed.map_err(|e| Error::integrity(e.to_string()))
}

/// A stored unsigned counter.
pub(crate) fn unsigned<T: TryFrom<i64>>(value: i64, column: &str) -> Result<T> {
    T::try_from(value)
        .map_err(|_| Error::integrity(format!("stored {column} {value} is out of range")))
}

/// A sequence number or limit as SQLite's signed integer, saturating: no chain
/// gets near `i64::MAX`.
pub(crate) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_written_as_serde_json_writes_them() {
        use mlas_core::CommissionId;

        let none: [CommissionId; 0] = [];
        let lists: [&[&str]; 5] = [
            &[],
            &["com_1"],
            &["com_1", "com_2", "com_3"],
            &["a\"b", "c\\d", "\"\"", "\\", "x\\\"y"],
            &["!#$%&'()*+,-./:;<=>?@[]^_`{|}~"],
        ];
        assert_eq!(id_list(&none), "[]");
        for list in lists {
            let ids: Vec<CommissionId> = list
                .iter()
                .map(|i| CommissionId::new(*i).unwrap())
                .collect();
            assert_eq!(
                id_list(&ids),
                serde_json::to_string(&ids).unwrap(),
                "{list:?}"
            );
            let back: Vec<CommissionId> = serde_json::from_str(&id_list(&ids)).unwrap();
            assert_eq!(back, ids);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_id_list_is_written_as_serde_json_writes_it(
            list in proptest::collection::vec("[!-~]{1,24}", 0..8)
        ) {
            let ids: Vec<mlas_core::AffiliateId> =
                list.iter().map(|i| mlas_core::AffiliateId::new(i.as_str()).unwrap()).collect();
            proptest::prop_assert_eq!(id_list(&ids), serde_json::to_string(&ids).unwrap());
        }
    }

    #[test]
    fn mixed_currencies_in_one_row_are_refused() {
        let usd = Money::from_minor(1, currency("USD").unwrap());
        let jpy = Money::from_minor(1, currency("JPY").unwrap());
        assert!(row_currency("commission", "c-1", &[usd, usd]).is_ok());
        let err = row_currency("commission", "c-1", &[usd, jpy]).unwrap_err();
        assert!(err.to_string().contains("mixes USD and JPY"), "{err}");
    }

    #[test]
    fn bad_stored_values_are_integrity_errors() {
        use mlas_core::ErrorKind::Integrity;
        assert_eq!(currency("XXX").unwrap_err().kind(), Integrity);
        assert_eq!(decimal("1e5x", "rate").unwrap_err().kind(), Integrity);
        assert_eq!(time(i64::MAX, "at").unwrap_err().kind(), Integrity);
        let bad: Result<mlas_core::AffiliateId> = id("has space".to_owned(), "affiliate");
        assert_eq!(bad.unwrap_err().kind(), Integrity);
        assert_eq!(
            unsigned::<u32>(-1, "attempts").unwrap_err().kind(),
            Integrity
        );
    }
}
