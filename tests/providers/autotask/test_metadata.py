"""Tenant metadata and the settings check, against the in-process sandbox's generated metadata."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from engine.settings import Settings, load_settings
from providers.autotask._bulk import METADATA_READS_IN_FLIGHT, settings_problems
from providers.autotask.client import AutotaskClient
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig
from providers.autotask.metadata import Problem, TenantMetadata, check_settings
from providers.autotask.sandbox import BASE_PATH, SandboxApp, make_app
from rules import default_rules_dir

BASE = "http://sandbox.billsync.local" + BASE_PATH


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:")


@pytest.fixture
def client(app: SandboxApp) -> Iterator[AutotaskClient]:
    config = ClientConfig(base_url=BASE)
    with AutotaskClient(SANDBOX_CREDENTIALS, config, transport=httpx.WSGITransport(app=app)) as made:
        yield made


@pytest.fixture
def meta(client: AutotaskClient) -> TenantMetadata:
    return TenantMetadata(client)


def _settings(**changes: Any) -> Settings:
    """The shipped settings (which match the seeded sandbox tenant), with ``changes``."""
    return load_settings(default_rules_dir() / "settings.yaml").model_copy(update=changes)


def _messages(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]


def test_the_sla_picklist_arrives_as_integers_with_names_and_active_flags(meta: TenantMetadata) -> None:
    values = meta.picklist("Contracts", "serviceLevelAgreementID")

    assert [(v.value, v.label, v.is_active) for v in values] == [
        (1, "Standard", True),
        (2, "Legacy SLA", False),
    ]


def test_each_entity_and_kind_is_read_once_per_run(meta: TenantMetadata, client: AutotaskClient) -> None:
    for _ in range(2):
        meta.info("Contracts")
        meta.fields("Contracts")
        meta.field("Contracts", "contractName")
        meta.picklist("Contracts", "status")
        meta.required_on_create("Contracts")
        meta.udfs("Contracts")
        meta.udf_names("Contracts")

    assert client.stats.requests == {"Contracts": {"GET": 3}}


def test_threads_asking_at_once_share_one_request(meta: TenantMetadata, client: AutotaskClient) -> None:
    results: list[int] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait(timeout=30)
        results.append(len(meta.fields("Services")))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 8 and len(set(results)) == 1
    assert client.stats.count("Services", "GET") == 1


def test_required_on_create_is_the_tenants_list_without_id(meta: TenantMetadata) -> None:
    assert set(meta.required_on_create("Contracts")) == {
        "companyID",
        "contractName",
        "contractType",
        "startDate",
        "endDate",
        "status",
        "timeReportingRequiresStartAndStopTimes",
    }
    assert set(meta.required_on_create("ContractCharges")) >= {
        "chargeType",
        "datePurchased",
        "name",
        "unitQuantity",
    }


def test_field_flags_and_case_insensitive_names(meta: TenantMetadata) -> None:
    period = meta.field("Services", "PERIODTYPE")

    assert period is not None
    assert (period.name, period.is_required, period.is_read_only, period.is_picklist) == (
        "periodType",
        True,
        True,
        True,
    )
    assert meta.field("Services", "lastModifiedDateTime") is None
    assert meta.field("ContractServices", "adjustedPrice") is None


def test_udf_names_follow_the_tenant(app: SandboxApp, client: AutotaskClient) -> None:
    assert TenantMetadata(client).udf_names("Contracts") == ["Subscription ID"]

    app.tenant.remove_udf("Contracts", "Subscription ID")

    assert TenantMetadata(client).udf_names("Contracts") == []


def test_the_shipped_settings_fit_the_seeded_tenant(meta: TenantMetadata) -> None:
    assert check_settings(meta, _settings()) == []


def test_an_unknown_sla_lists_the_active_choices_by_name(meta: TenantMetadata) -> None:
    problems = check_settings(meta, _settings(sla_id=9))

    assert _messages(problems) == [
        "sla_id 9: no such Service Level Agreement on this tenant; valid choices: 1 (Standard)"
    ]
    assert problems[0].setting == "sla_id"


def test_an_inactive_sla_is_refused_by_name(meta: TenantMetadata) -> None:
    assert _messages(check_settings(meta, _settings(sla_id=2))) == [
        "sla_id 2: the Service Level Agreement 'Legacy SLA' is inactive; valid choices: 1 (Standard)"
    ]


def test_a_new_sla_set_on_the_tenant_becomes_a_choice(app: SandboxApp, client: AutotaskClient) -> None:
    app.tenant.set_sla(3, "Premium")

    assert _messages(check_settings(TenantMetadata(client), _settings(sla_id=7))) == [
        "sla_id 7: no such Service Level Agreement on this tenant; valid choices: 1 (Standard), 3 (Premium)"
    ]
    assert check_settings(TenantMetadata(client), _settings(sla_id=3)) == []


def test_an_inactive_service_code_is_refused(app: SandboxApp, client: AutotaskClient) -> None:
    app.tenant.set_billing_code(2010, name="Cloud Seats", use_type=5)
    app.tenant.deactivate_billing_code(2001)

    assert _messages(check_settings(TenantMetadata(client), _settings())) == [
        "service_billing_code_id 2001: the billing code 'Recurring Contract Services' is inactive; "
        "valid choices: 2010 (Cloud Seats)"
    ]


def test_a_service_code_of_another_use_type_is_refused_naming_both(meta: TenantMetadata) -> None:
    assert _messages(check_settings(meta, _settings(service_billing_code_id=2004))) == [
        "service_billing_code_id 2004: the billing code 'Remote Support' has use type 1 (General Allocation Code), "
        "not a Recurring Contract Service code; valid choices: 2001 (Recurring Contract Services)"
    ]


def test_a_use_type_changed_on_the_tenant_is_refused(app: SandboxApp, client: AutotaskClient) -> None:
    app.tenant.set_billing_code_use_type(2002, 5)

    assert _messages(check_settings(TenantMetadata(client), _settings())) == [
        "product_billing_code_id 2002: the billing code 'Cloud Products' has use type 5 (Recurring Contract "
        "Service Code), not a material (product) code; valid choices: none"
    ]


def test_an_unknown_billing_code_lists_the_fitting_ones(meta: TenantMetadata) -> None:
    assert _messages(check_settings(meta, _settings(product_billing_code_id=999))) == [
        "product_billing_code_id 999: no such billing code; valid choices: 2002 (Cloud Products)"
    ]


def test_a_picklist_setting_outside_the_tenants_values_lists_them(meta: TenantMetadata) -> None:
    assert _messages(check_settings(meta, _settings(contract_type=99, service_period_type=0))) == [
        "contract_type 99: no such Contracts.contractType value on this tenant; valid choices: 1 (Time & Materials), "
        "3 (Fixed Price), 4 (Block Hours), 6 (Retainer), 7 (Recurring Service), 8 (Per Ticket)",
        "service_period_type 0: no such Services.periodType value on this tenant; valid choices: 1 (Monthly), "
        "2 (Quarterly), 3 (Semi-Annually), 4 (Yearly)",
    ]


def test_billing_codes_are_read_with_one_query(meta: TenantMetadata, client: AutotaskClient) -> None:
    check_settings(meta, _settings())
    check_settings(meta, _settings(sla_id=9))

    assert client.stats.count("BillingCodes") == 2  # one GET for the useType labels, one POST query
    assert client.stats.count("BillingCodes", "POST") == 1


def test_hostile_names_reach_messages_as_one_bounded_line(app: SandboxApp, client: AutotaskClient) -> None:
    app.tenant.set_sla(1, "Std\x1b[2J\nrm -rf /" + "x" * 500, active=False)
    app.tenant.set_sla(3, "Gold\r\n\x07")

    [problem] = _messages(check_settings(TenantMetadata(client), _settings()))

    assert problem == (
        "sla_id 1: the Service Level Agreement 'Std [2J rm -rf /" + "x" * 63 + "…' is inactive; "
        "valid choices: 3 (Gold   )"
    )


class _HoldingTransport(httpx.BaseTransport):
    """Holds each request until ``wanted`` are in flight (or a second passes), and records the peak:
    reads one after another never overlap, reads side by side reach ``wanted`` at once."""

    def __init__(self, inner: httpx.BaseTransport, wanted: int) -> None:
        self.inner, self.wanted = inner, wanted
        self.in_flight = self.peak = 0
        self.paths: list[str] = []
        self._cond = threading.Condition()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._cond:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.paths.append(request.url.path.removeprefix(BASE_PATH).lstrip("/"))
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.in_flight >= self.wanted, timeout=1.0)
        try:
            return self.inner.handle_request(request)
        finally:
            with self._cond:
                self.in_flight -= 1


def test_the_plans_metadata_reads_run_three_at_a_time_one_request_each(app: SandboxApp) -> None:
    transport = _HoldingTransport(httpx.WSGITransport(app=app), wanted=METADATA_READS_IN_FLIGHT)
    config = ClientConfig(base_url=BASE)
    with AutotaskClient(SANDBOX_CREDENTIALS, config, transport=transport) as client:
        problems = settings_problems(TenantMetadata(client), _settings())

    assert problems == []
    assert transport.peak == METADATA_READS_IN_FLIGHT == 3
    assert sorted(transport.paths) == [
        "BillingCodes/entityInformation/fields",
        "BillingCodes/query",
        "ContractCharges/entityInformation/fields",
        "ContractServiceAdjustments/entityInformation/fields",
        "ContractServices/entityInformation/fields",
        "Contracts/entityInformation/fields",
        "Products/entityInformation/fields",
        "Services/entityInformation/fields",
    ]
