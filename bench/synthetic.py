"""Synthetic Cloudmore export bundles of any size, for the benchmark and the tests at scale (not shipped).

The data follows the same rules as a real export: CSP 365 lines priced from the broker price list
and prorated to the cent, Azure usage split over several lines, one-time perpetual purchases,
quantity changes within and between months, annual terms that renew, cancellations, and a price
list larger than what is billed. One seed always gives the same bytes.

Exports of one seed on two dates are consistent with each other: ``through`` picks the last
period whose report the export holds, so ``through="2026-09"`` and the default write the two
exports an MSP would make a month apart (renewed end dates, new and cancelled subscriptions).
"""

from __future__ import annotations

import calendar
import csv
import random
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from providers.cloudmore.bundle import (
    BILLING_COLUMNS,
    ORGANIZATION_COLUMNS,
    PRICE_LIST_COLUMNS,
    REPORT_COLUMNS,
    SERVICE_COLUMNS,
    SUBSCRIPTION_COLUMNS,
)

__all__ = ["GeneratedBundle", "generate_bundle", "RECORD_TYPE_SHARES"]

RECORD_TYPE_SHARES: tuple[tuple[str, int], ...] = (
    ("CSP365", 70),
    ("Azure", 15),
    ("Marketplace", 5),
    ("ReservedInstance", 4),
    ("PerpetualLicense", 3),
    ("Subscription", 3),
)
"""Percent of subscriptions per record type; counts are exact (largest remainder)."""

_CENT = Decimal("0.01")
_PRICE = Decimal("0.0001")
_PERIOD = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_CSP_PRODUCTS = tuple(
    (name, price)
    for name, _, price in (
        line.rpartition(" ")
        for line in """
Microsoft 365 Business Basic 6.00
Microsoft 365 Business Standard 12.50
Microsoft 365 Business Premium 22.00
Microsoft 365 E3 36.00
Microsoft 365 E5 57.00
Microsoft 365 F3 8.00
Microsoft 365 Apps for business 8.25
Office 365 E1 10.00
Office 365 E3 23.00
Exchange Online (Plan 1) 4.00
Exchange Online (Plan 2) 8.00
Microsoft Teams Essentials 4.00
Microsoft Defender for Business 3.00
Microsoft Defender for Office 365 (Plan 1) 3.3333
Microsoft Entra ID P1 6.00
Microsoft Entra ID P2 9.00
Visio Plan 2 15.00
Project Plan 3 30.00
Power BI Pro 14.00
Copilot for Microsoft 365 30.00
Microsoft Intune Plan 1 8.00""".strip().splitlines()
    )
)
"""(name, monthly sales price) of the base CSP 365 products the synthetic price list varies."""
_VARIANTS = (("", "1"), (" (Nonprofit)", "0.6"), (" for Education", "0.5"), (" for Government", "1.1"))
_CATALOGS: dict[str, tuple[tuple[str, ...], str, int, int]] = {
    "Marketplace": (("Nerdio Manager for MSP", "Veeam Backup for Microsoft 365"), "DZH318Z0BNZH", 200, 2000),
    "ReservedInstance": (
        (
            "Reserved VM Instance, Standard_D2s_v5, US East, 1 Year",
            "Reserved VM Instance, Standard_E4s_v5, 3 Years",
        ),
        "DZH318Z0BQ3Q",
        3000,
        30000,
    ),
    "PerpetualLicense": (
        ("SQL Server 2022 Standard - 2 Core", "Windows Server 2022 Standard - 16 Core"),
        "DG7GMGF0FKZV",
        20000,
        500000,
    ),
    "Subscription": (
        ("Windows Server 2022 RDS - 1 User CAL", "Microsoft 365 Apps for enterprise"),
        "DG7GMGF0PWHB",
        500,
        4000,
    ),
}
"""Per non-CSP, non-Azure record type: product names, product id prefix, unit price range in cents."""
_WORDS = ("Alpine", "Harbor", "Cedar", "Summit", "Granite", "Maple", "Beacon", "Riverside", "Lakeview")
_TRADES = ("Logistics", "Dental", "Engineering", "Legal", "Accounting", "Retail", "Clinics", "Foods", "Labs")


@dataclass(frozen=True)
class GeneratedBundle:
    """What :func:`generate_bundle` wrote, so a test can seed the Autotask companies it links to."""

    path: Path
    companies: tuple[tuple[int, str], ...]
    """(Autotask company id, organization name) for every organization, all linked."""
    subscriptions: int
    """Rows written to subscriptions.csv."""
    billing_lines: int
    """Lines over all billing files."""
    periods: tuple[str, ...]
    """The periods whose report the bundle holds, oldest first."""


@dataclass
class _Subscription:
    """One subscription over every period, drawn before anything is written."""

    subscription_id: str
    organization: int
    record_type: str
    product: tuple[str, str, str, Decimal, Decimal]  # id, item code, name, unit cost, unit sales
    start: date
    start_period: int
    term_months: int | None
    cancel_period: int | None
    lines: list[list[tuple[date, int, Decimal, Decimal]]] = field(default_factory=list)
    """Per period: (billing date, quantity, total cost, total sales) of each line."""


def generate_bundle(
    dest: Path,
    *,
    subscriptions: int,
    seed: int = 0,
    first_company_id: int = 1000,
    periods: Sequence[str] = ("2026-09", "2026-10"),
    through: str | None = None,
) -> GeneratedBundle:
    """Write a bundle of ``subscriptions`` subscriptions over ``subscriptions // 10`` organizations.

    Organization ``i`` links to Autotask company ``first_company_id + i``. The bundle holds the
    reports of ``periods`` up to ``through`` (default: all); the data of each period does not
    depend on ``through``.
    """
    periods = tuple(periods)
    if subscriptions < 1:
        raise ValueError("subscriptions must be at least 1")
    if not periods or any(not _PERIOD.fullmatch(p) for p in periods) or list(periods) != sorted(set(periods)):
        raise ValueError(f"periods must be increasing YYYY-MM months, got {periods!r}")
    if through is None:
        last = len(periods) - 1
    elif through in periods:
        last = periods.index(through)
    else:
        raise ValueError(f"through must be one of {periods!r}, got {through!r}")
    rng = random.Random(seed)
    months = [_month(p) for p in periods]
    organizations = _organizations(rng, max(1, subscriptions // 10), first_company_id)
    price_list = _price_list(rng, max(40, min(5000, subscriptions // 10 + 40)))
    billed = price_list[: max(1, len(price_list) * 3 // 5)]
    plans = [
        _subscription(rng, kind, len(organizations), billed, months)
        for kind in _record_types(rng, subscriptions)
    ]
    azure_organizations = {plan.organization for plan in plans if plan.record_type != "CSP365"}

    root = Path(dest)
    (root / "billing").mkdir(parents=True, exist_ok=True)
    export = _add_days(months[last][1], 7)
    _write(
        root / "organizations.csv",
        ORGANIZATION_COLUMNS,
        ([org_id, name, number, str(company), "USD"] for org_id, name, number, company, _ in organizations),
    )
    _write(root / "services.csv", SERVICE_COLUMNS, _services(organizations, azure_organizations))
    _write(
        root / "price-list.csv",
        PRICE_LIST_COLUMNS,
        (
            [pid, code, name, str(cost), str(sales), "USD", "Monthly"]
            for pid, code, name, cost, sales in price_list
        ),
    )
    listed = [plan for plan in plans if plan.start_period <= last]
    _write(
        root / "subscriptions.csv",
        SUBSCRIPTION_COLUMNS,
        (_subscription_row(plan, organizations, last, export, months) for plan in listed),
    )
    reports = []
    total = 0
    for index in range(last + 1):
        file = f"billing/{periods[index]}.csv"
        reports.append([periods[index], _add_days(months[index][1], 6).isoformat(), file])
        rows = [row for plan in plans for row in _billing_rows(plan, organizations, index)]
        total += len(rows)
        _write(root / file, BILLING_COLUMNS, rows)
    _write(root / "reports.csv", REPORT_COLUMNS, reports)
    companies = tuple((company, name) for _, name, _, company, _ in organizations)
    return GeneratedBundle(root, companies, len(listed), total, periods[: last + 1])


def _record_types(rng: random.Random, count: int) -> list[str]:
    """Exactly the shares of :data:`RECORD_TYPE_SHARES`, in a shuffled order."""
    exact = [(kind, count * share / 100) for kind, share in RECORD_TYPE_SHARES]
    counts = {kind: int(value) for kind, value in exact}
    by_remainder = sorted(exact, key=lambda item: item[1] - int(item[1]), reverse=True)
    for kind, _ in by_remainder[: count - sum(counts.values())]:
        counts[kind] += 1
    kinds = [kind for kind, _ in RECORD_TYPE_SHARES for _ in range(counts[kind])]
    rng.shuffle(kinds)
    return kinds


def _organizations(
    rng: random.Random, count: int, first_company_id: int
) -> list[tuple[str, str, str, int, bool]]:
    """(id, unique name, customer number, company id, CSP service active) per organization."""
    result = []
    for index in range(count):
        name = f"{rng.choice(_WORDS)} {rng.choice(_TRADES)} {index + 1:05d}"
        result.append(
            (
                f"SYN-{index + 1:06d}",
                name,
                f"S{index + 1:06d}",
                first_company_id + index,
                rng.random() >= 0.02,
            )
        )
    return result


def _services(organizations: list[tuple[str, str, str, int, bool]], azure: set[int]) -> Iterable[list[str]]:
    for index, (org_id, _, _, _, csp_active) in enumerate(organizations):
        yield [org_id, "Microsoft CSP 365", "Active" if csp_active else "Inactive"]
        if index in azure:
            yield [org_id, "Microsoft Azure", "Active"]
        yield [org_id, "Datto Autotask", "Active"]


def _price_list(rng: random.Random, count: int) -> list[tuple[str, str, str, Decimal, Decimal]]:
    """(product id, item code, name, unit cost, unit sales); the billed ones come first after a shuffle."""
    result = []
    for index in range(count):
        base, price = _CSP_PRODUCTS[index % len(_CSP_PRODUCTS)]
        variant, factor = _VARIANTS[(index // len(_CSP_PRODUCTS)) % len(_VARIANTS)]
        edition = index // (len(_CSP_PRODUCTS) * len(_VARIANTS))
        name = base + variant + (f" Edition {edition + 1}" if edition else "")
        sales = (Decimal(price) * Decimal(factor)).quantize(_PRICE, ROUND_HALF_UP)
        cost = (sales * Decimal(rng.randint(80, 90)) / 100).quantize(_PRICE, ROUND_HALF_UP)
        product_id = f"CFQ7TTC{index:05X}:{1 + index % 3:04d}"
        result.append((product_id, f"{product_id}:P1Y", name, cost, sales))
    rng.shuffle(result)
    return result


def _subscription(
    rng: random.Random,
    kind: str,
    organizations: int,
    billed: list[tuple[str, str, str, Decimal, Decimal]],
    months: list[tuple[date, date]],
) -> _Subscription:
    """Draw one subscription and its lines for every period (independent of the export date)."""
    count = len(months)
    subscription_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    organization = rng.randrange(organizations)
    product, term = _product(rng, kind, billed)
    start_period = rng.randrange(count) if kind == "PerpetualLicense" or rng.random() < 0.08 else -1
    if start_period >= 0:
        first, end = months[start_period]
        start = first.replace(day=rng.randint(8 if start_period else 1, 28))
    else:
        start = _add_days(months[0][0], -rng.randint(1, 900))
    cancel = None
    if kind != "PerpetualLicense" and count > 1 and max(start_period, 0) < count - 1 and rng.random() < 0.03:
        cancel = rng.randint(max(start_period, 0) + 1, count - 1)
    plan = _Subscription(subscription_id, organization, kind, product, start, start_period, term, cancel)
    quantity = _quantity(rng) if kind != "Azure" else 1
    for index, (first, end) in enumerate(months):
        billed_now = index >= start_period and (cancel is None or index < cancel)
        if kind == "PerpetualLicense":
            billed_now = index == start_period
        if index > 0 and kind == "CSP365" and rng.random() < 0.10:
            quantity = max(1, quantity + rng.choice((-3, -2, -1, 1, 2, 3, 5, 10)))
        plan.lines.append(_lines(rng, plan, quantity, index, first, end) if billed_now else [])
    return plan


def _product(
    rng: random.Random, kind: str, billed: list[tuple[str, str, str, Decimal, Decimal]]
) -> tuple[tuple[str, str, str, Decimal, Decimal], int | None]:
    """The product a subscription is for, and its term in months (``None``: no end date)."""
    if kind == "CSP365":
        product_id, item_code, name, cost, sales = rng.choice(billed)
        if rng.random() < 0.8:
            return (product_id, item_code, name, cost, sales), 12
        return (product_id, item_code.replace(":P1Y", ":P1M"), name, cost, sales), 1
    if kind == "Azure":
        if rng.random() < 0.85:
            return ("DZH318Z0BPS6:0001", "DZH318Z0BPS6:0001", "Azure Plan", Decimal(0), Decimal(0)), None
        return ("MS-AZR-0145P", "MS-AZR-0145P", "Azure Classic", Decimal(0), Decimal(0)), None
    catalog, prefix, low, high = _CATALOGS[kind]
    term = None if kind == "PerpetualLicense" else 12
    choice = rng.randrange(len(catalog))
    sales = Decimal(rng.randint(low, high)) / 100
    cost = (sales * Decimal("0.88")).quantize(_PRICE, ROUND_HALF_UP)
    product_id = f"{prefix}:{choice + 1:04d}"
    return (product_id, product_id, catalog[choice], cost, sales.quantize(_PRICE)), term


def _quantity(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(1, 10)
    return rng.randint(11, 50) if roll < 0.9 else rng.randint(51, 300)


def _lines(
    rng: random.Random, plan: _Subscription, quantity: int, index: int, first: date, end: date
) -> list[tuple[date, int, Decimal, Decimal]]:
    """The billing lines of one subscription in one month."""
    _, _, _, cost, sales = plan.product
    if plan.record_type == "Azure":
        result = []
        for _ in range(rng.randint(1, 6)):
            amount = Decimal(rng.randint(50, 200_000)) / 100
            result.append((end, 1, (amount * Decimal("0.87")).quantize(_CENT, ROUND_HALF_UP), amount))
        return result
    if plan.record_type != "CSP365":
        day = plan.start if plan.record_type == "PerpetualLicense" else first
        return [(day, quantity, _total(quantity, cost), _total(quantity, sales))]
    days = end.day
    if index == plan.start_period:
        share = days - plan.start.day + 1
        return [
            (plan.start, quantity, _total(quantity, cost, share, days), _total(quantity, sales, share, days))
        ]
    if quantity > 1 and rng.random() < 0.04:
        change = rng.randint(8, 25)
        before = rng.randint(1, quantity - 1)
        head, tail = change - 1, days - change + 1
        return [
            (first, before, _total(before, cost, head, days), _total(before, sales, head, days)),
            (
                first.replace(day=change),
                quantity,
                _total(quantity, cost, tail, days),
                _total(quantity, sales, tail, days),
            ),
        ]
    return [(first, quantity, _total(quantity, cost), _total(quantity, sales))]


def _total(quantity: int, unit: Decimal, share: int = 1, days: int = 1) -> Decimal:
    """Quantity × unit price × the share of the month, rounded half-up to the cent."""
    return (quantity * unit * share / days).quantize(_CENT, ROUND_HALF_UP)


def _subscription_row(
    plan: _Subscription,
    organizations: list[tuple[str, str, str, int, bool]],
    last: int,
    export: date,
    months: list[tuple[date, date]],
) -> list[str]:
    """The subscription as the export made on ``export`` lists it."""
    product_id, item_code, name, _, _ = plan.product
    billed = [lines for lines in plan.lines[: last + 1] if lines]
    quantity = (
        max((line[1] for line in billed[-1]), default=0) if billed and plan.record_type != "Azure" else 1
    )
    status = "Active"
    end: date | None = None
    if plan.cancel_period is not None and plan.cancel_period - 1 <= last:
        status, end = "Cancelled", months[plan.cancel_period - 1][1]
    elif plan.term_months is not None:
        terms = 1
        while _add_months(plan.start, plan.term_months * terms) <= export:
            terms += 1
        end = _add_days(_add_months(plan.start, plan.term_months * terms), -1)
    frequency = "One-time" if plan.record_type == "PerpetualLicense" else "Monthly"
    return [
        plan.subscription_id,
        organizations[plan.organization][0],
        plan.record_type,
        product_id,
        item_code,
        name,
        str(quantity),
        plan.start.isoformat(),
        end.isoformat() if end else "",
        status,
        frequency,
    ]


def _billing_rows(
    plan: _Subscription, organizations: list[tuple[str, str, str, int, bool]], index: int
) -> Iterable[list[str]]:
    org_id, org_name, number, _, _ = organizations[plan.organization]
    product_id, item_code, name, unit_cost, unit_sales = plan.product
    service = "Microsoft CSP 365" if plan.record_type == "CSP365" else "Microsoft Azure"
    frequency = "One-time" if plan.record_type == "PerpetualLicense" else "Monthly"
    for day, quantity, cost, sales in plan.lines[index]:
        if plan.record_type == "Azure":
            unit_cost, unit_sales = cost, sales
        yield [
            day.isoformat(),
            service,
            org_id,
            org_name,
            number,
            name,
            item_code,
            product_id,
            str(quantity),
            str(unit_cost),
            str(unit_sales),
            str(cost),
            str(sales),
            "USD",
            frequency,
            plan.subscription_id,
            name,
            plan.record_type,
        ]


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _month(period: str) -> tuple[date, date]:
    """First and last day of a ``YYYY-MM`` period."""
    year, month = int(period[:4]), int(period[5:])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (like a Microsoft term)."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
