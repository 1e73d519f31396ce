"""What the engine asks a target to read: one small typed request, built here from engine state.

A target never sees the snapshot, the settings or the desired state: it gets the addresses wanted per
kind (with the values an adoption rule matches on, D3), the ids the snapshot recorded per kind, the
months as dates, and the few settings it checks or sends (:class:`TargetPolicy`). The calendar, the
snapshot's format and the settings model stay the engine's to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.billing import month_end, month_start
from engine.desired import DesiredState
from engine.settings import Settings
from engine.snapshot_model import IMPORTED, Snapshot
from engine.types import Address, Attributes, Period

__all__ = ["ReadPeriod", "Recorded", "ReadRequest", "TargetPolicy", "read_request"]


def _default(name: str) -> Any:
    """The settings model's default for ``name``: one place for it, shared with the settings file."""
    return Settings.model_fields[name].default


class TargetPolicy(BaseModel):
    """The settings a target needs: the ids it checks against the tenant (D4), the create-only values it
    sends (required by Autotask, A9) and the adoption rules (D3). Same names and defaults as the settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sla_id: int
    service_billing_code_id: int
    product_billing_code_id: int
    contract_type: int = _default("contract_type")
    contract_status: int = _default("contract_status")
    contract_period_type: int = _default("contract_period_type")
    service_period_type: int = _default("service_period_type")
    product_period_type: int = _default("product_period_type")
    time_reporting_requires_start_and_stop_times: int = _default(
        "time_reporting_requires_start_and_stop_times"
    )
    charge_type: int = _default("charge_type")
    product_is_serialized: bool = _default("product_is_serialized")
    adopt: dict[str, tuple[str, ...]] = {}
    """Kind → fields that must all match for an unmarked object to be adopted (D3)."""

    @classmethod
    def of(cls, settings: Settings) -> TargetPolicy:
        """The target's part of ``settings``."""
        values = {name: getattr(settings, name) for name in cls.model_fields if name != "adopt"}
        return cls(**values, adopt={kind: tuple(names) for kind, names in settings.adopt.items()})


@dataclass(frozen=True)
class ReadPeriod:
    """One billing month to read: its ``YYYY-MM`` name and its first and last day."""

    period: Period
    start: date
    end: date

    @staticmethod
    def of(period: Period) -> ReadPeriod:
        return ReadPeriod(period, month_start(period), month_end(period))


@dataclass(frozen=True)
class Recorded:
    """An object the snapshot records under an address: its target id, and whether it was taken under
    management with ``billsync import`` (the only way an object may lack billsync's marker, D25)."""

    target_id: int
    imported: bool = False


@dataclass(frozen=True)
class ReadRequest:
    """Everything a target's bulk read needs. The part without ``wanted`` is known before the rules
    render, so a target may start reading then (``prefetching``) and match the rows once it is given."""

    recorded: Mapping[str, Mapping[Address, Recorded]]
    """Kind → address → the object the snapshot recorded for it."""
    periods: tuple[ReadPeriod, ...]
    """The months whose month-scoped objects (unit rows, charges) are read, in order."""
    policy: TargetPolicy
    wanted: Mapping[str, Mapping[Address, Attributes]] = field(default_factory=dict)
    """Kind → address → desired attributes, in render order: what the plan renders (or, with
    ``--target``, the selection), so the target can check and adopt for it."""

    @property
    def first_day(self) -> date | None:
        """The first day of the earliest month, None without months."""
        return min((p.start for p in self.periods), default=None)

    @property
    def last_day(self) -> date | None:
        return max((p.end for p in self.periods), default=None)

    def recorded_ids(self, kind: str) -> list[int]:
        """The ids the snapshot recorded for ``kind``, in snapshot order."""
        return [entry.target_id for entry in self.recorded.get(kind, {}).values()]

    def wanting(self, desired: DesiredState) -> ReadRequest:
        """This request for the addresses ``desired`` renders."""
        wanted: dict[str, dict[Address, Attributes]] = {}
        for address, resource in desired.resources.items():
            wanted.setdefault(resource.kind, {})[address] = resource.attributes
        return replace(self, wanted=wanted)

    def same_reads(self, other: ReadRequest) -> bool:
        """Whether ``other`` needs the reads started for this one (everything but ``wanted`` alike)."""
        return (
            self.periods == other.periods and self.policy == other.policy and self.recorded == other.recorded
        )


def read_request(
    snapshot: Snapshot, periods: Sequence[Period], settings: Settings, desired: DesiredState | None = None
) -> ReadRequest:
    """The request for reading ``periods`` (and ``desired``'s addresses) against ``snapshot``."""
    recorded: dict[str, dict[Address, Recorded]] = {}
    for address, entry in snapshot.resources.items():
        if entry.target_id is None:
            continue  # nothing billsync wrote (a month found already right): no id of the kind's entity
        imported = entry.source.get(IMPORTED) is not None
        recorded.setdefault(entry.kind, {})[address] = Recorded(entry.target_id, imported)
    request = ReadRequest(recorded, tuple(ReadPeriod.of(p) for p in periods), TargetPolicy.of(settings))
    return request if desired is None else request.wanting(desired)
