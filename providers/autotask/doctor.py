"""``billsync doctor``'s checks: is this Autotask tenant ready for billsync's first plan?

Read-only. Each check returns :class:`Finding` lines; a ``problem`` finding means "not ready". The
order follows what depends on what: the zone and the credentials first (nothing else works without
them), then the request budget, the entities and fields billsync reads and writes (derived from
:mod:`providers.autotask.kinds` and the entity table, so a new managed field is checked without
touching this file), the "Subscription ID" contract UDF, and the settings against the tenant's
picklists and billing codes (:func:`providers.autotask.metadata.check_settings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.resources import KindSpec
from providers.autotask._bulk import missing_required, read_fields
from providers.autotask.client import AutotaskClient
from providers.autotask.entities import ENTITIES
from providers.autotask.errors import AutotaskAuthError, AutotaskError
from providers.autotask.kinds import KINDS, MARKER_FIELD, SUBSCRIPTION_UDF
from providers.autotask.metadata import FieldInfo, TenantMetadata, check_settings

__all__ = [
    "UDF_HOW_TO",
    "Access",
    "Finding",
    "Level",
    "Report",
    "diagnose",
    "entity_needs",
    "field_needs",
]

UDF_HOW_TO = (
    "create it in Autotask under Admin > Extensions & Integrations > Other Extensions & Tools > "
    'User-Defined Fields, tab Contracts: New, Name "Subscription ID", Type Text (Single Line)'
)
"""How to add the contract UDF billsync stores each contract's subscription id in (D12)."""

READ_ONLY_NEEDS: dict[str, dict[str, set[str]]] = {
    "Companies": {
        "id": {"read", "filter"},
        "isActive": {"read"},
        "companyName": {"read"},
        "companyNumber": {"read"},
        "companyType": {"read"},
    },
    "BillingCodes": {"name": {"read"}, "isActive": {"read"}, "useType": {"read"}},
    "ContractServiceUnits": {
        "contractID": {"read"},
        "serviceID": {"read", "filter"},
        "startDate": {"read", "filter"},
        "endDate": {"read", "filter"},
        "units": {"read"},
        "price": {"read"},
        "cost": {"read"},
    },
}
"""Entities billsync only reads, with the fields its queries name (IncludeFields and filters)."""

EXTRA_FILTERS: dict[str, set[str]] = {
    "ContractServices": {"serviceID"},
    "ContractCharges": {"datePurchased"},
}
"""Fields billsync's bulk reads filter on besides the markers."""

EXTRA_READS: dict[str, set[str]] = {"ContractCharges": {"isBilled"}}
"""Fields a bulk read names in IncludeFields besides the kind's own (a charge's billed flag)."""

BUDGET_WARNING = 0.5
"""Share of the hourly budget from which Autotask slows every call down (API-FACTS A6)."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's answer; text from the tenant is already stripped of control characters."""

    level: Level
    text: str


@dataclass
class Report:
    """Everything the doctor found, in the order it found it."""

    findings: list[Finding] = field(default_factory=list)
    meta: TenantMetadata | None = None
    """The tenant's metadata when the connection worked (the settings block is built from it)."""

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.PROBLEM]

    @property
    def ready(self) -> bool:
        return not self.problems

    def add(self, level: Level, text: str) -> None:
        self.findings.append(Finding(level, clean(text)))


@dataclass(frozen=True)
class Access:
    """What billsync does with an entity: query it, create it, update it."""

    query: bool = False
    create: bool = False
    update: bool = False


def clean(text: str) -> str:
    """One printable line: control characters (a hostile label's escape codes, newlines) become spaces."""
    return _CONTROL.sub(" ", text)


def entity_needs() -> dict[str, Access]:
    """Each entity billsync touches and the verbs it uses, from the kinds and the entity table."""
    needs = {name: Access(query=True) for name in READ_ONLY_NEEDS}
    for spec in KINDS.values():
        entity = ENTITIES[spec.entity]
        needs[spec.entity] = Access(query=entity.can_query, create=True, update=entity.can_update)
    return needs


def field_needs() -> dict[str, dict[str, set[str]]]:
    """Entity → field → uses (``read``, ``filter``, ``create``, ``update``) of every field billsync names."""
    needs: dict[str, dict[str, set[str]]] = {
        e: {f: set(u) for f, u in fs.items()} for e, fs in READ_ONLY_NEEDS.items()
    }
    for kind, spec in KINDS.items():
        uses = needs.setdefault(spec.entity, {})
        table = ENTITIES[spec.entity]
        for name in _written(spec):
            if table.field(name) is not None:
                uses.setdefault(name, set()).add("create")
        if table.can_query:  # the IncludeFields of the plan's bulk read of this kind
            for name in read_fields(spec):
                uses.setdefault(name, set()).add("read")
        for name in spec.fields:
            if table.field(name) is not None and table.can_update and name not in spec.immutable:
                uses.setdefault(name, set()).add("update")
        marker = MARKER_FIELD.get(kind)
        if marker:
            uses.setdefault(marker, set()).update({"create", "read", "filter"})
        for name in EXTRA_FILTERS.get(spec.entity, ()):
            uses.setdefault(name, set()).update({"read", "filter"})
        for name in EXTRA_READS.get(spec.entity, ()):
            uses.setdefault(name, set()).add("read")
    return needs


def diagnose(
    client: AutotaskClient,
    load_settings: Callable[[], Any],
    *,
    expected_url: str | None = None,
    lookup_zone: bool = True,
) -> Report:
    """Run every check against the tenant behind ``client``; ``load_settings`` reads the workspace's settings.

    ``expected_url`` is the REST root configured in ``billsync.yaml`` (compared with the zone's), or
    None when the zone lookup chooses it. ``lookup_zone`` is False for a URL that is not Autotask's
    (a served sandbox), whose users Autotask's zone service cannot know.
    """
    report = Report()
    if lookup_zone:
        if not _check_zone(client, report, expected_url):
            return report
    else:
        report.add(Level.OK, f"zone lookup: not needed, billsync.yaml names {expected_url}")
    if not _check_budget(client, report):
        return report
    meta = TenantMetadata(client)
    report.meta = meta
    _guarded(report, "entities", lambda: _check_entities(client, meta, report))
    _guarded(report, "fields", lambda: _check_fields(meta, report))
    _guarded(report, "the Subscription ID field", lambda: _check_udf(meta, report))
    _guarded(report, "settings", lambda: _check_settings(meta, load_settings, report))
    return report


def _guarded(report: Report, what: str, check: Callable[[], None]) -> None:
    """Run one check; an Autotask error becomes a problem line and the next check still runs."""
    try:
        check()
    except AutotaskError as exc:
        report.add(Level.PROBLEM, f"{what}: {_one_line(exc)}")


def _check_zone(client: AutotaskClient, report: Report, expected_url: str | None) -> bool:
    try:
        zone = client.zone()
    except AutotaskError as exc:
        report.add(Level.PROBLEM, f"zone lookup: {_one_line(exc)}")
        return expected_url is not None
    report.add(Level.OK, f"zone lookup: the API user is in zone {zone.zone_name or '?'} ({zone.url})")
    if expected_url is not None and _host(zone.url) != _host(expected_url):
        report.add(
            Level.PROBLEM,
            f"zone lookup: billsync.yaml names {_host(expected_url)}, but this API user's zone is "
            f"{_host(zone.url)}; set autotask.url to {zone.url.rstrip('/')}/V1.0",
        )
    return True


def _check_budget(client: AutotaskClient, report: Report) -> bool:
    try:
        budget = client.threshold()
    except AutotaskAuthError as exc:
        report.add(Level.PROBLEM, f"credentials: {_one_line(exc)}")
        return False
    except AutotaskError as exc:
        report.add(Level.PROBLEM, f"ThresholdInformation: {_one_line(exc)}")
        return False
    report.add(Level.OK, "credentials: accepted")
    text = (
        f"request budget: {budget.current_timeframe_request_count:,} of {budget.external_request_threshold:,} "
        f"requests used in the last {budget.request_threshold_timeframe} minutes, {budget.remaining:,} left"
    )
    if budget.remaining == 0:
        report.add(Level.PROBLEM, text + "; Autotask refuses requests until the hour clears")
        return False
    if budget.used_fraction >= BUDGET_WARNING:
        report.add(Level.WARNING, text + "; Autotask slows every call down past half of the budget")
    else:
        report.add(Level.OK, text)
    return True


def _check_entities(client: AutotaskClient, meta: TenantMetadata, report: Report) -> None:
    for name, access in sorted(entity_needs().items()):
        try:
            info = meta.info(name)
        except AutotaskError as exc:
            report.add(Level.PROBLEM, f"entity {name}: {_one_line(exc)}")
            continue
        missing = [
            verb
            for verb, needed, allowed, user in (
                ("query", access.query, info.can_query, info.user_access_for_query),
                ("create", access.create, info.can_create, info.user_access_for_create),
                ("update", access.update, info.can_update, info.user_access_for_update),
            )
            if needed and (not allowed or _denied(user))
        ]
        if missing:
            report.add(Level.PROBLEM, f"entity {name}: the API user cannot {' or '.join(missing)} it")
            continue
        if access.query:
            try:
                client.count(name)
            except AutotaskError as exc:
                report.add(Level.PROBLEM, f"entity {name}: a query fails: {_one_line(exc)}")
                continue
        verbs = [
            v
            for v, needed in (("query", access.query), ("create", access.create), ("update", access.update))
            if needed
        ]
        report.add(Level.OK, f"entity {name}: {', '.join(verbs)}")


def _check_fields(meta: TenantMetadata, report: Report) -> None:
    problems_before = len(report.problems)
    for entity, uses in sorted(field_needs().items()):
        try:
            fields = meta.fields(entity)
        except AutotaskError as exc:
            report.add(Level.PROBLEM, f"fields of {entity}: {_one_line(exc)}")
            continue
        for name, how in sorted(uses.items()):
            _check_field(entity, name, how, fields.get(name.lower()), report)
    for line in missing_required(meta, KINDS):
        report.add(Level.PROBLEM, f"fields: {line}")
    if len(report.problems) == problems_before:
        count = sum(len(uses) for uses in field_needs().values())
        report.add(
            Level.OK, f"fields: all {count} fields billsync reads or writes exist with the right flags"
        )


def _check_field(entity: str, name: str, how: set[str], info: FieldInfo | None, report: Report) -> None:
    where = f"field {entity}.{name}"
    if info is None:
        report.add(Level.PROBLEM, f"{where}: billsync {_uses(how)} it, but this tenant has no such field")
        return
    if "filter" in how and not info.is_queryable:
        report.add(Level.PROBLEM, f"{where}: billsync filters on it, but this tenant does not allow that")
    if not info.is_read_only:
        return
    if "update" in how and not info.is_required:
        report.add(
            Level.PROBLEM, f"{where}: billsync changes it after create, but it is read-only on this tenant"
        )
    elif "update" in how:
        report.add(Level.WARNING, f"{where}: set on create only; a change to it cannot be sent to Autotask")
    elif "create" in how and not info.is_required:
        report.add(Level.WARNING, f"{where}: read-only on this tenant; Autotask may ignore it on create")


def _check_udf(meta: TenantMetadata, report: Report) -> None:
    udfs = {udf.name.lower(): udf for udf in meta.udfs("Contracts")}
    udf = udfs.get(SUBSCRIPTION_UDF.lower())
    if udf is None:
        report.add(Level.PROBLEM, f"contract field {SUBSCRIPTION_UDF!r} is missing: {UDF_HOW_TO}")
    elif not udf.is_queryable:
        report.add(
            Level.PROBLEM,
            f"contract field {SUBSCRIPTION_UDF!r} cannot be queried; billsync finds contracts by it",
        )
    elif udf.is_read_only:
        report.add(Level.PROBLEM, f"contract field {SUBSCRIPTION_UDF!r} is read-only; billsync writes it")
    else:
        report.add(Level.OK, f"contract field {SUBSCRIPTION_UDF!r}: present")


def _check_settings(meta: TenantMetadata, load_settings: Callable[[], Any], report: Report) -> None:
    try:
        settings = load_settings()
    except Exception as exc:  # noqa: BLE001 - a settings file error is a finding, not a crash
        report.add(Level.PROBLEM, f"settings: {_one_line(exc)}")
        return
    problems = check_settings(meta, settings)
    for problem in problems:
        report.add(Level.PROBLEM, f"settings: {problem}")
    if not problems:
        report.add(
            Level.OK,
            "settings: the SLA, billing codes and picklist values exist on this tenant and are active",
        )


def _written(spec: KindSpec) -> Iterable[str]:
    """Names a create may carry: the managed fields and the payload-only ones (the entity table filters)."""
    return [*spec.fields, *spec.payload_fields]


def _uses(how: set[str]) -> str:
    verbs = [
        verb
        for verb, use in (("reads", "read"), ("filters on", "filter"), ("writes", "create"))
        if use in how
    ]
    return " and ".join(verbs) or "uses"


def _denied(user_access: Any) -> bool:
    """``userAccessFor*`` is ``"None"`` when the user may not (SOAP's form; REST's wire form is unpublished)."""
    return isinstance(user_access, str) and user_access.strip().lower() == "none"


def _host(url: str) -> str:
    return re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/", 1)[0]


def _one_line(exc: BaseException) -> str:
    return clean(" ".join(str(exc).split()))
