"""One engine shared by several Python threads at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import mlas
from conftest import TENANT, line_of

D = Decimal
THREADS = 8


def test_many_threads_record_sales_on_one_engine(engine: mlas.Engine) -> None:
    line_of(engine, ["a", "b", "c"])
    engine.create_rule(tenant=TENANT, name="r", levels=[D("10"), D("5"), D("1")])
    start = engine.audit_head(tenant=TENANT)
    assert start is not None
    barrier = threading.Barrier(THREADS)

    def work(worker: int) -> int:
        barrier.wait()
        done = 0
        for i in range(40):
            engine.record_sale(
                tenant=TENANT,
                sale_id=f"w{worker}-{i}",
                amount=D("10.00"),
                currency="USD",
                affiliate_id="a",
            )
            engine.commissions(tenant=TENANT, sale_id=f"w{worker}-{i}")
            done += 1
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        assert sum(pool.map(work, range(THREADS))) == THREADS * 40

    # Every sale wrote one sale record and three commission records to one chain.
    head = engine.audit_head(tenant=TENANT)
    assert head is not None
    assert head.seq == start.seq + THREADS * 40 * 4
    assert len(engine.commissions(tenant=TENANT)) == THREADS * 40 * 3


def test_racing_the_same_sale_records_it_once(engine: mlas.Engine) -> None:
    line_of(engine, ["a"])
    barrier = threading.Barrier(THREADS)

    def work(_: int) -> bool:
        barrier.wait()
        return engine.record_sale(
            tenant=TENANT, sale_id="same", amount=D("10.00"), currency="USD", affiliate_id="a"
        ).replayed

    with ThreadPoolExecutor(THREADS) as pool:
        replayed = list(pool.map(work, range(THREADS)))
    assert replayed.count(False) == 1
    assert len(engine.commissions(tenant=TENANT)) == 1


def test_threads_on_several_tenants_and_bulk_calls(engine: mlas.Engine) -> None:
    tenants = [f"t{i}" for i in range(4)]
    for t in tenants:
        line_of(engine, ["a", "b"], tenant=t)

    def work(tenant: str) -> int:
        sales = [
            {
                "sale_id": f"{tenant}-{i}",
                "amount": D("3.33"),
                "currency": "EUR",
                "affiliate_id": "a",
            }
            for i in range(200)
        ]
        return len(engine.record_sales(sales, tenant=tenant))

    with ThreadPoolExecutor(len(tenants)) as pool:
        assert list(pool.map(work, tenants)) == [200] * len(tenants)
    for t in tenants:
        head = engine.audit_head(tenant=t)
        assert head is not None and head.seq == 2 + 200 * 2
