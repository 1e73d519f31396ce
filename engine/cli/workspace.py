"""CLI commands about the workspace itself: ``validate``, ``render``, ``state``, ``init``, ``force-unlock``."""

from __future__ import annotations

import json
import re
import sys
import uuid
from dataclasses import replace
from datetime import date
from importlib.resources import files
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from engine.cli.common import (
    CliContext,
    as_of_option,
    make_console,
    open_session,
    period_option,
    plan_inputs,
)
from engine.errors import BillsyncError
from engine.gitrepo import commit_paths, git, is_repository
from engine.lock import force_unlock, workspace_lock
from engine.plan_view import fmt
from engine.planner import make_plan, render_inputs
from engine.rebuild import rebuilt_snapshot
from engine.resources import encode_attributes
from engine.snapshot import Snapshot, SnapshotStore, entry_to_json
from engine.state_edit import move_address, remove_addresses
from engine.textsafe import visible
from engine.validation import render_every_template
from engine.workspace import CONFIG_FILE


@click.command()
@click.pass_obj
def validate(ctx: CliContext) -> None:
    """Check settings and rules, rendering every template against every billing month (no Autotask read).

    \b
    Example:
      billsync validate
    """
    with open_session(ctx) as (workspace, target):
        inputs = plan_inputs(workspace, target, digest=False)
        rendered = render_every_template(
            inputs.source, inputs.settings, inputs.rules, inputs.snapshot, target.kinds(), date.today()
        )
    click.echo(
        f"Valid: settings, {len(inputs.rules)} rule files, {len(inputs.source.subscriptions)} subscriptions, "
        f"{len(inputs.source.reports)} billing reports; every template rendered against every report "
        f"({rendered.resources} resources)."
    )


@click.command()
@period_option("Render this billing month (YYYY-MM) only.")
@as_of_option("Render the reports due on this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the desired state as JSON.")
@click.pass_obj
def render(ctx: CliContext, period: str | None, as_of: date, as_json: bool) -> None:
    """Print the desired state the rules render (no Autotask call).

    \b
    Example:
      billsync render --period 2026-10
    """
    with open_session(ctx) as (workspace, target):
        inputs = plan_inputs(workspace, target, as_of, digest=False)
        desired, diagnostics, periods, _live = render_inputs(inputs, target, as_of, period)
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


@click.group()
def state() -> None:
    """Inspect and edit the snapshot of what billsync manages (never Autotask itself)."""


@state.command("list")
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print address, kind and Autotask id as JSON.")
@click.pass_obj
def state_list(ctx: CliContext, pattern: str | None, as_json: bool) -> None:
    """List managed addresses with their Autotask ids; PATTERN is a glob (* and ? only).

    Piped or redirected, every line is printed whole (address, kind, id, tab-separated).

    \b
    Examples:
      billsync state list
      billsync state list 'contract["6f1c*"]' --json
    """
    with open_session(ctx) as (workspace, target):
        snapshot = SnapshotStore(workspace.state_dir, target.kinds()).load()
    wanted = _glob(pattern)
    entries = [(a, e) for a, e in sorted(snapshot.resources.items()) if wanted.fullmatch(a)]
    rows = [(a, e.kind, e.found_id) for a, e in entries]  # the id Autotask shows the object under
    if as_json:
        doc = {"lineage": snapshot.lineage, "serial": snapshot.serial, "resources": {}}
        doc["resources"] = {
            a: {"kind": e.kind, "target_id": e.target_id, **({"read_id": e.read_id} if e.read_id else {})}
            for a, e in entries
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=True))
        return
    footer = f"{len(rows)} of {len(snapshot.resources)} resources, serial {snapshot.serial}, lineage {snapshot.lineage}"
    console = make_console(highlight=False)
    if not console.is_terminal:  # a pipe or a file: whole lines, nothing cut to a terminal's width
        for address, kind, target_id in rows:
            sys.stdout.write(f"{visible(address)}\t{kind}\t{target_id}\n")
        sys.stdout.flush()
        click.echo(footer, err=True)
        return
    table = Table(box=None)
    table.add_column("address", overflow="fold")  # folded on a narrow terminal, never cut
    table.add_column("kind", overflow="fold")
    table.add_column("autotask id", no_wrap=True)
    for address, kind, target_id in rows:
        table.add_row(Text(visible(address)), Text(kind), str(target_id))
    console.print(table)
    console.print(Text(footer))


@state.command("rm")
@click.argument("addresses", nargs=-1, required=True)
@click.pass_obj
def state_rm(ctx: CliContext, addresses: tuple[str, ...]) -> None:
    """Stop managing ADDRESSES: forget them in the snapshot; the objects stay in Autotask as they are.

    The next plan adopts an object again if it still carries billsync's marker for a desired address.

    \b
    Example:
      billsync state rm 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"]'
    """
    with open_session(ctx) as (workspace, target), workspace_lock(workspace.data_dir, "state rm"):
        store = SnapshotStore(workspace.state_dir, target.kinds())
        snapshot = store.load()
        ids = [snapshot.resources[a].found_id for a in addresses if a in snapshot.resources]
        final = remove_addresses(store, snapshot, list(addresses))
    for address, target_id in zip(addresses, ids, strict=False):
        click.echo(f"Removed {visible(address)} (Autotask id {target_id}) from the snapshot.")
    click.echo(f"Snapshot serial {final.serial}.")


@state.command("mv")
@click.argument("source")
@click.argument("destination")
@click.pass_obj
def state_mv(ctx: CliContext, source: str, destination: str) -> None:
    """Record the object of SOURCE under DESTINATION (after changing a key in the rules).

    \b
    Example:
      billsync state mv 'service["csp365:OLD"]' 'service["csp365:NEW"]'
    """
    with open_session(ctx) as (workspace, target), workspace_lock(workspace.data_dir, "state mv"):
        store = SnapshotStore(workspace.state_dir, target.kinds())
        final = move_address(store, store.load(), source, destination)
    target_id = final.resources[destination].found_id
    click.echo(
        f"Moved {visible(source)} to {visible(destination)} (Autotask id {target_id}). "
        f"Snapshot serial {final.serial}."
    )


@state.command("rebuild")
@as_of_option("Read the months whose reports are available on this date (default: today).")
@click.option("--force", is_flag=True, help="Replace a snapshot that already holds objects.")
@click.pass_obj
def state_rebuild(ctx: CliContext, as_of: date, force: bool) -> None:
    """Write the snapshot from Autotask alone: the objects carrying billsync's markers (D24, D25).

    To recover a lost ``state/``, or to start a copy of the workspace in a new folder. What was billed
    (months applied, their amounts, corrections) is read back from the marked objects.

    \b
    Example:
      billsync state rebuild --as-of 2026-11-25
    """
    day = as_of
    with open_session(ctx) as (workspace, target), workspace_lock(workspace.data_dir, "state rebuild"):
        store = SnapshotStore(workspace.state_dir, target.kinds())
        current = store.load()
        if current.resources and not force:
            raise BillsyncError(
                f"the snapshot in {workspace.state_dir} already holds {len(current.resources)} objects; "
                "nothing was changed",
                hint="Rebuild over it with `billsync state rebuild --force` (it is replaced by what Autotask holds).",
            )
        inputs = replace(plan_inputs(workspace, target, day), snapshot=Snapshot.empty())
        result = make_plan(inputs, target, day)
        snapshot = rebuilt_snapshot(
            result.plan,
            current.lineage or str(uuid.uuid4()),
            current.serial + 1,
            target.kinds(),
            target.identity(),
        )
        store.write(snapshot)
    months = ", ".join(sorted(snapshot.applied_periods)) or "none"
    click.echo(
        f"Rebuilt the snapshot from Autotask: {len(snapshot.resources)} objects, months applied: {months}. "
        f"Snapshot serial {snapshot.serial}."
    )


def _glob(pattern: str | None) -> re.Pattern[str]:
    """``*`` and ``?`` are wildcards; brackets and quotes of addresses match themselves."""
    if pattern is None:
        return re.compile(".*", re.DOTALL)
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)


@state.command("show")
@click.argument("address")
@click.pass_obj
def state_show(ctx: CliContext, address: str) -> None:
    """Show one managed resource as recorded.

    \b
    Example:
      billsync state show 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"]'
    """
    with open_session(ctx) as (workspace, target):
        snapshot = SnapshotStore(workspace.state_dir, target.kinds()).load()
    entry = snapshot.resources.get(address)
    if entry is None:
        raise BillsyncError(
            f"{address} is not in the snapshot", hint="See `billsync state list` for addresses."
        )
    click.echo(json.dumps(entry_to_json(entry), indent=2, sort_keys=True))


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option("--no-git", is_flag=True, help="Do not make the workspace a git repository.")
def init(directory: Path, no_git: bool) -> None:
    """Write a workspace with a copy of the shipped rules, ready to edit, as a git repository.

    The rules come from the installed billsync package. The workspace becomes a git repository
    (unless it already is inside one) whose first commit holds billsync.yaml, the rules and the
    empty state/; .gitignore keeps out .billsync/ (the sandbox, run logs, reports and the lock).

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
    copied = copy_shipped_rules(rules_dir)
    state = directory / "state"
    state.mkdir(exist_ok=True)
    (state / ".gitkeep").touch()
    config.write_text(_INIT_CONFIG, encoding="utf-8")
    gitignore = directory / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text(_GITIGNORE, encoding="utf-8")
    click.echo(
        f"Created a billsync workspace in {directory}: {CONFIG_FILE}, rules/ ({copied} files), state/."
    )
    if no_git:
        return
    if is_repository(directory):
        click.echo("It is inside a git repository already: commit it there when you are ready.")
        return
    try:
        git(directory, "init", "--quiet")
        commit_paths(
            directory,
            [config, gitignore, rules_dir, state],
            "billsync workspace: shipped rules and an empty state\n",
        )
    except BillsyncError as exc:
        click.echo(f"Warning: the workspace is not a git repository: {exc}", err=True)
        return
    click.echo("Made it a git repository; the first commit holds the rules and the empty state.")


def copy_shipped_rules(dest: Path) -> int:
    """Copy the rule files of the installed package (never a checkout's working copy) into ``dest``."""
    dest.mkdir(parents=True)
    count = 0
    for item in sorted(files("rules").iterdir(), key=lambda i: i.name):
        if item.is_file() and item.name.endswith(".yaml"):
            (dest / item.name).write_bytes(item.read_bytes())
            count += 1
    return count


@click.command("force-unlock")
@click.argument("lock_id")
@click.pass_obj
def force_unlock_cmd(ctx: CliContext, lock_id: str) -> None:
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
# Who hears how each `billsync run` went (apprise URLs: Slack, Teams, mailto://, json:// webhooks…);
# ${VAR} is read from the environment, so keep tokens there:
# notify:
#   - "slack://${SLACK_TOKEN}/#billing"
# Run logs under .billsync/logs/ (JSON lines) are kept this many days:
# logs: {keep_days: 30}
"""

_GITIGNORE = """\
# Local to this machine, not billing history: the built-in Autotask sandbox (sandbox.db), run logs
# (logs/), billing reports of runs (reports/) and the apply lock.
.billsync/
"""
