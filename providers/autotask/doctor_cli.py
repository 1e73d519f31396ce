"""``billsync doctor``: prove an Autotask tenant is ready for the first plan, and print its settings.

Read-only towards Autotask. Exit 0 when ready; exit 1 with one line per problem. ``--write`` puts
the printed settings block into the workspace's settings file (the only file it changes).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from engine.errors import ConfigError
from engine.read_request import TargetPolicy
from engine.workspace import Workspace, open_workspace
from providers.autotask import make_target
from providers.autotask.doctor import Level, Report, diagnose
from providers.autotask.doctor_settings import (
    Choice,
    billing_code_lines,
    build_choices,
    render_block,
    write_settings,
)
from providers.autotask.errors import AutotaskError
from providers.autotask.metadata import check_settings
from rules import default_rules_dir

__all__ = ["doctor"]

_MARKS = {Level.OK: ("ok  ", "green"), Level.WARNING: ("warn", "yellow"), Level.PROBLEM: ("FAIL", "bold red")}


@click.command()
@click.option("--write", is_flag=True, help="Write the tenant's choices into the workspace's settings file.")
@click.pass_context
def doctor(ctx: click.Context, write: bool) -> None:
    """Check that Autotask is ready for billsync; print the tenant's settings choices.

    Checks the zone lookup, the credentials and the API user's access, the hourly request budget,
    every entity and field billsync reads or writes, the "Subscription ID" contract field, and the
    settings (SLA, billing codes, picklist values). Nothing in Autotask is changed.

    \b
    Examples:
      billsync doctor
      billsync doctor --write     # put the printed settings block into settings.yaml
    """
    workspace = open_workspace(_workspace_dir(ctx))
    console = Console(highlight=False, soft_wrap=True)
    target = make_target(workspace)
    try:
        url = workspace.config.autotask.url
        report = diagnose(
            target.client,
            workspace.load_settings,
            expected_url=url,
            lookup_zone=url is None or _is_autotask(url),
        )
        _print_findings(console, report)
        if report.meta is None and write:
            console.print(Text("Nothing was written: the tenant's choices could not be read."))
        if report.meta is not None:
            try:
                choices = build_choices(report.meta, _policy_or_none(workspace), TargetPolicy.model_fields)
                block = render_block(choices, billing_code_lines(report.meta))
            except AutotaskError as exc:
                report.add(Level.PROBLEM, f"settings block: {exc}")
            else:
                console.print(Text("\nSettings for this tenant:\n", style="bold"))
                console.print(Text(block))
                if write:
                    report = _write(console, workspace, report, choices)
    finally:
        target.close()
    if report.ready:
        console.print(Text("Ready: billsync can plan against this Autotask tenant.", style="bold green"))
        return
    click.echo(f"Not ready: {len(report.problems)} problem(s).", err=True)
    for problem in report.problems:
        click.echo(problem.text, err=True)
    sys.exit(1)


def _write(console: Console, workspace: Workspace, report: Report, choices: list[Choice]) -> Report:
    """Write the choices, then check the settings again so the exit code reflects the new file."""
    path = _writable_settings(workspace)
    changed = write_settings(path, choices)
    shown = workspace.display(path)
    if changed:
        console.print(Text(f"Wrote {', '.join(changed)} to {shown}."))
    else:
        console.print(Text(f"{shown} already holds these values; nothing was written."))
    if report.meta is None:
        return report
    kept = [f for f in report.findings if not f.text.startswith("settings:")]
    fresh = Report(findings=kept, meta=report.meta)
    try:
        problems = check_settings(report.meta, open_workspace(workspace.root).load_settings())
    except Exception as exc:  # noqa: BLE001 - a settings error is a finding
        fresh.add(Level.PROBLEM, f"settings: {exc}")
        return fresh
    for problem in problems:
        fresh.add(Level.PROBLEM, f"settings: {problem}")
    return fresh


def _writable_settings(workspace: Workspace) -> Path:
    """The workspace's own settings file; never the shipped one, never ``billsync.yaml``'s inline block."""
    if isinstance(workspace.config.settings, dict):
        raise ConfigError(
            "the settings are written inline in billsync.yaml; doctor --write only edits a settings file",
            hint="Copy the printed block into billsync.yaml yourself, or move the settings to their own file.",
        )
    path = Path(workspace.settings_file).resolve()
    if path.is_relative_to(default_rules_dir()):
        raise ConfigError(
            "this workspace uses billsync's shipped settings; doctor --write will not change them",
            hint="Run `billsync init` for a workspace with its own rules/settings.yaml, then run doctor --write there.",
        )
    return path


def _print_findings(console: Console, report: Report) -> None:
    for finding in report.findings:
        mark, style = _MARKS[finding.level]
        line = Text()
        line.append(mark, style=style)
        line.append(" " + finding.text)
        console.print(line)


def _policy_or_none(workspace: Workspace) -> TargetPolicy | None:
    """The target's part of the workspace's settings, None when they do not load."""
    try:
        return TargetPolicy.of(workspace.load_settings())
    except Exception:  # noqa: BLE001 - already reported as a finding; the block is built without it
        return None


def _is_autotask(url: str) -> bool:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return host == "autotask.net" or host.endswith(".autotask.net")


def _workspace_dir(ctx: click.Context) -> Path:
    """The root command's ``--workspace`` (the current folder when it has none)."""
    value = ctx.find_root().params.get("workspace_dir")
    return Path(value) if value is not None else Path(".")
