"""Three-way diff: desired × actual × snapshot → changes.

Join by address first (dictionary lookups), then compare attributes only where a quick equality
check fails, using deepdiff to name the fields — so cost stays linear in the number of resources.
- desired vs actual: what apply must create or update (managed fields only);
- actual vs snapshot: drift, what someone changed by hand since the last apply, by the one rule of
  :mod:`engine.drift` that ``billsync drift`` also uses (desired wins); a drifted object no planned
  month renders (a shared service or product) is put back to what billsync last wrote;
- snapshot without desired: orphans, when the source record is gone (never deleted).
Kinds with special semantics get a comparator registered by the target. Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from engine.desired import DesiredState
from engine.drift import NOT_FOUND, changed_fields, find_drift
from engine.plan import Adopt, Change, Create, Drift, Orphan, Update
from engine.provider import ActualState, Comparator, CompareInput
from engine.resources import ActualObject, KindSpec, Resource, same_value
from engine.snapshot import Entry, Snapshot

__all__ = [
    "RESTORED",
    "changed_fields",
    "compare_default",
    "compare_found",
    "diff_state",
    "find_orphans",
    "immutable_differences",
]

RESTORED = "put back to what billsync last wrote (no planned month renders it)"


def diff_state(
    desired: DesiredState,
    actual: ActualState,
    snapshot: Snapshot,
    kinds: Mapping[str, KindSpec],
    comparators: Mapping[str, Comparator],
    live_subscriptions: set[str],
    periods: Sequence[str],
    restore: bool = True,
) -> list[Change]:
    """All changes, in apply order (kind order, then period, then address).

    With ``restore`` (not for a plan narrowed by ``--target``), a drifted object that no planned month
    renders and that is not bound to a month is put back to the values last written."""
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for resource in desired.resources.values():
        by_kind[resource.kind].append(resource)
    changes: list[Change] = []
    for kind, resources in by_kind.items():
        compare = comparators.get(kind, compare_default)
        changes.extend(compare(CompareInput(resources, actual.objects, snapshot, kinds[kind])))
    orphans = find_orphans(desired, actual, snapshot, kinds, live_subscriptions, periods)
    changes.extend(orphans)
    created = {c.address for c in changes if isinstance(c, Create)}
    left_alone = {c.address for c in orphans}
    for drift in find_drift(snapshot, actual, kinds):
        if drift.reason == NOT_FOUND and drift.address in created:
            continue  # the create says it: recorded, not found, created again
        changes.append(drift)
        if restore and drift.address not in desired.resources and drift.address not in left_alone:
            changes.extend(_put_back(drift, snapshot.resources[drift.address], actual, kinds))
    return sorted(changes, key=lambda c: _order(c, kinds))


def _put_back(drift: Drift, entry: Entry, actual: ActualState, kinds: Mapping[str, KindSpec]) -> list[Change]:
    """The update that writes back the drifted fields of an object no planned month renders."""
    spec = kinds[drift.kind]
    found = actual.objects.get(drift.address)
    if found is None or found.locked or spec.period_scoped or found.target_id != entry.target_id:
        return []
    return [
        Update(
            address=drift.address,
            kind=drift.kind,
            target_id=found.target_id,
            before=drift.after,
            after=drift.before,
            refs=entry.refs,
            reason=RESTORED,
        )
    ]


def _order(change: Change, kinds: Mapping[str, KindSpec]) -> tuple[int, str, str, int]:
    period = getattr(change, "period", None) or ""
    rank = {"orphan": 0, "drift": 1, "adopt": 2, "create": 3, "update": 4}[change.action]
    return (kinds[change.kind].order if change.kind in kinds else 99, period, change.address, rank)


def compare_default(data: CompareInput) -> list[Change]:
    """Create what is missing, adopt what is found by marker, update what differs, report drift."""
    changes: list[Change] = []
    for resource in data.desired:
        found = data.actual.get(resource.address)
        recorded = data.snapshot.resources.get(resource.address)
        if found is None:
            reason = (
                f"recorded as id {recorded.target_id} but not found in the target; created again"
                if recorded
                else ""
            )
            changes.append(
                Create(
                    address=resource.address,
                    kind=resource.kind,
                    after=resource.attributes,
                    refs=resource.refs,
                    source=resource.source,
                    period=resource.period,
                    rule=resource.rule,
                    reason=reason,
                )
            )
            continue
        changes.extend(compare_found(resource, found, recorded, data.spec))
    return changes


def compare_found(
    resource: Resource, found: ActualObject, recorded: Entry | None, spec: KindSpec
) -> list[Change]:
    """Changes for a desired resource that exists in the target."""
    changes: list[Change] = []
    managed = {
        k: v for k, v in resource.attributes.items() if k not in spec.immutable and k not in found.fixed
    }
    differing = changed_fields({k: found.attributes.get(k) for k in managed}, managed)
    will_update = bool(differing) and not found.locked
    adopted = recorded is not None and recorded.target_id == found.target_id
    if not adopted or (not found.marked and not will_update):
        # new to the snapshot, or imported without a marker that no update will write
        changes.append(
            Adopt(
                address=resource.address,
                kind=resource.kind,
                target_id=found.target_id,
                attributes=found.attributes,
                refs=resource.refs,
                source=resource.source,
                period=resource.period,
                rule=resource.rule,
                reason=f"found by {found.found_by}",
                stamp_marker=not found.marked and not will_update,
            )
        )
    if will_update:
        changes.append(
            Update(
                address=resource.address,
                kind=resource.kind,
                target_id=found.target_id,
                before={k: found.attributes.get(k) for k in differing},
                after={k: managed[k] for k in differing},
                refs=resource.refs,
                rule=resource.rule,
            )
        )
    return changes


def immutable_differences(
    desired: DesiredState, actual: ActualState, kinds: Mapping[str, KindSpec]
) -> list[str]:
    """One message per field the target sets on create only (or holds fixed on that object now) whose
    desired value now differs from the target's: such a field is never sent (the target would ignore
    or refuse it), so the plan says so and what to do, instead of dropping the change silently."""
    messages: list[str] = []
    for address in sorted(desired.resources):
        resource = desired.resources[address]
        spec = kinds.get(resource.kind)
        found = actual.objects.get(address)
        if spec is None or found is None:
            continue
        fixed = spec.immutable | found.fixed if found.fixed else spec.immutable
        if not fixed:
            continue
        for name in sorted(fixed & resource.attributes.keys()):
            wanted, current = resource.attributes[name], found.attributes.get(name)
            if name not in found.attributes or same_value(current, wanted):
                continue
            hint = spec.immutable_hint or "keep the rule's old value, or recreate the object in the target"
            messages.append(
                f"{address}: {name} is {current} in the target and the rules now give {wanted}, but it "
                f"cannot be changed after create, so billsync leaves it: {hint}."
            )
    return messages


def find_orphans(
    desired: DesiredState,
    actual: ActualState,
    snapshot: Snapshot,
    kinds: Mapping[str, KindSpec],
    live_subscriptions: set[str],
    periods: Sequence[str],
) -> list[Change]:
    """Managed objects whose subscription is gone from the source (D21).

    Shared objects (services, products) and months outside the plan are out of scope, never orphans.
    """
    orphans: list[Change] = []
    for address, entry in snapshot.resources.items():
        if address in desired.resources:
            continue
        spec = kinds.get(entry.kind)
        if spec is None or not spec.orphanable:
            continue
        subscription = entry.source.get("subscription_id")
        if subscription is None or subscription in live_subscriptions:
            continue
        found = actual.objects.get(address)
        if found is None:
            continue
        orphans.append(
            Orphan(
                address=address,
                kind=entry.kind,
                target_id=found.target_id,
                policy="keep",
                reason=f"subscription {subscription} is no longer in Cloudmore",
            )
        )
    return orphans
