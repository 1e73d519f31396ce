"""The ``billsync`` command line (click): plan and apply billing like Terraform plans infrastructure.

:mod:`engine.cli.app` builds the group from one module per command family (planning, run, report,
onboarding, workspace); those share :mod:`engine.cli.common` (context, options, session, plan printer) and
:mod:`engine.cli.applying` (apply with progress)."""

from engine.cli.app import cli, error_text, main

__all__ = ["cli", "error_text", "main"]
