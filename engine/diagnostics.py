"""The one diagnostic type: a warning or error found while planning, shown with the plan.

The source stage (an unlinked organization, a foreign currency) and the plan stage (a duplicate marker,
a field Autotask fixes on create) report the same way, so there is one type, not one per stage. A plan
file keeps ``severity``, ``code`` and ``message``; ``organization_id`` and ``amount`` say whose money
a source diagnostic left unbilled, for the code that renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

__all__ = ["Diagnostic", "Severity"]

Severity = Literal["warning", "error"]


@dataclass(frozen=True)
class Diagnostic:
    """A warning or error, shown in the plan; never fatal on its own."""

    severity: Severity
    code: str
    message: str
    organization_id: str = ""
    amount: Decimal = Decimal(0)
