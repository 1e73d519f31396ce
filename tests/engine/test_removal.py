"""The removal policy (D21): orphans are kept, or their contract ends with its last billed month."""

from __future__ import annotations

from datetime import date

from engine.plan import Change, Create, Orphan, Update, change_key
from engine.provider import ActualState
from engine.removal import apply_removal_policy
from engine.resources import ActualObject
from engine.snapshot import Entry, Snapshot
from providers.autotask.kinds import KINDS

GONE = 'contract["S-6"]'
ORPHAN = Orphan(
    address=GONE, kind="contract", target_id=40006, policy="keep", reason="subscription S-6 is gone"
)
OTHER = Create(address='service["x"]', kind="service", after={"name": "X"})
SNAPSHOT = Snapshot(
    lineage="L",
    serial=2,
    resources={
        GONE: Entry("contract", 40006, {"endDate": date(2027, 2, 28)}, source={"subscription_id": "S-6"}),
        'adjustment["S-6"]["2026-08"]': Entry(
            "adjustment", 1, {}, source={"subscription_id": "S-6", "total_sales": "50.00"}, period="2026-08"
        ),
        'adjustment["S-6"]["2026-09"]': Entry(
            "adjustment", 2, {}, source={"subscription_id": "S-6", "total_sales": "50.00"}, period="2026-09"
        ),
        'adjustment["S-6"]["2026-10"]': Entry(
            "adjustment", 4, {}, source={"subscription_id": "S-6", "total_sales": "0.00"}, period="2026-10"
        ),
        'adjustment["S-7"]["2026-10"]': Entry(
            "adjustment", 3, {}, source={"subscription_id": "S-7", "total_sales": "50.00"}, period="2026-10"
        ),
    },
)


def actual(end: date) -> ActualState:
    return ActualState({GONE: ActualObject(GONE, "contract", 40006, {"endDate": end})}, fingerprint="f")


def run(policy: str, end: date = date(2027, 2, 28), snapshot: Snapshot = SNAPSHOT) -> list[Change]:
    return apply_removal_policy([OTHER, ORPHAN], policy, actual(end), snapshot, KINDS)


def test_d21_keep_leaves_the_orphan_as_it_is() -> None:
    assert run("keep") == [OTHER, ORPHAN]


def test_d21_end_ends_the_contract_on_the_last_day_of_its_last_billed_month() -> None:
    changes = run("end")
    assert [change_key(c) for c in changes] == [
        ("create", 'service["x"]'),
        ("orphan", GONE),
        ("update", GONE),
    ]
    assert changes[1] == Orphan(
        address=GONE, kind="contract", target_id=40006, policy="end", reason="subscription S-6 is gone"
    )
    assert changes[2] == Update(
        address=GONE,
        kind="contract",
        target_id=40006,
        before={"endDate": date(2027, 2, 28)},
        after={"endDate": date(2026, 9, 30)},
        reason="removal policy end: last billed month 2026-09",
    )


def test_d21_end_writes_nothing_when_the_contract_already_ends_then() -> None:
    assert [change_key(c) for c in run("end", end=date(2026, 9, 30))] == [
        ("create", 'service["x"]'),
        ("orphan", GONE),
    ]


def test_d21_a_month_that_billed_nothing_is_not_the_last_billed_month() -> None:
    changes = run("end")
    assert changes[2].after == {"endDate": date(2026, 9, 30)}  # 2026-10 billed 0.00


def test_d21_end_without_a_billed_month_only_reports_the_orphan() -> None:
    snapshot = Snapshot(lineage="L", serial=2, resources={GONE: SNAPSHOT.resources[GONE]})
    changes = run("end", snapshot=snapshot)
    assert [change_key(c) for c in changes] == [("create", 'service["x"]'), ("orphan", GONE)]
    assert isinstance(changes[1], Orphan) and changes[1].policy == "end"
