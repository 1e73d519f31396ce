"""Business rules per entity: the Autotask refusals that bite (AUTOTASK.md Part 1).

Each entity with rules registers one :class:`EntityRule`. The shared checks (types, required and
read-only fields, references) have already run in :mod:`._writes`; a rule adds what is special
about its entity and may fill computed fields. Every refusal is an :class:`ApiError` (HTTP 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from providers.autotask.entities import (
    BILLING_CODES,
    CONTRACT_SERVICE_ADJUSTMENTS,
    CONTRACT_SERVICES,
    CONTRACTS,
    PRODUCTS,
    RECURRING_SERVICE_CONTRACT,
    SERVICES,
    USE_TYPE_MATERIAL,
    USE_TYPE_RECURRING_SERVICE,
    Entity,
)

from ._billing import MAX_CONTRACT_DAYS, charge_totals, check_units_stay_positive
from ._errors import ApiError
from ._filters import Condition, Group
from ._posting import check_adjustment, check_contract_end
from ._values import Value, parse_date

if TYPE_CHECKING:
    from ._store import Row, SandboxStore


@dataclass(frozen=True)
class WriteContext:
    """What a rule may use: the store (inside the write's transaction), the entity and the time."""

    store: SandboxStore
    entity: Entity
    now: str


class EntityRule:
    """Hooks for one entity; the defaults accept everything."""

    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        """Check (and complete) a new object before it is inserted."""

    def before_update(self, ctx: WriteContext, current: Row, changes: dict[str, Value]) -> None:
        """Refuse an update before any field is checked (e.g. a locked object)."""

    def before_delete(self, current: Row) -> None:
        """Refuse a delete (e.g. a locked object)."""

    def on_update(
        self, ctx: WriteContext, current: Row, merged: dict[str, Any], changes: dict[str, Value]
    ) -> None:
        """Check the object as it will be after the update; may add computed ``changes``."""


class _ContractRule(EntityRule):
    """The SLA is a picklist value, checked (active, known) with every other picklist value. A
    Recurring Service contract's start date is fixed once it has services (API-FACTS A9.1: the UI makes
    it read-only; what REST does then is NOT FOUND, so moving it is refused)."""

    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        _check_dates(values)

    def before_update(self, ctx: WriteContext, current: Row, changes: dict[str, Value]) -> None:
        moved = changes.get("startDate")
        if moved is None or current.get("contractType") != RECURRING_SERVICE_CONTRACT:
            return
        if parse_date(str(moved)) == parse_date(str(current["startDate"])):
            return
        where = Group("and", (Condition("eq", CONTRACT_SERVICES.field("contractID"), None, current["id"]),))
        if ctx.store.select(CONTRACT_SERVICES, where, limit=1):
            raise ApiError(
                f"Contract {current['id']}: the start date of a Recurring Service contract cannot be "
                "changed once the contract has services."
            )

    def on_update(
        self, ctx: WriteContext, current: Row, merged: dict[str, Any], changes: dict[str, Value]
    ) -> None:
        _check_dates(merged)
        if changes.get("endDate") is not None:
            check_contract_end(ctx.store, current, parse_date(str(merged["endDate"])))


class _ServiceRule(EntityRule):
    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        _check_billing_code(ctx, values["billingCodeID"], USE_TYPE_RECURRING_SERVICE, "billingCodeID")

    def on_update(
        self, ctx: WriteContext, current: Row, merged: dict[str, Any], changes: dict[str, Value]
    ) -> None:
        if changes.get("billingCodeID", current["billingCodeID"]) != current["billingCodeID"]:
            _check_billing_code(ctx, changes["billingCodeID"], USE_TYPE_RECURRING_SERVICE, "billingCodeID")


class _ProductRule(EntityRule):
    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        _check_billing_code(ctx, values["productBillingCodeID"], USE_TYPE_MATERIAL, "productBillingCodeID")
        _check_period(values)

    def on_update(
        self, ctx: WriteContext, current: Row, merged: dict[str, Any], changes: dict[str, Value]
    ) -> None:
        if (
            changes.get("productBillingCodeID", current["productBillingCodeID"])
            != current["productBillingCodeID"]
        ):
            _check_billing_code(
                ctx, changes["productBillingCodeID"], USE_TYPE_MATERIAL, "productBillingCodeID"
            )
        _check_period(merged)


class _ContractServiceRule(EntityRule):
    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        contract = _recurring_contract(ctx, values["contractID"], "A contract service")
        service = _service(ctx, values["serviceID"])
        if _find_contract_service(ctx.store, contract["id"], service["id"]) is not None:
            raise ApiError(
                f"Service {service['id']} is already on contract {contract['id']}; "
                "change its units with a ContractServiceAdjustment."
            )
        if values.get("unitPrice") is None:
            values["unitPrice"] = service["unitPrice"]
        if values.get("unitCost") is None:
            values["unitCost"] = service["unitCost"]


class _AdjustmentRule(EntityRule):
    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        if values.get("contractID") is None and values.get("contractServiceID") is not None:
            found = ctx.store.get(CONTRACT_SERVICES, _as_id(values["contractServiceID"]))
            values["contractID"] = found["contractID"] if found else None
        if values.get("contractID") is None:
            raise ApiError("A contract service adjustment needs a contractID (or a contractServiceID).")
        if all(values.get(name) is None for name in ("unitChange", "adjustedUnitPrice", "adjustedUnitCost")):
            raise ApiError("A contract service adjustment needs a unitChange or a new unit price or cost.")
        contract = _recurring_contract(ctx, values["contractID"], "A contract service adjustment")
        effective = parse_date(str(values["effectiveDate"]))
        start, end = parse_date(contract["startDate"]), parse_date(contract["endDate"])
        if not start <= effective <= end:
            raise ApiError(
                f"effectiveDate {effective.isoformat()} is outside contract {contract['id']} "
                f"({start.isoformat()} to {end.isoformat()})."
            )
        check_adjustment(ctx.store, contract, effective)
        contract_service = _resolve_contract_service(ctx, contract, values)
        values["contractServiceID"] = contract_service["id"]
        values["serviceID"] = contract_service["serviceID"]
        check_units_stay_positive(
            contract_service["id"],
            _adjustment_events(ctx.store, contract_service["id"]),
            effective,
            int(values.get("unitChange") or 0),
        )


class _ChargeRule(EntityRule):
    def on_create(self, ctx: WriteContext, values: dict[str, Value]) -> None:
        if values.get("productID") is None and values.get("billingCodeID") is None:
            raise ApiError("A contract charge needs a productID or a billingCodeID.")
        if values.get("billingCodeID") is not None:
            _check_billing_code(ctx, values["billingCodeID"], None, "billingCodeID")
        if values.get("unitPrice") is None or values.get("unitCost") is None:
            product = (
                ctx.store.get(PRODUCTS, _as_id(values["productID"])) if values.get("productID") else None
            )
            if values.get("unitPrice") is None:
                if product is None or product["unitPrice"] is None:
                    raise ApiError(
                        "ContractCharges.unitPrice is required when the product has no unit price."
                    )
                values["unitPrice"] = product["unitPrice"]
            if values.get("unitCost") is None and product is not None:
                values["unitCost"] = product["unitCost"]
        values["isBilled"] = False
        values["createDate"] = ctx.now
        values.update(_totals(values))

    def before_update(self, ctx: WriteContext, current: Row, changes: dict[str, Value]) -> None:
        if current.get("isBilled"):
            raise ApiError(f"Contract charge {current['id']} is billed: a billed charge cannot be changed.")

    def before_delete(self, current: Row) -> None:
        if current.get("isBilled"):
            raise ApiError(f"Contract charge {current['id']} is billed: a billed charge cannot be deleted.")

    def on_update(
        self, ctx: WriteContext, current: Row, merged: dict[str, Any], changes: dict[str, Value]
    ) -> None:
        if merged.get("productID") is None and merged.get("billingCodeID") is None:
            raise ApiError("A contract charge needs a productID or a billingCodeID.")
        if changes.get("billingCodeID") not in (None, current.get("billingCodeID")):
            _check_billing_code(ctx, changes["billingCodeID"], None, "billingCodeID")
        totals = _totals(merged)
        changes.update({k: v for k, v in totals.items() if v != current.get(k)})


RULES: dict[str, EntityRule] = {
    CONTRACTS.name: _ContractRule(),
    SERVICES.name: _ServiceRule(),
    PRODUCTS.name: _ProductRule(),
    CONTRACT_SERVICES.name: _ContractServiceRule(),
    CONTRACT_SERVICE_ADJUSTMENTS.name: _AdjustmentRule(),
    "ContractCharges": _ChargeRule(),
}
"""The rule of each entity that has one."""


def _check_dates(values: dict[str, Any]) -> None:
    start, end = parse_date(str(values["startDate"])), parse_date(str(values["endDate"]))
    if end < start:
        raise ApiError(f"Contract endDate {end.isoformat()} is before its startDate {start.isoformat()}.")
    if (end - start).days > MAX_CONTRACT_DAYS:
        raise ApiError(f"A contract may run at most {MAX_CONTRACT_DAYS} days.")


def _check_billing_code(ctx: WriteContext, code_id: Value, use_type: int | None, field: str) -> None:
    code = ctx.store.get(BILLING_CODES, _as_id(code_id))
    if code is None:
        raise ApiError(f"{ctx.entity.name}.{field} {code_id} is not a billing code.")
    if not code["isActive"]:
        raise ApiError(
            f"{ctx.entity.name}.{field} {code_id} ({code['name']}) is inactive; choose an active billing code."
        )
    if use_type is not None and code["useType"] != use_type:
        label = _use_type_label(use_type)
        raise ApiError(f"{ctx.entity.name}.{field} {code_id} ({code['name']}) is not a {label} billing code.")


def _use_type_label(use_type: int) -> str:
    field = BILLING_CODES.field("useType")
    entry = field.picklist_value(use_type) if field is not None else None
    return entry.label if entry is not None else str(use_type)


def _check_period(values: dict[str, Any]) -> None:
    if values.get("billingType") not in (None, 1) and values.get("periodType") not in (None, 1):
        raise ApiError("Products.periodType must be Monthly (1) when billingType is not Standard.")


def _recurring_contract(ctx: WriteContext, contract_id: Value, what: str) -> Row:
    contract = ctx.store.get(CONTRACTS, _as_id(contract_id))
    if contract is None:
        raise ApiError(f"Contract {contract_id} does not exist.")
    if contract["contractType"] != RECURRING_SERVICE_CONTRACT:
        raise ApiError(
            f"{what} needs a Recurring Service contract (contractType {RECURRING_SERVICE_CONTRACT}); "
            f"contract {contract_id} has contractType {contract['contractType']}."
        )
    return contract


def _service(ctx: WriteContext, service_id: Value) -> Row:
    service = ctx.store.get(SERVICES, _as_id(service_id))
    if service is None:
        raise ApiError(f"Service {service_id} does not exist.")
    if not service["isActive"]:
        raise ApiError(f"Service {service_id} is inactive and cannot be added to a contract.")
    return service


def _find_contract_service(store: SandboxStore, contract_id: int, service_id: int) -> Row | None:
    where = Group(
        "and",
        (
            Condition("eq", CONTRACT_SERVICES.field("contractID"), None, contract_id),
            Condition("eq", CONTRACT_SERVICES.field("serviceID"), None, service_id),
        ),
    )
    rows = store.select(CONTRACT_SERVICES, where, limit=1)
    return rows[0] if rows else None


def _resolve_contract_service(ctx: WriteContext, contract: Row, values: dict[str, Value]) -> Row:
    """The adjustment's contract service: given by id, found by service, or created (as Autotask does)."""
    cs_id, service_id = values.get("contractServiceID"), values.get("serviceID")
    if cs_id is not None:
        found = ctx.store.get(CONTRACT_SERVICES, _as_id(cs_id))
        if found is None or found["contractID"] != contract["id"]:
            raise ApiError(f"Contract service {cs_id} is not on contract {contract['id']}.")
        if service_id is not None and service_id != found["serviceID"]:
            raise ApiError(
                f"serviceID {service_id} disagrees with contract service {cs_id} (service {found['serviceID']})."
            )
        return found
    if service_id is None:
        raise ApiError("A contract service adjustment needs a contractServiceID or a serviceID.")
    existing = _find_contract_service(ctx.store, contract["id"], _as_id(service_id))
    if existing is not None:
        return existing
    service = _service(ctx, service_id)
    new_values: dict[str, Value] = {
        "contractID": contract["id"],
        "serviceID": service["id"],
        "unitPrice": service["unitPrice"],
        "unitCost": service["unitCost"],
    }
    new_id = ctx.store.insert(CONTRACT_SERVICES, new_values)
    created = ctx.store.get(CONTRACT_SERVICES, new_id)
    assert created is not None
    return created


def _as_id(value: Value) -> int:
    """An id value that the shared checks have already typed as an integer."""
    assert isinstance(value, int), value
    return value


def _adjustment_events(store: SandboxStore, cs_id: int) -> list[tuple[date, int]]:
    field = CONTRACT_SERVICE_ADJUSTMENTS.field("contractServiceID")
    rows = store.select(CONTRACT_SERVICE_ADJUSTMENTS, Group("and", (Condition("eq", field, None, cs_id),)))
    return [(parse_date(row["effectiveDate"]), int(row["unitChange"] or 0)) for row in rows]


def _totals(values: Mapping[str, Any]) -> dict[str, Value]:
    return charge_totals(values.get("unitQuantity"), values.get("unitPrice"), values.get("unitCost"))
