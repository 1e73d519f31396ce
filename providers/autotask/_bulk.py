"""The bulk reads of a plan that need no desired state, started at once, side by side.

Autotask limits requests in flight per endpoint, not per tenant, so each endpoint's chain of pages
runs on its own thread: the settings check against the tenant's metadata (D4: the SLA picklist,
billing codes, picklist settings, required fields), services and products by their marker,
contracts by their "Subscription ID", and — as soon as the services are known — contract services,
the months' unit rows and the months' charges. A long read is split into id ranges that run side by
side (``AutotaskClient.query_split``), cut where the snapshot's recorded ids fall. :class:`AutotaskTarget` starts them before the rules
are rendered (``prefetching``) and matches the rows to addresses in ``read``; nothing here knows
about addresses. Every result is a future; :meth:`BulkReads.close` waits for the last request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import partial
from typing import Any

from engine.read_request import ReadRequest, TargetPolicy
from engine.rebuild import CORRECTION
from engine.resources import KindSpec
from providers.autotask.client import AutotaskClient, F
from providers.autotask.entities import ENTITIES
from providers.autotask.kinds import CREATE_POLICY, KINDS, MARKER_FIELD, MARKER_PREFIX, SUBSCRIPTION_UDF
from providers.autotask.metadata import PICKLIST_SETTINGS, SLA_FIELD, TenantMetadata, check_settings, shown
from providers.autotask.rows import compact_rows

Rows = list[dict[str, Any]]
Held = Sequence[Mapping[str, Any]]
r"""Rows as held until matched: parsed dicts, or compact :class:`~providers.autotask.rows.Row`\ s."""


class BulkReads:
    """The reads for one request (recorded ids, months and policy), running from construction.

    ``prepare_contracts`` turns the contracts' rows into what the caller keeps, on the reading
    thread, so 50,000 parsed rows are not held while the rest is read.
    """

    def __init__(
        self,
        client: AutotaskClient,
        request: ReadRequest,
        metadata: TenantMetadata,
        prepare_contracts: Callable[[Rows], Any] = lambda rows: rows,
    ) -> None:
        self.client = client
        self.request = request
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="autotask-read")
        submit = self._pool.submit
        self.problems: Future[list[str]] = submit(settings_problems, metadata, request.policy)
        self.services: Future[Rows] = submit(self.query_marked, "service")
        self.products: Future[Rows] = submit(self.query_marked, "product")
        self.contracts: Future[Any] = submit(lambda: prepare_contracts(self.query_contracts()))
        # held until matched, while the rules render: compact (:mod:`providers.autotask.rows`)
        self.contract_services: Future[Held] = submit(
            lambda: compact_rows(self.query_contract_services(self.marked_services()))
        )
        self.units: Future[Held] = submit(lambda: compact_rows(self.query_units(self.marked_services())))
        self.charges: Future[Held | None] = submit(self._charges_if_any)

    def matches(self, request: ReadRequest) -> bool:
        return self.request.same_reads(request)

    def close(self) -> None:
        """Wait for every request still running (their results are dropped if unused)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def marked_services(self) -> list[int]:
        return sorted(int(row["id"]) for row in self.services.result() if _marked("service", row))

    def recorded_ids(self, kind: str) -> list[int]:
        """The ids the snapshot recorded for ``kind``: where a long read is split into id ranges."""
        return self.request.recorded_ids(kind)

    # -- queries (thread-safe: the client is) ---------------------------------------------------------

    def query_marked(self, kind: str) -> Rows:
        spec = KINDS[kind]
        field = MARKER_FIELD[kind]
        return self.client.query_split(
            spec.entity,
            [F.begins_with(field, MARKER_PREFIX)],
            include_fields=read_fields(spec, field),
            known_ids=self.recorded_ids(kind),
        )

    def query_contracts(self) -> Rows:
        spec = KINDS["contract"]
        return self.client.query_split(
            spec.entity,
            [F.exist(SUBSCRIPTION_UDF, udf=True)],
            include_fields=read_fields(spec, SUBSCRIPTION_UDF),
            known_ids=self.recorded_ids("contract"),
        )

    def query_contract_services(self, service_ids: list[int]) -> Rows:
        if not service_ids:
            return []
        spec = KINDS["contract_service"]
        return self.client.query_in(
            spec.entity,
            "serviceID",
            service_ids,
            include_fields=read_fields(spec),
            known_ids=self.recorded_ids("contract_service"),
        )

    def query_units(self, service_ids: list[int]) -> Rows:
        """The unit rows overlapping the months: rows follow the contract's billing periods and split
        at adjustments (A9.4), so a month's row may start before the month or inside it."""
        first, last = self.request.first_day, self.request.last_day
        if not service_ids or first is None or last is None:
            return []
        return self.client.query_in(
            "ContractServiceUnits",
            "serviceID",
            service_ids,
            filters=[F.gte("endDate", wire_date(first)), F.lte("startDate", wire_date(last))],
            include_fields=[
                "contractID",
                "startDate",
                "endDate",
                "units",
                "price",
                "cost",
                "approveAndPostDate",
            ],
            expect=len(self.recorded_ids("contract_service"))
            * len(self.request.periods),  # about one row a month
        )

    def query_charges(self) -> Rows:
        """The months' marked charges, and the corrections dated after them: a correction of a
        posted month is dated in the first open month (D27), later than the month its key names."""
        spec = KINDS["charge"]
        first, last = self.request.first_day, self.request.last_day
        if first is None or last is None:
            return []
        return self.client.query_split(
            spec.entity,
            [
                F.begins_with(MARKER_FIELD["charge"], MARKER_PREFIX),
                F.gte("datePurchased", wire_date(first)),
                F.or_(
                    F.lte("datePurchased", wire_date(last)),
                    F.contains(MARKER_FIELD["charge"], "/" + CORRECTION),
                ),
            ],
            include_fields=read_fields(spec, MARKER_FIELD["charge"], "isBilled"),
            known_ids=self.recorded_ids("charge"),
        )

    def _charges_if_any(self) -> Held | None:
        """The months' charges when billsync has written anything before (else None: read them only
        if contracts turn up, so a first plan on an empty tenant reads no charges)."""
        if not self.request.periods:
            return None
        products = any(_marked("product", row) for row in self.products.result())
        if self.marked_services() or products or any(self.request.recorded.values()):
            return compact_rows(self.query_charges())
        return None


def read_fields(spec: KindSpec, *extra: str) -> list[str]:
    """``IncludeFields`` of a bulk read: the managed fields, references, the marker or UDF named in
    ``extra``, and the last-modified time where the entity has one (its name differs per entity and
    Products have none, A9). Only names the entity table has are sent; Autotask adds ``id``."""
    entity = ENTITIES[spec.entity]
    names = [*spec.fields, *spec.refs, *([entity.modified_field] if entity.modified_field else [])]
    return [n for n in names if entity.field(n) is not None] + list(extra)


METADATA_READS_IN_FLIGHT = 3
"""Metadata reads run side by side, at most this many at once (Autotask's limit per endpoint, A6)."""


def metadata_entities() -> list[str]:
    """The entities whose field metadata a plan needs: every entity billsync creates, and the ones
    whose picklists the settings check reads (:data:`PICKLIST_SETTINGS`, the SLA, billing codes)."""
    names = {spec.entity for spec in KINDS.values()} | {entity for entity, _ in PICKLIST_SETTINGS.values()}
    return sorted(names | {SLA_FIELD[0], "BillingCodes"})


def settings_problems(metadata: TenantMetadata, policy: TargetPolicy) -> list[str]:
    """D4 at plan time, against the tenant's own metadata: the SLA, billing codes and picklist settings
    (:func:`~providers.autotask.metadata.check_settings`). Reads the field metadata of every entity
    billsync creates too, so :func:`missing_required` later finds it cached.

    The reads (one per entity, about 1 s each on a real tenant) run three at a time rather than one
    after another; the checks then find every answer cached. A read that fails here is asked again
    by the check, which reports its error as before."""
    reads: list[Callable[[], object]] = [metadata.billing_codes]
    reads += [partial(metadata.fields, entity) for entity in metadata_entities()]
    with ThreadPoolExecutor(METADATA_READS_IN_FLIGHT, thread_name_prefix="autotask-metadata") as pool:
        for future in [pool.submit(read) for read in reads]:
            future.exception()  # wait; a failure is raised again by the check below
    problems = [str(problem) for problem in check_settings(metadata, policy)]
    for spec in KINDS.values():
        metadata.fields(spec.entity)
    return problems


def missing_required(metadata: TenantMetadata, kinds: Iterable[str]) -> list[str]:
    """Fields this tenant requires on create of ``kinds``' entities which no managed field, reference,
    marker, policy setting or parent path fills: each is a plan error, not a failed apply."""
    problems: list[str] = []
    for kind in sorted(set(kinds)):
        spec = KINDS[kind]
        sent = {
            n.lower() for n in (*spec.fields, *spec.refs, *spec.payload_fields, *CREATE_POLICY.get(kind, {}))
        }
        sent |= {MARKER_FIELD[kind].lower()} if kind in MARKER_FIELD else set()
        sent |= {"contractid", "isactive"}  # the parent path; the target sends isActive on services
        missing = [name for name in metadata.required_on_create(spec.entity) if name.lower() not in sent]
        if missing:  # the names come from the tenant: shown as one bounded line each
            problems.append(
                f"{spec.entity}: this tenant requires {', '.join(map(shown, missing))} on create, and billsync has no "
                "value for it (a tenant-specific required field: make it optional in Autotask)"
            )
    return problems


def wire_date(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def _marked(kind: str, row: Mapping[str, Any]) -> bool:
    value = row.get(MARKER_FIELD[kind])
    return isinstance(value, str) and value.startswith(MARKER_PREFIX)
