"""Per-call overhead and bulk throughput of the Python binding (a small timing script).

Run after installing the package: `python mlas-py/bench/overhead.py`. Compare with
the native numbers from `cargo run --release --example` equivalents or criterion.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import mlas

T0 = dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)


def setup(depth: int = 3) -> mlas.Engine:
    engine = mlas.Engine.in_memory(clock=mlas.FixedClock(T0))
    ids = [f"a{i}" for i in range(depth)]
    for i in reversed(range(depth)):
        engine.create_affiliate(
            tenant="t",
            affiliate_id=ids[i],
            name=ids[i],
            email=f"{ids[i]}@example.com",
            commission_rate=Decimal("5"),
            sponsor_id=ids[i + 1] if i + 1 < depth else None,
        )
    engine.create_rule(tenant="t", name="r", levels=[Decimal("10"), Decimal("5"), Decimal("2")])
    return engine


def per_call(n: int = 20_000) -> None:
    engine = setup()
    start = time.perf_counter()
    for _ in range(n):
        engine.affiliate("a0", tenant="t")
    read = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for i in range(n):
        engine.record_sale(
            tenant="t",
            sale_id=f"s{i}",
            amount=Decimal("100.00"),
            currency="USD",
            affiliate_id="a0",
        )
    write = (time.perf_counter() - start) / n
    print(f"read  engine.affiliate():  {read * 1e6:8.2f} us/call")
    print(f"write engine.record_sale(): {write * 1e6:8.2f} us/call ({1 / write:,.0f} sales/s)")


def bulk(n: int = 20_000) -> None:
    engine = setup()
    sales = [
        mlas.NewSale(sale_id=f"b{i}", amount=Decimal("100.00"), currency="USD", affiliate_id="a0")
        for i in range(n)
    ]
    start = time.perf_counter()
    engine.record_sales(sales, tenant="t")
    elapsed = time.perf_counter() - start
    print(
        f"bulk  engine.record_sales({n}): {elapsed * 1e6 / n:8.2f} us/sale "
        f"({n / elapsed:,.0f} sales/s)"
    )
    dicts = [
        {"sale_id": f"d{i}", "amount": Decimal("100.00"), "currency": "USD", "affiliate_id": "a0"}
        for i in range(n)
    ]
    start = time.perf_counter()
    engine.record_sales(dicts, tenant="t")
    elapsed = time.perf_counter() - start
    print(
        f"bulk  record_sales(dicts):    {elapsed * 1e6 / n:8.2f} us/sale "
        f"({n / elapsed:,.0f} sales/s)"
    )


if __name__ == "__main__":
    per_call()
    bulk()
