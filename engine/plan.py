"""The plan: a frozen, versioned, JSON-serialisable list of typed changes.

Changes form a closed union (:data:`Change`); every consumer (the text view, the JSON view, the
apply executor) dispatches on the type and a test checks each covers the whole union. Building a
plan (:mod:`engine.diff`) has no side effects; ``apply FILE`` works from this JSON alone.

There is no "replace": Autotask fixes some fields on create (a contract's type, period type and
company; a service's period type; a contract service's price, API-FACTS A9) and lets billsync delete
none of its objects, while ending a contract and creating another would split a subscription's billing
history and put its identity marker on two contracts. So a changed create-only field is never written:
the plan leaves the object and warns (``immutable-field``), naming the field and what to do instead.

A saved plan is sealed: ``changes_digest`` is a SHA-256 of its changes' text and ``seal`` one of
everything else it records (the inputs, rules and snapshot it was made from, the target, the selection)
plus that digest. Reading a plan whose text no longer matches its seal is refused as edited; apply
also re-plans from the same inputs and refuses changes that are not the ones billsync plans.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any, Literal, TextIO, TypeAlias

from engine.diagnostics import Diagnostic
from engine.errors import PlanError, StalePlanError
from engine.jsontext import indented_json, json_string
from engine.resources import KindSpec, decode_attributes, encode_attributes
from engine.types import Address, Attributes, ProviderData

__all__ = [
    "FORMAT_VERSION",
    "Create",
    "Update",
    "Adopt",
    "Drift",
    "Orphan",
    "Change",
    "CHANGE_TYPES",
    "WRITES",
    "change_key",
    "Diagnostic",
    "DriftCheck",
    "PlannedPeriod",
    "Plan",
    "change_to_json",
    "change_from_json",
    "plan_to_dict",
    "changes_digest",
    "plan_to_json",
    "write_plan_json",
    "iter_plan_json",
    "plan_from_json",
    "check_seal",
    "check_same_changes",
]

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Create:
    """A new object. ``payload`` is the provider's own data for the write when it is not ``after``
    (:data:`~engine.types.ProviderData`: the engine carries, seals and shows it, never reads it)."""

    address: Address
    kind: str
    after: Attributes
    refs: dict[str, Address] = field(default_factory=dict)
    payload: ProviderData | None = None
    before: Attributes = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    period: str | None = None
    rule: str = ""
    reason: str = ""
    action: Literal["create"] = "create"


@dataclass(frozen=True, slots=True)
class Update:
    """Managed fields that differ between desired and actual; only ``after``'s fields are written."""

    address: Address
    kind: str
    target_id: int
    before: Attributes
    after: Attributes
    refs: dict[str, Address] = field(default_factory=dict)
    rule: str = ""
    reason: str = ""
    action: Literal["update"] = "update"


@dataclass(frozen=True, slots=True)
class Adopt:
    """An existing object found by its identity marker (or an adoption rule) taken under management."""

    address: Address
    kind: str
    target_id: int
    attributes: Attributes
    refs: dict[str, Address] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    period: str | None = None
    rule: str = ""
    reason: str = ""
    stamp_marker: bool = False
    """The object lacks billsync's identity marker: apply writes it (D24), one request."""
    carried_by: Address | None = None
    """A month that needs no write of its own: the change planned at this address (an earlier month
    of the same object) already puts its values in place. Apply records it under that change's id,
    once that change succeeded; ``target_id`` is 0 in the plan."""
    action: Literal["adopt"] = "adopt"


@dataclass(frozen=True, slots=True)
class Drift:
    """Fields changed in the target since the last apply (actual vs snapshot); reported, not written."""

    address: Address
    kind: str
    target_id: int
    before: Attributes
    after: Attributes
    reason: str = ""
    action: Literal["drift"] = "drift"


@dataclass(frozen=True, slots=True)
class Orphan:
    """A managed object whose source disappeared; the removal policy decides (never deleted)."""

    address: Address
    kind: str
    target_id: int
    policy: str
    reason: str = ""
    action: Literal["orphan"] = "orphan"


Change: TypeAlias = Create | Update | Adopt | Drift | Orphan
CHANGE_TYPES: tuple[type, ...] = (Create, Update, Adopt, Drift, Orphan)
WRITES = ("create", "update")
"""Actions that write to the target."""


def change_key(change: Change) -> tuple[str, Address]:
    """The compact form tests compare against: ``("create", 'contract["S-1"]')``."""
    return (change.action, change.address)


@dataclass(frozen=True)
class DriftCheck:
    """When ``billsync drift`` last ran (``last_ran`` a UTC day, None: never). Objects of past months
    are checked only by drift, so a plan says how old that check is."""

    last_ran: str | None

    def days_before(self, as_of: date) -> int | None:
        """Days from the drift run to the plan's date, or None when drift never ran."""
        if self.last_ran is None:
            return None
        return (as_of - date.fromisoformat(self.last_ran)).days


@dataclass(frozen=True)
class PlannedPeriod:
    period: str
    available_on: str
    revision_of: str | None = None
    applied: bool = False
    """This revision is already recorded as applied (a month planned again with ``--period``)."""


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    as_of: date
    periods: tuple[PlannedPeriod, ...] = ()
    snapshot_lineage: str = ""
    snapshot_serial: int = 0
    actual_fingerprint: str = ""
    objects: dict[str, str] = field(default_factory=dict)
    """Address → fingerprint of each target object a change touches, to name what went stale."""
    inputs_digest: str = ""
    rules_digest: str = ""
    target: str = ""
    source: str = ""
    """Where the Cloudmore data came from (a folder or an API URL), for the plan's header. Not saved:
    a plan file is the same whichever source gave the same data."""
    targeted: bool = False
    diagnostics: tuple[Diagnostic, ...] = ()
    period: str | None = None
    """The month asked for with ``--period``, so applying the saved plan re-plans the same selection."""
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    drift: DriftCheck | None = None
    """When ``drift`` last ran, as the workspace recorded it (None: not known to this plan)."""
    format_version: int = FORMAT_VERSION

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action for c in self.changes)
        return {
            "add": counts["create"],
            "change": counts["update"],
            "adopt": counts["adopt"],
            "drift": counts["drift"],
            "orphan": counts["orphan"],
            "destroy": 0,
        }

    @property
    def writes(self) -> int:
        return sum(1 for c in self.changes if c.action in WRITES or getattr(c, "stamp_marker", False))

    @property
    def has_changes(self) -> bool:
        return any(c.action in (*WRITES, "adopt") for c in self.changes) or (
            any(not p.applied for p in self.periods) and not self.targeted
        )


_ATTR_FIELDS = ("after", "before", "attributes", "payload")
_OMITTED_WHEN_NONE = frozenset({"carried_by"})
"""Optional fields left out of a change's JSON when unset, so older plans read and digest the same."""


def change_to_json(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in type(change).__dataclass_fields__:  # what fields() lists, without rebuilding it per change
        value = getattr(change, name)
        if name in _ATTR_FIELDS and value is not None:
            value = encode_attributes(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(sorted(value.items()))
        elif value is None and name in _OMITTED_WHEN_NONE:
            continue
        out[name] = value
    return out


def change_from_json(raw: Mapping[str, Any], kinds: Mapping[str, KindSpec]) -> Change:
    types = {t.__name__.lower(): t for t in CHANGE_TYPES}
    cls = types.get(str(raw.get("action")))
    if cls is None:
        raise PlanError(f"unknown change action {raw.get('action')!r} in plan file")
    spec = kinds.get(str(raw.get("kind")))
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        if f.name == "payload" and value is not None and spec is not None:
            value = decode_attributes(
                replace(spec, fields={**spec.fields, **spec.payload_fields}), dict(value)
            )
        elif f.name in _ATTR_FIELDS and value is not None:
            value = decode_attributes(spec, dict(value))
        values[f.name] = value
    change: Change = cls(**values)
    return change


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {**_plan_head(plan), "changes": [change_to_json(c) for c in plan.changes]}


def _plan_head(plan: Plan) -> dict[str, Any]:
    """Everything of :func:`plan_to_dict` but the changes."""
    return {
        "format_version": plan.format_version,
        "as_of": plan.as_of.isoformat(),
        "periods": [
            {
                "period": p.period,
                "available_on": p.available_on,
                "revision_of": p.revision_of,
                "applied": p.applied,
            }
            for p in plan.periods
        ],
        "snapshot": {"lineage": plan.snapshot_lineage, "serial": plan.snapshot_serial},
        "actual_fingerprint": plan.actual_fingerprint,
        "objects": dict(sorted(plan.objects.items())),
        "inputs_digest": plan.inputs_digest,
        "rules_digest": plan.rules_digest,
        "target": plan.target,
        "targeted": plan.targeted,
        "summary": plan.summary(),
        "diagnostics": [
            {"severity": d.severity, "code": d.code, "message": d.message} for d in plan.diagnostics
        ],
        "selection": {"period": plan.period, "targets": list(plan.targets), "excludes": list(plan.excludes)},
        **(
            {}
            if plan.drift is None
            else {
                "drift_last_ran": {
                    "date": plan.drift.last_ran,
                    "days_ago": plan.drift.days_before(plan.as_of),
                }
            }
        ),
    }


_SEALED = ("changes", "changes_digest", "seal")
"""The keys of a plan document that are not part of its sealed head."""


def _change_text(raw: Mapping[str, Any]) -> str:
    return indented_json(raw, "\n    ")


def changes_digest(changes: Iterable[Change]) -> str:
    """SHA-256 of the changes' JSON text, in order: equal only for the same changes, field for field."""
    digest = hashlib.sha256()
    for change in changes:
        digest.update(_change_text(change_to_json(change)).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _seal(head: Mapping[str, Any], digest: str) -> str:
    """SHA-256 of the plan's head (everything but the changes) and of its changes' digest."""
    sealed = hashlib.sha256(b"billsync plan seal 1\n")
    sealed.update(indented_json(dict(head)).encode())
    sealed.update(b"\n" + digest.encode())
    return sealed.hexdigest()


def plan_to_json(plan: Plan) -> str:
    """Stable JSON: the same plan always gives the same bytes (CI can compare plans)."""
    return "".join(iter_plan_json(plan))


def write_plan_json(plan: Plan, out: TextIO) -> None:
    """Write :func:`plan_to_json` to ``out`` piece by piece: a plan of 200,000 changes never becomes
    one string (nor one dict), which would double the memory a large plan needs."""
    for piece in iter_plan_json(plan):
        out.write(piece)


def iter_plan_json(plan: Plan) -> Iterator[str]:
    """The text of :func:`plan_to_json` in pieces, one per change: exactly what
    ``json.dumps(plan_to_dict(plan), indent=2, sort_keys=True, ensure_ascii=False)`` writes, plus a newline."""
    core = _plan_head(plan)
    head: dict[str, Any] = {**core, "changes": [], "changes_digest": "", "seal": ""}
    digest = hashlib.sha256()
    for index, key in enumerate(sorted(head)):  # "changes" comes before "changes_digest" and "seal"
        yield ("{" if index == 0 else ",") + "\n  " + json_string(key) + ": "
        if key == "changes_digest":
            yield json_string(digest.hexdigest())
        elif key == "seal":
            yield json_string(_seal(core, digest.hexdigest()))
        elif key != "changes" or not plan.changes:
            yield indented_json(head[key], "\n  ")
        else:
            for number, change in enumerate(plan.changes):
                text = _change_text(change_to_json(change))
                digest.update(text.encode())
                digest.update(b"\n")
                yield ("[" if number == 0 else ",") + "\n    " + text
            yield "\n  ]"
    yield "\n}\n"


def _drift_check(doc: Mapping[str, Any]) -> DriftCheck | None:
    raw = doc.get("drift_last_ran")
    if raw is None:
        return None
    last = raw["date"]
    return DriftCheck(None if last is None else date.fromisoformat(str(last)).isoformat())


def plan_from_json(text: str, kinds: Mapping[str, KindSpec], file: str = "plan") -> Plan:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise PlanError(f"{file}: not a billsync plan file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        raise PlanError(
            f"{file}: plan format {doc.get('format_version') if isinstance(doc, dict) else None!r} "
            f"is not supported (expected {FORMAT_VERSION})",
            hint="Make the plan again with this version of billsync.",
        )
    try:
        plan = Plan(
            changes=tuple(change_from_json(c, kinds) for c in doc["changes"]),
            as_of=date.fromisoformat(str(doc["as_of"])),
            periods=tuple(
                PlannedPeriod(
                    p["period"], p["available_on"], p.get("revision_of"), bool(p.get("applied", False))
                )
                for p in doc["periods"]
            ),
            snapshot_lineage=str(doc["snapshot"]["lineage"]),
            snapshot_serial=int(doc["snapshot"]["serial"]),
            actual_fingerprint=str(doc["actual_fingerprint"]),
            objects={str(k): str(v) for k, v in doc.get("objects", {}).items()},
            inputs_digest=str(doc.get("inputs_digest", "")),
            rules_digest=str(doc.get("rules_digest", "")),
            target=str(doc.get("target", "")),
            targeted=bool(doc.get("targeted", False)),
            diagnostics=tuple(
                Diagnostic(d["severity"], d["code"], d["message"]) for d in doc.get("diagnostics", [])
            ),
            period=_selection(doc).get("period"),
            targets=tuple(str(t) for t in _selection(doc).get("targets", ())),
            excludes=tuple(str(t) for t in _selection(doc).get("excludes", ())),
            drift=_drift_check(doc),
        )
        check_seal(doc, file)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlanError(f"{file}: the plan file is damaged ({type(exc).__name__}: {exc})") from None
    return plan


def _selection(doc: Mapping[str, Any]) -> dict[str, Any]:
    selection = doc.get("selection") or {}
    if not isinstance(selection, dict):
        raise TypeError("selection must be a mapping")
    return selection


def check_seal(doc: Mapping[str, Any], file: str) -> None:
    """Refuse a plan document whose text was changed after billsync wrote it."""
    digest = hashlib.sha256()
    for raw in doc["changes"]:
        digest.update(_change_text(raw).encode())
        digest.update(b"\n")
    head = {k: v for k, v in doc.items() if k not in _SEALED}
    if "seal" not in doc:
        problem = "it carries no seal (made by an older billsync, or the seal was removed)"
    elif doc.get("changes_digest") != digest.hexdigest():
        problem = "its changes no longer match their digest"
    elif doc["seal"] != _seal(head, digest.hexdigest()):
        problem = "its inputs, snapshot, target or selection no longer match its seal"
    else:
        return
    raise PlanError(
        f"{file}: the plan file was edited after billsync saved it: {problem}; it is refused and nothing "
        "was written",
        hint="Make the plan again (billsync plan --out FILE), review it, and apply that file unchanged.",
    )


def check_same_changes(saved: Plan, fresh: Plan, file: str) -> None:
    """Refuse a saved plan whose changes are not what billsync plans now from the same inputs.

    The seal catches an edit of the file's text; this catches an edit whose seal was recomputed: with
    the same snapshot, Autotask state (checked by the caller), source and rules, planning is
    deterministic, so any difference in the changes is an edit."""
    if (saved.inputs_digest, saved.rules_digest) != (fresh.inputs_digest, fresh.rules_digest):
        which = (
            "the Cloudmore data" if saved.inputs_digest != fresh.inputs_digest else "the rules or settings"
        )
        raise StalePlanError(
            f"{file}: {which} changed since the plan was made; nothing was written",
            hint="Make a new plan and review it.",
        )
    if saved.changes != fresh.changes:  # typed values compared: what would be written, not its spelling
        raise PlanError(
            f"{file}: the plan file was edited: its changes are not the ones billsync plans from the same "
            "inputs, snapshot and Autotask state; it is refused and nothing was written",
            hint="Make the plan again (billsync plan --out FILE), review it, and apply that file unchanged.",
        )
