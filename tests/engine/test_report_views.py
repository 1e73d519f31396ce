"""The report's views treat Cloudmore's names as data; the billing after a plan carries adjustments on."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

from engine.plan import Create
from engine.report.html import render_html
from engine.report.model import BillingReport, Row, SubscriptionLine, Totals, Unbilled, billed_after
from engine.report.views import render_csv, render_markdown, render_text
from engine.resources import ActualObject

HOSTILE = '=HYPERLINK("http://x")\x1b[31m|<script>alert(1)</script>\n*bold*'


def _report(name: str = HOSTILE) -> BillingReport:
    totals = Totals(Decimal("10.00"), Decimal("8.50"), Decimal("9.99"), Decimal("0"))
    line = SubscriptionLine("S-1<b>", name, "CSP365", 2, totals)
    row = Row("ORG-<1>", name, "2026-10", totals, (), (line,))
    return BillingReport(
        as_of="2026-11-25",
        basis="after the plan",
        target="https://user:secret@example.invalid/\x1b]0;t\x07",
        source="bundle",
        currency="USD",
        periods=("2026-10",),
        rows=(row,),
        unbilled=(Unbilled("ORG-<1>", name, "2026-10", "D1", Decimal("1.00")),),
        month_totals={"2026-10": totals},
    )


def test_text_shows_control_characters_escaped_and_flags_the_difference() -> None:
    text = render_text(_report())
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b[31m" in text
    row = next(line for line in text.splitlines() if "2026-10" in line and "10.00" in line)
    assert row.split()[-1] == "!"
    assert "-0.01" in row
    assert "1 customer month(s) differ from the Cloudmore report by -0.01: marked with '!'." in text


def test_markdown_cells_cannot_break_the_table_or_inject_html() -> None:
    md = render_markdown(_report())
    row = next(line for line in md.splitlines() if "2026-10 | 10.00" in line)
    assert "<script>" not in md and "&lt;script&gt;" in row
    assert len(re.findall(r"(?<!\\)\|", row)) == 10  # the name's "|" is escaped: the row keeps its 9 cells
    assert "\\*bold\\*" in row


def test_csv_text_cells_never_start_a_formula() -> None:
    records = list(csv.DictReader(io.StringIO(render_csv(_report()))))
    row = next(r for r in records if r["record"] == "row")
    assert row["customer"].startswith("'=HYPERLINK")
    assert "\x1b" not in row["customer"]
    assert (row["sales"], row["billed"], row["difference"], row["flag"]) == ("10.00", "9.99", "-0.01", "!")


def test_html_escapes_names_and_loads_nothing_from_the_network() -> None:
    page = render_html(_report())
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for fetches in ("src=", "href=", "<link", "url(", "@import", "fetch(", "XMLHttpRequest"):
        assert fetches not in page
    assert "\x1b" not in page


def _adjustment(sid: str, period: str, units: int, price: str) -> ActualObject:
    attrs = {"effectiveDate": date(2026, int(period[5:]), 1), "units": units, "unitPrice": Decimal(price)}
    return ActualObject(f'adjustment["{sid}"]["{period}"]', "adjustment", 1, attrs)


def test_a_planned_adjustment_carries_its_units_and_price_into_the_later_months() -> None:
    """Autotask applies an adjustment from its month on: October's row follows September's change."""
    actual = {
        a.address: a
        for a in (_adjustment("S-1", "2026-09", 10, "3.0000"), _adjustment("S-1", "2026-10", 10, "3.0000"))
    }
    change = Create(
        address='adjustment["S-1"]["2026-09"]',
        kind="adjustment",
        after={"units": 12, "unitPrice": Decimal("3.3333")},
        payload={"unitChange": 2},  # Autotask's detail: the report reads the units from before and after
        before={"units": 10, "unitPrice": Decimal("3.0000")},
    )
    charge = Create(
        address='charge["S-1"]["2026-09"]["rounding"]',
        kind="charge",
        after={"unitQuantity": Decimal(1), "unitPrice": Decimal("0.01")},
    )
    billed, fixes = billed_after(actual, [change, charge], ["2026-09", "2026-10"])
    assert billed == {("S-1", "2026-09"): Decimal("40.01"), ("S-1", "2026-10"): Decimal("40.00")}
    assert fixes == []
