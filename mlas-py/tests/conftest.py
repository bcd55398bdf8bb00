"""Shared fixtures: a fixed clock, an engine, and a small populated programme."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import mlas
import pytest

T0 = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.timezone.utc)
TENANT = "org-123"
OTHER = "org-999"

BANK = {
    "accountNumber": "1234567890",
    "routingNumber": "021000021",
    "bankName": "Chase Bank",
    "accountHolderName": "John Affiliate",
}


@pytest.fixture
def clock() -> mlas.FixedClock:
    return mlas.FixedClock(T0)


@pytest.fixture
def engine(clock: mlas.FixedClock) -> mlas.Engine:
    return mlas.Engine.in_memory(clock=clock, actor="tests")


def line_of(engine: mlas.Engine, ids: list[str], rate: str = "10", tenant: str = TENANT) -> None:
    """Creates ids[0] sponsored by ids[1] sponsored by ... (a line)."""
    for i in reversed(range(len(ids))):
        engine.create_affiliate(
            tenant=tenant,
            affiliate_id=ids[i],
            name=f"Affiliate {ids[i]}",
            email=f"{ids[i]}@example.com",
            commission_rate=Decimal(rate),
            sponsor_id=ids[i + 1] if i + 1 < len(ids) else None,
        )


@dataclass(frozen=True)
class Snapshot:
    """Everything a bad call must leave as it was."""

    heads: tuple[object, ...]
    affiliates: tuple[object, ...]
    rules: tuple[object, ...]
    commissions: tuple[object, ...]
    adjustments: tuple[object, ...]


def snapshot(engine: mlas.Engine) -> Snapshot:
    tenants = (TENANT, OTHER)
    return Snapshot(
        heads=tuple(engine.audit_head(tenant=t) for t in tenants),
        affiliates=tuple(tuple(engine.affiliates(tenant=t)) for t in tenants),
        rules=tuple(tuple(engine.rules(tenant=t)) for t in tenants),
        commissions=tuple(tuple(engine.commissions(tenant=t)) for t in tenants),
        adjustments=tuple(tuple(engine.adjustments(tenant=t)) for t in tenants),
    )


@pytest.fixture
def programme(engine: mlas.Engine) -> mlas.Engine:
    """Tenant TENANT: a <- b <- c, a two-level rule, sale s1 by a (100.00 USD).
    Tenant OTHER: affiliate z and sale sz."""
    line_of(engine, ["a", "b", "c"])
    engine.create_rule(
        tenant=TENANT, rule_id="r1", name="two levels", levels=[Decimal("10"), Decimal("5")]
    )
    engine.record_sale(
        tenant=TENANT, sale_id="s1", amount=Decimal("100.00"), currency="USD", affiliate_id="a"
    )
    line_of(engine, ["z"], tenant=OTHER)
    engine.record_sale(
        tenant=OTHER, sale_id="sz", amount=Decimal("50.00"), currency="USD", affiliate_id="z"
    )
    return engine
