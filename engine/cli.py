"""The ``billsync`` command line (click): plan and apply billing like Terraform plans infrastructure."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from engine.apply import (
    ApplyResult,
    apply_plan,
    bind_tenant,
    check_fresh,
    one_writer,
    stale_objects,
    writer_claim,
)
from engine.budget import Pacer, check_budget
from engine.drift import find_drift
from engine.drift_runs import record_drift_run
from engine.errors import BillsyncError, StalePlanError, known_error
from engine.lock import workspace_lock
from engine.plan import WRITES, Plan, check_same_changes, plan_from_json, write_plan_json
from engine.plan_view import plan_text_lines, render_plan_text
from engine.planner import PlanInputs, load_inputs, make_plan, period_digests
from engine.progress import ProgressLine
from engine.provider import Target, WriterLease
from engine.safefile import MiB, read_bounded
from engine.scrub import Scrubber, scrubbed_output
from engine.snapshot import SnapshotStore
from engine.summary import summarize, summary_lines
from engine.textsafe import visible, visible_lines
from engine.wiring import extra_command, extra_command_names, make_source, make_target
from engine.workspace import Workspace, open_workspace

_STYLES = {"+": "green", "~": "yellow", "-/+": "magenta", "=": "cyan", "!": "red", "?": "magenta"}


@dataclass
class _Ctx:
    workspace_dir: Path
    debug: bool
    no_color: bool = False

    def workspace(self) -> Workspace:
        return open_workspace(self.workspace_dir)


def _as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint="--as-of") from None


def _period(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        date.fromisoformat(value + "-01")
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}", param_hint="--period") from None
    return value


class _Commands(click.Group):
    """billsync's own commands and the providers' (from entry points), a provider's imported only when
    it is run or listed: every ``billsync plan`` would otherwise import both sandboxes first."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *extra_command_names()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        own = super().get_command(ctx, cmd_name)
        if own is not None:
            return own
        found: click.Command | None = extra_command(cmd_name)
        return found


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    "workspace_dir",
    type=click.Path(path_type=Path),
    default=".",
    help="Workspace folder (holds billsync.yaml, rules/, state/). Default: the current folder.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option("--no-color", is_flag=True, help="No colours, even on a terminal (NO_COLOR=1 does the same).")
@click.version_option(package_name="billsync", prog_name="billsync", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, workspace_dir: Path, debug: bool, no_color: bool) -> None:
    """Keep Autotask PSA billing in step with Cloudmore billing reports.

    Messages cite billing rules by number (D1-D27): docs/billing-rules.md explains each.

    \b
    Example (no configuration: the built-in sandbox and the example data):
      billsync plan
      billsync apply --auto-approve
    """
    if debug:  # request-level logs on stderr: method, path, status, never credentials
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = _Ctx(workspace_dir, debug, no_color)


def make_console(**options: Any) -> Console:
    """A rich console honouring ``--no-color`` (and, as rich does, the NO_COLOR variable)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(_Ctx) if ctx is not None else None
    return Console(no_color=True if obj is not None and obj.no_color else None, **options)


@contextmanager
def _session(ctx: _Ctx) -> Iterator[tuple[Workspace, Target]]:
    workspace = ctx.workspace()
    target = make_target(workspace)
    try:
        yield workspace, target
    finally:
        target.close()


def _inputs(workspace: Workspace, target: Target, as_of: date | None = None) -> PlanInputs:
    return load_inputs(workspace, make_source(workspace), target, as_of)


def _print_plan(plan: Plan, as_json: bool) -> None:
    if as_json:
        write_plan_json(plan, sys.stdout)
        sys.stdout.flush()
        return
    console = make_console(highlight=False)
    if not console.is_terminal:
        # a file or a pipe gets no colour anyway; rich would spend minutes on 100,000 lines
        for line in plan_text_lines(plan):
            sys.stdout.write(line + "\n")
        sys.stdout.flush()
        return
    for line in render_plan_text(plan).splitlines():
        stripped = line.lstrip()
        style = next((s for p, s in _STYLES.items() if stripped.startswith(p + " ")), None)
        if line.startswith(("Warning:",)):
            style = "yellow"
        elif line.startswith("Error:"):
            style = "bold red"
        elif line.startswith("Plan:"):
            style = "bold"
        console.print(Text(line, style=style or ""), soft_wrap=True)


def _budget_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--budget",
        type=click.Choice(["refuse", "pace"]),
        default="refuse",
        show_default=True,
        help="When the writes exceed what is left of Autotask's hourly request budget: refuse, or pace them.",
    )(f)


def _targets_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--exclude", multiple=True, help='Leave out matching addresses (glob), e.g. contract["S-9*"].'
    )(f)
    f = click.option(
        "--target",
        "targets",
        multiple=True,
        help="Plan only matching addresses (glob, repeatable) and what they depend on.",
    )(f)
    return f


@cli.command()
@click.option("--period", help="Plan this billing month (YYYY-MM) only.")
@click.option("--as-of", "as_of", help="Plan the reports due on this date (default: today).")
@click.option(
    "--out", "out", type=click.Path(path_type=Path), help="Save the plan to FILE for `billsync apply FILE`."
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (format_version 1).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--summary", is_flag=True, help="One screen: counts, money per customer and month, warnings.")
@_targets_options
@click.pass_obj
def plan(
    ctx: _Ctx,
    period: str | None,
    as_of: str | None,
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
    with _session(ctx) as (workspace, target):
        inputs = _inputs(workspace, target, _as_of(as_of))
        names = {o.organization_id: o.name for o in inputs.source.organizations} if summary else {}
        origin, currency = inputs.source.origin, inputs.settings.currency
        # keep only the plan: the source, snapshot and states it came from are freed before it is written
        the_plan = make_plan(inputs, target, _as_of(as_of), _period(period), targets, exclude).plan
        del inputs
    if out is not None:
        with out.open("w", encoding="utf-8") as fh:
            write_plan_json(the_plan, fh)
    if summary and not as_json:
        for line in summary_lines(summarize(the_plan, names, origin), currency):
            click.echo(line)
    else:
        _print_plan(the_plan, as_json)
    if out is not None and not as_json:
        click.echo(f"Saved the plan to {out}. Apply it with: billsync apply {out}")
    if detailed_exitcode and the_plan.has_changes:
        sys.exit(2)


@cli.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@_budget_option
@click.option("--period", help="Plan this billing month (YYYY-MM) only (without PLANFILE).")
@click.option("--as-of", "as_of", help="Plan the reports due on this date (without PLANFILE).")
@_targets_options
@click.pass_obj
def apply(
    ctx: _Ctx,
    planfile: Path | None,
    auto_approve: bool,
    budget: str,
    period: str | None,
    as_of: str | None,
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
    with _session(ctx) as (workspace, target), workspace_lock(workspace.data_dir, "apply"):
        saved = (
            None if planfile is None else plan_from_json(_plan_text(planfile), target.kinds(), str(planfile))
        )
        inputs = _inputs(
            workspace, target, _as_of(as_of) if saved is None else date.fromisoformat(saved.as_of)
        )
        if planfile is not None and saved is not None:
            check_fresh(saved, inputs.snapshot)
            recheck_plan(saved, inputs, target, str(planfile))
            the_plan, name = saved, str(planfile)
        else:
            the_plan, name = (
                make_plan(inputs, target, _as_of(as_of), _period(period), targets, exclude).plan,
                "the plan",
            )
            _print_plan(the_plan, False)
            if not the_plan.has_changes:
                note = bind_tenant(target, SnapshotStore(workspace.state_dir, target.kinds()))
                if note is not None:
                    click.echo(visible_lines(f"Note: {note}"))
                return
            if not auto_approve and not click.confirm("Apply these changes to Autotask?", default=False):
                raise click.Abort()
        store = SnapshotStore(workspace.state_dir, target.kinds())
        with one_writer(target, store, writer_claim(str(workspace.root), "apply"), inputs.settings) as lease:
            recheck_plan(the_plan, inputs, target, name)  # under the lease: another copy may have written
            _run_apply(workspace, target, the_plan, budget, _digests(inputs, the_plan), lease)


def recheck_plan(reviewed: Plan, inputs: PlanInputs, target: Target, name: str) -> None:
    """Refuse a reviewed plan (saved, or shown and confirmed) when planning it again now reads other
    objects or plans other changes. Run again once the writer lease is held (D26), it catches what
    another copy of the workspace wrote in between, before anything is written."""
    fresh = make_plan(
        inputs,
        target,
        date.fromisoformat(reviewed.as_of),
        reviewed.period,
        reviewed.targets,
        reviewed.excludes,
    )
    if fresh.plan.actual_fingerprint != reviewed.actual_fingerprint:
        raise StalePlanError(
            f"{name}: Autotask changed since the plan was made ({_fingerprint_change(reviewed, fresh.plan)})",
            hint="Make a new plan and review it.",
        )
    check_same_changes(reviewed, fresh.plan, name)


def _digests(inputs: PlanInputs, the_plan: Plan) -> dict[str, str]:
    return period_digests(inputs, date.fromisoformat(the_plan.as_of), [p.period for p in the_plan.periods])


_PLAN_FILE_BYTES = 2048 * MiB
"""The largest saved plan read (a plan of 200,000 changes is a few hundred megabytes)."""


def _plan_text(planfile: Path) -> str:
    """A saved plan's text: a regular file (not a pipe or a device), within :data:`_PLAN_FILE_BYTES`."""
    data = read_bounded(planfile, str(planfile), _PLAN_FILE_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BillsyncError(
            f"{planfile}: not a billsync plan file (it is not UTF-8 text)",
            hint="Make a new plan with billsync plan --out FILE.",
        ) from None


def _fingerprint_change(saved: Plan, fresh: Plan) -> str:
    names = stale_objects(saved, fresh)
    if not names:
        return "objects outside the plan's changes were modified"
    shown = "; ".join(names[:5])
    more = f"; and {len(names) - 5} more" if len(names) > 5 else ""
    return shown + more


def _run_apply(
    workspace: Workspace,
    target: Target,
    the_plan: Plan,
    budget: str = "refuse",
    digests: dict[str, str] | None = None,
    lease: WriterLease | None = None,
) -> None:
    result = apply_with_progress(workspace, target, the_plan, budget, digests=digests, lease=lease)
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
) -> ApplyResult:
    """Apply with a bar on a terminal, or a progress line every few seconds without one; report the
    outcome (on stderr when ``quiet``: ``run --json`` keeps stdout for its document). ``digests``
    (month → digest of the report applied) are recorded with the months applied in full."""
    store = SnapshotStore(workspace.state_dir, target.kinds())
    left = target.budget()
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


@cli.command()
@click.option("--as-of", "as_of", help="Read the months due on this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the drift as a plan JSON document.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing drifted, 2 when something did.")
@click.pass_obj
def drift(ctx: _Ctx, as_of: str | None, as_json: bool, detailed_exitcode: bool) -> None:
    """Show what was changed by hand in Autotask since the last apply, field by field (refresh only).

    The next apply puts managed fields back; fields billsync does not manage are never reported.

    \b
    Example:
      billsync drift
    """
    with _session(ctx) as (workspace, target):
        inputs = _inputs(workspace, target, _as_of(as_of))
        result = make_plan(inputs, target, _as_of(as_of))
    record_drift_run(workspace.state_dir, datetime.now(UTC))  # shown by the next plans
    changes = find_drift(inputs.snapshot, result.actual, target.kinds())
    report = replace(result.plan, changes=tuple(changes), periods=(), diagnostics=(), drift=None)
    if not changes and not as_json:
        click.echo("No drift.")
        return
    _print_plan(report, as_json)
    if detailed_exitcode and changes:
        sys.exit(2)


@cli.command()
@click.argument("planfile", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def show(ctx: _Ctx, planfile: Path, as_json: bool) -> None:
    """Show a saved plan file.

    \b
    Example:
      billsync show month.plan
    """
    with _session(ctx) as (_workspace, target):
        saved = plan_from_json(_plan_text(planfile), target.kinds(), str(planfile))
    _print_plan(saved, as_json)


def main() -> NoReturn:
    """Entry point: one-paragraph errors and exit 1, tracebacks only with --debug; every credential
    masked in all of it (output, errors, tracebacks, log records)."""
    with scrubbed_output(Scrubber.from_env(os.environ)):
        code = _main("--debug" in sys.argv)
    sys.exit(code)


def _main(debug: bool) -> int:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted; nothing was applied.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return 1 if exc.exit_code == 2 else exc.exit_code
    except BillsyncError as exc:
        if debug:
            traceback.print_exc()
        click.echo(error_text(exc), err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted. The writes made so far are recorded; run the same command again.", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no traceback for users
        if debug:
            traceback.print_exc()
        known = known_error(exc)
        if known is not None:
            click.echo(error_text(known), err=True)
            return 1
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {visible(str(exc))} (run with --debug for details)",
            err=True,
        )
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    return 0


def error_text(exc: BillsyncError) -> str:
    """``Error: message`` and the hint below it, every control character shown visibly (the line breaks
    billsync itself puts in a message kept; data is quoted with its line breaks escaped where it is cited)."""
    text = f"Error: {visible_lines(exc.message)}"
    return f"{text}\n{visible_lines(exc.hint)}" if exc.hint else text


from engine import cli_onboarding as _cli_onboarding  # noqa: E402,F401 - registers import and companies
from engine import cli_report as _cli_report  # noqa: E402,F401 - registers report
from engine import cli_run as _cli_run  # noqa: E402,F401 - registers run
from engine import cli_workspace as _cli_workspace  # noqa: E402,F401 - registers validate, render, state, init
