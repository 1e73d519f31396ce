"""Cloudmore JSON → billsync's source model: every JSON property name billsync reads, in one place.

Cloudmore does not publish its response schemas, so each name below is billsync's best reading of
the public documentation and is **unverified** unless marked otherwise. A difference found on a real
account is a one-line change here; the emulator (:mod:`providers.cloudmore.emulator`) builds its
answers from these same names, so it follows. Each value is checked as strictly as the export-bundle
reader checks a CSV cell, and a bad one raises :class:`~engine.errors.SourceError` naming the
endpoint, the item and the property.

Values: text is stripped of surrounding spaces; amounts are JSON numbers read as exact ``Decimal``
(or decimal strings), never ``float``; dates are ``YYYY-MM-DD``, optionally followed by a time
(``2026-09-01T00:00:00Z``), of which only the calendar date is kept; quantities are whole numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from engine.errors import SourceError
from engine.source import (
    BillingLine,
    Organization,
    OrganizationService,
    PriceListItem,
    RecordType,
    Subscription,
)
from providers.cloudmore.bundle import AZURE_KINDS, RECORD_TYPES, SERVICE_STATUSES

__all__ = [
    "Item",
    "Publication",
    "ReportTask",
    "ServiceEntry",
    "billing_line_from_json",
    "created_organization_id",
    "custom_property_request",
    "organization_request",
    "organization_from_json",
    "price_from_json",
    "publication_from_json",
    "report_request",
    "service_from_json",
    "subscription_from_json",
    "task_from_json",
]

# -- OAuth2 token answer (documented: standard OAuth2) ----------------------------------------------
TOKEN_ACCESS = "access_token"
TOKEN_EXPIRES_IN = "expires_in"
"""Seconds the token lives (Cloudmore documents 24 hours)."""
TOKEN_ERROR = "error"
TOKEN_ERROR_DESCRIPTION = "error_description"

# -- Paging (unverified) ----------------------------------------------------------------------------
PAGE_PARAM = "page"
"""1-based page number, sent as a query parameter."""
PAGE_SIZE_PARAM = "pageSize"
PAGE_ITEMS = "items"
PAGE_TOTAL = "totalCount"
"""How many items all pages hold together; a bare JSON array answer is read as one complete page."""
ERROR_MESSAGE = "message"
"""Cloudmore's explanation in an error answer's JSON body."""

# -- Organization: GET /api/resellers/{id}/organizations --------------------------------------------
ORGANIZATIONS_QUERY = {"showActive": "false"}
"""``showActive=false`` is read as "do not filter on active": billing lines of an organization made
inactive must still resolve (unverified)."""
ORG_ID = "id"  # → Organization.organization_id
ORG_NAME = "name"  # → Organization.name
ORG_CUSTOMER_NUMBER = "customerNumber"  # → Organization.customer_number (may be absent)
ORG_CURRENCY = "currencyCode"  # → Organization.currency (ISO 4217)
ORG_CUSTOM_PROPERTIES = "customProperties"  # a list of {name, value}
CUSTOM_PROPERTY_NAME = "name"
CUSTOM_PROPERTY_VALUE = "value"
AUTOTASK_COMPANY_PROPERTY = "AutotaskCompanyID"  # → Organization.autotask_company_id (documented name, D1)
ORG_SERVICES = "services"  # the organization's services: a list of {name, status} → OrganizationService
ORG_SERVICE_NAME = "name"  # → OrganizationService.service_name
ORG_SERVICE_STATUS = "status"  # "Active" or "Inactive" → OrganizationService.active

# -- Onboarding writes (D2; unverified): POST …/organizations with the organization's name, customer
# number and custom properties as read above (the answer is the new organization, its id in ORG_ID);
# PUT …/organizations/{id}/customproperties/{name} with one value.
PROPERTY_VALUE = "value"

# -- Service catalogue: GET /api/resellers/{id}/services ----------------------------------------------
SERVICE_ID = "id"  # used to list the service's subscriptions
SERVICE_NAME = "name"

# -- Subscription: GET …/services/{serviceId}/subscriptions and …/services/azure/subscriptions ----------
SUB_ID = "id"  # → Subscription.subscription_id
SUB_ORGANIZATION_ID = "organizationId"  # → Subscription.organization_id
SUB_RECORD_TYPE = "recordType"  # → Subscription.record_type; other types (other services) are left out
SUB_PRODUCT_ID = "productId"  # → Subscription.product_id
SUB_ITEM_CODE = "itemCode"  # → Subscription.item_code
SUB_PRODUCT_NAME = "productName"  # → Subscription.product_name ("Azure Plan"/"Azure Classic" for Azure)
SUB_QUANTITY = "quantity"  # → Subscription.quantity
SUB_START_DATE = "startDate"  # → Subscription.start_date
SUB_END_DATE = "endDate"  # → Subscription.end_date (null: ongoing)
SUB_STATUS = "status"  # → Subscription.status
SUB_BILLING_FREQUENCY = "billingFrequency"  # → Subscription.billing_frequency

# -- Broker price list: GET /api/resellers/{id}/pricelist ----------------------------------------------
PRICE_PRODUCT_ID = "productId"  # → PriceListItem.product_id
PRICE_ITEM_CODE = "itemCode"  # → PriceListItem.item_code
PRICE_PRODUCT_NAME = "productName"  # → PriceListItem.product_name
PRICE_UNIT_COST = "unitCostPrice"  # → PriceListItem.unit_cost_price (0 or more)
PRICE_UNIT_SALES = "unitSalesPrice"  # → PriceListItem.unit_sales_price (0 or more)
PRICE_CURRENCY = "currencyCode"  # → PriceListItem.currency
PRICE_PAYMENT_FREQUENCY = "paymentFrequency"  # → PriceListItem.payment_frequency

# -- Published reports: GET …/billing/reports (one entry per publication; a revision is another) ------
PUBLICATION_ID = "id"  # passed back when the report is requested
PUBLICATION_PERIOD = "period"  # → Report.period (YYYY-MM)
PUBLICATION_AVAILABLE_ON = "availableOn"  # → Report.available_on

# -- Asynchronous report task: POST …/MonthlyBillingPerOrganizationAsync, then poll -----------------
REQUEST_PERIOD = "period"
REQUEST_REPORT_ID = "reportId"
TASK_ID = "taskId"
TASK_STATUS = "status"
TASK_LINE_COUNT = "lineCount"  # how many lines the finished report holds (checked after reading)
TASK_MESSAGE = "message"
TASK_DONE = "Completed"
TASK_FAILED = "Failed"
TASK_PENDING = ("Queued", "Processing")

# -- Billing line: GET …/MonthlyBillingPerOrganizationAsync/{taskId}/lines ------------------------------
LINE_BILLING_DATE = "billingDate"  # → BillingLine.billing_date
LINE_SERVICE_NAME = "serviceName"  # → BillingLine.service_name
LINE_ORGANIZATION_ID = "organizationId"  # → BillingLine.organization_id
LINE_ORGANIZATION_NAME = "organizationName"  # → BillingLine.organization_name
LINE_CUSTOMER_NUMBER = "customerNumber"  # → BillingLine.customer_number
LINE_PRODUCT_NAME = "productName"  # → BillingLine.product_name
LINE_ITEM_CODE = "itemCode"  # → BillingLine.item_code
LINE_PRODUCT_ID = "productId"  # → BillingLine.product_id
LINE_QUANTITY = "quantity"  # → BillingLine.quantity
LINE_UNIT_COST = "unitCostPrice"  # → BillingLine.unit_cost_price
LINE_UNIT_SALES = "unitSalesPrice"  # → BillingLine.unit_sales_price
LINE_TOTAL_COST = "totalCost"  # → BillingLine.total_cost (negative for a credit)
LINE_TOTAL_SALES = "totalSales"  # → BillingLine.total_sales (negative for a credit)
LINE_CURRENCY = "currencyCode"  # → BillingLine.currency
LINE_PAYMENT_FREQUENCY = "paymentFrequency"  # → BillingLine.payment_frequency
LINE_SUBSCRIPTION_ID = "subscriptionId"  # → BillingLine.subscription_id
LINE_SUBSCRIPTION_NAME = "subscriptionName"  # → BillingLine.subscription_name
LINE_RECORD_TYPE = "recordType"  # → BillingLine.record_type; lines of other services are left out

_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_PERIOD = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_CURRENCY = re.compile(r"[A-Z]{3}")
_WHOLE = re.compile(r"[0-9]{1,10}")
_INT32_MAX = 2_147_483_647
_SHOWN = 40


@dataclass(frozen=True)
class ServiceEntry:
    """A service of the broker's catalogue: its id (to list its subscriptions) and name."""

    service_id: str
    name: str


@dataclass(frozen=True)
class Publication:
    """One published monthly billing report (an original or a revision)."""

    report_id: str
    period: str
    available_on: date


@dataclass(frozen=True)
class ReportTask:
    """The state of an asynchronous report: pending, done (with its line count) or failed."""

    task_id: str
    status: str
    line_count: int | None
    message: str


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

    def period(self, name: str) -> str:
        value = self.text(name)
        if not _PERIOD.fullmatch(value):
            raise self.error(
                name, f"expected a billing month as YYYY-MM (like 2026-10), found {_show(value)}"
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


def organization_from_json(item: Item) -> tuple[Organization, tuple[OrganizationService, ...]]:
    """An organization and its services (the services' order is the answer's order)."""
    organization_id = item.required(ORG_ID)
    services = []
    for entry in item.items(ORG_SERVICES):
        services.append(
            OrganizationService(
                organization_id=organization_id,
                service_name=entry.required(ORG_SERVICE_NAME),
                active=entry.choice(ORG_SERVICE_STATUS, SERVICE_STATUSES) == "Active",
                origin=entry.origin,
            )
        )
    organization = Organization(
        organization_id=organization_id,
        name=item.required(ORG_NAME),
        customer_number=item.text(ORG_CUSTOMER_NUMBER),
        autotask_company_id=_autotask_company_id(item),
        currency=item.currency(ORG_CURRENCY),
        origin=item.origin,
    )
    return organization, tuple(services)


def service_from_json(item: Item) -> ServiceEntry:
    return ServiceEntry(service_id=item.required(SERVICE_ID), name=item.text(SERVICE_NAME))


def subscription_from_json(item: Item) -> Subscription | None:
    """A subscription, or ``None`` for a record type billsync does not bill (another service's)."""
    record_type = item.required(SUB_RECORD_TYPE)
    if record_type not in RECORD_TYPES:
        return None
    product_name = item.required(SUB_PRODUCT_NAME)
    if record_type == "Azure" and product_name not in AZURE_KINDS:
        raise item.error(
            SUB_PRODUCT_NAME,
            f"an Azure subscription names its kind in its product name: expected 'Azure Plan' or "
            f"'Azure Classic', found {_show(product_name)}",
        )
    start_date = item.day(SUB_START_DATE)
    end_date = item.optional_day(SUB_END_DATE)
    if end_date is not None and end_date < start_date:
        raise item.error(
            SUB_END_DATE,
            f"the end date {end_date.isoformat()} is before the start date {start_date.isoformat()}",
        )
    return Subscription(
        subscription_id=item.required(SUB_ID),
        organization_id=item.required(SUB_ORGANIZATION_ID),
        record_type=cast(RecordType, record_type),
        product_id=item.required(SUB_PRODUCT_ID),
        item_code=item.text(SUB_ITEM_CODE),
        product_name=product_name,
        quantity=item.quantity(SUB_QUANTITY),
        start_date=start_date,
        end_date=end_date,
        status=item.text(SUB_STATUS),
        billing_frequency=item.text(SUB_BILLING_FREQUENCY),
        origin=item.origin,
    )


def price_from_json(item: Item) -> PriceListItem:
    return PriceListItem(
        product_id=item.required(PRICE_PRODUCT_ID),
        item_code=item.text(PRICE_ITEM_CODE),
        product_name=item.required(PRICE_PRODUCT_NAME),
        unit_cost_price=item.price(PRICE_UNIT_COST),
        unit_sales_price=item.price(PRICE_UNIT_SALES),
        currency=item.currency(PRICE_CURRENCY),
        payment_frequency=item.text(PRICE_PAYMENT_FREQUENCY),
        origin=item.origin,
    )


def publication_from_json(item: Item) -> Publication:
    return Publication(
        report_id=item.required(PUBLICATION_ID),
        period=item.period(PUBLICATION_PERIOD),
        available_on=item.day(PUBLICATION_AVAILABLE_ON),
    )


def report_request(publication: Publication) -> dict[str, str]:
    """The body that starts generating one published report."""
    return {REQUEST_PERIOD: publication.period, REQUEST_REPORT_ID: publication.report_id}


def task_from_json(item: Item) -> ReportTask:
    status = item.required(TASK_STATUS)
    count = item.data.get(TASK_LINE_COUNT)
    return ReportTask(
        task_id=item.required(TASK_ID),
        status=status,
        line_count=item.quantity(TASK_LINE_COUNT) if count is not None else None,
        message=item.text(TASK_MESSAGE),
    )


def billing_line_from_json(item: Item, origin: str) -> BillingLine | None:
    """A billing line, or ``None`` for a record type billsync does not bill (another service's line)."""
    record_type = item.required(LINE_RECORD_TYPE)
    if record_type not in RECORD_TYPES:
        return None
    return BillingLine(
        billing_date=item.day(LINE_BILLING_DATE),
        service_name=item.required(LINE_SERVICE_NAME),
        organization_id=item.required(LINE_ORGANIZATION_ID),
        organization_name=item.text(LINE_ORGANIZATION_NAME),
        customer_number=item.text(LINE_CUSTOMER_NUMBER),
        product_name=item.required(LINE_PRODUCT_NAME),
        item_code=item.text(LINE_ITEM_CODE),
        product_id=item.required(LINE_PRODUCT_ID),
        quantity=item.quantity(LINE_QUANTITY),
        unit_cost_price=item.decimal(LINE_UNIT_COST),
        unit_sales_price=item.decimal(LINE_UNIT_SALES),
        total_cost=item.decimal(LINE_TOTAL_COST),
        total_sales=item.decimal(LINE_TOTAL_SALES),
        currency=item.currency(LINE_CURRENCY),
        payment_frequency=item.text(LINE_PAYMENT_FREQUENCY),
        subscription_id=item.required(LINE_SUBSCRIPTION_ID),
        subscription_name=item.text(LINE_SUBSCRIPTION_NAME),
        record_type=cast(RecordType, record_type),
        origin=origin,
    )


def organization_request(name: str, customer_number: str, autotask_company_id: int) -> dict[str, Any]:
    """The body that creates an organization linked to an Autotask company (D1, D2)."""
    return {
        ORG_NAME: name,
        ORG_CUSTOMER_NUMBER: customer_number,
        ORG_CUSTOM_PROPERTIES: [
            {CUSTOM_PROPERTY_NAME: AUTOTASK_COMPANY_PROPERTY, CUSTOM_PROPERTY_VALUE: str(autotask_company_id)}
        ],
    }


def custom_property_request(value: str) -> dict[str, str]:
    """The body that sets one custom property of an organization."""
    return {PROPERTY_VALUE: value}


def created_organization_id(item: Item) -> str:
    """The id of the organization Cloudmore just created, from its answer."""
    return item.required(ORG_ID)


def _autotask_company_id(item: Item) -> int | None:
    """The ``AutotaskCompanyID`` custom property: a positive whole number, or ``None`` when unset (D1)."""
    for entry in item.items(ORG_CUSTOM_PROPERTIES):
        if entry.text(CUSTOM_PROPERTY_NAME) != AUTOTASK_COMPANY_PROPERTY:
            continue
        value = entry.text(CUSTOM_PROPERTY_VALUE)
        if not value:
            return None
        if _WHOLE.fullmatch(value) and 0 < int(value) <= _INT32_MAX:
            return int(value)
        raise entry.error(
            CUSTOM_PROPERTY_VALUE,
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
