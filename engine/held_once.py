"""Equal values held once: at 50,000 subscriptions the snapshot, the desired state and the target's
objects repeat the same prices, dates, names and small dicts hundreds of thousands of times.

A table of tables (one per group of values, keyed by the value alone) finds the object already held.
Keying by the value alone matters: a key tuple per value would stay in memory as long as the table,
and freed tuples leave holes between the objects that stay.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from itertools import chain
from typing import Any, TypeVar

__all__ = ["Tables", "held_once", "one_dict"]

Tables = dict[Any, Any]
"""Group → {value → the object held for it}; also equal dicts by their flattened items (:func:`one_dict`)."""

T = TypeVar("T")
_MISSING = object()


def held_once(tables: Tables, group: Hashable, value: Hashable, make: Callable[..., T], *args: Any) -> T:
    """``make(value, *args)``, made once per ``group`` and ``value``. ``group`` keeps apart values
    that are equal keys but must not share what is made of them (``1``, ``1.0`` and ``True``; the
    same text typed as a date or as a string)."""
    table = tables.get(group)
    if table is None:
        table = tables[group] = {}
    found = table.get(value, _MISSING)
    if found is _MISSING:
        found = table[value] = make(value, *args)
    return found  # type: ignore[no-any-return]


def one_dict(tables: Tables, values: dict[str, str]) -> dict[str, str]:
    """``values``, or the equal dict already held (a contract and its contract service record one
    source, every month of an object the same references). Nothing changes such a dict once made."""
    found: dict[str, str] = tables.setdefault(("dict", *chain.from_iterable(values.items())), values)
    return found
