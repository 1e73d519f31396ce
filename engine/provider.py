"""The contract between the engine and the systems it talks to.

A *target* (Autotask) declares its resource kinds, may register comparators for kinds with special
semantics, reads actual objects in bulk and executes writes. A *source* (Cloudmore) hands over the
source model. Providers implement these protocols; the engine never builds a URL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

from engine.budget import Budget
from engine.plan import Change, Create, Update
from engine.read_request import ReadRequest, TargetPolicy
from engine.resources import ActualObject, KindSpec, Resource
from engine.snapshot import Snapshot
from engine.source import Organization, SourceData
from engine.tenant import TenantIdentity
from engine.types import Address

__all__ = [
    "ActualState",
    "Company",
    "CompareInput",
    "Comparator",
    "WriteResult",
    "WriterClaim",
    "WriterLease",
    "Target",
    "Source",
    "OrganizationDirectory",
]


@dataclass(frozen=True)
class ActualState:
    """Objects read from the target, keyed by the address their identity marker maps to."""

    objects: dict[Address, ActualObject]
    fingerprint: str
    problems: tuple[str, ...] = ()
    """Settings or references the target does not know (D4: a missing or inactive SLA/billing code)."""
    reads: dict[str, int] = field(default_factory=dict)
    unowned: tuple[str, ...] = ()
    """Snapshot ids whose object carries no billsync marker for its address (D25): shown by the
    plan, never a target."""
    duplicates: dict[Address, tuple[int, ...]] = field(default_factory=dict)
    """Addresses whose marker two or more objects carry, with every id (D24): nothing is applied
    until one of them is ended or renamed in the target, or the address is dropped (``state rm``)."""


@dataclass(frozen=True)
class Company:
    """One company of the target, as onboarding needs it (D2); the MSP's own company is id 0."""

    id: int
    name: str
    number: str = ""
    active: bool = True


@dataclass(frozen=True)
class CompareInput:
    """What a comparator sees for one kind: desired resources and the matching actual/snapshot data."""

    desired: Sequence[Resource]
    actual: Mapping[Address, ActualObject]
    snapshot: Snapshot
    spec: KindSpec


Comparator = Callable[[CompareInput], list[Change]]
"""Turns one kind's desired resources into changes (registered per kind by the target)."""


@dataclass(frozen=True)
class WriteResult:
    """A successful write: the target id, and the attributes now true in the target."""

    target_id: int


@dataclass(frozen=True)
class WriterClaim:
    """Who asks to write to a tenant (D26): shown to any other apply that is refused meanwhile."""

    who: str
    """``user@host``."""
    pid: int
    workspace: str
    """The workspace folder, so two copies on one host can be told apart."""
    operation: str
    """``apply`` or ``run``."""

    def describe(self) -> str:
        return f"{self.operation} by {self.who} (pid {self.pid}) in {self.workspace}"


class WriterLease(Protocol):
    """The tenant's one-writer lease, held for a block (D26)."""

    def check(self) -> None:
        """Raise :class:`engine.errors.WriterBusyError` when the lease was lost (a renewal failed, or
        it expired), so no further write is started."""
        ...


class Target(Protocol):
    """A billing system billsync writes to."""

    def describe(self) -> str:
        """Where the target is (a URL or 'embedded sandbox'), never with credentials."""
        ...

    def identity(self) -> TenantIdentity:
        """Which tenant this is (asked once per run): a snapshot is bound to it (D25)."""
        ...

    def kinds(self) -> Mapping[str, KindSpec]: ...

    def comparators(self) -> Mapping[str, Comparator]: ...

    def prefetching(self, request: ReadRequest) -> AbstractContextManager[None]:
        """A block during which the reads that need no wanted addresses already run, so they overlap
        rendering; :meth:`read` inside it, with a request for the same recorded ids, months and policy
        (:meth:`ReadRequest.same_reads`), uses them. On leaving, requests still running are waited for,
        so a plan whose rules fail to render may already have read the target (never written)."""
        ...

    def read(self, request: ReadRequest) -> ActualState:
        """Read every object the request's wanted addresses and recorded ids name, in bulk (never one
        request per object); check the policy against the tenant (D4) into ``problems``."""
        ...

    def create(self, change: Create, refs: Mapping[str, int]) -> WriteResult:
        """Create one object. All-or-nothing: on error nothing was created, or the outcome is unknown
        (raised as such) and a re-plan finds the object by its identity marker."""
        ...

    def update(self, change: Update, refs: Mapping[str, int]) -> WriteResult:
        """Write the changed managed fields of one object; other fields are never sent."""
        ...

    def hold_writer(self, claim: WriterClaim, policy: TargetPolicy) -> AbstractContextManager[WriterLease]:
        """Hold the tenant's one-writer lease for the block, renewed while it runs, released on leaving
        (D26). Raises :class:`engine.errors.WriterBusyError` naming the holder, before any object is
        written, when another apply holds it; a crashed holder's lease expires on its own."""
        ...

    def check_owned(
        self, writes: Sequence[tuple[Address, str, int]], adoptions: Mapping[Address, int]
    ) -> dict[Address, str]:
        """Re-read, in bulk, the objects about to be written to ((address, kind, id) each); return a
        refusal per address whose object carries no billsync marker for it and that ``adoptions``
        (address → id adopted in the plan or with ``billsync import``) does not name (D25)."""
        ...

    def fetch(self, kind: str, target_id: int, address: Address) -> ActualObject | None:
        """One object by id (``billsync import``)."""
        ...

    def list_companies(self) -> list[Company]:
        """Every company, active or not, by id (onboarding, D2)."""
        ...

    def budget(self) -> Budget:
        """What is left of the target's request budget for the current window."""
        ...

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests made so far, per endpoint and verb."""
        ...

    def close(self) -> None: ...


class Source(Protocol):
    """A Cloudmore source: an export bundle on disk or the API."""

    def load(self, as_of: date | None = None) -> SourceData:
        """The source model as of ``as_of`` (default today): a source without a listing of reports
        (the API) requests the months due on that date; a bundle holds them all anyway."""
        ...

    def describe(self) -> str: ...


@runtime_checkable
class OrganizationDirectory(Protocol):
    """A source that can also write Cloudmore organizations (onboarding, D2); the API source is one.

    The CLI checks for it with ``isinstance``: an export bundle is read-only and is not one.
    """

    def describe(self) -> str: ...

    def list_organizations(self) -> tuple[Organization, ...]:
        """Every organization, active or not, with its ``AutotaskCompanyID`` (nothing else is read)."""
        ...

    def create_organization(self, name: str, customer_number: str, autotask_company_id: int) -> str:
        """Create one organization carrying ``AutotaskCompanyID``; return its id. Never retried once sent:
        an unknown outcome is raised as such, and a re-read finds the organization by that property."""
        ...

    def set_company_link(self, organization_id: str, company_id: int) -> None:
        """Set the organization's ``AutotaskCompanyID`` custom property (D1), keeping its other fields."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
