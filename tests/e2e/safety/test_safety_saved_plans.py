"""Saved plans: ``plan --out FILE`` records the snapshot's lineage and serial and a fingerprint of the
Autotask objects it read; ``apply FILE`` refuses a stale plan, naming what changed, and applies a fresh
one without asking again; the file holds no secrets; ``plan --json`` is byte-identical for the same
inputs."""

from __future__ import annotations

import json

import pytest

from providers.autotask.sandbox import SandboxCredentials

from .._support import LEASE_WRITES

AS_OF = ("--as-of", "2026-10-07")
SUB1 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"
SUB2 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000002"
SUB4 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000004"
RENAMED = {
    SUB1: "Contoso Group - Microsoft 365 Business Standard",
    SUB4: "Contoso Group - Exchange Online (Plan 1)",
}


def _applied_and_renamed(workspace):
    """Apply the bundle, then rename organization ORG-1001 in Cloudmore: the plan updates two contracts."""
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    organizations = workspace.root / "cloudmore" / "organizations.csv"
    organizations.write_text(
        organizations.read_text(encoding="utf-8").replace("Contoso Ltd", "Contoso Group"), encoding="utf-8"
    )
    path = workspace.root / "month.plan"
    planned = workspace.invoke("plan", *AS_OF, "--out", str(path))
    assert planned.code == 0, planned
    return path, json.loads(path.read_text(encoding="utf-8"))


def _contract(sandbox, subscription):
    return sandbox.row("Contracts", **{"Subscription ID": subscription})


def test_a_saved_plan_records_lineage_serial_and_a_fingerprint_of_what_it_read(workspace, sandbox) -> None:
    path, saved = _applied_and_renamed(workspace)
    snapshot = workspace.snapshot()
    assert saved["snapshot"] == {"lineage": snapshot["lineage"], "serial": 1}
    assert [(c["action"], c["address"]) for c in saved["changes"]] == [
        ("update", f'contract["{SUB1}"]'),
        ("update", f'contract["{SUB4}"]'),
    ]
    assert set(saved["objects"]) == {f'contract["{SUB1}"]', f'contract["{SUB4}"]'}
    # the fingerprint is of the objects in Autotask: the same while nothing changes, another after an edit
    again = workspace.invoke("plan", *AS_OF, "--json")
    assert json.loads(again.stdout)["actual_fingerprint"] == saved["actual_fingerprint"]
    sandbox.edit("Contracts", _contract(sandbox, SUB2)["id"], purchaseOrderNumber="PO-1")
    edited = workspace.invoke("plan", *AS_OF, "--json")
    assert json.loads(edited.stdout)["actual_fingerprint"] != saved["actual_fingerprint"]
    assert sandbox.writes() == 20 + LEASE_WRITES + 1  # planning wrote nothing (D23)


@pytest.mark.slow  # a real billsync process
def test_a_fresh_saved_plan_is_applied_as_saved_without_asking(workspace, sandbox) -> None:
    path, _saved = _applied_and_renamed(workspace)
    sandbox.app.reset_stats()
    applied = workspace.run("apply", str(path))  # a real process with no terminal: it must not prompt
    assert applied.code == 0, applied
    assert "Apply these changes" not in applied.output
    assert "Apply complete: 2 written, 0 adopted, 0 failed, 0 skipped. Snapshot serial 2." in applied.stdout
    assert sandbox.stats().count("Contracts", "update") == 2 and sandbox.writes() == 2 + LEASE_WRITES
    for subscription, name in RENAMED.items():
        assert _contract(sandbox, subscription)["contractName"] == name
    # a saved plan applies once: afterwards the workspace has moved on
    again = workspace.invoke("apply", str(path))
    assert again.code == 1
    assert "the plan was made from snapshot serial 1" in again.stderr
    assert sandbox.writes() == 2 + LEASE_WRITES  # the stale plan took no lease


def test_a_plan_is_refused_when_autotask_changed_an_object_it_touches(workspace, sandbox) -> None:
    path, _saved = _applied_and_renamed(workspace)
    sandbox.edit("Contracts", _contract(sandbox, SUB1)["id"], endDate="2027-03-31T00:00:00")
    sandbox.app.reset_stats()
    refused = workspace.invoke("apply", str(path))
    assert refused.code == 1
    assert refused.stderr == (
        f"Error: {path}: Autotask changed since the plan was made "
        f'(contract["{SUB1}"] (changed))\nMake a new plan and review it.\n'
    )
    assert sandbox.writes() == 0
    assert workspace.snapshot()["serial"] == 1


def test_a_plan_is_refused_when_autotask_changed_an_object_it_did_not_plan_to_touch(
    workspace, sandbox
) -> None:
    path, _saved = _applied_and_renamed(workspace)
    sandbox.edit("Contracts", _contract(sandbox, SUB2)["id"], contractName="Edited by hand")
    sandbox.app.reset_stats()
    refused = workspace.invoke("apply", str(path))
    assert refused.code == 1
    assert refused.stderr.startswith(f"Error: {path}: Autotask changed since the plan was made (")
    assert f'contract["{SUB2}"]' in refused.stderr
    assert f'contract["{SUB1}"]' not in refused.stderr and f'contract["{SUB4}"]' not in refused.stderr
    assert sandbox.writes() == 0


def test_a_plan_is_refused_when_another_apply_ran_since(workspace, sandbox) -> None:
    path, saved = _applied_and_renamed(workspace)
    other = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert other.code == 0, other
    sandbox.app.reset_stats()
    refused = workspace.invoke("apply", str(path))
    assert refused.code == 1
    lineage = saved["snapshot"]["lineage"][:8]
    assert refused.stderr == (
        f"Error: the plan was made from snapshot serial 1 (lineage {lineage}), but the workspace is now at "
        f"serial 2 (lineage {lineage}): another apply ran since\n"
        "Make a new plan (billsync plan --out FILE) and review it.\n"
    )
    assert sandbox.writes() == 0


def test_a_plan_file_holds_no_credentials(sandbox_factory, workspace_factory) -> None:
    credentials = SandboxCredentials(
        username="planner@billsync.local",
        secret="S3cr3t-pl4n-f1le-7e1d",
        integration_code="PLAN-FILE-CODE-93",
    )
    workspace = workspace_factory(sandbox_factory(credentials))
    path = workspace.root / "month.plan"
    planned = workspace.invoke("plan", *AS_OF, "--out", str(path))
    assert planned.code == 0, planned
    text = path.read_text(encoding="utf-8")
    assert json.loads(text)["summary"]["add"] == 20
    assert credentials.secret not in text and credentials.integration_code not in text


@pytest.mark.slow  # real processes (each with its own hash seed)
def test_plan_json_is_byte_identical_for_the_same_inputs(workspace, sandbox) -> None:
    first = workspace.run("plan", *AS_OF, "--json")
    second = workspace.run("plan", *AS_OF, "--json")
    assert first.code == second.code == 0
    assert first.stdout.encode() == second.stdout.encode()
    assert json.loads(first.stdout)["summary"]["add"] == 20
    # with a snapshot and pending updates too, and a saved file is the same document
    path, _saved = _applied_and_renamed(workspace)
    third = workspace.run("plan", *AS_OF, "--json")
    fourth = workspace.run("plan", *AS_OF, "--json", "--out", str(workspace.root / "again.plan"))
    assert third.stdout.encode() == fourth.stdout.encode() == path.read_bytes()
    assert (workspace.root / "again.plan").read_bytes() == path.read_bytes()


def _hijacked(saved, sandbox):
    """The saved plan with its first update pointed at another subscription's contract, renamed."""
    other = _contract(sandbox, SUB2)
    doc = json.loads(json.dumps(saved))
    change = doc["changes"][0]
    assert change["action"] == "update" and change["target_id"] != other["id"]
    change["target_id"] = other["id"]
    change["after"] = {"contractName": "Hijacked"}
    return doc, other


def test_a_hand_edited_plan_is_refused_as_edited_and_nothing_is_written(workspace, sandbox) -> None:
    path, saved = _applied_and_renamed(workspace)
    doc, other = _hijacked(saved, sandbox)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sandbox.app.reset_stats()
    for command in (("apply", str(path)), ("show", str(path))):
        refused = workspace.invoke(*command)
        assert refused.code == 1, refused
        assert refused.stderr == (
            f"Error: {path}: the plan file was edited after billsync saved it: its changes no longer match "
            "their digest; it is refused and nothing was written\n"
            "Make the plan again (billsync plan --out FILE), review it, and apply that file unchanged.\n"
        )
    assert sandbox.writes() == 0
    assert _contract(sandbox, SUB2)["contractName"] == other["contractName"]
    assert workspace.snapshot()["serial"] == 1


def test_an_edited_plan_head_is_refused_as_edited(workspace, sandbox) -> None:
    path, saved = _applied_and_renamed(workspace)
    doc = json.loads(json.dumps(saved))
    doc["selection"]["period"] = "2026-09"
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    sandbox.app.reset_stats()
    refused = workspace.invoke("apply", str(path))
    assert refused.code == 1
    assert (
        "the plan file was edited after billsync saved it: its inputs, snapshot, target or " in refused.stderr
    )
    assert sandbox.writes() == 0


def test_an_edited_plan_with_a_recomputed_seal_is_refused_against_a_fresh_plan(workspace, sandbox) -> None:
    """Whoever edits the file can recompute its digests; the apply's own re-plan still tells."""
    from dataclasses import replace

    from engine.plan import plan_from_json, plan_to_json
    from providers.autotask.kinds import KINDS

    path, saved = _applied_and_renamed(workspace)
    plan = plan_from_json(path.read_text(encoding="utf-8"), KINDS)
    other = _contract(sandbox, SUB2)
    first = plan.changes[0]
    forged = replace(
        plan,
        changes=(
            replace(first, target_id=other["id"], after={"contractName": "Hijacked"}),
            *plan.changes[1:],
        ),
    )
    path.write_text(plan_to_json(forged), encoding="utf-8")
    sandbox.app.reset_stats()
    refused = workspace.invoke("apply", str(path))
    assert refused.code == 1, refused
    assert refused.stderr == (
        f"Error: {path}: the plan file was edited: its changes are not the ones billsync plans from the same "
        "inputs, snapshot and Autotask state; it is refused and nothing was written\n"
        "Make the plan again (billsync plan --out FILE), review it, and apply that file unchanged.\n"
    )
    assert sandbox.writes() == 0
    assert _contract(sandbox, SUB2)["contractName"] == other["contractName"]


def test_a_saved_plan_of_one_month_applies_with_its_selection(workspace, sandbox) -> None:
    """The selection (``--period``, ``--target``) is part of the saved plan: apply re-plans the same one."""
    path = workspace.root / "one.plan"
    planned = workspace.invoke(
        "plan", *AS_OF, "--period", "2026-09", "--target", f'contract["{SUB1}"]', "--out", str(path)
    )
    assert planned.code == 0, planned
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["selection"] == {"period": "2026-09", "targets": [f'contract["{SUB1}"]'], "excludes": []}
    assert [(c["action"], c["address"]) for c in saved["changes"]] == [("create", f'contract["{SUB1}"]')]
    applied = workspace.invoke("apply", str(path))
    assert applied.code == 0, applied
    assert "Apply complete: 1 written, 0 adopted, 0 failed, 0 skipped. Snapshot serial 1." in applied.stdout
