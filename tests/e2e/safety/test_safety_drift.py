"""Drift: ``billsync drift`` lists what was changed by hand in Autotask since the last apply, field by
field (snapshot value, then the value found); the next apply puts managed fields back and the plan shows
it as such; fields billsync does not manage are never touched and never reported."""

from __future__ import annotations

import json
from decimal import Decimal

from .._support import LEASE_WRITES

AS_OF = ("--as-of", "2026-10-07")
SUB1 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"
CONTRACT = f'contract["{SUB1}"]'
SERVICE = 'service["csp365:CFQ7TTC0LDPB:0001"]'
NAME = "Contoso Ltd - Microsoft 365 Business Standard"


def _applied(workspace, sandbox):
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    contract = sandbox.row("Contracts", **{"Subscription ID": SUB1})
    service = sandbox.row("Services", sku="billsync:csp365:CFQ7TTC0LDPB:0001")
    return contract, service


def test_drift_lists_hand_changes_to_managed_fields_field_by_field(workspace, sandbox) -> None:
    clean = workspace.invoke("drift", *AS_OF, "--detailed-exitcode")
    assert clean.code == 0, clean
    contract, service = _applied(workspace, sandbox)
    none_yet = workspace.invoke("drift", *AS_OF, "--detailed-exitcode")
    assert (none_yet.code, none_yet.stdout) == (0, "No drift.\n")

    # managed: contractName, endDate, unitPrice; not managed: contractNumber, purchaseOrderNumber, the SLA
    sandbox.edit(
        "Contracts",
        contract["id"],
        contractName="Edited by hand",
        endDate="2027-06-30T00:00:00",
        contractNumber="N-77",
        purchaseOrderNumber="PO-77",
    )
    sandbox.edit("Services", service["id"], unitPrice=13.25, serviceLevelAgreementID=1)
    sandbox.app.reset_stats()

    report = workspace.invoke("drift", *AS_OF, "--json", "--detailed-exitcode")
    assert report.code == 2, report
    changes = json.loads(report.stdout)["changes"]
    assert changes == [
        {
            "action": "drift",
            "address": CONTRACT,
            "kind": "contract",
            "target_id": contract["id"],
            "before": {"contractName": NAME, "endDate": "2027-02-28"},
            "after": {"contractName": "Edited by hand", "endDate": "2027-06-30"},
            "reason": "changed outside billsync since the last apply",
        },
        {
            "action": "drift",
            "address": SERVICE,
            "kind": "service",
            "target_id": service["id"],
            "before": {"unitPrice": "12.5000"},
            "after": {"unitPrice": "13.2500"},
            "reason": "changed outside billsync since the last apply",
        },
    ]
    text = workspace.invoke("drift", *AS_OF)
    assert text.code == 0
    assert f'  ! contractName = "{NAME}" -> "Edited by hand"' in text.stdout
    assert "  ! endDate      = 2027-02-28 -> 2027-06-30" in text.stdout
    assert "  ! unitPrice = 12.5000 -> 13.2500" in text.stdout
    for unmanaged in ("contractNumber", "purchaseOrderNumber", "serviceLevelAgreementID", "N-77", "PO-77"):
        assert unmanaged not in text.stdout and unmanaged not in report.stdout
    assert "Plan: 0 to add, 0 to change, 0 to adopt, 2 drifted, 0 to destroy." in text.stdout
    assert sandbox.writes() == 0  # drift only reads


def test_a_hand_change_to_an_unmanaged_field_is_not_drift_and_is_never_touched(workspace, sandbox) -> None:
    contract, _service = _applied(workspace, sandbox)
    sandbox.edit("Contracts", contract["id"], purchaseOrderNumber="PO-12", contractNumber="N-12")
    drift = workspace.invoke("drift", *AS_OF, "--detailed-exitcode")
    assert drift.code == 0, drift
    sandbox.app.reset_stats()
    plan = workspace.invoke("plan", *AS_OF, "--detailed-exitcode")
    assert plan.code == 0, plan
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    assert sandbox.writes() == 0
    row = sandbox.row("Contracts", **{"Subscription ID": SUB1})
    assert (row["purchaseOrderNumber"], row["contractNumber"]) == ("PO-12", "N-12")


def test_the_next_apply_puts_managed_fields_back_and_leaves_the_rest(workspace, sandbox) -> None:
    contract, _service = _applied(workspace, sandbox)
    sandbox.edit("Contracts", contract["id"], contractName="Edited by hand", purchaseOrderNumber="PO-77")
    plan = workspace.invoke("plan", *AS_OF)
    assert plan.code == 0
    drifted = plan.stdout.index(f"  ! {CONTRACT} has drifted (id {contract['id']})")
    put_back = plan.stdout.index(f"  ~ {CONTRACT} {{")
    assert drifted < put_back
    assert f'      ~ contractName = "Edited by hand" -> "{NAME}"' in plan.stdout
    assert "Plan: 0 to add, 1 to change, 0 to adopt, 1 drifted, 0 to destroy." in plan.stdout

    sandbox.app.reset_stats()
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    assert "Apply complete: 1 written" in applied.stdout
    assert sandbox.stats().count("Contracts", "update") == 1 and sandbox.writes() == 1 + LEASE_WRITES
    row = sandbox.row("Contracts", **{"Subscription ID": SUB1})
    assert (row["contractName"], row["purchaseOrderNumber"]) == (NAME, "PO-77")
    assert workspace.snapshot()["resources"][CONTRACT]["attributes"]["contractName"] == NAME
    after = workspace.invoke("drift", *AS_OF, "--detailed-exitcode")
    assert after.code == 0, after


def test_plan_puts_back_what_drift_reports_even_when_no_month_is_planned(workspace, sandbox) -> None:
    """``drift`` and ``plan`` use one drift rule: every managed field ``drift`` reports on an object the plan
    reads is put back by the next plan, also for a shared service that no planned month renders."""
    contract, service = _applied(workspace, sandbox)
    sandbox.edit("Contracts", contract["id"], contractName="Edited by hand")
    sandbox.edit("Services", service["id"], unitPrice=13.25)
    report = workspace.invoke("drift", *AS_OF, "--json")
    assert report.code == 0, report
    assert [(c["action"], c["address"], c["after"]) for c in json.loads(report.stdout)["changes"]] == [
        ("drift", CONTRACT, {"contractName": "Edited by hand"}),
        ("drift", SERVICE, {"unitPrice": "13.2500"}),
    ]
    plan = json.loads(workspace.invoke("plan", *AS_OF, "--json").stdout)
    assert plan["periods"] == []  # September is applied: no month is planned
    assert [(c["action"], c["address"], c["after"]) for c in plan["changes"]] == [
        ("drift", SERVICE, {"unitPrice": "13.2500"}),
        ("update", SERVICE, {"unitPrice": "12.5000"}),
        ("drift", CONTRACT, {"contractName": "Edited by hand"}),
        ("update", CONTRACT, {"contractName": NAME}),
    ]
    assert (
        plan["changes"][1]["reason"] == "put back to what billsync last wrote (no planned month renders it)"
    )
    assert plan["changes"][1]["target_id"] == service["id"]

    sandbox.app.reset_stats()
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    assert sandbox.stats().count("Services", "update") == 1
    assert sandbox.stats().count("Contracts", "update") == 1 and sandbox.writes() == 2 + LEASE_WRITES
    assert Decimal(sandbox.row("Services", id=service["id"])["unitPrice"]) == Decimal("12.5")
    after = workspace.invoke("drift", *AS_OF, "--detailed-exitcode")
    assert after.code == 0, after
