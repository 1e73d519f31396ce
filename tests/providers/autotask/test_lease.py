"""The tenant's writer lease (D26) against the sandbox served on a loopback port: two clients stand
for two copies of a workspace; the lowest live lease id holds, a later one stops naming the holder,
an expired one is ignored and ended, and each acquire costs exactly the requests the README states."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from engine.errors import WriterBusyError
from engine.provider import WriterClaim
from providers.autotask.client import AutotaskClient, F
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig
from providers.autotask.lease import ENDED_SKU, LEASE_SKU, TenantLease, hold_lease, read_leases
from providers.autotask.sandbox import BackgroundServer, start_background_server

BILLING_CODE = 2002
"""The demo tenant's material billing code (a Product's ``productBillingCodeID``, A9.7)."""
FIRST = WriterClaim(who="ana@laptop", pid=101, workspace="/home/ana/billing", operation="apply")
HEADERS = {
    "UserName": "sandbox@billsync.local",
    "Secret": "sandbox-secret",
    "ApiIntegrationCode": "BILLSYNC-SANDBOX",
}
SECOND = WriterClaim(who="cron@server", pid=202, workspace="/srv/billing", operation="run")


@pytest.fixture
def server() -> Iterator[BackgroundServer]:
    served = start_background_server(port=0)
    yield served
    served.stop()


def _client(server: BackgroundServer) -> AutotaskClient:
    return AutotaskClient(SANDBOX_CREDENTIALS, ClientConfig(base_url=server.base_url))


def _products(server: BackgroundServer) -> list[dict[str, Any]]:
    with _client(server) as client:
        return client.query("Products", [F.begins_with("sku", LEASE_SKU)])


def _stats(server: BackgroundServer) -> dict[str, dict[str, int]]:
    answer = httpx.get(server.url + "/_sandbox/stats", headers=HEADERS).json()
    return {name: dict(e["requests"]) for name, e in answer["endpoints"].items() if e["requests"]}


def test_d26_a_second_writer_stops_naming_the_holder_and_ends_its_own_lease(server: BackgroundServer) -> None:
    with _client(server) as first, _client(server) as second:
        with hold_lease(first, FIRST, BILLING_CODE, 600) as held:
            holder_id = held.product_id
            with pytest.raises(WriterBusyError) as refused, hold_lease(second, SECOND, BILLING_CODE, 600):
                pytest.fail("the second writer must not hold the lease")
            message = refused.value.message
            assert message.startswith(
                "another apply is writing to this Autotask tenant: apply by ana@laptop (pid 101) in "
                f"/home/ana/billing (lease: Autotask Product id {holder_id}, until "
            )
            assert message.endswith("UTC); this one stopped before writing anything")
            held.check()  # the holder is unaffected
            live = read_leases(first)
            assert [r.product_id for r in live] == [holder_id]
        assert read_leases(first) == []
        with hold_lease(second, SECOND, BILLING_CODE, 600) as later:  # free again once released
            assert later.product_id is not None and later.product_id > (holder_id or 0)
    products = _products(server)
    assert [(p["sku"], p["isActive"], p["name"]) for p in products] == [
        (ENDED_SKU, False, "billsync writer lease (ended)")
    ] * 3
    assert json.loads(products[1]["description"])["holder"] == (
        "run by cron@server (pid 202) in /srv/billing"
    )


def test_d26_an_expired_lease_of_a_crashed_apply_is_ignored_and_ended(server: BackgroundServer) -> None:
    long_ago = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    with _client(server) as crashed, _client(server) as later:
        stale = TenantLease(crashed, FIRST, BILLING_CODE, 60, clock=lambda: long_ago)
        stale.acquire()  # then the process dies: no release, no renewal
        stale_id = stale.product_id
        assert [(r.product_id, r.expires) for r in read_leases(later)] == [
            (stale_id, long_ago + timedelta(seconds=60))
        ]
        with hold_lease(later, SECOND, BILLING_CODE, 600) as held:
            assert [r.product_id for r in read_leases(later)] == [held.product_id]
        by_id = {p["id"]: p["sku"] for p in _products(server)}
        assert by_id[stale_id] == ENDED_SKU


def test_d26_a_lease_whose_process_is_gone_from_this_machine_is_taken_over_at_once(
    server: BackgroundServer,
) -> None:
    finished = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert finished.returncode == 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # reaped: its pid names no process now
    here = socket.gethostname()
    crashed_claim = WriterClaim(who=f"ana@{here}", pid=gone.pid, workspace="/srv/a", operation="apply")
    alive_claim = WriterClaim(who=f"ana@{here}", pid=os.getpid(), workspace="/srv/b", operation="apply")
    with _client(server) as client:
        crashed = TenantLease(client, crashed_claim, BILLING_CODE, 600)
        crashed.acquire()  # never released, far from expiring
        with hold_lease(client, SECOND, BILLING_CODE, 600) as held:
            assert [r.product_id for r in read_leases(client)] == [held.product_id]
        alive = TenantLease(client, alive_claim, BILLING_CODE, 600)
        alive.acquire()  # this process is alive: its lease blocks
        busy = pytest.raises(WriterBusyError, match=rf"apply by ana@{here} \(pid {os.getpid()}\)")
        with busy, hold_lease(client, SECOND, BILLING_CODE, 600):
            pytest.fail("a live holder's lease must not be taken over")
    assert {p["id"]: p["sku"] for p in _products(server)}[crashed.product_id] == ENDED_SKU


def test_d26_a_lease_not_yet_expired_still_blocks_after_its_holder_crashed(server: BackgroundServer) -> None:
    with _client(server) as crashed, _client(server) as later:
        TenantLease(crashed, FIRST, BILLING_CODE, 600).acquire()  # never released
        busy = pytest.raises(WriterBusyError, match=r"apply by ana@laptop \(pid 101\)")
        with busy, hold_lease(later, SECOND, BILLING_CODE, 600):
            pytest.fail("the second writer must not hold the lease")


def test_d26_a_hand_edited_lease_counts_as_live(server: BackgroundServer) -> None:
    """An unreadable lease could be a running apply's: the stricter choice is to stop."""
    with _client(server) as client:
        edited = TenantLease(client, FIRST, BILLING_CODE, 600)
        edited.acquire()
        client.update("Products", {"id": edited.product_id, "description": "my notes"})
        busy = pytest.raises(WriterBusyError, match="an apply whose lease cannot be read .*expiry unreadable")
        with busy, hold_lease(client, SECOND, BILLING_CODE, 600):
            pytest.fail("the second writer must not hold the lease")


def test_d26_a_holder_whose_lease_expired_unrenewed_stops_before_its_next_writes(
    server: BackgroundServer,
) -> None:
    now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
    with (
        _client(server) as client,
        pytest.raises(
            WriterBusyError, match="lost the tenant's writer lease .*expired at 2026-11-27 12:10:00"
        ),
        hold_lease(client, FIRST, BILLING_CODE, 600, clock=lambda: now[0]) as held,
    ):
        held.check()
        now[0] += timedelta(seconds=600)
        held.check()


@pytest.mark.slow  # waits for a real renewal
def test_d26_a_held_lease_is_renewed_while_the_apply_runs(server: BackgroundServer) -> None:
    with _client(server) as client, hold_lease(client, FIRST, BILLING_CODE, 6) as held:
        first_expiry = read_leases(client)[0].expires
        deadline = time.monotonic() + 30
        while read_leases(client)[0].expires == first_expiry and time.monotonic() < deadline:
            time.sleep(0.5)
        renewed = read_leases(client)[0]
        assert renewed.product_id == held.product_id
        assert renewed.expires is not None and first_expiry is not None and renewed.expires > first_expiry
        held.check()


def test_d26_one_lease_costs_one_create_one_query_and_one_update(server: BackgroundServer) -> None:
    with _client(server) as client:
        httpx.post(server.url + "/_sandbox/stats/reset", headers=HEADERS)
        with hold_lease(client, FIRST, BILLING_CODE, 600):
            assert _stats(server) == {"Products": {"create": 1, "query": 1}}
        assert _stats(server) == {"Products": {"create": 1, "query": 1, "update": 1}}


def test_d26_a_long_workspace_path_still_fits_the_lease(server: BackgroundServer) -> None:
    """``description`` holds 2,000 characters (A9.7): a long, non-ASCII folder name is cut, not refused."""
    claim = WriterClaim(who="ana@laptop", pid=101, workspace="/höme/" + "ü" * 3000, operation="apply")
    with _client(server) as client, hold_lease(client, claim, BILLING_CODE, 600) as held:
        (row,) = client.query("Products", [F.eq("id", held.product_id)], include_fields=["description"])
        assert len(row["description"]) <= 2000
        assert json.loads(row["description"])["workspace"] == ("/höme/" + "ü" * 3000)[:600]
