"""The query language: the 14 operators, and/or grouping, UDF filters, IncludeFields, MaxRecords, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import SandboxApp, make_app
from tests.providers.autotask.sandbox_http import wsgi_client

# Demo companies: 0 Demo MSP (owner) type 5; 101 Contoso Ltd, 102 Fabrikam Inc, 103 Northwind Traders,
# 104 Tailspin Toys, 105 Adventure Works Cycles (type 1). The fixture adds three more (ids 30000001..3).
PHONED = 30_000_001  # "Litware 100% Inc", phone 555-0100, inactive
UNDERSCORE = 30_000_002  # "Wide_World Importers", phone 555-0199
PLAIN = 30_000_003  # "Widewide Works", no phone


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    app = make_app(":memory:")
    with wsgi_client(app) as client:
        for body in (
            {
                "companyName": "Litware 100% Inc",
                "companyType": 1,
                "phone": "555-0100",
                "ownerResourceID": 29682885,
                "isActive": False,
            },
            {
                "companyName": "Wide_World Importers",
                "companyType": 3,
                "phone": "555-0199",
                "ownerResourceID": 29682885,
            },
        ):
            assert client.post("Companies", json=body).status_code == 200
        # phone is required on create (A9.8); an older record without one still exists on a tenant
        row = {"id": PLAIN, "companyName": "Widewide Works", "companyType": 3, "ownerResourceID": 29682885}
        app.store.insert_many("Companies", [row])
        for name, price in (("Cheap", "9.99"), ("Middle", "10.5"), ("Dear", "100"), ("Free", "0")):
            body = {"name": name, "billingCodeID": 2001, "periodType": 1, "unitPrice": price}
            assert client.post("Services", json=body).status_code == 200
        for number, (start, subscription) in enumerate(
            (("2026-01-01", "SUB-A"), ("2026-06-15", "sub-b"), ("2027-01-01", None)), start=1
        ):
            body = {
                "companyID": 101,
                "contractName": f"Contract {number}",
                "contractType": 7,
                "status": 1,
                "startDate": start,
                "endDate": "2030-12-31",
                "timeReportingRequiresStartAndStopTimes": 0,
            }
            if subscription:
                body["userDefinedFields"] = [{"name": "Subscription ID", "value": subscription}]
            assert client.post("Contracts", json=body).status_code == 200
    return app


@pytest.fixture
def client(app: SandboxApp) -> Iterator[httpx.Client]:
    with wsgi_client(app) as client:
        yield client


def _ids(client: httpx.Client, entity: str, *filters: dict[str, Any]) -> list[int]:
    response = client.post(f"{entity}/query", json={"filter": list(filters)})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def _error(client: httpx.Client, entity: str, body: dict[str, Any]) -> str:
    response = client.post(f"{entity}/query", json=body)
    assert response.status_code == 500, response.text
    (message,) = response.json()["errors"]
    return str(message)


def test_eq_is_case_insensitive_on_strings(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "eq", "field": "companyName", "value": "contoso LTD"}) == [101]


def test_noteq_includes_rows_where_the_field_is_empty(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "noteq", "field": "phone", "value": "555-0100"}) == [
        0,
        101,
        102,
        103,
        104,
        105,
        UNDERSCORE,
        PLAIN,
    ]


def test_gt(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "gt", "field": "id", "value": 104}) == [
        105,
        PHONED,
        UNDERSCORE,
        PLAIN,
    ]


def test_gte(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "gte", "field": "id", "value": 105}) == [
        105,
        PHONED,
        UNDERSCORE,
        PLAIN,
    ]


def test_lt(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "lt", "field": "id", "value": 102}) == [0, 101]


def test_lte(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "lte", "field": "id", "value": 102}) == [0, 101, 102]


def test_begins_with(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "beginsWith", "field": "companyName", "value": "NORTH"}) == [103]


def test_ends_with(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "endsWith", "field": "companyName", "value": "toys"}) == [104]


def test_contains_treats_like_wildcards_literally(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "contains", "field": "companyName", "value": "works"}) == [
        105,
        PLAIN,
    ]
    assert _ids(client, "Companies", {"op": "contains", "field": "companyName", "value": "100%"}) == [PHONED]
    assert _ids(client, "Companies", {"op": "contains", "field": "companyName", "value": "e_w"}) == [
        UNDERSCORE
    ]


def test_exist(client: httpx.Client) -> None:
    demo = [0, 101, 102, 103, 104, 105]  # the seeded companies have a phone (required, A9.8)
    assert _ids(client, "Companies", {"op": "exist", "field": "phone"}) == [*demo, PHONED, UNDERSCORE]


def test_not_exist(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "notExist", "field": "phone"}) == [PLAIN]


def test_in(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "in", "field": "id", "value": [105, 101, 999]}) == [101, 105]


def test_not_in(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "notIn", "field": "companyType", "value": [1, 5]}) == [
        UNDERSCORE,
        PLAIN,
    ]


def test_decimals_compare_as_numbers_not_text(client: httpx.Client) -> None:
    names = {
        item["id"]: item["name"]
        for item in client.post("Services/query", json={"filter": [{"op": "exist", "field": "id"}]}).json()[
            "items"
        ]
    }
    found = _ids(client, "Services", {"op": "gt", "field": "unitPrice", "value": 10})
    assert [names[i] for i in found] == ["Middle", "Dear"]
    found = _ids(client, "Services", {"op": "eq", "field": "unitPrice", "value": 10.50})
    assert [names[i] for i in found] == ["Middle"]
    found = _ids(client, "Services", {"op": "lte", "field": "unitPrice", "value": "9.99"})
    assert [names[i] for i in found] == ["Cheap", "Free"]


def test_datetimes_accept_date_only_values(client: httpx.Client) -> None:
    contracts = _ids(client, "Contracts", {"op": "exist", "field": "id"})
    assert (
        _ids(client, "Contracts", {"op": "lt", "field": "startDate", "value": "2026-06-15"}) == contracts[:1]
    )
    assert (
        _ids(client, "Contracts", {"op": "gte", "field": "startDate", "value": "2026-06-15T00:00:00"})
        == contracts[1:]
    )


def test_booleans_filter_with_literal_true_and_false(client: httpx.Client) -> None:
    assert _ids(client, "Companies", {"op": "eq", "field": "isActive", "value": False}) == [PHONED]


@pytest.mark.parametrize("value", ["true", 1, None, "false"])
def test_a_boolean_that_is_not_literal_true_or_false_is_refused(client: httpx.Client, value: object) -> None:
    message = _error(client, "Companies", {"filter": [{"op": "eq", "field": "isActive", "value": value}]})
    assert "isActive" in message


def test_or_grouping(client: httpx.Client) -> None:
    found = _ids(
        client,
        "Companies",
        {
            "op": "or",
            "items": [
                {"op": "eq", "field": "id", "value": 102},
                {"op": "beginsWith", "field": "companyName", "value": "tail"},
            ],
        },
    )
    assert found == [102, 104]


def test_nested_and_inside_or_inside_the_implicit_and(client: httpx.Client) -> None:
    found = _ids(
        client,
        "Companies",
        {"op": "eq", "field": "companyType", "value": 3},
        {
            "op": "or",
            "items": [
                {
                    "op": "and",
                    "items": [
                        {"op": "exist", "field": "phone"},
                        {"op": "contains", "field": "companyName", "value": "world"},
                    ],
                },
                {"op": "notExist", "field": "phone"},
            ],
        },
    )
    assert found == [UNDERSCORE, PLAIN]


def test_udf_filters_compare_user_defined_fields_by_name(client: httpx.Client) -> None:
    contracts = _ids(client, "Contracts", {"op": "exist", "field": "id"})
    udf = "Subscription ID"
    assert _ids(client, "Contracts", {"op": "eq", "field": udf, "udf": True, "value": "SUB-B"}) == [
        contracts[1]
    ]
    assert _ids(client, "Contracts", {"op": "in", "field": udf, "udf": True, "value": ["sub-a", "x"]}) == [
        contracts[0]
    ]
    assert _ids(client, "Contracts", {"op": "notExist", "field": udf, "udf": True}) == [contracts[2]]
    assert (
        _ids(client, "Contracts", {"op": "noteq", "field": udf, "udf": True, "value": "sub-a"})
        == contracts[1:]
    )
    assert (
        _ids(client, "Contracts", {"op": "beginsWith", "field": udf, "udf": True, "value": "sub"})
        == contracts[:2]
    )


def test_an_unknown_udf_is_refused(client: httpx.Client) -> None:
    message = _error(
        client, "Contracts", {"filter": [{"op": "eq", "field": "Nope", "udf": True, "value": "x"}]}
    )
    assert message == "Contracts has no user-defined field 'Nope'."


def test_include_fields_limits_the_fields_and_always_keeps_id(client: httpx.Client) -> None:
    body = {
        "filter": [{"op": "eq", "field": "id", "value": 103}],
        "IncludeFields": ["companyname", "isActive"],
    }
    # rows carry userDefinedFields even when none were asked for (A3)
    assert client.post("Companies/query", json=body).json()["items"] == [
        {"id": 103, "companyName": "Northwind Traders", "isActive": True, "userDefinedFields": []}
    ]


def test_include_fields_may_name_a_udf(client: httpx.Client) -> None:
    first = _ids(client, "Contracts", {"op": "exist", "field": "id"})[0]
    body = {"filter": [{"op": "eq", "field": "id", "value": first}], "IncludeFields": ["Subscription ID"]}
    assert client.post("Contracts/query", json=body).json()["items"] == [
        {"id": first, "userDefinedFields": [{"name": "Subscription ID", "value": "SUB-A"}]}
    ]


def test_include_fields_refuses_an_unknown_field(client: httpx.Client) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}], "IncludeFields": ["companyName", "colour"]}
    assert _error(client, "Companies", body) == "Unknown field 'colour' in IncludeFields for Companies."


@pytest.mark.parametrize("max_records", [1, 500])
def test_max_records_within_bounds(client: httpx.Client, max_records: int) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}], "MaxRecords": max_records}
    page = client.post("Companies/query", json=body).json()
    assert page["pageDetails"]["count"] == min(max_records, 9)
    assert (page["pageDetails"]["nextPageUrl"] is not None) == (max_records < 9)


@pytest.mark.parametrize("max_records", [0, 501, -1, "10", True])
def test_max_records_out_of_bounds_is_refused(client: httpx.Client, max_records: object) -> None:
    message = _error(
        client, "Companies", {"filter": [{"op": "exist", "field": "id"}], "MaxRecords": max_records}
    )
    assert message.startswith("MaxRecords must be an integer from 1 to 500")


def test_in_accepts_500_values_and_refuses_501(client: httpx.Client) -> None:
    five_hundred = [101, *range(1_000_000, 1_000_499)]
    assert _ids(client, "Companies", {"op": "in", "field": "id", "value": five_hundred}) == [101]
    message = _error(
        client, "Companies", {"filter": [{"op": "in", "field": "id", "value": [*five_hundred, 7]}]}
    )
    assert message == "The 'in' filter on id has 501 values; at most 500 are allowed."
    message = _error(
        client, "Companies", {"filter": [{"op": "notIn", "field": "id", "value": list(range(501))}]}
    )
    assert "at most 500" in message


@pytest.mark.parametrize("body", [{"filter": []}, {}, {"filter": None}])
def test_a_filter_is_required(client: httpx.Client, body: dict[str, Any]) -> None:
    assert _error(client, "Companies", body).startswith("A query needs a non-empty filter list")


def test_unknown_field_operator_and_wrong_value_type_are_named(client: httpx.Client) -> None:
    assert (
        _error(client, "Companies", {"filter": [{"op": "eq", "field": "colour", "value": 1}]})
        == "Unknown field 'colour' in a filter on Companies."
    )
    assert _error(client, "Companies", {"filter": [{"op": "like", "field": "id", "value": 1}]}) == (
        "Unknown filter operator 'like'."
    )
    assert "Companies.id must be an integer" in _error(
        client, "Companies", {"filter": [{"op": "eq", "field": "id", "value": "abc"}]}
    )
    assert "needs a string field" in _error(
        client, "Companies", {"filter": [{"op": "contains", "field": "id", "value": "1"}]}
    )
