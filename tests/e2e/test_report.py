"""``billsync report`` on the two-month example: every format shows, per customer and month, the
example reports' totals to the cent, what Autotask bills, and why a line is left unbilled."""

from __future__ import annotations

import csv
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from ._report_support import expected_rows, read_csv, read_html, read_markdown, read_text
from ._support import AS_OF, EXAMPLE_BUNDLE, Setup, SetupFactory

ZERO = Decimal("0.00")
SUB = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000{:02d}".format
READERS = {
    "text": read_text,
    "md": read_markdown,
    "html": read_html,
    "csv": lambda text: read_csv(text)[:2],
}


def _report(setup: Setup, fmt: str, *args: str, expect: int = 0) -> str:
    out = setup.workspace.root / f"report.{fmt}"
    setup.workspace.run("report", "--as-of", AS_OF, "--format", fmt, "--out", str(out), *args, expect=expect)
    return out.read_text(encoding="utf-8")


def _check_rows(rows: dict[tuple[str, str], dict[str, Decimal]], billed_now: bool) -> None:
    """Each row against the example's CSV files: sales and cost to the cent, billed = sales − unbilled."""
    expected = expected_rows(EXAMPLE_BUNDLE)
    assert set(rows) == set(expected)
    for key, want in expected.items():
        got = rows[key]
        billed = want["sales"] - want["unbilled"] if billed_now else ZERO
        assert got == {
            "sales": want["sales"],
            "cost": want["cost"],
            "billed": billed,
            "margin": billed - want["cost"],
            "unbilled": want["unbilled"],
            "difference": billed - (want["sales"] - want["unbilled"]),
        }, key


@pytest.mark.parametrize("fmt", sorted(READERS))
def test_report_of_the_plan_bills_every_example_month_to_the_cent(make_setup: SetupFactory, fmt: str) -> None:
    """Before anything is applied, the plan's adjustments and charges bill each linked, active customer's
    month exactly its report's total sales (D8, D14, D22)."""
    setup = make_setup("embedded")
    rows, total = READERS[fmt](_report(setup, fmt))
    _check_rows(rows, billed_now=True)
    expected = expected_rows(EXAMPLE_BUNDLE)
    assert total["sales"] == sum(r["sales"] for r in expected.values()) == Decimal("20694.88")
    assert total["cost"] == sum(r["cost"] for r in expected.values()) == Decimal("18088.87")
    assert total["billed"] == Decimal("20308.88")
    assert total["unbilled"] == Decimal("386.00")
    assert total["difference"] == ZERO


def test_report_after_apply_reads_the_same_totals_back_from_autotask(sandbox_setup: Setup) -> None:
    """After the apply, ``--actual`` computes the billing from Autotask's own unit rows and charges."""
    sandbox_setup.workspace.run("apply", "--as-of", AS_OF, "--auto-approve")
    for fmt, reader in READERS.items():
        rows, total = reader(_report(sandbox_setup, fmt, "--actual", "--detailed-exitcode"))
        _check_rows(rows, billed_now=True)
        assert total["billed"] == Decimal("20308.88"), fmt


def test_report_of_an_empty_autotask_flags_every_billable_month(make_setup: SetupFactory) -> None:
    """``--actual`` before any apply: nothing is billed, each billable month differs and is flagged."""
    setup = make_setup("embedded")
    text = _report(setup, "text", "--actual", "--detailed-exitcode", expect=2)
    rows, total = read_text(text)
    _check_rows(rows, billed_now=False)
    assert total["difference"] == Decimal("-20308.88")
    flagged = [line for line in text.splitlines() if re.search(r"\s!(\s|$)", line)]
    assert len(flagged) == 8  # 4 billable customers x 2 months
    assert "8 customer month(s) differ from the Cloudmore report by -20308.88" in text


def test_unbilled_amounts_are_listed_with_their_reasons(make_setup: SetupFactory) -> None:
    """D1 (Wingtip Toys has no company link), D6 (Tailspin Toys' CSP 365 service is inactive), and the
    Teams subscription …06 billed in September but no longer listed by Cloudmore."""
    setup = make_setup("embedded")
    _rows, _total, records = read_csv(_report(setup, "csv"))
    unbilled = [
        (r["month"], r["customer"], r["unbilled"], r["flag"]) for r in records if r["record"] == "unbilled"
    ]
    assert unbilled == [
        ("2026-09", "Fabrikam Inc", "20.00", "gone"),
        ("2026-09", "Tailspin Toys", "108.00", "D6"),
        ("2026-09", "Wingtip Toys", "75.00", "D1"),
        ("2026-10", "Tailspin Toys", "108.00", "D6"),
        ("2026-10", "Wingtip Toys", "75.00", "D1"),
    ]
    text = _report(setup, "text")
    assert (
        "  2026-09  Wingtip Toys (ORG-1006)  75.00  D1: the organization has no Autotask company link" in text
    )
    assert (
        "  2026-10  Tailspin Toys (ORG-1004)  108.00  D6: the organization has no active CSP 365 or Azure service"
        in text
    )


def test_d5_a_record_type_turned_off_is_unbilled_with_its_rule(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    settings = setup.workspace.root / "settings.yaml"
    text = (Path(__file__).resolve().parents[2] / "rules" / "settings.yaml").read_text(encoding="utf-8")
    settings.write_text(text.replace("  azure: true", "  azure: false"), encoding="utf-8")
    (setup.workspace.root / "billsync.yaml").write_text("settings: ./settings.yaml\n", encoding="utf-8")
    _rows, _total, records = read_csv(_report(setup, "csv"))
    off = {(r["month"], r["customer"]): r["unbilled"] for r in records if r["flag"] == "D5"}
    # Azure …11 (Contoso) and …12, …13 (Northwind), from the README table of the example
    assert off == {
        ("2026-09", "Contoso Ltd"): "607.28",
        ("2026-09", "Northwind Traders"): "1876.41",
        ("2026-10", "Contoso Ltd"): "625.64",
        ("2026-10", "Northwind Traders"): "1845.09",
    }
    rows, total, _ = read_csv(_report(setup, "csv"))
    assert total["difference"] == ZERO


def test_d9_lines_in_another_currency_are_unbilled_with_its_rule(
    make_setup: SetupFactory, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE_BUNDLE, bundle)
    october = bundle / "billing" / "2026-10.csv"
    with october.open(newline="", encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    for line in lines:
        if line["Organization ID"] == "ORG-1005":
            line["Currency Code"] = "EUR"
    with october.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    setup = make_setup("embedded", bundle=bundle)
    _rows, _total, records = read_csv(_report(setup, "csv"))
    assert [(r["month"], r["customer"], r["unbilled"]) for r in records if r["flag"] == "D9"] == [
        ("2026-10", "Adventure Works Cycles", "1150.00")
    ]


def test_d20_a_revised_month_shows_its_correction_planned_then_in_autotask(make_setup: SetupFactory) -> None:
    """September applied from its first report; its revision lowers …07 from 150.00 to 125.00."""
    setup = make_setup("embedded")
    setup.workspace.run("apply", "--as-of", "2026-10-10", "--auto-approve")
    _rows, _total, records = read_csv(_report(setup, "csv"))
    corrections = [
        (r["month"], r["customer"], r["billed"], r["note"]) for r in records if r["record"] == "correction"
    ]
    assert corrections == [
        ("2026-09", "Northwind Traders", "-25.00", f"{SUB(7)} revision of 2026-10-20 (planned)")
    ]
    rows, total = read_csv(_report(setup, "csv"))[:2]
    _check_rows(rows, billed_now=True)
    setup.workspace.run("apply", "--as-of", AS_OF, "--auto-approve")
    _rows, _total, records = read_csv(_report(setup, "csv", "--actual"))
    assert [(r["month"], r["billed"], r["note"]) for r in records if r["record"] == "correction"] == [
        ("2026-09", "-25.00", f"{SUB(7)} revision of 2026-10-20 (in Autotask)")
    ]
    _check_rows(read_csv(_report(setup, "csv", "--actual"))[0], billed_now=True)


def test_report_of_a_saved_plan_and_of_one_month(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    plan = setup.workspace.root / "month.plan"
    setup.workspace.run("plan", "--as-of", AS_OF, "--period", "2026-10", "--out", str(plan))
    text = setup.workspace.run("report", str(plan), "--period", "2026-10").stdout
    assert "Autotask billing after the saved plan" in text
    rows, total = read_text(text)
    assert {month for _name, month in rows} == {"2026-10"}
    assert total["billed"] == Decimal("6479.15") and total["difference"] == ZERO


def test_a_saved_plan_applied_since_is_refused_not_counted_twice(make_setup: SetupFactory) -> None:
    setup = make_setup("embedded")
    plan = setup.workspace.root / "month.plan"
    setup.workspace.run("plan", "--as-of", AS_OF, "--out", str(plan))
    setup.workspace.run("apply", str(plan))
    refused = setup.workspace.run("report", str(plan), expect=1)
    assert "another apply ran since" in str(refused.exception)
