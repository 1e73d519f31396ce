"""``billsync run``: the daily job. Plans and applies every due report, tells people, keeps a log.

Exit codes (documented in the README):
  0  the due reports were applied (or nothing was due, without ``--detailed-exitcode``)
  1  an error: nothing was applied, or part of it (the log and the message say which)
  3  nothing was due, with ``--detailed-exitcode``: every available report is already applied
  4  changes are due but nobody approved them: no terminal to ask on and no ``--auto-approve``
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from engine.apply import one_writer, writer_claim
from engine.cli.applying import applied_digests, apply_with_progress, recheck_plan
from engine.cli.common import (
    CliContext,
    as_of_option,
    budget_option,
    open_session,
    plan_inputs,
    print_plan,
)
from engine.errors import BillsyncError
from engine.gitrepo import commit_paths
from engine.lock import workspace_lock
from engine.notify import Message, expand, send, url_secrets
from engine.pacing import DayPart, day_budget, read_days_done, record_day, split_day
from engine.periods import latest_reports
from engine.plan import WRITES
from engine.planner import PlanInputs, PlanResult, make_plan
from engine.provider import Target
from engine.read_request import read_request
from engine.report.html import render_html
from engine.report.model import BillingReport, build_report
from engine.report.views import money
from engine.runlog import RunLog
from engine.snapshot import SnapshotStore
from engine.summary import PlanSummary, summarize, summary_lines
from engine.textsafe import scrub
from engine.workspace import Workspace

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_NOTHING_DUE = 3
EXIT_NEEDS_APPROVAL = 4
REPORT_DIR = "reports"


@dataclass
class Outcome:
    """What a run did, for its summary, its JSON document, its log and its notification."""

    as_of: date
    status: str = "started"
    summary: PlanSummary | None = None
    applied: dict[str, Any] | None = None
    report: BillingReport | None = None
    report_file: Path | None = None
    committed: bool = False
    error: str = ""
    notes: list[str] = field(default_factory=list)
    pace: DayPart | None = None
    """With ``--budget pace``: the day of a first apply split across days that this run applied."""

    def to_json(self, exit_code: int, log: Path) -> dict[str, Any]:
        report = None
        if self.report is not None:
            total = self.report.total
            report = {
                "file": str(self.report_file) if self.report_file else None,
                "months": list(self.report.periods),
                "totals": {
                    name: money(getattr(total, name))
                    for name in ("sales", "cost", "billed", "margin", "unbilled", "difference")
                },
                "flagged": len(self.report.flagged),
            }
        return {
            "status": self.status,
            "exit_code": exit_code,
            "as_of": self.as_of.isoformat(),
            "plan": self.summary.to_json() if self.summary else None,
            "apply": self.applied,
            "report": report,
            "committed": self.committed,
            "error": self.error or None,
            "notes": self.notes,
            "pace": self.pace.to_json() if self.pace is not None else None,
            "log": str(log),
        }


@click.command()
@as_of_option("Apply the reports due on this date (default: today).")
@click.option("--auto-approve", is_flag=True, help="Apply without asking (what a scheduled job needs).")
@budget_option
@click.option("--verbose", "-v", is_flag=True, help="Show the whole plan, field by field, not its summary.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable summary of the run on stdout."
)
@click.option(
    "--commit", is_flag=True, help="Commit state/ to the workspace's git repository after the apply."
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 3 when nothing was due (else 0).")
@click.option(
    "--day-budget",
    type=click.IntRange(min=1),
    help="With --budget pace: the most write requests this run sends; a larger apply is split across "
    "runs, one a day, each keeping every subscription whole (default: 8 hours at half of Autotask's "
    "hourly budget).",
)
@click.pass_obj
def run(
    ctx: CliContext,
    as_of: date,
    auto_approve: bool,
    budget: str,
    verbose: bool,
    as_json: bool,
    commit: bool,
    detailed_exitcode: bool,
    day_budget: int | None,
) -> None:
    """The daily job: plan and apply every billing report that is due and not applied yet (D7).

    Prints the plan's summary (--verbose: the whole plan), applies, writes the billing report to
    .billsync/reports/, logs the run to .billsync/logs/ (JSON lines) and sends the summary to the
    `notify:` URLs of billsync.yaml, or the error when the run fails. A second run the same day
    finds nothing due and writes nothing.

    \b
    Exit codes: 0 applied (or nothing due), 1 error, 3 nothing due (with --detailed-exitcode),
    4 changes due but not approved (no terminal and no --auto-approve).

    With --budget pace, a first apply larger than a day's budget (--day-budget) is applied a day at
    a time: each run applies whole subscriptions up to the budget and stops; the next run continues.

    \b
    Example (cron, every day at 06:00):
      0 6 * * *  cd /srv/billing && billsync run --auto-approve --commit
    """
    workspace = ctx.workspace()
    urls = expand(workspace.config.notify)
    log = RunLog(workspace.data_dir, workspace.config.logs.keep_days, secrets=url_secrets(urls))
    day = as_of
    outcome = Outcome(as_of=day)
    log.event("start", as_of=day.isoformat(), workspace=str(workspace.root), argv=sys.argv[1:])
    try:
        with log.capturing():
            _run(
                ctx, workspace, day, outcome, auto_approve, budget, verbose, as_json, commit, log, day_budget
            )
    except (Exception, KeyboardInterrupt, click.Abort) as exc:
        outcome.status = "failed"
        outcome.error = _error_text(exc)
        log.event("failed", error=outcome.error)
        outcome.notes += send(urls, _message(outcome))
        if as_json:
            _write_json(outcome, EXIT_ERROR, log.path, log.secrets)
        log.close()
        raise
    code = EXIT_OK
    if outcome.status == "nothing due" and detailed_exitcode:
        code = EXIT_NOTHING_DUE
    elif outcome.status == "approval needed":
        code = EXIT_NEEDS_APPROVAL
    outcome.notes += send(urls, _message(outcome))
    for note in outcome.notes:
        click.echo(f"Warning: {note}", err=True)
    log.event("end", status=outcome.status, exit_code=code, notes=outcome.notes)
    log.close()
    if as_json:
        _write_json(outcome, code, log.path, log.secrets)
    if code:
        sys.exit(code)


def _run(
    ctx: CliContext,
    workspace: Workspace,
    day: date,
    outcome: Outcome,
    auto_approve: bool,
    budget: str,
    verbose: bool,
    as_json: bool,
    commit: bool,
    log: RunLog,
    day_writes: int | None = None,
) -> None:
    def say(text: str) -> None:
        click.echo(text, err=as_json)

    with open_session(ctx) as (workspace, target), workspace_lock(workspace.data_dir, "run"):
        inputs = plan_inputs(workspace, target, day)
        names = {o.organization_id: o.name for o in inputs.source.organizations}
        result = make_plan(inputs, target, day)
        the_plan = result.plan
        outcome.summary = summarize(the_plan, names, inputs.source.origin)
        log.event("plan", **outcome.summary.to_json())
        if verbose and not as_json:
            print_plan(the_plan, False)
        else:
            for line in summary_lines(outcome.summary, inputs.settings.currency):
                say(line)
        if not the_plan.has_changes:
            outcome.status = "nothing due"
            say("Nothing due: every available billing report is applied.")
        elif not auto_approve and not sys.stdin.isatty():
            outcome.status = "approval needed"
            say(
                "Nothing was applied: changes are due, and there is no terminal to ask for approval on.\n"
                "Review them (billsync plan, or billsync plan --out due.plan), then approve with\n"
                "  billsync run --auto-approve      (what a scheduled job runs)\n"
                "or apply exactly the reviewed plan with\n"
                "  billsync apply due.plan"
            )
            return
        else:
            if not auto_approve and not click.confirm("Apply these changes to Autotask?", default=False):
                raise click.Abort()
            todo = the_plan
            if budget == "pace" and the_plan.writes:
                capacity = day_writes or day_budget(target.budget())
                outcome.pace = split_day(the_plan, capacity, read_days_done(workspace.data_dir))
                todo = outcome.pace.plan
            claim = writer_claim(str(workspace.root), "run")
            store = SnapshotStore(workspace.state_dir, target.kinds())
            with one_writer(target, store, claim, inputs.settings, todo) as lease:
                if lease is not None:  # another copy may have written since the plan was made (D26)
                    recheck_plan(the_plan, inputs, target, "the plan", result)
                applied = apply_with_progress(
                    workspace,
                    target,
                    todo,
                    budget,
                    quiet=as_json,
                    digests=applied_digests(inputs, the_plan),
                    lease=lease,
                )
            outcome.applied = {
                "written": sum(1 for c in applied.applied if c.action in WRITES),
                "adopted": sum(1 for c in applied.applied if c.action == "adopt"),
                "failed": len(applied.failed),
                "skipped": len(applied.skipped),
                "serial": applied.snapshot.serial if applied.snapshot else None,
                "months": [p.period for p in the_plan.periods] if not todo.targeted else [],
            }
            log.event("applied", **outcome.applied)
            if not applied.ok:
                raise BillsyncError(
                    f"{len(applied.failed)} changes failed and {len(applied.skipped)} were skipped; "
                    "the writes that succeeded are recorded",
                    hint="Fix the cause shown above and run billsync run again: it continues where this one stopped.",
                )
            outcome.status = "applied"
            if outcome.pace is not None:
                record_day(workspace.data_dir, outcome.pace, [p.period for p in the_plan.periods])
                log.event("pace", **outcome.pace.to_json())
                say(outcome.pace.describe())
            if applied.snapshot is not None:
                inputs = replace(inputs, snapshot=applied.snapshot)
        _billing_report(workspace, target, inputs, result, day, outcome)
        if outcome.report is not None:
            log.event("report", **outcome.to_json(0, log.path)["report"])
            say(_totals_line(outcome.report))
        if commit and outcome.status == "applied":
            outcome.committed = commit_paths(workspace.root, [workspace.state_dir], _commit_message(outcome))
            if outcome.committed:
                say(f"Committed {workspace.display(workspace.state_dir)} to git.")
            log.event("commit", committed=outcome.committed)


def _billing_report(
    workspace: Workspace, target: Target, inputs: PlanInputs, result: PlanResult, day: date, outcome: Outcome
) -> None:
    """What Autotask bills now, beside Cloudmore's reports: written as HTML for the notification."""
    months = sorted(latest_reports(inputs.source.reports, day))
    objects = target.read(read_request(inputs.snapshot, months, inputs.settings, result.desired)).objects
    outcome.report = build_report(
        inputs.source,
        inputs.settings,
        objects,
        (),
        day,
        basis="in Autotask after this run",
        target=target.describe(),
    )
    folder = workspace.data_dir / REPORT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    outcome.report_file = folder / f"report-{day.isoformat()}-{stamp}.html"
    outcome.report_file.write_text(render_html(outcome.report), encoding="utf-8")


def _totals_line(report: BillingReport) -> str:
    total = report.total
    flagged = f"; {len(report.flagged)} customer month(s) differ" if report.flagged else ""
    return (
        f"Billed {money(total.billed)} {report.currency} of {money(total.sales)} Cloudmore sales "
        f"({', '.join(report.periods) or 'no month'}): unbilled {money(total.unbilled)}, "
        f"margin {money(total.margin)}, difference {money(total.difference)}{flagged}."
    )


def _commit_message(outcome: Outcome) -> str:
    applied = outcome.applied or {}
    months = ", ".join(applied.get("months", [])) or "no new month"
    lines = [
        f"billsync run {outcome.as_of}: {months}",
        "",
        f"{applied.get('written', 0)} written, {applied.get('adopted', 0)} adopted; "
        f"snapshot serial {applied.get('serial')}.",
    ]
    if outcome.pace is not None:
        lines.append(outcome.pace.describe())
    if outcome.summary is not None:
        for kind, actions in outcome.summary.counts.items():
            lines.append(f"- {kind}: " + ", ".join(f"{n} {a}" for a, n in actions.items()))
    if outcome.report is not None:
        lines += ["", _totals_line(outcome.report)]
    return "\n".join(lines) + "\n"


def _message(outcome: Outcome) -> Message:
    head = f"billsync run {outcome.as_of}: {outcome.status}"
    lines: list[str] = []
    if outcome.error:
        lines += [f"Error: {outcome.error}", ""]
    if outcome.applied is not None:
        a = outcome.applied
        lines.append(
            f"Apply: {a['written']} written, {a['adopted']} adopted, {a['failed']} failed, {a['skipped']} skipped."
        )
    if outcome.pace is not None:
        lines.append(outcome.pace.describe())
    if outcome.report is not None:
        lines.append(_totals_line(outcome.report))
    if outcome.summary is not None:
        lines += ["", *summary_lines(outcome.summary, outcome.report.currency if outcome.report else "")]
    if outcome.report_file is not None:
        lines += ["", f"Report: {outcome.report_file} (attached)"]
    return Message(head, "\n".join(lines), failed=outcome.status == "failed", attachment=outcome.report_file)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, click.Abort):
        return "aborted; nothing was applied"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; the writes made so far are recorded"
    if isinstance(exc, BillsyncError):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


def _write_json(outcome: Outcome, code: int, log: Path, secrets: list[str]) -> None:
    sys.stdout.write(scrub(json.dumps(outcome.to_json(code, log), indent=2, sort_keys=True), secrets) + "\n")
    sys.stdout.flush()
