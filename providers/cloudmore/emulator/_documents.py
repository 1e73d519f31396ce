"""The emulator's data: a source model (read from an export bundle) turned into Cloudmore JSON.

Every property name comes from :mod:`providers.cloudmore.api_mapping`, so the emulator answers in
exactly the shapes billsync reads. The shapes, with one example each (dates are written as .NET
writes them, ``YYYY-MM-DDT00:00:00``; amounts as exact JSON numbers)::

    GET /api/resellers/{resellerId}/organizations?showActive=false      (paged: see below)
      {"id": "ORG-1001", "name": "Contoso Ltd", "customerNumber": "C-1001", "currencyCode": "USD",
       "customProperties": [{"name": "AutotaskCompanyID", "value": "101"}],
       "services": [{"name": "Microsoft CSP 365", "status": "Active"}]}
    GET /api/resellers/{resellerId}/services
      {"id": "5b0f…", "name": "Microsoft CSP 365"}
    GET /api/resellers/{resellerId}/services/{serviceId}/subscriptions   (and …/services/azure/subscriptions)
      {"id": "6f1c…01", "organizationId": "ORG-1001", "recordType": "CSP365",
       "productId": "CFQ7TTC0LDPB:0001", "itemCode": "CFQ7TTC0LDPB:0001:P1Y",
       "productName": "Microsoft 365 Business Standard", "quantity": 15,
       "startDate": "2025-03-01T00:00:00", "endDate": "2027-02-28T00:00:00", "status": "Active",
       "billingFrequency": "Monthly"}
    GET /api/resellers/{resellerId}/pricelist
      {"productId": "CFQ7TTC0LH18:0001", "itemCode": "…", "productName": "Microsoft 365 Business Basic",
       "unitCostPrice": 5.1000, "unitSalesPrice": 6.0000, "currencyCode": "USD", "paymentFrequency": "Monthly"}
    GET /api/resellers/{resellerId}/billing/reports
      {"id": "report-1", "period": "2026-09", "availableOn": "2026-10-06T00:00:00"}
    POST /api/resellers/{resellerId}/billing/reports/MonthlyBillingPerOrganizationAsync
      body {"period": "2026-09", "reportId": "report-1"}
      → 202 {"taskId": "task-1", "status": "Processing"}    ("Completed" with "lineCount" when ready)
    GET …/MonthlyBillingPerOrganizationAsync/{taskId}  → {"taskId": …, "status": …, "lineCount": 24}
    GET …/MonthlyBillingPerOrganizationAsync/{taskId}/lines                (paged; 409 until Completed)
      {"billingDate": "2026-09-01T00:00:00", "serviceName": "Microsoft CSP 365", "organizationId": "ORG-1001",
       "organizationName": "Contoso Ltd", "customerNumber": "C-1001", "productName": "…", "itemCode": "…",
       "productId": "…", "quantity": 10, "unitCostPrice": 10.6250, "unitSalesPrice": 12.5000,
       "totalCost": 53.13, "totalSales": 62.50, "currencyCode": "USD", "paymentFrequency": "Monthly",
       "subscriptionId": "6f1c…01", "subscriptionName": "…", "recordType": "CSP365"}

Onboarding writes (D2)::

    POST /api/resellers/{resellerId}/organizations
      body {"name": "Litware, Inc.", "customerNumber": "C-106",
            "customProperties": [{"name": "AutotaskCompanyID", "value": "106"}]}
      → 201 the new organization as listed above (a new GUID id, the configured currency, no services)
    PUT /api/resellers/{resellerId}/organizations/{organizationId}/customproperties/AutotaskCompanyID
      body {"value": "106"}  → 200 {"name": "AutotaskCompanyID", "value": "106"}

Every list is paged: ``?page=1&pageSize=100`` → ``{"items": [...], "page": 1, "pageSize": 100,
"totalCount": 31}``. Subscriptions are listed under the service that sells them: CSP 365 under
``Microsoft CSP 365``, Azure plans under ``services/azure``, and the other Microsoft record types
(Marketplace, Reserved Instance, Perpetual License, software Subscription) under ``Microsoft Azure``,
where the example bundle's billing lines put them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.source import BillingLine, Organization, OrganizationService, SourceData, Subscription
from providers.cloudmore import api_mapping as m

__all__ = ["AZURE_SERVICE", "CSP_SERVICE", "Documents", "build_documents"]

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
    price_list: list[dict[str, Any]] = field(default_factory=list)
    publications: list[dict[str, Any]] = field(default_factory=list)
    lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Publication id → the billing lines of that report."""


def build_documents(data: SourceData) -> Documents:
    """The JSON answers that make billsync's API source read ``data`` back."""
    docs = Documents()
    services_of: dict[str, list[OrganizationService]] = {}
    for service in data.services:
        services_of.setdefault(service.organization_id, []).append(service)
    docs.organizations = [
        _organization(o, services_of.get(o.organization_id, [])) for o in data.organizations
    ]
    names = list(dict.fromkeys([s.service_name for s in data.services] + [CSP_SERVICE, AZURE_SERVICE]))
    service_ids = {name: str(uuid.uuid5(_IDS, name)) for name in names}
    docs.services = [{m.SERVICE_ID: service_ids[name], m.SERVICE_NAME: name} for name in names]
    docs.subscriptions = {service_id: [] for service_id in service_ids.values()}
    for subscription in data.subscriptions:
        if subscription.record_type == "Azure":
            docs.azure_subscriptions.append(_subscription(subscription))
        else:
            seller = _SERVICE_OF.get(subscription.record_type, AZURE_SERVICE)
            docs.subscriptions[service_ids[seller]].append(_subscription(subscription))
    docs.price_list = [
        {
            m.PRICE_PRODUCT_ID: p.product_id,
            m.PRICE_ITEM_CODE: p.item_code,
            m.PRICE_PRODUCT_NAME: p.product_name,
            m.PRICE_UNIT_COST: p.unit_cost_price,
            m.PRICE_UNIT_SALES: p.unit_sales_price,
            m.PRICE_CURRENCY: p.currency,
            m.PRICE_PAYMENT_FREQUENCY: p.payment_frequency,
        }
        for p in data.price_list
    ]
    for number, report in enumerate(data.reports, start=1):
        report_id = f"report-{number}"
        docs.publications.append(
            {
                m.PUBLICATION_ID: report_id,
                m.PUBLICATION_PERIOD: report.period,
                m.PUBLICATION_AVAILABLE_ON: _day(report.available_on),
            }
        )
        docs.lines[report_id] = [_line(line) for line in report.lines]
    return docs


def _organization(organization: Organization, services: list[OrganizationService]) -> dict[str, Any]:
    document: dict[str, Any] = {
        m.ORG_ID: organization.organization_id,
        m.ORG_NAME: organization.name,
        m.ORG_CUSTOMER_NUMBER: organization.customer_number,
        m.ORG_CURRENCY: organization.currency,
        m.ORG_CUSTOM_PROPERTIES: [],
        m.ORG_SERVICES: [
            {m.ORG_SERVICE_NAME: s.service_name, m.ORG_SERVICE_STATUS: "Active" if s.active else "Inactive"}
            for s in services
        ],
    }
    if organization.autotask_company_id is not None:
        document[m.ORG_CUSTOM_PROPERTIES].append(
            {
                m.CUSTOM_PROPERTY_NAME: m.AUTOTASK_COMPANY_PROPERTY,
                m.CUSTOM_PROPERTY_VALUE: str(organization.autotask_company_id),
            }
        )
    return document


def _subscription(subscription: Subscription) -> dict[str, Any]:
    return {
        m.SUB_ID: subscription.subscription_id,
        m.SUB_ORGANIZATION_ID: subscription.organization_id,
        m.SUB_RECORD_TYPE: subscription.record_type,
        m.SUB_PRODUCT_ID: subscription.product_id,
        m.SUB_ITEM_CODE: subscription.item_code,
        m.SUB_PRODUCT_NAME: subscription.product_name,
        m.SUB_QUANTITY: subscription.quantity,
        m.SUB_START_DATE: _day(subscription.start_date),
        m.SUB_END_DATE: None if subscription.end_date is None else _day(subscription.end_date),
        m.SUB_STATUS: subscription.status,
        m.SUB_BILLING_FREQUENCY: subscription.billing_frequency,
    }


def _line(line: BillingLine) -> dict[str, Any]:
    return {
        m.LINE_BILLING_DATE: _day(line.billing_date),
        m.LINE_SERVICE_NAME: line.service_name,
        m.LINE_ORGANIZATION_ID: line.organization_id,
        m.LINE_ORGANIZATION_NAME: line.organization_name,
        m.LINE_CUSTOMER_NUMBER: line.customer_number,
        m.LINE_PRODUCT_NAME: line.product_name,
        m.LINE_ITEM_CODE: line.item_code,
        m.LINE_PRODUCT_ID: line.product_id,
        m.LINE_QUANTITY: line.quantity,
        m.LINE_UNIT_COST: line.unit_cost_price,
        m.LINE_UNIT_SALES: line.unit_sales_price,
        m.LINE_TOTAL_COST: line.total_cost,
        m.LINE_TOTAL_SALES: line.total_sales,
        m.LINE_CURRENCY: line.currency,
        m.LINE_PAYMENT_FREQUENCY: line.payment_frequency,
        m.LINE_SUBSCRIPTION_ID: line.subscription_id,
        m.LINE_SUBSCRIPTION_NAME: line.subscription_name,
        m.LINE_RECORD_TYPE: line.record_type,
    }


def _day(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"
