"""The Autotask entity table: every entity billsync touches, its REST path and its fields.

The fields, flags and lengths follow the published API (API-FACTS A9: the swagger copies and live
``entityInformation/fields`` metadata). The sandbox builds its storage, validation and
``entityInformation`` answers from this table, the client reads field names from it, and billsync's
kinds take every field fact from it (:mod:`providers.autotask.kinds`). Picklist
*numbers* are tenant-specific and mostly unpublished (A11): the ones here are the sandbox's demo
tenant, and billsync reads the real ones from ``entityInformation/fields`` at plan time. The tenant's
own configuration (its SLAs, user-defined fields and billing codes) lives in the sandbox store, not here.
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
    """Set on create, immutable afterwards (reported ``isReadOnly`` by Autotask, A8)."""
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
    """The tenant's user-defined fields (empty in the table; the sandbox tenant fills them in)."""
    allows_udfs: bool = False
    """The entity can carry user-defined fields (``hasUserDefinedFields``)."""
    modified_field: str | None = None
    """The read-only last-modified time, where the entity has one (A9: names differ per entity)."""
    stored: bool = True
    """False for entities computed from others (ContractServiceUnits)."""
    _by_name: dict[str, Field] = _dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name.lower(): f for f in self.fields})

    @property
    def has_udfs(self) -> bool:
        return self.allows_udfs

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


def _ro(
    name: str, kind: FieldType = _DT, *, reference: str | None = None, default: bool | None = None
) -> Field:
    """A field Autotask sets and never lets a client write."""
    return Field(name, kind, read_only=True, reference=reference, default=default)


def _picklist(*values: tuple[int, str], default: int | None = None) -> tuple[PicklistValue, ...]:
    return tuple(PicklistValue(value, label, is_default=value == default) for value, label in values)


PERIOD_TYPES = _picklist((1, "Monthly"), (2, "Quarterly"), (3, "Semi-Annually"), (4, "Yearly"))
"""Billing periods of Contracts.contractPeriodType and Services/Products.periodType (labels A11;
numbers unpublished: the sandbox's assumption)."""

PERIOD_MONTHS = {1: 1, 2: 3, 3: 6, 4: 12}
"""Months in one billing period of each :data:`PERIOD_TYPES` value (the sandbox's unit rows)."""

RECURRING_SERVICE_CONTRACT = 7
"""``contractType`` of a Recurring Service contract, the only type that holds contract services (A9.1)."""

USE_TYPE_MATERIAL = 4
"""BillingCodes ``useType`` of a Material Cost code (INFERRED from the label order, A9.10)."""

USE_TYPE_RECURRING_SERVICE = 5
"""BillingCodes ``useType`` of a Recurring Contract Service code (live capture, A9.10)."""

SLA_FIELD = "serviceLevelAgreementID"
"""SLAs have no REST entity: their ids and names are this field's picklist on Contracts/Services (A9.9)."""

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
        Field("phone", _STR, required=True, length=25),
        Field("ownerResourceID", _INT, required=True),
        Field("address1", _STR, length=128),
        Field("city", _STR, length=30),
        Field("postalCode", _STR, length=10),
        Field("webAddress", _STR, length=255),
        _ro("createDate"),
        _ro("lastTrackedModifiedDateTime"),
    ),
    can_create=True,
    can_update=True,
    allows_udfs=True,
    modified_field="lastTrackedModifiedDateTime",
)

BILLING_CODES = Entity(
    "BillingCodes",
    "BillingCodes",
    (
        _id(),
        Field("name", _STR, length=200),
        Field("description", _STR, length=500),
        Field("externalNumber", _STR, length=100),
        Field("isActive", _BOOL, required=True),
        Field("isExcludedFromNewContracts", _BOOL, default=False),
        Field("unitCost", _DEC, required=True),
        Field("unitPrice", _DEC, required=True),
        _ro("markupRate", _DEC),
        Field(
            "useType",
            _PICK,
            picklist=_picklist(
                (1, "General Allocation Code"),
                (2, "Expense Code"),
                (3, "Internal Allocation Code"),
                (USE_TYPE_MATERIAL, "Material Cost Code"),
                (USE_TYPE_RECURRING_SERVICE, "Recurring Contract Service Code"),
                (6, "Milestone Code"),
                (7, "Product Code"),
                (8, "Use type 8 (label not published)"),
                (9, "Use type 9 (label not published)"),
                (10, "Use type 10 (label not published)"),
            ),
        ),
        Field(
            "billingCodeType",
            _PICK,
            default=0,
            picklist=_picklist((0, "Normal"), (1, "System"), (2, "Non-Billable"), default=0),
        ),
        Field("department", _INT),
        Field("afterHoursWorkType", _INT),
        Field("generalLedgerAccount", _INT),
        Field("taxCategoryID", _INT),
    ),
)

CONTRACTS = Entity(
    "Contracts",
    "Contracts",
    (
        _id(),
        Field("companyID", _INT, required=True, read_only_after_create=True, reference="Companies"),
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
        Field(
            "timeReportingRequiresStartAndStopTimes",
            _PICK,
            required=True,
            picklist=_picklist((0, "No"), (1, "Yes")),
        ),
        Field(SLA_FIELD, _PICK),
        Field("contractPeriodType", _PICK, read_only_after_create=True, picklist=PERIOD_TYPES),
        Field("contractCategory", _INT),
        Field("description", _STR, length=2000),
        Field("purchaseOrderNumber", _STR, length=50),
        _ro("lastModifiedDateTime"),
    ),
    can_create=True,
    can_update=True,
    allows_udfs=True,
    modified_field="lastModifiedDateTime",
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
        _ro("markupRate", _DEC),
        Field("billingCodeID", _INT, required=True, reference="BillingCodes"),
        Field("periodType", _PICK, required=True, read_only_after_create=True, picklist=PERIOD_TYPES),
        Field("isActive", _BOOL, default=True),
        Field(SLA_FIELD, _PICK),
        Field("sku", _STR, length=50),
        Field("vendorCompanyID", _INT, reference="Companies"),
        _ro("createDate"),
        _ro("lastModifiedDate"),
    ),
    can_create=True,
    can_update=True,
    allows_udfs=True,
    modified_field="lastModifiedDate",
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
        Field("msrp", _DEC),
        _ro("markupRate", _DEC),
        Field("productBillingCodeID", _INT, required=True, reference="BillingCodes"),
        Field("periodType", _PICK, picklist=PERIOD_TYPES),
        Field("isActive", _BOOL, required=True),
        Field("isSerialized", _BOOL, required=True),
        Field("sku", _STR, length=50),
        Field("manufacturerName", _STR, length=100),
        Field(
            "billingType",
            _PICK,
            read_only=True,
            default=1,
            picklist=_picklist((1, "Standard"), (2, "Per Contact"), (3, "Per Asset"), default=1),
        ),
        _ro("createdTime"),
    ),
    can_create=True,
    can_update=True,
    allows_udfs=True,
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
        Field("invoiceDescription", _STR, length=1000),
        Field("internalDescription", _STR, read_only_after_create=True, length=100),
        _ro("internalCurrencyUnitPrice", _DEC),
        _ro("internalCurrencyAdjustedPrice", _DEC),
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
        Field("contractID", _INT, reference="Contracts"),
        Field("contractServiceID", _INT, reference="ContractServices"),
        Field("serviceID", _INT, reference="Services"),
        Field("effectiveDate", _DT, required=True),
        Field("unitChange", _INT),
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
        _ro("contractID", _INT, reference="Contracts"),
        _ro("contractServiceID", _INT, reference="ContractServices"),
        _ro("serviceID", _INT, reference="Services"),
        _ro("startDate"),
        _ro("endDate"),
        _ro("units", _INT),
        _ro("price", _DEC),
        _ro("cost", _DEC),
        _ro("internalCurrencyPrice", _DEC),
        _ro("approveAndPostDate"),
    ),
    parent="Contracts",
    child_path="ServiceUnits",
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
            required=True,
            picklist=_picklist((1, "Operational"), (2, "Capitalized")),
        ),
        Field(
            "status",
            _PICK,
            read_only=True,
            default=1,
            picklist=_picklist(
                (1, "Pending"),
                (2, "Waiting Approval"),
                (3, "Need to Order/Fulfill"),
                (4, "On Order"),
                (5, "Ready to Deliver/Ship"),
                (6, "Delivered/Shipped Full"),
                (7, "Canceled"),
                default=1,
            ),
        ),
        Field("isBillableToCompany", _BOOL),
        _ro("isBilled", _BOOL, default=False),
        Field("purchaseOrderNumber", _STR, length=50),
        Field("internalPurchaseOrderNumber", _STR, length=50),
        Field("notes", _STR, length=2000),
        _ro("billableAmount", _DEC),
        _ro("extendedCost", _DEC),
        _ro("createDate"),
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
