"""From the source model to the items rules loop over, with the business rules that pick them.

- D1: an organization bills only through a linked Autotask company (settings override first);
  unlinked ones are reported with the amount left unbilled.
- D5: record types that are off contribute nothing.
- D6: only organizations with an active CSP 365 or Azure service are synced.
- D8/D14: per subscription and month, a :class:`~engine.billing.MonthBill`.
- D9: a line in another currency than the settings' is an error for its organization.
- D11: only price-list products billed in the covered months are rendered.
Pure: no I/O, the same inputs always give the same items in the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from engine.billing import (
    ZERO,
    MonthBill,
    bill_month,
    contract_end,
    first_of_month,
    month_end,
    month_start,
)
from engine.diagnostics import Diagnostic
from engine.periods import DueReport
from engine.posted import PostedMonth, first_open
from engine.settings import Settings
from engine.source import (
    RECORD_TYPE_SETTING,
    BillingLine,
    Organization,
    PriceListItem,
    SourceData,
    Subscription,
)

SYNCED_SERVICES = ("microsoft csp 365", "microsoft azure")
"""Cloudmore services whose activity makes an organization synced (D6)."""


@dataclass(frozen=True)
class Correction:
    """The difference a revised report makes to a month already applied (D20)."""

    period: str
    revision: str
    """``available_on`` of the revised report (ISO date)."""
    total_sales: Decimal
    total_cost: Decimal
    quantity: int
    billed_in: str = ""
    """The month the correction is billed in: its own, or the first open month when ``period`` is
    posted in the target (D27)."""
    posted: str = ""
    """The target's posting stamp of ``period`` when it is posted (D27), else empty."""

    @property
    def start(self) -> date:
        """The first day of the month the correction is billed in (its charge's date)."""
        return month_start(self.billed_in or self.period)


class Item(Mapping[str, Any]):
    """A subscription's loop item with one more name (its ``month`` or ``correction``): at 50,000
    subscriptions, 100,000 months share their subscription's item instead of each copying it."""

    __slots__ = ("base", "name", "value")

    def __init__(self, base: dict[str, Any], name: str, value: Any) -> None:
        self.base, self.name, self.value = base, name, value

    def __getitem__(self, key: str) -> Any:
        return self.value if key == self.name else self.base[key]

    def __iter__(self) -> Iterator[str]:
        yield from (key for key in self.base if key != self.name)
        yield self.name

    def __len__(self) -> int:
        return len(self.base) + (self.name not in self.base)

    def context(self, globals_: Mapping[str, Any]) -> dict[str, Any]:
        """The Jinja context of this item over ``globals_``, built at C speed."""
        return {**globals_, **self.base, self.name: self.value}


@dataclass
class RenderInput:
    """Everything rules render over: loop items per Cloudmore record type, plus diagnostics."""

    periods: list[str]
    items: dict[str, dict[str, list[Mapping[str, Any]]]] = field(default_factory=dict)
    """record type → loop name → items (each a Jinja context fragment)."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    live_subscriptions: set[str] = field(default_factory=set)
    """Subscriptions that still exist in Cloudmore for a synced organization (the rest are orphans)."""


def build_render_input(
    source: SourceData,
    settings: Settings,
    due: list[DueReport],
    managed_subscriptions: Iterable[str] = (),
    recorded: Mapping[tuple[str, str], tuple[Decimal, Decimal]] | None = None,
    as_of: date | None = None,
    posted: Mapping[tuple[str, str], PostedMonth] | None = None,
) -> RenderInput:
    """Pick what to render for the covered months.

    A subscription is in scope when it bills in a covered month, or when billsync already manages it
    (so renewals, renames and months with no line — 0 units, D14 — still reach its contract).
    ``recorded`` maps (subscription, month) to the total sales and cost already applied: a revised
    report does not rewrite such a month but yields a ``corrections`` item with the difference (D20).
    A managed subscription that disappeared from Cloudmore keeps only its months (D14: a month with no
    line bills nothing), rendered from its last billing line, while the removal policy keeps it (D21).
    ``posted`` names the months the target has approved and posted (D27): such a month is never
    rendered again; the difference between its report and what it bills is a ``corrections`` item
    billed in the first open month (:mod:`engine.posted`).
    """
    recorded = recorded or {}
    posted = posted or {}
    available = {d.period: d.report.available_on.isoformat() for d in due}
    revised = {d.period: d.report.available_on.isoformat() for d in due if d.revision_of is not None}
    periods = [d.period for d in due]
    result = RenderInput(periods=periods)
    result.diagnostics.extend(Diagnostic("warning", "source-notice", notice) for notice in source.notices)
    orgs = {o.organization_id: o for o in source.organizations}
    synced = _synced_organizations(source)
    subs = {s.subscription_id: s for s in source.subscriptions}
    prices = {p.product_id: p for p in source.price_list}
    lines_by: dict[tuple[str, str], list[BillingLine]] = defaultdict(list)
    blocked = _check_organizations(source, settings, due, orgs, synced, result.diagnostics)
    for report in due:
        for line in report.report.lines:
            lines_by[(line.subscription_id, report.period)].append(line)

    eligible = {
        oid for oid in orgs if oid in synced and oid not in blocked and company_of(orgs[oid], settings)
    }
    # still in Cloudmore for a synced organization: not an orphan, even while unlinked or blocked (D9)
    result.live_subscriptions = {
        s.subscription_id for s in source.subscriptions if s.organization_id in synced
    }
    billed = {sid for (sid, _period) in lines_by}
    in_scope = sorted((billed | set(managed_subscriptions)) & set(subs))
    foreign = _check_price_currency(prices, settings, [subs[sid] for sid in in_scope], result.diagnostics)
    for sid in in_scope:
        sub = subs[sid]
        type_name = RECORD_TYPE_SETTING[sub.record_type]
        if sub.organization_id not in eligible or not settings.record_types.enabled(type_name):
            continue
        if sub.product_id in foreign:
            continue  # D9: a price in another currency is never used, nor converted
        org = orgs[sub.organization_id]
        start = first_of_month(sub.start_date)
        end = contract_end(sub.start_date, sub.end_date, settings.ongoing_contract_years, as_of)
        base: dict[str, Any] = {
            "sub": sub,
            "org": org,
            "company_id": company_of(org, settings),
            "contract_start": start,
            "contract_end": end,
            "product": prices.get(sub.product_id),
            "record_type": type_name,
        }
        loops = result.items.setdefault(sub.record_type, defaultdict(list))
        loops["subscriptions"].append(base)
        for period in periods:
            lines = lines_by.get((sid, period), [])
            if not lines and (month_end(period) < start or month_start(period) > end):
                continue
            bill = bill_month(period, lines)
            if (sid, period) in posted:
                _correct_posted(loops, base, sid, bill, available[period], posted)
                continue
            applied = recorded.get((sid, period)) if period in revised else None
            if applied is None:
                loops["subscription_months"].append(Item(base, "month", bill))
                continue
            sales, cost = bill.total_sales - applied[0], bill.total_cost - applied[1]
            if sales or cost:
                fix = Correction(period, revised[period], sales, cost, bill.quantity)
                loops["corrections"].append(Item(base, "correction", fix))
    if settings.removal_policy == "keep":
        gone = sorted(set(managed_subscriptions) - set(subs))
        _add_orphan_months(gone, source, settings, due, orgs, eligible, lines_by, result, posted)
    for record_type, loops in result.items.items():
        _add_shared_loops(record_type, loops, prices, lines_by)
    result.items = {rt: dict(loops) for rt, loops in result.items.items()}
    return result


def _correct_posted(
    loops: dict[str, list[Mapping[str, Any]]],
    base: dict[str, Any],
    sid: str,
    bill: MonthBill,
    revision: str,
    posted: Mapping[tuple[str, str], PostedMonth],
) -> None:
    """A posted month (D27): the report's total minus what the month bills in the target, if not
    zero, as a correction billed in the first open month; the month itself is left as posted."""
    month = posted[(sid, bill.period)]
    billed_sales, billed_cost = month.billed(revision)
    sales, cost = bill.total_sales - billed_sales, bill.total_cost - billed_cost
    if sales or cost:
        fix = Correction(
            bill.period,
            revision,
            sales,
            cost,
            bill.quantity,
            billed_in=first_open(sid, bill.period, posted),
            posted=month.posted_on,
        )
        loops["corrections"].append(Item(base, "correction", fix))


def _add_orphan_months(
    gone: list[str],
    source: SourceData,
    settings: Settings,
    due: list[DueReport],
    orgs: Mapping[str, Organization],
    eligible: set[str],
    lines_by: Mapping[tuple[str, str], list[BillingLine]],
    result: RenderInput,
    posted: Mapping[tuple[str, str], PostedMonth],
) -> None:
    """Months of subscriptions gone from Cloudmore, so their units follow the report (0 without a line)."""
    periods = [d.period for d in due]
    if not gone or not periods:
        return
    last_line: dict[str, BillingLine] = {}
    wanted = set(gone)
    for report in sorted(source.reports, key=lambda r: (r.period, r.available_on)):
        for billed in report.lines:
            if billed.subscription_id in wanted:
                last_line[billed.subscription_id] = billed
    for sid in gone:
        line = last_line.get(sid)
        if line is None or line.organization_id not in eligible:
            continue
        type_name = RECORD_TYPE_SETTING[line.record_type]
        if not settings.record_types.enabled(type_name):
            continue
        ghost = Subscription(
            subscription_id=sid,
            organization_id=line.organization_id,
            record_type=line.record_type,
            product_id=line.product_id,
            item_code=line.item_code,
            product_name=line.product_name,
            quantity=line.quantity,
            start_date=line.billing_date,
            status="Removed",
            origin=line.origin,
        )
        org = orgs[line.organization_id]
        base: dict[str, Any] = {
            "sub": ghost,
            "org": org,
            "company_id": company_of(org, settings),
            "contract_start": None,
            "contract_end": None,
            "product": None,
            "record_type": type_name,
        }
        loops = result.items.setdefault(line.record_type, defaultdict(list))
        for month in due:
            bill = bill_month(month.period, lines_by.get((sid, month.period), []))
            if (sid, month.period) in posted:
                _correct_posted(loops, base, sid, bill, month.report.available_on.isoformat(), posted)
            else:
                loops["subscription_months"].append(Item(base, "month", bill))


def company_of(org: Organization, settings: Settings) -> int | None:
    """D1: the settings' link for the organization first, else its ``AutotaskCompanyID``."""
    return settings.companies.get(org.organization_id, org.autotask_company_id)


def _synced_organizations(source: SourceData) -> set[str]:
    return {
        s.organization_id
        for s in source.services
        if s.active and s.service_name.strip().lower() in SYNCED_SERVICES
    }


def _check_price_currency(
    prices: dict[str, PriceListItem],
    settings: Settings,
    subscriptions: list[Subscription],
    diagnostics: list[Diagnostic],
) -> set[str]:
    """Report price-list products priced in another currency than Autotask bills in (D9); return them.
    Their subscriptions are not exported: the service would carry a price in the wrong currency."""
    used = {s.product_id for s in subscriptions}
    foreign = {pid for pid, item in prices.items() if item.currency != settings.currency}
    for pid in sorted(foreign & used):
        item = prices[pid]
        diagnostics.append(
            Diagnostic(
                "error",
                "currency",
                f"price-list product {pid} ({item.product_name}) is priced in {item.currency} but Autotask "
                f"bills in {settings.currency}; its subscriptions are not exported (D9)",
            )
        )
    return foreign


def _check_organizations(
    source: SourceData,
    settings: Settings,
    due: list[DueReport],
    orgs: dict[str, Organization],
    synced: set[str],
    diagnostics: list[Diagnostic],
) -> set[str]:
    """Report unlinked (D1), unsynced (D6) and wrong-currency (D9) organizations; return the blocked ones."""
    unbilled: dict[str, Decimal] = defaultdict(lambda: ZERO)
    wrong_currency: dict[str, set[str]] = defaultdict(set)
    for report in due:
        for line in report.report.lines:
            unbilled[line.organization_id] += line.total_sales
            if line.currency != settings.currency:
                wrong_currency[line.organization_id].add(line.currency)
    blocked = set()
    for oid, currencies in sorted(wrong_currency.items()):
        blocked.add(oid)
        name = orgs[oid].name if oid in orgs else oid
        diagnostics.append(
            Diagnostic(
                "error",
                "currency",
                f"organization {oid} ({name}) has lines in {', '.join(sorted(currencies))} but Autotask "
                f"bills in {settings.currency}; its lines are not exported (D9)",
                oid,
                unbilled[oid],
            )
        )
    for oid, org in sorted(orgs.items()):
        if oid in blocked:
            continue
        if company_of(org, settings) is None and unbilled.get(oid, ZERO) != ZERO:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "unlinked",
                    f"organization {oid} ({org.name}) has no AutotaskCompanyID: "
                    f"{unbilled[oid]} {settings.currency} left unbilled (D1)",
                    oid,
                    unbilled[oid],
                )
            )
        elif oid not in synced and unbilled.get(oid, ZERO) != ZERO:
            diagnostics.append(
                Diagnostic(
                    "warning",
                    "inactive",
                    f"organization {oid} ({org.name}) has no active CSP 365 or Azure service: "
                    f"{unbilled[oid]} {settings.currency} not synced (D6)",
                    oid,
                    unbilled[oid],
                )
            )
    return blocked


def _add_shared_loops(
    record_type: str,
    loops: dict[str, list[Mapping[str, Any]]],
    prices: dict[str, PriceListItem],
    lines_by: dict[tuple[str, str], list[BillingLine]],
) -> None:
    """Loops for objects shared by many subscriptions: price-list products (D10, D11), kinds, the type."""
    billed_products: dict[str, PriceListItem] = {}
    kinds: dict[str, dict[str, Any]] = {}
    for item in loops.get("subscription_months", []):
        sub: Subscription = item["sub"]
        if item["month"].lines and sub.product_id in prices:
            billed_products.setdefault(sub.product_id, prices[sub.product_id])
    for item in loops.get("subscriptions", []):
        sub = item["sub"]
        kinds.setdefault(
            sub.product_name, {"kind_name": sub.product_name, "record_type": item["record_type"]}
        )
    loops["products"] = [{"product": billed_products[k]} for k in sorted(billed_products)]
    loops["kinds"] = [kinds[k] for k in sorted(kinds)]
    type_name = RECORD_TYPE_SETTING[record_type]
    loops["types"] = [{"record_type": type_name}] if loops.get("subscriptions") else []


def months_between(start: date, end: date) -> list[str]:
    """Every ``YYYY-MM`` from ``start``'s month to ``end``'s month, inclusive."""
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
