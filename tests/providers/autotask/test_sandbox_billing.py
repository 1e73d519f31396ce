"""Billing entities: contract services, adjustments and the unit rows they produce, charges, services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import SandboxApp, SandboxConfig, make_app
from tests.providers.autotask.sandbox_http import create, refusal_of, wsgi_client

NOW = datetime(2026, 10, 1, 9, 30, 15)


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:", SandboxConfig(clock=lambda: NOW))


@pytest.fixture
def client(app: SandboxApp) -> Iterator[httpx.Client]:
    with wsgi_client(app) as client:
        yield client


def _contract(
    client: httpx.Client, contract_type: int = 7, start: str = "2026-01-01", end: str = "2026-12-31"
) -> int:
    body = {
        "companyID": 101,
        "contractName": "Contoso M365",
        "contractType": contract_type,
        "timeReportingRequiresStartAndStopTimes": 0,
        "status": 1,
        "startDate": start,
        "endDate": end,
        "contractPeriodType": 1,
    }
    return create(client, "Contracts", body)


def _service(client: httpx.Client, price: str = "10.5", cost: str = "8.25") -> int:
    body = {
        "name": "Microsoft 365 E3",
        "billingCodeID": 2001,
        "periodType": 1,
        "unitPrice": price,
        "unitCost": cost,
    }
    return create(client, "Services", body)


def _units(client: httpx.Client, contract_id: int, **extra: Any) -> list[tuple[str, str, int, str, str]]:
    body = {"filter": [{"op": "eq", "field": "contractID", "value": contract_id}], **extra}
    response = client.post("ContractServiceUnits/query", json=body)
    assert response.status_code == 200, response.text
    return [
        (row["startDate"][:10], row["endDate"][:10], row["units"], str(row["price"]), str(row["cost"]))
        for row in response.json()["items"]
    ]


def _month(month: int, units: int, price: str = "10.5", cost: str = "8.25") -> tuple[str, str, int, str, str]:
    last = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}[month]
    return (f"2026-{month:02d}-01", f"2026-{month:02d}-{last}", units, price, cost)


def test_a_new_contract_service_has_zero_units_every_month_at_the_service_price(client: httpx.Client) -> None:
    contract, service = _contract(client), _service(client)
    cs = create(client, f"Contracts/{contract}/Services", {"serviceID": service})
    assert _units(client, contract) == [_month(m, 0) for m in range(1, 13)]
    item = client.get(f"ContractServices/{cs}").json()["item"]
    assert item == {
        "id": cs,
        "contractID": contract,
        "serviceID": service,
        "unitPrice": 10.5,
        "unitCost": 8.25,
        "invoiceDescription": None,
        "internalDescription": None,
        "internalCurrencyUnitPrice": None,
        "internalCurrencyAdjustedPrice": None,
    }  # no adjustedPrice: REST has none (A9.2)


def test_adjustments_plus_5_then_minus_2_on_one_date_leave_3_units_from_that_date(
    client: httpx.Client,
) -> None:
    contract, service = _contract(client), _service(client)
    cs = create(client, f"Contracts/{contract}/Services", {"serviceID": service})
    for change in (5, -2):
        body = {"contractServiceID": cs, "effectiveDate": "2026-03-15", "unitChange": change}
        create(client, f"Contracts/{contract}/ServiceAdjustments", body)
    assert _units(client, contract) == [
        _month(1, 0),
        _month(2, 0),
        ("2026-03-01", "2026-03-14", 0, "10.5", "8.25"),
        ("2026-03-15", "2026-03-31", 3, "10.5", "8.25"),
        *[_month(m, 3) for m in range(4, 13)],
    ]


def test_a_later_adjustment_with_prices_changes_units_price_and_cost_from_its_date(
    client: httpx.Client,
) -> None:
    contract, service = _contract(client), _service(client)
    create(
        client,
        f"Contracts/{contract}/ServiceAdjustments",
        {"serviceID": service, "effectiveDate": "2026-02-01", "unitChange": 5},
    )
    body = {
        "serviceID": service,
        "effectiveDate": "2026-04-10T00:00:00",
        "unitChange": -2,
        "adjustedUnitPrice": 12,
        "adjustedUnitCost": "9.1234",
    }
    create(client, "ContractServiceAdjustments", {"contractID": contract, **body})
    assert _units(client, contract) == [
        _month(1, 0),
        _month(2, 5),
        _month(3, 5),
        ("2026-04-01", "2026-04-09", 5, "10.5", "8.25"),
        ("2026-04-10", "2026-04-30", 3, "12", "9.1234"),
        *[_month(m, 3, "12", "9.1234") for m in range(5, 13)],
    ]


def test_an_adjustment_by_service_creates_the_contract_service_once(client: httpx.Client) -> None:
    contract, service = _contract(client), _service(client)
    for _ in range(2):
        create(
            client,
            f"Contracts/{contract}/ServiceAdjustments",
            {"serviceID": service, "effectiveDate": "2026-01-01", "unitChange": 1},
        )
    rows = client.post(
        "ContractServices/query", json={"filter": [{"op": "eq", "field": "contractID", "value": contract}]}
    )
    (cs,) = rows.json()["items"]
    assert (cs["serviceID"], cs["unitPrice"], cs["unitCost"]) == (service, 10.5, 8.25)
    assert cs["invoiceDescription"] is None  # not published (A9.3): the stricter choice, none of its own
    assert {row[2] for row in _units(client, contract)} == {2}


def test_unit_rows_have_stable_ids_and_honour_date_filters_and_paging(client: httpx.Client) -> None:
    contract, service = _contract(client, start="2026-01-15", end="2027-01-14"), _service(client)
    create(
        client,
        f"Contracts/{contract}/ServiceAdjustments",
        {"serviceID": service, "effectiveDate": "2026-06-20", "unitChange": 4},
    )
    query = {
        "filter": [
            {"op": "eq", "field": "contractID", "value": contract},
            {"op": "gte", "field": "startDate", "value": "2026-06-01"},
            {"op": "lt", "field": "startDate", "value": "2026-08-01"},
        ],
        "MaxRecords": 2,
    }
    first = client.post("ContractServiceUnits/query", json=query).json()
    second = client.post(first["pageDetails"]["nextPageUrl"], json=query).json()
    rows = first["items"] + second["items"]
    # monthly periods anchored on the contract's start (the 15th), split at the adjustment (A9.4)
    assert [(r["startDate"][:10], r["endDate"][:10], r["units"]) for r in rows] == [
        ("2026-06-15", "2026-06-19", 0),
        ("2026-06-20", "2026-07-14", 4),
        ("2026-07-15", "2026-08-14", 4),
    ]
    assert second["pageDetails"]["nextPageUrl"] is None
    again = client.post("ContractServiceUnits/query", json={**query, "MaxRecords": 500}).json()["items"]
    assert [r["id"] for r in again] == [r["id"] for r in rows]
    assert client.get(f"ContractServiceUnits/{rows[1]['id']}").json()["item"] == rows[1]
    everything = _units(client, contract)
    assert everything[0][:2] == ("2026-01-15", "2026-02-14")
    assert everything[-1][:2] == ("2026-12-15", "2027-01-14")
    count = client.post("ContractServiceUnits/query/count", json={"filter": query["filter"]}).json()
    assert count == {"queryCount": 3}


def test_adjustments_cannot_be_queried_read_or_updated(client: httpx.Client) -> None:
    contract, service = _contract(client), _service(client)
    adjustment = create(
        client,
        f"Contracts/{contract}/ServiceAdjustments",
        {"serviceID": service, "effectiveDate": "2026-01-01", "unitChange": 1},
    )
    # no query or get route exists for adjustments (A2): IIS's 404 page; PATCH is not a verb there: 405
    query = client.post("ContractServiceAdjustments/query", json={"filter": [{"op": "exist", "field": "id"}]})
    assert query.status_code == 404
    assert "404 - File or directory not found." in query.text
    assert client.get(f"ContractServiceAdjustments/{adjustment}").status_code == 404
    update = client.patch(
        f"Contracts/{contract}/ServiceAdjustments", json={"id": adjustment, "unitChange": 2}
    )
    assert update.status_code == 405
    assert update.json() == {"Message": "The requested resource does not support http method 'PATCH'."}


def test_adjustment_rules(client: httpx.Client) -> None:
    contract, service = _contract(client), _service(client)
    path = f"Contracts/{contract}/ServiceAdjustments"
    outside = client.post(path, json={"serviceID": service, "effectiveDate": "2027-01-01", "unitChange": 1})
    assert (
        refusal_of(outside)
        == f"effectiveDate 2027-01-01 is outside contract {contract} (2026-01-01 to 2026-12-31)."
    )
    negative = client.post(path, json={"serviceID": service, "effectiveDate": "2026-05-01", "unitChange": -1})
    assert "units cannot go below zero" in refusal_of(negative)
    neither = client.post(path, json={"effectiveDate": "2026-05-01", "unitChange": 1})
    assert refusal_of(neither) == "A contract service adjustment needs a contractServiceID or a serviceID."
    other = _contract(client)
    mismatch = client.post(
        path, json={"contractID": other, "serviceID": service, "effectiveDate": "2026-05-01", "unitChange": 1}
    )
    assert (
        refusal_of(mismatch)
        == f"contractID {other} in the body disagrees with contract {contract} in the path."
    )


def test_contract_service_update_changes_only_the_invoice_description(client: httpx.Client) -> None:
    """On update every field but invoiceDescription is read-only (A9.2); a PATCH ignores read-only and
    unknown properties (``adjustedPrice`` is not a REST field) and answers 200, as Autotask does (A2)."""
    contract, service = _contract(client), _service(client)
    cs = create(
        client, f"Contracts/{contract}/Services", {"serviceID": service, "internalDescription": "seat"}
    )
    ignored = client.patch(
        f"Contracts/{contract}/Services",
        json={
            "id": cs,
            "unitPrice": 11,
            "unitCost": 1,
            "adjustedPrice": -1.25,
            "invoiceDescription": "E3 seats",
        },
    )
    assert ignored.json() == {"itemId": cs}
    item = client.get(f"ContractServices/{cs}").json()["item"]
    assert (item["unitPrice"], item["unitCost"], item["invoiceDescription"]) == (10.5, 8.25, "E3 seats")
    assert "adjustedPrice" not in item
    root = client.patch("ContractServices", json={"id": cs, "invoiceDescription": "x"})
    assert root.json() == {"Message": "The requested resource does not support http method 'PATCH'."}


def test_contract_service_rules(client: httpx.Client) -> None:
    service = _service(client)
    fixed_price = _contract(client, contract_type=3)
    refused = client.post(f"Contracts/{fixed_price}/Services", json={"serviceID": service})
    assert refusal_of(refused) == (
        f"A contract service needs a Recurring Service contract (contractType 7); contract {fixed_price} has contractType 3."
    )
    contract = _contract(client)
    create(client, f"Contracts/{contract}/Services", {"serviceID": service})
    twice = client.post(f"Contracts/{contract}/Services", json={"contractID": contract, "serviceID": service})
    assert "already on contract" in refusal_of(twice)
    missing = client.post(f"Contracts/{contract}/Services", json={"serviceID": 999})
    assert (
        refusal_of(missing)
        == "ContractServices.serviceID 999 does not reference an existing Services object."
    )


def test_services_need_an_active_recurring_service_billing_code(client: httpx.Client) -> None:
    body = {"name": "Backup", "periodType": 1, "unitPrice": 5}
    inactive = client.post("Services", json={**body, "billingCodeID": 2003})
    assert refusal_of(inactive) == (
        "Services.billingCodeID 2003 (Retired Code) is inactive; choose an active billing code."
    )
    material = client.post("Services", json={**body, "billingCodeID": 2002})
    assert refusal_of(material) == (
        "Services.billingCodeID 2002 (Cloud Products) is not a Recurring Contract Service Code billing code."
    )
    missing = client.post("Services", json={"name": "Backup"})
    assert (
        refusal_of(missing) == "Services is missing required field(s): unitPrice, billingCodeID, periodType."
    )
    service = _service(client)
    moved = client.patch("Services", json={"id": service, "billingCodeID": 2003})
    assert "is inactive" in refusal_of(moved)
    renamed = client.patch("Services", json={"id": service, "name": "M365 E3", "sku": "CSP-E3"})
    assert renamed.status_code == 200
    item = client.get(f"Services/{service}").json()["item"]
    assert (item["name"], item["sku"], item["isActive"], item["lastModifiedDate"]) == (
        "M365 E3",
        "CSP-E3",
        True,
        "2026-10-01T09:30:15",
    )


def test_products_need_an_active_material_billing_code(client: httpx.Client) -> None:
    body = {"name": "Azure plan", "isActive": True, "isSerialized": False, "unitPrice": 0}
    assert "is not a Material Cost Code billing code" in refusal_of(
        client.post("Products", json={**body, "productBillingCodeID": 2001})
    )
    product = create(client, "Products", {**body, "productBillingCodeID": 2002, "sku": "AZ"})
    item = client.get(f"Products/{product}").json()["item"]
    assert (item["billingType"], item["productBillingCodeID"], item["sku"]) == (1, 2002, "AZ")


def test_charges_compute_amounts_and_lock_once_billed(app: SandboxApp, client: httpx.Client) -> None:
    contract = _contract(client)
    product = create(
        client,
        "Products",
        {
            "name": "Azure",
            "productBillingCodeID": 2002,
            "isActive": True,
            "isSerialized": False,
            "unitPrice": "1.0005",
            "unitCost": "0.5",
        },
    )
    body = {
        "name": "Azure usage 2026-09",
        "datePurchased": "2026-09-30",
        "unitQuantity": "1234.5",
        "productID": product,
        "chargeType": 1,
    }
    charge = create(client, f"Contracts/{contract}/Charges", body)
    item = client.get(f"ContractCharges/{charge}").json()["item"]
    assert {
        k: item[k]
        for k in (
            "unitPrice",
            "unitCost",
            "billableAmount",
            "extendedCost",
            "isBilled",
            "createDate",
            "datePurchased",
            "chargeType",
            "status",
        )
    } == {
        "unitPrice": 1.0005,
        "unitCost": 0.5,
        "billableAmount": 1235.12,
        "extendedCost": 617.25,
        "isBilled": False,
        "createDate": "2026-10-01T09:30:15",
        "datePurchased": "2026-09-30T00:00:00",
        "chargeType": 1,
        "status": 1,
    }
    changed = client.patch(f"Contracts/{contract}/Charges", json={"id": charge, "unitQuantity": 10})
    assert changed.status_code == 200
    assert client.get(f"ContractCharges/{charge}").json()["item"]["billableAmount"] == 10.01
    app.bill_charge(charge)
    locked = client.patch(f"Contracts/{contract}/Charges", json={"id": charge, "description": "late fix"})
    assert refusal_of(locked) == f"Contract charge {charge} is billed: a billed charge cannot be changed."
    assert client.get(f"ContractCharges/{charge}").json()["item"]["isBilled"] is True


def test_a_charge_is_billed_over_http_and_needs_a_product_or_billing_code(client: httpx.Client) -> None:
    contract = _contract(client)
    base = {
        "name": "Setup",
        "datePurchased": "2026-09-30",
        "unitQuantity": 1,
        "unitPrice": 150,
        "chargeType": 1,
    }
    assert refusal_of(client.post(f"Contracts/{contract}/Charges", json=base)) == (
        "A contract charge needs a productID or a billingCodeID."
    )
    charge = create(client, f"Contracts/{contract}/Charges", {**base, "billingCodeID": 2002})
    assert client.post(f"http://sandbox/_sandbox/charges/{charge}/bill").json() == {"itemId": charge}
    assert "cannot be changed" in refusal_of(
        client.patch(f"Contracts/{contract}/Charges", json={"id": charge, "unitQuantity": 2})
    )
    read_only = client.post(
        f"Contracts/{contract}/Charges", json={**base, "billingCodeID": 2002, "isBilled": True}
    )
    assert refusal_of(read_only) == "ContractCharges.isBilled is read-only and cannot be set."


def test_contract_rules_and_udfs(client: httpx.Client) -> None:
    body = {
        "companyID": 101,
        "contractName": "X",
        "contractType": 7,
        "timeReportingRequiresStartAndStopTimes": 0,
        "status": 1,
        "startDate": "2026-05-01",
        "endDate": "2026-04-30",
    }
    assert (
        refusal_of(client.post("Contracts", json=body))
        == "Contract endDate 2026-04-30 is before its startDate 2026-05-01."
    )
    body["endDate"] = "2026-12-31"
    assert refusal_of(client.post("Contracts", json={**body, "companyID": 999})) == (
        "Contracts.companyID 999 does not reference an existing Companies object."
    )
    # SLAs are the serviceLevelAgreementID picklist (A9.9): an inactive or unknown value is refused
    assert refusal_of(client.post("Contracts", json={**body, "serviceLevelAgreementID": 2})) == (
        "2 is an inactive value (Legacy SLA) for Contracts.serviceLevelAgreementID; use one of 1 (Standard)."
    )
    udfs = [{"name": "subscription id", "value": "9f3c"}]
    contract = create(client, "Contracts", {**body, "serviceLevelAgreementID": 1, "userDefinedFields": udfs})
    item = client.get(f"Contracts/{contract}").json()["item"]
    assert item["userDefinedFields"] == [{"name": "Subscription ID", "value": "9f3c"}]
    assert item["lastModifiedDateTime"] == "2026-10-01T09:30:15"
    type_change = client.patch("Contracts", json={"id": contract, "contractType": 1, "contractPeriodType": 2})
    assert type_change.json() == {"itemId": contract}  # ignored: read-only after create (A9.1)
    item = client.get(f"Contracts/{contract}").json()["item"]
    assert (item["contractType"], item["contractPeriodType"]) == (7, None)
    cleared = client.patch(
        "Contracts", json={"id": contract, "userDefinedFields": [{"name": "Subscription ID", "value": None}]}
    )
    assert cleared.status_code == 200
    assert client.get(f"Contracts/{contract}").json()["item"]["userDefinedFields"] == [
        {"name": "Subscription ID", "value": None}
    ]


def test_unknown_fields_wrong_types_and_bad_dates_are_named(client: httpx.Client) -> None:
    base = {"companyName": "New Co", "companyType": 1, "phone": "555-0100", "ownerResourceID": 29682885}
    assert (
        refusal_of(client.post("Companies", json={**base, "colour": "red"}))
        == "Unable to find colour in the Companies Entity"
    )
    assert refusal_of(client.post("Companies", json={**base, "isActive": "yes"})) == (
        "Companies.isActive must be true or false, not 'yes'."
    )
    assert "companyType" in refusal_of(client.post("Companies", json={**base, "companyType": 42}))
    assert refusal_of(client.post("Companies", json={**base, "companyName": "x" * 101})) == (
        "Companies.companyName is longer than 100 characters."
    )
    contract = {
        "companyID": 101,
        "contractName": "X",
        "contractType": 7,
        "timeReportingRequiresStartAndStopTimes": 0,
        "status": 1,
        "startDate": "01/05/2026",
        "endDate": "2026-12-31",
    }
    assert "Contracts.startDate must be a date" in refusal_of(client.post("Contracts", json=contract))
    assert refusal_of(client.post("Companies", content=b"{not json")) == "The request body is not valid JSON."


def test_money_is_exact_in_json(client: httpx.Client) -> None:
    service = _service(client, price="19.9999", cost="0.0001")
    text = client.get(f"Services/{service}").text
    assert '"unitPrice":19.9999' in text
    assert '"unitCost":0.0001' in text
    rounded = _service(client, price="1.00005", cost="100")
    text = client.get(f"Services/{rounded}").text
    assert '"unitPrice":1.0001' in text
    assert '"unitCost":100' in text


def test_billing_an_unknown_charge_is_not_found(app: SandboxApp, client: httpx.Client) -> None:
    response = client.post("http://sandbox/_sandbox/charges/12345/bill")
    assert response.status_code == 404
    assert response.json() == {"errors": ["ContractCharges 12345 does not exist."]}
    with pytest.raises(LookupError, match="ContractCharges 12345 does not exist"):
        app.bill_charge(12345)
