"""Authentication, ZoneInformation and the basic query shape, in process and on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from providers.autotask.sandbox import (
    BASE_PATH,
    SANDBOX_CREDENTIALS,
    SandboxConfig,
    SandboxCredentials,
    make_app,
    start_background_server,
)

DEMO_COMPANIES = [
    (0, "Demo MSP (owner)", 5, "C-0"),
    (101, "Contoso Ltd", 1, "C-101"),
    (102, "Fabrikam Inc", 1, "C-102"),
    (103, "Northwind Traders", 1, "C-103"),
    (104, "Tailspin Toys", 1, "C-104"),
    (105, "Adventure Works Cycles", 1, "C-105"),
]
ALL_COMPANIES = {"filter": [{"op": "gte", "field": "id", "value": 0}]}


@pytest.fixture(params=["in-process", "loopback"])
def base_url_and_transport(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, httpx.BaseTransport | None]]:
    app = make_app(":memory:")
    if request.param == "in-process":
        yield "http://sandbox" + BASE_PATH, httpx.WSGITransport(app=app)
    else:
        server = start_background_server(app)
        try:
            yield server.base_url, None
        finally:
            server.stop()


def _client(base: tuple[str, httpx.BaseTransport | None], headers: dict[str, str]) -> httpx.Client:
    url, transport = base
    return httpx.Client(base_url=url, transport=transport, headers=headers, timeout=10, trust_env=False)


def test_default_credentials_query_demo_companies(
    base_url_and_transport: tuple[str, httpx.BaseTransport | None],
) -> None:
    with _client(base_url_and_transport, SANDBOX_CREDENTIALS.headers()) as client:
        response = client.post("Companies/query", json=ALL_COMPANIES)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "pageDetails"}
    assert [
        (c["id"], c["companyName"], c["companyType"], c["companyNumber"]) for c in body["items"]
    ] == DEMO_COMPANIES
    assert body["pageDetails"] == {"count": 6, "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}


def test_wrong_secret_is_401(base_url_and_transport: tuple[str, httpx.BaseTransport | None]) -> None:
    headers = {**SANDBOX_CREDENTIALS.headers(), "Secret": "not-the-secret"}
    with _client(base_url_and_transport, headers) as client:
        response = client.post("Companies/query", json=ALL_COMPANIES)
    assert response.status_code == 401
    assert response.json()["errors"]
    assert "not-the-secret" not in response.text


def test_unknown_user_is_500_with_errors(
    base_url_and_transport: tuple[str, httpx.BaseTransport | None],
) -> None:
    headers = {**SANDBOX_CREDENTIALS.headers(), "UserName": "nobody@example.com"}
    with _client(base_url_and_transport, headers) as client:
        response = client.post("Companies/query", json=ALL_COMPANIES)
    assert response.status_code == 500
    assert response.json() == {"errors": ["Zone information could not be determined"]}  # A1


def test_wrong_integration_code_is_500(
    base_url_and_transport: tuple[str, httpx.BaseTransport | None],
) -> None:
    headers = {**SANDBOX_CREDENTIALS.headers(), "ApiIntegrationCode": "SOMEONE-ELSE"}
    with _client(base_url_and_transport, headers) as client:
        response = client.post("Companies/query", json=ALL_COMPANIES)
    assert response.status_code == 500
    assert response.json() == {"errors": ["IntegrationCode is invalid."]}  # A1


def test_missing_headers_are_refused(base_url_and_transport: tuple[str, httpx.BaseTransport | None]) -> None:
    with _client(base_url_and_transport, {}) as client:
        response = client.post("Companies/query", json=ALL_COMPANIES)
    assert response.status_code == 500
    assert "errors" in response.json()


def test_sandbox_control_endpoints_need_auth(
    base_url_and_transport: tuple[str, httpx.BaseTransport | None],
) -> None:
    url, transport = base_url_and_transport
    root = url[: -len(BASE_PATH)]
    with httpx.Client(transport=transport, timeout=10, trust_env=False) as client:
        assert client.get(root + "/_sandbox/stats").status_code == 500
        assert client.get(root + "/_sandbox/stats", headers=SANDBOX_CREDENTIALS.headers()).status_code == 200


def test_zone_information_for_the_known_user_names_this_server(
    base_url_and_transport: tuple[str, httpx.BaseTransport | None],
) -> None:
    url, transport = base_url_and_transport
    root = url[: -len(BASE_PATH)]
    with httpx.Client(transport=transport, timeout=10, trust_env=False) as client:
        response = client.get(url + "ZoneInformation", params={"user": SANDBOX_CREDENTIALS.username})
        unknown = client.get(url + "ZoneInformation", params={"user": "nobody@example.com"})
        again = client.get(url + "ZoneInformation", params={"user": SANDBOX_CREDENTIALS.username})
    assert response.status_code == 200
    body = response.json()
    ci = body.pop("ci")
    assert body == {"zoneName": "Sandbox", "url": root + "/ATServicesRest/", "webUrl": root + "/"}
    # the database's own tenant number: drawn once (six digits), then the same on every answer
    assert isinstance(ci, int) and 100_000 <= ci < 1_000_000 and again.json()["ci"] == ci
    assert unknown.status_code == 500
    assert unknown.json()["errors"]


def test_credentials_can_be_overridden_and_the_secret_stays_out_of_reprs() -> None:
    creds = SandboxCredentials(username="ops@msp.example", secret="s3cr3t-value", integration_code="CODE-1")
    app = make_app(":memory:", SandboxConfig(credentials=creds))
    transport = httpx.WSGITransport(app=app)
    with httpx.Client(base_url="http://sandbox" + BASE_PATH, transport=transport) as client:
        ok = client.post("Companies/query", json=ALL_COMPANIES, headers=creds.headers())
        default = client.post("Companies/query", json=ALL_COMPANIES, headers=SANDBOX_CREDENTIALS.headers())
    assert ok.status_code == 200
    assert default.status_code == 500
    assert "s3cr3t-value" not in repr(creds)
    assert "s3cr3t-value" not in repr(SandboxConfig(credentials=creds))
    assert "s3cr3t-value" not in repr(app)
