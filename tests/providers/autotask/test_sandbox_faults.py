"""Fault injection: failing, delaying and dropping the response of the Nth request to an endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from providers.autotask.sandbox import (
    BASE_PATH,
    SANDBOX_CREDENTIALS,
    Fault,
    SandboxApp,
    SandboxConfig,
    make_app,
    start_background_server,
)
from tests.providers.autotask.sandbox_http import wsgi_client

CREATED = {"filter": [{"op": "gte", "field": "id", "value": 30_000_000}]}


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:")


@pytest.fixture
def client(app: SandboxApp) -> Iterator[httpx.Client]:
    with wsgi_client(app) as client:
        yield client


def _names(client: httpx.Client) -> list[str]:
    return [item["companyName"] for item in client.post("Companies/query", json=CREATED).json()["items"]]


@pytest.mark.parametrize("status", [500, 429, 503])
def test_the_nth_create_fails_without_executing(app: SandboxApp, client: httpx.Client, status: int) -> None:
    app.inject_fault(endpoint="Companies", verb="create", nth=2, status=status, message="Simulated outage.")
    codes = []
    for name in ("First", "Second", "Third"):
        client.post("Companies/query", json=CREATED)  # queries do not count towards a create fault
        codes.append(
            client.post(
                "Companies",
                json={
                    "companyName": name,
                    "companyType": 1,
                    "phone": "555-0100",
                    "ownerResourceID": 29682885,
                },
            )
        )
    assert [r.status_code for r in codes] == [200, status, 200]
    assert codes[1].json() == {"errors": ["Simulated outage."]}
    assert _names(client) == ["First", "Third"]


def test_a_fault_can_cover_several_consecutive_requests(app: SandboxApp, client: httpx.Client) -> None:
    app.inject_fault(Fault(endpoint="companies", nth=2, times=2, status=503))
    codes = [client.get("Companies/101").status_code for _ in range(5)]
    assert codes == [200, 503, 503, 200, 200]


def test_a_delay_holds_the_request_then_handles_it() -> None:
    slept: list[float] = []
    app = make_app(":memory:", SandboxConfig(sleep=slept.append))
    app.inject_fault(endpoint="Companies", verb="get", delay=2.5)
    with httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as client:
        response = client.get("Companies/102")
        client.get("Companies/103")
    assert response.json()["item"]["companyName"] == "Fabrikam Inc"
    assert slept == [2.5]


def test_drop_response_in_process_commits_the_write_and_raises_a_transport_error(
    app: SandboxApp, client: httpx.Client
) -> None:
    app.inject_fault(endpoint="Companies", verb="create", drop_response=True)
    with pytest.raises(httpx.TransportError):
        client.post(
            "Companies",
            json={
                "companyName": "Lost reply",
                "companyType": 1,
                "phone": "555-0100",
                "ownerResourceID": 29682885,
            },
        )
    assert _names(client) == ["Lost reply"]


def test_drop_response_on_a_real_server_closes_the_connection_after_committing() -> None:
    app = make_app(":memory:")
    app.inject_fault(endpoint="Contracts", verb="create", drop_response=True)
    server = start_background_server(app)
    body = {
        "companyID": 101,
        "contractName": "Dropped",
        "contractType": 7,
        "timeReportingRequiresStartAndStopTimes": 0,
        "status": 1,
        "startDate": "2026-01-01",
        "endDate": "2026-12-31",
    }
    try:
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), timeout=10, trust_env=False
        ) as client:
            with pytest.raises(httpx.TransportError):
                client.post("Contracts", json=body)
            found = client.post(
                "Contracts/query",
                json={"filter": [{"op": "eq", "field": "contractName", "value": "Dropped"}]},
            )
    finally:
        server.stop()
    assert [item["contractName"] for item in found.json()["items"]] == ["Dropped"]
    assert app.stats().count("Contracts") == 2


def test_faults_are_set_listed_and_cleared_over_http(app: SandboxApp, client: httpx.Client) -> None:
    control = "http://sandbox/_sandbox/faults"
    listed = client.post(control, json={"endpoint": "Companies", "verb": "get", "status": 500}).json()
    assert listed == {
        "faults": [
            {
                "endpoint": "Companies",
                "verb": "get",
                "nth": 1,
                "times": 1,
                "status": 500,
                "delay": None,
                "drop_response": False,
                "message": "Injected fault.",
            }
        ]
    }
    assert client.get(control).json() == listed
    assert client.get("Companies/101").json() == {"errors": ["Injected fault."]}
    client.post(control, json={"endpoint": "Companies", "status": 503})
    assert client.delete(control).json() == {"faults": []}
    assert client.get("Companies/101").status_code == 200
    assert app.faults() == []


def test_an_invalid_fault_is_refused(client: httpx.Client) -> None:
    response = client.post("http://sandbox/_sandbox/faults", json={"endpoint": "Companies"})
    assert response.status_code == 500
    assert "a fault needs status, delay or drop_response" in response.json()["errors"][0]
    with pytest.raises(ValueError, match="cannot both fail and drop"):
        Fault(endpoint="Companies", status=500, drop_response=True)
