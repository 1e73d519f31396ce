"""Row conversion for bulk seeding: API-style dicts to SQLite rows, checked, at benchmark speed."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from providers.autotask.entities import Entity, Field

from ._errors import ApiError
from ._values import coerce, format_date, format_datetime, to_sql

SqlRow = list[int | str | None]


class BulkRows:
    """Converts rows of one entity, caching field lookups across rows."""

    def __init__(self, entity: Entity) -> None:
        self.entity = entity
        self.columns = entity.fields
        self.id_index = next(i for i, f in enumerate(self.columns) if f.name == "id")
        self._defaults: SqlRow = [to_sql(f, f.default) for f in self.columns]
        self._index = {f.name: i for i, f in enumerate(self.columns)}
        self._slots: dict[str, tuple[int, Field]] = {}

    def convert(self, row: Mapping[str, Any], number: int) -> tuple[SqlRow, dict[str, str]]:
        """The SQL values (in column order, defaults applied) and UDF values of one row."""
        values = list(self._defaults)
        udfs: dict[str, str] = {}
        for name, raw in row.items():
            slot = self._slots.get(name)
            if slot is None:
                if name == "userDefinedFields":
                    udfs = self._udfs(raw, number)
                    continue
                slot = self._slot(name, number)
            index, field = slot
            if raw is None:
                continue
            if isinstance(raw, datetime):
                raw = format_datetime(raw)
            elif isinstance(raw, date):
                raw = format_date(raw)
            try:
                values[index] = to_sql(field, coerce(field, raw, entity=self.entity.name))
            except ApiError as error:
                raise ValueError(f"row {number}: {error}") from None
        return values, udfs

    def _slot(self, name: str, number: int) -> tuple[int, Field]:
        field = self.entity.field(name)
        if field is None:
            raise ValueError(f"row {number}: {self.entity.name} has no field {name!r}")
        slot = (self._index[field.name], field)
        self._slots[name] = slot
        return slot

    def _udfs(self, raw: Any, number: int) -> dict[str, str]:
        found: dict[str, str] = {}
        for item in raw or ():
            udf = self.entity.udf(str(item["name"]))
            if udf is None:
                raise ValueError(
                    f"row {number}: {self.entity.name} has no user-defined field {item['name']!r}"
                )
            if item.get("value") is not None:
                found[udf.name] = str(item["value"])
        return found
