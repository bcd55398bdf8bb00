//! The audit trail seen from the engine: verification, checkpoints, queries,
//! exports and archiving. The format itself lives in [`crate::audit`].

use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Engine, Scope};
use crate::audit::export::{CsvExport, feed_jsonl, write_jsonl_row};
use crate::audit::pipeline::{self, After};
use crate::audit::{
    AuditEvent, AuditHead, AuditPayload, AuditQuery, AuditRecord, AuditRow, AuditVerification,
    BreakReason, ChainVerifier, Checkpoint,
};
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::store::{AuditCheckpoint, Tx};

/// The page size of [`Engine::audit_records`] when the query sets no limit.
pub const DEFAULT_AUDIT_PAGE: usize = 100;
/// The largest page [`Engine::audit_records`] returns.
pub const MAX_AUDIT_PAGE: usize = 1000;

/// One page of an audit query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// The matching records, oldest first.
    pub records: Vec<AuditRecord>,
    /// When more records match: the cursor to pass as
    /// [`AuditQuery::after_seq`] for the next page.
    pub next_cursor: Option<u64>,
}

/// A span of a chain by sequence number; the default is the whole chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditRange {
    /// The first record (`None`: from the start).
    pub from_seq: Option<u64>,
    /// The last record (`None`: to the head).
    pub through_seq: Option<u64>,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSummary {
    /// How many records.
    pub records: u64,
    /// The first record written, when any was.
    pub first_seq: Option<u64>,
    /// The last record written: the head an importer should reach.
    pub last: Option<AuditHead>,
}

/// What an archiving run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveOutcome {
    /// How many records were exported and deleted (0: nothing was old enough,
    /// and nothing was written).
    pub records: u64,
    /// The first archived record.
    pub from_seq: Option<u64>,
    /// The new anchor: the last archived record's seq and hash.
    pub anchor: Option<AuditHead>,
}

/// The transaction type of an archiving run's own record.
pub const ARCHIVED_KIND: &str = "audit.archived";

impl Engine {
    /// The tenant's chain head: its last record, or the archiving anchor when
    /// every record was archived; `None` for an empty chain.
    pub fn audit_head(&self, scope: &Scope) -> Result<Option<AuditHead>> {
        self.read(|tx| tx.audit_head(scope.tenant()))
    }

    /// Verifies the tenant's whole chain, from genesis or from the archiving
    /// anchor, streaming in constant memory. With an anchor, an
    /// `audit.archived` record in the chain must vouch for it.
    ///
    /// The answer is a report, not an error: its `broken` names the first
    /// broken record and why, or is `None` with `head` the verified head.
    ///
    /// Past its first few thousand records, a chain is hashed on a second
    /// (scoped) thread while this one reads: the report is the one a single
    /// thread gives.
    ///
    /// # Errors
    /// `Storage` when the store fails (or the verifying thread panicked).
    pub fn verify_audit(&self, scope: &Scope) -> Result<AuditVerification> {
        self.verify_with(scope, None)
    }

    /// Verifies the records `from_seq..=through_seq` (`None`: to the head).
    /// The record before `from_seq` is read and checked too, so the range's
    /// first link is verified; the report counts it.
    ///
    /// # Errors
    /// `Validation` for an empty range or one starting at an archived record;
    /// `Storage` when the store fails.
    pub fn verify_audit_range(
        &self,
        scope: &Scope,
        from_seq: u64,
        through_seq: Option<u64>,
    ) -> Result<AuditVerification> {
        if from_seq == 0 || through_seq.is_some_and(|t| t < from_seq) {
            return Err(Error::validation(
                "range",
                format!("{from_seq}..={through_seq:?} is empty; sequence numbers start at 1"),
            ));
        }
        let key = self.config.audit_key.as_deref();
        self.read(|tx| {
            let tenant = scope.tenant();
            let anchor = tx.audit_anchor(tenant)?;
            let anchor_seq = anchor.as_ref().map_or(0, |a| a.seq);
            if from_seq <= anchor_seq {
                return Err(Error::validation(
                    "range",
                    format!("seq {from_seq} was archived (the chain starts after {anchor_seq})"),
                ));
            }
            let (mut verifier, scan_from) = if from_seq == 1 {
                (ChainVerifier::from_genesis(key), 1)
            } else if from_seq == anchor_seq + 1 {
                (
                    ChainVerifier::from_anchor(&anchor_head(anchor.as_ref()), key),
                    from_seq,
                )
            } else {
                (ChainVerifier::from_seq(from_seq - 1, key), from_seq - 1)
            };
            verifier = verifier.for_tenant(tenant.as_str());
            walk(
                tx,
                tenant,
                scan_from,
                &mut verifier,
                &after_seq(through_seq),
                After::Anywhere(&mut nothing),
            )?;
            Ok(verifier.finish())
        })
    }

    /// The tenant's chain head as a [`Checkpoint`] for the host to keep
    /// outside the database, tagged under the audit key in keyed mode.
    ///
    /// # Errors
    /// `Storage` when the store fails.
    pub fn checkpoint(&self, scope: &Scope) -> Result<Checkpoint> {
        let head = self.audit_head(scope)?;
        Checkpoint::new(
            scope.tenant(),
            head.as_ref(),
            self.now(),
            self.config.audit_key.as_deref(),
        )
    }

    /// Verifies the whole chain as [`Engine::verify_audit`] does, and also
    /// that the record `checkpoint` names is still there with the same hash.
    /// This catches a truncated tail ([`BreakReason::Truncated`], naming the
    /// first missing record) and a tail rewritten with recomputed hashes
    /// ([`BreakReason::CheckpointMismatch`] at the checkpoint's record), which
    /// the chain alone cannot show. In keyed mode the checkpoint must carry a
    /// tag made with the key ([`BreakReason::BadCheckpointTag`] otherwise).
    ///
    /// # Errors
    /// `Validation` for a checkpoint of another tenant, a tagged checkpoint in
    /// unkeyed mode, or one naming an archived record (verify it against the
    /// archive instead); `Storage` when the store fails.
    pub fn verify_against(
        &self,
        scope: &Scope,
        checkpoint: &Checkpoint,
    ) -> Result<AuditVerification> {
        if &checkpoint.tenant != scope.tenant() {
            return Err(Error::validation(
                "checkpoint",
                format!(
                    "is for tenant {}, not {}",
                    checkpoint.tenant,
                    scope.tenant()
                ),
            ));
        }
        match (&self.config.audit_key, &checkpoint.tag) {
            (Some(key), _) if !checkpoint.tag_matches(key)? => {
                return Ok(AuditVerification {
                    start: None,
                    head: None,
                    records: 0,
                    broken: Some(crate::audit::ChainBreak {
                        seq: checkpoint.seq,
                        reason: BreakReason::BadCheckpointTag,
                    }),
                });
            }
            (None, Some(_)) => {
                return Err(Error::validation(
                    "checkpoint",
                    "is tagged: checking its tag needs the audit key",
                ));
            }
            _ => {}
        }
        self.verify_with(scope, Some(checkpoint))
    }

    /// Verifies archive files and then the chain in the database as one chain:
    /// the archives in order from genesis, each continuing the one before,
    /// then the database from its anchor, which must be the last archive's head.
    ///
    /// # Errors
    /// `Storage` when reading an archive or the store fails.
    pub fn verify_audit_with_archives<R: BufRead>(
        &self,
        scope: &Scope,
        archives: impl IntoIterator<Item = R>,
    ) -> Result<AuditVerification> {
        let key = self.config.audit_key.as_deref();
        let tenant = scope.tenant();
        let mut verifier = ChainVerifier::from_genesis(key).for_tenant(tenant.as_str());
        for archive in archives {
            feed_jsonl(archive, &mut verifier)?;
        }
        if verifier.broken().is_some() {
            return Ok(verifier.finish());
        }
        self.read(|tx| {
            let mut verifier = verifier.clone();
            let anchor = tx.audit_anchor(tenant)?;
            let reached = verifier.head().cloned();
            let anchor_head = anchor.as_ref().map(|a| AuditHead {
                seq: a.seq,
                hash: a.hash.clone(),
            });
            if reached != anchor_head {
                verifier.fail(
                    reached.as_ref().map_or(1, |h| h.seq + 1),
                    BreakReason::BadAnchor {
                        message: format!(
                            "the archives end at {}, the database starts after {}",
                            describe(reached.as_ref()),
                            describe(anchor_head.as_ref())
                        ),
                    },
                );
                return Ok(verifier.finish());
            }
            let from = anchor.as_ref().map_or(1, |a| a.seq + 1);
            walk(
                tx,
                tenant,
                from,
                &mut verifier,
                &after_seq(None),
                After::Anywhere(&mut nothing),
            )?;
            Ok(verifier.finish())
        })
    }

    /// The records matching `query`, oldest first, one page at a time. Pass a
    /// page's `next_cursor` as the next query's `after_seq`.
    ///
    /// # Errors
    /// `Validation` for a limit of 0 or above [`MAX_AUDIT_PAGE`], or a time
    /// range that ends before it starts; `Storage` when the store fails.
    pub fn audit_records(&self, scope: &Scope, query: &AuditQuery) -> Result<AuditPage> {
        let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
        if limit == 0 || limit > MAX_AUDIT_PAGE {
            return Err(Error::validation(
                "limit",
                format!("{limit} is not between 1 and {MAX_AUDIT_PAGE}"),
            ));
        }
        if let (Some(from), Some(until)) = (query.from, query.until) {
            if until < from {
                return Err(Error::validation(
                    "until",
                    format!(
                        "{} is before from {}",
                        crate::clock::rfc3339(until),
                        crate::clock::rfc3339(from)
                    ),
                ));
            }
        }
        // One record more than the page tells whether another page follows.
        let probe = AuditQuery {
            limit: Some(limit + 1),
            ..query.clone()
        };
        let mut records = self.read(|tx| tx.query_audit(scope.tenant(), &probe))?;
        let next_cursor = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| r.seq)
        } else {
            None
        };
        Ok(AuditPage {
            records,
            next_cursor,
        })
    }

    /// Streams the records of `range` to `out` as JSON Lines (see
    /// [`crate::audit::export`]): a file that verifies on its own.
    ///
    /// # Errors
    /// `Storage` when the store or the writer fails.
    pub fn export_audit_jsonl(
        &self,
        scope: &Scope,
        range: AuditRange,
        out: &mut dyn Write,
    ) -> Result<ExportSummary> {
        let mut buf = Vec::with_capacity(1024);
        self.export_with(scope, range, &mut |row| write_jsonl_row(out, row, &mut buf))
    }

    /// Streams the records of `range` to `out` as CSV with a header row, text
    /// cells defused against spreadsheet formulas (see
    /// [`crate::audit::export::CsvExport`]). For people: verify with JSON Lines.
    ///
    /// # Errors
    /// `Storage` when the store or the writer fails.
    pub fn export_audit_csv(
        &self,
        scope: &Scope,
        range: AuditRange,
        out: &mut dyn Write,
    ) -> Result<ExportSummary> {
        let mut csv = CsvExport::new(out)?;
        let summary = self.export_with(scope, range, &mut |row| csv.write(&row.to_record()?))?;
        csv.finish()?;
        Ok(summary)
    }

    /// Archives the records older than `before`: writes them to `out` as JSON
    /// Lines, then deletes them from the database, keeps the last one's seq
    /// and hash as the chain's anchor, and appends an `audit.archived` record
    /// (payload: `from_seq`, `through_seq`, `through_hash`, `records`,
    /// `before`) that vouches for the anchor.
    ///
    /// Only a prefix of the chain is archived: it stops at the first record
    /// at or after `before`. The part to archive is verified first; a broken
    /// chain is not archived. The archive verifies on its own (from genesis,
    /// or from the previous anchor); the rest of the chain verifies from the
    /// new anchor; [`Engine::verify_audit_with_archives`] checks both as one.
    ///
    /// On an error after writing began, `out` may hold a partial archive while
    /// nothing was deleted: discard it and run again.
    ///
    /// # Errors
    /// `Integrity` when the part to archive is broken; `Conflict` when another
    /// run archived at the same time; `Storage` when the store or writer fails.
    pub fn archive_audit(
        &self,
        scope: &Scope,
        before: DateTime<Utc>,
        out: &mut dyn Write,
    ) -> Result<ArchiveOutcome> {
        let key = self.config.audit_key.as_deref();
        let tenant = scope.tenant();

        // First, in a read transaction: verify and write out the old prefix.
        let mut written: Option<u64> = None;
        let mut buf = Vec::with_capacity(1024);
        let (anchor, report) = self.read(|tx| {
            let anchor = tx.audit_anchor(tenant)?;
            let mut verifier = start_verifier(anchor.as_ref(), key).for_tenant(tenant.as_str());
            walk(
                tx,
                tenant,
                0,
                &mut verifier,
                &|record| record.at >= before,
                // Writes to `out`, which need not be `Send`: one thread.
                After::Here(&mut |record, _| {
                    // A retried read transaction must not write a record twice.
                    if written.is_none_or(|w| record.seq > w) {
                        write_jsonl_row(out, record, &mut buf)?;
                        written = Some(record.seq);
                    }
                    Ok(())
                }),
            )?;
            Ok((anchor, verifier.finish()))
        })?;
        if let Some(broken) = &report.broken {
            return Err(Error::integrity(format!("not archived: {broken}")));
        }
        out.flush()
            .map_err(|e| Error::storage(format!("writing the archive failed: {e}")))?;
        let Some(through) = written.and(report.head.clone()) else {
            return Ok(ArchiveOutcome {
                records: 0,
                from_seq: None,
                anchor: None,
            });
        };
        let from_seq = anchor.as_ref().map_or(1, |a| a.seq + 1);
        let records = through.seq - from_seq + 1;

        // Then, in one write transaction: delete, anchor, and say so.
        self.write(scope, |ctx| {
            let now_anchor = ctx.tx.audit_anchor(tenant)?;
            let still = record_at(ctx.tx, tenant, through.seq)?;
            if now_anchor != anchor || still.as_ref().map(|r| &r.hash) != Some(&through.hash) {
                return Err(Error::conflict(
                    "audit",
                    tenant,
                    "the chain changed while archiving (another run?); run again",
                ));
            }
            let deleted = ctx.tx.delete_audit_through(tenant, through.seq)?;
            if deleted != records {
                return Err(Error::integrity(format!(
                    "archiving seq {from_seq}..={} deleted {deleted} records, expected {records}",
                    through.seq
                )));
            }
            ctx.tx.put_audit_anchor(&AuditCheckpoint {
                tenant: tenant.clone(),
                seq: through.seq,
                hash: through.hash.clone(),
                at: ctx.now,
            })?;
            ctx.audit(AuditEvent {
                kind: ARCHIVED_KIND,
                resource_type: "audit",
                resource_id: tenant.to_string(),
                affiliate_id: None,
                payload: json!({
                    "from_seq": from_seq.to_string(),
                    "through_seq": through.seq.to_string(),
                    "through_hash": through.hash,
                    "records": records.to_string(),
                    "before": crate::clock::rfc3339(before),
                }),
            })
        })?;
        tracing::info!(tenant = %tenant, records, through = through.seq, "audit records archived");
        Ok(ArchiveOutcome {
            records,
            from_seq: Some(from_seq),
            anchor: Some(through),
        })
    }

    /// The whole-chain verification, optionally against a checkpoint.
    fn verify_with(
        &self,
        scope: &Scope,
        checkpoint: Option<&Checkpoint>,
    ) -> Result<AuditVerification> {
        let key = self.config.audit_key.as_deref();
        self.read(|tx| {
            let tenant = scope.tenant();
            let anchor = tx.audit_anchor(tenant)?;
            if let (Some(c), Some(a)) = (checkpoint, &anchor) {
                if c.seq < a.seq {
                    return Err(Error::validation(
                        "checkpoint",
                        format!(
                            "names seq {} which was archived (the chain starts after {}); \
                             verify it against the archive",
                            c.seq, a.seq
                        ),
                    ));
                }
            }
            let mut verifier = start_verifier(anchor.as_ref(), key).for_tenant(tenant.as_str());
            if let (Some(c), Some(a)) = (checkpoint, &anchor) {
                if c.seq == a.seq && c.hash != a.hash {
                    verifier.fail(
                        c.seq,
                        BreakReason::CheckpointMismatch {
                            expected: c.hash.clone(),
                            found: a.hash.clone(),
                        },
                    );
                }
            }

            // With an anchor, some `audit.archived` record must vouch for it:
            // otherwise deleting the oldest records and writing an anchor by
            // hand would pass for archiving.
            let mut vouched = anchor.is_none();
            // Scanning from 0, not after the anchor, also shows records left
            // below the anchor as out of sequence.
            walk(
                tx,
                tenant,
                0,
                &mut verifier,
                &after_seq(None),
                After::Anywhere(&mut |record, verifier| {
                    if let Some(a) = &anchor {
                        vouched |= vouches_for(record, a);
                    }
                    if let Some(c) = checkpoint {
                        if record.seq == c.seq && record.hash != c.hash {
                            verifier.fail(
                                c.seq,
                                BreakReason::CheckpointMismatch {
                                    expected: c.hash.clone(),
                                    found: record.hash.to_owned(),
                                },
                            );
                        }
                    }
                    Ok(())
                }),
            )?;
            if verifier.broken().is_none() {
                if let Some(a) = &anchor {
                    if !vouched {
                        verifier.fail(
                            a.seq,
                            BreakReason::BadAnchor {
                                message: format!(
                                    "no {ARCHIVED_KIND} record vouches for the anchor at seq {}",
                                    a.seq
                                ),
                            },
                        );
                    }
                }
            }
            if let Some(c) = checkpoint {
                let head_seq = verifier.head().map_or(0, |h| h.seq);
                if verifier.broken().is_none() && head_seq < c.seq {
                    verifier.fail(head_seq + 1, BreakReason::Truncated { head_seq });
                }
            }
            Ok(verifier.finish())
        })
    }

    /// Streams the records of `range` to `write`, once each even if the read
    /// transaction is retried.
    fn export_with(
        &self,
        scope: &Scope,
        range: AuditRange,
        write: &mut dyn FnMut(&AuditRow<'_>) -> Result<()>,
    ) -> Result<ExportSummary> {
        let mut summary = ExportSummary {
            records: 0,
            first_seq: None,
            last: None,
        };
        self.read(|tx| {
            let from = range.from_seq.unwrap_or(0);
            let last_written = summary.last.as_ref().map(|h| h.seq);
            tx.scan_audit_rows(scope.tenant(), from, &mut |record| {
                if range.through_seq.is_some_and(|t| record.seq > t) {
                    return Ok(false);
                }
                if last_written.is_none_or(|w| record.seq > w) {
                    write(record)?;
                    summary.records += 1;
                    summary.first_seq.get_or_insert(record.seq);
                    match &mut summary.last {
                        Some(last) => {
                            last.seq = record.seq;
                            last.hash.clear();
                            last.hash.push_str(record.hash);
                        }
                        None => {
                            summary.last = Some(AuditHead {
                                seq: record.seq,
                                hash: record.hash.to_owned(),
                            });
                        }
                    }
                }
                Ok(true)
            })
        })?;
        Ok(summary)
    }
}

fn start_verifier(anchor: Option<&AuditCheckpoint>, key: Option<&[u8]>) -> ChainVerifier {
    match anchor {
        Some(a) => ChainVerifier::from_anchor(&anchor_head(Some(a)), key),
        None => ChainVerifier::from_genesis(key),
    }
}

fn anchor_head(anchor: Option<&AuditCheckpoint>) -> AuditHead {
    anchor.map_or_else(
        || AuditHead {
            seq: 0,
            hash: crate::audit::GENESIS_HASH.to_owned(),
        },
        |a| AuditHead {
            seq: a.seq,
            hash: a.hash.clone(),
        },
    )
}

fn describe(head: Option<&AuditHead>) -> String {
    head.map_or_else(
        || "genesis".to_owned(),
        |h| format!("seq {} ({})", h.seq, h.hash),
    )
}

/// Whether `record` is the `audit.archived` record of the run that left `anchor`.
fn vouches_for(record: &AuditRow<'_>, anchor: &AuditCheckpoint) -> bool {
    if record.kind != ARCHIVED_KIND {
        return false;
    }
    let parsed;
    let payload = match record.payload {
        AuditPayload::Value(v) => v,
        AuditPayload::Json(_) => match record.payload_value() {
            Ok(v) => {
                parsed = v;
                &parsed
            }
            Err(_) => return false,
        },
    };
    payload["through_seq"].as_str() == Some(anchor.seq.to_string().as_str())
        && payload["through_hash"].as_str() == Some(anchor.hash.as_str())
}

/// The record at `seq`, if stored.
fn record_at(tx: &mut dyn Tx, tenant: &TenantId, seq: u64) -> Result<Option<AuditRecord>> {
    let mut found = None;
    tx.scan_audit(tenant, seq, &mut |record| {
        if record.seq == seq {
            found = Some(record);
        }
        Ok(false)
    })?;
    Ok(found)
}

/// Feeds the records from `from_seq` to `verifier` until `stop` says so or
/// a record is broken, calling `after` with each intact record (see
/// [`pipeline::walk`]: a row the backend cannot read is a break, and a long
/// chain is verified on two threads unless `after` must run on this one).
fn walk(
    tx: &mut dyn Tx,
    tenant: &TenantId,
    from_seq: u64,
    verifier: &mut ChainVerifier,
    stop: &dyn Fn(&AuditRow<'_>) -> bool,
    after: After<'_>,
) -> Result<()> {
    pipeline::walk(
        &mut |visit| tx.scan_audit_rows(tenant, from_seq, visit),
        from_seq,
        verifier,
        stop,
        after,
    )
}

/// A `stop` for [`walk`] that ends after `through_seq`.
fn after_seq(through_seq: Option<u64>) -> impl Fn(&AuditRow<'_>) -> bool {
    move |record| through_seq.is_some_and(|t| record.seq > t)
}

/// An `after` for [`walk`] that does nothing (its type is fixed by `walk`).
#[allow(clippy::unnecessary_wraps)]
fn nothing(_: &AuditRow<'_>, _: &mut ChainVerifier) -> Result<()> {
    Ok(())
}
