"""Replay tests: Autotask's published response shapes (API-FACTS A1–A8), served on a loopback port.

Each test scripts the answers a real Autotask gives (paging envelopes, ``errors`` bodies, the ASP.NET
405 ``Message``, IIS's HTML 404, ThresholdInformation, ZoneInformation, metadata with string
picklist values, ``{"itemId": n}``) on a tiny WSGI server bound to 127.0.0.1, and drives billsync's
real client over real HTTP. A client change that would break on the real API fails here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from pydantic import SecretStr
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from providers.autotask.client import AutotaskClient, F
from providers.autotask.config import ClientConfig, Credentials, RetryPolicy
from providers.autotask.errors import (
    AutotaskAuthError,
    AutotaskError,
    AutotaskNotFound,
    AutotaskOutcomeUnknown,
    AutotaskValidationError,
)
from providers.autotask.metadata import TenantMetadata

SECRET = "replay-Secret-9f3"
CREDENTIALS = Credentials(username="api@tenant.test", secret=SecretStr(SECRET), integration_code="TRACK-1")
NO_RETRY = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, max_total_seconds=5)

GET_NOT_SUPPORTED = {"Message": "The requested resource does not support http method 'GET'."}
"""A2/A4: the ASP.NET-style 405 body (``Message``, not ``errors``)."""
IIS_404 = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">\r\n<html><head><title>404 - File or '
    'directory not found.</title></head><body><div id="content"><h2>404 - File or directory not found.'
    "</h2><h3>The resource you are looking for might have been removed, had its name changed, or is "
    "temporarily unavailable.</h3></div></body></html>"
)
"""A2: what an entity without a REST surface answers (IIS, not JSON)."""


@dataclass
class Seen:
    """One request the replay server received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


Reply = tuple[int, Any] | Callable[[Seen], tuple[int, Any]]


@dataclass
class Replay:
    """Scripted answers by (method, lower-case path); every request is recorded in order."""

    base: str
    routes: dict[tuple[str, str], Reply] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def on(self, method: str, path: str, reply: Reply) -> None:
        self.routes[(method, path.lower())] = reply

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        raw = request.get_data()
        seen = Seen(
            request.method,
            request.path,
            parse_qs(request.query_string.decode()),
            {k.lower(): v for k, v in request.headers.items()},
            json.loads(raw) if raw else None,
        )
        self.seen.append(seen)
        reply = self.routes.get((request.method, request.path.lower()))
        if reply is None:
            allowed = any(path == request.path.lower() for _m, path in self.routes)
            reply = (405, GET_NOT_SUPPORTED) if allowed else (404, IIS_404)
        status, body = reply(seen) if callable(reply) else reply
        if isinstance(body, str):
            response = Response(body, status=status, content_type="text/html")
        else:
            response = Response(
                json.dumps(body), status=status, content_type="application/json; charset=utf-8"
            )
        return response(environ, start_response)


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[int, dict[str, Replay]]]:
    """One replay server on 127.0.0.1 (a free port) for the module; each test installs its own script."""
    holder: dict[str, Replay] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["replay"](environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="replay-server", daemon=True)
    thread.start()
    try:
        yield server.server_port, holder
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def replay(_server: tuple[int, dict[str, Replay]]) -> Replay:
    """A fresh script (no routes, nothing seen) on the module's replay server."""
    port, holder = _server
    holder["replay"] = Replay(f"http://127.0.0.1:{port}")
    return holder["replay"]


@pytest.fixture
def client(replay: Replay) -> Iterator[AutotaskClient]:
    config = ClientConfig(base_url=replay.base + "/ATServicesRest/V1.0", retry=NO_RETRY)
    with AutotaskClient(CREDENTIALS, config) as made:
        yield made


def _page(items: list[dict[str, Any]], next_url: str | None, *, request_count: int = 500) -> dict[str, Any]:
    """A4: the query envelope exactly as Autotask sends it."""
    return {
        "items": items,
        "pageDetails": {
            "count": len(items),
            "requestCount": request_count,
            "prevPageUrl": None,
            "nextPageUrl": next_url,
        },
    }


def _next_url(replay: Replay, entity: str, ids: list[int]) -> str:
    paging = json.dumps({"pageSize": 500, "previousIds": [], "nextIds": ids})
    return f"{replay.base}/ATServicesRest/V1.0/{entity}/query/next?paging={quote(paging)}"


# -- paging (A4) ------------------------------------------------------------------------------------


def test_next_page_of_a_post_query_is_posted_with_the_same_body(
    replay: Replay, client: AutotaskClient
) -> None:
    first = [{"id": n, "companyName": f"C{n}", "userDefinedFields": []} for n in range(1, 501)]
    second = [{"id": n, "companyName": f"C{n}", "userDefinedFields": []} for n in range(501, 704)]
    replay.on(
        "POST",
        "/ATServicesRest/V1.0/Companies/query",
        (200, _page(first, _next_url(replay, "Companies", [501]))),
    )
    replay.on("POST", "/ATServicesRest/V1.0/Companies/query/next", (200, _page(second, None)))

    rows = client.query("Companies", [F.gt("id", 0)], include_fields=["companyName"])

    assert [row["id"] for row in rows] == list(range(1, 704))
    assert [(s.method, s.path) for s in replay.seen] == [
        ("POST", "/ATServicesRest/V1.0/Companies/query"),
        ("POST", "/ATServicesRest/V1.0/Companies/query/next"),
    ]
    assert replay.seen[1].body == replay.seen[0].body
    assert replay.seen[0].body == {
        "filter": [{"op": "gt", "field": "id", "value": 0}],
        "IncludeFields": ["id", "companyName"],
    }
    assert json.loads(replay.seen[1].query["paging"][0])["nextIds"] == [501]


def test_a_get_on_a_post_querys_next_page_is_refused_with_autotasks_405(replay: Replay) -> None:
    """The server side of the fact above: what a client that GETs the next page receives."""
    import httpx

    replay.on("POST", "/ATServicesRest/V1.0/Companies/query/next", (200, _page([], None)))

    answer = httpx.get(_next_url(replay, "Companies", [501]))

    assert answer.status_code == 405
    assert answer.json() == GET_NOT_SUPPORTED


def test_three_pages_each_posted_once_and_no_page_read_twice(replay: Replay, client: AutotaskClient) -> None:
    pages = {
        None: _page([{"id": 1}, {"id": 2}], _next_url(replay, "Services", [3])),
        "3": _page([{"id": 3}, {"id": 4}], _next_url(replay, "Services", [5])),
        "5": _page([{"id": 5}], None),
    }

    def next_page(seen: Seen) -> tuple[int, Any]:
        return 200, pages[str(json.loads(seen.query["paging"][0])["nextIds"][0])]

    replay.on("POST", "/ATServicesRest/V1.0/Services/query", (200, pages[None]))
    replay.on("POST", "/ATServicesRest/V1.0/Services/query/next", next_page)

    rows = client.query("Services", [F.begins_with("sku", "billsync:")])

    assert [row["id"] for row in rows] == [1, 2, 3, 4, 5]
    assert [s.method for s in replay.seen] == ["POST", "POST", "POST"]
    assert all(s.body == replay.seen[0].body for s in replay.seen)


def test_a_last_page_has_a_null_next_page_url_and_ends_the_read(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on(
        "POST",
        "/ATServicesRest/V1.0/Contracts/query",
        (200, _page([{"id": 9, "userDefinedFields": []}], None)),
    )

    assert client.query("Contracts", [F.exist("Subscription ID", udf=True)]) == [
        {"id": 9, "userDefinedFields": []}
    ]
    assert len(replay.seen) == 1
    assert replay.seen[0].body["filter"] == [{"op": "exist", "field": "Subscription ID", "udf": True}]


def test_count_reads_query_count(replay: Replay, client: AutotaskClient) -> None:
    replay.on("POST", "/ATServicesRest/V1.0/Contracts/query/count", (200, {"queryCount": 1209}))

    assert client.count("Contracts") == 1209
    assert replay.seen[0].body == {"filter": [{"op": "exist", "field": "id"}]}


# -- errors (A2, A5) --------------------------------------------------------------------------------


def test_a_500_with_errors_is_a_validation_error_carrying_autotasks_messages(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on(
        "POST",
        "/ATServicesRest/V1.0/Services/query",
        (500, {"errors": ["Unable to find lastModifiedDateTime in the Service Entity."]}),
    )

    with pytest.raises(AutotaskValidationError) as caught:
        client.query("Services", [F.gt("lastModifiedDateTime", "2026-01-01T00:00:00")])

    assert caught.value.status == 500
    assert caught.value.messages == ("Unable to find lastModifiedDateTime in the Service Entity.",)
    assert "Unable to find lastModifiedDateTime" in str(caught.value)


def test_a_create_refused_for_a_missing_required_field_raises_and_is_sent_once(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on(
        "POST",
        "/ATServicesRest/V1.0/Contracts",
        (
            500,
            {
                "errors": [
                    "Missing Required Field: timeReportingRequiresStartAndStopTimes. | Error creating entity for record number [1]."
                ]
            },
        ),
    )

    with pytest.raises(AutotaskValidationError) as caught:
        client.create("Contracts", {"companyID": 1, "contractName": "X"})

    assert "timeReportingRequiresStartAndStopTimes" in str(caught.value)
    assert [(s.method, s.path) for s in replay.seen] == [("POST", "/ATServicesRest/V1.0/Contracts")]


def test_a_bare_500_on_a_create_is_an_unknown_outcome_and_never_resent(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("POST", "/ATServicesRest/V1.0/Contracts/77/Services", (500, {}))

    with pytest.raises(AutotaskOutcomeUnknown) as caught:
        client.create("ContractServices", {"contractID": 77, "serviceID": 5}, parent_id=77)

    assert caught.value.status == 500
    assert len(replay.seen) == 1


def test_a_405_message_body_is_an_error_with_its_status_sent_once(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("GET", "/ATServicesRest/V1.0/Contracts/query/count", (200, {"queryCount": 1}))  # POST: 405

    with pytest.raises(AutotaskError) as caught:
        client.count("Contracts")

    assert caught.value.status == 405
    assert caught.value.messages == (GET_NOT_SUPPORTED["Message"],)
    assert [(s.method, s.path) for s in replay.seen] == [
        ("POST", "/ATServicesRest/V1.0/Contracts/query/count")
    ]


def test_an_iis_html_404_for_an_entity_without_rest_surface_is_not_found(
    replay: Replay, client: AutotaskClient
) -> None:
    with pytest.raises(AutotaskNotFound) as caught:
        client.query("ServiceLevelAgreements", [F.eq("id", 1)])

    assert caught.value.status == 404
    assert "<html" not in str(caught.value).lower()


def test_get_of_a_missing_id_is_none_for_a_404_and_for_a_null_item(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("GET", "/ATServicesRest/V1.0/Contracts/5", (200, {"item": None}))
    replay.on("GET", "/ATServicesRest/V1.0/Contracts/6", (200, {"item": {"id": 6, "contractName": "Six"}}))

    assert client.get("Contracts", 4) is None
    assert client.get("Contracts", 5) is None
    assert client.get("Contracts", 6) == {"id": 6, "contractName": "Six"}


def test_a_401_is_an_auth_error_naming_the_secret_and_never_showing_it(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("POST", "/ATServicesRest/V1.0/Companies/query", (401, {"errors": [f"bad secret {SECRET}"]}))

    with pytest.raises(AutotaskAuthError) as caught:
        client.query("Companies")

    assert caught.value.status == 401
    assert "AUTOTASK_SECRET" in caught.value.hint
    assert SECRET not in str(caught.value) + " ".join(caught.value.messages)


def test_an_invalid_integration_code_500_is_an_auth_error(replay: Replay, client: AutotaskClient) -> None:
    replay.on(
        "POST", "/ATServicesRest/V1.0/Companies/query", (500, {"errors": ["IntegrationCode is invalid."]})
    )

    with pytest.raises(AutotaskAuthError) as caught:
        client.query("Companies")

    assert caught.value.messages == ("IntegrationCode is invalid.",)
    assert "AUTOTASK_INTEGRATION_CODE" in caught.value.hint


def test_a_create_returns_the_item_id_and_sends_the_auth_headers(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("POST", "/ATServicesRest/V1.0/Contracts/77/Charges", (200, {"itemId": 128926}))

    new_id = client.create(
        "ContractCharges",
        {"name": "Rounding", "unitQuantity": Decimal("1"), "unitPrice": Decimal("0.01")},
        parent_id=77,
    )

    assert new_id == 128926
    seen = replay.seen[0]
    assert (seen.headers["username"], seen.headers["secret"], seen.headers["apiintegrationcode"]) == (
        "api@tenant.test",
        SECRET,
        "TRACK-1",
    )
    assert seen.body == {"name": "Rounding", "unitQuantity": 1, "unitPrice": 0.01}


def test_an_update_is_a_patch_with_the_id_and_returns_the_item_id(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("PATCH", "/ATServicesRest/V1.0/Contracts/77/Services", (200, {"itemId": 31}))

    assert client.update("ContractServices", {"id": 31, "invoiceDescription": "Seats"}, parent_id=77) == 31
    assert replay.seen[0].body == {"id": 31, "invoiceDescription": "Seats"}


# -- ThresholdInformation (A6) and ZoneInformation (A1) ------------------------------------------------


def test_threshold_information_is_read_from_the_top_level_object(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on(
        "GET",
        "/ATServicesRest/V1.0/ThresholdInformation",
        (
            200,
            {
                "externalRequestThreshold": 10000,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": 124,
            },
        ),
    )

    info = client.threshold()

    assert (info.external_request_threshold, info.request_threshold_timeframe) == (10000, 60)
    assert (info.current_timeframe_request_count, info.remaining) == (124, 9876)


def test_the_zone_lookup_is_anonymous_and_its_url_becomes_the_rest_root(replay: Replay) -> None:
    replay.on(
        "GET",
        "/ATServicesRest/V1.0/ZoneInformation",
        (
            200,
            {
                "zoneName": "America East 5",
                "url": f"{replay.base}/atservicesrest",
                "webUrl": "https://ww5.autotask.net/",
                "ci": 5,
            },
        ),
    )
    replay.on("GET", "/atservicesrest/V1.0/ThresholdInformation", (200, {
        "externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 0}))  # fmt: skip
    config = ClientConfig(
        zone_lookup_url=f"{replay.base}/ATServicesRest/V1.0/ZoneInformation", retry=NO_RETRY
    )

    with AutotaskClient(CREDENTIALS, config) as client:
        zone = client.zone()
        client.threshold()
        base = client.base_url

    assert (zone.zone_name, zone.ci) == ("America East 5", 5)
    assert base == f"{replay.base}/atservicesrest/V1.0/"
    lookup, threshold = replay.seen
    assert lookup.query == {"user": ["api@tenant.test"]}
    assert "secret" not in lookup.headers
    assert threshold.headers["secret"] == SECRET


def test_an_unknown_user_at_the_zone_lookup_is_an_auth_error(replay: Replay) -> None:
    replay.on(
        "GET",
        "/ATServicesRest/V1.0/ZoneInformation",
        (500, {"errors": ["Zone information could not be determined"]}),
    )
    config = ClientConfig(
        zone_lookup_url=f"{replay.base}/ATServicesRest/V1.0/ZoneInformation", retry=NO_RETRY
    )

    with AutotaskClient(CREDENTIALS, config) as client, pytest.raises(AutotaskAuthError) as caught:
        client.zone()

    assert "api@tenant.test" in str(caught.value)


# -- entityInformation, fields, userDefinedFields (A8) --------------------------------------------------

_CONTRACT_FIELDS = {
    "fields": [
        {"name": "id", "dataType": "long", "length": 0, "isRequired": True, "isReadOnly": True, "isQueryable": True,
         "isReference": False, "referenceEntityType": "", "isPickList": False, "picklistValues": None,
         "picklistParentValueField": "", "isSupportedWebhookField": False},
        {"name": "serviceLevelAgreementID", "dataType": "integer", "length": 0, "isRequired": False,
         "isReadOnly": False, "isQueryable": True, "isReference": False, "referenceEntityType": "",
         "isPickList": True, "picklistParentValueField": "", "isSupportedWebhookField": False,
         "picklistValues": [
             {"value": "1", "label": "Standard", "isDefaultValue": True, "sortOrder": 0, "parentValue": "",
              "isActive": True, "isSystem": False},
             {"value": "4", "label": "Legacy Gold", "isDefaultValue": False, "sortOrder": 1, "parentValue": "",
              "isActive": False, "isSystem": False},
         ]},
        {"name": "timeReportingRequiresStartAndStopTimes", "dataType": "integer", "length": 0, "isRequired": True,
         "isReadOnly": False, "isQueryable": True, "isReference": False, "referenceEntityType": "",
         "isPickList": True, "picklistParentValueField": "", "isSupportedWebhookField": False,
         "picklistValues": [{"value": "0", "label": "No", "isDefaultValue": True, "sortOrder": 0, "parentValue": "",
                             "isActive": True, "isSystem": True}]},
        {"name": "contractPeriodType", "dataType": "string", "length": 1, "isRequired": False, "isReadOnly": True,
         "isQueryable": True, "isReference": False, "referenceEntityType": "", "isPickList": True,
         "picklistValues": [{"value": "m", "label": "Monthly", "isActive": True}]},
    ]
}  # fmt: skip
"""Shapes from AE-SW ``FieldInformationModel``/``PickListValue`` and the APG README example."""


def test_field_metadata_turns_string_picklist_values_into_integers(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("GET", "/ATServicesRest/V1.0/Contracts/entityInformation/fields", (200, _CONTRACT_FIELDS))
    meta = TenantMetadata(client)

    sla = meta.picklist("Contracts", "serviceLevelAgreementID")

    assert [(v.value, v.label, v.is_active, v.is_default) for v in sla] == [
        (1, "Standard", True, True),
        (4, "Legacy Gold", False, False),
    ]
    assert meta.required_on_create("Contracts") == ["timeReportingRequiresStartAndStopTimes"]
    assert meta.field("Contracts", "ID").is_read_only is True  # type: ignore[union-attr]
    assert meta.picklist("Contracts", "contractPeriodType") == ()  # SOAP-era letter codes are not integers
    assert meta.field("Contracts", "noSuchField") is None
    meta.fields("Contracts")
    assert len(replay.seen) == 1  # cached for the run


def test_entity_information_and_udf_lists_are_read_from_their_envelopes(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on(
        "GET",
        "/ATServicesRest/V1.0/Contracts/entityInformation",
        (200, {"info": {"name": "Contract", "canCreate": True, "canDelete": False, "canQuery": True, "canUpdate": True,
                        "userAccessForCreate": "All", "userAccessForDelete": "None", "userAccessForQuery": "All",
                        "userAccessForUpdate": "All", "hasUserDefinedFields": True, "supportsWebhookCallouts": True}}),
    )  # fmt: skip
    replay.on(
        "GET",
        "/ATServicesRest/V1.0/Contracts/entityInformation/userDefinedFields",
        (200, {"fields": [
            {"name": "Subscription ID", "label": "Subscription ID", "type": "string", "length": 100,
             "description": "", "isRequired": False, "isReadOnly": False, "isQueryable": True, "isReference": False,
             "referenceEntityType": "", "isPickList": False, "picklistValues": None, "picklistParentValueField": "",
             "defaultValue": "", "isSupportedWebhookField": False},
            {"name": "Region", "label": "Region", "type": "string", "length": 20, "isRequired": False,
             "isReadOnly": False, "isQueryable": True, "isPickList": False, "picklistValues": None},
        ]}),
    )  # fmt: skip
    meta = TenantMetadata(client)

    info = meta.info("Contracts")

    assert (info.can_create, info.can_update, info.can_query, info.can_delete) == (True, True, True, False)
    assert info.has_user_defined_fields is True
    assert meta.udf_names("Contracts") == ["Subscription ID", "Region"]
    assert meta.udfs("Contracts")[0].type == "string"
    assert meta.udfs("Contracts")[0].length == 100
    assert [(s.method, s.path) for s in replay.seen] == [
        ("GET", "/ATServicesRest/V1.0/Contracts/entityInformation"),
        ("GET", "/ATServicesRest/V1.0/Contracts/entityInformation/userDefinedFields"),
    ]


def test_a_metadata_answer_without_a_fields_list_is_an_error_naming_the_path(
    replay: Replay, client: AutotaskClient
) -> None:
    replay.on("GET", "/ATServicesRest/V1.0/Services/entityInformation/fields", (200, {"Message": "odd"}))

    with pytest.raises(AutotaskError) as caught:
        TenantMetadata(client).fields("Services")

    assert "fields" in str(caught.value)
    assert caught.value.path.endswith("Services/entityInformation/fields")
