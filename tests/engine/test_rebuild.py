"""engine.rebuild: what was billed, recovered from marked objects (D25), and duplicates (D24)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engine.plan import Adopt, Create, Plan
from engine.provider import ActualState
from engine.rebuild import duplicates, rebuilt_snapshot, recover_snapshot
from engine.resources import ActualObject
from engine.types import make_address
from providers.autotask.kinds import KINDS

SUB = "sub-1"


def _obj(kind: str, target_id: int, *key: str, marked: bool = True, **attributes: object) -> ActualObject:
    return ActualObject(make_address(kind, *key), kind, target_id, dict(attributes), marked=marked)


def _actual(*objects: ActualObject) -> ActualState:
    return ActualState(objects={o.address: o for o in objects}, fingerprint="")


def test_a_month_totals_units_times_price_plus_rounding_and_a_correction_names_its_revision() -> None:
    actual = _actual(
        _obj("contract", 7, SUB, contractName="Contoso"),
        _obj("adjustment", 70, SUB, "2026-09", units=3, unitPrice=Decimal("33.3333"), unitCost=Decimal("20")),
        _obj("charge", 71, SUB, "2026-09", "rounding", unitQuantity=1, unitPrice=Decimal("0.01"), unitCost=0),
        _obj(
            "charge",
            72,
            SUB,
            "2026-09",
            "correction-2026-11-03",
            unitQuantity=1,
            unitPrice=Decimal("25.00"),
            unitCost=Decimal("10"),
            datePurchased=date(2026, 9, 1),
        ),
        _obj("adjustment", 80, SUB, "2026-10", units=2, unitPrice=Decimal("10"), unitCost=Decimal("5")),
        _obj("contract", 9, "not-ours", marked=False),
    )

    snapshot = recover_snapshot(actual, KINDS, "lineage-1")

    assert snapshot.lineage == "lineage-1"
    assert snapshot.applied_periods == {"2026-09": "2026-11-03"}
    assert sorted(snapshot.resources) == sorted(a for a in actual.objects if "not-ours" not in a)
    adjustment = snapshot.resources[make_address("adjustment", SUB, "2026-09")]
    # found as its month's ContractServiceUnits row: billsync created no adjustment, so no target_id
    assert (adjustment.target_id, adjustment.read_id, adjustment.period) == (None, 70, "2026-09")
    assert adjustment.source == {
        "subscription_id": SUB,
        "period": "2026-09",
        "total_sales": "100.01",
        "total_cost": "60.00",
    }
    correction = snapshot.resources[make_address("charge", SUB, "2026-09", "correction-2026-11-03")]
    assert correction.source["correction"] == "2026-11-03"
    assert snapshot.recorded_months() == {
        (SUB, "2026-09"): (Decimal("125.01"), Decimal("70.00")),
        (SUB, "2026-10"): (Decimal("20.00"), Decimal("10.00")),
    }
    assert snapshot.resources[make_address("contract", SUB)].source == {"subscription_id": SUB}


def test_duplicates_name_the_address_and_every_id() -> None:
    messages = duplicates({'contract["a"]': (12, 5), 'contract["b"]': (3,)})
    assert len(messages) == 1
    assert messages[0].startswith('duplicate: contract["a"] is carried by 2 objects in Autotask (ids 5, 12)')


def test_a_rebuilt_snapshot_records_a_found_month_by_its_row_and_leaves_out_a_carried_one() -> None:
    """``state rebuild`` records what the plan adopts: a contract under its own id, a month found already
    right by the ContractServiceUnits row it was read from (``read_id``, no adjustment was created), and
    not a month only an earlier month's create would set (nothing exists for it yet)."""
    contract = make_address("contract", SUB)
    found = make_address("adjustment", SUB, "2026-09")
    carried = make_address("adjustment", SUB, "2026-10")
    plan = Plan(
        changes=(
            Adopt(contract, "contract", 40001, {"contractName": "C"}),
            Adopt(found, "adjustment", 88002, {"units": 3}, period="2026-09"),
            Create(make_address("adjustment", SUB, "2026-08"), "adjustment", {"units": 3}, period="2026-08"),
            Adopt(carried, "adjustment", 0, {"units": 3}, period="2026-10", carried_by=found),
        ),
        as_of=date(2026, 10, 7),
    )
    snapshot = rebuilt_snapshot(plan, "lineage-1", 1, KINDS)
    assert sorted(snapshot.resources) == sorted([contract, found])
    assert (snapshot.resources[contract].target_id, snapshot.resources[contract].read_id) == (40001, None)
    assert (snapshot.resources[found].target_id, snapshot.resources[found].read_id) == (None, 88002)
