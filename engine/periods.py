"""Which billing reports a plan covers (D7, D20).

A report becomes available on a date and is exported from the day after. For each month the
latest revision available by the as-of date is the month's truth. A plan covers every month whose
truth has not been applied yet (never applied, or revised since), or exactly the month asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from engine.errors import PlanError
from engine.source import Report


@dataclass(frozen=True)
class DueReport:
    """A month in the plan, with the revision that is its truth and whether it revises an applied one."""

    period: str
    report: Report
    revision_of: str | None = None
    """The ``available_on`` (ISO date) of the revision applied before, when this one replaces it."""


def latest_reports(reports: Iterable[Report], as_of: date) -> dict[str, Report]:
    """Per month, the latest revision exported on or before ``as_of`` (available strictly before it)."""
    latest: dict[str, Report] = {}
    for report in reports:
        if report.available_on >= as_of:
            continue
        current = latest.get(report.period)
        if current is None or report.available_on > current.available_on:
            latest[report.period] = report
    return latest


def due_reports(
    reports: Iterable[Report],
    as_of: date,
    applied: Mapping[str, str],
    period: str | None = None,
) -> list[DueReport]:
    """The months a plan covers, oldest first.

    ``applied`` maps a month to the ``available_on`` of the revision last applied (from the snapshot).
    With ``period`` given, that month alone is covered whatever was applied; it must be available.
    """
    latest = latest_reports(reports, as_of)
    if period is not None:
        report = latest.get(period)
        if report is None:
            known = ", ".join(sorted(latest)) or "none"
            raise PlanError(
                f"no billing report for {period} is available on {as_of.isoformat()} "
                f"(available months: {known})",
                hint="Pick an available month with --period, or a later --as-of date.",
            )
        return [DueReport(period, report, _revision_of(report, applied.get(period)))]
    due = []
    for month in sorted(latest):
        report = latest[month]
        previous = applied.get(month)
        if previous is not None and previous >= report.available_on.isoformat():
            continue
        due.append(DueReport(month, report, _revision_of(report, previous)))
    return due


def _revision_of(report: Report, previous: str | None) -> str | None:
    if previous is None or previous >= report.available_on.isoformat():
        return None
    return previous
