//! Payouts: scheduling batches, sending them through a provider, retries,
//! cancellation and crash recovery.
//!
//! # States
//!
//! ```text
//! batch:  SCHEDULED --process--> PROCESSING --nothing PENDING/SENDING left--> COMPLETED
//!                                    ^                                  | PARTIALLY_FAILED
//!                                    +-------- retry of a payout -------+ FAILED
//! payout: PENDING --tx1--> SENDING --tx2--> PAID | FAILED
//!                             |  ^               FAILED --retry--> SENDING
//!                  NotFound   v  | Unknown       PENDING|FAILED --cancel--> CANCELLED
//!                          PENDING (stays SENDING until reconciled)
//! ```
//!
//! # Crash safety
//!
//! Payouts are sent in waves of up to
//! [`EngineConfig::payout_wave`](super::EngineConfig::payout_wave) (100 by
//! default; one for a retry). Every wave is
//! bracketed by two transactions and the provider is called between them,
//! outside any transaction:
//!
//! 1. tx1 marks each payout of the wave SENDING and counts its attempt (audit
//!    `payout.sending`), and commits;
//! 2. the provider is called for each, with the payout id as idempotency key;
//! 3. tx2 records each PAID (its commissions become PAID; its netted
//!    adjustments are settled with it) or FAILED. An `Unknown` answer, or a
//!    panic inside the provider, writes nothing: the payout stays SENDING.
//!    A payout the wave marked but did not send (its time ran out, see
//!    below) goes back to PENDING (`payout.unsent`).
//!
//! Two commits a wave rather than two a payout: the commissions of many
//! payouts share database pages, and each page is then written once a wave.
//!
//! A crash anywhere leaves each payout PENDING (never sent), SENDING (outcome
//! unknown) or recorded. Processing a batch first asks the provider about every
//! SENDING payout ([`PayoutProvider::status`]) and only then sends anything:
//! `Paid` and `Failed` are recorded as if `send` had answered them, `NotFound`
//! returns the payout to PENDING (and takes back the attempt that never
//! arrived) so it is sent again, `Pending` leaves it SENDING for a later call.
//! A SENDING payout is never sent again without that answer, so nothing is paid
//! twice as long as the provider keeps its idempotency promise, and nothing is
//! lost because every payout ends PAID, FAILED or CANCELLED.
//!
//! # One worker per batch
//!
//! Processing claims the batch with a lease ([`crate::payout::BatchLease`])
//! in the transaction that starts it, and renews it in every transaction that
//! follows (each reconciliation and each wave's tx1). A wave stops sending
//! once half the lease has passed since its tx1 (its first payout is always
//! sent), so the lease never lapses under payouts the worker has marked but
//! not sent, while the worker is alive and each provider call answers within
//! half of [`EngineConfig::batch_lease`](super::EngineConfig::batch_lease). A second
//! worker (thread, process or host on the same database) that tries the same
//! batch meanwhile gets a `Conflict` and changes nothing; it never reconciles
//! a payout the first one is still sending. A crashed worker's lease lapses,
//! and the next call takes over and reconciles. A retry claims the batch the
//! same way for its one send. The lease is released when the call ends.
//!
//! # Audit records
//!
//! `batch.scheduled` (with the held balances) and one `payout.scheduled` per
//! payout, listing its commission and adjustment ids: the record of each
//! listed commission going from APPROVED to SCHEDULED in that payout
//! (`commission_status`); `batch.processing`, `payout.sending`, `payout.paid`
//! (likewise the record of each listed commission going from SCHEDULED to PAID,
//! except the `anomalies` it names), `payout.failed`, `payout.reconciled` (a
//! SENDING payout the provider never received, back to PENDING),
//! `payout.unsent` (a payout its wave marked SENDING but did not send),
//! `payout.cancelled` (+ one `commission.unscheduled` per commission),
//! `batch.reopened` (a retry of a finished batch's payout) and `batch.finished`.
//! An `Unknown` outcome changes nothing and is only logged. Batch processing
//! settles (and finishes) its batch once, after its last send, not after
//! every payout.
//!
//! # Failed payouts
//!
//! A FAILED payout keeps its commissions SCHEDULED and its adjustments netted,
//! so they cannot be scheduled again: [`Engine::retry_payout`] sends it again
//! (with the affiliate's current details), [`Engine::cancel_payout`] gives it up
//! and returns its commissions to APPROVED and reopens its adjustments. A payout
//! whose affiliate is no longer ACTIVE, or has no payout details, when its
//! batch is processed is marked FAILED (retryable, no attempt counted) without
//! being sent.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Ctx, Engine, Scope, money_str};
use crate::affiliate::{Affiliate, AffiliateStatus};
use crate::audit::{AuditEvent, AuditQuery};
use crate::clock::{micros, rfc3339};
use crate::commission::{Adjustment, Commission, CommissionStatus};
use crate::error::{Error, Result};
use crate::ids::{AffiliateId, BatchId, CommissionId, PayoutId};
use crate::money::{Currency, Money};
use crate::payout::{
    BatchLease, BatchStats, BatchStatus, CommissionSelection, HeldBalance, HoldReason, Payout,
    PayoutBatch, PayoutStatus, ScheduleOutcome, ScheduleRequest, StatusTotal,
};
use crate::provider::{PayoutInstruction, PayoutProvider, ProviderOutcome, ProviderStatus};
use crate::store::{
    AdjustmentFilter, CommissionFilter, CommissionMove, PayableCommission, PayoutFilter,
    PayoutHead, Tx,
};

/// The longest provider reason or reference kept, in characters.
const MAX_PROVIDER_TEXT: usize = 1000;

impl Engine {
    /// Schedules a payout batch: one payout per (affiliate, currency), the sum
    /// of its selected APPROVED commissions and its open adjustments.
    ///
    /// A balance is left out (and reported in [`ScheduleOutcome::held`]) when
    /// the affiliate is not ACTIVE, has no payout details, or the balance is
    /// not above zero and at least the currency's
    /// [`EngineConfig::min_payout`](super::EngineConfig::min_payout); its
    /// commissions stay APPROVED and its adjustments open, so a negative
    /// balance carries forward. Included commissions become SCHEDULED in their
    /// payout and included adjustments are netted into it. A batch with no
    /// payouts is still made (it completes when processed).
    ///
    /// Idempotent on the batch id: the same request again returns the batch
    /// and writes nothing.
    ///
    /// # Errors
    /// `Validation` for an empty id list; `NotFound` for an unknown commission;
    /// `IllegalTransition` for a commission that is not APPROVED (or already in
    /// a payout); `Conflict` for a different request under a used batch id.
    /// On any error nothing is written.
    pub fn schedule_payouts(
        &self,
        scope: &Scope,
        request: ScheduleRequest,
    ) -> Result<ScheduleOutcome> {
        let mut request = request;
        request.scheduled_for = micros(request.scheduled_for);
        if let CommissionSelection::Ids(ids) = &mut request.selection {
            if ids.is_empty() {
                return Err(Error::validation("commission_ids", "must not be empty"));
            }
            ids.sort();
            ids.dedup();
        }
        let digest = request_digest(&request)?;
        let outcome = self.write(scope, |ctx| schedule(ctx, &request, &digest, self))?;
        tracing::info!(
            batch = %outcome.batch.id,
            payouts = outcome.payouts.len(),
            held = outcome.held.len(),
            replayed = outcome.replayed,
            "payout batch scheduled"
        );
        Ok(outcome)
    }

    /// Processes a batch: sends each PENDING payout through `provider` and
    /// records the outcome, after first reconciling every payout left SENDING
    /// by an earlier, interrupted run. See the module docs for the protocol.
    ///
    /// Returns the batch's statistics. A batch whose payouts all ended PAID,
    /// FAILED or CANCELLED is COMPLETED (no failure), FAILED (nothing paid) or
    /// PARTIALLY_FAILED; while some outcome is unknown it stays PROCESSING and
    /// [`BatchStats::unresolved`] counts them: call again later. Processing a
    /// finished batch returns its statistics and writes nothing.
    ///
    /// # Errors
    /// `NotFound` for an unknown batch; `IllegalTransition` before the
    /// batch's `scheduled_for` unless `force`; `Storage` when recording fails
    /// (a payout whose outcome could not be recorded stays SENDING and is
    /// reconciled by the next call).
    pub fn process_batch(
        &self,
        scope: &Scope,
        id: &BatchId,
        provider: &dyn PayoutProvider,
        force: bool,
    ) -> Result<BatchStats> {
        let batch = self.batch(scope, id)?;
        if batch.status.is_finished() {
            return self.batch_stats(scope, id);
        }

        let lease = self.new_lease();
        self.write(scope, |ctx| {
            let mut batch = load_batch(ctx, id)?;
            if batch.status.is_finished() {
                return Ok(());
            }
            claim(ctx, &mut batch, &lease)?;
            if batch.status != BatchStatus::Scheduled {
                return ctx.tx.put_batch(&batch);
            }
            if ctx.now < batch.scheduled_for && !force {
                return Err(Error::IllegalTransition {
                    resource: "batch",
                    id: id.to_string(),
                    from: format!("SCHEDULED for {}", rfc3339(batch.scheduled_for)),
                    action: "process",
                });
            }
            batch.status = BatchStatus::Processing;
            batch.started_at.get_or_insert(ctx.now);
            ctx.tx.put_batch(&batch)?;
            ctx.audit(AuditEvent {
                kind: "batch.processing",
                resource_type: "batch",
                resource_id: batch.id.to_string(),
                affiliate_id: None,
                payload: json!({"forced": force && ctx.now < batch.scheduled_for}),
            })
        })?;

        // Crash recovery first: nothing is sent while an earlier outcome is unknown.
        let sending = self.payouts(scope, &in_batch(id, PayoutStatus::Sending))?;
        for payout in &sending {
            self.reconcile(scope, payout, provider, &lease)?;
        }

        let pending = in_batch(id, PayoutStatus::Pending);
        let mut queue: VecDeque<PayoutId> = self
            .read(|tx| tx.payout_heads(scope.tenant(), &pending))?
            .into_iter()
            .map(|p| p.id)
            .collect();
        while !queue.is_empty() {
            let size = queue.len().min(self.config.payout_wave);
            let wave: Vec<PayoutId> = queue.drain(..size).collect();
            let unsent = self.send_wave(scope, &wave, provider, Mode::Batch, &lease)?;
            queue.extend(unsent);
        }

        self.write(scope, |ctx| {
            settle_batch(ctx, id)?;
            release(ctx, id, &lease)
        })?;
        let stats = self.batch_stats(scope, id)?;
        tracing::info!(
            batch = %id,
            status = %stats.batch.status,
            unresolved = stats.unresolved,
            "payout batch processed"
        );
        Ok(stats)
    }

    /// Sends a FAILED payout again, to the affiliate's current payout details.
    /// A payout may be sent at most
    /// [`EngineConfig::max_payout_attempts`](super::EngineConfig::max_payout_attempts)
    /// times in all. Retrying a payout of a finished batch reopens the batch
    /// until the outcome is known. Returns the payout as recorded (SENDING if
    /// the outcome is unknown: processing its batch reconciles it).
    ///
    /// # Errors
    /// `NotFound` for an unknown payout; `IllegalTransition` when it is not
    /// FAILED, has used all its attempts, or its affiliate is not ACTIVE or has
    /// no payout details.
    pub fn retry_payout(
        &self,
        scope: &Scope,
        id: &PayoutId,
        provider: &dyn PayoutProvider,
    ) -> Result<Payout> {
        let lease = self.new_lease();
        let sent = self.send_wave(
            scope,
            std::slice::from_ref(id),
            provider,
            Mode::Retry,
            &lease,
        );
        let batch = self.payout(scope, id)?.batch;
        self.write(scope, |ctx| release(ctx, &batch, &lease))?;
        sent?;
        self.payout(scope, id)
    }

    /// Gives up a PENDING or FAILED payout: its commissions return to APPROVED
    /// and its adjustments reopen, ready for a later batch.
    ///
    /// # Errors
    /// `NotFound` for an unknown payout; `IllegalTransition` when it is
    /// SENDING, PAID or already CANCELLED; `Validation` for an empty reason.
    pub fn cancel_payout(&self, scope: &Scope, id: &PayoutId, reason: &str) -> Result<Payout> {
        crate::affiliate::check_text(reason, "reason", 1000)?;
        self.write(scope, |ctx| {
            let mut payout = load_payout(ctx, id)?;
            if !matches!(payout.status, PayoutStatus::Pending | PayoutStatus::Failed) {
                return Err(illegal(&payout, "cancel"));
            }
            for commission_id in &payout.commissions {
                let mut commission = load_commission(ctx, commission_id)?;
                if commission.status == CommissionStatus::Scheduled
                    && commission.payout.as_ref() == Some(&payout.id)
                {
                    commission.status = CommissionStatus::Approved;
                    commission.payout = None;
                    commission.updated_at = ctx.now;
                    ctx.tx.put_commission(&commission)?;
                    ctx.audit(commission_event(
                        "commission.unscheduled",
                        &commission,
                        CommissionStatus::Scheduled,
                        &payout.id,
                    ))?;
                }
            }
            for adjustment_id in &payout.adjustments {
                let adjustment = ctx.tx.adjustment(&ctx.scope.tenant, adjustment_id)?;
                if let Some(mut adjustment) = adjustment {
                    if adjustment.payout.as_ref() == Some(&payout.id) {
                        adjustment.payout = None;
                        ctx.tx.put_adjustment(&adjustment)?;
                    }
                }
            }
            let from = payout.status;
            payout.status = PayoutStatus::Cancelled;
            payout.updated_at = ctx.now;
            ctx.tx.put_payout(&payout)?;
            ctx.audit(AuditEvent {
                kind: "payout.cancelled",
                resource_type: "payout",
                resource_id: payout.id.to_string(),
                affiliate_id: Some(payout.affiliate.to_string()),
                payload: json!({
                    "batch_id": payout.batch.to_string(),
                    "from": from.as_str(),
                    "reason": reason,
                    "commission_ids": ids_json(&payout.commissions),
                    "adjustment_ids": ids_json(&payout.adjustments),
                }),
            })?;
            settle_batch(ctx, &payout.batch)?;
            Ok(payout)
        })
    }

    /// A batch.
    ///
    /// # Errors
    /// `NotFound` when it does not exist in the tenant.
    pub fn batch(&self, scope: &Scope, id: &BatchId) -> Result<PayoutBatch> {
        self.read(|tx| {
            tx.batch(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("batch", id))
        })
    }

    /// A batch's statistics: counts and amounts by status and currency,
    /// attempts, unresolved payouts and time taken.
    ///
    /// # Errors
    /// `NotFound` when the batch does not exist in the tenant.
    pub fn batch_stats(&self, scope: &Scope, id: &BatchId) -> Result<BatchStats> {
        self.read(|tx| {
            let batch = tx
                .batch(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("batch", id))?;
            let filter = PayoutFilter {
                batch: Some(id.clone()),
                ..Default::default()
            };
            let payouts = tx.payout_heads(scope.tenant(), &filter)?;
            stats(batch, &payouts)
        })
    }

    /// A payout.
    ///
    /// # Errors
    /// `NotFound` when it does not exist in the tenant.
    pub fn payout(&self, scope: &Scope, id: &PayoutId) -> Result<Payout> {
        self.read(|tx| {
            tx.payout(scope.tenant(), id)?
                .ok_or_else(|| Error::not_found("payout", id))
        })
    }

    /// Payouts matching a filter, in id order.
    ///
    /// # Errors
    /// `Storage` when the backend fails.
    pub fn payouts(&self, scope: &Scope, filter: &PayoutFilter) -> Result<Vec<Payout>> {
        self.read(|tx| tx.payouts(scope.tenant(), filter))
    }

    /// Every FAILED payout of the tenant (the runbook's `payouts?status=FAILED`).
    ///
    /// # Errors
    /// `Storage` when the backend fails.
    pub fn failed_payouts(&self, scope: &Scope) -> Result<Vec<Payout>> {
        self.payouts(
            scope,
            &PayoutFilter {
                status: Some(PayoutStatus::Failed),
                ..Default::default()
            },
        )
    }

    /// What the next batch would owe an affiliate, per currency: its APPROVED
    /// commissions not in a payout plus its open adjustments. May be negative
    /// (a clawback carried forward). Currencies with nothing are left out.
    ///
    /// # Errors
    /// `NotFound` for an unknown affiliate.
    pub fn balance(&self, scope: &Scope, affiliate: &AffiliateId) -> Result<Vec<Money>> {
        self.read(|tx| {
            tx.affiliate(scope.tenant(), affiliate)?
                .ok_or_else(|| Error::not_found("affiliate", affiliate))?;
            let commissions = tx.commissions(
                scope.tenant(),
                &CommissionFilter {
                    status: Some(CommissionStatus::Approved),
                    affiliate: Some(affiliate.clone()),
                    ..Default::default()
                },
            )?;
            let adjustments = tx.adjustments(
                scope.tenant(),
                &AdjustmentFilter {
                    affiliate: Some(affiliate.clone()),
                    open_only: true,
                    payout: None,
                },
            )?;
            let mut sums: BTreeMap<Currency, Money> = BTreeMap::new();
            let amounts = commissions
                .iter()
                .filter(|c| c.payout.is_none())
                .map(|c| c.amount)
                .chain(adjustments.iter().map(|a| a.amount));
            for amount in amounts {
                let sum = sums
                    .entry(amount.currency())
                    .or_insert_with(|| Money::zero(amount.currency()));
                *sum = sum.checked_add(amount)?;
            }
            Ok(sums.into_values().collect())
        })
    }

    /// Asks the provider what became of a SENDING payout and records the answer.
    fn reconcile(
        &self,
        scope: &Scope,
        payout: &Payout,
        provider: &dyn PayoutProvider,
        lease: &Claim,
    ) -> Result<()> {
        // Renew the claim before asking, so the answer is recorded under it.
        self.write(scope, |ctx| renew(ctx, &payout.batch, lease))?;
        let answer = catch_unwind(AssertUnwindSafe(|| provider.status(&payout.id))).unwrap_or_else(
            |panic| {
                tracing::warn!(
                    payout = %payout.id,
                    panic = %panic_message(&*panic),
                    "payout provider panicked in status; the payout stays SENDING"
                );
                ProviderStatus::Pending
            },
        );
        tracing::info!(payout = %payout.id, answer = ?answer, "reconciling a SENDING payout");
        let outcome = match answer {
            ProviderStatus::Paid { reference } => ProviderOutcome::Paid { reference },
            ProviderStatus::Failed { reason, retryable } => {
                ProviderOutcome::Failed { reason, retryable }
            }
            ProviderStatus::Pending => return Ok(()),
            ProviderStatus::NotFound => {
                return self.write(scope, |ctx| {
                    renew(ctx, &payout.batch, lease)?;
                    back_to_pending(ctx, &payout.id, payout.attempts, NeverSent::NotFound)
                });
            }
        };
        self.write(scope, |ctx| {
            renew(ctx, &payout.batch, lease)?;
            // `process_batch` settles the batch once every payout is done.
            record_outcome(ctx, &payout.id, payout.attempts, &outcome, true).map(drop)
        })
    }

    /// Sends a wave of payouts: tx1 marks them all SENDING, the provider is
    /// called for each outside any transaction, and tx2 records every answer.
    ///
    /// Two commits per wave instead of two per payout: the commissions of
    /// many payouts share pages, so each page is written once a wave. Every
    /// payout is still marked SENDING (and committed) before it is sent, so a
    /// crash leaves at most a wave's payouts to reconcile. Sends stop once
    /// half the lease has passed since tx1 renewed it: the payouts not sent
    /// by then go back to PENDING in tx2 and are returned for a later wave,
    /// so a slow provider never lets the lease lapse under payouts this
    /// worker has marked but not yet sent. The first payout is always sent,
    /// so every wave makes progress.
    fn send_wave(
        &self,
        scope: &Scope,
        ids: &[PayoutId],
        provider: &dyn PayoutProvider,
        mode: Mode,
        lease: &Claim,
    ) -> Result<Vec<PayoutId>> {
        let max_attempts = self.config.max_payout_attempts;
        let (instructions, renewed_at) = self.write(scope, |ctx| {
            let mut claimed: Option<BatchId> = None;
            let mut instructions = Vec::with_capacity(ids.len());
            for id in ids {
                let payout = load_payout(ctx, id)?;
                if claimed.as_ref() != Some(&payout.batch) {
                    let mut batch = load_batch(ctx, &payout.batch)?;
                    claim(ctx, &mut batch, lease)?;
                    ctx.tx.put_batch(&batch)?;
                    claimed = Some(payout.batch.clone());
                }
                instructions.extend(prepare(ctx, payout, mode, max_attempts)?);
            }
            Ok((instructions, ctx.now))
        })?;
        if instructions.is_empty() {
            return Ok(Vec::new());
        }

        let deadline = renewed_at + lease.length / 2;
        let mut answered = Vec::with_capacity(instructions.len());
        let mut unsent = Vec::new();
        for instruction in instructions {
            if !answered.is_empty() && self.now() >= deadline {
                unsent.push(instruction);
                continue;
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| provider.send(&instruction)))
                .unwrap_or_else(|panic| ProviderOutcome::Unknown {
                    reason: format!("the provider panicked: {}", panic_message(&*panic)),
                });
            if let ProviderOutcome::Unknown { reason } = &outcome {
                tracing::warn!(
                    payout = %instruction.idempotency_key,
                    attempt = instruction.attempt,
                    reason = %reason,
                    "payout outcome unknown; it stays SENDING until reconciled"
                );
                continue;
            }
            answered.push((instruction, outcome));
        }
        if answered.is_empty() && unsent.is_empty() {
            return Ok(Vec::new());
        }

        self.write(scope, |ctx| {
            let mut settle = None;
            for (instruction, outcome) in &answered {
                let id = &instruction.idempotency_key;
                settle = record_outcome(ctx, id, instruction.attempt, outcome, false)?.or(settle);
            }
            for instruction in &unsent {
                let (id, attempt) = (&instruction.idempotency_key, instruction.attempt);
                back_to_pending(ctx, id, attempt, NeverSent::Unsent)?;
            }
            match (mode, settle) {
                // A retry is the only send of its call: settle now.
                (Mode::Retry, Some(batch)) => settle_batch(ctx, &batch),
                // `process_batch` settles the batch once every payout is done.
                _ => Ok(()),
            }
        })?;
        Ok(unsent.into_iter().map(|i| i.idempotency_key).collect())
    }
}

/// The filter for a batch's payouts in one status.
fn in_batch(batch: &BatchId, status: PayoutStatus) -> PayoutFilter {
    PayoutFilter {
        batch: Some(batch.clone()),
        status: Some(status),
        ..Default::default()
    }
}

/// One call's claim on a batch: who holds it, and for how long at a time.
struct Claim {
    holder: String,
    length: chrono::TimeDelta,
}

impl Engine {
    /// A fresh claim for one processing or retry call.
    fn new_lease(&self) -> Claim {
        Claim {
            holder: format!("worker_{}", uuid::Uuid::now_v7().simple()),
            length: self.config.batch_lease,
        }
    }
}

/// Takes or renews `lease` on `batch` (the caller stores the batch). Another
/// worker's live lease is a conflict.
fn claim(ctx: &Ctx<'_>, batch: &mut PayoutBatch, lease: &Claim) -> Result<()> {
    if let Some(current) = &batch.lease {
        if current.holder != lease.holder && current.until > ctx.now {
            return Err(Error::conflict(
                "batch",
                &batch.id,
                format!(
                    "another worker is processing it until {}",
                    rfc3339(current.until)
                ),
            ));
        }
    }
    batch.lease = Some(BatchLease {
        holder: lease.holder.clone(),
        until: ctx.now + lease.length,
    });
    Ok(())
}

/// Renews `lease` on the batch `id`.
fn renew(ctx: &mut Ctx<'_>, id: &BatchId, lease: &Claim) -> Result<()> {
    let mut batch = load_batch(ctx, id)?;
    claim(ctx, &mut batch, lease)?;
    ctx.tx.put_batch(&batch)
}

/// Gives up `lease` on the batch `id`, if it is still the holder.
fn release(ctx: &mut Ctx<'_>, id: &BatchId, lease: &Claim) -> Result<()> {
    let mut batch = load_batch(ctx, id)?;
    if batch
        .lease
        .as_ref()
        .is_some_and(|l| l.holder == lease.holder)
    {
        batch.lease = None;
        ctx.tx.put_batch(&batch)?;
    }
    Ok(())
}

/// Why a payout is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Batch processing: PENDING payouts; anything else is skipped quietly.
    Batch,
    /// An explicit retry: the payout must be FAILED with attempts left.
    Retry,
}

/// tx1: marks the payout SENDING and builds the instruction; `None` to skip it.
fn prepare(
    ctx: &mut Ctx<'_>,
    mut payout: Payout,
    mode: Mode,
    max_attempts: u32,
) -> Result<Option<PayoutInstruction>> {
    match mode {
        Mode::Batch if payout.status != PayoutStatus::Pending => return Ok(None),
        Mode::Batch => {}
        Mode::Retry => {
            if payout.status != PayoutStatus::Failed {
                return Err(illegal(&payout, "retry"));
            }
            if payout.attempts >= max_attempts {
                return Err(Error::IllegalTransition {
                    resource: "payout",
                    id: payout.id.to_string(),
                    from: format!(
                        "FAILED after {} of {max_attempts} attempts",
                        payout.attempts
                    ),
                    action: "retry",
                });
            }
        }
    }

    let affiliate = ctx
        .tx
        .affiliate(&ctx.scope.tenant, &payout.affiliate)?
        .ok_or_else(|| Error::not_found("affiliate", &payout.affiliate))?;
    let payable = affiliate
        .payout
        .clone()
        .filter(|_| affiliate.status == AffiliateStatus::Active);
    let Some(details) = payable else {
        let held = hold_text(&affiliate);
        if mode == Mode::Retry {
            return Err(Error::IllegalTransition {
                resource: "payout",
                id: payout.id.to_string(),
                from: format!("FAILED ({held})"),
                action: "retry",
            });
        }
        // Not sent, so no attempt is counted; a retry once the affiliate
        // is ACTIVE with details, or a cancel, takes it from here.
        payout.status = PayoutStatus::Failed;
        payout.failure_reason = Some(format!("held: {held}"));
        payout.retryable = true;
        payout.updated_at = ctx.now;
        ctx.tx.put_payout(&payout)?;
        ctx.audit(failed_event(&payout, true))?;
        // Only batch processing gets here; it settles the batch at its end.
        return Ok(None);
    };

    if mode == Mode::Retry {
        let mut batch = load_batch(ctx, &payout.batch)?;
        if batch.status.is_finished() {
            batch.status = BatchStatus::Processing;
            ctx.tx.put_batch(&batch)?;
            ctx.audit(AuditEvent {
                kind: "batch.reopened",
                resource_type: "batch",
                resource_id: batch.id.to_string(),
                affiliate_id: None,
                payload: json!({"payout_id": payout.id.to_string(), "reason": "retry"}),
            })?;
        }
    }

    payout.status = PayoutStatus::Sending;
    payout.attempts = payout.attempts.saturating_add(1);
    payout.updated_at = ctx.now;
    ctx.tx.put_payout(&payout)?;
    ctx.audit(AuditEvent {
        kind: "payout.sending",
        resource_type: "payout",
        resource_id: payout.id.to_string(),
        affiliate_id: Some(payout.affiliate.to_string()),
        payload: json!({
            "batch_id": payout.batch.to_string(),
            "attempt": payout.attempts.to_string(),
            "amount": money_str(payout.amount),
            "currency": payout.amount.currency().code(),
            "method": details.method().as_str(),
            "account": details.masked_account(),
            "retry": mode == Mode::Retry,
        }),
    })?;
    Ok(Some(PayoutInstruction {
        idempotency_key: payout.id.clone(),
        tenant: ctx.scope.tenant.clone(),
        batch: payout.batch.clone(),
        affiliate: payout.affiliate.clone(),
        amount: payout.amount,
        details,
        reference: format!("MLAS payout {}", payout.id),
        attempt: payout.attempts,
    }))
}

/// The payout if it is still SENDING for the same attempt: otherwise someone
/// else (another worker, a reconciliation) has already settled it.
fn sending(ctx: &mut Ctx<'_>, id: &PayoutId, attempt: u32) -> Result<Option<Payout>> {
    let payout = load_payout(ctx, id)?;
    if payout.status == PayoutStatus::Sending && payout.attempts == attempt {
        Ok(Some(payout))
    } else {
        tracing::warn!(
            payout = %id,
            status = %payout.status,
            "payout moved on while its outcome was awaited; keeping the stored state"
        );
        Ok(None)
    }
}

/// Why a SENDING payout is known never to have reached the provider.
#[derive(Debug, Clone, Copy)]
enum NeverSent {
    /// Reconciliation: the provider answered that it has no such payout.
    NotFound,
    /// Its wave marked it but stopped sending before its turn.
    Unsent,
}

/// Returns a SENDING payout that never reached the provider to PENDING and
/// takes back its attempt, unless it has moved on meanwhile
/// (`payout.reconciled` or `payout.unsent`).
fn back_to_pending(ctx: &mut Ctx<'_>, id: &PayoutId, attempt: u32, why: NeverSent) -> Result<()> {
    let Some(mut payout) = sending(ctx, id, attempt)? else {
        return Ok(());
    };
    payout.status = PayoutStatus::Pending;
    payout.attempts = payout.attempts.saturating_sub(1);
    payout.updated_at = ctx.now;
    ctx.tx.put_payout(&payout)?;
    let mut payload = json!({
        "batch_id": payout.batch.to_string(),
        "to": PayoutStatus::Pending.as_str(),
        "attempts": payout.attempts.to_string(),
    });
    let kind = match why {
        NeverSent::NotFound => {
            payload["provider_status"] = "NOT_FOUND".into();
            "payout.reconciled"
        }
        NeverSent::Unsent => "payout.unsent",
    };
    ctx.audit(AuditEvent {
        kind,
        resource_type: "payout",
        resource_id: payout.id.to_string(),
        affiliate_id: Some(payout.affiliate.to_string()),
        payload,
    })
}

/// tx2: records a `Paid` or `Failed` outcome. Returns the batch of the
/// payout if it recorded one, for the caller to settle: batch processing
/// settles once at its end rather than after every payout, since settling
/// reads every payout of the batch.
fn record_outcome(
    ctx: &mut Ctx<'_>,
    id: &PayoutId,
    attempt: u32,
    outcome: &ProviderOutcome,
    reconciled: bool,
) -> Result<Option<BatchId>> {
    let Some(mut payout) = sending(ctx, id, attempt)? else {
        return Ok(None);
    };
    payout.updated_at = ctx.now;
    match outcome {
        ProviderOutcome::Paid { reference } => {
            payout.status = PayoutStatus::Paid;
            payout.provider_reference = Some(clip(reference));
            payout.failure_reason = None;
            payout.retryable = false;
            payout.paid_at = Some(ctx.now);
            ctx.tx.put_payout(&payout)?;
            let skipped = ctx.tx.move_commissions(
                &ctx.scope.tenant,
                &payout.commissions,
                &CommissionMove {
                    from: CommissionStatus::Scheduled,
                    from_payout: Some(&payout.id),
                    to: CommissionStatus::Paid,
                    to_payout: Some(&payout.id),
                    at: ctx.now,
                },
            )?;
            let mut anomalies = Vec::with_capacity(skipped.len());
            for commission_id in skipped {
                // The money has moved: record the payout regardless, and
                // leave a trace an operator cannot miss.
                let status = load_commission(ctx, &commission_id)?.status;
                tracing::error!(
                    payout = %payout.id,
                    commission = %commission_id,
                    status = %status,
                    "a paid payout carries a commission that is not scheduled in it"
                );
                anomalies.push(commission_id.to_string());
            }
            ctx.audit(AuditEvent {
                kind: "payout.paid",
                resource_type: "payout",
                resource_id: payout.id.to_string(),
                affiliate_id: Some(payout.affiliate.to_string()),
                payload: json!({
                    "batch_id": payout.batch.to_string(),
                    "amount": money_str(payout.amount),
                    "currency": payout.amount.currency().code(),
                    "reference": payout.provider_reference,
                    "attempt": payout.attempts.to_string(),
                    "reconciled": reconciled,
                    "commission_ids": ids_json(&payout.commissions),
                    "commission_status": commission_change(
                        CommissionStatus::Scheduled,
                        CommissionStatus::Paid,
                    ),
                    "adjustment_ids": ids_json(&payout.adjustments),
                    "anomalies": anomalies,
                }),
            })?;
            tracing::info!(payout = %payout.id, amount = %payout.amount, "payout paid");
        }
        ProviderOutcome::Failed { reason, retryable } => {
            payout.status = PayoutStatus::Failed;
            payout.failure_reason = Some(clip(reason));
            payout.retryable = *retryable;
            ctx.tx.put_payout(&payout)?;
            ctx.audit(failed_event(&payout, false))?;
            tracing::warn!(payout = %payout.id, reason = %reason, "payout failed");
        }
        ProviderOutcome::Unknown { .. } => return Ok(None),
    }
    Ok(Some(payout.batch))
}

/// Finishes a PROCESSING batch once no payout is PENDING or SENDING, and
/// re-derives a finished batch's status after a cancel.
fn settle_batch(ctx: &mut Ctx<'_>, id: &BatchId) -> Result<()> {
    let mut batch = load_batch(ctx, id)?;
    if batch.status == BatchStatus::Scheduled {
        return Ok(());
    }
    let filter = PayoutFilter {
        batch: Some(id.clone()),
        ..Default::default()
    };
    let payouts = ctx.tx.payout_heads(&ctx.scope.tenant, &filter)?;
    let Some(status) = finished_status(&payouts) else {
        return Ok(());
    };
    if status == batch.status {
        return Ok(());
    }
    batch.status = status;
    batch.finished_at = Some(ctx.now);
    ctx.tx.put_batch(&batch)?;
    let summary = stats(batch.clone(), &payouts)?;
    ctx.audit(AuditEvent {
        kind: "batch.finished",
        resource_type: "batch",
        resource_id: batch.id.to_string(),
        affiliate_id: None,
        payload: json!({
            "status": status.as_str(),
            "payouts": summary.payouts.to_string(),
            "attempts": summary.attempts.to_string(),
            "totals": summary.totals.iter().map(|t| json!({
                "status": t.status.as_str(),
                "count": t.count.to_string(),
                "amount": money_str(t.amount),
                "currency": t.amount.currency().code(),
            })).collect::<Vec<_>>(),
        }),
    })
}

/// The finished status a batch's payouts give, or `None` while any is PENDING
/// or SENDING. Cancelled payouts do not count.
fn finished_status(payouts: &[PayoutHead]) -> Option<BatchStatus> {
    let open = payouts
        .iter()
        .any(|p| matches!(p.status, PayoutStatus::Pending | PayoutStatus::Sending));
    if open {
        return None;
    }
    let paid = payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Paid)
        .count();
    let failed = payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Failed)
        .count();
    Some(match (paid, failed) {
        (_, 0) => BatchStatus::Completed,
        (0, _) => BatchStatus::Failed,
        _ => BatchStatus::PartiallyFailed,
    })
}

fn stats(batch: PayoutBatch, payouts: &[PayoutHead]) -> Result<BatchStats> {
    let mut totals: BTreeMap<(PayoutStatus, Currency), (u64, Money)> = BTreeMap::new();
    let mut attempts = 0u64;
    for payout in payouts {
        let currency = payout.amount.currency();
        let entry = totals
            .entry((payout.status, currency))
            .or_insert((0, Money::zero(currency)));
        entry.0 += 1;
        entry.1 = entry.1.checked_add(payout.amount)?;
        attempts += u64::from(payout.attempts);
    }
    let unresolved = payouts
        .iter()
        .filter(|p| p.status == PayoutStatus::Sending)
        .count() as u64;
    let duration = match (
        batch.status.is_finished(),
        batch.started_at,
        batch.finished_at,
    ) {
        (true, Some(start), Some(end)) => Some(end - start),
        _ => None,
    };
    Ok(BatchStats {
        batch,
        payouts: payouts.len() as u64,
        totals: totals
            .into_iter()
            .map(|((status, _), (count, amount))| StatusTotal {
                status,
                count,
                amount,
            })
            .collect(),
        attempts,
        unresolved,
        duration,
    })
}

/// What scheduling will make of one (affiliate, currency) balance.
struct Group {
    commissions: Vec<PayableCommission>,
    adjustments: Vec<Adjustment>,
}

fn schedule(
    ctx: &mut Ctx<'_>,
    request: &ScheduleRequest,
    digest: &str,
    engine: &Engine,
) -> Result<ScheduleOutcome> {
    let tenant = ctx.scope.tenant.clone();
    if let Some(batch) = ctx.tx.batch(&tenant, &request.batch)? {
        if batch.request_digest != digest {
            return Err(Error::conflict(
                "batch",
                &request.batch,
                "already scheduled with a different request",
            ));
        }
        let filter = PayoutFilter {
            batch: Some(batch.id.clone()),
            ..Default::default()
        };
        let payouts = ctx.tx.payouts(&tenant, &filter)?;
        let held = held_from_audit(ctx.tx, &batch)?;
        return Ok(ScheduleOutcome {
            batch,
            payouts,
            held,
            replayed: true,
        });
    }

    // The commissions, all checked before anything is written.
    let commissions = match &request.selection {
        CommissionSelection::Ids(ids) => {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                let commission = load_commission(ctx, id)?;
                if commission.status != CommissionStatus::Approved || commission.payout.is_some() {
                    return Err(Error::IllegalTransition {
                        resource: "commission",
                        id: id.to_string(),
                        from: commission.status.to_string(),
                        action: "schedule",
                    });
                }
                found.push(PayableCommission::of(commission));
            }
            found
        }
        CommissionSelection::AllApproved => ctx.tx.payable_commissions(&tenant)?,
    };

    let mut groups: BTreeMap<(AffiliateId, Currency), Group> = BTreeMap::new();
    for commission in commissions {
        let key = (commission.affiliate.clone(), commission.amount.currency());
        groups
            .entry(key)
            .or_insert_with(|| Group {
                commissions: Vec::new(),
                adjustments: Vec::new(),
            })
            .commissions
            .push(commission);
    }
    let adjustments = match &request.selection {
        CommissionSelection::AllApproved => open_adjustments(ctx.tx, &tenant, None)?,
        CommissionSelection::Ids(_) => {
            let affiliates: BTreeSet<AffiliateId> = groups.keys().map(|(a, _)| a.clone()).collect();
            let mut all = Vec::new();
            for affiliate in affiliates {
                all.extend(open_adjustments(ctx.tx, &tenant, Some(affiliate))?);
            }
            all
        }
    };
    for adjustment in adjustments {
        let key = (adjustment.affiliate.clone(), adjustment.amount.currency());
        match (&request.selection, groups.get_mut(&key)) {
            (_, Some(group)) => group.adjustments.push(adjustment),
            (CommissionSelection::AllApproved, None) => {
                groups.insert(
                    key,
                    Group {
                        commissions: Vec::new(),
                        adjustments: vec![adjustment],
                    },
                );
            }
            // An explicit selection pays only the currencies it selected.
            (CommissionSelection::Ids(_), None) => {}
        }
    }

    // Decide each balance.
    let mut payouts = Vec::new();
    let mut held = Vec::new();
    for ((affiliate_id, currency), group) in groups {
        let mut amount = Money::zero(currency);
        for m in group
            .commissions
            .iter()
            .map(|c| c.amount)
            .chain(group.adjustments.iter().map(|a| a.amount))
        {
            amount = amount.checked_add(m)?;
        }
        let affiliate = ctx
            .tx
            .affiliate(&tenant, &affiliate_id)?
            .ok_or_else(|| Error::not_found("affiliate", &affiliate_id))?;
        let minimum = engine
            .config
            .min_payout
            .get(&currency)
            .copied()
            .unwrap_or_else(|| currency.unit());
        let reason = if affiliate.status != AffiliateStatus::Active {
            Some(HoldReason::AffiliateNotActive)
        } else if affiliate.payout.is_none() {
            Some(HoldReason::NoPayoutDetails)
        } else if amount.amount() < minimum || amount.amount() <= Decimal::ZERO {
            Some(HoldReason::BelowMinimum)
        } else {
            None
        };
        if let Some(reason) = reason {
            held.push(HeldBalance {
                affiliate: affiliate_id,
                amount,
                reason,
            });
            continue;
        }
        let payout_id = PayoutId::generate();
        payouts.push(Payout {
            tenant: tenant.clone(),
            id: payout_id.clone(),
            batch: request.batch.clone(),
            affiliate: affiliate_id,
            amount,
            status: PayoutStatus::Pending,
            attempts: 0,
            commissions: group.commissions.iter().map(|c| c.id.clone()).collect(),
            adjustments: group.adjustments.iter().map(|a| a.id.clone()).collect(),
            provider_reference: None,
            failure_reason: None,
            retryable: false,
            created_at: ctx.now,
            updated_at: ctx.now,
            paid_at: None,
        });
        let ids: Vec<CommissionId> = group.commissions.into_iter().map(|c| c.id).collect();
        let skipped = ctx.tx.move_commissions(
            &tenant,
            &ids,
            &CommissionMove {
                from: CommissionStatus::Approved,
                from_payout: None,
                to: CommissionStatus::Scheduled,
                to_payout: Some(&payout_id),
                at: ctx.now,
            },
        )?;
        if let Some(id) = skipped.first() {
            // Each was read APPROVED and unscheduled in this transaction.
            return Err(Error::integrity(format!(
                "commission {id} changed while it was being scheduled"
            )));
        }
        for mut adjustment in group.adjustments {
            adjustment.payout = Some(payout_id.clone());
            ctx.tx.put_adjustment(&adjustment)?;
        }
    }

    let batch = PayoutBatch {
        tenant: tenant.clone(),
        id: request.batch.clone(),
        scheduled_for: request.scheduled_for,
        status: BatchStatus::Scheduled,
        request_digest: digest.to_owned(),
        created_at: ctx.now,
        started_at: None,
        finished_at: None,
        lease: None,
    };
    ctx.tx.put_batch(&batch)?;
    let mut totals: BTreeMap<Currency, Money> = BTreeMap::new();
    for payout in &payouts {
        let currency = payout.amount.currency();
        let sum = totals
            .entry(currency)
            .or_insert_with(|| Money::zero(currency));
        *sum = sum.checked_add(payout.amount)?;
    }
    ctx.audit(AuditEvent {
        kind: "batch.scheduled",
        resource_type: "batch",
        resource_id: batch.id.to_string(),
        affiliate_id: None,
        payload: json!({
            "scheduled_for": rfc3339(batch.scheduled_for),
            "selection": match &request.selection {
                CommissionSelection::Ids(_) => "IDS",
                CommissionSelection::AllApproved => "ALL_APPROVED",
            },
            "payouts": payouts.len().to_string(),
            "totals": totals.values().map(|m| json!({
                "amount": money_str(*m),
                "currency": m.currency().code(),
            })).collect::<Vec<_>>(),
            "held": held.iter().map(|h| json!({
                "affiliate_id": h.affiliate.to_string(),
                "amount": money_str(h.amount),
                "currency": h.amount.currency().code(),
                "reason": h.reason.as_str(),
            })).collect::<Vec<_>>(),
        }),
    })?;
    for payout in &payouts {
        ctx.tx.put_payout(payout)?;
        ctx.audit(AuditEvent {
            kind: "payout.scheduled",
            resource_type: "payout",
            resource_id: payout.id.to_string(),
            affiliate_id: Some(payout.affiliate.to_string()),
            payload: json!({
                "batch_id": payout.batch.to_string(),
                "amount": money_str(payout.amount),
                "currency": payout.amount.currency().code(),
                "commission_ids": ids_json(&payout.commissions),
                "commission_status": commission_change(
                    CommissionStatus::Approved,
                    CommissionStatus::Scheduled,
                ),
                "adjustment_ids": ids_json(&payout.adjustments),
            }),
        })?;
    }
    Ok(ScheduleOutcome {
        batch,
        payouts,
        held,
        replayed: false,
    })
}

fn open_adjustments(
    tx: &mut dyn Tx,
    tenant: &crate::ids::TenantId,
    affiliate: Option<AffiliateId>,
) -> Result<Vec<Adjustment>> {
    tx.adjustments(
        tenant,
        &AdjustmentFilter {
            affiliate,
            open_only: true,
            payout: None,
        },
    )
}

/// The SHA-256 of the canonical JSON of a (normalised) scheduling request.
fn request_digest(request: &ScheduleRequest) -> Result<String> {
    let selection = match &request.selection {
        CommissionSelection::Ids(ids) => json!({"commission_ids": ids_json(ids)}),
        CommissionSelection::AllApproved => json!("ALL_APPROVED"),
    };
    let value = json!({
        "scheduled_for": rfc3339(request.scheduled_for),
        "selection": selection,
    });
    let bytes = serde_json_canonicalizer::to_vec(&value)
        .map_err(|e| Error::validation("request", format!("cannot be encoded: {e}")))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The held balances of a batch, read back from its `batch.scheduled` record.
fn held_from_audit(tx: &mut dyn Tx, batch: &PayoutBatch) -> Result<Vec<HeldBalance>> {
    let query = AuditQuery {
        resource_id: Some(batch.id.to_string()),
        kind: Some("batch.scheduled".to_owned()),
        limit: Some(1),
        ..Default::default()
    };
    let Some(record) = tx.query_audit(&batch.tenant, &query)?.into_iter().next() else {
        return Ok(Vec::new());
    };
    let broken = || {
        Error::integrity(format!(
            "audit record {} of batch {} has an unreadable held list",
            record.seq, batch.id
        ))
    };
    let Some(items) = record.payload.get("held").and_then(Value::as_array) else {
        return Err(broken());
    };
    items
        .iter()
        .map(|item| {
            let text = |name: &str| item.get(name).and_then(Value::as_str).ok_or_else(broken);
            let currency = Currency::parse(text("currency")?)?;
            Ok(HeldBalance {
                affiliate: AffiliateId::new(text("affiliate_id")?)?,
                amount: Money::parse(text("amount")?, currency, "amount")?,
                reason: HoldReason::parse(text("reason")?)?,
            })
        })
        .collect()
}

fn load_batch(ctx: &mut Ctx<'_>, id: &BatchId) -> Result<PayoutBatch> {
    ctx.tx
        .batch(&ctx.scope.tenant, id)?
        .ok_or_else(|| Error::not_found("batch", id))
}

fn load_payout(ctx: &mut Ctx<'_>, id: &PayoutId) -> Result<Payout> {
    ctx.tx
        .payout(&ctx.scope.tenant, id)?
        .ok_or_else(|| Error::not_found("payout", id))
}

fn load_commission(ctx: &mut Ctx<'_>, id: &CommissionId) -> Result<Commission> {
    ctx.tx
        .commission(&ctx.scope.tenant, id)?
        .ok_or_else(|| Error::not_found("commission", id))
}

fn illegal(payout: &Payout, action: &'static str) -> Error {
    Error::IllegalTransition {
        resource: "payout",
        id: payout.id.to_string(),
        from: payout.status.to_string(),
        action,
    }
}

fn hold_text(affiliate: &Affiliate) -> String {
    if affiliate.status == AffiliateStatus::Active {
        format!("affiliate {} has no payout details", affiliate.id)
    } else {
        format!("affiliate {} is {}", affiliate.id, affiliate.status)
    }
}

fn failed_event(payout: &Payout, held: bool) -> AuditEvent {
    AuditEvent {
        kind: "payout.failed",
        resource_type: "payout",
        resource_id: payout.id.to_string(),
        affiliate_id: Some(payout.affiliate.to_string()),
        payload: json!({
            "batch_id": payout.batch.to_string(),
            "reason": payout.failure_reason,
            "retryable": payout.retryable,
            "attempt": payout.attempts.to_string(),
            "held": held,
        }),
    }
}

fn commission_event(
    kind: &'static str,
    commission: &Commission,
    from: CommissionStatus,
    payout: &PayoutId,
) -> AuditEvent {
    AuditEvent {
        kind,
        resource_type: "commission",
        resource_id: commission.id.to_string(),
        affiliate_id: Some(commission.affiliate.to_string()),
        payload: json!({
            "from": from.as_str(),
            "to": commission.status.as_str(),
            "payout_id": payout.to_string(),
            "amount": money_str(commission.amount),
        }),
    }
}

/// The status change a payout record applies to each commission it lists
/// (less any anomalies it names).
fn commission_change(from: CommissionStatus, to: CommissionStatus) -> Value {
    json!({"from": from.as_str(), "to": to.as_str()})
}

fn ids_json<I: std::fmt::Display>(ids: &[I]) -> Vec<String> {
    ids.iter().map(ToString::to_string).collect()
}

/// Provider text is stored, so it is bounded.
fn clip(text: &str) -> String {
    text.chars().take(MAX_PROVIDER_TEXT).collect()
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
