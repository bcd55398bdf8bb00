//! Checkpoints: a chain's head as the host keeps it outside the database.
//!
//! The chain alone cannot tell a truncated tail from a chain that simply ended
//! there, nor (in unkeyed mode) a tail rewritten with recomputed hashes from
//! the original. A checkpoint stored elsewhere (another database, a log
//! service, a signed e-mail) can: verifying against it demands that the
//! record it names is still there with the same hash.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{AuditHead, canonical_json, digest};
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::store::AuditCheckpoint;

/// A tenant's chain head at one moment, optionally tagged under the audit key.
///
/// Seq 0 with [`super::GENESIS_HASH`] is the checkpoint of an empty chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The tenant.
    pub tenant: TenantId,
    /// The sequence number of the head record.
    pub seq: u64,
    /// The hash of the head record.
    pub hash: String,
    /// When the checkpoint was taken (microseconds, UTC).
    pub at: DateTime<Utc>,
    /// In keyed mode, the lower-case hex HMAC-SHA256 under the audit key of
    /// [`Checkpoint::tagged_bytes`]; `None` in unkeyed mode.
    pub tag: Option<String>,
}

impl Checkpoint {
    /// A checkpoint of `head` (`None`: an empty chain), tagged when `key` is given.
    ///
    /// # Errors
    /// `Validation` for an unusable key.
    pub fn new(
        tenant: &TenantId,
        head: Option<&AuditHead>,
        at: DateTime<Utc>,
        key: Option<&[u8]>,
    ) -> Result<Self> {
        let mut checkpoint = Checkpoint {
            tenant: tenant.clone(),
            seq: head.map_or(0, |h| h.seq),
            hash: head.map_or_else(|| super::GENESIS_HASH.to_owned(), |h| h.hash.clone()),
            at: crate::clock::micros(at),
            tag: None,
        };
        if let Some(key) = key {
            checkpoint.tag = Some(digest(&checkpoint.tagged_bytes()?, Some(key))?);
        }
        Ok(checkpoint)
    }

    /// The bytes the tag covers: the canonical JSON of
    /// `{"at":..,"hash":..,"seq":"N","tenant":..,"type":"audit.checkpoint"}`,
    /// with the same encodings as a record. The `type` member keeps a tag from
    /// ever being mistaken for a record hash.
    pub fn tagged_bytes(&self) -> Result<Vec<u8>> {
        let mut object = Map::new();
        object.insert("at".into(), Value::String(rfc3339(self.at)));
        object.insert("hash".into(), Value::String(self.hash.clone()));
        object.insert("seq".into(), Value::String(self.seq.to_string()));
        object.insert("tenant".into(), Value::String(self.tenant.to_string()));
        object.insert("type".into(), Value::String("audit.checkpoint".into()));
        canonical_json(&Value::Object(object))
            .map_err(|e| Error::integrity(format!("checkpoint {e}")))
    }

    /// Whether the tag is the one `key` gives. A checkpoint without a tag
    /// never passes this check.
    ///
    /// # Errors
    /// `Validation` for an unusable key.
    pub fn tag_matches(&self, key: &[u8]) -> Result<bool> {
        let Some(tag) = &self.tag else {
            return Ok(false);
        };
        let expected = digest(&self.tagged_bytes()?, Some(key))?;
        // Constant-time comparison: the tag is a MAC.
        Ok(constant_time_eq(expected.as_bytes(), tag.as_bytes()))
    }

    /// The head this checkpoint names (`None` for an empty chain).
    pub fn head(&self) -> Option<AuditHead> {
        (self.seq > 0).then(|| AuditHead {
            seq: self.seq,
            hash: self.hash.clone(),
        })
    }

    /// The checkpoint as one line of canonical JSON, for the host to store:
    /// `{"at":..,"hash":..,"seq":"N","tag":..|null,"tenant":..}`.
    pub fn to_json(&self) -> String {
        let mut object = Map::new();
        object.insert("at".into(), Value::String(rfc3339(self.at)));
        object.insert("hash".into(), Value::String(self.hash.clone()));
        object.insert("seq".into(), Value::String(self.seq.to_string()));
        object.insert(
            "tag".into(),
            self.tag.clone().map_or(Value::Null, Value::String),
        );
        object.insert("tenant".into(), Value::String(self.tenant.to_string()));
        Value::Object(object).to_string()
    }

    /// Reads what [`Checkpoint::to_json`] wrote.
    ///
    /// # Errors
    /// `Validation` on `checkpoint` for anything malformed.
    pub fn from_json(text: &str) -> Result<Self> {
        let bad = |what: &str| Error::validation("checkpoint", what.to_owned());
        let value: Value =
            serde_json::from_str(text).map_err(|e| bad(&format!("is not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("is not a JSON object"))?;
        let text_of = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| bad(&format!("has no string member {name:?}")))
        };
        let seq = text_of("seq")?
            .parse::<u64>()
            .map_err(|_| bad("seq is not a decimal number"))?;
        let hash = text_of("hash")?;
        if !is_hash(hash) {
            return Err(bad("hash is not 64 lower-case hex digits"));
        }
        let at = DateTime::parse_from_rfc3339(text_of("at")?)
            .map_err(|_| bad("at is not an RFC 3339 time"))?
            .with_timezone(&Utc);
        let tag = match object.get("tag") {
            None | Some(Value::Null) => None,
            Some(Value::String(tag)) if is_hash(tag) => Some(tag.clone()),
            Some(_) => return Err(bad("tag is not 64 lower-case hex digits")),
        };
        Ok(Checkpoint {
            tenant: TenantId::new(text_of("tenant")?)?,
            seq,
            hash: hash.to_owned(),
            at,
            tag,
        })
    }
}

impl From<&Checkpoint> for AuditCheckpoint {
    fn from(c: &Checkpoint) -> Self {
        AuditCheckpoint {
            tenant: c.tenant.clone(),
            seq: c.seq,
            hash: c.hash.clone(),
            at: c.at,
        }
    }
}

/// Whether `s` looks like a hash: 64 lower-case hex digits.
pub(crate) fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn head() -> AuditHead {
        AuditHead {
            seq: 7,
            hash: "ab".repeat(32),
        }
    }

    #[test]
    fn json_round_trip_keeps_the_tag() {
        let at = Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap();
        let tenant = TenantId::new("org-1").unwrap();
        let c = Checkpoint::new(&tenant, Some(&head()), at, Some(b"k")).unwrap();
        assert!(c.tag_matches(b"k").unwrap());
        assert!(!c.tag_matches(b"other").unwrap());
        let back = Checkpoint::from_json(&c.to_json()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn a_changed_field_breaks_the_tag() {
        let at = Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap();
        let tenant = TenantId::new("org-1").unwrap();
        let mut c = Checkpoint::new(&tenant, Some(&head()), at, Some(b"k")).unwrap();
        c.seq = 6;
        assert!(!c.tag_matches(b"k").unwrap());
    }

    #[test]
    fn malformed_json_is_a_validation_error() {
        for text in ["", "[]", r#"{"seq":"x"}"#, r#"{"seq":"1","hash":"zz"}"#] {
            let err = Checkpoint::from_json(text).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::Validation, "{text}");
        }
    }
}
