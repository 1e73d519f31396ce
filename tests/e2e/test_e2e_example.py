"""The README walkthrough on the example bundle: plan, apply, plan again (D12–D14, D23).

Each test runs on the embedded default (in-process sandbox in ``.billsync/sandbox.db``) and on a
sandbox served on a loopback port that ``billsync.yaml`` names with the ``AUTOTASK_*`` variables.
Results are read back through the sandbox's REST API.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from bench.synthetic import generate_bundle
from providers.autotask.sandbox import make_app

from ._support import (
    AS_OF,
    EXAMPLE_BUNDLE,
    Bundle,
    SandboxApi,
    Setup,
    SetupFactory,
    cents,
    day,
    db_dump,
    month_bounds,
    summary_line,
)

EXAMPLE_PLAN_SUMMARY = "Plan: 70 to add, 0 to change, 6 to adopt, 0 to destroy."
SUB = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000{:02d}".format
SYNCED = {SUB(n) for n in (1, 2, 3, 4, 5, 7, 8, 11, 12, 13, 14, 15, 16, 17, 18, 20)}
"""The example's subscriptions that get a contract: not …06 (gone from the export), …09 (ORG-1006
has no AutotaskCompanyID, D1), …10 and …19 (ORG-1004's CSP 365 service is inactive, D6)."""
CREATES_BY_KIND = {
    "product": 3,  # azure-plan, azure-classic, marketplace (D15)
    "service": 11,  # 8 billed CSP 365 price-list products (D10, D11) + 3 type services (D17)
    "contract": 16,  # one per synced subscription (D12)
    "contract_service": 12,  # CSP 365, Reserved Instance, Perpetual License, Subscription ones
    "adjustment": 18,  # those 12 × 2 months (D14), but for 6 months carried unchanged from September
    "charge": 10,  # 4 Azure/Marketplace × 2 months (D16) + …08's rounding cent × 2 months
}
FRESH_PLAN_READS = {
    "BillingCodes": {"query": 1, "info": 1},
    "Companies": {"query": 1},
    "Services": {"query": 1, "info": 1},
    "Products": {"query": 1, "info": 1},
    "Contracts": {"query": 1, "info": 1},
    "ContractServices": {"info": 1},
    "ContractServiceAdjustments": {"info": 1},
    "ContractCharges": {"info": 1},
}
"""A plan on an empty tenant: the tenant's field metadata of every entity billsync creates (picklists
for the settings, required fields) and its billing codes (D4), the contracts' companies, and one bulk
query per marked entity; with no contract yet there is nothing to read under contracts."""


def _created_by_kind(output: str) -> Counter[str]:
    return Counter(re.findall(r"^  # (\w+)\[.* will be created", output, flags=re.MULTILINE))


@pytest.mark.slow  # the README's command, as a real process
def test_readme_plan_on_the_embedded_default_shows_70_creates_and_6_carried_months(tmp_path: Path) -> None:
    """README command 1: ``billsync plan`` in a folder with no billsync.yaml (installed script)."""
    script = Path(sys.executable).with_name("billsync")
    assert script.exists(), f"the billsync script is not installed next to {sys.executable}"
    completed = subprocess.run(
        [str(script), "plan", "--as-of", AS_OF], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout
    assert output.splitlines()[0] == "Billing months: 2026-09, 2026-10"
    assert output.splitlines()[-1] == EXAMPLE_PLAN_SUMMARY
    assert _created_by_kind(output) == CREATES_BY_KIND
    assert db_dump(tmp_path / ".billsync" / "sandbox.db") == _fresh_sandbox_dump(tmp_path / "fresh.db")


def test_plan_shows_the_example_plan_and_writes_nothing(sandbox_setup: Setup, tmp_path: Path) -> None:
    """D23: a plan reads Autotask in bulk and writes nothing."""
    before = (
        db_dump(Path(sandbox_setup.db))
        if sandbox_setup.mode == "served"
        else _fresh_sandbox_dump(tmp_path / "fresh.db")
    )
    if sandbox_setup.mode == "served":
        sandbox_setup.api.reset_stats()

    output = sandbox_setup.workspace.run("plan", "--as-of", AS_OF).stdout

    assert summary_line(output) == EXAMPLE_PLAN_SUMMARY
    assert _created_by_kind(output) == CREATES_BY_KIND
    created = set(re.findall(r'^  # contract\["([^"]+)"\] will be created', output, flags=re.MULTILINE))
    assert created == SYNCED == Bundle(EXAMPLE_BUNDLE).synced()
    assert 'adjustment["' + SUB(5) + '"]["2026-10"] will be created  (units 20 -> 25;' in output
    assert "Warning: organization ORG-1006 (Wingtip Toys) has no AutotaskCompanyID: 150.00 USD" in output
    if sandbox_setup.mode == "served":
        assert sandbox_setup.api.stats() == FRESH_PLAN_READS
    assert db_dump(Path(sandbox_setup.db)) == before


def test_apply_then_plan_shows_no_changes_and_one_contract_per_subscription(sandbox_setup: Setup) -> None:
    """D12, D13, D8/D14 after ``apply --auto-approve``; then ``plan --detailed-exitcode`` exits 0."""
    bundle = Bundle(EXAMPLE_BUNDLE)
    applied = sandbox_setup.workspace.run("apply", "--auto-approve", "--as-of", AS_OF).stdout
    assert (
        applied.splitlines()[-1]
        == "Apply complete: 70 written, 6 adopted, 0 failed, 0 skipped. Snapshot serial 1."
    )

    again = sandbox_setup.workspace.run("plan", "--detailed-exitcode", "--as-of", AS_OF).stdout
    assert "No changes. Autotask matches the billing reports and the rules." in again
    assert summary_line(again) == "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."

    contracts = sandbox_setup.api.contracts()
    assert set(contracts) == bundle.synced() == SYNCED
    for sid, contract in contracts.items():
        start, end = bundle.contract_dates(sid)
        assert (day(contract["startDate"]), day(contract["endDate"])) == (start, end), sid
        assert (contract["contractType"], contract["serviceLevelAgreementID"]) == (7, 1), sid
    # D13 on the documented cases: mid-month start, a renewed term, an ongoing Azure plan
    assert contracts[SUB(2)]["startDate"] == "2026-09-01T00:00:00"
    assert contracts[SUB(4)]["endDate"] == "2027-10-31T00:00:00"
    assert (contracts[SUB(11)]["startDate"], contracts[SUB(11)]["endDate"]) == (
        "2024-04-01T00:00:00",
        "2034-12-31T00:00:00",
    )

    csp = {sid: contracts[sid]["id"] for sid in bundle.synced({"CSP365"})}
    units = _units_by_month(sandbox_setup.api, csp, bundle.periods)
    expected = {(sid, p): bundle.quantity(sid, p) for sid in csp for p in bundle.periods}
    assert units == expected
    # D8 highest quantity, D14 no line → 0 units, D20 a credit line does not lower the highest
    assert units[(SUB(1), "2026-09")] == 15
    assert units[(SUB(18), "2026-10")] == 0
    assert units[(SUB(7), "2026-09")] == 12
    assert units[(SUB(5), "2026-10")] == 25


def _units_by_month(
    api: SandboxApi, contract_ids: dict[str, int], periods: list[str]
) -> dict[tuple[str, str], int]:
    """The ContractServiceUnits row starting on the 1st of each month, per subscription (one row each)."""
    by_contract = {cid: sid for sid, cid in contract_ids.items()}
    first, last = month_bounds(periods[0])[0], month_bounds(periods[-1])[1]
    rows = api.in_contracts(
        "ContractServiceUnits",
        contract_ids.values(),
        [
            {"op": "gte", "field": "startDate", "value": f"{first.isoformat()}T00:00:00"},
            {"op": "lte", "field": "startDate", "value": f"{last.isoformat()}T00:00:00"},
        ],
    )
    found: dict[tuple[str, str], int] = {}
    for row in rows:
        start = day(row["startDate"])
        assert start.day == 1, f"a unit row split mid-month: {row}"
        key = (by_contract[row["contractID"]], start.isoformat()[:7])
        assert key not in found, f"two unit rows for {key}"
        found[key] = row["units"]
    return found


@pytest.mark.parametrize("source", ["example", "synthetic"])
def test_billed_amount_per_month_equals_the_report_total_sales_to_the_cent(
    source: str, make_setup: SetupFactory, tmp_path: Path
) -> None:
    """D14, D16, D22: units × price (to the cent) + the month's charges == the report's total sales."""
    if source == "example":
        folder = EXAMPLE_BUNDLE
        setup = make_setup("embedded")
    else:
        generated = generate_bundle(tmp_path / "bundle", subscriptions=120, seed=7)
        folder = generated.path
        setup = make_setup("embedded", bundle=folder, companies=generated.companies)
    bundle = Bundle(folder)
    setup.workspace.run("apply", "--auto-approve", "--as-of", AS_OF)

    contracts = setup.api.contracts()
    assert set(contracts) == bundle.synced()
    billed = _billed_by_month(setup.api, {sid: c["id"] for sid, c in contracts.items()}, bundle.periods)
    expected = {(sid, p): bundle.sales(sid, p) for sid in contracts for p in bundle.periods}
    assert {key: billed.get(key, Decimal("0.00")) for key in expected} == expected
    assert set(billed) <= set(expected)
    if source == "example":
        assert billed[(SUB(8), "2026-09")] == Decimal("1000.00")  # 300 × 3.3333 = 999.99 + 0.01 charge
        assert billed[(SUB(11), "2026-10")] == Decimal("625.64")  # 5 Azure usage lines, one charge
        assert billed[(SUB(7), "2026-09")] == Decimal("125.00")  # the revised report's total
        assert billed[(SUB(2), "2026-09")] == Decimal("93.87")  # 16 of 30 days
        assert billed.get((SUB(16), "2026-10"), Decimal(0)) == 0  # a one-time purchase, billed once
    else:
        types = {bundle.subscriptions[sid].record_type for sid in contracts}
        assert types == {
            "CSP365",
            "Azure",
            "Marketplace",
            "ReservedInstance",
            "PerpetualLicense",
            "Subscription",
        }


def _billed_by_month(
    api: SandboxApi, contract_ids: dict[str, int], periods: list[str]
) -> dict[tuple[str, str], Decimal]:
    """What Autotask bills per subscription and month: unit rows (units × price) and charges."""
    by_contract = {cid: sid for sid, cid in contract_ids.items()}
    first, last = month_bounds(periods[0])[0], month_bounds(periods[-1])[1]
    window = [f"{first.isoformat()}T00:00:00", f"{last.isoformat()}T00:00:00"]
    billed: dict[tuple[str, str], Decimal] = {}
    unit_rows = api.in_contracts(
        "ContractServiceUnits",
        contract_ids.values(),
        [
            {"op": "gte", "field": "startDate", "value": window[0]},
            {"op": "lte", "field": "startDate", "value": window[1]},
        ],
    )
    for row in unit_rows:
        key = (by_contract[row["contractID"]], row["startDate"][:7])
        billed[key] = billed.get(key, Decimal(0)) + cents(row["units"] * Decimal(row["price"] or 0))
    charges = api.in_contracts(
        "ContractCharges",
        contract_ids.values(),
        [
            {"op": "gte", "field": "datePurchased", "value": window[0]},
            {"op": "lte", "field": "datePurchased", "value": window[1]},
        ],
    )
    for row in charges:
        key = (by_contract[row["contractID"]], row["datePurchased"][:7])
        billed[key] = billed.get(key, Decimal(0)) + cents(
            Decimal(row["unitQuantity"]) * Decimal(row["unitPrice"])
        )
    return billed


def _fresh_sandbox_dump(path: Path) -> list[str]:
    """The database of a sandbox that was just created and seeded, and never used."""
    app = make_app(path)
    app.store.close()
    return db_dump(path)


def test_planning_an_applied_month_again_has_no_changes(make_setup: SetupFactory) -> None:
    """``--period`` re-plans a month; once it is applied, nothing is left to do (exit 0)."""
    workspace = make_setup("embedded").workspace
    workspace.run("apply", "--auto-approve", "--as-of", AS_OF)
    again = workspace.run("plan", "--period", "2026-10", "--detailed-exitcode", "--as-of", AS_OF).stdout
    assert summary_line(again) == "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
