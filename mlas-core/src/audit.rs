//! The audit chain: one record per state change, each hashed over the previous.
//!
//! # The hashed bytes
//!
//! A record's hash is the lower-case hex SHA-256 (or HMAC-SHA256 with the
//! host's key, in keyed mode) of the canonical JSON (RFC 8785) of this object:
//!
//! ```json
//! {"actor":"ops","affiliate_id":"aff-123","at":"2026-02-06T00:00:00.000000Z",
//!  "payload":{...},"prev_hash":"<64 hex>","resource_id":"com_...",
//!  "resource_type":"commission","seq":"17","tenant":"org-123","type":"commission.approved"}
//! ```
//!
//! Every value is a string, `null` (`affiliate_id` when none applies), or in
//! `payload` a nested object, array, string, bool or null: money is a decimal
//! string, times are RFC 3339 UTC with six fractional digits, and counters are
//! strings. Within that profile, canonical JSON is the same bytes as Python's
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
//! encoded as UTF-8.
//!
//! Sequence numbers run 1, 2, 3, ... per tenant. The first record's
//! `prev_hash` is [`GENESIS_HASH`] (64 zeros); each later one's is the hash of
//! the record before it.

mod canonical;

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

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

/// The canonical JSON bytes of a record: what its hash covers.
pub fn canonical_bytes(record: &AuditRecord) -> Result<Vec<u8>> {
    canonical::record_bytes(record).map_err(|e| {
        Error::integrity(format!(
            "audit record {} cannot be encoded: {e}",
            record.seq
        ))
    })
}

/// The hash of a record: SHA-256, or HMAC-SHA256 under `key`, as lower-case hex.
pub fn record_hash(record: &AuditRecord, key: Option<&[u8]>) -> Result<String> {
    let bytes = canonical_bytes(record)?;
    Ok(match key {
        None => hex::encode(Sha256::digest(&bytes)),
        Some(key) => {
            let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key)
                .map_err(|_| Error::validation("audit_key", "is not a usable HMAC key"))?;
            mac.update(&bytes);
            hex::encode(mac.finalize().into_bytes())
        }
    })
}

impl AuditRecord {
    /// Builds the next record after `head` and hashes it.
    pub fn chained(
        tenant: &TenantId,
        head: Option<&AuditHead>,
        at: DateTime<Utc>,
        actor: &str,
        event: AuditEvent,
        key: Option<&[u8]>,
    ) -> Result<Self> {
        let mut record = AuditRecord {
            tenant: tenant.clone(),
            seq: head.map_or(1, |h| h.seq + 1),
            at,
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
}
