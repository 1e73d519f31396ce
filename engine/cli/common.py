"""What every command shares: the context object, the option parsers and decorators, the session
(workspace and target, closed after use), the plan printer and the saved-plan reader."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from engine.errors import BillsyncError
from engine.plan import Plan, write_plan_json
from engine.plan_view import plan_text_lines, render_plan_text
from engine.planner import PlanInputs, load_inputs
from engine.provider import Target
from engine.safefile import MiB, read_bounded
from engine.wiring import make_source, make_target
from engine.workspace import Workspace, open_workspace

__all__ = [
    "as_of_option",
    "period_option",
    "PLAN_FILE_BYTES",
    "CliContext",
    "budget_option",
    "make_console",
    "open_session",
    "plan_inputs",
    "print_plan",
    "read_plan_text",
    "targets_options",
]

_STYLES = {"+": "green", "~": "yellow", "=": "cyan", "!": "red", "?": "magenta"}


@dataclass
class CliContext:
    """The group's options, handed to every command (``click.pass_obj``)."""

    workspace_dir: Path
    debug: bool
    no_color: bool = False

    def workspace(self) -> Workspace:
        return open_workspace(self.workspace_dir)


def _as_of_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date:
    """``--as-of``: parsed here, once, into a :class:`~datetime.date` that every step receives as is."""
    if value is None:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def _month(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """``--period``: a billing month, checked here and kept as its ``YYYY-MM`` text (the plan's key)."""
    if value is None:
        return None
    try:
        date.fromisoformat(value + "-01")
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM, got {value!r}") from None
    return value


def as_of_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--as-of YYYY-MM-DD`` handed to the command as a ``date`` (today when left out)."""
    return click.option("--as-of", "as_of", metavar="YYYY-MM-DD", callback=_as_of_date, help=help_text)


def period_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--period YYYY-MM`` handed to the command checked (None when left out)."""
    return click.option("--period", "period", metavar="YYYY-MM", callback=_month, help=help_text)


def make_console(**options: Any) -> Console:
    """A rich console honouring ``--no-color`` (and, as rich does, the NO_COLOR variable)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(CliContext) if ctx is not None else None
    return Console(no_color=True if obj is not None and obj.no_color else None, **options)


@contextmanager
def open_session(ctx: CliContext) -> Iterator[tuple[Workspace, Target]]:
    """The workspace and its target, the target closed however the command ends."""
    workspace = ctx.workspace()
    target = make_target(workspace)
    try:
        yield workspace, target
    finally:
        target.close()


def plan_inputs(
    workspace: Workspace, target: Target, as_of: date | None = None, digest: bool = True
) -> PlanInputs:
    """The inputs of a plan; ``digest=False`` for a command that makes none (see :func:`load_inputs`)."""
    return load_inputs(workspace, make_source(workspace), target, as_of, digest)


def print_plan(plan: Plan, as_json: bool) -> None:
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


def budget_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--budget",
        type=click.Choice(["refuse", "pace"]),
        default="refuse",
        show_default=True,
        help="When the writes exceed what is left of Autotask's hourly request budget: refuse, or pace them.",
    )(f)


def targets_options(f: Callable[..., Any]) -> Callable[..., Any]:
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


PLAN_FILE_BYTES = 2048 * MiB
"""The largest saved plan read (a plan of 200,000 changes is a few hundred megabytes)."""


def read_plan_text(planfile: Path) -> str:
    """A saved plan's text: a regular file (not a pipe or a device), within :data:`PLAN_FILE_BYTES`."""
    data = read_bounded(planfile, str(planfile), PLAN_FILE_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BillsyncError(
            f"{planfile}: not a billsync plan file (it is not UTF-8 text)",
            hint="Make a new plan with billsync plan --out FILE.",
        ) from None
