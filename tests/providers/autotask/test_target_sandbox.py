"""The Autotask target against the strict sandbox: unit rows read by the row covering each month's 1st,
policy values sent on create, and settings and required fields checked against the tenant's metadata."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from engine.desired import DesiredState
from engine.plan import Create
from engine.provider import Company
from engine.read_request import read_request
from engine.resources import Resource
from engine.settings import Settings
from engine.snapshot import Snapshot
from providers.autotask.client import AutotaskClient
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig
from providers.autotask.entities import ENTITIES
from providers.autotask.sandbox import SandboxApp, make_app
from providers.autotask.target import AutotaskTarget, _typed

BASE = "http://sandbox/ATServicesRest/V1.0/"
SETTINGS = Settings(currency="USD", sla_id=1, service_billing_code_id=2001, product_billing_code_id=2002)
EMPTY = Snapshot(lineage="L", serial=1, resources={})


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:")


@pytest.fixture
def target(app: SandboxApp) -> Iterator[AutotaskTarget]:
    client = AutotaskClient(
        SANDBOX_CREDENTIALS, ClientConfig(base_url=BASE), transport=httpx.WSGITransport(app=app)
    )
    with client:
        yield AutotaskTarget(client, "sandbox")


def _contract(app: SandboxApp, start: str, subscription: str, period_type: int = 1) -> int:
    (contract,) = app.store.insert_many(
        "Contracts",
        [
            {
                "companyID": 101,
                "contractName": subscription,
                "contractType": 7,
                "status": 1,
                "timeReportingRequiresStartAndStopTimes": 0,
                "contractPeriodType": period_type,
                "startDate": start,
                "endDate": "2027-12-31",
                "userDefinedFields": [{"name": "Subscription ID", "value": subscription}],
            }
        ],
    )
    return contract


def test_units_for_a_month_are_the_row_covering_its_first_day(
    app: SandboxApp, target: AutotaskTarget
) -> None:
    """A contract starting on the 15th has rows 15th–14th, and an adjustment on the 20th splits one:
    the units in force on each month's 1st are what billsync compares (A9.4)."""
    (service,) = app.store.insert_many(
        "Services",
        [
            {
                "name": "E3",
                "billingCodeID": 2001,
                "periodType": 1,
                "unitPrice": 10,
                "sku": "billsync:csp365:E3",
            }
        ],
    )
    contract = _contract(app, "2026-01-15", "S-1")
    client = target.client
    for effective, change, price in (("2026-01-15", 5, None), ("2026-03-20", 2, "12.5")):
        body: dict[str, object] = {"serviceID": service, "effectiveDate": effective, "unitChange": change}
        if price is not None:
            body["adjustedUnitPrice"] = Decimal(price)
        client.create("ContractServiceAdjustments", body, parent_id=contract)
    actual = target.read(read_request(EMPTY, ["2026-02", "2026-03", "2026-04"], SETTINGS))
    assert not actual.problems
    units = {
        address: (obj.attributes["effectiveDate"], obj.attributes["units"], obj.attributes["unitPrice"])
        for address, obj in actual.objects.items()
        if obj.kind == "adjustment"
    }
    assert units == {
        'adjustment["S-1"]["2026-02"]': (date(2026, 2, 1), 5, Decimal("10")),  # row 15 Jan – 14 Feb
        'adjustment["S-1"]["2026-03"]': (date(2026, 3, 1), 5, Decimal("10")),  # row 15 Feb – 14 Mar
        'adjustment["S-1"]["2026-04"]': (date(2026, 4, 1), 7, Decimal("12.5")),  # row 20 Mar – 14 Apr
    }


def test_creates_send_the_required_policy_fields_from_settings(
    app: SandboxApp, target: AutotaskTarget
) -> None:
    settings = SETTINGS.model_copy(
        update={
            "charge_type": 2,
            "time_reporting_requires_start_and_stop_times": 1,
            "product_is_serialized": True,
        }
    )
    assert not target.read(read_request(EMPTY, [], settings)).problems
    contract = target.create(
        Create(
            'contract["S-9"]',
            "contract",
            {
                "contractName": "S-9",
                "companyID": 101,
                "contractType": 7,
                "status": 1,
                "startDate": date(2026, 1, 1),
                "endDate": date(2026, 12, 31),
            },
        ),
        {},
    ).target_id
    product = target.create(
        Create('product["p"]', "product", {"name": "P", "productBillingCodeID": 2002, "isActive": True}), {}
    ).target_id
    charge = target.create(
        Create(
            'charge["S-9"]["2026-01"]["rounding"]',
            "charge",
            {
                "name": "R",
                "datePurchased": date(2026, 1, 1),
                "unitQuantity": Decimal(1),
                "productID": product,
                "unitPrice": Decimal("0.01"),
            },
        ),
        {"contractID": contract},
    ).target_id
    rows = {
        name: app.store.get(ENTITIES[name], i) or {}
        for name, i in (("Contracts", contract), ("Products", product), ("ContractCharges", charge))
    }
    assert rows["Contracts"]["timeReportingRequiresStartAndStopTimes"] == 1
    assert rows["Products"]["isSerialized"] is True
    assert rows["ContractCharges"]["chargeType"] == 2


def test_a_required_field_billsync_cannot_fill_stops_the_plan(target: AutotaskTarget) -> None:
    """A tenant that requires a field billsync has no value for fails at plan time, naming it."""
    fields = target.metadata.fields("Contracts")
    fields["contractcategory"] = fields["contractcategory"].model_copy(update={"is_required": True})
    desired = DesiredState(
        {'contract["S-1"]': Resource('contract["S-1"]', "contract", {"contractName": "x", "companyID": 101})}
    )
    problems = target.read(read_request(EMPTY, [], SETTINGS, desired)).problems
    assert problems == (
        "Contracts: this tenant requires contractCategory on create, and billsync has no value for it (a "
        "tenant-specific required field: make it optional in Autotask)",
    )


def test_settings_are_checked_against_the_tenants_picklists(app: SandboxApp, target: AutotaskTarget) -> None:
    app.tenant.set_billing_code_use_type(2001, 4)
    problems = target.read(read_request(EMPTY, [], SETTINGS.model_copy(update={"sla_id": 7}))).problems
    assert problems == (
        "sla_id 7: no such Service Level Agreement on this tenant; valid choices: 1 (Standard)",
        "service_billing_code_id 2001: the billing code 'Recurring Contract Services' has use type 4 "
        "(Material Cost Code), not a Recurring Contract Service code; valid choices: none",
    )


def test_a_hostile_required_field_name_is_shown_as_one_plain_bounded_line(target: AutotaskTarget) -> None:
    fields = target.metadata.fields("Contracts")
    name = "x\x1b[31m\nred" + "y" * 200
    fields[name.lower()] = fields["contractcategory"].model_copy(update={"name": name, "is_required": True})
    desired = DesiredState(
        {'contract["S-1"]': Resource('contract["S-1"]', "contract", {"contractName": "x", "companyID": 101})}
    )
    (problem,) = target.read(read_request(EMPTY, [], SETTINGS, desired)).problems
    shown = problem.split(" requires ")[1].split(" on create")[0]
    assert shown == "x [31m red" + "y" * 69 + "…"
    assert "\x1b" not in problem and "\n" not in problem


def test_companies_are_listed_typed_by_id_with_a_missing_number_empty_and_inactive_kept(
    app: SandboxApp, target: AutotaskTarget
) -> None:
    (added,) = app.store.insert_many(
        "Companies", [{"companyName": "Old Customer", "companyType": 1, "isActive": False}]
    )
    companies = target.list_companies()
    assert companies[:2] == [
        Company(0, "Demo MSP (owner)", "C-0", active=True),
        Company(101, "Contoso Ltd", "C-101", active=True),
    ]
    assert companies[-1] == Company(added, "Old Customer", "", active=False)
    assert [c.id for c in companies] == sorted(c.id for c in companies)
    assert target.client.stats.requests["Companies"] == {"POST": 1}  # one query, one page


def test_equal_typed_values_of_one_read_are_one_object_and_an_unscaled_amount_keeps_its_text() -> None:
    values: dict[tuple[object, ...], object] = {}
    first, again = (
        _typed("2026-10-01T00:00:00", "date", None, values),
        _typed("2026-10-01T00:00:00", "date", None, values),
    )
    assert first == date(2026, 10, 1) and first is again
    price = _typed(Decimal("12.5"), "decimal", 4, values)
    assert str(price) == "12.5000" and _typed(Decimal("12.50"), "decimal", 4, values) is price
    # without a scale the amount is kept as written: 1.5 and 1.50 are equal keys but not the same text
    assert [str(_typed(Decimal(text), "decimal", None, values)) for text in ("1.5", "1.50")] == [
        "1.5",
        "1.50",
    ]
    assert (_typed(1, "int", None, values), _typed("1", "bool", None, values)) == (1, True)
    assert type(_typed(1, "int", None, values)) is int and _typed("x", "str", None, values) == "x"
