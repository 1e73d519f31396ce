"""Billing arithmetic: month aggregation (D8), contract dates (D13) and the rounding rule (D14, D22)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.billing import (
    MonthBill,
    bill_month,
    billed_amount,
    contract_end,
    first_of_month,
    last_of_month,
    month_end,
    month_start,
    period_of,
    round_total,
    round_unit,
)
from engine.source import BillingLine


def line(quantity: int, total_sales: str, total_cost: str = "0.00", day: int = 1) -> BillingLine:
    return BillingLine(
        billing_date=date(2026, 9, day),
        service_name="Microsoft CSP 365",
        organization_id="ORG-1",
        product_name="Microsoft 365 Business Standard",
        product_id="P-1",
        quantity=quantity,
        unit_cost_price=Decimal("0"),
        unit_sales_price=Decimal("0"),
        total_cost=Decimal(total_cost),
        total_sales=Decimal(total_sales),
        currency="USD",
        subscription_id="S-1",
        record_type="CSP365",
    )


def exact(value: Decimal) -> str:
    """A Decimal with its scale, so ``Decimal('0.01')`` and ``Decimal('0.010')`` differ."""
    assert isinstance(value, Decimal)
    return str(value)


# -- D8: aggregation ----------------------------------------------------------------------------------


def test_d8_totals_are_sums_and_quantity_is_the_highest_of_the_month() -> None:
    # The example's mid-month increase: 10 seats then 15 seats in 2026-09.
    bill = bill_month("2026-09", [line(10, "62.50", "53.13"), line(15, "93.75", "79.69", day=16)])
    assert bill.quantity == 15
    assert exact(bill.total_sales) == "156.25"
    assert exact(bill.total_cost) == "132.82"
    assert bill.lines == 2


def test_d8_highest_quantity_is_not_the_last_line_nor_the_sum() -> None:
    bill = bill_month("2026-09", [line(12, "150.00"), line(2, "-25.00", day=3), line(7, "10.00", day=20)])
    assert bill.quantity == 12
    assert exact(bill.total_sales) == "135.00"
    assert bill.lines == 3


@given(st.lists(st.tuples(st.integers(0, 5000), st.decimals(-10000, 10000, places=2)), max_size=8))
def test_d8_property_sum_and_max_of_any_lines(rows: list[tuple[int, Decimal]]) -> None:
    bill = bill_month("2026-09", [line(q, str(total)) for q, total in rows])
    assert bill.quantity == max((q for q, _ in rows), default=0)
    assert bill.total_sales == sum((t for _, t in rows), Decimal(0))
    assert bill.lines == len(rows)


# -- D13: month boundaries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [
        (date(2026, 9, 15), date(2026, 9, 1), date(2026, 9, 30)),
        (date(2027, 9, 14), date(2027, 9, 1), date(2027, 9, 30)),
        (date(2026, 12, 5), date(2026, 12, 1), date(2026, 12, 31)),
        (date(2026, 1, 31), date(2026, 1, 1), date(2026, 1, 31)),
        (date(2028, 2, 3), date(2028, 2, 1), date(2028, 2, 29)),  # leap year
        (date(2027, 2, 28), date(2027, 2, 1), date(2027, 2, 28)),
        (date(2000, 2, 10), date(2000, 2, 1), date(2000, 2, 29)),  # divisible by 400: leap
        (date(2100, 2, 10), date(2100, 2, 1), date(2100, 2, 28)),  # divisible by 100: not leap
    ],
)
def test_d13_first_and_last_day_of_month(day: date, first: date, last: date) -> None:
    assert first_of_month(day) == first
    assert last_of_month(day) == last


def test_d13_contract_ends_on_last_day_of_end_month() -> None:
    assert contract_end(date(2025, 9, 15), date(2027, 9, 14), 10) == date(2027, 9, 30)
    assert contract_end(date(2026, 3, 1), date(2028, 2, 1), 10) == date(2028, 2, 29)


def test_d13_ongoing_subscription_ends_31_december_ten_years_after_start_year() -> None:
    assert contract_end(date(2024, 4, 1), None, 10) == date(2034, 12, 31)
    assert contract_end(date(2019, 6, 30), None, 10) == date(2029, 12, 31)
    assert contract_end(date(2026, 1, 1), None, 3) == date(2029, 12, 31)


def test_month_helpers() -> None:
    assert month_start("2026-09") == date(2026, 9, 1)
    assert month_end("2026-09") == date(2026, 9, 30)
    assert month_end("2028-02") == date(2028, 2, 29)
    assert month_end("2026-12") == date(2026, 12, 31)
    assert period_of(date(2026, 1, 31)) == "2026-01"
    bill = bill_month("2028-02", [])
    assert (bill.start, bill.end) == (date(2028, 2, 1), date(2028, 2, 29))


# -- D14/D22: rounding --------------------------------------------------------------------------------


def test_d22_unit_price_rounds_to_four_places_half_up() -> None:
    assert exact(round_unit(Decimal("0.00125"))) == "0.0013"  # half-even would give 0.0012
    assert exact(round_unit(Decimal("3.33333"))) == "3.3333"
    assert exact(round_unit(Decimal("-0.00125"))) == "-0.0013"
    assert exact(round_unit(Decimal("7"))) == "7.0000"


def test_d22_totals_round_to_the_cent_half_up() -> None:
    assert exact(round_total(Decimal("0.025"))) == "0.03"  # half-even would give 0.02
    assert exact(round_total(Decimal("-0.025"))) == "-0.03"
    assert exact(round_total(Decimal("156.2505"))) == "156.25"


def test_d22_billed_amount_is_units_times_price_to_the_cent() -> None:
    assert exact(billed_amount(300, Decimal("3.3333"))) == "999.99"
    assert exact(billed_amount(1, Decimal("0.0250"))) == "0.03"
    assert exact(billed_amount(15, Decimal("10.4167"))) == "156.25"
    assert exact(billed_amount(0, Decimal("3.3333"))) == "0.00"


def test_d14_amount_that_does_not_divide_evenly_leaves_a_remainder() -> None:
    bill = bill_month("2026-09", [line(300, "1000.00", "850.00")])
    assert bill == MonthBill(
        period="2026-09",
        quantity=300,
        total_cost=Decimal("850.00"),
        total_sales=Decimal("1000.00"),
        unit_price=Decimal("3.3333"),
        unit_cost=Decimal("2.8333"),
        remainder=Decimal("0.01"),
        cost_remainder=Decimal("0.01"),
        lines=1,
    )
    assert exact(bill.unit_price) == "3.3333"
    assert exact(bill.billed) == "999.99"
    assert exact(bill.remainder) == "0.01"
    assert bill.billed + bill.remainder == bill.total_sales


def test_d14_even_division_has_no_remainder() -> None:
    bill = bill_month("2026-09", [line(10, "62.50", "53.13"), line(15, "93.75", "79.69", day=16)])
    assert exact(bill.unit_price) == "10.4167"
    assert exact(bill.unit_cost) == "8.8547"
    assert exact(bill.billed) == "156.25"
    assert bill.remainder == 0
    assert bill.cost_remainder == 0


def test_d14_negative_remainder_when_the_unit_price_rounds_up() -> None:
    # 142.86 / 1000 = 0.14286 → 0.1429 (half-up); 1000 × 0.1429 = 142.90, so the remainder is −0.04.
    bill = bill_month("2026-09", [line(1000, "142.86")])
    assert exact(bill.unit_price) == "0.1429"
    assert exact(bill.billed) == "142.90"
    assert exact(bill.remainder) == "-0.04"


def test_d14_quantity_zero_with_a_credit_total_makes_the_whole_total_the_remainder() -> None:
    bill = bill_month("2026-09", [line(0, "-25.00", "-21.25")])
    assert bill.quantity == 0
    assert bill.unit_price == 0
    assert exact(bill.billed) == "0.00"
    assert exact(bill.remainder) == "-25.00"
    assert exact(bill.cost_remainder) == "-21.25"


def test_d14_no_lines_bills_nothing_with_quantity_zero() -> None:
    bill = bill_month("2026-10", [])
    assert (bill.period, bill.quantity, bill.lines) == ("2026-10", 0, 0)
    assert bill.total_sales == 0
    assert bill.total_cost == 0
    assert bill.unit_price == 0
    assert bill.remainder == 0
    assert bill.cost_remainder == 0
    assert exact(bill.billed) == "0.00"


@given(
    quantity=st.integers(min_value=0, max_value=100_000),
    total=st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
)
def test_d14_property_billed_plus_remainder_is_the_total_to_the_cent(quantity: int, total: Decimal) -> None:
    bill = bill_month("2026-09", [line(quantity, str(total))])
    assert billed_amount(quantity, bill.unit_price) + bill.remainder == total
    # Each piece keeps Autotask's precision (D22): 4 places on the unit price, 2 on amounts.
    assert bill.unit_price == round_unit(bill.unit_price)
    assert bill.remainder == round_total(bill.remainder)
    if quantity == 0:
        assert bill.remainder == total
    else:
        # Per-unit rounding moves each unit by at most half a unit place, plus half a cent overall.
        assert abs(bill.remainder) <= quantity * Decimal("0.00005") + Decimal("0.005")
