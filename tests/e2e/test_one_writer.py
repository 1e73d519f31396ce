"""One writer per tenant (D26), with real ``billsync`` processes: two copies of one workspace (two
folders, so the folder lock cannot help) apply the same billing to one served sandbox at once, and
no object is ever created twice; an apply that finds the tenant's lease taken exits 1 naming the
holder and writes nothing; the lease of an apply killed with SIGKILL expires and the next apply
completes its work."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.provider import WriterClaim
from providers.autotask.client import AutotaskClient, F
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig
from providers.autotask.lease import LEASE_SKU, LeaseRecord, hold_lease, read_leases
from providers.autotask.sandbox import BackgroundServer, SandboxApp, make_app, start_background_server

from ._support import AS_OF, SANDBOX_ENV, SANDBOX_HEADERS, SandboxApi, udf

BILLSYNC = Path(sys.executable).with_name("billsync")
LEASE_SECONDS = 5
"""The lease of the copies under test (billsync.yaml ``autotask.lease_seconds``; 600 by default)."""
KILLED_LEASE_SECONDS = 600
"""Far from expiring while the second copy meets it; the test then dates its expiry back, as the
holder's renewals stopping would have let it lapse, instead of waiting it out."""
HOLDER = "apply by someone@elsewhere (pid 4242) in /srv/other-copy"
BUSY = "Error: another apply is writing to this Autotask tenant: "
EXAMPLE_CREATES = 76
"""What the embedded example bills on an empty tenant (README)."""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[SandboxApp, BackgroundServer, SandboxApi]]:
    app = make_app(tmp_path / "sandbox.db")
    server = start_background_server(app=app, port=0)
    client = httpx.Client(headers=SANDBOX_HEADERS, timeout=60)
    yield app, server, SandboxApi(client, server.url)
    client.close()
    server.stop()
    app.store.close()


def _copy(root: Path, server: BackgroundServer, lease_seconds: int = LEASE_SECONDS) -> Path:
    """A copy of the workspace: its own folder and state/, the same tenant."""
    root.mkdir(parents=True)
    url = json.dumps(server.base_url.rstrip("/"))
    (root / "billsync.yaml").write_text(
        f"autotask: {{url: {url}, lease_seconds: {lease_seconds}}}\n", encoding="utf-8"
    )
    return root


def _start(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, **SANDBOX_ENV}
    return subprocess.Popen(
        [str(BILLSYNC), "--workspace", str(root), "apply", "--auto-approve", "--as-of", AS_OF, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _no_duplicates(api: SandboxApi) -> None:
    """Every billsync marker is carried by one object only."""
    contracts = api.contracts()  # asserts one contract per subscription
    for entity in ("Services", "Products"):
        skus = Counter(row["sku"] for row in api.query(entity, [_marked("sku")]))
        assert [s for s, n in skus.items() if n > 1] == [], entity
    charges = Counter(
        (row["contractID"], row["purchaseOrderNumber"])
        for row in api.query("ContractCharges", [_marked("purchaseOrderNumber")])
    )
    assert [s for s, n in charges.items() if n > 1] == []
    pairs = Counter((row["contractID"], row["serviceID"]) for row in api.query("ContractServices"))
    assert [p for p, n in pairs.items() if n > 1] == []
    assert all(udf(row, "Subscription ID") == key for key, row in contracts.items())


def _marked(field: str) -> dict[str, Any]:
    return {"op": "beginsWith", "field": field, "value": "billsync:"}


def _billsync_objects(api: SandboxApi) -> int:
    return (
        len(api.contracts())
        + api.count("Services", [_marked("sku")])
        + api.count("Products", [_marked("sku")])
        + api.count("ContractCharges", [_marked("purchaseOrderNumber")])
    )


def _plan_summary(root: Path) -> dict[str, int]:
    completed = subprocess.run(
        [str(BILLSYNC), "--workspace", str(root), "plan", "--as-of", AS_OF, "--json"],
        env={**os.environ, **SANDBOX_ENV},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    summary: dict[str, int] = json.loads(completed.stdout)["summary"]
    return summary


@pytest.mark.slow
def test_d26_two_copies_applying_at_once_never_create_an_object_twice(tmp_path: Path) -> None:
    """Three rounds, each on a fresh sandbox: both copies start together; whichever loses the lease
    exits 1 naming the holder (or, when it came second, finds the plan stale); nothing is doubled."""
    outcomes: list[tuple[int, int]] = []
    for round_ in range(3):
        app = make_app(tmp_path / f"sandbox-{round_}.db")
        server = start_background_server(app=app, port=0)
        client = httpx.Client(headers=SANDBOX_HEADERS, timeout=60)
        try:
            api = SandboxApi(client, server.url)
            copies = [_copy(tmp_path / f"round-{round_}" / name, server) for name in ("laptop", "server")]
            results = [_finish(p) for p in [_start(root) for root in copies]]
            codes = sorted(code for code, _out, _err in results)
            outcomes.append((codes[0], codes[1]))
            assert codes[0] == 0, results
            completed = [out for code, out, _err in results if code == 0]
            billed = [out for out in completed if _billed_everything(out.splitlines()[-1])]
            assert len(billed) == 1, results  # the other found nothing left to do if it came last
            for code, _out, err in results:
                if code != 0:
                    assert code == 1 and (
                        err.startswith(BUSY + "apply by ")
                        or "the plan: Autotask changed since the plan was made" in err
                    ), err
            _no_duplicates(api)
            assert read_leases(_at(server)) == []  # every lease ended
            for root in copies:  # each copy now agrees nothing is left to bill
                summary = _plan_summary(root)
                assert (summary["add"], summary["change"]) == (0, 0), summary
        finally:
            client.close()
            server.stop()
            app.store.close()
    assert len(outcomes) == 3


def _at(server: BackgroundServer) -> AutotaskClient:
    return AutotaskClient(SANDBOX_CREDENTIALS, ClientConfig(base_url=server.base_url))


@pytest.mark.slow
def test_d26_an_apply_finding_the_lease_taken_exits_1_naming_the_holder_and_writes_nothing(
    served: tuple[SandboxApp, BackgroundServer, SandboxApi], tmp_path: Path
) -> None:
    _app, server, api = served
    root = _copy(tmp_path / "copy", server)
    claim = WriterClaim(who="someone@elsewhere", pid=4242, workspace="/srv/other-copy", operation="apply")
    with _at(server) as client, hold_lease(client, claim, 2002, 600) as held:
        code, out, err = _finish(_start(root))
        assert code == 1
        assert err.startswith(BUSY + f"{HOLDER} (lease: Autotask Product id {held.product_id}, until "), err
        assert "this one stopped before writing anything" in err
        assert _billsync_objects(api) == 0
        assert not (root / "state" / "state.json").exists()
        assert [r.product_id for r in read_leases(client)] == [held.product_id]  # its own lease ended
    code, out, err = _finish(_start(root))  # released: the same command now completes
    assert code == 0, err
    assert _billed_everything(out.splitlines()[-1]), out


def _billed_everything(line: str) -> bool:
    """The apply's last line: every change of the example written or adopted, none failed."""
    found = re.fullmatch(
        r"Apply complete: (\d+) written, (\d+) adopted, 0 failed, 0 skipped\. Snapshot serial 1\.", line
    )
    return found is not None and int(found[1]) + int(found[2]) == EXAMPLE_CREATES


def _completes_the_rest(line: str) -> None:
    """What the killed holder created is found by its markers and adopted; the rest is written."""
    found = re.fullmatch(
        r"Apply complete: (\d+) written, (\d+) adopted, 0 failed, 0 skipped\. Snapshot serial 1\.", line
    )
    assert found is not None, line
    assert int(found[1]) + int(found[2]) == EXAMPLE_CREATES, line


def _killed_holder(app: SandboxApp, server: BackgroundServer, root: Path) -> tuple[int, LeaseRecord]:
    """Start an apply in ``root`` and kill it (SIGKILL) while it holds the lease: its re-read of the
    tenant under the lease (the second Contracts query) hangs, so it has written nothing else."""
    app.inject_fault(endpoint="Contracts", verb="query", nth=2, delay=20)
    holder = _start(root)
    with _at(server) as client:
        deadline = time.monotonic() + 60
        while not read_leases(client) and time.monotonic() < deadline:
            time.sleep(0.2)
        (lease,) = read_leases(client)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=60)
    app.clear_faults()
    return holder.pid, lease


@pytest.mark.slow
def test_d26_the_lease_of_an_apply_killed_on_another_machine_expires_then_the_next_apply_completes(
    served: tuple[SandboxApp, BackgroundServer, SandboxApi], tmp_path: Path
) -> None:
    """Another copy is refused, naming the killed holder, until its lease expires; then it bills
    everything once and ends the expired lease."""
    app, server, api = served
    first = _copy(tmp_path / "first", server, KILLED_LEASE_SECONDS)
    second = _copy(tmp_path / "second", server, KILLED_LEASE_SECONDS)
    pid, lease = _killed_holder(app, server, first)
    with _at(server) as client:  # as if the holder had run on another machine: its pid cannot be checked here
        (row,) = client.query("Products", [F.eq("id", lease.product_id)], include_fields=["description"])
        document = json.loads(row["description"])
        client.update(
            "Products",
            {"id": lease.product_id, "description": json.dumps({**document, "who": "cron@elsewhere"})},
        )
        written_by_the_holder = _billsync_objects(api)
        code, _out, err = _finish(_start(second))
        assert code == 1 and err.startswith(BUSY + "apply by "), err
        assert f"(pid {pid}) in {first}" in err
        assert _billsync_objects(api) == written_by_the_holder  # the refused apply wrote nothing
        (row,) = client.query("Products", [F.eq("id", lease.product_id)], include_fields=["description"])
        lapsed = datetime.now(UTC) - timedelta(seconds=1)  # no renewal came: the lease ran out
        document = {**json.loads(row["description"]), "expires": f"{lapsed:%Y-%m-%dT%H:%M:%SZ}"}
        client.update("Products", {"id": lease.product_id, "description": json.dumps(document)})
        assert not read_leases(client)[0].live(datetime.now(UTC))
        code, out, err = _finish(_start(second))
        assert code == 0, err
        _completes_the_rest(out.splitlines()[-1])
        _no_duplicates(api)
        assert read_leases(client) == []  # the expired lease was ended by the apply that took over


@pytest.mark.slow
def test_d26_the_lease_of_an_apply_killed_on_this_machine_is_taken_over_at_once(
    served: tuple[SandboxApp, BackgroundServer, SandboxApi], tmp_path: Path
) -> None:
    """Its holder's process is gone from this host, so its lease is not waited out: the next apply
    (from another copy) ends it and bills everything once."""
    app, server, api = served
    first = _copy(tmp_path / "first", server, 600)  # far from expiring: taken over, not waited out
    second = _copy(tmp_path / "second", server, 600)
    _pid, lease = _killed_holder(app, server, first)
    code, out, err = _finish(_start(second))
    assert code == 0, err
    _completes_the_rest(out.splitlines()[-1])
    _no_duplicates(api)
    with _at(server) as client:
        assert read_leases(client) == []
    leases = api.query("Products", [{"op": "beginsWith", "field": "sku", "value": LEASE_SKU}])
    assert {p["id"]: p["sku"] for p in leases}[lease.product_id] == "billsync-lease-ended"
