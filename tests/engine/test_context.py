"""From the source model to loop items: company links (D1), record types (D5), active services (D6),
currency (D9) and billed products only (D11)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.billing import MonthBill
from engine.context import Correction, Diagnostic, Item, build_render_input, company_of, months_between
from engine.periods import DueReport, due_reports
from engine.settings import RecordTypes, Settings
from engine.snapshot import Entry, Snapshot
from engine.source import (
    BillingLine,
    Organization,
    OrganizationService,
    PriceListItem,
    RecordType,
    Report,
    SourceData,
    Subscription,
)


def org(oid: str, name: str, company: int | None) -> Organization:
    return Organization(organization_id=oid, name=name, autotask_company_id=company, currency="USD")


def service(oid: str, name: str = "Microsoft CSP 365", active: bool = True) -> OrganizationService:
    return OrganizationService(organization_id=oid, service_name=name, active=active)


def sub(
    sid: str,
    oid: str,
    product_id: str = "P-1",
    record_type: RecordType = "CSP365",
    start: date = date(2026, 1, 15),
    end: date | None = date(2027, 1, 14),
) -> Subscription:
    return Subscription(
        subscription_id=sid,
        organization_id=oid,
        record_type=record_type,
        product_id=product_id,
        product_name=f"Product {product_id}",
        quantity=1,
        start_date=start,
        end_date=end,
    )


def price(product_id: str, cost: str, sales: str) -> PriceListItem:
    return PriceListItem(
        product_id=product_id,
        product_name=f"Product {product_id}",
        unit_cost_price=Decimal(cost),
        unit_sales_price=Decimal(sales),
        currency="USD",
    )


def bline(
    sid: str,
    oid: str,
    quantity: int,
    sales: str,
    product_id: str = "P-1",
    currency: str = "USD",
    record_type: RecordType = "CSP365",
) -> BillingLine:
    return BillingLine(
        billing_date=date(2026, 9, 1),
        service_name="Microsoft CSP 365",
        organization_id=oid,
        product_name=f"Product {product_id}",
        product_id=product_id,
        quantity=quantity,
        unit_cost_price=Decimal("0"),
        unit_sales_price=Decimal("0"),
        total_cost=Decimal(sales) * Decimal("0.85"),
        total_sales=Decimal(sales),
        currency=currency,
        subscription_id=sid,
        record_type=record_type,
    )


def make_settings(**changes: Any) -> Settings:
    return Settings(
        currency="USD", sla_id=1, service_billing_code_id=2001, product_billing_code_id=2002, **changes
    )


def september(*lines: BillingLine) -> list[DueReport]:
    report = Report(period="2026-09", available_on=date(2026, 10, 6), file="billing/2026-09.csv", lines=lines)
    return [DueReport("2026-09", report)]


def subscription_ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["sub"].subscription_id for item in items]


# Two linked organizations, one unlinked one.
ORGS = (
    org("ORG-1", "Contoso Ltd", 101),
    org("ORG-2", "Fabrikam Inc", 102),
    org("ORG-6", "Wingtip Toys", None),
)
SERVICES = (service("ORG-1"), service("ORG-2"), service("ORG-6"))
SUBS = (sub("S-1", "ORG-1"), sub("S-2", "ORG-2", "P-2"), sub("S-6", "ORG-6"), sub("S-7", "ORG-6"))
PRICES = (
    price("P-1", "10.6250", "12.5000"),
    price("P-2", "18.7000", "22.0000"),
    price("P-3", "1.0000", "2.0000"),
)
LINES = (
    bline("S-1", "ORG-1", 10, "125.00"),
    bline("S-2", "ORG-2", 2, "44.00", "P-2"),
    bline("S-6", "ORG-6", 6, "75.00"),
    bline("S-7", "ORG-6", 2, "25.50"),
)


def base_source(**changes: Any) -> SourceData:
    values: dict[str, Any] = {
        "organizations": ORGS,
        "services": SERVICES,
        "subscriptions": SUBS,
        "price_list": PRICES,
    }
    values.update(changes)
    return SourceData(**values)


# -- D1 -----------------------------------------------------------------------------------------------


def test_d1_unlinked_organization_is_a_warning_with_the_unbilled_amount_and_renders_nothing() -> None:
    result = build_render_input(base_source(), make_settings(), september(*LINES))
    assert result.diagnostics == [
        Diagnostic(
            "warning",
            "unlinked",
            "organization ORG-6 (Wingtip Toys) has no AutotaskCompanyID: 100.50 USD left unbilled (D1)",
            "ORG-6",
            Decimal("100.50"),
        )
    ]
    assert subscription_ids(result.items["CSP365"]["subscriptions"]) == ["S-1", "S-2"]
    assert subscription_ids(result.items["CSP365"]["subscription_months"]) == ["S-1", "S-2"]


def test_d1_settings_companies_link_an_unlinked_organization() -> None:
    settings = make_settings(companies={"ORG-6": 106})
    result = build_render_input(base_source(), settings, september(*LINES))
    assert result.diagnostics == []
    items = result.items["CSP365"]["subscriptions"]
    assert [(i["sub"].subscription_id, i["company_id"]) for i in items] == [
        ("S-1", 101),
        ("S-2", 102),
        ("S-6", 106),
        ("S-7", 106),
    ]
    assert result.live_subscriptions == {"S-1", "S-2", "S-6", "S-7"}


def test_d1_settings_companies_override_the_autotask_company_id() -> None:
    settings = make_settings(companies={"ORG-1": 555})
    assert company_of(ORGS[0], settings) == 555
    assert company_of(ORGS[1], settings) == 102
    assert company_of(ORGS[2], settings) is None
    result = build_render_input(base_source(), settings, september(*LINES))
    assert [i["company_id"] for i in result.items["CSP365"]["subscriptions"]] == [555, 102]


# -- D5 -----------------------------------------------------------------------------------------------


def test_d5_record_type_that_is_off_produces_no_items() -> None:
    source = base_source(subscriptions=(*SUBS, sub("S-9", "ORG-1", "AZ", "Azure", end=None)))
    lines = (*LINES, bline("S-9", "ORG-1", 1, "99.99", "AZ", record_type="Azure"))
    settings = make_settings(record_types=RecordTypes(csp365=False))
    result = build_render_input(source, settings, september(*lines))
    assert sorted(result.items) == ["Azure"]
    assert subscription_ids(result.items["Azure"]["subscriptions"]) == ["S-9"]
    # A type that is off is left alone: its subscriptions are still live, never orphans.
    assert {"S-1", "S-2"} <= result.live_subscriptions


# -- D6 -----------------------------------------------------------------------------------------------


def test_d6_organization_without_an_active_csp_or_azure_service_renders_nothing_and_warns() -> None:
    services = (
        service("ORG-1"),
        service("ORG-2", active=False),
        service("ORG-2", "Datto Autotask"),
        service("ORG-6"),
    )
    result = build_render_input(
        base_source(services=services), make_settings(companies={"ORG-6": 106}), september(*LINES)
    )
    assert result.diagnostics == [
        Diagnostic(
            "warning",
            "inactive",
            "organization ORG-2 (Fabrikam Inc) has no active CSP 365 or Azure service: 44.00 USD not synced (D6)",
            "ORG-2",
            Decimal("44.00"),
        )
    ]
    assert subscription_ids(result.items["CSP365"]["subscriptions"]) == ["S-1", "S-6", "S-7"]
    assert "S-2" not in result.live_subscriptions


def test_d6_an_active_azure_service_is_enough_and_names_are_folded() -> None:
    services = (service("ORG-1", "  MICROSOFT AZURE "), service("ORG-2", "Microsoft CSP 365", active=False))
    result = build_render_input(base_source(services=services), make_settings(), september(LINES[0]))
    assert subscription_ids(result.items["CSP365"]["subscriptions"]) == ["S-1"]


def test_d6_inactive_organization_with_nothing_billed_is_not_reported() -> None:
    services = (service("ORG-1"), service("ORG-2", active=False))
    result = build_render_input(
        base_source(services=services), make_settings(companies={"ORG-6": 106}), september(LINES[0])
    )
    assert result.diagnostics == []


# -- D9 -----------------------------------------------------------------------------------------------


def test_d9_line_in_another_currency_is_an_error_and_the_organization_is_skipped() -> None:
    lines = (bline("S-1", "ORG-1", 10, "125.00"), bline("S-1", "ORG-1", 1, "5.00", currency="EUR"), LINES[1])
    result = build_render_input(base_source(), make_settings(companies={"ORG-6": 106}), september(*lines))
    assert result.diagnostics == [
        Diagnostic(
            "error",
            "currency",
            "organization ORG-1 (Contoso Ltd) has lines in EUR but Autotask bills in USD; its lines are not "
            "exported (D9)",
            "ORG-1",
            Decimal("130.00"),
        )
    ]
    assert subscription_ids(result.items["CSP365"]["subscriptions"]) == ["S-2"]


# -- D11, D13, D14 ------------------------------------------------------------------------------------


def test_d11_only_products_billed_in_the_covered_months_are_in_the_products_loop() -> None:
    result = build_render_input(base_source(), make_settings(), september(*LINES))
    assert result.items["CSP365"]["products"] == [{"product": PRICES[0]}, {"product": PRICES[1]}]


def test_d11_a_managed_subscription_without_a_line_is_rendered_with_zero_units_but_not_its_product() -> None:
    source = base_source(subscriptions=(*SUBS, sub("S-3", "ORG-1", "P-3")))
    result = build_render_input(
        source, make_settings(), september(*LINES), managed_subscriptions={"S-3", "GONE"}
    )
    loops = result.items["CSP365"]
    assert [p["product"].product_id for p in loops["products"]] == ["P-1", "P-2"]
    months = {i["sub"].subscription_id: i["month"] for i in loops["subscription_months"]}
    assert months["S-3"] == MonthBill("2026-09", 0, Decimal("0.00"), Decimal("0.00"), Decimal(0), Decimal(0),
                                      Decimal("0.00"), Decimal("0.00"), 0)  # fmt: skip
    assert "GONE" not in result.live_subscriptions


def test_d13_items_carry_the_contract_month_boundaries() -> None:
    source = base_source(subscriptions=(sub("S-1", "ORG-1", start=date(2025, 9, 15), end=None),))
    result = build_render_input(source, make_settings(ongoing_contract_years=10), september(LINES[0]))
    (item,) = result.items["CSP365"]["subscriptions"]
    assert (item["contract_start"], item["contract_end"]) == (date(2025, 9, 1), date(2035, 12, 31))
    assert item["product"] == PRICES[0]
    assert item["record_type"] == "csp365"


def test_months_outside_a_managed_contract_are_not_rendered() -> None:
    ended = sub("S-3", "ORG-1", "P-3", start=date(2025, 1, 1), end=date(2026, 8, 20))
    result = build_render_input(
        base_source(subscriptions=(*SUBS, ended)), make_settings(), september(*LINES), {"S-3"}
    )
    assert subscription_ids(result.items["CSP365"]["subscriptions"]) == ["S-1", "S-2", "S-3"]
    assert subscription_ids(result.items["CSP365"]["subscription_months"]) == ["S-1", "S-2"]


def test_shared_loops_kinds_and_types() -> None:
    azure = (sub("S-8", "ORG-1", "AZ-1", "Azure", end=None), sub("S-9", "ORG-2", "AZ-1", "Azure", end=None))
    lines = (
        bline("S-8", "ORG-1", 1, "1.00", "AZ-1", record_type="Azure"),
        bline("S-9", "ORG-2", 1, "2.00", "AZ-1", record_type="Azure"),
    )
    result = build_render_input(base_source(subscriptions=azure), make_settings(), september(*lines))
    loops = result.items["Azure"]
    assert loops["kinds"] == [{"kind_name": "Product AZ-1", "record_type": "azure"}]
    assert loops["types"] == [{"record_type": "azure"}]
    assert loops["products"] == []


def test_months_between() -> None:
    assert months_between(date(2026, 11, 30), date(2027, 2, 1)) == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]
    assert months_between(date(2026, 9, 1), date(2026, 9, 30)) == ["2026-09"]
    assert months_between(date(2026, 10, 1), date(2026, 9, 30)) == []


# -- the example bundle -------------------------------------------------------------------------------


def test_example_october_export(october: SourceData, settings: Settings) -> None:
    result = build_render_input(october, settings, due_reports(october.reports, date(2026, 10, 7), {}))
    assert [(d.severity, d.code, d.organization_id, d.amount) for d in result.diagnostics] == [
        ("warning", "inactive", "ORG-1004", Decimal("108.00")),
        ("warning", "unlinked", "ORG-1006", Decimal("75.00")),
    ]
    assert result.diagnostics[1].message == (
        "organization ORG-1006 (Wingtip Toys) has no AutotaskCompanyID: 75.00 USD left unbilled (D1)"
    )
    csp = result.items["CSP365"]
    assert [p["product"].product_id for p in csp["products"]] == [
        "CFQ7TTC0HD32:0001",
        "CFQ7TTC0LCHC:0002",
        "CFQ7TTC0LDPB:0001",
        "CFQ7TTC0LFLX:0001",
        "CFQ7TTC0LH16:0001",
        "CFQ7TTC0LH18:0001",
        "CFQ7TTC0LHSF:0001",
        "CFQ7TTC0MM8R:0002",
        "CFQ7TTC0RM8K:0001",
    ]
    assert [s[-2:] for s in subscription_ids(csp["subscriptions"])] == [
        "01", "02", "03", "04", "05", "06", "07", "08", "18", "20"
    ]  # fmt: skip
    assert sorted(result.items) == [
        "Azure",
        "CSP365",
        "Marketplace",
        "PerpetualLicense",
        "ReservedInstance",
        "Subscription",
    ]
    assert len(result.live_subscriptions) == 18  # the unlinked ORG-1006 subscription is still live (D1)


def test_example_november_export_revised_month_and_month_without_line(
    november: SourceData, settings: Settings
) -> None:
    due = due_reports(november.reports, date(2026, 11, 7), {"2026-09": "2026-10-06"})
    visio = "6f1c2d3e-0a1b-4c5d-8e9f-000000000018"
    revised = "6f1c2d3e-0a1b-4c5d-8e9f-000000000007"
    result = build_render_input(november, settings, due, managed_subscriptions={visio})
    months = {
        (i["sub"].subscription_id, i["month"].period): i["month"]
        for i in result.items["CSP365"]["subscription_months"]
    }
    seven = months[(revised, "2026-09")]
    assert (seven.quantity, seven.total_sales, seven.total_cost) == (12, Decimal("125.00"), Decimal("106.25"))
    assert (months[(visio, "2026-09")].quantity, months[(visio, "2026-10")].quantity) == (3, 0)
    assert months[(visio, "2026-10")].total_sales == 0


def test_d1_unlinked_organization_with_nothing_billed_is_not_reported() -> None:
    result = build_render_input(base_source(), make_settings(), september(LINES[0], LINES[1]))
    assert result.diagnostics == []


# -- D20: a revised report corrects a month already applied --------------------------------------------


def revised_september(*lines: BillingLine) -> list[DueReport]:
    report = Report(
        period="2026-09", available_on=date(2026, 10, 20), file="billing/2026-09-rev1.csv", lines=lines
    )
    return [DueReport("2026-09", report, revision_of="2026-10-06")]


def test_d20_revised_month_yields_a_correction_with_the_difference_not_a_new_month() -> None:
    lines = (
        bline("S-1", "ORG-1", 12, "150.00"),
        bline("S-1", "ORG-1", 2, "-25.00"),
        bline("S-2", "ORG-2", 2, "44.00", "P-2"),
    )
    recorded = {("S-1", "2026-09"): (Decimal("150.00"), Decimal("127.50")), ("S-2", "2026-09"): (Decimal("44.00"), Decimal("37.40"))}  # fmt: skip
    result = build_render_input(base_source(), make_settings(), revised_september(*lines), recorded=recorded)
    loops = result.items["CSP365"]
    assert [(i["sub"].subscription_id, i["correction"]) for i in loops["corrections"]] == [
        ("S-1", Correction("2026-09", "2026-10-20", Decimal("-25.00"), Decimal("-21.25"), 12))
    ]
    assert loops["corrections"][0]["correction"].start == date(2026, 9, 1)
    # Applied months are never rewritten: neither S-1 nor the unchanged S-2 renders a month again.
    assert loops.get("subscription_months", []) == []


def test_d20_subscription_new_in_the_revision_is_billed_as_a_month() -> None:
    result = build_render_input(
        base_source(),
        make_settings(),
        revised_september(LINES[0]),
        recorded={("S-2", "2026-09"): (Decimal("1"), Decimal("1"))},
    )
    loops = result.items["CSP365"]
    assert subscription_ids(loops["subscription_months"]) == ["S-1"]
    assert "corrections" not in loops


def test_d20_recorded_totals_are_ignored_for_a_month_that_is_not_a_revision() -> None:
    recorded = {("S-1", "2026-09"): (Decimal("999.00"), Decimal("1.00"))}
    result = build_render_input(base_source(), make_settings(), september(LINES[0]), recorded=recorded)
    assert subscription_ids(result.items["CSP365"]["subscription_months"]) == ["S-1"]
    assert "corrections" not in result.items["CSP365"]


@pytest.mark.parametrize("case", ["d1_unlinked", "d9_currency"])
def test_d1_d9_skipped_organizations_subscriptions_are_still_live_not_orphans(case: str) -> None:
    if case == "d1_unlinked":
        result = build_render_input(base_source(), make_settings(), september(*LINES))
        expected = {"S-6", "S-7"}
    else:
        euro = bline("S-1", "ORG-1", 1, "5.00", currency="EUR")
        result = build_render_input(base_source(), make_settings(), september(LINES[0], euro))
        expected = {"S-1"}
    rendered = result.items.get("CSP365", {}).get("subscriptions", [])
    assert not any(i["sub"].subscription_id in expected for i in rendered)  # their lines stay skipped
    assert expected <= result.live_subscriptions


def test_d20_second_revision_is_corrected_against_what_was_already_corrected() -> None:
    snapshot = Snapshot(
        lineage="L",
        serial=3,
        resources={
            'adjustment["S-1"]["2026-09"]': Entry(
                "adjustment",
                70001,
                {"units": 12, "unitPrice": Decimal("12.5000")},
                source={
                    "subscription_id": "S-1",
                    "period": "2026-09",
                    "total_sales": "150.00",
                    "total_cost": "127.50",
                },
                period="2026-09",
            ),
            'charge["S-1"]["2026-09"]["correction-2026-10-20"]': Entry(
                "charge",
                60001,
                {
                    "unitQuantity": Decimal("1.0000"),
                    "unitPrice": Decimal("-25.0000"),
                    "unitCost": Decimal("-21.2500"),
                },
                source={
                    "subscription_id": "S-1",
                    "organization_id": "ORG-1",
                    "period": "2026-09",
                    "correction": "2026-10-20",
                    "total_sales": "-25.00",
                    "total_cost": "-21.25",
                },
                period="2026-09",
            ),
        },
    )
    # The second revision (available 2026-11-03) bills 120.00 in all: 5.00 less than after the first correction.
    report = Report(
        period="2026-09",
        available_on=date(2026, 11, 3),
        file="billing/2026-09-rev2.csv",
        lines=(bline("S-1", "ORG-1", 12, "150.00"), bline("S-1", "ORG-1", 2, "-30.00")),
    )
    due = [DueReport("2026-09", report, revision_of="2026-10-20")]
    result = build_render_input(base_source(), make_settings(), due, {"S-1"}, snapshot.recorded_months())
    (item,) = result.items["CSP365"]["corrections"]
    assert item["correction"].total_sales == Decimal("-5.00")


def test_a_month_item_reads_as_its_subscription_item_with_one_more_name() -> None:
    base: dict[str, Any] = {"sub": "S-1", "month": "stale", "company_id": 101}
    item = Item(base, "month", "2026-10")
    assert item == {"sub": "S-1", "month": "2026-10", "company_id": 101}
    assert (list(item), len(item), item["month"], item["sub"]) == (
        ["sub", "company_id", "month"],
        3,
        "2026-10",
        "S-1",
    )
    assert Item({"sub": "S-1"}, "correction", 5).context({"settings": 1, "sub": "x"}) == {
        "settings": 1,
        "sub": "S-1",
        "correction": 5,
    }
    with pytest.raises(KeyError):
        item["org"]
