"""The planning commands: ``plan``, ``apply``, ``drift`` and ``show``."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import click

from engine.apply import bind_tenant, check_fresh, one_writer, writer_claim
from engine.budget import check_budget
from engine.cli.applying import applied_digests, apply_or_fail, recheck_plan
from engine.cli.common import (
    CliContext,
    as_of_option,
    budget_option,
    open_session,
    period_option,
    plan_inputs,
    print_plan,
    read_plan_text,
    targets_options,
)
from engine.drift import find_drift
from engine.drift_runs import record_drift_run
from engine.lock import workspace_lock
from engine.plan import plan_from_json, write_plan_json
from engine.planner import make_plan
from engine.snapshot import SnapshotStore
from engine.summary import summarize, summary_lines
from engine.textsafe import visible_lines

__all__ = ["apply", "drift", "plan", "show"]


@click.command()
@period_option("Plan this billing month (YYYY-MM) only.")
@as_of_option("Plan the reports due on this date (default: today).")
@click.option(
    "--out", "out", type=click.Path(path_type=Path), help="Save the plan to FILE for `billsync apply FILE`."
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (format_version 1).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--summary", is_flag=True, help="One screen: counts, money per customer and month, warnings.")
@targets_options
@click.pass_obj
def plan(
    ctx: CliContext,
    period: str | None,
    as_of: date,
    out: Path | None,
    as_json: bool,
    detailed_exitcode: bool,
    summary: bool,
    targets: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Show what apply would change in Autotask, field by field, and why.

    \b
    Examples:
      billsync plan
      billsync plan --as-of 2026-11-07 --out month.plan
      billsync plan --period 2026-10 --json
    """
    with open_session(ctx) as (workspace, target):
        inputs = plan_inputs(workspace, target, as_of)
        names = {o.organization_id: o.name for o in inputs.source.organizations} if summary else {}
        origin, currency = inputs.source.origin, inputs.settings.currency
        # keep only the plan: the source, snapshot and states it came from are freed before it is written
        the_plan = make_plan(inputs, target, as_of, period, targets, exclude, release_source=True).plan
        del inputs
    if out is not None:
        with out.open("w", encoding="utf-8") as fh:
            write_plan_json(the_plan, fh)
    if summary and not as_json:
        for line in summary_lines(summarize(the_plan, names, origin), currency):
            click.echo(line)
    else:
        print_plan(the_plan, as_json)
    if out is not None and not as_json:
        click.echo(f"Saved the plan to {out}. Apply it with: billsync apply {out}")
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(2)


@click.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@budget_option
@period_option("Plan this billing month (YYYY-MM) only (without PLANFILE).")
@as_of_option("Plan the reports due on this date (without PLANFILE; default: today).")
@targets_options
@click.pass_obj
def apply(
    ctx: CliContext,
    planfile: Path | None,
    auto_approve: bool,
    budget: str,
    period: str | None,
    as_of: date,
    targets: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """Execute a plan: the saved PLANFILE (refused if stale), or a fresh plan after you confirm.

    \b
    Examples:
      billsync apply                 # plan, show, ask, apply
      billsync apply --auto-approve
      billsync apply month.plan      # exactly the saved plan
    """
    with open_session(ctx) as (workspace, target), workspace_lock(workspace.data_dir, "apply"):
        saved = (
            None
            if planfile is None
            else plan_from_json(read_plan_text(planfile), target.kinds(), str(planfile))
        )
        inputs = plan_inputs(workspace, target, as_of if saved is None else saved.as_of)
        if planfile is not None and saved is not None:
            check_fresh(saved, inputs.snapshot)
            made = recheck_plan(saved, inputs, target, str(planfile))
            the_plan, name = saved, str(planfile)
        else:
            made = make_plan(inputs, target, as_of, period, targets, exclude)
            the_plan, name = made.plan, "the plan"
            print_plan(the_plan, False)
            if not the_plan.has_changes:
                note = bind_tenant(target, SnapshotStore(workspace.state_dir, target.kinds()))
                if note is not None:
                    click.echo(visible_lines(f"Note: {note}"))
                return
            if not auto_approve and not click.confirm("Apply these changes to Autotask?", default=False):
                raise click.Abort()
        store = SnapshotStore(workspace.state_dir, target.kinds())
        left = target.budget()  # a plan beyond the hourly budget is refused before the writer lease
        check_budget(the_plan.writes, left, "pace" if budget == "pace" else "refuse")
        claim = writer_claim(str(workspace.root), "apply")
        with one_writer(target, store, claim, inputs.settings, the_plan) as lease:
            if lease is not None:  # under the lease: another copy may have written since the plan
                recheck_plan(the_plan, inputs, target, name, made)
            digests = applied_digests(inputs, the_plan)
            apply_or_fail(workspace, target, the_plan, budget, digests, lease, left)


@click.command()
@as_of_option("Read the months due on this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the drift as a plan JSON document.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing drifted, 2 when something did.")
@click.pass_obj
def drift(ctx: CliContext, as_of: date, as_json: bool, detailed_exitcode: bool) -> None:
    """Show what was changed by hand in Autotask since the last apply, field by field (refresh only).

    The next apply puts managed fields back; fields billsync does not manage are never reported.

    \b
    Example:
      billsync drift
    """
    with open_session(ctx) as (workspace, target):
        inputs = plan_inputs(workspace, target, as_of)
        result = make_plan(inputs, target, as_of)
    record_drift_run(workspace.state_dir, datetime.now(UTC))  # shown by the next plans
    changes = find_drift(inputs.snapshot, result.actual, target.kinds())
    report = replace(result.plan, changes=tuple(changes), periods=(), diagnostics=(), drift=None)
    if not changes and not as_json:
        click.echo("No drift.")
        return
    print_plan(report, as_json)
    if detailed_exitcode and changes:
        sys.exit(2)


@click.command()
@click.argument("planfile", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def show(ctx: CliContext, planfile: Path, as_json: bool) -> None:
    """Show a saved plan file.

    \b
    Example:
      billsync show month.plan
    """
    with open_session(ctx) as (_workspace, target):
        saved = plan_from_json(read_plan_text(planfile), target.kinds(), str(planfile))
    print_plan(saved, as_json)
