"""The Autotask client against the in-process sandbox: the real wire format, limits and faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from providers.autotask.client import AutotaskClient, F
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig, Credentials, RetryPolicy
from providers.autotask.errors import AutotaskAuthError, AutotaskOutcomeUnknown, AutotaskValidationError
from providers.autotask.sandbox import BASE_PATH, SandboxApp, SandboxConfig, make_app

ROOT = "http://sandbox.billsync.local"
BASE = ROOT + BASE_PATH
DEMO_COMPANIES = 6  # the owner company and five customers the sandbox is seeded with
NO_WAIT = RetryPolicy(max_attempts=50, base_delay=0.0, max_delay=0.0, max_total_seconds=60)


def _client(app: SandboxApp, credentials: Credentials = SANDBOX_CREDENTIALS, **config: Any) -> AutotaskClient:
    settings = ClientConfig(**{"base_url": BASE, "retry": NO_WAIT, **config})
    return AutotaskClient(credentials, settings, transport=httpx.WSGITransport(app=app))


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:")


@pytest.fixture
def client(app: SandboxApp) -> Iterator[AutotaskClient]:
    with _client(app) as client:
        yield client


def _run_in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = jobs[index]()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def test_query_returns_1234_created_companies_and_the_demo_ones_exactly_once(client: AutotaskClient) -> None:
    created = [
        client.create(
            "Companies",
            {
                "companyName": f"Customer {n:04}",
                "companyType": 1,
                "phone": "555-0100",
                "ownerResourceID": 29682885,
            },
        )
        for n in range(1234)
    ]
    assert len(set(created)) == 1234

    companies = client.query("Companies", include_fields=["companyName"])

    assert len(companies) == 1234 + DEMO_COMPANIES
    assert len({company["id"] for company in companies}) == len(companies)
    assert set(created) <= {company["id"] for company in companies}
    names = {company["companyName"] for company in companies}
    assert {f"Customer {n:04}" for n in range(1234)} <= names
    assert client.count("Companies") == 1234 + DEMO_COMPANIES
    # 1,240 objects: the query and its two next pages, all POSTs of the same body (A4), and the count
    assert client.stats.requests["Companies"] == {"POST": 1234 + 1 + 3}


def test_query_in_reads_1234_ids_in_three_requests(client: AutotaskClient) -> None:
    created = [
        client.create(
            "Companies",
            {"companyName": f"C{n}", "companyType": 1, "phone": "555-0100", "ownerResourceID": 29682885},
        )
        for n in range(1234)
    ]
    before = client.stats.count("Companies", "POST")

    found = client.query_in("Companies", "id", created, include_fields=["companyName"])

    assert sorted(company["id"] for company in found) == sorted(created)
    assert client.stats.count("Companies", "POST") - before == 3


def test_four_concurrent_requests_with_a_delay_fault_complete_within_the_thread_limit() -> None:
    three_held = threading.Event()
    held = 0
    lock = threading.Lock()

    def delay(seconds: float) -> None:
        """The sandbox's wait for the delay fault: hold requests until three are in flight together."""
        nonlocal held
        with lock:
            held += 1
            if held == 3:
                three_held.set()
        assert three_held.wait(timeout=30)

    app = make_app(":memory:", SandboxConfig(sleep=delay))
    app.inject_fault(endpoint="Companies", verb="query", delay=1.0, times=4)
    with _client(app) as client:
        ids = [101, 102, 103, 104]
        results = _run_in_threads([partial(client.query, "Companies", [F.eq("id", i)]) for i in ids])
        stats = client.stats

    assert [[company["id"] for company in result] for result in results] == [[i] for i in ids]
    assert held == 4  # every request was delayed
    endpoint = app.stats().endpoints["Companies"]
    assert endpoint.throttled == 0
    assert endpoint.peak_in_flight == 3
    assert stats.peak_in_flight == {"Companies": 3}
    assert stats.requests == {"Companies": {"POST": 4}}


def test_429s_from_a_stricter_tenant_are_retried_until_every_request_completes() -> None:
    holder: dict[str, SandboxApp] = {}

    def delay(seconds: float) -> None:
        """Hold the admitted requests until the tenant has refused one with 429."""
        app = holder["app"]
        refused = threading.Event()
        for _ in range(3000):
            if app.stats().endpoints["Companies"].throttled:
                return
            refused.wait(0.01)
        raise AssertionError("the tenant never refused a request")

    app = make_app(":memory:", SandboxConfig(thread_limit=2, sleep=delay))
    holder["app"] = app
    app.inject_fault(endpoint="Companies", verb="count", delay=1.0, times=2)
    patient = RetryPolicy(max_attempts=100, base_delay=0.01, max_delay=0.05, max_total_seconds=60)
    with _client(app, retry=patient) as client:  # the client allows 3 in flight, the tenant only 2
        results = _run_in_threads(
            [partial(client.count, "Companies", [F.eq("id", i)]) for i in (0, 101, 102)]
        )
        assert results == [1, 1, 1]
        assert client.stats.throttled["Companies"] >= 1
    assert app.stats().endpoints["Companies"].throttled >= 1


def test_a_dropped_create_response_is_an_unknown_outcome_and_the_object_exists(
    app: SandboxApp, client: AutotaskClient
) -> None:
    app.inject_fault(endpoint="Companies", verb="create", drop_response=True)
    with pytest.raises(AutotaskOutcomeUnknown, match="did not send it again"):
        client.create(
            "Companies",
            {
                "companyName": "billsync:marker-1",
                "companyType": 1,
                "phone": "555-0100",
                "ownerResourceID": 29682885,
            },
        )
    assert client.stats.count("Companies", "POST") == 1
    found = client.query("Companies", [F.eq("companyName", "billsync:marker-1")])
    assert len(found) == 1


def test_validation_failures_surface_the_sandbox_message(client: AutotaskClient) -> None:
    with pytest.raises(AutotaskValidationError) as caught:
        client.create("Companies", {"companyName": "No type"})
    assert caught.value.status == 500
    assert caught.value.messages
    assert "companyType" in str(caught.value)
    assert client.stats.count("Companies") == 1


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        (SANDBOX_CREDENTIALS.model_copy(update={"secret": SecretStr("wrong")}), "the secret is wrong"),
        (SANDBOX_CREDENTIALS.model_copy(update={"username": "nobody@x.test"}), "Check AUTOTASK_USERNAME"),
        (SANDBOX_CREDENTIALS.model_copy(update={"integration_code": "NOPE"}), "AUTOTASK_INTEGRATION_CODE"),
    ],
)
def test_bad_credentials_are_auth_errors(app: SandboxApp, credentials: Credentials, expected: str) -> None:
    with _client(app, credentials) as client, pytest.raises(AutotaskAuthError, match=expected):
        client.query("Companies")


def test_zone_lookup_threshold_fields_and_get_against_the_sandbox(app: SandboxApp) -> None:
    with _client(app, base_url=None, zone_lookup_url=BASE + "ZoneInformation") as client:
        assert client.get("Companies", 101) is not None
        assert client.base_url == BASE
        assert client.get("Companies", 999_999) is None
        threshold = client.threshold()
        assert threshold.external_request_threshold == 10_000
        assert threshold.request_threshold_timeframe == 60
        assert threshold.current_timeframe_request_count == 2
        fields = client.field_info("Companies")
        assert {field["name"] for field in fields} >= {"id", "companyName", "companyType"}
