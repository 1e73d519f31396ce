"""Three-way diff: desired × actual × snapshot → changes.

Join by address first (dictionary lookups), then compare attributes only where a quick equality
check fails, using deepdiff to name the fields — so cost stays linear in the number of resources.
- desired vs actual: what apply must create or update (managed fields only);
- actual vs snapshot: drift, what someone changed by hand since the last apply (desired wins);
- snapshot without desired: orphans, when the source record is gone (never deleted).
Kinds with special semantics get a comparator registered by the target. Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from deepdiff import DeepDiff

from engine.plan import Adopt, Change, Create, Drift, Orphan, Update
from engine.provider import ActualState, Comparator, CompareInput
from engine.render import DesiredState
from engine.resources import ActualObject, KindSpec, Resource, same_value
from engine.snapshot import Entry, Snapshot
from engine.types import Attributes


def diff_state(
    desired: DesiredState,
    actual: ActualState,
    snapshot: Snapshot,
    kinds: Mapping[str, KindSpec],
    comparators: Mapping[str, Comparator],
    live_subscriptions: set[str],
    periods: Sequence[str],
) -> list[Change]:
    """All changes, in apply order (kind order, then period, then address)."""
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for resource in desired.resources.values():
        by_kind[resource.kind].append(resource)
    changes: list[Change] = []
    for kind, resources in by_kind.items():
        compare = comparators.get(kind, compare_default)
        changes.extend(compare(CompareInput(resources, actual.objects, snapshot, kinds[kind])))
    changes.extend(find_orphans(desired, actual, snapshot, kinds, live_subscriptions, periods))
    return sorted(changes, key=lambda c: _order(c, kinds))


def _order(change: Change, kinds: Mapping[str, KindSpec]) -> tuple[int, str, str, int]:
    period = getattr(change, "period", None) or ""
    rank = {"orphan": 0, "drift": 1, "adopt": 2, "replace": 3, "create": 3, "update": 4}[change.action]
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
    managed = {k: v for k, v in resource.attributes.items() if k not in spec.immutable}
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
    elif recorded is not None:
        known = [k for k in managed if k in recorded.attributes]  # a newly managed field is not drift
        drifted = changed_fields(
            {k: recorded.attributes.get(k) for k in known}, {k: found.attributes.get(k) for k in known}
        )
        if drifted:
            changes.append(
                Drift(
                    address=resource.address,
                    kind=resource.kind,
                    target_id=found.target_id,
                    before={k: recorded.attributes.get(k) for k in drifted},
                    after={k: found.attributes.get(k) for k in drifted},
                    reason="changed outside billsync since the last apply",
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
    """One message per field the target sets on create only whose desired value now differs from the
    target's: such a field is never sent (the target would ignore or refuse it), so the plan says so
    and what to do, instead of dropping the change silently."""
    messages: list[str] = []
    for address in sorted(desired.resources):
        resource = desired.resources[address]
        spec = kinds.get(resource.kind)
        found = actual.objects.get(address)
        if spec is None or found is None or not spec.immutable:
            continue
        for name in sorted(spec.immutable & resource.attributes.keys()):
            wanted, current = resource.attributes[name], found.attributes.get(name)
            if name not in found.attributes or same_value(current, wanted):
                continue
            hint = spec.immutable_hint or "keep the rule's old value, or recreate the object in the target"
            messages.append(
                f"{address}: {name} is {current} in the target and the rules now give {wanted}, but it "
                f"cannot be changed after create, so billsync leaves it: {hint}."
            )
    return messages


def changed_fields(before: Attributes, after: Attributes) -> list[str]:
    """Names of the fields whose values differ (Decimal scale and int/Decimal type ignored)."""
    if all(same_value(before.get(k), v) for k, v in after.items()):
        return []
    delta = DeepDiff(
        {k: before.get(k) for k in after},
        dict(after),
        ignore_numeric_type_changes=True,
        ignore_string_case=False,
    )
    names: set[str] = set()
    for section in ("values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed"):
        for path in delta.get(section, {}):
            names.add(str(path).split("['", 1)[1].split("']", 1)[0])
    return sorted(n for n in names if not same_value(before.get(n), after.get(n)))


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
