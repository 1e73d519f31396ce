"""The Autotask client against fake wires: exact requests out, exact behaviour for every answer."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from providers.autotask.client import MAX_IN_VALUES, AutotaskClient, F, ThresholdInfo
from providers.autotask.config import ClientConfig, Credentials, RetryPolicy
from providers.autotask.errors import (
    AutotaskAuthError,
    AutotaskError,
    AutotaskNotFound,
    AutotaskOutcomeUnknown,
    AutotaskRateLimited,
    AutotaskUnreachable,
    AutotaskValidationError,
)

BASE = "https://webservices5.autotask.net/ATServicesRest/V1.0/"
SECRET = "s3cr3t-Value-42"
CREDENTIALS = Credentials(
    username="api@example.test", secret=SecretStr(SECRET), integration_code="INT-CODE-7"
)
FAST = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=2.0, max_total_seconds=60)

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class Harness:
    """A client wired to a handler, with every request and every retry wait recorded."""

    client: AutotaskClient
    requests: list[httpx.Request]
    sleeps: list[float] = field(default_factory=list)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, str(r.url)) for r in self.requests]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


@pytest.fixture
def wire() -> Iterator[Callable[..., Harness]]:
    made: list[AutotaskClient] = []

    def make(handler: Handler, *, base_url: str | None = BASE, retry: RetryPolicy = FAST) -> Harness:
        requests: list[httpx.Request] = []
        lock = threading.Lock()

        def record(request: httpx.Request) -> httpx.Response:
            with lock:
                requests.append(request)
            return handler(request)

        sleeps: list[float] = []
        client = AutotaskClient(
            CREDENTIALS,
            ClientConfig(base_url=base_url, retry=retry),
            transport=httpx.MockTransport(record),
            sleep=sleeps.append,
        )
        made.append(client)
        return Harness(client, requests, sleeps)

    yield make
    for client in made:
        client.close()


def ok(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


def always(response: Callable[[], httpx.Response]) -> Handler:
    return lambda request: response()


def in_turn(*responses: httpx.Response) -> Handler:
    """Answer the n-th request with the n-th response."""
    queue = list(responses)
    return lambda request: queue.pop(0)


# -- headers and zone ---------------------------------------------------------------------------


def test_every_api_request_carries_the_auth_and_json_headers(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"items": [], "pageDetails": {"nextPageUrl": None}})))
    h.client.query("Companies", [F.eq("isActive", True)])
    (request,) = h.requests
    assert request.headers["ApiIntegrationCode"] == "INT-CODE-7"
    assert request.headers["UserName"] == "api@example.test"
    assert request.headers["Secret"] == SECRET
    assert request.headers["Content-Type"] == "application/json"
    assert "authorization" not in request.headers


def test_zone_is_looked_up_once_without_the_secret_and_gives_the_base_url(
    wire: Callable[..., Harness],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/ZoneInformation"):
            return ok(
                {
                    "zoneName": "America West",
                    "url": "https://webservices5.autotask.net/ATServicesRest/",
                    "webUrl": "https://ww5.autotask.net/",
                    "ci": 5,
                }
            )
        return ok({"queryCount": 3})

    h = wire(handler, base_url=None)
    assert h.client.count("Companies") == 3
    assert h.client.count("Contracts") == 3
    assert h.client.zone().zone_name == "America West"
    assert h.calls() == [
        (
            "GET",
            "https://webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation?user=api%40example.test",
        ),
        ("POST", BASE + "Companies/query/count"),
        ("POST", BASE + "Contracts/query/count"),
    ]
    assert "Secret" not in h.requests[0].headers
    assert h.client.base_url == BASE


def test_an_unknown_user_at_the_zone_lookup_is_an_auth_error(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"errors": ["Zone information could not be determined"]}, 500)), base_url=None)
    with pytest.raises(AutotaskAuthError, match="does not know the API user 'api@example.test'"):
        h.client.count("Companies")
    assert len(h.requests) == 1


# -- reads --------------------------------------------------------------------------------------


def _companies(first: int, last: int) -> list[dict[str, Any]]:
    return [{"id": i, "companyName": f"Company {i}"} for i in range(first, last + 1)]


def test_query_follows_next_page_urls_and_returns_every_item_once(wire: Callable[..., Harness]) -> None:
    page2 = BASE + "Companies/query/next?paging=p2"
    page3 = BASE + "Companies/query/next?paging=p3"
    pages = {
        ("POST", BASE + "Companies/query"): {
            "items": _companies(1, 500),
            "pageDetails": {"nextPageUrl": page2},
        },
        # the second page overlaps the first by one object, as a page boundary can shift between reads
        ("POST", page2): {"items": _companies(500, 1000), "pageDetails": {"nextPageUrl": page3}},
        ("POST", page3): {"items": _companies(1001, 1111), "pageDetails": {"nextPageUrl": None}},
    }
    h = wire(lambda request: ok(pages[(request.method, str(request.url))]))
    items = h.client.query("Companies", [F.eq("isActive", True)], include_fields=["companyName"])
    assert [item["id"] for item in items] == list(range(1, 1112))
    # the next pages of a POST query are POSTed with the same body (a GET there is a 405, A4)
    assert h.calls() == [("POST", BASE + "Companies/query"), ("POST", page2), ("POST", page3)]
    assert (
        h.bodies()
        == [
            {
                "filter": [{"op": "eq", "field": "isActive", "value": True}],
                "IncludeFields": ["id", "companyName"],
            }
        ]
        * 3
    )
    assert all(r.headers["Secret"] == SECRET for r in h.requests)


def test_query_without_filters_asks_for_every_object(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"items": [{"id": 1}], "pageDetails": {"nextPageUrl": None}})))
    assert h.client.query("BillingCodes") == [{"id": 1}]
    assert h.bodies() == [{"filter": [{"op": "exist", "field": "id"}]}]


def test_query_reads_fractions_as_decimal(wire: Callable[..., Harness]) -> None:
    body = '{"items": [{"id": 7, "unitPrice": 12.10, "unitCost": 3}], "pageDetails": {"nextPageUrl": null}}'
    h = wire(always(lambda: httpx.Response(200, content=body.encode())))
    (service,) = h.client.query("Services", [F.eq("id", 7)])
    assert service == {"id": 7, "unitPrice": Decimal("12.10"), "unitCost": 3}
    assert isinstance(service["unitPrice"], Decimal)


def test_query_max_records_is_sent_and_caps_the_result(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"items": _companies(1, 5), "pageDetails": {"nextPageUrl": BASE + "next"}})))
    assert [item["id"] for item in h.client.query("Companies", max_records=5)] == [1, 2, 3, 4, 5]
    assert h.bodies() == [{"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 5}]
    with pytest.raises(ValueError, match="between 1 and 500"):
        h.client.query("Companies", max_records=501)


def test_query_refuses_a_next_page_on_another_host(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"items": [], "pageDetails": {"nextPageUrl": "https://evil.example/steal"}})))
    with pytest.raises(AutotaskError, match="will not follow"):
        h.client.query("Companies")
    assert h.calls() == [("POST", BASE + "Companies/query")]


def test_query_in_splits_1234_ids_into_chunks_of_500_500_234(wire: Callable[..., Harness]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        ids = next(f["value"] for f in body["filter"] if f["op"] == "in")
        items = [{"id": i, "contractID": 9} for i in ids] + [{"id": 1, "contractID": 9}]  # 1 in every answer
        return ok({"items": items, "pageDetails": {"nextPageUrl": None}})

    h = wire(handler)
    ids = list(range(1, 1235))
    items = h.client.query_in("ContractServices", "id", ids + ids[:10], filters=[F.eq("contractID", 9)])
    assert sorted(item["id"] for item in items) == ids
    assert h.calls() == [("POST", BASE + "ContractServices/query")] * 3
    sent = sorted((b["filter"] for b in h.bodies()), key=lambda filters: filters[1]["value"][0])
    assert sent == [
        [{"op": "eq", "field": "contractID", "value": 9}, {"op": "in", "field": "id", "value": ids[0:500]}],
        [
            {"op": "eq", "field": "contractID", "value": 9},
            {"op": "in", "field": "id", "value": ids[500:1000]},
        ],
        [{"op": "eq", "field": "contractID", "value": 9}, {"op": "in", "field": "id", "value": ids[1000:]}],
    ]


def test_query_in_with_no_values_sends_nothing(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({})))
    assert h.client.query_in("Contracts", "id", []) == []
    assert h.requests == []


def test_count_get_field_info_and_threshold(wire: Callable[..., Harness]) -> None:
    answers = {
        ("POST", BASE + "Contracts/query/count"): ok({"queryCount": 42}),
        ("GET", BASE + "Contracts/17"): ok({"item": {"id": 17, "contractName": "S-1"}}),
        ("GET", BASE + "Contracts/18"): ok({"item": None}),
        ("GET", BASE + "Contracts/19"): ok({"errors": ["Not found"]}, 404),
        ("GET", BASE + "Contracts/entityInformation/fields"): ok(
            {"fields": [{"name": "id", "isRequired": True}]}
        ),
        ("GET", BASE + "ThresholdInformation"): ok(
            {
                "externalRequestThreshold": 10000,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": 6000,
            }
        ),
    }
    h = wire(lambda request: answers[(request.method, str(request.url))])
    assert h.client.count("Contracts", [F.eq("status", 1)]) == 42
    assert h.bodies()[0] == {"filter": [{"op": "eq", "field": "status", "value": 1}]}
    assert h.client.get("Contracts", 17) == {"id": 17, "contractName": "S-1"}
    assert h.client.get("Contracts", 18) is None
    assert h.client.get("Contracts", 19) is None
    assert h.client.field_info("Contracts") == [{"name": "id", "isRequired": True}]
    threshold = h.client.threshold()
    assert threshold == ThresholdInfo(
        external_request_threshold=10000, request_threshold_timeframe=60, current_timeframe_request_count=6000
    )
    assert (threshold.remaining, threshold.used_fraction) == (4000, 0.6)


def test_a_404_outside_get_is_not_found(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"errors": ["No such entity"]}, 404)))
    with pytest.raises(AutotaskNotFound, match=r"POST /ATServicesRest/V1.0/Widgets/query \(HTTP 404\)"):
        h.client.query("Widgets")


# -- the filter builder -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (F.eq("id", 5), {"op": "eq", "field": "id", "value": 5}),
        (F.noteq("status", 0), {"op": "noteq", "field": "status", "value": 0}),
        (F.gt("id", 100), {"op": "gt", "field": "id", "value": 100}),
        (F.gte("unitPrice", Decimal("9.5")), {"op": "gte", "field": "unitPrice", "value": 9.5}),
        (
            F.lt("startDate", date(2024, 3, 1)),
            {"op": "lt", "field": "startDate", "value": "2024-03-01T00:00:00"},
        ),
        (F.lte("id", 7), {"op": "lte", "field": "id", "value": 7}),
        (F.begins_with("name", "Micro"), {"op": "beginsWith", "field": "name", "value": "Micro"}),
        (F.ends_with("name", "E3"), {"op": "endsWith", "field": "name", "value": "E3"}),
        (F.contains("name", "365"), {"op": "contains", "field": "name", "value": "365"}),
        (F.exist("endDate"), {"op": "exist", "field": "endDate"}),
        (F.not_exist("endDate"), {"op": "notExist", "field": "endDate"}),
        (F.in_("id", [1, 2, 3]), {"op": "in", "field": "id", "value": [1, 2, 3]}),
        (F.not_in("id", (4, 5)), {"op": "notIn", "field": "id", "value": [4, 5]}),
        (
            F.udf_eq("Subscription ID", "S-1"),
            {"op": "eq", "field": "Subscription ID", "value": "S-1", "udf": True},
        ),
        (F.contains("Note", "x", udf=True), {"op": "contains", "field": "Note", "value": "x", "udf": True}),
        (F.eq("isActive", False), {"op": "eq", "field": "isActive", "value": False}),
        (
            F.or_(F.eq("id", 1), F.and_(F.gt("id", 10), F.lt("id", 20))),
            {
                "op": "or",
                "items": [
                    {"op": "eq", "field": "id", "value": 1},
                    {
                        "op": "and",
                        "items": [
                            {"op": "gt", "field": "id", "value": 10},
                            {"op": "lt", "field": "id", "value": 20},
                        ],
                    },
                ],
            },
        ),
    ],
)
def test_each_filter_serialises_as_autotask_documents_it(
    wire: Callable[..., Harness], built: dict[str, Any], expected: dict[str, Any]
) -> None:
    h = wire(always(lambda: ok({"items": [], "pageDetails": {"nextPageUrl": None}})))
    h.client.query("Contracts", [built])
    assert h.bodies() == [{"filter": [expected]}]


def test_filters_refuse_what_autotask_would_refuse() -> None:
    with pytest.raises(ValueError, match="null"):
        F.eq("endDate", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 500 values, got 0"):
        F.in_("id", [])
    with pytest.raises(ValueError, match="1 to 500 values, got 501"):
        F.in_("id", range(MAX_IN_VALUES + 1))
    with pytest.raises(ValueError, match="at least one filter"):
        F.or_()


# -- writes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "parent_id", "path"),
    [
        ("Contracts", None, "Contracts"),
        ("Services", None, "Services"),
        ("Products", None, "Products"),
        ("ContractServices", 31, "Contracts/31/Services"),
        ("ContractServiceAdjustments", 31, "Contracts/31/ServiceAdjustments"),
        ("ContractCharges", 31, "Contracts/31/Charges"),
    ],
)
def test_create_and_update_go_to_the_entity_or_through_the_parent_contract(
    wire: Callable[..., Harness], entity: str, parent_id: int | None, path: str
) -> None:
    h = wire(lambda request: ok({"itemId": 501 if request.method == "POST" else 77}))
    assert h.client.create(entity, {"name": "x"}, parent_id=parent_id) == 501
    assert h.client.update(entity, {"id": 77, "name": "y"}, parent_id=parent_id) == 77
    assert h.calls() == [("POST", BASE + path), ("PATCH", BASE + path)]
    assert h.bodies() == [{"name": "x"}, {"id": 77, "name": "y"}]
    assert h.client.stats.requests == {entity: {"POST": 1, "PATCH": 1}}


def test_write_bodies_carry_decimals_as_exact_numbers_and_dates_as_autotask_datetimes(
    wire: Callable[..., Harness],
) -> None:
    h = wire(always(lambda: ok({"itemId": 9})))
    body = {
        "contractServiceID": 4,
        "unitChange": 3,
        "adjustedUnitPrice": Decimal("12.50"),
        "adjustedUnitCost": Decimal("-0.015"),
        "setupFee": Decimal("40"),
        "effectiveDate": date(2024, 2, 1),
    }
    h.client.create("ContractServiceAdjustments", body, parent_id=3)
    assert h.requests[0].content == (
        b'{"contractServiceID": 4, "unitChange": 3, "adjustedUnitPrice": 12.5, "adjustedUnitCost": -0.015, '
        b'"setupFee": 40, "effectiveDate": "2024-02-01T00:00:00"}'
    )


def test_write_misuse_is_refused_before_anything_is_sent(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({"itemId": 1})))
    with pytest.raises(ValueError, match="needs the object's id"):
        h.client.update("Contracts", {"contractName": "x"})
    with pytest.raises(ValueError, match="pass parent_id"):
        h.client.create("ContractCharges", {"name": "x"})
    with pytest.raises(ValueError, match="not a child entity"):
        h.client.create("Contracts", {"contractName": "x"}, parent_id=4)
    with pytest.raises(ValueError, match="more digits"):
        h.client.create("Services", {"unitPrice": Decimal("0.12345678901234567890")})
    assert h.requests == []


def test_a_write_answered_without_an_item_id_has_an_unknown_outcome(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({})))
    with pytest.raises(AutotaskOutcomeUnknown, match="did not return the new object's id"):
        h.client.create("Contracts", {"contractName": "x"})


# -- throttling and retries ---------------------------------------------------------------------


def test_429_then_200_backs_off_with_jitter_and_succeeds(wire: Callable[..., Harness]) -> None:
    h = wire(in_turn(ok({"errors": ["Thread limit"]}, 429), ok({"itemId": 12})))
    assert h.client.create("Contracts", {"contractName": "x"}) == 12
    assert len(h.requests) == 2
    assert h.bodies() == [{"contractName": "x"}, {"contractName": "x"}]
    (wait,) = h.sleeps
    assert 0 <= wait <= FAST.base_delay
    assert h.client.stats.throttled == {"Contracts": 1}


def test_retry_after_is_honoured(wire: Callable[..., Harness]) -> None:
    h = wire(in_turn(ok({}, 429, {"Retry-After": "7"}), ok({"queryCount": 1})))
    assert h.client.count("Contracts") == 1
    assert h.sleeps == [7.0]


def test_waits_grow_but_stay_under_max_delay(wire: Callable[..., Harness]) -> None:
    retry = RetryPolicy(max_attempts=6, base_delay=0.5, max_delay=2.0, max_total_seconds=60)
    h = wire(always(lambda: ok({}, 429)), retry=retry)
    with pytest.raises(AutotaskRateLimited, match=r"HTTP 429 \(too many requests\) after 6 attempts"):
        h.client.count("Contracts")
    assert len(h.requests) == 6
    assert len(h.sleeps) == 5
    assert all(
        0 <= wait <= ceiling for wait, ceiling in zip(h.sleeps, [0.5, 1.0, 2.0, 2.0, 2.0], strict=True)
    )


def test_a_retry_after_beyond_the_time_budget_stops_retrying(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: ok({}, 429, {"Retry-After": "3600"})))
    with pytest.raises(AutotaskRateLimited, match="after 1 attempt; it last asked to wait 3600 s") as caught:
        h.client.create("Contracts", {"contractName": "x"})
    assert (len(h.requests), h.sleeps) == (1, [])
    assert (caught.value.method, caught.value.path, caught.value.status) == (
        "POST",
        "/ATServicesRest/V1.0/Contracts",
        429,
    )


def test_500_with_errors_is_a_validation_error_and_never_retried(wire: Callable[..., Harness]) -> None:
    message = "Contract type must be Recurring Service (7) to add a contract service."
    h = wire(always(lambda: ok({"errors": [message]}, 500)))
    with pytest.raises(AutotaskValidationError) as caught:
        h.client.create("ContractServices", {"serviceID": 3}, parent_id=8)
    assert len(h.requests) == 1
    assert caught.value.messages == (message,)
    assert caught.value.status == 500
    assert str(caught.value) == (
        f"Autotask rejected POST /ATServicesRest/V1.0/Contracts/8/Services (HTTP 500): {message}"
    )


def test_503_on_a_read_is_retried(wire: Callable[..., Harness]) -> None:
    h = wire(in_turn(httpx.Response(503), httpx.Response(504), ok({"queryCount": 5})))
    assert h.client.count("Services") == 5
    assert len(h.requests) == 3
    assert len(h.sleeps) == 2


def test_503_on_a_write_is_not_resent(wire: Callable[..., Harness]) -> None:
    h = wire(in_turn(httpx.Response(503), ok({"itemId": 1})))
    with pytest.raises(AutotaskOutcomeUnknown, match="HTTP 503. It may or may not have executed") as caught:
        h.client.update("Contracts", {"id": 4, "contractName": "x"})
    assert len(h.requests) == 1
    assert caught.value.hint.startswith("Run plan again")


def test_a_bare_500_on_a_read_is_an_error_without_retry(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: httpx.Response(500, content=b"<html>oops</html>")))
    with pytest.raises(
        AutotaskError, match=r"failed POST /ATServicesRest/V1.0/Contracts/query with HTTP 500\."
    ):
        h.client.query("Contracts")
    assert len(h.requests) == 1


def test_503_that_persists_on_a_read_is_unreachable(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: httpx.Response(503)))
    with pytest.raises(AutotaskUnreachable, match=r"Contracts/query: it answered HTTP 503 after 4 attempts"):
        h.client.query("Contracts")
    assert len(h.requests) == FAST.max_attempts


def test_a_timeout_is_retried_on_a_read_and_never_resent_on_a_write(wire: Callable[..., Harness]) -> None:
    answers = [None, ok({"queryCount": 2}), None, ok({"itemId": 3})]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if answer is None:
            raise httpx.ReadTimeout("timed out", request=request)
        return answer

    h = wire(handler)
    assert h.client.count("Contracts") == 2
    with pytest.raises(AutotaskOutcomeUnknown, match=r"connection broke during POST .*\(ReadTimeout\)"):
        h.client.create("Contracts", {"contractName": "x"})
    assert [r.method for r in h.requests] == ["POST", "POST", "POST"]
    assert len(answers) == 1  # the write's second chance was never used


def test_401_is_an_auth_error_about_the_secret(wire: Callable[..., Harness]) -> None:
    h = wire(always(lambda: httpx.Response(401)))
    with pytest.raises(AutotaskAuthError, match="the secret is wrong") as caught:
        h.client.query("Companies")
    assert (len(h.requests), caught.value.status) == (1, 401)


def test_a_500_about_the_integration_code_is_an_auth_error(wire: Callable[..., Harness]) -> None:
    message = "IntegrationCode is invalid."
    h = wire(always(lambda: ok({"errors": [message]}, 500)))
    with pytest.raises(AutotaskAuthError, match="Check AUTOTASK_USERNAME and AUTOTASK_INTEGRATION_CODE"):
        h.client.get("Companies", 1)
    assert len(h.requests) == 1


def _refusing_url() -> str:
    """A loopback URL where nothing listens, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ATServicesRest/V1.0/"


@pytest.mark.parametrize("write", [False, True])
def test_connection_refused_is_unreachable_at_once_even_for_a_write(write: bool) -> None:
    """No connection at all is not worth minutes of retries: one attempt, no wait, the URL named."""
    url = _refusing_url()
    sleeps: list[float] = []
    config = ClientConfig(base_url=url, retry=FAST)
    with AutotaskClient(CREDENTIALS, config, transport=httpx.HTTPTransport(), sleep=sleeps.append) as client:
        with pytest.raises(AutotaskUnreachable) as caught:
            if write:
                client.create("Contracts", {"contractName": "x"})
            else:
                client.query("Contracts")
        assert str(caught.value).startswith(f"Cannot reach Autotask at {url}Contracts")
        assert "after 1 attempt." in str(caught.value)
        assert "Check the base URL" in str(caught.value)
        assert sleeps == []
        assert client.stats.count("Contracts") == 1


def test_the_connect_timeout_is_short_whatever_the_request_timeout() -> None:
    client = AutotaskClient(CREDENTIALS, ClientConfig(base_url="http://127.0.0.1:1/", timeout=60))
    try:
        assert (client._timeout.connect, client._timeout.read) == (5.0, 60)
    finally:
        client.close()


# -- concurrency --------------------------------------------------------------------------------


class _Gate:
    """A handler that proves how many requests were inside the wire at the same time."""

    def __init__(self, hold_until: int) -> None:
        self.lock = threading.Lock()
        self.inside: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total_inside = 0
        self.full = threading.Event()
        self.hold_until = hold_until
        # trips only if one more request than allowed gets inside; it is never expected to trip
        self.one_too_many = threading.Barrier(hold_until + 1)
        self.tripped = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.split("/V1.0/")[1].split("/")[0]
        if request.url.path.endswith("/Charges"):
            endpoint = "ContractCharges"
        with self.lock:
            self.inside[endpoint] = self.inside.get(endpoint, 0) + 1
            self.peak[endpoint] = max(self.peak.get(endpoint, 0), self.inside[endpoint])
            self.total_inside += 1
            if self.total_inside >= self.hold_until:
                self.full.set()
        try:
            assert self.full.wait(timeout=30), "the allowed number of requests never got inside together"
            try:
                self.one_too_many.wait(timeout=0.3)
                self.tripped = True
            except threading.BrokenBarrierError:
                pass
        finally:
            with self.lock:
                self.inside[endpoint] -= 1
                self.total_inside -= 1
        return ok({"items": [], "pageDetails": {"nextPageUrl": None}, "itemId": 1})


def _run_in_threads(jobs: list[Callable[[], object]]) -> None:
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        try:
            job()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


def test_at_most_three_requests_are_in_flight_per_endpoint_under_eight_threads(
    wire: Callable[..., Harness],
) -> None:
    gate = _Gate(hold_until=3)
    h = wire(gate)
    _run_in_threads([lambda: h.client.query("Companies")] * 8)
    assert len(h.requests) == 8
    assert gate.peak == {"Companies": 3}
    assert not gate.tripped
    assert h.client.stats.peak_in_flight == {"Companies": 3}


def test_endpoints_have_separate_limits_and_child_writes_count_against_the_child(
    wire: Callable[..., Harness],
) -> None:
    gate = _Gate(hold_until=6)
    h = wire(gate)
    jobs: list[Callable[[], object]] = [lambda: h.client.query("Contracts")] * 4
    jobs += [lambda: h.client.query("ContractCharges")] * 4
    jobs += [lambda: h.client.create("ContractCharges", {"name": "x"}, parent_id=2)] * 4
    _run_in_threads(jobs)
    # a charge is written under /Contracts/2/Charges, yet it takes a ContractCharges slot, not a Contracts one
    assert not gate.tripped
    assert gate.peak == {"Contracts": 3, "ContractCharges": 3}
    assert h.client.stats.peak_in_flight == {"Contracts": 3, "ContractCharges": 3}
    assert h.client.stats.requests == {"Contracts": {"POST": 4}, "ContractCharges": {"POST": 8}}


# -- secrets ------------------------------------------------------------------------------------


def test_the_secret_never_shows_in_reprs_errors_or_debug_logs(
    wire: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echoed = f"Secret {SECRET} is not valid for this user name"
    answers = [
        httpx.Response(401),
        ok({"errors": [echoed]}, 500),
        ok({"errors": ["Bad value"]}, 500),
        httpx.Response(503),
        ok({}, 429),
        ok({}, 429),
        ok({}, 429),
        ok({}, 429),
    ]
    h = wire(lambda request: answers.pop(0))
    failures: list[AutotaskError] = []
    for call in (
        lambda: h.client.query("Companies"),
        lambda: h.client.query("Companies"),
        lambda: h.client.create("Contracts", {"contractName": "x"}),
        lambda: h.client.create("Contracts", {"contractName": "x"}),
        lambda: h.client.count("Companies"),
    ):
        with pytest.raises(AutotaskError) as caught:
            call()
        failures.append(caught.value)
    assert [type(f) for f in failures] == [
        AutotaskAuthError,
        AutotaskAuthError,
        AutotaskValidationError,
        AutotaskOutcomeUnknown,
        AutotaskRateLimited,
    ]
    assert "**********" in str(failures[1])
    shown = [repr(CREDENTIALS), str(CREDENTIALS), CREDENTIALS.model_dump_json(), repr(h.client)]
    shown += [text for f in failures for text in (str(f), repr(f), " ".join(f.messages))]
    shown += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the client logs every request at debug"
    assert all(SECRET not in text for text in shown)


def test_debug_log_names_method_path_status_and_duration(
    wire: Callable[..., Harness], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="billsync.autotask")
    h = wire(always(lambda: ok({"queryCount": 0})))
    h.client.count("Companies")
    (record,) = [r for r in caplog.records if r.name == "billsync.autotask"]
    assert record.levelno == logging.DEBUG
    assert record.getMessage().startswith("POST /ATServicesRest/V1.0/Companies/query/count -> 200 in ")
    assert record.getMessage().endswith(" ms")


# -- lifecycle ----------------------------------------------------------------------------------


def test_a_lent_http_client_is_used_and_left_open() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return ok({"queryCount": 1})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with AutotaskClient(CREDENTIALS, ClientConfig(base_url=BASE), http=http) as client:
        assert client.count("Companies") == 1
    assert seen == [BASE + "Companies/query/count"]
    assert not http.is_closed
    http.close()


def test_an_owned_http_client_is_closed() -> None:
    client = AutotaskClient(
        CREDENTIALS, ClientConfig(base_url=BASE), transport=httpx.MockTransport(lambda r: ok({}))
    )
    client.close()
    with pytest.raises(RuntimeError):
        client.count("Companies")


def test_transport_and_http_together_are_refused() -> None:
    with httpx.Client() as http, pytest.raises(ValueError, match="either http or transport"):
        AutotaskClient(CREDENTIALS, transport=httpx.MockTransport(lambda r: ok({})), http=http)
