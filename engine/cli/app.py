"""The ``billsync`` group: its options, the commands it holds (billsync's own and the providers'), and the
entry point that turns every error into one paragraph with credentials masked.

The command modules import only :mod:`engine.cli.common` and :mod:`engine.cli.applying`; this module imports
them and adds their commands to the group, never the other way round."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

import click

from engine.cli import onboarding, planning, report, run, workspace
from engine.cli.common import CliContext
from engine.errors import BillsyncError, known_error
from engine.scrub import Scrubber, scrubbed_output
from engine.textsafe import visible, visible_lines
from engine.wiring import extra_command, extra_command_names

__all__ = ["cli", "error_text", "main"]


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
    ctx.obj = CliContext(workspace_dir, debug, no_color)


for _command in (
    planning.plan,
    planning.apply,
    planning.drift,
    planning.show,
    report.report,
    run.run,
    onboarding.import_cmd,
    onboarding.companies,
    workspace.validate,
    workspace.render,
    workspace.state,
    workspace.init,
    workspace.force_unlock_cmd,
):
    cli.add_command(_command)


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
