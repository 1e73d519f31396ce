"""Cloudmore JSON → source model: the documented shapes read exactly, and every bad value located."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import SourceError
from engine.source import BillingLine, Organization, OrganizationService, PriceListItem, Subscription
from providers.cloudmore import api_mapping as m
from providers.cloudmore.api_names import Names

N = Names()

ORGS = "/api/resellers/R/organizations"


def _item(data: Any, source: str = ORGS, index: int = 3) -> m.Item:
    """An item as the client hands it over (JSON parsed with fractions as Decimal; a Decimal sent as text)."""
    return m.Item(json.loads(json.dumps(data, default=str), parse_float=Decimal), source, index)


ORGANIZATION = {
    "id": "ORG-1001",
    "name": " Contoso Ltd ",
    "customerNumber": "C-1001",
    "currencyCode": "USD",
    "customProperties": [{"name": "Region", "value": "EU"}, {"name": "AutotaskCompanyID", "value": "101"}],
    "services": [
        {"name": "Microsoft CSP 365", "status": "Active"},
        {"name": "Microsoft Azure", "status": "Inactive"},
    ],
}


def test_organization_with_its_custom_property_and_services() -> None:
    organization, services = m.organization_from_json(_item(ORGANIZATION), N)
    assert organization == Organization(
        organization_id="ORG-1001",
        name="Contoso Ltd",
        customer_number="C-1001",
        autotask_company_id=101,
        currency="USD",
        origin=f"{ORGS}#3",
    )
    assert services == (
        OrganizationService(
            organization_id="ORG-1001",
            service_name="Microsoft CSP 365",
            active=True,
            origin=f"{ORGS}#3.services#1",
        ),
        OrganizationService(
            organization_id="ORG-1001",
            service_name="Microsoft Azure",
            active=False,
            origin=f"{ORGS}#3.services#2",
        ),
    )


@pytest.mark.parametrize(
    "properties",
    [None, [], [{"name": "AutotaskCompanyID", "value": ""}], [{"name": "AutotaskCompanyID", "value": None}]],
)
def test_d1_an_organization_without_autotask_company_id_is_unlinked(properties: Any) -> None:
    organization, _ = m.organization_from_json(_item({**ORGANIZATION, "customProperties": properties}), N)
    assert organization.autotask_company_id is None


def test_d1_a_numeric_custom_property_value_is_read_too() -> None:
    data = {**ORGANIZATION, "customProperties": [{"name": "AutotaskCompanyID", "value": 104}]}
    assert m.organization_from_json(_item(data), N)[0].autotask_company_id == 104


def test_d1_a_bad_autotask_company_id_is_located() -> None:
    data = {**ORGANIZATION, "customProperties": [{"name": "AutotaskCompanyID", "value": "Contoso"}]}
    with pytest.raises(SourceError) as caught:
        m.organization_from_json(_item(data), N)
    assert str(caught.value) == (
        f"{ORGS}#3.customProperties (item 1, property 'value'): the AutotaskCompanyID custom property must be an "
        "Autotask company id (a positive whole number like 101) or empty, found 'Contoso'"
    )


SUBSCRIPTION = {
    "id": "6f1c2d3e-0a1b-4c5d-8e9f-000000000001",
    "organizationId": "ORG-1001",
    "recordType": "CSP365",
    "productId": "CFQ7TTC0LDPB:0001",
    "itemCode": "CFQ7TTC0LDPB:0001:P1Y",
    "productName": "Microsoft 365 Business Standard",
    "quantity": 15,
    "startDate": "2025-03-01T00:00:00",
    "endDate": "2027-02-28",
    "status": "Active",
    "billingFrequency": "Monthly",
}


def test_subscription_reads_dates_with_or_without_a_time() -> None:
    path = "/api/resellers/R/services/S/subscriptions"
    assert m.subscription_from_json(_item(SUBSCRIPTION, path, 1), N) == Subscription(
        subscription_id="6f1c2d3e-0a1b-4c5d-8e9f-000000000001",
        organization_id="ORG-1001",
        record_type="CSP365",
        product_id="CFQ7TTC0LDPB:0001",
        item_code="CFQ7TTC0LDPB:0001:P1Y",
        product_name="Microsoft 365 Business Standard",
        quantity=15,
        start_date=date(2025, 3, 1),
        end_date=date(2027, 2, 28),
        status="Active",
        billing_frequency="Monthly",
        origin=f"{path}#1",
    )


@pytest.mark.parametrize("end", [None, "", "2027-02-28T00:00:00Z", "2027-02-28T00:00:00.000+01:00"])
def test_subscription_end_dates(end: Any) -> None:
    subscription = m.subscription_from_json(_item({**SUBSCRIPTION, "endDate": end}), N)
    assert subscription is not None
    assert subscription.end_date == (None if not end else date(2027, 2, 28))


def test_a_subscription_of_a_type_billsync_does_not_bill_is_left_out() -> None:
    assert m.subscription_from_json(_item({**SUBSCRIPTION, "recordType": "DattoBackup"}), N) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"recordType": None}, "(item 3, property 'recordType'): expected a value, found nothing"),
        ({"quantity": 2.5}, "(item 3, property 'quantity'): expected a whole number of units, 0 or more, found 2.5"),
        ({"quantity": -1}, "(item 3, property 'quantity'): expected a whole number of units, 0 or more, found -1"),
        ({"quantity": True}, "(item 3, property 'quantity'): expected a whole number of units, 0 or more, found True"),
        ({"startDate": "01/03/2025"}, "(item 3, property 'startDate'): expected a date as YYYY-MM-DD (like 2026-10-01), "
         "found '01/03/2025'"),
        ({"startDate": "2025-02-30"}, "(item 3, property 'startDate'): expected a date as YYYY-MM-DD (like 2026-10-01), "
         "found '2025-02-30'"),
        ({"endDate": "2024-01-31"}, "(item 3, property 'endDate'): the end date 2024-01-31 is before the start date "
         "2025-03-01"),
        ({"recordType": "Azure"}, "(item 3, property 'productName'): an Azure subscription names its kind in its "
         "product name: expected 'Azure Plan' or 'Azure Classic', found 'Microsoft 365 Business Standard'"),
        ({"productName": {"en": "x"}}, "(item 3, property 'productName'): expected text, found an object"),
    ],
)  # fmt: skip
def test_bad_subscription_values_are_located(change: dict[str, Any], expected: str) -> None:
    with pytest.raises(SourceError) as caught:
        m.subscription_from_json(_item({**SUBSCRIPTION, **change}), N)
    assert str(caught.value) == f"{ORGS} {expected}"


def test_price_list_amounts_keep_their_exact_text() -> None:
    data = {
        "productId": "CFQ7TTC0LH0R:0001",
        "itemCode": "CFQ7TTC0LH0R:0001:P1Y",
        "productName": "Microsoft 365 Apps for business",
        "unitCostPrice": Decimal("7.0125"),
        "unitSalesPrice": "8.2500",
        "currencyCode": "USD",
        "paymentFrequency": "Monthly",
    }
    item = m.Item(data, "/p", 1)
    price = m.price_from_json(item, N)
    assert price == PriceListItem(
        product_id="CFQ7TTC0LH0R:0001",
        item_code="CFQ7TTC0LH0R:0001:P1Y",
        product_name="Microsoft 365 Apps for business",
        unit_cost_price=Decimal("7.0125"),
        unit_sales_price=Decimal("8.2500"),
        currency="USD",
        payment_frequency="Monthly",
        origin="/p#1",
    )
    assert (str(price.unit_cost_price), str(price.unit_sales_price)) == ("7.0125", "8.2500")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-1.00"), "expected a price of 0 or more, found -1.00"),
        ("1,50", "expected an amount (like 12.50 or -3.2500), found '1,50'"),
        ("NaN", "expected an amount (like 12.50 or -3.2500), found 'NaN'"),
        (None, "expected an amount (like 12.50 or -3.2500), found nothing"),
    ],
)
def test_bad_prices_are_located(value: Any, expected: str) -> None:
    data = {
        "productId": "P",
        "productName": "N",
        "unitCostPrice": value,
        "unitSalesPrice": 1,
        "currencyCode": "USD",
    }
    with pytest.raises(SourceError) as caught:
        m.price_from_json(m.Item(data, "/p", 2), N)
    assert str(caught.value) == f"/p (item 2, property 'unitCostPrice'): {expected}"


PRODUCT = {
    "billingDate": "2026-09-03T00:00:00",
    "productName": "Microsoft 365 Business Standard",
    "itemCode": "CFQ7TTC0LDPB:0001:P1Y",
    "productId": "CFQ7TTC0LDPB:0001",
    "quantity": 2,
    "unitCostPrice": Decimal("10.6250"),
    "unitSalesPrice": Decimal("12.5000"),
    "totalCost": Decimal("-21.25"),
    "totalSales": Decimal("-25.00"),
    "currencyCode": "USD",
    "paymentFrequency": "Monthly",
}
TASK = "/api/resellers/R/billing/reports/MonthlyBillingPerOrganizationAsync/t-1"


def _report(*products: dict[str, Any], record_type: str = "CSP365") -> m.Item:
    """A report as the Mbpo models nest it: organization → service → item → products."""
    item = {
        "subscriptionId": "6f1c2d3e-0a1b-4c5d-8e9f-000000000007",
        "subscriptionName": "Microsoft 365 Business Standard",
        "recordType": record_type,
        "products": list(products),
    }
    organization = {
        "organizationId": "ORG-1003",
        "organizationName": "Northwind Traders",
        "customerNumber": "C-1003",
        "services": [{"serviceName": "Microsoft CSP 365", "items": [item]}],
    }
    return m.Item(
        {"startDate": "2026-09-01", "endDate": "2026-09-30", "organizations": [organization]}, TASK, 1
    )


def test_a_credit_billing_line_from_the_nested_report() -> None:
    [(product, line)] = m.report_lines(_report(dict(PRODUCT)), N, "billing 2026-09")
    assert product.origin == f"{TASK}#1.organizations#1.services#1.items#1.products#1"
    assert line == BillingLine(
        billing_date=date(2026, 9, 3),
        service_name="Microsoft CSP 365",
        organization_id="ORG-1003",
        organization_name="Northwind Traders",
        customer_number="C-1003",
        product_name="Microsoft 365 Business Standard",
        item_code="CFQ7TTC0LDPB:0001:P1Y",
        product_id="CFQ7TTC0LDPB:0001",
        quantity=2,
        unit_cost_price=Decimal("10.6250"),
        unit_sales_price=Decimal("12.5000"),
        total_cost=Decimal("-21.25"),
        total_sales=Decimal("-25.00"),
        currency="USD",
        payment_frequency="Monthly",
        subscription_id="6f1c2d3e-0a1b-4c5d-8e9f-000000000007",
        subscription_name="Microsoft 365 Business Standard",
        record_type="CSP365",
        origin="billing 2026-09 line 1",
    )
    assert [str(v) for v in (line.unit_cost_price, line.unit_sales_price, line.total_sales)] == [
        "10.6250",
        "12.5000",
        "-25.00",
    ]


def test_lines_are_numbered_over_the_whole_report_and_other_services_left_out() -> None:
    lines = m.report_lines(_report(PRODUCT, {**PRODUCT, "quantity": 3}), N, "b")
    assert [(line.origin, line.quantity) for _, line in lines] == [("b line 1", 2), ("b line 2", 3)]
    assert m.report_lines(_report(PRODUCT, record_type="Other"), N, "b") == []
    assert m.report_lines(m.Item({"organizations": []}, TASK, 1), N, "b") == []


def test_a_billing_line_in_a_bad_currency_is_located() -> None:
    with pytest.raises(SourceError) as caught:
        m.report_lines(_report({**PRODUCT, "currencyCode": "usd"}), N, "x")
    assert str(caught.value) == (
        f"{TASK}#1.organizations#1.services#1.items#1.products (item 1, property 'currencyCode'): expected a currency "
        "code of three upper-case letters, found 'usd'"
    )


def test_the_report_request_covers_one_month_by_its_first_and_last_day() -> None:
    assert m.report_request(date(2026, 2, 1), date(2026, 2, 28), N) == {
        "startDate": "2026-02-01",
        "endDate": "2026-02-28",
    }


def test_renamed_names_read_the_same_values() -> None:
    names = Names.model_validate({"subscription": {"quantity": "seats", "id": "subscriptionId"}})
    renamed = {k: v for k, v in SUBSCRIPTION.items() if k not in ("quantity", "id")}
    renamed |= {"seats": 15, "subscriptionId": SUBSCRIPTION["id"]}
    assert m.subscription_from_json(_item(renamed), names) == m.subscription_from_json(_item(SUBSCRIPTION), N)
    with pytest.raises(
        SourceError, match=r"property 'seats'\): expected a whole number of units, 0 or more, found nothing"
    ):
        m.subscription_from_json(_item({**SUBSCRIPTION, "subscriptionId": "S-1"}), names)


def test_the_organization_update_keeps_every_field_and_sets_only_the_link() -> None:
    current = _item({**ORGANIZATION, "vat": "SE123", "contact": {"name": "Ann"}})
    body = m.organization_update(current, 555, N)
    assert body == {
        **ORGANIZATION,
        "vat": "SE123",
        "contact": {"name": "Ann"},
        "customProperties": [
            {"name": "Region", "value": "EU"},
            {"name": "AutotaskCompanyID", "value": "555"},
        ],
    }
    assert current.data["customProperties"][1] == {"name": "AutotaskCompanyID", "value": "101"}  # not edited
    unlinked = _item({**ORGANIZATION, "customProperties": None})
    assert m.organization_update(unlinked, 7, N)["customProperties"] == [
        {"name": "AutotaskCompanyID", "value": "7"}
    ]


def test_an_item_that_is_not_an_object_is_located() -> None:
    with pytest.raises(SourceError) as caught:
        m.Item(["ORG-1"], ORGS, 2)
    assert str(caught.value) == f"{ORGS} (item 2): expected a JSON object, found a list"
