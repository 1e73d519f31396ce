"""Type aliases shared by every engine module."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "Address",
    "Scalar",
    "Attributes",
    "Period",
    "ProviderData",
    "make_address",
    "parse_address",
]

Address: TypeAlias = str
"""A resource's stable name, built from its source identity: ``contract["S-1"]``."""

Scalar: TypeAlias = str | int | bool | Decimal | date | None
Attributes: TypeAlias = dict[str, Scalar]
"""Managed attribute values of one resource, typed (Decimal money, ``date`` dates)."""

Period: TypeAlias = str
"""A billing month as ``YYYY-MM``."""

ProviderData: TypeAlias = dict[str, Scalar]
"""A provider's own detail of a change (what Autotask is sent to create an adjustment): made by the
provider's comparator, carried in the plan file and sealed with it, shown as it is and handed back to
the provider on apply. The engine never reads a key of it; its types come from the kind's
``payload_fields``."""


def make_address(kind: str, *key: str) -> Address:
    """Build ``kind["k1"]["k2"]`` from a kind and its key parts. Interned: the desired state, the
    snapshot and the target's objects name the same 200,000 addresses, and hold one string each."""
    return sys.intern(kind + "".join(f'["{part}"]' for part in key))


def parse_address(address: Address) -> tuple[str, tuple[str, ...]]:
    """Split an address into its kind and key parts (inverse of :func:`make_address`)."""
    kind, _, rest = address.partition("[")
    if not rest:
        return kind, ()
    parts = ("[" + rest)[2:-2].split('"]["')
    return kind, tuple(parts)
