"""What each customer's month costs, sells for and bills, computed the way Autotask bills it.

Autotask bills a contract service's month as units × unit price (its ContractServiceUnits row, to
the cent) and each contract charge as quantity × unit price. The state *after* a plan is the actual
objects with the plan's changes laid over them; an adjustment changes the units and price from its
month on, so its change is carried into the later months of the same subscription (as Autotask
does). Lines billsync leaves out on purpose are *unbilled* with the rule that says why (D1, D5, D6,
D9); anything else that does not match is a *difference*, which a correct run keeps at 0.00.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.billing import ZERO, billed_amount, round_total
from engine.context import SYNCED_SERVICES, company_of
from engine.periods import latest_reports
from engine.plan import Change, Create, Update
from engine.resources import ActualObject
from engine.settings import Settings
from engine.source import RECORD_TYPE_SETTING, BillingLine, SourceData
from engine.types import Address, Attributes, parse_address

REASONS: dict[str, tuple[str, str]] = {
    "D9": ("currency", "lines in another currency than Autotask bills in"),
    "D1": ("unlinked", "the organization has no Autotask company link"),
    "D6": ("inactive", "the organization has no active CSP 365 or Azure service"),
    "D5": ("type off", "the record type is turned off in the settings"),
    "gone": ("not listed", "the subscription is no longer in Cloudmore's subscription list"),
}
"""Why a line is left unbilled: rule → (short name, explanation). Checked in this order."""


@dataclass(frozen=True)
class Totals:
    """Money of a row, a month or the whole report (Decimal, to the cent)."""

    sales: Decimal = ZERO
    cost: Decimal = ZERO
    billed: Decimal = ZERO
    unbilled: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        """What Autotask bills minus what Cloudmore charges for it (unbilled lines still cost)."""
        return self.billed - self.cost

    @property
    def difference(self) -> Decimal:
        """Billed minus what should be billed (sales less the explained unbilled part): 0.00 when right."""
        return self.billed - (self.sales - self.unbilled)

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.sales + other.sales,
            self.cost + other.cost,
            self.billed + other.billed,
            self.unbilled + other.unbilled,
        )


@dataclass(frozen=True)
class SubscriptionLine:
    """One subscription's month inside a customer row (the drill-down)."""

    subscription_id: str
    product_name: str
    record_type: str
    quantity: int
    totals: Totals
    reason: str = ""
    """The rule that leaves it unbilled (``D1``…), empty when billed."""


@dataclass(frozen=True)
class Row:
    """One customer × month."""

    organization_id: str
    customer: str
    period: str
    totals: Totals
    reasons: tuple[str, ...] = ()
    lines: tuple[SubscriptionLine, ...] = ()

    @property
    def flagged(self) -> bool:
        return self.totals.difference != ZERO


@dataclass(frozen=True)
class Unbilled:
    organization_id: str
    customer: str
    period: str
    rule: str
    amount: Decimal

    @property
    def explanation(self) -> str:
        return REASONS[self.rule][1]


@dataclass(frozen=True)
class CorrectionLine:
    """A charge that bills the difference a revised report makes to an applied month (D20)."""

    subscription_id: str
    customer: str
    period: str
    revision: str
    amount: Decimal
    planned: bool


@dataclass(frozen=True)
class BillingReport:
    as_of: str
    basis: str
    """What "billed" means: ``after the plan``, ``after the saved plan FILE`` or ``in Autotask now``."""
    target: str
    source: str
    currency: str
    periods: tuple[str, ...]
    rows: tuple[Row, ...]
    unbilled: tuple[Unbilled, ...] = ()
    corrections: tuple[CorrectionLine, ...] = ()
    month_totals: dict[str, Totals] = field(default_factory=dict)

    @property
    def total(self) -> Totals:
        return sum(self.month_totals.values(), Totals())

    @property
    def flagged(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.flagged)


@dataclass(frozen=True)
class _Sub:
    organization_id: str
    product_name: str
    record_type: str


def build_report(
    source: SourceData,
    settings: Settings,
    actual: Mapping[Address, ActualObject],
    changes: Sequence[Change],
    as_of: date,
    *,
    period: str | None = None,
    basis: str = "after the plan",
    target: str = "",
) -> BillingReport:
    """The report for every month available on ``as_of`` (or ``period`` alone)."""
    reports = latest_reports(source.reports, as_of)
    periods = tuple(sorted(p for p in reports if period is None or p == period))
    names = {o.organization_id: o.name for o in source.organizations}
    subs = _subscriptions(source, [reports[p].lines for p in periods])
    billed, corrections = billed_after(actual, changes, periods)
    scope = _Scope(source, settings)
    rows: list[Row] = []
    unbilled: list[Unbilled] = []
    for month in periods:
        by_sub: dict[str, list[BillingLine]] = defaultdict(list)
        for line in reports[month].lines:
            by_sub[line.subscription_id].append(line)
        wrong_currency = {
            line.organization_id for line in reports[month].lines if line.currency != settings.currency
        }
        per_org: dict[str, list[SubscriptionLine]] = defaultdict(list)
        for sid in sorted(set(by_sub) | {s for (s, p) in billed if p == month}):
            lines = by_sub.get(sid, [])
            info = subs.get(sid, _Sub("", sid, ""))
            reason = scope.reason(sid, info, wrong_currency) if lines else ""
            sales = round_total(sum((line.total_sales for line in lines), ZERO))
            cost = round_total(sum((line.total_cost for line in lines), ZERO))
            per_org[info.organization_id].append(
                SubscriptionLine(
                    sid,
                    info.product_name,
                    info.record_type,
                    max((line.quantity for line in lines), default=0),
                    Totals(sales, cost, billed.get((sid, month), ZERO), sales if reason else ZERO),
                    reason,
                )
            )
        for oid in sorted(per_org, key=lambda o: (names.get(o) or o).lower() + "\0" + o):
            lines_ = tuple(per_org[oid])
            totals = sum((s.totals for s in lines_), Totals())
            reasons = tuple(sorted({s.reason for s in lines_ if s.reason}))
            customer = names.get(oid, oid or "(unknown)")
            rows.append(Row(oid, customer, month, totals, reasons, lines_))
            for rule in reasons:
                amount = sum((s.totals.sales for s in lines_ if s.reason == rule), ZERO)
                unbilled.append(Unbilled(oid, customer, month, rule, amount))
    month_totals = {m: sum((r.totals for r in rows if r.period == m), Totals()) for m in periods}
    fixes = tuple(
        CorrectionLine(
            c.subscription_id,
            names.get(subs[c.subscription_id].organization_id, "") if c.subscription_id in subs else "",
            c.period,
            c.revision,
            c.amount,
            c.planned,
        )
        for c in corrections
        if c.period in periods
    )
    return BillingReport(
        as_of=as_of.isoformat(),
        basis=basis,
        target=target,
        source=source.origin,
        currency=settings.currency,
        periods=periods,
        rows=tuple(rows),
        unbilled=tuple(unbilled),
        corrections=fixes,
        month_totals=month_totals,
    )


def _subscriptions(source: SourceData, reports: Iterable[Iterable[BillingLine]]) -> dict[str, _Sub]:
    """Subscription → organization, product and type: the subscription list first, else its lines."""
    subs: dict[str, _Sub] = {}
    for lines in reports:
        for line in lines:
            subs.setdefault(
                line.subscription_id, _Sub(line.organization_id, line.product_name, line.record_type)
            )
    for sub in source.subscriptions:
        subs[sub.subscription_id] = _Sub(sub.organization_id, sub.product_name, sub.record_type)
    return subs


class _Scope:
    """What decides whether an organization's lines reach Autotask (D1, D5, D6, D9), indexed once."""

    def __init__(self, source: SourceData, settings: Settings) -> None:
        self.settings = settings
        self.linked = {o.organization_id for o in source.organizations if company_of(o, settings) is not None}
        self.synced = {
            s.organization_id
            for s in source.services
            if s.active and s.service_name.strip().lower() in SYNCED_SERVICES
        }
        self.listed = {s.subscription_id for s in source.subscriptions}

    def reason(self, sid: str, info: _Sub, wrong_currency: set[str]) -> str:
        """The rule that leaves a billed subscription's month out of Autotask, or ``""``."""
        oid = info.organization_id
        if oid in wrong_currency:
            return "D9"
        if oid not in self.linked:
            return "D1"
        if oid not in self.synced:
            return "D6"
        if not self.settings.record_types.enabled(RECORD_TYPE_SETTING.get(info.record_type, "")):
            return "D5"
        if sid not in self.listed:
            return "gone"
        return ""


@dataclass(frozen=True)
class _Fix:
    subscription_id: str
    period: str
    revision: str
    amount: Decimal
    planned: bool


def billed_after(
    actual: Mapping[Address, ActualObject], changes: Sequence[Change], periods: Sequence[str]
) -> tuple[dict[tuple[str, str], Decimal], list[_Fix]]:
    """(subscription, month) → what Autotask bills once ``changes`` are applied, and the corrections."""
    charges: dict[Address, Attributes] = {a: o.attributes for a, o in actual.items() if o.kind == "charge"}
    units: dict[Address, Attributes] = {a: o.attributes for a, o in actual.items() if o.kind == "adjustment"}
    planned: dict[Address, Create] = {}
    planned_charges: set[Address] = set()
    for change in changes:
        if change.kind == "charge" and isinstance(change, Create):
            charges[change.address] = change.after
            planned_charges.add(change.address)
        elif change.kind == "charge" and isinstance(change, Update):
            charges[change.address] = {**charges.get(change.address, {}), **change.after}
        elif change.kind == "adjustment" and isinstance(change, Create):
            planned[change.address] = change
    billed: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    fixes: list[_Fix] = []
    for address, attrs in sorted(charges.items()):
        _kind, key = parse_address(address)
        if len(key) < 2:
            continue
        amount = round_total(_dec(attrs.get("unitQuantity")) * _dec(attrs.get("unitPrice")))
        billed[(key[0], key[1])] += amount
        if len(key) > 2 and key[2].startswith("correction-"):
            fixes.append(
                _Fix(key[0], key[1], key[2].removeprefix("correction-"), amount, address in planned_charges)
            )
    months: dict[str, set[str]] = defaultdict(set)
    for address in (*units, *planned):
        _kind, key = parse_address(address)
        if len(key) == 2:
            months[key[0]].add(key[1])
    for sid, found in months.items():
        carried_units = 0
        carried_price: Decimal | None = None
        for month in sorted(found | set(periods)):
            address = f'adjustment["{sid}"]["{month}"]'
            adjustment = planned.get(address)
            row = units.get(address)
            if adjustment is not None:
                count = int(_dec(adjustment.after.get("units")))
                price = _dec(adjustment.after.get("unitPrice"))
                carried_units += count - int(_dec(adjustment.before.get("units")))  # the units it adds
                carried_price = price
            elif row is not None:
                count = int(_dec(row.get("units"))) + carried_units
                price = carried_price if carried_price is not None else _dec(row.get("unitPrice"))
            elif carried_units:
                count, price = carried_units, carried_price or ZERO
            else:
                continue
            billed[(sid, month)] += billed_amount(count, price)
    return dict(billed), fixes


def _dec(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return ZERO
