//! The SQL of the filtered reads (commissions, payouts, adjustments, audit
//! records), each naming the index it reads through.
//!
//! Every table is `WITHOUT ROWID` and keyed by `(tenant, ...)`. For such a
//! table the bundled SQLite plans `tenant = ? AND sale = ?` as a walk of the
//! tenant's whole primary-key range whenever the index on `(tenant, sale)`
//! does not cover the selected columns, with or without `ANALYZE`
//! statistics: finding a sale's five commissions read every commission of
//! the tenant. So each read here picks the index its most selective filter
//! has and says so with `INDEXED BY`, which also turns a dropped or renamed
//! index into an error at prepare time instead of a silent scan.
//!
//! Filters are bound parameters, except the commission status that selects
//! the partial index `commissions_open`: the planner must see that literal to
//! know the query stays inside the index.

use std::fmt::Write as _;

use mlas_core::audit::AuditQuery;
use mlas_core::store::{AdjustmentFilter, CommissionFilter, PayoutFilter};
use mlas_core::{CommissionStatus, TenantId};
use rusqlite::types::Value;

use crate::convert::{micros, signed};

/// A `SELECT` being built: its SQL and its positional arguments.
pub(crate) struct Select {
    pub sql: String,
    pub args: Vec<Value>,
}

impl Select {
    /// `SELECT columns FROM table [INDEXED BY index] WHERE tenant = ?1`.
    fn new(columns: &str, table: &str, index: Option<&str>, tenant: &TenantId) -> Self {
        let mut sql = format!("SELECT {columns} FROM {table}");
        if let Some(index) = index {
            let _ = write!(sql, " INDEXED BY {index}");
        }
        sql.push_str(" WHERE tenant = ?1");
        Self {
            sql,
            args: vec![text(tenant.as_str())],
        }
    }

    /// Appends ` AND <column> <op> ?n` and its value.
    fn and(&mut self, column: &str, op: &str, value: Value) {
        self.args.push(value);
        // Writing to a String cannot fail.
        let _ = write!(self.sql, " AND {column} {op} ?{}", self.args.len());
    }

    /// Appends ` AND <column> = ?n` and its text.
    fn and_text(&mut self, column: &str, value: &str) {
        self.and(column, "=", text(value));
    }

    /// Appends the ORDER BY and LIMIT clauses; SQLite reads `LIMIT -1` as none.
    fn order_and_limit(mut self, order: &str, limit: Option<usize>) -> Self {
        self.args.push(Value::Integer(
            limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)),
        ));
        let _ = write!(self.sql, " ORDER BY {order} LIMIT ?{}", self.args.len());
        self
    }
}

/// The statuses `commissions_open` holds (its `WHERE` clause in the schema).
fn in_open_index(status: CommissionStatus) -> bool {
    matches!(
        status,
        CommissionStatus::Pending | CommissionStatus::Approved
    )
}

/// A tenant's commissions matching `filter`, oldest id first.
pub(crate) fn commissions(columns: &str, tenant: &TenantId, filter: &CommissionFilter) -> Select {
    let index = if filter.sale.is_some() {
        Some("commissions_by_sale")
    } else if filter.affiliate.is_some() {
        Some("commissions_by_affiliate")
    } else if filter.status.is_some_and(in_open_index) {
        Some("commissions_open")
    } else {
        None
    };
    let mut select = Select::new(columns, "commissions", index, tenant);
    if let Some(status) = filter.status {
        // One of the fixed status words, written as a literal (see above).
        let _ = write!(select.sql, " AND status = '{}'", status.as_str());
    }
    if let Some(affiliate) = &filter.affiliate {
        select.and_text("affiliate", affiliate.as_str());
    }
    if let Some(sale) = &filter.sale {
        select.and_text("sale", sale.as_str());
    }
    select.order_and_limit("id", filter.limit)
}

/// A tenant's APPROVED commissions in no payout (id, affiliate, currency,
/// amount), oldest id first: read from `commissions_open` alone, which holds
/// these columns.
pub(crate) fn payable_commissions(tenant: &TenantId) -> Select {
    let mut select = Select::new(
        "id, affiliate, currency, amount_minor",
        "commissions",
        Some("commissions_open"),
        tenant,
    );
    select
        .sql
        .push_str(" AND status = 'APPROVED' AND payout IS NULL");
    select.order_and_limit("id", None)
}

/// A tenant's adjustments matching `filter`, oldest id first.
pub(crate) fn adjustments(columns: &str, tenant: &TenantId, filter: &AdjustmentFilter) -> Select {
    let index = if filter.payout.is_some() {
        Some("adjustments_by_payout")
    } else if filter.affiliate.is_some() {
        Some("adjustments_by_affiliate")
    } else if filter.open_only {
        Some("adjustments_open")
    } else {
        None
    };
    let mut select = Select::new(columns, "adjustments", index, tenant);
    if let Some(affiliate) = &filter.affiliate {
        select.and_text("affiliate", affiliate.as_str());
    }
    if filter.open_only {
        select.sql.push_str(" AND payout IS NULL");
    }
    if let Some(payout) = &filter.payout {
        select.and_text("payout", payout.as_str());
    }
    select.order_and_limit("id", None)
}

/// A tenant's payouts matching `filter`, oldest id first.
pub(crate) fn payouts(columns: &str, tenant: &TenantId, filter: &PayoutFilter) -> Select {
    let index = if filter.batch.is_some() {
        Some("payouts_by_batch")
    } else if filter.affiliate.is_some() {
        Some("payouts_by_affiliate")
    } else if filter.status.is_some() {
        Some("payouts_by_status")
    } else {
        None
    };
    let mut select = Select::new(columns, "payouts", index, tenant);
    if let Some(batch) = &filter.batch {
        select.and_text("batch", batch.as_str());
    }
    if let Some(status) = filter.status {
        select.and_text("status", status.as_str());
    }
    if let Some(affiliate) = &filter.affiliate {
        select.and_text("affiliate", affiliate.as_str());
    }
    select.order_and_limit("id", filter.limit)
}

/// A tenant's audit records matching `query`, in chain order.
pub(crate) fn audit_records(columns: &str, tenant: &TenantId, query: &AuditQuery) -> Select {
    // A time range alone is left to the planner, which does pick
    // `audit_by_time` for it (the one index it weighs correctly here); a
    // cursor alone walks the primary key (tenant, seq) in chain order.
    let index = if query.resource_id.is_some() {
        Some("audit_by_resource")
    } else if query.affiliate_id.is_some() {
        Some("audit_by_affiliate")
    } else if query.kind.is_some() {
        Some("audit_by_type")
    } else {
        None
    };
    let mut select = Select::new(columns, "audit_records", index, tenant);
    if let Some(resource) = &query.resource_id {
        select.and_text("resource_id", resource);
    }
    if let Some(affiliate) = &query.affiliate_id {
        select.and_text("affiliate_id", affiliate);
    }
    if let Some(kind) = &query.kind {
        select.and_text("type", kind);
    }
    if let Some(from) = query.from {
        select.and("at", ">=", Value::Integer(micros(from)));
    }
    if let Some(until) = query.until {
        select.and("at", "<", Value::Integer(micros(until)));
    }
    if let Some(after) = query.after_seq {
        select.and("seq", ">", Value::Integer(signed(after)));
    }
    select.order_and_limit("seq", query.limit)
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mlas_core::{AffiliateId, BatchId, PayoutId, PayoutStatus, SaleId};
    use rusqlite::Connection;

    use super::*;
    use crate::migrations::migrate;

    /// The plan SQLite chooses for `select`, one line per step.
    fn plan(conn: &Connection, select: &Select) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", select.sql))
            .unwrap();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(&select.args), |row| {
                row.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    fn schema() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn
    }

    fn tenant() -> TenantId {
        TenantId::new("org-1").unwrap()
    }

    #[test]
    fn every_filtered_read_goes_through_its_index() {
        let conn = schema();
        let t = tenant();
        let sale = Some(SaleId::new("s-1").unwrap());
        let affiliate = Some(AffiliateId::new("a-1").unwrap());
        let cases: Vec<(Select, &str)> = vec![
            (
                commissions(
                    "*",
                    &t,
                    &CommissionFilter {
                        sale: sale.clone(),
                        ..Default::default()
                    },
                ),
                "commissions_by_sale",
            ),
            (
                commissions(
                    "*",
                    &t,
                    &CommissionFilter {
                        affiliate: affiliate.clone(),
                        status: Some(CommissionStatus::Approved),
                        ..Default::default()
                    },
                ),
                "commissions_by_affiliate",
            ),
            (
                commissions(
                    "*",
                    &t,
                    &CommissionFilter {
                        status: Some(CommissionStatus::Pending),
                        limit: Some(10),
                        ..Default::default()
                    },
                ),
                "commissions_open",
            ),
            (
                commissions(
                    "*",
                    &t,
                    &CommissionFilter {
                        status: Some(CommissionStatus::Approved),
                        ..Default::default()
                    },
                ),
                "commissions_open",
            ),
            (
                adjustments(
                    "*",
                    &t,
                    &AdjustmentFilter {
                        payout: Some(PayoutId::new("p-1").unwrap()),
                        ..Default::default()
                    },
                ),
                "adjustments_by_payout",
            ),
            (
                adjustments(
                    "*",
                    &t,
                    &AdjustmentFilter {
                        affiliate: affiliate.clone(),
                        open_only: true,
                        ..Default::default()
                    },
                ),
                "adjustments_by_affiliate",
            ),
            (
                adjustments(
                    "*",
                    &t,
                    &AdjustmentFilter {
                        open_only: true,
                        ..Default::default()
                    },
                ),
                "adjustments_open",
            ),
            (
                payouts(
                    "*",
                    &t,
                    &PayoutFilter {
                        batch: Some(BatchId::new("b-1").unwrap()),
                        status: Some(PayoutStatus::Pending),
                        ..Default::default()
                    },
                ),
                "payouts_by_batch",
            ),
            (
                payouts(
                    "*",
                    &t,
                    &PayoutFilter {
                        affiliate: affiliate.clone(),
                        ..Default::default()
                    },
                ),
                "payouts_by_affiliate",
            ),
            (
                payouts(
                    "*",
                    &t,
                    &PayoutFilter {
                        status: Some(PayoutStatus::Failed),
                        ..Default::default()
                    },
                ),
                "payouts_by_status",
            ),
            (
                audit_records(
                    "*",
                    &t,
                    &AuditQuery {
                        resource_id: Some("s-1".into()),
                        ..Default::default()
                    },
                ),
                "audit_by_resource",
            ),
            (
                audit_records(
                    "*",
                    &t,
                    &AuditQuery {
                        affiliate_id: Some("a-1".into()),
                        ..Default::default()
                    },
                ),
                "audit_by_affiliate",
            ),
            (
                audit_records(
                    "*",
                    &t,
                    &AuditQuery {
                        kind: Some("sale.recorded".into()),
                        after_seq: Some(7),
                        limit: Some(100),
                        ..Default::default()
                    },
                ),
                "audit_by_type",
            ),
        ];
        for (select, index) in &cases {
            let plan = plan(&conn, select);
            assert!(
                plan.contains(&format!("USING INDEX {index} ")),
                "{} is planned as {plan}",
                select.sql
            );
        }
    }

    #[test]
    fn scheduling_reads_the_open_index_alone() {
        let conn = schema();
        let plan = plan(&conn, &payable_commissions(&tenant()));
        assert!(
            plan.contains("USING COVERING INDEX commissions_open "),
            "{plan}"
        );
    }

    #[test]
    fn a_status_outside_the_open_index_walks_the_tenant() {
        let conn = schema();
        let select = commissions(
            "*",
            &tenant(),
            &CommissionFilter {
                status: Some(CommissionStatus::Paid),
                ..Default::default()
            },
        );
        assert!(plan(&conn, &select).contains("USING PRIMARY KEY (tenant=?)"));
    }
}
