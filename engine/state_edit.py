"""``state rm`` and ``state mv``: edit the snapshot without touching the target.

Each edit goes through the :class:`~engine.snapshot.Journal` like an apply's writes (durable before it
counts, replayed after a crash) and ends with the serial incremented, so a plan saved before the edit
is refused as stale. Nothing here reads or writes Autotask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from engine.errors import BillsyncError
from engine.snapshot import Journal, Snapshot, SnapshotStore
from engine.types import Address, parse_address

__all__ = ["move_address", "remove_addresses"]


def remove_addresses(store: SnapshotStore, snapshot: Snapshot, addresses: Sequence[Address]) -> Snapshot:
    """Forget ``addresses``: billsync stops managing those objects (they stay in Autotask as they are)."""
    missing = [a for a in addresses if a not in snapshot.resources]
    if missing:
        raise _not_in_snapshot(missing[0])
    journal = Journal(store, snapshot)
    for address in dict.fromkeys(addresses):
        journal.remove(address)
    return journal.close()


def move_address(store: SnapshotStore, snapshot: Snapshot, old: Address, new: Address) -> Snapshot:
    """Record the object of ``old`` under ``new`` (a changed key in the rules), references included."""
    entry = snapshot.resources.get(old)
    if entry is None:
        raise _not_in_snapshot(old)
    if new in snapshot.resources:
        raise BillsyncError(
            f"{new} is already in the snapshot (id {snapshot.resources[new].found_id}); nothing was changed",
            hint=f"Remove it first with: billsync state rm '{new}'",
        )
    kind, key = parse_address(new)
    if kind != entry.kind or not key or any(not part or '"' in part for part in key):
        raise BillsyncError(
            f'{new} is not an address of a {entry.kind} (expected {entry.kind}["…"]); nothing was changed'
        )
    journal = Journal(store, snapshot)
    journal.remove(old)
    journal.record(new, entry)
    for address, other in sorted(snapshot.resources.items()):
        if old in other.refs.values() and address != old:
            refs = {name: new if ref == old else ref for name, ref in other.refs.items()}
            journal.record(address, replace(other, refs=refs))
    return journal.close()


def _not_in_snapshot(address: Address) -> BillsyncError:
    return BillsyncError(
        f"{address} is not in the snapshot; nothing was changed",
        hint="See `billsync state list` for addresses.",
    )
