"""Money: D22 precision and explicit rounding, and the D14 promise that a month bills its report total
to the cent, as a property over generated billing lines."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hypothesis_examples import examples

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env


def _places(value: Decimal | int) -> int:
    """How many decimals an amount carries."""
    exponent = Decimal(value).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


# -- D22 ----------------------------------------------------------------------------------------------


def test_d22_unit_prices_keep_four_decimals_half_up_and_totals_two(env: Env, bundle: BundleWriter) -> None:
    bundle.price("P-1", "Microsoft 365 Business Basic", "5.1000", "6.0000")
    bundle.org("ORG-A", "Contoso Ltd", 101)
    for sub, quantity in (("S-HALF", 32), ("S-THIRDS", 3), ("S-UP", 700)):
        bundle.sub(sub, "ORG-A", "P-1", "Microsoft 365 Business Basic", quantity=quantity)
    bundle.line("2026-09", "2026-10-06", "S-HALF", 32, "1.00", "0.85")  # 0.03125 -> 0.0313 (half up)
    bundle.line("2026-09", "2026-10-06", "S-THIRDS", 3, "10.00", "8.50")  # 3.3333: 9.9999 bills 10.00
    bundle.line("2026-09", "2026-10-06", "S-UP", 700, "1000.00", "850.00")  # 1.4286: 1000.02, 0.02 too much
    env.configure(bundle.write("precision"))

    plan = env.plan("2026-10-07")
    adjustments = {c["address"]: c["after"] for c in plan.changes("create", "adjustment")}
    assert adjustments['adjustment["S-HALF"]["2026-09"]'] == {
        "effectiveDate": "2026-09-01",
        "units": 32,
        "unitPrice": "0.0313",
        "unitCost": "0.0266",
    }
    assert adjustments['adjustment["S-UP"]["2026-09"]']["unitPrice"] == "1.4286"
    assert plan.addresses(kind="charge") == ['charge["S-UP"]["2026-09"]["rounding"]']
    assert plan.change('charge["S-UP"]["2026-09"]["rounding"]')["after"]["unitPrice"] == "-0.0200"
    env.apply("2026-10-07")

    expected = {
        "S-HALF": (Decimal("0.0313"), Decimal("0.0266"), []),
        "S-THIRDS": (Decimal("3.3333"), Decimal("2.8333"), []),
        "S-UP": (Decimal("1.4286"), Decimal("1.2143"), [(Decimal("-0.02"), Decimal("-0.01"))]),
    }
    for sub, (price, cost, charges) in expected.items():
        contract = env.api.contract(sub)["id"]
        [row] = env.api.units(contract, "2026-09")
        assert (row["price"], row["cost"]) == (price, cost)
        found = env.api.charges(contract)
        assert [(c["billableAmount"], c["extendedCost"]) for c in found] == charges
        assert all(_places(c[f]) <= 2 for c in found for f in ("billableAmount", "extendedCost"))
    totals = {sub: env.api.billed(env.api.contract(sub)["id"], "2026-09") for sub in expected}
    assert totals == {"S-HALF": Decimal("1.00"), "S-THIRDS": Decimal("10.00"), "S-UP": Decimal("1000.00")}


# -- D14 and D22 as a property ------------------------------------------------------------------------

_AMOUNTS = st.decimals(min_value=Decimal("-200"), max_value=Decimal("20000"), places=2, allow_nan=False)
_LINES = st.lists(
    st.tuples(st.integers(min_value=0, max_value=2000), _AMOUNTS, _AMOUNTS), min_size=1, max_size=3
)


@pytest.mark.slow  # a property test: each example plans and applies a generated month
@settings(
    max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=_LINES)
def test_d14_d22_a_month_bills_its_report_total_to_the_cent(
    env_factory: Callable[[Path, bool], Env],
    bundle_factory: Callable[[Path], BundleWriter],
    lines: list[tuple[int, Decimal, Decimal]],
) -> None:
    """One CSP subscription, up to three lines in a month: Autotask bills exactly the report's total sales."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bundle = bundle_factory(root / "bundles")
        bundle.price("P-1", "Microsoft 365 E3", "30.6000", "36.0000")
        bundle.org("ORG-A", "Contoso Ltd", 101)
        bundle.sub("S-1", "ORG-A", "P-1", "Microsoft 365 E3", quantity=max(q for q, _s, _c in lines))
        for quantity, sales, cost in lines:
            bundle.line("2026-09", "2026-10-06", "S-1", quantity, str(sales), str(cost))
        env = env_factory(root / "ws", False)  # the embedded sandbox, new for every example
        try:
            env.configure(bundle.write("generated"))
            env.apply("2026-10-07")
            contract = env.api.contract("S-1")["id"]
            billed = env.api.billed(contract, "2026-09")
            [row] = env.api.units(contract, "2026-09")
        finally:
            env.close()
    assert billed == sum((s for _q, s, _c in lines), Decimal("0.00"))
    assert row["units"] == max(q for q, _s, _c in lines)
    assert _places(row["price"]) <= 4


_CHARGED = st.sampled_from([("Azure", "Azure Plan"), ("Marketplace", "Nerdio Manager for Enterprise")])


@pytest.mark.slow  # a property test: each example plans and applies a generated month
@settings(
    max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=_LINES, kind=_CHARGED)
def test_d16_d22_a_charged_month_bills_its_report_total_to_the_cent(
    env_factory: Callable[[Path, bool], Env],
    bundle_factory: Callable[[Path], BundleWriter],
    lines: list[tuple[int, Decimal, Decimal]],
    kind: tuple[str, str],
) -> None:
    """One Azure or Marketplace subscription: its month's charges bill exactly the report's total sales."""
    record_type, product = kind
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        bundle = bundle_factory(root / "bundles")
        bundle.org("ORG-A", "Contoso Ltd", 101)
        bundle.sub("S-1", "ORG-A", "X-1", product, record_type=record_type, end="")
        for quantity, sales, cost in lines:
            bundle.line("2026-09", "2026-10-06", "S-1", quantity, str(sales), str(cost))
        env = env_factory(root / "ws", False)
        try:
            env.configure(bundle.write("generated"))
            env.apply("2026-10-07")
            contract = env.api.contract("S-1")["id"]
            billed = env.api.billed(contract, "2026-09")
            charges = env.api.charges(contract)
        finally:
            env.close()
    assert billed == sum((s for _q, s, _c in lines), Decimal("0.00"))
    assert [c["unitQuantity"] for c in charges if c["productID"] is not None] == [
        max(q for q, _s, _c in lines)
    ]
