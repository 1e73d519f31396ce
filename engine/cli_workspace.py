"""CLI commands about the workspace itself: ``validate``, ``render``, ``state``, ``init``, ``force-unlock``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from engine.cli import _as_of, _Ctx, _inputs, _period, _session, cli
from engine.errors import BillsyncError
from engine.lock import force_unlock
from engine.plan_view import fmt
from engine.planner import render_inputs
from engine.resources import encode_attributes
from engine.snapshot import SnapshotStore, entry_to_json
from engine.textsafe import visible
from engine.workspace import CONFIG_FILE
from rules import default_rules_dir


@cli.command()
@click.pass_obj
def validate(ctx: _Ctx) -> None:
    """Check settings and rules without calling Autotask.

    \b
    Example:
      billsync validate
    """
    with _session(ctx) as (workspace, target):
        inputs = _inputs(workspace, target)
    click.echo(
        f"Valid: settings, {len(inputs.rules)} rule files, {len(inputs.source.subscriptions)} subscriptions, "
        f"{len(inputs.source.reports)} billing reports."
    )


@cli.command()
@click.option("--period", help="Render this billing month (YYYY-MM) only.")
@click.option("--as-of", "as_of", help="Render the reports due on this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the desired state as JSON.")
@click.pass_obj
def render(ctx: _Ctx, period: str | None, as_of: str | None, as_json: bool) -> None:
    """Print the desired state the rules render (no Autotask call).

    \b
    Example:
      billsync render --period 2026-10
    """
    with _session(ctx) as (workspace, target):
        inputs = _inputs(workspace, target)
        desired, diagnostics, periods, _live = render_inputs(inputs, target, _as_of(as_of), _period(period))
    doc = {
        address: {
            "kind": r.kind,
            "attributes": encode_attributes(r.attributes),
            "refs": r.refs,
            "rule": r.rule,
        }
        for address, r in desired.resources.items()
    }
    if as_json:
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    for d in diagnostics:
        click.echo(visible(f"{d.severity.capitalize()}: {d.message}"))
    click.echo(f"Billing months: {', '.join(p.period for p in periods) or 'none due'}")
    for address, r in desired.resources.items():
        click.echo(visible(f"{address}  ({r.rule})"))
        for name in sorted(r.attributes):
            click.echo(visible(f"    {name} = {fmt(r.attributes[name])}"))
        for name, ref in sorted(r.refs.items()):
            click.echo(visible(f"    {name} -> {ref}"))


@cli.group()
def state() -> None:
    """Inspect the snapshot of what billsync manages."""


@state.command("list")
@click.pass_obj
def state_list(ctx: _Ctx) -> None:
    """List managed addresses with their Autotask ids.

    \b
    Example:
      billsync state list
    """
    with _session(ctx) as (workspace, target):
        snapshot = SnapshotStore(workspace.state_dir, target.kinds()).load()
    table = Table("address", "kind", "autotask id", box=None)
    for address, entry in sorted(snapshot.resources.items()):
        table.add_row(Text(visible(address)), entry.kind, str(entry.target_id))
    Console().print(table)
    click.echo(f"{len(snapshot.resources)} resources, serial {snapshot.serial}, lineage {snapshot.lineage}")


@state.command("show")
@click.argument("address")
@click.pass_obj
def state_show(ctx: _Ctx, address: str) -> None:
    """Show one managed resource as recorded.

    \b
    Example:
      billsync state show 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"]'
    """
    with _session(ctx) as (workspace, target):
        snapshot = SnapshotStore(workspace.state_dir, target.kinds()).load()
    entry = snapshot.resources.get(address)
    if entry is None:
        raise BillsyncError(
            f"{address} is not in the snapshot", hint="See `billsync state list` for addresses."
        )
    click.echo(json.dumps(entry_to_json(entry), indent=2, sort_keys=True))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
def init(directory: Path) -> None:
    """Write a workspace with a copy of the shipped rules, ready to edit.

    \b
    Example:
      billsync init my-billing && cd my-billing && billsync plan
    """
    if directory.exists() and not directory.is_dir():
        raise BillsyncError(
            f"{directory} is a file, not a folder; nothing was changed",
            hint="Name a new folder (or an existing one) for the workspace.",
        )
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / CONFIG_FILE
    if config.exists():
        raise BillsyncError(f"{config} already exists; nothing was changed")
    rules_dir = directory / "rules"
    if rules_dir.exists():
        raise BillsyncError(f"{rules_dir} already exists; nothing was changed")
    shutil.copytree(default_rules_dir(), rules_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (directory / "state").mkdir(exist_ok=True)
    config.write_text(_INIT_CONFIG, encoding="utf-8")
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(".billsync/\n", encoding="utf-8")
    click.echo(f"Created a billsync workspace in {directory}: {CONFIG_FILE}, rules/, state/.")


@cli.command("force-unlock")
@click.argument("lock_id")
@click.pass_obj
def force_unlock_cmd(ctx: _Ctx, lock_id: str) -> None:
    """Release a lock left by an apply whose process is gone.

    \b
    Example:
      billsync force-unlock 0b7e6c1a-...
    """
    force_unlock(ctx.workspace().data_dir, lock_id)
    click.echo("Lock released.")


_INIT_CONFIG = """\
# billsync workspace. Every key is optional; see README.md.
# autotask:
#   url: https://webservicesN.autotask.net/ATServicesRest/V1.0   # absent: the embedded sandbox in .billsync/
#   (credentials come only from AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE)
# cloudmore:
#   bundle: ./cloudmore          # an export-bundle folder; absent: the example bundle
#   # or read Cloudmore's API instead (credentials from CLOUDMORE_API_SECRET, CLOUDMORE_USERNAME,
#   # CLOUDMORE_PASSWORD):
#   api: {url: https://api.cloudmore.com, reseller_id: <your reseller id>}
settings: ./rules/settings.yaml
rules: ./rules
state: ./state
"""
