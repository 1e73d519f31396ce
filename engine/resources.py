"""Resources: the desired (and recorded) shape of one managed target object.

A resource is named by its :data:`~engine.types.Address`, built from source identity only. Its
``attributes`` are the managed fields (the only ones compared and written); ``refs`` name other
resources whose target ids fill fields at apply time (a contract service's ``contractID``).
What a kind of resource is — its entity, field types, what may change after create — is a
:class:`KindSpec` registered by the target provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from engine.types import Address, Attributes, Period, Scalar

__all__ = [
    "FieldType",
    "KindSpec",
    "Resource",
    "ActualObject",
    "coerce",
    "quantize",
    "same_value",
    "encode_value",
    "encode_attributes",
    "decode_attributes",
    "decode_value",
]

FieldType = Literal["str", "int", "decimal", "date", "bool"]


@dataclass(frozen=True)
class KindSpec:
    """What the engine must know about one kind of resource (registered by the target provider)."""

    name: str
    entity: str
    fields: dict[str, FieldType]
    refs: dict[str, str] = field(default_factory=dict)
    """Reference field → kind it points to (e.g. ``contractID`` → ``contract``)."""
    order: int = 0
    """Apply phase: lower first (services/products → contracts → contract services → the rest)."""
    period_scoped: bool = False
    """One resource per billing month; out-of-scope months are left alone, never orphaned."""
    immutable: frozenset[str] = frozenset()
    """Fields sent on create only: never written by an update; a plan warns when one differs."""
    immutable_hint: str = ""
    """What the user can do when an ``immutable`` field's desired value changes (shown in that warning)."""
    decimals: dict[str, int] = field(default_factory=dict)
    """Decimal places the target keeps per decimal field (D22)."""
    payload_fields: dict[str, FieldType] = field(default_factory=dict)
    """Types of fields sent on create that are not managed attributes (an adjustment's ``unitChange``)."""
    read_from: str | None = None
    """The entity the kind's state is read from when it is not ``entity``, which is then only ever
    created (an adjustment's month is read from its ContractServiceUnits row). An object found so has
    that entity's id: the snapshot records it as ``read_id``, never as the ``target_id`` of a write."""
    orphanable: bool = False
    """Reported as an orphan when its subscription disappears from the source (D21)."""
    end_field: str | None = None
    """The date field the removal policy ``end`` sets (a contract's ``endDate``)."""
    lengths: dict[str, int] = field(default_factory=dict)
    """Characters the target takes per text field: a longer rendered value is refused at plan time,
    before anything is sent (the target would refuse it halfway through an apply)."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One desired resource, as rendered by a rule."""

    address: Address
    kind: str
    attributes: Attributes
    refs: dict[str, Address] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    """Source identity (subscription id, organization id, product id, period) — for orphans and views."""
    rule: str = ""
    """``file:line`` of the rule that rendered it, shown in the plan as the cause."""
    period: Period | None = None


@dataclass(frozen=True, slots=True)
class ActualObject:
    """One object as read from the target, keyed by the address its identity marker maps to."""

    address: Address
    kind: str
    target_id: int
    attributes: Attributes
    locked: bool = False
    """The target refuses changes (a billed charge, D20)."""
    fingerprint: str = ""
    """A token that changes whenever the object changes (last-modified time or a digest)."""
    found_by: str = "its identity marker"
    marked: bool = True
    """It carries billsync's identity marker (False for an object adopted by import or adoption rule)."""
    """How the read matched it to its address (marker, snapshot id, adoption rule) — shown on adopt."""
    posted: str = ""
    """When the target approved and posted the period it bills (D27: never written again), as read."""
    fixed: frozenset[str] = frozenset()
    """Fields the target holds fixed on this object as it now stands (a recurring contract's start
    date once it has services): never written, a differing rule value is a warning, as for the
    kind's create-only fields."""


def coerce(value: Any, ftype: FieldType, decimals: int | None = None) -> Scalar:
    """Turn a rendered value (usually a string) into the field's Python type.

    Raises ``ValueError`` with a short reason; callers add file, line and address.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if text == "" or text.lower() in ("none", "null"):
            return None if ftype != "str" else ""
    else:
        text = str(value)
    if ftype == "str":
        return value if isinstance(value, str) else text
    if ftype == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"expected a whole number, got {text!r}") from None
        if number != number.to_integral_value():
            raise ValueError(f"expected a whole number, got {text!r}")
        return int(number)
    if ftype == "decimal":
        if isinstance(value, float):
            raise ValueError("money must not pass through float; render it from a Decimal")
        try:
            number = value if isinstance(value, Decimal) else Decimal(text)
        except InvalidOperation:
            raise ValueError(f"expected a decimal number, got {text!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected a finite decimal number, got {text!r}")
        return number if decimals is None else quantize(number, decimals)
    if ftype == "date":
        if isinstance(value, date):
            return value
        try:
            if len(text) > 10 and text[10] == "T":
                return datetime.fromisoformat(text).date()
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}") from None
    if ftype == "bool":
        if isinstance(value, bool):
            return value
        lowered = text.lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    raise ValueError(f"unknown field type {ftype!r}")


def quantize(value: Decimal, places: int) -> Decimal:
    """Round half-up to ``places`` decimals — the one rounding rule for stored amounts (D22)."""
    quantum = _QUANTA[places] if 0 <= places < len(_QUANTA) else Decimal(1).scaleb(-places)
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(11))
"""``1``, ``0.1`` … ``1E-10``: the quantum of each number of places, built once."""


def same_value(a: Scalar, b: Scalar) -> bool:
    """Equality that treats ``Decimal('1.50')`` and ``Decimal('1.5')`` as the same amount."""
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | Decimal) and isinstance(b, int | Decimal):
        return Decimal(a) == Decimal(b)
    if a in (None, "") and b in (None, ""):
        return True
    return a == b


def encode_value(value: Scalar) -> str | int | bool | None:
    """JSON form of a typed value: Decimals and dates become strings (never floats)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def encode_attributes(attributes: Attributes) -> dict[str, str | int | bool | None]:
    return {name: encode_value(attributes[name]) for name in sorted(attributes)}


def decode_attributes(spec: KindSpec | None, raw: dict[str, Any]) -> Attributes:
    """Inverse of :func:`encode_attributes`, typed by the kind's field table."""
    return {name: decode_value(value, spec.fields.get(name) if spec else None) for name, value in raw.items()}


def decode_value(value: Any, ftype: FieldType | None) -> Any:
    """Inverse of :func:`encode_value` for a field of type ``ftype`` (None: kept as written)."""
    return coerce(value, ftype) if ftype and value is not None else value
