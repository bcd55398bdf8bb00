//! Walking a chain: one record at a time, in constant memory.
//!
//! A [`ChainVerifier`] is fed records in sequence order (from a store's scan or
//! from an export file) and stops at the first broken one. It keeps only the
//! last record's seq and hash, so a chain of any length verifies in constant
//! memory.

use std::fmt;

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::canonical::{Stored, write_row};
use super::row::AuditRow;
use super::{AuditHead, AuditRecord, GENESIS_HASH};
use crate::error::{Error, Result};

/// Why the chain is broken at a record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakReason {
    /// The stored hash is not the hash of the record's contents: the record
    /// was edited (or, in keyed mode, forged without the key).
    HashMismatch {
        /// The hash stored with the record.
        stored: String,
        /// The hash its contents give.
        computed: String,
    },
    /// The next record does not carry the next sequence number: a record was
    /// deleted, inserted or moved. `found` may be below `expected`
    /// (a duplicate or a reordering).
    SequenceGap {
        /// The sequence number that should come next.
        expected: u64,
        /// The one found instead.
        found: u64,
    },
    /// The record's `prev_hash` is not the previous record's hash.
    BrokenLink {
        /// The previous record's hash (or the genesis or anchor hash).
        expected: String,
        /// The `prev_hash` stored with this record.
        found: String,
    },
    /// The anchor left by archiving does not fit the chain: the first
    /// remaining record does not link to it, or no `audit.archived` record
    /// vouches for it.
    BadAnchor {
        /// What does not fit.
        message: String,
    },
    /// The record belongs to another tenant than the chain being verified.
    WrongTenant {
        /// The tenant the record names.
        found: String,
    },
    /// The record cannot be read or is not in the documented format.
    Malformed {
        /// What is wrong with it.
        message: String,
    },
    /// The chain ends before the record a checkpoint names: its tail was
    /// truncated.
    Truncated {
        /// The last record the chain still has (0 for none).
        head_seq: u64,
    },
    /// The record a checkpoint names has another hash now: the chain was
    /// rewritten from there or before.
    CheckpointMismatch {
        /// The hash the checkpoint holds.
        expected: String,
        /// The hash stored now.
        found: String,
    },
    /// The checkpoint's tag is not the one the audit key gives: the checkpoint
    /// itself was altered or made without the key.
    BadCheckpointTag,
}

impl fmt::Display for BreakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakReason::HashMismatch { stored, computed } => {
                write!(
                    f,
                    "hash mismatch: stored {stored}, contents give {computed}"
                )
            }
            BreakReason::SequenceGap { expected, found } => {
                write!(f, "sequence gap: expected seq {expected}, found {found}")
            }
            BreakReason::BrokenLink { expected, found } => {
                write!(
                    f,
                    "broken link: prev_hash {found}, previous hash is {expected}"
                )
            }
            BreakReason::BadAnchor { message } => write!(f, "bad anchor: {message}"),
            BreakReason::WrongTenant { found } => write!(f, "record of another tenant {found:?}"),
            BreakReason::Malformed { message } => write!(f, "malformed record: {message}"),
            BreakReason::Truncated { head_seq } => {
                write!(
                    f,
                    "missing: the chain ends at seq {head_seq} (truncated tail)"
                )
            }
            BreakReason::CheckpointMismatch { expected, found } => write!(
                f,
                "checkpoint mismatch: checkpoint holds {expected}, the chain has {found}"
            ),
            BreakReason::BadCheckpointTag => {
                f.write_str("the checkpoint's tag does not match under the audit key")
            }
        }
    }
}

/// The first broken record of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The sequence number of the broken record: for a gap, the missing one;
    /// for a truncated tail, the first missing one.
    pub seq: u64,
    /// What is wrong there.
    pub reason: BreakReason,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "audit chain broken at seq {}: {}", self.seq, self.reason)
    }
}

/// The answer of a verification: how far the chain is intact, and the first
/// broken record if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Where the verified span attaches: `None` for genesis, else the anchor
    /// (or, for an unanchored range, the link its first record claims).
    pub start: Option<AuditHead>,
    /// The last record verified intact (the start when none was).
    pub head: Option<AuditHead>,
    /// How many records were verified intact.
    pub records: u64,
    /// The first broken record; `None` when the chain is intact.
    pub broken: Option<ChainBreak>,
}

impl AuditVerification {
    /// Whether no broken record was found.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }

    /// `Ok(self)` when intact, else an `Integrity` error naming the broken record.
    ///
    /// # Errors
    /// `Integrity` when the chain is broken.
    pub fn into_result(self) -> Result<Self> {
        match &self.broken {
            None => Ok(self),
            Some(b) => Err(Error::integrity(b.to_string())),
        }
    }
}

/// How the first record fed to a verifier must attach.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    /// Seq 1, linking to [`GENESIS_HASH`].
    Genesis,
    /// The record after an archiving anchor, linking to its hash.
    Anchor(AuditHead),
    /// A range whose first link is taken on trust; its first record must
    /// have the given seq when one is given.
    Unanchored(Option<u64>),
}

/// A streaming verifier of one tenant's chain. Feed it records in sequence
/// order with [`ChainVerifier::push`], then call [`ChainVerifier::finish`].
#[derive(Clone)]
pub struct ChainVerifier {
    key: Option<Vec<u8>>,
    /// HMAC-SHA256 keyed with `key`, ready to clone per record (keyed mode).
    mac: Option<hmac::Hmac<Sha256>>,
    /// The canonical bytes of the record being checked, reused.
    buf: Vec<u8>,
    tenant: Option<String>,
    start: Start,
    head: Option<AuditHead>,
    records: u64,
    broken: Option<ChainBreak>,
}

impl fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainVerifier")
            .field("keyed", &self.key.is_some())
            .field("tenant", &self.tenant)
            .field("start", &self.start)
            .field("head", &self.head)
            .field("records", &self.records)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl ChainVerifier {
    /// A verifier of a whole chain: the first record must be seq 1 and link
    /// to [`GENESIS_HASH`]. `key` is the audit key in keyed mode.
    pub fn from_genesis(key: Option<&[u8]>) -> Self {
        Self::with_start(Start::Genesis, key)
    }

    /// A verifier of the chain after `anchor` (an archiving anchor or a
    /// checkpoint): the first record must be `anchor.seq + 1` and link to
    /// `anchor.hash`.
    pub fn from_anchor(anchor: &AuditHead, key: Option<&[u8]>) -> Self {
        Self::with_start(Start::Anchor(anchor.clone()), key)
    }

    /// A verifier of a range whose start is taken on trust: the first
    /// record's seq and `prev_hash` are accepted as they are, everything after
    /// is checked.
    pub fn unanchored(key: Option<&[u8]>) -> Self {
        Self::with_start(Start::Unanchored(None), key)
    }

    /// A verifier of a range starting at `seq` whose first link is taken on
    /// trust: the first record must be `seq`, its `prev_hash` is accepted.
    pub fn from_seq(seq: u64, key: Option<&[u8]>) -> Self {
        Self::with_start(Start::Unanchored(Some(seq)), key)
    }

    fn with_start(start: Start, key: Option<&[u8]>) -> Self {
        ChainVerifier {
            key: key.map(<[u8]>::to_vec),
            mac: key.and_then(|k| hmac::Hmac::<Sha256>::new_from_slice(k).ok()),
            buf: Vec::new(),
            tenant: None,
            start,
            head: None,
            records: 0,
            broken: None,
        }
    }

    /// Demands that every record belongs to `tenant` (without it, every record
    /// must belong to the first record's tenant).
    pub fn for_tenant(mut self, tenant: &str) -> Self {
        self.tenant = Some(tenant.to_owned());
        self
    }

    /// The last record verified intact so far (or the anchor).
    pub fn head(&self) -> Option<&AuditHead> {
        self.head.as_ref().or(match &self.start {
            Start::Anchor(anchor) => Some(anchor),
            Start::Genesis | Start::Unanchored(_) => None,
        })
    }

    /// The first broken record found so far.
    pub fn broken(&self) -> Option<&ChainBreak> {
        self.broken.as_ref()
    }

    /// The sequence number the next record must have, when known.
    pub fn next_seq(&self) -> Option<u64> {
        match (&self.head, &self.start) {
            (Some(h), _) => Some(h.seq + 1),
            (None, Start::Genesis) => Some(1),
            (None, Start::Anchor(a)) => Some(a.seq + 1),
            (None, Start::Unanchored(seq)) => *seq,
        }
    }

    /// Checks the next record. Returns `false` once the chain is broken
    /// (then further records are ignored).
    ///
    /// # Errors
    /// `Validation` for an unusable key.
    pub fn push(&mut self, record: &AuditRecord) -> Result<bool> {
        self.push_row(&record.as_row())
    }

    /// Checks the next record, borrowed from a store's row (see
    /// [`crate::store::Tx::scan_audit_rows`]). A payload stored as text is
    /// hashed as it is when it is canonical JSON, else parsed (duplicate
    /// names refused, an object within the profile demanded, as
    /// `tools/verify_audit.py` does) and re-encoded; one that does not parse
    /// is [`BreakReason::Malformed`]. Returns `false` once the chain is broken.
    ///
    /// # Errors
    /// `Validation` for an unusable key.
    pub fn push_row(&mut self, row: &AuditRow<'_>) -> Result<bool> {
        self.push_row_as(row, Stored::Strict)
    }

    /// [`ChainVerifier::push_row`], with `stored` saying how to take a
    /// payload held as text (see [`Stored`]).
    pub(crate) fn push_row_as(&mut self, row: &AuditRow<'_>, stored: Stored) -> Result<bool> {
        if self.broken.is_some() {
            return Ok(false);
        }
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let mut hex = [0u8; 64];
        let computed = match write_row(&mut buf, row, None, stored) {
            Ok(()) => {
                self.hash_hex(&buf, &mut hex)?;
                Ok(std::str::from_utf8(&hex).unwrap_or_default())
            }
            Err(message) => Err(message),
        };
        let intact = self.check(row.seq, row.tenant, row.prev_hash, row.hash, computed);
        self.buf = buf;
        Ok(intact)
    }

    /// The lower-case hex SHA-256 (HMAC-SHA256 in keyed mode) of `bytes`.
    fn hash_hex(&self, bytes: &[u8], hex: &mut [u8; 64]) -> Result<()> {
        let digest = match (&self.key, &self.mac) {
            (None, _) => Sha256::digest(bytes),
            (Some(_), Some(mac)) => mac.clone().chain_update(bytes).finalize().into_bytes(),
            (Some(_), None) => {
                return Err(Error::validation("audit_key", "is not a usable HMAC key"));
            }
        };
        hex::encode_to_slice(digest, hex)
            .map_err(|e| Error::integrity(format!("hex encoding failed: {e}")))
    }

    /// The key, for callers that hash records in another form (export lines).
    pub(crate) fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// Marks the chain broken at `seq` unless it already is.
    pub fn fail(&mut self, seq: u64, reason: BreakReason) {
        if self.broken.is_none() {
            self.broken = Some(ChainBreak { seq, reason });
        }
    }

    /// The checks of one record, in the order that names the right cause:
    /// tenant, position, contents, then link.
    pub(crate) fn check(
        &mut self,
        seq: u64,
        tenant: &str,
        prev_hash: &str,
        stored_hash: &str,
        computed: std::result::Result<&str, String>,
    ) -> bool {
        if self.broken.is_some() {
            return false;
        }
        // Without a tenant given, every record must share the first one's.
        if self.tenant.get_or_insert_with(|| tenant.to_owned()) != tenant {
            self.fail(
                seq,
                BreakReason::WrongTenant {
                    found: tenant.to_owned(),
                },
            );
            return false;
        }
        if let Some(expected) = self.next_seq() {
            if seq != expected {
                self.fail(
                    expected,
                    BreakReason::SequenceGap {
                        expected,
                        found: seq,
                    },
                );
                return false;
            }
        }
        match computed {
            Err(message) => {
                self.fail(seq, BreakReason::Malformed { message });
                return false;
            }
            Ok(computed) if computed != stored_hash => {
                self.fail(
                    seq,
                    BreakReason::HashMismatch {
                        stored: stored_hash.to_owned(),
                        computed: computed.to_owned(),
                    },
                );
                return false;
            }
            Ok(_) => {}
        }
        let expected_prev = match (&self.head, &self.start) {
            (Some(h), _) => Some(h.hash.as_str()),
            (None, Start::Genesis) => Some(GENESIS_HASH),
            (None, Start::Anchor(a)) => Some(a.hash.as_str()),
            (None, Start::Unanchored(_)) => None,
        };
        if let Some(expected) = expected_prev {
            if prev_hash != expected {
                let reason = if self.head.is_none() && matches!(self.start, Start::Anchor(_)) {
                    BreakReason::BadAnchor {
                        message: format!(
                            "the first record links to {prev_hash}, the anchor holds {expected}"
                        ),
                    }
                } else {
                    BreakReason::BrokenLink {
                        expected: expected.to_owned(),
                        found: prev_hash.to_owned(),
                    }
                };
                self.fail(seq, reason);
                return false;
            }
        }
        if self.head.is_none() && matches!(self.start, Start::Unanchored(_)) {
            // Remember what the range claims to attach to, for the report.
            self.start = Start::Anchor(AuditHead {
                seq: seq.saturating_sub(1),
                hash: prev_hash.to_owned(),
            });
        }
        // Reuses the head's string: no allocation per record.
        match &mut self.head {
            Some(head) => {
                head.seq = seq;
                head.hash.clear();
                head.hash.push_str(stored_hash);
            }
            None => {
                self.head = Some(AuditHead {
                    seq,
                    hash: stored_hash.to_owned(),
                });
            }
        }
        self.records += 1;
        true
    }

    /// The report: the head reached and the first broken record, if any.
    pub fn finish(self) -> AuditVerification {
        let start = match self.start {
            Start::Anchor(a) => Some(a),
            Start::Genesis | Start::Unanchored(_) => None,
        };
        AuditVerification {
            head: self.head.or_else(|| start.clone()),
            start,
            records: self.records,
            broken: self.broken,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, record_hash};
    use crate::ids::TenantId;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn chain(n: u64, key: Option<&[u8]>) -> Vec<AuditRecord> {
        let tenant = TenantId::new("org-1").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap();
        let mut out: Vec<AuditRecord> = Vec::new();
        for i in 0..n {
            let head = out.last().map(AuditRecord::head);
            let event = AuditEvent {
                kind: "affiliate.created",
                resource_type: "affiliate",
                resource_id: format!("aff-{i}"),
                affiliate_id: Some(format!("aff-{i}")),
                payload: json!({"n": i.to_string()}),
            };
            out.push(AuditRecord::chained(&tenant, head.as_ref(), at, "ops", event, key).unwrap());
        }
        out
    }

    fn run(verifier: &mut ChainVerifier, records: &[AuditRecord]) {
        for r in records {
            if !verifier.push(r).unwrap() {
                break;
            }
        }
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let records = chain(5, None);
        let mut v = ChainVerifier::from_genesis(None).for_tenant("org-1");
        run(&mut v, &records);
        let report = v.finish();
        assert!(report.is_intact());
        assert_eq!(report.records, 5);
        assert_eq!(report.head, Some(records[4].head()));
    }

    #[test]
    fn each_kind_of_break_names_the_record() {
        let records = chain(5, None);

        let mut edited = records.clone();
        edited[2].actor = "mallory".into();
        let mut v = ChainVerifier::from_genesis(None);
        run(&mut v, &edited);
        let report = v.finish();
        assert_eq!(report.broken.as_ref().unwrap().seq, 3);
        assert!(matches!(
            report.broken.unwrap().reason,
            BreakReason::HashMismatch { .. }
        ));
        assert_eq!(report.head, Some(records[1].head()));

        let mut deleted = records.clone();
        deleted.remove(1);
        let mut v = ChainVerifier::from_genesis(None);
        run(&mut v, &deleted);
        let broken = v.finish().broken.unwrap();
        assert_eq!(broken.seq, 2);
        assert_eq!(
            broken.reason,
            BreakReason::SequenceGap {
                expected: 2,
                found: 3
            }
        );

        // A record rehashed after its link was changed: only the link shows it.
        let mut relinked = records.clone();
        relinked[3].prev_hash = GENESIS_HASH.into();
        relinked[3].hash = record_hash(&relinked[3], None).unwrap();
        let mut v = ChainVerifier::from_genesis(None);
        run(&mut v, &relinked);
        let broken = v.finish().broken.unwrap();
        assert_eq!(broken.seq, 4);
        assert!(matches!(broken.reason, BreakReason::BrokenLink { .. }));
    }

    #[test]
    fn stored_payload_text_is_hashed_as_its_canonical_form() {
        use crate::audit::AuditPayload;
        let records = chain(1, None);
        let record = &records[0];
        let canonical = serde_json::to_string(&record.payload).unwrap();
        let verdict = |text: &str| {
            let mut row = record.as_row();
            row.payload = AuditPayload::Json(text);
            let mut v = ChainVerifier::from_genesis(None);
            v.push_row(&row).unwrap();
            v.finish().broken.map(|b| (b.seq, b.reason))
        };
        // Canonical text, and equivalent text written otherwise, verify.
        assert_eq!(verdict(&canonical), None);
        assert_eq!(verdict(r#" { "n" : "\u0030" } "#), None);
        // Another value does not; text the verifiers refuse is malformed.
        assert!(matches!(
            verdict(r#"{"n":"1"}"#),
            Some((1, BreakReason::HashMismatch { .. }))
        ));
        for refused in [
            r#"{"n":"0","n":"0"}"#,
            r#"{"n":"0","x":1.5}"#,
            r#"{"n":"0","x":9007199254740992}"#,
            r#"["n"]"#,
            "not json",
        ] {
            assert!(
                matches!(verdict(refused), Some((1, BreakReason::Malformed { .. }))),
                "{refused}"
            );
        }
    }

    #[test]
    fn keyed_chains_fail_without_the_key() {
        let records = chain(3, Some(b"secret"));
        let mut v = ChainVerifier::from_genesis(Some(b"secret"));
        run(&mut v, &records);
        assert!(v.finish().is_intact());
        let mut v = ChainVerifier::from_genesis(None);
        run(&mut v, &records);
        assert_eq!(v.finish().broken.unwrap().seq, 1);
    }

    #[test]
    fn anchored_and_unanchored_ranges() {
        let records = chain(6, None);
        let mut v = ChainVerifier::from_anchor(&records[2].head(), None);
        run(&mut v, &records[3..]);
        assert!(v.finish().is_intact());

        let mut v = ChainVerifier::from_anchor(&records[1].head(), None);
        run(&mut v, &records[3..]);
        assert!(matches!(
            v.finish().broken.unwrap().reason,
            BreakReason::SequenceGap { .. }
        ));

        let wrong = AuditHead {
            seq: 3,
            hash: GENESIS_HASH.into(),
        };
        let mut v = ChainVerifier::from_anchor(&wrong, None);
        run(&mut v, &records[3..]);
        assert!(matches!(
            v.finish().broken.unwrap().reason,
            BreakReason::BadAnchor { .. }
        ));

        let mut v = ChainVerifier::unanchored(None);
        run(&mut v, &records[3..]);
        let report = v.finish();
        assert!(report.is_intact());
        assert_eq!(report.start, Some(records[2].head()));
    }
}
