//! Walking a store's scan through a [`ChainVerifier`], on two threads for a
//! long chain.
//!
//! One thread cannot verify fast enough: reading a SQLite row costs about as
//! much as encoding and hashing it. So, past the first few thousand records,
//! the calling thread only reads (the store's transaction is not `Send`) and
//! copies each borrowed row into a batch it owns, while a second thread
//! encodes, hashes and checks the batches in order and hands them back for
//! reuse. A fixed number of batches is in use at once, so memory stays
//! constant however long the chain.
//!
//! The outcome is the single-threaded one: the same report, the same first
//! broken record, the hooks called with the same records in the same order.
//! Only reading may run a few batches ahead of the verifier; once the chain is
//! broken the scan stops, and what was read past the break is ignored, errors
//! included, as the single-threaded walk would never have read it.

use std::any::Any;
use std::mem;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::{self, Scope, ScopedJoinHandle};

use chrono::{DateTime, Utc};

use super::canonical::{self, Stored};
use super::row::{AuditPayload, AuditRow};
use super::verify::ChainVerifier;
use crate::error::{Error, ErrorKind, Result};

/// A store's scan (for instance [`crate::store::Tx::scan_audit_rows`] with
/// its tenant and first seq bound): it calls the visitor with each row in
/// sequence order until the visitor returns `false`.
pub(crate) type Scan<'s> =
    dyn FnMut(&mut dyn FnMut(&AuditRow<'_>) -> Result<bool>) -> Result<()> + 's;

/// A hook called with each intact record once the verifier accepted it; it
/// may mark the chain broken (`ChainVerifier::fail`) to end the walk.
type Hook<'h> = dyn FnMut(&AuditRow<'_>, &mut ChainVerifier) -> Result<()> + 'h;

/// A hook that may be called on the verifying thread.
type SendHook<'h> = dyn FnMut(&AuditRow<'_>, &mut ChainVerifier) -> Result<()> + Send + 'h;

/// The hook of a walk, and so where the walk may run.
pub(crate) enum After<'h> {
    /// A hook that may run on the verifying thread: a long chain is verified
    /// on two threads. There, the rows it sees hold a store's parsed payload
    /// as that payload's canonical JSON text ([`AuditPayload::Json`]).
    Anywhere(&'h mut SendHook<'h>),
    /// A hook that must run on the calling thread (it holds something that
    /// is not `Send`, such as the writer of an archive): the whole walk stays
    /// on that thread.
    Here(&'h mut Hook<'h>),
}

/// How a pipelined walk splits its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Records verified on the calling thread before the second thread
    /// starts: below a few thousand records, starting a thread and copying
    /// rows costs more than it saves.
    pub inline_records: u64,
    /// Records per batch handed to the verifying thread: enough to make the
    /// hand-over cost nothing per record, few enough for the batches in use
    /// to stay in the processor's cache.
    pub batch_records: usize,
    /// Batches in use at once (filled, queued or being verified): two keep
    /// both threads busy, a few more absorb uneven records.
    pub batches: usize,
}

impl Shape {
    /// The shape of every verification through the engine.
    pub(crate) const DEFAULT: Shape = Shape {
        inline_records: 4096,
        batch_records: 512,
        batches: 4,
    };
}

/// Feeds the rows of `scan` to `verifier` until `stop` says so or a record is
/// broken, calling `after` with each intact record, in order.
///
/// A record the backend cannot read (its scan fails with an `Integrity`
/// error) is a break at the next expected seq (`from_seq` when the verifier
/// does not know it), not an error: a hand-edited row that no longer decodes
/// is tampering like any other. Errors of the verifier and of `after`
/// propagate, as do the scan's other errors.
///
/// # Errors
/// What the scan (other than `Integrity`), the verifier or `after` fails
/// with; `Storage` if the verifying thread panicked.
pub(crate) fn walk(
    scan: &mut Scan<'_>,
    from_seq: u64,
    verifier: &mut ChainVerifier,
    stop: &dyn Fn(&AuditRow<'_>) -> bool,
    after: After<'_>,
) -> Result<()> {
    walk_shaped(scan, from_seq, verifier, stop, after, Shape::DEFAULT)
}

/// [`walk`] with a given shape (the tests use small ones).
pub(crate) fn walk_shaped(
    scan: &mut Scan<'_>,
    from_seq: u64,
    verifier: &mut ChainVerifier,
    stop: &dyn Fn(&AuditRow<'_>) -> bool,
    after: After<'_>,
    shape: Shape,
) -> Result<()> {
    let ended = match after {
        After::Here(after) => walk_here(scan, verifier, stop, after),
        After::Anywhere(after) => walk_pipelined(scan, verifier, stop, after, shape),
    };
    match ended {
        Ended::Failed(e) => Err(e),
        Ended::Scanned(Err(e)) if e.kind() == ErrorKind::Integrity => {
            let at = verifier.next_seq().unwrap_or(from_seq);
            verifier.fail(
                at,
                super::BreakReason::Malformed {
                    message: e.to_string(),
                },
            );
            Ok(())
        }
        Ended::Scanned(scanned) => scanned,
    }
}

/// How a walk ended, before a failed scan is turned into a break.
enum Ended {
    /// The verifier or the hook failed: the walk fails with this.
    Failed(Error),
    /// The scan returned this, and every row it handed out before was
    /// verified (or the verifier stopped it: then the scan returned `Ok`).
    Scanned(Result<()>),
}

/// One record through the verifier and then, if intact, the hook. Whether to
/// read on: `false` once the chain is broken.
fn step(
    verifier: &mut ChainVerifier,
    after: &mut Hook<'_>,
    row: &AuditRow<'_>,
    stored: Stored,
) -> Result<bool> {
    if !verifier.push_row_as(row, stored)? {
        return Ok(false);
    }
    after(row, verifier)?;
    Ok(verifier.broken().is_none())
}

/// The walk on the calling thread alone.
fn walk_here(
    scan: &mut Scan<'_>,
    verifier: &mut ChainVerifier,
    stop: &dyn Fn(&AuditRow<'_>) -> bool,
    after: &mut Hook<'_>,
) -> Ended {
    let mut failed = None;
    let scanned = scan(&mut |row| {
        if stop(row) {
            return Ok(false);
        }
        step(verifier, after, row, Stored::Strict).or_else(|e| {
            failed = Some(e);
            Ok(false)
        })
    });
    match failed {
        Some(e) => Ended::Failed(e),
        None => Ended::Scanned(scanned),
    }
}

/// What the verifying thread borrows for the walk.
struct Checker<'a> {
    verifier: &'a mut ChainVerifier,
    after: &'a mut SendHook<'a>,
}

/// The calling thread's end of the pipeline.
struct Feed<'scope> {
    /// The batch being filled.
    batch: Batch,
    /// Filled batches, to the verifying thread.
    full: Sender<Batch>,
    /// Verified batches, emptied, back for reuse.
    empty: Receiver<Batch>,
    /// Batches that may still be allocated.
    spare: usize,
    batch_records: usize,
    worker: ScopedJoinHandle<'scope, Result<Progress>>,
}

/// How far the verifying thread went.
enum Progress {
    /// It verified every row it was handed.
    Drained,
    /// The chain is broken: it stopped there.
    Stopped,
}

/// The walk, on two threads once `shape.inline_records` were verified.
fn walk_pipelined<'a>(
    scan: &mut Scan<'_>,
    verifier: &'a mut ChainVerifier,
    stop: &dyn Fn(&AuditRow<'_>) -> bool,
    after: &'a mut SendHook<'a>,
    shape: Shape,
) -> Ended {
    thread::scope(|scope| {
        // Verifying on this thread, `seen` records so far, until the second
        // thread starts and `feed` hands it the rest.
        let mut inline = Some(Checker { verifier, after });
        let mut seen = 0;
        let mut feed: Option<Feed<'_>> = None;
        let mut failed = None;
        let scanned = scan(&mut |row| {
            if stop(row) {
                return Ok(false);
            }
            if let Some(feed) = &mut feed {
                return Ok(feed.push(row));
            }
            let checker = match inline.take() {
                Some(checker) if seen >= shape.inline_records => {
                    match Feed::start(scope, checker, shape) {
                        Ok(started) => return Ok(feed.insert(started).push(row)),
                        // No thread to be had: verify on here, try later.
                        Err(checker) => {
                            seen = 0;
                            checker
                        }
                    }
                }
                Some(checker) => checker,
                // Not reached: the checker is here or with the thread.
                None => return Ok(false),
            };
            seen += 1;
            let go = step(checker.verifier, checker.after, row, Stored::Strict);
            inline = Some(checker);
            go.or_else(|e| {
                failed = Some(e);
                Ok(false)
            })
        });
        match (feed, failed) {
            (Some(feed), _) => feed.finish(scanned),
            (None, Some(e)) => Ended::Failed(e),
            (None, None) => Ended::Scanned(scanned),
        }
    })
}

impl<'scope> Feed<'scope> {
    /// Starts the verifying thread and hands it `checker`; gives `checker`
    /// back if the system has no thread to give.
    fn start<'a: 'scope>(
        scope: &'scope Scope<'scope, '_>,
        checker: Checker<'a>,
        shape: Shape,
    ) -> std::result::Result<Self, Checker<'a>> {
        let (full, to_verify) = mpsc::channel();
        let (verified, empty) = mpsc::channel();
        // The checker goes over a channel once the thread exists, so that a
        // failed spawn does not take it down with the closure.
        let (give, take) = mpsc::channel::<Checker<'a>>();
        let spawned = thread::Builder::new()
            .name("mlas-audit-verify".into())
            .spawn_scoped(scope, move || match take.recv() {
                Ok(checker) => verify_batches(checker, &to_verify, &verified),
                Err(_) => Ok(Progress::Drained),
            });
        let Ok(worker) = spawned else {
            return Err(checker);
        };
        if let Err(mpsc::SendError(checker)) = give.send(checker) {
            // Not reached: the thread holds `take` until it has the checker.
            return Err(checker);
        }
        Ok(Feed {
            batch: Batch::with_capacity(shape.batch_records),
            full,
            empty,
            spare: shape.batches.saturating_sub(1),
            batch_records: shape.batch_records.max(1),
            worker,
        })
    }

    /// Copies `row` into the batch, handing the batch over when full.
    /// Whether to read on: `false` once the verifying thread has stopped.
    fn push(&mut self, row: &AuditRow<'_>) -> bool {
        self.batch.push(row);
        if self.batch.len() < self.batch_records {
            return true;
        }
        if self.full.send(mem::take(&mut self.batch)).is_err() {
            return false;
        }
        // A verified batch if one is back, else a new one while fewer than
        // `batches` exist, else wait for the verifying thread to free one.
        let next = match self.empty.try_recv() {
            Ok(batch) => Ok(batch),
            Err(TryRecvError::Empty) if self.spare > 0 => {
                self.spare -= 1;
                Ok(Batch::with_capacity(self.batch_records))
            }
            Err(TryRecvError::Empty) => self.empty.recv().map_err(|_| ()),
            Err(TryRecvError::Disconnected) => Err(()),
        };
        match next {
            Ok(batch) => {
                self.batch = batch;
                true
            }
            // The verifying thread stopped (the chain is broken, or it failed).
            Err(()) => false,
        }
    }

    /// Hands over the last rows, waits for the verifying thread, and says
    /// how the walk ended given what the scan returned.
    fn finish(self, scanned: Result<()>) -> Ended {
        let Feed {
            batch,
            full,
            worker,
            ..
        } = self;
        if !batch.is_empty() {
            // If the thread already stopped, it needs no more rows.
            let _ = full.send(batch);
        }
        // Closing the channel tells the thread that no more rows will come.
        drop(full);
        match worker.join() {
            Ok(Ok(Progress::Drained)) => Ended::Scanned(scanned),
            // What the scan did after the break was never needed.
            Ok(Ok(Progress::Stopped)) => Ended::Scanned(Ok(())),
            Ok(Err(e)) => Ended::Failed(e),
            Err(panic) => Ended::Failed(Error::storage(format!(
                "verifying the audit chain failed: its thread panicked ({})",
                panic_message(panic.as_ref())
            ))),
        }
    }
}

/// The verifying thread: checks the batches in order, returning each once
/// done with it, until the chain breaks or no more batches come.
fn verify_batches(
    checker: Checker<'_>,
    to_verify: &Receiver<Batch>,
    verified: &Sender<Batch>,
) -> Result<Progress> {
    let Checker { verifier, after } = checker;
    for mut batch in to_verify {
        for i in 0..batch.len() {
            let held = batch.row(i);
            let go = match held.form {
                Form::Stored => step(verifier, after, &held.row, Stored::Strict)?,
                Form::Encoded => step(verifier, after, &held.row, Stored::Encoded)?,
                Form::Unencodable => {
                    let (row, why) = (&held.row, held.payload.to_owned());
                    verifier.check(row.seq, row.tenant, row.prev_hash, row.hash, Err(why))
                }
            };
            if !go {
                return Ok(Progress::Stopped);
            }
        }
        batch.clear();
        // The calling thread may have finished reading: then it needs no
        // batch back.
        let _ = verified.send(batch);
    }
    Ok(Progress::Drained)
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// The text fields of a row, in the order a batch stores them.
const TENANT: usize = 0;
const KIND: usize = 1;
const RESOURCE_TYPE: usize = 2;
const RESOURCE_ID: usize = 3;
const AFFILIATE_ID: usize = 4;
const ACTOR: usize = 5;
const PAYLOAD: usize = 6;
const PREV_HASH: usize = 7;
const HASH: usize = 8;
const FIELDS: usize = 9;

/// Rows copied out of a store's scan: all their text in one buffer, so that
/// a batch costs no allocation once its buffers have grown, and moving it to
/// another thread moves three pointers.
#[derive(Default)]
struct Batch {
    text: String,
    rows: Vec<Slot>,
    /// The canonical bytes of a parsed payload, before they join `text`.
    scratch: Vec<u8>,
}

/// One row of a [`Batch`].
struct Slot {
    seq: u64,
    at: DateTime<Utc>,
    /// Where the row's text starts in the batch's `text`.
    start: usize,
    /// Where each text field ends; each starts where the one before ends.
    ends: [usize; FIELDS],
    has_affiliate: bool,
    form: Form,
}

/// What a batch's payload text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// The text the store holds, as it is: checked and maybe parsed when
    /// verified, as a borrowed row's text would be.
    Stored,
    /// The canonical JSON of a parsed payload (a `MemoryStore`'s), written
    /// on the reading thread: the very bytes the verifier would write.
    Encoded,
    /// A parsed payload that cannot be encoded; the text says why.
    Unencodable,
}

/// A row of a batch, borrowed back.
struct Held<'b> {
    row: AuditRow<'b>,
    form: Form,
    /// The payload's text (for [`Form::Unencodable`], why).
    payload: &'b str,
}

impl Batch {
    fn with_capacity(rows: usize) -> Self {
        Batch {
            // Records are about 500 bytes of text.
            text: String::with_capacity(rows * 512),
            rows: Vec::with_capacity(rows),
            scratch: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    /// Copies `row` in. A parsed payload is written as its canonical JSON
    /// here, on the reading thread, which has the value at hand (and whose
    /// other work, copying, is light next to the verifier's hashing).
    fn push(&mut self, row: &AuditRow<'_>) {
        let start = self.text.len();
        let mut ends = [start; FIELDS];
        let text = &mut self.text;
        let mut put = |field: usize, value: &str| {
            text.push_str(value);
            ends[field] = text.len();
        };
        put(TENANT, row.tenant);
        put(KIND, row.kind);
        put(RESOURCE_TYPE, row.resource_type);
        put(RESOURCE_ID, row.resource_id);
        put(AFFILIATE_ID, row.affiliate_id.unwrap_or_default());
        put(ACTOR, row.actor);
        let form = match row.payload {
            AuditPayload::Json(stored) => {
                put(PAYLOAD, stored);
                Form::Stored
            }
            AuditPayload::Value(value) => {
                self.scratch.clear();
                let encoded = canonical::value(&mut self.scratch, value).and_then(|()| {
                    std::str::from_utf8(&self.scratch)
                        .map_err(|e| format!("canonical payload is not UTF-8: {e}"))
                });
                match encoded {
                    Ok(encoded) => {
                        put(PAYLOAD, encoded);
                        Form::Encoded
                    }
                    Err(message) => {
                        put(PAYLOAD, &message);
                        Form::Unencodable
                    }
                }
            }
        };
        put(PREV_HASH, row.prev_hash);
        put(HASH, row.hash);
        self.rows.push(Slot {
            seq: row.seq,
            at: row.at,
            start,
            ends,
            has_affiliate: row.affiliate_id.is_some(),
            form,
        });
    }

    /// Row `i`, borrowed from the batch (its payload as text).
    fn row(&self, i: usize) -> Held<'_> {
        let slot = &self.rows[i];
        let field = |f: usize| {
            let from = if f == 0 { slot.start } else { slot.ends[f - 1] };
            &self.text[from..slot.ends[f]]
        };
        let payload = field(PAYLOAD);
        Held {
            row: AuditRow {
                tenant: field(TENANT),
                seq: slot.seq,
                at: slot.at,
                kind: field(KIND),
                resource_type: field(RESOURCE_TYPE),
                resource_id: field(RESOURCE_ID),
                affiliate_id: slot.has_affiliate.then(|| field(AFFILIATE_ID)),
                actor: field(ACTOR),
                payload: AuditPayload::Json(payload),
                prev_hash: field(PREV_HASH),
                hash: field(HASH),
            },
            form: slot.form,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The pipelined walk against the single-threaded one (`After::Here`),
    //! which is the walk as it always was: same result, same report, same
    //! rows seen by the hook, in the same order.

    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::audit::{AuditEvent, AuditRecord, BreakReason, record_hash};
    use crate::ids::TenantId;

    const KEY: &[u8] = b"audit key";

    /// A row as a backend would hand it out.
    #[derive(Debug, Clone)]
    enum Item {
        /// Payload parsed, as a `MemoryStore` holds it.
        Parsed(AuditRecord),
        /// Payload as stored text, as SQLite holds it.
        Text(AuditRecord, String),
        /// A row the backend cannot read: the scan fails there.
        Unreadable,
    }

    fn tenant() -> TenantId {
        TenantId::new("org-1").unwrap()
    }

    fn event(i: u64, actor_note: &str) -> AuditEvent {
        AuditEvent {
            kind: if i % 7 == 3 {
                "commission.calculated"
            } else {
                "sale.recorded"
            },
            resource_type: "sale",
            resource_id: format!("sale-{i}"),
            affiliate_id: (i % 3 != 0).then(|| format!("aff-{}", i % 11)),
            payload: json!({
                "amount": format!("{}.25", i % 1000),
                "chain": [format!("aff-{}", i % 11), "aff-0"],
                "note": format!("{actor_note} é \"{i}\"\n"),
            }),
        }
    }

    fn chain(n: u64, key: Option<&[u8]>) -> Vec<AuditRecord> {
        let at = chrono::Utc.with_ymd_and_hms(2026, 2, 6, 9, 30, 0).unwrap();
        let mut out: Vec<AuditRecord> = Vec::with_capacity(n as usize);
        for i in 0..n {
            let head = out.last().map(AuditRecord::head);
            let at = at + chrono::TimeDelta::microseconds(i as i64 * 1_001);
            out.push(
                AuditRecord::chained(&tenant(), head.as_ref(), at, "ops", event(i, ""), key)
                    .unwrap(),
            );
        }
        out
    }

    /// How a test tampers with a chain, at a record index.
    #[derive(Debug, Clone, Copy)]
    enum Tamper {
        Edit,
        Delete,
        /// A well-formed record slipped in, the later ones renumbered.
        Insert,
        /// Swapped with the next record.
        Reorder,
        /// `prev_hash` changed and the record rehashed: only the link shows it.
        Relink,
        WrongTenant,
        /// A payload outside the profile, parsed: hashed as it is.
        Float,
        /// Payload text that is not JSON (stored text only).
        NotJson,
        /// The same payload written otherwise: still intact (stored text only).
        Pretty,
        Unreadable,
    }

    const TAMPERS: [Tamper; 10] = [
        Tamper::Edit,
        Tamper::Delete,
        Tamper::Insert,
        Tamper::Reorder,
        Tamper::Relink,
        Tamper::WrongTenant,
        Tamper::Float,
        Tamper::NotJson,
        Tamper::Pretty,
        Tamper::Unreadable,
    ];

    /// `records` as a backend would hand them out (payload text when
    /// `text`), tampered at index `at` (clamped into the chain).
    fn items(records: &[AuditRecord], tamper: Option<(Tamper, usize)>, text: bool) -> Vec<Item> {
        let mut records = records.to_vec();
        let mut texts: Vec<String> = records
            .iter()
            .map(|r| serde_json::to_string(&r.payload).unwrap())
            .collect();
        let mut unreadable = None;
        if let Some((tamper, at)) = tamper.filter(|_| !records.is_empty()) {
            let at = at.min(records.len() - 1);
            match tamper {
                Tamper::Edit => records[at].actor = "mallory".into(),
                Tamper::Delete => {
                    records.remove(at);
                    texts.remove(at);
                }
                Tamper::Insert => {
                    let head = at.checked_sub(1).map(|i| records[i].head());
                    let forged = AuditRecord::chained(
                        &tenant(),
                        head.as_ref(),
                        records[at].at,
                        "mallory",
                        event(at as u64, "forged"),
                        None,
                    )
                    .unwrap();
                    for r in &mut records[at..] {
                        r.seq += 1;
                    }
                    texts.insert(at, serde_json::to_string(&forged.payload).unwrap());
                    records.insert(at, forged);
                }
                Tamper::Reorder if at + 1 < records.len() => {
                    records.swap(at, at + 1);
                    texts.swap(at, at + 1);
                }
                Tamper::Reorder => records[at].seq += 1,
                Tamper::Relink => {
                    records[at].prev_hash = "f".repeat(64);
                    records[at].hash = record_hash(&records[at], None).unwrap();
                }
                Tamper::WrongTenant => records[at].tenant = TenantId::new("org-2").unwrap(),
                Tamper::Float => {
                    records[at].payload = json!({"amount": 1.5});
                    texts[at] = r#"{"amount":1.5}"#.into();
                }
                Tamper::NotJson => texts[at] = "not json".into(),
                Tamper::Pretty => {
                    texts[at] = serde_json::to_string_pretty(&records[at].payload).unwrap();
                }
                Tamper::Unreadable => unreadable = Some(at),
            }
        }
        records
            .into_iter()
            .zip(texts)
            .enumerate()
            .map(
                |(i, (record, payload))| match (unreadable == Some(i), text) {
                    (true, _) => Item::Unreadable,
                    (false, true) => Item::Text(record, payload),
                    (false, false) => Item::Parsed(record),
                },
            )
            .collect()
    }

    /// What a hook does besides recording the rows it sees.
    #[derive(Debug, Clone, Copy, Default)]
    struct Hooks {
        /// Marks the chain broken at this seq (as a checkpoint's hook does).
        fail_at: Option<u64>,
        /// Fails with an error at this seq.
        error_at: Option<u64>,
        /// Panics at this seq.
        panic_at: Option<u64>,
        /// `stop` after this seq.
        through: Option<u64>,
    }

    /// Everything a walk shows.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        result: std::result::Result<(), String>,
        report: crate::audit::AuditVerification,
        seen: Vec<(u64, String, Option<Value>)>,
    }

    /// Walks `items` single-threaded (`shape: None`) or pipelined.
    fn walk_items(
        items: &[Item],
        key: Option<&[u8]>,
        hooks: Hooks,
        shape: Option<Shape>,
    ) -> Outcome {
        let mut scan = |visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<bool>| {
            for item in items {
                let go = match item {
                    Item::Parsed(record) => visit(&record.as_row())?,
                    Item::Text(record, text) => {
                        let mut row = record.as_row();
                        row.payload = AuditPayload::Json(text);
                        visit(&row)?
                    }
                    Item::Unreadable => {
                        return Err(Error::integrity("stored seq is not an integer"));
                    }
                };
                if !go {
                    break;
                }
            }
            Ok(())
        };
        let mut verifier = ChainVerifier::from_genesis(key).for_tenant("org-1");
        let mut seen = Vec::new();
        let mut hook = |row: &AuditRow<'_>, verifier: &mut ChainVerifier| {
            seen.push((row.seq, row.hash.to_owned(), row.payload_value().ok()));
            assert_ne!(
                hooks.panic_at,
                Some(row.seq),
                "the hook panics at {}",
                row.seq
            );
            if hooks.fail_at == Some(row.seq) {
                verifier.fail(row.seq, BreakReason::BadCheckpointTag);
            }
            if hooks.error_at == Some(row.seq) {
                return Err(Error::storage(format!("hook failed at {}", row.seq)));
            }
            Ok(())
        };
        let stop = |row: &AuditRow<'_>| hooks.through.is_some_and(|t| row.seq > t);
        let result = match shape {
            None => walk_shaped(
                &mut scan,
                0,
                &mut verifier,
                &stop,
                After::Here(&mut hook),
                Shape::DEFAULT,
            ),
            Some(shape) => walk_shaped(
                &mut scan,
                0,
                &mut verifier,
                &stop,
                After::Anywhere(&mut hook),
                shape,
            ),
        };
        Outcome {
            result: result.map_err(|e| format!("{:?}: {e}", e.kind())),
            report: verifier.finish(),
            seen,
        }
    }

    /// Asserts that the pipelined walk in `shape` shows what the
    /// single-threaded one shows; returns that.
    fn same(items: &[Item], key: Option<&[u8]>, hooks: Hooks, shape: Shape) -> Outcome {
        let alone = walk_items(items, key, hooks, None);
        let piped = walk_items(items, key, hooks, Some(shape));
        assert_eq!(piped, alone, "{shape:?} {hooks:?}");
        alone
    }

    /// Small batches, a thread from the first record: every boundary is near.
    const TINY: Shape = Shape {
        inline_records: 0,
        batch_records: 3,
        batches: 2,
    };

    #[test]
    fn a_long_intact_chain_gives_the_same_report_on_two_threads() {
        let n = Shape::DEFAULT.inline_records + 3 * Shape::DEFAULT.batch_records as u64 + 17;
        for key in [None, Some(KEY)] {
            let records = chain(n, key);
            for text in [false, true] {
                let outcome = same(
                    &items(&records, None, text),
                    key,
                    Hooks::default(),
                    Shape::DEFAULT,
                );
                assert!(outcome.report.is_intact(), "{:?}", outcome.report.broken);
                assert_eq!(outcome.report.records, n);
                assert_eq!(outcome.report.head, records.last().map(AuditRecord::head));
                assert_eq!(outcome.seen.len() as u64, n);
            }
        }
        // Without the key, a keyed chain breaks at its first record, either way.
        let records = chain(n, Some(KEY));
        let outcome = same(
            &items(&records, None, false),
            None,
            Hooks::default(),
            Shape::DEFAULT,
        );
        assert_eq!(outcome.report.broken.unwrap().seq, 1);
    }

    #[test]
    fn every_kind_of_tampering_is_named_alike_on_two_threads() {
        let shape = Shape::DEFAULT;
        let inline = shape.inline_records as usize;
        let batch = shape.batch_records;
        let n = (inline + 3 * batch + 10) as u64;
        let records = chain(n, None);
        // The first and last records, the last one verified inline, the first
        // one piped, and both sides of a batch boundary.
        let positions = [
            0,
            inline - 1,
            inline,
            inline + batch - 1,
            inline + batch,
            n as usize - 1,
        ];
        for tamper in TAMPERS {
            for at in positions {
                let text = matches!(tamper, Tamper::NotJson | Tamper::Pretty);
                let outcome = same(
                    &items(&records, Some((tamper, at)), text),
                    None,
                    Hooks::default(),
                    shape,
                );
                let broken = outcome.report.broken.as_ref().map(|b| (b.seq, &b.reason));
                let expected_seq = at as u64 + 1;
                match (tamper, broken) {
                    (Tamper::Pretty, None) => {}
                    (Tamper::Delete, None) if at == n as usize - 1 => {}
                    // Either the moved record or the one after it shows.
                    (Tamper::Reorder | Tamper::Insert, Some((seq, _))) => {
                        assert!(
                            seq == expected_seq || seq == expected_seq + 1,
                            "{tamper:?} at {at}"
                        );
                    }
                    (_, Some((seq, _))) => assert_eq!(seq, expected_seq, "{tamper:?} at {at}"),
                    (_, None) => panic!("{tamper:?} at {at} went unnoticed"),
                }
            }
        }
    }

    #[test]
    fn hooks_and_stops_behave_alike_on_two_threads() {
        let records = chain(2_000, None);
        let shape = Shape {
            inline_records: 100,
            batch_records: 64,
            batches: 3,
        };
        for text in [false, true] {
            let items = items(&records, None, text);
            for hooks in [
                Hooks {
                    fail_at: Some(1_000),
                    ..Hooks::default()
                },
                Hooks {
                    error_at: Some(1_280),
                    ..Hooks::default()
                },
                Hooks {
                    error_at: Some(50),
                    ..Hooks::default()
                },
                Hooks {
                    through: Some(1_500),
                    ..Hooks::default()
                },
                Hooks {
                    through: Some(0),
                    ..Hooks::default()
                },
            ] {
                let outcome = same(&items, None, hooks, shape);
                let last = outcome.seen.last().map(|s| s.0);
                assert_eq!(
                    last,
                    hooks
                        .fail_at
                        .or(hooks.error_at)
                        .or(hooks.through.filter(|&t| t > 0))
                );
            }
        }
    }

    #[test]
    fn a_panic_on_the_verifying_thread_is_an_error() {
        let records = chain(50, None);
        let items = items(&records, None, true);
        let hooks = Hooks {
            panic_at: Some(20),
            ..Hooks::default()
        };
        let outcome = walk_items(&items, None, hooks, Some(TINY));
        let message = outcome.result.unwrap_err();
        assert!(
            message.starts_with("Storage:") && message.contains("the hook panics at 20"),
            "{message}"
        );
    }

    #[test]
    fn an_empty_chain_and_a_chain_broken_from_the_start() {
        same(&[], None, Hooks::default(), TINY);
        let records = chain(30, None);
        let items = items(&records, None, false);
        let mut verifier = ChainVerifier::from_genesis(None);
        verifier.fail(1, BreakReason::BadCheckpointTag);
        let mut scan = |visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<bool>| {
            for item in &items {
                if let Item::Parsed(record) = item {
                    if !visit(&record.as_row())? {
                        break;
                    }
                }
            }
            Ok(())
        };
        let mut hook = |_: &AuditRow<'_>, _: &mut ChainVerifier| -> Result<()> {
            panic!("no record is intact")
        };
        walk_shaped(
            &mut scan,
            0,
            &mut verifier,
            &|_| false,
            After::Anywhere(&mut hook),
            TINY,
        )
        .unwrap();
        assert_eq!(verifier.finish().records, 0);
    }

    fn tamper() -> impl Strategy<Value = Option<(Tamper, usize)>> {
        proptest::option::of((proptest::sample::select(TAMPERS.to_vec()), 0usize..120))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn pipelined_walks_match_the_single_threaded_one(
            n in 0u64..120,
            tamper in tamper(),
            text in any::<bool>(),
            keyed in any::<bool>(),
            inline_records in 0u64..40,
            batch_records in 1usize..12,
            batches in 1usize..4,
            fail_at in proptest::option::of(1u64..120),
            error_at in proptest::option::of(1u64..120),
            through in proptest::option::of(0u64..120),
            unreadable_at in proptest::option::of(0usize..120),
        ) {
            let key = keyed.then_some(KEY);
            let records = chain(n, key);
            let hooks = Hooks { fail_at, error_at, panic_at: None, through };
            let shape = Shape { inline_records, batch_records, batches };
            let mut items = items(&records, tamper, text);
            // A second fault: a row that cannot be read, before or after the
            // first, which the walk must not report if it stopped before it.
            if let Some(item) = unreadable_at.and_then(|u| items.get_mut(u)) {
                *item = Item::Unreadable;
            }
            let alone = walk_items(&items, key, hooks, None);
            let piped = walk_items(&items, key, hooks, Some(shape));
            prop_assert_eq!(piped, alone);
        }
    }
}
