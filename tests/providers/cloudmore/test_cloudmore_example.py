"""The shipped example bundles hold every case their README documents, with exact amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.source import Report, SourceData
from providers.cloudmore.bundle import read_bundle

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example"


def sub(number: int) -> str:
    return f"6f1c2d3e-0a1b-4c5d-8e9f-{number:012d}"


@pytest.fixture(scope="module")
def october() -> SourceData:
    return read_bundle(EXAMPLE / "2026-10-07")


@pytest.fixture(scope="module")
def november() -> SourceData:
    return read_bundle(EXAMPLE / "2026-11-07")


def _report(data: SourceData, file: str) -> Report:
    (report,) = [report for report in data.reports if report.file == file]
    return report


def _month(report: Report, number: int) -> tuple[int, Decimal, Decimal, int]:
    """(line count, total sales, total cost, highest quantity) of one subscription (D8)."""
    lines = [line for line in report.lines if line.subscription_id == sub(number)]
    return (
        len(lines),
        sum((line.total_sales for line in lines), Decimal(0)),
        sum((line.total_cost for line in lines), Decimal(0)),
        max((line.quantity for line in lines), default=0),
    )


def _subscriptions(data: SourceData) -> dict[str, tuple[int, date, date | None]]:
    return {s.subscription_id: (s.quantity, s.start_date, s.end_date) for s in data.subscriptions}


def test_shape_of_both_exports(october: SourceData, november: SourceData) -> None:
    for data in (october, november):
        assert [o.organization_id for o in data.organizations] == [f"ORG-100{n}" for n in range(1, 7)]
        assert [o.autotask_company_id for o in data.organizations] == [101, 102, 103, 104, 105, None]
        assert {o.currency for o in data.organizations} == {"USD"}
        assert len(data.services) == 14
        assert len(data.price_list) == 31
        assert {line.currency for report in data.reports for line in report.lines} == {"USD"}
    assert len(october.subscriptions) == 20
    assert len(november.subscriptions) == 19
    assert [(r.period, r.available_on, r.file, len(r.lines)) for r in october.reports] == [
        ("2026-09", date(2026, 10, 6), "billing/2026-09.csv", 27)
    ]
    assert [(r.period, r.available_on, r.file, len(r.lines)) for r in november.reports] == [
        ("2026-09", date(2026, 10, 6), "billing/2026-09.csv", 27),
        ("2026-09", date(2026, 10, 20), "billing/2026-09-rev1.csv", 28),
        ("2026-10", date(2026, 11, 6), "billing/2026-10.csv", 24),
    ]
    assert october.reports[0].lines == november.reports[0].lines
    assert october.organizations == november.organizations
    assert october.services == november.services
    assert october.price_list == november.price_list


def test_services_decide_which_organizations_sync(october: SourceData) -> None:
    active = {(s.organization_id, s.service_name) for s in october.services if s.active}
    inactive = {(s.organization_id, s.service_name) for s in october.services if not s.active}
    assert inactive == {("ORG-1004", "Microsoft CSP 365")}
    assert {org for org, name in active if name == "Microsoft Azure"} == {"ORG-1001", "ORG-1003"}
    assert {org for org, name in active if name == "Datto Autotask"} == {f"ORG-100{n}" for n in range(1, 7)}


def test_billed_csp_lines_use_price_list_prices_and_round_to_cents(november: SourceData) -> None:
    prices = {item.product_id: item for item in november.price_list}
    for report in november.reports:
        period = report.period
        for line in report.lines:
            assert line.billing_date.strftime("%Y-%m") == period
            assert line.total_sales == line.total_sales.quantize(Decimal("0.01"))
            assert line.total_cost == line.total_cost.quantize(Decimal("0.01"))
            if line.record_type == "CSP365":
                item = prices[line.product_id]
                assert (line.unit_sales_price, line.unit_cost_price) == (
                    item.unit_sales_price,
                    item.unit_cost_price,
                )
            else:
                assert line.product_id not in prices


def test_case_1_mid_month_quantity_increase(october: SourceData) -> None:
    september = _report(october, "billing/2026-09.csv")
    assert [line.quantity for line in september.lines if line.subscription_id == sub(1)] == [10, 15]
    assert _month(september, 1) == (2, Decimal("156.25"), Decimal("132.82"), 15)


def test_cases_2_and_3_mid_month_start_and_end_next_year(october: SourceData) -> None:
    subscriptions = _subscriptions(october)
    assert subscriptions[sub(2)] == (8, date(2026, 9, 15), date(2027, 9, 14))
    assert subscriptions[sub(3)] == (40, date(2025, 9, 15), date(2027, 9, 14))
    assert _month(_report(october, "billing/2026-09.csv"), 2) == (1, Decimal("93.87"), Decimal("79.79"), 8)


def test_case_4_renewal_moves_the_end_date(october: SourceData, november: SourceData) -> None:
    assert _subscriptions(october)[sub(4)] == (25, date(2024, 11, 1), date(2026, 10, 31))
    assert _subscriptions(november)[sub(4)] == (25, date(2024, 11, 1), date(2027, 10, 31))


def test_case_5_quantity_increase_between_months(november: SourceData) -> None:
    assert _month(_report(november, "billing/2026-09.csv"), 5) == (
        1,
        Decimal("120.00"),
        Decimal("102.00"),
        20,
    )
    assert _month(_report(november, "billing/2026-10.csv"), 5) == (
        1,
        Decimal("150.00"),
        Decimal("127.50"),
        25,
    )


def test_case_6_subscription_disappears(october: SourceData, november: SourceData) -> None:
    assert sub(6) in _subscriptions(october)
    assert sub(6) not in _subscriptions(november)
    assert _month(_report(november, "billing/2026-09.csv"), 6) == (1, Decimal("20.00"), Decimal("17.00"), 5)
    assert _month(_report(november, "billing/2026-10.csv"), 6) == (0, Decimal(0), Decimal(0), 0)


def test_case_7_revised_report_credits_one_subscription(november: SourceData) -> None:
    original = _report(november, "billing/2026-09.csv")
    revised = _report(november, "billing/2026-09-rev1.csv")
    assert _month(original, 7) == (1, Decimal("150.00"), Decimal("127.50"), 12)
    assert _month(revised, 7) == (2, Decimal("125.00"), Decimal("106.25"), 12)
    assert [line.model_dump(exclude={"origin"}) for line in revised.lines[:-1]] == [
        line.model_dump(exclude={"origin"}) for line in original.lines
    ]
    credit = revised.lines[-1]
    assert (credit.subscription_id, credit.quantity, credit.total_sales, credit.origin) == (
        sub(7),
        2,
        Decimal("-25.00"),
        "billing/2026-09-rev1.csv:29",
    )
    assert _month(_report(november, "billing/2026-10.csv"), 7) == (
        1,
        Decimal("125.00"),
        Decimal("106.25"),
        10,
    )


def test_case_8_amount_that_does_not_divide(november: SourceData) -> None:
    for file in ("billing/2026-09.csv", "billing/2026-10.csv"):
        report = _report(november, file)
        (line,) = [line for line in report.lines if line.subscription_id == sub(8)]
        assert (line.quantity, line.total_sales, line.unit_sales_price) == (
            300,
            Decimal("1000.00"),
            Decimal("3.3333"),
        )
        assert line.quantity * line.unit_sales_price != line.total_sales


def test_case_9_unlinked_and_inactive_organizations_are_billed(november: SourceData) -> None:
    for file in ("billing/2026-09.csv", "billing/2026-10.csv"):
        report = _report(november, file)
        unlinked = {line.subscription_id for line in report.lines if line.organization_id == "ORG-1006"}
        inactive = {line.subscription_id for line in report.lines if line.organization_id == "ORG-1004"}
        assert (unlinked, inactive) == ({sub(9)}, {sub(10), sub(19)})
        assert _month(report, 9)[1] == Decimal("75.00")
        assert _month(report, 10)[1] + _month(report, 19)[1] == Decimal("108.00")


def test_case_10_azure_and_other_record_types(november: SourceData) -> None:
    types = {s.subscription_id: (s.record_type, s.product_name) for s in november.subscriptions}
    assert types[sub(11)] == ("Azure", "Azure Plan")
    assert types[sub(12)] == ("Azure", "Azure Plan")
    assert types[sub(13)] == ("Azure", "Azure Classic")
    assert [types[sub(n)][0] for n in (14, 15, 16, 17)] == [
        "Marketplace",
        "ReservedInstance",
        "PerpetualLicense",
        "Subscription",
    ]
    september = _report(november, "billing/2026-09.csv")
    october = _report(november, "billing/2026-10.csv")
    assert _month(september, 11) == (4, Decimal("607.28"), Decimal("528.07"), 1)
    assert _month(october, 11) == (5, Decimal("625.64"), Decimal("544.03"), 1)
    assert _month(september, 12)[:2] == (3, Decimal("1619.06"))
    assert _month(october, 12)[:2] == (3, Decimal("1587.07"))
    assert _month(september, 13)[:2] == (2, Decimal("257.35"))
    assert _month(october, 13)[:2] == (2, Decimal("258.02"))
    for report in (september, october):
        assert _month(report, 14)[:2] == (1, Decimal("228.00"))
        assert _month(report, 15)[:2] == (1, Decimal("280.32"))
        assert _month(report, 17)[:2] == (1, Decimal("201.60"))
    assert _month(september, 16) == (1, Decimal("7436.00"), Decimal("6688.00"), 4)
    assert _month(october, 16)[0] == 0


def test_case_11_active_subscription_without_a_line(november: SourceData) -> None:
    (visio,) = [s for s in november.subscriptions if s.subscription_id == sub(18)]
    assert (visio.status, visio.product_name) == ("Active", "Visio Plan 2")
    assert _month(_report(november, "billing/2026-09.csv"), 18)[:2] == (1, Decimal("45.00"))
    assert _month(_report(november, "billing/2026-10.csv"), 18)[0] == 0
