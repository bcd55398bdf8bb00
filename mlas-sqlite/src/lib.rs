//! # mlas-sqlite
//!
//! The SQLite backend of MLAS: a [`Store`](mlas_core::Store) that keeps every
//! affiliate, rule, sale, commission, payout and audit record in one SQLite
//! file (or in memory), with versioned migrations, WAL, IMMEDIATE write
//! transactions retried when the file is busy, and online backups.
//!
//! Cargo features: `bundled` (default) compiles SQLite into the crate; the
//! system SQLite of many distributions is too old for rusqlite.
//!
//! ## Quick start
//!
//! ```
//! use mlas_core::Store;
//! use mlas_sqlite::{SqliteOptions, SqliteStore, Synchronous};
//!
//! # fn main() -> mlas_core::Result<()> {
//! # let dir = tempfile::tempdir().map_err(|e| mlas_core::Error::storage(e.to_string()))?;
//! # let path = dir.path().join("mlas.db");
//! // A file, created and migrated on first open; FULL sync for hosts that
//! // must not lose an acknowledged write even on power loss.
//! let store = SqliteStore::open_with(SqliteOptions::file(&path).synchronous(Synchronous::Full))?;
//! assert_eq!(store.describe().backend, "sqlite");
//! assert_eq!(store.describe().schema_version, Some(mlas_sqlite::SCHEMA_VERSION));
//!
//! // Hand it to the engine (or use `write` / `read` directly), then back it up
//! // while it stays in use.
//! store.backup_to(dir.path().join("backup.db"))?;
//! # Ok(())
//! # }
//! ```
//!
//! ## Sharing
//!
//! A [`SqliteStore`] is `Send + Sync`: share one per process through an `Arc`.
//! Writes from its threads queue on one write connection; reads use a small
//! pool of read-only connections and run beside the writer (WAL). Several
//! processes may open the same file: write transactions take the file's write
//! lock at `BEGIN IMMEDIATE`, wait up to the busy timeout, and are retried a
//! bounded number of times before a retryable [`mlas_core::Error::Storage`]
//! reaches the caller. Back up with [`SqliteStore::backup_to`], never by
//! copying the file alone: the `-wal` and `-shm` files belong to it.
//!
//! ## Tables
//!
//! Every table is `STRICT` and keyed by `(tenant, id)` (the tenant is the host's
//! organisation). Money is INTEGER minor units (`amount_minor`, cents for
//! USD, yen for JPY, fils for BHD) beside a `currency` column with the ISO 4217
//! code; times are INTEGER microseconds since the Unix epoch, UTC (`*_at`);
//! rates are exact decimal TEXT; nested values are JSON TEXT. `sqlite3 mlas.db
//! .schema` shows the same.
//!
//! | table | what one row is | indexes |
//! | --- | --- | --- |
//! | `affiliates` | an affiliate: name, email, status, tier, `commission_rate` (percent, text), `payout_method` and `payout_details` (JSON with the full account number: protect the file), `sponsor` | |
//! | `rules` | one version of a rule, keyed `(tenant, id, version)`; `spec` is the rule as JSON (conditions, levels, caps, holding days) | |
//! | `sales` | a recorded sale: amount and `refunded` so far, `affiliate` (level 1), `chain` (JSON list, level 1 first), attribution, `buyer`, `attributes` (JSON), and the calculation's `explanation` (JSON) | |
//! | `commissions` | one line of a sale: levels, base, original, current, reversed and adjusted amounts, `rate` (JSON) and `percent`, the rule version, `status`, `available_at`, the `payout` carrying it | by affiliate, sale; open ones (PENDING, APPROVED) by status (since version 3) |
//! | `refunds` | a refund of a sale with its `reversals` (JSON: commission, affiliate, amount, clawback adjustment) | |
//! | `adjustments` | a signed clawback or correction for an affiliate, with the commission, sale, refund it comes from and the `payout` it was netted into (NULL while open) | by affiliate, payout; open ones |
//! | `batches` | a payout batch: when it is due, status, the digest of the scheduling request, start and finish times, and the lease of the worker processing it (since version 2) | |
//! | `payouts` | what one affiliate is paid in one currency in one batch: amount, status, attempts, `commissions` and `adjustments` (JSON id lists), provider reference or failure reason | by batch, affiliate, status |
//! | `audit_records` | one link of a tenant's audit chain, keyed `(tenant, seq)`: time, `type`, resource, affiliate, actor, `payload` (JSON), `prev_hash`, `hash` | by time, type, resource, affiliate |
//! | `audit_anchors` | per tenant, the checkpoint left by the last archiving: the chain continues after its `seq` and `hash` | |
//!
//! The indexes serve the library's own queries and nothing else, since every
//! index slows every insert; a later migration adds one when a query needs it.
//! Each filtered read names its index (`INDEXED BY`): SQLite's planner would
//! otherwise walk the tenant's whole primary key for these `WITHOUT ROWID`
//! tables, and a missing index is then an error rather than a slow scan.
//! Metrics are counted with `GROUP BY` in SQL, not by reading every row.
//!
//! References that must hold (a commission's sale and affiliate, a refund's
//! sale, a payout's batch and affiliate, an adjustment's affiliate, a
//! sponsor) are foreign keys checked at commit. `PRAGMA user_version` is the
//! schema version ([`SCHEMA_VERSION`]); opening a file written by a newer
//! version of this crate fails instead of guessing.

mod convert;
mod error;
mod migrations;
mod options;
mod query;
mod schema;
mod store;
mod tx;

pub use options::{SqliteOptions, Synchronous};
pub use schema::SCHEMA_VERSION;
pub use store::SqliteStore;
