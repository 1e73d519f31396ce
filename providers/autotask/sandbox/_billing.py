"""Billing conventions the sandbox follows, in one place (AUTOTASK.md Part 1; verify on a real tenant).

ContractServiceUnits (derived in :mod:`._units`):

- Every contract service has one row per billing period of its contract, as Autotask writes them
  (API-FACTS A9.4, A10): periods follow the contract's ``contractPeriodType`` (Monthly, Quarterly,
  Semi-Annually, Yearly = 1, 3, 6, 12 months; none set counts as Monthly) and are anchored on the
  contract's ``startDate``: a contract starting 15 January has monthly periods 15 Jan–14 Feb,
  15 Feb–14 Mar, … A start on the 31st keeps to the last day of shorter months. The last period is
  cut at the contract's ``endDate``.
- A new contract service starts at 0 units, with ``price``/``cost`` equal to the contract service's
  ``unitPrice``/``unitCost`` (taken from the Service when the create omits them). REST has no
  ``adjustedPrice`` on contract services (A9.2): prices change only by adjustments.
- A ContractServiceAdjustment effective on date D (within the contract's dates) adds ``unitChange``
  to ``units`` in every row from D on, and when ``adjustedUnitPrice``/``adjustedUnitCost`` are given
  sets ``price``/``cost`` from D on. A row whose period contains D (and does not start on D) is split
  at D. Several adjustments on one date stack in creation order (units add up, the last price wins).
  An adjustment that would leave fewer than zero units on any date is refused.
- ``price`` and ``cost`` are per unit; what Autotask bills for a row is ``units × price``. Whether
  Autotask's ``price`` is per unit or extended is unpublished (A9.4); billsync reads it per unit,
  and this sandbox agrees (FIDELITY.md).
- Row ids are ``contractServiceID × 100000 + days from the contract start to the row start``: stable
  across queries while the data is unchanged, and ordered like the rows.

ContractCharges:

- A charge bills ``unitQuantity × unitPrice`` on ``datePurchased``. ``billableAmount`` is that product
  and ``extendedCost`` is ``unitQuantity × unitCost``, each rounded half up to 2 decimals.
- A missing ``unitPrice``/``unitCost`` is taken from the charge's product.

Money: unit prices, costs and quantities keep 4 decimals (more are rounded half up on the way in).
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ._errors import ApiError
from ._values import Value

ROW_ID_FACTOR = 100_000
"""Unit row ids are ``contractServiceID * ROW_ID_FACTOR + day offset``."""

MAX_CONTRACT_DAYS = ROW_ID_FACTOR - 1
"""Longest contract (in days) whose unit rows still get distinct ids."""

TOTAL_PLACES = Decimal("0.01")
"""Charge totals keep 2 decimals."""


def charge_totals(quantity: Decimal | None, price: Decimal | None, cost: Decimal | None) -> dict[str, Value]:
    """``billableAmount`` and ``extendedCost`` of a charge (None where an input is missing)."""
    return {
        "billableAmount": None if quantity is None or price is None else _total(quantity * price),
        "extendedCost": None if quantity is None or cost is None else _total(quantity * cost),
    }


def check_units_stay_positive(
    cs_id: int, existing: list[tuple[date, int]], effective: date, change: int
) -> None:
    """Refuse an adjustment after which the units of a contract service would drop below zero."""
    events = [*existing, (effective, change)]
    for day in sorted({day for day, _ in events if day >= effective}):
        units = sum(delta for when, delta in events if when <= day)
        if units < 0:
            raise ApiError(
                f"unitChange {change} on {effective.isoformat()} would leave contract service {cs_id} "
                f"with {units} units on {day.isoformat()}; units cannot go below zero."
            )


def _total(amount: Decimal) -> Decimal:
    return amount.quantize(TOTAL_PLACES, rounding=ROUND_HALF_UP)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept to the last day of a shorter month (Jan 31 + 1 → Feb 28)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
