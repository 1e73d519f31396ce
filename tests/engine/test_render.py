"""Rendering rules into the desired state: values, sandboxing, and errors naming file, line and record."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.billing import bill_month
from engine.context import RenderInput, build_render_input
from engine.desired import DesiredState
from engine.errors import RuleError
from engine.periods import due_reports
from engine.render import render_desired
from engine.resources import KindSpec, Resource
from engine.rules import RuleFile, parse_rule_file
from engine.settings import RecordTypes, Settings
from engine.snapshot_model import Entry
from engine.source import Organization, PriceListItem, SourceData, Subscription
from engine.yamlfile import load_yaml_text

FILE = "rules/x.yaml"
SETTINGS = Settings(currency="USD", sla_id=1, service_billing_code_id=2001, product_billing_code_id=2002)
SUB = Subscription(
    subscription_id="S-1",
    organization_id="ORG-1",
    record_type="CSP365",
    product_id="P-1",
    product_name="Business Standard",
    quantity=3,
    start_date=date(2026, 1, 15),
)
ORG = Organization(organization_id="ORG-1", name="Contoso", currency="USD", autotask_company_id=101)
PRODUCT = PriceListItem(
    product_id="P-1",
    product_name="Business Standard",
    unit_cost_price=Decimal("10.625"),
    unit_sales_price=Decimal("12.5"),
    currency="USD",
)
BASE: dict[str, Any] = {
    "sub": SUB,
    "org": ORG,
    "company_id": 101,
    "contract_start": date(2026, 1, 1),
    "contract_end": date(2036, 12, 31),
    "product": PRODUCT,
    "record_type": "csp365",
}
ITEMS = RenderInput(
    periods=["2026-09"],
    items={
        "CSP365": {
            "subscriptions": [BASE],
            "subscription_months": [{**BASE, "month": bill_month("2026-09", [])}],
            "products": [{"product": PRODUCT}],
        }
    },
)


def rule(
    kind: str,
    for_each: str,
    attributes: dict[str, str],
    key: str = "{{ sub.subscription_id }}",
    extra: str = "",
) -> str:
    """A one-resource rule file; the first attribute is always on line 7 (with no ``extra`` lines)."""
    lines = [
        "record_types: [CSP365]",
        "resources:",
        f"  - kind: {kind}",
        f"    for_each: {for_each}",
        f'    key: "{key}"',
        *extra.splitlines(),
        "    attributes:",
        *(f'      {name}: "{value}"' for name, value in attributes.items()),
    ]
    return "\n".join(lines) + "\n"


def render(kinds: dict[str, KindSpec], *texts: str, settings: Settings = SETTINGS) -> DesiredState:
    files: list[RuleFile] = [
        parse_rule_file(
            load_yaml_text(text, f"rules/r{i}.yaml" if i else FILE),
            f"rules/r{i}.yaml" if i else FILE,
            set(kinds),
        )
        for i, text in enumerate(texts)
    ]
    return render_desired(files, ITEMS, settings, kinds)


def render_error(kinds: dict[str, KindSpec], *texts: str) -> RuleError:
    with pytest.raises(RuleError) as caught:
        render(kinds, *texts)
    return caught.value


def test_attributes_are_coerced_to_field_types(kinds: dict[str, KindSpec]) -> None:
    text = rule(
        "contract",
        "subscriptions",
        {
            "contractName": "{{ vars.prefix | default('') }}{{ org.name }} - {{ sub.product_name }}",
            "companyID": "{{ company_id }}",
            "startDate": "{{ contract_start }}",
            "endDate": "{{ contract_end }}",
            "serviceLevelAgreementID": "{{ settings.sla_id }}",
        },
    )
    desired = render(kinds, text)
    assert desired.resources == {
        'contract["S-1"]': Resource(
            address='contract["S-1"]',
            kind="contract",
            attributes={
                "contractName": "Contoso - Business Standard",
                "companyID": 101,
                "startDate": date(2026, 1, 1),
                "endDate": date(2036, 12, 31),
                "serviceLevelAgreementID": 1,
            },
            source={"subscription_id": "S-1", "organization_id": "ORG-1"},
            rule="rules/x.yaml:3",
        )
    }


def test_d22_decimal_fields_keep_the_kinds_places(kinds: dict[str, KindSpec]) -> None:
    text = rule("service", "products", {"unitPrice": "{{ product.unit_sales_price }}", "unitCost": "{{ product.unit_cost_price }}"}, key="csp365:{{ product.product_id }}")  # fmt: skip
    (resource,) = render(kinds, text).resources.values()
    assert resource.address == 'service["csp365:P-1"]'
    assert [str(resource.attributes["unitPrice"]), str(resource.attributes["unitCost"])] == [
        "12.5000",
        "10.6250",
    ]
    assert resource.source == {"product_id": "P-1"}


def test_period_scoped_resources_carry_their_month(kinds: dict[str, KindSpec]) -> None:
    text = rule("adjustment", "subscription_months", {"units": "{{ month.quantity }}", "effectiveDate": "{{ month.start }}"}, key="{{ sub.subscription_id }}-{{ month.period }}")  # fmt: skip
    (resource,) = render(kinds, text).resources.values()
    assert (resource.address, resource.period) == ('adjustment["S-1-2026-09"]', "2026-09")
    assert resource.attributes == {"units": 0, "effectiveDate": date(2026, 9, 1)}
    # The month's totals are recorded so a revised report can be corrected by the difference (D20).
    assert resource.source == {
        "subscription_id": "S-1",
        "organization_id": "ORG-1",
        "period": "2026-09",
        "total_sales": "0.00",
        "total_cost": "0.00",
    }


def test_when_false_renders_nothing(kinds: dict[str, KindSpec]) -> None:
    text = rule(
        "contract",
        "subscription_months",
        {"contractName": "x"},
        extra='    when: "{{ month.remainder != 0 }}"',
    )
    assert render(kinds, text).resources == {}


def test_d5_record_type_off_renders_nothing_even_with_items(kinds: dict[str, KindSpec]) -> None:
    text = rule("contract", "subscriptions", {"contractName": "x"})
    off = SETTINGS.model_copy(update={"record_types": RecordTypes(csp365=False)})
    assert render(kinds, text, settings=off).resources == {}


# -- errors at render time ----------------------------------------------------------------------------


def test_undefined_attribute_names_file_line_and_subscription(kinds: dict[str, KindSpec]) -> None:
    error = render_error(kinds, rule("contract", "subscriptions", {"contractName": "{{ org.nme }}"}))
    assert str(error).startswith(
        "rules/x.yaml:7 (subscription S-1): undefined value in '{{ org.nme }}': "
        "'engine.source.Organization object' has no attribute 'nme'"
    )
    assert (error.file, error.line, error.record) == (FILE, 7, "subscription S-1")
    assert "Check the variable name" in error.hint


def test_undefined_variable_in_a_month_names_the_period(kinds: dict[str, KindSpec]) -> None:
    error = render_error(kinds, rule("adjustment", "subscription_months", {"units": "{{ mnth.quantity }}"}))
    assert error.message == (
        "rules/x.yaml:7 (subscription S-1, 2026-09): undefined value in '{{ mnth.quantity }}': 'mnth' is undefined"
    )


def test_undefined_variable_in_a_product_rule_names_the_product(kinds: dict[str, KindSpec]) -> None:
    error = render_error(
        kinds, rule("service", "products", {"name": "{{ sub.product_name }}"}, key="{{ product.product_id }}")
    )
    assert (
        error.message
        == "rules/x.yaml:7 (product P-1): undefined value in '{{ sub.product_name }}': 'sub' is undefined"
    )


@pytest.mark.parametrize(
    ("template", "blocked"),
    [
        (
            "{{ sub.__class__.__mro__ }}",
            "access to attribute '__class__' of 'Subscription' object is unsafe.",
        ),
        (
            "{{ settings.__init__.__globals__ }}",
            "access to attribute '__init__' of 'Settings' object is unsafe.",
        ),
        (
            "{{ sub | attr('__dict__') }}",
            "access to attribute '__dict__' of 'Subscription' object is unsafe.",
        ),
        (
            "{{ cycler.__init__.__globals__.os }}",
            "access to attribute '__init__' of 'type' object is unsafe.",
        ),
        (
            "{{ ''.__class__.__base__.__subclasses__() }}",
            "access to attribute '__class__' of 'str' object is unsafe.",
        ),
    ],
)
def test_template_reaching_python_internals_is_a_rule_error(
    kinds: dict[str, KindSpec], template: str, blocked: str
) -> None:
    error = render_error(kinds, rule("contract", "subscriptions", {"contractName": template}))
    assert error.message == f"rules/x.yaml:7 (subscription S-1): {template!r} is not allowed: {blocked}"
    assert error.hint == "Rule templates run in a sandbox and cannot reach Python internals."
    assert "<class" not in str(error)
    assert "function" not in str(error)


def test_templates_cannot_change_the_values_they_are_given(kinds: dict[str, KindSpec]) -> None:
    text = rule("contract", "subscriptions", {"contractName": "{{ settings.vars.update({'x': 1}) }}"})
    error = render_error(kinds, text)
    assert error.message.startswith(
        "rules/x.yaml:7 (subscription S-1): \"{{ settings.vars.update({'x': 1}) }}\" is not allowed"
    )
    assert SETTINGS.vars == {"contract_prefix": ""}  # the defaults, unchanged


def test_unsafe_when_expression_is_a_rule_error(kinds: dict[str, KindSpec]) -> None:
    text = rule("contract", "subscriptions", {"contractName": "x"}, extra='    when: "{{ sub.__class__ }}"')
    error = render_error(kinds, text)
    assert (error.line, error.record) == (6, "subscription S-1")
    assert "is not allowed" in error.reason


def test_non_numeric_decimal_names_address_and_field(kinds: dict[str, KindSpec]) -> None:
    error = render_error(
        kinds, rule("contract_service", "subscriptions", {"unitPrice": "{{ sub.product_name }}"})
    )
    assert error.message == (
        'rules/x.yaml:7 (subscription S-1): contract_service["S-1"].unitPrice: expected a decimal number, '
        "got 'Business Standard' (from '{{ sub.product_name }}')"
    )


def test_non_whole_number_for_an_int_field_names_address_and_field(kinds: dict[str, KindSpec]) -> None:
    error = render_error(
        kinds, rule("contract", "subscriptions", {"companyID": "{{ product.unit_sales_price }}"})
    )
    assert error.message == (
        "rules/x.yaml:7 (subscription S-1): contract[\"S-1\"].companyID: expected a whole number, got '12.5' "
        "(from '{{ product.unit_sales_price }}')"
    )


def test_money_never_passes_through_float(kinds: dict[str, KindSpec]) -> None:
    text = rule("adjustment", "subscription_months", {"unitPrice": "{{ month.total_sales * 1.1 }}"})
    error = render_error(kinds, text)
    assert error.message == (
        "rules/x.yaml:7 (subscription S-1, 2026-09): cannot render '{{ month.total_sales * 1.1 }}': "
        "TypeError: unsupported operand type(s) for *: 'decimal.Decimal' and 'float'"
    )


def test_unknown_managed_field_lists_the_fields(kinds: dict[str, KindSpec]) -> None:
    error = render_error(kinds, rule("contract", "subscriptions", {"contractNam": "x"}))
    assert error.message == (
        "rules/x.yaml:7: contract has no managed field 'contractNam' (fields: companyID, contractName, "
        "contractPeriodType, contractType, description, endDate, serviceLevelAgreementID, startDate, status)"
    )


@pytest.mark.parametrize("key", ["", '{{ sub.product_name }}\\"', "a[b]"])
def test_key_must_be_non_empty_without_quotes_or_brackets(kinds: dict[str, KindSpec], key: str) -> None:
    error = render_error(kinds, rule("contract", "subscriptions", {"contractName": "x"}, key=key))
    assert (error.file, error.line, error.record) == (FILE, 5, "subscription S-1")
    assert error.reason.endswith("a key must be non-empty without quotes or brackets")


def test_reference_must_name_the_right_kind(kinds: dict[str, KindSpec]) -> None:
    extra = "    refs:\n      contractID: 'service[\"x\"]'"
    error = render_error(
        kinds, rule("contract_service", "subscriptions", {"invoiceDescription": "x"}, extra=extra)
    )
    assert error.message == (
        "rules/x.yaml:7 (subscription S-1): reference contractID must name a contract address, got 'service[\"x\"]'"
    )


def test_unknown_reference_field(kinds: dict[str, KindSpec]) -> None:
    extra = "    refs:\n      contract: 'contract[\"x\"]'"
    error = render_error(
        kinds, rule("contract_service", "subscriptions", {"invoiceDescription": "x"}, extra=extra)
    )
    assert error.message == (
        "rules/x.yaml:7: contract_service has no reference field 'contract' (references: contractID, serviceID)"
    )


def test_duplicate_address_with_different_values_is_an_error(kinds: dict[str, KindSpec]) -> None:
    first = rule("service", "subscriptions", {"name": "{{ sub.product_name }}"}, key="shared")
    second = rule("service", "products", {"name": "Other"}, key="shared")
    error = render_error(kinds, first, second)
    assert error.message == (
        'rules/r1.yaml:3 (product P-1): service["shared"] is rendered twice with different values '
        "(first by rules/x.yaml:3)"
    )
    assert "unique" in error.hint


def test_shared_object_rendered_identically_twice_is_one_resource(kinds: dict[str, KindSpec]) -> None:
    first = rule("service", "subscriptions", {"name": "{{ sub.product_name }}"}, key="shared")
    second = rule("service", "products", {"name": "{{ product.product_name }}"}, key="shared")
    desired = render(kinds, first, second)
    assert list(desired.resources) == ['service["shared"]']
    assert desired.resources['service["shared"]'].rule == "rules/x.yaml:3"


# -- the shipped rules over the example bundle --------------------------------------------------------


def sid(number: int) -> str:
    return f"6f1c2d3e-0a1b-4c5d-8e9f-{number:012d}"


@pytest.fixture(scope="module")
def october_desired(
    october: SourceData, settings: Settings, shipped_rules: list[RuleFile], kinds: dict[str, KindSpec]
) -> DesiredState:
    render_input = build_render_input(october, settings, due_reports(october.reports, date(2026, 10, 7), {}))
    return render_desired(shipped_rules, render_input, settings, kinds)


def test_consuming_render_gives_the_same_desired_state_and_lets_go_of_the_loop_items(
    october: SourceData,
    settings: Settings,
    shipped_rules: list[RuleFile],
    kinds: dict[str, KindSpec],
    october_desired: DesiredState,
) -> None:
    render_input = build_render_input(october, settings, due_reports(october.reports, date(2026, 10, 7), {}))
    looped = {(t, r.for_each) for f in shipped_rules for t in f.record_types for r in f.resources}
    assert any(render_input.items.get(t, {}).get(name) for t, name in looped)
    desired = render_desired(shipped_rules, render_input, settings, kinds, consume=True)
    assert list(desired.resources.items()) == list(october_desired.resources.items())
    assert not [(t, name) for t, name in looped if name in render_input.items.get(t, {})]


def test_example_desired_state_counts(october_desired: DesiredState) -> None:
    counts: dict[str, int] = {}
    for resource in october_desired.resources.values():
        counts[resource.kind] = counts.get(resource.kind, 0) + 1
    assert counts == {
        "service": 12,
        "contract": 17,
        "contract_service": 13,
        "adjustment": 13,
        "charge": 5,
        "product": 3,
    }
    assert sorted(a for a in october_desired.resources if a.startswith("product")) == [
        'product["azure-classic"]',
        'product["azure-plan"]',
        'product["marketplace"]',
    ]


def test_d14_example_rounding_charge_for_an_amount_that_does_not_divide(
    october_desired: DesiredState,
) -> None:
    adjustment = october_desired.resources[f'adjustment["{sid(8)}"]["2026-09"]']
    assert adjustment.attributes == {
        "effectiveDate": date(2026, 9, 1),
        "units": 300,
        "unitPrice": Decimal("3.3333"),
        "unitCost": Decimal("2.8333"),
    }
    assert adjustment.refs == {
        "contractID": f'contract["{sid(8)}"]',
        "serviceID": 'service["csp365:CFQ7TTC0LHSF:0001"]',
        "contractServiceID": f'contract_service["{sid(8)}"]',
    }
    charge = october_desired.resources[f'charge["{sid(8)}"]["2026-09"]["rounding"]']
    assert charge.attributes["unitPrice"] == Decimal("0.01")
    assert charge.attributes["unitCost"] == Decimal("0.01")
    assert charge.attributes["unitQuantity"] == Decimal(1)
    assert charge.rule.startswith("rules/csp365.yaml:")
    # Only …08 needs a rounding line in 2026-09.
    assert [a for a in october_desired.resources if a.endswith('["rounding"]')] == [
        f'charge["{sid(8)}"]["2026-09"]["rounding"]'
    ]


def test_d8_d13_example_contract_and_month_of_a_mid_month_increase(october_desired: DesiredState) -> None:
    contract = october_desired.resources[f'contract["{sid(2)}"]']
    assert (contract.attributes["startDate"], contract.attributes["endDate"]) == (
        date(2026, 9, 1),
        date(2027, 9, 30),
    )
    adjustment = october_desired.resources[f'adjustment["{sid(1)}"]["2026-09"]']
    assert (adjustment.attributes["units"], adjustment.attributes["unitPrice"]) == (15, Decimal("10.4167"))


def test_d13_d16_example_azure_contract_is_ongoing_and_month_is_one_charge(
    october_desired: DesiredState,
) -> None:
    contract = october_desired.resources[f'contract["{sid(11)}"]']
    assert (contract.attributes["startDate"], contract.attributes["endDate"]) == (
        date(2024, 4, 1),
        date(2034, 12, 31),
    )
    charge = october_desired.resources[f'charge["{sid(11)}"]["2026-09"]']
    assert charge.attributes == {
        "name": "Azure Plan 2026-09",
        "description": f"Azure Plan usage 2026-09 ({sid(11)})",
        "datePurchased": date(2026, 9, 1),
        "unitQuantity": Decimal("1"),
        "unitPrice": Decimal("607.28"),
        "unitCost": Decimal("528.07"),
    }
    assert charge.refs == {"contractID": f'contract["{sid(11)}"]', "productID": 'product["azure-plan"]'}


def test_d20_example_revised_report_renders_a_correction_charge(
    november: SourceData, settings: Settings, shipped_rules: list[RuleFile], kinds: dict[str, KindSpec]
) -> None:
    # 2026-09 was applied from the original report (…07 billed 150.00 / 127.50); the revision credits 2 seats.
    due = due_reports(november.reports, date(2026, 11, 7), {"2026-09": "2026-10-06"})
    recorded = {(sid(7), "2026-09"): (Decimal("150.00"), Decimal("127.50"))}
    render_input = build_render_input(november, settings, due, recorded=recorded)
    desired = render_desired(shipped_rules, render_input, settings, kinds)
    correction = desired.resources[f'charge["{sid(7)}"]["2026-09"]["correction-2026-10-20"]']
    assert correction.attributes["unitPrice"] == Decimal("-25.00")
    assert correction.attributes["unitCost"] == Decimal("-21.25")
    assert correction.attributes["unitQuantity"] == Decimal(1)
    assert correction.attributes["datePurchased"] == date(2026, 9, 1)
    assert correction.period == "2026-09"
    assert correction.source["correction"] == "2026-10-20"
    # The applied month itself is not rendered again; October is a normal month.
    assert f'adjustment["{sid(7)}"]["2026-09"]' not in desired.resources
    assert desired.resources[f'adjustment["{sid(7)}"]["2026-10"]'].attributes["units"] == 10


def test_a_resource_rendered_as_recorded_holds_the_recorded_dicts_and_one_written_otherwise_its_own(
    kinds: dict[str, KindSpec],
) -> None:
    text = rule("service", "products", {"unitPrice": "{{ product.unit_sales_price }}", "unitCost": "{{ product.unit_cost_price }}"}, key="csp365:{{ product.product_id }}")  # fmt: skip
    files = [parse_rule_file(load_yaml_text(text, FILE), FILE, set(kinds))]
    (fresh,) = render(kinds, text).resources.values()
    same = Entry("service", 7, dict(fresh.attributes), source=dict(fresh.source))
    as_recorded = render_desired(files, ITEMS, SETTINGS, kinds, recorded={fresh.address: same})
    (resource,) = as_recorded.resources.values()
    assert resource == fresh
    assert resource.attributes is same.attributes and resource.source is same.source
    # 12.50 is the same amount as 12.5000 but not the same text: the rendered value stays
    written = Entry("service", 7, {**fresh.attributes, "unitPrice": Decimal("12.50")}, source={})
    (resource,) = render_desired(
        files, ITEMS, SETTINGS, kinds, recorded={fresh.address: written}
    ).resources.values()
    assert (
        resource.attributes is not written.attributes and str(resource.attributes["unitPrice"]) == "12.5000"
    )
    assert resource.source == fresh.source and resource.source is not written.source
