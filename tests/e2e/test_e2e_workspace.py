"""A workspace's own rules and its snapshot: editing a template, losing the snapshot (D3, D24)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ._support import (
    AS_OF,
    EXAMPLE_BUNDLE,
    Bundle,
    SandboxApi,
    SetupFactory,
    Workspace,
    day,
    plan_summary,
    read_state,
    summary_line,
)

SHIPPED_CONTRACT_NAME = (
    '      contractName: "{{ vars.contract_prefix }}{{ org.name }} - {{ sub.product_name }}"\n'
)
EDITED_CONTRACT_NAME = '      contractName: "CSP 365 - {{ org.name }} - {{ sub.product_name }}"\n'


def test_editing_the_contract_name_template_updates_exactly_the_csp_contracts(tmp_path: Path) -> None:
    """README walkthrough: ``billsync init``, apply, edit rules/csp365.yaml, plan → ``~ contractName`` only."""
    root = tmp_path / "my-billing"
    Workspace(tmp_path).run("init", str(root))
    workspace = Workspace(root)
    workspace.run("apply", "--auto-approve", "--as-of", AS_OF)
    bundle = Bundle(EXAMPLE_BUNDLE)
    csp = bundle.synced({"CSP365"})
    assert len(csp) == 9

    rules = root / "rules" / "csp365.yaml"
    text = rules.read_text(encoding="utf-8")
    assert text.count(SHIPPED_CONTRACT_NAME) == 1
    rules.write_text(text.replace(SHIPPED_CONTRACT_NAME, EDITED_CONTRACT_NAME), encoding="utf-8")

    plan = workspace.plan_json()
    assert plan["summary"] == plan_summary(change=len(csp))
    assert len(plan["changes"]) == len(csp)
    expected = {}
    for sid in csp:
        sub = bundle.subscriptions[sid]
        name = f"{bundle.org_names[sub.organization_id]} - {sub.product_name}"
        expected[f'contract["{sid}"]'] = ({"contractName": name}, {"contractName": f"CSP 365 - {name}"})
    assert {c["address"]: (c["before"], c["after"]) for c in plan["changes"]} == expected
    assert {(c["action"], c["kind"], c["rule"]) for c in plan["changes"]} == {
        ("update", "contract", "rules/csp365.yaml:26")
    }

    applied = workspace.run("apply", "--auto-approve", "--as-of", AS_OF).stdout
    assert (
        applied.splitlines()[-1]
        == "Apply complete: 9 written, 0 adopted, 0 failed, 0 skipped. Snapshot serial 2."
    )
    workspace.run("plan", "--detailed-exitcode", "--as-of", AS_OF)


def test_a_lost_snapshot_is_rebuilt_by_adopting_every_object_without_duplicates(
    make_setup: SetupFactory,
) -> None:
    """D24: with state/ deleted, the plan finds every object by its marker and adopts it."""
    setup = make_setup("served")
    workspace = setup.workspace
    workspace.run("apply", "--auto-approve", "--as-of", AS_OF)
    state = workspace.root / "state"
    before = read_state(state)
    counts = setup.api.object_counts()
    assert counts == {
        "Contracts": 16,
        "Services": 11,
        "Products": 3,
        "ContractServices": 12,
        "ContractCharges": 10,
        "ContractServiceUnits": _unit_rows(setup.api),
    }
    shutil.rmtree(state)

    plan = workspace.plan_json()
    assert plan["summary"] == plan_summary(adopt=len(before["resources"]))
    assert len(before["resources"]) == 76
    assert {c["address"] for c in plan["changes"]} == set(before["resources"])
    assert {c["action"] for c in plan["changes"]} == {"adopt"}
    # every object except the adjustments (found through their unit rows) is adopted under its own id
    assert {c["address"]: c["target_id"] for c in plan["changes"] if c["kind"] != "adjustment"} == {
        a: e["target_id"] for a, e in before["resources"].items() if e["kind"] != "adjustment"
    }

    setup.api.reset_stats()
    applied = workspace.run("apply", "--auto-approve", "--as-of", AS_OF).stdout
    assert (
        applied.splitlines()[-1]
        == "Apply complete: 0 written, 76 adopted, 0 failed, 0 skipped. Snapshot serial 1."
    )
    # reads only: bulk queries and the tenant's field metadata
    assert {kind for verbs in setup.api.stats().values() for kind in verbs} == {"query", "info"}
    after = read_state(state)
    assert set(after["resources"]) == set(before["resources"])
    assert (
        after["applied_periods"]
        == before["applied_periods"]
        == {"2026-09": "2026-10-20", "2026-10": "2026-11-06"}
    )
    assert setup.api.object_counts() == counts
    assert summary_line(workspace.run("plan", "--detailed-exitcode", "--as-of", AS_OF).stdout) == (
        "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
    )


def _unit_rows(api: SandboxApi) -> int:
    """One ContractServiceUnits row per contract service and month of its contract (no mid-month split)."""
    contracts = {c["id"]: c for c in api.contracts().values()}
    total = 0
    for service in api.in_contracts("ContractServices", contracts):
        contract = contracts[service["contractID"]]
        start, end = day(contract["startDate"]), day(contract["endDate"])
        total += (end.year - start.year) * 12 + end.month - start.month + 1
    return total
