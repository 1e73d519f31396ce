"""Seeding what an apply creates, without HTTP and without the apply's journal, for the largest sizes.

The benchmark measures an apply over HTTP up to 10,000 subscriptions. Above that it only needs the
tenant and the snapshot an apply would leave, to measure the plan that follows. So each change of
the first plan is created exactly as billsync creates it (:meth:`AutotaskTarget.create`: the same
bodies, markers and parent contracts, encoded as the client encodes them) and handed to the
sandbox's own create (:func:`create_object`: its checks, references and business rules), one after
the other inside a single database transaction, and the snapshot gets the entries ``billsync
apply`` records for created objects. Only HTTP (the client's and the sandbox's request handling,
about three quarters of the time per write), the journal's fsync per write and a commit per write
are skipped.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

from engine.plan import Adopt, Create, plan_from_json
from engine.snapshot import Entry, Snapshot, SnapshotStore
from engine.types import Address
from engine.workspace import open_workspace
from providers._shared.wire import loads
from providers.autotask import AutotaskTarget
from providers.autotask.bodies import encode_body
from providers.autotask.client import AutotaskClient
from providers.autotask.entities import ENTITIES
from providers.autotask.sandbox import SandboxConfig, SandboxStore, make_app
from providers.autotask.sandbox._writes import create_object

from ._server import BENCH_HOURLY_LIMIT, without_fsync


class _StoreWriter:
    """What :meth:`AutotaskTarget.create` needs of a client (``create``), writing straight to the
    sandbox's store: the body goes through the client's JSON encoding and the sandbox's create."""

    def __init__(self, store: SandboxStore, config: SandboxConfig) -> None:
        self.store = store
        self.config = config

    def create(self, entity: str, body: dict[str, Any], *, parent_id: int | None = None) -> int:
        wire = loads(encode_body(body))
        view = self.store.tenant.entity(ENTITIES[entity])
        return create_object(self.store, view, wire, now=self.config.clock(), parent_id=parent_id)

    def close(self) -> None:
        """Nothing to close: the store is the caller's."""


def seed_applied(root: Path, db: Path, plan_file: Path) -> int:
    """Create every change of ``plan_file`` (a first plan: creates, and months carried by an earlier
    month's create) in the sandbox ``db`` and write the snapshot an apply would have written (a
    carried month recorded under its carrier's id, as apply records it); return the number of
    objects created."""
    config = SandboxConfig(hourly_limit=BENCH_HOURLY_LIMIT)
    app = make_app(db, config)
    without_fsync(app)
    target = AutotaskTarget(cast(AutotaskClient, _StoreWriter(app.store, config)), "benchmark seeding")
    kinds = target.kinds()
    plan = plan_from_json(plan_file.read_text(encoding="utf-8"), kinds, str(plan_file))
    changes = [c for c in plan.changes if c.action in ("create", "update", "adopt")]
    carried = [c for c in changes if isinstance(c, Adopt) and c.carried_by]
    if not all(isinstance(c, Create) or c in carried for c in changes):
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
            for month in carried:
                assert month.carried_by is not None
                entries[month.address] = Entry(
                    kind=month.kind,
                    target_id=ids[month.carried_by],
                    attributes=month.attributes,
                    refs=month.refs,
                    source=month.source,
                    period=month.period,
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
    return len(ids)
