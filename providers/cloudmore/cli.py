"""``billsync cloudmore-sandbox`` (the Cloudmore emulator), ``billsync export-bundle`` and
``billsync cloudmore capture``."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Protocol

import click

from engine.workspace import Workspace
from providers.cloudmore import api_client, make_source
from providers.cloudmore.api_config import ENV_API_SECRET, ENV_PASSWORD, ENV_USERNAME
from providers.cloudmore.bundle_writer import write_bundle
from providers.cloudmore.capture import capture, check_lines, shown
from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    EmulatorConfig,
    EmulatorCredentials,
)
from providers.cloudmore.emulator import make_app as make_emulator
from providers.cloudmore.emulator import serve as serve_emulator
from providers.cloudmore.source import example_bundle_dir

__all__ = ["cloudmore", "cloudmore_sandbox", "export_bundle"]


class _HasWorkspace(Protocol):
    """What the main ``billsync`` group hands its commands: the ``--workspace`` folder, resolved on demand."""

    def workspace(self) -> Workspace: ...


@click.group("cloudmore-sandbox")
def cloudmore_sandbox() -> None:
    """The Cloudmore emulator: Cloudmore's API serving the data of an export bundle.

    \b
    Example:
      billsync cloudmore-sandbox serve --port 8090 --bundle cloudmore/2026-11-07
    """


@cloudmore_sandbox.command("serve")
@click.option("--port", default=8090, show_default=True, help="Port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--bundle",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Export bundle folder to serve (default: the example bundle shipped with billsync).",
)
@click.option(
    "--reseller-id", default=EMULATOR_RESELLER_ID, show_default=True, help="The reseller id it serves."
)
@click.option(
    "--report-polls",
    default=0,
    show_default=True,
    type=click.IntRange(min=0),
    help="Status polls during which each billing report is still being generated.",
)
def serve_cmd(port: int, host: str, bundle: Path | None, reseller_id: str, report_polls: int) -> None:
    """Serve the emulator at http://HOST:PORT until interrupted.

    It accepts the API user in CLOUDMORE_API_SECRET, CLOUDMORE_USERNAME and CLOUDMORE_PASSWORD when
    they are set, otherwise the emulator's documented user. Point billsync at it in billsync.yaml:

    \b
      cloudmore:
        api: {url: "http://127.0.0.1:8090", reseller_id: "<the reseller id printed>"}

    (the example bundle's reports are available on the 6th from 2026-09: add
    availability_day: 6 and first_period: "2026-09" to plan them as the bundle does)

    \b
    Example:
      billsync cloudmore-sandbox serve --port 8090 --bundle cloudmore/2026-11-07
    """
    folder = bundle if bundle is not None else example_bundle_dir()
    credentials = _credentials()
    config = EmulatorConfig(credentials=credentials, reseller_id=reseller_id, report_polls=report_polls)
    app = make_emulator(folder, config)
    click.echo(
        f"Cloudmore emulator on http://{host}:{port} serving {folder} as reseller {reseller_id}; Ctrl-C stops it."
    )
    if credentials is EMULATOR_CREDENTIALS:
        click.echo(
            f"API user: the emulator's documented one; set {ENV_API_SECRET}, {ENV_USERNAME} and {ENV_PASSWORD} "
            "to those values for billsync (see providers/cloudmore/emulator)."
        )
    else:
        click.echo(f"API user: the one in {ENV_API_SECRET}, {ENV_USERNAME} and {ENV_PASSWORD}.")
    serve_emulator(app, host, port)


def _credentials() -> EmulatorCredentials:
    """The API user from the environment when all three variables are set, else the documented one."""
    values = [os.environ.get(name, "") for name in (ENV_API_SECRET, ENV_USERNAME, ENV_PASSWORD)]
    if all(values):
        return EmulatorCredentials(
            api_secret=values[0].strip(), username=values[1].strip(), password=values[2]
        )
    return EMULATOR_CREDENTIALS


@click.command("export-bundle")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--as-of",
    "as_of",
    help="With cloudmore.api: the reports of the months due on this date (default: today).",
)
@click.pass_obj
def export_bundle(ctx: _HasWorkspace, directory: Path, as_of: str | None) -> None:
    """Write what the workspace's Cloudmore source holds today as an export bundle in DIRECTORY.

    With cloudmore.api in billsync.yaml this keeps a dated copy of the API's data that
    `cloudmore.bundle` can read back; DIRECTORY must be new or empty.

    \b
    Example:
      billsync export-bundle cloudmore/2026-11-07
    """
    source = make_source(ctx.workspace())
    data = source.load(_day(as_of))
    files = write_bundle(data, directory)
    lines = sum(len(report.lines) for report in data.reports)
    click.echo(
        f"Wrote {len(files)} files to {directory} from {source.describe()}: {len(data.organizations)} organizations, "
        f"{len(data.subscriptions)} subscriptions, {len(data.price_list)} price-list items, "
        f"{len(data.reports)} billing reports ({lines} lines)."
    )


@click.group("cloudmore")
def cloudmore() -> None:
    """Work with the Cloudmore API named in billsync.yaml (cloudmore.api)."""


@cloudmore.command("capture")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--as-of", "as_of", help="Capture the report of the latest month due on this date (default: today)."
)
@click.pass_obj
def capture_cmd(ctx: _HasWorkspace, directory: Path, as_of: str | None) -> None:
    """Save Cloudmore's answers to every call billsync makes, redacted, and check the JSON names on them.

    Read-only: the first page of each list, one organization, one price list of an organization and
    one monthly report. Tokens, secrets and personal data are replaced by "[redacted]", so DIRECTORY
    can be shared. Then every name of the mapping is listed as found, missing, not seen or sent
    (the same list is saved as mapping-check.txt). DIRECTORY must be new or empty.

    \b
    Example:
      billsync cloudmore capture cloudmore-capture
    """
    client, schedule = api_client(ctx.workspace(), max_pages=1)
    try:
        result = capture(client, schedule, _day(as_of), directory)
    finally:
        client.close()
    click.echo(f"Saved {len(result.files)} files in {shown(str(directory))}:")
    for line in check_lines(result):
        click.echo(line)


def _day(as_of: str | None) -> date:
    if as_of is None:
        return date.today()
    try:
        return date.fromisoformat(as_of)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {as_of!r}", param_hint="--as-of") from None
