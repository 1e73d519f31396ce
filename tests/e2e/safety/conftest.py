"""Fixtures for the safety tests: the Autotask sandbox served on loopback, workspaces pointing at it,
and the ``billsync`` command run as a real process (or in process, where speed matters).

The 20-write bundle is the 2026-10-07 example export cut down to five CSP 365 subscriptions with five
different products: its plan (as of 2026-10-07) creates 5 services, 5 contracts, 5 contract services
and 5 service adjustments, in that order of phases, so write number N of an apply is known exactly.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.snapshot import SnapshotStore
from providers.autotask.kinds import KINDS
from providers.autotask.sandbox import (
    BackgroundServer,
    SandboxConfig,
    SandboxCredentials,
    SandboxStats,
    make_app,
    start_background_server,
)
from providers.cloudmore.source import example_bundle_dir
from rules import default_rules_dir

from .._support import read_state

AS_OF = "2026-10-07"
"""The date every test plans at: the September 2026 report of the example export is due."""
SUBSCRIPTIONS = tuple(f"6f1c2d3e-0a1b-4c5d-8e9f-00000000000{i}" for i in range(1, 6))
"""The five CSP 365 subscriptions of the 20-write bundle (five different products)."""
PHASES = (
    ("service", "Services"),
    ("contract", "Contracts"),
    ("contract_service", "ContractServices"),
    ("adjustment", "ContractServiceAdjustments"),
)
"""Apply phases of the 20-write plan: the kind, and the Autotask endpoint its creates go to."""
WRITES = 20
MANAGED_TABLES = (
    "Services",
    "Products",
    "Contracts",
    "ContractServices",
    "ContractServiceAdjustments",
    "ContractCharges",
)
"""Entities billsync writes; the demo tenant seeds none of them, so every row is billsync's."""


def _not_lease(table: str) -> str:
    """The SQL condition leaving out the writer leases (Products whose SKU starts ``billsync-lease``)."""
    return " WHERE sku IS NULL OR sku NOT LIKE 'billsync-lease%'" if table == "Products" else ""


_VOLATILE = {
    "id",
    "lastModifiedDateTime",
    "lastModifiedDate",
    "createDate",
    "createdTime",
    "lastActivityDate",
}
_DEFAULT_CREDENTIALS = SandboxCredentials()


# ---- the sandbox ----------------------------------------------------------------------------------


class Gate:
    """How the sandbox's injected delays wait: until released (the request then runs), until aborted
    (the request is then lost without running, as when its client died before sending it), or until
    the fault's delay runs out."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._state = "hold"
        self.waiting = 0

    def __call__(self, seconds: float) -> None:
        with self._cond:
            self.waiting += 1
            try:
                self._cond.wait_for(lambda: self._state != "hold", timeout=seconds)
                aborted = self._state == "abort"
            finally:
                self.waiting -= 1
                self._cond.notify_all()
        if aborted:
            raise ConnectionAbortedError("the client is gone; the held request is dropped unexecuted")

    def release(self) -> None:
        self._set("release")

    def abort(self) -> None:
        self._set("abort")

    def hold(self) -> None:
        """Back to holding, once no request waits any more."""
        with self._cond:
            self._cond.wait_for(lambda: self.waiting == 0, timeout=30)
            self._state = "hold"

    def _set(self, state: str) -> None:
        with self._cond:
            self._state = state
            self._cond.notify_all()


@dataclass
class Sandbox:
    """A sandbox served on a loopback port, with its control API and a view of what it holds."""

    server: BackgroundServer
    gate: Gate
    credentials: SandboxCredentials

    @property
    def app(self) -> Any:
        return self.server.app

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def stats(self) -> SandboxStats:
        return self.app.stats()

    def edit(self, entity: str, object_id: int, **changes: Any) -> None:
        """Change an object by hand, as a user would in Autotask (through the REST API; a counted write)."""
        with httpx.Client(
            base_url=self.base_url, headers=self.credentials.headers(), trust_env=False
        ) as http:
            response = http.patch(entity, json={"id": object_id, **changes})
            assert response.status_code == 200, response.text

    def row(self, table: str, **match: Any) -> dict[str, Any]:
        """The one row of ``table`` whose fields (or ``udfs``) equal ``match``."""
        found = [
            r for r in self.rows(table) if all(r.get(k, r["udfs"].get(k)) == v for k, v in match.items())
        ]
        assert len(found) == 1, (table, match, found)
        return found[0]

    def writes(self) -> int:
        """Create and update requests received (every attempt counts)."""
        return sum(
            e.requests.get("create", 0) + e.requests.get("update", 0) for e in self.stats().endpoints.values()
        )

    def in_flight(self) -> int:
        return sum(e.in_flight for e in self.stats().endpoints.values())

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every stored row of ``table`` with its user-defined fields, straight from the database; the
        writer leases (inactive Products, D26) are coordination, not billing, and are left out."""
        store = self.app.store
        with store.transaction():
            cursor = store.connection.execute(f'SELECT * FROM "{table}"{_not_lease(table)} ORDER BY id')
            names = [c[0] for c in cursor.description]
            rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
            for row in rows:
                udfs = store.connection.execute(
                    "SELECT name, value FROM udf_values WHERE entity = ? AND object_id = ? ORDER BY name",
                    (table, row["id"]),
                ).fetchall()
                row["udfs"] = dict(udfs)
        return rows

    def created(self) -> int:
        """How many objects billsync has created in the tenant so far."""
        store = self.app.store
        with store.transaction():
            return sum(
                store.connection.execute(f'SELECT COUNT(*) FROM "{t}"{_not_lease(t)}').fetchone()[0]
                for t in MANAGED_TABLES
            )

    def objects(self) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
        """The managed objects in a form independent of ids and timestamps, references resolved to
        their targets' identities; a duplicate shows as a repeated entry, a missing one as an absent one."""
        contracts = {r["id"]: r["udfs"].get("Subscription ID") for r in self.rows("Contracts")}
        services = {r["id"]: r["sku"] for r in self.rows("Services")}
        products = {r["id"]: r["sku"] for r in self.rows("Products")}
        contract_services = {
            r["id"]: (contracts.get(r["contractID"]), services.get(r["serviceID"]))
            for r in self.rows("ContractServices")
        }
        resolve: dict[str, dict[Any, Any]] = {
            "contractID": contracts,
            "serviceID": services,
            "productID": products,
            "contractServiceID": contract_services,
        }
        out: dict[str, list[tuple[tuple[str, Any], ...]]] = {}
        for table in MANAGED_TABLES:
            canonical = []
            for row in self.rows(table):
                items = {
                    k: (resolve[k].get(v, f"<unknown {v}>") if k in resolve and v is not None else v)
                    for k, v in row.items()
                    if k not in _VOLATILE
                }
                canonical.append(tuple(sorted((k, repr(v)) for k, v in items.items())))
            out[table] = sorted(canonical)
        return out

    def identities(self) -> set[str]:
        """The address each managed object's identity marker (or parent) names."""
        found: set[str] = set()
        for row in self.rows("Services"):
            found.add(f'service["{row["sku"].removeprefix("billsync:")}"]')
        for row in self.rows("Contracts"):
            found.add(f'contract["{row["udfs"]["Subscription ID"]}"]')
        subscription = {r["id"]: r["udfs"]["Subscription ID"] for r in self.rows("Contracts")}
        for row in self.rows("ContractServices"):
            found.add(f'contract_service["{subscription[row["contractID"]]}"]')
        for row in self.rows("ContractServiceAdjustments"):
            month = str(row["effectiveDate"])[:7]
            found.add(f'adjustment["{subscription[row["contractID"]]}"]["{month}"]')
        return found

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting until {what}")
            time.sleep(0.01)

    def settle(self) -> None:
        """Drop any held request unexecuted, wait for the server to go idle, and clear the faults."""
        self.gate.abort()
        self.wait_until(lambda: self.in_flight() == 0, "no request is in flight")
        self.gate.hold()
        self.app.clear_faults()


SandboxFactory = Callable[..., Sandbox]


def _ticking_clock() -> Callable[[], datetime]:
    """A sandbox wall clock one second further on each reading, so every write has its own
    ``lastModifiedDateTime`` (Autotask keeps seconds) and runs are reproducible."""
    ticks = itertools.count()
    lock = threading.Lock()

    def now() -> datetime:
        with lock:
            return datetime(2026, 10, 7, 6, 0, 0) + timedelta(seconds=next(ticks))

    return now


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Start sandboxes on loopback ports (fresh in-memory tenants); all are stopped afterwards."""
    servers: list[Sandbox] = []

    def start(credentials: SandboxCredentials = _DEFAULT_CREDENTIALS, **config: Any) -> Sandbox:
        gate = Gate()
        config.setdefault("clock", _ticking_clock())
        app = make_app(":memory:", SandboxConfig(credentials=credentials, sleep=gate, **config))
        sandbox = Sandbox(start_background_server(app), gate, credentials)
        servers.append(sandbox)
        return sandbox

    yield start
    for sandbox in servers:
        sandbox.gate.abort()
        sandbox.server.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return sandbox_factory()


# ---- the Cloudmore bundles ------------------------------------------------------------------------


def _trim(path: Path, keep: set[str]) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    kept = [rows[0]] + [r for r in rows[1:] if any(cell in keep for cell in r)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture(scope="session")
def bundle20(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Cloudmore export whose plan as of 2026-10-07 is exactly 20 creates (see the module docstring)."""
    folder = tmp_path_factory.mktemp("bundles") / "bundle20"
    shutil.copytree(example_bundle_dir("2026-10-07"), folder)
    _trim(folder / "subscriptions.csv", set(SUBSCRIPTIONS))
    _trim(folder / "billing" / "2026-09.csv", set(SUBSCRIPTIONS))
    return folder


# ---- workspaces and the command line --------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def _billsync_command() -> list[str]:
    script = Path(sys.executable).with_name("billsync")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from engine.cli import main; main()"]


def _env(sandbox: Sandbox, secret: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith(("AUTOTASK_", "PYTEST_", "COV_"))
    }
    env.update(
        AUTOTASK_USERNAME=sandbox.credentials.username,
        AUTOTASK_SECRET=sandbox.credentials.secret if secret is None else secret,
        AUTOTASK_INTEGRATION_CODE=sandbox.credentials.integration_code,
        NO_PROXY="127.0.0.1,localhost",
        COLUMNS="200",
        TERM="dumb",
    )
    return env


@dataclass
class Workspace:
    """A billsync workspace on disk whose ``billsync.yaml`` points at a served sandbox."""

    root: Path
    sandbox: Sandbox
    env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    """Processes started with :meth:`start`; any still running at the end of the test is killed."""

    @property
    def state(self) -> Path:
        return self.root / "state"

    def run(self, *args: str, timeout: float = 120) -> Result:
        """Run ``billsync -w ROOT ARGS`` as a process and wait for it."""
        done = subprocess.run(
            [*_billsync_command(), "-w", str(self.root), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``billsync -w ROOT ARGS`` as a process without waiting (to kill it, or race it)."""
        process = subprocess.Popen(
            [*_billsync_command(), "-w", str(self.root), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        self.processes.append(process)
        return process

    def invoke(self, *args: str) -> Result:
        """Run the same command line in this process (the real entry point, for fast property tests)."""
        from engine.cli import main

        out, err = io.StringIO(), io.StringIO()
        argv = ["billsync", "-w", str(self.root), *args]
        saved_argv, saved_env = sys.argv, dict(os.environ)
        code: Any = 0
        try:
            sys.argv = argv
            os.environ.clear()
            os.environ.update(self.env)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                except SystemExit as exc:
                    code = exc.code
        finally:
            sys.argv = saved_argv
            os.environ.clear()
            os.environ.update(saved_env)
        return Result(code if isinstance(code, int) else 1, out.getvalue(), err.getvalue())

    def recorded(self) -> int:
        """How many objects the snapshot records, with the journal of a running apply replayed."""
        return len(SnapshotStore(self.state, KINDS).load().resources)

    def snapshot(self) -> dict[str, Any]:
        return read_state(self.state)

    def files(self) -> list[Path]:
        """Every file under the workspace folder."""
        return sorted(p for p in self.root.rglob("*") if p.is_file())


def make_workspace(
    root: Path,
    sandbox: Sandbox,
    bundle: Path,
    *,
    rules: bool = False,
    secret: str | None = None,
    url: str | None = None,
) -> Workspace:
    """Write a workspace in ``root``: ``billsync.yaml`` naming the sandbox's URL (or ``url``), a copy of
    ``bundle``, and with ``rules=True`` an editable copy of the shipped rules and settings."""
    root.mkdir(parents=True)
    shutil.copytree(bundle, root / "cloudmore")
    lines = [f"autotask: {{url: {json.dumps(url or sandbox.base_url)}}}", "cloudmore: {bundle: ./cloudmore}"]
    if rules:
        shutil.copytree(default_rules_dir(), root / "rules", ignore=shutil.ignore_patterns("*.py", "__*"))
        lines += ["rules: ./rules", "settings: ./rules/settings.yaml"]
    (root / "billsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Workspace(root, sandbox, _env(sandbox, secret))


WorkspaceFactory = Callable[..., Workspace]


@pytest.fixture
def workspace_factory(tmp_path: Path, bundle20: Path) -> Iterator[WorkspaceFactory]:
    """Make workspaces over a sandbox (default bundle: the 20-write one); see :func:`make_workspace`."""
    made: list[Workspace] = []

    def make(sandbox: Sandbox, *, bundle: Path | None = None, **options: Any) -> Workspace:
        workspace = make_workspace(tmp_path / f"ws{len(made) + 1}", sandbox, bundle or bundle20, **options)
        made.append(workspace)
        return workspace

    yield make
    for workspace in made:
        for process in workspace.processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=30)


@pytest.fixture
def workspace(sandbox: Sandbox, workspace_factory: WorkspaceFactory) -> Workspace:
    return workspace_factory(sandbox)


@dataclass(frozen=True)
class CleanApply:
    """What one uninterrupted apply of the 20-write bundle leaves: the reference every crash test meets."""

    plan: dict[str, Any]
    addresses: frozenset[str]
    objects: dict[str, list[tuple[tuple[str, Any], ...]]]
    creates: dict[str, int]


@pytest.fixture(scope="session")
def clean_apply(tmp_path_factory: pytest.TempPathFactory, bundle20: Path) -> Iterator[CleanApply]:
    """Plan and apply the 20-write bundle once on a fresh sandbox, without faults."""
    gate = Gate()
    sandbox = Sandbox(
        start_background_server(make_app(":memory:", SandboxConfig(sleep=gate))), gate, _DEFAULT_CREDENTIALS
    )
    try:
        ws = make_workspace(tmp_path_factory.mktemp("clean") / "ws", sandbox, bundle20)
        planned = ws.run("plan", "--as-of", AS_OF, "--json")
        assert planned.code == 0, planned
        plan = json.loads(planned.stdout)
        sandbox.app.reset_stats()
        applied = ws.run("apply", "--as-of", AS_OF, "--auto-approve")
        assert applied.code == 0, applied
        creates = {name: e.requests.get("create", 0) for name, e in sandbox.stats().endpoints.items()}
        yield CleanApply(
            plan=plan,
            addresses=frozenset(c["address"] for c in plan["changes"]),
            objects=sandbox.objects(),
            creates={k: v for k, v in creates.items() if v},
        )
    finally:
        sandbox.server.stop()
