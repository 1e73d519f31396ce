"""Seeding what an apply creates, without HTTP: billsync's own apply against the sandbox in process.

For the largest sizes the benchmark does not send every write over the loopback: it runs
:func:`engine.apply.apply_plan` (what ``billsync apply PLANFILE`` runs) with the Autotask client
mounted on the sandbox app in process (``httpx.WSGITransport``), so the tenant and the snapshot end
up exactly as an apply leaves them, only faster and outside any measurement.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from engine.apply import apply_plan
from engine.plan import WRITES, plan_from_json
from engine.snapshot import SnapshotStore
from engine.workspace import open_workspace
from providers.autotask import AutotaskTarget
from providers.autotask.client import AutotaskClient
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig
from providers.autotask.sandbox import SandboxConfig, make_app

from ._server import BENCH_HOURLY_LIMIT, without_fsync

_BASE_URL = "http://bench.billsync.local/ATServicesRest/V1.0/"


def seed_applied(root: Path, db: Path, plan_file: Path) -> int:
    """Apply ``plan_file`` to the sandbox database ``db`` in process; return the writes made."""
    app = make_app(db, SandboxConfig(hourly_limit=BENCH_HOURLY_LIMIT))
    without_fsync(app)
    client = AutotaskClient(
        SANDBOX_CREDENTIALS, ClientConfig(base_url=_BASE_URL), transport=httpx.WSGITransport(app=app)
    )
    target = AutotaskTarget(client, "benchmark seeding")
    try:
        kinds = target.kinds()
        plan = plan_from_json(plan_file.read_text(encoding="utf-8"), kinds, str(plan_file))
        store = SnapshotStore(open_workspace(root).state_dir, kinds)
        result = apply_plan(plan, target, store, kinds)
    finally:
        target.close()
        app.store.close()
    if not result.ok:
        first = (result.failed or result.skipped)[0]
        raise RuntimeError(f"seeding failed at {first[0].address}: {first[1]}")
    return sum(1 for change in result.applied if change.action in WRITES)
