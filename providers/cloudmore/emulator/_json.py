"""JSON in and out of the emulator without passing money through a float.

Request bodies read fractions as ``Decimal``; answers write a ``Decimal`` as a JSON number with its
exact text (``12.5000`` stays ``12.5000``), as the .NET JSON writers behind Cloudmore keep a decimal's
scale (unverified), so amounts arrive exactly as an export bundle holds them.
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
    """Serialize dicts, lists, str, int, bool, None and Decimal to compact JSON."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(value: Any, parts: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        parts.append(str(value))
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
        raise TypeError("the emulator never writes a float; use Decimal")
    else:
        parts.append(json.dumps(value))
