"""Posted periods (D27): months Autotask has approved and posted are never written again.

A month of a subscription is posted when the target reports it so on the month's units (on
Autotask: the ContractServiceUnits row's ``approveAndPostDate``), or, for a subscription billed by a
charge per month, when that charge is billed (``isBilled``). Such a month keeps what it
billed; a revision (D20) or any other change of its quantity or price is billed as a correction
charge dated in the subscription's first open month, and the plan says why.

Rounding rule: what a posted month bills is the sum of its objects, each rounded half-up to the
cent — units × unit price of the month, and quantity × unit price of every charge the month's key
names (its rounding charge, earlier corrections). The correction is the report's total (already to
the cent, D22) minus that sum, exact in Decimal, on one charge of quantity 1, so the month and its
corrections bill the report's total to the cent. Pure: the caller reads the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from engine.billing import ZERO, month_end, month_start, period_of, round_total
from engine.plan import Change, Create, Update
from engine.resources import ActualObject
from engine.types import Address, parse_address

__all__ = [
    "CORRECTION",
    "PostedMonth",
    "explain",
    "first_open",
    "keep_posted_contract_ends",
    "posted_months",
    "reason",
]

CORRECTION = "correction-"
"""The last key part of a correction charge, followed by the revision it bills (``correction-2026-11-03``)."""


@dataclass(frozen=True)
class PostedMonth:
    """A subscription's month as Autotask posted it: when, and what it bills."""

    posted_on: str
    """How the target shows the month posted: ``approveAndPostDate …`` as read, or its billed charge."""
    sales: Decimal
    cost: Decimal
    corrections: Mapping[str, tuple[Decimal, Decimal]]
    """Revision → (sales, cost) of each correction charge already billed for the month."""

    def billed(self, revision: str) -> tuple[Decimal, Decimal]:
        """What the month bills apart from the correction of ``revision`` (so a correction, once
        applied, renders the same amount again and the next plan is empty)."""
        others = [amounts for rev, amounts in self.corrections.items() if rev != revision]
        return (
            self.sales + sum((s for s, _c in others), ZERO),
            self.cost + sum((c for _s, c in others), ZERO),
        )


def posted_months(
    objects: Mapping[Address, ActualObject], periods: Sequence[str]
) -> dict[tuple[str, str], PostedMonth]:
    """(subscription, month) → :class:`PostedMonth`, for the months of ``periods`` the target reports
    posted (the actual state's objects): the month's units carry a posting stamp, or the month's own
    charge (Azure, Marketplace: a charge per month) is billed. Charges add to the month their key
    names, wherever they are dated."""
    wanted = set(periods)
    stamps: dict[tuple[str, str], str] = {}
    for obj in objects.values():
        month = _month_of(obj)
        if month is None or month[1] not in wanted:
            continue
        if obj.kind == "adjustment" and obj.posted:
            stamps[month] = f"approveAndPostDate {obj.posted}"
        elif obj.kind == "charge" and obj.locked and len(parse_address(obj.address)[1]) == 2:
            stamps.setdefault(month, "its charge is billed")
    if not stamps:
        return {}
    billed: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    corrections: dict[tuple[str, str], dict[str, tuple[Decimal, Decimal]]] = {}
    for obj in objects.values():
        month = _month_of(obj)
        if month is None or month not in stamps:
            continue
        last = parse_address(obj.address)[1][-1]
        if obj.kind == "charge" and last.startswith(CORRECTION):
            corrections.setdefault(month, {})[last.removeprefix(CORRECTION)] = _amounts(obj, "unitQuantity")
            continue
        sales, cost = _amounts(obj, "units" if obj.kind == "adjustment" else "unitQuantity")
        before = billed.get(month, (ZERO, ZERO))
        billed[month] = (before[0] + sales, before[1] + cost)
    return {
        month: PostedMonth(
            posted_on=stamp,
            sales=billed.get(month, (ZERO, ZERO))[0],
            cost=billed.get(month, (ZERO, ZERO))[1],
            corrections=corrections.get(month, {}),
        )
        for month, stamp in sorted(stamps.items())
    }


def _month_of(obj: ActualObject) -> tuple[str, str] | None:
    """(subscription, month) of a month-bound object: an adjustment, or a charge of a month."""
    if obj.kind not in ("adjustment", "charge"):
        return None
    _kind, key = parse_address(obj.address)
    if len(key) < 2 or (obj.kind == "adjustment" and len(key) != 2):
        return None
    return key[0], key[1]


def first_open(subscription: str, period: str, posted: Mapping[tuple[str, str], PostedMonth]) -> str:
    """The first month after ``period`` that is not posted for ``subscription`` (as far as the plan
    read: a month it did not read counts as open)."""
    month = _next(period)
    while (subscription, month) in posted:
        month = _next(month)
    return month


def reason(period: str, posted_on: str, billed_in: str) -> str:
    """Why a change to a posted month is a correction charge in another month (the plan shows it)."""
    return f"month {period} is posted in Autotask ({posted_on}); the change is billed as a correction in {billed_in}"


def explain(changes: Sequence[Change]) -> list[Change]:
    """Give each planned correction of a posted month its reason (D27)."""
    out: list[Change] = []
    for change in changes:
        source = getattr(change, "source", {}) or {}
        if isinstance(change, Create) and "posted" in source and not change.reason:
            change = replace(change, reason=reason(source["period"], source["posted"], source["billed_in"]))
        out.append(change)
    return out


def keep_posted_contract_ends(
    changes: Sequence[Change], objects: Mapping[Address, ActualObject]
) -> tuple[list[Change], list[str]]:
    """Leave out a contract end date the plan would move before the end of a month posted in the
    target (Autotask refuses it, D27), with one message per contract saying why and what to do."""
    posted = posted_months(objects, sorted({key[1] for key in _posted_keys(objects)}))
    last: dict[str, str] = {}
    for sub, month in posted:
        last[sub] = max(last.get(sub, month), month)
    out: list[Change] = []
    messages: list[str] = []
    for change in changes:
        end = (
            change.after.get("endDate") if isinstance(change, Update) and change.kind == "contract" else None
        )
        sub = parse_address(change.address)[1][0] if isinstance(end, date) else ""
        if not isinstance(change, Update) or not isinstance(end, date) or sub not in last:
            out.append(change)
            continue
        posted_end = month_end(last[sub])
        if end >= posted_end:
            out.append(change)
            continue
        messages.append(
            f"{change.address}: endDate would move to {end.isoformat()}, but month {last[sub]} is posted in "
            f"Autotask, so billsync leaves the end date (D27); un-post the month in Autotask to end the "
            "contract earlier"
        )
        after = {k: v for k, v in change.after.items() if k != "endDate"}
        if after:
            before = {k: v for k, v in change.before.items() if k != "endDate"}
            out.append(replace(change, after=after, before=before))
    return out, messages


def _posted_keys(objects: Mapping[Address, ActualObject]) -> list[tuple[str, str]]:
    return [m for o in objects.values() if (m := _month_of(o)) is not None and (o.posted or o.locked)]


def _next(period: str) -> str:
    start = month_start(period)
    return period_of(
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


def _amounts(obj: ActualObject, quantity_field: str) -> tuple[Decimal, Decimal]:
    quantity = _decimal(obj.attributes.get(quantity_field))
    return (
        round_total(quantity * _decimal(obj.attributes.get("unitPrice"))),
        round_total(quantity * _decimal(obj.attributes.get("unitCost"))),
    )


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        return ZERO
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    return ZERO
