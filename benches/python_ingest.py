"""Benchmark 6: bulk ingest through the Python package beside the same work in Rust.

Goal: the Python time is at most 1.3 times the Rust time.

The Python side repeats benches/ingest.rs: a SQLite file (WAL, synchronous=NORMAL),
200 sponsor chains of 5 affiliates, one rule paying 10/5/3/2/1 percent, and
batches of 1,000 sales per ``Engine.record_sales`` call (one transaction each).
The Rust figure comes from the same machine in the same run: this script runs
``cargo bench --bench ingest`` (the ``record_sales_1000`` case) first and reads
criterion's median time per batch.

Run from the repository root after installing the package (``pip install ./mlas-py``):

    python benches/python_ingest.py [--batches 10] [--rust-ms 123.4]

``--rust-ms`` skips the cargo run and uses a figure you measured yourself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import mlas

TENANT = "org-bench"
DEPTH = 5
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def rust_ms_per_batch() -> float:
    out = subprocess.run(
        ["cargo", "bench", "--bench", "ingest", "--", "--warm-up-time", "1",
         "--measurement-time", "3", "record_sales_1000"],
        check=True, capture_output=True, text=True,
    ).stdout
    match = re.search(r"record_sales_1000\s+time:\s+\[\S+ \S+ (\S+) (\w+)", out)
    if not match:
        raise SystemExit(f"no criterion time in the cargo output:\n{out}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"s": 1000.0, "ms": 1.0, "µs": 0.001, "us": 0.001}[unit]


def populate(engine: mlas.Engine, chains: int) -> list[str]:
    sellers = []
    for c in range(chains):
        sponsor = None
        for level in range(DEPTH, 0, -1):
            affiliate_id = f"aff-{c:05}-{level}"
            engine.create_affiliate(
                tenant=TENANT, name=f"Affiliate {c} {level}",
                email=f"a{c}l{level}@example.com", commission_rate=Decimal(10),
                sponsor_id=sponsor, affiliate_id=affiliate_id,
            )
            sponsor = affiliate_id
        sellers.append(sponsor)
    engine.create_rule(tenant=TENANT, name="five levels",
                       levels=[Decimal(p) for p in (10, 5, 3, 2, 1)])
    return sellers


def sales(batch: int, count: int, sellers: list[str]) -> list[dict]:
    at = NOW - dt.timedelta(days=1)
    return [
        {"sale_id": f"s{batch:08}-{i:05}",
         "amount": Decimal(1000 + (i * 7919) % 100_000).scaleb(-2),
         "currency": "USD", "affiliate_id": sellers[i % len(sellers)], "occurred_at": at}
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--rust-ms", type=float)
    args = parser.parse_args()

    rust_ms = args.rust_ms if args.rust_ms is not None else rust_ms_per_batch()
    with tempfile.TemporaryDirectory(dir=Path("target")) as tmp:
        engine = mlas.Engine.open(Path(tmp) / "py.db", clock=mlas.FixedClock(NOW),
                                  synchronous="NORMAL")
        sellers = populate(engine, 200)
        times = []
        for b in range(args.batches + 1):
            batch = sales(b, args.batch_size, sellers)
            start = time.perf_counter()
            engine.record_sales(batch, tenant=TENANT)
            if b > 0:  # the first batch warms up
                times.append((time.perf_counter() - start) * 1000)
    py_ms = statistics.median(times)
    print(f"python: {py_ms:.1f} ms per {args.batch_size}-sale batch "
          f"({args.batch_size / py_ms * 1000:.0f} sales/s); rust: {rust_ms:.1f} ms; "
          f"python/rust {py_ms / rust_ms:.2f} (goal <= 1.30)")


if __name__ == "__main__":
    main()
