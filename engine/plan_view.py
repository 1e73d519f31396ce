"""The human view of a plan: Terraform-like text (``+ ~ = ! ?`` and a summary line).

Dispatches on the change type, one handler per member of :data:`engine.plan.Change`; the executor
never formats and this module never executes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal

from engine.plan import Adopt, Change, Create, Drift, DriftCheck, Orphan, Plan, Update
from engine.textsafe import visible
from engine.types import Attributes, Scalar


def render_plan_text(plan: Plan) -> str:
    """The whole plan as plain text (the CLI adds colour by line prefix)."""
    return "".join(line + "\n" for line in plan_text_lines(plan))


def plan_text_lines(plan: Plan) -> Iterator[str]:
    """The lines of :func:`render_plan_text`, one change at a time, so a plan of 200,000 changes is
    written out without ever holding its whole text. Each line is :func:`~engine.textsafe.visible`:
    a value holding a newline or an escape sequence can neither add a line nor restyle one."""
    return map(visible, _lines(plan))


def _lines(plan: Plan) -> Iterator[str]:
    if plan.periods:
        months = ", ".join(
            p.period + (f" (revised {p.available_on}, replaces {p.revision_of})" if p.revision_of else "")
            for p in plan.periods
        )
        yield f"Billing months: {months}"
    else:
        yield "Billing months: none due"
    if plan.target or plan.source:
        yield f"Autotask: {visible(plan.target or 'unknown')}" + (
            f"   Cloudmore: {visible(plan.source)}" if plan.source else ""
        )
    if plan.drift is not None:
        yield _drift_line(plan.drift, plan.as_of)
    for diag in plan.diagnostics:
        yield f"{'Error' if diag.severity == 'error' else 'Warning'}: {diag.message}"
    cited = rules_cited(d.message for d in plan.diagnostics)
    if cited:
        yield f"The rules cited ({', '.join(cited)}) are explained in {RULES_DOC}."
    body = False
    for change in plan.changes:
        lines = render_change(change)
        if lines and not body:
            body = True
            yield from ("", "billsync will perform the following actions:", "")
        yield from lines
    if not body:
        yield ""
        if any(not p.applied for p in plan.periods) and not plan.targeted:
            yield "No changes to Autotask objects; the months above will be recorded as applied."
        else:
            yield "No changes. Autotask matches the billing reports and the rules."
    yield ""
    yield summary_line(plan)


def _drift_line(drift: DriftCheck, as_of: date) -> str:
    """Objects of past months (adjustments, charges) are read back only by ``billsync drift``."""
    days = drift.days_before(as_of)
    if drift.last_ran is None or days is None:
        when = "never"
    elif days >= 0:
        when = f"{drift.last_ran} ({days} day{'' if days == 1 else 's'} ago)"
    else:
        when = f"{drift.last_ran} (after this plan's date)"
    return f"Drift last ran: {when}; hand edits to past months' adjustments and charges are found only by billsync drift"


RULES_DOC = "docs/billing-rules.md"
"""Where each business rule (D1–D27) is explained, with the tests that prove it."""
_RULE = re.compile(r"\bD([1-9][0-9]?)\b")


def rules_cited(messages: Iterable[str]) -> list[str]:
    """The rule numbers (``D1``…) the messages cite, in order, each once."""
    numbers = sorted({int(n) for message in messages for n in _RULE.findall(message)})
    return [f"D{n}" for n in numbers]


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    extra = ""
    if s["drift"]:
        extra += f", {s['drift']} drifted"
    if s["orphan"]:
        extra += f", {s['orphan']} orphaned"
    return f"Plan: {s['add']} to add, {s['change']} to change, {s['adopt']} to adopt{extra}, 0 to destroy."


def render_change(change: Change) -> list[str]:
    return _HANDLERS[type(change)](change)


def _create(change: Change) -> list[str]:
    assert isinstance(change, Create)
    head = f"  # {change.address} will be created"
    head += _cause(change.rule, change.reason)
    lines = [head, f"  + {change.address} {{"]
    shown = change.payload if change.payload is not None else change.after
    if change.payload is not None and change.before:
        width = _width(change.after)
        for name in sorted(change.after):
            if name in change.before and change.before[name] != change.after[name]:
                lines.append(
                    f"      ~ {name:<{width}} = {fmt(change.before[name])} -> {fmt(change.after[name])}"
                )
    lines.extend(_fields("      + ", "", shown))
    lines.extend(
        f"      + {name:<{_width(change.refs)}} = {addr}" for name, addr in sorted(change.refs.items())
    )
    lines.append("    }")
    lines.append("")
    return lines


def _update(change: Change) -> list[str]:
    assert isinstance(change, Update)
    lines = [
        f"  # {change.address} will be updated in place (id {change.target_id})"
        + _cause(change.rule, change.reason)
    ]
    lines.append(f"  ~ {change.address} {{")
    width = _width(change.after)
    for name in sorted(change.after):
        lines.append(f"      ~ {name:<{width}} = {fmt(change.before.get(name))} -> {fmt(change.after[name])}")
    lines.append("    }")
    lines.append("")
    return lines


def _adopt(change: Change) -> list[str]:
    assert isinstance(change, Adopt)
    if change.carried_by is not None:
        return [f"  = {change.address} needs no write ({change.reason}; set by {change.carried_by})", ""]
    stamp = "; apply writes billsync's identity marker into it" if change.stamp_marker else ""
    return [
        f"  = {change.address} will be adopted (id {change.target_id}, {change.reason or 'found'}{stamp})",
        "",
    ]


def _drift(change: Change) -> list[str]:
    assert isinstance(change, Drift)
    lines = [f"  ! {change.address} has drifted (id {change.target_id}): {change.reason}"]
    width = _width(change.after)
    for name in sorted(change.after):
        lines.append(f"      ! {name:<{width}} = {fmt(change.before.get(name))} -> {fmt(change.after[name])}")
    lines.append("")
    return lines


def _orphan(change: Change) -> list[str]:
    assert isinstance(change, Orphan)
    action = "left as is" if change.policy == "keep" else "ended"
    return [f"  ? {change.address} is an orphan (id {change.target_id}): {change.reason}; {action}", ""]


_HANDLERS: dict[type, Callable[[Change], list[str]]] = {
    Create: _create,
    Update: _update,
    Adopt: _adopt,
    Drift: _drift,
    Orphan: _orphan,
}


def _cause(rule: str, reason: str) -> str:
    parts = [p for p in (reason, rule) if p]
    return f"  ({'; '.join(parts)})" if parts else ""


def _fields(prefix: str, suffix: str, attrs: Attributes) -> list[str]:
    width = _width(attrs)
    return [f"{prefix}{name:<{width}} = {fmt(attrs[name])}{suffix}" for name in sorted(attrs)]


def _width(attrs: Mapping[str, object]) -> int:
    return max((len(k) for k in attrs), default=0)


def fmt(value: Scalar) -> str:
    """A value as the plan shows it: strings quoted, amounts exact, dates ISO."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return str(value)
