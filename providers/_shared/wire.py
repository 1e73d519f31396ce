"""JSON and HTTP header details shared by the clients and the emulators.

JSON fractions are read as :class:`~decimal.Decimal`, so money never passes through ``float`` on the
way in; :func:`dumps` writes a ``Decimal`` as a JSON number from its exact text and refuses floats,
so money never passes through ``float`` on the way out either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["dumps", "loads", "retry_after_seconds"]


def loads(text: str | bytes) -> Any:
    """Parse JSON, reading every non-integer number as an exact ``Decimal``."""
    return json.loads(text, parse_float=Decimal)


def dumps(value: Any, *, decimal: Callable[[Decimal], str] = str) -> str:
    """Serialize dicts, lists, str, int, bool, None and Decimal to compact JSON.

    ``decimal`` gives a finite Decimal's JSON text; the default keeps its scale (``12.5000`` stays
    ``12.5000``). A float raises ``TypeError``: its text may not be the amount that was meant.
    """
    parts: list[str] = []
    _write(value, parts, decimal)
    return "".join(parts)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); ``None`` if absent or bad."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_STRING = json.encoder.encode_basestring_ascii
"""What ``json.dumps`` writes for a ``str`` (``ensure_ascii``), without a ``json.dumps`` call per value."""
_CONSTANTS = {True: "true", False: "false", None: "null"}


def _write(value: Any, parts: list[str], decimal: Callable[[Decimal], str]) -> None:
    # exact types first (an emulator writes 100,000 rows a plan): the same text as the general case below
    kind = type(value)
    if kind is str:
        parts.append(_STRING(value))
    elif kind is int:
        parts.append(int.__repr__(value))
    elif kind is bool or value is None:
        parts.append(_CONSTANTS[value])
    elif kind is dict:
        opening = "{"
        for key, item in value.items():
            parts.append(opening + (_STRING(key) if type(key) is str else json.dumps(str(key))) + ":")
            opening = ","
            _write(item, parts, decimal)
        parts.append("}" if value else "{}")
    elif kind is list:
        opening = "["
        for item in value:
            parts.append(opening)
            opening = ","
            _write(item, parts, decimal)
        parts.append("]" if value else "[]")
    else:
        _write_any(value, parts, decimal)


def _write_any(value: Any, parts: list[str], decimal: Callable[[Decimal], str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot write {value} as JSON")
        parts.append(decimal(value))
    elif isinstance(value, Mapping):
        parts.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                parts.append(",")
            parts.append(json.dumps(str(key)))
            parts.append(":")
            _write(item, parts, decimal)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for index, item in enumerate(value):
            if index:
                parts.append(",")
            _write(item, parts, decimal)
        parts.append("]")
    elif isinstance(value, float):
        raise TypeError(f"cannot write the float {value!r} as JSON; use Decimal")
    else:
        parts.append(json.dumps(value))
