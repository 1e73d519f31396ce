"""Throttling: 429s and transient 5xx on reads are retried (with jittered backoff, a bounded number of
times); a write that may have run is never sent twice; ThresholdInformation is consulted before an
apply, which is refused up front when it would exceed the hourly budget, or paced with ``--budget pace``.

The sandbox's rolling-hour window runs on a clock the test moves, so a budget used up "an hour ago"
can be freed at a chosen moment without waiting.
"""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest

AS_OF = ("--as-of", "2026-10-07")
APPLY = ("apply", *AS_OF, "--auto-approve")


class _WindowClock:
    """The sandbox's monotonic clock for its request window: real time plus a jump the test makes."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def jump(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def _use_budget(sandbox, requests: int) -> None:
    """Spend ``requests`` of the sandbox's hourly budget (cheap reads), then zero the per-endpoint counters
    (the rolling window keeps them)."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=sandbox.app),
        base_url="http://sandbox/ATServicesRest/V1.0/",
        headers=sandbox.credentials.headers(),
    ) as http:
        for _ in range(requests):
            assert http.get("Companies/101").status_code == 200
    sandbox.app.reset_stats()


def test_429s_on_writes_are_retried_and_the_apply_completes(workspace, sandbox, clean_apply) -> None:
    sandbox.app.inject_fault(endpoint="Contracts", verb="create", nth=2, times=2, status=429)
    applied = workspace.invoke(*APPLY)
    assert applied.code == 0, applied
    assert "Apply complete: 20 written, 0 adopted, 0 failed, 0 skipped" in applied.stdout
    assert sandbox.stats().count("Contracts", "create") == 5 + 2
    assert sandbox.objects() == clean_apply.objects


@pytest.mark.slow  # waits out the real retry back-off
def test_a_transient_5xx_on_a_read_is_retried(workspace, sandbox) -> None:
    sandbox.app.inject_fault(endpoint="Contracts", verb="query", nth=1, times=2, status=503)
    planned = workspace.invoke("plan", *AS_OF, "--detailed-exitcode")
    assert planned.code == 2, planned
    assert "Plan: 20 to add, 0 to change, 0 to adopt, 0 to destroy." in planned.stdout
    assert sandbox.stats().count("Contracts", "query") == 1 + 2


def test_a_5xx_on_a_write_is_not_sent_again_and_a_rerun_completes(workspace, sandbox, clean_apply) -> None:
    sandbox.app.inject_fault(endpoint="ContractServices", verb="create", nth=1, status=503, message="Busy.")
    first = workspace.invoke(*APPLY)
    assert first.code == 1, first
    assert re.search(
        r"^Error: contract_service\[.+\]: Autotask answered POST /ATServicesRest/V1\.0/Contracts/\d+/Services with "
        r"HTTP 503: Busy\. It may or may not have executed the write, so billsync did not send it again\.$",
        first.stderr,
        re.M,
    ), first
    assert "Apply complete: 18 written, 0 adopted, 1 failed, 1 skipped" in first.stdout
    assert sandbox.stats().count("ContractServices", "create") == 5  # the failed one was sent once
    rerun = workspace.invoke(*APPLY)
    assert rerun.code == 0, rerun
    assert sandbox.objects() == clean_apply.objects


def test_an_apply_beyond_the_hourly_budget_is_refused_up_front(sandbox_factory, workspace_factory) -> None:
    sandbox = sandbox_factory(hourly_limit=100)
    workspace = workspace_factory(sandbox)
    _use_budget(sandbox, 75)
    refused = workspace.invoke(*APPLY)
    assert refused.code == 1, refused
    used = (
        sandbox.stats().hourly_request_count
    )  # the 75 above and the apply's reads: what ThresholdInformation said
    assert used > 75 and 100 - used < 20
    assert refused.stderr == (
        f"Error: the apply needs 20 write requests but only {100 - used} of the target's 100 requests per "
        "hour are left\nRun it later, apply part of it with --target, or pace it with --budget pace.\n"
    )
    assert sandbox.writes() == 0
    assert not (workspace.state / "state.json").exists()


@pytest.mark.slow  # a real process, paced
def test_budget_pace_spreads_the_writes_and_completes(
    sandbox_factory, workspace_factory, clean_apply
) -> None:
    window = _WindowClock()
    sandbox = sandbox_factory(hourly_limit=1200, window_seconds=60.0, monotonic=window)
    workspace = workspace_factory(sandbox)
    _use_budget(sandbox, 1180)  # leaves room for the plan's reads (metadata included), not for the writes
    # hold the first write until the requests spent above have left the window (as an hour passing would)
    sandbox.app.inject_fault(endpoint="Services", verb="create", nth=1, delay=60)
    process = workspace.start(*APPLY, "--budget", "pace")
    try:
        sandbox.wait_until(
            lambda: sandbox.stats().count("Services", "create") == 1, "the first write is in flight"
        )
        window.jump(61)
    finally:
        sandbox.gate.release()
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, (out, err)
    # ThresholdInformation: 1200 a minute, so pacing allows one write every 60 / (1200 / 2) s
    assert "Pacing 20 writes at one every 0.10 s to stay within the hourly budget." in out
    assert "Apply complete: 20 written, 0 adopted, 0 failed, 0 skipped" in out
    assert sandbox.stats().hourly_limit_rejections == 0
    assert sandbox.objects() == clean_apply.objects
