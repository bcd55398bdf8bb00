"""The audit trail from Python: query, verify, checkpoints, export, archive, health."""

from __future__ import annotations

import datetime as dt
import io
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


def test_verify_audit_range(programme: mlas.Engine) -> None:
    head = programme.audit_head(tenant=TENANT)
    assert head is not None
    whole = programme.verify_audit_range(tenant=TENANT)
    assert whole.intact and whole.records == head.seq and whole.head == head
    middle = programme.verify_audit_range(2, 4, tenant=TENANT)
    # The record before the range is checked (and counted) too.
    assert middle.intact and middle.records == 4 and middle.head.seq == 4  # type: ignore[union-attr]
    tail = programme.verify_audit_range(from_seq=head.seq, tenant=TENANT)
    assert tail.intact and tail.head == head
    assert programme.verify_audit_range(through_seq=2, tenant=TENANT).records == 2
    with pytest.raises(mlas.ValidationError):
        programme.verify_audit_range(4, 2, tenant=TENANT)
    with pytest.raises(mlas.ValidationError):
        programme.verify_audit_range(0, tenant=TENANT)
    with pytest.raises(OverflowError):
        programme.verify_audit_range(-1, tenant=TENANT)
    empty = programme.verify_audit_range(tenant="nobody")
    assert empty.intact and empty.records == 0


def test_verify_audit_range_after_archiving(
    engine: mlas.Engine, clock: mlas.FixedClock, tmp_path: Path
) -> None:
    line_of(engine, ["a", "b"])
    clock.advance(dt.timedelta(days=400))
    engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=D("10.00"), currency="USD", affiliate_id="a"
    )
    assert engine.archive_audit(tmp_path / "old.jsonl", tenant=TENANT, before=clock.now()) == 2
    # None starts after the archived records; naming an archived one is refused.
    report = engine.verify_audit_range(tenant=TENANT)
    assert report.intact and report.start is not None and report.start.seq == 2
    with pytest.raises(mlas.ValidationError, match="archived"):
        engine.verify_audit_range(1, tenant=TENANT)


def test_range_detects_tampering_inside_it(tmp_path: Path, clock: mlas.FixedClock) -> None:
    path = tmp_path / "mlas.db"
    engine = mlas.Engine.open(path, clock=clock)
    line_of(engine, ["a", "b", "c", "d"])
    del engine
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        table = next(t for t in tables if "audit" in t and "anchor" not in t)
        db.execute(f"update {table} set actor = 'mallory' where seq = 3")
    engine = mlas.Engine.open(path)
    assert engine.verify_audit_range(1, 2, tenant=TENANT).intact
    broken = engine.verify_audit_range(2, 4, tenant=TENANT)
    assert not broken.intact and broken.broken_seq == 3


class Chunks:
    """A binary file object that keeps every chunk it is handed."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.flushes = 0

    def write(self, data: bytes) -> int:
        assert isinstance(data, bytes)
        self.chunks.append(data)
        return len(data)

    def flush(self) -> None:
        self.flushes += 1

    def text(self) -> str:
        return b"".join(self.chunks).decode()


def many_records(engine: mlas.Engine, sales: int) -> None:
    line_of(engine, ["a", "b"])
    engine.record_sales(
        [
            mlas.NewSale(sale_id=f"s{i}", amount=D("10.00"), currency="USD", affiliate_id="a")
            for i in range(sales)
        ],
        tenant=TENANT,
    )


def test_export_to_a_file_object_streams_in_chunks(engine: mlas.Engine, tmp_path: Path) -> None:
    many_records(engine, 600)
    head = engine.audit_head(tenant=TENANT)
    assert head is not None

    sink = Chunks()
    assert engine.export_audit(sink, tenant=TENANT) == head.seq
    assert len(sink.chunks) > 3, "the export was not streamed"
    assert max(len(c) for c in sink.chunks) <= 64 * 1024
    assert sink.flushes >= 1
    on_disk = tmp_path / "audit.jsonl"
    engine.export_audit(on_disk, tenant=TENANT)
    assert sink.text() == on_disk.read_text()

    buffer = io.BytesIO()
    assert engine.export_audit(buffer, tenant=TENANT, format="csv", through_seq=10) == 10
    assert buffer.getvalue().decode().count("\n") == 11  # header + 10 records

    with (tmp_path / "opened.jsonl").open("wb") as f:
        engine.export_audit(f, tenant=TENANT, from_seq=5, through_seq=6)
    assert len((tmp_path / "opened.jsonl").read_text().splitlines()) == 2
    assert engine.export_audit(str(tmp_path / "by-str.jsonl"), tenant=TENANT) == head.seq


def test_file_object_errors(engine: mlas.Engine, tmp_path: Path) -> None:
    many_records(engine, 300)

    class Full:
        def __init__(self) -> None:
            self.calls = 0

        def write(self, data: bytes) -> int:
            self.calls += 1
            if self.calls == 2:
                raise OSError(28, "No space left on device")
            return len(data)

    full = Full()
    with pytest.raises(OSError, match="No space left"):
        engine.export_audit(full, tenant=TENANT)
    assert full.calls == 2  # nothing written after the failure

    with (tmp_path / "text.jsonl").open("w") as f, pytest.raises(TypeError, match="binary"):
        engine.export_audit(f, tenant=TENANT)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path or a binary file object"):
        engine.export_audit(42, tenant=TENANT)  # type: ignore[arg-type]

    class Liar:
        def write(self, data: bytes) -> int:
            return 0

    with pytest.raises(TypeError, match="write\\(\\) returned 0"):
        engine.export_audit(Liar(), tenant=TENANT)


def test_short_writes_are_completed(engine: mlas.Engine) -> None:
    many_records(engine, 20)

    class Raw:
        """Takes at most 100 bytes per call, like a raw file object may."""

        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, data: bytes) -> int:
            self.data += data[:100]
            return min(len(data), 100)

    raw, whole = Raw(), io.BytesIO()
    engine.export_audit(raw, tenant=TENANT)
    engine.export_audit(whole, tenant=TENANT)
    assert bytes(raw.data) == whole.getvalue()


def test_archive_to_a_file_object(
    engine: mlas.Engine, clock: mlas.FixedClock, tmp_path: Path
) -> None:
    many_records(engine, 300)
    clock.advance(dt.timedelta(days=400))
    engine.record_sale(
        tenant=TENANT, sale_id="late", amount=D("10.00"), currency="USD", affiliate_id="a"
    )
    sink = Chunks()
    archived = engine.archive_audit(sink, tenant=TENANT, before=clock.now())
    assert archived > 600 and len(sink.chunks) > 1 and sink.flushes >= 1
    archive = tmp_path / "archive.jsonl"
    archive.write_bytes(b"".join(sink.chunks))
    assert engine.verify_audit_with_archives([archive], tenant=TENANT).intact


def test_a_failed_archive_deletes_nothing(engine: mlas.Engine, clock: mlas.FixedClock) -> None:
    many_records(engine, 50)
    clock.advance(dt.timedelta(days=400))
    head = engine.audit_head(tenant=TENANT)

    class Broken:
        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            raise OSError("device gone")

    with pytest.raises(OSError, match="device gone"):
        engine.archive_audit(Broken(), tenant=TENANT, before=clock.now())
    assert engine.audit_head(tenant=TENANT) == head
    assert engine.verify_audit_range(1, tenant=TENANT).records == head.seq  # type: ignore[union-attr]
