"""Each fact has one home: one diagnostic type, one record-type list, one drift rule."""

from __future__ import annotations

import ast
from pathlib import Path

import engine.context
import engine.plan
from engine.diagnostics import Diagnostic

ROOT = Path(__file__).resolve().parents[2]


def _classes_named(name: str) -> list[str]:
    found = []
    for package in ("engine", "providers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [
                str(path.relative_to(ROOT))
                for node in ast.walk(tree)
                if isinstance(node, ast.ClassDef) and node.name == name
            ]
    return found


def test_one_diagnostic_type_from_the_source_to_the_plan() -> None:
    assert _classes_named("Diagnostic") == ["engine/diagnostics.py"]
    assert engine.context.Diagnostic is Diagnostic
    assert engine.plan.Diagnostic is Diagnostic


def test_one_record_type_list_from_cloudmore_to_the_settings() -> None:
    from bench.synthetic import RECORD_TYPE_SHARES
    from engine.settings import RecordTypes
    from engine.source import RECORD_TYPE_SETTING, RECORD_TYPES
    from engine.yamlfile import load_yaml
    from providers.cloudmore import bundle

    assert RECORD_TYPES == (
        "CSP365",
        "Azure",
        "Marketplace",
        "ReservedInstance",
        "PerpetualLicense",
        "Subscription",
    )
    assert list(RECORD_TYPE_SETTING) == list(RECORD_TYPES)
    assert list(RECORD_TYPE_SETTING.values()) == [
        "csp365",
        "azure",
        "marketplace",
        "reserved_instance",
        "perpetual_license",
        "subscription",
    ]
    assert list(RecordTypes.model_fields) == list(RECORD_TYPE_SETTING.values())
    assert RecordTypes().model_dump() == dict.fromkeys(RECORD_TYPE_SETTING.values(), True)
    assert not hasattr(bundle, "RECORD_TYPES") or bundle.RECORD_TYPES is RECORD_TYPES
    shipped = load_yaml(ROOT / "rules" / "settings.yaml", "settings.yaml")
    assert list(shipped["record_types"]) == list(RECORD_TYPE_SETTING.values())
    assert sorted(kind for kind, _share in RECORD_TYPE_SHARES) == sorted(RECORD_TYPES)


def test_plan_and_drift_see_the_same_hand_edit_the_same_way() -> None:
    """``billsync drift`` lists :func:`find_drift`; ``plan`` lists the same drifts, then writes them back."""
    from datetime import date
    from decimal import Decimal

    from engine.diff import RESTORED, diff_state
    from engine.drift import find_drift
    from engine.plan import Drift, Update
    from engine.provider import ActualState
    from engine.render import DesiredState
    from engine.resources import ActualObject, Resource
    from engine.snapshot import Entry, Snapshot
    from providers.autotask.kinds import KINDS

    service, contract = 'service["csp365:P-1"]', 'contract["S-1"]'
    written = {"contractName": "Contoso", "contractType": 7, "endDate": date(2027, 9, 30)}
    snapshot = Snapshot(
        lineage="L",
        serial=2,
        resources={
            service: Entry("service", 30001, {"unitPrice": Decimal("12.5000"), "name": "Business Standard"}),
            contract: Entry("contract", 40001, dict(written), source={"subscription_id": "S-1"}),
        },
    )
    edited = {**written, "contractName": "Edited by hand"}
    actual = ActualState(
        {
            service: ActualObject(
                service, "service", 30001, {"unitPrice": Decimal("9.99"), "name": "Business Standard"}
            ),
            contract: ActualObject(contract, "contract", 40001, edited),
        },
        fingerprint="f",
    )
    desired = DesiredState({contract: Resource(contract, "contract", dict(written))})

    drift = find_drift(snapshot, actual, KINDS)
    plan = diff_state(desired, actual, snapshot, KINDS, {}, {"S-1"}, ["2026-10"])

    assert sorted((c for c in plan if isinstance(c, Drift)), key=lambda c: c.address) == drift
    assert [(c.action, c.address, c.before, c.after) for c in plan] == [
        ("drift", service, {"unitPrice": Decimal("12.5000")}, {"unitPrice": Decimal("9.99")}),
        ("update", service, {"unitPrice": Decimal("9.99")}, {"unitPrice": Decimal("12.5000")}),
        ("drift", contract, {"contractName": "Contoso"}, {"contractName": "Edited by hand"}),
        ("update", contract, {"contractName": "Edited by hand"}, {"contractName": "Contoso"}),
    ]
    assert [c.reason for c in plan if isinstance(c, Update)] == [RESTORED, ""]


def test_an_object_deleted_by_hand_is_drift_and_the_plan_creates_it_again_saying_so() -> None:
    """The one case the lists differ in wording, not in fact: ``drift`` says the object is gone; the plan
    says so on the create that puts it back, instead of a second line for the same address."""
    from datetime import date

    from engine.diff import diff_state
    from engine.drift import NOT_FOUND, find_drift
    from engine.plan import Create, Drift
    from engine.provider import ActualState
    from engine.render import DesiredState
    from engine.resources import Resource
    from engine.snapshot import Entry, Snapshot
    from providers.autotask.kinds import KINDS

    contract = 'contract["S-1"]'
    written = {"contractName": "Contoso", "contractType": 7, "endDate": date(2027, 9, 30)}
    snapshot = Snapshot(lineage="L", serial=2, resources={contract: Entry("contract", 40001, dict(written))})
    gone = ActualState({}, fingerprint="f")
    desired = DesiredState({contract: Resource(contract, "contract", dict(written))})

    assert find_drift(snapshot, gone, KINDS) == [Drift(contract, "contract", 40001, {}, {}, reason=NOT_FOUND)]
    assert diff_state(desired, gone, snapshot, KINDS, {}, {"S-1"}, ["2026-10"]) == [
        Create(
            address=contract,
            kind="contract",
            after=written,
            reason="recorded as id 40001 but not found in the target; created again",
        )
    ]
