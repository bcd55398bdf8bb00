"""Payouts: scheduling, processing through Python and simulated providers, retries;
SQLite engines; metrics."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from pathlib import Path

import mlas
import pytest
from conftest import BANK, OTHER, T0, TENANT, line_of, snapshot

D = Decimal


def paid_programme(engine: mlas.Engine) -> list[str]:
    """Two affiliates with bank details, one sale, commissions approved."""
    for aid, sponsor in (("b", None), ("a", "b")):
        engine.create_affiliate(
            tenant=TENANT,
            affiliate_id=aid,
            name=aid,
            email=f"{aid}@example.com",
            commission_rate=D("0"),
            payout_method="BANK_TRANSFER",
            payout_details=BANK,
            sponsor_id=sponsor,
        )
    engine.create_rule(tenant=TENANT, name="r", levels=[D("10"), D("5")])
    outcome = engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=D("200.00"), currency="USD", affiliate_id="a"
    )
    engine.approve_available(tenant=TENANT)
    return [c.id for c in outcome.commissions]


class RecordingProvider:
    """A provider written in Python: pays once per key, refuses one affiliate."""

    def __init__(self) -> None:
        self.paid: dict[str, Decimal] = {}
        self.refuse: set[str] = set()
        self.explode: set[str] = set()
        self.lock = threading.Lock()

    def send(self, instruction: mlas.PayoutInstruction) -> mlas.ProviderOutcome:
        key = instruction.idempotency_key
        if instruction.affiliate_id in self.explode:
            raise RuntimeError("connection reset")
        if instruction.affiliate_id in self.refuse:
            err = mlas.ProviderError("account closed")
            err.retryable = True
            raise err
        assert instruction.details.to_dict(reveal=True)["account_number"] == "1234567890"
        with self.lock:
            self.paid.setdefault(key, instruction.amount)
        return mlas.ProviderOutcome.paid(f"ref-{key}")

    def status(self, key: str) -> mlas.ProviderStatus:
        if key in self.paid:
            return mlas.ProviderStatus.paid(f"ref-{key}")
        return mlas.ProviderStatus.not_found()


def test_schedule_and_process_with_a_python_provider(engine: mlas.Engine) -> None:
    ids = paid_programme(engine)
    scheduled = engine.schedule_payouts(
        tenant=TENANT,
        batch_id="batch-123",
        commission_ids=ids,
        scheduled_for=dt.datetime(2026, 2, 6, tzinfo=dt.timezone.utc),
    )
    assert not scheduled.replayed and scheduled.batch.status is mlas.BatchStatus.SCHEDULED
    assert sorted(p.amount for p in scheduled.payouts) == [D("10.00"), D("20.00")]
    assert engine.commission(ids[0], tenant=TENANT).status == "SCHEDULED"

    provider = RecordingProvider()
    with pytest.raises(mlas.IllegalTransitionError):
        engine.process_batch("batch-123", tenant=TENANT, provider=provider)
    stats = engine.process_batch("batch-123", tenant=TENANT, provider=provider, force=True)
    assert stats.batch.status is mlas.BatchStatus.COMPLETED
    assert stats.count("PAID") == 2 and stats.amount("PAID", "USD") == D("30.00")
    assert stats.attempts == 2 and stats.unresolved == 0
    assert sum(provider.paid.values()) == D("30.00")
    assert {c.status for c in engine.commissions(tenant=TENANT)} == {"PAID"}
    assert engine.batch_stats("batch-123", tenant=TENANT) == stats
    again = engine.schedule_payouts(
        tenant=TENANT,
        batch_id="batch-123",
        commission_ids=ids,
        scheduled_for=dt.datetime(2026, 2, 6, tzinfo=dt.timezone.utc),
    )
    assert again.replayed

    # A paid commission's refund becomes a clawback netted into the next payout.
    engine.refund(tenant=TENANT, refund_id="rf", sale_id="s1", amount=D("200.00"), reason="r")
    assert engine.balance("a", tenant=TENANT) == {"USD": D("-20.00")}
    assert [a.kind for a in engine.adjustments(tenant=TENANT, affiliate_id="a")] == ["CLAWBACK"]


def test_provider_refusals_and_exceptions(engine: mlas.Engine) -> None:
    paid_programme(engine)
    scheduled = engine.schedule_payouts(tenant=TENANT, batch_id="b1", scheduled_for=T0)
    provider = RecordingProvider()
    provider.refuse.add("a")
    provider.explode.add("b")
    stats = engine.process_batch("b1", tenant=TENANT, provider=provider)
    # a was refused (FAILED); b raised, so its outcome is unknown (still SENDING).
    assert stats.unresolved == 1
    failed = engine.failed_payouts(tenant=TENANT)
    assert [p.affiliate_id for p in failed] == ["a"]
    assert failed[0].failure_reason == "account closed" and failed[0].retryable

    # Reconciliation asks status() first: b never arrived, so it is sent again.
    provider.explode.clear()
    stats = engine.process_batch("b1", tenant=TENANT, provider=provider)
    assert stats.unresolved == 0 and stats.batch.status is mlas.BatchStatus.PARTIALLY_FAILED

    provider.refuse.clear()
    retried = engine.retry_payout(failed[0].id, tenant=TENANT, provider=provider)
    assert retried.status is mlas.PayoutStatus.PAID and retried.attempts == 2
    assert engine.batch("b1", tenant=TENANT).status is mlas.BatchStatus.COMPLETED
    assert len(provider.paid) == len(scheduled.payouts) == 2


def test_simulated_provider_and_cancel(engine: mlas.Engine) -> None:
    paid_programme(engine)
    scheduled = engine.schedule_payouts(tenant=TENANT, batch_id="b1", scheduled_for=T0)
    sim = mlas.SimulatedProvider()
    target = scheduled.payouts[0]
    sim.fail_payout(target.id, times=5, reason="bank down", retryable=True)
    stats = engine.process_batch("b1", tenant=TENANT, provider=sim)
    assert stats.count(mlas.PayoutStatus.FAILED) == 1
    cancelled = engine.cancel_payout(target.id, tenant=TENANT, reason="give up")
    assert cancelled.status is mlas.PayoutStatus.CANCELLED
    assert engine.commission(target.commission_ids[0], tenant=TENANT).status == "APPROVED"
    assert sim.payments(scheduled.payouts[1].id) == 1
    assert sim.total_paid("USD") == scheduled.payouts[1].amount
    with pytest.raises(mlas.ValidationError):
        sim.script(target.id, ["explode"])


def test_payout_bad_input_writes_nothing(engine: mlas.Engine) -> None:
    ids = paid_programme(engine)
    line_of(engine, ["z"], tenant=OTHER)
    before = snapshot(engine)
    cases = [
        (
            lambda: engine.schedule_payouts(
                tenant=TENANT, batch_id="x", scheduled_for=T0, commission_ids=[]
            ),
            mlas.ValidationError,
        ),
        (
            lambda: engine.schedule_payouts(
                tenant=TENANT, batch_id="x", scheduled_for=T0, commission_ids=["com_nope"]
            ),
            mlas.NotFoundError,
        ),
        (
            lambda: engine.schedule_payouts(
                tenant=OTHER, batch_id="x", scheduled_for=T0, commission_ids=ids
            ),
            mlas.NotFoundError,
        ),
        (
            lambda: engine.schedule_payouts(
                tenant=TENANT, batch_id="x", scheduled_for=dt.datetime(2026, 2, 6)
            ),
            mlas.ValidationError,
        ),
        (
            lambda: engine.schedule_payouts(
                tenant=TENANT, batch_id="x", scheduled_for=T0, commission_ids="com_1"
            ),
            TypeError,
        ),
        (
            lambda: engine.process_batch("nope", tenant=TENANT, provider=mlas.SimulatedProvider()),
            mlas.NotFoundError,
        ),
        (lambda: engine.process_batch("nope", tenant=TENANT, provider=object()), TypeError),
        (
            lambda: engine.retry_payout(
                "pay_nope", tenant=TENANT, provider=mlas.SimulatedProvider()
            ),
            mlas.NotFoundError,
        ),
        (lambda: engine.cancel_payout("pay_nope", tenant=TENANT, reason="x"), mlas.NotFoundError),
        (lambda: engine.payouts(tenant=TENANT, status="LOST"), mlas.ValidationError),
        (lambda: engine.balance("z", tenant=TENANT), mlas.NotFoundError),
        (lambda: engine.batch("nope", tenant=TENANT), mlas.NotFoundError),
    ]
    for call, expected in cases:
        with pytest.raises(expected):
            call()
        assert snapshot(engine) == before


def test_sqlite_engine_persists_and_backs_up(tmp_path: Path, clock: mlas.FixedClock) -> None:
    path = tmp_path / "mlas.db"
    engine = mlas.Engine.open(path, clock=clock)
    line_of(engine, ["a", "b"])
    engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=D("10.00"), currency="USD", affiliate_id="a"
    )
    head = engine.audit_head(tenant=TENANT)
    engine.backup(tmp_path / "copy.db")
    with pytest.raises(mlas.ValidationError):
        engine.backup(tmp_path / "copy.db")
    del engine

    reopened = mlas.Engine.open(path, synchronous="FULL")
    assert reopened.audit_head(tenant=TENANT) == head
    assert reopened.commissions(tenant=TENANT)[0].amount == D("1.00")
    copy = mlas.Engine.open(tmp_path / "copy.db")
    assert copy.sale("s1", tenant=TENANT).amount == D("10.00")
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.in_memory().backup(tmp_path / "x.db")
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.open(tmp_path / "y.db", synchronous="OFF")
    with pytest.raises(mlas.StorageError):
        mlas.Engine.open(tmp_path / "no-such-dir" / "z.db")


def test_sqlite_engine_from_threads(tmp_path: Path) -> None:
    engine = mlas.Engine.open(tmp_path / "t.db")
    line_of(engine, ["a"])

    def work(worker: int) -> None:
        for i in range(25):
            engine.record_sale(
                tenant=TENANT,
                sale_id=f"{worker}-{i}",
                amount=D("1.00"),
                currency="USD",
                affiliate_id="a",
            )

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(engine.commissions(tenant=TENANT)) == 100


def test_metrics_snapshot(engine: mlas.Engine) -> None:
    paid_programme(engine)
    m = engine.metrics(tenant=TENANT)
    assert m.active_affiliates == 2
    assert m.commissions_by_status == {"APPROVED": 2}
    assert m.average_commission == {"USD": D("15.00")}
    assert 'mlas_commissions{tenant="org-123",status="APPROVED"} 2' in m.to_prometheus()
