"""The logging bridge: nothing until the host opts in, then `tracing` events
reach `logging`, from any thread, without deadlocks."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import mlas
import pytest
from conftest import BANK, TENANT

D = Decimal


class Collect(logging.Handler):
    """Keeps every record it is handed, from any thread."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[logging.LogRecord] = []
        self.threads: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.threads.add(threading.current_thread().name)


@pytest.fixture
def collect() -> Iterator[Collect]:
    """The bridge at DEBUG with a handler on the "mlas" logger; OFF afterwards."""
    mlas.enable_logging("DEBUG")
    handler = Collect()
    logger = logging.getLogger("mlas")
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        mlas.enable_logging("OFF")


def paying_programme(engine: mlas.Engine, prefix: str = "") -> None:
    engine.create_affiliate(
        tenant=TENANT,
        affiliate_id=f"{prefix}a",
        name="A",
        email="a@example.com",
        commission_rate=D("10"),
        payout_method="BANK_TRANSFER",
        payout_details=BANK,
    )


def test_nothing_is_installed_until_the_host_asks() -> None:
    # A fresh interpreter: this process may have enabled the bridge already.
    script = """
import datetime as dt, logging
from decimal import Decimal
import mlas

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record)
logger = logging.getLogger("mlas")
logger.addHandler(Keep())
logger.setLevel(5)

def work(engine, n):
    engine.create_affiliate(tenant="t", affiliate_id=f"a{n}", name="A",
                            email="a@example.com", commission_rate=Decimal("10"))
    engine.record_sale(tenant="t", sale_id=f"s{n}", amount=Decimal("10.00"),
                       currency="USD", affiliate_id=f"a{n}")

engine = mlas.Engine.in_memory()
work(engine, 1)
assert records == [], records
assert mlas.enable_logging("DEBUG") is True
assert mlas.enable_logging("INFO") is False
work(engine, 2)
assert records == [], [r.getMessage() for r in records]  # only DEBUG events so far
mlas.enable_logging("DEBUG")
work(engine, 3)
names = sorted({r.name for r in records})
assert names == ["mlas.core.engine.affiliates", "mlas.core.engine.sales"], names
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_events_become_log_records(collect: Collect, tmp_path: Path) -> None:
    clock = mlas.FixedClock(dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc))
    engine = mlas.Engine.open(tmp_path / "mlas.db", clock=clock)
    paying_programme(engine)
    engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=D("100.00"), currency="USD", affiliate_id="a"
    )
    engine.approve_available(tenant=TENANT)
    engine.schedule_payouts(tenant=TENANT, batch_id="b1", scheduled_for=clock.now())
    sim = mlas.SimulatedProvider()
    engine.process_batch("b1", tenant=TENANT, provider=sim)

    migrated = [r for r in collect.records if r.name == "mlas.sqlite.migrations"]
    assert migrated and migrated[0].levelno == logging.INFO

    sale = next(r for r in collect.records if r.getMessage().startswith("sale recorded"))
    assert sale.name == "mlas.core.engine.sales"
    assert sale.levelno == logging.DEBUG and sale.levelname == "DEBUG"
    assert sale.getMessage() == "sale recorded sale=s1 lines=1 replayed=false"
    fields = {"sale": "s1", "lines": 1, "replayed": False}
    assert sale.mlas_fields == fields  # type: ignore[attr-defined]
    assert sale.pathname.endswith(".rs") and sale.lineno > 0

    paid = next(r for r in collect.records if r.getMessage().startswith("payout paid"))
    assert paid.name == "mlas.core.engine.payouts" and paid.levelno == logging.INFO
    scheduled = next(r for r in collect.records if r.msg.startswith("payout batch scheduled"))
    assert scheduled.mlas_fields["replayed"] is False  # type: ignore[attr-defined]

    # Nothing sensitive travels: the account number and routing number never appear.
    text = "\n".join(r.getMessage() + repr(getattr(r, "mlas_fields", {})) for r in collect.records)
    assert "1234567890" not in text and "021000021" not in text


def test_the_level_filters_in_rust_and_can_be_changed(collect: Collect) -> None:
    engine = mlas.Engine.in_memory()
    paying_programme(engine)
    assert any(r.levelno == logging.DEBUG for r in collect.records)

    collect.records.clear()
    assert mlas.enable_logging(logging.WARNING) is False
    paying_programme(engine, prefix="x")
    assert collect.records == []

    mlas.enable_logging("trace")
    assert logging.getLevelName(5) == "TRACE"
    paying_programme(engine, prefix="y")
    assert [r.levelname for r in collect.records] == ["DEBUG"]


def test_bad_levels_are_refused() -> None:
    with pytest.raises(ValueError, match="VERBOSE"):
        mlas.enable_logging("VERBOSE")
    with pytest.raises(TypeError):
        mlas.enable_logging(True)
    with pytest.raises(TypeError):
        mlas.enable_logging(1.5)  # type: ignore[arg-type]


def test_a_failing_logging_setup_never_fails_the_engine(
    collect: Collect, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def explode(record: logging.LogRecord) -> bool:
        raise RuntimeError("filter exploded")

    collect.addFilter(explode)
    try:
        engine = mlas.Engine.in_memory()
        paying_programme(engine)
    finally:
        collect.removeFilter(explode)
    assert engine.affiliate("a", tenant=TENANT).name == "A"
    assert unraisable and "filter exploded" in repr(unraisable[0].exc_value)  # type: ignore[attr-defined]


class SlowBank:
    """A Python provider: takes the GIL back inside `process_batch` too."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paid: set[str] = set()

    def send(self, instruction: mlas.PayoutInstruction) -> mlas.ProviderOutcome:
        with self.lock:
            self.paid.add(instruction.idempotency_key)
        logging.getLogger("mlas.tests.bank").info("sent %s", instruction.idempotency_key)
        return mlas.ProviderOutcome.paid(f"bank-{instruction.idempotency_key}")

    def status(self, key: str) -> mlas.ProviderStatus:
        return mlas.ProviderStatus.paid(f"bank-{key}")


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_events_from_many_threads_never_deadlock(
    collect: Collect, tmp_path: Path, backend: str
) -> None:
    clock = mlas.FixedClock(dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc))
    if backend == "sqlite":
        engine = mlas.Engine.open(tmp_path / "mlas.db", clock=clock)
    else:
        engine = mlas.Engine.in_memory(clock=clock)
    workers = 6
    for w in range(workers):
        paying_programme(engine, prefix=f"w{w}")
    bank = SlowBank()
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers + 1)

    def work(w: int) -> None:
        try:
            barrier.wait()
            ids = []
            for i in range(15):
                sale = engine.record_sale(
                    tenant=TENANT,
                    sale_id=f"w{w}-s{i}",
                    amount=D("10.00"),
                    currency="USD",
                    affiliate_id=f"w{w}a",
                )
                ids += [c.id for c in sale.commissions]
            engine.approve_available(tenant=TENANT)
            batch = f"batch-{w}"
            engine.schedule_payouts(
                tenant=TENANT, batch_id=batch, scheduled_for=clock.now(), commission_ids=ids
            )
            engine.process_batch(batch, tenant=TENANT, provider=bank)
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(w,), name=f"worker-{w}") for w in range(workers)]
    for t in threads:
        t.start()
    barrier.wait()
    # The main thread keeps the GIL busy with Python work and logging meanwhile.
    for i in range(2000):
        logging.getLogger("mlas.tests").debug("main %d", i)
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker is stuck: deadlock"
    assert errors == []

    sales = [r for r in collect.records if r.getMessage().startswith("sale recorded")]
    assert len(sales) == workers * 15
    assert {f"worker-{w}" for w in range(workers)} <= collect.threads
    assert len(bank.paid) == workers
    assert engine.verify_audit(tenant=TENANT).intact
