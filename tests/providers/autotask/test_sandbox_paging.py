"""Pages of 500 linked by nextPageUrl/prevPageUrl, keyset-stable while data changes; GET and count forms.

A POST query's links are followed by POSTing the same body to them, as on Autotask (API-FACTS A4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import SandboxApp, make_app
from tests.providers.autotask.sandbox_http import wsgi_client

DEMO_IDS = [0, 101, 102, 103, 104, 105]
ALL = [{"op": "gte", "field": "id", "value": 0}]


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    app = make_app(":memory:")
    with wsgi_client(app) as client:
        for number in range(1234):
            response = client.post(
                "Companies",
                json={
                    "companyName": f"Customer {number:04d}",
                    "companyType": 1,
                    "phone": "555-0100",
                    "ownerResourceID": 29682885,
                },
            )
            assert response.status_code == 200
    return app


@pytest.fixture
def client(app: SandboxApp) -> Iterator[httpx.Client]:
    with wsgi_client(app) as client:
        yield client


def _follow(client: httpx.Client, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of a POST query: each link POSTed with the query's body."""
    first = client.post("Companies/query", json=query)
    assert first.status_code == 200, first.text
    pages = [first.json()]
    while pages[-1]["pageDetails"]["nextPageUrl"]:
        response = client.post(pages[-1]["pageDetails"]["nextPageUrl"], json=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


def test_1234_created_companies_come_in_pages_of_500_linked_by_next_page_url(client: httpx.Client) -> None:
    pages = _follow(client, {"filter": ALL})
    counts = [page["pageDetails"]["count"] for page in pages]
    assert counts == [500, 500, 234 + len(DEMO_IDS)]
    assert [len(page["items"]) for page in pages] == counts
    ids = [item["id"] for page in pages for item in page["items"]]
    assert ids == DEMO_IDS + list(range(30_000_001, 30_000_001 + 1234))
    assert pages[0]["pageDetails"]["prevPageUrl"] is None
    assert pages[0]["pageDetails"]["nextPageUrl"].startswith(
        "http://sandbox/ATServicesRest/V1.0/Companies/query/next?paging="
    )
    assert pages[-1]["pageDetails"]["nextPageUrl"] is None


def test_prev_page_url_leads_back_to_the_previous_page(client: httpx.Client) -> None:
    pages = _follow(client, {"filter": ALL})
    back = client.post(pages[2]["pageDetails"]["prevPageUrl"], json={"filter": ALL}).json()
    assert [item["id"] for item in back["items"]] == [item["id"] for item in pages[1]["items"]]
    first = client.post(back["pageDetails"]["prevPageUrl"], json={"filter": ALL}).json()
    assert [item["id"] for item in first["items"]] == [item["id"] for item in pages[0]["items"]]
    assert first["pageDetails"]["prevPageUrl"] is None
    assert pages[1]["pageDetails"]["prevPageUrl"] is not None


def test_max_records_sets_the_page_size_and_include_fields_carry_over(client: httpx.Client) -> None:
    query = {
        "filter": [{"op": "beginsWith", "field": "companyName", "value": "Customer 000"}],
        "MaxRecords": 4,
        "IncludeFields": ["companyName"],
    }
    pages = _follow(client, query)
    assert [page["pageDetails"]["count"] for page in pages] == [4, 4, 2]
    assert [page["pageDetails"]["requestCount"] for page in pages] == [4, 4, 4]
    names = [item["companyName"] for page in pages for item in page["items"]]
    assert names == [f"Customer {n:04d}" for n in range(10)]
    assert all(
        set(item) == {"id", "companyName", "userDefinedFields"} for page in pages for item in page["items"]
    )


def test_keyset_paging_is_stable_while_rows_are_added_and_changed() -> None:
    app = make_app(":memory:")
    with wsgi_client(app) as client:
        for number in range(8):
            client.post(
                "Companies",
                json={
                    "companyName": f"Shop {number}",
                    "companyType": 1,
                    "phone": "555-0100",
                    "ownerResourceID": 29682885,
                },
            )
        query = {"filter": [{"op": "beginsWith", "field": "companyName", "value": "Shop"}], "MaxRecords": 5}
        first = client.post("Companies/query", json=query).json()
        renamed = first["items"][0]["id"]
        client.patch("Companies", json={"id": renamed, "companyName": "Closed shop"})
        created = client.post(
            "Companies",
            json={
                "companyName": "Shop 8",
                "companyType": 1,
                "phone": "555-0100",
                "ownerResourceID": 29682885,
            },
        ).json()["itemId"]
        second = client.post(first["pageDetails"]["nextPageUrl"], json=query).json()
        rest = [second]
        while rest[-1]["pageDetails"]["nextPageUrl"]:
            rest.append(client.post(rest[-1]["pageDetails"]["nextPageUrl"], json=query).json())
    names = [i["companyName"] for i in first["items"]] + [
        i["companyName"] for page in rest for i in page["items"]
    ]
    assert names == [f"Shop {n}" for n in range(9)]
    assert rest[-1]["items"][-1]["id"] == created


def test_get_query_with_search_parameter(client: httpx.Client) -> None:
    search = json.dumps(
        {"filter": [{"op": "in", "field": "id", "value": [101, 105]}], "IncludeFields": ["companyName"]}
    )
    response = client.get("Companies/query", params={"search": search})
    assert response.status_code == 200
    assert response.json()["items"] == [
        {"id": 101, "companyName": "Contoso Ltd", "userDefinedFields": []},
        {"id": 105, "companyName": "Adventure Works Cycles", "userDefinedFields": []},
    ]


def test_a_get_query_is_paged_with_get(client: httpx.Client) -> None:
    search = json.dumps({"filter": ALL, "MaxRecords": 500})
    first = client.get("Companies/query", params={"search": search}).json()
    second = client.get(first["pageDetails"]["nextPageUrl"])
    assert second.status_code == 200
    assert second.json()["items"][0]["id"] == first["items"][-1]["id"] + 1
    refused = client.post(first["pageDetails"]["nextPageUrl"], json={"filter": ALL, "MaxRecords": 500})
    assert (refused.status_code, refused.json()) == (
        405,
        {"Message": "The requested resource does not support http method 'POST'."},
    )


def test_count_by_post_and_get(client: httpx.Client) -> None:
    query = {"filter": [{"op": "beginsWith", "field": "companyName", "value": "Customer 01"}]}
    assert client.post("Companies/query/count", json=query).json() == {"queryCount": 100}
    assert client.get("Companies/query/count", params={"search": json.dumps(query)}).json() == {
        "queryCount": 100
    }


def test_a_forged_paging_token_is_refused(client: httpx.Client) -> None:
    response = client.get("Companies/query/next", params={"paging": "not-a-token"})
    assert response.status_code == 500
    assert response.json() == {"errors": ["The paging token is not valid; start the query again."]}
