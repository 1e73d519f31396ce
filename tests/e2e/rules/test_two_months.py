"""The example's two months end to end: 2026-09 applied, then 2026-10 (with the revised 2026-09) planned.

The plan shows the renewal as one end-date update (D18), the quantity increase as one adjustment
(D14), the cancelled subscription as an orphan (D21) and the revised month as a correction (D20);
after the apply a new plan has nothing to change.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""


def test_d18_d14_d21_d20_second_month_plan_then_apply_then_no_changes(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    renewed = env.api.contract(f"{EX}04")["id"]
    cancelled = env.api.contract(f"{EX}06")["id"]

    env.configure(november)
    plan = env.plan("2026-11-25")
    text = env.plan_text("2026-11-25").splitlines()

    # Renewal: one in-place end-date update of the existing contract, nothing else changes in place.
    [update] = plan.changes("update")
    assert (update["address"], update["target_id"]) == (f'contract["{EX}04"]', renewed)
    assert (update["before"], update["after"]) == ({"endDate": "2026-10-31"}, {"endDate": "2027-10-31"})
    assert f'  ~ contract["{EX}04"] {{' in text
    assert "      ~ endDate = 2026-10-31 -> 2027-10-31" in text
    # Quantity increase of …05 (20 -> 25 seats): one adjustment of +5 units on 2026-10-01.
    increases = [c for c in plan.changes("create", "adjustment") if c["payload"]["unitChange"] > 0]
    assert [(c["address"], c["payload"]["unitChange"]) for c in increases] == [
        (f'adjustment["{EX}05"]["2026-10"]', 5)
    ]
    assert [a for a in plan.addresses() if f"{EX}05" in a] == [f'adjustment["{EX}05"]["2026-10"]']
    # The cancelled subscription …06 is an orphan, kept.
    [orphan] = plan.changes("orphan")
    assert (orphan["address"], orphan["target_id"], orphan["policy"]) == (
        f'contract["{EX}06"]',
        cancelled,
        "keep",
    )
    assert any(line.startswith(f'  ? contract["{EX}06"] is an orphan') for line in text)
    # The revision of 2026-09 is a correction of -25.00 on …07; no 2026-09 object is rewritten.
    assert [c["address"] for c in plan.changes() if c.get("period") == "2026-09"] == [
        f'charge["{EX}07"]["2026-09"]["correction-2026-10-20"]'
    ]
    assert (
        plan.change(f'charge["{EX}07"]["2026-09"]["correction-2026-10-20"]')["after"]["unitPrice"]
        == "-25.0000"
    )
    assert (plan.summary["change"], plan.summary["orphan"], plan.summary["destroy"]) == (1, 1, 0)
    assert (
        text[-1]
        == f"Plan: {plan.summary['add']} to add, 1 to change, {plan.summary['adopt']} to adopt, 1 orphaned, 0 to destroy."
    )

    env.apply("2026-11-25")

    assert env.api.contract(f"{EX}04")["endDate"] == "2027-10-31T00:00:00"
    assert [r["units"] for r in env.api.units(env.api.contract(f"{EX}05")["id"], "2026-10")] == [25]
    seventh = env.api.contract(f"{EX}07")["id"]
    assert (env.api.billed(seventh, "2026-09"), env.api.billed(seventh, "2026-10")) == (
        Decimal("125.00"),
        Decimal("125.00"),
    )
    env.api.reset_counters()
    after = env.billsync("plan", "--as-of", "2026-11-25", "--detailed-exitcode")
    assert (
        after.stdout.splitlines()[-1] == "Plan: 0 to add, 0 to change, 0 to adopt, 1 orphaned, 0 to destroy."
    )
    assert [c["action"] for c in env.plan("2026-11-25").changes()] == ["orphan"]
    assert env.api.writes() == {}
