"""The desired state: what the rules say the target should hold, one :class:`Resource` per address.

Rendering produces it, the diff compares it with what the target holds, and the read request is built
from its addresses; it lives apart from the renderer so none of those needs the renderer to name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.resources import Resource
from engine.types import Address

__all__ = ["DesiredState"]


@dataclass(frozen=True)
class DesiredState:
    """The rendered desired state, keyed by address, in render order."""

    resources: dict[Address, Resource]
