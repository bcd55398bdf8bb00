"""Every public call given bad input raises the documented exception and writes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import mlas
import pytest
from conftest import BANK, OTHER, T0, TENANT, snapshot

D = Decimal
NAIVE = dt.datetime(2026, 2, 1, 12, 0)


class Ids:
    """Ids of the programme fixture, looked up once."""

    def __init__(self, engine: mlas.Engine) -> None:
        mine = engine.commissions(tenant=TENANT, sale_id="s1")
        theirs = engine.commissions(tenant=OTHER, sale_id="sz")
        self.commission = mine[0].id
        self.other_commission = theirs[0].id


Call = Callable[[mlas.Engine, Ids], Any]


def aff(**changes: Any) -> Call:
    args: dict[str, Any] = {
        "tenant": TENANT,
        "name": "New One",
        "email": "new@example.com",
        "commission_rate": D("10"),
    }
    args.update(changes)
    return lambda e, _: e.create_affiliate(**args)


def sale(**changes: Any) -> Call:
    args: dict[str, Any] = {
        "tenant": TENANT,
        "sale_id": "s-new",
        "amount": D("10.00"),
        "currency": "USD",
        "affiliate_id": "a",
    }
    args.update(changes)
    return lambda e, _: e.record_sale(**args)


def rule(**changes: Any) -> Call:
    args: dict[str, Any] = {"tenant": TENANT, "name": "another", "levels": [D("10")]}
    args.update(changes)
    return lambda e, _: e.create_rule(**args)


def refund(**changes: Any) -> Call:
    args: dict[str, Any] = {
        "tenant": TENANT,
        "refund_id": "rf-new",
        "sale_id": "s1",
        "amount": D("10.00"),
        "reason": "returned",
    }
    args.update(changes)
    return lambda e, _: e.refund(**args)


V, N, C, IT = (
    mlas.ValidationError,
    mlas.NotFoundError,
    mlas.ConflictError,
    mlas.IllegalTransitionError,
)

CASES: dict[str, tuple[Call, type[BaseException]]] = {
    # affiliates
    "affiliate float rate": (aff(commission_rate=10.0), TypeError),
    "affiliate bool rate": (aff(commission_rate=True), TypeError),
    "affiliate str rate": (aff(commission_rate="10"), TypeError),
    "affiliate rate over 100": (aff(commission_rate=D("100.5")), V),
    "affiliate negative rate": (aff(commission_rate=D("-1")), V),
    "affiliate NaN rate": (aff(commission_rate=D("NaN")), V),
    "affiliate bad email": (aff(email="not-an-email"), V),
    "affiliate empty name": (aff(name="  "), V),
    "affiliate int name": (aff(name=5), TypeError),
    "affiliate bad status": (aff(status="ALIVE"), V),
    "affiliate bad routing number": (
        aff(payout_method="BANK_TRANSFER", payout_details={**BANK, "routingNumber": "123456789"}),
        V,
    ),
    "affiliate unknown payout key": (
        aff(payout_method="BANK_TRANSFER", payout_details={**BANK, "swift": "X"}),
        V,
    ),
    "affiliate payout value not str": (
        aff(payout_method="BANK_TRANSFER", payout_details={**BANK, "accountNumber": 1234567890}),
        TypeError,
    ),
    "affiliate payout method without details": (aff(payout_method="PAYPAL"), V),
    "affiliate bad payout method": (aff(payout_method="CHEQUE", payout_details=BANK), V),
    "affiliate method mismatch": (
        aff(
            payout_method="PAYPAL",
            payout_details=mlas.PayoutDetails.us_bank(
                account_number="1234567890",
                routing_number="021000021",
                bank_name="Chase",
                account_holder_name="J",
            ),
        ),
        V,
    ),
    "affiliate details not a mapping": (aff(payout_details=["x"]), TypeError),
    "affiliate unknown sponsor": (aff(sponsor_id="nobody"), N),
    "affiliate other tenant's sponsor": (aff(sponsor_id="z"), N),
    "affiliate taken id": (aff(affiliate_id="a"), C),
    "affiliate bad id": (aff(affiliate_id="has space"), V),
    "affiliate empty tenant": (aff(tenant=""), V),
    "affiliate int tenant": (aff(tenant=123), TypeError),
    "affiliate empty actor": (aff(actor=""), V),
    "update unknown affiliate": (lambda e, _: e.update_affiliate("nobody", tenant=TENANT), N),
    "update other tenant's affiliate": (
        lambda e, _: e.update_affiliate("z", tenant=TENANT, name="x"),
        N,
    ),
    "update float rate": (
        lambda e, _: e.update_affiliate("a", tenant=TENANT, commission_rate=1.5),
        TypeError,
    ),
    "update clear and set payout": (
        lambda e, _: e.update_affiliate("a", tenant=TENANT, payout_details=BANK, clear_payout=True),
        V,
    ),
    "status unknown value": (
        lambda e, _: e.set_affiliate_status("a", "ASLEEP", tenant=TENANT, reason="x"),
        V,
    ),
    "status back to pending": (
        lambda e, _: e.set_affiliate_status("a", "PENDING", tenant=TENANT, reason="x"),
        IT,
    ),
    "status empty reason": (
        lambda e, _: e.set_affiliate_status("a", "SUSPENDED", tenant=TENANT, reason=""),
        V,
    ),
    "status other tenant": (
        lambda e, _: e.set_affiliate_status("z", "SUSPENDED", tenant=TENANT, reason="x"),
        N,
    ),
    "sponsor cycle": (lambda e, _: e.set_sponsor("c", "a", tenant=TENANT), V),
    "sponsor self": (lambda e, _: e.set_sponsor("a", "a", tenant=TENANT), V),
    "sponsor unknown": (lambda e, _: e.set_sponsor("a", "nobody", tenant=TENANT), N),
    "sponsor other tenant": (lambda e, _: e.set_sponsor("a", "z", tenant=TENANT), N),
    "upline unknown": (lambda e, _: e.upline("nobody", tenant=TENANT), N),
    "upline other tenant": (lambda e, _: e.upline("z", tenant=TENANT), N),
    "affiliate get other tenant": (lambda e, _: e.affiliate("z", tenant=TENANT), N),
    "affiliate get int id": (lambda e, _: e.affiliate(1, tenant=TENANT), TypeError),
    # rules
    "rule float percent": (rule(levels=[10.0]), TypeError),
    "rule percent over 100": (rule(levels=[D("150")]), V),
    "rule no levels": (rule(levels=[]), V),
    "rule levels not a sequence": (rule(levels=5), TypeError),
    "rule level two kinds": (rule(levels=[{"percent": D("1"), "fixed": D("1")}]), V),
    "rule level unknown key": (rule(levels=[{"pct": D("1")}]), V),
    "rule fixed without currency": (rule(levels=[{"fixed": D("5")}]), V),
    "rule bad currency": (rule(currency="usd"), V),
    "rule metal currency": (rule(currency="XAU"), V),
    "rule naive valid_from": (rule(valid_from=NAIVE), V),
    "rule str valid_from": (rule(valid_from="2026-01-01"), TypeError),
    "rule date valid_from": (rule(valid_from=dt.date(2026, 1, 1)), TypeError),
    "rule until before from": (rule(valid_from=T0, valid_until=T0 - dt.timedelta(days=1)), V),
    "rule bad op": (rule(conditions=[("amount", "between", "5")]), V),
    "rule bad field": (rule(conditions=[("colour", "eq", "red")]), V),
    "rule float condition value": (rule(conditions=[("amount", "gt", 5.0)]), TypeError),
    "rule negative holding": (rule(holding_days=-1), V),
    "rule float cap": (rule(total_cap_percent=10.0), TypeError),
    "rule taken id": (rule(rule_id="r1"), C),
    "rule update unknown": (
        lambda e, _: e.update_rule("nope", tenant=TENANT, name="x", levels=[D("1")]),
        N,
    ),
    "rule update other tenant": (
        lambda e, _: e.update_rule("r1", tenant=OTHER, name="x", levels=[D("1")]),
        N,
    ),
    "rule get other tenant": (lambda e, _: e.rule("r1", tenant=OTHER), N),
    "rule get unknown version": (lambda e, _: e.rule("r1", tenant=TENANT, version=9), N),
    "rule versions unknown": (lambda e, _: e.rule_versions("nope", tenant=TENANT), N),
    # sales
    "sale float amount": (sale(amount=10.5), TypeError),
    "sale bool amount": (sale(amount=True), TypeError),
    "sale str amount": (sale(amount="10.00"), TypeError),
    "sale zero amount": (sale(amount=D("0")), V),
    "sale negative amount": (sale(amount=D("-5.00")), V),
    "sale too many decimals": (sale(amount=D("10.005")), V),
    "sale infinite amount": (sale(amount=D("Infinity")), V),
    "sale huge amount": (sale(amount=D("1e40")), V),
    "sale JPY decimals": (sale(amount=D("10.5"), currency="JPY"), V),
    "sale lower-case currency": (sale(currency="usd"), V),
    "sale naive time": (sale(occurred_at=NAIVE), V),
    "sale str time": (sale(occurred_at="2026-02-01T12:00:00Z"), TypeError),
    "sale unknown affiliate": (sale(affiliate_id="nobody"), N),
    "sale other tenant's affiliate": (sale(affiliate_id="z"), N),
    "sale other tenant in chain": (sale(affiliate_chain=["a", "z"]), N),
    "sale repeated chain": (sale(affiliate_chain=["a", "b", "a"]), V),
    "sale chain not starting with affiliate": (sale(affiliate_chain=["b", "a"]), V),
    "sale chain as str": (sale(affiliate_chain="a"), TypeError),
    "sale empty chain": (sale(affiliate_id=None, affiliate_chain=[]), V),
    "sale no affiliate": (sale(affiliate_id=None), TypeError),
    "sale self-referral": (sale(buyer_id="a"), V),
    "sale float attribute": (sale(attributes={"x": 1.5}), TypeError),
    "sale control char attribute": (sale(attributes={"x": "a\nb"}), V),
    "sale empty attribution": (sale(attribution_type=""), V),
    "sale replay different amount": (sale(sale_id="s1", amount=D("99.00")), C),
    "sale replay different currency": (sale(sale_id="s1", amount=D("100.00"), currency="EUR"), C),
    "sales one bad of two": (
        lambda e, _: e.record_sales(
            [
                {"sale_id": "ok-1", "amount": D("1.00"), "currency": "USD", "affiliate_id": "a"},
                {"sale_id": "bad", "amount": D("1.00"), "currency": "USD", "affiliate_id": "x"},
            ],
            tenant=TENANT,
        ),
        N,
    ),
    "sales float in second": (
        lambda e, _: e.record_sales(
            [
                {"sale_id": "ok-1", "amount": D("1.00"), "currency": "USD", "affiliate_id": "a"},
                {"sale_id": "bad", "amount": 1.0, "currency": "USD", "affiliate_id": "a"},
            ],
            tenant=TENANT,
        ),
        TypeError,
    ),
    "sales unknown key": (
        lambda e, _: e.record_sales([{"sale_id": "x", "price": D("1")}], tenant=TENANT),
        TypeError,
    ),
    "sales not a sequence": (lambda e, _: e.record_sales(5, tenant=TENANT), TypeError),
    "sales a mapping": (
        lambda e, _: e.record_sales({"sale_id": "x"}, tenant=TENANT),
        TypeError,
    ),
    "sale get other tenant": (lambda e, _: e.sale("sz", tenant=TENANT), N),
    "explain unknown": (lambda e, _: e.explain("nope", tenant=TENANT), N),
    "explain other tenant": (lambda e, _: e.explain("sz", tenant=TENANT), N),
    "explain commission other tenant": (
        lambda e, ids: e.explain_commission(ids.other_commission, tenant=TENANT),
        N,
    ),
    # commissions
    "commission other tenant": (
        lambda e, ids: e.commission(ids.other_commission, tenant=TENANT),
        N,
    ),
    "commissions bad status": (lambda e, _: e.commissions(tenant=TENANT, status="OPEN"), V),
    "commissions zero limit": (lambda e, _: e.commissions(tenant=TENANT, limit=0), V),
    "approve unknown": (lambda e, _: e.approve("com_nope", tenant=TENANT), N),
    "approve other tenant": (lambda e, ids: e.approve(ids.other_commission, tenant=TENANT), N),
    "reject empty reason": (lambda e, ids: e.reject(ids.commission, tenant=TENANT, reason=""), V),
    "reject other tenant": (
        lambda e, ids: e.reject(ids.other_commission, tenant=TENANT, reason="x"),
        N,
    ),
    "dispute other tenant": (
        lambda e, ids: e.dispute(ids.other_commission, tenant=TENANT, reason="x"),
        N,
    ),
    "resolve not disputed": (
        lambda e, ids: e.resolve(ids.commission, "APPROVE", tenant=TENANT, reason="x"),
        IT,
    ),
    "resolve bad resolution": (
        lambda e, ids: e.resolve(ids.commission, "MAYBE", tenant=TENANT, reason="x"),
        V,
    ),
    # refunds
    "refund float": (refund(amount=10.0), TypeError),
    "refund zero": (refund(amount=D("0")), V),
    "refund negative": (refund(amount=D("-1.00")), V),
    "refund more than sale": (refund(amount=D("100.01")), V),
    "refund too many decimals": (refund(amount=D("1.001")), V),
    "refund other currency": (refund(currency="EUR"), V),
    "refund unknown sale": (refund(sale_id="nope"), N),
    "refund other tenant's sale": (refund(sale_id="sz"), N),
    "refund empty reason": (refund(reason=""), V),
    "refund record unknown": (lambda e, _: e.refund_record("nope", tenant=TENANT), N),
    "recalculate unknown": (lambda e, _: e.recalculate("nope", tenant=TENANT), N),
    "recalculate other tenant": (lambda e, _: e.recalculate("sz", tenant=TENANT), N),
    "adjustments bad affiliate id": (
        lambda e, _: e.adjustments(tenant=TENANT, affiliate_id=""),
        V,
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_raises_and_writes_nothing(programme: mlas.Engine, name: str) -> None:
    call, expected = CASES[name]
    ids = Ids(programme)
    before = snapshot(programme)
    with pytest.raises(expected) as info:
        call(programme, ids)
    assert snapshot(programme) == before
    if isinstance(info.value, mlas.MlasError):
        assert info.value.kind in mlas._mlas.ERROR_CLASSES
        assert str(info.value)


def test_approve_before_the_holding_period_is_illegal_and_writes_nothing(
    engine: mlas.Engine, clock: mlas.FixedClock
) -> None:
    from conftest import line_of

    line_of(engine, ["a"])
    engine.create_rule(tenant=TENANT, name="held", levels=[D("10")], holding_days=30)
    outcome = engine.record_sale(
        tenant=TENANT, sale_id="s", amount=D("10.00"), currency="USD", affiliate_id="a"
    )
    before = snapshot(engine)
    with pytest.raises(mlas.IllegalTransitionError, match="PENDING until"):
        engine.approve(outcome.commissions[0].id, tenant=TENANT)
    assert snapshot(engine) == before
    clock.advance(dt.timedelta(days=30))
    assert engine.approve(outcome.commissions[0].id, tenant=TENANT).status == "APPROVED"
    with pytest.raises(mlas.IllegalTransitionError):
        engine.approve(outcome.commissions[0].id, tenant=TENANT)


def test_bad_engine_and_clock_arguments() -> None:
    with pytest.raises(mlas.ValidationError):
        mlas.FixedClock(NAIVE)
    with pytest.raises(TypeError):
        mlas.FixedClock(1.5)
    with pytest.raises(TypeError):
        mlas.Engine.in_memory(min_payout={"USD": 1.5})
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.in_memory(min_payout={"USD": D("-1")})
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.in_memory(min_payout={"usd": D("1")})
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.in_memory(max_payout_attempts=0)
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.in_memory(audit_key=b"")
    with pytest.raises(mlas.ValidationError):
        mlas.Engine.in_memory(actor="")
    with pytest.raises(TypeError):
        mlas.NewSale(sale_id="x", amount=1.0, currency="USD", affiliate_id="a")


def test_validation_errors_name_the_field(programme: mlas.Engine) -> None:
    with pytest.raises(mlas.ValidationError) as info:
        programme.record_sale(
            tenant=TENANT, sale_id="q", amount=D("1.001"), currency="USD", affiliate_id="a"
        )
    assert info.value.field == "amount"
    assert info.value.kind == "validation"
    assert "1.001" in str(info.value)


def test_account_numbers_never_appear_in_errors(engine: mlas.Engine) -> None:
    with pytest.raises(mlas.ValidationError) as info:
        engine.create_affiliate(
            tenant=TENANT,
            name="J",
            email="j@example.com",
            commission_rate=D("1"),
            payout_method="BANK_TRANSFER",
            payout_details={
                "iban": "DE89370400440532013001",
                "bankName": "B",
                "accountHolderName": "J",
            },
        )
    assert "0532013001" not in str(info.value)
