"""The emulator's routes: the paths of Cloudmore's published API (swagger v1.07.0), nothing else.

Literal path words are matched whatever their case, as ASP.NET routing matches them; ids are
matched exactly. An unknown path is 404, a known path with another verb 405.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from werkzeug.routing import Map, Rule

__all__ = ["ROUTES", "month_end", "normalised", "parse_day"]

_R = "/api/resellers/<reseller>"
_ASYNC = f"{_R}/billing/reports/monthlybillingperorganizationasync"
ROUTES = Map(
    [
        Rule("/connect/token", endpoint="token", methods=["POST"]),
        Rule(f"{_R}/organizations", endpoint="organizations", methods=["GET"]),
        Rule(f"{_R}/organizations", endpoint="create_organization", methods=["POST"]),
        Rule(f"{_R}/organizations/<organization>", endpoint="organization", methods=["GET"]),
        Rule(f"{_R}/organizations/<organization>", endpoint="update_organization", methods=["PUT"]),
        Rule(f"{_R}/services", endpoint="services", methods=["GET"]),
        Rule(f"{_R}/services/azure/subscriptions", endpoint="azure_subscriptions", methods=["GET"]),
        Rule(f"{_R}/services/<service>/subscriptions", endpoint="subscriptions", methods=["GET"]),
        Rule(f"{_R}/services/<service>/pricelist", endpoint="price_list", methods=["GET"]),
        Rule(
            f"{_R}/organizations/<organization>/services/<service>/pricelist",
            endpoint="organization_price_list",
            methods=["GET"],
        ),
        Rule(_ASYNC, endpoint="report_start", methods=["POST"]),
        Rule(f"{_ASYNC}/<task>", endpoint="report_task", methods=["GET"]),
    ],
    strict_slashes=False,
)
_LITERALS = frozenset(
    {
        "api",
        "resellers",
        "organizations",
        "services",
        "azure",
        "subscriptions",
        "pricelist",
        "billing",
        "reports",
        "monthlybillingperorganizationasync",
        "connect",
        "token",
    }
)
"""Path words matched whatever their case; ids (the other segments) are matched exactly."""
_DAY = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T00:00:00(?:\.0+)?Z?)?")


def normalised(path: str) -> str:
    """The path with its literal words in lower case (ASP.NET routing ignores their case)."""
    return "/".join(part.lower() if part.lower() in _LITERALS else part for part in path.split("/"))


def parse_day(value: Any) -> date | None:
    match = _DAY.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    try:
        return date.fromisoformat(match[1])
    except ValueError:
        return None


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
