"""The doctor's checks one by one, against the in-process sandbox and tenants that differ from it.

A tenant that differs in what the sandbox cannot be configured for (an entity the API user may not
create, a field missing or not queryable, a query refused for permissions) is the sandbox behind a
small WSGI layer that rewrites that one answer the way such a tenant would send it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from engine.settings import Settings, load_settings
from providers.autotask.client import AutotaskClient
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig, Credentials, RetryPolicy
from providers.autotask.doctor import Access, Level, Report, diagnose, entity_needs, field_needs
from providers.autotask.sandbox import BASE_PATH, SandboxApp, SandboxConfig, make_app
from rules import default_rules_dir

BASE = "http://sandbox.billsync.local" + BASE_PATH
NO_WAIT = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, max_total_seconds=5)
WSGI = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _settings() -> Settings:
    return load_settings(default_rules_dir() / "settings.yaml")


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:")


@pytest.fixture
def connect() -> Iterator[Callable[..., AutotaskClient]]:
    made: list[AutotaskClient] = []

    def make(wsgi: WSGI, credentials: Credentials = SANDBOX_CREDENTIALS, **config: Any) -> AutotaskClient:
        settings = ClientConfig(**{"base_url": BASE, "retry": NO_WAIT, **config})
        client = AutotaskClient(credentials, settings, transport=httpx.WSGITransport(app=wsgi))
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def rewrite(app: WSGI, method: str, path: str, change: Callable[[int, Any], tuple[int, Any]]) -> WSGI:
    """``app`` with the JSON answer to ``method path`` (lower-case match) replaced by ``change(status, body)``."""

    def wrapped(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != method or environ["PATH_INFO"].lower() != path.lower():
            return app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split()[0])
            return lambda data: None

        body = b"".join(app(environ, capture))
        status, payload = change(captured["status"], json.loads(body))
        data = json.dumps(payload).encode()
        start_response(
            f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    return wrapped


def _lines(report: Report, level: Level) -> list[str]:
    return [f.text for f in report.findings if f.level is level]


def test_the_seeded_tenant_has_no_problem_and_the_doctor_only_reads(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    client = connect(app)

    report = diagnose(client, _settings)

    assert _lines(report, Level.PROBLEM) == []
    assert report.ready
    requests = client.stats.requests
    assert requests.pop("Contracts") == {"GET": 3, "POST": 1}  # info, fields, UDFs; one count
    assert requests.pop("BillingCodes") == {"GET": 2, "POST": 2}  # the codes are read with one query
    assert requests.pop("ContractServiceAdjustments") == {"GET": 2}  # create-only: never queried
    assert requests.pop("ZoneInformation") == requests.pop("ThresholdInformation") == {"GET": 1}
    assert requests and all(verbs == {"GET": 2, "POST": 1} for verbs in requests.values())
    kinds = {kind for stats in app.stats().endpoints.values() for kind in stats.requests}
    assert kinds <= {"info", "query", "count", "get"}
    assert "info" in kinds and "count" in kinds


def test_a_zone_other_than_the_configured_url_is_a_problem_saying_what_to_set(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    client = connect(app)
    zone_url = client.zone().url

    report = diagnose(client, _settings, expected_url="https://webservices5.autotask.net/ATServicesRest/V1.0")

    assert _lines(report, Level.PROBLEM) == [
        "zone lookup: billsync.yaml names webservices5.autotask.net, but this API user's zone is "
        f"{httpx.URL(zone_url).host}; set autotask.url to {zone_url.rstrip('/')}/V1.0"
    ]


def test_an_unknown_api_user_stops_at_the_zone_lookup(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    stranger = Credentials(
        username="nobody@example.test", secret=SecretStr("x"), integration_code="BILLSYNC-SANDBOX"
    )

    report = diagnose(connect(app, stranger, base_url=None), _settings)

    assert [f.text for f in report.findings] == [
        "zone lookup: Autotask's zone lookup does not know the API user 'nobody@example.test'. "
        "Check AUTOTASK_USERNAME, or set the tenant's base URL in billsync.yaml."
    ]
    assert report.meta is None


def test_past_half_of_the_hours_budget_is_a_warning(connect: Callable[..., AutotaskClient]) -> None:
    app = make_app(":memory:", SandboxConfig(hourly_limit=40))
    client = connect(app)
    for _ in range(25):
        client.count("Companies")

    report = diagnose(client, _settings)

    assert (
        "request budget: 25 of 40 requests used in the last 60 minutes, 15 left; Autotask slows every call "
        "down past half of the budget"
    ) in _lines(report, Level.WARNING)


def test_a_spent_budget_is_a_problem_and_ends_the_checks(connect: Callable[..., AutotaskClient]) -> None:
    app = make_app(":memory:", SandboxConfig(hourly_limit=5))
    client = connect(app)
    for _ in range(5):
        client.count("Companies")

    report = diagnose(client, _settings)

    assert _lines(report, Level.PROBLEM) == [
        "request budget: 5 of 5 requests used in the last 60 minutes, 0 left; Autotask refuses requests "
        "until the hour clears"
    ]
    assert report.meta is None


def test_an_entity_the_api_user_cannot_write_or_query_is_named(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    def no_create(status: int, body: Any) -> tuple[int, Any]:
        return status, {"info": {**body["info"], "canCreate": False}}

    def no_query_access(status: int, body: Any) -> tuple[int, Any]:
        return status, {"info": {**body["info"], "userAccessForQuery": "None"}}

    wsgi = rewrite(app, "GET", f"{BASE_PATH}Contracts/entityInformation", no_create)
    wsgi = rewrite(wsgi, "GET", f"{BASE_PATH}Services/entityInformation", no_query_access)

    report = diagnose(connect(wsgi), _settings)

    assert _lines(report, Level.PROBLEM) == [
        "entity Contracts: the API user cannot create it",
        "entity Services: the API user cannot query it",
    ]


def test_a_query_refused_for_permissions_is_named_with_autotasks_message(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    message = "The logged in Resource does not have the adequate permissions to query this entity."
    wsgi = rewrite(
        app, "POST", f"{BASE_PATH}Companies/query/count", lambda status, body: (500, {"errors": [message]})
    )

    report = diagnose(connect(wsgi), _settings)

    [problem] = _lines(report, Level.PROBLEM)
    assert problem.startswith("entity Companies: a query fails: Autotask rejected POST ")
    assert problem.endswith(message)


def test_a_missing_field_and_a_field_that_cannot_be_filtered_are_named(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    def without_sku(status: int, body: Any) -> tuple[int, Any]:
        return status, {"fields": [f for f in body["fields"] if f["name"] != "sku"]}

    def start_not_queryable(status: int, body: Any) -> tuple[int, Any]:
        fields = [{**f, "isQueryable": f["name"] != "startDate"} for f in body["fields"]]
        return status, {"fields": fields}

    wsgi = rewrite(app, "GET", f"{BASE_PATH}Services/entityInformation/fields", without_sku)
    wsgi = rewrite(
        wsgi, "GET", f"{BASE_PATH}ContractServiceUnits/entityInformation/fields", start_not_queryable
    )

    report = diagnose(connect(wsgi), _settings)

    assert _lines(report, Level.PROBLEM) == [
        "field ContractServiceUnits.startDate: billsync filters on it, but this tenant does not allow that",
        "field Services.sku: billsync reads and filters on and writes it, but this tenant has no such field",
    ]


def test_a_tenant_specific_required_field_is_named(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    def region_required(status: int, body: Any) -> tuple[int, Any]:
        extra = {"name": "organizationalLevelAssociationID", "dataType": "integer", "isRequired": True,
                 "isReadOnly": False, "isQueryable": True, "isPickList": False, "picklistValues": None}  # fmt: skip
        return status, {"fields": [*body["fields"], extra]}

    wsgi = rewrite(app, "GET", f"{BASE_PATH}Contracts/entityInformation/fields", region_required)

    report = diagnose(connect(wsgi), _settings)

    [problem] = _lines(report, Level.PROBLEM)
    assert problem.startswith(
        "fields: Contracts: this tenant requires organizationalLevelAssociationID on create"
    )


def test_a_subscription_udf_that_cannot_be_queried_is_a_problem(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    def not_queryable(status: int, body: Any) -> tuple[int, Any]:
        return status, {"fields": [{**f, "isQueryable": False} for f in body["fields"]]}

    wsgi = rewrite(app, "GET", f"{BASE_PATH}Contracts/entityInformation/userDefinedFields", not_queryable)

    report = diagnose(connect(wsgi), _settings)

    assert _lines(report, Level.PROBLEM) == [
        "contract field 'Subscription ID' cannot be queried; billsync finds contracts by it"
    ]


def test_a_settings_file_error_is_a_problem_not_a_crash(
    app: SandboxApp, connect: Callable[..., AutotaskClient]
) -> None:
    def broken() -> Settings:
        raise ValueError("settings.yaml:3: setting 'sla_id': Input should be a valid integer")

    report = diagnose(connect(app), broken)

    assert _lines(report, Level.PROBLEM) == [
        "settings: settings.yaml:3: setting 'sla_id': Input should be a valid integer"
    ]


def test_the_checked_fields_and_verbs_follow_the_kinds_and_the_entity_table() -> None:
    fields, entities = field_needs(), entity_needs()

    assert fields["Services"]["sku"] == {"create", "read", "filter"}
    assert fields["Contracts"]["contractName"] == {"create", "read", "update"}
    assert fields["Contracts"]["contractType"] == {"create", "read"}  # set on create only
    assert fields["ContractServiceUnits"]["endDate"] == {"read", "filter"}
    assert "adjustedPrice" not in fields["ContractServices"]
    assert entities["ContractServiceAdjustments"] == Access(create=True)
    assert entities["Contracts"] == Access(query=True, create=True, update=True)
    assert "ServiceLevelAgreements" not in entities
