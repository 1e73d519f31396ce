"""YAML loading that remembers lines, and turns every YAML problem into a located RuleError."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import yamlfile
from engine.errors import RuleError
from engine.yamlfile import LocatedDict, LocatedStr, line_of, load_yaml, load_yaml_text

TEXT = """\
top:
  name: Contoso
  n: 3
list:
  - x
  - y: z
"""


def test_strings_and_mappings_remember_their_lines() -> None:
    data = load_yaml_text(TEXT, "f.yaml")
    assert data == {"top": {"name": "Contoso", "n": 3}, "list": ["x", {"y": "z"}]}
    assert isinstance(data, LocatedDict)
    assert (data.line, data.key_lines) == (1, {"top": 1, "list": 4})
    assert (data["top"].line, data["top"].key_lines) == (2, {"name": 2, "n": 3})
    assert isinstance(data["top"]["name"], LocatedStr)
    assert line_of(data["top"]["name"]) == 2
    assert line_of(data["list"][0]) == 5
    assert data["list"][1].line == 6
    # Numbers carry no line; the default is returned.
    assert line_of(data["top"]["n"]) is None
    assert line_of(data["top"]["n"], 9) == 9


def test_syntax_error_names_file_and_line() -> None:
    with pytest.raises(RuleError) as caught:
        load_yaml_text("a: 1\nb:\n  - x\n   c: 2\n", "rules/csp365.yaml")
    assert str(caught.value).startswith("rules/csp365.yaml:4: YAML syntax error: ")
    assert (caught.value.file, caught.value.line) == ("rules/csp365.yaml", 4)


def test_tab_indentation_is_a_located_syntax_error() -> None:
    with pytest.raises(RuleError) as caught:
        load_yaml_text("a: 1\n\tb: 2\n", "rules/azure.yaml")
    assert (
        str(caught.value)
        == "rules/azure.yaml:2: YAML syntax error: found character '\\t' that cannot start any token"
    )


def test_duplicate_key_is_an_error_with_its_line() -> None:
    with pytest.raises(RuleError) as caught:
        load_yaml_text("resources:\n  - kind: contract\n    kind: service\n", "rules/x.yaml")
    assert str(caught.value) == "rules/x.yaml:3: YAML syntax error: duplicate key 'kind'"


def test_non_string_key_is_an_error() -> None:
    with pytest.raises(
        RuleError, match=r"^rules/x\.yaml:2: YAML syntax error: keys must be strings, found 1$"
    ):
        load_yaml_text("a: b\n1: c\n", "rules/x.yaml")


def test_merge_keys_are_flattened() -> None:
    data = load_yaml_text("base: &b {x: 1}\nitem:\n  <<: *b\n  y: 2\n", "f.yaml")
    assert data["item"] == {"x": 1, "y": 2}


def test_missing_file_names_the_displayed_path(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        load_yaml(tmp_path / "nope.yaml", "rules/nope.yaml")
    assert str(caught.value) == "rules/nope.yaml: file not found"
    assert caught.value.line is None


def test_undecodable_file_is_a_rule_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"a: \xff\n")
    with pytest.raises(
        RuleError, match=r"^rules/bad\.yaml:1: the file is not UTF-8 text \(byte 0xff cannot be decoded\)"
    ):
        load_yaml(path, "rules/bad.yaml")


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffname: Contoso\n".encode())
    assert load_yaml(path) == {"name": "Contoso"}


# ---- the libyaml parser under the same composer -------------------------------------------------------

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "rules").glob("*.yaml"))


def _with_lines(value: object) -> object:
    """A value with the line of every string and mapping (and of every key) spelled out."""
    if isinstance(value, dict):
        items = {k: _with_lines(v) for k, v in value.items()}
        return ("map", getattr(value, "line", None), getattr(value, "key_lines", None), items)
    if isinstance(value, list):
        return [_with_lines(v) for v in value]
    return (type(value).__name__, line_of(value), value)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_libyaml_and_python_loaders_read_every_shipped_file_alike(path: Path) -> None:
    assert yamlfile._FastLoader is not None, "PyYAML was built without libyaml"
    text = path.read_text(encoding="utf-8")
    fast = yaml.load(text, Loader=yamlfile._FastLoader)  # noqa: S506 - the loader under test
    exact = yaml.load(text, Loader=yamlfile._Loader)  # noqa: S506
    assert _with_lines(fast) == _with_lines(exact)
    assert _with_lines(load_yaml(path)) == _with_lines(exact)


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("a: &a [1, 2]\nb: [" + ", ".join(["*a"] * 70_000) + "]\n", "the file expands to more than", 2),
        ("deep: " + "[" * 100 + "]" * 100 + "\n", "nested more than 64 levels deep", 1),
    ],
    ids=["aliases", "nesting"],
)
def test_the_limits_hold_on_the_libyaml_path_too(text: str, problem: str, line: int) -> None:
    with pytest.raises(yaml.YAMLError) as caught:
        yaml.load(text, Loader=yamlfile._FastLoader)  # noqa: S506 - the loader under test
    assert isinstance(caught.value, yaml.MarkedYAMLError) and caught.value.problem_mark is not None
    assert str(caught.value.problem).startswith(problem)
    assert caught.value.problem_mark.line + 1 == line
    with pytest.raises(RuleError, match=rf"^f\.yaml:{line}: YAML refused: {problem}"):
        load_yaml_text(text, "f.yaml")
