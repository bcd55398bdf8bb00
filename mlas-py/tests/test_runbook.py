"""The runbook's operations end to end, as a host would call them from Python."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import mlas
from conftest import BANK, T0, TENANT

D = Decimal


def test_runbook_flow(engine: mlas.Engine, clock: mlas.FixedClock) -> None:
    # 2.1 Creating affiliates (the runbook's JSON, snake_case keyword names).
    sponsor = engine.create_affiliate(
        tenant=TENANT,
        affiliate_id="aff-456",
        name="Jane Sponsor",
        email="jane@example.com",
        commission_rate=D("5"),
        payout_method=mlas.PayoutMethod.PAYPAL,
        payout_details={"email": "jane@example.com"},
    )
    john = engine.create_affiliate(
        tenant=TENANT,
        affiliate_id="aff-123",
        name="John Affiliate",
        email="john@example.com",
        commission_rate=10,
        payout_method="BANK_TRANSFER",
        payout_details=BANK,
        sponsor_id="aff-456",
    )
    assert john.status is mlas.AffiliateStatus.ACTIVE
    assert john.payout_method == "BANK_TRANSFER"
    assert john.payout_details is not None
    assert john.payout_details.masked_account == "****7890"
    assert "1234567890" not in repr(john)
    assert sponsor.payout_details is not None and sponsor.payout_details.kind == "paypal"
    assert engine.upline("aff-123", tenant=TENANT) == ["aff-123", "aff-456"]

    # A rule: 10% / 5%, held 7 days.
    rule = engine.create_rule(
        tenant=TENANT,
        rule_id="standard",
        name="Standard two-level",
        levels=[D("10"), {"percent": D("5")}],
        holding_days=7,
    )
    assert rule.version == 1 and rule.levels[1].percent == D("5")

    # 2.2 + 2.3 Attribution and calculation: one call, idempotent on the sale id.
    outcome = engine.record_sale(
        tenant=TENANT,
        sale_id="sale-456",
        amount=D("1000"),
        currency="USD",
        affiliate_chain=["aff-123", "aff-456"],
        attribution_type="DIRECT",
        occurred_at=T0,
    )
    assert not outcome.replayed
    assert [(c.affiliate_id, c.amount) for c in outcome.commissions] == [
        ("aff-123", D("100.00")),
        ("aff-456", D("50.00")),
    ]
    assert all(c.status is mlas.CommissionStatus.PENDING for c in outcome.commissions)
    assert outcome.commissions[0].available_at == T0 + dt.timedelta(days=7)
    again = engine.record_sale(
        tenant=TENANT,
        sale_id="sale-456",
        amount=D("1000.00"),
        currency="USD",
        affiliate_id="aff-123",
    )
    assert again.replayed and again.commissions == outcome.commissions

    # 4.1 Why did I get this amount?
    first = outcome.commissions[0]
    explanation = engine.explain_commission(first.id, tenant=TENANT)
    assert explanation.rule.rule_id == "standard"
    assert explanation.total == D("150.00")
    assert "Standard two-level" in explanation.text
    assert json.loads(explanation.to_json())["total"]["amount"] == "150.00"
    assert engine.commission(first.id, tenant=TENANT) == first

    # Lifecycle: approve after the holding period; dispute and resolve; reject.
    clock.advance(dt.timedelta(days=7))
    approved = engine.approve_available(tenant=TENANT)
    assert {c.id for c in approved} == {c.id for c in outcome.commissions}
    disputed = engine.dispute(first.id, tenant=TENANT, reason="customer complaint")
    assert disputed.status == "DISPUTED"
    resolved = engine.resolve(
        first.id, mlas.Resolution.APPROVE, tenant=TENANT, reason="checked", actor="ops"
    )
    assert resolved.status is mlas.CommissionStatus.APPROVED
    assert resolved.status_reason == "checked"

    # A partial refund reverses pro rata; then a full one cancels the rest.
    partial = engine.refund(
        tenant=TENANT, refund_id="rf-1", sale_id="sale-456", amount=D("100.00"), reason="partial"
    )
    assert not partial.replayed
    assert sorted(r.amount for r in partial.refund.reversals) == [D("5.00"), D("10.00")]
    assert engine.refund(
        tenant=TENANT, refund_id="rf-1", sale_id="sale-456", amount=D("100.00"), reason="partial"
    ).replayed
    assert engine.refund_record("rf-1", tenant=TENANT) == partial.refund
    engine.refund(
        tenant=TENANT, refund_id="rf-2", sale_id="sale-456", amount=D("900.00"), reason="rest"
    )
    after = engine.commissions(tenant=TENANT, sale_id="sale-456")
    assert {c.status for c in after} == {mlas.CommissionStatus.REVERSED}
    assert engine.sale("sale-456", tenant=TENANT).refunded == D("1000.00")

    # 9.1 Recovery: fix a rule, recalculate an affected sale.
    engine.record_sale(
        tenant=TENANT,
        sale_id="sale-789",
        amount=D("200.00"),
        currency="USD",
        affiliate_id="aff-123",
    )
    engine.update_rule(
        "standard", tenant=TENANT, name="Standard, fixed", levels=[D("12"), D("5")], holding_days=7
    )
    assert [r.version for r in engine.rule_versions("standard", tenant=TENANT)] == [1, 2]
    recalculated = engine.recalculate("sale-789", tenant=TENANT)
    assert recalculated.changed
    assert [c.amount for c in recalculated.commissions] == [D("24.00"), D("10.00")]
    assert engine.rule("standard", tenant=TENANT, version=1).name == "Standard two-level"

    # Affiliate changes.
    engine.set_affiliate_status("aff-456", "SUSPENDED", tenant=TENANT, reason="review")
    updated = engine.update_affiliate("aff-123", tenant=TENANT, tier="gold", clear_payout=True)
    assert updated.tier == "gold" and updated.payout_details is None
    assert engine.set_sponsor("aff-123", None, tenant=TENANT).sponsor_id is None

    # The audit chain recorded every change.
    head = engine.audit_head(tenant=TENANT)
    assert head is not None and head.seq > 20 and len(head.hash) == 64
    assert engine.audit_head(tenant="org-empty") is None


def test_bulk_import_is_one_transaction(engine: mlas.Engine) -> None:
    from conftest import line_of

    line_of(engine, ["a", "b"])
    engine.create_rule(tenant=TENANT, name="r", levels=[D("10"), D("5")])
    sales = [
        mlas.NewSale(sale_id=f"n-{i}", amount=D("10.00"), currency="USD", affiliate_id="a")
        for i in range(50)
    ] + [
        {"saleId": f"j-{i}", "saleAmount": D("20.00"), "currency": "USD", "affiliateChain": ["a"]}
        for i in range(50)
    ]
    outcomes = engine.record_sales(sales, tenant=TENANT)
    assert len(outcomes) == 100
    assert outcomes[0].commissions[0].amount == D("1.00")
    assert outcomes[-1].sale.affiliate_chain == ("a",)
    assert len(engine.commissions(tenant=TENANT)) == 150
    assert len(engine.commissions(tenant=TENANT, limit=7)) == 7
    assert len(engine.commissions(tenant=TENANT, affiliate_id="b")) == 50


def test_default_plan_and_conditions(engine: mlas.Engine) -> None:
    from conftest import line_of

    line_of(engine, ["a", "b"], rate="7.5")
    outcome = engine.record_sale(
        tenant=TENANT, sale_id="s", amount=D("10.00"), currency="USD", affiliate_id="a"
    )
    assert [c.amount for c in outcome.commissions] == [D("0.75")]
    assert outcome.commissions[0].rule_id is None
    assert outcome.commissions[0].rate_kind is mlas.LevelRateKind.AFFILIATE_RATE

    engine.create_rule(
        tenant=TENANT,
        name="coupons",
        levels=[{"fixed": D("2.00"), "cap": D("5")}, {"affiliate_rate": True}],
        currency="USD",
        conditions=[
            ("attribution_type", "eq", "COUPON"),
            {"field": "amount", "op": "gte", "value": D("5")},
            ("attributes.channel", "in", ["web", "app"]),
        ],
        priority=10,
    )
    coupon = engine.record_sale(
        tenant=TENANT,
        sale_id="c",
        amount=D("10.00"),
        currency="USD",
        affiliate_id="a",
        attribution_type="COUPON",
        attributes={"channel": "web"},
    )
    assert [c.amount for c in coupon.commissions] == [D("2.00"), D("0.75")]
    rule = engine.rules(tenant=TENANT)[0]
    assert [c.op for c in rule.conditions] == ["eq", "gte", "in"]
    assert rule.conditions[2].values == ("web", "app")
