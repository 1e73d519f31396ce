"""Which Autotask tenant a snapshot belongs to, and the refusal to use it against another (D25).

A snapshot names objects by id; ids mean nothing in another tenant (the same number is someone
else's contract there). So ``state.json`` records the tenant it was applied to — the zone's ``ci``
(the tenant's number, from ``ZoneInformation``) and the REST root it was reached at — and a plan or
apply against another tenant stops before reading or writing objects. The ``ci`` decides when both
sides know it (a tenant moved to another zone keeps its number); the URL decides otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import BillsyncError

__all__ = ["ForeignTenantError", "TenantIdentity", "check_tenant", "unbound_note"]


@dataclass(frozen=True, slots=True)
class TenantIdentity:
    """One Autotask tenant: its number (``ci``, when the zone lookup gives one) and REST root."""

    ci: int | None
    url: str

    def same_tenant(self, other: TenantIdentity) -> bool:
        if self.ci is not None and other.ci is not None:
            return self.ci == other.ci
        return self.url.rstrip("/").lower() == other.url.rstrip("/").lower()

    def describe(self) -> str:
        return f"tenant ci {self.ci} at {self.url}" if self.ci is not None else f"the tenant at {self.url}"

    def to_json(self) -> dict[str, Any]:
        return {"ci": self.ci, "url": self.url}

    @staticmethod
    def from_json(raw: Any) -> TenantIdentity:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise ValueError("tenant must be an object with a url")
        ci = raw.get("ci")
        if ci is not None and (isinstance(ci, bool) or not isinstance(ci, int)):
            raise ValueError("tenant ci must be a number")
        return TenantIdentity(ci=ci, url=raw["url"])


class ForeignTenantError(BillsyncError):
    """The snapshot belongs to another Autotask tenant than the one billsync is connected to."""


def check_tenant(recorded: TenantIdentity | None, current: TenantIdentity, state: str = "state/") -> None:
    """Refuse ``current`` when the snapshot was applied to another tenant (a snapshot that records
    no tenant yet is adopted by the next apply, see :func:`unbound_note`)."""
    if recorded is None or recorded.same_tenant(current):
        return
    raise ForeignTenantError(
        f"{state} belongs to {recorded.describe()}, but billsync is connected to {current.describe()}: "
        "its object ids would name another tenant's objects, so nothing is planned or written",
        hint="To bill this tenant, start its own state: run `billsync state rebuild` in a workspace whose "
        "state/ folder is empty (it reads billsync's marked objects from this tenant), or start a new "
        "workspace (billsync init). To keep billing the other tenant, point billsync.yaml back at it.",
    )


def unbound_note(recorded: TenantIdentity | None, lineage: str, current: TenantIdentity) -> str | None:
    """What a plan says when the snapshot records no tenant yet (older snapshots): the apply binds it."""
    if recorded is not None or not lineage:
        return None
    return (
        f"state/ records no Autotask tenant yet; the next apply binds it to {current.describe()}, "
        "and from then on refuses any other tenant"
    )
