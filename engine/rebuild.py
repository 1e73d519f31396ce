"""What was billed, recovered from the marked objects in the target (D24, D25).

Autotask is the record; the snapshot only speeds reading it up. When the snapshot is lost (or a
workspace moves to a new folder), the objects carrying billsync's markers say what was applied:
each month's units × unit price plus its rounding charge is the month's billed total, and each
``correction-<revision>`` charge is a correction already billed, which also names the report
revision the month was last applied at. Pure: the caller reads the target.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal

from engine.errors import BillsyncError
from engine.plan import WRITES, Adopt, Plan
from engine.posted import CORRECTION
from engine.provider import ActualState
from engine.resources import ActualObject, KindSpec
from engine.snapshot_model import Entry, Snapshot, found_ids
from engine.tenant import TenantIdentity
from engine.types import Address, parse_address

__all__ = [
    "CORRECTION",
    "DUPLICATE",
    "check_no_duplicates",
    "duplicates",
    "rebuilt_snapshot",
    "recover_snapshot",
]


_ZERO = Decimal(0)


def recover_snapshot(actual: ActualState, kinds: Mapping[str, KindSpec], lineage: str = "") -> Snapshot:
    """A snapshot of every marked object in ``actual``: ids and managed fields as Autotask holds them,
    the month totals they bill (D20), and the months known to be applied with the revision applied.

    A month counts as applied when a correction charge names it: a correction is only ever billed
    for a month already applied, at the revision its key names. Other months stay unrecorded, so a
    plan renders them again and adopts what it finds (identical objects are not rewritten)."""
    marked = {a: o for a, o in actual.objects.items() if o.marked and o.kind in kinds}
    base: dict[tuple[str, str], tuple[Decimal, Decimal]] = defaultdict(lambda: (_ZERO, _ZERO))
    applied: dict[str, str] = {}
    for obj in marked.values():
        _kind, key = parse_address(obj.address)
        if obj.kind == "adjustment" and len(key) == 2:
            base[(key[0], key[1])] = _add(base[(key[0], key[1])], _amounts(obj, "units"))
        elif obj.kind == "charge" and len(key) == 3:
            if key[2].startswith(CORRECTION):
                revision = key[2].removeprefix(CORRECTION)
                applied[key[1]] = max(applied.get(key[1], revision), revision)
            else:
                base[(key[0], key[1])] = _add(base[(key[0], key[1])], _amounts(obj, "unitQuantity"))
    entries = {address: _entry(obj, kinds.get(obj.kind), base) for address, obj in sorted(marked.items())}
    return Snapshot(lineage=lineage, resources=entries, applied_periods=dict(sorted(applied.items())))


DUPLICATE = "duplicate"
"""The plan diagnostic of two objects carrying one marker; apply refuses a plan that has one."""


def duplicates(found: Mapping[Address, Sequence[int]]) -> list[str]:
    """One message per address that two or more marked objects carry, naming every id (D24)."""
    return [
        f"duplicate: {address} is carried by {len(ids)} objects in Autotask (ids "
        f"{', '.join(map(str, sorted(ids)))}); nothing is applied until one is ended or renamed in "
        "Autotask (remove its billsync marker), or the address is dropped with `billsync state rm`"
        for address, ids in sorted(found.items())
        if len(ids) > 1
    ]


def check_no_duplicates(plan: Plan) -> None:
    """Refuse to apply a plan that found two objects with one marker (D24)."""
    found = [d.message for d in plan.diagnostics if d.code == DUPLICATE]
    if found:
        raise BillsyncError(
            "refusing to apply: " + "; ".join(found),
            hint="See README, section 'Duplicates': end or rename the extra object in Autotask, or "
            "`billsync state rm` the address, then plan again.",
        )


def _entry(
    obj: ActualObject, spec: KindSpec | None, base: Mapping[tuple[str, str], tuple[Decimal, Decimal]]
) -> Entry:
    _kind, key = parse_address(obj.address)
    source: dict[str, str] = {}
    period: str | None = None
    if obj.kind in ("contract", "contract_service", "adjustment", "charge") and key:
        source["subscription_id"] = key[0]
    if obj.kind in ("adjustment", "charge") and len(key) >= 2:
        period = key[1]
        source["period"] = period
        if obj.kind == "charge" and key[-1].startswith(CORRECTION):
            sales, cost = _amounts(obj, "unitQuantity")
            source["correction"] = key[-1].removeprefix(CORRECTION)
        else:
            sales, cost = base.get((key[0], period), (_ZERO, _ZERO))
        source["total_sales"], source["total_cost"] = str(sales), str(cost)
    target_id, read_id = found_ids(spec, obj.target_id)
    return Entry(obj.kind, target_id, dict(obj.attributes), source=source, period=period, read_id=read_id)


def _adopted(change: Adopt, spec: KindSpec | None) -> Entry:
    target_id, read_id = found_ids(spec, change.target_id)
    return Entry(
        change.kind,
        target_id,
        dict(change.attributes),
        dict(change.refs),
        dict(change.source),
        change.period,
        read_id=read_id,
    )


def _amounts(obj: ActualObject, quantity_field: str) -> tuple[Decimal, Decimal]:
    """(sales, cost) the object bills: quantity × unit price and × unit cost, to the cent (D22)."""
    quantity = _decimal(obj.attributes.get(quantity_field))
    sales = quantity * _decimal(obj.attributes.get("unitPrice"))
    cost = quantity * _decimal(obj.attributes.get("unitCost"))
    return sales.quantize(Decimal("0.01")), cost.quantize(Decimal("0.01"))


def _add(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
    return a[0] + b[0], a[1] + b[1]


def _decimal(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    return _ZERO


def rebuilt_snapshot(
    plan: Plan,
    lineage: str,
    serial: int,
    kinds: Mapping[str, KindSpec],
    tenant: TenantIdentity | None = None,
) -> Snapshot:
    """The snapshot an apply of ``plan`` would leave if it only adopted: every adopted object with the
    references and source identity its rules give, and each planned month whose objects all exist as
    planned recorded as applied. ``plan`` is made against an empty snapshot, so it adopts what it finds.
    A month only an earlier month's planned write would set (``carried_by``) has no object yet: not
    recorded. It is bound to ``tenant``, the one the objects were read from (D25)."""
    entries = {
        c.address: _adopted(c, kinds.get(c.kind))
        for c in plan.changes
        if isinstance(c, Adopt) and c.carried_by is None
    }
    pending = {
        parse_address(c.address)[1][1]
        for c in plan.changes
        if c.action in WRITES and c.kind in ("adjustment", "charge") and len(parse_address(c.address)[1]) > 1
    }
    applied = {p.period: p.available_on for p in plan.periods if p.period not in pending}
    return Snapshot(
        lineage=lineage,
        serial=serial,
        resources=dict(sorted(entries.items())),
        applied_periods=dict(sorted(applied.items())),
        tenant=tenant,
    )
