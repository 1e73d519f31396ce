"""JSON in and out without ever passing money through a float.

Request bodies parse non-integer numbers as ``Decimal``; responses write a ``Decimal`` as a JSON
number whose text is the exact decimal (``10.5``, never ``10.499999``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def loads(text: str | bytes) -> Any:
    """Parse JSON, reading every non-integer number as an exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any) -> str:
    """Serialize ``value`` (dicts, lists, str, int, bool, None, Decimal) to compact JSON."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def decimal_text(value: Decimal) -> str:
    """The shortest plain (non-exponent) text of ``value``: ``10.5``, ``100``, ``0.0001``."""
    if value.is_zero():
        return "0"
    text = format(value.normalize(), "f")
    return text


def _write(value: Any, parts: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        parts.append(decimal_text(value))
    elif isinstance(value, Mapping):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                parts.append(",")
            parts.append(json.dumps(str(key)))
            parts.append(":")
            _write(item, parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts)
        parts.append("]")
    elif isinstance(value, float):
        raise TypeError("floats are not written by the sandbox; use Decimal")
    else:
        parts.append(json.dumps(value))
