"""The emulator's data: a source model (read from an export bundle) turned into Cloudmore JSON.

Every property name comes from a :class:`~providers.cloudmore.api_names.Names` mapping (the shipped
one unless a test hands another), so the emulator answers in exactly the shapes billsync reads. The
shapes with the shipped names, one example each (dates as .NET writes them, ``YYYY-MM-DDT00:00:00``;
amounts as exact JSON numbers)::

    GET /api/resellers/{resellerId}/Organizations?showActive=false        (paged: see below)
      {"id": "ORG-1001", "name": "Contoso Ltd", "customerNumber": "C-1001", "currencyCode": "USD",
       "customProperties": [{"name": "AutotaskCompanyID", "value": "101"}],
       "services": [{"name": "Microsoft CSP 365", "status": "Active"}]}
    GET /api/resellers/{resellerId}/services
      {"id": "5b0f…", "name": "Microsoft CSP 365"}
    GET …/services/{serviceId}/subscriptions   (and …/services/azure/Subscriptions)
      {"id": "6f1c…01", "organizationId": "ORG-1001", "recordType": "CSP365", "productId": "…",
       "itemCode": "…", "productName": "Microsoft 365 Business Standard", "quantity": 15,
       "startDate": "2025-03-01T00:00:00", "endDate": "2027-02-28T00:00:00", "status": "Active",
       "billingFrequency": "Monthly"}
    GET …/services/{serviceId}/pricelist?currencyCode=USD   (and …/organizations/{id}/services/{serviceId}/pricelist)
      {"productId": "CFQ7TTC0LH18:0001", "itemCode": "…", "productName": "Microsoft 365 Business Basic",
       "unitCostPrice": 5.1000, "unitSalesPrice": 6.0000, "currencyCode": "USD", "paymentFrequency": "Monthly"}
    POST …/billing/reports/MonthlyBillingPerOrganizationAsync  {"startDate": "2026-09-01", "endDate": "2026-09-30"}
      → 202 {"taskId": "task-1"}, Location: …/MonthlyBillingPerOrganizationAsync/task-1
    GET …/MonthlyBillingPerOrganizationAsync/task-1  → 202 {"taskId": "task-1", "status": "Processing"}, then
      200 {"startDate": …, "endDate": …, "organizations": [
             {"organizationId": "ORG-1001", "organizationName": "Contoso Ltd", "customerNumber": "C-1001",
              "services": [{"serviceName": "Microsoft CSP 365", "items": [
                 {"subscriptionId": "6f1c…01", "subscriptionName": "…", "recordType": "CSP365", "products": [
                    {"billingDate": "2026-09-01T00:00:00", "productName": "…", "itemCode": "…", "productId": "…",
                     "quantity": 10, "unitCostPrice": 10.6250, "unitSalesPrice": 12.5000, "totalCost": 53.13,
                     "totalSales": 62.50, "currencyCode": "USD", "paymentFrequency": "Monthly"}]}]}]}]}

Onboarding writes (D2)::

    POST /api/resellers/{resellerId}/Organizations
      body {"name": "Litware, Inc.", "customerNumber": "C-106",
            "customProperties": [{"name": "AutotaskCompanyID", "value": "106"}]}
      → 201 the new organization as listed above (a new GUID id, the configured currency, no services)
    GET, then PUT /api/resellers/{resellerId}/Organizations/{organizationId}: the whole organization

Every list is paged: ``?page=1&pageSize=100`` → ``{"items": [...], "page": 1, "pageSize": 100,
"totalCount": 31}``. Subscriptions are listed under the service that sells them: CSP 365 under
``Microsoft CSP 365``, Azure plans under ``services/azure``, and the other Microsoft record types
under ``Microsoft Azure``, where the example bundle's billing lines put them. The whole broker price
list is the price list of ``Microsoft CSP 365`` (its products are the ones billsync prices, D10); the
other services have none, and no organization has its own prices until a test sets some. The report
of a month is the month's latest publication in the bundle, and is empty for a month it lacks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.source import (
    BillingLine,
    Organization,
    OrganizationService,
    PriceListItem,
    SourceData,
    Subscription,
)
from providers.cloudmore.api_mapping import AUTOTASK_COMPANY_PROPERTY
from providers.cloudmore.api_names import Names

__all__ = ["AZURE_SERVICE", "CSP_SERVICE", "Documents", "build_documents", "price_document", "service_id_of"]

CSP_SERVICE = "Microsoft CSP 365"
AZURE_SERVICE = "Microsoft Azure"
_SERVICE_OF = {"CSP365": CSP_SERVICE}
"""Record type → the service whose subscription list holds it; Azure has its own list; others: Azure."""
_IDS = uuid.UUID("8d6c1f0e-2b4a-4e59-9c3d-5a7e0b1c2d3f")


@dataclass
class Documents:
    """Everything the emulator serves, as JSON-ready values."""

    organizations: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Service id → its subscriptions."""
    azure_subscriptions: list[dict[str, Any]] = field(default_factory=list)
    price_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Service id → the broker's prices of its products."""
    organization_prices: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    """(organization id, service id) → the organization's own prices."""
    reports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Month (``YYYY-MM``) → the report's organizations (nested down to products)."""


def build_documents(data: SourceData, names: Names) -> Documents:
    """The JSON answers that make billsync's API source read ``data`` back."""
    n = names
    docs = Documents()
    services_of: dict[str, list[OrganizationService]] = {}
    for service in data.services:
        services_of.setdefault(service.organization_id, []).append(service)
    docs.organizations = [
        _organization(o, services_of.get(o.organization_id, []), n) for o in data.organizations
    ]
    listed = list(dict.fromkeys([s.service_name for s in data.services] + [CSP_SERVICE, AZURE_SERVICE]))
    service_ids = {name: str(uuid.uuid5(_IDS, name)) for name in listed}
    docs.services = [{n.service.id: service_ids[name], n.service.name: name} for name in listed]
    docs.subscriptions = {service_id: [] for service_id in service_ids.values()}
    docs.price_lists = {service_id: [] for service_id in service_ids.values()}
    for subscription in data.subscriptions:
        if subscription.record_type == "Azure":
            docs.azure_subscriptions.append(_subscription(subscription, n))
        else:
            seller = _SERVICE_OF.get(subscription.record_type, AZURE_SERVICE)
            docs.subscriptions[service_ids[seller]].append(_subscription(subscription, n))
    docs.price_lists[service_ids[CSP_SERVICE]] = [price_document(p, n) for p in data.price_list]
    latest: dict[str, tuple[date, tuple[BillingLine, ...]]] = {}
    for report in data.reports:
        if report.period not in latest or report.available_on > latest[report.period][0]:
            latest[report.period] = (report.available_on, report.lines)
    docs.reports = {period: _report(lines, n) for period, (_day_, lines) in latest.items()}
    return docs


def service_id_of(name: str) -> str:
    """The id the emulator gives the service called ``name`` (stable across runs)."""
    return str(uuid.uuid5(_IDS, name))


def price_document(price: PriceListItem, n: Names) -> dict[str, Any]:
    return {
        n.price.product_id: price.product_id,
        n.price.item_code: price.item_code,
        n.price.product_name: price.product_name,
        n.price.unit_cost: price.unit_cost_price,
        n.price.unit_sales: price.unit_sales_price,
        n.price.currency: price.currency,
        n.price.payment_frequency: price.payment_frequency,
    }


def _organization(
    organization: Organization, services: list[OrganizationService], n: Names
) -> dict[str, Any]:
    properties = []
    if organization.autotask_company_id is not None:
        properties.append(
            {
                n.custom_property.name: AUTOTASK_COMPANY_PROPERTY,
                n.custom_property.value: str(organization.autotask_company_id),
            }
        )
    return {
        n.organization.id: organization.organization_id,
        n.organization.name: organization.name,
        n.organization.customer_number: organization.customer_number,
        n.organization.currency: organization.currency,
        n.organization.custom_properties: properties,
        n.organization.services: [
            {
                n.organization_service.name: s.service_name,
                n.organization_service.status: "Active" if s.active else "Inactive",
            }
            for s in services
        ],
    }


def _subscription(subscription: Subscription, n: Names) -> dict[str, Any]:
    s = n.subscription
    return {
        s.id: subscription.subscription_id,
        s.organization_id: subscription.organization_id,
        s.record_type: subscription.record_type,
        s.product_id: subscription.product_id,
        s.item_code: subscription.item_code,
        s.product_name: subscription.product_name,
        s.quantity: subscription.quantity,
        s.start_date: _day(subscription.start_date),
        s.end_date: None if subscription.end_date is None else _day(subscription.end_date),
        s.status: subscription.status,
        s.billing_frequency: subscription.billing_frequency,
    }


def _report(lines: tuple[BillingLine, ...], n: Names) -> list[dict[str, Any]]:
    """The lines nested as the ``Mbpo*`` models nest them, each level in order of first appearance."""
    tree: dict[tuple[str, str, str], dict[str, dict[tuple[str, str, str], list[BillingLine]]]] = {}
    for line in lines:
        org_key = (line.organization_id, line.organization_name, line.customer_number)
        item_key = (line.subscription_id, line.subscription_name, line.record_type)
        tree.setdefault(org_key, {}).setdefault(line.service_name, {}).setdefault(item_key, []).append(line)
    return [
        {
            n.report_organization.id: org_id,
            n.report_organization.name: org_name,
            n.report_organization.customer_number: number,
            n.report_organization.services: [
                {
                    n.report_service.name: service_name,
                    n.report_service.items: [
                        {
                            n.report_item.subscription_id: sub_id,
                            n.report_item.subscription_name: sub_name,
                            n.report_item.record_type: record_type,
                            n.report_item.products: [_product(line, n) for line in products],
                        }
                        for (sub_id, sub_name, record_type), products in items.items()
                    ],
                }
                for service_name, items in services.items()
            ],
        }
        for (org_id, org_name, number), services in tree.items()
    ]


def _product(line: BillingLine, n: Names) -> dict[str, Any]:
    p = n.report_product
    return {
        p.billing_date: _day(line.billing_date),
        p.product_name: line.product_name,
        p.item_code: line.item_code,
        p.product_id: line.product_id,
        p.quantity: line.quantity,
        p.unit_cost: line.unit_cost_price,
        p.unit_sales: line.unit_sales_price,
        p.total_cost: line.total_cost,
        p.total_sales: line.total_sales,
        p.currency: line.currency,
        p.payment_frequency: line.payment_frequency,
    }


def _day(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"
