"""What this Autotask tenant says about itself: entities, fields, picklists and user-defined fields.

Picklist values, required fields and UDFs differ between Autotask tenants (API-FACTS A8, A11), so
billsync reads them from ``entityInformation``, ``entityInformation/fields`` and
``entityInformation/userDefinedFields`` instead of trusting its own table. :class:`TenantMetadata`
asks each question lazily, once per entity and kind, and keeps the answer for the run (it is
shared by the threads of a plan). :func:`check_settings` is the one place settings are held
against the tenant: ``doctor``, ``validate`` and ``plan`` all call it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from providers.autotask import paths
from providers.autotask.client import AutotaskClient
from providers.autotask.entities import USE_TYPE_MATERIAL, USE_TYPE_RECURRING_SERVICE
from providers.autotask.errors import AutotaskError

__all__ = [
    "PICKLIST_SETTINGS",
    "BillingCode",
    "EntityInfo",
    "FieldInfo",
    "PicklistValue",
    "Problem",
    "TenantMetadata",
    "UdfInfo",
    "check_settings",
    "describe_choices",
    "shown",
]

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)

SLA_FIELD = ("Contracts", "serviceLevelAgreementID")
"""SLAs have no REST entity: their ids and names are this field's picklist (API-FACTS A9.9)."""

PICKLIST_SETTINGS: dict[str, tuple[str, str]] = {
    "contract_type": ("Contracts", "contractType"),
    "contract_status": ("Contracts", "status"),
    "contract_period_type": ("Contracts", "contractPeriodType"),
    "service_period_type": ("Services", "periodType"),
    "product_period_type": ("Products", "periodType"),
    "time_reporting_requires_start_and_stop_times": ("Contracts", "timeReportingRequiresStartAndStopTimes"),
    "charge_type": ("ContractCharges", "chargeType"),
    "charge_status": ("ContractCharges", "status"),
}
"""Integer settings that must be a value of a tenant picklist; a setting absent from the model is skipped."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters (terminal escapes, newlines) a hostile name could carry into a message."""

_MATERIAL_LABEL_WORDS = ("material", "product")
"""A product code's ``useType`` label names one of these (the numbers are tenant-specific, A11)."""


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class PicklistValue(_Wire):
    """One value of a picklist; Autotask sends ``value`` as a string even for integer fields (A8)."""

    value: int
    label: str = ""
    is_active: bool = Field(default=True, validation_alias="isActive")
    is_default: bool = Field(default=False, validation_alias="isDefaultValue")

    @field_validator("value", mode="before")
    @classmethod
    def _integer(cls, value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError("a picklist value is not a boolean")
        return int(str(value).strip())


class FieldInfo(_Wire):
    """One field as ``entityInformation/fields`` describes it."""

    name: str
    data_type: str = Field(default="", validation_alias="dataType")
    length: int | None = None
    is_required: bool = Field(default=False, validation_alias="isRequired")
    is_read_only: bool = Field(default=False, validation_alias="isReadOnly")
    is_queryable: bool = Field(default=True, validation_alias="isQueryable")
    is_reference: bool = Field(default=False, validation_alias="isReference")
    reference_entity: str | None = Field(default=None, validation_alias="referenceEntityType")
    is_picklist: bool = Field(default=False, validation_alias="isPickList")
    picklist_values: tuple[PicklistValue, ...] = Field(default=(), validation_alias="picklistValues")

    @field_validator("picklist_values", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        """``null`` for plain fields; entries whose value is not an integer (SOAP-era codes) are left out."""
        if value is None:
            return ()
        if not isinstance(value, list):
            raise ValueError("picklistValues is not a list")
        kept = []
        for entry in value:
            try:
                kept.append(PicklistValue.model_validate(entry))
            except ValidationError:
                continue
        return tuple(kept)

    def picklist_value(self, value: int) -> PicklistValue | None:
        """The entry for ``value``, or None when the picklist has no such value."""
        return next((entry for entry in self.picklist_values if entry.value == value), None)


class UdfInfo(_Wire):
    """One user-defined field as ``entityInformation/userDefinedFields`` describes it."""

    name: str
    label: str | None = None
    type: str | None = Field(default=None, validation_alias=AliasChoices("type", "dataType"))
    length: int | None = None
    is_required: bool = Field(default=False, validation_alias="isRequired")
    is_read_only: bool = Field(default=False, validation_alias="isReadOnly")
    is_queryable: bool = Field(default=True, validation_alias="isQueryable")


class EntityInfo(_Wire):
    """``entityInformation``'s ``info``: what the API allows on an entity (the user's access is kept raw)."""

    name: str
    can_create: bool = Field(default=False, validation_alias="canCreate")
    can_update: bool = Field(default=False, validation_alias="canUpdate")
    can_delete: bool = Field(default=False, validation_alias="canDelete")
    can_query: bool = Field(default=False, validation_alias="canQuery")
    has_user_defined_fields: bool = Field(default=False, validation_alias="hasUserDefinedFields")
    user_access_for_create: Any = Field(default=None, validation_alias="userAccessForCreate")
    user_access_for_query: Any = Field(default=None, validation_alias="userAccessForQuery")
    user_access_for_update: Any = Field(default=None, validation_alias="userAccessForUpdate")


class BillingCode(_Wire):
    """One row of ``BillingCodes`` (query-only in Autotask)."""

    id: int
    name: str = ""
    is_active: bool = Field(default=False, validation_alias="isActive")
    use_type: int | None = Field(default=None, validation_alias="useType")


@dataclass(frozen=True)
class Problem:
    """One reason the tenant or the settings are not ready; ``str()`` is the line shown to the user."""

    message: str
    setting: str | None = None
    """The settings key to change, when the fix is a setting."""

    def __str__(self) -> str:
        return self.message


class TenantMetadata:
    """A tenant's metadata, read through ``client`` on first use and kept for the run.

    Each (entity, kind) is fetched at most once, even when several threads ask at the same time.
    A failed read is not kept, so the next question asks again. Errors are the client's
    :class:`~providers.autotask.errors.AutotaskError` (an entity unknown to the tenant is usually
    :class:`~providers.autotask.errors.AutotaskNotFound`).
    """

    def __init__(self, client: AutotaskClient) -> None:
        self._client = client
        self._cache: dict[tuple[str, str], Any] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def info(self, entity: str) -> EntityInfo:
        """``GET /{entity}/entityInformation``."""
        path = _info_path(entity)
        return self._once(entity, "info", lambda: _entity_info(self._get(entity, path), path))

    def fields(self, entity: str) -> dict[str, FieldInfo]:
        """Every field of ``entity`` by lower-case name (Autotask matches names case-insensitively)."""
        path = paths.fields_path(entity)
        return self._once(entity, "fields", lambda: _fields(self._get(entity, path), path))

    def field(self, entity: str, name: str) -> FieldInfo | None:
        """The field ``name`` of ``entity``, or None when this tenant has no such field."""
        return self.fields(entity).get(name.lower())

    def picklist(self, entity: str, field: str) -> tuple[PicklistValue, ...]:
        """The picklist values of ``entity.field`` (empty for a plain field or an unknown one)."""
        found = self.field(entity, field)
        return found.picklist_values if found else ()

    def required_on_create(self, entity: str) -> list[str]:
        """Names of the fields a create must send (``id`` is reported required but is Autotask's to set)."""
        return [f.name for f in self.fields(entity).values() if f.is_required and f.name.lower() != "id"]

    def udfs(self, entity: str) -> list[UdfInfo]:
        """``GET /{entity}/entityInformation/userDefinedFields``."""
        path = _udf_path(entity)
        return self._once(entity, "udfs", lambda: _udfs(self._get(entity, path), path))

    def udf_names(self, entity: str) -> list[str]:
        """The names of ``entity``'s user-defined fields on this tenant."""
        return [udf.name for udf in self.udfs(entity)]

    def billing_codes(self) -> dict[int, BillingCode]:
        """Every billing code by id, read with one ``BillingCodes`` query."""
        return self._once("BillingCodes", "rows", self._read_billing_codes)

    def _read_billing_codes(self) -> dict[int, BillingCode]:
        rows = self._client.query("BillingCodes", include_fields=["name", "isActive", "useType"])
        codes = (_validated(BillingCode, row, paths.query_path("BillingCodes")) for row in rows)
        return {code.id: code for code in codes}

    def _get(self, entity: str, path: str) -> dict[str, Any]:
        """One metadata GET through the client (auth, thread limit, retries, error mapping, statistics).

        The client has a public method for ``fields`` only; the three metadata reads share its plumbing.
        """
        client = self._client
        return client._read("GET", entity, client._url(path))

    def _once(self, entity: str, kind: str, load: Callable[[], _T]) -> _T:
        key = (entity.lower(), kind)
        with self._guard:
            if key in self._cache:
                return self._cache[key]  # type: ignore[no-any-return]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._cache:
                    return self._cache[key]  # type: ignore[no-any-return]
            value = load()
            with self._guard:
                self._cache[key] = value
            return value


def check_settings(meta: TenantMetadata, settings: Any) -> list[Problem]:
    """Every way ``settings`` does not fit this tenant; each message lists the valid choices by name.

    Checks the SLA (an active value of ``Contracts.serviceLevelAgreementID``), the service billing code
    (exists, active, Recurring Contract Service use type), the product billing code (exists, active,
    a material/product use type) and each integer setting of :data:`PICKLIST_SETTINGS` the settings
    model has. ``settings`` is :class:`engine.settings.Settings` (typed loosely so new policy
    settings are picked up as they are added).
    """
    problems: list[Problem] = []
    problems += _check_picklist(meta, "sla_id", settings.sla_id, *SLA_FIELD, what="Service Level Agreement")
    for name, (entity, field) in PICKLIST_SETTINGS.items():
        value = getattr(settings, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            problems += _check_picklist(meta, name, value, entity, field, what=f"{entity}.{field} value")
    codes = meta.billing_codes()
    use_types = {entry.value: entry.label for entry in meta.picklist("BillingCodes", "useType")}
    problems += _check_code(
        "service_billing_code_id",
        settings.service_billing_code_id,
        codes,
        service_use_types(),
        use_types,
        "a Recurring Contract Service code",
    )
    problems += _check_code(
        "product_billing_code_id",
        settings.product_billing_code_id,
        codes,
        material_use_types(use_types),
        use_types,
        "a material (product) code",
    )
    return problems


def service_use_types() -> frozenset[int]:
    """``useType`` values a recurring service's billing code may have (5 per a live capture, A9.10)."""
    return frozenset({USE_TYPE_RECURRING_SERVICE})


def material_use_types(labels: dict[int, str]) -> frozenset[int]:
    """``useType`` values of material/product codes: by the tenant's labels, else the table's number."""
    by_label = {value for value, label in labels.items() if _is_material_label(label)}
    return frozenset(by_label or {USE_TYPE_MATERIAL})


def describe_choices(entries: Iterable[tuple[int, str]]) -> str:
    """``1 (Standard), 2 (Premium)``: the valid choices as an error message lists them."""
    listed = [f"{value} ({shown(label)})" if label else str(value) for value, label in entries]
    return ", ".join(listed) if listed else "none"


def shown(name: str, limit: int = 80) -> str:
    """A tenant-supplied name fit for one line of a message: no control characters, at most ``limit`` long."""
    flat = _CONTROL.sub(" ", name)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _check_picklist(
    meta: TenantMetadata, setting: str, value: int, entity: str, field: str, *, what: str
) -> list[Problem]:
    info = meta.field(entity, field)
    if info is None:
        return [Problem(f"{setting} {value}: this tenant has no field {entity}.{field}", setting)]
    if not info.picklist_values:
        return [
            Problem(f"{setting} {value}: {entity}.{field} has no picklist values on this tenant", setting)
        ]
    active = [(entry.value, entry.label) for entry in info.picklist_values if entry.is_active]
    entry = info.picklist_value(value)
    choices = f"valid choices: {describe_choices(active)}"
    if entry is None:
        return [Problem(f"{setting} {value}: no such {what} on this tenant; {choices}", setting)]
    if not entry.is_active:
        return [
            Problem(f"{setting} {value}: the {what} '{shown(entry.label)}' is inactive; {choices}", setting)
        ]
    return []


def _check_code(
    setting: str,
    code_id: int,
    codes: dict[int, BillingCode],
    allowed: frozenset[int],
    use_types: dict[int, str],
    kind: str,
) -> list[Problem]:
    fitting = sorted((c for c in codes.values() if c.is_active and c.use_type in allowed), key=lambda c: c.id)
    choices = f"valid choices: {describe_choices((c.id, c.name) for c in fitting)}"
    code = codes.get(code_id)
    if code is None:
        return [Problem(f"{setting} {code_id}: no such billing code; {choices}", setting)]
    if not code.is_active:
        return [
            Problem(
                f"{setting} {code_id}: the billing code '{shown(code.name)}' is inactive; {choices}", setting
            )
        ]
    if code.use_type not in allowed:
        actual = _use_type_text(code.use_type, use_types)
        return [
            Problem(
                f"{setting} {code_id}: the billing code '{shown(code.name)}' has use type {actual}, "
                f"not {kind}; {choices}",
                setting,
            )
        ]
    return []


def _use_type_text(use_type: int | None, labels: dict[int, str]) -> str:
    if use_type is None:
        return "(none)"
    label = labels.get(use_type)
    return f"{use_type} ({label})" if label else str(use_type)


def _is_material_label(label: str) -> bool:
    lowered = label.lower()
    return any(word in lowered for word in _MATERIAL_LABEL_WORDS)


def _info_path(entity: str) -> str:
    return paths.fields_path(entity).removesuffix("/fields")


def _udf_path(entity: str) -> str:
    return _info_path(entity) + "/userDefinedFields"


def _entity_info(payload: dict[str, Any], path: str) -> EntityInfo:
    info = payload.get("info")
    return _validated(EntityInfo, info if isinstance(info, dict) else payload, path)


def _fields(payload: dict[str, Any], path: str) -> dict[str, FieldInfo]:
    fields = (_validated(FieldInfo, row, path) for row in _rows(payload, path))
    return {field.name.lower(): field for field in fields}


def _udfs(payload: dict[str, Any], path: str) -> list[UdfInfo]:
    return [_validated(UdfInfo, row, path) for row in _rows(payload, path)]


def _rows(payload: dict[str, Any], path: str) -> Sequence[dict[str, Any]]:
    rows = payload.get("fields")
    if not isinstance(rows, list):
        raise AutotaskError(f"Autotask's answer to GET {path} has no 'fields' list.", method="GET", path=path)
    return [row for row in rows if isinstance(row, dict)]


def _validated(model: type[_M], data: Any, path: str) -> _M:
    """``data`` as ``model``; a shape Autotask should not send becomes an :class:`AutotaskError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"]) or "(root)"
        raise AutotaskError(
            f"Autotask's answer to {path} is not as expected at {location}: {first['msg']}",
            method="GET",
            path=path,
        ) from None
