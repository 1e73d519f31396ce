"""YAML loading that remembers where each value came from.

Rule and settings files are edited by hand; every error must name the file and the line. PyYAML
does the parsing; this module only keeps the line of every scalar and mapping, and bounds what a file
can cost: its size, how deeply it nests, and how many values its aliases expand to (a "billion laughs"
file of a few lines would otherwise expand to billions of values downstream). Aliases that refer to
the collection holding them (a value that contains itself) are refused too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from engine.errors import RuleError
from engine.safefile import FileRefused, MiB, decode_utf8, read_bounded


class LocatedStr(str):
    """A string from a YAML file that knows its line number (1-based)."""

    line: int


class LocatedDict(dict[str, Any]):
    """A mapping from a YAML file that knows its line and the line of each key."""

    line: int
    key_lines: dict[str, int]


MAX_BYTES = 4 * MiB
"""The largest YAML file billsync reads (rule files and settings are a few kilobytes)."""
MAX_DEPTH = 64
"""How deeply collections may nest."""
MAX_NODES = 200_000
"""How many values a file may hold once every alias is expanded."""


class _Refused(yaml.composer.ComposerError):
    """A file past one of the limits above."""


if TYPE_CHECKING:
    _Composer = yaml.SafeLoader  # what the loaders below make of it: a composer over a parser
else:
    _Composer = yaml.composer.Composer


class _Bounded(_Composer):
    """The composing step of both loaders below: tags nothing itself, but holds every file to the
    limits above while the nodes are built."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            anchored = self.anchors.get(event.anchor)
            if anchored is not None:
                self._count(self._size(anchored, event.start_mark), event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise _Refused(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._count(1, node.start_mark)
        return node

    def _count(self, nodes: int, mark: yaml.Mark) -> None:
        self._nodes += nodes
        if self._nodes > MAX_NODES:
            raise _Refused(
                None,
                None,
                f"the file expands to more than {MAX_NODES:,} values (aliases included)",
                mark,
            )

    def _size(self, node: yaml.Node, mark: yaml.Mark) -> int:
        """How many values ``node`` stands for, aliases expanded (memoised, so this costs one walk)."""
        sizes: dict[int, int] = self.__dict__.setdefault("_sizes", {})
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            if known < 0:
                raise _Refused(None, None, "an alias refers to the collection that holds it", mark)
            return known
        sizes[key] = -1
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(self._size(child, mark) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(self._size(k, mark) + self._size(v, mark) for k, v in node.value)
        sizes[key] = total
        if total > MAX_NODES:
            self._count(total, mark)
        return total


class _Loader(_Bounded, yaml.SafeLoader):
    """Safe loader that tags strings and mappings with their line numbers, within the limits above;
    pure Python, so its error messages are PyYAML's own."""


_FastLoader: type[_Bounded] | None = None
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: the Python loader does it all
    pass
else:

    class _CLoader(_Bounded, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """The same loader over libyaml's scanner and parser (six times faster on the rule files);
        composing, limits and construction stay the Python ones above, so the result is the same."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _FastLoader = _CLoader


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


for _loader in (_Loader, _FastLoader):
    if _loader is not None:
        _loader.add_constructor("tag:yaml.org,2002:str", _construct_str)
        _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


def line_of(value: object, default: int | None = None) -> int | None:
    """The source line of a value loaded by :func:`load_yaml`, if known."""
    return getattr(value, "line", default)


def load_yaml_text(text: str, file: str) -> Any:
    """Parse YAML text; a syntax error or a limit becomes a :class:`RuleError` with file and line."""
    if len(text) > MAX_BYTES:
        line = text.count("\n", 0, MAX_BYTES) + 1
        raise RuleError(
            f"the file is larger than {MAX_BYTES // MiB} MiB, billsync's limit", file=file, line=line
        )
    if _FastLoader is not None:
        try:
            return yaml.load(text, Loader=cast(Any, _FastLoader))  # noqa: S506 - safe construction only
        except yaml.YAMLError:
            pass  # loaded again below, so the error is worded and placed as PyYAML does
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as exc:
        where = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise RuleError(
            f"YAML refused: {exc.problem}",
            file=file,
            line=where,
            hint="Rule and settings files are small and shallow; check that this is the right file.",
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleError(
            f"YAML syntax error: {problem}", file=file, line=mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise RuleError(f"YAML error: {exc}", file=file) from None


def load_yaml(path: Path, display: str | None = None) -> Any:
    """Read and parse a YAML file, naming it in every error."""
    name = display or str(path)
    try:
        text = decode_utf8(read_bounded(path, name, MAX_BYTES), name)
    except FileRefused as exc:
        raise RuleError(exc.reason, file=name, line=exc.line, hint=exc.hint) from None
    return load_yaml_text(text, name)
