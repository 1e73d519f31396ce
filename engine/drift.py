"""Drift: what was changed in the target by hand since the last apply (actual vs snapshot).

Only managed fields are compared, so fields billsync does not manage are never reported as noise.
Pure: the snapshot and the actual objects in, :class:`~engine.plan.Drift` changes out.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.diff import changed_fields
from engine.plan import Change, Drift
from engine.provider import ActualState
from engine.resources import KindSpec
from engine.snapshot import Snapshot


def find_drift(snapshot: Snapshot, actual: ActualState, kinds: Mapping[str, KindSpec]) -> list[Change]:
    """One :class:`Drift` per managed object whose managed fields differ from what was last applied."""
    out: list[Change] = []
    for address, entry in sorted(snapshot.resources.items()):
        spec = kinds.get(entry.kind)
        found = actual.objects.get(address)
        if spec is None or found is None:
            if spec is not None and not spec.period_scoped:
                out.append(
                    Drift(
                        address=address,
                        kind=entry.kind,
                        target_id=entry.target_id,
                        before={},
                        after={},
                        reason="not found in the target (deleted, or its identity marker was changed)",
                    )
                )
            continue
        managed = {k: v for k, v in entry.attributes.items() if k not in spec.immutable and k in spec.fields}
        fields = changed_fields(managed, {k: found.attributes.get(k) for k in managed})
        if fields:
            out.append(
                Drift(
                    address=address,
                    kind=entry.kind,
                    target_id=found.target_id,
                    before={k: managed[k] for k in fields},
                    after={k: found.attributes.get(k) for k in fields},
                    reason="changed outside billsync since the last apply",
                )
            )
    return out
