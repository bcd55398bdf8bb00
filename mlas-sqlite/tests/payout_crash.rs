//! Payout processing killed with SIGKILL at random points, over a SQLite file.
//!
//! The test re-runs its own binary as a child process (selected by an
//! environment variable) that processes a batch through a provider whose
//! "bank" is an append-only ledger file: a payment is a synced line there, so
//! it survives the kill just as money sent by a real provider would. The parent
//! kills the child after a random delay, again and again, then lets a child
//! finish. Afterwards every payout must be paid exactly once, the stored sums
//! must match the ledger, and the audit chain must verify.
//!
//! `MLAS_CRASH_SEED` and `MLAS_CRASH_ROUNDS` reproduce or lengthen a run.

// Tests may unwrap: a failure is a test failure with its message.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mlas_core::audit::{GENESIS_HASH, record_hash};
use mlas_core::{
    AdjustmentFilter, AffiliateId, BatchId, BatchStatus, CommissionFilter, CommissionSelection,
    CommissionStatus, Currency, Decimal, Engine, EngineConfig, ErrorKind, Money, NewAffiliate,
    NewRefund, NewSale, PayoutDetails, PayoutFilter, PayoutId, PayoutInstruction, PayoutProvider,
    PayoutStatus, ProviderOutcome, ProviderStatus, RefundId, SaleId, ScheduleRequest, Scope,
};
use mlas_sqlite::SqliteStore;

const CHILD_ENV: &str = "MLAS_PAYOUT_CRASH_CHILD";
const TEST_NAME: &str = "payouts_survive_sigkill_at_random_points";

/// A provider whose bank is an append-only file: `PAID,<key>,<minor>,<currency>`
/// per payment, `DUP,<key>` for a send under a key it had already paid.
struct LedgerProvider {
    path: PathBuf,
}

impl LedgerProvider {
    fn paid(&self) -> BTreeMap<String, i64> {
        read_ledger(&self.path).0
    }

    fn append(&self, line: &str) {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .unwrap();
        // One short write on an O_APPEND file: a kill leaves it whole or absent.
        file.write_all(format!("{line}\n").as_bytes()).unwrap();
        file.sync_data().unwrap();
    }
}

impl PayoutProvider for LedgerProvider {
    fn send(&self, instruction: &PayoutInstruction) -> ProviderOutcome {
        let key = instruction.idempotency_key.to_string();
        // Widen the window between "the bank has it" and "we recorded it".
        std::thread::sleep(Duration::from_millis(1));
        if self.paid().contains_key(&key) {
            self.append(&format!("DUP,{key}"));
        } else {
            self.append(&format!(
                "PAID,{key},{},{}",
                instruction.amount.minor(),
                instruction.amount.currency()
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
        ProviderOutcome::Paid {
            reference: format!("ledger-{key}"),
        }
    }

    fn status(&self, key: &PayoutId) -> ProviderStatus {
        if self.paid().contains_key(key.as_str()) {
            ProviderStatus::Paid {
                reference: format!("ledger-{key}"),
            }
        } else {
            ProviderStatus::NotFound
        }
    }
}

/// Payments by key (minor units) and the number of duplicate sends.
fn read_ledger(path: &Path) -> (BTreeMap<String, i64>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut paid = BTreeMap::new();
    let mut duplicates = 0;
    for line in text.lines() {
        let cells: Vec<&str> = line.split(',').collect();
        match cells.as_slice() {
            ["PAID", key, minor, _] => {
                let previous = paid.insert((*key).to_owned(), minor.parse::<i64>().unwrap());
                assert!(previous.is_none(), "{key} paid twice by the bank");
            }
            ["DUP", _] => duplicates += 1,
            _ => panic!("torn ledger line {line:?}"),
        }
    }
    (paid, duplicates)
}

fn scope() -> Scope {
    Scope::new("org-crash", "payout-worker").unwrap()
}

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

/// How long a child's claim on the batch lasts: a killed child's claim lapses
/// this soon, and the next child takes the batch over.
const LEASE: Duration = Duration::from_millis(100);

/// The child: process one batch, then exit. A claim left by a killed child
/// answers `Conflict` until it lapses; the child waits it out.
fn child(db: &str, ledger: &str, batch: &str) {
    let config = EngineConfig {
        batch_lease: chrono::TimeDelta::from_std(LEASE).unwrap(),
        // Twelve payouts in waves of five: kills land between waves too.
        payout_wave: 5,
        ..EngineConfig::default()
    };
    let engine = Engine::new(SqliteStore::open(db).unwrap())
        .with_config(config)
        .unwrap();
    let provider = LedgerProvider {
        path: PathBuf::from(ledger),
    };
    for _ in 0..50 {
        match engine.process_batch(&scope(), &BatchId::new(batch).unwrap(), &provider, false) {
            Err(e) if e.kind() == ErrorKind::Conflict => std::thread::sleep(LEASE),
            outcome => {
                outcome.unwrap();
                return;
            }
        }
    }
    panic!("the batch stayed claimed by another worker");
}

/// xorshift64*: no `rand` dependency, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn spawn_child(db: &Path, ledger: &Path, batch: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(
            CHILD_ENV,
            format!("{}|{}|{batch}", db.display(), ledger.display()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Sales for `affiliates`, approved at once (the default plan holds nothing).
fn earn(engine: &Engine, affiliates: &[AffiliateId], round: usize) -> Vec<SaleId> {
    let scope = scope();
    let mut sales = Vec::new();
    for (i, affiliate) in affiliates.iter().enumerate() {
        let sale = SaleId::new(format!("sale-{round}-{i}")).unwrap();
        let amount = Money::from_minor(10_000 + 137 * i64::try_from(i).unwrap(), usd());
        let outcome = engine
            .record_sale(
                &scope,
                NewSale::new(sale.clone(), amount, engine.now(), affiliate.clone()),
            )
            .unwrap();
        for commission in outcome.commissions {
            engine.approve(&scope, &commission.id).unwrap();
        }
        sales.push(sale);
    }
    sales
}

#[test]
fn payouts_survive_sigkill_at_random_points() {
    if let Ok(args) = std::env::var(CHILD_ENV) {
        let parts: Vec<&str> = args.split('|').collect();
        child(parts[0], parts[1], parts[2]);
        return;
    }

    let seed = std::env::var("MLAS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let rounds: usize = std::env::var("MLAS_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    eprintln!("payout crash test: MLAS_CRASH_SEED={seed} MLAS_CRASH_ROUNDS={rounds}");
    let mut rng = Rng(seed);

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlas.db");
    let ledger_path = dir.path().join("bank-ledger.txt");
    let engine = Engine::new(SqliteStore::open(&db).unwrap());
    let scope = scope();
    let affiliates: Vec<AffiliateId> = (0..12)
        .map(|i| {
            let mut new = NewAffiliate::new(
                format!("Affiliate {i}"),
                format!("a{i}@example.com"),
                Decimal::TEN,
            );
            new.id = Some(AffiliateId::new(format!("aff-{i}")).unwrap());
            new.payout = Some(PayoutDetails::paypal(&format!("a{i}@example.com")).unwrap());
            engine.create_affiliate(&scope, new).unwrap().id
        })
        .collect();

    let mut kills = 0;
    let mut previous_sales: Vec<SaleId> = Vec::new();
    for round in 0..rounds {
        // Clawbacks of paid commissions, netted into this round's payouts.
        for (i, sale) in previous_sales.iter().enumerate().step_by(3) {
            engine
                .refund(
                    &scope,
                    NewRefund {
                        id: RefundId::new(format!("refund-{round}-{i}")).unwrap(),
                        sale: sale.clone(),
                        amount: Money::from_minor(5_000, usd()),
                        reason: "partial return".to_owned(),
                    },
                )
                .unwrap();
        }
        previous_sales = earn(&engine, &affiliates, round);
        let batch = format!("batch-{round}");
        let outcome = engine
            .schedule_payouts(
                &scope,
                ScheduleRequest {
                    batch: BatchId::new(&batch).unwrap(),
                    scheduled_for: engine.now(),
                    selection: CommissionSelection::AllApproved,
                },
            )
            .unwrap();
        assert_eq!(outcome.payouts.len(), affiliates.len());

        // Kill children at random points, then let one finish.
        let started = Instant::now();
        for attempt in 0.. {
            let mut child = spawn_child(&db, &ledger_path, &batch);
            if attempt < 10 {
                std::thread::sleep(Duration::from_millis(rng.below(45)));
                if child.try_wait().unwrap().is_none() {
                    kills += 1;
                }
                // SIGKILL on Unix; an error only means it already exited.
                let _ = child.kill();
            }
            let status = child.wait().unwrap();
            let batch_now = engine
                .batch(&scope, &BatchId::new(&batch).unwrap())
                .unwrap();
            if batch_now.status.is_finished() {
                break;
            }
            assert!(
                attempt < 10 || status.success(),
                "an unkilled child failed: {status}"
            );
            assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        }
        let stats = engine
            .batch_stats(&scope, &BatchId::new(&batch).unwrap())
            .unwrap();
        assert_eq!(stats.batch.status, BatchStatus::Completed);
        assert_eq!(stats.count(PayoutStatus::Paid), stats.payouts);
    }
    eprintln!("payout crash test: {kills} children killed mid-run");
    assert!(kills > 0, "no child was ever killed mid-run");

    // Every payout paid exactly once, and the bank agrees with the books.
    let (ledger, duplicates) = read_ledger(&ledger_path);
    assert_eq!(
        duplicates, 0,
        "a paid key was sent again before reconciling"
    );
    let payouts = engine.payouts(&scope, &PayoutFilter::default()).unwrap();
    assert_eq!(payouts.len(), rounds * affiliates.len());
    let stored: BTreeMap<String, i64> = payouts
        .iter()
        .map(|p| {
            assert_eq!(p.status, PayoutStatus::Paid);
            (p.id.to_string(), p.amount.minor())
        })
        .collect();
    assert_eq!(stored, ledger);

    // The paid money is exactly the paid commissions plus the settled adjustments.
    let commissions = engine
        .commissions(&scope, &CommissionFilter::default())
        .unwrap();
    assert!(
        commissions
            .iter()
            .all(|c| c.status == CommissionStatus::Paid)
    );
    let paid_ids: BTreeSet<PayoutId> = payouts.iter().map(|p| p.id.clone()).collect();
    let adjustments = engine
        .adjustments(&scope, &AdjustmentFilter::default())
        .unwrap();
    let settled: i64 = adjustments
        .iter()
        .filter(|a| a.payout.as_ref().is_some_and(|p| paid_ids.contains(p)))
        .map(|a| a.amount.minor())
        .sum();
    assert!(settled < 0, "the clawbacks were netted");
    let commission_total: i64 = commissions.iter().map(|c| c.amount.minor()).sum();
    assert_eq!(ledger.values().sum::<i64>(), commission_total + settled);
    for payout in &payouts {
        for id in &payout.commissions {
            let c = commissions.iter().find(|c| &c.id == id).unwrap();
            assert_eq!(c.payout.as_ref(), Some(&payout.id));
        }
    }

    // The audit chain is whole.
    let mut expected = 1u64;
    let mut prev = GENESIS_HASH.to_owned();
    let mut recoveries = 0;
    engine
        .store()
        .read(&mut |tx| {
            tx.scan_audit(scope.tenant(), 1, &mut |record| {
                assert_eq!(record.seq, expected, "sequence gap");
                assert_eq!(record.prev_hash, prev, "broken link at {}", record.seq);
                assert_eq!(record_hash(&record, None).unwrap(), record.hash);
                prev = record.hash.clone();
                expected += 1;
                let reconciled = record.kind == "payout.reconciled"
                    || record.payload.get("reconciled") == Some(&serde_json::Value::Bool(true));
                recoveries += usize::from(reconciled);
                Ok(true)
            })
        })
        .unwrap();
    assert!(expected > 1);
    eprintln!("payout crash test: {recoveries} SENDING payouts recovered after a kill");
}
