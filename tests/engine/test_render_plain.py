"""Rendering without a Jinja context for plain rule values must give exactly what Jinja gives.

Most rule values are look-ups like ``{{ sub.product_name }}``, comparisons or ``x if t else y``;
billsync evaluates those itself (through the sandbox's own ``getattr``) because a Jinja context per
value dominates rendering at 100,000 records. Jinja rendering the same text is the oracle here:
values, ``None`` and booleans, dict look-ups, refused attributes and errors must not differ.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from engine.context import RenderInput
from engine.errors import RuleError
from engine.render import render_desired
from engine.resources import KindSpec, coerce
from engine.rules import make_environment, parse_rule_file
from engine.settings import Settings
from engine.source import Organization, PriceListItem, Subscription

SETTINGS = Settings(
    currency="USD",
    sla_id=1,
    service_billing_code_id=2001,
    product_billing_code_id=2002,
    vars={"contract_prefix": "MSP-"},
)
SUB = Subscription(
    subscription_id="S-1",
    organization_id="ORG-1",
    record_type="CSP365",
    product_id="P-1",
    product_name="Business Standard",
    quantity=3,
    start_date=date(2026, 1, 15),
)
ORG = Organization(organization_id="ORG-1", name="Contoso", currency="USD", autotask_company_id=None)
PRODUCT = PriceListItem(
    product_id="P-1",
    product_name="Business Standard",
    unit_cost_price=Decimal("10.625"),
    unit_sales_price=Decimal("12.50"),
    currency="USD",
)

PLAIN = [
    "{{ sub.subscription_id }}",
    "Cloudmore {{ sub.quantity }} x {{ product.unit_sales_price }} from {{ contract_start }}",
    "{{ vars.contract_prefix }}{{ org.name }} - {{ sub.product_name }}",
    "{{ product.unit_sales_price if product else 0 }}",
    "{{ settings.rounding == 'charge' and sub.quantity != 0 }}",
    "{{ settings.rounding != 'charge' and sub.quantity != 0 }}",
    "{{ 0 < sub.quantity <= 3 }}",
    "{{ 3 < sub.quantity <= 5 }}",
    "{{ not org.autotask_company_id }}",
    "{{ org.autotask_company_id or 'unlinked' }}",
    "{{ sub.end_date }}",
    "{{ sub.start_date.year }}",
    "{{ true }} {{ none }} {{ 7 }}",
    "{{ settings.record_types }}",
]
"""Values billsync renders without Jinja (the last falls back to it: not a plain value)."""

JINJA_ONLY = ["{{ org.name | upper }}", "{{ sub.subscription_id[:2] }}", "{% if product %}x{% endif %}"]


def _render(text: str, product: PriceListItem | None, kinds: dict[str, KindSpec]) -> str:
    data = {
        "record_types": ["CSP365"],
        "resources": [
            {
                "kind": "contract",
                "for_each": "subscriptions",
                "key": "{{ sub.subscription_id }}",
                "attributes": {"description": text},
            }
        ],
    }
    rules = [parse_rule_file(data, "rules/plain.yaml", set(kinds))]
    item: dict[str, Any] = {"sub": SUB, "org": ORG, "product": product, "contract_start": date(2026, 1, 1)}
    items = RenderInput(periods=["2026-09"], items={"CSP365": {"subscriptions": [item]}})
    desired = render_desired(rules, items, SETTINGS, kinds)
    value = desired.resources['contract["S-1"]'].attributes["description"]
    assert isinstance(value, str)
    return value


def _jinja(text: str, product: PriceListItem | None) -> str:
    context = {
        "settings": SETTINGS,
        "vars": SETTINGS.vars,
        "periods": ["2026-09"],
        "sub": SUB,
        "org": ORG,
        "product": product,
        "contract_start": date(2026, 1, 1),
    }
    rendered = coerce(make_environment().from_string(text).render(context), "str")
    assert isinstance(rendered, str)
    return rendered


CASES = [
    pytest.param(text, product, id=f"{text}-{'with' if product else 'without'}-product")
    for text in PLAIN + JINJA_ONLY
    for product in (PRODUCT, None)
    if product is not None or "product.unit_sales_price }}" not in text  # an error without one (below)
]


@pytest.mark.parametrize(("text", "product"), CASES)
def test_a_value_renders_as_jinja_renders_it(
    text: str, product: PriceListItem | None, kinds: dict[str, KindSpec]
) -> None:
    assert _render(text, product, kinds) == _jinja(text, product)


def test_plain_values_are_compiled_for_rendering_without_jinja_and_the_rest_are_not(
    kinds: dict[str, KindSpec],
) -> None:
    env = make_environment()
    for text, plain in [(t, True) for t in PLAIN] + [(t, False) for t in JINJA_ONLY]:
        data = {
            "record_types": ["CSP365"],
            "resources": [
                {
                    "kind": "contract",
                    "for_each": "subscriptions",
                    "key": "k",
                    "attributes": {"description": text},
                }
            ],
        }
        expr = (
            parse_rule_file(data, "rules/plain.yaml", set(kinds), env).resources[0].attributes["description"]
        )
        assert (expr.parts is not None) is plain, text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ sub.no_such_field }}", "undefined value in '{{ sub.no_such_field }}'"),
        ("{{ no_such_name }}", "undefined value in '{{ no_such_name }}'"),
        ("{{ sub.__class__ }}", "'{{ sub.__class__ }}' is not allowed"),
        ("{{ sub._private }}", "undefined value in '{{ sub._private }}'"),
        ("{{ sub.quantity > 'a' }}", """cannot render "{{ sub.quantity > 'a' }}": TypeError"""),
        ("{{ product.unit_sales_price }}", "undefined value in '{{ product.unit_sales_price }}'"),
    ],
)
def test_a_failing_value_fails_as_with_jinja(text: str, message: str, kinds: dict[str, KindSpec]) -> None:
    with pytest.raises(RuleError) as caught:
        _render(text, None, kinds)
    assert message in str(caught.value)
    assert "rules/plain.yaml" in str(caught.value) and "subscription S-1" in str(caught.value)
