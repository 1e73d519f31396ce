"""Apply: execute a plan's writes in dependency order and record each one in the snapshot.

Phases run in order — services/products, contracts, contract services, then adjustments and
charges month by month — and the writes of one phase run concurrently (the target client keeps
each endpoint within its limit). Each successful write is journalled before the next result is
taken, so an interruption loses nothing; a write that fails is reported with the target's message,
the writes that succeeded are kept, and what depends on the failed one is skipped. The snapshot
records a month as applied only when every change of the plan succeeded.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from engine.budget import Pacer
from engine.errors import BillsyncError, StalePlanError
from engine.plan import WRITES, Adopt, Change, Create, Drift, Orphan, Plan, Update
from engine.provider import Target, WriterClaim, WriterLease
from engine.read_request import TargetPolicy
from engine.rebuild import check_no_duplicates
from engine.resources import KindSpec
from engine.settings import Settings
from engine.snapshot import IMPORTED, Entry, Journal, Snapshot, SnapshotStore
from engine.snapshot_model import found_ids
from engine.tenant import check_tenant, unbound_note
from engine.types import Address

Progress = Callable[[Change], None]


@dataclass
class ApplyResult:
    applied: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    skipped: list[tuple[Change, str]] = field(default_factory=list)
    snapshot: Snapshot | None = None
    notes: list[str] = field(default_factory=list)
    """What the apply did besides its writes (binding an older snapshot to the tenant, D25)."""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def check_fresh(plan: Plan, snapshot: Snapshot) -> None:
    """Refuse a plan made from another snapshot than the current one."""
    if plan.snapshot_lineage != snapshot.lineage or plan.snapshot_serial != snapshot.serial:
        raise StalePlanError(
            f"the plan was made from snapshot serial {plan.snapshot_serial} (lineage {plan.snapshot_lineage[:8]}), "
            f"but the workspace is now at serial {snapshot.serial} (lineage {snapshot.lineage[:8]}): "
            "another apply ran since",
            hint="Make a new plan (billsync plan --out FILE) and review it.",
        )


def stale_objects(saved: Plan, fresh: Plan) -> list[str]:
    """What changed in the target between two plans: touched objects whose fingerprint moved,
    appeared or vanished, then every change that differs."""
    names = []
    for address, stamp in sorted(saved.objects.items()):
        now = fresh.objects.get(address)
        if now != stamp:
            names.append(f"{address} ({'changed' if now else 'no longer planned the same way'})")
    created = {c.address for c in saved.changes if c.action == "create"}
    for address in sorted(set(fresh.objects) - set(saved.objects)):
        names.append(f"{address} ({'now exists' if address in created else 'now differs'})")
    saved_changes = {(c.action, c.address) for c in saved.changes}
    for change in fresh.changes:
        if (change.action, change.address) not in saved_changes and not any(
            change.address in n for n in names
        ):
            names.append(f"{change.address} (now needs {change.action})")
    return names


def apply_plan(
    plan: Plan,
    target: Target,
    store: SnapshotStore,
    kinds: Mapping[str, KindSpec],
    progress: Progress | None = None,
    workers: int = 6,
    pacer: Pacer | None = None,
    digests: Mapping[str, str] | None = None,
    lease: WriterLease | None = None,
) -> ApplyResult:
    """Execute ``plan`` against ``target``; the caller has checked freshness and holds the lock and,
    from before it made or re-checked the plan, the tenant's writer ``lease`` (D26).

    ``digests`` (month → digest of the report applied) are recorded with the months applied in full.
    The lease is checked before each phase, so an apply that lost it starts no further writes."""
    check_no_duplicates(plan)
    snapshot = store.load()
    check_fresh(plan, snapshot)
    tenant = target.identity()
    check_tenant(snapshot.tenant, tenant)  # before the journal, so a foreign tenant sees no write
    result = ApplyResult()
    note = unbound_note(snapshot.tenant, snapshot.lineage, tenant)
    if note is not None:
        result.notes.append(f"state/ is now bound to {tenant.describe()} (it recorded no tenant before)")
    refused = _refused_writes(plan, snapshot, target)  # one read per entity, before any write
    journal = Journal(store, snapshot, tenant=tenant)
    ids: dict[Address, int] = {
        a: e.target_id for a, e in snapshot.resources.items() if e.target_id is not None
    }
    failed_addresses: set[Address] = set()
    try:
        for phase in _phases(plan, kinds):
            if lease is not None:
                lease.check()
            groups: dict[Address, list[Change]] = defaultdict(list)
            for change in phase:
                groups[change.address].append(change)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = pool.map(
                    lambda item: _run_group(item[1], target, journal, ids, failed_addresses, pacer, refused),
                    groups.items(),
                )
                for group_result in outcomes:
                    for change, status, message in group_result:
                        if status == "ok":
                            result.applied.append(change)
                        elif status == "failed":
                            result.failed.append((change, message))
                            failed_addresses.add(change.address)
                        else:
                            result.skipped.append((change, message))
                            failed_addresses.add(change.address)
                        if progress is not None:
                            progress(change)
    finally:
        periods = (
            {}
            if (result.failed or result.skipped or plan.targeted)
            else {p.period: p.available_on for p in plan.periods}
        )
        months = {p: d for p, d in (digests or {}).items() if p in periods}
        result.snapshot = journal.close(periods, months)
    return result


@contextmanager
def one_writer(
    target: Target, store: SnapshotStore, claim: WriterClaim, settings: Settings, plan: Plan
) -> Iterator[WriterLease | None]:
    """Hold the tenant's writer lease for the block (D26) when ``plan`` writes to the target: the
    caller re-checks the plan inside it, so what another apply wrote before is read first, then
    applies. A plan that only adopts (records ids, writes nothing) takes no lease and yields None.
    The snapshot's tenant is checked first, so another tenant than the snapshot's sees no write,
    not even a lease."""
    check_no_duplicates(plan)  # refused as apply_plan would, before the lease
    check_tenant(store.load().tenant, target.identity())
    if plan.writes == 0:
        yield None
        return
    with target.hold_writer(claim, TargetPolicy.of(settings)) as lease:
        yield lease


def writer_claim(workspace: str, operation: str) -> WriterClaim:
    """Who this process is, for the tenant's writer lease (D26): shown to an apply it stops."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment (a container's uid)
        user = "unknown"
    return WriterClaim(
        who=f"{user}@{socket.gethostname()}", pid=os.getpid(), workspace=workspace, operation=operation
    )


def _writes_existing(change: Change) -> bool:
    return isinstance(change, Update) or (isinstance(change, Adopt) and change.stamp_marker)


def _refused_writes(plan: Plan, snapshot: Snapshot, target: Target) -> dict[Address, str]:
    """Markers first (D25): the objects this plan writes to, re-read in bulk before the first write;
    a refusal for each that is neither marked for its address nor an adoption the plan (or an
    import) recorded."""
    writes = [
        (c.address, c.kind, c.target_id)
        for c in plan.changes
        if isinstance(c, Update | Adopt) and _writes_existing(c)
    ]
    if not writes:
        return {}
    adoptions = {
        a: e.target_id
        for a, e in snapshot.resources.items()
        if IMPORTED in e.source and e.target_id is not None
    }
    adoptions.update({c.address: c.target_id for c in plan.changes if isinstance(c, Adopt)})
    return target.check_owned(writes, adoptions)


def bind_tenant(target: Target, store: SnapshotStore) -> str | None:
    """Bind a snapshot that records no tenant yet to ``target``'s (an apply with nothing to write
    still does, D25): only ``state.json`` changes, the serial stays. Returns the note to show."""
    snapshot = store.load()
    tenant = target.identity()
    check_tenant(snapshot.tenant, tenant)
    if unbound_note(snapshot.tenant, snapshot.lineage, tenant) is None:
        return None
    whole = store.on_disk != (snapshot.lineage, snapshot.serial)  # a replayed journal: write it all
    store.write(replace(snapshot, tenant=tenant), dirty=None if whole else ())
    return f"state/ is now bound to {tenant.describe()} (it recorded no tenant before)"


def _phases(plan: Plan, kinds: Mapping[str, KindSpec]) -> list[list[Change]]:
    phases: dict[tuple[int, str], list[Change]] = defaultdict(list)
    for change in plan.changes:
        if isinstance(change, Drift | Orphan):
            continue
        spec = kinds.get(change.kind)
        order = spec.order if spec else 99
        period = (getattr(change, "period", None) or "") if spec and spec.period_scoped else ""
        phases[(order, period)].append(change)
    return [phases[k] for k in sorted(phases)]


def _run_group(
    changes: list[Change],
    target: Target,
    journal: Journal,
    ids: dict[Address, int],
    failed: set[Address],
    pacer: Pacer | None = None,
    refused: Mapping[Address, str] | None = None,
) -> list[tuple[Change, str, str]]:
    """Run the changes of one address in order; stop at the first failure. A write to an object
    that is not billsync's (``refused``) fails without a request."""
    out: list[tuple[Change, str, str]] = []
    for change in changes:
        if refused and change.address in refused and _writes_existing(change):
            out.append((change, "failed", refused[change.address]))
            break
        refs = getattr(change, "refs", {}) or {}
        needs = [
            *refs.values(),
            *([change.carried_by] if isinstance(change, Adopt) and change.carried_by else []),
        ]
        missing = [a for a in needs if a not in ids]
        blocked = [a for a in needs if a in failed]
        if blocked or missing:
            reason = f"depends on {', '.join(blocked or missing)}, which " + (
                "failed" if blocked else "does not exist in the target"
            )
            out.append((change, "skipped", reason))
            continue
        resolved = {name: ids[a] for name, a in refs.items()}
        if pacer is not None and change.action in WRITES:
            pacer.wait()
        try:
            _execute(change, target, journal, ids, resolved)
        except BillsyncError as exc:
            out.append((change, "failed", str(exc)))
            break
        out.append((change, "ok", ""))
    return out


def _execute(
    change: Change, target: Target, journal: Journal, ids: dict[Address, int], refs: dict[str, int]
) -> None:
    if isinstance(change, Create):
        written = target.create(change, refs)
        entry = Entry(
            kind=change.kind,
            target_id=written.target_id,
            attributes=change.after,
            refs=change.refs,
            source=change.source,
            period=change.period,
        )
    elif isinstance(change, Update):
        target.update(change, refs)
        previous = journal.resources.get(change.address)
        base = previous.attributes if previous else {}
        entry = Entry(
            kind=change.kind,
            target_id=change.target_id,
            attributes={**base, **change.after},
            refs=previous.refs if previous else {},
            source=previous.source if previous else {},
            period=previous.period if previous else None,
        )
    elif isinstance(change, Adopt):
        if change.stamp_marker:  # write the identity marker so a lost snapshot still finds it (D24)
            target.update(
                Update(change.address, change.kind, change.target_id, before={}, after={}, refs=change.refs),
                refs,
            )
        target_id: int | None
        read_id: int | None
        if change.carried_by:  # set by the earlier month's write: recorded under that object's id
            target_id, read_id = ids[change.carried_by], None
        else:
            target_id, read_id = found_ids(target.kinds().get(change.kind), change.target_id)
        entry = Entry(
            kind=change.kind,
            target_id=target_id,
            attributes=change.attributes,
            refs=change.refs,
            source=change.source,
            period=change.period,
            read_id=read_id,
        )
    else:  # Drift and Orphan never reach here (filtered by _phases)
        return
    if entry.target_id is not None:
        ids[change.address] = entry.target_id
    journal.record(change.address, entry)
