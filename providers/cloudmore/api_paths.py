"""Where each piece of Cloudmore data lives: the URL paths billsync calls, relative to the API base URL.

Every path is in Cloudmore's published API (swagger v1.07.0, as its generated endpoint table lists
it), spelled as the swagger spells it. There is no broker-wide price list (price lists are per
service, with organization overrides), no listing of published billing reports, no per-property
custom-property path (custom properties travel inside the organization) and no ``…/{taskId}/lines``:
the asynchronous report's ``GET`` returns the report itself.
"""

from __future__ import annotations

from urllib.parse import quote

__all__ = [
    "TOKEN_PATH",
    "azure_subscriptions_path",
    "organization_path",
    "organization_price_list_path",
    "organizations_path",
    "report_start_path",
    "report_task_path",
    "reseller_path",
    "service_price_list_path",
    "service_subscriptions_path",
    "services_path",
]

TOKEN_PATH = "/connect/token"
"""OAuth2 password grant."""


def reseller_path(reseller_id: str) -> str:
    """``/api/resellers/{resellerId}``: a broker (the MSP) is addressed as a reseller."""
    return f"/api/resellers/{_segment(reseller_id)}"


def organizations_path(reseller_id: str) -> str:
    """The broker's organizations: ``GET`` (query ``showActive``) lists them, ``POST`` creates one."""
    return f"{reseller_path(reseller_id)}/Organizations"


def organization_path(reseller_id: str, organization_id: str) -> str:
    """One organization: ``GET`` reads it, ``PUT`` replaces it (custom properties included)."""
    return f"{organizations_path(reseller_id)}/{_segment(organization_id)}"


def services_path(reseller_id: str) -> str:
    """The services the broker sells."""
    return f"{reseller_path(reseller_id)}/services"


def service_subscriptions_path(reseller_id: str, service_id: str) -> str:
    """Every subscription of one service, across organizations."""
    return f"{services_path(reseller_id)}/{_segment(service_id)}/subscriptions"


def azure_subscriptions_path(reseller_id: str) -> str:
    """Azure subscriptions of every organization."""
    return f"{services_path(reseller_id)}/azure/Subscriptions"


def service_price_list_path(reseller_id: str, service_id: str) -> str:
    """The broker's prices of one service's products (query ``currencyCode``)."""
    return f"{services_path(reseller_id)}/{_segment(service_id)}/pricelist"


def organization_price_list_path(reseller_id: str, organization_id: str, service_id: str) -> str:
    """An organization's own prices of one service's products, overriding the broker's."""
    return (
        f"{reseller_path(reseller_id)}/organizations/{_segment(organization_id)}"
        f"/services/{_segment(service_id)}/pricelist"
    )


def report_start_path(reseller_id: str) -> str:
    """``POST``: start generating a monthly billing report per organization (the recommended call)."""
    return f"{reseller_path(reseller_id)}/billing/reports/MonthlyBillingPerOrganizationAsync"


def report_task_path(reseller_id: str, task_id: str) -> str:
    """``GET``: the report a started task generated (or that it is still being generated)."""
    return f"{report_start_path(reseller_id)}/{_segment(task_id)}"


def _segment(value: str) -> str:
    """One path segment, escaped so an id can never reach another path."""
    return quote(value, safe="")
