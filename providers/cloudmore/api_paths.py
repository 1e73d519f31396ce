"""Where each piece of Cloudmore data lives: the URL paths billsync calls, relative to the API base URL.

Verified against Cloudmore's public documentation: the token endpoint and its form, the reseller
organization, service and subscription paths, and the name of the recommended asynchronous billing
report. **Unverified** (designed for billsync and served by its emulator; change here if a real account
differs): the billing path prefix, the price-list path, the published-reports listing, and the status
and result paths of an asynchronous report task.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "TOKEN_PATH",
    "azure_subscriptions_path",
    "organization_path",
    "organization_property_path",
    "organizations_path",
    "price_list_path",
    "published_reports_path",
    "report_result_path",
    "report_start_path",
    "report_status_path",
    "reseller_path",
    "service_subscriptions_path",
    "services_path",
]

TOKEN_PATH = "/connect/token"
"""OAuth2 password grant (documented)."""


def reseller_path(reseller_id: str) -> str:
    """``/api/resellers/{resellerId}``: a broker (the MSP) is addressed as a reseller (documented)."""
    return f"/api/resellers/{_segment(reseller_id)}"


def organizations_path(reseller_id: str) -> str:
    """The broker's organizations, with a ``showActive`` query parameter (documented); ``POST`` to the same
    path creates one (unverified)."""
    return f"{reseller_path(reseller_id)}/organizations"


def organization_path(reseller_id: str, organization_id: str) -> str:
    """One organization of the broker (unverified)."""
    return f"{organizations_path(reseller_id)}/{_segment(organization_id)}"


def organization_property_path(reseller_id: str, organization_id: str, name: str) -> str:
    """One custom property of an organization, set by ``PUT`` with its value (unverified path)."""
    return f"{organization_path(reseller_id, organization_id)}/customproperties/{_segment(name)}"


def services_path(reseller_id: str) -> str:
    """The services the broker sells (documented)."""
    return f"{reseller_path(reseller_id)}/services"


def service_subscriptions_path(reseller_id: str, service_id: str) -> str:
    """Every subscription of one service, across organizations (documented)."""
    return f"{services_path(reseller_id)}/{_segment(service_id)}/subscriptions"


def azure_subscriptions_path(reseller_id: str) -> str:
    """Azure plan and classic subscriptions (documented)."""
    return f"{services_path(reseller_id)}/azure/subscriptions"


def price_list_path(reseller_id: str) -> str:
    """The broker price list (unverified path)."""
    return f"{reseller_path(reseller_id)}/pricelist"


def _billing(reseller_id: str) -> str:
    """The billing prefix: probably under the reseller (unverified)."""
    return f"{reseller_path(reseller_id)}/billing"


def published_reports_path(reseller_id: str) -> str:
    """The monthly billing reports published so far, one entry per publication (unverified)."""
    return f"{_billing(reseller_id)}/reports"


def report_start_path(reseller_id: str) -> str:
    """Start generating a monthly billing report (the documented, recommended asynchronous call)."""
    return f"{_billing(reseller_id)}/reports/MonthlyBillingPerOrganizationAsync"


def report_status_path(reseller_id: str, task_id: str) -> str:
    """Where a started report's status is polled (unverified)."""
    return f"{report_start_path(reseller_id)}/{_segment(task_id)}"


def report_result_path(reseller_id: str, task_id: str) -> str:
    """Where a finished report's lines are read, page by page (unverified)."""
    return f"{report_status_path(reseller_id, task_id)}/lines"


def _segment(value: str) -> str:
    """One path segment, escaped so an id can never reach another path."""
    return quote(value, safe="")
