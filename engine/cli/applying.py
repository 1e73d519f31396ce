"""Applying a plan from the command line: the budget check, the progress bar (or line) and the outcome,
shared by ``apply`` and ``run``."""

from __future__ import annotations

import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from engine.apply import ApplyResult, apply_plan, stale_objects
from engine.budget import Budget, Pacer, check_budget
from engine.cli.common import make_console
from engine.errors import BillsyncError, StalePlanError
from engine.plan import WRITES, Plan, check_same_changes
from engine.planner import PlanInputs, PlanResult, make_plan, period_digests
from engine.progress import ProgressLine
from engine.provider import Target, WriterLease
from engine.snapshot import SnapshotStore
from engine.textsafe import visible_lines
from engine.workspace import Workspace

__all__ = ["applied_digests", "apply_or_fail", "apply_with_progress", "recheck_plan"]


def applied_digests(inputs: PlanInputs, the_plan: Plan) -> dict[str, str]:
    """Month → digest of the report the plan applies, recorded with the months applied in full."""
    return period_digests(inputs, the_plan.as_of, [p.period for p in the_plan.periods])


def recheck_plan(
    reviewed: Plan, inputs: PlanInputs, target: Target, name: str, earlier: PlanResult | None = None
) -> PlanResult:
    """Refuse a reviewed plan (saved, or shown and confirmed) when planning it again now reads other
    objects or plans other changes. Run again once the writer lease is held (D26), it catches what
    another copy of the workspace wrote in between, before anything is written.

    The read of Autotask and the diff are made again in full, on purpose; no cheaper check is as safe.
    The read the fingerprint covers is scoped by the desired state (every rendered address, not only
    the changed ones the file lists), so it needs the rendering; and the seal is a plain digest anyone
    can recompute, so the only proof that the changes were not edited is that the same inputs, snapshot
    and Autotask state plan exactly them again (check_same_changes). The ``earlier`` plan of the same
    loaded inputs lends its rendering, since only Autotask can have changed since."""
    fresh = make_plan(
        inputs, target, reviewed.as_of, reviewed.period, reviewed.targets, reviewed.excludes, earlier
    )
    if fresh.plan.actual_fingerprint != reviewed.actual_fingerprint:
        raise StalePlanError(
            f"{name}: Autotask changed since the plan was made ({_fingerprint_change(reviewed, fresh.plan)})",
            hint="Make a new plan and review it.",
        )
    check_same_changes(reviewed, fresh.plan, name)
    return fresh


def _fingerprint_change(saved: Plan, fresh: Plan) -> str:
    names = stale_objects(saved, fresh)
    if not names:
        return "objects outside the plan's changes were modified"
    shown = "; ".join(names[:5])
    more = f"; and {len(names) - 5} more" if len(names) > 5 else ""
    return shown + more


def apply_or_fail(
    workspace: Workspace,
    target: Target,
    the_plan: Plan,
    budget: str = "refuse",
    digests: dict[str, str] | None = None,
    lease: WriterLease | None = None,
    left: Budget | None = None,
) -> None:
    """Apply, and fail the command (exit 1) when any change was not applied."""
    result = apply_with_progress(workspace, target, the_plan, budget, digests=digests, lease=lease, left=left)
    if not result.ok:
        raise BillsyncError(
            "some changes were not applied; the writes that succeeded are recorded",
            hint="Fix the cause above and run billsync apply again: it continues where this one stopped.",
        )


def apply_with_progress(
    workspace: Workspace,
    target: Target,
    the_plan: Plan,
    budget: str = "refuse",
    quiet: bool = False,
    digests: dict[str, str] | None = None,
    lease: WriterLease | None = None,
    left: Budget | None = None,
) -> ApplyResult:
    """Apply with a bar on a terminal, or a progress line every few seconds without one; report the
    outcome (on stderr when ``quiet``: ``run --json`` keeps stdout for its document). ``digests``
    (month → digest of the report applied) are recorded with the months applied in full. ``left``
    is the request budget read before the writer lease was taken (read now when not given)."""
    store = SnapshotStore(workspace.state_dir, target.kinds())
    left = target.budget() if left is None else left
    interval = check_budget(the_plan.writes, left, "pace" if budget == "pace" else "refuse")
    if interval:
        click.echo(
            f"Pacing {the_plan.writes} writes at one every {interval:.2f} s to stay within the hourly budget.",
            err=quiet,
        )
    total = sum(1 for c in the_plan.changes if c.action in (*WRITES, "adopt"))
    console = make_console(stderr=True)
    line = None if console.is_terminal else ProgressLine(total, sys.stderr, left.remaining)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=line is not None,
    ) as progress:
        task = progress.add_task("Applying", total=total)
        if line is not None:
            line.start()
        try:
            result = apply_plan(
                the_plan,
                target,
                store,
                target.kinds(),
                progress=lambda _c: line.advance() if line is not None else progress.advance(task),
                pacer=Pacer(interval) if interval else None,
                digests=digests,
                lease=lease,
            )
        finally:
            if line is not None:
                line.stop()
    writes = sum(1 for c in result.applied if c.action in WRITES)
    adopted = sum(1 for c in result.applied if c.action == "adopt")
    for note in result.notes:
        click.echo(visible_lines(f"Note: {note}"), err=quiet)
    for change, message in result.failed:
        click.echo(visible_lines(f"Error: {change.address}: {message}"), err=True)
    for change, message in result.skipped:
        click.echo(visible_lines(f"Skipped: {change.address}: {message}"), err=True)
    serial = result.snapshot.serial if result.snapshot else "?"
    click.echo(
        f"Apply complete: {writes} written, {adopted} adopted, {len(result.failed)} failed, "
        f"{len(result.skipped)} skipped. Snapshot serial {serial}.",
        err=quiet,
    )
    return result
