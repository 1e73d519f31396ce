"""The settings block ``billsync doctor`` prints from a tenant's choices, and ``--write`` into ``settings.yaml``.

Each id setting is shown with every valid choice by name (the SLA picklist, the billing codes of the
right use type, the contract, charge and period type picklists). The value kept is the current one
when it is valid, else the one billsync needs by its label (Recurring Service, In Effect, Monthly),
else the tenant's default, else the first one: ``--write`` never invents an id the tenant does not
have. The file is edited with ruamel.yaml's round trip, so
its comments, order and every other key stay as they were.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from engine.errors import ConfigError
from providers.autotask.doctor import clean
from providers.autotask.metadata import (
    PICKLIST_SETTINGS,
    SLA_FIELD,
    PicklistValue,
    TenantMetadata,
    material_use_types,
    service_use_types,
)

__all__ = ["Choice", "build_choices", "billing_code_lines", "render_block", "write_settings"]


@dataclass(frozen=True)
class Choice:
    """One settings key, its valid values with names, and the value the block proposes."""

    key: str
    title: str
    options: tuple[tuple[int, str], ...]
    value: int | None
    settable: bool = True
    """False when the settings model has no such key yet: the choices are shown as a comment only."""

    def label(self) -> str:
        return next((label for value, label in self.options if value == self.value), "")


def build_choices(meta: TenantMetadata, current: Any, keys: Iterable[str]) -> list[Choice]:
    """The tenant's choices for every id setting; ``current`` is the loaded settings (or None), ``keys``
    the settings model's keys."""
    known = set(keys)
    choices = [_picklist_choice(meta, current, "sla_id", "Service Level Agreement", *SLA_FIELD, known)]
    codes = meta.billing_codes()
    use_types = {entry.value: entry.label for entry in meta.picklist("BillingCodes", "useType")}
    for key, title, allowed in (
        ("service_billing_code_id", "Recurring Contract Service billing code", service_use_types()),
        ("product_billing_code_id", "Material (product) billing code", material_use_types(use_types)),
    ):
        options = tuple(
            (c.id, c.name)
            for c in sorted(codes.values(), key=lambda c: c.id)
            if c.is_active and c.use_type in allowed
        )
        choices.append(
            Choice(key, title, options, _pick(options, _current(current, key), None), key in known)
        )
    for key, (entity, field) in PICKLIST_SETTINGS.items():
        if key in known or key in _SHOWN_ANYWAY:
            choices.append(_picklist_choice(meta, current, key, f"{entity}.{field}", entity, field, known))
    return choices


_SHOWN_ANYWAY = {"charge_type", "time_reporting_requires_start_and_stop_times"}
"""Policy values a create needs; shown even before the settings model has a key for them."""


def billing_code_lines(meta: TenantMetadata) -> list[str]:
    """``useType 5 (Recurring Contract Service Code): 2001 Cloud services, …`` for every use type in use."""
    labels = {entry.value: entry.label for entry in meta.picklist("BillingCodes", "useType")}
    by_type: dict[int | None, list[str]] = {}
    for code in sorted(meta.billing_codes().values(), key=lambda c: c.id):
        if code.is_active:
            by_type.setdefault(code.use_type, []).append(f"{code.id} {code.name}")
    lines = []
    for use_type in sorted(by_type, key=lambda t: (t is None, t or 0)):
        label = labels.get(use_type, "") if use_type is not None else "no use type"
        lines.append(f"useType {use_type} ({label}): {', '.join(by_type[use_type])}")
    return [clean(line) for line in lines]


def render_block(choices: list[Choice], codes: list[str]) -> str:
    """The YAML block: a comment with the choices above each key, commented out when not settable."""
    out = ["# Tenant choices found by `billsync doctor`.", "# Active billing codes by use type:"]
    out += [f"#   {line}" for line in codes]
    for choice in choices:
        listed = ", ".join(f"{value} {label}".strip() for value, label in choice.options) or "none"
        out.append(f"# {choice.title}: {clean(listed)}")
        if choice.value is None:
            out.append(f"# {choice.key}: (no valid choice on this tenant)")
            continue
        line = f"{choice.key}: {choice.value}"
        if choice.label():
            line += f"  # {clean(choice.label())}"
        out.append(line if choice.settable else f"# {line}  (not a billsync setting yet)")
    return "\n".join(out) + "\n"


def write_settings(path: Path, choices: list[Choice]) -> list[str]:
    """Set each settable choice in the YAML file at ``path``; return the keys whose value changed.

    Everything else in the file (comments, order, other keys) is kept. The file is replaced only
    when something changed, and never when it does not hold a mapping.
    """
    yaml = YAML()  # round-trip mode
    yaml.preserve_quotes = True
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    data = yaml.load(text) if text.strip() else CommentedMap()
    if not isinstance(data, CommentedMap):
        raise ConfigError(f"{path} does not hold a mapping of settings; nothing was written")
    changed = []
    for choice in choices:
        if not choice.settable or choice.value is None:
            continue
        if data.get(choice.key) == choice.value and not isinstance(data.get(choice.key), bool):
            continue
        if choice.key in data:
            data[choice.key] = choice.value
            _relabel(data, choice.key, choice.label())
        else:
            data[choice.key] = choice.value
            if choice.label():
                data.yaml_add_eol_comment(f"# {clean(choice.label())}", choice.key)
        changed.append(choice.key)
    if changed:
        buffer = io.StringIO()
        yaml.dump(data, buffer)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    return changed


def _relabel(data: CommentedMap, key: str, label: str) -> None:
    """Replace the end-of-line comment of ``key`` (the old value's name) by ``label``.

    ruamel keeps the comment lines *below* an entry in the same token as its end-of-line comment, so
    only the token's first line is changed; a line without a comment is left without one.
    """
    token = data.ca.items.get(key, [None, None, None, None])[2]
    if token is None or not label:
        return
    first, newline, rest = token.value.partition("\n")
    if first.strip().startswith("#"):  # the token keeps its column, so the comment stays aligned
        token.value = f"# {clean(label)}{newline}{rest}"


def _picklist_choice(
    meta: TenantMetadata, current: Any, key: str, title: str, entity: str, field: str, known: set[str]
) -> Choice:
    entries = [entry for entry in meta.picklist(entity, field) if entry.is_active]
    options = tuple((entry.value, entry.label) for entry in entries)
    fallback = _preferred(key, entries) or _default(entries)
    return Choice(key, title, options, _pick(options, _current(current, key), fallback), key in known)


_PREFERRED = {
    "contract_type": "recurring service",
    "contract_status": "in effect",
    "contract_period_type": "monthly",
    "service_period_type": "monthly",
    "product_period_type": "monthly",
}
"""The label billsync needs where a setting is invalid (values are tenant-specific, labels are not)."""


def _preferred(key: str, entries: list[PicklistValue]) -> int | None:
    wanted = _PREFERRED.get(key)
    return next((entry.value for entry in entries if entry.label.strip().lower() == wanted), None)


def _default(entries: list[PicklistValue]) -> int | None:
    return next((entry.value for entry in entries if entry.is_default), None)


def _current(settings: Any, key: str) -> int | None:
    value = getattr(settings, key, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pick(options: tuple[tuple[int, str], ...], current: int | None, default: int | None) -> int | None:
    values = [value for value, _label in options]
    for candidate in (current, default):
        if candidate is not None and candidate in values:
            return candidate
    return values[0] if values else None
