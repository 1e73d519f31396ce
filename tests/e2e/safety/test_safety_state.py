"""Team-friendly state: ``state list`` that pipes whole lines, ``state rm`` and ``state mv`` recorded
through the journal with a new serial, and the sharded ``state/`` a team reviews in git."""

from __future__ import annotations

import json

import pytest

from .._support import LEASE_WRITES

AS_OF = ("--as-of", "2026-10-07")
SUB1 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"
CONTRACT = f'contract["{SUB1}"]'
CSERVICE = f'contract_service["{SUB1}"]'
ADJUSTMENT = f'adjustment["{SUB1}"]["2026-09"]'


def _applied(workspace):
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    return workspace.snapshot()


@pytest.mark.slow  # real processes joined by a pipe
def test_state_list_piped_prints_every_line_whole(workspace, sandbox) -> None:
    state = _applied(workspace)
    workspace.env["COLUMNS"] = "30"  # a narrow terminal width must not cut a piped line
    listed = workspace.run("state", "list")
    assert listed.code == 0, listed
    assert listed.stdout.splitlines() == [
        f"{address}\t{entry['kind']}\t{entry['target_id']}"
        for address, entry in sorted(state["resources"].items())
    ]
    assert len(listed.stdout.splitlines()) == 20
    assert listed.stderr == f"20 of 20 resources, serial 1, lineage {state['lineage']}\n"

    adjustments = workspace.run("state", "list", 'adjustment["*"]["2026-09"]')
    assert [line.split("\t")[0] for line in adjustments.stdout.splitlines()] == sorted(
        a for a in state["resources"] if a.startswith("adjustment[")
    )
    as_json = workspace.run("state", "list", f'*["{SUB1}"]', "--json")
    assert json.loads(as_json.stdout) == {
        "lineage": state["lineage"],
        "serial": 1,
        "resources": {
            a: {"kind": e["kind"], "target_id": e["target_id"]}
            for a, e in state["resources"].items()
            if a in (CONTRACT, CSERVICE)
        },
    }


def test_state_rm_forgets_an_address_with_a_new_serial_and_writes_nothing_to_autotask(
    workspace, sandbox
) -> None:
    before = _applied(workspace)
    saved = workspace.root / "before.plan"
    assert workspace.invoke("plan", *AS_OF, "--out", str(saved)).code == 0
    sandbox.app.reset_stats()
    removed = workspace.invoke("state", "rm", ADJUSTMENT)
    assert removed.code == 0, removed
    target_id = before["resources"][ADJUSTMENT]["target_id"]
    assert removed.stdout == (
        f"Removed {ADJUSTMENT} (Autotask id {target_id}) from the snapshot.\nSnapshot serial 2.\n"
    )
    after = workspace.snapshot()
    assert after["serial"] == 2 and after["lineage"] == before["lineage"]
    assert after["resources"] == {a: e for a, e in before["resources"].items() if a != ADJUSTMENT}
    assert not (workspace.state / "snapshot.journal").exists()
    assert sandbox.writes() == 0
    # a plan saved before the edit is stale; an unknown address changes nothing
    stale = workspace.invoke("apply", str(saved))
    assert stale.code == 1 and "another apply ran since" in stale.stderr
    unknown = workspace.invoke("state", "rm", 'contract["nope"]')
    assert unknown.code == 1
    assert unknown.stderr.startswith('Error: contract["nope"] is not in the snapshot; nothing was changed\n')
    assert workspace.snapshot()["serial"] == 2


def test_state_mv_moves_an_entry_and_the_references_to_it(workspace, sandbox) -> None:
    before = _applied(workspace)
    moved = 'contract["renamed-1"]'
    result = workspace.invoke("state", "mv", CONTRACT, moved)
    assert result.code == 0, result
    target_id = before["resources"][CONTRACT]["target_id"]
    assert result.stdout == f"Moved {CONTRACT} to {moved} (Autotask id {target_id}). Snapshot serial 2.\n"
    after = workspace.snapshot()
    assert after["resources"][moved] == before["resources"][CONTRACT] and CONTRACT not in after["resources"]
    assert after["resources"][CSERVICE]["refs"]["contractID"] == moved
    assert after["resources"][ADJUSTMENT]["refs"]["contractID"] == moved
    changed = {a for a in after["resources"] if after["resources"][a] != before["resources"].get(a)}
    assert changed == {moved, CSERVICE, ADJUSTMENT}
    assert sandbox.writes() == 20 + LEASE_WRITES

    for args, message in (
        ((moved, CSERVICE), f"{CSERVICE} is already in the snapshot"),
        ((moved, 'service["x"]'), 'service["x"] is not an address of a contract'),
        ((CONTRACT, 'contract["y"]'), f"{CONTRACT} is not in the snapshot"),
    ):
        refused = workspace.invoke("state", "mv", *args)
        assert refused.code == 1 and refused.stderr.startswith(f"Error: {message}"), refused
    assert workspace.snapshot()["serial"] == 2


def test_state_is_sharded_per_kind_and_month_and_an_apply_changes_only_its_objects_files(
    workspace, sandbox
) -> None:
    _applied(workspace)
    names = sorted(p.relative_to(workspace.state).as_posix() for p in workspace.state.rglob("*.json"))
    assert names[-1] == "state.json"
    assert {n.split("/")[0] for n in names[:-1]} == {"service", "contract", "contract_service", "adjustment"}
    assert all(n.startswith("adjustment/2026-09/") for n in names if n.startswith("adjustment/"))
    contents = {n: (workspace.state / n).read_bytes() for n in names}
    # rename one organization's contracts: only their shards and state.json change
    organizations = workspace.root / "cloudmore" / "organizations.csv"
    organizations.write_text(
        organizations.read_text(encoding="utf-8").replace("Contoso Ltd", "Contoso Group"), encoding="utf-8"
    )
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0 and "Apply complete: 2 written" in applied.stdout, applied
    changed = sorted(n for n in names if (workspace.state / n).read_bytes() != contents[n])
    assert changed[-1] == "state.json" and all(n.startswith("contract/") for n in changed[:-1])
    assert 1 <= len(changed) - 1 <= 2
