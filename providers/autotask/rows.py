"""Read objects held compactly until they are matched to addresses.

A plan after apply at 50,000 subscriptions holds about 100,000 contract service, unit and charge rows
from the moment their pages arrive (while the rules render) until :class:`AutotaskTarget` matches them.
As parsed JSON each is a dict of its own (about 360 bytes before its values); as a :class:`Row` it
is a tuple of its values beside one field table shared by every row with the same fields, and equal
strings (dates, markers) are one object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class Row(Mapping[str, Any]):
    """One read object: read like the parsed JSON dict it replaces, never changed."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._index[key]]

    def get(self, key: str, default: Any = None) -> Any:
        at = self._index.get(key)
        return default if at is None else self._values[at]

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"Row({dict(self)!r})"


def compact_rows(rows: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
    """``rows`` as :class:`Row`, in the same order with the same fields and values."""
    tables: dict[tuple[str, ...], dict[str, int]] = {}
    strings: dict[str, str] = {}
    out: list[Mapping[str, Any]] = []
    for row in rows:
        names = tuple(row)
        index = tables.get(names)
        if index is None:
            index = tables[names] = {name: at for at, name in enumerate(names)}
        out.append(Row(index, tuple(strings.setdefault(v, v) if type(v) is str else v for v in row.values())))
    return out
