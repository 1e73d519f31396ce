"""The plan as data: typed changes, stable JSON that round-trips, and summary counts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import PlanError, StalePlanError
from engine.plan import (
    CHANGE_TYPES,
    FORMAT_VERSION,
    Adopt,
    Change,
    Create,
    Diagnostic,
    Drift,
    Orphan,
    Plan,
    PlannedPeriod,
    Update,
    change_key,
    changes_digest,
    check_same_changes,
    plan_from_json,
    plan_to_json,
)
from engine.provider import CompareInput
from engine.resources import Resource
from engine.snapshot import Snapshot
from providers.autotask.comparators import compare_adjustments
from providers.autotask.kinds import KINDS

CONTRACT = 'contract["S-1"]'
SERVICE = 'service["csp365:P-1"]'
CHARGE = 'charge["S-1"]["2026-09"]'

CHANGES: tuple[Change, ...] = (
    Create(
        address=SERVICE,
        kind="service",
        after={
            "name": "Business Standard",
            "unitPrice": Decimal("12.5000"),
            "billingCodeID": 2001,
            "description": "",
        },
        source={"product_id": "P-1"},
        rule="rules/csp365.yaml:13",
    ),
    Create(
        address=CHARGE,
        kind="charge",
        after={"datePurchased": date(2026, 9, 1), "unitPrice": Decimal("-0.01"), "isBillableToCompany": True},
        refs={"productID": 'product["azure-plan"]', "contractID": CONTRACT},
        source={"subscription_id": "S-1", "period": "2026-09"},
        period="2026-09",
        rule="rules/azure.yaml:36",
        reason="recorded as id 7 but not found in the target; created again",
    ),
    Update(
        address=CONTRACT,
        kind="contract",
        target_id=40001,
        before={"endDate": date(2026, 10, 31), "contractName": "Old"},
        after={"endDate": date(2027, 10, 31), "contractName": "New"},
        refs={},
        rule="rules/csp365.yaml:26",
    ),
    Adopt(
        address='contract_service["S-1"]',
        kind="contract_service",
        target_id=50001,
        attributes={
            "unitPrice": Decimal("3.3333"),
            "adjustedPrice": None,
            "invoiceDescription": "Visio (P-1)",
        },
        refs={"contractID": CONTRACT, "serviceID": SERVICE},
        source={"subscription_id": "S-1"},
        reason="found by its identity marker",
    ),
    Drift(
        address=SERVICE,
        kind="service",
        target_id=30001,
        before={"unitCost": Decimal("10.6250")},
        after={"unitCost": Decimal("9.0000")},
        reason="changed outside billsync since the last apply",
    ),
    Orphan(
        address='contract["S-6"]',
        kind="contract",
        target_id=40006,
        policy="keep",
        reason="subscription S-6 is no longer in Cloudmore",
    ),
)

PLAN = Plan(
    changes=CHANGES,
    as_of=date(2026, 11, 7),
    periods=(PlannedPeriod("2026-09", "2026-10-20", "2026-10-06"), PlannedPeriod("2026-10", "2026-11-06")),
    snapshot_lineage="0b0e5f3a-1111-2222-3333-444455556666",
    snapshot_serial=4,
    actual_fingerprint="abc123",
    objects={CONTRACT: "2026-11-01T10:00:00", SERVICE: "9f2c"},
    inputs_digest="d1",
    rules_digest="d2",
    target="embedded sandbox",
    diagnostics=(
        Diagnostic("warning", "unlinked", "organization ORG-1006 (Wingtip Toys) has no AutotaskCompanyID"),
    ),
)


def test_every_change_type_is_in_the_sample() -> None:
    assert {type(c) for c in CHANGES} == set(CHANGE_TYPES)


def test_json_round_trip_of_every_change_type() -> None:
    back = plan_from_json(plan_to_json(PLAN), KINDS)
    assert back == PLAN
    for original, restored in zip(PLAN.changes, back.changes, strict=True):
        assert type(restored) is type(original)


def test_round_trip_keeps_decimals_and_dates_typed() -> None:
    back = plan_from_json(plan_to_json(PLAN), KINDS)
    create, charge, update, adopt, drift, _orphan = back.changes
    assert isinstance(charge, Create) and isinstance(update, Update) and isinstance(adopt, Adopt)
    assert isinstance(drift, Drift)
    assert charge.after["datePurchased"] == date(2026, 9, 1)
    assert type(charge.after["datePurchased"]) is date
    assert isinstance(charge.after["unitPrice"], Decimal) and str(charge.after["unitPrice"]) == "-0.01"
    assert charge.after["isBillableToCompany"] is True
    assert update.before["endDate"] == date(2026, 10, 31)
    assert str(adopt.attributes["unitPrice"]) == "3.3333"
    assert adopt.attributes["adjustedPrice"] is None
    assert str(drift.after["unitCost"]) == "9.0000"
    assert back.periods[0].revision_of == "2026-10-06"


def test_json_is_byte_identical_for_the_same_plan() -> None:
    text = plan_to_json(PLAN)
    assert plan_to_json(PLAN) == text
    assert plan_to_json(plan_from_json(text, KINDS)) == text
    # The same change built with its mappings in another order gives the same bytes.
    charge = CHANGES[1]
    assert isinstance(charge, Create)
    shuffled = Create(
        address=charge.address,
        kind=charge.kind,
        after=dict(reversed(list(charge.after.items()))),
        refs=dict(reversed(list(charge.refs.items()))),
        source=dict(reversed(list(charge.source.items()))),
        period=charge.period,
        rule=charge.rule,
        reason=charge.reason,
    )
    reordered = Plan(**{**PLAN.__dict__, "changes": (CHANGES[0], shuffled, *CHANGES[2:])})
    assert plan_to_json(reordered) == text


def test_json_document_shape() -> None:
    doc = json.loads(plan_to_json(PLAN))
    assert doc["format_version"] == FORMAT_VERSION == 1
    assert doc["snapshot"] == {"lineage": PLAN.snapshot_lineage, "serial": 4}
    assert doc["periods"][0] == {
        "period": "2026-09",
        "available_on": "2026-10-20",
        "revision_of": "2026-10-06",
        "applied": False,
    }
    charge = doc["changes"][1]
    assert charge["after"] == {
        "datePurchased": "2026-09-01",
        "isBillableToCompany": True,
        "unitPrice": "-0.01",
    }
    assert list(charge["refs"]) == ["contractID", "productID"]
    assert plan_to_json(PLAN).startswith('{\n  "actual_fingerprint": "abc123",\n')


def test_summary_counts() -> None:
    assert PLAN.summary() == {
        "add": 2,
        "change": 1,
        "adopt": 1,
        "drift": 1,
        "orphan": 1,
        "destroy": 0,
    }
    assert PLAN.writes == 3
    assert json.loads(plan_to_json(PLAN))["summary"] == PLAN.summary()


def test_has_changes() -> None:
    empty = Plan(changes=(), as_of=date(2026, 11, 7))
    assert not empty.has_changes
    assert Plan(
        changes=(CHANGES[3],), as_of=date(2026, 11, 7)
    ).has_changes  # an adoption is recorded by apply
    assert not Plan(
        changes=(CHANGES[4], CHANGES[5]), as_of=date(2026, 11, 7)
    ).has_changes  # drift and orphans alone
    months_only = Plan(changes=(), as_of=date(2026, 11, 7), periods=(PlannedPeriod("2026-10", "2026-11-06"),))
    assert months_only.has_changes  # the months are still recorded as applied
    assert not Plan(
        changes=(), as_of=date(2026, 11, 7), periods=months_only.periods, targeted=True
    ).has_changes


def test_change_key_is_the_compact_form() -> None:
    assert [change_key(c) for c in CHANGES] == [
        ("create", SERVICE),
        ("create", CHARGE),
        ("update", CONTRACT),
        ("adopt", 'contract_service["S-1"]'),
        ("drift", SERVICE),
        ("orphan", 'contract["S-6"]'),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "plans/p.json: not a billsync plan file (Expecting value: line 1 column 1 (char 0))"),
        ('{"format_version": 2}', "plans/p.json: plan format 2 is not supported (expected 1)"),
        ("[]", "plans/p.json: plan format None is not supported (expected 1)"),
        (
            '{"format_version": 1, "as_of": "2026-11-07"}',
            "plans/p.json: the plan file is damaged (KeyError: 'changes')",
        ),
    ],
)
def test_unreadable_plan_files(text: str, message: str) -> None:
    with pytest.raises(PlanError) as caught:
        plan_from_json(text, KINDS, "plans/p.json")
    assert caught.value.message == message


def test_unknown_change_action_is_refused() -> None:
    doc = json.loads(plan_to_json(PLAN))
    doc["changes"][0]["action"] = "delete"
    with pytest.raises(PlanError, match=r"^unknown change action 'delete' in plan file$"):
        plan_from_json(json.dumps(doc), KINDS)


def test_damaged_change_is_refused() -> None:
    doc = json.loads(plan_to_json(PLAN))
    del doc["changes"][2]["target_id"]
    with pytest.raises(PlanError, match=r"the plan file is damaged \(TypeError: "):
        plan_from_json(json.dumps(doc), KINDS)


def test_the_as_of_date_is_read_once_as_a_date_and_a_bad_one_refused() -> None:
    assert plan_from_json(plan_to_json(PLAN), KINDS).as_of == date(2026, 11, 7)
    doc = json.loads(plan_to_json(PLAN))
    doc["as_of"] = "2026-11-31"
    with pytest.raises(PlanError) as caught:
        plan_from_json(json.dumps(doc), KINDS, "plans/p.json")
    assert caught.value.message.startswith("plans/p.json: the plan file is damaged (ValueError: ")


def test_adjustment_payload_round_trips_typed() -> None:
    want = Resource(
        address='adjustment["S-1"]["2026-09"]',
        kind="adjustment",
        attributes={
            "effectiveDate": date(2026, 9, 1),
            "units": 300,
            "unitPrice": Decimal("3.3333"),
            "unitCost": Decimal("2.8333"),
        },
        refs={"contractServiceID": 'contract_service["S-1"]'},
        period="2026-09",
    )
    changes = compare_adjustments(CompareInput([want], {}, Snapshot("L"), KINDS["adjustment"]))
    plan = Plan(changes=tuple(changes), as_of=date(2026, 10, 7))
    back = plan_from_json(plan_to_json(plan), KINDS)
    (create,) = back.changes
    assert isinstance(create, Create) and create.payload is not None
    assert create.payload["adjustedUnitPrice"] == Decimal("3.3333")
    assert isinstance(create.payload["adjustedUnitPrice"], Decimal)
    assert back == plan


def test_a_plan_file_is_sealed_over_its_changes_and_head() -> None:
    doc = json.loads(plan_to_json(PLAN))
    assert doc["changes_digest"] == changes_digest(PLAN.changes)
    assert len(doc["seal"]) == 64 and doc["seal"] != doc["changes_digest"]
    assert doc["selection"] == {"period": None, "targets": [], "excludes": []}
    other = Plan(**{**PLAN.__dict__, "snapshot_serial": 5})
    assert json.loads(plan_to_json(other))["seal"] != doc["seal"]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda d: d["changes"][2].update(target_id=999), "its changes no longer match their digest"),
        (
            lambda d: d["changes"][1]["after"].update(unitPrice="100.00"),
            "its changes no longer match their digest",
        ),
        (lambda d: d["changes"].pop(), "its changes no longer match their digest"),
        (
            lambda d: d.update(inputs_digest="other"),
            "its inputs, snapshot, target or selection no longer match",
        ),
        (
            lambda d: d["snapshot"].update(serial=3),
            "its inputs, snapshot, target or selection no longer match",
        ),
        (lambda d: d.pop("seal"), "it carries no seal"),
    ],
)
def test_an_edited_plan_file_is_refused_as_edited(edit: Any, problem: str) -> None:
    doc = json.loads(plan_to_json(PLAN))
    edit(doc)
    with pytest.raises(PlanError) as caught:
        plan_from_json(json.dumps(doc, indent=2), KINDS, "p.plan")
    assert caught.value.message.startswith(
        f"p.plan: the plan file was edited after billsync saved it: {problem}"
    )
    # reformatting alone is not an edit
    assert plan_from_json(json.dumps(json.loads(plan_to_json(PLAN))), KINDS) == PLAN


def test_changes_differing_from_a_fresh_plan_are_refused() -> None:
    check_same_changes(PLAN, PLAN, "p.plan")
    update = CHANGES[2]
    assert isinstance(update, Update)
    edited = Plan(**{**PLAN.__dict__, "changes": (*CHANGES[:2], replace(update, target_id=1), *CHANGES[3:])})
    with pytest.raises(PlanError, match=r"^p.plan: the plan file was edited: its changes are not the ones"):
        check_same_changes(edited, PLAN, "p.plan")
    moved = Plan(**{**PLAN.__dict__, "inputs_digest": "other"})
    with pytest.raises(StalePlanError, match=r"^p.plan: the Cloudmore data changed since the plan was made"):
        check_same_changes(moved, PLAN, "p.plan")
