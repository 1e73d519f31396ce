"""``billsync sandbox``: run or reset the built-in Autotask emulator."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from engine.workspace import open_workspace
from providers.autotask import SANDBOX_DB
from providers.autotask.sandbox import (
    SANDBOX_CREDENTIALS,
    Pace,
    SandboxConfig,
    SandboxCredentials,
    SandboxStore,
    make_app,
    reset,
    serve,
)

__all__ = ["sandbox"]

_DEFAULT_DB = Path(".billsync") / "sandbox.db"


@click.group()
def sandbox() -> None:
    """The built-in Autotask sandbox (an emulator of the Autotask REST API).

    \b
    Examples:
      billsync sandbox serve --port 8080
      billsync sandbox reset
      billsync sandbox post --through 2026-10-31
    """


@sandbox.command("serve")
@click.option("--port", default=8080, show_default=True, help="Port on 127.0.0.1 to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--db", type=click.Path(path_type=Path), default=_DEFAULT_DB, show_default=True, help="SQLite file."
)
@click.option(
    "--username", default=SANDBOX_CREDENTIALS.username, show_default=True, help="Accepted UserName."
)
@click.option("--secret", default=None, help="Accepted Secret (default: the documented sandbox secret).")
@click.option(
    "--integration-code",
    default=SANDBOX_CREDENTIALS.integration_code,
    show_default=True,
    help="Accepted ApiIntegrationCode.",
)
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds each request is held (a real Autotask: about 1 s per page of 500).",
)
@click.option(
    "--write-latency",
    type=click.FloatRange(min=0),
    default=None,
    help="Seconds each create or update is held (default: --latency).",
)
@click.option(
    "--jitter",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Up to this many seconds more.",
)
@click.option(
    "--usage-latency",
    is_flag=True,
    help="Add 0.5-1 s per request once the hourly count passes half of the budget, as Autotask does.",
)
def serve_cmd(
    port: int,
    host: str,
    db: Path,
    username: str,
    secret: str | None,
    integration_code: str,
    latency: float,
    write_latency: float | None,
    jitter: float,
    usage_latency: bool,
) -> None:
    """Serve the sandbox at http://HOST:PORT/ATServicesRest/V1.0/ until interrupted.

    \b
    Example:
      billsync sandbox serve --port 8080 --db .billsync/sandbox.db
      billsync sandbox serve --latency 1 --write-latency 0.3 --usage-latency
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    credentials = SandboxCredentials(
        username=username, secret=secret or SANDBOX_CREDENTIALS.secret, integration_code=integration_code
    )
    pace = Pace(latency=latency, write_latency=write_latency, jitter=jitter, usage_latency=usage_latency)
    config = SandboxConfig(credentials=credentials, pace=pace)
    click.echo(
        f"Autotask sandbox on http://{host}:{port}/ATServicesRest/V1.0/ (database {db}); Ctrl-C stops it."
    )
    click.echo(
        f"Credentials: UserName={username} ApiIntegrationCode={integration_code} Secret=<the sandbox secret>"
    )
    if not pace.instant:
        click.echo(
            f"Pace: {latency:g} s per read, {pace.write_latency if write_latency is not None else latency:g} s "
            f"per write, jitter {jitter:g} s, usage latency {'on' if usage_latency else 'off'}."
        )
    serve(host, port, app=make_app(db, config))


@sandbox.command("reset")
@click.option(
    "--db", type=click.Path(path_type=Path), default=_DEFAULT_DB, show_default=True, help="SQLite file."
)
def reset_cmd(db: Path) -> None:
    """Recreate the seeded demo tenant (everything else in the database is dropped).

    \b
    Example:
      billsync sandbox reset
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    reset(db)
    click.echo(f"Reset the sandbox in {db} to the demo tenant.")


@sandbox.command("post")
@click.option(
    "--through",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Last day to approve and post (YYYY-MM-DD).",
)
@click.option(
    "--db",
    type=click.Path(path_type=Path),
    default=None,
    help="SQLite file (default: the workspace's embedded sandbox, .billsync/sandbox.db).",
)
@click.pass_context
def post_cmd(ctx: click.Context, through: datetime, db: Path | None) -> None:
    """Approve and post recurring billing through a day, as Autotask's Approve & Post does.

    Every ContractServiceUnits row whose billing period ends on or before THROUGH gets an
    approveAndPostDate, and every contract charge dated on or before it is billed. The sandbox then
    refuses adjustments into those periods, contract end dates moved into them and changes to billed
    charges; billsync bills a later change to a posted month as a correction charge in the first
    open month (D27). A served sandbox takes the same as POST /_sandbox/post {"through": "..."}.

    \b
    Example:
      billsync sandbox post --through 2026-10-31
    """
    path = db if db is not None else _embedded_db(ctx)
    if not path.exists():
        raise click.ClickException(f"no sandbox database at {path}: run a plan on the workspace first")
    store = SandboxStore(path)
    try:
        result = store.tenant.post(through.date())
    finally:
        store.close()
    click.echo(
        f"Approved and posted through {result.through.isoformat()} in {path} (approveAndPostDate "
        f"{result.posted_at}); {result.charges_billed} charge(s) marked billed."
    )


def _embedded_db(ctx: click.Context) -> Path:
    """The embedded sandbox of the workspace ``--workspace`` names (refused when it uses another Autotask)."""

    workspace = open_workspace(Path(ctx.find_root().params.get("workspace_dir") or "."))
    if workspace.config.autotask.url is not None or workspace.config.autotask.zone_lookup:
        raise click.ClickException(
            "this workspace uses a configured Autotask, not the embedded sandbox: approve and post in "
            "Autotask itself, or name a sandbox database with --db"
        )
    return workspace.data_dir / SANDBOX_DB
