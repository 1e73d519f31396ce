"""Pages of 500 linked by nextPageUrl/prevPageUrl, keyset-stable while data changes; GET and count forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from providers.autotask.sandbox import BASE_PATH, SANDBOX_CREDENTIALS, SandboxApp, make_app

DEMO_IDS = [0, 101, 102, 103, 104, 105]
ALL = [{"op": "gte", "field": "id", "value": 0}]


@pytest.fixture(scope="module")
def app() -> SandboxApp:
    app = make_app(":memory:")
    with _client(app) as client:
        for number in range(1234):
            response = client.post(
                "Companies", json={"companyName": f"Customer {number:04d}", "companyType": 1}
            )
            assert response.status_code == 200
    return app


@pytest.fixture
def client(app: SandboxApp) -> Iterator[httpx.Client]:
    with _client(app) as client:
        yield client


def _client(app: SandboxApp) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    )


def _follow(client: httpx.Client, first: httpx.Response) -> list[dict[str, Any]]:
    pages = [first.json()]
    while pages[-1]["pageDetails"]["nextPageUrl"]:
        response = client.get(pages[-1]["pageDetails"]["nextPageUrl"])
        assert response.status_code == 200, response.text
        pages.append(response.json())
    return pages


def test_1234_created_companies_come_in_pages_of_500_linked_by_next_page_url(client: httpx.Client) -> None:
    pages = _follow(client, client.post("Companies/query", json={"filter": ALL}))
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
    pages = _follow(client, client.post("Companies/query", json={"filter": ALL}))
    back = client.get(pages[2]["pageDetails"]["prevPageUrl"]).json()
    assert [item["id"] for item in back["items"]] == [item["id"] for item in pages[1]["items"]]
    first = client.get(back["pageDetails"]["prevPageUrl"]).json()
    assert [item["id"] for item in first["items"]] == [item["id"] for item in pages[0]["items"]]
    assert first["pageDetails"]["prevPageUrl"] is None
    assert pages[1]["pageDetails"]["prevPageUrl"] is not None


def test_max_records_sets_the_page_size_and_include_fields_carry_over(client: httpx.Client) -> None:
    query = {
        "filter": [{"op": "beginsWith", "field": "companyName", "value": "Customer 000"}],
        "MaxRecords": 4,
        "IncludeFields": ["companyName"],
    }
    pages = _follow(client, client.post("Companies/query", json=query))
    assert [page["pageDetails"]["count"] for page in pages] == [4, 4, 2]
    assert [page["pageDetails"]["requestCount"] for page in pages] == [4, 4, 4]
    names = [item["companyName"] for page in pages for item in page["items"]]
    assert names == [f"Customer {n:04d}" for n in range(10)]
    assert all(set(item) == {"id", "companyName"} for page in pages for item in page["items"])


def test_keyset_paging_is_stable_while_rows_are_added_and_changed() -> None:
    app = make_app(":memory:")
    with _client(app) as client:
        for number in range(8):
            client.post("Companies", json={"companyName": f"Shop {number}", "companyType": 1})
        query = {"filter": [{"op": "beginsWith", "field": "companyName", "value": "Shop"}], "MaxRecords": 5}
        first = client.post("Companies/query", json=query).json()
        renamed = first["items"][0]["id"]
        client.patch("Companies", json={"id": renamed, "companyName": "Closed shop"})
        created = client.post("Companies", json={"companyName": "Shop 8", "companyType": 1}).json()["itemId"]
        rest = _follow(client, client.get(first["pageDetails"]["nextPageUrl"]))
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
        {"id": 101, "companyName": "Contoso Ltd"},
        {"id": 105, "companyName": "Adventure Works Cycles"},
    ]


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
