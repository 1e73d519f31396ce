"""CLI commands for existing Autotask instances and onboarding: ``import`` (D3) and ``companies`` (D2).

``companies export`` and ``companies link`` write files by default; with ``--to cloudmore`` they write
Cloudmore itself through the source's :class:`~engine.provider.OrganizationDirectory` (the API source).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
import yaml
from rich.table import Table
from rich.text import Text

from engine.cli.common import CliContext, as_of_option, make_console, open_session, plan_inputs
from engine.errors import BillsyncError, ConfigError
from engine.lock import workspace_lock
from engine.onboarding import (
    LinkProposal,
    NewOrganization,
    create_organizations,
    exported_companies,
    organization_plan_text,
    plan_organizations,
    propose_links,
    write_links,
)
from engine.planner import render_inputs
from engine.provider import OrganizationDirectory
from engine.snapshot import IMPORTED, Entry, Journal, SnapshotStore
from engine.tenant import check_tenant
from engine.textsafe import visible
from engine.types import parse_address
from engine.wiring import make_source, organization_import_csv
from engine.workspace import Workspace
from rules import default_rules_dir

_TO = click.Choice(["cloudmore"])


@click.command("import")
@click.argument("address")
@click.argument("target_id", type=int)
@as_of_option("Render the desired state as of this date (default: today).")
@click.pass_obj
def import_cmd(ctx: CliContext, address: str, target_id: int, as_of: date) -> None:
    """Adopt an existing Autotask object (ID) as ADDRESS: billsync manages it from now on (D3).

    The object is recorded in the snapshot; the next plan shows the fields it will change, and the
    next apply writes billsync's identity marker into it.

    \b
    Example:
      billsync import 'contract["6f1c2d3e-0a1b-4c5d-8e9f-000000000001"]' 29683001
    """
    kind, key = parse_address(address)
    with open_session(ctx) as (workspace, target):
        if kind not in target.kinds() or not key:
            raise BillsyncError(
                f"{address!r} is not an address billsync manages",
                hint=f'Addresses look like contract["<subscription id>"]; kinds: {", ".join(target.kinds())}.',
            )
        with workspace_lock(workspace.data_dir, "import"):
            day = as_of
            inputs = plan_inputs(workspace, target, day, digest=False)
            desired, _diag, _periods, _live = render_inputs(inputs, target, day, None)
            resource = desired.resources.get(address)
            if resource is None:
                raise BillsyncError(
                    f"no rule renders {address} (as of {day.isoformat()})",
                    hint="Check the address with `billsync render`; only rendered resources can be imported.",
                )
            if address in inputs.snapshot.resources:
                raise BillsyncError(
                    f"{address} is already managed (id {inputs.snapshot.resources[address].found_id})"
                )
            found = target.fetch(kind, target_id, address)
            if found is None:
                raise BillsyncError(f"Autotask has no {target.kinds()[kind].entity} with id {target_id}")
            tenant = target.identity()
            check_tenant(inputs.snapshot.tenant, tenant)
            store = SnapshotStore(workspace.state_dir, target.kinds())
            journal = Journal(store, inputs.snapshot, tenant=tenant)
            source = {**resource.source, IMPORTED: "billsync import"}  # may lack the marker (D25)
            journal.record(
                address, Entry(kind, target_id, found.attributes, resource.refs, source, resource.period)
            )
            journal.close()
    click.echo(f"Imported {address} (id {target_id}). Run `billsync plan` to see what billsync will change.")


@click.group()
def companies() -> None:
    """Onboarding: Autotask companies and Cloudmore organizations (D2)."""


def _directory(workspace: Workspace, command: str, otherwise: str) -> OrganizationDirectory:
    """The workspace's Cloudmore source as an organization directory, or a clear error if it is read-only."""
    source = make_source(workspace)
    if not isinstance(source, OrganizationDirectory):
        raise ConfigError(
            f"`billsync {command} --to cloudmore` writes organizations through Cloudmore's API, but this "
            f"workspace reads Cloudmore from an export bundle ({source.describe()}), which cannot be written",
            hint="Configure the API source in billsync.yaml (cloudmore: {api: {url: ..., reseller_id: ...}}, "
            f"with the API user in the CLOUDMORE_* environment variables), or leave out --to cloudmore {otherwise}.",
        )
    return source


@companies.command("export")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the CSV here (default: stdout)."
)
@click.option(
    "--to",
    "to",
    type=_TO,
    help="Create the missing organizations in Cloudmore through its API instead of writing a CSV.",
)
@click.option("--auto-approve", is_flag=True, help="With --to cloudmore: create them without asking.")
@click.pass_obj
def companies_export(ctx: CliContext, out: Path | None, to: str | None, auto_approve: bool) -> None:
    """Write Autotask companies as a Cloudmore organization bulk-import CSV with AutotaskCompanyID.

    With --to cloudmore (the Cloudmore API source), plan instead the organizations to create in
    Cloudmore, one per active customer company no organization is linked to, each carrying
    AutotaskCompanyID, and create them once confirmed. A re-run plans only what is still missing.

    \b
    Examples:
      billsync companies export --out organizations-import.csv
      billsync companies export --to cloudmore
    """
    if to is None:
        if auto_approve:
            raise click.UsageError("--auto-approve is for --to cloudmore; the CSV is written without asking.")
        with open_session(ctx) as (_workspace, target):
            text = organization_import_csv(exported_companies(target.list_companies()))
        if out is None:
            click.echo(text, nl=False)
        else:
            out.write_text(text, encoding="utf-8")
            click.echo(f"Wrote {len(text.splitlines()) - 1} companies to {out}.")
        return
    if out is not None:
        raise click.UsageError("--out names the CSV file; with --to cloudmore nothing is written to a file.")
    workspace = ctx.workspace()
    directory = _directory(workspace, "companies export", "to write the bulk-import CSV instead")
    try:
        with workspace_lock(workspace.data_dir, "companies export"):
            linked = workspace.load_settings().companies
            with open_session(ctx) as (_workspace, target):
                companies_list = target.list_companies()
            plan = plan_organizations(companies_list, directory.list_organizations(), linked)
            click.echo(organization_plan_text(plan, directory.describe()), nl=False)
            if not plan.create:
                return
            if not auto_approve and not click.confirm(
                "Create these organizations in Cloudmore?", default=False
            ):
                raise click.Abort()

            def created(new: NewOrganization, organization_id: str) -> None:
                click.echo(
                    f"Created organization {organization_id} for Autotask company {new.company_id} ({new.name})."
                )

            count = create_organizations(directory, plan, created)
        click.echo(f"Export complete: {count} organization{'' if count == 1 else 's'} created in Cloudmore.")
    finally:
        directory.close()


@companies.command("link")
@click.option("--yes", is_flag=True, help="Write the proposed links without asking.")
@click.option(
    "--to",
    "to",
    type=_TO,
    help="Write the links to the organizations' AutotaskCompanyID custom property in Cloudmore instead.",
)
@click.pass_obj
def companies_link(ctx: CliContext, yes: bool, to: str | None) -> None:
    """Propose links for unlinked Cloudmore organizations by exact name; write them when confirmed.

    Names match with case and spaces folded; nothing is linked on a fuzzy match. Confirmed links go
    to rules/companies.yaml (run `billsync init` first to have editable rules), or with --to cloudmore
    (the Cloudmore API source) to each organization's AutotaskCompanyID custom property in Cloudmore.

    \b
    Examples:
      billsync companies link
      billsync companies link --to cloudmore
    """
    if to is not None:
        _link_in_cloudmore(ctx, yes)
        return
    with open_session(ctx) as (workspace, target):
        inputs = plan_inputs(workspace, target, digest=False)
        proposals = propose_links(
            inputs.source.organizations, inputs.settings.companies, target.list_companies()
        )
    links = {p.organization_id: p.company_id for p in _show_proposals(proposals) if p.company_id is not None}
    if not links:
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


def _link_in_cloudmore(ctx: CliContext, yes: bool) -> None:
    """``companies link --to cloudmore``: one custom-property write per confirmed organization."""
    workspace = ctx.workspace()
    directory = _directory(workspace, "companies link", "to write the links to rules/companies.yaml instead")
    try:
        linked = workspace.load_settings().companies
        with open_session(ctx) as (_workspace, target):
            companies_list = target.list_companies()
        proposals = _show_proposals(propose_links(directory.list_organizations(), linked, companies_list))
        count = sum(1 for p in proposals if p.company_id is not None)
        if not count:
            return
        if not yes and not click.confirm(
            f"Write {count} link(s) to the AutotaskCompanyID custom property in {directory.describe()}?"
        ):
            raise click.Abort()

        def written(p: LinkProposal) -> None:
            click.echo(
                visible(
                    f"Linked {p.organization_id} ({p.organization_name}) to Autotask company {p.company_id}."
                )
            )

        write_links(directory, proposals, written)
        click.echo(f"Wrote {count} link(s) to Cloudmore.")
    finally:
        directory.close()


def _show_proposals(proposals: list[LinkProposal]) -> list[LinkProposal]:
    """Print the proposals as a table (or that every organization is linked); return them."""
    if not proposals:
        click.echo("Every organization is linked to an Autotask company.")
        return proposals
    table = Table("organization", "name", "autotask company", "why", box=None)
    for p in proposals:
        company = f"{p.company_id} {p.company_name}" if p.company_id is not None else "-"
        table.add_row(
            *(Text(visible(cell)) for cell in (p.organization_id, p.organization_name, company, p.reason))
        )
    make_console().print(table)
    if all(p.company_id is None for p in proposals):
        click.echo("No exact-name match: link these organizations in Cloudmore or in rules/companies.yaml.")
    return proposals
