"""Benchmark 6: bulk ingest through the Python package beside the same work in Rust.

Goal: the Python time is at most 1.3 times the Rust time.

The Python side repeats benches/ingest.rs: a SQLite file (WAL, synchronous=NORMAL),
200 sponsor chains of 5 affiliates, one rule paying 10/5/3/2/1 percent, and
batches of 1,000 sales per ``Engine.record_sales`` call (one transaction each).
The Rust figure is the very same work in Rust (``examples/ingest_batches.rs``:
a fresh file, the same chains, rule and sales, the same number of calls, the
median call), run as a subprocess in rounds that alternate with the Python
rounds, so both sides see the same machine at the same time. The figures are
the medians over the rounds.

Run from the repository root after installing the package (``pip install ./mlas-py``):

    python benches/python_ingest.py [--rounds 3] [--batches 10] [--rust-ms 123.4]

``--rust-ms`` skips the Rust rounds and uses a figure you measured yourself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
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
DETAILS = mlas.PayoutDetails.us_bank(
    account_number="1234567890",
    routing_number="021000021",
    bank_name="Bank",
    account_holder_name="Holder",
)


def build_rust() -> Path:
    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--example", "ingest_batches"], check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", "target"))
    return target / "release" / "examples" / "ingest_batches"


def rust_ms_per_batch(binary: Path, batches: int, batch_size: int) -> float:
    out = subprocess.run(
        [str(binary), str(batches), str(batch_size)], check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"rust_ms_per_batch (\S+)", out)
    if not match:
        raise SystemExit(f"no figure in the Rust run's output:\n{out}")
    return float(match.group(1))


def populate(engine: mlas.Engine, chains: int) -> list[str]:
    """The chains and rule of benches/common/mod.rs, bank details included."""
    sellers = []
    for c in range(chains):
        sponsor = None
        for level in range(DEPTH, 0, -1):
            affiliate_id = f"aff-{c:05}-{level}"
            engine.create_affiliate(
                tenant=TENANT,
                name=f"Affiliate {c} {level}",
                email=f"a{c}l{level}@example.com",
                commission_rate=Decimal(10),
                payout_details=DETAILS,
                sponsor_id=sponsor,
                affiliate_id=affiliate_id,
            )
            sponsor = affiliate_id
        sellers.append(sponsor)
    engine.create_rule(
        tenant=TENANT, name="five levels", levels=[Decimal(p) for p in (10, 5, 3, 2, 1)]
    )
    return sellers


def sales(batch: int, count: int, sellers: list[str]) -> list[dict]:
    at = NOW - dt.timedelta(days=1)
    return [
        {
            "sale_id": f"s{batch:08}-{i:05}",
            "amount": Decimal(1000 + (i * 7919) % 100_000).scaleb(-2),
            "currency": "USD",
            "affiliate_id": sellers[i % len(sellers)],
            "occurred_at": at,
        }
        for i in range(count)
    ]


def python_ms_per_batch(batches: int, batch_size: int) -> float:
    with tempfile.TemporaryDirectory(dir=Path("target")) as tmp:
        engine = mlas.Engine.open(
            Path(tmp) / "py.db", clock=mlas.FixedClock(NOW), synchronous="NORMAL"
        )
        sellers = populate(engine, 200)
        times = []
        for b in range(batches + 1):
            batch = sales(b, batch_size, sellers)
            start = time.perf_counter()
            engine.record_sales(batch, tenant=TENANT)
            if b > 0:  # the first batch warms up
                times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--rust-ms", type=float)
    args = parser.parse_args()

    binary = build_rust() if args.rust_ms is None else None
    py, rust = [], []
    for _ in range(args.rounds):
        py.append(python_ms_per_batch(args.batches, args.batch_size))
        if binary is not None:
            rust.append(rust_ms_per_batch(binary, args.batches, args.batch_size))
    py_ms = statistics.median(py)
    rust_ms = args.rust_ms if args.rust_ms is not None else statistics.median(rust)
    print(f"python rounds (ms per batch): {', '.join(f'{t:.1f}' for t in py)}")
    if rust:
        print(f"rust rounds (ms per batch): {', '.join(f'{t:.1f}' for t in rust)}")
    print(
        f"python: {py_ms:.1f} ms per {args.batch_size}-sale batch "
        f"({args.batch_size / py_ms * 1000:.0f} sales/s); rust: {rust_ms:.1f} ms; "
        f"python/rust {py_ms / rust_ms:.2f} (goal <= 1.30)"
    )


if __name__ == "__main__":
    main()
