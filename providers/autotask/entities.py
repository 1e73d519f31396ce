"""The Autotask entity table: every entity billsync touches, its REST path and its fields.

This table is the one place a tenant difference is fixed (a picklist value, a field length, a child
path). The sandbox emulator builds its storage, validation and ``entityInformation`` answers from
it, and the client adapter reads paths and field kinds from it. Picklist values marked as such in
AUTOTASK.md are unverified; a real tenant's ``entityInformation/fields`` is the authority.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _dataclass_field
from enum import StrEnum


class FieldType(StrEnum):
    """The value kinds Autotask reports as ``dataType`` (picklists are integers with values)."""

    INTEGER = "integer"
    STRING = "string"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    PICKLIST = "picklist"


@dataclass(frozen=True)
class PicklistValue:
    """One allowed value of a picklist field."""

    value: int
    label: str
    is_active: bool = True
    is_default: bool = False


@dataclass(frozen=True)
class Field:
    """One field of an entity, as ``entityInformation/fields`` describes it."""

    name: str
    type: FieldType
    required: bool = False
    read_only: bool = False
    read_only_after_create: bool = False
    reference: str | None = None
    picklist: tuple[PicklistValue, ...] = ()
    length: int | None = None
    default: int | str | bool | None = None
    """Value stored when a create omits the field (booleans and picklist defaults)."""

    @property
    def is_picklist(self) -> bool:
        return self.type is FieldType.PICKLIST

    def picklist_value(self, value: int) -> PicklistValue | None:
        """The picklist entry for ``value``, or None when the value is not in the list."""
        return next((entry for entry in self.picklist if entry.value == value), None)


@dataclass(frozen=True)
class UserDefinedField:
    """A user-defined field (UDF) of an entity; values are strings."""

    name: str
    length: int = 255


@dataclass(frozen=True)
class Entity:
    """An Autotask entity: its REST paths, allowed verbs and fields."""

    name: str
    path: str
    fields: tuple[Field, ...]
    parent: str | None = None
    child_path: str | None = None
    """Path segment under the parent: ``/Contracts/{id}/<child_path>``."""
    can_create: bool = False
    can_update: bool = False
    can_query: bool = True
    udfs: tuple[UserDefinedField, ...] = ()
    stored: bool = True
    """False for entities computed from others (ContractServiceUnits)."""
    _by_name: dict[str, Field] = _dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name.lower(): f for f in self.fields})

    @property
    def has_udfs(self) -> bool:
        return bool(self.udfs)

    def field(self, name: str) -> Field | None:
        """The field called ``name`` (case-insensitive, as Autotask matches names), or None."""
        return self._by_name.get(name.lower())

    def udf(self, name: str) -> UserDefinedField | None:
        """The user-defined field called ``name`` (case-insensitive), or None."""
        return next((u for u in self.udfs if u.name.lower() == name.lower()), None)


_INT = FieldType.INTEGER
_STR = FieldType.STRING
_DEC = FieldType.DECIMAL
_BOOL = FieldType.BOOLEAN
_DT = FieldType.DATETIME
_PICK = FieldType.PICKLIST


def _id() -> Field:
    return Field("id", _INT, read_only=True)


def _modified(name: str = "lastModifiedDateTime") -> Field:
    return Field(name, _DT, read_only=True)


def _picklist(*values: tuple[int, str], default: int | None = None) -> tuple[PicklistValue, ...]:
    return tuple(PicklistValue(value, label, is_default=value == default) for value, label in values)


PERIOD_TYPES = _picklist((1, "Monthly"), (2, "Quarterly"), (3, "Semi-Annual"), (4, "Yearly"))
"""Billing period picklist shared by Contracts.contractPeriodType and Services/Products.periodType."""

RECURRING_SERVICE_CONTRACT = 7
"""``contractType`` of a Recurring Service contract, the only type that holds contract services."""

USE_TYPE_MATERIAL = 3
"""BillingCodes ``useType`` of a material (product) cost code."""

USE_TYPE_RECURRING_SERVICE = 4
"""BillingCodes ``useType`` of a recurring contract service allocation code."""

COMPANIES = Entity(
    "Companies",
    "Companies",
    (
        _id(),
        Field("companyName", _STR, required=True, length=100),
        Field("companyNumber", _STR, length=50),
        Field(
            "companyType",
            _PICK,
            required=True,
            picklist=_picklist(
                (1, "Customer"),
                (2, "Lead"),
                (3, "Prospect"),
                (4, "Dead"),
                (5, "Our Company"),
                (6, "Cancellation"),
                (7, "Vendor"),
                (8, "Partner"),
            ),
        ),
        Field("isActive", _BOOL, default=True),
        Field("phone", _STR, length=25),
        Field("address1", _STR, length=128),
        Field("city", _STR, length=50),
        Field("postalCode", _STR, length=20),
        Field("webAddress", _STR, length=255),
        _modified("lastTrackedModifiedDateTime"),
    ),
    can_create=True,
    can_update=True,
)

SERVICE_LEVEL_AGREEMENTS = Entity(
    "ServiceLevelAgreements",
    "ServiceLevelAgreements",
    (_id(), Field("name", _STR, required=True, length=100), Field("isActive", _BOOL, default=True)),
)

BILLING_CODES = Entity(
    "BillingCodes",
    "BillingCodes",
    (
        _id(),
        Field("name", _STR, required=True, length=200),
        Field("description", _STR, length=500),
        Field("isActive", _BOOL, default=True),
        Field(
            "useType",
            _PICK,
            required=True,
            picklist=_picklist(
                (1, "Work Type"),
                (2, "Expense"),
                (USE_TYPE_MATERIAL, "Material (product)"),
                (USE_TYPE_RECURRING_SERVICE, "Recurring Contract Service"),
                (5, "Internal Allocation"),
            ),
        ),
    ),
)

CONTRACTS = Entity(
    "Contracts",
    "Contracts",
    (
        _id(),
        Field("companyID", _INT, required=True, reference="Companies"),
        Field("contractName", _STR, required=True, length=100),
        Field("contractNumber", _STR, length=50),
        Field(
            "contractType",
            _PICK,
            required=True,
            read_only_after_create=True,
            picklist=_picklist(
                (1, "Time & Materials"),
                (3, "Fixed Price"),
                (4, "Block Hours"),
                (6, "Retainer"),
                (RECURRING_SERVICE_CONTRACT, "Recurring Service"),
                (8, "Per Ticket"),
            ),
        ),
        Field("status", _PICK, required=True, picklist=_picklist((0, "Inactive"), (1, "In Effect"))),
        Field("startDate", _DT, required=True),
        Field("endDate", _DT, required=True),
        Field("serviceLevelAgreementID", _INT, reference="ServiceLevelAgreements"),
        Field("contractPeriodType", _PICK, picklist=PERIOD_TYPES),
        Field("description", _STR, length=2000),
        Field("purchaseOrderNumber", _STR, length=50),
        _modified(),
    ),
    can_create=True,
    can_update=True,
    udfs=(UserDefinedField("Subscription ID"),),
)

SERVICES = Entity(
    "Services",
    "Services",
    (
        _id(),
        Field("name", _STR, required=True, length=150),
        Field("description", _STR, length=400),
        Field("invoiceDescription", _STR, length=1000),
        Field("unitPrice", _DEC, required=True),
        Field("unitCost", _DEC),
        Field("billingCodeID", _INT, required=True, reference="BillingCodes"),
        Field("periodType", _PICK, required=True, picklist=PERIOD_TYPES),
        Field("isActive", _BOOL, default=True),
        Field("serviceLevelAgreementID", _INT, reference="ServiceLevelAgreements"),
        Field("sku", _STR, length=50),
        _modified(),
    ),
    can_create=True,
    can_update=True,
)

PRODUCTS = Entity(
    "Products",
    "Products",
    (
        _id(),
        Field("name", _STR, required=True, length=100),
        Field("description", _STR, length=2000),
        Field("unitPrice", _DEC),
        Field("unitCost", _DEC),
        Field("productBillingCodeID", _INT, required=True, reference="BillingCodes"),
        Field("periodType", _PICK, picklist=PERIOD_TYPES),
        Field("isActive", _BOOL, required=True),
        Field("sku", _STR, length=50),
        Field(
            "billingType",
            _PICK,
            default=1,
            picklist=_picklist((1, "Standard"), (2, "Per Contact"), (3, "Per Asset"), default=1),
        ),
        _modified(),
    ),
    can_create=True,
    can_update=True,
)

CONTRACT_SERVICES = Entity(
    "ContractServices",
    "ContractServices",
    (
        _id(),
        Field("contractID", _INT, required=True, read_only_after_create=True, reference="Contracts"),
        Field("serviceID", _INT, required=True, read_only_after_create=True, reference="Services"),
        Field("unitPrice", _DEC, read_only_after_create=True),
        Field("unitCost", _DEC, read_only_after_create=True),
        Field("adjustedPrice", _DEC),
        Field("invoiceDescription", _STR, length=1000),
        Field("internalDescription", _STR, read_only_after_create=True, length=1000),
    ),
    parent="Contracts",
    child_path="Services",
    can_create=True,
    can_update=True,
)

CONTRACT_SERVICE_ADJUSTMENTS = Entity(
    "ContractServiceAdjustments",
    "ContractServiceAdjustments",
    (
        _id(),
        Field("contractID", _INT, required=True, reference="Contracts"),
        Field("contractServiceID", _INT, reference="ContractServices"),
        Field("serviceID", _INT, reference="Services"),
        Field("effectiveDate", _DT, required=True),
        Field("unitChange", _INT, required=True),
        Field("adjustedUnitPrice", _DEC),
        Field("adjustedUnitCost", _DEC),
        Field("allowRepeatService", _BOOL, default=False),
    ),
    parent="Contracts",
    child_path="ServiceAdjustments",
    can_create=True,
    can_query=False,
)

CONTRACT_SERVICE_UNITS = Entity(
    "ContractServiceUnits",
    "ContractServiceUnits",
    (
        _id(),
        Field("contractID", _INT, reference="Contracts"),
        Field("contractServiceID", _INT, reference="ContractServices"),
        Field("serviceID", _INT, reference="Services"),
        Field("startDate", _DT),
        Field("endDate", _DT),
        Field("units", _INT),
        Field("price", _DEC),
        Field("cost", _DEC),
    ),
    stored=False,
)

CONTRACT_CHARGES = Entity(
    "ContractCharges",
    "ContractCharges",
    (
        _id(),
        Field("contractID", _INT, required=True, read_only_after_create=True, reference="Contracts"),
        Field("name", _STR, required=True, length=100),
        Field("description", _STR, length=2000),
        Field("datePurchased", _DT, required=True),
        Field("unitQuantity", _DEC, required=True),
        Field("unitPrice", _DEC),
        Field("unitCost", _DEC),
        Field("productID", _INT, reference="Products"),
        Field("billingCodeID", _INT, reference="BillingCodes"),
        Field(
            "chargeType",
            _PICK,
            default=1,
            picklist=_picklist((1, "Operational"), (2, "Capitalized"), default=1),
        ),
        Field(
            "status",
            _PICK,
            default=1,
            picklist=_picklist((1, "Ready to Bill"), (2, "Pending Approval"), default=1),
        ),
        Field("isBilled", _BOOL, read_only=True, default=False),
        Field("purchaseOrderNumber", _STR, length=50),
        Field("billableAmount", _DEC, read_only=True),
        Field("extendedCost", _DEC, read_only=True),
        Field("createDate", _DT, read_only=True),
    ),
    parent="Contracts",
    child_path="Charges",
    can_create=True,
    can_update=True,
)

ENTITIES: dict[str, Entity] = {
    entity.name: entity
    for entity in (
        COMPANIES,
        SERVICE_LEVEL_AGREEMENTS,
        BILLING_CODES,
        CONTRACTS,
        SERVICES,
        PRODUCTS,
        CONTRACT_SERVICES,
        CONTRACT_SERVICE_ADJUSTMENTS,
        CONTRACT_SERVICE_UNITS,
        CONTRACT_CHARGES,
    )
}
"""Every entity by name."""

_BY_LOWER_NAME = {name.lower(): entity for name, entity in ENTITIES.items()}


def find_entity(name: str) -> Entity | None:
    """The entity whose name or root path is ``name`` (case-insensitive), or None."""
    return _BY_LOWER_NAME.get(name.lower())


def find_child(parent: str, child_path: str) -> Entity | None:
    """The child entity reached as ``/{parent}/{id}/{child_path}`` (case-insensitive), or None."""
    for entity in ENTITIES.values():
        if (
            entity.parent
            and entity.child_path
            and entity.parent.lower() == parent.lower()
            and entity.child_path.lower() == child_path.lower()
        ):
            return entity
    return None
