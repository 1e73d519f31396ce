"""YAML loading that remembers where each value came from.

Rule and settings files are edited by hand; every error must name the file and the line. PyYAML
does the parsing; this module only keeps the line of every scalar and mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.errors import RuleError


class LocatedStr(str):
    """A string from a YAML file that knows its line number (1-based)."""

    line: int


class LocatedDict(dict[str, Any]):
    """A mapping from a YAML file that knows its line and the line of each key."""

    line: int
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    """Safe loader that tags strings and mappings with their line numbers."""


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> LocatedStr:
    value = LocatedStr(loader.construct_scalar(node))
    value.line = node.start_mark.line + 1
    return value


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"keys must be strings, found {key!r}", key_node.start_mark
            )
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def line_of(value: object, default: int | None = None) -> int | None:
    """The source line of a value loaded by :func:`load_yaml`, if known."""
    return getattr(value, "line", default)


def load_yaml_text(text: str, file: str) -> Any:
    """Parse YAML text; a syntax error becomes a :class:`RuleError` with file and line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleError(f"YAML syntax error: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise RuleError(f"YAML error: {exc}", file=file) from None


def load_yaml(path: Path, display: str | None = None) -> Any:
    """Read and parse a YAML file, naming it in every error."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RuleError("file not found", file=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"cannot read file: {exc}", file=name) from None
    return load_yaml_text(text, name)
