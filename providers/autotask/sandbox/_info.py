"""``entityInformation`` answers, built from the entity table.

Picklist values are returned as strings (``"7"``), as Autotask does (A8). ``isReadOnly`` is true for
fields that can never be written *and* for fields set on create and immutable afterwards (Autotask
reports those ``isRequired`` + ``isReadOnly``, e.g. Services ``periodType``). Entities are the
tenant's views, so the SLA picklist and the UDFs are the tenant's.
"""

from __future__ import annotations

from typing import Any

from providers.autotask.entities import Entity, Field, FieldType, UserDefinedField


def entity_information(entity: Entity) -> dict[str, Any]:
    """``GET /{E}/entityInformation``."""
    return {
        "info": {
            "name": entity.name,
            "canCreate": entity.can_create,
            "canDelete": False,
            "canQuery": entity.can_query,
            "canUpdate": entity.can_update,
            "hasUserDefinedFields": entity.allows_udfs,
            "supportsWebhookCallouts": False,
            "userAccessForCreate": "All" if entity.can_create else "None",
            "userAccessForDelete": "None",
            "userAccessForQuery": "All" if entity.can_query else "None",
            "userAccessForUpdate": "All" if entity.can_update else "None",
        }
    }


def field_information(entity: Entity) -> dict[str, Any]:
    """``GET /{E}/entityInformation/fields``."""
    return {"fields": [_field(field) for field in entity.fields]}


def udf_information(entity: Entity) -> dict[str, Any]:
    """``GET /{E}/entityInformation/userDefinedFields``."""
    return {"fields": [_udf(udf) for udf in entity.udfs]}


def _field(field: Field) -> dict[str, Any]:
    data_type = FieldType.INTEGER.value if field.is_picklist else field.type.value
    return {
        "name": field.name,
        "dataType": data_type,
        "length": field.length or 0,
        "isRequired": field.required,
        "isReadOnly": field.read_only or field.read_only_after_create,
        "isQueryable": True,
        "isReference": field.reference is not None,
        "referenceEntityType": field.reference or "",
        "isPickList": field.is_picklist,
        "picklistValues": [
            {
                "value": str(entry.value),
                "label": entry.label,
                "isActive": entry.is_active,
                "isDefaultValue": entry.is_default,
                "sortOrder": index,
                "parentValue": "",
                "isSystem": False,
            }
            for index, entry in enumerate(field.picklist)
        ]
        if field.is_picklist
        else None,
        "picklistParentValueField": "",
        "isSupportedWebhookField": False,
    }


def _udf(udf: UserDefinedField) -> dict[str, Any]:
    return {
        "name": udf.name,
        "label": udf.name,
        "type": "string",
        "description": "",
        "defaultValue": None,
        "dataType": "string",
        "length": udf.length,
        "isRequired": False,
        "isReadOnly": False,
        "isQueryable": True,
        "isReference": False,
        "referenceEntityType": "",
        "isPickList": False,
        "picklistValues": None,
    }
