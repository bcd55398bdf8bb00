"""Engine.open's SQLite settings: synchronous, busy timeout, write attempts, readers."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import mlas
import pytest
from conftest import TENANT

D = Decimal


def add(engine: mlas.Engine, affiliate_id: str) -> None:
    engine.create_affiliate(
        tenant=TENANT,
        affiliate_id=affiliate_id,
        name=affiliate_id,
        email="x@example.com",
        commission_rate=D("10"),
    )


HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the database's write lock until the block ends.

    A second process, because POSIX locks do not conflict within one process
    and Python's sqlite3 is another copy of SQLite than the engine's.
    """
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        try:
            yield holder
        finally:
            if holder.poll() is None:
                release(holder)
            holder.wait(timeout=30)


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    if not holder.stdin.closed:
        holder.stdin.close()  # the holder's readline() returns: it rolls back


@pytest.mark.parametrize(
    "timeout", [0.05, dt.timedelta(milliseconds=50)], ids=["seconds", "timedelta"]
)
def test_busy_timeout_and_write_attempts(tmp_path: Path, timeout: float | dt.timedelta) -> None:
    path = tmp_path / "mlas.db"
    engine = mlas.Engine.open(path, busy_timeout=timeout, max_write_attempts=1, max_idle_readers=0)
    add(engine, "a")

    with write_lock_held(path):
        started = time.monotonic()
        with pytest.raises(mlas.StorageError) as err:
            add(engine, "b")
        # The default (5 s, 8 attempts) would wait far longer.
        assert time.monotonic() - started < 3
        assert err.value.retryable is True
        assert engine.affiliate("a", tenant=TENANT).name == "a"  # reads still work
    add(engine, "b")
    assert len(engine.affiliates(tenant=TENANT)) == 2


def test_the_default_timeout_waits_for_a_short_lock(tmp_path: Path) -> None:
    path = tmp_path / "mlas.db"
    engine = mlas.Engine.open(path, synchronous="FULL")
    add(engine, "a")
    with write_lock_held(path) as holder:
        timer = threading.Timer(0.3, release, args=(holder,))
        timer.start()
        started = time.monotonic()
        add(engine, "b")  # waits under the default 5 s busy timeout
        assert time.monotonic() - started >= 0.2
        timer.join()
    assert len(engine.affiliates(tenant=TENANT)) == 2


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mlas.db"
    with pytest.raises(mlas.ValidationError, match="busy_timeout"):
        mlas.Engine.open(path, busy_timeout=-1)
    with pytest.raises(mlas.ValidationError, match="busy_timeout"):
        mlas.Engine.open(path, busy_timeout=float("nan"))
    with pytest.raises(mlas.ValidationError, match="busy_timeout"):
        mlas.Engine.open(path, busy_timeout=dt.timedelta(days=2))
    with pytest.raises(TypeError):
        mlas.Engine.open(path, busy_timeout=True)
    with pytest.raises(TypeError):
        mlas.Engine.open(path, busy_timeout="5")  # type: ignore[arg-type]
    with pytest.raises(mlas.ValidationError, match="max_write_attempts"):
        mlas.Engine.open(path, max_write_attempts=0)
    with pytest.raises(mlas.ValidationError, match="max_idle_readers"):
        mlas.Engine.open(path, max_idle_readers=-1)
    with pytest.raises(mlas.ValidationError, match="synchronous"):
        mlas.Engine.open(path, synchronous="OFF")
    assert not path.exists()
