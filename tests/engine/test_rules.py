"""Rule files: structure checks and Jinja compilation, every error naming the file and the line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import RuleError
from engine.resources import KindSpec
from engine.rules import LOOPS, Expr, RuleFile, load_rules, make_environment, parse_rule_file
from engine.yamlfile import load_yaml_text

CONTRACT = """\
record_types: [CSP365]
resources:
  - kind: contract
    for_each: subscriptions
    key: "{{ sub.subscription_id }}"
    attributes:
      contractName: "{{ org.name }} - {{ sub.product_name }}"
      contractType: 7
"""


def parse(text: str, kinds: dict[str, KindSpec], file: str = "rules/x.yaml") -> RuleFile:
    return parse_rule_file(load_yaml_text(text, file), file, set(kinds))


def rule_error(text: str, kinds: dict[str, KindSpec], file: str = "rules/x.yaml") -> RuleError:
    with pytest.raises(RuleError) as caught:
        parse(text, kinds, file)
    return caught.value


def test_rule_file_is_compiled_with_lines(kinds: dict[str, KindSpec]) -> None:
    rule_file = parse(CONTRACT, kinds)
    assert (rule_file.file, rule_file.record_types) == ("rules/x.yaml", ("CSP365",))
    (rule,) = rule_file.resources
    assert (rule.kind, rule.for_each, rule.line, rule.where) == (
        "contract",
        "subscriptions",
        3,
        "rules/x.yaml:3",
    )
    (key,) = rule.key
    assert (key.text, key.line, key.constant) == ("{{ sub.subscription_id }}", 5, False)
    assert rule.attributes["contractType"] == Expr("7", 8)
    assert rule.attributes["contractType"].constant
    assert rule.attributes["contractName"].line == 7
    assert rule.when is None
    assert rule.refs == {}


def test_record_types_may_be_a_single_string(kinds: dict[str, KindSpec]) -> None:
    assert parse("record_types: Azure\nresources: []\n", kinds).record_types == ("Azure",)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path, kinds: dict[str, KindSpec]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "csp365.yaml").write_text(
        "record_types: [CSP365]\nresources:\n  - kind: contract\n     for_each: subscriptions\n"
    )
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path / "rules", set(kinds), display_root=tmp_path)
    assert str(caught.value) == "rules/csp365.yaml:4: YAML syntax error: mapping values are not allowed here"
    assert (caught.value.file, caught.value.line) == ("rules/csp365.yaml", 4)


def test_unknown_top_level_key(kinds: dict[str, KindSpec]) -> None:
    error = rule_error("record_types: [CSP365]\nresource:\n  - kind: contract\n", kinds)
    assert str(error) == "rules/x.yaml:2: unknown key 'resource'"


def test_unknown_resource_key(kinds: dict[str, KindSpec]) -> None:
    text = "record_types: [CSP365]\nresources:\n  - kind: contract\n    for_each: subscriptions\n    key: a\n    atributes: {}\n"
    assert str(rule_error(text, kinds)) == (
        "rules/x.yaml:6: unknown key 'atributes' (expected attributes, for_each, key, kind, name, refs, when)"
    )


def test_unknown_kind(kinds: dict[str, KindSpec]) -> None:
    text = (
        "record_types: [CSP365]\nresources:\n  - kind: contracts\n    for_each: subscriptions\n    key: a\n"
    )
    assert str(rule_error(text, kinds)) == (
        "rules/x.yaml:3: unknown kind 'contracts' "
        "(expected one of adjustment, charge, contract, contract_service, product, service)"
    )


def test_unknown_for_each(kinds: dict[str, KindSpec]) -> None:
    text = "record_types: [CSP365]\nresources:\n  - kind: contract\n    for_each: subscription\n    key: a\n"
    assert str(rule_error(text, kinds)) == (
        f"rules/x.yaml:4: unknown for_each 'subscription' (expected one of {', '.join(LOOPS)})"
    )
    assert {"products", "kinds", "types", "subscriptions", "subscription_months"} <= set(LOOPS)


def test_unknown_record_type(kinds: dict[str, KindSpec]) -> None:
    assert str(rule_error("record_types: [CSP365, Office]\nresources: []\n", kinds)) == (
        "rules/x.yaml:1: unknown record type 'Office' "
        "(expected one of CSP365, Azure, Marketplace, ReservedInstance, PerpetualLicense, Subscription)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "rules/x.yaml:1: a rule file must be a mapping with 'record_types' and 'resources'"),
        (
            "record_types: []\nresources: []\n",
            "rules/x.yaml:1: 'record_types' must list Cloudmore record types",
        ),
        ("record_types: [Azure]\nresources: {}\n", "rules/x.yaml:2: 'resources' must be a list"),
        (
            "record_types: [Azure]\nresources:\n  - contract\n",
            "rules/x.yaml:3: each resource must be a mapping",
        ),
        (
            "record_types: [Azure]\nresources:\n  - kind: contract\n    for_each: subscriptions\n",
            "rules/x.yaml:3: 'key' is required (a string or a list of strings)",
        ),
        (
            "record_types: [Azure]\nresources:\n  - kind: contract\n    for_each: subscriptions\n    key: a\n"
            "    attributes:\n      contractName: [a]\n",
            "rules/x.yaml:7: expected a single value, found a mapping or list",
        ),
        (
            "record_types: [Azure]\nresources:\n  - kind: contract\n    for_each: subscriptions\n    key: a\n"
            "    refs: [a]\n",
            "rules/x.yaml:3: 'refs' must be a mapping of field names to values",
        ),
    ],
)
def test_structure_errors(text: str, message: str, kinds: dict[str, KindSpec]) -> None:
    assert str(rule_error(text, kinds)) == message


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ org.name }", "unexpected '}'"),
        ("{{ org.name | }}", "expected token 'name', got 'end of print statement'"),
        ("{% if sub %}x", "Unexpected end of template."),
    ],
)
def test_jinja_syntax_error_names_file_and_line(
    tmp_path: Path, kinds: dict[str, KindSpec], template: str, reason: str
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "azure.yaml").write_text(
        "record_types: [Azure]\nresources:\n  - kind: contract\n    for_each: subscriptions\n"
        f'    key: a\n    attributes:\n      description: "ok"\n      contractName: "{template}"\n'
    )
    with pytest.raises(RuleError) as caught:
        load_rules(tmp_path / "rules", set(kinds), display_root=tmp_path)
    error = caught.value
    assert (error.file, error.line) == ("rules/azure.yaml", 8)
    assert error.message.startswith(f"rules/azure.yaml:8: Jinja syntax error in {template!r}: {reason}")
    assert "jinja.palletsprojects.com" in error.hint


def test_jinja_syntax_error_in_a_key_list_names_the_item_line(kinds: dict[str, KindSpec]) -> None:
    text = (
        "record_types: [CSP365]\nresources:\n  - kind: adjustment\n    for_each: subscription_months\n"
        '    key:\n      - "{{ sub.subscription_id }}"\n      - "{{ month.period }"\n'
    )
    error = rule_error(text, kinds)
    assert (error.line, error.reason) == (7, "Jinja syntax error in '{{ month.period }': unexpected '}'")


def test_kind_given_as_a_list_is_a_located_error(kinds: dict[str, KindSpec]) -> None:
    text = (
        "record_types: [CSP365]\nresources:\n  - kind: [contract]\n    for_each: subscriptions\n    key: a\n"
    )
    error = rule_error(text, kinds)
    assert (error.file, error.line) == ("rules/x.yaml", 3)
    assert "unknown kind ['contract']" in error.reason


def test_nested_record_type_list_is_a_located_error(kinds: dict[str, KindSpec]) -> None:
    error = rule_error("record_types: [[CSP365]]\nresources: []\n", kinds)
    assert (error.file, error.line) == ("rules/x.yaml", 1)
    assert "unknown record type" in error.reason


def test_load_rules_skips_settings_and_companies_and_sorts_files(
    tmp_path: Path, kinds: dict[str, KindSpec]
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "settings.yaml").write_text("this is: [not a rule file\n")
    (folder / "companies.yaml").write_text("ORG-1: 1\n")
    (folder / "b.yaml").write_text("record_types: [Azure]\nresources: []\n")
    (folder / "a.yaml").write_text(CONTRACT)
    (folder / "notes.txt").write_text("ignored")
    files = load_rules(folder, set(kinds), display_root=tmp_path)
    assert [(f.file, f.record_types, len(f.resources)) for f in files] == [
        ("rules/a.yaml", ("CSP365",), 1),
        ("rules/b.yaml", ("Azure",), 0),
    ]


def test_missing_rules_folder(tmp_path: Path, kinds: dict[str, KindSpec]) -> None:
    with pytest.raises(RuleError, match=r"rules folder not found$"):
        load_rules(tmp_path / "absent", set(kinds))


def test_shipped_rules_load(shipped_rules: list[RuleFile]) -> None:
    assert [(f.file, f.record_types) for f in shipped_rules] == [
        ("rules/azure.yaml", ("Azure",)),
        ("rules/csp365.yaml", ("CSP365",)),
        ("rules/marketplace.yaml", ("Marketplace",)),
        ("rules/perpetual_licenses.yaml", ("PerpetualLicense",)),
        ("rules/reserved_instances.yaml", ("ReservedInstance",)),
        ("rules/subscriptions.yaml", ("Subscription",)),
    ]
    csp = shipped_rules[1]
    assert [(r.kind, r.for_each) for r in csp.resources][:5] == [
        ("service", "products"),
        ("contract", "subscriptions"),
        ("contract_service", "subscriptions"),
        ("adjustment", "subscription_months"),
        ("charge", "subscription_months"),
    ]


def test_environment_is_sandboxed_and_strict() -> None:
    env = make_environment()
    assert env.from_string("{{ a }}-{{ b | money }}").render(a="x", b=Decimal("3.5")) == "x-3.50"
    assert env.from_string("{{ b | money(4) }}").render(b=Decimal("3.33333")) == "3.3333"


def test_d22_money_filter_rounds_half_up() -> None:
    env = make_environment()
    assert env.from_string("{{ v | money }}").render(v=Decimal("0.125")) == "0.13"
    assert env.from_string("{{ v | money(4) }}").render(v=Decimal("2.00005")) == "2.0001"
