"""Drift: what was changed in the target by hand since the last apply (the refresh-only report)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.drift import find_drift
from engine.plan import Drift
from engine.provider import ActualState
from engine.resources import ActualObject
from engine.snapshot import Entry, Snapshot
from providers.autotask.kinds import KINDS

SERVICE = 'service["csp365:P-1"]'
CONTRACT = 'contract["S-1"]'
MONTH = 'adjustment["S-1"]["2026-09"]'
SNAPSHOT = Snapshot(
    lineage="L",
    serial=2,
    resources={
        SERVICE: Entry("service", 30001, {"unitPrice": Decimal("12.5000"), "name": "Business Standard"}),
        CONTRACT: Entry("contract", 40001, {"contractType": 7, "endDate": date(2027, 9, 30)}),
        MONTH: Entry("adjustment", 70001, {"units": 12}, period="2026-09"),
    },
)


def state(*objects: ActualObject) -> ActualState:
    return ActualState({o.address: o for o in objects}, fingerprint="f")


def test_no_drift_when_the_target_matches_up_to_decimal_scale() -> None:
    found = state(
        ActualObject(
            SERVICE, "service", 30001, {"unitPrice": Decimal("12.5"), "name": "Business Standard", "sku": "x"}
        ),
        ActualObject(CONTRACT, "contract", 40001, {"contractType": 7, "endDate": date(2027, 9, 30)}),
        ActualObject(MONTH, "adjustment", 70001, {"units": 12}),
    )
    assert find_drift(SNAPSHOT, found, KINDS) == []


def test_changed_managed_field_is_drift_and_immutable_fields_are_not() -> None:
    found = state(
        ActualObject(SERVICE, "service", 30001, {"unitPrice": Decimal("9.99"), "name": "Business Standard"}),
        ActualObject(CONTRACT, "contract", 40001, {"contractType": 1, "endDate": date(2027, 9, 30)}),
        ActualObject(MONTH, "adjustment", 70001, {"units": 12}),
    )
    assert find_drift(SNAPSHOT, found, KINDS) == [
        Drift(
            address=SERVICE,
            kind="service",
            target_id=30001,
            before={"unitPrice": Decimal("12.5000")},
            after={"unitPrice": Decimal("9.99")},
            reason="changed outside billsync since the last apply",
        )
    ]


def test_missing_object_is_reported_but_months_outside_the_read_are_not() -> None:
    found = state(ActualObject(SERVICE, "service", 30001, dict(SNAPSHOT.resources[SERVICE].attributes)))
    assert find_drift(SNAPSHOT, found, KINDS) == [
        Drift(
            address=CONTRACT,
            kind="contract",
            target_id=40001,
            before={},
            after={},
            reason="not found in the target (deleted, or its identity marker was changed)",
        )
    ]
