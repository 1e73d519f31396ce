"""A revision the source cannot date (the Cloudmore API lists no publications) is found by its content
digest against the one applied (D20), and the digest is kept in the snapshot with the month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.periods import DueReport, due_reports, report_digest
from engine.snapshot import Snapshot, snapshot_from_json, snapshot_to_json
from engine.source import BillingLine, Report


def _line(subscription: str, sales: str, origin: str = "") -> BillingLine:
    return BillingLine(
        billing_date=date(2026, 9, 1),
        service_name="Microsoft CSP 365",
        organization_id="ORG-1",
        product_name="P",
        product_id="P-1",
        quantity=3,
        unit_cost_price=Decimal("1.0000"),
        unit_sales_price=Decimal("2.0000"),
        total_cost=Decimal("3.00"),
        total_sales=Decimal(sales),
        currency="USD",
        subscription_id=subscription,
        record_type="CSP365",
        origin=origin,
    )


SEP = Report(
    period="2026-09",
    available_on=date(2026, 10, 8),
    file="billing/2026-09.csv",
    lines=(_line("S-1", "6.00"), _line("S-2", "4.00")),
)
REVISED = SEP.model_copy(update={"lines": (_line("S-1", "6.00"), _line("S-2", "5.00"))})
APPLIED = {"2026-09": "2026-10-08"}


def test_the_digest_is_of_the_values_not_their_order_or_origin() -> None:
    shuffled = SEP.model_copy(
        update={"lines": (_line("S-2", "4.00", "x.csv:2"), _line("S-1", "6.00", "api#1"))}
    )
    assert report_digest(shuffled) == report_digest(SEP)
    assert report_digest(REVISED) != report_digest(SEP)
    assert report_digest(SEP.model_copy(update={"lines": (_line("S-1", "6.0"), _line("S-2", "4.00"))})) != (
        report_digest(SEP)
    )  # 6.0 and 6.00 are different text on an invoice


def test_an_unchanged_report_is_not_due_again() -> None:
    digests = {"2026-09": report_digest(SEP)}
    assert due_reports([SEP], date(2026, 11, 20), APPLIED, None, digests) == []


def test_a_changed_report_is_a_revision_dated_the_day_before_as_of() -> None:
    digests = {"2026-09": report_digest(SEP)}
    due = due_reports([REVISED], date(2026, 11, 20), APPLIED, None, digests)
    assert due == [
        DueReport("2026-09", REVISED.model_copy(update={"available_on": date(2026, 11, 19)}), "2026-10-08")
    ]
    asked = due_reports([REVISED], date(2026, 11, 20), APPLIED, "2026-09", digests)
    assert asked == due


def test_a_revision_seen_the_day_after_the_applied_one_is_still_dated_after_it() -> None:
    applied = {"2026-09": "2026-11-19"}  # a revision applied on 2026-11-20, revised again that day
    due = due_reports([REVISED], date(2026, 11, 20), applied, None, {"2026-09": report_digest(SEP)})
    assert [(d.report.available_on, d.revision_of) for d in due] == [(date(2026, 11, 20), "2026-11-19")]


def test_without_a_recorded_digest_an_applied_month_stays_applied() -> None:
    assert due_reports([REVISED], date(2026, 11, 20), APPLIED) == []


def test_the_snapshot_keeps_the_digests_and_writes_none_when_it_has_none() -> None:
    snapshot = Snapshot(lineage="L", serial=2, applied_periods=APPLIED, applied_digests={"2026-09": "abc"})
    text = snapshot_to_json(snapshot)
    assert '"applied_digests": {\n    "2026-09": "abc"\n  }' in text
    assert snapshot_from_json(text, {}, "s.json").applied_digests == {"2026-09": "abc"}
    assert "applied_digests" not in snapshot_to_json(Snapshot(lineage="L", applied_periods=APPLIED))
