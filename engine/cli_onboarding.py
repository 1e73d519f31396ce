"""CLI commands for existing Autotask instances and onboarding: ``import`` (D3) and ``companies`` (D2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from engine.cli import _Ctx, _inputs, _session, cli
from engine.errors import BillsyncError
from engine.lock import workspace_lock
from engine.onboarding import export_companies_csv, propose_links
from engine.planner import render_inputs
from engine.snapshot import Entry, Journal, SnapshotStore
from engine.types import parse_address
from rules import default_rules_dir


@cli.command("import")
@click.argument("address")
@click.argument("target_id", type=int)
@click.option("--as-of", "as_of", help="Render the desired state as of this date (default: today).")
@click.pass_obj
def import_cmd(ctx: _Ctx, address: str, target_id: int, as_of: str | None) -> None:
    """Adopt an existing Autotask object (ID) as ADDRESS: billsync manages it from now on (D3).

    The object is recorded in the snapshot; the next plan shows the fields it will change, and the
    next apply writes billsync's identity marker into it.

    \b
    Example:
      billsync import 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"]' 29683001
    """
    kind, key = parse_address(address)
    with _session(ctx) as (workspace, target):
        if kind not in target.kinds() or not key:
            raise BillsyncError(
                f"{address!r} is not an address billsync manages",
                hint=f'Addresses look like contract["<subscription id>"]; kinds: {", ".join(target.kinds())}.',
            )
        with workspace_lock(workspace.data_dir, "import"):
            inputs = _inputs(workspace, target)
            day = date.fromisoformat(as_of) if as_of else date.today()
            desired, _diag, _periods, _live = render_inputs(inputs, target, day, None)
            resource = desired.resources.get(address)
            if resource is None:
                raise BillsyncError(
                    f"no rule renders {address} (as of {day.isoformat()})",
                    hint="Check the address with `billsync render`; only rendered resources can be imported.",
                )
            if address in inputs.snapshot.resources:
                raise BillsyncError(
                    f"{address} is already managed (id {inputs.snapshot.resources[address].target_id})"
                )
            found = target.fetch(kind, target_id, address)
            if found is None:
                raise BillsyncError(f"Autotask has no {target.kinds()[kind].entity} with id {target_id}")
            store = SnapshotStore(workspace.state_dir, target.kinds())
            journal = Journal(store, inputs.snapshot)
            journal.record(
                address,
                Entry(kind, target_id, found.attributes, resource.refs, resource.source, resource.period),
            )
            journal.close()
    click.echo(f"Imported {address} (id {target_id}). Run `billsync plan` to see what billsync will change.")


@cli.group()
def companies() -> None:
    """Onboarding: Autotask companies and Cloudmore organizations (D2)."""


@companies.command("export")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the CSV here (default: stdout)."
)
@click.pass_obj
def companies_export(ctx: _Ctx, out: Path | None) -> None:
    """Write Autotask companies as a Cloudmore organization bulk-import CSV with AutotaskCompanyID.

    \b
    Example:
      billsync companies export --out organizations-import.csv
    """
    with _session(ctx) as (_workspace, target):
        text = export_companies_csv(target.list_companies())
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {len(text.splitlines()) - 1} companies to {out}.")


@companies.command("link")
@click.option("--yes", is_flag=True, help="Write the proposed links without asking.")
@click.pass_obj
def companies_link(ctx: _Ctx, yes: bool) -> None:
    """Propose links for unlinked Cloudmore organizations by exact name; write them when confirmed.

    Names match with case and spaces folded; nothing is linked on a fuzzy match. Confirmed links go
    to rules/companies.yaml (run `billsync init` first to have editable rules).

    \b
    Example:
      billsync companies link
    """
    with _session(ctx) as (workspace, target):
        inputs = _inputs(workspace, target)
        proposals = propose_links(
            inputs.source.organizations, inputs.settings.companies, target.list_companies()
        )
    if not proposals:
        click.echo("Every organization is linked to an Autotask company.")
        return
    table = Table("organization", "name", "autotask company", "why", box=None)
    for p in proposals:
        company = f"{p.company_id} {p.company_name}" if p.company_id is not None else "-"
        table.add_row(p.organization_id, p.organization_name, company, p.reason)
    Console().print(table)
    links = {p.organization_id: p.company_id for p in proposals if p.company_id is not None}
    if not links:
        click.echo("No exact-name match: link these organizations in Cloudmore or in rules/companies.yaml.")
        return
    if workspace.rules_dir == default_rules_dir():
        raise BillsyncError(
            "the workspace uses the shipped rules, which are not edited in place",
            hint="Run `billsync init` to get an editable copy of the rules, then run this again.",
        )
    if not yes and not click.confirm(
        f"Write {len(links)} link(s) to {workspace.display(workspace.companies_file)}?"
    ):
        raise click.Abort()
    merged = {**workspace.load_company_links(), **links}
    header = (
        "# Cloudmore Organization ID -> Autotask company id (D1); written by `billsync companies link`.\n"
    )
    body = yaml.safe_dump({"companies": dict(sorted(merged.items()))}, sort_keys=True)
    workspace.companies_file.write_text(header + body, encoding="utf-8")
    click.echo(f"Wrote {len(links)} link(s) to {workspace.display(workspace.companies_file)}.")
