"""Which billing reports a plan covers (D7, D20).

A report becomes available on a date and is exported from the day after. For each month the
latest revision available by the as-of date is the month's truth. A plan covers every month whose
truth has not been applied yet (never applied, or revised since), or exactly the month asked for.

A revision is told apart by its date, or, when the source cannot date it (the Cloudmore API lists no
publications), by its content: a month whose report's digest differs from the digest recorded when
it was applied is revised, dated the day before the as-of date (the first day it could be seen).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter

from engine.errors import PlanError
from engine.source import BillingLine, Report

_LINE_FIELDS = tuple(name for name in BillingLine.model_fields if name != "origin")


@dataclass(frozen=True)
class DueReport:
    """A month in the plan, with the revision that is its truth and whether it revises an applied one."""

    period: str
    report: Report
    revision_of: str | None = None
    """The ``available_on`` (ISO date) of the revision applied before, when this one replaces it."""


def report_digest(report: Report) -> str:
    """A digest of the report's billing lines: their values, not their order or origin."""
    values = attrgetter(*_LINE_FIELDS)
    texts = sorted("\x1f".join(map(str, values(line))) for line in report.lines)
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\x1e")
    return digest.hexdigest()[:16]


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
    applied_digests: Mapping[str, str] | None = None,
) -> list[DueReport]:
    """The months a plan covers, oldest first.

    ``applied`` maps a month to the ``available_on`` of the revision last applied (from the snapshot),
    ``applied_digests`` to its :func:`report_digest`. With ``period`` given, that month alone is
    covered whatever was applied; it must be available.
    """
    latest = {
        month: _redated(report, as_of, applied.get(month), (applied_digests or {}).get(month))
        for month, report in latest_reports(reports, as_of).items()
    }
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


def _redated(report: Report, as_of: date, previous: str | None, digest: str | None) -> Report:
    """The report, dated as a revision when its content differs from the applied one's but its date
    does not say so."""
    if previous is None or digest is None or previous < report.available_on.isoformat():
        return report
    if report_digest(report) == digest:
        return report
    seen = max(as_of - timedelta(days=1), date.fromisoformat(previous) + timedelta(days=1))
    return report.model_copy(update={"available_on": seen})


def _revision_of(report: Report, previous: str | None) -> str | None:
    if previous is None or previous >= report.available_on.isoformat():
        return None
    return previous
