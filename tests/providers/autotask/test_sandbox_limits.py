"""Thread limit (real server), hourly budget, ThresholdInformation and the request counters."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from providers.autotask.sandbox import (
    BASE_PATH,
    SANDBOX_CREDENTIALS,
    SandboxApp,
    SandboxConfig,
    make_app,
    start_background_server,
)

QUERY = {"filter": [{"op": "gte", "field": "id", "value": 0}]}


def _client(app: SandboxApp) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    )


def test_a_fourth_concurrent_request_on_one_endpoint_gets_429_on_a_real_server() -> None:
    release = threading.Event()
    # The delay fault holds each admitted request in flight until the test releases it.
    app = make_app(":memory:", SandboxConfig(sleep=lambda seconds: release.wait(30)))
    app.inject_fault(endpoint="Companies", verb="query", delay=5, times=4)
    server = start_background_server(app)
    statuses: list[int] = []
    first_answer = threading.Event()
    barrier = threading.Barrier(4)

    def query() -> None:
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), timeout=30, trust_env=False
        ) as client:
            barrier.wait()
            status = client.post("Companies/query", json=QUERY).status_code
        statuses.append(status)
        first_answer.set()

    threads = [threading.Thread(target=query) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        assert first_answer.wait(30)
        assert statuses == [429]
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), timeout=30, trust_env=False
        ) as other:
            assert other.post("Contracts/query", json=QUERY).status_code == 200
        held = app.stats().endpoints["Companies"]
        assert (held.in_flight, held.peak_in_flight, held.throttled) == (3, 3, 1)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
        server.stop()
    assert sorted(statuses) == [200, 200, 200, 429]
    stats = app.stats().endpoints["Companies"]
    assert (stats.requests, stats.in_flight, stats.peak_in_flight, stats.throttled) == ({"query": 3}, 0, 3, 1)


def test_the_thread_limit_answers_429_with_errors() -> None:
    release = threading.Event()
    app = make_app(":memory:", SandboxConfig(thread_limit=1, sleep=lambda seconds: release.wait(30)))
    app.inject_fault(endpoint="Services", delay=1)
    held: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: held.append(_client(app).post("Services/query", json=QUERY)))
    worker.start()
    try:
        for _ in range(3000):
            if app.stats().count("Services"):
                break
            threading.Event().wait(0.01)
        refused = _client(app).post("Services/query", json=QUERY)
    finally:
        release.set()
        worker.join(30)
    assert refused.status_code == 429
    assert refused.json() == {
        "errors": ["Thread limit exceeded: at most 1 concurrent requests per endpoint (Services)."]
    }
    assert held[0].status_code == 200


@pytest.fixture
def clock() -> list[float]:
    return [1000.0]


@pytest.fixture
def budget_client(clock: list[float]) -> Iterator[httpx.Client]:
    app = make_app(":memory:", SandboxConfig(hourly_limit=3, monotonic=lambda: clock[0]))
    with _client(app) as client:
        yield client


def test_the_hourly_budget_refuses_with_429_until_the_window_rolls(
    budget_client: httpx.Client, clock: list[float]
) -> None:
    for _ in range(3):
        assert budget_client.post("Companies/query", json=QUERY).status_code == 200
    clock[0] += 1800
    refused = budget_client.post("Contracts/query", json=QUERY)
    assert refused.status_code == 429
    assert refused.json() == {
        "errors": ["The limit of 3 requests per 60 minutes has been reached; try again later."]
    }
    clock[0] += 1800
    assert budget_client.post("Contracts/query", json=QUERY).status_code == 200


def test_threshold_information_reports_the_count_and_is_not_counted(budget_client: httpx.Client) -> None:
    budget_client.post("Companies/query", json=QUERY)
    budget_client.get("Companies/101")
    expected = {
        "externalRequestThreshold": 3,
        "requestThresholdTimeframe": 60,
        "currentTimeframeRequestCount": 2,
    }
    assert budget_client.get("ThresholdInformation").json() == expected
    assert budget_client.get("ThresholdInformation").json() == expected


def test_counters_count_per_endpoint_and_kind_and_reset() -> None:
    app = make_app(":memory:")
    with _client(app) as client:
        client.post("Companies/query", json=QUERY)
        client.get("Companies/query", params={"search": '{"filter":[{"op":"eq","field":"id","value":101}]}'})
        client.post("Companies/query/count", json=QUERY)
        client.get("Companies/101")
        company = client.post(
            "Companies",
            json={"companyName": "New", "companyType": 1, "phone": "555-0100", "ownerResourceID": 29682885},
        ).json()["itemId"]
        client.patch("Companies", json={"id": company, "phone": "555"})
        client.get("Contracts/entityInformation/fields")
        contract = client.post(
            "Contracts",
            json={
                "companyID": company,
                "contractName": "C",
                "contractType": 7,
                "timeReportingRequiresStartAndStopTimes": 0,
                "status": 1,
                "startDate": "2026-01-01",
                "endDate": "2026-12-31",
            },
        ).json()["itemId"]
        service = client.post(
            "Services", json={"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 1}
        ).json()["itemId"]
        client.post(f"Contracts/{contract}/Services", json={"serviceID": service})
        client.post("Companies", json={"companyName": "Broken"})  # refused, still counted
        over_http = client.get("http://sandbox/_sandbox/stats").json()
    stats = app.stats()
    assert {name: s.requests for name, s in stats.endpoints.items()} == {
        "Companies": {"query": 2, "count": 1, "get": 1, "create": 2, "update": 1},
        "Contracts": {"info": 1, "create": 1},
        "Services": {"create": 1},
        "ContractServices": {"create": 1},
    }
    assert stats.count("Companies") == 7
    assert stats.count("Companies", "create") == 2
    assert stats.count("Products") == 0
    assert stats.hourly_request_count == 11
    assert over_http == stats.model_dump()
    with _client(app) as client:
        after_reset = client.post("http://sandbox/_sandbox/stats/reset").json()
    assert after_reset["endpoints"] == {}
    assert app.stats().endpoints == {}


def test_concurrent_writes_on_a_real_server_get_distinct_ids() -> None:
    app = make_app(":memory:")
    created: list[int] = []

    def create(worker: int) -> None:
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), timeout=30, trust_env=False
        ) as client:
            for number in range(40):
                body = {
                    "companyName": f"W{worker}-{number}",
                    "companyType": 1,
                    "phone": "555-0100",
                    "ownerResourceID": 29682885,
                }
                response = client.post("Companies", json=body)
                assert response.status_code == 200, response.text
                created.append(response.json()["itemId"])

    with start_background_server(app) as server:
        threads = [threading.Thread(target=create, args=(worker,)) for worker in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), timeout=30, trust_env=False
        ) as client:
            count = client.post(
                "Companies/query/count",
                json={"filter": [{"op": "beginsWith", "field": "companyName", "value": "W"}]},
            )
    assert sorted(created) == list(range(30_000_001, 30_000_121))
    assert count.json() == {"queryCount": 120}
    assert app.stats().endpoints["Companies"].throttled == 0
