"""Apply: every change type dispatched, dependency order, failures and skips, snapshot bookkeeping.

The target is an in-memory stand-in for the provider boundary (the Target protocol): it records the
writes it is asked for and hands out fixed ids, so every assertion is exact.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.apply import ApplyResult, apply_plan, check_fresh
from engine.budget import Budget
from engine.errors import StalePlanError, TargetError
from engine.plan import (
    CHANGE_TYPES,
    Adopt,
    Change,
    Create,
    Drift,
    Orphan,
    Plan,
    PlannedPeriod,
    Update,
)
from engine.provider import ActualState, Company, Comparator, WriteResult
from engine.read_request import ReadRequest
from engine.resources import ActualObject, KindSpec
from engine.snapshot import Entry, Snapshot, SnapshotStore
from engine.tenant import TenantIdentity
from providers.autotask.kinds import KINDS

LINEAGE = "0b0e5f3a-1111-2222-3333-444455556666"
SERVICE = 'service["csp365:P-1"]'
CONTRACT = 'contract["S-1"]'
CSERVICE = 'contract_service["S-1"]'
MONTH = 'adjustment["S-1"]["2026-09"]'
IDS = {SERVICE: 30001, CONTRACT: 40001, CSERVICE: 50001, MONTH: 70001}


@dataclass
class RecordingTarget:
    """Writes go to a list; ids come from a table; addresses in ``refuse`` fail like Autotask would."""

    ids: Mapping[str, int] = field(default_factory=lambda: IDS)
    refuse: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> str:
        return "in-memory target"

    def identity(self) -> TenantIdentity:
        return TenantIdentity(ci=1, url="memory:")

    def check_owned(
        self, writes: Sequence[tuple[str, str, int]], adoptions: Mapping[str, int]
    ) -> dict[str, str]:
        return {}

    def kinds(self) -> Mapping[str, KindSpec]:
        return KINDS

    def comparators(self) -> Mapping[str, Comparator]:
        return {}

    def read(self, request: ReadRequest) -> ActualState:
        raise AssertionError("apply never reads")

    def create(self, change: Create, refs: Mapping[str, int]) -> WriteResult:
        return WriteResult(self._write("create", change.address, refs))

    def update(self, change: Update, refs: Mapping[str, int]) -> WriteResult:
        return WriteResult(self._write("update", change.address, refs))

    def _write(self, verb: str, address: str, refs: Mapping[str, int]) -> int:
        with self._lock:
            self.calls.append((verb, address, dict(refs)))
        if address in self.refuse:
            raise TargetError(f"Autotask refused {address}: the SLA is inactive")
        return self.ids[address]

    def fetch(self, kind: str, target_id: int, address: str) -> ActualObject | None:
        raise AssertionError("apply never fetches")

    def list_companies(self) -> list[Company]:
        raise AssertionError("apply never lists companies")

    def budget(self) -> Budget:
        raise AssertionError("apply never asks for the budget")

    def stats(self) -> dict[str, dict[str, int]]:
        return {}

    def close(self) -> None:
        pass


def store_with(tmp_path: Path, snapshot: Snapshot) -> SnapshotStore:
    store = SnapshotStore(tmp_path / "state", KINDS)
    store.write(snapshot)
    return store


def plan_of(
    snapshot: Snapshot, *changes: Change, periods: tuple[PlannedPeriod, ...] = (), targeted: bool = False
) -> Plan:
    return Plan(
        changes=changes,
        as_of=date(2026, 10, 7),
        periods=periods,
        snapshot_lineage=snapshot.lineage,
        snapshot_serial=snapshot.serial,
        targeted=targeted,
    )


def run(
    tmp_path: Path, snapshot: Snapshot, *changes: Change, **options: object
) -> tuple[ApplyResult, RecordingTarget]:
    target = RecordingTarget(refuse=set(options.pop("refuse", set())))  # type: ignore[call-overload]
    store = store_with(tmp_path, snapshot)
    plan = plan_of(snapshot, *changes, **options)  # type: ignore[arg-type]
    return apply_plan(plan, target, store, KINDS, workers=1), target


BASE = Snapshot(
    lineage=LINEAGE,
    serial=2,
    resources={
        CONTRACT: Entry(
            "contract",
            40001,
            {"contractName": "Old", "endDate": date(2026, 10, 31)},
            source={"subscription_id": "S-1"},
        )
    },  # fmt: skip
)

ONE_OF_EACH: dict[type, Change] = {
    Create: Create(
        address=SERVICE, kind="service", after={"name": "Business Standard"}, source={"product_id": "P-1"}
    ),
    Update: Update(
        address=CONTRACT,
        kind="contract",
        target_id=40001,
        before={"contractName": "Old"},
        after={"contractName": "New"},
    ),  # fmt: skip
    Adopt: Adopt(
        address=CSERVICE,
        kind="contract_service",
        target_id=50009,
        attributes={"unitPrice": Decimal("3.5")},
        refs={"contractID": CONTRACT},
    ),  # fmt: skip
    Drift: Drift(
        address=CONTRACT,
        kind="contract",
        target_id=40001,
        before={"contractName": "Old"},
        after={"contractName": "Hand"},
    ),  # fmt: skip
    Orphan: Orphan(address=CONTRACT, kind="contract", target_id=40001, policy="keep"),
}

# What apply does with each member of the Change union: the target call it makes, and the id recorded.
EXPECTED: dict[type, tuple[list[tuple[str, str, dict[str, int]]], int | None]] = {
    Create: ([("create", SERVICE, {})], 30001),
    Update: ([("update", CONTRACT, {})], 40001),
    Adopt: ([], 50009),
    Drift: ([], None),
    Orphan: ([], None),
}


def test_expected_table_covers_the_whole_union() -> None:
    assert set(EXPECTED) == set(CHANGE_TYPES)
    assert set(ONE_OF_EACH) == set(CHANGE_TYPES)


@pytest.mark.parametrize("change_type", CHANGE_TYPES, ids=lambda t: t.__name__)
def test_apply_dispatch_handles_every_change_type(tmp_path: Path, change_type: type) -> None:
    change = ONE_OF_EACH[change_type]
    calls, recorded_id = EXPECTED[change_type]
    result, target = run(tmp_path, BASE, change)
    assert target.calls == calls
    assert result.failed == [] and result.skipped == []
    assert result.snapshot is not None
    if recorded_id is None:  # reported only: nothing is written, nothing recorded
        assert result.applied == []
        assert result.snapshot.resources == BASE.resources
    else:
        assert result.applied == [change]
        assert result.snapshot.resources[change.address].target_id == recorded_id


def test_writes_run_in_dependency_order_with_references_resolved(tmp_path: Path) -> None:
    empty = Snapshot(lineage=LINEAGE, serial=0)
    refs = {"contractID": CONTRACT, "serviceID": SERVICE}
    result, target = run(
        tmp_path,
        empty,
        Create(
            address=MONTH,
            kind="adjustment",
            after={"units": 12},
            refs={**refs, "contractServiceID": CSERVICE},
            period="2026-09",
        ),  # fmt: skip
        Create(address=CSERVICE, kind="contract_service", after={}, refs=refs),
        Create(
            address=CONTRACT,
            kind="contract",
            after={"contractName": "New"},
            source={"subscription_id": "S-1"},
        ),
        Create(address=SERVICE, kind="service", after={"name": "Business Standard"}),
        periods=(PlannedPeriod("2026-09", "2026-10-06"),),
    )
    assert target.calls == [
        ("create", SERVICE, {}),
        ("create", CONTRACT, {}),
        ("create", CSERVICE, {"contractID": 40001, "serviceID": 30001}),
        ("create", MONTH, {"contractID": 40001, "serviceID": 30001, "contractServiceID": 50001}),
    ]
    assert result.ok
    assert result.snapshot is not None
    assert {a: e.target_id for a, e in result.snapshot.resources.items()} == IDS
    assert result.snapshot.resources[MONTH] == Entry(
        "adjustment", 70001, {"units": 12}, refs={**refs, "contractServiceID": CSERVICE}, period="2026-09"
    )
    assert result.snapshot.applied_periods == {"2026-09": "2026-10-06"}
    assert result.snapshot.serial == 1


def test_failed_write_skips_what_depends_on_it_and_keeps_what_succeeded(tmp_path: Path) -> None:
    result, target = run(
        tmp_path,
        Snapshot(lineage=LINEAGE, serial=0),
        Create(address=SERVICE, kind="service", after={"name": "Business Standard"}),
        Create(address=CONTRACT, kind="contract", after={"contractName": "New"}),
        Create(
            address=CSERVICE,
            kind="contract_service",
            after={},
            refs={"contractID": CONTRACT, "serviceID": SERVICE},
        ),
        periods=(PlannedPeriod("2026-09", "2026-10-06"),),
        refuse={CONTRACT},
    )
    assert [c[1] for c in target.calls] == [SERVICE, CONTRACT]
    assert [(change.address, message) for change, message in result.failed] == [
        (CONTRACT, f"Autotask refused {CONTRACT}: the SLA is inactive")
    ]
    assert [(change.address, message) for change, message in result.skipped] == [
        (CSERVICE, f"depends on {CONTRACT}, which failed")
    ]
    assert [c.address for c in result.applied] == [SERVICE]
    assert not result.ok
    assert result.snapshot is not None
    assert sorted(result.snapshot.resources) == [SERVICE]
    assert result.snapshot.applied_periods == {}  # a month is recorded only when everything succeeded


def test_reference_to_an_unknown_object_is_skipped(tmp_path: Path) -> None:
    change = Create(
        address=CSERVICE,
        kind="contract_service",
        after={},
        refs={"contractID": CONTRACT, "serviceID": SERVICE},
    )
    result, target = run(tmp_path, BASE, change)
    assert target.calls == []
    assert result.skipped == [(change, f"depends on {SERVICE}, which does not exist in the target")]


def test_reference_to_a_recorded_object_uses_its_snapshot_id(tmp_path: Path) -> None:
    change = Create(
        address='charge["S-1"]["2026-09"]',
        kind="charge",
        after={},
        refs={"contractID": CONTRACT},
        period="2026-09",
    )
    target = RecordingTarget(ids={'charge["S-1"]["2026-09"]': 60001})
    store = store_with(tmp_path, BASE)
    result = apply_plan(plan_of(BASE, change), target, store, KINDS, workers=1)
    assert target.calls == [("create", 'charge["S-1"]["2026-09"]', {"contractID": 40001})]
    assert result.ok


def test_update_merges_into_the_recorded_entry(tmp_path: Path) -> None:
    result, _ = run(tmp_path, BASE, ONE_OF_EACH[Update])
    assert result.snapshot is not None
    assert result.snapshot.resources[CONTRACT] == Entry(
        "contract",
        40001,
        {"contractName": "New", "endDate": date(2026, 10, 31)},
        source={"subscription_id": "S-1"},
    )


def test_adopt_then_update_of_one_address_run_in_order(tmp_path: Path) -> None:
    empty = Snapshot(lineage=LINEAGE, serial=0)
    adopt = Adopt(
        address=SERVICE,
        kind="service",
        target_id=30001,
        attributes={"name": "Old", "unitPrice": Decimal("1")},
    )
    update = Update(
        address=SERVICE, kind="service", target_id=30001, before={"name": "Old"}, after={"name": "New"}
    )
    result, target = run(tmp_path, empty, adopt, update)
    assert target.calls == [("update", SERVICE, {})]
    assert result.applied == [adopt, update]
    assert result.snapshot is not None
    assert result.snapshot.resources[SERVICE].attributes == {"name": "New", "unitPrice": Decimal("1")}


def test_targeted_plan_does_not_record_months(tmp_path: Path) -> None:
    result, _ = run(
        tmp_path, BASE, ONE_OF_EACH[Create], periods=(PlannedPeriod("2026-09", "2026-10-06"),), targeted=True
    )
    assert result.ok
    assert result.snapshot is not None
    assert result.snapshot.applied_periods == {}
    assert result.snapshot.serial == 3


def test_plan_with_no_changes_still_records_its_months(tmp_path: Path) -> None:
    result, target = run(tmp_path, BASE, periods=(PlannedPeriod("2026-10", "2026-11-06"),))
    assert target.calls == []
    assert result.snapshot is not None
    assert (result.snapshot.serial, result.snapshot.applied_periods) == (3, {"2026-10": "2026-11-06"})


def test_progress_is_reported_for_each_executed_change(tmp_path: Path) -> None:
    seen: list[str] = []
    store = store_with(tmp_path, BASE)
    plan = plan_of(BASE, ONE_OF_EACH[Create], ONE_OF_EACH[Update], ONE_OF_EACH[Drift])
    apply_plan(plan, RecordingTarget(), store, KINDS, progress=lambda c: seen.append(c.action), workers=1)
    assert seen == ["create", "update"]


def test_concurrent_workers_give_the_same_snapshot(tmp_path: Path) -> None:
    changes = [Create(address=f'service["p{i}"]', kind="service", after={"name": f"P{i}"}) for i in range(20)]
    target = RecordingTarget(ids={c.address: 30000 + i for i, c in enumerate(changes)})
    store = store_with(tmp_path, BASE)
    result = apply_plan(plan_of(BASE, *changes), target, store, KINDS, workers=6)
    assert result.ok
    assert sorted(c[1] for c in target.calls) == sorted(c.address for c in changes)
    assert result.snapshot is not None
    assert {a: e.target_id for a, e in result.snapshot.resources.items() if a != CONTRACT} == {
        c.address: 30000 + i for i, c in enumerate(changes)
    }
    assert store.load() == result.snapshot


def test_stale_plan_is_refused_before_any_write(tmp_path: Path) -> None:
    store = store_with(tmp_path, BASE)
    target = RecordingTarget()
    stale = Plan(
        changes=(ONE_OF_EACH[Create],), as_of=date(2026, 10, 7), snapshot_lineage=LINEAGE, snapshot_serial=1
    )
    with pytest.raises(StalePlanError) as caught:
        apply_plan(stale, target, store, KINDS)
    assert caught.value.message == (
        "the plan was made from snapshot serial 1 (lineage 0b0e5f3a), but the workspace is now at serial 2 "
        "(lineage 0b0e5f3a): another apply ran since"
    )
    assert target.calls == []
    assert store.load() == BASE


def test_plan_from_another_lineage_is_stale() -> None:
    with pytest.raises(
        StalePlanError, match=r"lineage 99999999\), but the workspace is now at serial 2 \(lineage 0b0e5f3a\)"
    ):
        check_fresh(
            Plan(changes=(), as_of=date(2026, 10, 7), snapshot_lineage="99999999-x", snapshot_serial=2), BASE
        )
    check_fresh(plan_of(BASE), BASE)


def test_an_adopted_month_records_the_row_it_was_found_as_and_a_created_one_its_adjustment(
    tmp_path: Path,
) -> None:
    """An adjustment is read from its month's ContractServiceUnits row: adopting the month records that
    row as ``read_id`` (billsync created nothing), creating one records the adjustment's id."""
    empty = Snapshot(lineage=LINEAGE, serial=0)
    adopt = Adopt(
        address=MONTH, kind="adjustment", target_id=88002, attributes={"units": 3}, period="2026-09"
    )
    result, target = run(tmp_path, empty, adopt)
    assert target.calls == []
    assert result.snapshot is not None
    adopted = result.snapshot.resources[MONTH]
    assert (adopted.target_id, adopted.read_id, adopted.found_id) == (None, 88002, 88002)
    create = Create(address=MONTH, kind="adjustment", after={"units": 4}, period="2026-09")
    result, _ = run(tmp_path / "again", empty, create)
    assert result.snapshot is not None
    created = result.snapshot.resources[MONTH]
    assert (created.target_id, created.read_id) == (70001, None)
