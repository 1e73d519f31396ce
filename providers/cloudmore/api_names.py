"""Every JSON property name billsync reads from or sends to Cloudmore, in one model a workspace can override.

Cloudmore's swagger document (v1.07.0) has the property names of its models, but no public copy of
it could be read, so each default below is billsync's best reading of the public documentation and
is **unverified** unless its comment says otherwise. A real account may spell a name differently: a
``cloudmore.mapping`` file named in ``billsync.yaml`` renames any of them without code, for example::

    # cloudmore-mapping.yaml
    subscription:
      quantity: seats
    report_product:
      unit_sales: unitSalesPriceAmount

Only the names given change; a misspelt group or key is an error naming it. ``billsync cloudmore
capture DIR`` shows which names a real account's answers hold and which are missing.

The emulator (:mod:`providers.cloudmore.emulator`) answers with these same names (the shipped ones,
or any :class:`Names` a test hands it), so reader and emulator stay in step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.errors import ConfigError

__all__ = ["Names", "load_names", "mapped_names"]

_MAX_MAPPING_BYTES = 256 * 1024


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PagingNames(_Group):
    """A paged list (unverified: Cloudmore documents no paging). A bare JSON array is one whole page."""

    page: str = "page"
    """1-based page number, a query parameter."""
    page_size: str = "pageSize"
    """Query parameter."""
    items: str = "items"
    total: str = "totalCount"


class OrganizationNames(_Group):
    """``GET/PUT …/Organizations[/{id}]`` (``OrganizationViewModel`` and its update model)."""

    id: str = "id"
    name: str = "name"  # documented (create example)
    customer_number: str = "customerNumber"  # documented (create example)
    currency: str = "currencyCode"
    custom_properties: str = "customProperties"
    services: str = "services"


class CustomPropertyNames(_Group):
    """One entry of an organization's custom properties (``DetailViewCustomProperty``)."""

    name: str = "name"
    value: str = "value"


class OrganizationServiceNames(_Group):
    """One entry of an organization's services: its name and ``Active``/``Inactive``."""

    name: str = "name"
    status: str = "status"


class ServiceNames(_Group):
    """``GET …/services`` (``ResellerServiceViewModel``)."""

    id: str = "id"
    name: str = "name"


class SubscriptionNames(_Group):
    """``GET …/services/{serviceId}/subscriptions`` and ``…/services/azure/Subscriptions``."""

    id: str = "id"
    organization_id: str = "organizationId"
    record_type: str = "recordType"
    product_id: str = "productId"
    item_code: str = "itemCode"
    product_name: str = "productName"
    quantity: str = "quantity"
    start_date: str = "startDate"
    end_date: str = "endDate"
    status: str = "status"
    billing_frequency: str = "billingFrequency"


class PriceNames(_Group):
    """``GET …/services/{serviceId}/pricelist`` and the organization's own (``…PriceListViewModel``)."""

    currency_param: str = "currencyCode"  # documented query parameter (CM-SDK)
    product_id: str = "productId"
    item_code: str = "itemCode"
    product_name: str = "productName"
    unit_cost: str = "unitCostPrice"
    unit_sales: str = "unitSalesPrice"
    currency: str = "currencyCode"
    payment_frequency: str = "paymentFrequency"


class ReportNames(_Group):
    """``POST …/MonthlyBillingPerOrganizationAsync`` and ``GET …/{taskId}``.

    The request's date range is inferred from the synchronous twin (``startDate``/``endDate``). The
    answer to the ``POST`` carries the task id in ``task_id`` or a ``Location`` header; the ``GET``
    answers HTTP 202 (or a ``status`` among ``pending``) while the report is generated, and the report
    itself when it is done.
    """

    start_date: str = "startDate"
    end_date: str = "endDate"
    task_id: str = "taskId"
    status: str = "status"
    message: str = "message"
    pending: tuple[str, ...] = ("Queued", "Processing", "InProgress", "Pending")
    failed: tuple[str, ...] = ("Failed", "Error")
    organizations: str = "organizations"


class ReportOrganizationNames(_Group):
    """``MbpoOrganizationViewModel``: one organization of the report."""

    id: str = "organizationId"
    name: str = "organizationName"
    customer_number: str = "customerNumber"
    services: str = "services"


class ReportServiceNames(_Group):
    """``MbpoServiceViewModel``: one service of an organization in the report."""

    name: str = "serviceName"
    items: str = "items"


class ReportItemNames(_Group):
    """``MbpoServiceItemViewModel``: one subscription of a service in the report."""

    subscription_id: str = "subscriptionId"
    subscription_name: str = "subscriptionName"
    record_type: str = "recordType"
    products: str = "products"


class ReportProductNames(_Group):
    """``MbpoProductViewModel``: one billing line of a subscription."""

    billing_date: str = "billingDate"
    product_name: str = "productName"
    item_code: str = "itemCode"
    product_id: str = "productId"
    quantity: str = "quantity"
    unit_cost: str = "unitCostPrice"
    unit_sales: str = "unitSalesPrice"
    total_cost: str = "totalCost"
    total_sales: str = "totalSales"
    currency: str = "currencyCode"
    payment_frequency: str = "paymentFrequency"


class Names(_Group):
    """All the names, by model. ``Names()`` is the shipped mapping."""

    paging: PagingNames = PagingNames()
    organization: OrganizationNames = OrganizationNames()
    custom_property: CustomPropertyNames = CustomPropertyNames()
    organization_service: OrganizationServiceNames = OrganizationServiceNames()
    service: ServiceNames = ServiceNames()
    subscription: SubscriptionNames = SubscriptionNames()
    price: PriceNames = PriceNames()
    report: ReportNames = ReportNames()
    report_organization: ReportOrganizationNames = ReportOrganizationNames()
    report_service: ReportServiceNames = ReportServiceNames()
    report_item: ReportItemNames = ReportItemNames()
    report_product: ReportProductNames = ReportProductNames()
    error_message: str = Field(default="message", description="Cloudmore's explanation in an error body")


SENT_ONLY = frozenset(
    {
        ("paging", "page"),
        ("paging", "page_size"),
        ("price", "currency_param"),
        ("report", "start_date"),
        ("report", "end_date"),
    }
)
"""Names billsync only sends: an answer never shows them, so a capture cannot check them."""

OPTIONAL = frozenset(
    {
        ("paging", "items"),
        ("paging", "total"),
        ("report", "task_id"),
        ("report", "status"),
        ("report", "message"),
        ("organization", "customer_number"),
        ("subscription", "end_date"),
        ("subscription", "item_code"),
        ("price", "item_code"),
        ("report_product", "item_code"),
        ("report_organization", "customer_number"),
        ("report_item", "subscription_name"),
    }
)
"""Names an answer may rightly lack (a bare array has no envelope, a task id may come in a header, a
value may be empty): a capture lists them as "not seen", not as missing."""


def mapped_names(names: Names) -> Iterator[tuple[str, str, str]]:
    """Every (group, key, JSON name) of the mapping that names a property, in declaration order."""
    for group, value in names:
        if isinstance(value, _Group):
            for key, name in value:
                if isinstance(name, str):
                    yield group, key, name
        elif isinstance(value, str):
            yield "", group, value


def load_names(path: Path) -> Names:
    """The shipped mapping with the renames of a YAML mapping file; errors name the file and key."""
    try:
        size = path.stat().st_size
        if size > _MAX_MAPPING_BYTES:
            raise ConfigError(
                f"{path}: a Cloudmore mapping file is at most 256 KiB, this one is {size} bytes"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the Cloudmore mapping file ({exc.strerror or type(exc).__name__})",
            hint="cloudmore.mapping in billsync.yaml names a YAML file relative to the workspace.",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the Cloudmore mapping file is not UTF-8 text") from None
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the Cloudmore mapping file is not valid YAML ({exc})") from None
    if raw is None:
        return Names()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a Cloudmore mapping file is a YAML mapping of groups to renames")
    try:
        return Names.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        known = ", ".join(name for name in Names.model_fields)
        raise ConfigError(
            f"{path}: {where}: {first['msg']}",
            hint=f"Groups are {known}; each key is one property (see providers/cloudmore/api_names.py).",
        ) from None
