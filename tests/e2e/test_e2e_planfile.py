"""Plans as data: deterministic JSON, saved plans applied exactly, refused when stale, shown again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from engine.errors import StalePlanError

from ._support import AS_OF, SetupFactory, plan_summary, read_state, summary_line

ENTITY_OF_KIND = {
    "service": "Services",
    "product": "Products",
    "contract": "Contracts",
    "contract_service": "ContractServices",
    "adjustment": "ContractServiceAdjustments",
    "charge": "ContractCharges",
}
SAVED = "Saved the plan to {}. Apply it with: billsync apply {}"


@pytest.mark.slow  # real processes (each with its own hash seed)
def test_plan_json_is_byte_identical_across_runs(tmp_path: Path) -> None:
    """The same inputs give byte-identical JSON, even across processes with different hash seeds."""
    script = Path(sys.executable).with_name("billsync")
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        completed = subprocess.run(
            [str(script), "plan", "--json", "--as-of", AS_OF],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr.decode()
        outputs.append(completed.stdout)
    assert outputs[0] == outputs[1]
    plan = json.loads(outputs[0])
    assert (plan["format_version"], plan["as_of"], plan["summary"]) == (
        1,
        AS_OF,
        plan_summary(add=70, adopt=6),
    )
    assert [(p["period"], p["available_on"]) for p in plan["periods"]] == [
        ("2026-09", "2026-10-20"),
        ("2026-10", "2026-11-06"),
    ]


def test_a_saved_plan_applies_exactly_its_changes_and_only_once(make_setup: SetupFactory) -> None:
    """``plan --out F`` then ``apply F``: one create per planned change; a second ``apply F`` is stale."""
    setup = make_setup("served")
    workspace = setup.workspace
    planfile = workspace.root / "month.plan"
    printed = workspace.run("plan", "--as-of", AS_OF, "--out", str(planfile)).stdout
    assert printed.splitlines()[-1] == SAVED.format(planfile, planfile)
    saved = json.loads(planfile.read_text(encoding="utf-8"))
    planned = Counter(ENTITY_OF_KIND[c["kind"]] for c in saved["changes"] if c["action"] == "create")
    carried = [c for c in saved["changes"] if c["action"] == "adopt" and c["carried_by"]]
    assert (len(saved["changes"]), sum(planned.values()), len(carried)) == (76, 70, 6)

    setup.api.reset_stats()
    applied = workspace.run("apply", str(planfile)).stdout
    assert (
        applied.splitlines()[-1]
        == "Apply complete: 70 written, 6 adopted, 0 failed, 0 skipped. Snapshot serial 1."
    )
    stats = setup.api.stats()
    planned["Products"] += 1  # and the writer lease (D26), an inactive Product, ended once done
    assert {entity: verbs["create"] for entity, verbs in stats.items() if "create" in verbs} == dict(planned)
    assert {entity: verbs["update"] for entity, verbs in stats.items() if "update" in verbs} == {
        "Products": 1
    }
    snapshot = read_state(workspace.root / "state")
    assert set(snapshot["resources"]) == {c["address"] for c in saved["changes"]}

    setup.api.reset_stats()
    refused = workspace.run("apply", str(planfile), expect=1)
    assert isinstance(refused.exception, StalePlanError)
    assert "another apply ran since" in str(refused.exception)
    assert not any({"create", "update"} & set(verbs) for verbs in setup.api.stats().values())
    assert summary_line(workspace.run("plan", "--detailed-exitcode", "--as-of", AS_OF).stdout) == (
        "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
    )


def test_a_saved_plan_is_refused_when_autotask_changed_since(make_setup: SetupFactory) -> None:
    """A marked object that appeared after the plan was made changes the fingerprint: nothing is applied."""
    setup = make_setup("served")
    planfile = setup.workspace.root / "month.plan"
    setup.workspace.run("plan", "--as-of", AS_OF, "--out", str(planfile))
    created = setup.api.client.post(
        setup.api.base + "Services",
        json={
            "name": "Made by hand",
            "sku": "billsync:csp365:HAND-MADE",
            "billingCodeID": 2001,
            "periodType": 1,
            "unitPrice": 1,
        },
    )
    assert created.status_code == 200, created.text

    setup.api.reset_stats()
    refused = setup.workspace.run("apply", str(planfile), expect=1)
    assert isinstance(refused.exception, StalePlanError)
    assert "Autotask changed since the plan was made" in str(refused.exception)
    assert not any({"create", "update"} & set(verbs) for verbs in setup.api.stats().values())
    assert not (setup.workspace.root / "state" / "state.json").exists()


def test_show_renders_a_saved_plan(make_setup: SetupFactory) -> None:
    workspace = make_setup("embedded").workspace
    planfile = workspace.root / "month.plan"
    printed = workspace.run("plan", "--as-of", AS_OF, "--out", str(planfile)).stdout
    shown = workspace.run("show", str(planfile)).stdout
    assert (
        summary_line(shown)
        == summary_line(printed)
        == "Plan: 70 to add, 0 to change, 6 to adopt, 0 to destroy."
    )
    headers = [line for line in printed.splitlines() if line.startswith("  # ")]
    assert len(headers) == 70
    assert [line for line in shown.splitlines() if line.startswith("  # ")] == headers
    assert workspace.run("show", str(planfile), "--json").stdout == planfile.read_text(encoding="utf-8")


def test_show_prints_a_saved_plan_exactly_as_plan_did(make_setup: SetupFactory) -> None:
    """The saved plan alone (amounts decoded back from strings) renders the very text plan printed."""
    workspace = make_setup("embedded").workspace
    planfile = workspace.root / "month.plan"
    printed = workspace.run("plan", "--as-of", AS_OF, "--out", str(planfile)).stdout
    shown = workspace.run("show", str(planfile)).stdout.splitlines()
    lines = printed.splitlines()[:-1]
    # the header names the Autotask the file records; the Cloudmore source is not saved in the file
    assert shown[1] == "Autotask: embedded Autotask sandbox (.billsync/sandbox.db)"
    assert lines[1].startswith(shown[1] + "   Cloudmore: ")
    assert shown[:1] + shown[2:] == lines[:1] + lines[2:]
