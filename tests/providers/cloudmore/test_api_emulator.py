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
from providers.cloudmore.emulator._documents import service_id_of

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-11-07"
RESELLER = f"/api/resellers/{EMULATOR_RESELLER_ID}"
ASYNC = f"{RESELLER}/billing/reports/MonthlyBillingPerOrganizationAsync"
CSP = service_id_of("Microsoft CSP 365")
SEPTEMBER = {"startDate": "2026-09-01", "endDate": "2026-09-30"}
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
    prices = f"{RESELLER}/services/{CSP}/pricelist"
    text = http.get(prices, params={"pageSize": 1, "currencyCode": "USD"}, headers=_token(http)).text
    assert '"unitCostPrice":5.1000,"unitSalesPrice":6.0000' in text


def test_a_price_list_needs_its_currency_and_organizations_have_none_of_their_own(http: httpx.Client) -> None:
    headers = _token(http)
    missing = http.get(f"{RESELLER}/services/{CSP}/pricelist", headers=headers)
    assert (missing.status_code, missing.json()) == (
        400,
        {"message": "The query parameter currencyCode is required."},
    )
    euro = http.get(f"{RESELLER}/services/{CSP}/pricelist", params={"currencyCode": "EUR"}, headers=headers)
    assert euro.json()["totalCount"] == 0
    own = http.get(f"{RESELLER}/organizations/ORG-1001/services/{CSP}/pricelist", headers=headers)
    assert (own.status_code, own.json()["items"]) == (200, [])
    unknown = http.get(f"{RESELLER}/organizations/ORG-9/services/{CSP}/pricelist", headers=headers)
    assert unknown.status_code == 404


def test_a_report_is_generated_for_k_polls_then_returned_itself(app: EmulatorApp, http: httpx.Client) -> None:
    headers = _token(http)
    app.set_report_polls(2)
    started = http.post(ASYNC, json={"startDate": "2026-10-01", "endDate": "2026-10-31"}, headers=headers)
    assert (started.status_code, started.json(), started.headers["Location"]) == (
        202,
        {"taskId": "task-1"},
        f"{ASYNC}/task-1",
    )
    for _ in range(2):
        pending = http.get(f"{ASYNC}/task-1", headers=headers)
        assert (pending.status_code, pending.json()) == (
            202,
            {"taskId": "task-1", "status": "Processing", "message": "The report is being generated."},
        )
    done = http.get(f"{ASYNC}/task-1", headers=headers)
    report = done.json()
    assert done.status_code == 200
    assert (report["startDate"], report["endDate"]) == ("2026-10-01T00:00:00", "2026-10-31T00:00:00")
    organization = report["organizations"][0]
    assert set(organization) == {"organizationId", "organizationName", "customerNumber", "services"}
    item = organization["services"][0]["items"][0]
    assert set(item) == {"subscriptionId", "subscriptionName", "recordType", "products"}
    assert set(item["products"][0]) == {
        "billingDate", "productName", "itemCode", "productId", "quantity", "unitCostPrice", "unitSalesPrice",
        "totalCost", "totalSales", "currencyCode", "paymentFrequency",
    }  # fmt: skip
    products = [
        p for o in report["organizations"] for s in o["services"] for i in s["items"] for p in i["products"]
    ]
    assert len(products) == 24


def test_a_month_without_data_gives_an_empty_report(http: httpx.Client) -> None:
    headers = _token(http)
    http.post(ASYNC, json={"startDate": "2026-12-01T00:00:00", "endDate": "2026-12-31"}, headers=headers)
    assert http.get(f"{ASYNC}/task-1", headers=headers).json()["organizations"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"startDate": "2026-09-02", "endDate": "2026-09-30"},
        {"startDate": "2026-09-01", "endDate": "2026-10-31"},
        {"startDate": "2026-09-01"},
        {"period": "2026-09"},
        None,
    ],
)
def test_a_report_request_must_cover_one_calendar_month(http: httpx.Client, body: object) -> None:
    answer = http.post(ASYNC, json=body, headers=_token(http))
    assert (answer.status_code, answer.json()) == (
        400,
        {"message": "Expected startDate and endDate: the first and last day of one month."},
    )


def test_an_unknown_task_is_not_found(http: httpx.Client) -> None:
    assert http.get(f"{ASYNC}/task-9", headers=_token(http)).status_code == 404


def test_an_organization_is_read_and_replaced_whole(app: EmulatorApp, http: httpx.Client) -> None:
    headers = _token(http)
    organization = http.get(f"{RESELLER}/Organizations/ORG-1002", headers=headers).json()
    assert organization["id"] == "ORG-1002" and organization["currencyCode"] == "USD"
    replaced = http.put(
        f"{RESELLER}/organizations/ORG-1002",
        json={"name": "Fabrikam", "customProperties": []},
        headers=headers,
    )
    assert replaced.json() == {
        "name": "Fabrikam",
        "customProperties": [],
        "id": "ORG-1002",
        "services": organization["services"],  # not part of the update: kept
    }
    assert organization["services"]
    assert "currencyCode" not in http.get(f"{RESELLER}/Organizations/ORG-1002", headers=headers).json()
    assert [w.method for w in app.writes()] == ["PUT"]
    nameless = http.put(f"{RESELLER}/Organizations/ORG-1002", json={"customProperties": []}, headers=headers)
    assert (nameless.status_code, nameless.json()) == (400, {"message": "The organization needs a name."})
    assert http.put(f"{RESELLER}/Organizations/ORG-9", json={"name": "x"}, headers=headers).status_code == 404


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
    prices = f"{RESELLER}/services/{CSP}/pricelist"
    assert http.get(prices, params={"currencyCode": "USD"}, headers=headers).status_code == 200
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


DOCUMENTED = [
    ("GET", f"{RESELLER}/Organizations", None),
    ("GET", f"{RESELLER}/organizations", None),
    ("GET", f"{RESELLER}/Organizations/ORG-1001", None),
    ("GET", f"{RESELLER}/ORGANIZATIONS/ORG-1001", None),
    ("GET", f"{RESELLER}/services", None),
    ("GET", f"{RESELLER}/services/{CSP}/subscriptions", None),
    ("GET", f"{RESELLER}/services/azure/Subscriptions", None),
    ("GET", f"{RESELLER}/services/{CSP}/pricelist?currencyCode=USD", None),
    ("GET", f"{RESELLER}/organizations/ORG-1001/services/{CSP}/pricelist", None),
    ("POST", ASYNC, SEPTEMBER),
    ("POST", ASYNC.lower(), SEPTEMBER),
    ("GET", f"{ASYNC}/task-1", None),
]
ABSENT = [
    ("GET", f"{RESELLER}/pricelist", 404),  # no broker-wide price list
    ("GET", f"{RESELLER}/billing/reports", 404),  # no listing of published reports
    ("GET", f"{ASYNC}/task-1/lines", 404),  # the task's GET is the report itself
    (
        "PUT",
        f"{RESELLER}/Organizations/ORG-1001/customproperties/AutotaskCompanyID",
        404,
    ),  # inside the organization
    ("GET", ASYNC, 405),
    ("POST", f"{RESELLER}/Organizations/ORG-1001", 405),
    ("DELETE", f"{RESELLER}/services", 405),
]


def test_probed_as_a_plain_http_client_it_answers_only_the_documented_paths() -> None:
    server = start_background_server(make_app(EXAMPLE))
    try:
        with httpx.Client(base_url=server.url, timeout=10, trust_env=False) as client:
            answer = client.post("/connect/token", data=GRANT, headers={"Authorization": BASIC})
            bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
            found = [
                client.request(verb, path, json=body, headers=bearer).status_code
                for verb, path, body in DOCUMENTED
            ]
            assert found == [200] * 9 + [202, 202, 200]
            refused = [client.request(verb, path, headers=bearer).status_code for verb, path, _ in ABSENT]
            assert refused == [status for _, _, status in ABSENT]
            assert client.get(f"{RESELLER}/pricelist", headers=bearer).json() == {
                "message": f"No resource at {RESELLER}/pricelist."
            }
    finally:
        server.stop()


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
