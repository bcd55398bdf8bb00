//! Identifiers. Every id is a short printable string; ids the library makes are
//! a type prefix and a UUID v7 (`com_0192...`). Hosts may choose their own ids for
//! tenants, affiliates, sales, refunds and batches.

use std::fmt;

use crate::error::{Error, Result};

/// The longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates a caller-given id: 1 to 128 printable ASCII characters,
            /// no spaces.
            pub fn new(id: impl Into<String>) -> Result<Self> {
                let id = id.into();
                check_id(&id, $field)?;
                Ok($name(id))
            }

            /// Makes a fresh id: the type prefix and a UUID v7.
            pub fn generate() -> Self {
                $name(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(id: String) -> Result<Self> {
                $name::new(id)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(id: &str) -> Result<Self> {
                $name::new(id)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

fn check_id(id: &str, field: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_LEN {
        return Err(Error::validation(
            field,
            format!("must be 1 to {MAX_ID_LEN} characters, got {}", id.len()),
        ));
    }
    // Bytes first (the common, valid case); characters only to name a bad one.
    if id.bytes().all(|b| b.is_ascii_graphic()) {
        return Ok(());
    }
    let bad = id.chars().find(|c| !c.is_ascii_graphic()).unwrap_or(' ');
    Err(Error::validation(
        field,
        format!("{id:?} contains the character {bad:?}"),
    ))
}

id_type!(
    /// A tenant: one host organisation (the runbook's `organizationId`).
    TenantId, "tenant_id", "ten");
id_type!(
    /// An affiliate.
    AffiliateId, "affiliate_id", "aff");
id_type!(
    /// A commission rule (all its versions share the id).
    RuleId, "rule_id", "rul");
id_type!(
    /// A sale, unique per tenant; the host's own order or invoice id.
    SaleId, "sale_id", "sal");
id_type!(
    /// A commission line.
    CommissionId, "commission_id", "com");
id_type!(
    /// An adjustment (a clawback or a correction).
    AdjustmentId, "adjustment_id", "adj");
id_type!(
    /// A refund; the host's key for retrying the same refund.
    RefundId, "refund_id", "ref");
id_type!(
    /// A payout batch; the host's key for retrying the same scheduling.
    BatchId, "batch_id", "bat");
id_type!(
    /// A payout; also the idempotency key handed to the provider.
    PayoutId, "payout_id", "pay");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_printable_and_bounded() {
        assert!(AffiliateId::new("aff-123").is_ok());
        assert!(AffiliateId::new("").is_err());
        assert!(AffiliateId::new("a b").is_err());
        assert!(AffiliateId::new("x".repeat(129)).is_err());
        assert!(CommissionId::generate().as_str().starts_with("com_"));
    }
}
