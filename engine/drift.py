"""Drift: what was changed in the target by hand since the last apply (actual vs snapshot).

One rule, used by both ``plan`` and ``drift``: a recorded object's managed fields (the fields the
snapshot recorded that the kind manages and that may change after create) are compared with the object
found at the same address. Fields billsync does not manage are never reported as noise. A recorded
object that is not bound to a month and is no longer found is reported too. Pure: the snapshot and the
actual objects in, :class:`~engine.plan.Drift` changes out.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.plan import Drift
from engine.provider import ActualState
from engine.resources import ActualObject, KindSpec, same_value
from engine.snapshot import Entry, Snapshot
from engine.types import Attributes

__all__ = ["NOT_FOUND", "changed_fields", "drift_of", "find_drift"]

NOT_FOUND = "not found in the target (deleted, or its identity marker was changed)"
CHANGED = "changed outside billsync since the last apply"


def find_drift(snapshot: Snapshot, actual: ActualState, kinds: Mapping[str, KindSpec]) -> list[Drift]:
    """One :class:`Drift` per recorded object whose managed fields differ from what was last applied,
    and per recorded object not bound to a month that is not found (objects of months the read did
    not cover are never reported missing)."""
    out: list[Drift] = []
    for address, entry in sorted(snapshot.resources.items()):
        spec = kinds.get(entry.kind)
        if spec is None:
            continue
        found = actual.objects.get(address)
        if found is None:
            if not spec.period_scoped and entry.target_id is not None:
                out.append(Drift(address, entry.kind, entry.target_id, before={}, after={}, reason=NOT_FOUND))
            continue
        drift = drift_of(address, entry, found, spec)
        if drift is not None:
            out.append(drift)
    return out


def drift_of(address: str, entry: Entry, found: ActualObject, spec: KindSpec) -> Drift | None:
    """The drift of one recorded object found in the target, or None."""
    managed = {k: v for k, v in entry.attributes.items() if k in spec.fields and k not in spec.immutable}
    fields = changed_fields(managed, {k: found.attributes.get(k) for k in managed})
    if not fields:
        return None
    return Drift(
        address=address,
        kind=entry.kind,
        target_id=found.target_id,
        before={k: managed[k] for k in fields},
        after={k: found.attributes.get(k) for k in fields},
        reason=CHANGED,
    )


def changed_fields(before: Attributes, after: Attributes) -> list[str]:
    """Names of the fields whose values differ (Decimal scale and int/Decimal type ignored)."""
    if all(same_value(before.get(k), v) for k, v in after.items()):
        return []
    from deepdiff import DeepDiff  # imported here: its import costs a command more than most plans do

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
