//! The schema, as a list of migrations: entry `i` takes a database from
//! version `i` to version `i + 1` (`PRAGMA user_version`).
//!
//! A migration, once released, never changes: a new schema is a new entry.
//! Every table is STRICT, so SQLite refuses a value of the wrong type instead
//! of converting it. Money is INTEGER minor units with the currency code in
//! its own column; times are INTEGER microseconds since the Unix epoch, UTC;
//! ids are TEXT; decimals that are not money (rates) are exact TEXT; nested
//! values are JSON TEXT.
//!
//! Required references (a commission's sale and affiliate, a payout's batch,
//! ...) are foreign keys checked at commit (`DEFERRABLE INITIALLY DEFERRED`),
//! so a transaction may write rows in any order.
//!
//! Indexes exist only for the queries of [`mlas_core::Tx`]: each one costs
//! every insert (bulk imports write tens of thousands of rows a second).

/// The migrations, oldest first.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this code writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Version 1: the first schema.
const V1: &str = r"
CREATE TABLE affiliates (
    tenant          TEXT NOT NULL,
    id              TEXT NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT NOT NULL,
    status          TEXT NOT NULL,
    tier            TEXT NOT NULL,
    commission_rate TEXT NOT NULL,
    payout_method   TEXT,
    payout_details  TEXT,
    sponsor         TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, sponsor) REFERENCES affiliates (tenant, id)
        DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;

CREATE TABLE rules (
    tenant             TEXT NOT NULL,
    id                 TEXT NOT NULL,
    version            INTEGER NOT NULL,
    spec               TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    version_created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE sales (
    tenant           TEXT NOT NULL,
    id               TEXT NOT NULL,
    currency         TEXT NOT NULL,
    amount_minor     INTEGER NOT NULL,
    refunded_minor   INTEGER NOT NULL,
    occurred_at      INTEGER NOT NULL,
    affiliate        TEXT NOT NULL,
    chain            TEXT NOT NULL,
    attribution_type TEXT NOT NULL,
    buyer            TEXT,
    attributes       TEXT NOT NULL,
    recorded_at      INTEGER NOT NULL,
    explanation      TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) STRICT;

CREATE TABLE commissions (
    tenant                TEXT NOT NULL,
    id                    TEXT NOT NULL,
    sale                  TEXT NOT NULL,
    affiliate             TEXT NOT NULL,
    chain_level           INTEGER NOT NULL,
    paid_level            INTEGER NOT NULL,
    currency              TEXT NOT NULL,
    base_minor            INTEGER NOT NULL,
    original_minor        INTEGER NOT NULL,
    amount_minor          INTEGER NOT NULL,
    reversed_minor        INTEGER NOT NULL,
    adjusted_minor        INTEGER NOT NULL,
    rate                  TEXT NOT NULL,
    percent               TEXT,
    rule_id               TEXT,
    rule_version          INTEGER,
    status                TEXT NOT NULL,
    status_reason         TEXT,
    available_at          INTEGER NOT NULL,
    payout                TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, sale) REFERENCES sales (tenant, id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (tenant, affiliate) REFERENCES affiliates (tenant, id)
        DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;
CREATE INDEX commissions_by_affiliate ON commissions (tenant, affiliate, id);
CREATE INDEX commissions_by_sale ON commissions (tenant, sale, id);
CREATE INDEX commissions_by_status ON commissions (tenant, status, id);

CREATE TABLE refunds (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    sale         TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    reversals    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, sale) REFERENCES sales (tenant, id) DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;

CREATE TABLE batches (
    tenant         TEXT NOT NULL,
    id             TEXT NOT NULL,
    scheduled_for  INTEGER NOT NULL,
    status         TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    finished_at    INTEGER,
    PRIMARY KEY (tenant, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE payouts (
    tenant             TEXT NOT NULL,
    id                 TEXT NOT NULL,
    batch              TEXT NOT NULL,
    affiliate          TEXT NOT NULL,
    currency           TEXT NOT NULL,
    amount_minor       INTEGER NOT NULL,
    status             TEXT NOT NULL,
    attempts           INTEGER NOT NULL,
    commissions        TEXT NOT NULL,
    adjustments        TEXT NOT NULL,
    provider_reference TEXT,
    failure_reason     TEXT,
    retryable          INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    paid_at            INTEGER,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, batch) REFERENCES batches (tenant, id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (tenant, affiliate) REFERENCES affiliates (tenant, id)
        DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;
CREATE INDEX payouts_by_batch ON payouts (tenant, batch, id);
CREATE INDEX payouts_by_affiliate ON payouts (tenant, affiliate, id);
CREATE INDEX payouts_by_status ON payouts (tenant, status, id);

CREATE TABLE adjustments (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    affiliate    TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    reason       TEXT NOT NULL,
    commission   TEXT,
    sale         TEXT,
    refund       TEXT,
    payout       TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, affiliate) REFERENCES affiliates (tenant, id)
        DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;
CREATE INDEX adjustments_by_affiliate ON adjustments (tenant, affiliate, id);
CREATE INDEX adjustments_by_payout ON adjustments (tenant, payout, id);
CREATE INDEX adjustments_open ON adjustments (tenant, id) WHERE payout IS NULL;

CREATE TABLE audit_records (
    tenant        TEXT NOT NULL,
    seq           INTEGER NOT NULL CHECK (seq > 0),
    at            INTEGER NOT NULL,
    type          TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    affiliate_id  TEXT,
    actor         TEXT NOT NULL,
    payload       TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL,
    PRIMARY KEY (tenant, seq)
) STRICT, WITHOUT ROWID;
CREATE INDEX audit_by_time ON audit_records (tenant, at);
CREATE INDEX audit_by_type ON audit_records (tenant, type, seq);
CREATE INDEX audit_by_resource ON audit_records (tenant, resource_id, seq);
CREATE INDEX audit_by_affiliate ON audit_records (tenant, affiliate_id, seq)
    WHERE affiliate_id IS NOT NULL;

CREATE TABLE audit_anchors (
    tenant TEXT NOT NULL PRIMARY KEY,
    seq    INTEGER NOT NULL,
    hash   TEXT NOT NULL,
    at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
";

/// Version 2: a batch carries the lease of the worker processing it, so two
/// workers on one database never process the same batch at once.
const V2: &str = r"
ALTER TABLE batches ADD COLUMN lease_holder TEXT;
ALTER TABLE batches ADD COLUMN lease_until INTEGER;
";

/// Version 3: the commissions' status index keeps only the open ones
/// (PENDING and APPROVED), the statuses the library looks commissions up by.
/// A commission leaves it when it is scheduled, and scheduling, paying and
/// reversing a scheduled or paid one then touch no status index at all; the
/// index also stays the size of the open work while paid history grows. It
/// carries what scheduling reads (affiliate, currency, amount, payout), so
/// a batch of every approved commission reads the index alone.
const V3: &str = r"
DROP INDEX commissions_by_status;
CREATE INDEX commissions_open
    ON commissions (tenant, status, id, affiliate, currency, amount_minor, payout)
    WHERE status = 'PENDING' OR status = 'APPROVED';
";
