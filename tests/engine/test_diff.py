"""Three-way diff (desired × actual × snapshot) and the Autotask adjustment comparator registered with it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from engine.desired import DesiredState
from engine.diff import RESTORED, changed_fields, diff_state, immutable_differences
from engine.drift import NOT_FOUND, find_drift
from engine.plan import Adopt, Change, Create, Drift, Orphan, Update, change_key
from engine.provider import ActualState, CompareInput
from engine.resources import ActualObject, KindSpec, Resource
from engine.snapshot import Entry, Snapshot
from engine.types import Attributes
from providers.autotask.comparators import COMPARATORS, compare_adjustments
from providers.autotask.kinds import KINDS

SERVICE = 'service["csp365:P-1"]'
CONTRACT = 'contract["S-1"]'
CSERVICE = 'contract_service["S-1"]'
SERVICE_ATTRS: Attributes = {
    "name": "Business Standard",
    "unitPrice": Decimal("12.5000"),
    "unitCost": Decimal("10.6250"),
    "billingCodeID": 2001,
}
CONTRACT_ATTRS: Attributes = {
    "contractName": "Contoso - Business Standard",
    "companyID": 101,
    "contractType": 7,
    "startDate": date(2026, 1, 1),
    "endDate": date(2027, 1, 31),
}


def resource(
    address: str, kind: str, attributes: Attributes, period: str | None = None, **refs: str
) -> Resource:
    source = (
        {"subscription_id": "S-1", "organization_id": "ORG-1"} if kind != "service" else {"product_id": "P-1"}
    )
    return Resource(address, kind, attributes, refs=refs, source=source, rule="rules/x.yaml:3", period=period)


def actual(
    address: str, kind: str, target_id: int, attributes: Attributes, locked: bool = False
) -> ActualObject:
    return ActualObject(address, kind, target_id, attributes, locked=locked)


def entry(kind: str, target_id: int, attributes: Attributes, subscription: str | None = "S-1") -> Entry:
    return Entry(
        kind, target_id, attributes, source={"subscription_id": subscription} if subscription else {}
    )


def diff(
    desired: Sequence[Resource],
    found: Sequence[ActualObject] = (),
    recorded: dict[str, Entry] | None = None,
    live: set[str] | None = None,
    periods: Sequence[str] = ("2026-09",),
) -> list[Change]:
    return diff_state(
        DesiredState({r.address: r for r in desired}),
        ActualState({o.address: o for o in found}, fingerprint="f"),
        Snapshot(lineage="L", serial=1, resources=recorded or {}),
        KINDS,
        COMPARATORS,
        live if live is not None else {"S-1"},
        periods,
    )


# -- create / adopt / update / drift ------------------------------------------------------------------


def test_create_when_missing_in_apply_order() -> None:
    changes = diff(
        [
            resource(
                CSERVICE,
                "contract_service",
                {"unitPrice": Decimal("12.5")},
                contractID=CONTRACT,
                serviceID=SERVICE,
            ),
            resource(CONTRACT, "contract", CONTRACT_ATTRS),
            resource(SERVICE, "service", SERVICE_ATTRS),
        ]
    )
    assert [change_key(c) for c in changes] == [
        ("create", SERVICE),
        ("create", CONTRACT),
        ("create", CSERVICE),
    ]
    assert changes[0] == Create(
        address=SERVICE,
        kind="service",
        after=SERVICE_ATTRS,
        source={"product_id": "P-1"},
        rule="rules/x.yaml:3",
    )
    assert changes[2].refs == {"contractID": CONTRACT, "serviceID": SERVICE}  # type: ignore[union-attr]


def test_create_again_when_recorded_but_gone_from_the_target() -> None:
    (change,) = diff(
        [resource(SERVICE, "service", SERVICE_ATTRS)],
        recorded={SERVICE: entry("service", 7, SERVICE_ATTRS, None)},
    )
    assert isinstance(change, Create)
    assert change.reason == "recorded as id 7 but not found in the target; created again"


def test_d24_adopt_when_found_by_marker_but_not_in_snapshot() -> None:
    found = actual(SERVICE, "service", 30001, {**SERVICE_ATTRS, "unitPrice": Decimal("12.50")})
    changes = diff([resource(SERVICE, "service", SERVICE_ATTRS)], [found])
    assert changes == [
        Adopt(
            address=SERVICE,
            kind="service",
            target_id=30001,
            attributes=found.attributes,
            source={"product_id": "P-1"},
            rule="rules/x.yaml:3",
            reason="found by its identity marker",
        )
    ]


def test_d24_adopt_then_update_when_the_found_object_differs() -> None:
    found = actual(SERVICE, "service", 30001, {**SERVICE_ATTRS, "name": "Old name"})
    changes = diff([resource(SERVICE, "service", SERVICE_ATTRS)], [found])
    assert [change_key(c) for c in changes] == [("adopt", SERVICE), ("update", SERVICE)]
    assert changes[1] == Update(
        address=SERVICE,
        kind="service",
        target_id=30001,
        before={"name": "Old name"},
        after={"name": "Business Standard"},
        rule="rules/x.yaml:3",
    )


def test_adopt_when_the_snapshot_recorded_another_id() -> None:
    found = actual(SERVICE, "service", 30002, SERVICE_ATTRS)
    changes = diff(
        [resource(SERVICE, "service", SERVICE_ATTRS)],
        [found],
        {SERVICE: entry("service", 30001, SERVICE_ATTRS, None)},
    )
    assert [(change_key(c), getattr(c, "target_id", None)) for c in changes] == [(("adopt", SERVICE), 30002)]


def test_update_only_the_differing_managed_fields() -> None:
    recorded = {**SERVICE_ATTRS, "name": "Old name"}
    found = actual(
        SERVICE,
        "service",
        30001,
        {**recorded, "unitPrice": Decimal("12.50"), "unitCost": Decimal("10.625"), "description": "by hand"},
    )
    changes = diff(
        [resource(SERVICE, "service", SERVICE_ATTRS)],
        [found],
        {SERVICE: entry("service", 30001, recorded, None)},
    )
    assert changes == [
        Update(
            address=SERVICE,
            kind="service",
            target_id=30001,
            before={"name": "Old name"},
            after={"name": "Business Standard"},
            rule="rules/x.yaml:3",
        )
    ]


def test_decimal_scale_is_no_change() -> None:
    want: Attributes = {"unitPrice": Decimal("1.5"), "unitCost": Decimal("1"), "billingCodeID": 2001}
    have: Attributes = {"unitPrice": Decimal("1.50"), "unitCost": Decimal("1.0000"), "billingCodeID": 2001}
    found = actual(SERVICE, "service", 30001, have)
    assert (
        diff([resource(SERVICE, "service", want)], [found], {SERVICE: entry("service", 30001, have, None)})
        == []
    )
    assert changed_fields(have, want) == []
    assert changed_fields({"a": Decimal("1.50"), "b": "x"}, {"a": Decimal("1.51"), "b": "x"}) == ["a"]


def test_drift_when_actual_differs_from_snapshot_and_desired_wins() -> None:
    hand = {**SERVICE_ATTRS, "unitPrice": Decimal("99.0000")}
    found = actual(SERVICE, "service", 30001, hand)
    changes = diff(
        [resource(SERVICE, "service", SERVICE_ATTRS)],
        [found],
        {SERVICE: entry("service", 30001, SERVICE_ATTRS, None)},
    )
    assert [change_key(c) for c in changes] == [("drift", SERVICE), ("update", SERVICE)]
    assert changes[0] == Drift(
        address=SERVICE,
        kind="service",
        target_id=30001,
        before={"unitPrice": Decimal("12.5000")},
        after={"unitPrice": Decimal("99.0000")},
        reason="changed outside billsync since the last apply",
    )
    assert isinstance(changes[1], Update)
    assert (changes[1].before, changes[1].after) == (
        {"unitPrice": Decimal("99.0000")},
        {"unitPrice": Decimal("12.5000")},
    )


def test_drift_without_update_when_desired_changed_the_same_way() -> None:
    recorded = {**SERVICE_ATTRS, "name": "Old name"}
    found = actual(SERVICE, "service", 30001, SERVICE_ATTRS)
    changes = diff(
        [resource(SERVICE, "service", SERVICE_ATTRS)],
        [found],
        {SERVICE: entry("service", 30001, recorded, None)},
    )
    assert [change_key(c) for c in changes] == [("drift", SERVICE)]


def test_immutable_fields_never_produce_updates() -> None:
    found = actual(CONTRACT, "contract", 40001, {**CONTRACT_ATTRS, "contractType": 1})
    recorded = {CONTRACT: entry("contract", 40001, {**CONTRACT_ATTRS, "contractType": 3})}
    assert diff([resource(CONTRACT, "contract", CONTRACT_ATTRS)], [found], recorded) == []
    cs_found = actual(
        CSERVICE, "contract_service", 50001, {"unitPrice": Decimal("10"), "invoiceDescription": "x"}
    )
    cs_recorded = {
        CSERVICE: entry("contract_service", 50001, {"unitPrice": Decimal("10"), "invoiceDescription": "x"})
    }
    desired = resource(
        CSERVICE, "contract_service", {"unitPrice": Decimal("12.5"), "invoiceDescription": "x"}
    )
    assert diff([desired], [cs_found], cs_recorded) == []


def test_d18_renewal_is_an_update_of_the_end_date() -> None:
    found = actual(CONTRACT, "contract", 40001, CONTRACT_ATTRS)
    renewed = {**CONTRACT_ATTRS, "endDate": date(2028, 1, 31)}
    changes = diff(
        [resource(CONTRACT, "contract", renewed)],
        [found],
        {CONTRACT: entry("contract", 40001, CONTRACT_ATTRS)},
    )
    assert changes == [
        Update(
            address=CONTRACT,
            kind="contract",
            target_id=40001,
            before={"endDate": date(2027, 1, 31)},
            after={"endDate": date(2028, 1, 31)},
            rule="rules/x.yaml:3",
        )
    ]


def test_d20_locked_billed_charge_is_never_updated() -> None:
    address = 'charge["S-1"]["2026-09"]'
    billed: Attributes = {"unitPrice": Decimal("607.2800"), "unitQuantity": Decimal("1.0000")}
    found = actual(address, "charge", 60001, billed, locked=True)
    desired = resource(address, "charge", {**billed, "unitPrice": Decimal("625.64")}, period="2026-09")
    assert diff([desired], [found], {address: entry("charge", 60001, billed)}) == []


# -- orphans (D21) ------------------------------------------------------------------------------------


def test_d21_snapshot_contract_whose_subscription_is_gone_is_an_orphan_kept() -> None:
    gone = 'contract["S-6"]'
    found = actual(gone, "contract", 40006, CONTRACT_ATTRS)
    changes = diff([], [found], {gone: entry("contract", 40006, CONTRACT_ATTRS, "S-6")}, live={"S-1"})
    assert changes == [
        Orphan(
            address=gone,
            kind="contract",
            target_id=40006,
            policy="keep",
            reason="subscription S-6 is no longer in Cloudmore",
        )
    ]


def test_d21_live_or_already_removed_contracts_are_not_orphans() -> None:
    kept = 'contract["S-2"]'
    removed = 'contract["S-6"]'
    recorded = {
        kept: entry("contract", 40002, CONTRACT_ATTRS, "S-2"),
        removed: entry("contract", 40006, CONTRACT_ATTRS, "S-6"),
    }
    found = [actual(kept, "contract", 40002, CONTRACT_ATTRS)]
    # the removed one is gone from the target as well: not an orphan, but reported as drift does
    assert diff([], found, recorded, live={"S-2"}) == [
        Drift(removed, "contract", 40006, before={}, after={}, reason=NOT_FOUND)
    ]


def test_d21_services_and_months_are_never_orphans() -> None:
    month = 'adjustment["S-6"]["2026-09"]'
    charge = 'charge["S-6"]["2026-09"]'
    recorded = {
        SERVICE: entry("service", 30001, SERVICE_ATTRS, None),
        'service["subscription"]': entry("service", 30002, {}, "S-6"),
        month: entry("adjustment", 70001, {"units": 3}, "S-6"),
        charge: entry("charge", 60001, {}, "S-6"),
    }
    found = [
        actual(SERVICE, "service", 30001, SERVICE_ATTRS),
        actual('service["subscription"]', "service", 30002, {}),
        actual(month, "adjustment", 70001, {"units": 3}),
        actual(charge, "charge", 60001, {}),
    ]
    assert diff([], found, recorded, live=set()) == []


# -- the adjustment comparator (D14) ------------------------------------------------------------------


def month(
    period: str, units: int, price: str = "3.5000", cost: str = "3.0000", cs: str = CSERVICE
) -> Resource:
    sub = cs.split('"')[1]
    return Resource(
        address=f'adjustment["{sub}"]["{period}"]',
        kind="adjustment",
        attributes={
            "effectiveDate": date.fromisoformat(period + "-01"),
            "units": units,
            "unitPrice": Decimal(price),
            "unitCost": Decimal(cost),
        },
        refs={"contractID": f'contract["{sub}"]', "serviceID": SERVICE, "contractServiceID": cs},
        source={"subscription_id": sub, "period": period},
        rule="rules/csp365.yaml:51",
        period=period,
    )


def row(period: str, units: int, price: str | None = "3.5000", cost: str | None = "3.0000", target_id: int = 900, sub: str = "S-1") -> ActualObject:  # fmt: skip
    return ActualObject(
        address=f'adjustment["{sub}"]["{period}"]',
        kind="adjustment",
        target_id=target_id,
        attributes={
            "effectiveDate": date.fromisoformat(period + "-01"),
            "units": units,
            "unitPrice": Decimal(price) if price else None,
            "unitCost": Decimal(cost) if cost else None,
        },
    )


def compare(
    desired: Sequence[Resource], rows: Sequence[ActualObject], recorded: dict[str, Entry] | None = None
) -> list[Change]:
    return compare_adjustments(
        CompareInput(
            desired, {r.address: r for r in rows}, Snapshot("L", 1, recorded or {}), KINDS["adjustment"]
        )
    )


def test_d14_months_of_one_contract_service_are_carried_forward() -> None:
    # ContractServiceUnits rows of 0 units for both months; the desired months are 12 then 15.
    changes = compare(
        [month("2026-10", 15), month("2026-09", 12)],
        [row("2026-09", 0, None, None, 901), row("2026-10", 0, None, None, 902)],
    )
    assert [change_key(c) for c in changes] == [
        ("create", 'adjustment["S-1"]["2026-09"]'),
        ("create", 'adjustment["S-1"]["2026-10"]'),
    ]
    first, second = changes
    assert isinstance(first, Create) and isinstance(second, Create)
    assert first.payload == {
        "effectiveDate": date(2026, 9, 1),
        "unitChange": 12,
        "adjustedUnitPrice": Decimal("3.5000"),
        "adjustedUnitCost": Decimal("3.0000"),
    }
    assert first.before == {"units": 0, "unitPrice": None, "unitCost": None}
    assert first.reason == "units 0 -> 12"
    assert second.payload is not None and second.payload["unitChange"] == 3
    assert second.before == {"units": 12, "unitPrice": Decimal("3.5000"), "unitCost": Decimal("3.0000")}
    assert second.reason == "units 12 -> 15"
    assert first.after == month("2026-09", 12).attributes


def test_d14_month_going_to_zero_units_is_a_negative_change() -> None:
    changes = compare([month("2026-10", 0)], [row("2026-10", 3)])
    (change,) = changes
    assert isinstance(change, Create) and change.payload is not None
    assert change.payload["unitChange"] == -3


def test_d14_no_change_when_the_row_already_matches_and_is_recorded() -> None:
    address = 'adjustment["S-1"]["2026-09"]'
    recorded = {address: Entry("adjustment", 901, month("2026-09", 12).attributes)}
    assert compare([month("2026-09", 12)], [row("2026-09", 12, "3.5", "3", 901)], recorded) == []


def test_d24_matching_row_not_in_snapshot_is_adopted() -> None:
    want = month("2026-09", 12)
    assert compare([want], [row("2026-09", 12, "3.50", "3.0", 901)]) == [
        Adopt(
            address=want.address,
            kind="adjustment",
            target_id=901,
            attributes=want.attributes,
            refs=want.refs,
            source=want.source,
            period="2026-09",
            rule="rules/csp365.yaml:51",
            reason="the month's units already match",
        )
    ]


def test_d14_price_change_alone_is_an_adjustment_with_unit_change_zero() -> None:
    (change,) = compare([month("2026-09", 12, price="3.7500")], [row("2026-09", 12, "3.5000", "3.0000")])
    assert isinstance(change, Create)
    assert change.payload == {
        "effectiveDate": date(2026, 9, 1),
        "unitChange": 0,
        "adjustedUnitPrice": Decimal("3.7500"),
        "adjustedUnitCost": Decimal("3.0000"),
    }
    assert change.before == {"units": 12, "unitPrice": Decimal("3.5000"), "unitCost": Decimal("3.0000")}


def test_d14_carried_price_makes_the_next_month_match() -> None:
    # A new price from September on also reaches October's row, which needs no adjustment of its own.
    changes = compare(
        [month("2026-09", 12, price="4.0000"), month("2026-10", 12, price="4.0000")],
        [row("2026-09", 12, target_id=901), row("2026-10", 12, target_id=902)],
        {'adjustment["S-1"]["2026-10"]': Entry("adjustment", 902, {})},
    )
    assert [change_key(c) for c in changes] == [("create", 'adjustment["S-1"]["2026-09"]')]


def test_d14_contract_services_are_compared_independently() -> None:
    other = 'contract_service["S-2"]'
    changes = compare(
        [month("2026-09", 5), month("2026-09", 7, cs=other)],
        [row("2026-09", 0), row("2026-09", 2, sub="S-2")],
    )
    assert [
        (change_key(c), c.payload["unitChange"]) for c in changes if isinstance(c, Create) and c.payload
    ] == [
        (("create", 'adjustment["S-1"]["2026-09"]'), 5),
        (("create", 'adjustment["S-2"]["2026-09"]'), 5),
    ]


def test_d14_month_without_a_units_row_starts_from_zero() -> None:
    (change,) = compare([month("2026-09", 4)], [])
    assert isinstance(change, Create)
    assert change.before == {"units": 0, "unitPrice": None, "unitCost": None}
    assert change.payload is not None and change.payload["unitChange"] == 4


def test_comparator_is_registered_for_adjustments_in_diff_state() -> None:
    changes = diff([month("2026-09", 12)], [row("2026-09", 0, None, None)])
    assert [change_key(c) for c in changes] == [("create", 'adjustment["S-1"]["2026-09"]')]
    assert isinstance(changes[0], Create) and changes[0].payload is not None


def test_changes_are_sorted_by_kind_order_then_period_then_address() -> None:
    desired = [
        month("2026-10", 1, cs='contract_service["S-2"]'),
        month("2026-09", 1, cs='contract_service["S-2"]'),
        month("2026-09", 1),
        resource(CONTRACT, "contract", CONTRACT_ATTRS),
        resource(SERVICE, "service", SERVICE_ATTRS),
    ]
    assert [change_key(c)[1] for c in diff(desired, periods=["2026-09", "2026-10"])] == [
        SERVICE,
        CONTRACT,
        'adjustment["S-1"]["2026-09"]',
        'adjustment["S-2"]["2026-09"]',
        'adjustment["S-2"]["2026-10"]',
    ]


def test_kind_spec_table_is_what_the_diff_relies_on() -> None:
    spec: KindSpec = KINDS["contract"]
    # read-only after create on Autotask (API-FACTS A9.1, A9.2, A9.6)
    immutable = frozenset({"contractType", "contractPeriodType", "companyID"})
    assert (spec.orphanable, spec.immutable, spec.end_field) == (True, immutable, "endDate")
    assert KINDS["service"].immutable == frozenset({"periodType"})
    assert KINDS["contract_service"].immutable == frozenset({"unitPrice", "unitCost"})
    assert not KINDS["service"].orphanable
    assert KINDS["adjustment"].period_scoped and KINDS["charge"].period_scoped


def test_field_newly_managed_by_the_rules_is_not_reported_as_drift() -> None:
    recorded = {
        CONTRACT: entry("contract", 40001, CONTRACT_ATTRS)
    }  # applied before the rules managed "description"
    found = actual(CONTRACT, "contract", 40001, {**CONTRACT_ATTRS, "description": "typed by the MSP"})
    desired = resource(CONTRACT, "contract", {**CONTRACT_ATTRS, "description": "Cloudmore subscription S-1"})
    changes = diff([desired], [found], recorded)
    assert changes == [
        Update(
            address=CONTRACT,
            kind="contract",
            target_id=40001,
            before={"description": "typed by the MSP"},
            after={"description": "Cloudmore subscription S-1"},
            rule="rules/x.yaml:3",
        )
    ]


# -- one drift rule for plan and drift ----------------------------------------------------------------


def _restore(restore: bool = True, **extra: Entry) -> tuple[list[Change], list[Drift]]:
    """A recorded service no planned month renders, edited by hand; plus ``extra`` recorded objects."""
    hand = {**SERVICE_ATTRS, "unitPrice": Decimal("99.0000"), "name": "Renamed"}
    recorded = {SERVICE: Entry("service", 30001, SERVICE_ATTRS, refs={}), **extra}
    state = ActualState({SERVICE: actual(SERVICE, "service", 30001, hand)}, fingerprint="f")
    snapshot = Snapshot(lineage="L", serial=1, resources=recorded)
    changes = diff_state(DesiredState({}), state, snapshot, KINDS, COMPARATORS, {"S-1"}, (), restore=restore)
    return changes, find_drift(snapshot, state, KINDS)


def test_plan_puts_back_a_drifted_object_no_planned_month_renders() -> None:
    changes, drift = _restore()
    assert changes == [
        *drift,
        Update(
            address=SERVICE,
            kind="service",
            target_id=30001,
            before={"name": "Renamed", "unitPrice": Decimal("99.0000")},
            after={"name": "Business Standard", "unitPrice": Decimal("12.5000")},
            reason=RESTORED,
        ),
    ]
    assert [(d.address, sorted(d.before)) for d in drift] == [(SERVICE, ["name", "unitPrice"])]


def test_a_plan_narrowed_by_target_reports_drift_but_puts_nothing_back() -> None:
    changes, drift = _restore(restore=False)
    assert changes == drift and len(drift) == 1


def test_plan_reports_exactly_the_drift_the_drift_command_reports() -> None:
    """Every Drift of ``billsync drift`` is in the plan made from the same reads, and no other."""
    month = 'adjustment["S-1"]["2026-09"]'
    gone = 'contract["S-9"]'
    changes, drift = _restore(
        **{
            month: Entry("adjustment", 70001, {"units": 12}, period="2026-09"),
            gone: entry("contract", 40009, CONTRACT_ATTRS, "S-9"),
        }
    )
    assert sorted((c for c in changes if isinstance(c, Drift)), key=lambda d: d.address) == drift
    assert [(d.address, d.reason) for d in drift] == [
        (gone, NOT_FOUND),
        (SERVICE, "changed outside billsync since the last apply"),
    ]  # a month the read did not cover is never reported missing


def test_an_orphan_or_a_month_is_never_put_back() -> None:
    month = 'adjustment["S-1"]["2026-09"]'
    orphan = 'contract["S-6"]'
    recorded = {
        month: Entry("adjustment", 70001, {"units": 12}, period="2026-09"),
        orphan: entry("contract", 40006, CONTRACT_ATTRS, "S-6"),
    }
    found = [
        actual(month, "adjustment", 70001, {"units": 15}),
        actual(orphan, "contract", 40006, {**CONTRACT_ATTRS, "contractName": "Edited"}),
    ]
    changes = diff([], found, recorded, live={"S-1"})
    assert [change_key(c) for c in changes] == [("orphan", orphan), ("drift", orphan), ("drift", month)]


# -- fields the target fixes on create ------------------------------------------------------------------


def test_a_changed_create_only_field_is_never_written_and_the_plan_says_so() -> None:
    """Autotask fixes a contract's period type and company on create (API-FACTS A9.1): no update is
    planned for them, and the plan warns with what the user can do instead of dropping it silently."""
    wanted = {**CONTRACT_ATTRS, "contractPeriodType": 2, "companyID": 102, "contractName": "Renamed"}
    found = actual(CONTRACT, "contract", 40001, {**CONTRACT_ATTRS, "contractPeriodType": 1})
    desired = resource(CONTRACT, "contract", wanted)
    changes = diff([desired], [found], {CONTRACT: entry("contract", 40001, CONTRACT_ATTRS)})
    assert [(c.action, c.after) for c in changes if isinstance(c, Update)] == [
        ("update", {"contractName": "Renamed"})
    ]
    warnings = immutable_differences(
        DesiredState({CONTRACT: desired}), ActualState({CONTRACT: found}, fingerprint="f"), KINDS
    )
    hint = KINDS["contract"].immutable_hint
    assert warnings == [
        f"{CONTRACT}: companyID is 101 in the target and the rules now give 102, but it cannot be changed "
        f"after create, so billsync leaves it: {hint}.",
        f"{CONTRACT}: contractPeriodType is 1 in the target and the rules now give 2, but it cannot be "
        f"changed after create, so billsync leaves it: {hint}.",
    ]


def test_a_field_the_target_holds_fixed_on_one_object_is_left_there_and_written_elsewhere() -> None:
    """A recurring contract's start date is read-only once it has services (API-FACTS A9.1): the
    provider marks it fixed on that object only, so a contract without services still gets it."""
    wanted = {**CONTRACT_ATTRS, "startDate": date(2025, 11, 1)}
    in_use = ActualObject(CONTRACT, "contract", 40001, CONTRACT_ATTRS, fixed=frozenset({"startDate"}))
    other = 'contract["S-2"]'
    bare = actual(other, "contract", 40002, CONTRACT_ATTRS)
    desired = [resource(CONTRACT, "contract", wanted), resource(other, "contract", wanted)]
    recorded = {
        CONTRACT: entry("contract", 40001, CONTRACT_ATTRS),
        other: entry("contract", 40002, CONTRACT_ATTRS),
    }
    changes = diff(desired, [in_use, bare], recorded)
    assert [(c.address, c.after) for c in changes if isinstance(c, Update)] == [
        (other, {"startDate": date(2025, 11, 1)})
    ]
    state = ActualState({CONTRACT: in_use, other: bare}, fingerprint="f")
    assert immutable_differences(DesiredState({r.address: r for r in desired}), state, KINDS) == [
        f"{CONTRACT}: startDate is 2026-01-01 in the target and the rules now give 2025-11-01, but it cannot "
        f"be changed after create, so billsync leaves it: {KINDS['contract'].immutable_hint}."
    ]


def test_an_unchanged_create_only_field_gives_no_warning() -> None:
    found = actual(
        CSERVICE, "contract_service", 50001, {"unitPrice": Decimal("12.5"), "unitCost": Decimal(10)}
    )
    desired = resource(
        CSERVICE, "contract_service", {"unitPrice": Decimal("12.5000"), "unitCost": Decimal(10)}
    )
    state = ActualState({CSERVICE: found}, fingerprint="f")
    assert immutable_differences(DesiredState({CSERVICE: desired}), state, KINDS) == []
