//! The health report (the runbook's section 1.2, as a library call).

use chrono::{DateTime, Utc};

use super::{Engine, Scope};
use crate::audit::AuditHead;

/// Whether the engine can serve this tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    /// Storage answers and the audit chain verifies.
    Healthy,
    /// Storage failed, or the audit chain is broken.
    Unhealthy,
}

impl HealthStatus {
    /// `"healthy"` or `"unhealthy"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// What a health check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The verdict.
    pub status: HealthStatus,
    /// The library version.
    pub version: &'static str,
    /// The storage backend.
    pub backend: &'static str,
    /// The storage schema version, where the backend has one.
    pub schema_version: Option<u32>,
    /// The tenant's audit chain head, as far as it verified.
    pub audit_head: Option<AuditHead>,
    /// How many audit records verified.
    pub audit_records: u64,
    /// Whether the whole chain verified.
    pub audit_intact: bool,
    /// What is wrong, when something is.
    pub problem: Option<String>,
    /// When the check ran.
    pub checked_at: DateTime<Utc>,
}

impl Engine {
    /// Checks storage and verifies the tenant's whole audit chain. Never fails:
    /// a storage error is reported as `Unhealthy` with its message.
    ///
    /// The verification reads every record of the tenant (streamed, in
    /// constant memory), so on large chains call it as often as that allows.
    pub fn health(&self, scope: &Scope) -> Health {
        let info = self.store().describe();
        let mut health = Health {
            status: HealthStatus::Unhealthy,
            version: env!("CARGO_PKG_VERSION"),
            backend: info.backend,
            schema_version: info.schema_version,
            audit_head: None,
            audit_records: 0,
            audit_intact: false,
            problem: None,
            checked_at: self.now(),
        };
        match self.verify_audit(scope) {
            Ok(report) => {
                health.audit_head = report.head.clone();
                health.audit_records = report.records;
                health.audit_intact = report.is_intact();
                health.problem = report.broken.map(|b| b.to_string());
                if health.audit_intact {
                    health.status = HealthStatus::Healthy;
                }
            }
            Err(e) => health.problem = Some(e.to_string()),
        }
        health
    }
}
