"""The Autotask query filter language, as small builders: ``F.eq("id", 5)``, ``F.or_(…)``.

Every one of Autotask's 14 operators, the ``udf`` flag and ``and``/``or`` grouping produce the JSON
dictionaries the REST API takes in a query's ``filter`` list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeAlias

__all__ = ["MAX_IN_VALUES", "F", "Filter", "FilterValue"]

MAX_IN_VALUES = 500
"""Most values Autotask accepts in one ``in`` list (and most records on one page)."""

Filter: TypeAlias = dict[str, Any]
FilterValue: TypeAlias = str | int | bool | Decimal | date


class F:
    """Builders for Autotask query filters: ``F.eq("id", 5)`` gives ``{"op": "eq", "field": "id", "value": 5}``.

    Every comparison takes ``udf=True`` for a user-defined field; ``F.udf_eq`` is the common case.
    """

    @staticmethod
    def eq(field: str, value: FilterValue, *, udf: bool = False) -> Filter:
        return _compare("eq", field, value, udf)

    @staticmethod
    def noteq(field: str, value: FilterValue, *, udf: bool = False) -> Filter:
        return _compare("noteq", field, value, udf)

    @staticmethod
    def gt(field: str, value: FilterValue, *, udf: bool = False) -> Filter:
        return _compare("gt", field, value, udf)

    @staticmethod
    def gte(field: str, value: FilterValue, *, udf: bool = False) -> Filter:
        return _compare("gte", field, value, udf)

    @staticmethod
    def lt(field: str, value: FilterValue, *, udf: bool = False) -> Filter:
        return _compare("lt", field, value, udf)

    @staticmethod
    def lte(field: str, value: FilterValue, *, udf: bool = False) -> Filter:
        return _compare("lte", field, value, udf)

    @staticmethod
    def begins_with(field: str, value: str, *, udf: bool = False) -> Filter:
        return _compare("beginsWith", field, value, udf)

    @staticmethod
    def ends_with(field: str, value: str, *, udf: bool = False) -> Filter:
        return _compare("endsWith", field, value, udf)

    @staticmethod
    def contains(field: str, value: str, *, udf: bool = False) -> Filter:
        return _compare("contains", field, value, udf)

    @staticmethod
    def exist(field: str, *, udf: bool = False) -> Filter:
        return _with_udf({"op": "exist", "field": field}, udf)

    @staticmethod
    def not_exist(field: str, *, udf: bool = False) -> Filter:
        return _with_udf({"op": "notExist", "field": field}, udf)

    @staticmethod
    def in_(field: str, values: Iterable[FilterValue], *, udf: bool = False) -> Filter:
        return _listed("in", field, values, udf)

    @staticmethod
    def not_in(field: str, values: Iterable[FilterValue], *, udf: bool = False) -> Filter:
        return _listed("notIn", field, values, udf)

    @staticmethod
    def udf_eq(field: str, value: FilterValue) -> Filter:
        return _compare("eq", field, value, True)

    @staticmethod
    def and_(*items: Filter) -> Filter:
        return _grouped("and", items)

    @staticmethod
    def or_(*items: Filter) -> Filter:
        return _grouped("or", items)


def _compare(op: str, field: str, value: FilterValue, udf: bool) -> Filter:
    if value is None:
        raise ValueError(f"Autotask cannot compare {field} with null: use F.exist or F.not_exist")
    return _with_udf({"op": op, "field": field, "value": value}, udf)


def _listed(op: str, field: str, values: Iterable[FilterValue], udf: bool) -> Filter:
    listed = list(values)
    if not listed or len(listed) > MAX_IN_VALUES:
        raise ValueError(f"an {op} filter takes 1 to {MAX_IN_VALUES} values, got {len(listed)}")
    return _with_udf({"op": op, "field": field, "value": listed}, udf)


def _grouped(op: str, items: Sequence[Filter]) -> Filter:
    if not items:
        raise ValueError(f"an {op} group needs at least one filter")
    return {"op": op, "items": list(items)}


def _with_udf(node: Filter, udf: bool) -> Filter:
    return {**node, "udf": True} if udf else node
