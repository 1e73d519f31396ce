"""Long reads as id ranges side by side: the longest chain of pages shrinks to about a third, at
(almost) no extra requests. Counted by the sandbox, request by request."""

from __future__ import annotations

import math
from collections.abc import Iterator

import httpx
import pytest

from providers.autotask.client import AutotaskClient, F
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig, RetryPolicy
from providers.autotask.sandbox import BASE_PATH, SandboxApp, make_app
from providers.autotask.split import cuts_from_estimate, cuts_from_ids, id_ranges, page_shares

BASE = "http://sandbox.billsync.local" + BASE_PATH
NO_WAIT = RetryPolicy(max_attempts=50, base_delay=0.0, max_delay=0.0, max_total_seconds=60)
CUSTOMERS = [F.begins_with("companyName", "Customer")]
N = 5_000


def _company(number: int) -> dict[str, object]:
    return {
        "companyName": f"Customer {number:05d}",
        "companyType": 1,
        "phone": "555-0100",
        "ownerResourceID": 1,
    }


@pytest.fixture(scope="module")
def seeded() -> tuple[SandboxApp, list[int]]:
    app = make_app(":memory:")
    ids = app.store.insert_many("Companies", [_company(n) for n in range(N)])
    return app, ids


@pytest.fixture
def client(seeded: tuple[SandboxApp, list[int]]) -> Iterator[AutotaskClient]:
    app, _ = seeded
    app.reset_stats()
    config = ClientConfig(base_url=BASE, retry=NO_WAIT)
    with AutotaskClient(SANDBOX_CREDENTIALS, config, transport=httpx.WSGITransport(app=app)) as client:
        yield client


def test_one_chain_is_what_a_plain_query_costs(
    seeded: tuple[SandboxApp, list[int]], client: AutotaskClient
) -> None:
    app, ids = seeded
    assert {row["id"] for row in client.query("Companies", CUSTOMERS)} == set(ids)
    companies = app.stats().endpoints["Companies"]
    assert (companies.requests, companies.longest_chain) == ({"query": 10}, 10)


def test_a_first_read_splits_after_its_first_page_by_a_count(
    seeded: tuple[SandboxApp, list[int]], client: AutotaskClient
) -> None:
    app, ids = seeded
    rows = client.query_split("Companies", CUSTOMERS, include_fields=["companyName"])
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert {row["companyName"] for row in rows} == {f"Customer {n:05d}" for n in range(N)}
    companies = app.stats().endpoints["Companies"]
    # the first page, then 9 pages as 3 ranges of 3; one count
    assert companies.requests == {"query": 10, "count": 1}
    assert companies.longest_chain == 3 <= math.ceil(10 / 3) + 1
    assert companies.peak_in_flight <= 3 and companies.throttled == 0


def test_recorded_ids_give_the_cuts_and_new_records_land_in_the_open_last_range(
    seeded: tuple[SandboxApp, list[int]], client: AutotaskClient
) -> None:
    app, ids = seeded
    rows = client.query_split("Companies", CUSTOMERS, known_ids=ids[:-700])  # 4,300 recorded: 9 pages
    assert sorted(row["id"] for row in rows) == sorted(ids)
    companies = app.stats().endpoints["Companies"]
    # pages 3 + 3 + 3 of recorded ids: the last range also holds the 700 unrecorded ones (+1 page)
    assert companies.requests == {"query": 10}
    assert companies.longest_chain == 4
    assert companies.requests["query"] <= 1.1 * math.ceil(N / 500) + 3


def test_a_one_page_result_costs_one_request(
    seeded: tuple[SandboxApp, list[int]], client: AutotaskClient
) -> None:
    app, ids = seeded
    rows = client.query_split("Companies", [*CUSTOMERS, F.lte("id", ids[99])])
    assert len(rows) == 100
    assert app.stats().endpoints["Companies"].requests == {"query": 1}


def test_a_wrong_estimate_costs_a_longer_range_never_a_record() -> None:
    app = make_app(":memory:")
    other = {**_company(0), "companyName": "Other"}
    first = app.store.insert_many("Companies", [_company(n) for n in range(500)])
    app.store.insert_many("Companies", [other] * 1_500)  # a gap of 1,500 ids after the first page
    last = app.store.insert_many("Companies", [_company(n) for n in range(500, 1_500)])
    with AutotaskClient(
        SANDBOX_CREDENTIALS,
        ClientConfig(base_url=BASE, retry=NO_WAIT),
        transport=httpx.WSGITransport(app=app),
    ) as client:
        rows = client.query_split("Companies", CUSTOMERS)
    assert sorted(row["id"] for row in rows) == sorted(first + last)
    companies = app.stats().endpoints["Companies"]
    # the first page; the range guessed to hold the next page is empty; the open last range reads 2
    assert companies.requests == {"query": 4, "count": 1}
    assert companies.longest_chain == 2


def test_cuts_fall_on_page_boundaries() -> None:
    assert page_shares(10, 3) == [4, 3, 3]
    assert page_shares(2, 3) == [1, 1]
    assert cuts_from_ids(list(range(1, 2001)), 3) == [1000, 1500]
    assert cuts_from_ids(list(range(1, 401)), 3) == []
    # 500 read between ids 1 and 1000 (one in two), 1,500 to go: 3 pages, cut every 1,000 ids
    assert cuts_from_estimate(1, 1000, 500, 2000, 3) == [2000, 3000]
    assert cuts_from_estimate(1, 500, 500, 500, 3) == []
    assert id_ranges([10, 20], above=5) == [
        [F.gt("id", 5), F.lte("id", 10)],
        [F.gt("id", 10), F.lte("id", 20)],
        [F.gt("id", 20)],
    ]


def test_an_expected_two_pages_read_as_one_chain_without_a_count(
    seeded: tuple[SandboxApp, list[int]], client: AutotaskClient
) -> None:
    app, ids = seeded
    rows = client.query_split("Companies", [*CUSTOMERS, F.lte("id", ids[899])], expect=900)
    assert len(rows) == 900
    companies = app.stats().endpoints["Companies"]
    assert (companies.requests, companies.longest_chain) == ({"query": 2}, 2)
