"""Cloudmore JSON → billsync's source model, through the property names of a :class:`Names` mapping.

Each value is checked as strictly as the export-bundle reader checks a CSV cell, and a bad one raises
:class:`~engine.errors.SourceError` naming the endpoint, the item and the property. Values: text is
stripped of surrounding spaces; amounts are JSON numbers read as exact ``Decimal`` (or decimal
strings), never ``float``; dates are ``YYYY-MM-DD``, optionally followed by a time
(``2026-09-01T00:00:00Z``), of which only the calendar date is kept; quantities are whole numbers.

The monthly report is nested as Cloudmore's ``Mbpo*`` models are: organization → service → item (a
subscription) → product (a billing line); :func:`report_lines` flattens it into billing lines.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from engine.errors import SourceError
from engine.source import (
    RECORD_TYPES,
    BillingLine,
    Organization,
    OrganizationService,
    PriceListItem,
    RecordType,
    Subscription,
)
from providers.cloudmore.api_names import Names
from providers.cloudmore.bundle import AZURE_KINDS, SERVICE_STATUSES

__all__ = [
    "AUTOTASK_COMPANY_PROPERTY",
    "ORGANIZATIONS_QUERY",
    "Item",
    "ServiceEntry",
    "created_organization_id",
    "organization_from_json",
    "organization_request",
    "organization_update",
    "price_from_json",
    "report_lines",
    "report_request",
    "service_from_json",
    "subscription_from_json",
]

# -- OAuth2 token answer (documented: standard OAuth2; not part of the overridable mapping) ----------
TOKEN_ACCESS = "access_token"
TOKEN_EXPIRES_IN = "expires_in"
"""Seconds the token lives (Cloudmore documents 24 hours)."""
TOKEN_ERROR = "error"
TOKEN_ERROR_DESCRIPTION = "error_description"

AUTOTASK_COMPANY_PROPERTY = "AutotaskCompanyID"
"""The organization custom property linking an Autotask company (documented name, D1)."""
ORGANIZATIONS_QUERY = {"showActive": "false"}
"""``showActive`` is documented; ``false`` is read as "do not filter on active" (unverified): billing
lines of an organization made inactive must still resolve."""

_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_CURRENCY = re.compile(r"[A-Z]{3}")
_WHOLE = re.compile(r"[0-9]{1,10}")
_INT32_MAX = 2_147_483_647
_SHOWN = 40


@dataclass(frozen=True)
class ServiceEntry:
    """A service of the broker's catalogue: its id (for its subscriptions and price list) and name."""

    service_id: str
    name: str


class Item:
    """One JSON object of an answer, with typed accessors whose errors name the endpoint, item and property."""

    __slots__ = ("data", "source", "index")

    def __init__(self, data: Any, source: str, index: int) -> None:
        self.source = source
        self.index = index
        if not isinstance(data, dict):
            raise SourceError(
                f"expected a JSON object, found {_kind(data)}", file=source, record=f"item {index}"
            )
        self.data: dict[str, Any] = data

    @property
    def origin(self) -> str:
        """``<path>#<n>``: kept on every model so a later error can point back at this item."""
        return f"{self.source}#{self.index}"

    def error(self, name: str, message: str) -> SourceError:
        return SourceError(message, file=self.source, record=f"item {self.index}, property {name!r}")

    def text(self, name: str) -> str:
        """A string (an integer is taken as its digits); absent or null is empty."""
        value = self.data.get(name)
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.error(name, f"expected text, found {_kind(value)}")
        return value.strip()

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            raise self.error(name, "expected a value, found nothing")
        return value

    def decimal(self, name: str) -> Decimal:
        """An exact amount: a JSON number (read as Decimal) or a decimal string; negative allowed."""
        value = self.data.get(name)
        if isinstance(value, Decimal) and value.is_finite():
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            try:
                return Decimal(value.strip())
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
                pass
        raise self.error(name, f"expected an amount (like 12.50 or -3.2500), found {_show(value)}")

    def price(self, name: str) -> Decimal:
        amount = self.decimal(name)
        if amount < 0:
            raise self.error(name, f"expected a price of 0 or more, found {amount}")
        return amount

    def day(self, name: str) -> date:
        value = self.data.get(name)
        match = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
        if match:
            try:
                return date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                pass
        raise self.error(name, f"expected a date as YYYY-MM-DD (like 2026-10-01), found {_show(value)}")

    def optional_day(self, name: str) -> date | None:
        value = self.data.get(name)
        return None if value is None or value == "" else self.day(name)

    def quantity(self, name: str) -> int:
        value = self.data.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _INT32_MAX:
            return value
        if isinstance(value, str) and _WHOLE.fullmatch(value.strip()) and int(value) <= _INT32_MAX:
            return int(value)
        raise self.error(name, f"expected a whole number of units, 0 or more, found {_show(value)}")

    def currency(self, name: str) -> str:
        value = self.text(name)
        if not _CURRENCY.fullmatch(value):
            raise self.error(
                name, f"expected a currency code of three upper-case letters, found {_show(value)}"
            )
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in allowed:
            raise self.error(name, f"expected one of {', '.join(allowed)}, found {_show(value)}")
        return value

    def items(self, name: str) -> list[Item]:
        """A list of JSON objects (absent or null: none)."""
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(name, f"expected a list, found {_kind(value)}")
        where = f"{self.origin}.{name}"
        return [Item(entry, where, number) for number, entry in enumerate(value, start=1)]


def organization_from_json(item: Item, n: Names) -> tuple[Organization, tuple[OrganizationService, ...]]:
    """An organization and its services (the services' order is the answer's order)."""
    org = n.organization
    organization_id = item.required(org.id)
    services = []
    for entry in item.items(org.services):
        services.append(
            OrganizationService(
                organization_id=organization_id,
                service_name=entry.required(n.organization_service.name),
                active=entry.choice(n.organization_service.status, SERVICE_STATUSES) == "Active",
                origin=entry.origin,
            )
        )
    organization = Organization(
        organization_id=organization_id,
        name=item.required(org.name),
        customer_number=item.text(org.customer_number),
        autotask_company_id=_autotask_company_id(item, n),
        currency=item.currency(org.currency),
        origin=item.origin,
    )
    return organization, tuple(services)


def service_from_json(item: Item, n: Names) -> ServiceEntry:
    return ServiceEntry(service_id=item.required(n.service.id), name=item.text(n.service.name))


def subscription_from_json(item: Item, n: Names) -> Subscription | None:
    """A subscription, or ``None`` for a record type billsync does not bill (another service's)."""
    sub = n.subscription
    record_type = item.required(sub.record_type)
    if record_type not in RECORD_TYPES:
        return None
    product_name = item.required(sub.product_name)
    if record_type == "Azure" and product_name not in AZURE_KINDS:
        raise item.error(
            sub.product_name,
            f"an Azure subscription names its kind in its product name: expected 'Azure Plan' or "
            f"'Azure Classic', found {_show(product_name)}",
        )
    start_date = item.day(sub.start_date)
    end_date = item.optional_day(sub.end_date)
    if end_date is not None and end_date < start_date:
        raise item.error(
            sub.end_date,
            f"the end date {end_date.isoformat()} is before the start date {start_date.isoformat()}",
        )
    return Subscription(
        subscription_id=item.required(sub.id),
        organization_id=item.required(sub.organization_id),
        record_type=record_type,
        product_id=item.required(sub.product_id),
        item_code=item.text(sub.item_code),
        product_name=product_name,
        quantity=item.quantity(sub.quantity),
        start_date=start_date,
        end_date=end_date,
        status=item.text(sub.status),
        billing_frequency=item.text(sub.billing_frequency),
        origin=item.origin,
    )


def price_from_json(item: Item, n: Names) -> PriceListItem:
    price = n.price
    return PriceListItem(
        product_id=item.required(price.product_id),
        item_code=item.text(price.item_code),
        product_name=item.required(price.product_name),
        unit_cost_price=item.price(price.unit_cost),
        unit_sales_price=item.price(price.unit_sales),
        currency=item.currency(price.currency),
        payment_frequency=item.text(price.payment_frequency),
        origin=item.origin,
    )


def report_request(first: date, last: date, n: Names) -> dict[str, str]:
    """The body that starts generating the report of the days ``first``..``last`` (one month)."""
    return {n.report.start_date: first.isoformat(), n.report.end_date: last.isoformat()}


def report_lines(report: Item, n: Names, label: str) -> list[tuple[Item, BillingLine]]:
    """The report's billing lines, organization by organization, each with the product it came from.

    Lines of record types billsync does not bill (another service's) are left out; ``label`` starts
    every line's origin (``<label> line <n>``, numbered over all products in answer order).
    """
    found: list[tuple[Item, BillingLine]] = []
    number = 0
    for organization in report.items(n.report.organizations):
        organization_id = organization.required(n.report_organization.id)
        for service in organization.items(n.report_organization.services):
            service_name = service.required(n.report_service.name)
            for entry in service.items(n.report_service.items):
                record_type = entry.required(n.report_item.record_type)
                for product in entry.items(n.report_item.products):
                    number += 1
                    if record_type not in RECORD_TYPES:
                        continue
                    found.append(
                        (
                            product,
                            _line(
                                product,
                                n,
                                f"{label} line {number}",
                                organization,
                                organization_id,
                                service_name,
                                entry,
                                record_type,
                            ),
                        )
                    )
    return found


def _line(
    product: Item,
    n: Names,
    origin: str,
    organization: Item,
    organization_id: str,
    service_name: str,
    entry: Item,
    record_type: str,
) -> BillingLine:
    p = n.report_product
    return BillingLine(
        billing_date=product.day(p.billing_date),
        service_name=service_name,
        organization_id=organization_id,
        organization_name=organization.text(n.report_organization.name),
        customer_number=organization.text(n.report_organization.customer_number),
        product_name=product.required(p.product_name),
        item_code=product.text(p.item_code),
        product_id=product.required(p.product_id),
        quantity=product.quantity(p.quantity),
        unit_cost_price=product.decimal(p.unit_cost),
        unit_sales_price=product.decimal(p.unit_sales),
        total_cost=product.decimal(p.total_cost),
        total_sales=product.decimal(p.total_sales),
        currency=product.currency(p.currency),
        payment_frequency=product.text(p.payment_frequency),
        subscription_id=entry.required(n.report_item.subscription_id),
        subscription_name=entry.text(n.report_item.subscription_name),
        record_type=cast(RecordType, record_type),
        origin=origin,
    )


def organization_request(
    name: str, customer_number: str, autotask_company_id: int, n: Names
) -> dict[str, Any]:
    """The body that creates an organization linked to an Autotask company (D1, D2)."""
    return {
        n.organization.name: name,
        n.organization.customer_number: customer_number,
        n.organization.custom_properties: [_company_property(autotask_company_id, n)],
    }


def organization_update(current: Item, autotask_company_id: int, n: Names) -> dict[str, Any]:
    """The body of ``PUT …/Organizations/{id}``: the organization as read, every field kept, with its
    ``AutotaskCompanyID`` custom property set (replaced, or added when it had none)."""
    body = copy.deepcopy(current.data)
    kept = [
        entry
        for entry in current.items(n.organization.custom_properties)
        if entry.text(n.custom_property.name) != AUTOTASK_COMPANY_PROPERTY
    ]
    body[n.organization.custom_properties] = [copy.deepcopy(entry.data) for entry in kept] + [
        _company_property(autotask_company_id, n)
    ]
    return body


def created_organization_id(item: Item, n: Names) -> str:
    """The id of the organization Cloudmore just created, from its answer."""
    return item.required(n.organization.id)


def _company_property(company_id: int, n: Names) -> dict[str, str]:
    return {n.custom_property.name: AUTOTASK_COMPANY_PROPERTY, n.custom_property.value: str(company_id)}


def _autotask_company_id(item: Item, n: Names) -> int | None:
    """The ``AutotaskCompanyID`` custom property: a positive whole number, or ``None`` when unset (D1)."""
    for entry in item.items(n.organization.custom_properties):
        if entry.text(n.custom_property.name) != AUTOTASK_COMPANY_PROPERTY:
            continue
        value = entry.text(n.custom_property.value)
        if not value:
            return None
        if _WHOLE.fullmatch(value) and 0 < int(value) <= _INT32_MAX:
            return int(value)
        raise entry.error(
            n.custom_property.value,
            f"the {AUTOTASK_COMPANY_PROPERTY} custom property must be an Autotask company id (a positive whole "
            f"number like 101) or empty, found {_show(value)}",
        )
    return None


def _show(value: Any) -> str:
    """Quote a found value for a message: shortened, and ``nothing`` for null or empty."""
    if value is None or value == "":
        return "nothing"
    text = repr(value) if not isinstance(value, Decimal) else str(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(value), "a number")
