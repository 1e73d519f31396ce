"""The resource kinds billsync manages in Autotask, derived from the entity table, and their markers (D24).

What is chosen here is policy: which entity each kind is, which of its fields billsync manages, which
are references, the apply order, and where the identity marker lives. Everything the API says about a
field comes from :mod:`providers.autotask.entities` and nowhere else: its type, its length, whether a
client may write it, and whether Autotask fixes it on create (``read_only_after_create``, API-FACTS A8/A9:
a contract's type, period type and company; a service's period type; a contract service's price and
cost). Such a field becomes the kind's ``immutable``: never written by an update, and a plan warns when
its desired value differs. A managed field the entity table does not let a client write is an error
at import time, so the two cannot disagree.

Adjustments are the one kind whose state is not its entity's fields: ContractServiceAdjustments is
create-only and cannot be read (A9.3), so a month's state (units, price, cost from its start) is read
from ContractServiceUnits (A9.4) and written as the payload of a new adjustment.

Values Autotask requires on create that are policy rather than billing data (a contract's
``timeReportingRequiresStartAndStopTimes``, a charge's ``chargeType``, a product's ``isSerialized``)
are not managed fields: :data:`CREATE_POLICY` names the setting each one comes from.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.resources import FieldType, KindSpec
from providers.autotask.entities import (
    CONTRACT_CHARGES,
    CONTRACT_SERVICE_ADJUSTMENTS,
    CONTRACT_SERVICE_UNITS,
    CONTRACT_SERVICES,
    CONTRACTS,
    PRODUCTS,
    SERVICES,
    Entity,
    Field,
)
from providers.autotask.entities import FieldType as WireType

__all__ = [
    "CREATE_POLICY",
    "DECIMAL_PLACES",
    "KINDS",
    "MARKER_FIELD",
    "MARKER_PREFIX",
    "READ_FROM",
    "SUBSCRIPTION_UDF",
    "derive_kind",
    "key_from_marker",
    "marker_for",
]

MARKER_PREFIX = "billsync:"
"""Services, products and charges carry ``billsync:<key>`` in their :data:`MARKER_FIELD`."""
MARKER_FIELD: dict[str, str] = {"service": "sku", "product": "sku", "charge": "purchaseOrderNumber"}
"""Where services, products and charges carry their ``billsync:`` marker (D24)."""
SUBSCRIPTION_UDF = "Subscription ID"
"""The contract user-defined field holding the Cloudmore subscription id (D12, D24)."""
DECIMAL_PLACES = 4
"""Decimal places billsync keeps for every managed amount and quantity (D22)."""

_TYPES: dict[WireType, FieldType] = {
    WireType.INTEGER: "int",
    WireType.PICKLIST: "int",
    WireType.STRING: "str",
    WireType.DECIMAL: "decimal",
    WireType.BOOLEAN: "bool",
    WireType.DATETIME: "date",
}
"""The engine type of each Autotask ``dataType`` (billsync's dates are days, A7)."""

READ_FROM: dict[str, tuple[Entity, dict[str, str]]] = {
    "adjustment": (
        CONTRACT_SERVICE_UNITS,
        {"effectiveDate": "startDate", "units": "units", "unitPrice": "price", "unitCost": "cost"},
    ),
}
"""Kinds whose state is read from another entity than the one written: that entity and, per managed
field, the field it is read from (an adjustment's month is its ContractServiceUnits row)."""


def _field(entity: Entity, name: str) -> Field:
    found = entity.field(name)
    if found is None:
        raise ValueError(f"{entity.name} has no field {name!r} in the entity table")
    return found


def _writable(entity: Entity, name: str) -> Field:
    """The entity table's field ``name``, refused unless a client may write it (on create at least)."""
    found = _field(entity, name)
    if found.read_only or not entity.can_create:
        raise ValueError(f"{entity.name}.{name} is read-only in the entity table; billsync cannot manage it")
    return found


def derive_kind(
    name: str,
    entity: Entity,
    managed: tuple[str, ...],
    *,
    order: int,
    refs: Mapping[str, str] | None = None,
    payload: tuple[str, ...] = (),
    immutable_hint: str = "",
    period_scoped: bool = False,
    orphanable: bool = False,
    end_field: str | None = None,
) -> KindSpec:
    """A kind whose field types, lengths and create-only fields all come from the entity table."""
    read_entity, read_names = READ_FROM.get(name, (entity, {}))
    fields: dict[str, Field] = {}
    for field_name in managed:
        if read_entity is entity:
            fields[field_name] = _writable(entity, field_name)
        else:
            fields[field_name] = _field(read_entity, read_names[field_name])
    for ref in refs or {}:
        _writable(entity, ref)
    sent = {field_name: _writable(entity, field_name) for field_name in payload}
    types = {field_name: _TYPES[found.type] for field_name, found in fields.items()}
    return KindSpec(
        name=name,
        entity=entity.name,
        fields=types,
        refs=dict(refs or {}),
        order=order,
        immutable=frozenset(
            n for n, found in fields.items() if read_entity is entity and found.read_only_after_create
        ),
        immutable_hint=immutable_hint,
        decimals={n: DECIMAL_PLACES for n, ftype in types.items() if ftype == "decimal"},
        payload_fields={n: _TYPES[found.type] for n, found in sent.items()},
        lengths={
            n: found.length
            for n, found in fields.items()
            if read_entity is entity and found.length is not None and types[n] == "str"
        },
        period_scoped=period_scoped,
        orphanable=orphanable,
        end_field=end_field,
        read_from=None if read_entity is entity else read_entity.name,
    )


KINDS: dict[str, KindSpec] = {
    spec.name: spec
    for spec in (
        derive_kind(
            "service",
            SERVICES,
            (
                "name",
                "description",
                "invoiceDescription",
                "unitPrice",
                "unitCost",
                "billingCodeID",
                "periodType",
            ),
            order=0,
            immutable_hint=(
                "Autotask fixes a service's period type when it is created; keep the old service_period_type, "
                "or deactivate the service in Autotask and let billsync create a new one"
            ),
        ),
        derive_kind(
            "product",
            PRODUCTS,
            (
                "name",
                "description",
                "unitPrice",
                "unitCost",
                "productBillingCodeID",
                "periodType",
                "isActive",
            ),
            order=0,
        ),
        derive_kind(
            "contract",
            CONTRACTS,
            (
                "contractName",
                "description",
                "companyID",
                "contractType",
                "status",
                "contractPeriodType",
                "startDate",
                "endDate",
                "serviceLevelAgreementID",
            ),
            order=1,
            orphanable=True,
            end_field="endDate",
            immutable_hint=(
                "Autotask fixes a contract's type, period type and company when it is created, and its "
                "start date once it has services; keep the old setting, or end this contract "
                "(removal_policy: end) and bill a new subscription"
            ),
        ),
        derive_kind(
            "contract_service",
            CONTRACT_SERVICES,
            ("invoiceDescription", "unitPrice", "unitCost"),
            refs={"contractID": "contract", "serviceID": "service"},
            order=2,
            immutable_hint=(
                "a contract service's price is fixed when it is created; each month's price is billed by "
                "that month's service adjustment (adjustedUnitPrice), so nothing needs doing"
            ),
        ),
        derive_kind(
            "adjustment",
            CONTRACT_SERVICE_ADJUSTMENTS,
            ("effectiveDate", "units", "unitPrice", "unitCost"),
            refs={"contractID": "contract", "serviceID": "service", "contractServiceID": "contract_service"},
            payload=("unitChange", "adjustedUnitPrice", "adjustedUnitCost", "effectiveDate"),
            order=3,
            period_scoped=True,
        ),
        derive_kind(
            "charge",
            CONTRACT_CHARGES,
            (
                "name",
                "description",
                "datePurchased",
                "unitQuantity",
                "unitPrice",
                "unitCost",
                "billingCodeID",
                "isBillableToCompany",
            ),
            refs={"contractID": "contract", "productID": "product"},
            order=3,
            period_scoped=True,
        ),
    )
}
"""Every kind by name; their fields' facts come from the entity table (:func:`derive_kind`)."""


CREATE_POLICY: dict[str, dict[str, str]] = {
    "contract": {"timeReportingRequiresStartAndStopTimes": "time_reporting_requires_start_and_stop_times"},
    "charge": {"chargeType": "charge_type"},
    "product": {"isSerialized": "product_is_serialized"},
}
"""Kind → field sent on create → the setting its value comes from (required by Autotask, A9)."""


def marker_for(key: tuple[str, ...]) -> str:
    """The marker written into a service, product or charge: ``billsync:`` + key parts joined by ``/``."""
    return MARKER_PREFIX + "/".join(key)


def key_from_marker(marker: str | None) -> tuple[str, ...] | None:
    if not marker or not marker.startswith(MARKER_PREFIX):
        return None
    return tuple(marker[len(MARKER_PREFIX) :].split("/"))
