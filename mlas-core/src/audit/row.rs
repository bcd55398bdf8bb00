//! A stored audit record, borrowed from the backend as it holds it.
//!
//! [`crate::store::Tx::scan_audit_rows`] hands these out so that verification
//! and exports can write a record's canonical bytes straight from the
//! backend's row, without building an owned [`AuditRecord`] (and, for a
//! payload stored as JSON text, without parsing it when the text is already
//! canonical: see [`AuditPayload::Json`]).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::AuditRecord;
use crate::error::{Error, Result};
use crate::ids::TenantId;

/// A record's payload as the backend holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AuditPayload<'a> {
    /// JSON text as stored (for instance a SQLite `TEXT` column). It need not
    /// be canonical: readers parse it unless it already is canonical JSON
    /// within the audit profile, in which case its bytes are the hashed ones.
    Json(&'a str),
    /// A parsed value (an in-memory backend).
    Value(&'a Value),
}

/// One stored audit record, borrowed. The fields mean what they mean in
/// [`AuditRecord`]; only `tenant` is unchecked text and `payload` may be
/// unparsed JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuditRow<'a> {
    /// The tenant whose chain this is (as stored, not validated).
    pub tenant: &'a str,
    /// Position in the tenant's chain.
    pub seq: u64,
    /// When the change was made (microsecond precision).
    pub at: DateTime<Utc>,
    /// The transaction type.
    pub kind: &'a str,
    /// The resource type.
    pub resource_type: &'a str,
    /// The resource id.
    pub resource_id: &'a str,
    /// The affiliate concerned, where one applies.
    pub affiliate_id: Option<&'a str>,
    /// Who made the change.
    pub actor: &'a str,
    /// What changed.
    pub payload: AuditPayload<'a>,
    /// The previous record's hash.
    pub prev_hash: &'a str,
    /// This record's stored hash.
    pub hash: &'a str,
}

impl AuditRow<'_> {
    /// An owned record, as [`crate::store::Tx::scan_audit`] returns it.
    ///
    /// # Errors
    /// `Integrity` when the tenant is not an id or the payload text is not JSON.
    pub fn to_record(&self) -> Result<AuditRecord> {
        Ok(AuditRecord {
            tenant: TenantId::new(self.tenant)
                .map_err(|e| Error::integrity(format!("stored tenant is not an id: {e}")))?,
            seq: self.seq,
            at: self.at,
            kind: self.kind.to_owned(),
            resource_type: self.resource_type.to_owned(),
            resource_id: self.resource_id.to_owned(),
            affiliate_id: self.affiliate_id.map(str::to_owned),
            actor: self.actor.to_owned(),
            payload: self.payload_value()?,
            prev_hash: self.prev_hash.to_owned(),
            hash: self.hash.to_owned(),
        })
    }

    /// The payload as a value (parsing stored text).
    ///
    /// # Errors
    /// `Integrity` when the payload text is not JSON.
    pub fn payload_value(&self) -> Result<Value> {
        match self.payload {
            AuditPayload::Value(v) => Ok(v.clone()),
            AuditPayload::Json(text) => serde_json::from_str(text)
                .map_err(|e| Error::integrity(format!("stored payload is not valid: {e}"))),
        }
    }
}

impl AuditRecord {
    /// This record as a borrowed row.
    pub fn as_row(&self) -> AuditRow<'_> {
        AuditRow {
            tenant: self.tenant.as_str(),
            seq: self.seq,
            at: self.at,
            kind: &self.kind,
            resource_type: &self.resource_type,
            resource_id: &self.resource_id,
            affiliate_id: self.affiliate_id.as_deref(),
            actor: &self.actor,
            payload: AuditPayload::Value(&self.payload),
            prev_hash: &self.prev_hash,
            hash: &self.hash,
        }
    }
}
