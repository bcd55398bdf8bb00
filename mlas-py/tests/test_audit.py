"""The audit trail from Python: query, verify, checkpoints, export, archive, health."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import mlas
import pytest
from conftest import TENANT, line_of

D = Decimal


def test_query_verify_export_and_checkpoint(programme: mlas.Engine, tmp_path: Path) -> None:
    records, cursor = programme.audit_records(tenant=TENANT, limit=2)
    assert [r.seq for r in records] == [1, 2] and cursor == 2
    rest, end = programme.audit_records(tenant=TENANT, after_seq=cursor)
    assert end is None and rest[0].seq == 3
    assert records[0].actor == "tests" and records[0].kind == "affiliate.created"
    s1 = programme.audit_records(tenant=TENANT, resource_id="s1")[0]
    assert [r.kind for r in s1] == ["sale.recorded"]
    assert s1[0].payload["amount"] == "100.00"

    report = programme.verify_audit(tenant=TENANT)
    assert report.intact and report.broken_seq is None
    report.raise_if_broken()
    head = programme.audit_head(tenant=TENANT)
    assert report.head == head and report.records == head.seq  # type: ignore[union-attr]

    checkpoint = programme.checkpoint(tenant=TENANT)
    again = mlas.Checkpoint.from_json(checkpoint.to_json())
    assert again == checkpoint
    assert programme.verify_against(again, tenant=TENANT).intact
    with pytest.raises(mlas.ValidationError):
        programme.verify_against(checkpoint, tenant="org-999")

    out = tmp_path / "audit.jsonl"
    assert programme.export_audit(out, tenant=TENANT) == head.seq  # type: ignore[union-attr]
    lines = out.read_text().splitlines()
    assert json.loads(lines[-1])["hash"] == head.hash  # type: ignore[union-attr]
    assert programme.export_audit(tmp_path / "audit.csv", tenant=TENANT, format="csv") > 0
    with pytest.raises(mlas.ValidationError):
        programme.export_audit(out, tenant=TENANT)
    with pytest.raises(mlas.ValidationError):
        programme.export_audit(tmp_path / "x", tenant=TENANT, format="xml")
    health = programme.health(tenant=TENANT)
    assert health.status == "healthy" and health.audit_intact


def test_tampering_is_detected(tmp_path: Path, clock: mlas.FixedClock) -> None:
    path = tmp_path / "mlas.db"
    engine = mlas.Engine.open(path, clock=clock)
    line_of(engine, ["a", "b"])
    engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=D("100.00"), currency="USD", affiliate_id="a"
    )
    assert engine.verify_audit(tenant=TENANT).intact
    del engine
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if "audit" in t and "anchor" not in t)
        db.execute(f"update {table} set actor = 'mallory' where seq = 2")
    engine = mlas.Engine.open(path)
    report = engine.verify_audit(tenant=TENANT)
    assert not report.intact and report.broken_seq == 2
    with pytest.raises(mlas.IntegrityError, match="seq 2"):
        report.raise_if_broken()
    assert engine.health(tenant=TENANT).status == "unhealthy"


def test_archive_keeps_the_rest_verifiable(
    engine: mlas.Engine, clock: mlas.FixedClock, tmp_path: Path
) -> None:
    line_of(engine, ["a"])
    clock.advance(dt.timedelta(days=400))
    engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=D("10.00"), currency="USD", affiliate_id="a"
    )
    archive = tmp_path / "2026.jsonl"
    archived = engine.archive_audit(
        archive, tenant=TENANT, before=clock.now() - dt.timedelta(days=365)
    )
    assert archived == 1
    assert engine.verify_audit(tenant=TENANT).intact
    assert engine.verify_audit_with_archives([archive], tenant=TENANT).intact
    with pytest.raises(mlas.ValidationError):
        engine.archive_audit(archive, tenant=TENANT, before=clock.now())
    with pytest.raises(mlas.ValidationError):
        engine.archive_audit(tmp_path / "n", tenant=TENANT, before=dt.datetime(2026, 1, 1))
