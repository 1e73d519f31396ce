"""The Cloudmore API client: exact wire requests, token reuse and renewal, paging, retries, errors.

Wire shapes are checked with ``httpx.MockTransport`` handlers; behaviour over many requests with the
in-process emulator. Nothing really waits: ``sleep`` records, and a fake clock tells time.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from providers.cloudmore import api_paths as paths
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials, ReportPolicy, RetryPolicy
from providers.cloudmore.api_errors import (
    CloudmoreAuthError,
    CloudmoreError,
    CloudmoreReportNotReady,
    CloudmoreResponseError,
    CloudmoreUnavailable,
    CloudmoreUnknownReseller,
)
from providers.cloudmore.bundle import read_bundle
from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    EmulatorApp,
    EmulatorConfig,
)
from providers.cloudmore.emulator._documents import service_id_of

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-11-07"
RESELLER = EMULATOR_RESELLER_ID
CREDENTIALS = ApiCredentials.from_env(EMULATOR_CREDENTIALS.environment())
SECRETS = (EMULATOR_CREDENTIALS.api_secret, EMULATOR_CREDENTIALS.password, EMULATOR_CREDENTIALS.username)
BASE = "http://cloudmore.test"
ORGS = paths.organizations_path(RESELLER)
PRICES = paths.service_price_list_path(RESELLER, service_id_of("Microsoft CSP 365"))
USD = {"currencyCode": "USD"}


class Clock:
    """A monotonic clock that moves only when told to (or when something sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _config(**overrides: object) -> ApiClientConfig:
    values: dict[str, object] = {"base_url": BASE, "reseller_id": RESELLER}
    values.update(overrides)
    return ApiClientConfig.model_validate(values)


def _emulated(
    clock: Clock, config: EmulatorConfig | None = None, **client: object
) -> tuple[EmulatorApp, CloudmoreClient]:
    app = EmulatorApp(read_bundle(EXAMPLE), config or EmulatorConfig(clock=clock, sleep=clock.sleep))
    api = CloudmoreClient(
        CREDENTIALS, _config(**client), transport=httpx.WSGITransport(app=app), sleep=clock.sleep, clock=clock
    )
    return app, api


def _mock(
    handler: Callable[[httpx.Request], httpx.Response], clock: Clock, **client: object
) -> CloudmoreClient:
    return CloudmoreClient(
        CREDENTIALS, _config(**client), transport=httpx.MockTransport(handler), sleep=clock.sleep, clock=clock
    )


def _token_answer() -> httpx.Response:
    return httpx.Response(200, json={"access_token": "tok-1", "expires_in": 86400, "token_type": "Bearer"})


# ---- the token -------------------------------------------------------------------------------------


def test_token_request_is_the_documented_password_grant() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        return httpx.Response(200, json={"items": [], "totalCount": 0})

    _mock(handler, Clock()).get_list(ORGS)
    token, listing = seen
    assert (token.method, str(token.url)) == ("POST", f"{BASE}/connect/token")
    expected_basic = base64.b64encode(b"ro.customer.client:emulator-api-secret").decode()
    assert token.headers["Authorization"] == f"Basic {expected_basic}"
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token.content.decode()) == {
        "grant_type": ["password"],
        "username": ["api@billsync.local"],
        "password": ["emulator-password"],
        "scope": ["api"],
    }
    assert (listing.method, listing.url.path) == ("GET", ORGS)
    assert dict(listing.url.params) == {"page": "1", "pageSize": "100"}
    assert listing.headers["Authorization"] == "Bearer tok-1"


def test_a_full_load_of_lists_uses_one_token() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    for path in (ORGS, paths.services_path(RESELLER)):
        api.get_list(path)
    api.get_list(PRICES, USD)
    assert api.stats.token_requests == 1
    assert app.stats().tokens_issued == 1
    assert app.stats().requests == {"token": 1, "organizations": 1, "services": 1, "price_list": 1}


def test_the_token_is_reused_until_its_refresh_margin_then_renewed_once() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    api.get_list(ORGS)
    clock.now += 86400 - 300 - 1
    api.get_list(ORGS)
    assert app.stats().token_requests == 1
    clock.now += 1
    api.get_list(ORGS)
    api.get_list(ORGS)
    assert app.stats().token_requests == 2
    assert app.stats().requests["organizations"] == 4


def test_a_token_the_server_no_longer_accepts_is_renewed_once_and_the_request_sent_again() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    api.get_list(ORGS)
    app.revoke_tokens()
    items = api.get_list(ORGS)
    assert [item.data["id"] for item in items][:2] == ["ORG-1001", "ORG-1002"]
    assert app.stats().token_requests == 2
    assert app.stats().requests["organizations"] == 3


def test_a_token_refused_twice_in_a_row_is_an_auth_error_after_one_renewal() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    api.get_list(ORGS)
    app.inject_fault(route="organizations", status=401, times=2)
    with pytest.raises(CloudmoreAuthError, match=r"refused the access token it had just issued .*HTTP 401"):
        api.get_list(ORGS)
    assert app.stats().token_requests == 2


@pytest.mark.parametrize(
    ("credentials", "message", "variable"),
    [
        ({"CLOUDMORE_API_SECRET": "wrong-secret-42"}, "refused the API secret", "CLOUDMORE_API_SECRET"),
        (
            {"CLOUDMORE_PASSWORD": "wrong-password-42"},
            "refused the API user name or password",
            "CLOUDMORE_PASSWORD",
        ),
        (
            {"CLOUDMORE_USERNAME": "nobody@example.com"},
            "refused the API user name or password",
            "CLOUDMORE_USERNAME",
        ),
    ],
)
def test_bad_credentials_name_the_variable_to_check_and_no_secret(
    credentials: dict[str, str], message: str, variable: str
) -> None:
    app = EmulatorApp(read_bundle(EXAMPLE))
    env = {**EMULATOR_CREDENTIALS.environment(), **credentials}
    api = CloudmoreClient(
        ApiCredentials.from_env(env), _config(), transport=httpx.WSGITransport(app=app), sleep=Clock().sleep
    )
    with pytest.raises(CloudmoreAuthError) as caught:
        api.get_list(ORGS)
    text = f"{caught.value} {caught.value!r}"
    assert message in text and variable in text and "HTTP 400" in text
    for value in (*SECRETS, *credentials.values()):
        assert value not in text
    assert app.stats().requests == {"token": 1}


def test_an_unknown_reseller_is_named_with_the_setting_to_fix() -> None:
    clock = Clock()
    _app, api = _emulated(clock, reseller_id="no-such-reseller")
    with pytest.raises(CloudmoreUnknownReseller) as caught:
        api.get_list(paths.organizations_path("no-such-reseller"))
    assert str(caught.value) == (
        "Cloudmore does not know the reseller 'no-such-reseller', or the API user may not read it (HTTP 404 for "
        "GET /api/resellers/no-such-reseller/Organizations): Reseller not found.\n"
        "Check cloudmore.api.reseller_id in billsync.yaml: it is the reseller id Cloudmore sent with the API secret."
    )


# ---- paging and JSON -----------------------------------------------------------------------------


def test_paging_follows_pages_until_the_announced_total() -> None:
    clock = Clock()
    app, api = _emulated(clock, page_size=7)
    items = api.get_list(PRICES, USD)
    assert len(items) == 31
    assert [item.index for item in items] == list(range(1, 32))
    assert items[-1].data["productName"] == "Windows 365 Business 2 vCPU 8 GB"
    assert app.stats().requests["price_list"] == 5


def test_a_capture_client_reads_the_first_page_only_and_sees_every_answer() -> None:
    clock = Clock()
    app = EmulatorApp(read_bundle(EXAMPLE), EmulatorConfig(clock=clock, sleep=clock.sleep))
    seen: list[tuple[str, str, dict[str, str], int]] = []
    api = CloudmoreClient(
        CREDENTIALS,
        _config(page_size=7),
        transport=httpx.WSGITransport(app=app),
        sleep=clock.sleep,
        clock=clock,
        max_pages=1,
        recorder=lambda method, path, query, response: seen.append(
            (method, path, dict(query), response.status_code)
        ),
    )
    assert len(api.get_list(PRICES, USD)) == 7
    assert seen == [("GET", PRICES, {"currencyCode": "USD", "page": "1", "pageSize": "7"}, 200)]
    assert app.stats().requests["price_list"] == 1


def test_amounts_arrive_as_exact_decimals_with_their_scale() -> None:
    clock = Clock()
    _app, api = _emulated(clock)
    first = api.get_list(PRICES, USD)[0].data
    assert first["unitCostPrice"] == Decimal("5.1000") and str(first["unitCostPrice"]) == "5.1000"
    assert str(first["unitSalesPrice"]) == "6.0000"


def test_a_bare_json_array_is_one_complete_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        return httpx.Response(200, json=[{"id": "a"}, {"id": "b"}])

    items = _mock(handler, Clock()).get_list(ORGS)
    assert [item.data for item in items] == [{"id": "a"}, {"id": "b"}]


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (
            [{"items": [{"id": 1}], "totalCount": 2}, {"items": [{"id": 2}], "totalCount": 3}],
            "item count changed",
        ),
        (
            [{"items": [{"id": 1}], "totalCount": 3}, {"items": [], "totalCount": 3}],
            "announced 3 items but returned 1",
        ),
        ([{"rows": []}], "is not a list of items"),
    ],
)
def test_pages_that_disagree_are_refused(pages: list[dict[str, object]], message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        return httpx.Response(200, json=pages[int(request.url.params["page"]) - 1])

    with pytest.raises(CloudmoreResponseError, match=message):
        _mock(handler, Clock(), page_size=1).get_list(ORGS)


# ---- retries ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttled_or_failing_requests_are_retried_with_backoff(status: int) -> None:
    clock = Clock()
    app, api = _emulated(clock)
    app.inject_fault(route="organizations", status=status, times=2)
    assert len(api.get_list(ORGS)) == 6
    assert app.stats().requests["organizations"] == 3
    if status == 429:
        assert clock.sleeps == [0.0, 0.0]  # the emulator's Retry-After: 0
    else:
        assert len(clock.sleeps) == 2 and all(0 <= s <= 30 for s in clock.sleeps)


def test_the_token_grant_is_retried_too() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    app.inject_fault(route="token", status=503)
    api.get_list(ORGS)
    assert app.stats().token_requests == 2 and app.stats().tokens_issued == 1


def test_retries_stop_at_the_policy_and_name_the_url() -> None:
    clock = Clock()
    app, api = _emulated(clock, retry=RetryPolicy(max_attempts=3, base_delay=0.5, max_delay=1))
    app.inject_fault(route="organizations", status=503, times=10)
    with pytest.raises(CloudmoreUnavailable) as caught:
        api.get_list(ORGS)
    assert str(caught.value).startswith(
        f"Cannot read Cloudmore at {BASE}: it answered HTTP 503 for GET {ORGS} after 3 attempts."
    )
    assert app.stats().requests["organizations"] == 3
    assert len(clock.sleeps) == 2


def test_a_connection_failure_is_retried_then_reported() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectError("refused", request=request)

    clock = Clock()
    with pytest.raises(
        CloudmoreUnavailable, match=r"the connection failed \(ConnectError\) .* after 2 attempts"
    ):
        _mock(handler, clock, retry=RetryPolicy(max_attempts=2, base_delay=0)).get_list(ORGS)
    assert calls == [paths.TOKEN_PATH, paths.TOKEN_PATH]


def test_a_client_error_is_not_retried() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    app.inject_fault(route="services", status=400, message="Bad filter.")
    with pytest.raises(CloudmoreError, match=r"answered GET .*/services with HTTP 400: Bad filter\."):
        api.get_list(paths.services_path(RESELLER))
    assert app.stats().requests["services"] == 1 and clock.sleeps == []


# ---- asynchronous reports --------------------------------------------------------------------------

TASKS = paths.report_start_path(RESELLER)


def _products(report: object) -> list[dict[str, object]]:
    assert isinstance(report, dict)
    return [
        product
        for organization in report["organizations"]
        for service in organization["services"]
        for item in service["items"]
        for product in item["products"]
    ]


def test_a_report_ready_at_once_is_read_without_waiting() -> None:
    clock = Clock()
    app, api = _emulated(clock)
    report = api.run_report("2026-09")
    assert report.source == f"{TASKS}/task-1"
    assert len(_products(report.data)) == 28  # the month's latest publication (the revision)
    assert report.data["organizations"][0]["services"][0]["items"][0]["subscriptionId"] == (
        "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"
    )
    assert clock.sleeps == []
    assert app.stats().requests == {"token": 1, "report_start": 1, "report_task": 1}


def test_the_report_request_is_the_month_by_its_first_and_last_day() -> None:
    seen: list[tuple[str, str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.raw_path.decode(), body))
        if request.method == "POST":
            return httpx.Response(202, json={"taskId": "t 1"})
        return httpx.Response(200, json={"organizations": []})

    assert _mock(handler, Clock()).run_report("2028-02").data == {"organizations": []}
    assert seen == [
        ("POST", TASKS, {"startDate": "2028-02-01", "endDate": "2028-02-29"}),
        ("GET", f"{TASKS}/t%201", None),
    ]


@pytest.mark.parametrize("where", ["body", "header"])
def test_the_task_id_is_read_from_the_body_or_the_location_header(where: str) -> None:
    clock = Clock()
    app, api = _emulated(clock, EmulatorConfig(clock=clock, sleep=clock.sleep, task_id_in=where))  # type: ignore[arg-type]
    assert len(_products(api.run_report("2026-10").data)) == 24
    assert app.stats().requests["report_task"] == 1


@pytest.mark.parametrize(
    ("answer", "headers", "task"),
    [
        ('"abc-1"', {}, "abc-1"),  # a bare JSON string
        ('{"taskId": 42}', {}, "42"),
        (
            "",
            {"Location": f"https://api.cloudmore.com{TASKS.lower()}/T-9"},
            "T-9",
        ),  # any case, as ASP.NET routes
    ],
)
def test_the_task_id_in_other_shapes(answer: str, headers: dict[str, str], task: str) -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        if request.method == "POST":
            return httpx.Response(202, content=answer.encode(), headers=headers)
        asked.append(request.url.path)
        return httpx.Response(200, json={"organizations": []})

    _mock(handler, Clock()).run_report("2026-09")
    assert asked == [f"{TASKS}/{task}"]


def test_an_answer_naming_no_task_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        return httpx.Response(202, json={"id": "x"}, headers={"Location": "/somewhere/else/x"})

    with pytest.raises(CloudmoreResponseError) as caught:
        _mock(handler, Clock()).run_report("2026-09")
    assert str(caught.value).startswith(
        f"Cloudmore started the billing report but its answer to POST {TASKS} names no task: no 'taskId' in its "
        "body and no Location header ending with the task id."
    )


def test_a_report_still_generating_is_polled_until_complete() -> None:
    clock = Clock()
    app, api = _emulated(clock, report=ReportPolicy(poll_interval=5, max_wait=60))
    app.set_report_polls(4)
    assert len(_products(api.run_report("2026-09").data)) == 28
    assert clock.sleeps == [5, 5, 5, 5]
    assert app.stats().requests == {"token": 1, "report_start": 1, "report_task": 5}


def test_a_report_not_ready_within_the_bound_is_reported_and_never_read() -> None:
    clock = Clock()
    app, api = _emulated(clock, report=ReportPolicy(poll_interval=5, max_wait=12))
    app.set_report_polls(100)
    with pytest.raises(CloudmoreReportNotReady) as caught:
        api.run_report("2026-09")
    assert str(caught.value) == (
        "Cloudmore was still generating the 2026-09 billing report after 10 s of waiting; billsync read none of it.\n"
        "Run again later (Microsoft NCE data lands between the 6th and the 8th of the month)."
    )
    assert clock.sleeps == [5, 5]
    assert app.stats().requests == {"token": 1, "report_start": 1, "report_task": 3}


def _report_handler(
    answers: list[tuple[int, dict[str, object]]],
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == paths.TOKEN_PATH:
            return _token_answer()
        if request.method == "POST":
            return httpx.Response(202, json={"taskId": "t1"})
        status, body = answers.pop(0)
        return httpx.Response(status, json=body)

    return handler


def test_a_pending_status_in_a_200_answer_is_waited_for_too() -> None:
    clock = Clock()
    handler = _report_handler([(200, {"status": "InProgress"}), (200, {"organizations": []})])
    assert _mock(handler, clock).run_report("2026-09").data == {"organizations": []}
    assert clock.sleeps == [5.0]


def test_a_failed_report_is_an_error_with_cloudmores_message() -> None:
    handler = _report_handler(
        [
            (202, {"taskId": "t1", "status": "Processing"}),
            (200, {"status": "Failed", "message": "Data missing."}),
        ]
    )
    with pytest.raises(
        CloudmoreError, match=r"could not generate the 2026-09 billing report: Data missing\."
    ):
        _mock(handler, Clock()).run_report("2026-09")


def test_an_answer_that_is_neither_the_report_nor_a_known_status_is_refused() -> None:
    handler = _report_handler([(200, {"taskId": "t1", "status": "Paused"})])
    with pytest.raises(CloudmoreResponseError) as caught:
        _mock(handler, Clock()).run_report("2026-09")
    assert str(caught.value).startswith(
        f"Cloudmore's answer for the 2026-09 billing report ({TASKS}/t1) is neither the report (an object with "
        "'organizations') nor a status billsync knows ('Paused')."
    )


# ---- secret hygiene --------------------------------------------------------------------------------


def test_no_secret_in_reprs_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    app, api = _emulated(clock)
    api.get_list(ORGS)
    app.inject_fault(route="services", status=500, times=10)
    with pytest.raises(CloudmoreUnavailable) as caught:
        api.get_list(paths.services_path(RESELLER))
    token = api._token.get_secret_value() if api._token else ""
    assert token
    shown = " ".join(
        [repr(api), repr(CREDENTIALS), str(CREDENTIALS), str(caught.value), repr(caught.value), caplog.text]
    )
    for value in (*SECRETS, token):
        assert value not in shown
