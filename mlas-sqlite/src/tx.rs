//! One transaction: the [`Tx`] methods as SQL.
//!
//! Every statement goes through `prepare_cached`, so a bulk import pays for
//! parsing once per connection. Filters build their SQL from the fields that
//! are set (a few dozen distinct strings at most, all cached) so that each
//! query can use the index that matches it.

use std::collections::HashMap;
use std::sync::LazyLock;

use mlas_core::audit::{AuditHead, AuditPayload, AuditQuery, AuditRecord, AuditRow};
use mlas_core::payout::BatchLease;
use mlas_core::store::{
    AdjustmentFilter, AuditCheckpoint, CommissionFilter, CommissionMove, CommissionTally,
    PayableCommission, PayoutFilter, PayoutHead, PayoutTally, Tx,
};
use mlas_core::{
    Adjustment, AdjustmentId, AdjustmentKind, Affiliate, AffiliateId, AffiliateStatus, BatchId,
    BatchStatus, Commission, CommissionId, CommissionStatus, Error, Payout, PayoutBatch,
    PayoutDetails, PayoutId, PayoutStatus, RefundId, Result, Rule, RuleId, SaleId, TenantId,
};
use mlas_core::{Money, Refund, Sale};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row, ToSql, params, params_from_iter};

use crate::convert::{
    currency, decimal, from_json, id, id_list, micros, money, opt_id, opt_micros, opt_time,
    row_currency, signed, stored, time, to_json, unsigned,
};
use crate::error::{SqlResultExt, is_unique_violation};
use crate::query;

/// A transaction on one connection. The caller (the store) began it and
/// commits or rolls it back.
pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
    read_only: bool,
    /// The audit head of each tenant as this transaction knows it. Safe to keep
    /// because a write transaction holds SQLite's write lock (IMMEDIATE) and a
    /// read transaction sees one snapshot; it saves a query per appended record.
    heads: HashMap<TenantId, Option<AuditHead>>,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c Connection, read_only: bool) -> Self {
        SqliteTx {
            conn,
            read_only,
            heads: HashMap::new(),
        }
    }

    fn writable(&self) -> Result<()> {
        if self.read_only {
            Err(Error::storage("write attempted in a read-only transaction"))
        } else {
            Ok(())
        }
    }

    /// Runs a cached statement that returns at most one row.
    fn one<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        decode: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut stmt = self.conn.prepare_cached(sql).storage()?;
        let mut rows = stmt.query(params).storage()?;
        match rows.next().storage()? {
            Some(row) => decode(row).map(Some),
            None => Ok(None),
        }
    }

    /// Runs a cached statement and decodes every row.
    fn all<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        decode: impl Fn(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).storage()?;
        let mut rows = stmt.query(params).storage()?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().storage()? {
            out.push(decode(row)?);
        }
        Ok(out)
    }

    /// Runs a cached statement that changes rows.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
        self.writable()?;
        let mut stmt = self.conn.prepare_cached(sql).storage()?;
        stmt.execute(params).storage()
    }

    /// Inserts or replaces one row with an [`Upsert`]'s statements, trying
    /// first the one its table's writes mostly need.
    fn upsert(&self, sql: &Upsert, params: &[&dyn ToSql]) -> Result<()> {
        self.writable()?;
        if sql.first == Mostly::Updates {
            let mut update = self.conn.prepare_cached(&sql.update).storage()?;
            if update.execute(params).storage()? > 0 {
                return Ok(());
            }
        }
        let mut insert = self.conn.prepare_cached(&sql.insert).storage()?;
        match insert.execute(params) {
            Ok(_) => {}
            Err(e) if sql.first == Mostly::Inserts && is_unique_violation(&e) => {
                let mut update = self.conn.prepare_cached(&sql.update).storage()?;
                update.execute(params).storage()?;
            }
            Err(e) => return Err(crate::error::storage(&e)),
        }
        Ok(())
    }
}

/// Which statement of an [`Upsert`] a table's writes mostly need, so that it
/// is tried first: a failed INSERT or an UPDATE of no row is wasted work.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mostly {
    /// New rows: affiliates, sales, commissions, refunds and adjustments
    /// arrive in bulk and change far less often.
    Inserts,
    /// Existing rows: a payout is written once and changed at least twice, a
    /// batch's lease is renewed once a wave, a tenant's audit anchor moves
    /// with every archive.
    Updates,
}

/// The two statements of a write that inserts or replaces one row: a plain
/// INSERT, and an UPDATE by key for when the row exists. (`INSERT ... ON
/// CONFLICT DO UPDATE` makes SQLite keep a statement journal for every insert,
/// which cost a quarter of the bulk ingest time.)
struct Upsert {
    update: String,
    insert: String,
    first: Mostly,
}

impl Upsert {
    /// Statements over `columns`, whose first `key` columns are the key; the
    /// parameters are `?1 ...` in column order for both.
    fn new(table: &str, columns: &[&str], key: usize, first: Mostly) -> Self {
        let set: Vec<String> = columns
            .iter()
            .enumerate()
            .skip(key)
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let matches: Vec<String> = columns[..key]
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", i + 1))
            .collect();
        let slots: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        Upsert {
            update: format!(
                "UPDATE {table} SET {} WHERE {}",
                set.join(", "),
                matches.join(" AND ")
            ),
            insert: format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                columns.join(", "),
                slots.join(", ")
            ),
            first,
        }
    }
}

static UPSERT_AFFILIATES: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "affiliates",
        &[
            "tenant",
            "id",
            "name",
            "email",
            "status",
            "tier",
            "commission_rate",
            "payout_method",
            "payout_details",
            "sponsor",
            "created_at",
            "updated_at",
        ],
        2,
        Mostly::Inserts,
    )
});
static UPSERT_SALES: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "sales",
        &[
            "tenant",
            "id",
            "currency",
            "amount_minor",
            "refunded_minor",
            "occurred_at",
            "affiliate",
            "chain",
            "attribution_type",
            "buyer",
            "attributes",
            "recorded_at",
            "explanation",
        ],
        2,
        Mostly::Inserts,
    )
});
static UPSERT_COMMISSIONS: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "commissions",
        &[
            "tenant",
            "id",
            "sale",
            "affiliate",
            "chain_level",
            "paid_level",
            "currency",
            "base_minor",
            "original_minor",
            "amount_minor",
            "reversed_minor",
            "adjusted_minor",
            "rate",
            "percent",
            "rule_id",
            "rule_version",
            "status",
            "status_reason",
            "available_at",
            "payout",
            "created_at",
            "updated_at",
        ],
        2,
        Mostly::Inserts,
    )
});
static UPSERT_REFUNDS: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "refunds",
        &[
            "tenant",
            "id",
            "sale",
            "currency",
            "amount_minor",
            "reason",
            "reversals",
            "created_at",
        ],
        2,
        Mostly::Inserts,
    )
});
static UPSERT_ADJUSTMENTS: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "adjustments",
        &[
            "tenant",
            "id",
            "affiliate",
            "currency",
            "amount_minor",
            "kind",
            "reason",
            "commission",
            "sale",
            "refund",
            "payout",
            "created_at",
        ],
        2,
        Mostly::Inserts,
    )
});
static UPSERT_BATCHES: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "batches",
        &[
            "tenant",
            "id",
            "scheduled_for",
            "status",
            "request_digest",
            "created_at",
            "started_at",
            "finished_at",
            "lease_holder",
            "lease_until",
        ],
        2,
        Mostly::Updates,
    )
});
static UPSERT_PAYOUTS: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "payouts",
        &[
            "tenant",
            "id",
            "batch",
            "affiliate",
            "currency",
            "amount_minor",
            "status",
            "attempts",
            "commissions",
            "adjustments",
            "provider_reference",
            "failure_reason",
            "retryable",
            "created_at",
            "updated_at",
            "paid_at",
        ],
        2,
        Mostly::Updates,
    )
});
static UPSERT_AUDIT_ANCHORS: LazyLock<Upsert> = LazyLock::new(|| {
    Upsert::new(
        "audit_anchors",
        &["tenant", "seq", "hash", "at"],
        1,
        Mostly::Updates,
    )
});

// --- Affiliates -------------------------------------------------------------

const AFFILIATE_COLUMNS: &str = "tenant, id, name, email, status, tier, commission_rate, \
     payout_details, sponsor, created_at, updated_at";

fn affiliate_row(row: &Row<'_>) -> Result<Affiliate> {
    let details: Option<String> = row.get(7).storage()?;
    let payout = match details {
        Some(text) => {
            let value: serde_json::Value = from_json(&text, "payout_details")?;
            // The parser's messages never echo account numbers.
            Some(PayoutDetails::from_storage_json(&value).map_err(|e| {
                Error::integrity(format!("stored payout_details are not valid: {e}"))
            })?)
        }
        None => None,
    };
    let status: String = row.get(4).storage()?;
    let rate: String = row.get(6).storage()?;
    Ok(Affiliate {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "affiliate id")?,
        name: row.get(2).storage()?,
        email: row.get(3).storage()?,
        status: stored(AffiliateStatus::parse(&status))?,
        tier: row.get(5).storage()?,
        commission_rate: decimal(&rate, "commission_rate")?,
        payout,
        sponsor: opt_id(row.get(8).storage()?, "sponsor")?,
        created_at: time(row.get(9).storage()?, "created_at")?,
        updated_at: time(row.get(10).storage()?, "updated_at")?,
    })
}

// --- Rules ------------------------------------------------------------------

const RULE_COLUMNS: &str = "tenant, id, version, spec, created_at, version_created_at";

fn rule_row(row: &Row<'_>) -> Result<Rule> {
    let spec: String = row.get(3).storage()?;
    Ok(Rule {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "rule id")?,
        version: unsigned(row.get(2).storage()?, "rule version")?,
        spec: from_json(&spec, "rule spec")?,
        created_at: time(row.get(4).storage()?, "created_at")?,
        version_created_at: time(row.get(5).storage()?, "version_created_at")?,
    })
}

// --- Sales ------------------------------------------------------------------

const SALE_COLUMNS: &str = "tenant, id, currency, amount_minor, refunded_minor, occurred_at, \
     chain, attribution_type, buyer, attributes, recorded_at";

fn sale_row(row: &Row<'_>) -> Result<Sale> {
    let code: String = row.get(2).storage()?;
    let currency = currency(&code)?;
    let chain: String = row.get(6).storage()?;
    let attributes: String = row.get(9).storage()?;
    Ok(Sale {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "sale id")?,
        amount: money(row.get(3).storage()?, currency),
        refunded: money(row.get(4).storage()?, currency),
        occurred_at: time(row.get(5).storage()?, "occurred_at")?,
        chain: from_json(&chain, "chain")?,
        attribution_type: row.get(7).storage()?,
        buyer: opt_id(row.get(8).storage()?, "buyer")?,
        attributes: from_json(&attributes, "attributes")?,
        recorded_at: time(row.get(10).storage()?, "recorded_at")?,
    })
}

// --- Commissions ------------------------------------------------------------

const COMMISSION_COLUMNS: &str = "tenant, id, sale, affiliate, chain_level, paid_level, currency, \
     base_minor, original_minor, amount_minor, reversed_minor, adjusted_minor, rate, percent, \
     rule_id, rule_version, status, status_reason, available_at, payout, created_at, updated_at";

fn commission_row(row: &Row<'_>) -> Result<Commission> {
    let code: String = row.get(6).storage()?;
    let currency = currency(&code)?;
    let rate: String = row.get(12).storage()?;
    let percent: Option<String> = row.get(13).storage()?;
    let rule_version: Option<i64> = row.get(15).storage()?;
    let status: String = row.get(16).storage()?;
    Ok(Commission {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "commission id")?,
        sale: id(row.get(2).storage()?, "sale")?,
        affiliate: id(row.get(3).storage()?, "affiliate")?,
        chain_level: unsigned(row.get(4).storage()?, "chain_level")?,
        paid_level: unsigned(row.get(5).storage()?, "paid_level")?,
        base_amount: money(row.get(7).storage()?, currency),
        original_amount: money(row.get(8).storage()?, currency),
        amount: money(row.get(9).storage()?, currency),
        reversed_amount: money(row.get(10).storage()?, currency),
        adjusted: money(row.get(11).storage()?, currency),
        rate: from_json(&rate, "rate")?,
        percent: percent.map(|p| decimal(&p, "percent")).transpose()?,
        rule_id: opt_id(row.get(14).storage()?, "rule_id")?,
        rule_version: rule_version
            .map(|v| unsigned(v, "rule_version"))
            .transpose()?,
        status: stored(CommissionStatus::parse(&status))?,
        status_reason: row.get(17).storage()?,
        available_at: time(row.get(18).storage()?, "available_at")?,
        payout: opt_id(row.get(19).storage()?, "payout")?,
        created_at: time(row.get(20).storage()?, "created_at")?,
        updated_at: time(row.get(21).storage()?, "updated_at")?,
    })
}

// --- Refunds and adjustments ------------------------------------------------

const REFUND_COLUMNS: &str =
    "tenant, id, sale, currency, amount_minor, reason, reversals, created_at";

fn refund_row(row: &Row<'_>) -> Result<Refund> {
    let code: String = row.get(3).storage()?;
    let reversals: String = row.get(6).storage()?;
    Ok(Refund {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "refund id")?,
        sale: id(row.get(2).storage()?, "sale")?,
        amount: money(row.get(4).storage()?, currency(&code)?),
        reason: row.get(5).storage()?,
        reversals: from_json(&reversals, "reversals")?,
        created_at: time(row.get(7).storage()?, "created_at")?,
    })
}

const ADJUSTMENT_COLUMNS: &str = "tenant, id, affiliate, currency, amount_minor, kind, reason, \
     commission, sale, refund, payout, created_at";

fn adjustment_row(row: &Row<'_>) -> Result<Adjustment> {
    let code: String = row.get(3).storage()?;
    let kind: String = row.get(5).storage()?;
    Ok(Adjustment {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "adjustment id")?,
        affiliate: id(row.get(2).storage()?, "affiliate")?,
        amount: money(row.get(4).storage()?, currency(&code)?),
        kind: AdjustmentKind::parse(&kind).map_err(|e| Error::integrity(e.to_string()))?,
        reason: row.get(6).storage()?,
        commission: opt_id(row.get(7).storage()?, "commission")?,
        sale: opt_id(row.get(8).storage()?, "sale")?,
        refund: opt_id(row.get(9).storage()?, "refund")?,
        payout: opt_id(row.get(10).storage()?, "payout")?,
        created_at: time(row.get(11).storage()?, "created_at")?,
    })
}

// --- Batches and payouts ----------------------------------------------------

const BATCH_COLUMNS: &str = "tenant, id, scheduled_for, status, request_digest, created_at, started_at, finished_at, \
     lease_holder, lease_until";

fn batch_row(row: &Row<'_>) -> Result<PayoutBatch> {
    let status: String = row.get(3).storage()?;
    Ok(PayoutBatch {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "batch id")?,
        scheduled_for: time(row.get(2).storage()?, "scheduled_for")?,
        status: stored(BatchStatus::parse(&status))?,
        request_digest: row.get(4).storage()?,
        created_at: time(row.get(5).storage()?, "created_at")?,
        started_at: opt_time(row.get(6).storage()?, "started_at")?,
        finished_at: opt_time(row.get(7).storage()?, "finished_at")?,
        lease: match (
            row.get::<_, Option<String>>(8).storage()?,
            row.get(9).storage()?,
        ) {
            (Some(holder), Some(until)) => Some(BatchLease {
                holder,
                until: time(until, "lease_until")?,
            }),
            _ => None,
        },
    })
}

const PAYOUT_COLUMNS: &str = "tenant, id, batch, affiliate, currency, amount_minor, status, \
     attempts, commissions, adjustments, provider_reference, failure_reason, retryable, \
     created_at, updated_at, paid_at";

fn payout_row(row: &Row<'_>) -> Result<Payout> {
    let code: String = row.get(4).storage()?;
    let status: String = row.get(6).storage()?;
    let commissions: String = row.get(8).storage()?;
    let adjustments: String = row.get(9).storage()?;
    let retryable: i64 = row.get(12).storage()?;
    Ok(Payout {
        tenant: id(row.get(0).storage()?, "tenant")?,
        id: id(row.get(1).storage()?, "payout id")?,
        batch: id(row.get(2).storage()?, "batch")?,
        affiliate: id(row.get(3).storage()?, "affiliate")?,
        amount: money(row.get(5).storage()?, currency(&code)?),
        status: stored(PayoutStatus::parse(&status))?,
        attempts: unsigned(row.get(7).storage()?, "attempts")?,
        commissions: from_json(&commissions, "commissions")?,
        adjustments: from_json(&adjustments, "adjustments")?,
        provider_reference: row.get(10).storage()?,
        failure_reason: row.get(11).storage()?,
        retryable: retryable != 0,
        created_at: time(row.get(13).storage()?, "created_at")?,
        updated_at: time(row.get(14).storage()?, "updated_at")?,
        paid_at: opt_time(row.get(15).storage()?, "paid_at")?,
    })
}

// --- Audit ------------------------------------------------------------------

const AUDIT_COLUMNS: &str = "tenant, seq, at, type, resource_type, resource_id, affiliate_id, \
     actor, payload, prev_hash, hash";

fn audit_row(row: &Row<'_>) -> Result<AuditRecord> {
    audit_row_ref(row)?.to_record()
}

/// A row of `audit_records` borrowed from SQLite's buffers: no copies, and
/// the payload left as its stored JSON text. A column of the wrong type is an
/// `Integrity` error (the file was edited outside MLAS).
fn audit_row_ref<'r>(row: &'r Row<'_>) -> Result<AuditRow<'r>> {
    Ok(AuditRow {
        tenant: text_ref(row, 0, "tenant")?,
        seq: unsigned(integer_ref(row, 1, "seq")?, "seq")?,
        at: time(integer_ref(row, 2, "at")?, "at")?,
        kind: text_ref(row, 3, "type")?,
        resource_type: text_ref(row, 4, "resource_type")?,
        resource_id: text_ref(row, 5, "resource_id")?,
        affiliate_id: match row.get_ref(6).storage()? {
            ValueRef::Null => None,
            _ => Some(text_ref(row, 6, "affiliate_id")?),
        },
        actor: text_ref(row, 7, "actor")?,
        payload: AuditPayload::Json(text_ref(row, 8, "payload")?),
        prev_hash: text_ref(row, 9, "prev_hash")?,
        hash: text_ref(row, 10, "hash")?,
    })
}

/// A TEXT column, borrowed.
fn text_ref<'r>(row: &'r Row<'_>, index: usize, column: &str) -> Result<&'r str> {
    match row.get_ref(index).storage()? {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map_err(|_| Error::integrity(format!("stored {column} is not UTF-8 text"))),
        other => Err(Error::integrity(format!(
            "stored {column} is not text but {}",
            other.data_type()
        ))),
    }
}

/// An INTEGER column.
fn integer_ref(row: &Row<'_>, index: usize, column: &str) -> Result<i64> {
    match row.get_ref(index).storage()? {
        ValueRef::Integer(i) => Ok(i),
        other => Err(Error::integrity(format!(
            "stored {column} is not an integer but {}",
            other.data_type()
        ))),
    }
}

impl Tx for SqliteTx<'_> {
    fn affiliate(&mut self, tenant: &TenantId, id: &AffiliateId) -> Result<Option<Affiliate>> {
        self.one(
            &format!("SELECT {AFFILIATE_COLUMNS} FROM affiliates WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            affiliate_row,
        )
    }

    fn put_affiliate(&mut self, a: &Affiliate) -> Result<()> {
        let details = a
            .payout
            .as_ref()
            .map(|p| to_json(&p.to_storage_json(), "payout_details"))
            .transpose()?;
        self.upsert(
            &UPSERT_AFFILIATES,
            params![
                a.tenant.as_str(),
                a.id.as_str(),
                a.name,
                a.email,
                a.status.as_str(),
                a.tier,
                a.commission_rate.to_string(),
                a.payout.as_ref().map(|p| p.method().as_str()),
                details,
                a.sponsor.as_ref().map(AffiliateId::as_str),
                micros(a.created_at),
                micros(a.updated_at),
            ],
        )?;
        Ok(())
    }

    fn affiliates(&mut self, tenant: &TenantId) -> Result<Vec<Affiliate>> {
        self.all(
            &format!("SELECT {AFFILIATE_COLUMNS} FROM affiliates WHERE tenant = ?1 ORDER BY id"),
            params![tenant.as_str()],
            affiliate_row,
        )
    }

    fn rule(
        &mut self,
        tenant: &TenantId,
        id: &RuleId,
        version: Option<u32>,
    ) -> Result<Option<Rule>> {
        match version {
            Some(v) => self.one(
                &format!(
                    "SELECT {RULE_COLUMNS} FROM rules WHERE tenant = ?1 AND id = ?2 \
                     AND version = ?3"
                ),
                params![tenant.as_str(), id.as_str(), v],
                rule_row,
            ),
            None => self.one(
                &format!(
                    "SELECT {RULE_COLUMNS} FROM rules WHERE tenant = ?1 AND id = ?2 \
                     ORDER BY version DESC LIMIT 1"
                ),
                params![tenant.as_str(), id.as_str()],
                rule_row,
            ),
        }
    }

    fn insert_rule(&mut self, rule: &Rule) -> Result<()> {
        self.writable()?;
        let spec = to_json(&rule.spec, "rule spec")?;
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "INSERT INTO rules ({RULE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .storage()?;
        match stmt.execute(params![
            rule.tenant.as_str(),
            rule.id.as_str(),
            rule.version,
            spec,
            micros(rule.created_at),
            micros(rule.version_created_at),
        ]) {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(Error::conflict(
                "rule",
                &rule.id,
                format!("version {} exists", rule.version),
            )),
            Err(e) => Err(crate::error::storage(&e)),
        }
    }

    fn rules(&mut self, tenant: &TenantId) -> Result<Vec<Rule>> {
        self.all(
            &format!(
                "SELECT {RULE_COLUMNS} FROM rules AS r WHERE tenant = ?1 AND version = \
                 (SELECT MAX(version) FROM rules WHERE tenant = ?1 AND id = r.id) ORDER BY id"
            ),
            params![tenant.as_str()],
            rule_row,
        )
    }

    fn rule_versions(&mut self, tenant: &TenantId, id: &RuleId) -> Result<Vec<Rule>> {
        self.all(
            &format!(
                "SELECT {RULE_COLUMNS} FROM rules WHERE tenant = ?1 AND id = ?2 ORDER BY version"
            ),
            params![tenant.as_str(), id.as_str()],
            rule_row,
        )
    }

    fn sale(&mut self, tenant: &TenantId, id: &SaleId) -> Result<Option<Sale>> {
        self.one(
            &format!("SELECT {SALE_COLUMNS} FROM sales WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            sale_row,
        )
    }

    fn put_sale(&mut self, sale: &Sale, explanation: &serde_json::Value) -> Result<()> {
        let currency = row_currency("sale", sale.id.as_str(), &[sale.amount, sale.refunded])?;
        self.upsert(
            &UPSERT_SALES,
            params![
                sale.tenant.as_str(),
                sale.id.as_str(),
                currency.code(),
                sale.amount.minor(),
                sale.refunded.minor(),
                micros(sale.occurred_at),
                sale.chain.first().map_or("", AffiliateId::as_str),
                id_list(&sale.chain),
                sale.attribution_type,
                sale.buyer.as_ref().map(AffiliateId::as_str),
                to_json(&sale.attributes, "attributes")?,
                micros(sale.recorded_at),
                to_json(explanation, "explanation")?,
            ],
        )?;
        Ok(())
    }

    fn set_sale_refunded(&mut self, tenant: &TenantId, id: &SaleId, refunded: Money) -> Result<()> {
        // One column by key: a refund does not rewrite the stored explanation.
        self.writable()?;
        let updated = self
            .conn
            .prepare_cached("UPDATE sales SET refunded_minor = ?3 WHERE tenant = ?1 AND id = ?2")
            .storage()?
            .execute(params![tenant.as_str(), id.as_str(), refunded.minor()])
            .storage()?;
        if updated == 0 {
            return Err(Error::not_found("sale", id));
        }
        Ok(())
    }

    fn sale_explanation(
        &mut self,
        tenant: &TenantId,
        id: &SaleId,
    ) -> Result<Option<serde_json::Value>> {
        self.one(
            "SELECT explanation FROM sales WHERE tenant = ?1 AND id = ?2",
            params![tenant.as_str(), id.as_str()],
            |row| {
                let text: String = row.get(0).storage()?;
                from_json(&text, "explanation")
            },
        )
    }

    fn commission(&mut self, tenant: &TenantId, id: &CommissionId) -> Result<Option<Commission>> {
        self.one(
            &format!("SELECT {COMMISSION_COLUMNS} FROM commissions WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            commission_row,
        )
    }

    fn put_commission(&mut self, c: &Commission) -> Result<()> {
        let currency = row_currency(
            "commission",
            c.id.as_str(),
            &[
                c.base_amount,
                c.original_amount,
                c.amount,
                c.reversed_amount,
                c.adjusted,
            ],
        )?;
        self.upsert(
            &UPSERT_COMMISSIONS,
            params![
                c.tenant.as_str(),
                c.id.as_str(),
                c.sale.as_str(),
                c.affiliate.as_str(),
                c.chain_level,
                c.paid_level,
                currency.code(),
                c.base_amount.minor(),
                c.original_amount.minor(),
                c.amount.minor(),
                c.reversed_amount.minor(),
                c.adjusted.minor(),
                to_json(&c.rate, "rate")?,
                c.percent.map(|p| p.to_string()),
                c.rule_id.as_ref().map(RuleId::as_str),
                c.rule_version,
                c.status.as_str(),
                c.status_reason,
                micros(c.available_at),
                c.payout.as_ref().map(PayoutId::as_str),
                micros(c.created_at),
                micros(c.updated_at),
            ],
        )?;
        Ok(())
    }

    fn move_commissions(
        &mut self,
        tenant: &TenantId,
        ids: &[CommissionId],
        change: &CommissionMove<'_>,
    ) -> Result<Vec<CommissionId>> {
        // Three columns by key, not the full-row upsert: no failed INSERT,
        // and only the index on status changes.
        self.writable()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "UPDATE commissions SET status = ?3, payout = ?4, updated_at = ?5 \
                 WHERE tenant = ?1 AND id = ?2 AND status = ?6 AND payout IS ?7",
            )
            .storage()?;
        let mut skipped = Vec::new();
        for id in ids {
            let moved = stmt
                .execute(params![
                    tenant.as_str(),
                    id.as_str(),
                    change.to.as_str(),
                    change.to_payout.map(PayoutId::as_str),
                    micros(change.at),
                    change.from.as_str(),
                    change.from_payout.map(PayoutId::as_str),
                ])
                .storage()?;
            if moved == 0 {
                skipped.push(id.clone());
            }
        }
        Ok(skipped)
    }

    fn commissions(
        &mut self,
        tenant: &TenantId,
        filter: &CommissionFilter,
    ) -> Result<Vec<Commission>> {
        let select = query::commissions(COMMISSION_COLUMNS, tenant, filter);
        self.all(&select.sql, params_from_iter(select.args), commission_row)
    }

    fn payable_commissions(&mut self, tenant: &TenantId) -> Result<Vec<PayableCommission>> {
        let select = query::payable_commissions(tenant);
        self.all(&select.sql, params_from_iter(select.args), |row| {
            let code: String = row.get(2).storage()?;
            Ok(PayableCommission {
                id: id(row.get(0).storage()?, "commission id")?,
                affiliate: id(row.get(1).storage()?, "affiliate")?,
                amount: money(row.get(3).storage()?, currency(&code)?),
            })
        })
    }

    fn commission_tallies(&mut self, tenant: &TenantId) -> Result<Vec<CommissionTally>> {
        // SUM fails with "integer overflow" past i64: a Storage error, for
        // a tenant earning more than 9.2e18 minor units.
        self.all(
            "SELECT status, currency, COUNT(*), SUM(original_minor) FROM commissions \
             WHERE tenant = ?1 GROUP BY status, currency ORDER BY status, currency",
            params![tenant.as_str()],
            |row| {
                let status: String = row.get(0).storage()?;
                let code: String = row.get(1).storage()?;
                let sum: i64 = row.get(3).storage()?;
                Ok(CommissionTally {
                    status: stored(CommissionStatus::parse(&status))?,
                    currency: currency(&code)?,
                    count: unsigned(row.get(2).storage()?, "count")?,
                    original_minor: i128::from(sum),
                })
            },
        )
    }

    fn refund(&mut self, tenant: &TenantId, id: &RefundId) -> Result<Option<Refund>> {
        self.one(
            &format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            refund_row,
        )
    }

    fn put_refund(&mut self, r: &Refund) -> Result<()> {
        self.upsert(
            &UPSERT_REFUNDS,
            params![
                r.tenant.as_str(),
                r.id.as_str(),
                r.sale.as_str(),
                r.amount.currency().code(),
                r.amount.minor(),
                r.reason,
                to_json(&r.reversals, "reversals")?,
                micros(r.created_at),
            ],
        )?;
        Ok(())
    }

    fn adjustment(&mut self, tenant: &TenantId, id: &AdjustmentId) -> Result<Option<Adjustment>> {
        self.one(
            &format!("SELECT {ADJUSTMENT_COLUMNS} FROM adjustments WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            adjustment_row,
        )
    }

    fn put_adjustment(&mut self, a: &Adjustment) -> Result<()> {
        self.upsert(
            &UPSERT_ADJUSTMENTS,
            params![
                a.tenant.as_str(),
                a.id.as_str(),
                a.affiliate.as_str(),
                a.amount.currency().code(),
                a.amount.minor(),
                a.kind.as_str(),
                a.reason,
                a.commission.as_ref().map(CommissionId::as_str),
                a.sale.as_ref().map(SaleId::as_str),
                a.refund.as_ref().map(RefundId::as_str),
                a.payout.as_ref().map(PayoutId::as_str),
                micros(a.created_at),
            ],
        )?;
        Ok(())
    }

    fn adjustments(
        &mut self,
        tenant: &TenantId,
        filter: &AdjustmentFilter,
    ) -> Result<Vec<Adjustment>> {
        let select = query::adjustments(ADJUSTMENT_COLUMNS, tenant, filter);
        self.all(&select.sql, params_from_iter(select.args), adjustment_row)
    }

    fn batch(&mut self, tenant: &TenantId, id: &BatchId) -> Result<Option<PayoutBatch>> {
        self.one(
            &format!("SELECT {BATCH_COLUMNS} FROM batches WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            batch_row,
        )
    }

    fn put_batch(&mut self, b: &PayoutBatch) -> Result<()> {
        self.upsert(
            &UPSERT_BATCHES,
            params![
                b.tenant.as_str(),
                b.id.as_str(),
                micros(b.scheduled_for),
                b.status.as_str(),
                b.request_digest,
                micros(b.created_at),
                opt_micros(b.started_at),
                opt_micros(b.finished_at),
                b.lease.as_ref().map(|l| l.holder.as_str()),
                b.lease.as_ref().map(|l| micros(l.until)),
            ],
        )?;
        Ok(())
    }

    fn payout(&mut self, tenant: &TenantId, id: &PayoutId) -> Result<Option<Payout>> {
        self.one(
            &format!("SELECT {PAYOUT_COLUMNS} FROM payouts WHERE tenant = ?1 AND id = ?2"),
            params![tenant.as_str(), id.as_str()],
            payout_row,
        )
    }

    fn put_payout(&mut self, p: &Payout) -> Result<()> {
        self.upsert(
            &UPSERT_PAYOUTS,
            params![
                p.tenant.as_str(),
                p.id.as_str(),
                p.batch.as_str(),
                p.affiliate.as_str(),
                p.amount.currency().code(),
                p.amount.minor(),
                p.status.as_str(),
                p.attempts,
                id_list(&p.commissions),
                id_list(&p.adjustments),
                p.provider_reference,
                p.failure_reason,
                i64::from(p.retryable),
                micros(p.created_at),
                micros(p.updated_at),
                opt_micros(p.paid_at),
            ],
        )?;
        Ok(())
    }

    fn payouts(&mut self, tenant: &TenantId, filter: &PayoutFilter) -> Result<Vec<Payout>> {
        let select = query::payouts(PAYOUT_COLUMNS, tenant, filter);
        self.all(&select.sql, params_from_iter(select.args), payout_row)
    }

    fn payout_heads(
        &mut self,
        tenant: &TenantId,
        filter: &PayoutFilter,
    ) -> Result<Vec<PayoutHead>> {
        // These columns come before the lists in the row, so a list that
        // spills into overflow pages is not read.
        let select = query::payouts(
            "id, status, currency, amount_minor, attempts",
            tenant,
            filter,
        );
        self.all(&select.sql, params_from_iter(select.args), |row| {
            let status: String = row.get(1).storage()?;
            let code: String = row.get(2).storage()?;
            Ok(PayoutHead {
                id: id(row.get(0).storage()?, "payout id")?,
                status: stored(PayoutStatus::parse(&status))?,
                amount: money(row.get(3).storage()?, currency(&code)?),
                attempts: unsigned(row.get(4).storage()?, "attempts")?,
            })
        })
    }

    fn payout_tallies(&mut self, tenant: &TenantId) -> Result<Vec<PayoutTally>> {
        self.all(
            "SELECT batch, status, COUNT(*), SUM(attempts > 0), SUM(attempts > 1) \
             FROM payouts WHERE tenant = ?1 GROUP BY batch, status ORDER BY batch, status",
            params![tenant.as_str()],
            |row| {
                let status: String = row.get(1).storage()?;
                Ok(PayoutTally {
                    batch: id(row.get(0).storage()?, "batch")?,
                    status: stored(PayoutStatus::parse(&status))?,
                    count: unsigned(row.get(2).storage()?, "count")?,
                    sent: unsigned(row.get(3).storage()?, "sent")?,
                    retried: unsigned(row.get(4).storage()?, "retried")?,
                })
            },
        )
    }

    fn audit_head(&mut self, tenant: &TenantId) -> Result<Option<AuditHead>> {
        if let Some(head) = self.heads.get(tenant) {
            return Ok(head.clone());
        }
        let head_of = |row: &Row<'_>| -> Result<AuditHead> {
            Ok(AuditHead {
                seq: unsigned(row.get(0).storage()?, "seq")?,
                hash: row.get(1).storage()?,
            })
        };
        let mut head = self.one(
            "SELECT seq, hash FROM audit_records WHERE tenant = ?1 ORDER BY seq DESC LIMIT 1",
            params![tenant.as_str()],
            head_of,
        )?;
        if head.is_none() {
            head = self.one(
                "SELECT seq, hash FROM audit_anchors WHERE tenant = ?1",
                params![tenant.as_str()],
                head_of,
            )?;
        }
        self.heads.insert(tenant.clone(), head.clone());
        Ok(head)
    }

    fn append_audit(&mut self, r: &AuditRecord) -> Result<()> {
        self.writable()?;
        let expected = self.audit_head(&r.tenant)?.map_or(1, |h| h.seq + 1);
        if r.seq != expected {
            return Err(Error::storage(format!(
                "audit record {} does not follow the head (expected {expected})",
                r.seq
            )));
        }
        self.execute(
            &format!(
                "INSERT INTO audit_records ({AUDIT_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ),
            params![
                r.tenant.as_str(),
                signed(r.seq),
                micros(r.at),
                r.kind,
                r.resource_type,
                r.resource_id,
                r.affiliate_id,
                r.actor,
                to_json(&r.payload, "payload")?,
                r.prev_hash,
                r.hash,
            ],
        )?;
        self.heads.insert(
            r.tenant.clone(),
            Some(AuditHead {
                seq: r.seq,
                hash: r.hash.clone(),
            }),
        );
        Ok(())
    }

    fn scan_audit(
        &mut self,
        tenant: &TenantId,
        from_seq: u64,
        visit: &mut dyn FnMut(AuditRecord) -> Result<bool>,
    ) -> Result<()> {
        self.scan_audit_rows(tenant, from_seq, &mut |row| visit(row.to_record()?))
    }

    fn scan_audit_rows(
        &mut self,
        tenant: &TenantId,
        from_seq: u64,
        visit: &mut dyn FnMut(&AuditRow<'_>) -> Result<bool>,
    ) -> Result<()> {
        // One cursor over the index: SQLite hands rows out one at a time, so
        // memory does not grow with the chain.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_records WHERE tenant = ?1 AND seq >= ?2 \
                 ORDER BY seq"
            ))
            .storage()?;
        let mut rows = stmt
            .query(params![tenant.as_str(), signed(from_seq)])
            .storage()?;
        while let Some(row) = rows.next().storage()? {
            if !visit(&audit_row_ref(row)?)? {
                break;
            }
        }
        Ok(())
    }

    fn query_audit(&mut self, tenant: &TenantId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let select = query::audit_records(AUDIT_COLUMNS, tenant, query);
        self.all(&select.sql, params_from_iter(select.args), audit_row)
    }

    fn delete_audit_through(&mut self, tenant: &TenantId, through_seq: u64) -> Result<u64> {
        let deleted = self.execute(
            "DELETE FROM audit_records WHERE tenant = ?1 AND seq <= ?2",
            params![tenant.as_str(), signed(through_seq)],
        )?;
        self.heads.remove(tenant);
        Ok(deleted as u64)
    }

    fn audit_anchor(&mut self, tenant: &TenantId) -> Result<Option<AuditCheckpoint>> {
        self.one(
            "SELECT tenant, seq, hash, at FROM audit_anchors WHERE tenant = ?1",
            params![tenant.as_str()],
            |row| {
                Ok(AuditCheckpoint {
                    tenant: id(row.get(0).storage()?, "tenant")?,
                    seq: unsigned(row.get(1).storage()?, "seq")?,
                    hash: row.get(2).storage()?,
                    at: time(row.get(3).storage()?, "at")?,
                })
            },
        )
    }

    fn put_audit_anchor(&mut self, checkpoint: &AuditCheckpoint) -> Result<()> {
        self.upsert(
            &UPSERT_AUDIT_ANCHORS,
            params![
                checkpoint.tenant.as_str(),
                signed(checkpoint.seq),
                checkpoint.hash,
                micros(checkpoint.at),
            ],
        )?;
        self.heads.remove(&checkpoint.tenant);
        Ok(())
    }
}
