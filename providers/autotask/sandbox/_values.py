"""Field values: checking what a request sends, and converting between API, Python and SQLite.

Inside the sandbox a value is kept in its Python form: ``int`` for integers and picklists, ``str``
for strings, ``Decimal`` (at most 4 decimals) for decimals, ``bool`` for booleans and a canonical
``YYYY-MM-DDTHH:MM:SS`` string for datetimes. SQLite stores decimals as their exact text and
booleans as 0/1, so no value ever passes through a float.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from providers.autotask.entities import Field, FieldType

from ._errors import ApiError
from ._json import decimal_text

MONEY_PLACES = Decimal("0.0001")
"""Autotask keeps 4 decimals on unit prices, costs and quantities; more are rounded half up."""

_INTEGER_TEXT = re.compile(r"^-?\d+$")

Value = int | str | Decimal | bool | None


def coerce(field: Field, raw: Any, *, entity: str) -> Value:
    """Check ``raw`` (parsed from JSON) against ``field`` and return its Python form.

    Raises an :class:`ApiError` (HTTP 500) naming the field when the value has the wrong type,
    is not in the picklist or is too long, as Autotask does.
    """
    if raw is None:
        return None
    kind = field.type
    if kind is FieldType.BOOLEAN:
        if not isinstance(raw, bool):
            raise ApiError(f"{entity}.{field.name} must be true or false, not {raw!r}.")
        return raw
    if kind in (FieldType.INTEGER, FieldType.PICKLIST):
        number = _integer(raw, field, entity)
        if kind is FieldType.PICKLIST:
            entry = field.picklist_value(number)
            if entry is None or not entry.is_active:
                allowed = ", ".join(f"{v.value} ({v.label})" for v in field.picklist if v.is_active)
                what = "not a valid value" if entry is None else f"an inactive value ({entry.label})"
                raise ApiError(f"{number} is {what} for {entity}.{field.name}; use one of {allowed}.")
        return number
    if kind is FieldType.DECIMAL:
        return _decimal(raw, field, entity)
    if kind is FieldType.DATETIME:
        return _datetime(raw, field, entity)
    if not isinstance(raw, str):
        raise ApiError(f"{entity}.{field.name} must be a string, not {raw!r}.")
    if field.length is not None and len(raw) > field.length:
        raise ApiError(f"{entity}.{field.name} is longer than {field.length} characters.")
    return raw


def to_sql(field: Field, value: Value) -> int | str | None:
    """The SQLite form of a Python value: decimals as exact text, booleans as 0/1."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    return value


def from_sql(field: Field, stored: Any) -> Value:
    """The Python form of a value read from SQLite."""
    if stored is None:
        return None
    if field.type is FieldType.DECIMAL:
        return Decimal(stored)
    if field.type is FieldType.BOOLEAN:
        return bool(stored)
    return cast(Value, stored)


def decimal_units(value: Decimal) -> int:
    """A decimal as an exact whole number of ten-thousandths: an order key that never uses a float."""
    return int(value.scaleb(4).to_integral_value(rounding=ROUND_HALF_UP))


def decimal_key(stored: str | None) -> int | None:
    """:func:`decimal_units` of a stored decimal text; registered as a SQLite function for comparisons."""
    if stored is None:
        return None
    return decimal_units(Decimal(stored))


def money(value: Decimal) -> Decimal:
    """Round to Autotask's 4 decimals."""
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_UP)


def format_datetime(moment: datetime) -> str:
    """The canonical datetime text, ``2026-10-01T00:00:00`` (no offset, no fraction)."""
    return moment.replace(microsecond=0, tzinfo=None).isoformat(timespec="seconds")


def format_date(day: date) -> str:
    """A date as Autotask returns date-only values: ``2026-10-01T00:00:00``."""
    return f"{day.isoformat()}T00:00:00"


def parse_date(text: str) -> date:
    """The calendar date of a canonical datetime text."""
    return date.fromisoformat(text[:10])


def _integer(raw: Any, field: Field, entity: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        return int(raw)
    if isinstance(raw, str) and _INTEGER_TEXT.match(raw.strip()):
        return int(raw.strip())
    raise ApiError(f"{entity}.{field.name} must be an integer, not {raw!r}.")


def _decimal(raw: Any, field: Field, entity: str) -> Decimal:
    number: Decimal | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = Decimal(raw)
    elif isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, str):
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise ApiError(f"{entity}.{field.name} must be a number, not {raw!r}.")
    return money(number)


def _datetime(raw: Any, field: Field, entity: str) -> str:
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.strip())
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
            return format_datetime(moment)
    raise ApiError(f"{entity}.{field.name} must be a date as YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, not {raw!r}.")
