"""Translate a parsed filter into a SQLite ``WHERE`` clause over an entity's table.

Each field is a real column, so equality and ``in`` on indexed fields (ids, references, sku,
purchase order, dates) use the index instead of scanning. String columns are declared
``COLLATE NOCASE`` so every comparison is case-insensitive, as in Autotask. ``noteq`` and
``notIn`` also match rows where the field is empty. UDF conditions become ``id`` sub-queries on
the indexed ``udf_values`` table.
"""

from __future__ import annotations

from decimal import Decimal

from providers.autotask.entities import Entity, Field, FieldType

from ._filters import Condition, Group, Node
from ._values import Value, decimal_units, to_sql

SqlParams = list[int | str | None]

_SQL_OPS = {"eq": "=", "noteq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def quote(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def where_sql(entity: Entity, node: Node, *, udf_entity: str | None = None) -> tuple[str, SqlParams]:
    """The SQL condition for ``node`` and its parameters (``udf_entity`` names the UDF owner)."""
    params: SqlParams = []
    sql = _node(entity, node, params, udf_entity or entity.name)
    return sql, params


def _node(entity: Entity, node: Node, params: SqlParams, owner: str) -> str:
    if isinstance(node, Group):
        joiner = " AND " if node.op == "and" else " OR "
        return "(" + joiner.join(_node(entity, item, params, owner) for item in node.items) + ")"
    if node.udf is not None:
        return _udf(node, params, owner)
    assert node.field is not None
    return _field(node.field, node, params)


def _field(field: Field, cond: Condition, params: SqlParams) -> str:
    column = quote(field.name)
    op = cond.op
    if op == "exist":
        return f"{column} IS NOT NULL"
    if op == "notexist":
        return f"{column} IS NULL"
    if op in ("beginswith", "endswith", "contains"):
        assert isinstance(cond.value, str)
        params.append(_like(op, cond.value))
        return f"{column} LIKE ? ESCAPE '\\'"
    if op in ("in", "notin"):
        assert isinstance(cond.value, tuple)
        values = [_param(field, value) for value in cond.value]
        params.extend(values)
        marks = ",".join("?" * len(values))
        if op == "in":
            return f"{column} IN ({marks})" if values else "0"
        return f"({column} IS NULL OR {column} NOT IN ({marks}))" if values else "1"
    assert not isinstance(cond.value, tuple)
    if field.type is FieldType.DECIMAL and op not in ("eq", "noteq"):
        assert isinstance(cond.value, Decimal)
        params.append(decimal_units(cond.value))
        return f"sandbox_decimal_key({column}) {_SQL_OPS[op]} ?"
    params.append(_param(field, cond.value))
    if op == "noteq":
        return f"({column} IS NULL OR {column} != ?)"
    return f"{column} {_SQL_OPS[op]} ?"


def _udf(cond: Condition, params: SqlParams, owner: str) -> str:
    sub = "SELECT object_id FROM udf_values WHERE entity = ? AND name = ?"
    params.extend([owner, cond.udf])
    op = cond.op
    if op in ("exist", "notexist"):
        # a probe per row on the (entity, object_id, name) key: an id-ordered page stops after its
        # 500 rows instead of listing every object that has the field (``id`` is the outer table's)
        probe = "EXISTS (SELECT 1 FROM udf_values WHERE entity = ? AND name = ? AND object_id = id AND value IS NOT NULL)"
        return probe if op == "exist" else f"NOT {probe}"
    if op in ("beginswith", "endswith", "contains"):
        assert isinstance(cond.value, str)
        params.append(_like(op, cond.value))
        return f"id IN ({sub} AND value LIKE ? ESCAPE '\\')"
    if op in ("in", "notin"):
        assert isinstance(cond.value, tuple)
        params.extend(str(value) for value in cond.value)
        marks = ",".join("?" * len(cond.value))
        inner = f"id IN ({sub} AND value IN ({marks}))" if cond.value else "0"
        return inner if op == "in" else f"NOT {inner}"
    params.append(str(cond.value))
    if op == "noteq":
        return f"id NOT IN ({sub} AND value = ?)"
    return f"id IN ({sub} AND value {_SQL_OPS[op]} ?)"


def _param(field: Field, value: Value) -> int | str | None:
    return to_sql(field, value)


def _like(op: str, text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if op == "beginswith":
        return escaped + "%"
    if op == "endswith":
        return "%" + escaped
    return "%" + escaped + "%"
