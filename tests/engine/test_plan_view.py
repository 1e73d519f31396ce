"""The human view of a plan: one handler per change type, Terraform-like symbols, the summary line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine import plan_view
from engine.plan import (
    CHANGE_TYPES,
    Adopt,
    Change,
    Create,
    Diagnostic,
    Drift,
    Orphan,
    Plan,
    PlannedPeriod,
    Update,
)
from engine.plan_view import fmt, render_change, render_plan_text, summary_line

ONE_OF_EACH: dict[type, Change] = {
    Create: Create(
        address='service["csp365:P-1"]',
        kind="service",
        after={"name": "Business Standard", "unitPrice": Decimal("12.5000")},
        rule="rules/csp365.yaml:13",
    ),
    Update: Update(
        address='contract["S-1"]',
        kind="contract",
        target_id=40001,
        before={"endDate": date(2026, 10, 31)},
        after={"endDate": date(2027, 10, 31)},
        rule="rules/csp365.yaml:26",
    ),
    Adopt: Adopt(
        address='contract["S-3"]',
        kind="contract",
        target_id=40003,
        attributes={},
        reason="found by its identity marker",
    ),
    Drift: Drift(
        address='service["csp365:P-2"]',
        kind="service",
        target_id=30002,
        before={"unitCost": Decimal("10.6250")},
        after={"unitCost": Decimal("9.0000")},
        reason="changed outside billsync since the last apply",
    ),
    Orphan: Orphan(
        address='contract["S-6"]',
        kind="contract",
        target_id=40006,
        policy="keep",
        reason="subscription S-6 is no longer in Cloudmore",
    ),
}


def test_handler_table_covers_every_change_type() -> None:
    assert set(plan_view._HANDLERS) == set(CHANGE_TYPES)
    assert set(ONE_OF_EACH) == set(CHANGE_TYPES)


@pytest.mark.parametrize("change_type", CHANGE_TYPES, ids=lambda t: t.__name__)
def test_every_change_type_renders_with_its_symbol(change_type: type) -> None:
    symbol = {Create: "  + ", Update: "  ~ ", Adopt: "  = ", Drift: "  ! ", Orphan: "  ? "}
    change = ONE_OF_EACH[change_type]
    lines = render_change(change)
    assert any(line.startswith(symbol[change_type] + change.address) for line in lines)


def test_whole_plan_text() -> None:
    plan = Plan(
        changes=tuple(ONE_OF_EACH.values()),
        as_of=date(2026, 11, 7),
        periods=(
            PlannedPeriod("2026-09", "2026-10-20", "2026-10-06"),
            PlannedPeriod("2026-10", "2026-11-06"),
        ),
        diagnostics=(
            Diagnostic("warning", "unlinked", "organization ORG-1006 has no AutotaskCompanyID"),
            Diagnostic("error", "currency", "organization ORG-1007 has lines in EUR"),
        ),
    )
    assert render_plan_text(plan) == (
        "Billing months: 2026-09 (revised 2026-10-20, replaces 2026-10-06), 2026-10\n"
        "Warning: organization ORG-1006 has no AutotaskCompanyID\n"
        "Error: organization ORG-1007 has lines in EUR\n"
        "\n"
        "billsync will perform the following actions:\n"
        "\n"
        '  # service["csp365:P-1"] will be created  (rules/csp365.yaml:13)\n'
        '  + service["csp365:P-1"] {\n'
        '      + name      = "Business Standard"\n'
        "      + unitPrice = 12.5000\n"
        "    }\n"
        "\n"
        '  # contract["S-1"] will be updated in place (id 40001)  (rules/csp365.yaml:26)\n'
        '  ~ contract["S-1"] {\n'
        "      ~ endDate = 2026-10-31 -> 2027-10-31\n"
        "    }\n"
        "\n"
        '  = contract["S-3"] will be adopted (id 40003, found by its identity marker)\n'
        "\n"
        '  ! service["csp365:P-2"] has drifted (id 30002): changed outside billsync since the last apply\n'
        "      ! unitCost = 10.6250 -> 9.0000\n"
        "\n"
        '  ? contract["S-6"] is an orphan (id 40006): subscription S-6 is no longer in Cloudmore; left as is\n'
        "\n"
        "\n"
        "Plan: 1 to add, 1 to change, 1 to adopt, 1 drifted, 1 orphaned, 0 to destroy.\n"
    )


def test_adjustment_create_shows_the_units_change_and_the_payload() -> None:
    change = Create(
        address='adjustment["S-1"]["2026-10"]',
        kind="adjustment",
        after={"units": 15, "unitPrice": Decimal("3.5000")},
        payload={"unitChange": 3, "adjustedUnitPrice": Decimal("3.5000")},
        before={"units": 12, "unitPrice": Decimal("3.5000")},
        refs={"contractServiceID": 'contract_service["S-1"]'},
        reason="units 12 -> 15",
    )
    assert render_change(change) == [
        '  # adjustment["S-1"]["2026-10"] will be created  (units 12 -> 15)',
        '  + adjustment["S-1"]["2026-10"] {',
        "      ~ units     = 12 -> 15",  # an unchanged unitPrice is not shown as a change
        "      + adjustedUnitPrice = 3.5000",
        "      + unitChange        = 3",
        '      + contractServiceID = contract_service["S-1"]',
        "    }",
        "",
    ]


def test_orphan_under_the_end_policy_says_ended() -> None:
    orphan = Orphan(address='contract["S-6"]', kind="contract", target_id=40006, policy="end", reason="gone")
    assert render_change(orphan) == ['  ? contract["S-6"] is an orphan (id 40006): gone; ended', ""]


def test_no_changes_and_nothing_due() -> None:
    assert render_plan_text(Plan(changes=(), as_of=date(2026, 11, 7))) == (
        "Billing months: none due\n"
        "\n"
        "No changes. Autotask matches the billing reports and the rules.\n"
        "\n"
        "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy.\n"
    )


def test_no_object_changes_but_months_to_record() -> None:
    plan = Plan(changes=(), as_of=date(2026, 11, 7), periods=(PlannedPeriod("2026-10", "2026-11-06"),))
    assert render_plan_text(plan).splitlines()[:3] == [
        "Billing months: 2026-10",
        "",
        "No changes to Autotask objects; the months above will be recorded as applied.",
    ]


def test_summary_line_mentions_extras_only_when_present() -> None:
    plan = Plan(
        changes=(ONE_OF_EACH[Create], ONE_OF_EACH[Create], ONE_OF_EACH[Adopt]), as_of=date(2026, 11, 7)
    )
    assert summary_line(plan) == "Plan: 2 to add, 0 to change, 1 to adopt, 0 to destroy."


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (Decimal("1.50"), "1.50"),
        (Decimal("-0.01"), "-0.01"),
        (date(2028, 2, 29), "2028-02-29"),
        ('Say "hi"', '"Say \\"hi\\""'),
        (7, "7"),
    ],
)
def test_values_are_shown_exactly(value: object, text: str) -> None:
    assert fmt(value) == text  # type: ignore[arg-type]
