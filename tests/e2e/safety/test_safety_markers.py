"""Markers first (D24, D25): billsync writes only to objects that carry its identity marker for the
address (or that a reviewed adoption names). A snapshot id whose object carries no such marker — a
hand-edited snapshot, or the snapshot of another tenant — is a problem the plan shows, never a target."""

from __future__ import annotations

import json
from datetime import date

from engine.apply import apply_plan
from engine.plan import Plan, Update
from engine.snapshot import SnapshotStore
from providers.autotask.client import AutotaskClient
from providers.autotask.config import ClientConfig, Credentials
from providers.autotask.kinds import KINDS
from providers.autotask.target import AutotaskTarget

AS_OF = ("--as-of", "2026-10-07")
SUB1 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"
CONTRACT = f'contract["{SUB1}"]'


def _rows_by_id(sandbox, table: str, ids: set[int]) -> dict[int, dict]:
    return {r["id"]: r for r in sandbox.rows(table) if r["id"] in ids}


def _unowned(plan: dict) -> list[str]:
    return [d["message"] for d in plan["diagnostics"] if d["code"] == "unowned-object"]


def _strip_markers(sandbox) -> None:
    """Make every object in the sandbox one billsync never created: no Subscription ID, no billsync SKU."""
    store = sandbox.app.store
    with store.transaction():
        store.connection.execute("DELETE FROM udf_values WHERE entity = 'Contracts'")
        store.connection.execute("UPDATE Services SET sku = 'VENDOR-' || id")


def test_snapshot_of_another_tenant_names_its_objects_plan_shows_them_and_apply_writes_nothing_to_them(
    workspace, sandbox, sandbox_factory, workspace_factory
) -> None:
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    recorded = workspace.snapshot()["resources"]
    # tenant B holds objects billsync never created, under the very ids of the snapshot (one id counter)
    other = sandbox_factory()
    seeded = workspace_factory(other).invoke("apply", *AS_OF, "--auto-approve")
    assert seeded.code == 0, seeded
    _strip_markers(other)
    contract_ids = {e["target_id"] for a, e in recorded.items() if e["kind"] == "contract"}
    service_ids = {e["target_id"] for a, e in recorded.items() if e["kind"] == "service"}
    assert len(contract_ids) == 5 and len(service_ids) == 5
    foreign = {
        "Contracts": _rows_by_id(other, "Contracts", contract_ids),
        "Services": _rows_by_id(other, "Services", service_ids),
    }
    assert {t: len(rows) for t, rows in foreign.items()} == {"Contracts": 5, "Services": 5}
    # an older snapshot records no tenant, so only the markers stand between it and tenant B
    meta_path = workspace.state / "state.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["tenant"]
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    config = workspace.root / "billsync.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(sandbox.base_url, other.base_url))

    planned = workspace.invoke("plan", *AS_OF, "--json")
    assert planned.code == 0, planned
    plan = json.loads(planned.stdout)
    contract_id = recorded[CONTRACT]["target_id"]
    assert (
        f"{CONTRACT}: the snapshot names Contracts id {contract_id}, which carries no billsync marker; "
        "billsync will not write to it (D25)"
    ) in "\n".join(_unowned(plan))
    assert len(_unowned(plan)) == 10
    touched = {c["target_id"] for c in plan["changes"] if c["action"] in ("update", "adopt")}
    assert not touched & (contract_ids | service_ids)

    applied_b = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied_b.code == 0, applied_b
    assert _rows_by_id(other, "Contracts", contract_ids) == foreign["Contracts"]
    assert _rows_by_id(other, "Services", service_ids) == foreign["Services"]
    now = workspace.snapshot()["resources"]
    # the contracts are billsync's own now: created in tenant B, with its marker
    assert not {e["target_id"] for e in now.values() if e["kind"] == "contract"} & contract_ids
    assert other.row("Contracts", **{"Subscription ID": SUB1})["id"] == now[CONTRACT]["target_id"]


def test_hand_edited_snapshot_id_is_shown_and_never_written(workspace, sandbox) -> None:
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    state = workspace.snapshot()
    own = state["resources"][CONTRACT]["target_id"]
    other = next(
        e["target_id"] for a, e in state["resources"].items() if e["kind"] == "contract" and a != CONTRACT
    )
    shard = next(
        p
        for p in workspace.state.rglob("*.json")
        if p.name != "state.json" and CONTRACT in json.loads(p.read_text(encoding="utf-8"))
    )
    doc = json.loads(shard.read_text(encoding="utf-8"))
    doc[CONTRACT]["target_id"] = other
    doc[CONTRACT]["attributes"]["contractName"] = "edited by hand"
    shard.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    before = sandbox.rows("Contracts")
    planned = workspace.invoke("plan", *AS_OF, "--json")
    assert planned.code == 0, planned
    plan = json.loads(planned.stdout)
    assert _unowned(plan) == [
        f"{CONTRACT}: the snapshot names Contracts id {other}, but the object carrying billsync's marker "
        f"for it is id {own}; billsync will not write to id {other} (D25)"
    ]
    assert not [c for c in plan["changes"] if c.get("target_id") == other]
    sandbox.app.reset_stats()
    done = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert done.code == 0, done
    assert sandbox.rows("Contracts") == before
    assert workspace.snapshot()["resources"][CONTRACT]["target_id"] == own


def test_apply_rechecks_markers_and_refuses_a_write_to_an_object_that_is_not_billsyncs(
    workspace, sandbox
) -> None:
    """A plan whose update names an object without billsync's marker for the address (the marker was
    removed after planning, or the plan names another's object) writes nothing to it: the re-read
    before the first write (one query per entity) refuses it, naming the object."""
    applied = workspace.invoke("apply", *AS_OF, "--auto-approve")
    assert applied.code == 0, applied
    store = SnapshotStore(workspace.state, KINDS)
    snapshot = store.load()
    own = snapshot.resources[CONTRACT].target_id
    sub2 = 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000002"]'
    other = snapshot.resources[sub2].target_id
    third = snapshot.resources['contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000003"]'].target_id
    service = next(a for a, e in snapshot.resources.items() if e.kind == "service")
    plan = Plan(
        changes=(
            # the id of another subscription's contract under this address: marked, but not for it
            Update(CONTRACT, "contract", third, before={}, after={"contractName": "taken over"}),
            # an object whose marker was removed since the plan was made
            Update(sub2, "contract", other, before={}, after={"contractName": "renamed"}),
            # billsync's own service: written
            Update(
                service, "service", snapshot.resources[service].target_id, before={}, after={"name": "Mine"}
            ),
        ),
        as_of=date(2026, 10, 7),
        snapshot_lineage=snapshot.lineage,
        snapshot_serial=snapshot.serial,
    )
    with sandbox.app.store.transaction():
        sandbox.app.store.connection.execute(
            "DELETE FROM udf_values WHERE entity = 'Contracts' AND object_id = ?", (other,)
        )
    before = {r["id"]: r for r in sandbox.rows("Contracts")}
    sandbox.app.reset_stats()
    client = AutotaskClient(
        Credentials(
            username=sandbox.credentials.username,
            secret=sandbox.credentials.secret,
            integration_code=sandbox.credentials.integration_code,
        ),
        ClientConfig(base_url=sandbox.base_url),
    )
    with client:
        result = apply_plan(plan, AutotaskTarget(client, "sandbox"), store, KINDS)
    assert {c.address: m for c, m in result.failed} == {
        CONTRACT: f"refused to write to Contracts {third}: it carries billsync's marker for "
        'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000003"], and no adoption in the plan names it (D25); '
        "nothing was written to it. Make a new plan and review it.",
        sub2: f"refused to write to Contracts {other}: it carries no billsync marker, and no adoption "
        "in the plan names it (D25); nothing was written to it. Make a new plan and review it.",
    }
    assert [c.address for c in result.applied] == [service]
    assert {r["id"]: r for r in sandbox.rows("Contracts")} == before
    assert sandbox.row("Services", id=snapshot.resources[service].target_id)["name"] == "Mine"
    requests = {name: dict(e.requests) for name, e in sandbox.stats().endpoints.items()}
    assert requests["Contracts"] == {"query": 1}  # one batched re-read, no write
    assert requests["Services"] == {"query": 1, "update": 1}
    assert own not in (other, third)
