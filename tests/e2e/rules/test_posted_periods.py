"""D27 posted periods: a month Autotask has approved and posted is never written again.

``billsync sandbox post`` (embedded) or the sandbox's tenant API (served) posts a month; a revision
or a quantity change for it is then billed as a correction charge dated in the first open month, the
plan says why, and what Autotask bills still equals the report to the cent.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}07" is …07 of providers/cloudmore/example/README.md."""
CORRECTION = f'charge["{EX}07"]["2026-09"]["correction-2026-10-20"]'


def _post(env: Env, through: str) -> str:
    """Approve and post through ``through``: the CLI on the embedded sandbox, the tenant API on a served one."""
    if env.served:
        result = env.api.app.tenant.post(date.fromisoformat(through))
        return result.posted_at
    output = env.billsync("sandbox", "post", "--through", through).stdout
    assert f"Approved and posted through {through} in " in output
    return output.split("approveAndPostDate ")[1].split(")")[0]


def _posted_september_is_corrected_in_october(env: Env, october: Path, november: Path) -> list[str]:
    """Returns the adjustments the plan after posting creates (a served sandbox counts them)."""
    env.configure(october)
    env.apply("2026-10-10")
    contract = env.api.contract(f"{EX}07")["id"]
    september = env.api.units(contract, "2026-09")
    assert [(r["units"], r["price"], r["approveAndPostDate"]) for r in september] == [
        (12, Decimal("12.5"), None)
    ]
    posted_at = _post(env, "2026-09-30")
    september = env.api.units(contract, "2026-09")
    assert [r["approveAndPostDate"] for r in september] == [posted_at]

    env.configure(november)
    plan = env.plan("2026-11-25")

    assert [a for a in plan.addresses() if "correction" in a] == [CORRECTION]
    change = plan.change(CORRECTION)
    assert change["action"] == "create"
    assert change["after"] == {
        "billingCodeID": 2002,
        "datePurchased": "2026-10-01",
        "description": "Microsoft 365 Business Standard 2026-09: revised report of 2026-10-20",
        "name": "Correction 2026-09",
        "unitCost": "-21.2500",
        "unitPrice": "-25.0000",
        "unitQuantity": "1.0000",
    }
    assert change["reason"] == (
        f"month 2026-09 is posted in Autotask (approveAndPostDate {posted_at}); "
        "the change is billed as a correction in 2026-10"
    )
    assert [a for a in plan.addresses() if '["2026-09"]' in a and "correction" not in a] == []
    assert "2026-09" in plan_text_without_writes(env, "2026-11-25")

    if env.served:
        env.api.reset_counters()
    env.apply("2026-11-25")

    assert env.api.units(contract, "2026-09") == september  # no adjustment into the posted month
    [fix] = [c for c in env.api.charges(contract) if "correction" in c["purchaseOrderNumber"]]
    assert (
        fix["datePurchased"],
        fix["unitQuantity"],
        fix["unitPrice"],
        fix["billableAmount"],
        fix["isBilled"],
    ) == (
        "2026-10-01T00:00:00",
        1,
        Decimal("-25"),
        Decimal("-25"),
        False,
    )
    assert fix["purchaseOrderNumber"] == "billsync:2026-09/correction-2026-10-20"
    # the posted month bills 150.00 and its correction -25.00: the revised report's 125.00
    assert env.api.billed(contract, "2026-09") + fix["billableAmount"] == Decimal("125.00")
    again = env.plan("2026-11-25")
    assert [c for c in again.changes() if c["action"] in ("create", "update")] == []
    return plan.addresses("create", "adjustment")


def plan_text_without_writes(env: Env, as_of: str) -> str:
    """The plan as a person reads it (the reason is shown with the change)."""
    text = env.plan_text(as_of)
    assert "is posted in Autotask (approveAndPostDate" in text
    return text


def test_d27_a_revision_of_a_posted_month_is_a_correction_in_the_open_month_embedded(
    embedded_env: Env, october: Path, november: Path
) -> None:
    _posted_september_is_corrected_in_october(embedded_env, october, november)


def test_d27_a_revision_of_a_posted_month_is_a_correction_in_the_open_month_served(
    env: Env, october: Path, november: Path
) -> None:
    adjustments = _posted_september_is_corrected_in_october(env, october, november)
    # the apply after posting created exactly the planned adjustments, all of the open month 2026-10
    assert adjustments and all('["2026-10"]' in a for a in adjustments)
    assert env.api.writes()["ContractServiceAdjustments"] == len(adjustments)


def _bundle(bundle: BundleWriter, october_quantity: int) -> Path:
    bundle.org("ORG1", "Contoso", 101).price("P1", "Microsoft 365 E3", "8.00", "10.00")
    bundle.sub("S1", "ORG1", "P1", "Microsoft 365 E3", quantity=3)
    bundle.line("2026-09", "2026-10-02", "S1", 3, "30.00", "24.00")
    bundle.line(
        "2026-10",
        "2026-11-02",
        "S1",
        october_quantity,
        f"{10 * october_quantity}.00",
        f"{8 * october_quantity}.00",
    )
    return bundle.write(f"q{october_quantity}")


def test_d27_a_quantity_change_for_a_posted_month_is_billed_in_the_first_open_month(
    env: Env, bundle: BundleWriter, tmp_path: Path
) -> None:
    """October is posted in Autotask before billsync applies it (3 units carried from September);
    the report says 5: the 20.00 difference is one correction charge dated 2026-11-01."""
    env.configure(_bundle(bundle, 5))
    env.apply("2026-10-05")
    contract = env.api.contract("S1")["id"]
    posted_at = _post(env, "2026-10-31")
    assert [(r["units"], r["approveAndPostDate"]) for r in env.api.units(contract, "2026-10")] == [
        (3, posted_at)
    ]
    env.api.reset_counters()

    plan = env.plan("2026-11-05")

    address = 'charge["S1"]["2026-10"]["correction-2026-11-02"]'
    assert plan.addresses("create") == [address]
    change = plan.change(address)
    assert change["after"]["datePurchased"] == "2026-11-01"
    assert (change["after"]["unitPrice"], change["after"]["unitCost"]) == ("20.0000", "16.0000")
    assert change["reason"] == (
        f"month 2026-10 is posted in Autotask (approveAndPostDate {posted_at}); "
        "the change is billed as a correction in 2026-11"
    )
    assert plan.addresses(kind="adjustment") == []

    env.apply("2026-11-05")

    writes = env.api.writes()
    writes.pop("Products")  # the writer lease billsync keeps in Autotask while it applies
    assert writes == {"ContractCharges": 1}
    assert [(r["units"], r["approveAndPostDate"]) for r in env.api.units(contract, "2026-10")] == [
        (3, posted_at)
    ]
    [fix] = env.api.charges(contract, "2026-11")
    assert (fix["purchaseOrderNumber"], fix["billableAmount"], fix["extendedCost"]) == (
        "billsync:2026-10/correction-2026-11-02",
        Decimal("20"),
        Decimal("16"),
    )
    assert env.api.billed(contract, "2026-10") + fix["billableAmount"] == Decimal("50.00")
    again = env.plan("2026-11-05")
    assert [c["address"] for c in again.changes() if c["action"] in ("create", "update")] == []
    # with state/ lost, the posting and the correction are read back from Autotask: nothing to write
    shutil.rmtree(env.state_dir)
    lost = env.plan("2026-11-05")
    assert [c["address"] for c in lost.changes() if c["action"] in ("create", "update")] == []


def test_d27_a_month_posted_with_the_report_right_needs_no_correction(env: Env, bundle: BundleWriter) -> None:
    env.configure(_bundle(bundle, 3))
    env.apply("2026-11-05")
    _post(env, "2026-10-31")
    plan = env.plan("2026-11-05")
    assert [c["address"] for c in plan.changes() if c["action"] in ("create", "update")] == []


def test_d27_the_sandbox_refuses_writes_into_a_posted_month_over_plain_http(
    env: Env, bundle: BundleWriter
) -> None:
    env.configure(_bundle(bundle, 3))
    env.apply("2026-11-05")
    contract = env.api.contract("S1")
    service = env.api.contract_services(contract["id"])[0]
    charge_id = env.api.create(
        f"Contracts/{contract['id']}/Charges",
        {
            "name": "Setup",
            "datePurchased": "2026-10-15",
            "unitQuantity": 1,
            "unitPrice": 5,
            "billingCodeID": 2002,
            "chargeType": 1,
        },
    )
    _post(env, "2026-10-31")
    body: dict[str, Any] = {
        "contractID": contract["id"],
        "serviceID": service["serviceID"],
        "effectiveDate": "2026-10-01",
        "unitChange": 1,
    }
    http: httpx.Client = env.api.http  # a plain httpx client on the sandbox's REST API
    adjustment = http.post("ContractServiceAdjustments", json=body)
    update = http.patch(f"Contracts/{contract['id']}/Charges", json={"id": charge_id, "unitPrice": 6})
    assert adjustment.status_code == 500
    assert adjustment.json()["errors"][0].startswith(
        f"The billing period 2026-10-01 to 2026-10-31 of contract {contract['id']} is approved and posted"
    )
    assert update.status_code == 500
    assert update.json() == {
        "errors": [f"Contract charge {charge_id} is billed: a billed charge cannot be changed."]
    }


def test_d27_a_revision_of_a_billed_azure_month_is_a_correction_in_the_open_month(
    env: Env, bundle: BundleWriter
) -> None:
    """Azure bills a charge per month: once that charge is billed, its month is posted too."""
    bundle.org("ORG1", "Contoso", 101)
    bundle.sub("AZ1", "ORG1", "AZP", "Azure Plan", record_type="Azure", end="")
    bundle.line("2026-09", "2026-10-02", "AZ1", 1, "41.37", "35.00")
    bundle.line("2026-09", "2026-10-20", "AZ1", 1, "45.00", "38.00")
    folder = bundle.write("azure")
    env.configure(folder)
    env.apply("2026-10-05")
    contract = env.api.contract("AZ1")["id"]
    [month] = env.api.charges(contract, "2026-09")
    _post(env, "2026-09-30")
    assert env.api.get("ContractCharges", month["id"])["isBilled"] is True

    plan = env.plan("2026-10-25")

    address = 'charge["AZ1"]["2026-09"]["correction-2026-10-20"]'
    assert plan.addresses("create") == [address]
    assert plan.addresses("update") == []
    change = plan.change(address)
    assert (change["after"]["datePurchased"], change["after"]["unitPrice"], change["after"]["unitCost"]) == (
        "2026-10-01",
        "3.6300",
        "3.0000",
    )
    assert change["reason"] == (
        "month 2026-09 is posted in Autotask (its charge is billed); the change is billed as a correction in 2026-10"
    )
    env.apply("2026-10-25")
    [fix] = env.api.charges(contract, "2026-10")
    assert env.api.billed(contract, "2026-09") + fix["billableAmount"] == Decimal("45.00")
