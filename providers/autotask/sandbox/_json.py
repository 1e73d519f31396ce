"""JSON in and out of the sandbox without ever passing money through a float.

Request bodies parse non-integer numbers as ``Decimal``; responses write a ``Decimal`` as a JSON
number whose text is the shortest exact decimal (``10.5``, never ``10.499999`` nor ``10.50``), as
Autotask does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from providers._shared import wire
from providers._shared.wire import loads

__all__ = ["decimal_text", "dumps", "loads"]


def dumps(value: Any) -> str:
    """Serialize ``value`` (dicts, lists, str, int, bool, None, Decimal) to compact JSON."""
    return wire.dumps(value, decimal=decimal_text)


def decimal_text(value: Decimal) -> str:
    """The shortest plain (non-exponent) text of ``value``: ``10.5``, ``100``, ``0.0001``."""
    if value.is_zero():
        return "0"
    return format(value.normalize(), "f")
