"""The operations runbook (RUNBOOK.md) as one Python program, on a SQLite file.

Install the package first (``pip install ./mlas-py``), then::

    python examples/runbook.py            # a fresh temporary database, its path printed
    python examples/runbook.py mlas.db    # or a path of your choice (must not exist)

The same flow as ``cargo run --example runbook``: it builds a three-level
sponsor tree, a rule with conditions, attributed sales, calculates and explains
commissions, approves them after the holding period, pays a batch through the
simulated provider (one payout fails and is retried), handles a dispute and a
partial refund with clawbacks, verifies and exports the audit trail (next to
the database, as ``<name>.audit.jsonl``), and prints the metrics and a health
report. A fixed clock keeps every run's dates the same.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import mlas

ORG = "org-123"
D = Decimal


def main(argv: Sequence[str]) -> int:
    if len(argv) > 1:
        path = Path(argv[1])
        if path.exists():
            print(f"{path} exists; give a new path", file=sys.stderr)
            return 2
    else:
        path = Path(tempfile.mkdtemp(prefix="mlas-runbook-")) / "mlas.db"

    # 1. Startup: open (and migrate) the database; a fixed clock keeps the run repeatable.
    clock = mlas.FixedClock(dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.timezone.utc))
    engine = mlas.Engine.open(path, clock=clock, actor="ops@example.com")
    heading("1. Startup and health")
    print_health(engine)
    print(f"database  {path}")

    # 2.1 Affiliates in a three-level sponsor tree.
    heading("2.1 Affiliates")
    top = engine.create_affiliate(
        tenant=ORG,
        affiliate_id="aff-789",
        name="Ada Top",
        email="ada@example.com",
        tier="gold",
        commission_rate=D("12"),
        payout_method="BANK_TRANSFER",
        payout_details=mlas.PayoutDetails.iban(
            iban="DE89 3704 0044 0532 0130 00",
            bank_name="Commerzbank",
            account_holder_name="Ada Top",
        ),
    ).id
    mid = engine.create_affiliate(
        tenant=ORG,
        affiliate_id="aff-456",
        name="Jane Upline",
        email="jane@example.com",
        tier="silver",
        commission_rate=D("10"),
        sponsor_id=top,
        payout_method="PAYPAL",
        payout_details={"email": "jane@example.com"},
    ).id
    john = engine.create_affiliate(
        tenant=ORG,
        affiliate_id="aff-123",
        name="John Affiliate",
        email="john@example.com",
        tier="bronze",
        commission_rate=D("10"),
        sponsor_id=mid,
        payout_method="BANK_TRANSFER",
        payout_details={  # the runbook's JSON, as it is
            "accountNumber": "1234567890",
            "routingNumber": "021000021",
            "bankName": "Chase Bank",
            "accountHolderName": "John Affiliate",
        },
    ).id
    table(
        ["affiliate", "name", "tier", "rate", "sponsor", "payout"],
        [
            [
                a.id,
                a.name,
                a.tier,
                f"{a.commission_rate}%",
                a.sponsor_id or "-",
                payout_text(a),
            ]
            for a in engine.affiliates(tenant=ORG)
        ],
    )

    # A rule with conditions: USD sales attributed directly or by coupon.
    rule = engine.create_rule(
        tenant=ORG,
        name="standard three levels",
        levels=[D("10"), D("5"), D("2.5")],
        priority=10,
        holding_days=14,
        conditions=[
            ("currency", "eq", "USD"),
            ("attribution_type", "in", ["DIRECT", "COUPON"]),
        ],
    )
    print(
        f"\nrule {rule.id} v{rule.version}: 10% / 5% / 2.5%, held {rule.holding_days} days,"
        " USD, DIRECT or COUPON"
    )

    # 2.2 and 2.3: attributed sales, commissions calculated as they are recorded.
    heading("2.2-2.3 Sales and commissions")
    engine.record_sale(
        tenant=ORG,
        sale_id="sale-456",
        amount=D("1000.00"),
        currency="USD",
        affiliate_chain=[john, mid],
        attribution_type="DIRECT",
    )
    engine.record_sale(
        tenant=ORG,
        sale_id="sale-457",
        amount=D("249.99"),
        currency="USD",
        affiliate_id=john,
        attribution_type="COUPON",
    )
    engine.record_sale(
        tenant=ORG, sale_id="sale-458", amount=D("80.00"), currency="USD", affiliate_id=mid
    )
    print_commissions(engine)
    print("\nwhy does aff-123 earn what it earns on sale-457?")
    for line in engine.explain("sale-457", tenant=ORG).text.splitlines():
        print(f"  {line}")

    # Approval after the holding period; a dispute holds one commission back.
    heading("Approval and a dispute")
    early = engine.approve_available(tenant=ORG)
    print(f"approvable on day 0: {len(early)}")
    clock.advance(dt.timedelta(days=14))
    disputed = engine.commissions(tenant=ORG, sale_id="sale-458", affiliate_id=mid)[0].id
    engine.dispute(disputed, tenant=ORG, reason="customer says the order never arrived")
    approved = engine.approve_available(tenant=ORG)
    print(f"approved on day 14: {len(approved)} (one disputed: {disputed})")

    # 2.4 and 2.5: a batch through the simulated provider; Jane's payout fails once.
    heading("2.4-2.5 Payout batch")
    batch = "batch-2026-02-15"
    scheduled = engine.schedule_payouts(tenant=ORG, batch_id=batch, scheduled_for=engine.now())
    provider = mlas.SimulatedProvider()
    for payout in scheduled.payouts:
        if payout.affiliate_id == mid:
            provider.fail_payout(
                payout.id, times=1, reason="paypal account temporarily limited", retryable=True
            )
    stats = engine.process_batch(batch, tenant=ORG, provider=provider)
    print(f"batch {batch} is {stats.batch.status}")
    print_payouts(engine, batch)

    # 4.2: failed payouts, their retry, and the batch statistics.
    heading("4.2 Failed payouts and retry")
    for failed in engine.failed_payouts(tenant=ORG):
        print(
            f"failed: {failed.id} {failed.affiliate_id} {money(failed.amount, failed.currency)}:"
            f" {failed.failure_reason or ''}"
        )
        retried = engine.retry_payout(failed.id, tenant=ORG, provider=provider)
        print(f"retry:  {retried.id} is {retried.status} after {retried.attempts} attempts")
    stats = engine.batch_stats(batch, tenant=ORG)
    print(
        f"batch {batch} is {stats.batch.status}, {stats.payouts} payouts, {stats.attempts} attempts"
    )
    table(
        ["status", "payouts", "amount"],
        [
            [str(status), str(count), money(amount, currency)]
            for status, currency, count, amount in stats.totals
        ],
    )

    # A partial refund after payment: paid commissions are clawed back.
    heading("Partial refund with clawback")
    refund = engine.refund(
        tenant=ORG,
        refund_id="refund-456-1",
        sale_id="sale-456",
        amount=D("300.00"),
        reason="two of five items returned",
    ).refund
    table(
        ["affiliate", "reversed", "how"],
        [
            [
                r.affiliate_id,
                money(r.amount, refund.currency),
                f"clawback {r.adjustment_id}" if r.adjustment_id else "reduced",
            ]
            for r in refund.reversals
        ],
    )
    for who in (john, mid, top):
        balance = engine.balance(who, tenant=ORG)
        print(f"balance {who}: {amounts_text(balance) or '0'}")

    # 4.3 and 6.3: the audit trail verifies, and exports to a file that verifies on its own.
    heading("4.3 Audit trail")
    report = engine.verify_audit(tenant=ORG)
    report.raise_if_broken()
    if report.head is None:
        raise SystemExit("the audit chain is empty")
    print(
        f"verified {report.records} records; head seq {report.head.seq}"
        f" hash {report.head.hash[:16]}"
    )
    trail, _ = engine.audit_records(tenant=ORG, affiliate_id=john)
    print(f"audit trail of {john} ({len(trail)} records):")
    for record in trail:
        print(f"  {record.seq:>3}  {rfc3339(record.at)}  {record.kind:<24} {record.resource_id}")
    of_dispute, _ = engine.audit_records(tenant=ORG, resource_id=disputed)
    print(f"records about the disputed commission: {len(of_dispute)}")
    for record in of_dispute:
        print(f"  {record.seq:>3}  {rfc3339(record.at)}  {record.kind:<24} {record.actor}")
    export = path.with_suffix(".audit.jsonl")
    exported = engine.export_audit(export, tenant=ORG, format="jsonl")
    print(f"exported {exported} records to {export}")
    print(f"checkpoint to keep elsewhere: {engine.checkpoint(tenant=ORG).to_json()}")

    # 3.1: the metrics, and their Prometheus form.
    heading("3.1 Metrics")
    m = engine.metrics(tenant=ORG)
    processing = m.average_batch_processing
    table(
        ["metric", "value"],
        [
            ["calculations succeeded", str(m.calculations_succeeded)],
            ["calculations failed", str(m.calculations_failed)],
            ["calculation success rate", percent(m.calculation_success_rate)],
            ["average commission", amounts_text(m.average_commission) or "-"],
            ["approval rate", percent(m.approval_rate)],
            ["dispute rate", percent(m.dispute_rate)],
            ["batch success rate", percent(m.batch_success_rate)],
            [
                "batch processing (average)",
                "-" if processing is None else f"{processing.total_seconds():g} s",
            ],
            ["failed payouts", str(m.failed_payouts)],
            ["payout retry rate", percent(m.payout_retry_rate)],
            ["active affiliates", str(m.active_affiliates)],
            ["tiers", counts_text(m.tier_distribution)],
            ["commission rates", counts_text(m.commission_rate_distribution, "%")],
            ["payout methods", counts_text(m.payout_method_distribution)],
        ],
    )
    prometheus = m.to_prometheus().splitlines()
    print(f"\nprometheus exposition: {len(prometheus)} lines, for example:")
    for line in prometheus:
        if line.startswith("mlas_commissions{"):
            print(f"  {line}")

    heading("1.2 Health")
    print_health(engine)
    return 0


def money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency}"


def amounts_text(amounts: Mapping[str, Decimal]) -> str:
    """``{"USD": Decimal("-30.00")}`` as ``-30.00 USD``; several currencies comma-separated."""
    return ", ".join(money(amount, currency) for currency, amount in sorted(amounts.items()))


def counts_text(counts: Mapping[str, int], suffix: str = "") -> str:
    """A distribution as ``key: count`` pairs (``suffix`` after each key, e.g. ``%``)."""
    pairs = sorted(counts.items())
    return ", ".join(f"{key}{suffix}: {count}" for key, count in pairs) or "-"


def percent(rate: Decimal | None) -> str:
    """A rate (0.1429) as a percentage (14.29%); ``-`` when there was nothing to rate."""
    return "-" if rate is None else f"{(rate * 100).normalize():f}%"


def rfc3339(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def payout_text(affiliate: mlas.Affiliate) -> str:
    """The payout method and the masked account (never the full account number)."""
    details = affiliate.payout_details
    if affiliate.payout_method is None or details is None:
        return "-"
    return f"{affiliate.payout_method} {details.masked_account}"


def print_commissions(engine: mlas.Engine) -> None:
    table(
        ["sale", "affiliate", "level", "rate", "amount", "status"],
        [
            [
                c.sale_id,
                c.affiliate_id,
                str(c.chain_level),
                "-" if c.percent is None else f"{c.percent}%",
                money(c.amount, c.currency),
                str(c.status),
            ]
            for c in engine.commissions(tenant=ORG)
        ],
    )


def print_payouts(engine: mlas.Engine, batch: str) -> None:
    rows = []
    for p in engine.payouts(tenant=ORG, batch_id=batch):
        if p.status is mlas.PayoutStatus.PAID:
            note = p.provider_reference or ""
        else:
            note = p.failure_reason or ""
        rows.append(
            [p.affiliate_id, money(p.amount, p.currency), str(p.status), str(p.attempts), note]
        )
    table(["affiliate", "amount", "status", "attempts", "reference / reason"], rows)


def print_health(engine: mlas.Engine) -> None:
    h = engine.health(tenant=ORG)
    schema = "-" if h.schema_version is None else h.schema_version
    head = "-" if h.audit_head is None else h.audit_head.seq
    print(
        f"status {h.status}  version {h.version}  backend {h.backend} (schema {schema})"
        f"  audit head {head}  verified {'yes' if h.audit_intact else 'NO'}"
    )
    if h.problem:
        print(f"problem: {h.problem}")


def heading(title: str) -> None:
    print(f"\n== {title}")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Prints rows under headers, each column as wide as its widest cell; amounts
    (cells after the first that start with a digit or a minus) are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> None:
        text = []
        for i, cell in enumerate(cells):
            numeric = i > 0 and cell.lstrip("-")[:1].isdigit()
            text.append(cell.rjust(widths[i]) if numeric else cell.ljust(widths[i]))
        print(f"  {'  '.join(text)}".rstrip())

    line(headers)
    line(["-" * w for w in widths])
    for row in rows:
        line(row)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
