"""Seeding what an apply creates, without HTTP and without the apply's journal, for the largest sizes.

The benchmark measures an apply over HTTP up to 10,000 subscriptions. Above that it only needs the
tenant and the snapshot an apply would leave, to measure the plan that follows. So each change of
the first plan is created exactly as billsync creates it (:meth:`AutotaskTarget.create`: the same
bodies, markers and parent contracts) through the sandbox app mounted in process, one after the
other inside a single database transaction, and the snapshot gets the entries ``billsync apply``
records for created objects. The sandbox's business rules all run; only the network, the journal's
fsync per write and a commit per write are skipped.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from engine.plan import Create, plan_from_json
from engine.snapshot import Entry, Snapshot, SnapshotStore
from engine.types import Address
from engine.workspace import open_workspace
from providers.autotask import AutotaskTarget
from providers.autotask.client import AutotaskClient
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig
from providers.autotask.sandbox import SandboxConfig, make_app

from ._server import BENCH_HOURLY_LIMIT, without_fsync

_BASE_URL = "http://bench.billsync.local/ATServicesRest/V1.0/"


def seed_applied(root: Path, db: Path, plan_file: Path) -> int:
    """Create every change of ``plan_file`` (a first plan: creates only) in the sandbox ``db`` and
    write the snapshot an apply would have written; return the number of objects created."""
    app = make_app(db, SandboxConfig(hourly_limit=BENCH_HOURLY_LIMIT))
    without_fsync(app)
    client = AutotaskClient(
        SANDBOX_CREDENTIALS, ClientConfig(base_url=_BASE_URL), transport=httpx.WSGITransport(app=app)
    )
    target = AutotaskTarget(client, "benchmark seeding")
    kinds = target.kinds()
    plan = plan_from_json(plan_file.read_text(encoding="utf-8"), kinds, str(plan_file))
    changes = [c for c in plan.changes if c.action in ("create", "update", "adopt")]
    if not all(isinstance(c, Create) for c in changes):
        raise ValueError(f"{plan_file}: seeding takes a first plan, whose changes are all creates")
    ordered = sorted(
        (c for c in changes if isinstance(c, Create)),
        key=lambda c: (kinds[c.kind].order, (c.period or "") if kinds[c.kind].period_scoped else ""),
    )
    ids: dict[Address, int] = {}
    entries: dict[Address, Entry] = {}
    try:
        with app.store.transaction():
            for change in ordered:
                refs = {name: ids[address] for name, address in change.refs.items()}
                target_id = target.create(change, refs).target_id
                ids[change.address] = target_id
                entries[change.address] = Entry(
                    kind=change.kind,
                    target_id=target_id,
                    attributes=change.after,
                    refs=change.refs,
                    source=change.source,
                    period=change.period,
                )
    finally:
        target.close()
        app.store.close()
    store = SnapshotStore(open_workspace(root).state_dir, kinds)
    store.write(
        Snapshot(
            lineage=str(uuid.uuid4()),
            serial=1,
            resources=entries,
            applied_periods={p.period: p.available_on for p in plan.periods},
        )
    )
    return len(entries)
