"""billsync's Autotask target: bulk reads into actual state, and one request per write.

Reads follow the identity markers (D24), never one request per object, and each query selects
billsync's records only, so its pages are full: requests are ⌈records / 500⌉ per entity (plus one
per 500 services), not one per chunk of contracts. Services and products are read by their
``billsync:`` SKU, contracts by the "Subscription ID" field, contract services and the months'
ContractServiceUnits by ``serviceID in (…500 of billsync's services)``, and the months' charges by
their ``billsync:`` purchase order number; rows under contracts billsync does not manage are
dropped. Each query names the fields billsync uses (``IncludeFields``), so pages stay small, and
the queries run side by side from before the rules are rendered (:mod:`._bulk`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from engine.budget import Budget
from engine.held_once import Tables, held_once
from engine.plan import Create, Update
from engine.provider import ActualState, Company, Comparator, WriterClaim, WriteResult
from engine.read_request import ReadPeriod, ReadRequest, Recorded, TargetPolicy
from engine.resources import ActualObject, FieldType, KindSpec, coerce, encode_attributes
from engine.tenant import TenantIdentity
from engine.types import Address, Attributes, make_address, parse_address
from providers.autotask._bulk import BulkReads, missing_required, wire_date
from providers.autotask.client import AutotaskClient, F
from providers.autotask.comparators import COMPARATORS
from providers.autotask.entities import ENTITIES
from providers.autotask.kinds import (
    CREATE_POLICY,
    KINDS,
    MARKER_FIELD,
    SUBSCRIPTION_UDF,
    key_from_marker,
    marker_for,
)
from providers.autotask.lease import TenantLease, hold_lease
from providers.autotask.metadata import TenantMetadata

__all__ = ["AutotaskTarget"]

_MARKER_FIELD = MARKER_FIELD
_CHILD = {"contract_service", "adjustment", "charge"}
CONTRACT_FIXED_WITH_SERVICES = frozenset({"startDate"})
"""What Autotask holds fixed on a Recurring Service contract once it has services (API-FACTS A9.1)."""
_OWNED_CHECKS: dict[str, list[str]] = {
    "service": ["sku"],
    "product": ["sku"],
    "contract": [SUBSCRIPTION_UDF],
    "contract_service": ["contractID"],
    "charge": ["purchaseOrderNumber", "contractID"],
}
"""Kinds whose writes are checked against the marker (:meth:`AutotaskTarget.check_owned`), and the
fields read for it; adjustments are only ever created."""


class AutotaskTarget:
    """The Autotask side of billsync (implements :class:`engine.provider.Target`)."""

    def __init__(self, client: AutotaskClient, description: str, lease_seconds: int = 600) -> None:
        self.client = client
        self._description = description
        self._lease_seconds = lease_seconds
        self._prefetched: BulkReads | None = None
        self.metadata = TenantMetadata(client)
        """The tenant's entityInformation answers, read once per run (picklists, required fields)."""
        self._policy: dict[str, dict[str, Any]] = create_policy(None)
        self._seen: dict[Address, set[int]] = {}
        self._values: Tables = {}
        """Typed field values of the current read, each kept once (:func:`_typed`)."""

    def describe(self) -> str:
        return self._description

    def identity(self) -> TenantIdentity:
        """The tenant's number (``ZoneInformation``'s ``ci``) and the REST root billsync talks to."""
        zone = self.client.tenant_zone()
        return TenantIdentity(ci=zone.ci, url=self.client.base_url)

    def kinds(self) -> Mapping[str, KindSpec]:
        return KINDS

    @contextmanager
    def hold_writer(self, claim: WriterClaim, policy: TargetPolicy) -> Iterator[TenantLease]:
        """The tenant's writer lease, an inactive Product in Autotask itself (:mod:`.lease`, D26)."""
        with hold_lease(self.client, claim, policy.product_billing_code_id, self._lease_seconds) as lease:
            yield lease

    def comparators(self) -> Mapping[str, Comparator]:
        return COMPARATORS

    def budget(self) -> Budget:
        info = self.client.threshold()
        return Budget(info.remaining, info.external_request_threshold, info.request_threshold_timeframe * 60)

    def stats(self) -> dict[str, dict[str, int]]:
        return {endpoint: dict(verbs) for endpoint, verbs in self.client.stats.requests.items()}

    def close(self) -> None:
        self.client.close()

    # -- reads ----------------------------------------------------------------------------------------

    @contextmanager
    def prefetching(self, request: ReadRequest) -> Iterator[None]:
        """Start the bulk reads that need no wanted addresses (:class:`BulkReads`) for the block, where
        the plan renders its rules; :meth:`read` with the same recorded ids, months and policy uses them."""
        reads = self._reads(request)
        self._prefetched = reads
        try:
            yield
        finally:
            self._prefetched = None
            reads.close()

    def read(self, request: ReadRequest) -> ActualState:
        """The bulk reads run side by side, one chain of pages per endpoint (started early when
        prefetched); their rows are matched to addresses here, in one order, after the settings check."""
        prefetched = self._prefetched
        if prefetched is not None and prefetched.matches(request):
            return self._read(prefetched, request)
        reads = self._reads(request)
        try:
            return self._read(reads, request)
        finally:
            reads.close()

    def _reads(self, request: ReadRequest) -> BulkReads:
        self._policy = create_policy(request.policy)
        self._values = {}
        return BulkReads(self.client, request, self.metadata, partial(_contract_objects, values=self._values))

    def _read(self, reads: BulkReads, request: ReadRequest) -> ActualState:
        recorded, periods = request.recorded, request.periods
        objects: dict[Address, ActualObject] = {}
        self._seen = {}
        problems = self._check_settings(request, reads)
        service_ids = self._map_marked("service", reads.services.result(), objects)
        self._map_marked("product", reads.products.result(), objects)
        contracts = self._map_contracts(reads.contracts.result(), objects)
        unowned = _misplaced(recorded, objects)
        service_ids.update(self._read_recorded("service", recorded, objects, unowned))
        self._read_recorded("product", recorded, objects, unowned)
        recorded_contracts = self._read_recorded("contract", recorded, objects, unowned)
        contracts.update({i: parse_address(a)[1][0] for i, a in recorded_contracts.items()})
        for kind, fields in sorted(request.policy.adopt.items()):
            found = self._read_adoptable(kind, fields, request.wanted.get(kind, {}), objects)
            if kind == "service":
                service_ids.update(found)
            elif kind == "contract":
                contracts.update({i: parse_address(a)[1][0] for i, a in found.items()})
        later = sorted(set(service_ids) - set(reads.marked_services()))
        if contracts and service_ids:
            rows = [*reads.contract_services.result(), *reads.query_contract_services(later)]
            self._map_contract_services(rows, contracts, objects)
            if periods:
                self._map_units(
                    [*reads.units.result(), *reads.query_units(later)], contracts, periods, objects
                )
        if contracts and periods:
            charges = reads.charges.result()
            self._map_charges(reads.query_charges() if charges is None else charges, contracts, objects)
        duplicates = {a: tuple(sorted(ids)) for a, ids in sorted(self._seen.items()) if len(ids) > 1}
        self._values = {}  # the objects keep the values; the table of them can go
        return ActualState(
            objects=objects,
            fingerprint=_fingerprint(objects),
            problems=tuple(problems),
            unowned=tuple(unowned),
            duplicates=duplicates,
        )

    def _marked(self, objects: dict[Address, ActualObject], found: ActualObject) -> None:
        """Record an object found by its marker; a second object with the same marker is a duplicate
        (D24), kept apart so the plan names both and the apply refuses."""
        self._seen.setdefault(found.address, set()).add(found.target_id)
        objects[found.address] = found

    def _check_settings(self, request: ReadRequest, reads: BulkReads) -> list[str]:
        """D4 against the tenant's metadata: the SLA (a value of the ``serviceLevelAgreementID``
        picklist), the billing codes (active, of the right use type) and the picklist settings, each
        error listing the valid choices; every field the tenant requires on create of a desired kind;
        and the contracts' companies must exist."""
        problems = list(reads.problems.result())
        problems += missing_required(
            self.metadata, {kind for kind, wanted in request.wanted.items() if wanted}
        )
        company_ids = sorted(
            {
                int(v)
                for attributes in request.wanted.get("contract", {}).values()
                if isinstance(v := attributes.get("companyID"), int)
            }
        )
        if company_ids:
            found = {
                c["id"]
                for c in self.client.query_in("Companies", "id", company_ids, include_fields=["isActive"])
            }
            for missing in sorted(set(company_ids) - found):
                problems.append(
                    f"company {missing} (an organization's AutotaskCompanyID) does not exist in Autotask"
                )
        return problems

    def _map_marked(
        self, kind: str, rows: list[dict[str, Any]], objects: dict[Address, ActualObject]
    ) -> dict[int, Address]:
        """Services or products found by their ``billsync:`` SKU."""
        spec = KINDS[kind]
        field = _MARKER_FIELD[kind]
        ids: dict[int, Address] = {}
        for row in rows:
            key = key_from_marker(row.get(field))
            if key is None:
                continue
            address = make_address(kind, *key)
            self._marked(objects, _actual(address, spec, row, values=self._values))
            ids[int(row["id"])] = address
        return ids

    def _read_recorded(
        self,
        kind: str,
        recorded: Mapping[str, Mapping[Address, Recorded]],
        objects: dict[Address, ActualObject],
        unowned: list[str],
    ) -> dict[int, Address]:
        """Objects the snapshot names by id that were not found by their marker, in one query per
        kind. Only an object adopted with ``billsync import`` (recorded as such) may lack the marker;
        any other is another's object under a foreign or edited snapshot (D25): reported in
        ``unowned`` and never a target. An id whose object is gone is left to the diff (created again)."""
        entries = recorded.get(kind, {})
        wanted = {e.target_id: a for a, e in entries.items() if a not in objects}
        if not wanted:
            return {}
        spec = KINDS[kind]
        found: dict[int, Address] = {}
        for row in self.client.query_in(spec.entity, "id", sorted(wanted)):
            address = wanted[int(row["id"])]
            mark = _marker_of(kind, row)
            if mark == address:  # marked, though the bulk read by marker did not name it
                objects[address] = _actual(address, spec, row, values=self._values)
                found[int(row["id"])] = address
                continue
            if mark is not None or not entries[address].imported:
                unowned.append(
                    f"{address}: the snapshot names {spec.entity} id {row['id']}, which "
                    + (f"carries billsync's marker for {mark}" if mark else "carries no billsync marker")
                    + "; billsync will not write to it (D25). If state/ was edited or belongs to another "
                    "tenant, restore it or rebuild it (billsync state rebuild); to manage this object, "
                    f"run billsync import {address} {row['id']}"
                )
                continue
            objects[address] = _actual(address, spec, row, found_by="billsync import", values=self._values)
            found[int(row["id"])] = address
        return found

    def _read_adoptable(
        self,
        kind: str,
        fields: Sequence[str],
        wanted: Mapping[Address, Attributes],
        objects: dict[Address, ActualObject],
    ) -> dict[int, Address]:
        """D3 adoption rule: an unmarked object whose ``fields`` all equal a desired resource's is adopted.

        Only an exact, unique match is adopted; the plan shows it as ``adopt`` for review.
        """
        spec = KINDS.get(kind)
        pending = [(a, attributes) for a, attributes in wanted.items() if a not in objects]
        if spec is None or not fields or not pending:
            return {}
        first = fields[0]
        values = sorted({v for _, attributes in pending if (v := attributes.get(first)) is not None}, key=str)
        if not values:
            return {}
        rows = self.client.query_in(spec.entity, first, [_wire(v) for v in values])
        by_match: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows:
            if _has_marker(kind, row):
                continue
            actual = _actual("", spec, row, values=self._values)
            by_match.setdefault(_match_key(actual.attributes, fields), []).append(row)
        found: dict[int, Address] = {}
        for address, attributes in pending:
            candidates = by_match.get(_match_key(attributes, fields), [])
            if len(candidates) != 1 or int(candidates[0]["id"]) in found:
                continue
            row = candidates[0]
            how = "the adoption rule (same " + ", ".join(fields) + ")"
            objects[address] = _actual(address, spec, row, found_by=how, values=self._values)
            found[int(row["id"])] = address
        return found

    def fetch(self, kind: str, target_id: int, address: Address) -> ActualObject | None:
        """One object by id, for ``billsync import``."""
        spec = KINDS[kind]
        rows = self.client.query(spec.entity, [F.eq("id", target_id)])
        return _actual(address, spec, rows[0], found_by="billsync import") if rows else None

    def list_companies(self) -> list[Company]:
        """Every Autotask company (id, name, number, active), for onboarding (D2). A company whose
        ``isActive`` is missing counts as active, a missing name or number as empty."""
        rows = self.client.query(
            "Companies",
            [F.gte("id", 0)],
            include_fields=["companyName", "companyNumber", "isActive", "companyType"],
        )
        companies = [
            Company(
                id=int(row["id"]),
                name=str(row.get("companyName") or ""),
                number=str(row.get("companyNumber") or ""),
                active=row.get("isActive") is not False,
            )
            for row in rows
        ]
        return sorted(companies, key=lambda c: c.id)

    def _map_contracts(
        self, found: list[tuple[str, ActualObject]], objects: dict[Address, ActualObject]
    ) -> dict[int, str]:
        contracts: dict[int, str] = {}
        for subscription, actual in found:
            self._marked(objects, actual)
            contracts[actual.target_id] = subscription
        return contracts

    def _map_contract_services(
        self,
        rows: Sequence[Mapping[str, Any]],
        contracts: dict[int, str],
        objects: dict[Address, ActualObject],
    ) -> None:
        spec = KINDS["contract_service"]
        for row in rows:
            subscription = contracts.get(int(row["contractID"]))
            if subscription is None:
                continue
            address = make_address("contract_service", subscription)
            objects[address] = _actual(address, spec, row, values=self._values)
            contract = objects.get(make_address("contract", subscription))
            if contract is not None and not contract.fixed:
                # A9.1: a Recurring Service contract's start date is read-only once it has services
                objects[contract.address] = replace(contract, fixed=CONTRACT_FIXED_WITH_SERVICES)

    def _map_units(
        self,
        rows: Sequence[Mapping[str, Any]],
        contracts: dict[int, str],
        periods: Sequence[ReadPeriod],
        objects: dict[Address, ActualObject],
    ) -> None:
        """The units in force for month M are the row covering the 1st of M.

        Autotask writes one row per billing period of the contract (anchored on its start date) and
        splits a row at each adjustment's effective date (A9.4), so a row may start on any day and
        cover several months. ``price``/``cost`` are per unit (the sandbox's documented choice: the
        meaning is unpublished, FIDELITY.md). A row with ``approveAndPostDate`` is a posted period
        (D27): the month is locked and carries the posting stamp.
        """
        firsts = sorted({(month.start, month.period) for month in periods})
        for row in rows:
            subscription = contracts.get(int(row["contractID"]))
            start = coerce(row.get("startDate"), "date")
            end = coerce(row.get("endDate"), "date")
            if subscription is None or not isinstance(start, date) or not isinstance(end, date):
                continue
            for first, period in firsts:
                if not start <= first <= end:
                    continue
                address = make_address("adjustment", subscription, period)
                attributes: Attributes = {
                    "effectiveDate": first,
                    "units": _typed(row.get("units"), "int", None, self._values),
                    "unitPrice": _typed(row.get("price"), "decimal", 4, self._values),
                    "unitCost": _typed(row.get("cost"), "decimal", 4, self._values),
                }
                posted = str(row.get("approveAndPostDate") or "")
                objects[address] = ActualObject(
                    address,
                    "adjustment",
                    int(row["id"]),
                    attributes,
                    locked=bool(posted),
                    fingerprint=_digest(attributes),
                    posted=posted,
                )

    def _map_charges(
        self,
        rows: Sequence[Mapping[str, Any]],
        contracts: dict[int, str],
        objects: dict[Address, ActualObject],
    ) -> None:
        """Charges carry the part of their key below the contract (``billsync:2026-10/rounding``):
        the contract already names the subscription, and the field holds 50 characters."""
        spec = KINDS["charge"]
        for row in rows:
            key = key_from_marker(row.get("purchaseOrderNumber"))
            subscription = contracts.get(int(row["contractID"]))
            if key is None or subscription is None:
                continue
            address = make_address("charge", subscription, *key)
            self._marked(
                objects, _actual(address, spec, row, locked=bool(row.get("isBilled")), values=self._values)
            )

    # -- writes ---------------------------------------------------------------------------------------

    def check_owned(
        self, writes: Sequence[tuple[Address, str, int]], adoptions: Mapping[Address, int]
    ) -> dict[Address, str]:
        """Re-read the objects an apply is about to write to, in one ``id in (…)`` query per entity
        (plus one for the contracts of contract services), just before it starts (D25). An object
        must carry billsync's marker for its address — a contract service: sit under the contract
        marked for its subscription — or be an adoption the plan or ``billsync import`` names that
        still carries no other marker. Returns a refusal per address that fails; the rest may go."""
        by_kind: dict[str, dict[int, list[Address]]] = {}
        for address, kind, target_id in writes:
            if kind in _OWNED_CHECKS:
                by_kind.setdefault(kind, {}).setdefault(target_id, []).append(address)
        refused: dict[Address, str] = {}
        for kind, wanted in sorted(by_kind.items()):
            spec = KINDS[kind]
            rows = {
                int(r["id"]): r
                for r in self.client.query_in(
                    spec.entity, "id", sorted(wanted), include_fields=_OWNED_CHECKS[kind]
                )
            }
            owners = self._contract_owners(rows) if kind in ("contract_service", "charge") else {}
            for target_id, address in sorted((i, a) for i, names in wanted.items() for a in names):
                row = rows.get(target_id)
                if row is None:
                    refused[address] = (
                        f"{spec.entity} {target_id} no longer exists in Autotask; nothing was written"
                    )
                    continue
                mark = _owner(kind, row, owners)
                if mark == address or (mark is None and adoptions.get(address) == target_id):
                    continue
                carries = f"carries billsync's marker for {mark}" if mark else "carries no billsync marker"
                refused[address] = (
                    f"refused to write to {spec.entity} {target_id}: it {carries}, and no adoption in the "
                    "plan names it (D25); nothing was written to it. Make a new plan and review it."
                )
        return refused

    def _contract_owners(self, rows: Mapping[int, dict[str, Any]]) -> dict[int, str]:
        """Contract id → the subscription its "Subscription ID" names, for the contracts of ``rows``."""
        ids = sorted({int(r["contractID"]) for r in rows.values() if r.get("contractID") is not None})
        owners: dict[int, str] = {}
        for row in (
            self.client.query_in("Contracts", "id", ids, include_fields=[SUBSCRIPTION_UDF]) if ids else []
        ):
            subscription = _udf(row, SUBSCRIPTION_UDF)
            if subscription:
                owners[int(row["id"])] = subscription
        return owners

    def create(self, change: Create, refs: Mapping[str, int]) -> WriteResult:
        spec = KINDS[change.kind]
        _kind, key = parse_address(change.address)
        payload = change.payload if change.payload is not None else change.after
        body: dict[str, Any] = {**payload, **refs}
        if change.kind in _MARKER_FIELD:
            body[_MARKER_FIELD[change.kind]] = marker_for(key[1:] if change.kind == "charge" else key)
        if change.kind == "contract":
            body["userDefinedFields"] = [{"name": SUBSCRIPTION_UDF, "value": key[0]}]
        if change.kind == "service":
            body.setdefault("isActive", True)
        for name, value in self._policy.get(change.kind, {}).items():
            body.setdefault(name, value)
        parent = refs.get("contractID") if change.kind in _CHILD else None
        target_id = self.client.create(spec.entity, body, parent_id=parent)
        return WriteResult(target_id)

    def update(self, change: Update, refs: Mapping[str, int]) -> WriteResult:
        spec = KINDS[change.kind]
        body: dict[str, Any] = {"id": change.target_id, **change.after}
        _kind, key = parse_address(change.address)
        if change.kind in ("service", "product"):
            body[_MARKER_FIELD[change.kind]] = marker_for(key)  # an adopted object gets its marker (D24)
        elif change.kind == "contract":
            body["userDefinedFields"] = [{"name": SUBSCRIPTION_UDF, "value": key[0]}]
        parent = refs.get("contractID") if change.kind in _CHILD else None
        self.client.update(spec.entity, body, parent_id=parent)
        return WriteResult(change.target_id)


def create_policy(policy: TargetPolicy | None) -> dict[str, dict[str, Any]]:
    """Kind → field → value of the create-only fields that come from settings (:data:`CREATE_POLICY`);
    the settings' defaults before a plan has read the workspace's settings."""
    defaults = {name: info.default for name, info in TargetPolicy.model_fields.items()}
    return {
        kind: {
            name: getattr(policy, setting) if policy is not None else defaults[setting]
            for name, setting in fields.items()
        }
        for kind, fields in CREATE_POLICY.items()
    }


def _misplaced(
    recorded: Mapping[str, Mapping[Address, Recorded]], objects: Mapping[Address, ActualObject]
) -> list[str]:
    """Snapshot ids of marked kinds that differ from the object carrying the address's marker (an
    edited snapshot): the marked object is the one billsync manages; the other id is never written."""
    out = []
    for kind in ("service", "product", "contract"):
        for address, entry in recorded.get(kind, {}).items():
            found = objects.get(address)
            if found is None or not found.marked or found.target_id == entry.target_id:
                continue
            out.append(
                f"{address}: the snapshot names {KINDS[kind].entity} id {entry.target_id}, but the "
                f"object carrying billsync's marker for it is id {found.target_id}; billsync will not "
                f"write to id {entry.target_id} (D25)"
            )
    return sorted(out)


def _owner(kind: str, row: dict[str, Any], owners: Mapping[int, str]) -> Address | None:
    """The address an object belongs to by its marker: its own (services, products, contracts), or
    its contract's subscription (contract services; charges with their ``billsync:`` PO number)."""
    if kind not in ("contract_service", "charge"):
        return _marker_of(kind, row)
    subscription = owners.get(int(row.get("contractID") or 0))
    if subscription is None:
        return None
    if kind == "contract_service":
        return make_address(kind, subscription)
    key = key_from_marker(row.get("purchaseOrderNumber"))
    return make_address(kind, subscription, *key) if key is not None else None


def _marker_of(kind: str, row: dict[str, Any]) -> Address | None:
    """The address a service's, product's or contract's identity marker names, if it carries one."""
    if kind == "contract":
        subscription = _udf(row, SUBSCRIPTION_UDF)
        return make_address("contract", subscription) if subscription else None
    key = key_from_marker(row.get(_MARKER_FIELD.get(kind, "")))
    return make_address(kind, *key) if key is not None else None


def _has_marker(kind: str, row: Mapping[str, Any]) -> bool:
    if kind == "contract":
        return _udf(row, SUBSCRIPTION_UDF) is not None
    field = _MARKER_FIELD.get(kind)
    return field is not None and key_from_marker(row.get(field)) is not None


def _match_key(attributes: Attributes, fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(" ".join(str(attributes.get(f, "")).split()).casefold() for f in fields)


def _wire(value: object) -> Any:
    if isinstance(value, date):
        return wire_date(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(value: Any, ftype: FieldType, places: int | None, values: Tables | None) -> Any:
    """:func:`coerce`, with each typed value kept once per read in ``values``: 50,000 contracts and
    their months repeat the same prices, units and dates. A decimal kept as written (no scale) is
    never shared, since ``1.5`` and ``1.50`` are equal keys but print differently."""
    if values is None or ftype == "str" or (ftype == "decimal" and places is None):
        return coerce(value, ftype, places)
    if not isinstance(value, str | int | Decimal):  # int covers bool; floats and others are not shared
        return coerce(value, ftype, places)
    return held_once(values, (ftype, places, type(value)), value, coerce, ftype, places)


def _actual(
    address: Address,
    spec: KindSpec,
    row: Mapping[str, Any],
    locked: bool = False,
    found_by: str = "",
    values: Tables | None = None,
) -> ActualObject:
    attributes: Attributes = {}
    for name, ftype in spec.fields.items():
        if name in row:
            try:
                attributes[name] = _typed(row[name], ftype, spec.decimals.get(name), values)
            except ValueError:
                attributes[name] = str(row[name])
    modified = ENTITIES[spec.entity].modified_field
    stamp = str(row.get(modified) or "") if modified else ""
    return ActualObject(
        address,
        spec.name,
        int(row["id"]),
        attributes,
        locked=locked,
        fingerprint=stamp or _digest(attributes),
        found_by=found_by or "its identity marker",
        marked=not found_by,
    )


def _contract_objects(
    rows: list[dict[str, Any]], values: Tables | None = None
) -> list[tuple[str, ActualObject]]:
    """(subscription, actual object) of each contract row carrying a "Subscription ID"."""
    spec = KINDS["contract"]
    found: list[tuple[str, ActualObject]] = []
    for row in rows:
        subscription = _udf(row, SUBSCRIPTION_UDF)
        if subscription:
            address = make_address("contract", subscription)
            found.append((subscription, _actual(address, spec, row, values=values)))
    return found


def _udf(row: Mapping[str, Any], name: str) -> str | None:
    for item in row.get("userDefinedFields") or []:
        if item.get("name") == name and item.get("value") not in (None, ""):
            return str(item["value"])
    return None


def _digest(attributes: Attributes) -> str:
    return hashlib.sha256(json.dumps(encode_attributes(attributes), sort_keys=True).encode()).hexdigest()[:16]


def _fingerprint(objects: dict[Address, ActualObject]) -> str:
    h = hashlib.sha256()
    for address in sorted(objects):
        obj = objects[address]
        h.update(f"{address}\0{obj.target_id}\0{obj.fingerprint}\0{_digest(obj.attributes)}\n".encode())
    return h.hexdigest()
