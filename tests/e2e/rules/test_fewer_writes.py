"""Fewer writes: a month that changes neither units nor price is recorded without a write (D14, D20).

A first apply of two months used to send an adjustment for the second month even when it changed
nothing (``unitChange`` 0 at the same price). Such a month is now planned as carried by the month
before: no request, recorded in the snapshot under that month's adjustment, billed by Autotask from
the units row that adjustment started, and found again by a re-plan or a rebuild from the target.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from engine.snapshot import SnapshotStore
from providers.autotask.kinds import KINDS

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""
CARRIED = ["03", "04", "08", "15", "17", "20"]
"""The subscriptions whose October has September's units and price in the example."""


def _adjustment(n: str, period: str) -> str:
    return f'adjustment["{EX}{n}"]["{period}"]'


def test_a_second_month_that_changes_nothing_is_recorded_without_a_write(env: Env, november: Path) -> None:
    env.configure(november)
    plan = env.plan("2026-11-25")

    carried = plan.changes("adopt", "adjustment")
    assert [(c["address"], c["carried_by"], c["target_id"]) for c in carried] == [
        (_adjustment(n, "2026-10"), _adjustment(n, "2026-09"), 0) for n in CARRIED
    ]
    four = plan.change(_adjustment("04", "2026-10"))
    assert four["attributes"] == {
        "effectiveDate": "2026-10-01",
        "unitCost": "3.4000",
        "unitPrice": "4.0000",
        "units": 25,
    }
    assert plan.change(_adjustment("04", "2026-09"), "create")["payload"]["unitChange"] == 25
    assert (plan.summary["add"], plan.summary["adopt"]) == (70, 6)
    text = env.plan_text("2026-11-25").splitlines()
    assert (
        f"  = {_adjustment('04', '2026-10')} needs no write (units 25 at the same price carry on from the "
        f"month before; set by {_adjustment('04', '2026-09')})"
    ) in text

    env.api.reset_counters()
    env.apply("2026-11-25")

    writes = env.api.writes()
    assert writes["ContractServiceAdjustments"] == len(plan.changes("create", "adjustment")) == 18
    # Products also holds the writer lease (D26), written by every apply: left out here
    assert sum(n for endpoint, n in writes.items() if endpoint != "Products") == 70 - 3
    assert len(env.api.products()) == 3
    snapshot = SnapshotStore(env.state_dir, KINDS).load()
    for n in CARRIED:
        october, september = (
            snapshot.resources[_adjustment(n, "2026-10")],
            snapshot.resources[_adjustment(n, "2026-09")],
        )
        assert october.target_id == september.target_id > 0
        assert (october.period, october.source["period"], september.period) == (
            "2026-10",
            "2026-10",
            "2026-09",
        )
    contract = env.api.contract(f"{EX}04")["id"]
    assert [(r["units"], r["price"]) for r in env.api.units(contract, "2026-10")] == [(25, 4.0)]
    assert env.api.billed(contract, "2026-10") == Decimal("100.00") == Decimal(four["source"]["total_sales"])

    env.api.reset_counters()
    for args in ((), ("--period", "2026-10")):
        again = env.plan("2026-11-25", *args)
        assert again.changes() == [] and again.summary["adopt"] == 0, args
    assert env.api.writes() == {}  # plans: no write, not even a lease

    shutil.rmtree(env.state_dir)  # lost state: the carried months are found again through their unit rows
    rebuilt = env.plan("2026-11-25")
    assert {c["action"] for c in rebuilt.changes()} == {"adopt"}
    assert {_adjustment(n, "2026-10") for n in CARRIED} <= set(rebuilt.addresses("adopt", "adjustment"))
    assert not any(c.get("carried_by") for c in rebuilt.changes())
