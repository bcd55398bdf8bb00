//! The operations runbook (RUNBOOK.md) as one program, on a SQLite file.
//!
//! ```sh
//! cargo run --example runbook              # a fresh temporary database
//! cargo run --example runbook -- mlas.db   # or a path of your choice (must not exist)
//! ```
//!
//! It builds a three-level sponsor tree, a rule with conditions, attributed
//! sales, calculates and explains commissions, approves them after the holding
//! period, pays a batch through the simulated provider (one payout fails and
//! is retried), handles a dispute and a partial refund with clawbacks, verifies
//! and exports the audit trail, and prints the metrics and a health report.

use std::error::Error as StdError;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use mlas::rule::Condition;
use mlas::{
    AffiliateId, AuditRange, BatchId, CommissionFilter, CommissionSelection, Currency, Decimal,
    Engine, FixedClock, Money, NewAffiliate, NewRefund, NewSale, PayoutDetails, PayoutStatus,
    RefundId, RuleSpec, SaleId, ScheduleRequest, Scope, SimulatedProvider, SqliteStore,
};

fn main() -> Result<(), Box<dyn StdError>> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => std::env::temp_dir().join(format!("mlas-runbook-{}.db", std::process::id())),
    };
    if path.exists() {
        return Err(format!("{} exists; give a new path", path.display()).into());
    }

    // 1. Startup: open (and migrate) the database; a fixed clock keeps the run repeatable.
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap(),
    ));
    let engine = Engine::new(SqliteStore::open(&path)?).with_clock(clock.clone());
    let org = Scope::new("org-123", "ops@example.com")?;
    heading("1. Startup and health");
    print_health(&engine, &org);
    println!("database  {}", path.display());

    // 2.1 Affiliates in a three-level sponsor tree.
    heading("2.1 Affiliates");
    let top = affiliate(
        &engine,
        &org,
        "aff-789",
        "Ada Top",
        "gold",
        "12",
        None,
        PayoutDetails::iban(
            "DE89 3704 0044 0532 0130 00",
            None,
            "Commerzbank",
            "Ada Top",
        )?,
    )?;
    let mid = affiliate(
        &engine,
        &org,
        "aff-456",
        "Jane Upline",
        "silver",
        "10",
        Some(&top),
        PayoutDetails::paypal("jane@example.com")?,
    )?;
    let john = affiliate(
        &engine,
        &org,
        "aff-123",
        "John Affiliate",
        "bronze",
        "10",
        Some(&mid),
        PayoutDetails::us_bank("1234567890", "021000021", "Chase Bank", "John Affiliate")?,
    )?;
    let rows = engine
        .affiliates(&org)?
        .into_iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.name,
                a.tier,
                format!("{}%", a.commission_rate),
                a.sponsor.map_or("-".into(), |s| s.to_string()),
                a.payout.map_or("-".into(), |p| p.to_string()),
            ]
        })
        .collect();
    table(
        &["affiliate", "name", "tier", "rate", "sponsor", "payout"],
        rows,
    );

    // A rule with conditions: USD sales attributed directly or by coupon.
    let mut rule =
        RuleSpec::percentages("standard three levels", &[dec("10"), dec("5"), dec("2.5")]);
    rule.priority = 10;
    rule.holding_days = 14;
    rule.conditions = vec![
        Condition::new("currency", "eq", vec!["USD".into()])?,
        Condition::new(
            "attribution_type",
            "in",
            vec!["DIRECT".into(), "COUPON".into()],
        )?,
    ];
    let rule = engine.create_rule(&org, None, rule)?;
    println!(
        "\nrule {} v{}: 10% / 5% / 2.5%, held 14 days, USD, DIRECT or COUPON",
        rule.id, rule.version
    );

    // 2.2 and 2.3: attributed sales, commissions calculated as they are recorded.
    heading("2.2-2.3 Sales and commissions");
    let usd = Currency::parse("USD")?;
    let now = engine.now();
    let mut sale_456 = NewSale::new(
        SaleId::new("sale-456")?,
        Money::parse("1000.00", usd, "amount")?,
        now,
        john.clone(),
    );
    sale_456.chain = Some(vec![john.clone(), mid.clone()]);
    let mut sale_457 = NewSale::new(
        SaleId::new("sale-457")?,
        Money::parse("249.99", usd, "amount")?,
        now,
        john.clone(),
    );
    sale_457.attribution_type = "COUPON".into();
    let sale_458 = NewSale::new(
        SaleId::new("sale-458")?,
        Money::parse("80.00", usd, "amount")?,
        now,
        mid.clone(),
    );
    for sale in [sale_456, sale_457, sale_458] {
        engine.record_sale(&org, sale)?;
    }
    print_commissions(&engine, &org)?;
    println!("\nwhy does aff-123 earn what it earns on sale-457?");
    for line in engine
        .explain(&org, &SaleId::new("sale-457")?)?
        .to_text()
        .lines()
    {
        println!("  {line}");
    }

    // Approval after the holding period; a dispute holds one commission back.
    heading("Approval and a dispute");
    let early = engine.approve_available(&org)?;
    println!("approvable on day 0: {}", early.len());
    clock.advance(TimeDelta::days(14));
    let disputed = commission_of(&engine, &org, "sale-458", &mid)?;
    engine.dispute(&org, &disputed, "customer says the order never arrived")?;
    let approved = engine.approve_available(&org)?;
    println!(
        "approved on day 14: {} (one disputed: {disputed})",
        approved.len()
    );

    // 2.4 and 2.5: a batch through the simulated provider; Jane's payout fails once.
    heading("2.4-2.5 Payout batch");
    let batch = BatchId::new("batch-2026-02-15")?;
    let scheduled = engine.schedule_payouts(
        &org,
        ScheduleRequest {
            batch: batch.clone(),
            scheduled_for: engine.now(),
            selection: CommissionSelection::AllApproved,
        },
    )?;
    let provider = SimulatedProvider::new();
    for payout in scheduled.payouts.iter().filter(|p| p.affiliate == mid) {
        provider.fail_payout(&payout.id, 1, "paypal account temporarily limited", true);
    }
    let stats = engine.process_batch(&org, &batch, &provider, false)?;
    println!("batch {} is {}", batch, stats.batch.status);
    print_payouts(&engine, &org, &batch)?;

    // 4.2: failed payouts, their retry, and the batch statistics.
    heading("4.2 Failed payouts and retry");
    for failed in engine.failed_payouts(&org)? {
        println!(
            "failed: {} {} {}: {}",
            failed.id,
            failed.affiliate,
            failed.amount,
            failed.failure_reason.unwrap_or_default()
        );
        let retried = engine.retry_payout(&org, &failed.id, &provider)?;
        println!(
            "retry:  {} is {} after {} attempts",
            retried.id, retried.status, retried.attempts
        );
    }
    let stats = engine.batch_stats(&org, &batch)?;
    let rows = stats
        .totals
        .iter()
        .map(|t| {
            vec![
                t.status.to_string(),
                t.count.to_string(),
                t.amount.to_string(),
            ]
        })
        .collect();
    println!(
        "batch {} is {}, {} payouts, {} attempts",
        batch, stats.batch.status, stats.payouts, stats.attempts
    );
    table(&["status", "payouts", "amount"], rows);

    // A partial refund after payment: paid commissions are clawed back.
    heading("Partial refund with clawback");
    let (refund, _) = engine.refund(
        &org,
        NewRefund {
            id: RefundId::new("refund-456-1")?,
            sale: SaleId::new("sale-456")?,
            amount: Money::parse("300.00", usd, "amount")?,
            reason: "two of five items returned".into(),
        },
    )?;
    let rows = refund
        .reversals
        .iter()
        .map(|r| {
            vec![
                r.affiliate.to_string(),
                r.amount.to_string(),
                r.adjustment
                    .as_ref()
                    .map_or("reduced".into(), |a| format!("clawback {a}")),
            ]
        })
        .collect();
    table(&["affiliate", "reversed", "how"], rows);
    for who in [&john, &mid, &top] {
        let balance: Vec<String> = engine
            .balance(&org, who)?
            .iter()
            .map(ToString::to_string)
            .collect();
        println!(
            "balance {who}: {}",
            if balance.is_empty() {
                "0".into()
            } else {
                balance.join(", ")
            }
        );
    }

    // 4.3 and 6.3: the audit trail verifies, and exports to a file that verifies on its own.
    heading("4.3 Audit trail");
    let report = engine.verify_audit(&org)?;
    let head = report.head.clone().ok_or("the chain is empty")?;
    println!(
        "verified {} records; head seq {} hash {}",
        report.records,
        head.seq,
        &head.hash[..16]
    );
    let about =
        |query: mlas::AuditQuery| engine.audit_records(&org, &query).map(|page| page.records);
    let trail = about(mlas::AuditQuery {
        affiliate_id: Some(john.to_string()),
        ..Default::default()
    })?;
    println!("audit trail of {john} ({} records):", trail.len());
    for record in &trail {
        println!(
            "  {:>3}  {}  {:<24} {}",
            record.seq,
            mlas::clock::rfc3339(record.at),
            record.kind,
            record.resource_id
        );
    }
    let of_dispute = about(mlas::AuditQuery {
        resource_id: Some(disputed.to_string()),
        ..Default::default()
    })?;
    println!(
        "records about the disputed commission: {}",
        of_dispute.len()
    );
    let export = path.with_extension("audit.jsonl");
    let summary = engine.export_audit_jsonl(
        &org,
        AuditRange::default(),
        &mut BufWriter::new(File::create(&export)?),
    )?;
    println!(
        "exported {} records to {}",
        summary.records,
        export.display()
    );
    println!(
        "checkpoint to keep elsewhere: {}",
        engine.checkpoint(&org)?.to_json()
    );

    // 3.1: the metrics, and their Prometheus form.
    heading("3.1 Metrics");
    let m = engine.metrics(&org)?;
    let pct = |r: Option<Decimal>| {
        r.map_or("-".into(), |r| {
            format!("{}%", (r * Decimal::ONE_HUNDRED).normalize())
        })
    };
    let rows = vec![
        vec![
            "calculation success rate".into(),
            pct(m.calculation_success_rate),
        ],
        vec![
            "average commission".into(),
            m.average_commission
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ],
        vec!["approval rate".into(), pct(m.approval_rate)],
        vec!["dispute rate".into(), pct(m.dispute_rate)],
        vec!["batch success rate".into(), pct(m.batch_success_rate)],
        vec!["failed payouts".into(), m.failed_payouts.to_string()],
        vec!["payout retry rate".into(), pct(m.payout_retry_rate)],
        vec!["active affiliates".into(), m.active_affiliates.to_string()],
        vec![
            "tiers".into(),
            format!("{:?}", m.tier_distribution).replace('"', ""),
        ],
        vec![
            "payout methods".into(),
            format!("{:?}", m.payout_method_distribution).replace('"', ""),
        ],
    ];
    table(&["metric", "value"], rows);
    let prometheus = m.to_prometheus();
    println!(
        "\nprometheus exposition: {} lines, for example:",
        prometheus.lines().count()
    );
    for line in prometheus
        .lines()
        .filter(|l| l.starts_with("mlas_commissions{"))
    {
        println!("  {line}");
    }

    heading("1.2 Health");
    print_health(&engine, &org);
    Ok(())
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn affiliate(
    engine: &Engine,
    org: &Scope,
    id: &str,
    name: &str,
    tier: &str,
    rate: &str,
    sponsor: Option<&AffiliateId>,
    payout: PayoutDetails,
) -> Result<AffiliateId, mlas::Error> {
    let email = format!(
        "{}@example.com",
        name.split(' ').next().unwrap_or(id).to_lowercase()
    );
    let mut new = NewAffiliate::new(name, email, dec(rate));
    new.id = Some(AffiliateId::new(id)?);
    new.tier = Some(tier.into());
    new.sponsor = sponsor.cloned();
    new.payout = Some(payout);
    Ok(engine.create_affiliate(org, new)?.id)
}

fn commission_of(
    engine: &Engine,
    org: &Scope,
    sale: &str,
    who: &AffiliateId,
) -> Result<mlas::CommissionId, Box<dyn StdError>> {
    let filter = CommissionFilter {
        sale: Some(SaleId::new(sale)?),
        affiliate: Some(who.clone()),
        ..Default::default()
    };
    Ok(engine
        .commissions(org, &filter)?
        .pop()
        .ok_or("no such commission")?
        .id)
}

fn print_commissions(engine: &Engine, org: &Scope) -> Result<(), mlas::Error> {
    let rows = engine
        .commissions(org, &CommissionFilter::default())?
        .into_iter()
        .map(|c| {
            vec![
                c.sale.to_string(),
                c.affiliate.to_string(),
                c.chain_level.to_string(),
                c.percent.map_or("-".into(), |p| format!("{p}%")),
                c.amount.to_string(),
                c.status.to_string(),
            ]
        })
        .collect();
    table(
        &["sale", "affiliate", "level", "rate", "amount", "status"],
        rows,
    );
    Ok(())
}

fn print_payouts(engine: &Engine, org: &Scope, batch: &BatchId) -> Result<(), mlas::Error> {
    let filter = mlas::PayoutFilter {
        batch: Some(batch.clone()),
        ..Default::default()
    };
    let rows = engine
        .payouts(org, &filter)?
        .into_iter()
        .map(|p| {
            let note = match p.status {
                PayoutStatus::Paid => p.provider_reference.unwrap_or_default(),
                _ => p.failure_reason.unwrap_or_default(),
            };
            vec![
                p.affiliate.to_string(),
                p.amount.to_string(),
                p.status.to_string(),
                p.attempts.to_string(),
                note,
            ]
        })
        .collect();
    table(
        &[
            "affiliate",
            "amount",
            "status",
            "attempts",
            "reference / reason",
        ],
        rows,
    );
    Ok(())
}

fn print_health(engine: &Engine, org: &Scope) {
    let h = engine.health(org);
    println!(
        "status {}  version {}  backend {} (schema {})  audit head {}  verified {}",
        h.status.as_str(),
        h.version,
        h.backend,
        h.schema_version.map_or("-".into(), |v| v.to_string()),
        h.audit_head.map_or("-".into(), |a| a.seq.to_string()),
        if h.audit_intact { "yes" } else { "NO" },
    );
}

fn heading(title: &str) {
    println!("\n== {title}");
}

/// Prints rows under headers, each column as wide as its widest cell; amounts
/// (cells that start with a digit or a minus) are right-aligned.
fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let numeric = c
                    .trim_start_matches('-')
                    .starts_with(|ch: char| ch.is_ascii_digit());
                if numeric && i > 0 {
                    format!("{c:>w$}", w = widths[i])
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect();
        println!("  {}", text.join("  ").trim_end());
    };
    line(headers.iter().map(|h| (*h).to_owned()).collect());
    line(widths.iter().map(|w| "-".repeat(*w)).collect());
    for row in rows {
        line(row);
    }
}
