"""The kinds and the entity table cannot disagree: every fact about a field comes from the table."""

from __future__ import annotations

from dataclasses import replace

import pytest

from providers.autotask.entities import (
    CONTRACT_SERVICE_UNITS,
    CONTRACTS,
    ENTITIES,
    PRODUCTS,
    Field,
    FieldType,
)
from providers.autotask.kinds import (
    CREATE_POLICY,
    KINDS,
    MARKER_FIELD,
    MARKER_PREFIX,
    READ_FROM,
    SUBSCRIPTION_UDF,
    derive_kind,
)

_ENGINE_TYPE = {
    FieldType.INTEGER: "int",
    FieldType.PICKLIST: "int",
    FieldType.STRING: "str",
    FieldType.DECIMAL: "decimal",
    FieldType.BOOLEAN: "bool",
    FieldType.DATETIME: "date",
}


def _table_field(kind: str, name: str) -> Field:
    """The entity-table field a kind's managed field is read from."""
    entity, names = READ_FROM.get(kind, (ENTITIES[KINDS[kind].entity], {}))
    found = entity.field(names.get(name, name))
    assert found is not None, f"{kind}.{name} is not in the entity table"
    return found


def test_every_managed_field_reference_and_payload_field_is_writable_in_the_entity_table() -> None:
    for name, spec in KINDS.items():
        entity = ENTITIES[spec.entity]
        assert entity.can_create, name
        written = spec.payload_fields if name in READ_FROM else spec.fields
        for field_name in [*written, *spec.refs]:
            found = entity.field(field_name)
            assert found is not None and not found.read_only, f"{name}.{field_name}"


def test_field_types_and_lengths_are_the_entity_tables() -> None:
    for name, spec in KINDS.items():
        for field_name, ftype in spec.fields.items():
            found = _table_field(name, field_name)
            assert ftype == _ENGINE_TYPE[found.type], f"{name}.{field_name}"
            if ftype == "str" and name not in READ_FROM:
                assert spec.lengths.get(field_name) == found.length, f"{name}.{field_name}"
        for field_name, ftype in spec.payload_fields.items():
            found = ENTITIES[spec.entity].field(field_name)
            assert found is not None and ftype == _ENGINE_TYPE[found.type], f"{name}.{field_name}"


def test_immutable_fields_are_exactly_the_entity_tables_create_only_fields() -> None:
    for name, spec in KINDS.items():
        if name in READ_FROM:
            continue  # its state changes by creating another adjustment, never by an update
        create_only = {f for f in spec.fields if _table_field(name, f).read_only_after_create}
        assert spec.immutable == create_only, name
    assert KINDS["contract"].immutable == {"companyID", "contractType", "contractPeriodType"}
    assert KINDS["service"].immutable == {"periodType"}
    assert KINDS["contract_service"].immutable == {"unitPrice", "unitCost"}
    assert KINDS["product"].immutable == KINDS["charge"].immutable == KINDS["adjustment"].immutable == set()


def test_a_kind_follows_a_change_of_the_entity_table() -> None:
    """Marking a field create-only (or not) in the table is the whole change: the kind follows."""
    fixed_status = replace(
        CONTRACTS,
        fields=tuple(
            replace(f, read_only_after_create=f.name in ("status", "companyID")) for f in CONTRACTS.fields
        ),
    )
    spec = derive_kind(
        "contract", fixed_status, ("contractName", "status", "companyID", "contractType"), order=1
    )
    assert spec.immutable == {"status", "companyID"}
    assert spec.fields == {"contractName": "str", "status": "int", "companyID": "int", "contractType": "int"}
    assert spec.lengths == {"contractName": 100}


def test_a_read_only_or_unknown_field_cannot_be_managed() -> None:
    with pytest.raises(ValueError, match=r"Products\.billingType is read-only in the entity table"):
        derive_kind("product", PRODUCTS, ("name", "billingType"), order=0)
    with pytest.raises(ValueError, match=r"Products has no field 'colour' in the entity table"):
        derive_kind("product", PRODUCTS, ("colour",), order=0)
    with pytest.raises(ValueError, match=r"ContractServiceUnits\.units is read-only"):
        derive_kind("units", CONTRACT_SERVICE_UNITS, ("units",), order=3)


def test_adjustment_state_is_the_contract_service_units_row() -> None:
    entity, names = READ_FROM["adjustment"]
    assert entity is CONTRACT_SERVICE_UNITS
    assert names == {"effectiveDate": "startDate", "units": "units", "unitPrice": "price", "unitCost": "cost"}
    assert KINDS["adjustment"].fields == {
        "effectiveDate": "date",
        "units": "int",
        "unitPrice": "decimal",
        "unitCost": "decimal",
    }
    assert KINDS["adjustment"].payload_fields == {
        "unitChange": "int",
        "adjustedUnitPrice": "decimal",
        "adjustedUnitCost": "decimal",
        "effectiveDate": "date",
    }


def test_markers_live_in_writable_text_fields_and_the_contract_udf() -> None:
    for kind, field_name in MARKER_FIELD.items():
        found = ENTITIES[KINDS[kind].entity].field(field_name)
        assert found is not None and found.type is FieldType.STRING and not found.read_only, kind
        assert found.length is not None and found.length >= len(MARKER_PREFIX) + 36, kind
        assert field_name not in KINDS[kind].fields, kind  # written by the marker, never compared
    assert ENTITIES[KINDS["contract"].entity].allows_udfs
    assert SUBSCRIPTION_UDF == "Subscription ID"


def test_create_policy_fields_are_required_on_create_and_not_managed() -> None:
    for kind, fields in CREATE_POLICY.items():
        entity = ENTITIES[KINDS[kind].entity]
        for field_name in fields:
            found = entity.field(field_name)
            assert found is not None and found.required and not found.read_only, f"{kind}.{field_name}"
            assert field_name not in KINDS[kind].fields, f"{kind}.{field_name}"
