"""Create and update: the checks every entity shares, then its own business rules.

A create body is checked field by field against the entity table (unknown field, wrong type,
read-only field, missing required field, dangling reference), then the entity's rule from
:mod:`._rules` runs, all inside one store transaction so a refused write leaves nothing behind.
Every refusal is an :class:`ApiError` answered as HTTP 500 with the reason, as Autotask does.

A PATCH, like Autotask's, silently ignores properties the entity does not have and properties that
are read-only or read-only after create (API-FACTS A2, WYRE #87): HTTP 200, those fields unchanged.
Unknown or read-only properties in a *create* are refused: what Autotask does with them is not
published, so the sandbox takes the stricter choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from providers.autotask.entities import ENTITIES, Entity

from ._errors import ApiError, not_allowed, not_found
from ._rules import RULES, WriteContext
from ._store import SandboxStore
from ._values import Value, coerce, format_datetime

TIMESTAMP_FIELDS = ("lastModifiedDateTime", "lastModifiedDate", "lastTrackedModifiedDateTime")
"""Read-only fields set to the current time on every create and update."""
CREATED_FIELDS = ("createDate", "createdTime")
"""Read-only fields set to the current time on create."""


def create_object(
    store: SandboxStore, entity: Entity, body: Any, *, now: datetime, parent_id: int | None = None
) -> int:
    """Create one object from a request body and return its id."""
    if not entity.can_create:
        raise not_allowed("POST")
    values, udfs = _read_body(entity, body, strict=True)
    for name, value in values.items():
        field = entity.field(name)
        if field is not None and field.read_only and value is not None and not (name == "id" and value == 0):
            raise ApiError(f"{entity.name}.{name} is read-only and cannot be set.")
    values.pop("id", None)
    _apply_parent(entity, values, parent_id)
    for field in entity.fields:
        if values.get(field.name) is None and field.default is not None:
            values[field.name] = field.default
    missing = [f.name for f in entity.fields if f.required and values.get(f.name) is None]
    if missing:
        raise ApiError(f"{entity.name} is missing required field(s): {', '.join(missing)}.")
    context = WriteContext(store, entity, now=format_datetime(now))
    with store.transaction():
        _check_references(store, entity, values, values)
        rule = RULES.get(entity.name)
        if rule is not None:
            rule.on_create(context, values)
        _stamp(entity, values, context.now)
        values.update({name: context.now for name in CREATED_FIELDS if entity.field(name) is not None})
        return store.insert(entity, values, udfs)


def update_object(
    store: SandboxStore, entity: Entity, body: Any, *, now: datetime, parent_id: int | None = None
) -> int:
    """Apply a partial update (``PATCH``; the body carries ``id``) and return the object's id."""
    if not entity.can_update:
        raise not_allowed("PATCH")
    changes, udfs = _read_body(entity, body, strict=False)
    object_id = changes.pop("id", None)
    if not isinstance(object_id, int):
        raise ApiError(f"An update of {entity.name} needs the object's id in the body.")
    context = WriteContext(store, entity, now=format_datetime(now))
    with store.transaction():
        current = store.get(entity, object_id)
        if current is None:
            raise not_found(f"{entity.name} {object_id} does not exist.")
        if parent_id is not None and current.get("contractID") != parent_id:
            raise ApiError(f"{entity.name} {object_id} does not belong to contract {parent_id}.")
        if "contractID" in changes and parent_id is not None and changes["contractID"] != parent_id:
            raise ApiError(
                f"contractID {changes['contractID']} in the body disagrees with contract {parent_id} in the path."
            )
        rule = RULES.get(entity.name)
        if rule is not None:
            rule.before_update(context, current, changes)
        for name in list(changes):
            field = entity.field(name)
            assert field is not None
            if field.read_only or field.read_only_after_create:
                del changes[name]  # ignored, as Autotask ignores it
        merged = {**current, **changes}
        merged.pop("userDefinedFields", None)
        blank = [
            f.name for f in entity.fields if f.required and f.name in changes and changes[f.name] is None
        ]
        if blank:
            raise ApiError(f"{entity.name} required field(s) cannot be emptied: {', '.join(blank)}.")
        _check_references(store, entity, changes, merged)
        if rule is not None:
            rule.on_update(context, current, merged, changes)
        _stamp(entity, changes, context.now)
        store.update(
            entity,
            object_id,
            {k: v for k, v in changes.items() if v != current.get(k) or k in TIMESTAMP_FIELDS},
        )
        store.set_udfs(entity, object_id, udfs)
        return object_id


def delete_object(store: SandboxStore, entity: Entity, object_id: int, *, parent_id: int | None) -> int:
    """Delete one object under its parent (the entity's rule may refuse, e.g. a billed charge)."""
    with store.transaction():
        current = store.get(entity, object_id)
        if current is None or (parent_id is not None and current.get("contractID") != parent_id):
            raise not_found(f"{entity.name} {object_id} does not exist.")
        rule = RULES.get(entity.name)
        if rule is not None:
            rule.before_delete(current)
        store.delete(entity, object_id)
        return object_id


def _read_body(entity: Entity, body: Any, *, strict: bool) -> tuple[dict[str, Value], dict[str, str | None]]:
    """The body's values by field name; unknown properties refused (``strict``) or skipped (PATCH)."""
    if not isinstance(body, Mapping):
        raise ApiError(f"The body of a {entity.name} write must be a JSON object.")
    values: dict[str, Value] = {}
    udfs: dict[str, str | None] = {}
    for name, raw in body.items():
        if str(name).lower() == "userdefinedfields":
            udfs.update(_read_udfs(entity, raw))
            continue
        field = entity.field(str(name))
        if field is None:
            if strict:
                raise ApiError(f"Unable to find {name} in the {entity.name} Entity")
            continue
        if not strict and field.name != "id" and (field.read_only or field.read_only_after_create):
            continue  # never checked: a PATCH ignores it
        values[field.name] = coerce(field, raw, entity=entity.name)
    return values, udfs


def _read_udfs(entity: Entity, raw: Any) -> dict[str, str | None]:
    if raw is None or raw == []:
        return {}
    if not entity.has_udfs:
        raise ApiError(f"{entity.name} has no user-defined fields.")
    if not isinstance(raw, list):
        raise ApiError(f"{entity.name}.userDefinedFields must be a list of {{name, value}} objects.")
    found: dict[str, str | None] = {}
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ApiError(f"{entity.name}.userDefinedFields items need a name, got {item!r}.")
        udf = entity.udf(item["name"])
        if udf is None:  # refused on PATCH too: what Autotask does is not published (stricter choice)
            raise ApiError(f"{entity.name} has no user-defined field {item['name']!r}.")
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise ApiError(f"User-defined field {udf.name!r} needs a string value, not {value!r}.")
        if value is not None and len(value) > udf.length:
            raise ApiError(f"User-defined field {udf.name!r} is longer than {udf.length} characters.")
        found[udf.name] = value if value != "" else None
    return found


def _apply_parent(entity: Entity, values: dict[str, Value], parent_id: int | None) -> None:
    if parent_id is None:
        return
    given = values.get("contractID")
    if given is not None and given != parent_id:
        raise ApiError(f"contractID {given} in the body disagrees with contract {parent_id} in the path.")
    values["contractID"] = parent_id


def _check_references(
    store: SandboxStore, entity: Entity, checked: Mapping[str, Value], merged: Mapping[str, Value]
) -> None:
    for name, value in checked.items():
        field = entity.field(name)
        if field is None or field.reference is None or value is None:
            continue
        target = ENTITIES[field.reference]
        if store.get(target, int(value)) is None:
            raise ApiError(
                f"{entity.name}.{name} {value} does not reference an existing {target.name} object."
            )


def _stamp(entity: Entity, values: dict[str, Value], now: str) -> None:
    for name in TIMESTAMP_FIELDS:
        if entity.field(name) is not None:
            values[name] = now
