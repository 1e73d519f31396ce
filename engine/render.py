"""Render rules over the source into the desired state: one :class:`Resource` per address.

Pure: rule files and loop items in, resources out. Every failure names the rule file, the line,
the expression and the record being rendered.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from jinja2 import Environment, Template, TemplateError, Undefined, UndefinedError
from jinja2.exceptions import SecurityError

from engine.context import Item, RenderInput
from engine.desired import DesiredState
from engine.errors import RuleError
from engine.held_once import Tables, held_once, one_dict
from engine.resources import KindSpec, Resource, coerce
from engine.rules import Expr, PlainNode, ResourceRule, RuleFile
from engine.settings import Settings
from engine.source import RECORD_TYPE_SETTING
from engine.template_limits import Budget, LimitedEnvironment, TemplateLimitExceeded, TemplateLimits
from engine.types import Address, Attributes, make_address

_PLAIN = frozenset({str, int, bool, Decimal, date, type(None)})
"""Types whose text a plain look-up renders as ``str(value)``, exactly as Jinja does."""
_MISSING = object()
_SafeLookups = set[tuple[type, str]]
"""(owner type, attribute) pairs the sandbox has allowed for a plain value."""
_Shared = Tables
"""Equal values of one render, kept once (:mod:`engine.held_once`): strings by themselves, coerced
values per (type, scale) by their text, source dicts by their items."""


def render_desired(
    rules: list[RuleFile],
    render_input: RenderInput,
    settings: Settings,
    kinds: Mapping[str, KindSpec],
    consume: bool = False,
    recorded: Mapping[Address, Recorded] | None = None,
) -> DesiredState:
    """Render every enabled rule file over its record types' loop items. With ``consume``, each list
    of loop items is dropped from ``render_input`` after the last rule that loops over it: the desired
    state grows as the items it is rendered from go (at 50,000 subscriptions, tens of MB). A resource
    rendered exactly as ``recorded`` (the snapshot) holds the recorded dicts, not equal copies."""
    resources: dict[Address, Resource] = {}
    globals_: dict[str, Any] = {"settings": settings, "vars": settings.vars, "periods": render_input.periods}
    safe: _SafeLookups = set()
    shared: _Shared = {}
    enabled = [
        (rule_file, record_type)
        for rule_file in rules
        for record_type in rule_file.record_types
        if settings.record_types.enabled(RECORD_TYPE_SETTING[record_type])  # D5: off renders nothing
    ]
    last_use = {
        (record_type, rule.for_each): (at, index)
        for at, (rule_file, record_type) in enumerate(enabled)
        for index, rule in enumerate(rule_file.resources)
    }
    for at, (rule_file, record_type) in enumerate(enabled):
        loops = render_input.items.get(record_type, {})
        for index, rule in enumerate(rule_file.resources):
            spec = kinds[rule.kind]
            items = loops.get(rule.for_each, [])
            if consume and last_use[(record_type, rule.for_each)] == (at, index):
                loops.pop(rule.for_each, None)
            for item in items:
                context = item.context(globals_) if isinstance(item, Item) else {**globals_, **item}
                resource = _render_one(rule, spec, context, safe, shared, recorded)
                if resource is None:
                    continue
                existing = resources.get(resource.address)
                if existing is not None and existing != resource:
                    if existing.attributes == resource.attributes and existing.refs == resource.refs:
                        continue  # a shared object rendered identically by several records
                    raise RuleError(
                        f"{resource.address} is rendered twice with different values "
                        f"(first by {existing.rule})",
                        file=rule.file,
                        line=rule.line,
                        record=_record(context),
                        hint="Make the key unique per record, or render the shared object identically.",
                    )
                resources[resource.address] = resource
    return DesiredState(resources)


def _render_one(
    rule: ResourceRule,
    spec: KindSpec,
    context: dict[str, Any],
    safe: _SafeLookups,
    shared: _Shared,
    recorded: Mapping[Address, Recorded] | None = None,
) -> Resource | None:
    if rule.when is not None and not _truthy(_text(rule.when, rule, context, safe)):
        return None
    key = tuple(_text(expr, rule, context, safe) for expr in rule.key)
    for part, expr in zip(key, rule.key, strict=True):
        if not part or '"' in part or "[" in part or "]" in part:
            raise RuleError(
                f"key {expr.text!r} rendered to {part!r}: a key must be non-empty without quotes or brackets",
                file=rule.file,
                line=expr.line,
                record=_record(context),
            )
    address = make_address(rule.kind, *key)
    attributes: Attributes = {}
    for name, expr in rule.attributes.items():
        ftype = spec.fields.get(name)
        if ftype is None:
            raise RuleError(
                f"{rule.kind} has no managed field {name!r} (fields: {', '.join(sorted(spec.fields))})",
                file=rule.file,
                line=expr.line,
            )
        raw = _text(expr, rule, context, safe)
        try:
            places = spec.decimals.get(name)
            attributes[name] = held_once(shared, (ftype, places), raw, coerce, ftype, places)
        except ValueError as exc:
            raise RuleError(
                f"{address}.{name}: {exc} (from {expr.text!r})",
                file=rule.file,
                line=expr.line,
                record=_record(context),
            ) from None
        limit = spec.lengths.get(name)
        value = attributes[name]
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise RuleError(
                f"{address}.{name} renders to {len(value)} characters; Autotask takes at most {limit} "
                f"(from {expr.text!r})",
                file=rule.file,
                line=expr.line,
                record=_record(context),
                hint=f"Shorten the value in the rule (for example with | truncate({limit}, true, '', 0)) or the "
                "data it comes from; nothing was sent to Autotask.",
            )
    refs: dict[str, Address] = {}
    for name, expr in rule.refs.items():
        if name not in spec.refs:
            raise RuleError(
                f"{rule.kind} has no reference field {name!r} (references: {', '.join(sorted(spec.refs)) or 'none'})",
                file=rule.file,
                line=expr.line,
            )
        refs[name] = _one(shared, _text(expr, rule, context, safe))
        if not refs[name].startswith(spec.refs[name] + "["):
            raise RuleError(
                f"reference {name} must name a {spec.refs[name]} address, got {refs[name]!r}",
                file=rule.file,
                line=expr.line,
                record=_record(context),
            )
    month = context.get("month") or context.get("correction")
    source = _source(context)
    entry = recorded.get(address) if recorded is not None else None
    if entry is not None:  # rendered as applied: the snapshot's dicts serve (never changed once made)
        attributes = entry.attributes if _same(attributes, entry.attributes) else attributes
        refs = entry.refs if refs == entry.refs else refs
        source = entry.source if source == entry.source else source
    return Resource(
        address=_one(shared, address),
        kind=rule.kind,
        attributes=attributes,
        refs=refs,
        source=one_dict(shared, source),
        rule=_one(shared, rule.where),
        period=month.period if month is not None and spec.period_scoped else None,
    )


class Recorded(Protocol):
    """What the snapshot recorded for an address (an :class:`engine.snapshot_model.Entry`)."""

    @property
    def attributes(self) -> Attributes: ...
    @property
    def refs(self) -> dict[str, Address]: ...
    @property
    def source(self) -> dict[str, str]: ...


def _same(rendered: Attributes, recorded: Attributes) -> bool:
    """Equal, and written alike: ``2.40`` and ``2.4000`` are equal amounts but not the same text."""
    if rendered != recorded:
        return False
    for name, value in rendered.items():
        other = recorded[name]
        if type(value) is not type(other) or (type(value) is Decimal and str(value) != str(other)):
            return False
    return True


def _one(shared: _Shared, value: str) -> str:
    """``value``, or the equal string already kept: a contract's address is also every reference to it."""
    return shared.setdefault(value, value)  # type: ignore[no-any-return]


def _text(expr: Expr, rule: ResourceRule, context: dict[str, Any], safe: _SafeLookups) -> str:
    if expr.template is None:
        return expr.text
    if expr.parts is not None:
        fast = _plain_text(expr, context, safe)
        if fast is not None:
            return fast
    env = expr.template.environment
    settings = context.get("settings")
    limits = settings.limits if isinstance(settings, Settings) else TemplateLimits()
    if isinstance(env, LimitedEnvironment):
        env.budget = Budget.start(limits)
    try:
        return _bounded_render(expr.template, context, limits)
    except TemplateLimitExceeded as exc:
        reason = f"cannot render {expr.text!r}: {exc}"
        hint = (
            f"Simplify the template, or raise limits.{exc.setting} in the settings file "
            f"(now {getattr(limits, exc.setting):g})."
        )
    except RecursionError:
        reason = (
            f"cannot render {expr.text!r}: it calls itself too deeply (a macro that never stops recursing?)"
        )
        hint = "Give the recursion an end, or write the value without it."
    except MemoryError:
        reason = f"cannot render {expr.text!r}: it needs more memory than there is"
        hint = "Simplify the template."
    except UndefinedError as exc:
        reason = f"undefined value in {expr.text!r}: {exc.message}"
        hint = "Check the variable name; rules can use settings, vars, sub, org, product, month, company_id."
    except SecurityError as exc:
        reason = f"{expr.text!r} is not allowed: {exc}"
        hint = "Rule templates run in a sandbox and cannot reach Python internals."
    except TemplateError as exc:
        reason = f"cannot render {expr.text!r}: {exc}"
        hint = ""
    except Exception as exc:  # noqa: BLE001 - any failure of a user's template is reported where it is
        reason = f"cannot render {expr.text!r}: {type(exc).__name__}: {exc}"
        hint = "Check the expression: Jinja and Python refused it for the reason above."
    raise RuleError(reason, file=rule.file, line=expr.line, record=_record(context), hint=hint)


def _bounded_render(template: Template, context: dict[str, Any], limits: TemplateLimits) -> str:
    """The template's text, stopped as soon as it grows past ``limits.template_output``."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(context):
        size += len(chunk)
        if size > limits.template_output:
            raise TemplateLimitExceeded(
                f"the template's output is longer than {limits.template_output:,} characters",
                "template_output",
            )
        parts.append(chunk)
    return "".join(parts)


def _plain_text(expr: Expr, context: dict[str, Any], safe: _SafeLookups) -> str | None:
    """What Jinja renders for literal text and plain expressions; None (render with Jinja, which also
    words any error) for anything undefined, unsafe, failing or not a plain value."""
    assert expr.template is not None and expr.parts is not None
    env = expr.template.environment
    out: list[str] = []
    try:
        for part in expr.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = _evaluate(part, context, env, safe)
            if type(value) not in _PLAIN:
                return None
            out.append(str(value))
    except Exception:  # noqa: BLE001 - Jinja evaluates it again and reports the error properly
        return None
    return "".join(out)


class _NotPlain(Exception):
    """The expression needs Jinja: an undefined name or attribute, or one the sandbox refuses."""


def _evaluate(node: PlainNode, context: dict[str, Any], env: Environment, safe: _SafeLookups) -> Any:
    """The value of a plain expression, with Python's semantics, which is what Jinja compiles it to."""
    tag = node[0]
    if tag == "attr":
        return _attribute(_evaluate(node[1], context, env, safe), node[2], env, safe)
    if tag == "name":
        if node[1] not in context:
            raise _NotPlain
        return context[node[1]]
    if tag == "const":
        return node[1]
    if tag == "cond":
        return _evaluate(node[2] if _evaluate(node[1], context, env, safe) else node[3], context, env, safe)
    if tag == "compare":
        left = _evaluate(node[1], context, env, safe)
        for op, operand in node[2]:
            right = _evaluate(operand, context, env, safe)
            if not _COMPARE[op](left, right):
                return False
            left = right
        return True
    if tag == "and":
        left = _evaluate(node[1], context, env, safe)
        return _evaluate(node[2], context, env, safe) if left else left
    if tag == "or":
        left = _evaluate(node[1], context, env, safe)
        return left if left else _evaluate(node[2], context, env, safe)
    if tag == "not":
        return not _evaluate(node[1], context, env, safe)
    raise _NotPlain


def _attribute(value: Any, attr: str, env: Environment, safe: _SafeLookups) -> Any:
    """``value.attr`` through the sandbox's ``getattr``, once per (type, attribute): its verdict for a
    plain value depends on nothing else, so later look-ups of the same field are plain reads."""
    owner = type(value)
    if (owner, attr) in safe:
        found = getattr(value, attr, _MISSING)
        if type(found) in _PLAIN:
            return found
        raise _NotPlain
    checked = env.getattr(value, attr)
    if isinstance(checked, Undefined):
        raise _NotPlain
    if type(checked) in _PLAIN and hasattr(value, attr):
        safe.add((owner, attr))
    return checked


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
}


def _truthy(text: str) -> bool:
    return text.strip().lower() not in ("", "false", "0", "none", "no")


def _record(context: dict[str, Any]) -> str:
    sub = context.get("sub")
    if sub is not None:
        month = context.get("month")
        suffix = f", {month.period}" if month is not None else ""
        return f"subscription {sub.subscription_id}{suffix}"
    product = context.get("product")
    if product is not None:
        return f"product {product.product_id}"
    if "kind_name" in context:
        return f"kind {context['kind_name']}"
    return f"record type {context.get('record_type', '?')}"


def _source(context: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    sub = context.get("sub")
    if sub is not None:
        out["subscription_id"] = sub.subscription_id
        out["organization_id"] = sub.organization_id
    product = context.get("product")
    if product is not None and sub is None:
        out["product_id"] = product.product_id
    month = context.get("month")
    if month is not None:
        out["period"] = month.period
        # what this month billed, so a revised report can be corrected by the difference (D20)
        out["total_sales"] = str(month.total_sales)
        out["total_cost"] = str(month.total_cost)
    correction = context.get("correction")
    if correction is not None:
        out["period"] = correction.period
        out["correction"] = correction.revision
        out["total_sales"] = str(correction.total_sales)
        out["total_cost"] = str(correction.total_cost)
        if correction.posted:  # the month is posted: billed in the first open month (D27)
            out["posted"] = correction.posted
            out["billed_in"] = correction.billed_in
    return out
