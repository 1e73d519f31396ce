"""Which billing reports a plan covers: timing (D7) and revisions (D20)."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import PlanError
from engine.periods import DueReport, due_reports, latest_reports
from engine.source import Report, SourceData

SEP = Report(period="2026-09", available_on=date(2026, 10, 6), file="billing/2026-09.csv")
SEP_REV = Report(period="2026-09", available_on=date(2026, 10, 20), file="billing/2026-09-rev1.csv")
OCT = Report(period="2026-10", available_on=date(2026, 11, 6), file="billing/2026-10.csv")
REPORTS = (OCT, SEP_REV, SEP)  # deliberately not in date order


def test_d7_report_is_not_due_on_the_day_it_becomes_available() -> None:
    assert [d.period for d in due_reports(REPORTS, date(2026, 11, 6), {"2026-09": "2026-10-20"})] == []


def test_d7_report_is_due_from_the_day_after_it_becomes_available() -> None:
    due = due_reports(REPORTS, date(2026, 11, 7), {"2026-09": "2026-10-20"})
    assert due == [DueReport("2026-10", OCT, None)]


def test_d7_nothing_is_due_before_the_first_report() -> None:
    assert due_reports(REPORTS, date(2026, 10, 6), {}) == []
    assert due_reports(REPORTS, date(2026, 10, 7), {}) == [DueReport("2026-09", SEP, None)]


def test_d20_latest_revision_available_by_the_as_of_date_wins() -> None:
    assert latest_reports(REPORTS, date(2026, 10, 20)) == {"2026-09": SEP}
    assert latest_reports(REPORTS, date(2026, 10, 21)) == {"2026-09": SEP_REV}
    assert latest_reports(REPORTS, date(2026, 11, 7)) == {"2026-09": SEP_REV, "2026-10": OCT}


def test_d7_every_due_month_not_applied_yet_oldest_first() -> None:
    assert due_reports(REPORTS, date(2026, 11, 7), {}) == [
        DueReport("2026-09", SEP_REV, None),
        DueReport("2026-10", OCT, None),
    ]


def test_d7_applied_months_are_skipped_so_a_second_run_changes_nothing() -> None:
    applied = {"2026-09": "2026-10-20", "2026-10": "2026-11-06"}
    assert due_reports(REPORTS, date(2026, 11, 7), applied) == []
    assert due_reports(REPORTS, date(2026, 12, 31), applied) == []


def test_d20_revision_newer_than_the_applied_one_is_due_again_with_revision_of() -> None:
    due = due_reports(REPORTS, date(2026, 11, 7), {"2026-09": "2026-10-06"})
    assert due == [
        DueReport("2026-09", SEP_REV, revision_of="2026-10-06"),
        DueReport("2026-10", OCT, None),
    ]


def test_period_option_covers_that_month_even_when_applied() -> None:
    due = due_reports(REPORTS, date(2026, 11, 7), {"2026-09": "2026-10-20"}, period="2026-09")
    assert due == [DueReport("2026-09", SEP_REV, None)]
    revised = due_reports(REPORTS, date(2026, 11, 7), {"2026-09": "2026-10-06"}, period="2026-09")
    assert revised == [DueReport("2026-09", SEP_REV, "2026-10-06")]


def test_period_of_an_unavailable_month_raises_naming_the_available_months() -> None:
    with pytest.raises(PlanError) as caught:
        due_reports(REPORTS, date(2026, 11, 6), {}, period="2026-10")
    assert caught.value.message == (
        "no billing report for 2026-10 is available on 2026-11-06 (available months: 2026-09)"
    )
    assert "--period" in caught.value.hint


def test_period_with_no_report_available_at_all_says_none() -> None:
    with pytest.raises(
        PlanError,
        match=r"no billing report for 2026-08 is available on 2026-10-01 \(available months: none\)",
    ):
        due_reports(REPORTS, date(2026, 10, 1), {}, period="2026-08")


def test_example_bundle_november_export(november: SourceData) -> None:
    """The shipped 2026-11-07 export: after 2026-09 was applied from the original report."""
    due = due_reports(november.reports, date(2026, 11, 7), {"2026-09": "2026-10-06"})
    assert [(d.period, d.report.file, d.revision_of) for d in due] == [
        ("2026-09", "billing/2026-09-rev1.csv", "2026-10-06"),
        ("2026-10", "billing/2026-10.csv", None),
    ]
