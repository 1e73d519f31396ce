"""Settings: D4 required settings, D5 record types."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""

ALL_TYPES = {
    "csp365": True,
    "azure": True,
    "marketplace": True,
    "reserved_instance": True,
    "perpetual_license": True,
    "subscription": True,
}
CSP_SUBSCRIPTIONS = ("01", "02", "03", "04", "05", "06", "07", "08", "18", "20")
AZURE_SUBSCRIPTIONS = ("11", "12", "13")


# -- D4 -----------------------------------------------------------------------------------------------


@pytest.mark.slow  # a real billsync process
@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        (
            "sla_id",
            999,
            "sla_id 999: no such Service Level Agreement on this tenant; valid choices: 1 (Standard)",
        ),
        (
            "sla_id",
            2,
            "sla_id 2: the Service Level Agreement 'Legacy SLA' is inactive; valid choices: 1 (Standard)",
        ),
        (
            "service_billing_code_id",
            2003,
            "service_billing_code_id 2003: the billing code 'Retired Code' is inactive; "
            "valid choices: 2001 (Recurring Contract Services)",
        ),
        (
            "service_billing_code_id",
            2002,
            "service_billing_code_id 2002: the billing code 'Cloud Products' has use type 4 (Material Cost "
            "Code), not a Recurring Contract Service code; valid choices: 2001 (Recurring Contract Services)",
        ),
        (
            "product_billing_code_id",
            777,
            "product_billing_code_id 777: no such billing code; valid choices: 2002 (Cloud Products)",
        ),
        (
            "charge_type",
            9,
            "charge_type 9: no such ContractCharges.chargeType value on this tenant; "
            "valid choices: 1 (Operational), 2 (Capitalized)",
        ),
    ],
)
def test_d4_missing_or_inactive_id_in_autotask_stops_the_plan(
    env: Env, october: Path, setting: str, value: int, problem: str
) -> None:
    env.configure(october, settings={setting: value})

    result = env.process("plan", "--as-of", "2026-10-07")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "Error: Autotask does not accept these settings:\n"
        f"  - {problem}\n"
        "Fix the settings file (D4; each setting's line lists this tenant's valid choices) or the tenant; "
        "`billsync doctor` checks the whole tenant, and `billsync doctor --write` puts its choices into the "
        "settings file.\n"
    )
    env.billsync("apply", "--auto-approve", "--as-of", "2026-10-07", exit_code=1)
    assert env.api.writes() == {}
    assert env.api.marked_contracts() == {}


def test_a_new_contract_period_type_is_a_warning_and_never_an_update(env: Env, october: Path) -> None:
    """Autotask fixes a contract's period type on create (API-FACTS A9.1): after a settings change the
    plan updates nothing for it, warns once per contract, and Autotask keeps the old value."""
    env.configure(october)
    env.apply("2026-10-07")
    env.configure(october, settings={"contract_period_type": 2})

    plan = env.plan("2026-10-07", "--period", "2026-09")

    assert plan.changes("update", "contract") == []
    warnings = [d for d in plan.diagnostics if d["code"] == "immutable-field"]
    contracts = sorted(env.api.marked_contracts())
    assert len(warnings) == len(contracts) > 0
    assert warnings[0] == {
        "severity": "warning",
        "code": "immutable-field",
        "message": f'contract["{contracts[0]}"]: contractPeriodType is 1 in the target and the rules now give '
        "2, but it cannot be changed after create, so billsync leaves it: Autotask fixes a contract's type, "
        "period type and company when it is created; keep the old setting, or end this contract "
        "(removal_policy: end) and bill a new subscription.",
    }
    assert {c["contractPeriodType"] for rows in env.api.marked_contracts().values() for c in rows} == {1}


@pytest.mark.slow  # a real billsync process
def test_d4_a_setting_left_out_stops_the_plan_naming_file_and_setting(env: Env, october: Path) -> None:
    env.init()
    env.configure(october)
    settings = env.rule_file("settings.yaml")
    settings.write_text(settings.read_text("utf-8").replace("\nsla_id: 1\n", "\n"), "utf-8")

    result = env.process("plan", "--as-of", "2026-10-07")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: rules/settings.yaml:")
    assert "setting 'sla_id': Field required" in result.stderr
    assert env.api.writes() == {}


# -- D5 -----------------------------------------------------------------------------------------------


def test_d5_a_record_type_that_is_off_renders_nothing(env: Env, october: Path) -> None:
    env.configure(october, record_types={**ALL_TYPES, "csp365": False})

    plan = env.plan("2026-10-07")
    assert [
        a for a in plan.addresses() if "csp365" in a or any(f"{EX}{n}" in a for n in CSP_SUBSCRIPTIONS)
    ] == []
    env.apply("2026-10-07")

    assert [sku for sku in env.api.services() if sku.startswith("billsync:csp365:")] == []
    assert sorted(env.api.marked_contracts()) == [
        f"{EX}{n}" for n in ("11", "12", "13", "14", "15", "16", "17")
    ]


def test_d5_a_record_type_turned_off_leaves_its_existing_objects_alone(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    contracts = {n: env.api.contract(f"{EX}{n}") for n in AZURE_SUBSCRIPTIONS}
    charges = {n: env.api.charges(c["id"]) for n, c in contracts.items()}
    products = env.api.products()

    # Even the "end" removal policy must not touch a type that is off: it is left alone, not orphaned.
    env.configure(november, record_types={**ALL_TYPES, "azure": False}, removal_policy="end")
    plan = env.plan("2026-11-25")
    assert [
        a for a in plan.addresses() if "azure" in a or any(f"{EX}{n}" in a for n in AZURE_SUBSCRIPTIONS)
    ] == []
    env.apply("2026-11-25")

    for n, contract in contracts.items():
        assert env.api.contract(f"{EX}{n}") == contract
        assert env.api.charges(contract["id"]) == charges[n]
        assert [c["datePurchased"] for c in charges[n]] == ["2026-09-01T00:00:00"]
    assert env.api.products() == products
    # The other types went on: Marketplace got its 2026-10 charge.
    marketplace = env.api.contract(f"{EX}14")["id"]
    assert [c["name"] for c in env.api.charges(marketplace, "2026-10")] == [
        "Nerdio Manager for Enterprise 2026-10"
    ]


def test_a_new_contract_type_plans_no_replace_and_no_write_and_says_why(env: Env, october: Path) -> None:
    """Autotask fixes a contract's type on create (API-FACTS A9.1) and billsync deletes nothing: after the
    setting changes, the whole plan is one warning per contract and no change; apply writes nothing."""
    env.configure(october)
    env.apply("2026-10-07")
    unchanged = env.plan("2026-10-07", "--period", "2026-09")
    env.configure(october, settings={"contract_type": 3})

    plan = env.plan("2026-10-07", "--period", "2026-09")

    contracts = sorted(env.api.marked_contracts())
    assert len(contracts) > 0
    assert plan.changes() == unchanged.changes() == []
    assert plan.doc["summary"] == {"add": 0, "adopt": 0, "change": 0, "destroy": 0, "drift": 0, "orphan": 0}
    assert plan.diagnostics == unchanged.diagnostics + [
        {
            "severity": "warning",
            "code": "immutable-field",
            "message": f'contract["{subscription}"]: contractType is 7 in the target and the rules now give 3, '
            "but it cannot be changed after create, so billsync leaves it: Autotask fixes a contract's type, "
            "period type and company when it is created; keep the old setting, or end this contract "
            "(removal_policy: end) and bill a new subscription.",
        }
        for subscription in contracts
    ]
    text = env.plan_text("2026-10-07", "--period", "2026-09")
    assert "-/+" not in text and "replace" not in text
    assert [line for line in text.splitlines() if "contractType" in line] == [
        f"Warning: {d['message']}" for d in plan.diagnostics if d["code"] == "immutable-field"
    ]
    assert text.endswith("Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy.\n")
    env.apply("2026-10-07", "--period", "2026-09")
    assert {c["contractType"] for rows in env.api.marked_contracts().values() for c in rows} == {7}
