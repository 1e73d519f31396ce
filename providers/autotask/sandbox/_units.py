"""ContractServiceUnits, derived on demand from contract services and their adjustments.

The rows follow the billing conventions documented in :mod:`._billing`.

Rows are never stored: a query pushes its ``contractID``/``contractServiceID``/``serviceID``/``id``
and date bounds into the choice of contract services and months, generates those rows into a
temporary table, and applies the full filter there with the same SQL as stored entities. Contract
services are taken in id order in chunks, so a page of 500 rows generates little more than it returns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from providers.autotask.entities import CONTRACT_SERVICE_UNITS, PERIOD_MONTHS

from ._billing import ROW_ID_FACTOR, add_months
from ._filters import Condition, Group
from ._posting import NOTHING_POSTED, Postings, load_postings
from ._sql import where_sql
from ._values import format_date, from_sql, parse_date

if TYPE_CHECKING:
    from ._store import SandboxStore

_CHUNK = 200
_COLUMNS = (
    "id",
    "contractID",
    "contractServiceID",
    "serviceID",
    "startDate",
    "endDate",
    "units",
    "price",
    "cost",
    "approveAndPostDate",
)


@dataclass(frozen=True)
class _Adjustment:
    effective: date
    unit_change: int
    price: Decimal | None
    cost: Decimal | None


@dataclass(frozen=True)
class _ContractService:
    id: int
    contract_id: int
    service_id: int
    price: Decimal | None
    cost: Decimal | None
    start: date
    end: date
    months: int = 1
    """Months in one billing period of the contract."""


@dataclass
class _Bounds:
    contract_ids: set[int] | None = None
    service_ids: set[int] | None = None
    contract_service_ids: set[int] | None = None
    lowest_cs: int | None = None
    highest_cs: int | None = None
    first_day: date | None = None
    last_day: date | None = None


def select_units(
    store: SandboxStore,
    where: Group,
    *,
    after: int | None,
    before: int | None,
    limit: int | None,
    descending: bool,
) -> list[dict[str, Any]]:
    """ContractServiceUnits rows matching ``where``, in id order, keyset-bounded, at most ``limit``."""
    found: list[dict[str, Any]] = []
    for chunk_rows in _chunks(store, where, after, before, descending):
        remaining = None if limit is None else limit - len(found)
        found.extend(_query_temp(store, where, after, before, remaining, descending, chunk_rows))
        if limit is not None and len(found) >= limit:
            break
    return found


def count_units(store: SandboxStore, where: Group) -> int:
    """How many ContractServiceUnits rows match ``where``."""
    total = 0
    for chunk_rows in _chunks(store, where, None, None, False):
        total += len(_query_temp(store, where, None, None, None, False, chunk_rows))
    return total


def generate_rows(
    service: _ContractService,
    adjustments: list[_Adjustment],
    bounds: _Bounds,
    postings: Postings = NOTHING_POSTED,
) -> Iterator[tuple[Any, ...]]:
    """The unit rows of one contract service that may fall inside the bounds' date window.

    One row per billing period of the contract (``contractPeriodType``: 1, 3, 6 or 12 months,
    counted from the contract's start date), split at each adjustment's effective date (A9.4, A10).
    Every row of a posted period carries the posting's ``approveAndPostDate`` (:mod:`._posting`).
    """
    start, end = service.start, service.end
    if bounds.last_day is not None:
        end = min(end, bounds.last_day)
    step = service.months
    index = 0
    if bounds.first_day is not None and bounds.first_day > start:
        elapsed = (bounds.first_day.year - start.year) * 12 + bounds.first_day.month - start.month
        index = max(0, elapsed // step - 1)
    pending = iter(adjustments)
    upcoming = next(pending, None)
    units, price, cost = 0, service.price, service.cost
    cursor = add_months(start, index * step)
    while cursor <= end:
        period_end = min(add_months(start, (index + 1) * step) - timedelta(days=1), service.end)
        splits = sorted({a.effective for a in adjustments if cursor < a.effective <= period_end})
        posted_at = postings.posted_at(period_end)
        starts = [cursor, *splits]
        for number, segment_start in enumerate(starts):
            segment_end = starts[number + 1] - timedelta(days=1) if number + 1 < len(starts) else period_end
            while upcoming is not None and upcoming.effective <= segment_start:
                units += upcoming.unit_change
                price = upcoming.price if upcoming.price is not None else price
                cost = upcoming.cost if upcoming.cost is not None else cost
                upcoming = next(pending, None)
            if bounds.first_day is not None and segment_end < bounds.first_day:
                continue
            if segment_start > end:
                break
            row_id = service.id * ROW_ID_FACTOR + (segment_start - service.start).days
            yield (
                row_id,
                service.contract_id,
                service.id,
                service.service_id,
                format_date(segment_start),
                format_date(segment_end),
                units,
                None if price is None else str(price),
                None if cost is None else str(cost),
                posted_at,
            )
        index += 1
        cursor = period_end + timedelta(days=1)


def _chunks(
    store: SandboxStore, where: Group, after: int | None, before: int | None, descending: bool
) -> Iterator[list[tuple[Any, ...]]]:
    bounds = _bounds(where)
    if after is not None:
        bounds.lowest_cs = max(bounds.lowest_cs or 0, after // ROW_ID_FACTOR)
    if before is not None:
        top = (before - 1) // ROW_ID_FACTOR
        bounds.highest_cs = top if bounds.highest_cs is None else min(bounds.highest_cs, top)
    last: int | None = None
    postings = load_postings(store)
    while True:
        services = _contract_services(store, bounds, last, descending)
        if not services:
            return
        adjustments = _adjustments(store, [s.id for s in services])
        yield [row for s in services for row in generate_rows(s, adjustments[s.id], bounds, postings)]
        last = services[-1].id


def _contract_services(
    store: SandboxStore, bounds: _Bounds, last: int | None, descending: bool
) -> list[_ContractService]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, ids in (
        ("cs.contractID", bounds.contract_ids),
        ("cs.serviceID", bounds.service_ids),
        ("cs.id", bounds.contract_service_ids),
    ):
        if ids is not None:
            clauses.append(f"{column} IN ({','.join('?' * len(ids))})" if ids else "0")
            params.extend(sorted(ids))
    if bounds.lowest_cs is not None:
        clauses.append("cs.id >= ?")
        params.append(bounds.lowest_cs)
    if bounds.highest_cs is not None:
        clauses.append("cs.id <= ?")
        params.append(bounds.highest_cs)
    if last is not None:
        clauses.append("cs.id < ?" if descending else "cs.id > ?")
        params.append(last)
    sql = (
        "SELECT cs.id, cs.contractID, cs.serviceID, cs.unitPrice, cs.unitCost, c.startDate, c.endDate, "
        "c.contractPeriodType "
        'FROM "ContractServices" cs JOIN "Contracts" c ON c.id = cs.contractID '
        f"WHERE {' AND '.join(clauses) or '1'} ORDER BY cs.id {'DESC' if descending else 'ASC'} LIMIT {_CHUNK}"
    )
    return [
        _ContractService(
            id=row[0],
            contract_id=row[1],
            service_id=row[2],
            price=None if row[3] is None else Decimal(row[3]),
            cost=None if row[4] is None else Decimal(row[4]),
            start=parse_date(row[5]),
            end=parse_date(row[6]),
            months=PERIOD_MONTHS.get(row[7] or 1, 1),
        )
        for row in store.connection.execute(sql, params)
        if row[5] is not None and row[6] is not None
    ]


def _adjustments(store: SandboxStore, service_ids: list[int]) -> dict[int, list[_Adjustment]]:
    found: dict[int, list[_Adjustment]] = defaultdict(list)
    sql = (
        "SELECT contractServiceID, effectiveDate, unitChange, adjustedUnitPrice, adjustedUnitCost FROM "
        f'"ContractServiceAdjustments" WHERE contractServiceID IN ({",".join("?" * len(service_ids))}) '
        "ORDER BY effectiveDate, id"
    )
    for cs_id, effective, change, price, cost in store.connection.execute(sql, service_ids):
        found[cs_id].append(
            _Adjustment(
                effective=parse_date(effective),
                unit_change=int(change or 0),
                price=None if price is None else Decimal(price),
                cost=None if cost is None else Decimal(cost),
            )
        )
    return found


def _query_temp(
    store: SandboxStore,
    where: Group,
    after: int | None,
    before: int | None,
    limit: int | None,
    descending: bool,
    rows: list[tuple[Any, ...]],
) -> list[dict[str, Any]]:
    if not rows:
        return []
    conn = store.connection
    with store.transaction():
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS sandbox_units (id INTEGER PRIMARY KEY, contractID INTEGER, "
            "contractServiceID INTEGER, serviceID INTEGER, startDate TEXT, endDate TEXT, units INTEGER, "
            "price TEXT, cost TEXT, approveAndPostDate TEXT)"
        )
        conn.execute("DELETE FROM temp.sandbox_units")
        conn.executemany(f"INSERT INTO temp.sandbox_units VALUES ({','.join('?' * len(_COLUMNS))})", rows)
        sql, params = where_sql(CONTRACT_SERVICE_UNITS, where)
        extra: list[Any] = list(params)
        if after is not None:
            sql += " AND id > ?"
            extra.append(after)
        if before is not None:
            sql += " AND id < ?"
            extra.append(before)
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        order = "DESC" if descending else "ASC"
        records = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM temp.sandbox_units WHERE {sql} ORDER BY id {order}{tail}",
            extra,
        ).fetchall()
        conn.execute("DELETE FROM temp.sandbox_units")
    fields = [CONTRACT_SERVICE_UNITS.field(name) for name in _COLUMNS]
    return [
        {f.name: from_sql(f, value) for f, value in zip(fields, record, strict=True) if f is not None}
        for record in records
    ]


def _bounds(where: Group) -> _Bounds:
    bounds = _Bounds()
    for cond in _and_conditions(where):
        if cond.field is None:
            continue
        name, op, value = cond.field.name, cond.op, cond.value
        ids = _id_set(op, value)
        if name == "contractID" and ids is not None:
            bounds.contract_ids = ids if bounds.contract_ids is None else bounds.contract_ids & ids
        elif name == "serviceID" and ids is not None:
            bounds.service_ids = ids if bounds.service_ids is None else bounds.service_ids & ids
        elif name == "contractServiceID" and ids is not None:
            bounds.contract_service_ids = (
                ids if bounds.contract_service_ids is None else bounds.contract_service_ids & ids
            )
        elif name == "id":
            _id_bounds(bounds, op, value, ids)
        elif name in ("startDate", "endDate") and isinstance(value, str):
            _date_bounds(bounds, op, parse_date(value))
    return bounds


def _and_conditions(group: Group) -> Iterator[Condition]:
    if group.op != "and":
        return
    for item in group.items:
        if isinstance(item, Group):
            yield from _and_conditions(item)
        else:
            yield item


def _id_set(op: str, value: Any) -> set[int] | None:
    if op == "eq" and isinstance(value, int):
        return {value}
    if op == "in" and isinstance(value, tuple):
        return {v for v in value if isinstance(v, int)}
    return None


def _id_bounds(bounds: _Bounds, op: str, value: Any, ids: set[int] | None) -> None:
    if ids is not None:
        cs_ids = {row_id // ROW_ID_FACTOR for row_id in ids}
        bounds.contract_service_ids = (
            cs_ids if bounds.contract_service_ids is None else bounds.contract_service_ids & cs_ids
        )
    elif op in ("gt", "gte") and isinstance(value, int):
        bounds.lowest_cs = max(bounds.lowest_cs or 0, value // ROW_ID_FACTOR)
    elif op in ("lt", "lte") and isinstance(value, int):
        top = value // ROW_ID_FACTOR
        bounds.highest_cs = top if bounds.highest_cs is None else min(bounds.highest_cs, top)


def _date_bounds(bounds: _Bounds, op: str, day: date) -> None:
    # Rows overlapping [first_day, last_day] are generated; the SQL filter then trims exactly.
    if op in ("gt", "gte", "eq"):
        bounds.first_day = day if bounds.first_day is None else max(bounds.first_day, day)
    if op in ("lt", "lte", "eq"):
        bounds.last_day = day if bounds.last_day is None else min(bounds.last_day, day)
