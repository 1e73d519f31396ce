"""Crash-safe apply: an apply interrupted at any write leaves a workspace that a re-run completes, with
every planned object in Autotask exactly once (identity markers, D24); a failed write is reported with
Autotask's message and the writes that succeeded are kept.

The 20-write plan runs its phases in order (5 services, 5 contracts, 5 contract services, 5
adjustments), so write number N (0-based) is creation number N % 5 on its phase's endpoint. To kill an
apply after exactly N writes, the sandbox holds every create from that one on (a delay fault); the
test waits until N objects exist, the snapshot journal records them and the next create is in flight, kills the process with SIGKILL,
and the held requests are then dropped unexecuted, as if the dead process had never sent them.
The killed apply is a real process; the re-runs go through the same entry point in this process,
which keeps the 45 scenarios fast.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal

import pytest

from .._support import LEASE_WRITES

AS_OF = "2026-10-07"
APPLY = ("apply", "--as-of", AS_OF, "--auto-approve")
PHASES = (
    ("service", "Services"),
    ("contract", "Contracts"),
    ("contract_service", "ContractServices"),
    ("adjustment", "ContractServiceAdjustments"),
)
WRITES = 20
SUMMARY = re.compile(r"Apply complete: (\d+) written, (\d+) adopted, (\d+) failed, (\d+) skipped")


def _position(n: int) -> tuple[str, str, int]:
    """Write number ``n`` (0-based): its kind, the endpoint it is sent to, and its place in its phase."""
    kind, endpoint = PHASES[n // 5]
    return kind, endpoint, n % 5


def _summary(text: str) -> tuple[int, int, int, int]:
    found = SUMMARY.search(text)
    assert found, text
    written, adopted, failed, skipped = (int(g) for g in found.groups())
    return written, adopted, failed, skipped


def _assert_complete(sandbox, workspace, clean_apply) -> None:
    """The sandbox holds exactly what the uninterrupted apply made; the snapshot knows each object."""
    assert sandbox.objects() == clean_apply.objects
    assert sandbox.identities() == clean_apply.addresses
    snapshot = workspace.snapshot()
    assert set(snapshot["resources"]) == clean_apply.addresses
    # every object's Autotask id (an adjustment adopted after a lost response is recorded under the id of
    # the ContractServiceUnits row it was read back from, so adjustments are left out of this comparison)
    ids = {
        row["id"]
        for table in clean_apply.objects
        if table != "ContractServiceAdjustments"
        for row in sandbox.rows(table)
    }
    recorded = {e["target_id"] for e in snapshot["resources"].values() if e["kind"] != "adjustment"}
    assert recorded == ids
    assert snapshot["applied_periods"] == {"2026-09": "2026-10-06"}


@pytest.mark.slow  # a real billsync process
def test_the_reference_apply_makes_exactly_the_twenty_planned_objects(clean_apply) -> None:
    assert clean_apply.plan["summary"]["add"] == WRITES
    assert [c["kind"] for c in clean_apply.plan["changes"]] == [k for k, _ in PHASES for _ in range(5)]
    # and the writer lease (D26), an inactive Product, created once and ended
    assert clean_apply.creates == {**{endpoint: 5 for _, endpoint in PHASES}, "Products": 1}
    assert {table: len(rows) for table, rows in clean_apply.objects.items()} == {
        "Services": 5,
        "Products": 0,
        "Contracts": 5,
        "ContractServices": 5,
        "ContractServiceAdjustments": 5,
        "ContractCharges": 0,
    }


@pytest.mark.slow  # a crash at every one of the twenty write positions
@pytest.mark.parametrize("n", range(WRITES))
def test_killed_after_n_writes_a_rerun_completes_without_duplicates(
    n: int, sandbox, workspace, clean_apply
) -> None:
    kind, endpoint, k = _position(n)
    sandbox.app.inject_fault(endpoint=endpoint, verb="create", nth=k + 1, times=5 - k, delay=60)
    process = workspace.start(*APPLY)
    try:

        def holding_write_n() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"apply ended before it was killed: {process.communicate()}")
            return (
                sandbox.created() == n
                and sandbox.stats().count(endpoint, "create") >= k + 1
                and workspace.recorded() == n
            )

        sandbox.wait_until(
            holding_write_n, f"{n} writes are recorded and write {n + 1} ({kind}) is in flight"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    sandbox.settle()
    assert sandbox.created() == n

    sandbox.app.reset_stats()
    rerun = workspace.invoke(*APPLY)
    assert rerun.code == 0, rerun
    assert _summary(rerun.stdout) == (WRITES - n, 0, 0, 0)
    assert sandbox.writes() == WRITES - n + LEASE_WRITES + 1  # and ending the killed apply's lease
    _assert_complete(sandbox, workspace, clean_apply)


@pytest.mark.slow  # a crash at every one of the twenty write positions
@pytest.mark.parametrize("n", range(WRITES))
def test_a_write_whose_response_was_lost_is_found_again_not_repeated(
    n: int, sandbox, workspace, clean_apply
) -> None:
    kind, endpoint, k = _position(n)
    sandbox.app.inject_fault(endpoint=endpoint, verb="create", nth=k + 1, drop_response=True)
    first = workspace.invoke(*APPLY)
    assert first.code == 1, first
    assert re.search(
        rf"^Error: {kind}\[.+\]: The connection broke during POST /ATServicesRest/V1\.0/", first.stderr, re.M
    ), first
    assert "Traceback" not in first.output
    written, adopted, failed, skipped = _summary(first.stdout)
    assert (adopted, failed) == (0, 1)
    assert written + failed + skipped == WRITES
    assert sandbox.created() == written + 1  # the lost write was committed all the same

    sandbox.app.reset_stats()
    rerun = workspace.invoke(*APPLY)
    assert rerun.code == 0, rerun
    # the lost write's object is found by its marker, not re-created; a rerun that only adopts takes no lease
    assert sandbox.writes() == skipped + (LEASE_WRITES if skipped else 0)
    _assert_complete(sandbox, workspace, clean_apply)


@pytest.mark.parametrize("n", [2, 7, 13, 19])
def test_a_500_halfway_is_reported_with_autotasks_message_and_the_other_writes_are_kept(
    n: int, sandbox, workspace, clean_apply
) -> None:
    kind, endpoint, k = _position(n)
    message = f"{endpoint}: the value of a field is not valid (injected)."
    sandbox.app.inject_fault(endpoint=endpoint, verb="create", nth=k + 1, status=500, message=message)
    first = workspace.invoke(*APPLY)
    assert first.code == 1, first
    error = re.search(
        rf"^Error: ({kind}\[.+\]): Autotask rejected POST /ATServicesRest/V1\.0/\S+ \(HTTP 500\): (.+)$",
        first.stderr,
        re.M,
    )
    assert error, first
    assert error.group(2) == message
    assert "Traceback" not in first.output
    written, _adopted, failed, skipped = _summary(first.stdout)
    assert failed == 1 and written + 1 + skipped == WRITES
    assert sandbox.created() == written
    snapshot = workspace.snapshot()
    assert len(snapshot["resources"]) == written and error.group(1) not in snapshot["resources"]
    assert snapshot["applied_periods"] == {}

    sandbox.app.reset_stats()
    rerun = workspace.invoke(*APPLY)
    assert rerun.code == 0, rerun
    assert _summary(rerun.stdout) == (1 + skipped, 0, 0, 0)
    _assert_complete(sandbox, workspace, clean_apply)
