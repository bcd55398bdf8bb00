//! Setup shared by the SQLite benchmarks: a tenant with affiliates in 5-level
//! sponsor chains, one 5-level rule, and batches of sales over those chains.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use mlas::sqlite::{SqliteOptions, SqliteStore, Synchronous};
use mlas::{
    AffiliateId, Currency, Decimal, Engine, FixedClock, Money, NewAffiliate, NewSale,
    PayoutDetails, RuleSpec, SaleId, Scope,
};

/// Levels per chain.
pub const DEPTH: usize = 5;

/// True under `cargo bench` (criterion gets `--bench`); false under
/// `cargo test --benches`, where every benchmark runs once on a small dataset.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The benchmarks' fixed "now": sales happen a day earlier, so their
/// commissions (no holding period) are available at once.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

pub fn scope() -> Scope {
    Scope::new("org-bench", "bench").unwrap()
}

/// A directory for database files on the same file system as the repository
/// (not a tmpfs), removed on drop.
pub fn scratch_dir() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&base).unwrap();
    // MLAS_BENCH_KEEP=1 leaves the files behind, for inspection.
    let keep = std::env::var_os("MLAS_BENCH_KEEP").is_some();
    let dir = tempfile::Builder::new()
        .disable_cleanup(keep)
        .tempdir_in(base)
        .unwrap();
    if keep {
        eprintln!("keeping {}", dir.path().display());
    }
    dir
}

/// A bare rusqlite connection for a baseline, with the settings MLAS gives
/// its own: WAL, synchronous=NORMAL, foreign keys, and its 16 MiB page cache,
/// so that both keep their B-trees' pages.
pub fn raw_connection(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    conn.pragma_update(None, "cache_size", -16 * 1024).unwrap();
    conn
}

/// Removes a database file with its WAL and shared-memory files, if present.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

pub fn open(path: &Path, synchronous: Synchronous) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open_with(SqliteOptions::file(path).synchronous(synchronous)).unwrap())
}

pub fn engine(store: Arc<SqliteStore>) -> Engine {
    Engine::from_arc(store).with_clock(Arc::new(FixedClock::new(now())))
}

/// `chains` sponsor chains of [`DEPTH`] affiliates each (with bank details, so
/// they can be paid), and one rule paying 10, 5, 3, 2 and 1 percent. Returns
/// the level-1 affiliate of each chain.
pub fn populate(engine: &Engine, chains: usize) -> Vec<AffiliateId> {
    let scope = scope();
    let details = PayoutDetails::us_bank("1234567890", "021000021", "Bank", "Holder").unwrap();
    let mut sellers = Vec::with_capacity(chains);
    for c in 0..chains {
        let mut sponsor: Option<AffiliateId> = None;
        for level in (1..=DEPTH).rev() {
            let id = AffiliateId::new(format!("aff-{c:05}-{level}")).unwrap();
            let mut new = NewAffiliate::new(
                format!("Affiliate {c} {level}"),
                format!("a{c}l{level}@example.com"),
                Decimal::from(10),
            );
            new.id = Some(id.clone());
            new.sponsor = sponsor.take();
            new.payout = Some(details.clone());
            engine.create_affiliate(&scope, new).unwrap();
            sponsor = Some(id);
        }
        sellers.push(sponsor.unwrap());
    }
    let percents = [10, 5, 3, 2, 1].map(Decimal::from);
    engine
        .create_rule(
            &scope,
            None,
            RuleSpec::percentages("five levels", &percents),
        )
        .unwrap();
    sellers
}

/// `count` sales with ids `s{batch}-{i}`, spread over the chains; the chain of
/// each is walked from the sponsor links (5 levels).
pub fn sales(batch: u64, count: usize, sellers: &[AffiliateId]) -> Vec<NewSale> {
    let usd = Currency::parse("USD").unwrap();
    let at = now() - TimeDelta::days(1);
    (0..count)
        .map(|i| {
            let cents = 1_000 + (i as i64 * 7919) % 100_000;
            NewSale::new(
                SaleId::new(format!("s{batch:08}-{i:05}")).unwrap(),
                Money::new(Decimal::new(cents, 2), usd, "amount").unwrap(),
                at,
                sellers[i % sellers.len()].clone(),
            )
        })
        .collect()
}

/// CPU time this thread has used so far (from `/proc/thread-self/schedstat`,
/// nanoseconds). On a shared machine the wall time of a step includes waiting
/// for a core; its CPU time does not, so the summaries report both.
pub fn cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// Times `f`: (wall, CPU of this thread).
pub fn timed(f: impl FnOnce()) -> (Duration, Duration) {
    let cpu = cpu_time();
    let start = Instant::now();
    f();
    (start.elapsed(), cpu_time().saturating_sub(cpu))
}

/// The median of each column.
pub fn medians(mut samples: Vec<(Duration, Duration)>) -> (Duration, Duration) {
    let n = samples.len() / 2;
    samples.sort_by_key(|s| s.0);
    let wall = samples[n].0;
    samples.sort_by_key(|s| s.1);
    (wall, samples[n].1)
}
