"""``run --budget pace``: a first apply larger than a day's budget is applied a day at a time.

The 20-write bundle (5 services; per subscription a contract, its contract service and September's
adjustment) with a day's budget of 8 writes: day 1 writes the 5 shared services and one whole
subscription, day 2 two more, day 3 the last two and records the month. Every run stops cleanly
(exit 0), no contract is ever half built, and the three days leave exactly what one apply leaves.
"""

from __future__ import annotations

import json
from collections import Counter

from engine.pacing import PACE_FILE
from engine.snapshot import SnapshotStore
from providers.autotask.kinds import KINDS
from providers.autotask.lease import LEASE_SKU

RUN = ("run", "--as-of", "2026-10-07", "--auto-approve", "--budget", "pace", "--day-budget", "8")


def _writes(sandbox) -> int:
    """Create and update requests but the writer lease's (one inactive Product per apply, D26)."""
    products = sandbox.stats().endpoints.get("Products")
    lease = sum(products.requests.get(k, 0) for k in ("create", "update")) if products else 0
    return sandbox.writes() - lease  # the 20-write bundle has no product of its own


def _without_leases(objects: dict) -> dict:
    return {
        entity: [row for row in rows if not str(dict(row).get("sku", "")).strip("'").startswith(LEASE_SKU)]
        for entity, rows in objects.items()
    }


def _subscriptions(workspace) -> Counter[str]:
    """Recorded objects per subscription (contract, contract service, adjustment: 3 when whole)."""
    resources = SnapshotStore(workspace.state, KINDS).load().resources
    return Counter(e.source["subscription_id"] for e in resources.values() if "subscription_id" in e.source)


def test_a_first_apply_over_the_day_budget_is_applied_over_three_runs_whole_subscriptions_each(
    sandbox_factory, workspace_factory, clean_apply
) -> None:
    sandbox = sandbox_factory()
    workspace = workspace_factory(sandbox)

    first = workspace.invoke(*RUN, "--json")
    assert first.code == 0, first
    doc = json.loads(first.stdout)
    assert doc["status"] == "applied"
    assert doc["pace"] == {"day": 1, "days": 3, "writes_today": 8, "writes_left": 12, "complete": False}
    assert (doc["apply"]["written"], doc["apply"]["months"]) == (8, [])
    assert _writes(sandbox) == 8
    assert sandbox.stats().count("Services", "create") == 5
    assert sorted(_subscriptions(workspace).values()) == [3]
    assert (
        json.loads((workspace.root / ".billsync" / PACE_FILE).read_text(encoding="utf-8"))["days_done"] == 1
    )
    assert SnapshotStore(workspace.state, KINDS).load().applied_periods == {}  # the month is not done yet

    second = workspace.invoke(*RUN)
    assert second.code == 0, second
    assert "Paced apply: day 2 of 3: 6 writes today, 6 left for the next run." in second.stdout
    assert _writes(sandbox) == 14
    assert sorted(_subscriptions(workspace).values()) == [3, 3, 3]

    third = workspace.invoke(*RUN)
    assert third.code == 0, third
    assert "Paced apply: day 3 of 3: 6 writes today, the plan is complete." in third.stdout
    assert _writes(sandbox) == 20
    assert not (workspace.root / ".billsync" / PACE_FILE).exists()
    assert list(SnapshotStore(workspace.state, KINDS).load().applied_periods) == ["2026-09"]
    assert _without_leases(sandbox.objects()) == _without_leases(
        clean_apply.objects
    )  # no duplicate, nothing missing
    creates = {
        n: e.requests.get("create", 0)
        for n, e in sandbox.stats().endpoints.items()
        if e.requests.get("create") and n != "Products"  # Products: the writer leases only
    }
    assert creates == {n: c for n, c in clean_apply.creates.items() if n != "Products"}
    assert sum(creates.values()) == 20

    again = workspace.invoke(*RUN, "--json", "--detailed-exitcode")
    assert again.code == 3, again
    assert json.loads(again.stdout)["pace"] is None
    assert _writes(sandbox) == 20
