//! Payout providers: what actually moves the money.
//!
//! The host implements [`PayoutProvider`] over its bank, PSP or wallet API.
//! MLAS ships two: [`SimulatedProvider`] (deterministic and scriptable, for
//! tests and examples) and [`FileProvider`] (a CSV file for manual upload).
//!
//! # The contract
//!
//! - The payout id is the idempotency key. A provider must never pay the same
//!   key twice: a second `send` under a key it already paid answers the same
//!   `Paid` without paying again. A key that *failed* may be sent again (a
//!   retry, possibly with corrected details) and is then a new attempt.
//!   A provider whose API caches failures per key can derive a per-attempt key
//!   from [`PayoutInstruction::attempt`], as long as its `status` still answers
//!   by payout id.
//! - `send` answers [`ProviderOutcome::Unknown`] whenever it cannot tell
//!   whether the money moved (a timeout, a dropped connection). MLAS then keeps
//!   the payout SENDING and asks [`PayoutProvider::status`] later, before it
//!   would ever send that key again.
//! - `status` answers [`ProviderStatus::NotFound`] only when the provider is
//!   sure the key never arrived; MLAS then sends it again.
//! - A panic inside `send` or `status` is caught by the engine and treated as
//!   `Unknown` (the provider may have paid before panicking); it never reaches
//!   the host. The default panic hook still prints it: hosts that mind install
//!   their own hook.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};
use crate::ids::{AffiliateId, BatchId, PayoutId, TenantId};
use crate::money::{Currency, Money};
use crate::payout_method::PayoutDetails;

/// What the provider is asked to pay. `Debug` masks the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutInstruction {
    /// The payout id: the idempotency key.
    pub idempotency_key: PayoutId,
    /// The tenant paying.
    pub tenant: TenantId,
    /// The batch the payout belongs to.
    pub batch: BatchId,
    /// Who is paid.
    pub affiliate: AffiliateId,
    /// How much; always above zero.
    pub amount: Money,
    /// Where to pay: the affiliate's details at the time of this attempt, in
    /// full (they must reach the provider). Never log them unmasked.
    pub details: PayoutDetails,
    /// A reference for the affiliate's statement (`"MLAS payout <id>"`).
    pub reference: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

/// What a `send` achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderOutcome {
    /// The money was sent; `reference` is the provider's receipt.
    Paid {
        /// The provider's reference (transfer id, receipt number).
        reference: String,
    },
    /// The provider refused; nothing was paid.
    Failed {
        /// The provider's reason, without secrets.
        reason: String,
        /// Whether trying again (possibly with corrected details) can help.
        retryable: bool,
    },
    /// Nobody knows whether the money moved: ask [`PayoutProvider::status`] later.
    Unknown {
        /// What happened (a timeout, a panic, ...).
        reason: String,
    },
}

/// What the provider knows about an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderStatus {
    /// Paid, with the provider's reference.
    Paid {
        /// The provider's reference.
        reference: String,
    },
    /// The last attempt failed and nothing was paid.
    Failed {
        /// The provider's reason.
        reason: String,
        /// Whether trying again can help.
        retryable: bool,
    },
    /// Received but not settled yet, or the provider cannot tell now: ask again later.
    Pending,
    /// The key never arrived: sending it again is safe.
    NotFound,
}

/// A payout provider, implemented by the host. See the module docs for the contract.
pub trait PayoutProvider: Send + Sync {
    /// Sends one payout. Must not pay a key twice.
    fn send(&self, instruction: &PayoutInstruction) -> ProviderOutcome;

    /// What became of a key, for reconciliation after an unknown outcome or a crash.
    fn status(&self, key: &PayoutId) -> ProviderStatus;
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking script step releases the lock before it panics, so a
    // poisoned lock still guards consistent state.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One scripted answer of the [`SimulatedProvider`] for one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimulatedStep {
    /// Refuse: nothing paid, `status` then says `Failed`.
    Fail {
        /// The reason given.
        reason: String,
        /// Whether a retry can help.
        retryable: bool,
    },
    /// The request is lost on the way: nothing paid, `Unknown` answered,
    /// `status` says `NotFound`.
    Lost,
    /// Paid, but the answer is lost (a timeout): `Unknown`, `status` says `Paid`.
    PaidButUnknown,
    /// Panic before doing anything.
    Panic,
    /// Pay, then panic before answering: the "provider recorded the payment
    /// but the host never heard" crash.
    PaidThenPanic,
}

#[derive(Debug, Default)]
struct SimState {
    scripts: HashMap<PayoutId, Vec<SimulatedStep>>,
    failing_affiliates: HashMap<AffiliateId, String>,
    sends: HashMap<PayoutId, u32>,
    status_calls: HashMap<PayoutId, u32>,
    payments: HashMap<PayoutId, u32>,
    duplicate_sends: HashMap<PayoutId, u32>,
    paid: BTreeMap<PayoutId, (Money, String)>,
    failed: HashMap<PayoutId, (String, bool)>,
    last: HashMap<PayoutId, PayoutInstruction>,
}

/// A deterministic, scriptable provider for tests and examples.
///
/// By default every `send` pays, with the reference `sim-<key>`. Scripts make
/// chosen keys fail, get lost, time out after paying, or panic; an affiliate
/// can be made to fail always. Like a real provider it pays a key at most
/// once: a `send` under a paid key answers the same `Paid` and pays nothing.
/// It counts sends, status calls and payments per key.
#[derive(Debug, Default)]
pub struct SimulatedProvider {
    state: Mutex<SimState>,
}

impl SimulatedProvider {
    /// A provider that pays everything.
    pub fn new() -> Self {
        SimulatedProvider::default()
    }

    /// Queues answers for the next sends of `key`; once they are used up, it pays.
    pub fn script(&self, key: &PayoutId, steps: impl IntoIterator<Item = SimulatedStep>) {
        let mut state = lock(&self.state);
        let queue = state.scripts.entry(key.clone()).or_default();
        queue.extend(steps);
    }

    /// Makes the next `times` sends of `key` fail.
    pub fn fail_payout(&self, key: &PayoutId, times: usize, reason: &str, retryable: bool) {
        let step = SimulatedStep::Fail {
            reason: reason.to_owned(),
            retryable,
        };
        self.script(key, std::iter::repeat_n(step, times));
    }

    /// Makes every send to `affiliate` fail (not retryable) until cleared.
    pub fn fail_affiliate(&self, affiliate: &AffiliateId, reason: &str) {
        lock(&self.state)
            .failing_affiliates
            .insert(affiliate.clone(), reason.to_owned());
    }

    /// Stops failing sends to `affiliate`.
    pub fn clear_affiliate(&self, affiliate: &AffiliateId) {
        lock(&self.state).failing_affiliates.remove(affiliate);
    }

    /// How many times `send` was called with `key`.
    pub fn calls(&self, key: &PayoutId) -> u32 {
        lock(&self.state).sends.get(key).copied().unwrap_or(0)
    }

    /// How many times `status` was called with `key`.
    pub fn status_calls(&self, key: &PayoutId) -> u32 {
        lock(&self.state)
            .status_calls
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// How many times money was actually moved for `key` (0 or 1 unless broken).
    pub fn payments(&self, key: &PayoutId) -> u32 {
        lock(&self.state).payments.get(key).copied().unwrap_or(0)
    }

    /// How many sends came under `key` after it was paid: answered from the
    /// idempotency record, paying nothing. A host that reconciles before
    /// resending keeps this at zero in single-worker operation.
    pub fn duplicate_sends(&self, key: &PayoutId) -> u32 {
        lock(&self.state)
            .duplicate_sends
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// What was paid under `key`, with the reference.
    pub fn paid(&self, key: &PayoutId) -> Option<(Money, String)> {
        lock(&self.state).paid.get(key).cloned()
    }

    /// Every paid key with its amount.
    pub fn paid_all(&self) -> BTreeMap<PayoutId, Money> {
        lock(&self.state)
            .paid
            .iter()
            .map(|(k, (m, _))| (k.clone(), *m))
            .collect()
    }

    /// The total paid in `currency`.
    pub fn total_paid(&self, currency: Currency) -> Money {
        let state = lock(&self.state);
        let minor: i64 = state
            .paid
            .values()
            .filter(|(m, _)| m.currency() == currency)
            .map(|(m, _)| m.minor())
            .sum();
        Money::from_minor(minor, currency)
    }

    /// The last instruction received under `key`.
    pub fn last_instruction(&self, key: &PayoutId) -> Option<PayoutInstruction> {
        lock(&self.state).last.get(key).cloned()
    }
}

impl PayoutProvider for SimulatedProvider {
    fn send(&self, instruction: &PayoutInstruction) -> ProviderOutcome {
        let key = &instruction.idempotency_key;
        let mut state = lock(&self.state);
        *state.sends.entry(key.clone()).or_default() += 1;
        state.last.insert(key.clone(), instruction.clone());
        if let Some((_, reference)) = state.paid.get(key) {
            let reference = reference.clone();
            *state.duplicate_sends.entry(key.clone()).or_default() += 1;
            return ProviderOutcome::Paid { reference };
        }

        let step = state.scripts.get_mut(key).and_then(|queue| {
            if queue.is_empty() {
                None
            } else {
                Some(queue.remove(0))
            }
        });
        let reference = format!("sim-{key}");
        let pay = |state: &mut SimState| {
            *state.payments.entry(key.clone()).or_default() += 1;
            state.failed.remove(key);
            state
                .paid
                .insert(key.clone(), (instruction.amount, reference.clone()));
        };
        match step {
            Some(SimulatedStep::Fail { reason, retryable }) => {
                state
                    .failed
                    .insert(key.clone(), (reason.clone(), retryable));
                ProviderOutcome::Failed { reason, retryable }
            }
            Some(SimulatedStep::Lost) => ProviderOutcome::Unknown {
                reason: "simulated: request lost".to_owned(),
            },
            Some(SimulatedStep::PaidButUnknown) => {
                pay(&mut state);
                ProviderOutcome::Unknown {
                    reason: "simulated: timeout after paying".to_owned(),
                }
            }
            Some(SimulatedStep::Panic) => {
                drop(state);
                panic!("simulated provider panic before paying {key}");
            }
            Some(SimulatedStep::PaidThenPanic) => {
                pay(&mut state);
                drop(state);
                panic!("simulated provider panic after paying {key}");
            }
            None => {
                if let Some(reason) = state.failing_affiliates.get(&instruction.affiliate) {
                    let reason = reason.clone();
                    state.failed.insert(key.clone(), (reason.clone(), false));
                    return ProviderOutcome::Failed {
                        reason,
                        retryable: false,
                    };
                }
                pay(&mut state);
                ProviderOutcome::Paid { reference }
            }
        }
    }

    fn status(&self, key: &PayoutId) -> ProviderStatus {
        let mut state = lock(&self.state);
        *state.status_calls.entry(key.clone()).or_default() += 1;
        if let Some((_, reference)) = state.paid.get(key) {
            return ProviderStatus::Paid {
                reference: reference.clone(),
            };
        }
        match state.failed.get(key) {
            Some((reason, retryable)) => ProviderStatus::Failed {
                reason: reason.clone(),
                retryable: *retryable,
            },
            None => ProviderStatus::NotFound,
        }
    }
}

/// How a [`FileProvider`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMode {
    /// A row written to the file counts as paid ("submitted"): `send` answers
    /// `Paid` with the reference `file:<payout id>`. The operator must upload
    /// the file; MLAS no longer tracks the money once the row is written.
    SubmittedIsPaid,
    /// A written row is only pending: `send` answers `Unknown`, and `status`
    /// answers `Paid` once the host calls [`FileProvider::confirm`] for the key
    /// (after the bank confirmed it), `Pending` before. The payouts stay
    /// SENDING, and their batch PROCESSING, until then.
    AwaitConfirmation,
}

struct FileState {
    file: File,
    written: HashSet<PayoutId>,
    /// Keys whose row may be partly on disk after a write error.
    uncertain: HashSet<PayoutId>,
    confirmed: HashMap<PayoutId, String>,
}

/// Writes payouts to a CSV file for manual upload to a bank or PSP.
///
/// Columns: `reference` (the payout id), `affiliate_id`, `method`, `account`
/// (masked to its last four characters, so the file holds no secrets: the
/// operator looks the account up by affiliate), `amount`, `currency`. Text
/// cells that a spreadsheet would run as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or CR) are prefixed with `'`; the amount is left alone.
///
/// A key is written once: the keys already in the file are read back when it
/// is opened, and a `send` under a written key writes nothing new. Each row
/// is flushed and synced before `send` answers.
pub struct FileProvider {
    path: PathBuf,
    mode: FileMode,
    state: Mutex<FileState>,
}

impl fmt::Debug for FileProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileProvider")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

const FILE_HEADER: [&str; 6] = [
    "reference",
    "affiliate_id",
    "method",
    "account",
    "amount",
    "currency",
];

impl FileProvider {
    /// Opens (or creates) the batch file at `path`, appending to it.
    ///
    /// # Errors
    /// `Provider` when the file cannot be opened or read.
    pub fn open(path: impl AsRef<Path>, mode: FileMode) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let io = |what: &str, e: std::io::Error| Error::Provider {
            message: format!("cannot {what} payout file {}: {e}", path.display()),
        };
        let mut written = HashSet::new();
        if path.exists() {
            let mut reader = csv::Reader::from_path(&path).map_err(|e| Error::Provider {
                message: format!("cannot read payout file {}: {e}", path.display()),
            })?;
            for row in reader.records() {
                let row = row.map_err(|e| Error::Provider {
                    message: format!("cannot read payout file {}: {e}", path.display()),
                })?;
                if let Some(key) = row.get(0).and_then(|k| PayoutId::new(k).ok()) {
                    written.insert(key);
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io("open", e))?;
        let empty = file.metadata().map_err(|e| io("stat", e))?.len() == 0;
        if empty {
            let line = csv_line(&FILE_HEADER.map(str::to_owned)).map_err(|e| io("write", e))?;
            file.write_all(&line).map_err(|e| io("write", e))?;
            file.sync_data().map_err(|e| io("sync", e))?;
        }
        Ok(FileProvider {
            path,
            mode,
            state: Mutex::new(FileState {
                file,
                written,
                uncertain: HashSet::new(),
                confirmed: HashMap::new(),
            }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records that the bank confirmed `key` (in [`FileMode::AwaitConfirmation`]).
    ///
    /// Confirmations live in memory only: after reopening the file, the host
    /// confirms again from its bank statement.
    pub fn confirm(&self, key: &PayoutId, reference: &str) {
        lock(&self.state)
            .confirmed
            .insert(key.clone(), reference.to_owned());
    }

    fn answer(&self, key: &PayoutId) -> ProviderOutcome {
        match self.mode {
            FileMode::SubmittedIsPaid => ProviderOutcome::Paid {
                reference: format!("file:{key}"),
            },
            FileMode::AwaitConfirmation => ProviderOutcome::Unknown {
                reason: "written to the payout file; awaiting confirmation".to_owned(),
            },
        }
    }
}

/// Prefixes a text cell that a spreadsheet would read as a formula.
pub fn neutralise_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn csv_line(cells: &[String]) -> std::io::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(cells).map_err(std::io::Error::other)?;
    writer
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

impl PayoutProvider for FileProvider {
    fn send(&self, instruction: &PayoutInstruction) -> ProviderOutcome {
        let key = &instruction.idempotency_key;
        let mut state = lock(&self.state);
        if state.written.contains(key) {
            return self.answer(key);
        }
        if state.uncertain.contains(key) {
            return ProviderOutcome::Unknown {
                reason: "an earlier write of this payout failed; check the file".to_owned(),
            };
        }
        let cells = [
            neutralise_cell(key.as_str()),
            neutralise_cell(instruction.affiliate.as_str()),
            neutralise_cell(instruction.details.method().as_str()),
            neutralise_cell(&instruction.details.masked_account()),
            instruction.amount.amount().to_string(),
            instruction.amount.currency().code().to_owned(),
        ];
        let written = csv_line(&cells).and_then(|line| {
            state.file.write_all(&line)?;
            state.file.sync_data()
        });
        match written {
            Ok(()) => {
                state.written.insert(key.clone());
                self.answer(key)
            }
            // A partial row may be on disk: the outcome is unknown, and `status`
            // answers Pending (never NotFound, which would invite a second row)
            // until the operator has looked at the file and reopened it.
            Err(e) => {
                state.uncertain.insert(key.clone());
                ProviderOutcome::Unknown {
                    reason: format!("cannot write payout file: {e}"),
                }
            }
        }
    }

    fn status(&self, key: &PayoutId) -> ProviderStatus {
        let state = lock(&self.state);
        if !state.written.contains(key) {
            if state.uncertain.contains(key) {
                return ProviderStatus::Pending;
            }
            return ProviderStatus::NotFound;
        }
        match self.mode {
            FileMode::SubmittedIsPaid => ProviderStatus::Paid {
                reference: format!("file:{key}"),
            },
            FileMode::AwaitConfirmation => match state.confirmed.get(key) {
                Some(reference) => ProviderStatus::Paid {
                    reference: reference.clone(),
                },
                None => ProviderStatus::Pending,
            },
        }
    }
}
