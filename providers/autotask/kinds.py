"""The resource kinds billsync manages in Autotask, and the identity marker each one carries (D24).

One table: what entity a kind is, which fields are managed, which fields are references, and where
the marker lives. A tenant difference (another marker field) is a one-line change here.

``immutable`` holds the fields Autotask lets a client set on create only (API-FACTS A9: a contract's
type, period type and company; a service's period type; everything of a contract service but its
invoice description). They are never written by an update; a plan warns when one of them differs.
Values Autotask requires on create that are policy rather than billing data (a contract's
``timeReportingRequiresStartAndStopTimes``, a charge's ``chargeType``, a product's ``isSerialized``)
are not managed fields: :data:`CREATE_POLICY` names the setting each one comes from.
"""

from __future__ import annotations

from dataclasses import replace

from engine.resources import KindSpec
from providers.autotask.entities import find_entity

__all__ = ["CREATE_POLICY", "KINDS", "MARKER_PREFIX", "SUBSCRIPTION_UDF", "marker_for", "key_from_marker"]

MARKER_PREFIX = "billsync:"
"""Services, products (``sku``) and charges (``purchaseOrderNumber``) carry ``billsync:<key>``."""
SUBSCRIPTION_UDF = "Subscription ID"
"""The contract user-defined field holding the Cloudmore subscription id (D12, D24)."""

KINDS: dict[str, KindSpec] = {
    "service": KindSpec(
        name="service",
        entity="Services",
        fields={
            "name": "str",
            "description": "str",
            "invoiceDescription": "str",
            "unitPrice": "decimal",
            "unitCost": "decimal",
            "billingCodeID": "int",
            "periodType": "int",
        },
        order=0,
        immutable=frozenset({"periodType"}),
        immutable_hint=(
            "Autotask fixes a service's period type when it is created; keep the old service_period_type, "
            "or deactivate the service in Autotask and let billsync create a new one"
        ),
        decimals={"unitPrice": 4, "unitCost": 4},
    ),
    "product": KindSpec(
        name="product",
        entity="Products",
        fields={
            "name": "str",
            "description": "str",
            "unitPrice": "decimal",
            "unitCost": "decimal",
            "productBillingCodeID": "int",
            "periodType": "int",
            "isActive": "bool",
        },
        order=0,
        decimals={"unitPrice": 4, "unitCost": 4},
    ),
    "contract": KindSpec(
        name="contract",
        entity="Contracts",
        fields={
            "contractName": "str",
            "description": "str",
            "companyID": "int",
            "contractType": "int",
            "status": "int",
            "contractPeriodType": "int",
            "startDate": "date",
            "endDate": "date",
            "serviceLevelAgreementID": "int",
        },
        order=1,
        orphanable=True,
        end_field="endDate",
        immutable=frozenset({"contractType", "contractPeriodType", "companyID"}),
        immutable_hint=(
            "Autotask fixes a contract's type, period type and company when it is created; keep the "
            "old setting, or end this contract (removal_policy: end) and bill a new subscription"
        ),
    ),
    "contract_service": KindSpec(
        name="contract_service",
        entity="ContractServices",
        fields={
            "invoiceDescription": "str",
            "unitPrice": "decimal",
            "unitCost": "decimal",
        },
        refs={"contractID": "contract", "serviceID": "service"},
        order=2,
        immutable=frozenset({"unitPrice", "unitCost"}),
        immutable_hint=(
            "a contract service's price is fixed when it is created; each month's price is billed by "
            "that month's service adjustment (adjustedUnitPrice), so nothing needs doing"
        ),
        decimals={"unitPrice": 4, "unitCost": 4},
    ),
    "adjustment": KindSpec(
        name="adjustment",
        entity="ContractServiceAdjustments",
        read_from="ContractServiceUnits",  # create-only: a month's units are read from its row (A9.4)
        fields={"effectiveDate": "date", "units": "int", "unitPrice": "decimal", "unitCost": "decimal"},
        refs={"contractID": "contract", "serviceID": "service", "contractServiceID": "contract_service"},
        payload_fields={
            "unitChange": "int",
            "adjustedUnitPrice": "decimal",
            "adjustedUnitCost": "decimal",
            "effectiveDate": "date",
        },
        order=3,
        period_scoped=True,
        decimals={"unitPrice": 4, "unitCost": 4},
    ),
    "charge": KindSpec(
        name="charge",
        entity="ContractCharges",
        fields={
            "name": "str",
            "description": "str",
            "datePurchased": "date",
            "unitQuantity": "decimal",
            "unitPrice": "decimal",
            "unitCost": "decimal",
            "billingCodeID": "int",
            "isBillableToCompany": "bool",
        },
        refs={"contractID": "contract", "productID": "product"},
        order=3,
        period_scoped=True,
        decimals={"unitQuantity": 4, "unitPrice": 4, "unitCost": 4},
    ),
}


CREATE_POLICY: dict[str, dict[str, str]] = {
    "contract": {"timeReportingRequiresStartAndStopTimes": "time_reporting_requires_start_and_stop_times"},
    "charge": {"chargeType": "charge_type"},
    "product": {"isSerialized": "product_is_serialized"},
}
"""Kind → field sent on create → the setting its value comes from (required by Autotask, A9)."""


def _with_lengths(kinds: dict[str, KindSpec]) -> dict[str, KindSpec]:
    """Each kind with the length Autotask allows for each of its text fields (from the entity table)."""
    out = {}
    for name, spec in kinds.items():
        entity = find_entity(spec.entity)
        lengths = {}
        for field_name, ftype in spec.fields.items():
            found = entity.field(field_name) if entity is not None else None
            if ftype == "str" and found is not None and found.length is not None:
                lengths[field_name] = found.length
        out[name] = replace(spec, lengths=lengths)
    return out


KINDS = _with_lengths(KINDS)


def marker_for(key: tuple[str, ...]) -> str:
    """The marker written into a service, product or charge: ``billsync:`` + key parts joined by ``/``."""
    return MARKER_PREFIX + "/".join(key)


def key_from_marker(marker: str | None) -> tuple[str, ...] | None:
    if not marker or not marker.startswith(MARKER_PREFIX):
        return None
    return tuple(marker[len(MARKER_PREFIX) :].split("/"))
