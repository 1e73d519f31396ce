"""Settings: the ids and choices every rule needs (DOMAIN D4, D5, D13, D14, D21).

Loaded from ``rules/settings.yaml`` (or inline in ``billsync.yaml``). Errors name the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from engine.errors import RuleError
from engine.source import RECORD_TYPE_SETTING
from engine.template_limits import TemplateLimits
from engine.yamlfile import LocatedDict, load_yaml

DEFAULT_VARS: dict[str, Any] = {"contract_prefix": ""}
"""The ``vars`` the shipped rules use, as the shipped ``settings.yaml`` sets them: settings given inline in
``billsync.yaml``, or a settings file without them, get the same values."""


class RecordTypeSwitches(BaseModel):
    """Which Cloudmore record types are synced (D5); a type that is off renders nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def enabled(self, name: str) -> bool:
        return bool(getattr(self, name, False))


if TYPE_CHECKING:

    class RecordTypes(RecordTypeSwitches):
        """One ``bool`` per record type (built below; what a type checker sees)."""

else:
    RecordTypes = create_model(
        "RecordTypes",
        __base__=RecordTypeSwitches,
        __doc__=RecordTypeSwitches.__doc__,
        __module__=__name__,
        **{name: (bool, True) for name in RECORD_TYPE_SETTING.values()},
    )
    """One switch per :data:`~engine.source.RECORD_TYPE_SETTING` name, each on by default."""


class Settings(BaseModel):
    """Validated settings; see ``rules/settings.yaml`` for each key's meaning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field(pattern=r"^[A-Z]{3}$")
    sla_id: int
    service_billing_code_id: int
    product_billing_code_id: int
    record_types: RecordTypes = RecordTypes()
    contract_type: int = 7
    contract_status: int = 1
    contract_period_type: int = 1
    service_period_type: int = 1
    product_period_type: int = 1
    time_reporting_requires_start_and_stop_times: int = 0
    """Contracts: required on create by Autotask; policy, not data (picklist value, tenant-specific)."""
    charge_type: int = 1
    """ContractCharges ``chargeType``: required on create (Operational on the sandbox)."""
    product_is_serialized: bool = False
    """Products ``isSerialized``: required on create; cloud products are not serialized."""
    ongoing_contract_years: int = Field(default=10, ge=1, le=100)
    removal_policy: Literal["keep", "end"] = "keep"
    rounding: Literal["charge", "none"] = "charge"
    companies: dict[str, int] = Field(default_factory=dict)
    """Organization ID → Autotask company id, overriding ``AutotaskCompanyID`` (D1)."""
    adopt: dict[str, list[str]] = Field(default_factory=dict)
    """Adoption rules (D3): kind → fields that must all match, e.g. ``contract: [companyID, contractName]``.
    An existing object without a billsync marker that matches exactly one desired resource is shown
    as ``adopt`` in the plan and taken under management on apply."""
    limits: TemplateLimits = TemplateLimits()
    """What one template expression may cost to render (time, output length, loop iterations)."""
    vars: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_VARS))
    """Free values for templates (``settings.vars.x``), e.g. name prefixes; :data:`DEFAULT_VARS` underneath."""

    @field_validator("vars", mode="after")
    @classmethod
    def _with_default_vars(cls, value: dict[str, Any]) -> dict[str, Any]:
        return {**DEFAULT_VARS, **value}


def parse_settings(data: Any, file: str) -> Settings:
    """Validate a settings mapping; the first problem becomes a located :class:`RuleError`."""
    if not isinstance(data, dict):
        raise RuleError("settings must be a mapping of keys to values", file=file, line=1)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        line = _line_for(data, loc)
        field = ".".join(loc) or "settings"
        raise RuleError(
            f"setting {field!r}: {err['msg']}",
            file=file,
            line=line,
            hint="Fix the value in the settings file (see the comments in the shipped rules/settings.yaml).",
        ) from None


def load_settings(path: Path, display: str | None = None) -> Settings:
    name = display or str(path)
    return parse_settings(load_yaml(path, name), name)


def _line_for(data: Any, loc: list[str]) -> int | None:
    node: Any = data
    line: int | None = getattr(data, "line", None)
    for part in loc:
        if isinstance(node, LocatedDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        else:
            break
    return line
