"""``billsync report``: the billing report finance checks against the Cloudmore invoice."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from engine.apply import check_fresh
from engine.cli.common import (
    CliContext,
    as_of_option,
    open_session,
    period_option,
    plan_inputs,
    read_plan_text,
)
from engine.periods import latest_reports
from engine.plan import plan_from_json
from engine.planner import make_plan
from engine.read_request import read_request
from engine.report.html import render_html
from engine.report.model import BillingReport, build_report
from engine.report.views import render_csv, render_markdown, render_text

FORMATS = {"text": render_text, "md": render_markdown, "csv": render_csv, "html": render_html}


@click.command()
@click.argument("planfile", required=False, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--actual", is_flag=True, help="What Autotask bills now, without the plan.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the report to FILE.")
@as_of_option("Report the months available on this date (default: today).")
@period_option("Report this billing month (YYYY-MM) only.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when a customer month differs.")
@click.pass_obj
def report(
    ctx: CliContext,
    planfile: Path | None,
    actual: bool,
    fmt: str,
    out: Path | None,
    as_of: date,
    period: str | None,
    detailed_exitcode: bool,
) -> None:
    """Cloudmore's sales and cost beside what Autotask bills, per customer and month.

    Billed is computed the way Autotask bills (units x unit price, plus charges) from what Autotask
    holds now plus the plan: the current plan, the saved PLANFILE, or nothing with --actual. The
    difference is 0.00 when a month bills its report; lines left out on purpose are listed with
    the rule that says why (D1, D5, D6, D9).

    \b
    Examples:
      billsync report
      billsync report month.plan --format html --out month.html
      billsync report --actual --format csv --out billed.csv
    """
    the_report = make_report(ctx, planfile, actual, as_of, period)
    text = FORMATS[fmt](the_report)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the {fmt} report to {out}.", err=True)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if detailed_exitcode and the_report.flagged:
        sys.exit(2)


def make_report(
    ctx: CliContext, planfile: Path | None, actual: bool, as_of: date, period: str | None
) -> BillingReport:
    """Read the source, Autotask and the plan, and build the report (writes nothing)."""
    with open_session(ctx) as (workspace, target):
        saved = None
        if planfile is not None:
            saved = plan_from_json(read_plan_text(planfile), target.kinds(), str(planfile))
            day = saved.as_of
        else:
            day = as_of
        inputs = plan_inputs(workspace, target, day)
        if saved is not None:  # a plan applied since would be counted twice: refuse it as apply does
            check_fresh(saved, inputs.snapshot)
        month = period
        result = make_plan(inputs, target, day, month if saved is None else None)
        months = sorted(p for p in latest_reports(inputs.source.reports, day) if month in (None, p))
        objects = target.read(read_request(inputs.snapshot, months, inputs.settings, result.desired)).objects
        the_plan = saved or result.plan
        if actual:
            basis = "in Autotask now"
        elif saved is not None:
            basis = f"after the saved plan {planfile}"
        else:
            basis = "after the plan"
        return build_report(
            inputs.source,
            inputs.settings,
            objects,
            () if actual else the_plan.changes,
            day,
            period=month,
            basis=basis,
            target=target.describe(),
        )
