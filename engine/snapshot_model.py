"""The snapshot's data: what billsync last wrote per address, and each entry's JSON form.

Shared by the sharded store (:mod:`engine.snapshot`) and the one-file layout it migrates
(:mod:`engine.snapshot_v1`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.held_once import Tables, held_once, one_dict
from engine.resources import KindSpec, decode_attributes, decode_value, encode_attributes
from engine.tenant import TenantIdentity
from engine.types import Address, Attributes

__all__ = [
    "IMPORTED",
    "Entry",
    "Snapshot",
    "entry_from_json",
    "entry_or_object",
    "entry_to_json",
    "found_ids",
]


IMPORTED = "imported"
"""Source key of an entry adopted with ``billsync import``: its object may lack billsync's marker
until the next apply writes it; any other entry's object must carry it (D25)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One managed object as last written: its target id, attributes, references and source identity."""

    kind: str
    target_id: int | None
    """The id of the object of the kind's entity that billsync created or adopted. None only for a kind
    read from another entity (:attr:`KindSpec.read_from`) when billsync created nothing: the object it
    found was already as desired (an adjustment's month whose row held the units), see ``read_id``."""
    attributes: Attributes
    refs: dict[str, Address] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    period: str | None = None
    read_id: int | None = None
    """For a kind read from another entity: the id of the object it was found as (an adjustment month's
    ContractServiceUnits row), when it was adopted or recovered rather than created."""

    @property
    def found_id(self) -> int | None:
        """The id a read of the target reports this address under (:attr:`ActualObject.target_id`) when
        the snapshot knows it."""
        return self.read_id if self.read_id is not None else self.target_id


def found_ids(spec: KindSpec | None, found_id: int) -> tuple[int | None, int | None]:
    """(``target_id``, ``read_id``) of an entry for an object a read found under ``found_id``."""
    if spec is not None and spec.read_from is not None:
        return None, found_id
    return found_id, None


@dataclass(frozen=True)
class Snapshot:
    lineage: str
    serial: int = 0
    resources: dict[Address, Entry] = field(default_factory=dict)
    applied_periods: dict[str, str] = field(default_factory=dict)
    """Month → ``available_on`` of the report revision last applied in full (D7, D20)."""
    applied_digests: dict[str, str] = field(default_factory=dict)
    """Month → digest of that revision's lines, to tell a revision the source cannot date (D20)."""
    tenant: TenantIdentity | None = None
    """The Autotask tenant the snapshot was applied to; None before the first apply binds it (D25)."""

    @staticmethod
    def empty() -> Snapshot:
        """No snapshot yet: no lineage until the first apply gives it one."""
        return Snapshot(lineage="")

    def recorded_months(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(subscription, month) → total sales and cost as applied, from the month's resources (D20)."""
        months: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        corrections: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
        for entry in self.resources.values():
            src = entry.source
            if "total_sales" not in src or "subscription_id" not in src or "period" not in src:
                continue
            amounts = (Decimal(src["total_sales"]), Decimal(src.get("total_cost", "0")))
            if "correction" in src:  # a correction already applied adds its difference
                corrections[(src["subscription_id"], src["period"], src["correction"])] = amounts
            else:  # every resource of the month records the same month totals
                months[(src["subscription_id"], src["period"])] = amounts
        for (sub, period, _revision), (sales, cost) in corrections.items():
            base_sales, base_cost = months.get((sub, period), (Decimal(0), Decimal(0)))
            months[(sub, period)] = (base_sales + sales, base_cost + cost)
        return months

    def managed_subscriptions(self) -> set[str]:
        return {e.source["subscription_id"] for e in self.resources.values() if "subscription_id" in e.source}


def entry_to_json(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": entry.kind,
        "target_id": entry.target_id,
        "attributes": encode_attributes(entry.attributes),
    }
    if entry.refs:
        out["refs"] = dict(sorted(entry.refs.items()))
    if entry.source:
        out["source"] = dict(sorted(entry.source.items()))
    if entry.period:
        out["period"] = entry.period
    if entry.read_id is not None:
        out["read_id"] = entry.read_id
    return out


def entry_from_json(
    raw: Mapping[str, Any], kinds: Mapping[str, KindSpec], shared: dict[Any, Any] | None = None
) -> Entry:
    """An entry from its JSON form; with ``shared``, equal values of all entries read with the same
    dict are one object: reference and source strings and equal reference and source dicts, and each
    attribute decoded once per written text (addresses, ids, names, dates and amounts repeat across
    200,000 entries)."""
    kind = str(raw["kind"])
    spec = kinds.get(kind)
    period = raw.get("period")
    if shared is None:
        attributes = decode_attributes(spec, dict(raw.get("attributes", {})))
        refs = dict(raw.get("refs", {}))
        source = dict(raw.get("source", {}))
    else:
        kind, period = shared.setdefault(kind, kind), shared.setdefault(period, period)
        attributes = {
            name: _decoded(shared, spec, name, value) for name, value in raw.get("attributes", {}).items()
        }
        refs = one_dict(shared, {name: _interned(value) for name, value in raw.get("refs", {}).items()})
        source = one_dict(
            shared, {name: shared.setdefault(value, value) for name, value in raw.get("source", {}).items()}
        )
    target_id, read_id = raw["target_id"], raw.get("read_id")
    return Entry(
        kind=kind,
        target_id=None if target_id is None else int(target_id),
        attributes=attributes,
        refs=refs,
        source=source,
        period=period,
        read_id=None if read_id is None else int(read_id),
    )


def _interned(value: Any) -> Any:
    """A reference is an address: the one string the snapshot's keys and the desired state hold too."""
    return sys.intern(value) if isinstance(value, str) else value


def _decoded(shared: Tables, spec: KindSpec | None, name: str, value: Any) -> Any:
    """One attribute as :func:`decode_attributes` decodes it, once per (field type, written value);
    1, 1.0 and True stay apart."""
    ftype = spec.fields.get(name) if spec else None
    if isinstance(value, list | dict):
        return decode_value(value, ftype)
    return held_once(shared, (ftype, type(value)), value, decode_value, ftype)


_ENTRY_KEYS = frozenset({"kind", "target_id", "attributes", "refs", "source", "period", "read_id"})


def entry_or_object(obj: dict[str, Any], kinds: Mapping[str, KindSpec], shared: dict[Any, Any]) -> Any:
    """An entry becomes an :class:`Entry` as soon as its JSON object is parsed, so 200,000 of them are
    never held twice (as parsed dicts and as entries), and their equal values are shared."""
    if "target_id" in obj and "kind" in obj and obj.keys() <= _ENTRY_KEYS:
        return entry_from_json(obj, kinds, shared)
    return obj
