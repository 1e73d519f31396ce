"""Autotask request and answer bodies: how billsync writes JSON for Autotask and reads its answers.

JSON numbers with a fraction are read as :class:`~decimal.Decimal`, so money never passes through
``float`` on the way in. On the way out a Decimal becomes a JSON number only when that number is the
same amount (integers exactly, fractions when their shortest float text is the decimal), and ``date``
values become ``YYYY-MM-DDT00:00:00`` strings, as Autotask expects them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx

from providers._shared.wire import loads
from providers.autotask.errors import AutotaskError

__all__ = ["encode_body", "error_messages", "field_of", "json_object", "list_of", "union"]


def encode_body(body: Any) -> bytes:
    """A request body as JSON bytes; ``ValueError`` for an amount a JSON number cannot carry exactly."""
    return json.dumps(_to_wire(body)).encode()


def _to_wire(value: Any) -> Any:
    """Make a body JSON-ready: Decimal as an exact JSON number, dates as Autotask's ISO datetimes."""
    if isinstance(value, dict):
        return {key: _to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_wire(item) for item in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be sent to Autotask")
        if value == value.to_integral_value():
            return int(value)
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} has more digits than a JSON number can carry exactly")
        return number
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return value


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object in a response, fractions as Decimal; ``ValueError`` if there is none."""
    data = loads(response.content or b"null")
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def error_messages(response: httpx.Response) -> list[str]:
    """Autotask's ``errors`` list (or a ``Message``), tolerating bodies that are not JSON."""
    try:
        data = json_object(response)
    except ValueError:
        return []
    errors = data.get("errors")
    if isinstance(errors, list):
        return [str(error) for error in errors if error]
    for key in ("message", "Message"):  # ASP.NET's 405 body is {"Message": ...} (A2)
        if data.get(key):
            return [str(data[key])]
    return []


def list_of(payload: dict[str, Any], key: str, method: str, url: str) -> list[dict[str, Any]]:
    """The objects in the answer's ``key`` list; an :class:`AutotaskError` when there is no such list."""
    value = field_of(payload, key, method, url)
    if not isinstance(value, list):
        path = httpx.URL(url).path
        raise AutotaskError(
            f"Autotask's answer to {method} {path} has no {key!r} list.", method=method, path=path
        )
    return [item for item in value if isinstance(item, dict)]


def field_of(payload: dict[str, Any], key: str, method: str, url: str) -> Any:
    """The answer's ``key``; an :class:`AutotaskError` when it lacks one."""
    if key not in payload:
        path = httpx.URL(url).path
        raise AutotaskError(f"Autotask's answer to {method} {path} lacks {key!r}.", method=method, path=path)
    return payload[key]


def union(pages: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Concatenate pages, keeping the first copy of each id (pages can shift while being read)."""
    seen: set[Any] = set()
    merged: list[dict[str, Any]] = []
    for page in pages:
        for item in page:
            key = item.get("id")
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            merged.append(item)
    return merged
