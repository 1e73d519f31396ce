"""Splitting a first apply into days (``run --budget pace``): pure, on hand-made plans."""

from __future__ import annotations

from engine.budget import Budget
from engine.pacing import day_budget, read_days_done, record_day, split_day
from engine.plan import Adopt, Create, Plan


def _create(address: str, subscription: str | None = None) -> Create:
    source = {"subscription_id": subscription} if subscription else {}
    return Create(address=address, kind=address.split("[")[0], after={}, source=source)


def _plan() -> Plan:
    changes = [
        _create('service["a"]'),
        _create('contract["S1"]', "S1"),
        _create('contract["S2"]', "S2"),
        _create('contract_service["S1"]', "S1"),
        _create('contract_service["S2"]', "S2"),
        _create('adjustment["S1"]["2026-09"]', "S1"),
        Adopt(
            'adjustment["S1"]["2026-10"]',
            "adjustment",
            0,
            {},
            source={"subscription_id": "S1"},
            carried_by='adjustment["S1"]["2026-09"]',
        ),
        _create('adjustment["S2"]["2026-09"]', "S2"),
        _create('adjustment["S2"]["2026-10"]', "S2"),
        _create('service["b"]'),
    ]
    return Plan(changes=tuple(changes), as_of="2026-11-08")


def test_a_days_budget_is_eight_hours_at_half_the_hourly_budget() -> None:
    assert day_budget(Budget(remaining=10_000, limit=10_000)) == 40_000
    assert day_budget(Budget(remaining=3, limit=1_200, window_seconds=60), hours=0.01) == 360
    assert day_budget(Budget(remaining=0, limit=1, window_seconds=3600), hours=0.1) == 1


def test_a_day_takes_the_shared_objects_then_whole_subscriptions_in_plan_order() -> None:
    part = split_day(_plan(), capacity=5)

    assert [c.address for c in part.plan.changes] == [
        'service["a"]',
        'contract["S1"]',
        'contract_service["S1"]',
        'adjustment["S1"]["2026-09"]',
        'adjustment["S1"]["2026-10"]',
        'service["b"]',
    ]
    assert part.plan.targeted  # its months are recorded by the day that completes the plan
    assert (part.writes, part.writes_left, part.day, part.days, part.last) == (5, 4, 1, 2, False)
    assert part.describe() == "Paced apply: day 1 of 2: 5 writes today, 4 left for the next run."


def test_a_subscription_larger_than_a_day_goes_alone_and_the_last_day_is_the_whole_plan() -> None:
    plan = _plan()
    alone = split_day(Plan(changes=plan.changes[1:9], as_of=plan.as_of), capacity=2)
    assert [c.address for c in alone.plan.changes] == [
        'contract["S1"]',
        'contract_service["S1"]',
        'adjustment["S1"]["2026-09"]',
        'adjustment["S1"]["2026-10"]',
    ]
    assert (alone.writes, alone.writes_left, alone.days) == (3, 4, 3)

    whole = split_day(plan, capacity=9, days_done=2)
    assert whole.plan is plan and not whole.plan.targeted
    assert (whole.day, whole.days, whole.last) == (3, 3, True)
    assert whole.describe() == "Paced apply: day 3 of 3: 9 writes today, the plan is complete."


def test_the_day_count_survives_between_runs_and_is_forgotten_when_complete(tmp_path) -> None:
    assert read_days_done(tmp_path) == 0
    record_day(tmp_path, split_day(_plan(), capacity=5), ["2026-09"])
    assert read_days_done(tmp_path) == 1
    (tmp_path / "pace.json").write_text("not json", encoding="utf-8")
    assert read_days_done(tmp_path) == 0
    record_day(tmp_path, split_day(_plan(), capacity=99, days_done=1), ["2026-09"])
    assert not (tmp_path / "pace.json").exists()
