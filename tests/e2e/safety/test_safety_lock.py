"""The workspace lock: one apply (or run) at a time; a second one fails at once, naming who holds the
lock and since when; ``billsync force-unlock ID`` releases a lock whose holder is stuck.

The holder is a real ``billsync apply`` process kept in the middle of its first write: the sandbox
holds that request until the test lets it go (or drops it).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

AS_OF = ("--as-of", "2026-10-07")
APPLY = ("apply", *AS_OF, "--auto-approve")


def _start_holder(workspace, sandbox):
    """An apply process that holds the lock, stopped inside its fifth write (the four before it are done,
    and nothing more is sent until it ends); returns the process and its lock note."""
    sandbox.app.inject_fault(endpoint="Services", verb="create", nth=5, delay=60)
    holder = workspace.start(*APPLY)
    note = workspace.root / ".billsync" / "apply.lock.json"

    def holding() -> bool:
        if holder.poll() is not None:
            raise AssertionError(f"the holder ended early: {holder.communicate()}")
        return sandbox.writes() == 1 + 5 and sandbox.created() == 4 and note.exists()  # the lease first (D26)

    sandbox.wait_until(holding, "the first apply holds the lock and is writing")
    return holder, json.loads(note.read_text(encoding="utf-8"))


@pytest.mark.slow  # a real apply process holding the lock
def test_a_second_apply_or_run_fails_at_once_naming_the_holder(workspace, sandbox) -> None:
    holder, info = _start_holder(workspace, sandbox)
    try:
        assert info["operation"] == "apply" and info["pid"] == holder.pid
        assert datetime.fromisoformat(info["since"]).tzinfo is not None
        expected = (
            f"Error: the workspace is locked by apply of {info['who']} (pid {holder.pid}) since {info['since']}, "
            f"lock id {info['id']}\n"
            "Wait for it to finish. If that process is gone, run: billsync force-unlock LOCK_ID\n"
        )
        for command in (APPLY, ("run", *AS_OF, "--auto-approve")):
            second = workspace.invoke(*command)
            assert (second.code, second.stderr) == (1, expected), second
            assert "Traceback" not in second.output
            # it failed while the holder still holds the lock: it did not wait for it
            assert holder.poll() is None
        assert sandbox.writes() == 1 + 5  # only the holder wrote (its lease, then its writes)
    finally:
        sandbox.gate.release()
    out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, (out, err)
    assert "Apply complete: 20 written" in out
    assert not (workspace.root / ".billsync" / "apply.lock.json").exists()
    after = workspace.invoke(*APPLY)
    assert after.code == 0 and "No changes." in after.stdout


@pytest.mark.slow  # a real apply process holding the lock
def test_force_unlock_releases_the_lock_of_a_stuck_apply(workspace, sandbox, clean_apply) -> None:
    holder, info = _start_holder(workspace, sandbox)
    try:
        refused = workspace.invoke(*APPLY)
        assert refused.code == 1 and f"lock id {info['id']}" in refused.stderr

        wrong = workspace.invoke("force-unlock", "not-the-id")
        assert (wrong.code, wrong.stderr) == (1, f"Error: the lock id is {info['id']}, not not-the-id\n")

        released = workspace.invoke("force-unlock", info["id"])
        assert (released.code, released.stdout) == (0, "Lock released.\n")
        assert not (workspace.root / ".billsync" / "apply.lock.json").exists()

        # the stuck process still runs, yet the workspace can be locked again (an apply with nothing to do)
        nothing = workspace.invoke("apply", *AS_OF, "--auto-approve", "--exclude", "*")
        assert nothing.code == 0, nothing
        assert "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy." in nothing.stdout
        assert holder.poll() is None
        assert workspace.snapshot()["applied_periods"] == {}  # a targeted apply never completes a month

        again = workspace.invoke("force-unlock", info["id"])
        assert (again.code, again.stderr) == (1, "Error: the workspace is not locked\n")
    finally:
        holder.kill()
        holder.communicate(timeout=30)
        sandbox.settle()
    assert sandbox.created() == 4
    # after the stuck process is gone, the next apply completes its work, every object exactly once
    applied = workspace.invoke(*APPLY)
    assert applied.code == 0, applied
    assert "Apply complete: 16 written, 0 adopted, 0 failed, 0 skipped" in applied.stdout
    assert sandbox.objects() == clean_apply.objects
