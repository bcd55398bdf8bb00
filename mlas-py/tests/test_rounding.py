"""Properties: the engine's lines equal the rounding rule recomputed with plain `decimal`.

DESIGN.md step 6: T = the exact total rounded half-even to the minor unit; each
line is truncated; the units of T left over go one at a time to the lines with
the largest truncated remainders, ties to the lower level.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import mlas
from hypothesis import given, settings
from hypothesis import strategies as st

MINOR_UNITS = {"USD": 2, "JPY": 0, "BHD": 3}
T0 = dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)
EXACT = decimal.Context(prec=80)


def expected_lines(
    amount: Decimal,
    currency: str,
    percents: list[Decimal],
    caps: list[Decimal | None],
    total_cap_percent: Decimal | None,
    chain_length: int,
) -> list[Decimal]:
    """Every line's amount (zeros included), level order, recomputed from DESIGN.md."""
    unit = Decimal(1).scaleb(-MINOR_UNITS[currency])
    levels = min(len(percents), chain_length)
    exact = []
    for i in range(levels):
        line = EXACT.divide(EXACT.multiply(amount, percents[i]), Decimal(100))
        cap = caps[i]
        exact.append(line if cap is None else min(line, cap))
    if total_cap_percent is not None:
        excess = EXACT.subtract(
            sum(exact, Decimal(0)),
            EXACT.divide(EXACT.multiply(amount, total_cap_percent), Decimal(100)),
        )
        for i in reversed(range(levels)):
            if excess <= 0:
                break
            cut = min(exact[i], excess)
            exact[i] -= cut
            excess -= cut
    total = sum(exact, Decimal(0)).quantize(unit, rounding=ROUND_HALF_EVEN)
    lines = [e.quantize(unit, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(lines, Decimal(0))) / unit)
    order = sorted(range(levels), key=lambda i: (-(exact[i] - lines[i]), i))
    for i in order[:left]:
        lines[i] += unit
    return lines


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    currency = draw(st.sampled_from(sorted(MINOR_UNITS)))
    scale = MINOR_UNITS[currency]
    amount = Decimal(draw(st.integers(1, 10**9))).scaleb(-scale)
    depth = draw(st.integers(1, 6))
    percents = [Decimal(draw(st.integers(0, 20_000))).scaleb(-3) for _ in range(depth)]
    caps = [
        draw(st.none() | st.integers(0, 10**7).map(lambda m, s=scale: Decimal(m).scaleb(-s)))
        for _ in range(depth)
    ]
    total_cap = draw(st.none() | st.integers(0, 10_000).map(lambda p: Decimal(p).scaleb(-2)))
    chain_length = draw(st.integers(1, 8))
    return {
        "currency": currency,
        "amount": amount,
        "percents": percents,
        "caps": caps,
        "total_cap_percent": total_cap,
        "chain_length": chain_length,
    }


def run_engine(s: dict[str, object]) -> tuple[list[Decimal], list[Decimal], mlas.Explanation]:
    engine = mlas.Engine.in_memory(clock=mlas.FixedClock(T0))
    ids = [f"a{i}" for i in range(int(s["chain_length"]))]  # type: ignore[call-overload]
    for i in reversed(range(len(ids))):
        engine.create_affiliate(
            tenant="t",
            affiliate_id=ids[i],
            name=ids[i],
            email=f"{ids[i]}@example.com",
            commission_rate=Decimal(0),
            sponsor_id=ids[i + 1] if i + 1 < len(ids) else None,
        )
    percents: list[Decimal] = s["percents"]  # type: ignore[assignment]
    caps: list[Decimal | None] = s["caps"]  # type: ignore[assignment]
    engine.create_rule(
        tenant="t",
        name="p",
        levels=[{"percent": p, "cap": c} for p, c in zip(percents, caps, strict=False)],
        total_cap_percent=s["total_cap_percent"],  # type: ignore[arg-type]
        currency=str(s["currency"]),
    )
    outcome = engine.record_sale(
        tenant="t",
        sale_id="s",
        amount=s["amount"],  # type: ignore[arg-type]
        currency=str(s["currency"]),
        affiliate_id="a0",
        occurred_at=T0,
    )
    explanation = engine.explain("s", tenant="t")
    return (
        [line.amount for line in explanation.lines],
        [c.amount for c in outcome.commissions],
        explanation,
    )


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_lines_match_the_rounding_rule(s: dict[str, object]) -> None:
    expected = expected_lines(
        s["amount"],  # type: ignore[arg-type]
        str(s["currency"]),
        s["percents"],  # type: ignore[arg-type]
        s["caps"],  # type: ignore[arg-type]
        s["total_cap_percent"],  # type: ignore[arg-type]
        int(s["chain_length"]),  # type: ignore[call-overload]
    )
    lines, commissions, explanation = run_engine(s)
    assert lines == expected
    assert commissions == [amount for amount in expected if amount != 0]
    assert sum(lines, Decimal(0)) == explanation.total
    unit = Decimal(1).scaleb(-MINOR_UNITS[str(s["currency"])])
    for line in explanation.lines:
        assert abs(line.amount - line.capped) < unit


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 10**7),
    st.lists(st.integers(1, 10**6), min_size=1, max_size=4),
)
def test_refunds_never_reverse_more_than_earned(sale_cents: int, refund_parts: list[int]) -> None:
    engine = mlas.Engine.in_memory(clock=mlas.FixedClock(T0))
    for aid, sponsor in (("b", None), ("a", "b")):
        engine.create_affiliate(
            tenant="t",
            affiliate_id=aid,
            name=aid,
            email=f"{aid}@example.com",
            commission_rate=Decimal(0),
            sponsor_id=sponsor,
        )
    engine.create_rule(tenant="t", name="r", levels=[Decimal("7.5"), Decimal("2.5")])
    amount = Decimal(sale_cents).scaleb(-2)
    engine.record_sale(tenant="t", sale_id="s", amount=amount, currency="USD", affiliate_id="a")
    left = amount
    for i, part in enumerate(refund_parts):
        piece = min(Decimal(part).scaleb(-2), left)
        if piece <= 0:
            break
        engine.refund(tenant="t", refund_id=f"r{i}", sale_id="s", amount=piece, reason="r")
        left -= piece
    for c in engine.commissions(tenant="t"):
        assert 0 <= c.amount <= c.original_amount
        assert c.amount + c.reversed_amount == c.original_amount
    if left == 0:
        assert all(c.amount == 0 for c in engine.commissions(tenant="t"))
