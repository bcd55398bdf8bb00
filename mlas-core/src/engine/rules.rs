//! Commission rules and their versions.

use serde_json::json;

use super::{Engine, Scope};
use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::ids::RuleId;
use crate::rule::{Rule, RuleSpec};

impl Engine {
    /// Creates a rule (version 1). `id` may be chosen by the host.
    ///
    /// # Errors
    /// `Validation` for a bad spec, `Conflict` when the id is taken.
    pub fn create_rule(&self, scope: &Scope, id: Option<RuleId>, spec: RuleSpec) -> Result<Rule> {
        let spec = at_micros(spec);
        spec.validate()?;
        let id = id.unwrap_or_else(RuleId::generate);
        self.write(scope, |ctx| {
            if ctx.tx.rule(&ctx.scope.tenant, &id, None)?.is_some() {
                return Err(Error::conflict("rule", &id, "a rule with this id exists"));
            }
            let rule = Rule {
                tenant: ctx.scope.tenant.clone(),
                id: id.clone(),
                version: 1,
                spec: spec.clone(),
                created_at: ctx.now,
                version_created_at: ctx.now,
            };
            store_version(ctx, &rule, "rule.created")?;
            Ok(rule)
        })
    }

    /// Edits a rule: stores `spec` as its next version. Commissions already
    /// calculated keep naming the version they came from.
    ///
    /// # Errors
    /// `Validation` for a bad spec, `NotFound` for an unknown rule.
    pub fn update_rule(&self, scope: &Scope, id: &RuleId, spec: RuleSpec) -> Result<Rule> {
        let spec = at_micros(spec);
        spec.validate()?;
        self.write(scope, |ctx| {
            let current = ctx
                .tx
                .rule(&ctx.scope.tenant, id, None)?
                .ok_or_else(|| Error::not_found("rule", id))?;
            let rule = Rule {
                version: current.version + 1,
                spec: spec.clone(),
                version_created_at: ctx.now,
                ..current
            };
            store_version(ctx, &rule, "rule.updated")?;
            Ok(rule)
        })
    }

    /// A rule: the latest version, or the given one.
    ///
    /// # Errors
    /// `NotFound` for an unknown rule or version.
    pub fn rule(&self, scope: &Scope, id: &RuleId, version: Option<u32>) -> Result<Rule> {
        self.read(|tx| {
            tx.rule(scope.tenant(), id, version)?
                .ok_or_else(|| match version {
                    Some(v) => Error::not_found("rule", format!("{id} version {v}")),
                    None => Error::not_found("rule", id),
                })
        })
    }

    /// The latest version of every rule.
    pub fn rules(&self, scope: &Scope) -> Result<Vec<Rule>> {
        self.read(|tx| tx.rules(scope.tenant()))
    }

    /// Every version of a rule, oldest first.
    ///
    /// # Errors
    /// `NotFound` for an unknown rule.
    pub fn rule_versions(&self, scope: &Scope, id: &RuleId) -> Result<Vec<Rule>> {
        let versions = self.read(|tx| tx.rule_versions(scope.tenant(), id))?;
        if versions.is_empty() {
            return Err(Error::not_found("rule", id));
        }
        Ok(versions)
    }
}

/// Drops digits finer than the microseconds every backend keeps.
fn at_micros(mut spec: RuleSpec) -> RuleSpec {
    spec.valid_from = spec.valid_from.map(crate::clock::micros);
    spec.valid_until = spec.valid_until.map(crate::clock::micros);
    spec
}

fn store_version(ctx: &mut super::Ctx<'_>, rule: &Rule, kind: &'static str) -> Result<()> {
    ctx.tx.insert_rule(rule)?;
    let spec = serde_json::to_value(&rule.spec)
        .map_err(|e| Error::validation("rule", format!("cannot be encoded: {e}")))?;
    ctx.audit(AuditEvent {
        kind,
        resource_type: "rule",
        resource_id: rule.id.to_string(),
        affiliate_id: None,
        payload: json!({"version": rule.version.to_string(), "spec": stringify_numbers(spec)}),
    })
}

/// Audit payloads hold no JSON numbers (see the audit module): turn any into strings.
pub(crate) fn stringify_numbers(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(stringify_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, stringify_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}
