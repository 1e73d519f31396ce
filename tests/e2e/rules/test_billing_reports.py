"""Billing reports: D7 timing, D8 aggregation, D9 currency."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .._support import LEASE_WRITES

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""


# -- D7 -----------------------------------------------------------------------------------------------


def test_d7_a_report_is_due_from_the_day_after_it_became_available(env: Env, november: Path) -> None:
    env.configure(november)
    first = {"period": "2026-09", "available_on": "2026-10-06", "revision_of": None, "applied": False}
    revised = {"period": "2026-09", "available_on": "2026-10-20", "revision_of": None, "applied": False}
    october = {"period": "2026-10", "available_on": "2026-11-06", "revision_of": None, "applied": False}

    on_the_day = env.plan("2026-10-06")
    assert (on_the_day.doc["periods"], on_the_day.changes()) == ([], [])
    assert env.plan("2026-10-07").doc["periods"] == [first]
    assert env.plan("2026-10-20").doc["periods"] == [first]
    assert env.plan("2026-10-21").doc["periods"] == [revised]
    assert env.plan("2026-11-06").doc["periods"] == [revised]
    assert env.plan("2026-11-07").doc["periods"] == [revised, october]
    assert env.api.writes() == {}


def test_d7_run_applies_what_is_due_once_and_a_second_run_the_same_day_writes_nothing(
    env: Env, october: Path
) -> None:
    env.configure(october)

    early = env.billsync("run", "--auto-approve", "--as-of", "2026-10-06")
    assert "Nothing due: every available billing report is applied." in early.stdout
    assert env.api.writes() == {}

    first = env.billsync("run", "--auto-approve", "--as-of", "2026-10-07")
    assert "Apply complete: 63 written, 0 adopted, 0 failed, 0 skipped. Snapshot serial 1." in first.stdout
    assert sum(env.api.writes().values()) == 63 + LEASE_WRITES  # and the writer lease (D26)
    assert len(env.api.marked_contracts()) == 17
    env.api.reset_counters()

    second = env.billsync("run", "--auto-approve", "--as-of", "2026-10-07")
    assert "Nothing due: every available billing report is applied." in second.stdout
    assert env.api.writes() == {}
    assert len(env.api.marked_contracts()) == 17


# -- D8 -----------------------------------------------------------------------------------------------


def test_d8_a_month_sums_totals_and_takes_the_highest_quantity(env: Env, october: Path) -> None:
    env.configure(october)
    env.apply("2026-10-07")

    # …01: 10 seats for 1–15 September (62.50 / 53.13) and 15 seats from the 16th (93.75 / 79.69).
    contract = env.api.contract(f"{EX}01")["id"]
    [september] = env.api.units(contract, "2026-09")
    assert (september["units"], september["price"], september["cost"]) == (
        15,
        Decimal("10.4167"),  # 156.25 / 15
        Decimal("8.8547"),  # 132.82 / 15
    )
    assert env.api.charges(contract) == []
    assert env.api.billed(contract, "2026-09") == Decimal("156.25")

    # …11: four Azure usage lines of quantity 1 make one charge with their sums.
    azure = env.api.contract(f"{EX}11")["id"]
    [charge] = env.api.charges(azure)
    assert (charge["unitQuantity"], charge["unitPrice"], charge["unitCost"]) == (
        1,
        Decimal("607.28"),
        Decimal("528.07"),
    )


def test_d8_highest_quantity_of_many_lines_not_their_sum(env: Env, bundle: BundleWriter) -> None:
    bundle.price("P-1", "Microsoft 365 E3", "30.6000", "36.0000")
    bundle.org("ORG-A", "Contoso Ltd", 101)
    bundle.sub("S-1", "ORG-A", "P-1", "Microsoft 365 E3", quantity=12)
    for quantity, sales, cost in ((10, "120.00", "102.00"), (12, "72.00", "61.20"), (11, "-6.00", "-5.10")):
        bundle.line("2026-09", "2026-10-06", "S-1", quantity, sales, cost)
    env.configure(bundle.write("lines"))

    env.apply("2026-10-07")

    contract = env.api.contract("S-1")["id"]
    [september] = env.api.units(contract, "2026-09")
    assert (september["units"], september["price"], september["cost"]) == (
        12,
        Decimal("15.5"),
        Decimal("13.175"),
    )
    assert env.api.billed(contract, "2026-09") == Decimal("186.00")


# -- D9 -----------------------------------------------------------------------------------------------


def test_d9_a_line_in_another_currency_is_an_error_for_its_organization(
    env: Env, bundle: BundleWriter
) -> None:
    bundle.price("P-1", "Microsoft 365 Business Basic", "5.1000", "6.0000")
    bundle.price("P-2", "Microsoft 365 E3", "30.6000", "36.0000")
    bundle.org("ORG-US", "Contoso Ltd", 101)
    bundle.org("ORG-EU", "Euro GmbH", 102, currency="EUR")
    bundle.org("ORG-MIX", "Mixed AB", 103)
    bundle.sub("S-US", "ORG-US", "P-1", "Microsoft 365 Business Basic", quantity=2)
    bundle.sub("S-EU", "ORG-EU", "P-2", "Microsoft 365 E3")
    bundle.sub("S-MIX", "ORG-MIX", "P-2", "Microsoft 365 E3", quantity=2)
    bundle.line("2026-09", "2026-10-06", "S-US", 2, "12.00", "10.20")
    bundle.line("2026-09", "2026-10-06", "S-EU", 1, "36.00", "30.60")
    bundle.line("2026-09", "2026-10-06", "S-MIX", 1, "36.00", "30.60")
    bundle.line("2026-09", "2026-10-06", "S-MIX", 2, "72.00", "61.20", currency="EUR")
    env.configure(bundle.write("currencies"))

    plan = env.plan("2026-10-07")
    assert plan.diagnostics == [
        {
            "severity": "error",
            "code": "currency",
            "message": f"organization {org} has lines in EUR but Autotask bills in USD; its lines are not "
            "exported (D9)",
        }
        for org in ("ORG-EU (Euro GmbH)", "ORG-MIX (Mixed AB)")
    ]
    assert "Error: organization ORG-MIX (Mixed AB) has lines in EUR" in env.plan_text("2026-10-07")
    env.apply("2026-10-07")

    assert sorted(env.api.marked_contracts()) == ["S-US"]
    assert sorted(env.api.services()) == ["billsync:csp365:P-1"]
    assert env.api.billed(env.api.contract("S-US")["id"], "2026-09") == Decimal("12.00")
