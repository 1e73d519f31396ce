"""A plan in one screen: counts per kind and action, money per customer and month, warnings.

What a reviewer (or cron mail, or a chat message) needs to approve a run; ``billsync plan`` without
``--summary`` shows every field. Works from the plan alone, so a saved plan summarises the same;
customer names come from the source when it is at hand.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.billing import ZERO, billed_amount, round_total
from engine.plan import Adopt, Change, Create, Plan, Update
from engine.plan_view import RULES_DOC, rules_cited, summary_line
from engine.textsafe import visible
from engine.types import Attributes

ACTIONS = ("create", "update", "adopt", "drift", "orphan")
MAX_CUSTOMER_LINES = 12
MAX_WARNINGS = 5


@dataclass(frozen=True)
class CustomerMonth:
    organization_id: str
    customer: str
    period: str
    changes: int
    amount: Decimal
    """What the plan adds to the month's billing (adjustments and charges; negative lowers it)."""


@dataclass(frozen=True)
class PlanSummary:
    as_of: str
    months: tuple[str, ...]
    target: str
    counts: dict[str, dict[str, int]]
    """kind → action → count."""
    customers: tuple[CustomerMonth, ...]
    money_moved: Decimal
    warnings: tuple[str, ...]
    errors: tuple[str, ...]
    plan_line: str
    has_changes: bool
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "months": list(self.months),
            "autotask": self.target,
            "cloudmore": self.source,
            "counts": self.counts,
            "customers": [
                {
                    "organization_id": c.organization_id,
                    "customer": c.customer,
                    "month": c.period,
                    "changes": c.changes,
                    "amount": str(c.amount),
                }
                for c in self.customers
            ],
            "money_moved": str(self.money_moved),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            "plan": self.plan_line,
            "has_changes": self.has_changes,
        }


def money_of(change: Change) -> Decimal:
    """What one change bills, computed as Autotask bills (units × price, to the cent): a month's
    adjustment its whole month (a month carried from the one before, with no write, too), a charge
    its amount, a changed charge the difference."""
    if change.kind == "adjustment" and isinstance(change, Create):
        return _units(change.after)
    if change.kind == "adjustment" and isinstance(change, Adopt) and change.carried_by is not None:
        return _units(change.attributes)
    if change.kind == "charge" and isinstance(change, Create):
        return _charge(change.after)
    if change.kind == "charge" and isinstance(change, Update):
        return _charge({**change.before, **change.after}) - _charge(change.before)
    return ZERO


def _units(attrs: Attributes) -> Decimal:
    units, price = attrs.get("units"), attrs.get("unitPrice")
    if not isinstance(units, int) or not isinstance(price, Decimal):
        return ZERO
    return billed_amount(units, price)


def _charge(attrs: Attributes) -> Decimal:
    quantity, price = attrs.get("unitQuantity"), attrs.get("unitPrice")
    if not isinstance(quantity, Decimal | int) or not isinstance(price, Decimal):
        return ZERO
    return round_total(Decimal(quantity) * price)


def summarize(plan: Plan, names: Mapping[str, str] | None = None, source: str = "") -> PlanSummary:
    names = names or {}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    per: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    total = ZERO
    for change in plan.changes:
        counts[change.kind][change.action] += 1
        origin = getattr(change, "source", {}) or {}
        amount = money_of(change)
        total += amount
        period = getattr(change, "period", None) or origin.get("period")
        if origin.get("organization_id") and period:
            per[(origin["organization_id"], period)].append(amount)
    customers = tuple(
        sorted(
            (
                CustomerMonth(oid, visible(names.get(oid, oid)), period, len(amounts), sum(amounts, ZERO))
                for (oid, period), amounts in per.items()
            ),
            key=lambda c: (c.period, c.customer.lower(), c.organization_id),
        )
    )
    return PlanSummary(
        as_of=plan.as_of.isoformat(),
        months=tuple(p.period for p in plan.periods),
        target=plan.target,
        counts={k: {a: counts[k][a] for a in ACTIONS if counts[k][a]} for k in sorted(counts)},
        customers=customers,
        money_moved=total,
        warnings=tuple(d.message for d in plan.diagnostics if d.severity != "error"),
        errors=tuple(d.message for d in plan.diagnostics if d.severity == "error"),
        plan_line=summary_line(plan),
        has_changes=plan.has_changes,
        source=source,
    )


def summary_lines(summary: PlanSummary, currency: str = "") -> Iterator[str]:
    """At most about 40 lines, whatever the plan's size."""
    unit = f" {currency}" if currency else ""
    yield f"Billing months: {', '.join(summary.months) or 'none due'}   (as of {summary.as_of})"
    yield f"Autotask: {visible(summary.target) or 'unknown'}" + (
        f"   Cloudmore: {visible(summary.source)}" if summary.source else ""
    )
    for message in summary.errors:
        yield f"Error: {visible(message)}"
    if summary.counts:
        yield ""
        width = max(len(k) for k in summary.counts)
        shown = [a for a in ACTIONS if any(a in c for c in summary.counts.values())]
        yield "  " + "kind".ljust(width) + "".join(f"{a:>9}" for a in shown)
        for kind, actions in summary.counts.items():
            yield "  " + kind.ljust(width) + "".join(f"{actions.get(a, 0):>9}" for a in shown)
    if summary.customers:
        yield ""
        yield "Billed by the planned adjustments and charges, per customer and month:"
        ranked = sorted(summary.customers, key=lambda c: -abs(c.amount))
        keep = {id(c) for c in ranked[:MAX_CUSTOMER_LINES]}
        width = max(len(c.customer) for c in summary.customers)
        for c in summary.customers:
            if id(c) in keep:
                yield f"  {c.customer:<{width}}  {c.period}  {c.amount:>12.2f}{unit}  ({c.changes} changes)"
        rest = ranked[MAX_CUSTOMER_LINES:]
        if rest:
            amount = sum((c.amount for c in rest), ZERO)
            yield f"  … and {len(rest)} more customer months: {amount:.2f}{unit}"
    yield ""
    yield f"Money moved: {summary.money_moved:.2f}{unit}"
    if summary.warnings:
        yield f"Warnings ({len(summary.warnings)}):"
        for message in summary.warnings[:MAX_WARNINGS]:
            yield f"  {visible(message)}"
        if len(summary.warnings) > MAX_WARNINGS:
            yield f"  … and {len(summary.warnings) - MAX_WARNINGS} more (billsync plan shows them all)"
    cited = rules_cited([*summary.errors, *summary.warnings])
    if cited:
        yield f"The rules cited ({', '.join(cited)}) are explained in {RULES_DOC}."
    yield summary.plan_line
