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
    /// on two threads. A row it sees holds a store's parsed payload as the
    /// canonical JSON text of that payload ([`AuditPayload::Json`]).
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
            match inline.take() {
                Some(checker) if seen >= shape.inline_records => {
                    Ok(feed.insert(Feed::start(scope, checker, shape)).push(row))
                }
                Some(checker) => {
                    seen += 1;
                    let go = step(checker.verifier, checker.after, row, Stored::Strict);
                    inline = Some(checker);
                    go.or_else(|e| {
                        failed = Some(e);
                        Ok(false)
                    })
                }
                // Not reached: the checker is here or with the thread.
                None => Ok(false),
            }
        });
        match (feed, failed) {
            (Some(feed), _) => feed.finish(scanned),
            (None, Some(e)) => Ended::Failed(e),
            (None, None) => Ended::Scanned(scanned),
        }
    })
}

impl<'scope> Feed<'scope> {
    /// Starts the verifying thread with `checker`.
    fn start<'a: 'scope>(
        scope: &'scope Scope<'scope, '_>,
        checker: Checker<'a>,
        shape: Shape,
    ) -> Self {
        let (full, to_verify) = mpsc::channel();
        let (verified, empty) = mpsc::channel();
        let worker = scope.spawn(move || verify_batches(checker, &to_verify, &verified));
        Feed {
            batch: Batch::with_capacity(shape.batch_records),
            full,
            empty,
            spare: shape.batches.saturating_sub(1),
            batch_records: shape.batch_records.max(1),
            worker,
        }
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
