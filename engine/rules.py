"""Rule files: YAML that says which resources to render for a Cloudmore record type.

A rule file looks like::

    record_types: [CSP365]
    resources:
      - kind: contract
        for_each: subscriptions
        key: "{{ sub.subscription_id }}"
        attributes:
          contractName: "{{ org.name }} - {{ sub.product_name }}"

Every string may hold Jinja; it is compiled once here (so syntax errors surface before any
rendering, with file and line) and rendered per loop item by :mod:`engine.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import RuleError
from engine.source import RECORD_TYPE_SETTING
from engine.template_limits import LimitedEnvironment
from engine.yamlfile import LocatedDict, line_of, load_yaml

LOOPS = ("products", "kinds", "types", "subscriptions", "subscription_months", "corrections")
"""What a resource rule may loop over (see :mod:`engine.context`)."""

_RESOURCE_KEYS = {"kind", "for_each", "key", "when", "refs", "attributes", "name"}


def make_environment() -> LimitedEnvironment:
    """The Jinja environment for rules: sandboxed (no Python internals), strict (typos fail) and
    bounded in time, output and loop iterations (:mod:`engine.template_limits`)."""
    env = LimitedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["money"] = _money
    return env


def _money(value: object, places: int = 2) -> str:
    """``{{ x | money }}``: an amount rounded half-up (D22) to ``places`` decimals, as text."""
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return str(amount.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP))


PlainNode = tuple[Any, ...]
"""A plain expression from Jinja's syntax tree, as nested tuples: ``("name", n)``, ``("attr", node, a)``,
``("const", v)``, ``("cond", test, then, else)``, ``("compare", left, ((op, right), …))``,
``("and", a, b)``, ``("or", a, b)``, ``("not", a)``."""


@dataclass(frozen=True)
class Expr:
    """One rule value: a constant, or a compiled Jinja template, with where it was written."""

    text: str
    line: int | None
    template: Template | None = None
    parts: tuple[str | PlainNode, ...] | None = field(default=None, compare=False, repr=False)
    """The template as literal text and plain expressions (look-ups, constants, comparisons, ``and``,
    ``or``, ``not``, ``x if t else y``) when that is all it is, as in most rule values: rendering can
    then skip building a Jinja context per value, which dominates at 100,000 records."""

    @property
    def constant(self) -> bool:
        return self.template is None


@dataclass(frozen=True)
class ResourceRule:
    """One ``resources:`` entry of a rule file."""

    file: str
    line: int | None
    kind: str
    for_each: str
    key: tuple[Expr, ...]
    when: Expr | None
    refs: dict[str, Expr]
    attributes: dict[str, Expr]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class RuleFile:
    file: str
    record_types: tuple[str, ...]
    resources: tuple[ResourceRule, ...] = field(default_factory=tuple)


def load_rules(folder: Path, kinds: set[str], display_root: Path | None = None) -> list[RuleFile]:
    """Load and compile every ``*.yaml`` rule file of a folder except ``settings.yaml``/``companies.yaml``."""
    if not folder.is_dir():
        raise RuleError("rules folder not found", file=str(folder))
    env = make_environment()
    files = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name in ("settings.yaml", "companies.yaml"):
            continue
        display = _display(path, display_root)
        files.append(parse_rule_file(load_yaml(path, display), display, kinds, env))
    return files


def parse_rule_file(
    data: Any, file: str, kinds: set[str], env: ImmutableSandboxedEnvironment | None = None
) -> RuleFile:
    """Validate one rule file's structure and compile its expressions."""
    env = env or make_environment()
    if not isinstance(data, dict):
        raise RuleError(
            "a rule file must be a mapping with 'record_types' and 'resources'", file=file, line=1
        )
    unknown = set(data) - {"record_types", "resources", "description"}
    if unknown:
        key = sorted(unknown)[0]
        raise RuleError(f"unknown key {key!r}", file=file, line=_key_line(data, key))
    record_types = data.get("record_types")
    if isinstance(record_types, str):
        record_types = [record_types]
    if not isinstance(record_types, list) or not record_types:
        raise RuleError(
            "'record_types' must list Cloudmore record types", file=file, line=_key_line(data, "record_types")
        )
    for rt in record_types:
        if not isinstance(rt, str) or rt not in RECORD_TYPE_SETTING:
            raise RuleError(
                f"unknown record type {rt!r} (expected one of {', '.join(RECORD_TYPE_SETTING)})",
                file=file,
                line=line_of(rt, _key_line(data, "record_types")),
            )
    raw = data.get("resources")
    if not isinstance(raw, list):
        raise RuleError("'resources' must be a list", file=file, line=_key_line(data, "resources"))
    resources = tuple(_parse_resource(item, file, kinds, env) for item in raw)
    return RuleFile(file=file, record_types=tuple(str(r) for r in record_types), resources=resources)


def _parse_resource(
    item: Any, file: str, kinds: set[str], env: ImmutableSandboxedEnvironment
) -> ResourceRule:
    line = getattr(item, "line", None)
    if not isinstance(item, dict):
        raise RuleError("each resource must be a mapping", file=file, line=line)
    unknown = set(item) - _RESOURCE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise RuleError(
            f"unknown key {key!r} (expected {', '.join(sorted(_RESOURCE_KEYS))})",
            file=file,
            line=_key_line(item, key),
        )
    kind = item.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        raise RuleError(
            f"unknown kind {kind!r} (expected one of {', '.join(sorted(kinds))})",
            file=file,
            line=_key_line(item, "kind", line),
        )
    for_each = item.get("for_each")
    if not isinstance(for_each, str) or for_each not in LOOPS:
        raise RuleError(
            f"unknown for_each {for_each!r} (expected one of {', '.join(LOOPS)})",
            file=file,
            line=_key_line(item, "for_each", line),
        )
    raw_key = item.get("key")
    keys = raw_key if isinstance(raw_key, list) else [raw_key]
    if raw_key is None or not keys:
        raise RuleError("'key' is required (a string or a list of strings)", file=file, line=line)
    key = tuple(_compile(k, file, _key_line(item, "key", line), env) for k in keys)
    when = _compile(item["when"], file, _key_line(item, "when", line), env) if "when" in item else None
    refs = _compile_map(item.get("refs", {}), "refs", file, line, env)
    attributes = _compile_map(item.get("attributes", {}), "attributes", file, line, env)
    return ResourceRule(
        file=file,
        line=line,
        kind=str(kind),
        for_each=str(for_each),
        key=key,
        when=when,
        refs=refs,
        attributes=attributes,
    )


def _compile_map(
    raw: Any, name: str, file: str, line: int | None, env: ImmutableSandboxedEnvironment
) -> dict[str, Expr]:
    if not isinstance(raw, dict):
        raise RuleError(f"'{name}' must be a mapping of field names to values", file=file, line=line)
    return {str(k): _compile(v, file, _key_line(raw, str(k), line), env) for k, v in raw.items()}


def _compile(value: Any, file: str, line: int | None, env: ImmutableSandboxedEnvironment) -> Expr:
    if isinstance(value, dict | list):
        raise RuleError("expected a single value, found a mapping or list", file=file, line=line)
    text = "" if value is None else str(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    line = line_of(value, line)
    if "{{" not in text and "{%" not in text:
        return Expr(text, line)
    try:
        code, parts = _compiled(text)
    except TemplateSyntaxError as exc:
        raise RuleError(
            f"Jinja syntax error in {text!r}: {exc.message}",
            file=file,
            line=line,
            hint="Check the braces and the expression; Jinja documents the syntax at jinja.palletsprojects.com.",
        ) from None
    return Expr(text, line, env.template_class.from_code(env, code, env.make_globals(None)), parts)


@lru_cache(maxsize=4096)
def _compiled(text: str) -> tuple[CodeType, tuple[str | PlainNode, ...] | None]:
    """The Python code Jinja compiles a rule value to, and its plain parts, remembered by text.

    Compiling is most of the cost of loading rules, and rule files repeat their values (the shipped
    rules hold 270 templates, 52 of them distinct), so each text is compiled once per process. The
    code depends only on the environment's options, which :func:`make_environment` fixes; each
    loaded rule set binds it to its own environment (and so its own rendering budget)."""
    env = make_environment()
    return env.compile(text), _plain_parts(env, text)


def _plain_parts(env: ImmutableSandboxedEnvironment, text: str) -> tuple[str | PlainNode, ...] | None:
    """Literal text and plain expression outputs only, or None when the template needs Jinja."""
    parts: list[str | PlainNode] = []
    for node in env.parse(text).body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
                continue
            plain = _plain_node(child)
            if plain is None:
                return None
            parts.append(plain)
    return tuple(parts)


_COMPARISONS = frozenset({"eq", "ne", "gt", "gteq", "lt", "lteq"})
"""Jinja compiles these to the Python operators (a sandbox intercepts none of them)."""


def _plain_node(node: nodes.Node) -> PlainNode | None:
    if isinstance(node, nodes.Name):
        return ("name", node.name) if node.ctx == "load" else None
    if isinstance(node, nodes.Getattr):
        inner = _plain_node(node.node)
        return None if inner is None else ("attr", inner, node.attr)
    if isinstance(node, nodes.Const):
        return ("const", node.value) if type(node.value) in (str, int, bool, type(None)) else None
    if isinstance(node, nodes.CondExpr):
        if node.expr2 is None:
            return None
        branches = (_plain_node(node.test), _plain_node(node.expr1), _plain_node(node.expr2))
        return None if None in branches else ("cond", *branches)
    if isinstance(node, nodes.Compare):
        left = _plain_node(node.expr)
        ops = tuple((op.op, _plain_node(op.expr)) for op in node.ops)
        if left is None or any(op not in _COMPARISONS or right is None for op, right in ops):
            return None
        return ("compare", left, ops)
    if isinstance(node, nodes.And | nodes.Or):
        left, right = _plain_node(node.left), _plain_node(node.right)
        tag = "and" if isinstance(node, nodes.And) else "or"
        return None if left is None or right is None else (tag, left, right)
    if isinstance(node, nodes.Not):
        inner = _plain_node(node.node)
        return None if inner is None else ("not", inner)
    return None


def _key_line(data: Any, key: str, default: int | None = None) -> int | None:
    if isinstance(data, LocatedDict):
        return data.key_lines.get(key, default)
    return default


def _display(path: Path, root: Path | None) -> str:
    """How messages and plans name a rule file: relative to the workspace, else ``rules/<file>``."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return f"{path.parent.name}/{path.name}"
