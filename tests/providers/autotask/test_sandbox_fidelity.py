"""The sandbox answers as Autotask does, probed the way a plain HTTP client would (no billsync client).

One test per behaviour in ``providers/autotask/sandbox/FIDELITY.md``, each asserting the status code
and the body shape Autotask uses for it (API-FACTS A2–A5), and the tenant-configuration API tests
use to make a tenant unready (a missing UDF, another SLA, an inactive or mistyped billing code).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import (
    SANDBOX_CREDENTIALS,
    SandboxApp,
    make_app,
    start_background_server,
)

ALL = [{"op": "gte", "field": "id", "value": 0}]
NOT_ALLOWED = "The requested resource does not support http method '{}'."
OWNER = {"phone": "555-0100", "ownerResourceID": 29682885}
CONTRACT = {
    "companyID": 101,
    "contractName": "Probe",
    "contractType": 7,
    "status": 1,
    "startDate": "2026-01-01",
    "endDate": "2026-12-31",
    "timeReportingRequiresStartAndStopTimes": 0,
    "contractPeriodType": 1,
}


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:")


@pytest.fixture
def http(app: SandboxApp) -> Iterator[httpx.Client]:
    """A plain client on a real loopback port, as any HTTP client would talk to Autotask."""
    server = start_background_server(app)
    try:
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), timeout=10, trust_env=False
        ) as client:
            yield client
    finally:
        server.stop()


def _errors(response: httpx.Response, status: int = 500) -> list[str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors"} and isinstance(body["errors"], list)
    return list(body["errors"])


def _not_allowed(response: httpx.Response, method: str) -> None:
    assert response.status_code == 405, response.text
    assert response.json() == {"Message": NOT_ALLOWED.format(method)}


def _iis_404(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>404 - File or directory not found.</title>" in response.text


def _create(http: httpx.Client, path: str, body: dict[str, Any]) -> int:
    response = http.post(path, json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["itemId"])


# -- queries ------------------------------------------------------------------------------------------


def test_an_unknown_field_in_a_filter_is_500_errors(http: httpx.Client) -> None:
    body = {"filter": [{"op": "eq", "field": "lastModifiedDateTime", "value": "2026-01-01"}]}
    assert _errors(http.post("Services/query", json=body)) == [
        "Unknown field 'lastModifiedDateTime' in a filter on Services."
    ]


def test_an_unknown_field_in_include_fields_is_500_errors(http: httpx.Client) -> None:
    body = {"filter": ALL, "IncludeFields": ["invoiceDescription", "adjustedPrice"]}
    assert _errors(http.post("ContractServices/query", json=body)) == [
        "Unknown field 'adjustedPrice' in IncludeFields for ContractServices."
    ]


def test_get_on_a_post_querys_next_page_is_405_message_and_post_with_the_same_body_pages(
    app: SandboxApp, http: httpx.Client
) -> None:
    app.store.insert_many(
        "Companies", [{"companyName": f"C{n}", "companyType": 1, **OWNER} for n in range(600)]
    )
    query = {"filter": ALL, "IncludeFields": ["companyName"]}
    first = http.post("Companies/query", json=query).json()
    link = first["pageDetails"]["nextPageUrl"]
    assert "/Companies/query/next?paging=" in link
    _not_allowed(http.get(link), "GET")
    second = http.post(link, json=query)
    assert second.status_code == 200
    assert [page["pageDetails"]["count"] for page in (first, second.json())] == [500, 106]
    assert second.json()["items"][0]["id"] == first["items"][-1]["id"] + 1
    changed = http.post(link, json={"filter": ALL})
    assert _errors(changed) == [
        "The body of a next-page request must repeat the query that returned the link."
    ]


def test_a_query_on_contract_service_adjustments_is_404(http: httpx.Client) -> None:
    _iis_404(http.post("ContractServiceAdjustments/query", json={"filter": ALL}))
    _iis_404(http.get("ContractServiceAdjustments/query", params={"search": '{"filter":[]}'}))


def test_service_level_agreements_have_no_rest_root(http: httpx.Client) -> None:
    _iis_404(http.post("ServiceLevelAgreements/query", json={"filter": ALL}))
    _iis_404(http.get("ServiceLevelAgreements/1"))


# -- writes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("BillingCodes", "POST"),
        ("BillingCodes", "PATCH"),
        ("ContractServiceUnits", "POST"),
        ("Contracts/1/ServiceUnits", "POST"),
        ("Contracts/1/ServiceUnits", "PATCH"),
    ],
)
def test_writes_to_query_only_entities_are_405_message(http: httpx.Client, path: str, method: str) -> None:
    _not_allowed(http.request(method, path, json={"id": 2001, "name": "x"}), method)


@pytest.mark.parametrize(
    ("entity", "path", "body", "missing"),
    [
        (
            "Contracts",
            "Contracts",
            {k: v for k, v in CONTRACT.items() if not k.startswith("time")},
            "timeReportingRequiresStartAndStopTimes",
        ),
        ("Companies", "Companies", {"companyName": "X", "companyType": 1}, "phone, ownerResourceID"),
        (
            "Products",
            "Products",
            {"name": "P", "productBillingCodeID": 2002, "isActive": True},
            "isSerialized",
        ),
    ],
)
def test_a_missing_required_field_on_create_is_500_errors(
    http: httpx.Client, entity: str, path: str, body: dict[str, Any], missing: str
) -> None:
    assert _errors(http.post(path, json=body)) == [f"{entity} is missing required field(s): {missing}."]


def test_a_charge_without_charge_type_is_refused(http: httpx.Client) -> None:
    contract = _create(http, "Contracts", CONTRACT)
    body = {
        "name": "Setup",
        "datePurchased": "2026-09-30",
        "unitQuantity": 1,
        "unitPrice": 5,
        "billingCodeID": 2002,
    }
    assert _errors(http.post(f"Contracts/{contract}/Charges", json=body)) == [
        "ContractCharges is missing required field(s): chargeType."
    ]


def test_patch_ignores_unknown_and_read_only_properties(http: httpx.Client) -> None:
    contract = _create(http, "Contracts", CONTRACT)
    patch = {
        "id": contract,
        "contractName": "Renamed",
        "colour": "red",  # unknown
        "lastModifiedDateTime": "2001-01-01T00:00:00",  # read-only
        "contractType": 1,  # read-only after create
        "contractPeriodType": 4,
        "companyID": 102,
    }
    response = http.patch("Contracts", json=patch)
    assert (response.status_code, response.json()) == (200, {"itemId": contract})
    item = http.get(f"Contracts/{contract}").json()["item"]
    assert (item["contractName"], item["contractType"], item["contractPeriodType"], item["companyID"]) == (
        "Renamed",
        7,
        1,
        101,
    )
    assert item["lastModifiedDateTime"] != "2001-01-01T00:00:00"
    assert "colour" not in item


def test_services_keep_their_period_type_and_contract_services_change_only_the_invoice_description(
    http: httpx.Client,
) -> None:
    service = _create(http, "Services", {"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 2})
    assert http.patch("Services", json={"id": service, "periodType": 2, "name": "S2"}).status_code == 200
    item = http.get(f"Services/{service}").json()["item"]
    assert (item["periodType"], item["name"]) == (1, "S2")
    assert "lastModifiedDate" in item and "lastModifiedDateTime" not in item
    contract = _create(http, "Contracts", CONTRACT)
    cs = _create(http, f"Contracts/{contract}/Services", {"serviceID": service})
    patch = {"id": cs, "unitPrice": 9, "unitCost": 9, "adjustedPrice": 1, "invoiceDescription": "Seats"}
    assert http.patch(f"Contracts/{contract}/Services", json=patch).json() == {"itemId": cs}
    item = http.get(f"ContractServices/{cs}").json()["item"]
    assert (item["unitPrice"], item["unitCost"], item["invoiceDescription"]) == (2, None, "Seats")


def test_a_recurring_contracts_start_date_is_fixed_once_it_has_services(http: httpx.Client) -> None:
    """API-FACTS A9.1: read-only once services exist (the UI); what REST does then is not published,
    so the sandbox refuses the move (the stricter choice) rather than ignoring it."""
    contract = _create(http, "Contracts", CONTRACT)
    moved = {"id": contract, "startDate": "2026-02-01"}
    assert http.patch("Contracts", json=moved).status_code == 200  # no service yet: it moves
    service = _create(http, "Services", {"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 2})
    _create(http, f"Contracts/{contract}/Services", {"serviceID": service})
    same = {"id": contract, "startDate": "2026-02-01T00:00:00", "contractName": "Same start"}
    assert http.patch("Contracts", json=same).status_code == 200  # the same date, written otherwise
    assert _errors(http.patch("Contracts", json={"id": contract, "startDate": "2026-03-01"})) == [
        f"Contract {contract}: the start date of a Recurring Service contract cannot be changed once the "
        "contract has services."
    ]
    item = http.get(f"Contracts/{contract}").json()["item"]
    assert (item["startDate"], item["contractName"]) == ("2026-02-01T00:00:00", "Same start")


def test_products_have_no_last_modified_field(http: httpx.Client) -> None:
    fields = {f["name"] for f in http.get("Products/entityInformation/fields").json()["fields"]}
    assert not {name for name in fields if name.lower().startswith("lastmodified")}
    assert "createdTime" in fields


# -- unit rows ----------------------------------------------------------------------------------------


def test_unit_rows_follow_quarterly_periods_from_the_start_date_and_split_at_adjustments(
    http: httpx.Client,
) -> None:
    contract = _create(http, "Contracts", {**CONTRACT, "startDate": "2026-02-10", "contractPeriodType": 2})
    service = _create(http, "Services", {"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 3})
    path = f"Contracts/{contract}/ServiceAdjustments"
    _create(http, path, {"serviceID": service, "effectiveDate": "2026-02-10", "unitChange": 5})
    _create(http, path, {"serviceID": service, "effectiveDate": "2026-06-01", "unitChange": 2})
    rows = http.get(f"Contracts/{contract}/ServiceUnits").json()["items"]
    assert [(r["startDate"][:10], r["endDate"][:10], r["units"]) for r in rows] == [
        ("2026-02-10", "2026-05-09", 5),
        ("2026-05-10", "2026-05-31", 5),
        ("2026-06-01", "2026-08-09", 7),
        ("2026-08-10", "2026-11-09", 7),
        ("2026-11-10", "2026-12-31", 7),
    ]


# -- metadata and the tenant's configuration -----------------------------------------------------------


def _field(http: httpx.Client, entity: str, name: str) -> dict[str, Any]:
    (found,) = [
        f for f in http.get(f"{entity}/entityInformation/fields").json()["fields"] if f["name"] == name
    ]
    return dict(found)


def test_fields_describe_required_read_only_and_picklists_as_autotask_does(http: httpx.Client) -> None:
    period = _field(http, "Services", "periodType")
    assert (period["isRequired"], period["isReadOnly"], period["isPickList"]) == (True, True, True)
    assert [v["value"] for v in period["picklistValues"]] == ["1", "2", "3", "4"]  # strings (A8)
    charge_type = _field(http, "ContractCharges", "chargeType")
    assert (charge_type["isRequired"], [v["label"] for v in charge_type["picklistValues"]]) == (
        True,
        ["Operational", "Capitalized"],
    )
    use_type = _field(http, "BillingCodes", "useType")
    assert len(use_type["picklistValues"]) == 10
    assert {v["value"]: v["label"] for v in use_type["picklistValues"]}[
        "5"
    ] == "Recurring Contract Service Code"
    assert _field(http, "Contracts", "timeReportingRequiresStartAndStopTimes")["isRequired"] is True
    assert _field(http, "Companies", "phone")["isRequired"] is True
    assert _field(http, "ContractServices", "unitPrice")["isReadOnly"] is True
    info = http.get("ContractServiceAdjustments/entityInformation").json()["info"]
    assert (info["canCreate"], info["canQuery"], info["canUpdate"]) == (True, False, False)


def test_the_sla_picklist_is_the_tenants_and_tests_can_change_it(app: SandboxApp, http: httpx.Client) -> None:
    app.tenant.set_sla(3, "Premium")
    app.tenant.set_sla(1, "Standard", active=False)
    for entity in ("Contracts", "Services"):
        values = _field(http, entity, "serviceLevelAgreementID")["picklistValues"]
        assert [(v["value"], v["label"], v["isActive"]) for v in values] == [
            ("1", "Standard", False),
            ("2", "Legacy SLA", False),
            ("3", "Premium", True),
        ]
    refused = http.post("Contracts", json={**CONTRACT, "serviceLevelAgreementID": 1})
    assert _errors(refused) == [
        "1 is an inactive value (Standard) for Contracts.serviceLevelAgreementID; use one of 3 (Premium)."
    ]
    assert http.post("Contracts", json={**CONTRACT, "serviceLevelAgreementID": 3}).status_code == 200
    app.tenant.remove_sla(3)
    assert [v["value"] for v in _field(http, "Contracts", "serviceLevelAgreementID")["picklistValues"]] == [
        "1",
        "2",
    ]


def test_a_tenant_without_the_subscription_udf(app: SandboxApp, http: httpx.Client) -> None:
    contract = _create(
        http, "Contracts", {**CONTRACT, "userDefinedFields": [{"name": "Subscription ID", "value": "S-1"}]}
    )
    app.tenant.remove_udf("Contracts", "Subscription ID")
    assert http.get("Contracts/entityInformation/userDefinedFields").json() == {"fields": []}
    assert http.get(f"Contracts/{contract}").json()["item"]["userDefinedFields"] == []
    udf_filter = {"filter": [{"op": "exist", "field": "Subscription ID", "udf": True}]}
    assert _errors(http.post("Contracts/query", json=udf_filter)) == [
        "Contracts has no user-defined field 'Subscription ID'."
    ]
    app.tenant.add_udf("Contracts", "Subscription ID")
    assert [
        u["name"] for u in http.get("Contracts/entityInformation/userDefinedFields").json()["fields"]
    ] == ["Subscription ID"]


def test_billing_codes_can_be_deactivated_retyped_and_added(app: SandboxApp, http: httpx.Client) -> None:
    app.tenant.deactivate_billing_code(2001)
    app.tenant.set_billing_code_use_type(2002, 1)
    app.tenant.set_billing_code(2010, name="New services", use_type=5)
    codes = http.post(
        "BillingCodes/query", json={"filter": ALL, "IncludeFields": ["name", "isActive", "useType"]}
    )
    assert [(c["id"], c["name"], c["isActive"], c["useType"]) for c in codes.json()["items"]] == [
        (2001, "Recurring Contract Services", False, 5),
        (2002, "Cloud Products", True, 1),
        (2003, "Retired Code", False, 5),
        (2004, "Remote Support", True, 1),
        (2010, "New services", True, 5),
    ]
    refused = http.post(
        "Services", json={"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 1}
    )
    assert "is inactive" in _errors(refused)[0]
    with pytest.raises(LookupError):
        app.tenant.deactivate_billing_code(999)


def test_one_user_defined_field_per_query(app: SandboxApp, http: httpx.Client) -> None:
    app.tenant.add_udf("Contracts", "Tenant Code")
    one = {"filter": [{"op": "exist", "field": "Subscription ID", "udf": True}]}
    assert http.post("Contracts/query", json=one).status_code == 200
    two = {"filter": [*one["filter"], {"op": "eq", "field": "Tenant Code", "value": "x", "udf": True}]}
    assert _errors(http.post("Contracts/query", json=two)) == [
        "You can only query by one user-defined field at a time."
    ]


def test_an_adjustment_needs_only_an_effective_date_by_metadata_but_must_change_something(
    http: httpx.Client,
) -> None:
    contract = _create(http, "Contracts", CONTRACT)
    service = _create(http, "Services", {"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 2})
    path = f"Contracts/{contract}/ServiceAdjustments"
    assert _errors(http.post(path, json={"serviceID": service})) == [
        "ContractServiceAdjustments is missing required field(s): effectiveDate."
    ]
    assert _errors(http.post(path, json={"serviceID": service, "effectiveDate": "2026-03-01"})) == [
        "A contract service adjustment needs a unitChange or a new unit price or cost."
    ]
    price_only = {"serviceID": service, "effectiveDate": "2026-03-01", "adjustedUnitPrice": 3}
    assert http.post(path, json=price_only).status_code == 200
