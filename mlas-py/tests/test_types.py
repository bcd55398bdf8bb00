"""Value objects: frozen, equal by value, readable reprs; money and time conversions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import mlas
import pytest
from conftest import TENANT

D = Decimal


def test_value_objects_are_frozen_and_compare_by_value(programme: mlas.Engine) -> None:
    a = programme.affiliate("a", tenant=TENANT)
    with pytest.raises(AttributeError):
        a.name = "changed"  # type: ignore[misc]
    assert a == programme.affiliate("a", tenant=TENANT)
    assert a != programme.affiliate("b", tenant=TENANT)
    c = programme.commissions(tenant=TENANT)[0]
    with pytest.raises(AttributeError):
        c.amount = D("1")  # type: ignore[misc]
    with pytest.raises(TypeError):
        mlas.Commission()  # type: ignore[call-arg]


def test_reprs_are_readable(programme: mlas.Engine) -> None:
    a = programme.affiliate("a", tenant=TENANT)
    assert repr(a).startswith("Affiliate(id='a', name='Affiliate a', status='ACTIVE'")
    c = programme.commissions(tenant=TENANT, sale_id="s1")[0]
    assert "amount=Decimal('10.00'), currency='USD', status='PENDING'" in repr(c)
    assert repr(programme.rule("r1", tenant=TENANT)).startswith("Rule(id='r1', version=1")
    assert repr(mlas.CommissionStatus.PAID) == "CommissionStatus.PAID"
    assert "Engine(backend='memory'" in repr(programme)


def test_statuses_are_str_enums(programme: mlas.Engine) -> None:
    c = programme.commissions(tenant=TENANT)[0]
    assert isinstance(c.status, mlas.CommissionStatus)
    assert isinstance(c.status, str)
    assert c.status == "PENDING"
    assert f"{c.status}" == "PENDING"
    # Enum members are accepted wherever a status string is.
    assert programme.commissions(tenant=TENANT, status=mlas.CommissionStatus.PENDING)


def test_money_keeps_its_scale_and_rates_normalise(programme: mlas.Engine) -> None:
    s = programme.sale("s1", tenant=TENANT)
    assert str(s.amount) == "100.00"
    assert s.refunded == D("0") and str(s.refunded) == "0.00"
    jpy = programme.record_sale(
        tenant=TENANT, sale_id="y", amount=D("1000"), currency="JPY", affiliate_id="a"
    )
    assert str(jpy.commissions[0].amount) == "100"
    exp = programme.record_sale(
        tenant=TENANT, sale_id="e", amount=D("1E+2"), currency="USD", affiliate_id="a"
    )
    assert exp.sale.amount == D("100.00")


def test_datetimes_are_converted_to_utc(programme: mlas.Engine) -> None:
    plus5 = dt.timezone(dt.timedelta(hours=5))
    local = dt.datetime(2026, 3, 1, 17, 30, tzinfo=plus5)
    outcome = programme.record_sale(
        tenant=TENANT,
        sale_id="tz",
        amount=D("1.00"),
        currency="USD",
        affiliate_id="a",
        occurred_at=local,
    )
    back = outcome.sale.occurred_at
    assert back == local
    assert back.tzinfo is dt.timezone.utc
    assert back.hour == 12
    assert programme.now().tzinfo is dt.timezone.utc


def test_zoneinfo_datetimes_are_accepted(programme: mlas.Engine) -> None:
    zoneinfo = pytest.importorskip("zoneinfo")
    try:
        paris = zoneinfo.ZoneInfo("Europe/Paris")
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip("no tz database")
    local = dt.datetime(2026, 7, 1, 14, 0, tzinfo=paris)
    outcome = programme.record_sale(
        tenant=TENANT,
        sale_id="paris",
        amount=D("1.00"),
        currency="USD",
        affiliate_id="a",
        occurred_at=local,
    )
    assert outcome.sale.occurred_at == dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.timezone.utc)


def test_fixed_clock_moves_only_when_told(clock: mlas.FixedClock, engine: mlas.Engine) -> None:
    start = clock.now()
    assert engine.now() == start
    clock.advance(dt.timedelta(days=1, microseconds=1))
    assert engine.now() - start == dt.timedelta(days=1, microseconds=1)
    clock.set(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    assert engine.now().year == 2030
    assert repr(clock) == "FixedClock(2030-01-01T00:00:00.000000Z)"


def test_payout_details_mask_their_secrets() -> None:
    d = mlas.PayoutDetails.iban(
        iban="DE89 3704 0044 0532 0130 00", bank_name="Bank", account_holder_name="Jane"
    )
    assert d.method is mlas.PayoutMethod.BANK_TRANSFER
    assert "0532013000" not in repr(d) and "0532013000" not in str(d)
    assert d.masked_account == "****3000"
    assert d.to_dict()["iban"] == "****3000"
    assert d.to_dict(reveal=True)["iban"] == "DE89370400440532013000"
    p = mlas.PayoutDetails.paypal(email="jane@example.com")
    assert p.to_dict() == {"type": "paypal", "email": "jane@example.com"}
    with pytest.raises(mlas.ValidationError):
        mlas.PayoutDetails.iban(iban="DE00 0000", bank_name="B", account_holder_name="J")


def test_explanation_structure(engine: mlas.Engine) -> None:
    from conftest import line_of

    line_of(engine, ["a", "b", "c"])
    engine.set_affiliate_status("b", "SUSPENDED", tenant=TENANT, reason="x")
    engine.create_rule(
        tenant=TENANT,
        name="thirds",
        levels=[D("33.333"), D("33.333"), D("33.334")],
        compression=True,
        total_cap_percent=D("50"),
    )
    engine.record_sale(
        tenant=TENANT, sale_id="x", amount=D("100.00"), currency="USD", affiliate_id="a"
    )
    e = engine.explain("x", tenant=TENANT)
    assert e.compression and e.total_cap == D("50")
    assert [(s.affiliate_id, s.reason) for s in e.skipped] == [("b", mlas.SkipReason.COMPRESSED)]
    assert [line.affiliate_id for line in e.lines] == ["a", "c"]
    assert [line.paid_level for line in e.lines] == [1, 2]
    assert e.lines[1].total_cap_cut == D("16.666")
    assert sum(line.amount for line in e.lines) == e.total == D("50.00")
    assert "skipped, level passed up" in e.text
    assert str(e) == e.text
