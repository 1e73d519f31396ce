"""Billing arithmetic: month aggregation, contract dates and the rounding rule.

Pure functions over the source model, each one a business rule of DOMAIN.md:
- D8: per subscription and month, totals are sums and the quantity is the highest of the month;
- D13: contracts start on the first of the start month and end on the last day of the end month;
- D14/D22: a unit price keeps 4 decimals, a billed amount 2 (half-up); what per-unit division cannot
  make exact is the *remainder*, billed as the rules say, so the month bills its total to the cent.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from engine.source import BillingLine

UNIT_PLACES = 4
"""Autotask keeps 4 decimals on unit prices and costs (D22)."""
TOTAL_PLACES = 2
"""Totals and billed amounts are kept to the cent (D22)."""

_UNIT = Decimal("0.0001")
_CENT = Decimal("0.01")
ZERO = Decimal("0")


def round_unit(value: Decimal) -> Decimal:
    """Round a per-unit amount to 4 decimals, half-up."""
    return value.quantize(_UNIT, rounding=ROUND_HALF_UP)


def round_total(value: Decimal) -> Decimal:
    """Round a total to the cent, half-up."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def billed_amount(units: int, unit_price: Decimal) -> Decimal:
    """What Autotask bills for ``units`` at ``unit_price``: the product rounded to the cent."""
    return round_total(Decimal(units) * unit_price)


def month_start(period: str) -> date:
    year, month = (int(p) for p in period.split("-"))
    return date(year, month, 1)


def month_end(period: str) -> date:
    start = month_start(period)
    return date(start.year, start.month, calendar.monthrange(start.year, start.month)[1])


def period_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_of_month(day: date) -> date:
    """D13: a contract starts on the first day of its subscription's start month."""
    return day.replace(day=1)


def last_of_month(day: date) -> date:
    """D13: a contract ends on the last day of its subscription's end month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def contract_end(start: date, end: date | None, ongoing_years: int, as_of: date | None = None) -> date:
    """D13: the end month's last day, or for an ongoing subscription 31 December ``ongoing_years`` on.

    An ongoing contract that would already have ended by ``as_of`` rolls on by ``ongoing_years`` at a
    time (an Azure plan from 2015 still bills in 2026), as a renewal would extend it.
    """
    if end is None:
        year = start.year + ongoing_years
        while as_of is not None and date(year, 12, 31) < as_of:
            year += ongoing_years
        return date(year, 12, 31)
    return last_of_month(end)


@dataclass(frozen=True)
class MonthBill:
    """One subscription's month, ready for an adjustment or a charge (D8, D14)."""

    period: str
    quantity: int
    total_cost: Decimal
    total_sales: Decimal
    unit_price: Decimal
    unit_cost: Decimal
    remainder: Decimal
    """total_sales − billed(quantity × unit_price): the cents per-unit pricing cannot carry."""
    cost_remainder: Decimal
    lines: int

    @property
    def start(self) -> date:
        return month_start(self.period)

    @property
    def end(self) -> date:
        return month_end(self.period)

    @property
    def billed(self) -> Decimal:
        """What the adjustment alone bills: quantity × unit price, to the cent."""
        return billed_amount(self.quantity, self.unit_price)


def bill_month(period: str, lines: Iterable[BillingLine]) -> MonthBill:
    """Aggregate one subscription's billing lines for one month (D8) and price it per unit (D14).

    With no lines the month bills nothing: quantity 0 and zero amounts (D14, a one-time purchase is
    never billed again). With quantity 0 but a non-zero total (a credit line), the whole total is the
    remainder, since no unit can carry it.
    """
    quantity = 0
    total_cost = ZERO
    total_sales = ZERO
    count = 0
    for line in lines:
        quantity = max(quantity, line.quantity)
        total_cost += line.total_cost
        total_sales += line.total_sales
        count += 1
    total_cost = round_total(total_cost)
    total_sales = round_total(total_sales)
    if quantity:
        unit_price = round_unit(total_sales / quantity)
        unit_cost = round_unit(total_cost / quantity)
    else:
        unit_price = unit_cost = ZERO
    remainder = total_sales - billed_amount(quantity, unit_price)
    cost_remainder = total_cost - billed_amount(quantity, unit_cost)
    return MonthBill(
        period=period,
        quantity=quantity,
        total_cost=total_cost,
        total_sales=total_sales,
        unit_price=unit_price,
        unit_cost=unit_cost,
        remainder=remainder,
        cost_remainder=cost_remainder,
        lines=count,
    )
