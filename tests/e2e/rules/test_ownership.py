"""Identity and safety: D3 ownership, D23 plan before apply, D24 identity markers."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .._support import LEASE_WRITES

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""

ENTITY = {
    "contract": "Contracts",
    "service": "Services",
    "product": "Products",
    "contract_service": "ContractServices",
    "adjustment": "ContractServiceAdjustments",
    "charge": "ContractCharges",
}


def _contract(company: int, name: str, **fields: Any) -> dict[str, Any]:
    """A Recurring Service contract as someone would have entered it by hand (no billsync marker)."""
    return {
        "companyID": company,
        "contractName": name,
        "contractType": 7,
        "timeReportingRequiresStartAndStopTimes": 0,
        "status": 1,
        "startDate": "2025-01-01T00:00:00",
        "endDate": "2026-12-31T00:00:00",
        "contractPeriodType": 1,
        "serviceLevelAgreementID": 1,
        "description": "entered by hand",
        **fields,
    }


def _udf(row: dict[str, Any]) -> str | None:
    values = [
        u.get("value") for u in row.get("userDefinedFields") or [] if u.get("name") == "Subscription ID"
    ]
    return values[0] if values else None


# -- D3 -----------------------------------------------------------------------------------------------


def test_d3_existing_unmarked_objects_are_never_changed(env: Env, october: Path) -> None:
    # The very names billsync would give its own contract and service for subscription …01.
    contract_id = env.api.create("Contracts", _contract(101, "Contoso Ltd - Microsoft 365 Business Standard"))
    service_id = env.api.create(
        "Services",
        {"name": "Microsoft 365 Business Standard", "unitPrice": 99, "billingCodeID": 2001, "periodType": 1},
    )
    contract, service = env.api.get("Contracts", contract_id), env.api.get("Services", service_id)
    env.configure(october)

    plan = env.plan("2026-10-07")
    assert [c for c in plan.changes() if c.get("target_id") in (contract_id, service_id)] == []
    env.apply("2026-10-07")
    env.apply("2026-10-07", "--period", "2026-09")  # the month planned again: still left alone

    assert env.api.get("Contracts", contract_id) == contract
    assert env.api.get("Services", service_id) == service
    assert env.api.contract_services(contract_id) == []
    assert env.api.contract(f"{EX}01")["id"] != contract_id
    assert env.api.services()["billsync:csp365:CFQ7TTC0LDPB:0001"]["id"] != service_id


def test_d3_import_adopts_a_contract_and_the_next_apply_updates_it_and_stamps_the_marker(
    env: Env, october: Path
) -> None:
    legacy = env.api.create(
        "Contracts", _contract(101, "Legacy Exchange contract", endDate="2026-06-30T00:00:00")
    )
    env.configure(october)

    result = env.billsync("import", f'contract["{EX}04"]', str(legacy), "--as-of", "2026-10-07")
    assert f'Imported contract["{EX}04"] (id {legacy}).' in result.stdout
    assert _udf(env.api.get("Contracts", legacy)) is None  # import itself writes nothing

    plan = env.plan("2026-10-07")
    update = plan.change(f'contract["{EX}04"]')
    assert (update["action"], update["target_id"]) == ("update", legacy)
    assert update["before"] == {
        "contractName": "Legacy Exchange contract",
        "description": "entered by hand",
        "endDate": "2026-06-30",
        "startDate": "2025-01-01",
    }
    assert update["after"] == {
        "contractName": "Contoso Ltd - Exchange Online (Plan 1)",
        "description": f"Cloudmore subscription {EX}04",
        "endDate": "2026-10-31",
        "startDate": "2024-11-01",
    }
    env.apply("2026-10-07")

    contract = env.api.contract(f"{EX}04")
    assert contract["id"] == legacy
    assert contract["contractName"] == "Contoso Ltd - Exchange Online (Plan 1)"
    assert (contract["startDate"], contract["endDate"]) == ("2024-11-01T00:00:00", "2026-10-31T00:00:00")
    assert _udf(contract) == f"{EX}04"
    assert [cs["contractID"] for cs in env.api.contract_services(legacy)] == [legacy]


def test_d3_adoption_rule_match_is_shown_as_adopt_and_taken_under_management(env: Env, october: Path) -> None:
    matching = env.api.create("Contracts", _contract(101, "contoso ltd -  Microsoft 365 Business Standard"))
    other_company = env.api.create("Contracts", _contract(102, "Contoso Ltd - Exchange Online (Plan 1)"))
    env.configure(october, adopt={"contract": ["companyID", "contractName"]})

    plan = env.plan("2026-10-07")
    adopt = plan.change(f'contract["{EX}01"]', "adopt")
    assert adopt["target_id"] == matching
    assert adopt["reason"] == "found by the adoption rule (same companyID, contractName)"
    assert plan.addresses("adopt", "contract") == [f'contract["{EX}01"]']
    assert plan.change(f'contract["{EX}04"]')["action"] == "create"
    assert f'= contract["{EX}01"] will be adopted' in env.plan_text("2026-10-07")
    env.apply("2026-10-07")

    assert env.api.contract(f"{EX}01")["id"] == matching
    assert env.api.contract(f"{EX}04")["id"] != other_company
    assert _udf(env.api.get("Contracts", other_company)) is None


@pytest.mark.parametrize("how", ["adoption rule", "billsync import"])
def test_d24_adopted_contract_that_already_matches_gets_its_marker(env: Env, october: Path, how: str) -> None:
    exact = _contract(
        101,
        "Contoso Ltd - Microsoft 365 Business Standard",
        startDate="2025-03-01T00:00:00",
        endDate="2027-02-28T00:00:00",
        description=f"Cloudmore subscription {EX}01",
    )
    adopted = env.api.create("Contracts", exact)
    if how == "adoption rule":
        env.configure(october, adopt={"contract": ["companyID", "contractName"]})
    else:
        env.configure(october)
        env.billsync("import", f'contract["{EX}01"]', str(adopted), "--as-of", "2026-10-07")
    env.apply("2026-10-07")
    assert env.plan("2026-10-07").summary["add"] == 0

    env.configure(october)  # onboarding done (no adoption rule), then the state is lost
    shutil.rmtree(env.state_dir)
    env.apply("2026-10-07")

    assert _udf(env.api.get("Contracts", adopted)) == f"{EX}01"
    assert [c["id"] for c in env.api.contracts_of(f"{EX}01")] == [adopted]


# -- D23 ----------------------------------------------------------------------------------------------


def test_d23_nothing_is_written_outside_apply_and_apply_writes_exactly_the_plan(
    env: Env, october: Path
) -> None:
    env.configure(october)
    before = env.api.everything()
    saved = env.root / "month.plan"
    env.api.reset_counters()

    env.billsync("validate")
    env.billsync("render", "--as-of", "2026-10-07", "--json")
    env.billsync("plan", "--as-of", "2026-10-07")
    env.billsync("plan", "--as-of", "2026-10-07", "--out", str(saved))
    env.billsync("show", str(saved), "--json")
    env.billsync("drift", "--as-of", "2026-10-07")
    env.billsync("state", "list")

    assert env.api.writes() == {}
    assert env.api.everything() == before
    plan = env.plan("2026-10-07")
    expected = Counter(ENTITY[c["kind"]] for c in plan.changes() if c["action"] in ("create", "update"))
    assert sum(expected.values()) == 63

    env.billsync("apply", str(saved))

    expected["Products"] += LEASE_WRITES  # and the writer lease, taken and ended (D26)
    assert env.api.writes() == dict(expected)
    env.api.reset_counters()
    assert "No changes." in env.billsync("plan", "--as-of", "2026-10-07", "--detailed-exitcode").stdout
    assert env.api.writes() == {}


def test_d23_plan_of_a_second_month_writes_nothing(env: Env, october: Path, november: Path) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    env.configure(november)
    before = env.api.everything()
    env.api.reset_counters()

    plan = env.plan("2026-11-25")

    assert plan.summary["add"] > 0
    assert env.api.writes() == {}
    assert env.api.everything() == before


# -- D24 ----------------------------------------------------------------------------------------------


def test_d24_every_created_object_carries_its_source_identity(env: Env, october: Path) -> None:
    env.configure(october)
    env.apply("2026-10-07")

    contracts = env.api.marked_contracts()
    assert all(len(rows) == 1 for rows in contracts.values())
    assert len(contracts) == 17
    assert all(row["description"] == f"Cloudmore subscription {sub}" for sub, [row] in contracts.items())
    assert sorted(env.api.products()) == [
        "billsync:azure-classic",
        "billsync:azure-plan",
        "billsync:marketplace",
    ]
    assert "billsync:reserved-instance" in env.api.services()
    charges = env.api.query("ContractCharges")
    assert sorted(c["purchaseOrderNumber"] for c in charges) == [
        "billsync:2026-09",
        "billsync:2026-09",
        "billsync:2026-09",
        "billsync:2026-09",
        "billsync:2026-09/rounding",
    ]


def test_d24_deleted_state_replans_as_adopt_and_creates_no_duplicate(env: Env, october: Path) -> None:
    env.configure(october)
    env.apply("2026-10-07")
    before = env.api.everything()
    shutil.rmtree(env.state_dir)

    plan = env.plan("2026-10-07")
    assert {c["action"] for c in plan.changes()} == {"adopt"}
    assert len(plan.changes()) == 63
    env.api.reset_counters()
    env.apply("2026-10-07")

    assert env.api.writes() == {}
    assert env.api.everything() == before
    assert env.plan("2026-10-07").changes() == []


def test_d24_rolled_back_state_adopts_what_a_later_apply_created(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    serial_one = env.root / "state-serial-1"
    shutil.copytree(env.state_dir, serial_one)
    env.configure(november)
    env.apply("2026-11-25")
    before = env.api.everything()
    shutil.rmtree(env.state_dir)
    shutil.copytree(serial_one, env.state_dir)

    plan = env.plan("2026-11-25")
    assert plan.changes("create") == []
    assert plan.changes("update") == []
    env.api.reset_counters()
    env.apply("2026-11-25")

    assert env.api.writes() == {}
    assert env.api.everything() == before


def test_d24_lost_state_after_a_correction_keeps_the_month_total(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    env.configure(november)
    env.apply("2026-11-25")
    contract = env.api.contract(f"{EX}07")["id"]
    assert env.api.billed(contract, "2026-09") == Decimal("125.00")
    shutil.rmtree(env.state_dir)

    plan = env.plan("2026-11-25")
    env.apply("2026-11-25")

    assert env.api.billed(contract, "2026-09") == Decimal("125.00")
    assert plan.changes("create") == []


# -- D25 ----------------------------------------------------------------------------------------------


def _state_entries(state_dir: Path) -> dict[str, dict[str, Any]]:
    """Address → (kind, Autotask id, managed attributes) of every entry in a workspace's state/."""
    from engine.snapshot import SnapshotStore
    from providers.autotask.kinds import KINDS

    snapshot = SnapshotStore(state_dir, KINDS).load()
    return {
        address: {"kind": e.kind, "id": e.target_id, "attributes": e.attributes}
        for address, e in snapshot.resources.items()
    }


def test_d25_state_rebuild_writes_the_snapshot_from_autotask_alone(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    env.configure(november)
    env.apply("2026-11-25")
    original = _state_entries(env.state_dir)
    before = env.api.everything()
    planned = env.plan("2026-11-25").changes()
    assert {c["action"] for c in planned} == {"orphan"}  # …06 left Cloudmore; kept (D21)
    shutil.rmtree(env.state_dir)

    out = env.billsync("state", "rebuild", "--as-of", "2026-11-25").output
    assert "months applied: 2026-09, 2026-10" in out
    rebuilt = _state_entries(env.state_dir)
    assert sorted(rebuilt) == sorted(original)
    # an adjustment cannot be read back (D14): its entry holds the unit row that carries the month
    assert {a: (e["kind"], e["id"]) for a, e in rebuilt.items() if e["kind"] != "adjustment"} == {
        a: (e["kind"], e["id"]) for a, e in original.items() if e["kind"] != "adjustment"
    }
    # the fields billsync wrote, as Autotask holds them
    assert {
        a: {k: rebuilt[a]["attributes"].get(k) for k in e["attributes"]} for a, e in original.items()
    } == {a: e["attributes"] for a, e in original.items()}
    assert list(env.state_dir.rglob("*.json"))  # sharded files, written by the store

    assert env.plan("2026-11-25").changes() == planned
    env.api.reset_counters()
    env.apply("2026-11-25")
    assert env.api.writes() == {}
    assert env.api.everything() == before


def test_d25_state_rebuild_binds_the_snapshot_to_the_tenant_it_read(env: Env, october: Path) -> None:
    """A rebuilt state/ records the tenant (its ci and REST root) like an applied one, so it is refused
    against any other tenant from its first plan on."""
    from engine.snapshot import SnapshotStore
    from providers.autotask.kinds import KINDS

    env.configure(october)
    env.apply("2026-10-07")
    bound = SnapshotStore(env.state_dir, KINDS).load().tenant
    assert bound is not None and bound.ci is not None
    shutil.rmtree(env.state_dir)

    env.billsync("state", "rebuild", "--as-of", "2026-10-07")
    assert SnapshotStore(env.state_dir, KINDS).load().tenant == bound
    state = json.loads((env.state_dir / "state.json").read_text(encoding="utf-8"))
    assert state["tenant"] == {"ci": bound.ci, "url": bound.url}


def test_d25_state_rebuild_refuses_to_replace_a_snapshot_without_force(env: Env, october: Path) -> None:
    env.configure(october)
    env.apply("2026-10-07")
    original = _state_entries(env.state_dir)

    result = env.billsync("state", "rebuild", "--as-of", "2026-10-07", exit_code=1)
    assert "already holds 63 objects; nothing was changed" in str(result.exception)
    assert _state_entries(env.state_dir) == original

    env.billsync("state", "rebuild", "--as-of", "2026-10-07", "--force")
    rebuilt = _state_entries(env.state_dir)
    assert sorted(rebuilt) == sorted(original)
    assert {a: e["id"] for a, e in rebuilt.items() if e["kind"] != "adjustment"} == {
        a: e["id"] for a, e in original.items() if e["kind"] != "adjustment"
    }


def test_d24_two_objects_with_one_marker_are_a_duplicate_and_nothing_is_applied(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    first = env.api.contract(f"{EX}01")["id"]
    # a second copy of the workspace created the contract again (the same "Subscription ID")
    second = env.api.create(
        "Contracts",
        _contract(
            101, "Contoso Ltd - copy", userDefinedFields=[{"name": "Subscription ID", "value": f"{EX}01"}]
        ),
    )
    env.configure(november)
    before = env.api.everything()

    plan = env.plan("2026-11-25")
    errors = [d for d in plan.doc["diagnostics"] if d["code"] == "duplicate"]
    assert [d["severity"] for d in errors] == ["error"]
    assert errors[0]["message"].startswith(
        f'duplicate: contract["{EX}01"] is carried by 2 objects in Autotask (ids {first}, {second})'
    )
    env.api.reset_counters()
    result = env.billsync("apply", "--auto-approve", "--as-of", "2026-11-25", exit_code=1)
    assert f'refusing to apply: duplicate: contract["{EX}01"]' in str(result.exception)
    assert env.api.writes() == {}
    assert env.api.everything() == before
