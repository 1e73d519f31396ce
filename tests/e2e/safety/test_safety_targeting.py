"""Targeting: ``--target ADDRESS`` (repeatable, globs such as ``contract["6f1c*"]``) and ``--exclude``
narrow a plan or an apply; what a target depends on is included; a targeted apply never records its
month as applied, so the rest follows in a later apply."""

from __future__ import annotations

import json

AS_OF = ("--as-of", "2026-10-07")
SUB = [f"6f1c2d3e-0a1b-4c5d-8e9f-00000000000{i}" for i in range(1, 6)]
PRODUCT = {
    SUB[0]: "CFQ7TTC0LDPB:0001",
    SUB[1]: "CFQ7TTC0LCHC:0002",
    SUB[2]: "CFQ7TTC0LFLX:0001",
    SUB[3]: "CFQ7TTC0LH16:0001",
    SUB[4]: "CFQ7TTC0LH18:0001",
}


def _stack(sub: str) -> list[str]:
    """Everything a subscription's September adjustment needs, in apply order."""
    return [
        f'service["csp365:{PRODUCT[sub]}"]',
        f'contract["{sub}"]',
        f'contract_service["{sub}"]',
        f'adjustment["{sub}"]["2026-09"]',
    ]


def _planned(workspace, *selection: str) -> list[str]:
    result = workspace.invoke("plan", *AS_OF, "--json", *selection)
    assert result.code == 0, result
    plan = json.loads(result.stdout)
    assert plan["targeted"] is True
    assert all(c["action"] == "create" for c in plan["changes"])
    return [c["address"] for c in plan["changes"]]


def test_an_exact_address_plans_only_that_object(workspace) -> None:
    assert _planned(workspace, "--target", f'contract["{SUB[0]}"]') == [f'contract["{SUB[0]}"]']


def test_the_dependencies_of_a_target_are_included(workspace) -> None:
    assert _planned(workspace, "--target", f'adjustment["{SUB[0]}"]["2026-09"]') == _stack(SUB[0])


def test_targets_are_globs_and_repeatable(workspace) -> None:
    assert _planned(workspace, "--target", 'contract["6f1c2d3e-*"]') == [f'contract["{s}"]' for s in SUB]
    both = _planned(
        workspace, "--target", 'contract_service["*0001"]', "--target", 'contract_service["*0003"]'
    )
    assert sorted(both) == sorted(_stack(SUB[0])[:3] + _stack(SUB[2])[:3])
    assert _planned(workspace, "--target", 'service["csp365:CFQ7TTC0L?1?:0001"]') == [
        'service["csp365:CFQ7TTC0LH16:0001"]',
        'service["csp365:CFQ7TTC0LH18:0001"]',
    ]


def test_exclude_leaves_matching_addresses_out(workspace) -> None:
    everything_but_adjustments = _planned(workspace, "--exclude", "adjustment[*")
    assert len(everything_but_adjustments) == 15
    assert not any(a.startswith("adjustment[") for a in everything_but_adjustments)
    contracts = _planned(workspace, "--target", "contract[*", "--exclude", f'contract["{SUB[2]}"]')
    assert contracts == [f'contract["{s}"]' for s in SUB if s != SUB[2]]


def test_a_targeted_apply_writes_only_its_selection_and_the_rest_follows(
    workspace, sandbox, clean_apply
) -> None:
    applied = workspace.invoke(
        "apply", *AS_OF, "--auto-approve", "--target", f'adjustment["{SUB[1]}"]["2026-09"]'
    )
    assert applied.code == 0, applied
    assert "Apply complete: 4 written, 0 adopted, 0 failed, 0 skipped" in applied.stdout
    assert sandbox.identities() == set(_stack(SUB[1]))
    snapshot = workspace.snapshot()
    assert set(snapshot["resources"]) == set(_stack(SUB[1]))
    assert snapshot["applied_periods"] == {}  # the month is not complete yet

    rest = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert rest.code == 0, rest
    assert "Apply complete: 16 written, 0 adopted, 0 failed, 0 skipped" in rest.stdout
    assert sandbox.objects() == clean_apply.objects
    assert workspace.snapshot()["applied_periods"] == {"2026-09": "2026-10-06"}
