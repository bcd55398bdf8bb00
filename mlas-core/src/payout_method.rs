//! Payout methods and validated payout details (US bank accounts, IBANs, PayPal).
//!
//! Account numbers and IBANs are secrets: they appear only in the storage JSON
//! ([`PayoutDetails::to_storage_json`]). `Debug`, `Display`, error messages and
//! [`PayoutDetails::masked_json`] show them masked to their last four characters
//! (`****7890`). Routing numbers, BICs, bank names, holder names and emails are
//! not secret and are echoed in error messages.

use std::fmt;
use std::str::FromStr;

use iban::IbanLike as _;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// How an affiliate is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PayoutMethod {
    /// A bank transfer, to a US bank account (ACH) or to an IBAN.
    #[serde(rename = "BANK_TRANSFER")]
    BankTransfer,
    /// A PayPal payment to an email address.
    #[serde(rename = "PAYPAL")]
    PayPal,
}

impl PayoutMethod {
    /// The stable upper-case name: `"BANK_TRANSFER"` or `"PAYPAL"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutMethod::BankTransfer => "BANK_TRANSFER",
            PayoutMethod::PayPal => "PAYPAL",
        }
    }

    /// Parses the exact upper-case name written by [`PayoutMethod::as_str`].
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "BANK_TRANSFER" => Ok(PayoutMethod::BankTransfer),
            "PAYPAL" => Ok(PayoutMethod::PayPal),
            other => Err(Error::validation(
                "payout_method",
                format!(
                    "unknown payout method {other:?}; expected \"BANK_TRANSFER\" or \"PAYPAL\""
                ),
            )),
        }
    }
}

impl fmt::Display for PayoutMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PayoutMethod {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        PayoutMethod::parse(s)
    }
}

/// Validated payout details. Debug and Display mask secrets.
///
/// Build values with [`PayoutDetails::us_bank`], [`PayoutDetails::iban`] or
/// [`PayoutDetails::paypal`], which normalise their input (trimming names and
/// emails, compacting and upper-casing IBANs and BICs). A value built directly
/// from its variant must be checked with [`PayoutDetails::validate`], which
/// accepts exactly the values the constructors can produce.
#[derive(Clone, PartialEq, Eq)]
pub enum PayoutDetails {
    /// A US bank account (ACH).
    UsBank {
        /// The account number: 4 to 17 digits. Secret.
        account_number: String,
        /// The 9-digit ABA routing number. Not secret.
        routing_number: String,
        /// The bank's name.
        bank_name: String,
        /// The name on the account.
        account_holder_name: String,
    },
    /// An account identified by IBAN (stored compact, upper case, no spaces).
    Iban {
        /// The IBAN in compact upper-case form. Secret.
        iban: String,
        /// The optional BIC (SWIFT code), upper case, 8 or 11 characters.
        bic: Option<String>,
        /// The bank's name.
        bank_name: String,
        /// The name on the account.
        account_holder_name: String,
    },
    /// A PayPal account.
    PayPal {
        /// The PayPal account's email address.
        email: String,
    },
}

/// The longest bank or holder name accepted, in characters.
const MAX_NAME_CHARS: usize = 200;

impl PayoutDetails {
    /// Validated US bank account details.
    ///
    /// `account_number` must be 4 to 17 digits and `routing_number` a valid ABA
    /// routing number; both are taken as given (no spaces or dashes). The names
    /// are trimmed.
    pub fn us_bank(
        account_number: &str,
        routing_number: &str,
        bank_name: &str,
        account_holder_name: &str,
    ) -> Result<Self> {
        let details = PayoutDetails::UsBank {
            account_number: account_number.to_owned(),
            routing_number: routing_number.to_owned(),
            bank_name: bank_name.trim().to_owned(),
            account_holder_name: account_holder_name.trim().to_owned(),
        };
        details.validate()?;
        Ok(details)
    }

    /// Validated IBAN account details.
    ///
    /// The IBAN may contain spaces and lower case; it is stored compact and upper
    /// case. The BIC, if given, is trimmed and upper-cased. The names are trimmed.
    pub fn iban(
        iban: &str,
        bic: Option<&str>,
        bank_name: &str,
        account_holder_name: &str,
    ) -> Result<Self> {
        let details = PayoutDetails::Iban {
            iban: normalise_iban(iban),
            bic: bic.map(|b| b.trim().to_ascii_uppercase()),
            bank_name: bank_name.trim().to_owned(),
            account_holder_name: account_holder_name.trim().to_owned(),
        };
        details.validate()?;
        Ok(details)
    }

    /// Validated PayPal details. The email is trimmed, then checked with
    /// [`validate_email`].
    pub fn paypal(email: &str) -> Result<Self> {
        let details = PayoutDetails::PayPal {
            email: email.trim().to_owned(),
        };
        details.validate()?;
        Ok(details)
    }

    /// Re-checks every rule (used after deserialising from storage or from a binding).
    ///
    /// Besides the rules of the constructors, the value must be in the
    /// constructors' normal form: names without surrounding whitespace, the IBAN
    /// compact and upper case, the BIC upper case.
    pub fn validate(&self) -> Result<()> {
        match self {
            PayoutDetails::UsBank {
                account_number,
                routing_number,
                bank_name,
                account_holder_name,
            } => {
                check_account_number(account_number)?;
                check_routing_number(routing_number)?;
                check_name("bank_name", bank_name)?;
                check_name("account_holder_name", account_holder_name)
            }
            PayoutDetails::Iban {
                iban,
                bic,
                bank_name,
                account_holder_name,
            } => {
                check_iban(iban)?;
                if let Some(bic) = bic {
                    check_bic(bic)?;
                }
                check_name("bank_name", bank_name)?;
                check_name("account_holder_name", account_holder_name)
            }
            PayoutDetails::PayPal { email } => validate_email(email, "email"),
        }
    }

    /// The payout method: `UsBank` and `Iban` are [`PayoutMethod::BankTransfer`].
    pub fn method(&self) -> PayoutMethod {
        match self {
            PayoutDetails::UsBank { .. } | PayoutDetails::Iban { .. } => PayoutMethod::BankTransfer,
            PayoutDetails::PayPal { .. } => PayoutMethod::PayPal,
        }
    }

    /// The account shown to people: "****7890" for accounts/IBANs, the email for PayPal (emails are not secret here).
    pub fn masked_account(&self) -> String {
        match self {
            PayoutDetails::UsBank { account_number, .. } => mask_secret(account_number),
            PayoutDetails::Iban { iban, .. } => mask_secret(iban),
            PayoutDetails::PayPal { email } => email.clone(),
        }
    }

    /// A JSON object safe for logs and audit payloads: every field, with account_number / iban masked.
    ///
    /// It has the shape of [`PayoutDetails::to_storage_json`].
    pub fn masked_json(&self) -> Value {
        self.json(true)
    }

    /// The full JSON object for storage only, e.g. {"type":"us_bank","account_number":"...",...};
    /// all values strings or null.
    ///
    /// The `type` is `"us_bank"`, `"iban"` or `"paypal"`. The IBAN object's
    /// `bic` is `null` when absent. This object contains secrets: never log it.
    pub fn to_storage_json(&self) -> Value {
        self.json(false)
    }

    /// Parses what `to_storage_json` wrote, validating it. Error messages must not echo account numbers.
    ///
    /// The object must have exactly the keys that `to_storage_json` writes (an
    /// absent `bic` counts as `null`), and the values must pass
    /// [`PayoutDetails::validate`] as they are: nothing is normalised.
    pub fn from_storage_json(value: &Value) -> Result<Self> {
        let obj = value.as_object().ok_or_else(|| {
            Error::validation(
                "payout_details",
                "stored payout details must be a JSON object",
            )
        })?;
        let kind = match obj.get("type") {
            None => {
                return Err(Error::validation(
                    "type",
                    "missing field \"type\" in stored payout details",
                ));
            }
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(Error::validation("type", "field \"type\" must be a string")),
        };
        let details = match kind {
            "us_bank" => {
                check_keys(
                    obj,
                    &[
                        "type",
                        "account_number",
                        "routing_number",
                        "bank_name",
                        "account_holder_name",
                    ],
                )?;
                PayoutDetails::UsBank {
                    account_number: required_str(obj, "account_number")?,
                    routing_number: required_str(obj, "routing_number")?,
                    bank_name: required_str(obj, "bank_name")?,
                    account_holder_name: required_str(obj, "account_holder_name")?,
                }
            }
            "iban" => {
                check_keys(
                    obj,
                    &["type", "iban", "bic", "bank_name", "account_holder_name"],
                )?;
                PayoutDetails::Iban {
                    iban: required_str(obj, "iban")?,
                    bic: optional_str(obj, "bic")?,
                    bank_name: required_str(obj, "bank_name")?,
                    account_holder_name: required_str(obj, "account_holder_name")?,
                }
            }
            "paypal" => {
                check_keys(obj, &["type", "email"])?;
                PayoutDetails::PayPal {
                    email: required_str(obj, "email")?,
                }
            }
            other => {
                return Err(Error::validation(
                    "type",
                    format!(
                        "unknown payout details type {other:?}; expected \"us_bank\", \"iban\" or \"paypal\""
                    ),
                ));
            }
        };
        details.validate()?;
        Ok(details)
    }

    /// The storage JSON, with the secrets masked when `masked` is true.
    fn json(&self, masked: bool) -> Value {
        let secret = |s: &str| if masked { mask_secret(s) } else { s.to_owned() };
        match self {
            PayoutDetails::UsBank {
                account_number,
                routing_number,
                bank_name,
                account_holder_name,
            } => json!({
                "type": "us_bank",
                "account_number": secret(account_number),
                "routing_number": routing_number,
                "bank_name": bank_name,
                "account_holder_name": account_holder_name,
            }),
            PayoutDetails::Iban {
                iban,
                bic,
                bank_name,
                account_holder_name,
            } => json!({
                "type": "iban",
                "iban": secret(iban),
                "bic": bic,
                "bank_name": bank_name,
                "account_holder_name": account_holder_name,
            }),
            PayoutDetails::PayPal { email } => json!({
                "type": "paypal",
                "email": email,
            }),
        }
    }
}

impl fmt::Debug for PayoutDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayoutDetails::UsBank {
                account_number,
                routing_number,
                bank_name,
                account_holder_name,
            } => f
                .debug_struct("UsBank")
                .field("account_number", &mask_secret(account_number))
                .field("routing_number", routing_number)
                .field("bank_name", bank_name)
                .field("account_holder_name", account_holder_name)
                .finish(),
            PayoutDetails::Iban {
                iban,
                bic,
                bank_name,
                account_holder_name,
            } => f
                .debug_struct("Iban")
                .field("iban", &mask_secret(iban))
                .field("bic", bic)
                .field("bank_name", bank_name)
                .field("account_holder_name", account_holder_name)
                .finish(),
            PayoutDetails::PayPal { email } => {
                f.debug_struct("PayPal").field("email", email).finish()
            }
        }
    }
}

impl fmt::Display for PayoutDetails {
    /// The method and the masked account, e.g. `BANK_TRANSFER ****7890`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method(), self.masked_account())
    }
}

/// Checks an email address pragmatically; errors name `field` and echo the email.
///
/// The rules: at most 254 bytes in all; exactly one `@`; a non-empty local part
/// of at most 64 bytes; a domain with at least one dot whose labels are 1 to 63
/// characters of `[A-Za-z0-9-]` not starting or ending with `-`; no whitespace
/// or control characters anywhere.
pub fn validate_email(email: &str, field: &str) -> Result<()> {
    let fail = |what: &str| Err(Error::validation(field, format!("email {email:?} {what}")));
    if email.is_empty() {
        return Err(Error::validation(field, "email must not be empty"));
    }
    if email.len() > 254 {
        return Err(Error::validation(
            field,
            format!(
                "email is {} bytes long; at most 254 are allowed",
                email.len()
            ),
        ));
    }
    if email.chars().any(char::is_control) {
        return fail("contains a control character");
    }
    if email.chars().any(char::is_whitespace) {
        return fail("contains whitespace");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return fail("has no '@'");
    };
    if domain.contains('@') {
        return fail("has more than one '@'");
    }
    if local.is_empty() {
        return fail("has an empty local part");
    }
    if local.len() > 64 {
        return fail("has a local part longer than 64 bytes");
    }
    if domain.is_empty() {
        return fail("has an empty domain");
    }
    if !domain.contains('.') {
        return fail("has a domain without a dot");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return fail("has an empty domain label");
        }
        if label.len() > 63 {
            return fail("has a domain label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return fail("has a domain with characters other than letters, digits, '-' and '.'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return fail("has a domain label starting or ending with '-'");
        }
    }
    Ok(())
}

/// Last-four masking helper used by other modules: "1234567890" -> "****7890"; strings of <= 4 chars become "****".
pub fn mask_secret(secret: &str) -> String {
    let count = secret.chars().count();
    if count <= 4 {
        return "****".to_owned();
    }
    let tail: String = secret.chars().skip(count - 4).collect();
    format!("****{tail}")
}

/// US account numbers: 4 to 17 ASCII digits. The number itself is never echoed.
fn check_account_number(account_number: &str) -> Result<()> {
    let masked = mask_secret(account_number);
    if !account_number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::validation(
            "account_number",
            format!("account number {masked} must contain only digits (no spaces or dashes)"),
        ));
    }
    let len = account_number.len();
    if !(4..=17).contains(&len) {
        return Err(Error::validation(
            "account_number",
            format!("account number {masked} has {len} digits; it must have 4 to 17"),
        ));
    }
    Ok(())
}

/// ABA routing numbers: 9 digits, a Federal Reserve prefix, and the checksum.
fn check_routing_number(routing_number: &str) -> Result<()> {
    let fail = |what: String| {
        Err(Error::validation(
            "routing_number",
            format!("routing number {routing_number:?} {what}"),
        ))
    };
    if routing_number.len() != 9 || !routing_number.bytes().all(|b| b.is_ascii_digit()) {
        return fail("must be exactly 9 digits".to_owned());
    }
    let d: Vec<u32> = routing_number
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let prefix = d[0] * 10 + d[1];
    if !matches!(prefix, 1..=12 | 21..=32 | 61..=72 | 80) {
        return fail(format!(
            "has prefix {prefix:02}, which is not a Federal Reserve routing prefix (01-12, 21-32, 61-72 or 80)"
        ));
    }
    let sum = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8]);
    if sum % 10 != 0 {
        return fail("fails the ABA checksum".to_owned());
    }
    Ok(())
}

/// Bank and holder names: trimmed, non-empty, at most 200 characters, no control characters.
fn check_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::validation(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            format!("{field} {name:?} contains a control character"),
        ));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(Error::validation(
            field,
            format!("{field} is {chars} characters long; at most {MAX_NAME_CHARS} are allowed"),
        ));
    }
    if name.trim() != name {
        return Err(Error::validation(
            field,
            format!("{field} {name:?} has leading or trailing whitespace"),
        ));
    }
    Ok(())
}

/// The compact upper-case form of an IBAN typed by a person.
fn normalise_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Checks a stored (compact, upper-case) IBAN.
///
/// `iban_validate`'s `Debug` output and error values contain the full IBAN, so
/// they are never formatted: each error is mapped to a message of our own that
/// shows only the masked IBAN.
fn check_iban(iban: &str) -> Result<()> {
    let masked = mask_secret(&normalise_iban(iban));
    let fail = |what: String| Err(Error::validation("iban", format!("iban {masked} {what}")));
    if iban.is_empty() {
        return Err(Error::validation("iban", "iban must not be empty"));
    }
    if normalise_iban(iban) != iban {
        return fail("is not in compact upper-case form".to_owned());
    }
    let bytes = iban.as_bytes();
    if !bytes.iter().all(u8::is_ascii_alphanumeric)
        || bytes.len() < 5
        || !bytes[..2].iter().all(u8::is_ascii_uppercase)
        || !bytes[2..4].iter().all(u8::is_ascii_digit)
    {
        return fail("is not an IBAN".to_owned());
    }
    if bytes.len() > 34 {
        return fail(format!(
            "is {} characters long; an IBAN has at most 34",
            bytes.len()
        ));
    }
    let country = &iban[..2];
    match iban.parse::<iban::Iban>() {
        Ok(parsed) if parsed.electronic_str() == iban => Ok(()),
        Ok(_) => fail("is not in compact upper-case form".to_owned()),
        Err(iban::ParseIbanError::InvalidBaseIban {
            source: iban::ParseBaseIbanError::InvalidChecksum,
        }) => fail("fails the mod 97 check".to_owned()),
        Err(iban::ParseIbanError::InvalidBaseIban {
            source: iban::ParseBaseIbanError::InvalidFormat,
        }) => fail("is not an IBAN".to_owned()),
        Err(iban::ParseIbanError::UnknownCountry(_)) => {
            fail(format!("has unknown country code {country}"))
        }
        Err(iban::ParseIbanError::InvalidBban(_)) => fail(format!(
            "has the wrong length or format for its country ({country})"
        )),
    }
}

/// BICs: `[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?`, already upper case.
fn check_bic(bic: &str) -> Result<()> {
    let b = bic.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let ok = (b.len() == 8 || b.len() == 11)
        && b[..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(alnum);
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "bic",
            format!(
                "bic {bic:?} must be 8 or 11 upper-case characters: 6 letters, then letters or digits"
            ),
        ))
    }
}

/// Rejects keys other than `allowed`; only key names are echoed, never values.
fn check_keys(obj: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(Error::validation(
            "payout_details",
            format!("unexpected field {key:?} in stored payout details"),
        )),
        None => Ok(()),
    }
}

/// A required string field of stored payout details; the value is never echoed.
fn required_str(obj: &Map<String, Value>, key: &str) -> Result<String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        None => Err(Error::validation(
            key,
            format!("missing field {key:?} in stored payout details"),
        )),
        Some(_) => Err(Error::validation(
            key,
            format!("field {key:?} must be a string"),
        )),
    }
}

/// An optional string field (absent or `null` is `None`); the value is never echoed.
fn optional_str(obj: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::validation(
            key,
            format!("field {key:?} must be a string or null"),
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "1234567890";
    const GB: &str = "GB82WEST12345698765432";
    const DE: &str = "DE89370400440532013000";

    fn message(err: &Error) -> String {
        err.to_string()
    }

    fn field(err: &Error) -> String {
        match err {
            Error::Validation { field, .. } => field.clone(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    /// Eight digits plus the check digit that makes the ABA checksum pass.
    fn with_check(first8: &str) -> String {
        let d: Vec<u32> = first8.bytes().map(|b| u32::from(b - b'0')).collect();
        let partial = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5]);
        format!("{first8}{}", (10 - partial % 10) % 10)
    }

    /// An IBAN for `country` and `bban` with correct mod 97 check digits.
    fn iban_with_check(country: &str, bban: &str) -> String {
        let rearranged = format!("{bban}{country}00");
        let rem = rearranged.chars().fold(0_u32, |acc, c| {
            let v = c.to_digit(36).expect("alphanumeric");
            if v < 10 {
                (acc * 10 + v) % 97
            } else {
                (acc * 100 + v) % 97
            }
        });
        format!("{country}{:02}{bban}", 98 - rem)
    }

    fn us(account: &str, routing: &str) -> Result<PayoutDetails> {
        PayoutDetails::us_bank(account, routing, "Chase", "Jane Doe")
    }

    #[test]
    fn method_names_round_trip() {
        for m in [PayoutMethod::BankTransfer, PayoutMethod::PayPal] {
            assert_eq!(PayoutMethod::parse(m.as_str()).unwrap(), m);
            assert_eq!(m.as_str().parse::<PayoutMethod>().unwrap(), m);
            assert_eq!(m.to_string(), m.as_str());
            let json = serde_json::to_value(m).unwrap();
            assert_eq!(json, Value::String(m.as_str().to_owned()));
            assert_eq!(serde_json::from_value::<PayoutMethod>(json).unwrap(), m);
        }
        assert_eq!(PayoutMethod::BankTransfer.as_str(), "BANK_TRANSFER");
        assert_eq!(PayoutMethod::PayPal.as_str(), "PAYPAL");
        for bad in ["paypal", "PayPal", "BANK", "", " PAYPAL"] {
            let err = PayoutMethod::parse(bad).unwrap_err();
            assert_eq!(field(&err), "payout_method");
        }
        assert!(serde_json::from_str::<PayoutMethod>("\"paypal\"").is_err());
    }

    #[test]
    fn routing_number_checksum() {
        assert!(us(ACCOUNT, "021000021").is_ok());
        assert!(us(ACCOUNT, "011000015").is_ok());
        let err = us(ACCOUNT, "021000022").unwrap_err();
        assert_eq!(field(&err), "routing_number");
        assert!(message(&err).contains("checksum"), "{err}");
        assert!(
            message(&err).contains("021000022"),
            "routing numbers are echoed: {err}"
        );
    }

    #[test]
    fn routing_number_format() {
        for bad in [
            "",
            "02100002",
            "0210000210",
            "02100002a",
            "021 00002",
            "021-000021",
            "０21000021",
        ] {
            let err = us(ACCOUNT, bad).unwrap_err();
            assert_eq!(field(&err), "routing_number", "{bad:?}");
        }
    }

    #[test]
    fn routing_number_prefix_edges() {
        let cases = [
            ("00", false),
            ("01", true),
            ("12", true),
            ("13", false),
            ("20", false),
            ("21", true),
            ("32", true),
            ("33", false),
            ("60", false),
            ("61", true),
            ("72", true),
            ("73", false),
            ("79", false),
            ("80", true),
            ("81", false),
        ];
        for (prefix, ok) in cases {
            let routing = with_check(&format!("{prefix}100002"));
            let result = us(ACCOUNT, &routing);
            assert_eq!(result.is_ok(), ok, "prefix {prefix}: {result:?}");
            if let Err(err) = result {
                assert_eq!(field(&err), "routing_number");
                assert!(message(&err).contains("prefix"), "{err}");
            }
        }
        let err = us(ACCOUNT, "000000000").unwrap_err();
        assert!(message(&err).contains("prefix 00"), "{err}");
    }

    #[test]
    fn account_numbers() {
        assert!(us("1234", "021000021").is_ok());
        assert!(us("12345678901234567", "021000021").is_ok());
        for bad in [
            "",
            "123",
            "123456789012345678",
            "1234 5678",
            "1234-5678",
            "12345678a",
            " 12345678",
        ] {
            let err = us(bad, "021000021").unwrap_err();
            assert_eq!(field(&err), "account_number", "{bad:?}");
            if bad.len() > 4 {
                assert!(
                    !message(&err).contains(bad),
                    "message echoes the account: {err}"
                );
                assert!(
                    !format!("{err:?}").contains(bad),
                    "debug echoes the account: {err:?}"
                );
            }
        }
        let err = us("123456789012345678", "021000021").unwrap_err();
        assert!(message(&err).contains("****5678"), "{err}");
    }

    #[test]
    fn names() {
        let ok = PayoutDetails::us_bank(ACCOUNT, "021000021", "  Chase  ", " Jane Doe ").unwrap();
        let PayoutDetails::UsBank {
            bank_name,
            account_holder_name,
            ..
        } = &ok
        else {
            panic!()
        };
        assert_eq!(bank_name, "Chase");
        assert_eq!(account_holder_name, "Jane Doe");

        let long = "x".repeat(201);
        let max = "é".repeat(200);
        assert!(PayoutDetails::us_bank(ACCOUNT, "021000021", &max, "Jane").is_ok());
        for (bank, holder, expected) in [
            ("", "Jane", "bank_name"),
            ("   ", "Jane", "bank_name"),
            (long.as_str(), "Jane", "bank_name"),
            ("Ch\nase", "Jane", "bank_name"),
            ("Ch\u{7}ase", "Jane", "bank_name"),
            ("Chase", "", "account_holder_name"),
            ("Chase", "Ja\tne", "account_holder_name"),
            ("Chase", long.as_str(), "account_holder_name"),
        ] {
            let err = PayoutDetails::us_bank(ACCOUNT, "021000021", bank, holder).unwrap_err();
            assert_eq!(field(&err), expected, "{bank:?} {holder:?}: {err}");
            let err = PayoutDetails::iban(GB, None, bank, holder).unwrap_err();
            assert_eq!(field(&err), expected, "{bank:?} {holder:?}: {err}");
        }
        // Built directly, untrimmed names are not in normal form.
        let raw = PayoutDetails::UsBank {
            account_number: ACCOUNT.to_owned(),
            routing_number: "021000021".to_owned(),
            bank_name: " Chase".to_owned(),
            account_holder_name: "Jane".to_owned(),
        };
        assert_eq!(field(&raw.validate().unwrap_err()), "bank_name");
    }

    #[test]
    fn valid_ibans() {
        for (input, compact) in [
            (GB, GB),
            (DE, DE),
            ("GB82 WEST 1234 5698 7654 32", GB),
            ("gb82west12345698765432", GB),
            ("  de89 3704 0044 0532 0130 00 ", DE),
            ("De89 37040044 0532013000", DE),
        ] {
            let d = PayoutDetails::iban(input, None, "Bank", "Holder").unwrap();
            let PayoutDetails::Iban { iban, .. } = &d else {
                panic!()
            };
            assert_eq!(iban, compact);
            assert_eq!(d.method(), PayoutMethod::BankTransfer);
            assert_eq!(d.masked_account(), mask_secret(compact));
        }
        let d = PayoutDetails::iban(DE, Some(" cobadeffxxx "), "Commerzbank", "Max").unwrap();
        let PayoutDetails::Iban { bic, .. } = &d else {
            panic!()
        };
        assert_eq!(bic.as_deref(), Some("COBADEFFXXX"));
        assert_eq!(d.masked_account(), "****3000");
    }

    fn iban_err(input: &str) -> String {
        let err = PayoutDetails::iban(input, None, "Bank", "Holder").unwrap_err();
        assert_eq!(field(&err), "iban");
        let compact = normalise_iban(input);
        let text = message(&err);
        if compact.chars().count() > 4 {
            assert!(!text.contains(&compact), "message echoes the iban: {text}");
            assert!(
                !text.contains(input.trim()),
                "message echoes the iban: {text}"
            );
            assert!(
                !format!("{err:?}").contains(&compact),
                "debug echoes the iban: {err:?}"
            );
        }
        text
    }

    #[test]
    fn iban_wrong_checksum() {
        let text = iban_err("GB83WEST12345698765432");
        assert!(text.contains("mod 97"), "{text}");
        assert!(text.contains("****5432"), "{text}");
        assert!(iban_err("DE89370400440532013001").contains("mod 97"));
        // Check digits 00 and 01 are never valid.
        assert!(iban_err("GB00WEST12345698765432").contains("mod 97"));
    }

    #[test]
    fn iban_wrong_length_for_country() {
        // Correct mod 97, but GB IBANs have 22 characters and DE ones 22 too.
        let short = iban_with_check("GB", "WEST1234569876543");
        let long = iban_with_check("DE", "3704004405320130001");
        for bad in [short, long] {
            let text = iban_err(&bad);
            assert!(text.contains("wrong length"), "{text}");
        }
        let text = iban_err(&iban_with_check("GB", "123412345698765432"));
        assert!(text.contains("wrong length or format"), "{text}");
    }

    #[test]
    fn iban_unknown_country() {
        let text = iban_err(&iban_with_check("XX", "12345678901234"));
        assert!(text.contains("unknown country code XX"), "{text}");
    }

    #[test]
    fn not_ibans() {
        let bad_inputs = [
            "",
            "GB",
            "1234567890",
            "GB82-WEST-1234-5698-7654-32",
            "GBXXWEST12345698765432",
            "GB82WEST1234569876543€",
        ];
        for bad in bad_inputs {
            let err = PayoutDetails::iban(bad, None, "Bank", "Holder").unwrap_err();
            assert_eq!(field(&err), "iban", "{bad:?}");
        }
        let text = iban_err("GB82WEST12345698765432123456789012345");
        assert!(text.contains("at most 34"), "{text}");
        assert!(iban_err("GB82-WEST-1234-5698-7654-32").contains("not an IBAN"));
    }

    #[test]
    fn iban_must_be_compact_when_built_directly() {
        let raw = PayoutDetails::Iban {
            iban: "gb82 west 1234 5698 7654 32".to_owned(),
            bic: None,
            bank_name: "Bank".to_owned(),
            account_holder_name: "Holder".to_owned(),
        };
        let err = raw.validate().unwrap_err();
        assert_eq!(field(&err), "iban");
        assert!(message(&err).contains("compact"), "{err}");
        assert!(!message(&err).contains("5698"), "{err}");
    }

    #[test]
    fn bics() {
        for good in [
            "DEUTDEFF",
            "deutdeff",
            "DEUTDEFF500",
            "COBADEFFXXX",
            "NWBKGB2L",
        ] {
            assert!(
                PayoutDetails::iban(DE, Some(good), "B", "H").is_ok(),
                "{good}"
            );
        }
        for bad in [
            "",
            "DEUTDEF",
            "DEUTDEFF5",
            "DEUTDEFF50",
            "DEUTDEFF5000",
            "DEU1DEFF",
            "DEUTD1FF",
            "DEUTDEF_",
            "DEUT DEFF",
        ] {
            let err = PayoutDetails::iban(DE, Some(bad), "B", "H").unwrap_err();
            assert_eq!(field(&err), "bic", "{bad:?}");
        }
    }

    #[test]
    fn emails() {
        for good in [
            "a@b.co",
            "jane.doe+payouts@example.com",
            "x@sub-domain.example.co.uk",
            "UPPER@EXAMPLE.COM",
            "o'brien@example.ie",
        ] {
            assert!(validate_email(good, "email").is_ok(), "{good}");
            assert!(PayoutDetails::paypal(good).is_ok(), "{good}");
        }
        let local64 = format!("{}@example.com", "a".repeat(64));
        assert!(validate_email(&local64, "email").is_ok());
        let local65 = format!("{}@example.com", "a".repeat(65));
        let total255 = format!(
            "a@{}.com",
            [
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(63),
                "e".repeat(57)
            ]
            .join(".")
        );
        assert_eq!(total255.len(), 255);
        let total254 = format!(
            "a@{}.com",
            [
                "b".repeat(63),
                "c".repeat(63),
                "d".repeat(63),
                "e".repeat(56)
            ]
            .join(".")
        );
        assert!(validate_email(&total254, "email").is_ok());
        for bad in [
            "",
            "plainaddress",
            "@example.com",
            "a@",
            "a@b@example.com",
            "a@localhost",
            "a@.example.com",
            "a@example..com",
            "a@example.com.",
            "a@-example.com",
            "a@example-.com",
            "a@exa_mple.com",
            "a b@example.com",
            "a@exa mple.com",
            "a\u{0}@example.com",
            "a\n@example.com",
            "a@exämple.com",
            local65.as_str(),
            total255.as_str(),
        ] {
            let err = validate_email(bad, "contact_email").unwrap_err();
            assert_eq!(field(&err), "contact_email", "{bad:?}");
            assert!(PayoutDetails::paypal(bad).is_err(), "{bad:?}");
        }
        let err = PayoutDetails::paypal("nope").unwrap_err();
        assert_eq!(field(&err), "email");
        assert!(message(&err).contains("\"nope\""), "{err}");
        let d = PayoutDetails::paypal("  jane@example.com ").unwrap();
        assert_eq!(
            d,
            PayoutDetails::PayPal {
                email: "jane@example.com".to_owned()
            }
        );
        assert_eq!(d.method(), PayoutMethod::PayPal);
        assert_eq!(d.masked_account(), "jane@example.com");
        assert_eq!(d.to_string(), "PAYPAL jane@example.com");
    }

    #[test]
    fn masking() {
        assert_eq!(mask_secret("1234567890"), "****7890");
        assert_eq!(mask_secret("12345"), "****2345");
        assert_eq!(mask_secret("1234"), "****");
        assert_eq!(mask_secret(""), "****");
        assert_eq!(mask_secret("ééééé"), "****éééé");
    }

    #[test]
    fn debug_and_display_mask_secrets() {
        let us = us(ACCOUNT, "021000021").unwrap();
        let gb = PayoutDetails::iban(GB, Some("NWBKGB2L"), "NatWest", "Jane Doe").unwrap();
        for (d, secret, tail) in [(&us, ACCOUNT, "****7890"), (&gb, GB, "****5432")] {
            for text in [
                format!("{d:?}"),
                format!("{d:#?}"),
                d.to_string(),
                d.masked_json().to_string(),
            ] {
                assert!(!text.contains(secret), "leaks the secret: {text}");
                assert!(text.contains(tail), "{text}");
            }
            assert!(d.to_storage_json().to_string().contains(secret));
        }
        assert_eq!(us.to_string(), "BANK_TRANSFER ****7890");
        assert!(format!("{us:?}").contains("021000021"));
        assert_eq!(gb.to_string(), "BANK_TRANSFER ****5432");
        // Inside other values too.
        let wrapped = format!("{:?}", Some(vec![us.clone()]));
        assert!(!wrapped.contains(ACCOUNT));
    }

    #[test]
    fn masked_json_shape() {
        let us = us(ACCOUNT, "021000021").unwrap();
        assert_eq!(
            us.masked_json(),
            json!({
                "type": "us_bank",
                "account_number": "****7890",
                "routing_number": "021000021",
                "bank_name": "Chase",
                "account_holder_name": "Jane Doe",
            })
        );
        let de = PayoutDetails::iban(DE, None, "Commerzbank", "Max").unwrap();
        assert_eq!(
            de.masked_json(),
            json!({
                "type": "iban",
                "iban": "****3000",
                "bic": null,
                "bank_name": "Commerzbank",
                "account_holder_name": "Max",
            })
        );
    }

    #[test]
    fn storage_json_round_trip() {
        let all = [
            us(ACCOUNT, "021000021").unwrap(),
            PayoutDetails::iban(GB, Some("NWBKGB2L"), "NatWest", "Jane Doe").unwrap(),
            PayoutDetails::iban(DE, None, "Commerzbank", "Max Müller").unwrap(),
            PayoutDetails::paypal("jane@example.com").unwrap(),
        ];
        for d in &all {
            let stored = d.to_storage_json();
            let obj = stored.as_object().unwrap();
            assert!(
                obj.values().all(|v| v.is_string() || v.is_null()),
                "{stored}"
            );
            let back = PayoutDetails::from_storage_json(&stored).unwrap();
            assert_eq!(&back, d);
            // Through text too, as a store would.
            let text = serde_json::to_string(&stored).unwrap();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(&PayoutDetails::from_storage_json(&parsed).unwrap(), d);
        }
        assert_eq!(
            all[0].to_storage_json(),
            json!({
                "type": "us_bank",
                "account_number": ACCOUNT,
                "routing_number": "021000021",
                "bank_name": "Chase",
                "account_holder_name": "Jane Doe",
            })
        );
        // An absent bic is read as null.
        let no_bic = json!({"type": "iban", "iban": DE, "bank_name": "Commerzbank", "account_holder_name": "Max Müller"});
        assert_eq!(PayoutDetails::from_storage_json(&no_bic).unwrap(), all[2]);
    }

    /// `base` with `key` set to `value`, or removed when `value` is `None`.
    fn edited(base: &Value, key: &str, value: Option<Value>) -> Value {
        let mut out = base.clone();
        let obj = out.as_object_mut().unwrap();
        match value {
            Some(v) => obj.insert(key.to_owned(), v),
            None => obj.remove(key),
        };
        out
    }

    #[test]
    fn storage_json_errors_do_not_echo_secrets() {
        let bad_account = "12345678901234567890";
        let us = json!({
            "type": "us_bank",
            "account_number": ACCOUNT,
            "routing_number": "021000021",
            "bank_name": "B",
            "account_holder_name": "H",
        });
        let ib = json!({"type": "iban", "iban": GB, "bic": null, "bank_name": "B", "account_holder_name": "H"});
        assert!(PayoutDetails::from_storage_json(&us).is_ok());
        assert!(PayoutDetails::from_storage_json(&ib).is_ok());
        let cases = [
            (
                edited(&us, "account_number", Some(json!(bad_account))),
                "account_number",
            ),
            (
                edited(&us, "account_number", Some(json!(1_234_567_890_u64))),
                "account_number",
            ),
            (edited(&us, "account_number", None), "account_number"),
            (
                edited(&us, "routing_number", Some(json!("021000022"))),
                "routing_number",
            ),
            (edited(&us, "extra", Some(json!(ACCOUNT))), "payout_details"),
            (edited(&us, "iban", Some(json!(GB))), "payout_details"),
            (
                edited(&ib, "iban", Some(json!("GB83WEST12345698765432"))),
                "iban",
            ),
            (
                edited(&ib, "iban", Some(json!("gb82west12345698765432"))),
                "iban",
            ),
            (edited(&ib, "iban", Some(json!([GB]))), "iban"),
            (edited(&ib, "iban", Some(Value::Null)), "iban"),
            (edited(&ib, "bic", Some(json!(5))), "bic"),
            (edited(&ib, "bic", Some(json!("nwbkgb2l"))), "bic"),
            (edited(&ib, "bank_name", Some(json!(" B"))), "bank_name"),
            (
                edited(&ib, "account_holder_name", None),
                "account_holder_name",
            ),
            (json!({"type": "paypal", "email": "not an email"}), "email"),
            (json!({"type": "paypal"}), "email"),
            (json!({"type": "venmo", "account_number": ACCOUNT}), "type"),
            (json!({"type": 3}), "type"),
            (json!({"account_number": ACCOUNT}), "type"),
            (json!([ACCOUNT]), "payout_details"),
            (json!(ACCOUNT), "payout_details"),
            (Value::Null, "payout_details"),
        ];
        for (value, expected) in cases {
            let err = PayoutDetails::from_storage_json(&value).unwrap_err();
            assert_eq!(field(&err), expected, "{value}: {err}");
            let text = format!("{err} {err:?}");
            for secret in [
                bad_account,
                ACCOUNT,
                GB,
                "GB83WEST12345698765432",
                "gb82west12345698765432",
            ] {
                assert!(!text.contains(secret), "leaks {secret}: {text}");
            }
        }
    }
}
