"""Every Autotask REST path billsync uses, built from one table.

Child entities are written through their parent contract while reads go to the root entity. The
child paths (``Contracts/{id}/Services|ServiceAdjustments|Charges``) are those of Autotask's published
swagger (API-FACTS A2) and live in :data:`CHILD_WRITE_PATHS` alone.
All paths are relative to the REST base URL (the one ending in ``V1.0/``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "CHILD_WRITE_PATHS",
    "THRESHOLD_PATH",
    "count_path",
    "fields_path",
    "item_path",
    "query_path",
    "write_path",
]

CHILD_WRITE_PATHS: Mapping[str, str] = MappingProxyType(
    {
        "ContractServices": "Contracts/{parent_id}/Services",
        "ContractServiceAdjustments": "Contracts/{parent_id}/ServiceAdjustments",
        "ContractCharges": "Contracts/{parent_id}/Charges",
    }
)
"""Child entity → its create/update path under the parent; ``{parent_id}`` is the contract id."""

THRESHOLD_PATH = "ThresholdInformation"

_ENTITY_NAME = re.compile(r"[A-Z][A-Za-z]*")


def query_path(entity: str) -> str:
    """``{Entity}/query``: the bulk read (POST with a filter body); children are queried at the root."""
    return f"{_checked(entity)}/query"


def count_path(entity: str) -> str:
    """``{Entity}/query/count``: how many objects match a filter."""
    return f"{_checked(entity)}/query/count"


def item_path(entity: str, object_id: int) -> str:
    """``{Entity}/{id}``: one object by id."""
    return f"{_checked(entity)}/{_checked_id(object_id, 'id')}"


def fields_path(entity: str) -> str:
    """``{Entity}/entityInformation/fields``: field metadata (required, read-only, picklists)."""
    return f"{_checked(entity)}/entityInformation/fields"


def write_path(entity: str, parent_id: int | None = None) -> str:
    """Where a create (POST) or partial update (PATCH) of ``entity`` goes.

    A child entity needs its parent contract id; a root entity must not be given one, because a
    silently ignored parent would hide a caller's mistake.
    """
    template = CHILD_WRITE_PATHS.get(_checked(entity))
    if template is None:
        if parent_id is not None:
            raise ValueError(f"{entity} is not a child entity: it is written without a parent id")
        return entity
    if parent_id is None:
        raise ValueError(f"{entity} is written through its parent contract: pass parent_id")
    return template.format(parent_id=_checked_id(parent_id, "parent_id"))


def _checked(entity: str) -> str:
    """Refuse anything but a plain entity name, so a path can never be steered elsewhere."""
    if not _ENTITY_NAME.fullmatch(entity):
        raise ValueError(f"not an Autotask entity name: {entity!r}")
    return entity


def _checked_id(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {value!r}")
    return value
