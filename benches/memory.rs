//! Benchmark 7: peak memory while verifying and exporting a long audit chain.
//!
//! Builds a SQLite file with 1,000,000 audit records (2,000 under
//! `cargo test --benches`; `--records N` to choose), then resets the
//! process's peak RSS (`/proc/self/clear_refs`) and, through the engine,
//! verifies the chain (`Engine::verify_audit`, re-hashing every record) and
//! exports it as JSON Lines to a file (`Engine::export_audit_jsonl`). Prints
//! the peak RSS (`VmHWM`) of that phase. Goal: at most 64 MB.
//!
//! ```sh
//! cargo bench --bench memory
//! ```

#![allow(clippy::unwrap_used, clippy::cast_precision_loss, missing_docs)]

mod common;

use std::io::{BufWriter, Write};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use mlas::audit::{AuditEvent, AuditHead, AuditRecord};
use mlas::engine::AuditRange;
use mlas::sqlite::SqliteStore;
use mlas::{Engine, Error, Scope, Store, TenantId};
use serde_json::json;

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    let records: u64 = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if common::full_run() { 1_000_000 } else { 2_000 });
    let dir = common::scratch_dir();
    let tenant = TenantId::new("org-bench")?;
    let at = Utc
        .timestamp_opt(1_772_366_400, 0)
        .single()
        .unwrap_or_default();

    // Build: commission-sized records, 50,000 per transaction.
    let started = Instant::now();
    let store = SqliteStore::open(dir.path().join("audit.db"))?;
    let mut head: Option<AuditHead> = None;
    let mut seq = 0;
    while seq < records {
        let chunk = (records - seq).min(50_000);
        store.write(&mut |tx| {
            let mut local = head.clone();
            for i in 0..chunk {
                let n = seq + i;
                let record = AuditRecord::chained(
                    &tenant,
                    local.as_ref(),
                    at,
                    "bench",
                    AuditEvent {
                        kind: "commission.calculated",
                        resource_type: "commission",
                        resource_id: format!("com-{n:012}"),
                        affiliate_id: Some(format!("aff-{:05}", n % 1000)),
                        payload: json!({
                            "sale_id": format!("sale-{:010}", n / 5),
                            "amount": "12.34", "currency": "USD",
                            "chain_level": ((n % 5) + 1).to_string(),
                            "paid_level": ((n % 5) + 1).to_string(),
                            "available_at": "2026-03-01T12:00:00.000000Z",
                        }),
                    },
                    None,
                )?;
                tx.append_audit(&record)?;
                local = Some(AuditHead {
                    seq: record.seq,
                    hash: record.hash,
                });
            }
            head = local;
            Ok(())
        })?;
        seq += chunk;
    }
    drop(store);
    println!(
        "built {records} records in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Measure: a fresh store, peak RSS reset, then verify and export.
    let engine = Engine::new(SqliteStore::open(dir.path().join("audit.db"))?);
    let scope = Scope::new(tenant.as_str(), "bench")?;
    let before = vm_hwm_kib();
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let started = Instant::now();
    let report = engine.verify_audit(&scope)?.into_result()?;
    let verified = report.records;
    let verify_s = started.elapsed().as_secs_f64();

    let file = std::fs::File::create(dir.path().join("audit.jsonl"))
        .map_err(|e| Error::storage(e.to_string()))?;
    let mut out = BufWriter::new(file);
    let exported = engine
        .export_audit_jsonl(&scope, AuditRange::default(), &mut out)?
        .records;
    out.flush().map_err(|e| Error::storage(e.to_string()))?;
    let total_s = started.elapsed().as_secs_f64();
    let peak = vm_hwm_kib();
    println!(
        "verified {verified} records in {verify_s:.2} s ({:.0} records/s), exported {exported} \
         in {:.2} s; peak RSS during verify+export {:.1} MB{}",
        verified as f64 / verify_s,
        total_s - verify_s,
        peak as f64 / 1024.0,
        if reset {
            String::new()
        } else {
            format!(" (peak could not be reset; it includes the build, {before} kB before)")
        }
    );
    Ok(())
}
