//! The audit chain: one record per state change, each hashed over the previous.
//!
//! AUDIT.md at the repository root is the full specification, written so that a
//! third party can verify an export without reading this code. In short:
//!
//! # The hashed bytes
//!
//! A record's hash is the lower-case hex SHA-256 (or, in keyed mode,
//! HMAC-SHA256 keyed with the raw bytes of [`crate::EngineConfig::audit_key`])
//! of the UTF-8 bytes of the canonical JSON (RFC 8785) of an object with
//! exactly these ten members, written here in canonical (sorted) order:
//!
//! | member | value |
//! | --- | --- |
//! | `actor` | string: who made the change |
//! | `affiliate_id` | string, or `null` when no affiliate applies |
//! | `at` | string: RFC 3339 UTC, six fractional digits, `Z` (`2026-02-06T09:30:00.000000Z`) |
//! | `payload` | object: what changed (see the profile below) |
//! | `prev_hash` | string: 64 lower-case hex digits |
//! | `resource_id` | string |
//! | `resource_type` | string (`"commission"`, ...) |
//! | `seq` | string: the decimal sequence number, no sign, no leading zeros (`"17"`) |
//! | `tenant` | string |
//! | `type` | string: the transaction type (`"commission.approved"`, ...) |
//!
//! For example (wrapped here; the real bytes have no whitespace between tokens):
//!
//! ```json
//! {"actor":"ops","affiliate_id":"aff-123","at":"2026-02-06T00:00:00.000000Z",
//!  "payload":{"from":"PENDING","reason":null,"to":"APPROVED"},"prev_hash":"<64 hex>",
//!  "resource_id":"com-1","resource_type":"commission","seq":"17","tenant":"org-123",
//!  "type":"commission.approved"}
//! ```
//!
//! The record's own `hash` is not part of the hashed object.
//!
//! # The JSON profile
//!
//! Payloads hold only objects, arrays, strings, `true`/`false`, `null` and
//! integers of magnitude below 2^53 (in practice none: money is a decimal
//! string such as `"-10.50"`, times are RFC 3339 UTC strings as above, and
//! counters and versions are decimal strings). Object keys lie in the Basic
//! Multilingual Plane. [`AuditRecord::chained`] refuses anything else. Within
//! that profile, RFC 8785 gives the same bytes as Python's
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
//! encoded as UTF-8.
//!
//! # The chain
//!
//! Sequence numbers run 1, 2, 3, ... per tenant with no gaps. The first
//! record's `prev_hash` is [`GENESIS_HASH`] (64 zeros); each later one's is the
//! `hash` of the record before it. After archiving, the chain in the database
//! starts after an anchor (the last archived record's seq and hash): the first
//! remaining record's `prev_hash` is the anchor's hash.
//!
//! Submodules: [`verify`] walks a chain, [`export`] writes and reads JSON Lines
//! and CSV, [`checkpoint`] is the head a host keeps outside the database;
//! the crate-private `pipeline` runs a store's scan through a verifier, on
//! two threads for a long chain.

pub mod checkpoint;
pub mod export;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use row::{AuditPayload, AuditRow};
pub use verify::{AuditVerification, BreakReason, ChainBreak, ChainVerifier};

mod canonical;
pub(crate) mod pipeline;
mod row;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::ids::TenantId;

/// The `prev_hash` of a tenant's first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// The tenant whose chain this is.
    pub tenant: TenantId,
    /// Position in the tenant's chain, from 1.
    pub seq: u64,
    /// When the change was made.
    pub at: DateTime<Utc>,
    /// The transaction type (`"commission.approved"`, ...).
    pub kind: String,
    /// The resource type (`"commission"`, ...).
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// The affiliate concerned, where one applies.
    pub affiliate_id: Option<String>,
    /// Who made the change.
    pub actor: String,
    /// What changed; never a full account number.
    pub payload: Value,
    /// The previous record's hash, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// This record's hash.
    pub hash: String,
}

/// A state change to be appended, before it has a place in the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// The transaction type.
    pub kind: &'static str,
    /// The resource type.
    pub resource_type: &'static str,
    /// The resource id.
    pub resource_id: String,
    /// The affiliate concerned.
    pub affiliate_id: Option<String>,
    /// What changed.
    pub payload: Value,
}

/// The last record of a chain: where the next one attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Its sequence number.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
}

/// A filter over one tenant's audit records, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only records about this resource.
    pub resource_id: Option<String>,
    /// Only records concerning this affiliate.
    pub affiliate_id: Option<String>,
    /// Only records of this transaction type.
    pub kind: Option<String>,
    /// Only records at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only records before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only records after this sequence number (a cursor: pass the last seen).
    pub after_seq: Option<u64>,
    /// At most this many records.
    pub limit: Option<usize>,
}

/// The object a record's hash covers: the ten hashed members, without `hash`.
pub fn hashed_object(record: &AuditRecord) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("actor".into(), Value::String(record.actor.clone()));
    object.insert(
        "affiliate_id".into(),
        record
            .affiliate_id
            .clone()
            .map_or(Value::Null, Value::String),
    );
    object.insert("at".into(), Value::String(rfc3339(record.at)));
    object.insert("payload".into(), record.payload.clone());
    object.insert("prev_hash".into(), Value::String(record.prev_hash.clone()));
    object.insert(
        "resource_id".into(),
        Value::String(record.resource_id.clone()),
    );
    object.insert(
        "resource_type".into(),
        Value::String(record.resource_type.clone()),
    );
    object.insert("seq".into(), Value::String(record.seq.to_string()));
    object.insert("tenant".into(), Value::String(record.tenant.to_string()));
    object.insert("type".into(), Value::String(record.kind.clone()));
    object
}

/// The canonical JSON bytes of a record: what its hash covers.
///
/// # Errors
/// `Integrity` if the payload cannot be encoded (a stored record outside the profile).
pub fn canonical_bytes(record: &AuditRecord) -> Result<Vec<u8>> {
    // Written directly (same bytes as `canonical_json(&hashed_object(record))`,
    // checked in `canonical`'s tests), without building a map per record.
    canonical::record_bytes(record)
        .map_err(|e| Error::integrity(format!("audit record {}: {e}", record.seq)))
}

/// RFC 8785 canonical JSON of `value`, as UTF-8 bytes.
pub(crate) fn canonical_json(value: &Value) -> std::result::Result<Vec<u8>, String> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| format!("cannot be encoded: {e}"))
}

/// SHA-256, or HMAC-SHA256 under `key`, of `bytes`, as lower-case hex.
pub(crate) fn digest(bytes: &[u8], key: Option<&[u8]>) -> Result<String> {
    Ok(match key {
        None => hex::encode(Sha256::digest(bytes)),
        Some(key) => {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key)
                .map_err(|_| Error::validation("audit_key", "is not a usable HMAC key"))?;
            mac.update(bytes);
            hex::encode(mac.finalize().into_bytes())
        }
    })
}

/// The hash of a record: SHA-256, or HMAC-SHA256 under `key`, as lower-case hex.
///
/// # Errors
/// `Integrity` for a payload that cannot be encoded.
pub fn record_hash(record: &AuditRecord, key: Option<&[u8]>) -> Result<String> {
    digest(&canonical_bytes(record)?, key)
}

/// The largest integer magnitude the profile admits: beyond it, RFC 8785
/// (which writes numbers as IEEE doubles) and other languages' JSON disagree.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Checks that `value` lies in the JSON profile the hashed format promises.
///
/// # Errors
/// `Validation` on `payload`, naming the first value outside the profile.
pub fn check_profile(value: &Value) -> Result<()> {
    match value {
        Value::Number(n) => {
            let safe = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
            if safe {
                Ok(())
            } else {
                Err(Error::validation(
                    "payload",
                    format!("the number {n} is outside the audit profile (use a decimal string)"),
                ))
            }
        }
        Value::Array(items) => items.iter().try_for_each(check_profile),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            if key.chars().any(|c| u32::from(c) > 0xFFFF) {
                return Err(Error::validation(
                    "payload",
                    format!("the key {key:?} has a character outside the Basic Multilingual Plane"),
                ));
            }
            check_profile(item)
        }),
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}

impl AuditRecord {
    /// Builds the next record after `head` and hashes it.
    ///
    /// # Errors
    /// `Validation` for a payload outside the profile (see the module doc).
    pub fn chained(
        tenant: &TenantId,
        head: Option<&AuditHead>,
        at: DateTime<Utc>,
        actor: &str,
        event: AuditEvent,
        key: Option<&[u8]>,
    ) -> Result<Self> {
        check_profile(&event.payload)?;
        let mut record = AuditRecord {
            tenant: tenant.clone(),
            seq: head.map_or(1, |h| h.seq + 1),
            // The hash covers `at` at microsecond precision, the precision
            // every backend stores.
            at: crate::clock::micros(at),
            kind: event.kind.to_owned(),
            resource_type: event.resource_type.to_owned(),
            resource_id: event.resource_id,
            affiliate_id: event.affiliate_id,
            actor: actor.to_owned(),
            payload: event.payload,
            prev_hash: head.map_or_else(|| GENESIS_HASH.to_owned(), |h| h.hash.clone()),
            hash: String::new(),
        };
        record.hash = record_hash(&record, key)?;
        Ok(record)
    }

    /// Where the next record attaches if this one is the last.
    pub fn head(&self) -> AuditHead {
        AuditHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    /// The worked example of AUDIT.md: if this test changes, the document must too.
    fn documented_chain(key: Option<&[u8]>) -> (AuditRecord, AuditRecord) {
        let tenant = TenantId::new("org-123").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap()
            + chrono::TimeDelta::microseconds(250_000);
        let first = AuditRecord::chained(
            &tenant,
            None,
            at,
            "ops@example.com",
            AuditEvent {
                kind: "affiliate.created",
                resource_type: "affiliate",
                resource_id: "aff-1".into(),
                affiliate_id: Some("aff-1".into()),
                payload: json!({"name": "Zoë", "commission_rate": "10", "sponsor": null}),
            },
            key,
        )
        .unwrap();
        let second = AuditRecord::chained(
            &tenant,
            Some(&first.head()),
            at,
            "ops@example.com",
            AuditEvent {
                kind: "commission.approved",
                resource_type: "commission",
                resource_id: "com-1".into(),
                affiliate_id: Some("aff-1".into()),
                payload: json!({"from": "PENDING", "to": "APPROVED", "reason": null}),
            },
            key,
        )
        .unwrap();
        (first, second)
    }

    #[test]
    fn the_documented_example_hashes_as_documented() {
        let (first, second) = documented_chain(None);
        assert_eq!(
            String::from_utf8(canonical_bytes(&first).unwrap()).unwrap(),
            concat!(
                r#"{"actor":"ops@example.com","affiliate_id":"aff-1","at":"2026-02-06T09:30:00.250000Z","#,
                r#""payload":{"commission_rate":"10","name":"Zoë","sponsor":null},"#,
                r#""prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""resource_id":"aff-1","resource_type":"affiliate","seq":"1","tenant":"org-123","#,
                r#""type":"affiliate.created"}"#
            )
        );
        assert_eq!(
            first.hash,
            "c1bdbdbe82a505274b71795cd8ad8b9f457ae921edf722b3f368e1a2fec78144"
        );
        assert_eq!(second.prev_hash, first.hash);
        assert_eq!(
            second.hash,
            "50863f04e03fd143d91c4b681945dcdafab8daf72c0c3834467dc1345fb0c3b7"
        );
        let (first, second) = documented_chain(Some(b"example key"));
        assert_eq!(
            first.hash,
            "339044474782867bd6eccb58e9f3e490e6254bb08579f3ef7af929b9326fc644"
        );
        assert_eq!(
            second.hash,
            "ccb40302cb77ba570c8a12a4e126e3cfdb350a9e99bf96d51286bd6872ebc575"
        );
    }

    #[test]
    fn the_profile_refuses_floats_and_big_integers() {
        assert!(check_profile(&json!({"a": [1, -2, "x", null, true]})).is_ok());
        assert!(check_profile(&json!({"a": 1.5})).is_err());
        assert!(check_profile(&json!({"a": 9_007_199_254_740_992_u64})).is_err());
        assert!(check_profile(&json!({"😀": "x"})).is_err());
    }
}
