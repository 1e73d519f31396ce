"""The Autotask query language: parse a ``filter`` list into a checked tree.

A filter is a list of conditions joined by AND. A condition is ``{"op", "field", "value"}``
(``"udf": true`` makes ``field`` a user-defined field name); ``{"op": "and"|"or", "items": [...]}``
groups conditions and nests. Every failure Autotask reports as HTTP 500 is raised here as an
:class:`ApiError` naming the offending field or operator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.autotask.entities import Entity, Field, FieldType

from ._errors import ApiError
from ._values import Value, coerce

MAX_DEPTH = 32
"""How deeply ``and``/``or`` groups may nest. Autotask's own limit is not published (NOT FOUND); the
sandbox takes the strict choice, and answers deeper filters with a 500 and ``errors`` like any other
filter it refuses, never with a crash."""

MAX_IN_VALUES = 500
"""Autotask allows at most 500 values (OR conditions) in one ``in``/``notIn`` list."""

COMPARISONS = frozenset({"eq", "noteq", "gt", "gte", "lt", "lte"})
STRING_OPS = frozenset({"beginswith", "endswith", "contains"})
EXISTENCE = frozenset({"exist", "notexist"})
LISTS = frozenset({"in", "notin"})
GROUPS = frozenset({"and", "or"})
_ORDERED = frozenset({"gt", "gte", "lt", "lte"})


@dataclass(frozen=True)
class Condition:
    """One comparison. ``op`` is lower-case; ``value`` is the checked Python value (a tuple for lists)."""

    op: str
    field: Field | None
    udf: str | None
    value: Value | tuple[Value, ...]

    @property
    def name(self) -> str:
        return self.udf if self.udf is not None else self.field.name if self.field else ""


@dataclass(frozen=True)
class Group:
    """Conditions joined by ``and`` or ``or``."""

    op: str
    items: tuple[Condition | Group, ...]


Node = Condition | Group


def parse_filter(entity: Entity, raw: Any) -> Group:
    """Check a request's ``filter`` list against ``entity`` and return it as an AND group."""
    if not isinstance(raw, list) or not raw:
        raise ApiError('A query needs a non-empty filter list, e.g. [{"op":"gte","field":"id","value":0}].')
    group = Group("and", tuple(_node(entity, item, 1) for item in raw))
    if len(set(_udf_names(group))) > 1:  # A3: "You can only query by one user-defined field at a time."
        raise ApiError("You can only query by one user-defined field at a time.")
    return group


def _udf_names(node: Node) -> list[str]:
    if isinstance(node, Group):
        return [name for item in node.items for name in _udf_names(item)]
    return [node.udf.lower()] if node.udf is not None else []


def too_deep() -> ApiError:
    """The refusal of a filter (or body) nested deeper than :data:`MAX_DEPTH`."""
    return ApiError(f"The filter is nested more than {MAX_DEPTH} levels deep.")


def _node(entity: Entity, raw: Any, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise too_deep()
    if not isinstance(raw, Mapping):
        raise ApiError(f"Each filter item must be an object, not {raw!r}.")
    item = {str(key).lower(): value for key, value in raw.items()}
    op = item.get("op")
    if not isinstance(op, str):
        raise ApiError(f"Filter item {dict(raw)!r} has no op.")
    op = op.lower()
    if op in GROUPS:
        items = item.get("items")
        if not isinstance(items, list) or not items:
            raise ApiError(f"A {op!r} filter needs a non-empty items list.")
        return Group(op, tuple(_node(entity, child, depth + 1) for child in items))
    if op not in COMPARISONS | STRING_OPS | EXISTENCE | LISTS:
        raise ApiError(f"Unknown filter operator {item['op']!r}.")
    name = item.get("field")
    if not isinstance(name, str) or not name:
        raise ApiError(f"The {op!r} filter needs a field.")
    udf_flag = item.get("udf", False)
    if not isinstance(udf_flag, bool):
        raise ApiError(f"udf must be true or false, not {udf_flag!r}.")
    if udf_flag:
        return _udf_condition(entity, op, name, item)
    field = entity.field(name)
    if field is None:
        raise ApiError(f"Unknown field {name!r} in a filter on {entity.name}.")
    return Condition(op, field, None, _value(entity, field, op, item))


def _udf_condition(entity: Entity, op: str, name: str, item: dict[str, Any]) -> Condition:
    udf = entity.udf(name)
    if udf is None:
        raise ApiError(f"{entity.name} has no user-defined field {name!r}.")
    probe = Field(udf.name, FieldType.STRING, length=None)
    return Condition(op, None, udf.name, _value(entity, probe, op, item))


def _value(entity: Entity, field: Field, op: str, item: dict[str, Any]) -> Value | tuple[Value, ...]:
    if op in EXISTENCE:
        return None
    if "value" not in item or item["value"] is None:
        raise ApiError(f"The {op!r} filter on {field.name} needs a value (use exist/notExist for empty).")
    raw = item["value"]
    if op in LISTS:
        if not isinstance(raw, list):
            raise ApiError(f"The {op!r} filter on {field.name} needs a list of values.")
        if len(raw) > MAX_IN_VALUES:
            raise ApiError(
                f"The {op!r} filter on {field.name} has {len(raw)} values; at most {MAX_IN_VALUES} are allowed."
            )
        return tuple(_scalar(entity, field, op, value) for value in raw)
    if op in STRING_OPS:
        if field.type is not FieldType.STRING:
            raise ApiError(f"The {op!r} operator needs a string field; {field.name} is {field.type.value}.")
        if not isinstance(raw, str):
            raise ApiError(f"The {op!r} filter on {field.name} needs a string value.")
        return raw
    if op in _ORDERED and field.type is FieldType.BOOLEAN:
        raise ApiError(f"The {op!r} operator cannot compare the boolean field {field.name}.")
    return _scalar(entity, field, op, raw)


def _scalar(entity: Entity, field: Field, op: str, raw: Any) -> Value:
    if raw is None:
        raise ApiError(f"The {op!r} filter on {field.name} cannot compare with null.")
    if field.type is FieldType.STRING:
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise ApiError(f"The {op!r} filter on {field.name} needs a string value, not {raw!r}.")
        return str(raw)
    if field.is_picklist:
        # A filter may name any integer; only stored values must be in the picklist.
        return coerce(Field(field.name, FieldType.INTEGER), raw, entity=entity.name)
    return coerce(field, raw, entity=entity.name)
