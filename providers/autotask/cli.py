"""``billsync sandbox``: run or reset the built-in Autotask emulator."""

from __future__ import annotations

from pathlib import Path

import click

from providers.autotask.sandbox import (
    SANDBOX_CREDENTIALS,
    SandboxConfig,
    SandboxCredentials,
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
def serve_cmd(
    port: int, host: str, db: Path, username: str, secret: str | None, integration_code: str
) -> None:
    """Serve the sandbox at http://HOST:PORT/ATServicesRest/V1.0/ until interrupted.

    \b
    Example:
      billsync sandbox serve --port 8080 --db .billsync/sandbox.db
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    credentials = SandboxCredentials(
        username=username, secret=secret or SANDBOX_CREDENTIALS.secret, integration_code=integration_code
    )
    config = SandboxConfig(credentials=credentials)
    click.echo(
        f"Autotask sandbox on http://{host}:{port}/ATServicesRest/V1.0/ (database {db}); Ctrl-C stops it."
    )
    click.echo(
        f"Credentials: UserName={username} ApiIntegrationCode={integration_code} Secret=<the sandbox secret>"
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
