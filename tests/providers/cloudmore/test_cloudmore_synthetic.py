"""The synthetic bundle generator: deterministic, exact proportions, realistic cases, readable."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from bench.synthetic import GeneratedBundle, generate_bundle
from engine.source import BillingLine, SourceData
from providers.cloudmore.bundle import read_bundle

N = 1000


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedBundle, SourceData]:
    bundle = generate_bundle(tmp_path_factory.mktemp("synthetic") / "bundle", subscriptions=N, seed=7)
    return bundle, read_bundle(bundle.path)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory: pytest.TempPathFactory) -> tuple[GeneratedBundle, SourceData]:
    bundle = generate_bundle(
        tmp_path_factory.mktemp("synthetic") / "bundle", subscriptions=N, seed=7, through="2026-09"
    )
    return bundle, read_bundle(bundle.path)


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*.csv"))}


def _by_subscription(lines: tuple[BillingLine, ...]) -> dict[str, list[BillingLine]]:
    result: dict[str, list[BillingLine]] = defaultdict(list)
    for line in lines:
        result[line.subscription_id].append(line)
    return result


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    first = generate_bundle(tmp_path / "a", subscriptions=300, seed=3)
    second = generate_bundle(tmp_path / "b", subscriptions=300, seed=3)
    other = generate_bundle(tmp_path / "c", subscriptions=300, seed=4)
    assert _files(first.path) == _files(second.path)
    assert (first.companies, first.billing_lines) == (second.companies, second.billing_lines)
    assert _files(first.path)["subscriptions.csv"] != _files(other.path)["subscriptions.csv"]
    assert sorted(_files(first.path)) == [
        "billing/2026-09.csv",
        "billing/2026-10.csv",
        "organizations.csv",
        "price-list.csv",
        "reports.csv",
        "services.csv",
        "subscriptions.csv",
    ]


def test_counts_and_company_links(generated: tuple[GeneratedBundle, SourceData]) -> None:
    bundle, data = generated
    assert bundle.subscriptions == len(data.subscriptions) == N
    assert len({s.subscription_id for s in data.subscriptions}) == N
    assert len(data.organizations) == N // 10
    assert bundle.companies == tuple((1000 + i, o.name) for i, o in enumerate(data.organizations))
    assert [o.autotask_company_id for o in data.organizations] == list(range(1000, 1000 + N // 10))
    assert len({o.name for o in data.organizations}) == N // 10
    assert Counter(s.record_type for s in data.subscriptions) == {
        "CSP365": 700,
        "Azure": 150,
        "Marketplace": 50,
        "ReservedInstance": 40,
        "PerpetualLicense": 30,
        "Subscription": 30,
    }
    assert [(r.period, r.available_on, r.file) for r in data.reports] == [
        ("2026-09", date(2026, 10, 6), "billing/2026-09.csv"),
        ("2026-10", date(2026, 11, 6), "billing/2026-10.csv"),
    ]
    assert bundle.billing_lines == sum(len(r.lines) for r in data.reports)
    assert bundle.periods == ("2026-09", "2026-10")


def test_first_company_id_and_smallest_bundle(tmp_path: Path) -> None:
    bundle = generate_bundle(tmp_path / "one", subscriptions=1, seed=0, first_company_id=29_000_000)
    data = read_bundle(bundle.path)
    assert len(data.subscriptions) == 1
    assert [(o.autotask_company_id, o.name) for o in data.organizations] == [
        (company, name) for company, name in bundle.companies
    ]
    assert bundle.companies[0][0] == 29_000_000


def test_price_list_is_larger_than_what_is_billed_and_prices_csp_lines(
    generated: tuple[GeneratedBundle, SourceData],
) -> None:
    _, data = generated
    prices = {item.product_id: item for item in data.price_list}
    billed = {line.product_id for r in data.reports for line in r.lines if line.record_type == "CSP365"}
    assert billed < set(prices)
    for report in data.reports:
        for line in report.lines:
            if line.record_type == "CSP365":
                item = prices[line.product_id]
                assert (line.unit_cost_price, line.unit_sales_price) == (
                    item.unit_cost_price,
                    item.unit_sales_price,
                )
            assert line.billing_date.strftime("%Y-%m") == report.period
            assert line.total_sales == line.total_sales.quantize(Decimal("0.01"))


def test_csp_lines_are_prorated_to_the_cent(generated: tuple[GeneratedBundle, SourceData]) -> None:
    _, data = generated
    starts = {s.subscription_id: s.start_date for s in data.subscriptions}
    prorated = 0
    for report in data.reports:
        for subscription_id, lines in _by_subscription(report.lines).items():
            if lines[0].record_type != "CSP365":
                continue
            days = calendar.monthrange(lines[0].billing_date.year, lines[0].billing_date.month)[1]
            ends = [line.billing_date.day - 1 for line in lines[1:]] + [days]
            for line, last_day in zip(lines, ends, strict=True):
                share = Decimal(last_day - line.billing_date.day + 1) / days
                expected = (line.quantity * line.unit_sales_price * share).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
                assert line.total_sales == expected
            if starts.get(subscription_id) == lines[0].billing_date and lines[0].billing_date.day > 1:
                prorated += 1
    assert prorated > 0


def test_realistic_cases_are_present(generated: tuple[GeneratedBundle, SourceData]) -> None:
    _, data = generated
    september, october = (_by_subscription(r.lines) for r in data.reports)
    subscriptions = {s.subscription_id: s for s in data.subscriptions}
    csp = [s for s in subscriptions.values() if s.record_type == "CSP365"]
    mid_month = [k for k, lines in september.items() if lines[0].record_type == "CSP365" and len(lines) == 2]
    assert mid_month and all(september[k][0].quantity < september[k][1].quantity for k in mid_month)
    between = [
        s.subscription_id
        for s in csp
        if s.subscription_id in september
        and s.subscription_id in october
        and max(x.quantity for x in september[s.subscription_id])
        != max(x.quantity for x in october[s.subscription_id])
    ]
    assert between
    cancelled = [s for s in subscriptions.values() if s.status == "Cancelled"]
    assert cancelled
    for subscription in cancelled:
        assert subscription.subscription_id in september and subscription.subscription_id not in october
        assert subscription.end_date == date(2026, 9, 30)
    started_in_october = [s for s in subscriptions.values() if s.start_date >= date(2026, 10, 8)]
    assert started_in_october and all(s.subscription_id not in september for s in started_in_october)
    azure = [k for k, lines in september.items() if lines[0].record_type == "Azure"]
    assert max(len(september[k]) for k in azure) > 1
    assert {line.quantity for k in azure for line in september[k]} == {1}
    assert {s.product_name for s in subscriptions.values() if s.record_type == "Azure"} == {
        "Azure Plan",
        "Azure Classic",
    }
    for subscription in subscriptions.values():
        if subscription.record_type == "PerpetualLicense":
            key = subscription.subscription_id
            assert (key in september) + (key in october) == 1
            assert subscription.end_date is None
    inactive = [s for s in data.services if s.service_name == "Microsoft CSP 365" and not s.active]
    assert inactive


def test_an_earlier_export_of_the_same_seed_is_consistent(
    generated: tuple[GeneratedBundle, SourceData], earlier: tuple[GeneratedBundle, SourceData]
) -> None:
    later_bundle, later = generated
    earlier_bundle, before = earlier
    assert earlier_bundle.periods == ("2026-09",)
    assert [(r.period, r.available_on) for r in before.reports] == [("2026-09", date(2026, 10, 6))]
    same = ("billing/2026-09.csv", "organizations.csv", "price-list.csv", "services.csv")
    assert {k: v for k, v in _files(earlier_bundle.path).items() if k in same} == {
        k: v for k, v in _files(later_bundle.path).items() if k in same
    }
    old = {s.subscription_id: s for s in before.subscriptions}
    new = {s.subscription_id: s for s in later.subscriptions}
    assert set(old) < set(new)
    assert earlier_bundle.subscriptions == len(old) < N
    ends = {k: (old[k].end_date, new[k].end_date) for k in old}
    renewed = {
        k: (before_end, after_end) for k, (before_end, after_end) in ends.items() if before_end != after_end
    }
    assert renewed
    for key, (before_end, after_end) in renewed.items():
        assert old[key].status == "Active"
        assert before_end is not None and after_end is not None
        assert date(2026, 10, 7) <= before_end < date(2026, 11, 7) <= after_end
    cancelled = {k for k in old if old[k].status == "Cancelled"}
    assert cancelled and cancelled == {k for k in new if new[k].status == "Cancelled"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"subscriptions": 0}, "subscriptions must be at least 1"),
        (
            {"subscriptions": 5, "periods": ("2026-10", "2026-09")},
            "periods must be increasing YYYY-MM months",
        ),
        ({"subscriptions": 5, "periods": ("2026-13",)}, "periods must be increasing YYYY-MM months"),
        ({"subscriptions": 5, "through": "2026-08"}, "through must be one of"),
    ],
)
def test_bad_arguments(tmp_path: Path, arguments: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        generate_bundle(tmp_path, **arguments)  # type: ignore[arg-type]
