"""The Cloudmore emulator as seen on the wire: token grant, bearer check, paging, reports, faults, counters."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    EmulatorApp,
    EmulatorConfig,
    Fault,
    make_app,
    start_background_server,
)

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-11-07"
RESELLER = f"/api/resellers/{EMULATOR_RESELLER_ID}"
ASYNC = f"{RESELLER}/billing/reports/MonthlyBillingPerOrganizationAsync"
BASIC = "Basic " + base64.b64encode(b"ro.customer.client:emulator-api-secret").decode()
GRANT = {
    "grant_type": "password",
    "username": "api@billsync.local",
    "password": "emulator-password",
    "scope": "api",
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> EmulatorApp:
    return make_app(EXAMPLE, EmulatorConfig(token_seconds=3600, clock=clock, sleep=clock.sleep))


@pytest.fixture
def http(app: EmulatorApp) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator") as client:
        yield client


def _token(http: httpx.Client) -> dict[str, str]:
    answer = http.post("/connect/token", data=GRANT, headers={"Authorization": BASIC})
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_token_answer(http: httpx.Client) -> None:
    answer = http.post("/connect/token", data=GRANT, headers={"Authorization": BASIC}).json()
    assert set(answer) == {"access_token", "expires_in", "token_type", "scope"}
    assert (answer["expires_in"], answer["token_type"], answer["scope"]) == (3600, "Bearer", "api")


@pytest.mark.parametrize(
    ("headers", "form", "error"),
    [
        ({"Authorization": "Basic " + base64.b64encode(b"ro.customer.client:wrong").decode()}, GRANT, "invalid_client"),
        ({"Authorization": "Basic " + base64.b64encode(b"other.client:emulator-api-secret").decode()}, GRANT,
         "invalid_client"),
        ({}, GRANT, "invalid_client"),
        ({"Authorization": BASIC}, {**GRANT, "password": "wrong"}, "invalid_grant"),
        ({"Authorization": BASIC}, {**GRANT, "scope": "other"}, "unsupported_grant_type"),
    ],
)  # fmt: skip
def test_refused_token_grants(
    http: httpx.Client, headers: dict[str, str], form: dict[str, str], error: str
) -> None:
    answer = http.post("/connect/token", data=form, headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (400, error)


def test_api_calls_need_a_live_bearer_token(http: httpx.Client, clock: Clock) -> None:
    assert http.get(f"{RESELLER}/services").status_code == 401
    assert http.get(f"{RESELLER}/services", headers={"Authorization": "Bearer made-up"}).status_code == 401
    headers = _token(http)
    assert http.get(f"{RESELLER}/services", headers=headers).status_code == 200
    clock.now = 3600
    answer = http.get(f"{RESELLER}/services", headers=headers)
    assert (answer.status_code, answer.json()) == (
        401,
        {"message": "The access token is missing, invalid or expired."},
    )


def test_another_reseller_is_not_found(http: httpx.Client) -> None:
    answer = http.get("/api/resellers/other/organizations", headers=_token(http))
    assert (answer.status_code, answer.json()) == (404, {"message": "Reseller not found."})


def test_lists_are_paged_with_a_total(http: httpx.Client) -> None:
    headers = _token(http)
    page = http.get(f"{RESELLER}/organizations", params={"page": 2, "pageSize": 4}, headers=headers).json()
    assert [o["id"] for o in page["items"]] == ["ORG-1005", "ORG-1006"]
    assert (page["page"], page["pageSize"], page["totalCount"]) == (2, 4, 6)
    assert page["items"][1]["customProperties"] == []
    bad = http.get(f"{RESELLER}/organizations", params={"pageSize": 0}, headers=headers)
    assert bad.status_code == 400


def test_amounts_are_written_with_their_exact_text(http: httpx.Client) -> None:
    text = http.get(f"{RESELLER}/pricelist", params={"pageSize": 1}, headers=_token(http)).text
    assert '"unitCostPrice":5.1000,"unitSalesPrice":6.0000' in text


def test_a_report_is_generated_for_k_polls_and_its_lines_withheld_until_then(
    app: EmulatorApp, http: httpx.Client
) -> None:
    headers = _token(http)
    app.set_report_polls(2)
    started = http.post(ASYNC, json={"period": "2026-10", "reportId": "report-3"}, headers=headers)
    assert (started.status_code, started.json()) == (202, {"taskId": "task-1", "status": "Processing"})
    lines = http.get(f"{ASYNC}/task-1/lines", headers=headers)
    assert (lines.status_code, lines.json()) == (409, {"message": "The report is still being generated."})
    assert http.get(f"{ASYNC}/task-1", headers=headers).json() == {"taskId": "task-1", "status": "Processing"}
    done = http.get(f"{ASYNC}/task-1", headers=headers).json()
    assert done == {"taskId": "task-1", "status": "Completed", "lineCount": 24}
    assert http.get(f"{ASYNC}/task-1/lines", headers=headers).json()["totalCount"] == 24


def test_an_unknown_report_or_task_is_not_found(http: httpx.Client) -> None:
    headers = _token(http)
    assert (
        http.post(ASYNC, json={"period": "2026-09", "reportId": "report-3"}, headers=headers).status_code
        == 404
    )
    assert http.get(f"{ASYNC}/task-9", headers=headers).status_code == 404


def test_faults_fail_the_nth_request_of_a_route_for_some_times(app: EmulatorApp, http: httpx.Client) -> None:
    headers = _token(http)
    app.inject_fault(Fault(route="services", nth=2, times=2, status=503, message="Down."))
    codes = [http.get(f"{RESELLER}/services", headers=headers).status_code for _ in range(5)]
    assert codes == [200, 503, 503, 200, 200]
    app.inject_fault(route="services", status=429)
    throttled = http.get(f"{RESELLER}/services", headers=headers)
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "0")


def test_a_delay_fault_waits_before_answering(app: EmulatorApp, http: httpx.Client, clock: Clock) -> None:
    headers = _token(http)
    app.inject_fault(route="pricelist_typo_never_matches", delay=9)
    app.inject_fault(route="price_list", delay=2.5)
    assert http.get(f"{RESELLER}/pricelist", headers=headers).status_code == 200
    assert clock.sleeps == [2.5]


def test_counters_count_every_routed_request_and_token_grants(app: EmulatorApp, http: httpx.Client) -> None:
    headers = _token(http)
    http.post("/connect/token", data={**GRANT, "password": "no"}, headers={"Authorization": BASIC})
    http.get(f"{RESELLER}/services", headers=headers)
    http.get("/nowhere")
    stats = app.stats()
    assert (stats.requests, stats.token_requests, stats.tokens_issued, stats.total) == (
        {"token": 2, "services": 1},
        2,
        1,
        3,
    )
    app.reset_stats()
    assert app.stats().total == 0


def test_served_on_a_loopback_port() -> None:
    server = start_background_server(make_app(EXAMPLE))
    try:
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as client:
            answer = client.post("/connect/token", data=GRANT, headers={"Authorization": BASIC})
            assert answer.status_code == 200
            bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            assert client.get(f"{RESELLER}/services", headers=bearer).json()["totalCount"] == 3
    finally:
        server.stop()
    assert "emulator-password" not in repr(EMULATOR_CREDENTIALS)
