"""The read request the engine hands a target: built from the snapshot, the months, the settings and the
desired state, carrying only what the target reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from engine.desired import DesiredState
from engine.read_request import ReadPeriod, Recorded, TargetPolicy, read_request
from engine.resources import Resource
from engine.settings import Settings
from engine.snapshot import IMPORTED, Entry, Snapshot

SETTINGS = Settings(currency="USD", sla_id=1, service_billing_code_id=2001, product_billing_code_id=2002)
SNAPSHOT = Snapshot(
    lineage="L",
    serial=3,
    resources={
        'contract["S-1"]': Entry("contract", 11, {}),
        'service["csp:E3"]': Entry("service", 21, {}, source={IMPORTED: "2026-01-05"}),
        'contract["S-2"]': Entry("contract", 12, {}),
        'contract_service["S-1"]': Entry("contract_service", 31, {}, refs={"contractID": 'contract["S-1"]'}),
    },
)


def test_recorded_ids_are_grouped_by_kind_in_snapshot_order_with_the_import_mark() -> None:
    request = read_request(SNAPSHOT, [], SETTINGS)
    assert request.recorded == {
        "contract": {'contract["S-1"]': Recorded(11), 'contract["S-2"]': Recorded(12)},
        "service": {'service["csp:E3"]': Recorded(21, imported=True)},
        "contract_service": {'contract_service["S-1"]': Recorded(31)},
    }
    assert request.recorded_ids("contract") == [11, 12]
    assert request.recorded_ids("charge") == []
    assert request.wanted == {}


def test_months_carry_their_first_and_last_day() -> None:
    request = read_request(Snapshot.empty(), ["2024-02", "2025-12"], SETTINGS)
    assert request.periods == (
        ReadPeriod("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ReadPeriod("2025-12", date(2025, 12, 1), date(2025, 12, 31)),
    )
    assert (request.first_day, request.last_day) == (date(2024, 2, 1), date(2025, 12, 31))


def test_no_months_have_no_first_or_last_day() -> None:
    request = read_request(Snapshot.empty(), [], SETTINGS)
    assert request.periods == ()
    assert (request.first_day, request.last_day) == (None, None)


def test_wanted_addresses_are_grouped_by_kind_with_their_attributes_in_render_order() -> None:
    desired = DesiredState(
        {
            'contract["S-2"]': Resource('contract["S-2"]', "contract", {"companyID": 102}),
            'service["csp:E3"]': Resource('service["csp:E3"]', "service", {"unitPrice": Decimal("5.10")}),
            'contract["S-1"]': Resource('contract["S-1"]', "contract", {"companyID": 101}),
        }
    )
    request = read_request(SNAPSHOT, ["2026-03"], SETTINGS, desired)
    assert request.wanted == {
        "contract": {'contract["S-2"]': {"companyID": 102}, 'contract["S-1"]': {"companyID": 101}},
        "service": {'service["csp:E3"]': {"unitPrice": Decimal("5.10")}},
    }
    assert list(request.wanted["contract"]) == ['contract["S-2"]', 'contract["S-1"]']


def test_the_policy_is_the_targets_part_of_the_settings() -> None:
    settings = SETTINGS.model_copy(
        update={
            "charge_type": 3,
            "product_is_serialized": True,
            "adopt": {"contract": ["companyID", "contractName"]},
        }
    )
    policy = read_request(Snapshot.empty(), [], settings).policy
    assert policy == TargetPolicy(
        sla_id=1,
        service_billing_code_id=2001,
        product_billing_code_id=2002,
        contract_type=7,
        contract_status=1,
        contract_period_type=1,
        service_period_type=1,
        product_period_type=1,
        time_reporting_requires_start_and_stop_times=0,
        charge_type=3,
        product_is_serialized=True,
        adopt={"contract": ("companyID", "contractName")},
    )


def test_the_policy_has_the_settings_names_and_defaults() -> None:
    """A setting the target checks or sends keeps one name and one default: the settings model's."""
    for name, info in TargetPolicy.model_fields.items():
        assert name in Settings.model_fields, name
        if name != "adopt":
            assert info.default == Settings.model_fields[name].default, name


def test_a_prefetch_serves_a_read_with_the_same_ids_months_and_policy_whatever_is_wanted() -> None:
    desired = DesiredState({'contract["S-1"]': Resource('contract["S-1"]', "contract", {"companyID": 101})})
    prefetch = read_request(SNAPSHOT, ["2026-03"], SETTINGS)
    assert prefetch.same_reads(read_request(SNAPSHOT, ["2026-03"], SETTINGS, desired))
    assert prefetch.same_reads(prefetch.wanting(desired))
    assert not prefetch.same_reads(read_request(SNAPSHOT, ["2026-03", "2026-04"], SETTINGS))
    assert not prefetch.same_reads(read_request(Snapshot.empty(), ["2026-03"], SETTINGS))
    assert not prefetch.same_reads(
        read_request(SNAPSHOT, ["2026-03"], SETTINGS.model_copy(update={"sla_id": 2}))
    )


def test_the_policy_cannot_be_changed_by_the_target() -> None:
    policy = read_request(SNAPSHOT, ["2026-03"], SETTINGS).policy
    with pytest.raises(ValidationError, match="frozen"):
        policy.sla_id = 5  # type: ignore[misc]


def test_a_read_after_the_prefetch_shares_its_recorded_ids_and_policy_and_may_name_other_months() -> None:
    desired = DesiredState({'contract["S-1"]': Resource('contract["S-1"]', "contract", {"companyID": 101})})
    prefetch = read_request(SNAPSHOT, ["2026-03"], SETTINGS)
    read = prefetch.wanting(desired, ["2026-03", "2026-04"])
    assert read.recorded is prefetch.recorded and read.policy is prefetch.policy
    assert [p.period for p in read.periods] == ["2026-03", "2026-04"]
    assert read.wanted == {"contract": {'contract["S-1"]': {"companyID": 101}}}
    assert read == read_request(SNAPSHOT, ["2026-03", "2026-04"], SETTINGS, desired)
    assert not prefetch.same_reads(read)
    assert prefetch.same_reads(prefetch.wanting(desired, ["2026-03"]))
