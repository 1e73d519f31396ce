"""The removal policy (D21): a rewrite of the plan's orphans, run between diff and view.

``keep`` leaves an orphaned contract as it is. ``end`` ends it on the last day of its last billed
month (the latest month recorded in the snapshot for its subscription), as an ordinary update.
Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from engine.billing import month_end
from engine.plan import Change, Orphan, Update
from engine.provider import ActualState
from engine.resources import KindSpec, same_value
from engine.snapshot import Snapshot


def apply_removal_policy(
    changes: list[Change],
    policy: str,
    actual: ActualState,
    snapshot: Snapshot,
    kinds: Mapping[str, KindSpec],
) -> list[Change]:
    """Return ``changes`` with each orphan marked with the policy, plus the updates ``end`` requires."""
    last_month: dict[str, str] = {}
    for recorded in snapshot.resources.values():
        sub, period = recorded.source.get("subscription_id"), recorded.period
        billed = "correction" not in recorded.source and Decimal(recorded.source.get("total_sales", "0")) != 0
        if sub and period and billed and period > last_month.get(sub, ""):
            last_month[sub] = period
    out: list[Change] = []
    for change in changes:
        if not isinstance(change, Orphan):
            out.append(change)
            continue
        out.append(replace(change, policy=policy))
        spec = kinds.get(change.kind)
        entry = snapshot.resources.get(change.address)
        found = actual.objects.get(change.address)
        if policy != "end" or spec is None or spec.end_field is None or entry is None or found is None:
            continue
        sub = entry.source.get("subscription_id", "")
        if sub not in last_month:
            continue
        end = month_end(last_month[sub])
        current = found.attributes.get(spec.end_field)
        if same_value(current, end):
            continue
        out.append(
            Update(
                address=change.address,
                kind=change.kind,
                target_id=change.target_id,
                before={spec.end_field: current},
                after={spec.end_field: end},
                reason=f"removal policy end: last billed month {last_month[sub]}",
            )
        )
    return out
