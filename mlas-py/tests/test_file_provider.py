"""FileProvider: payouts written to a CSV file for manual upload, in both modes."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import mlas
import pytest
from conftest import TENANT
from test_payouts import paid_programme

D = Decimal


def scheduled(engine: mlas.Engine, batch_id: str = "b1") -> list[mlas.Payout]:
    outcome = engine.schedule_payouts(
        tenant=TENANT, batch_id=batch_id, scheduled_for=engine.now() - dt.timedelta(days=1)
    )
    return outcome.payouts


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_submitted_is_paid(engine: mlas.Engine, tmp_path: Path) -> None:
    paid_programme(engine)
    payouts = scheduled(engine)
    path = tmp_path / "batch.csv"
    provider = mlas.FileProvider(path, mode=mlas.FileMode.SUBMITTED_IS_PAID)
    assert provider.path == path and provider.mode is mlas.FileMode.SUBMITTED_IS_PAID
    assert "SUBMITTED_IS_PAID" in repr(provider)

    stats = engine.process_batch("b1", tenant=TENANT, provider=provider)
    assert stats.batch.status == "COMPLETED" and stats.count("PAID") == 2
    for p in payouts:
        assert engine.payout(p.id, tenant=TENANT).provider_reference == f"file:{p.id}"

    written = rows(path)
    assert sorted(r["reference"] for r in written) == sorted(p.id for p in payouts)
    assert {r["account"] for r in written} == {"****7890"}  # masked, never in full
    assert "1234567890" not in path.read_text()
    assert sorted(r["amount"] for r in written) == ["10.00", "20.00"]
    assert {r["method"] for r in written} == {"BANK_TRANSFER"}
    assert {r["currency"] for r in written} == {"USD"}


def test_await_confirmation(engine: mlas.Engine, tmp_path: Path) -> None:
    paid_programme(engine)
    payouts = scheduled(engine)
    provider = mlas.FileProvider(tmp_path / "batch.csv", mode="AWAIT_CONFIRMATION")
    stats = engine.process_batch("b1", tenant=TENANT, provider=provider)
    assert stats.batch.status == "PROCESSING" and stats.unresolved == 2
    assert {engine.payout(p.id, tenant=TENANT).status for p in payouts} == {"SENDING"}

    # Processing again before any confirmation writes nothing new.
    engine.process_batch("b1", tenant=TENANT, provider=provider)
    assert len(rows(provider.path)) == 2

    provider.confirm(payouts[0].id, "bank-0001")
    stats = engine.process_batch("b1", tenant=TENANT, provider=provider)
    assert stats.count("PAID") == 1 and stats.batch.status == "PROCESSING"
    assert engine.payout(payouts[0].id, tenant=TENANT).provider_reference == "bank-0001"

    provider.confirm(payouts[1].id, "bank-0002")
    stats = engine.process_batch("b1", tenant=TENANT, provider=provider)
    assert stats.batch.status == "COMPLETED" and stats.count("PAID") == 2
    assert len(rows(provider.path)) == 2


def test_a_reopened_file_never_writes_a_payout_twice(engine: mlas.Engine, tmp_path: Path) -> None:
    paid_programme(engine)
    payouts = scheduled(engine)
    path = tmp_path / "batch.csv"
    first = mlas.FileProvider(path, mode="AWAIT_CONFIRMATION")
    engine.process_batch("b1", tenant=TENANT, provider=first)

    # A new process reopens the file: the written ids are read back, and the
    # host confirms again from its bank statement.
    again = mlas.FileProvider(path, mode="AWAIT_CONFIRMATION")
    for p in payouts:
        again.confirm(p.id, f"stmt-{p.id}")
    stats = engine.process_batch("b1", tenant=TENANT, provider=again)
    assert stats.batch.status == "COMPLETED"
    assert len(rows(path)) == 2


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(mlas.ValidationError, match="SOMETIMES"):
        mlas.FileProvider(tmp_path / "x.csv", mode="SOMETIMES")
    with pytest.raises(TypeError):
        mlas.FileProvider(tmp_path / "x.csv", mode=1)  # type: ignore[arg-type]
    with pytest.raises(mlas.ProviderError, match="cannot"):
        mlas.FileProvider(tmp_path / "missing" / "x.csv", mode="SUBMITTED_IS_PAID")
    provider = mlas.FileProvider(tmp_path / "x.csv", mode="SUBMITTED_IS_PAID")
    with pytest.raises(mlas.ValidationError):
        provider.confirm("", "ref")
