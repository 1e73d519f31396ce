"""Settings given inline in billsync.yaml, and ``validate`` rendering every template against the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import RuleError

from ._support import AS_OF, EXAMPLE_BUNDLE, Bundle, Workspace, plan_summary

REQUIRED = "  currency: USD\n  sla_id: 1\n  service_billing_code_id: 2001\n  product_billing_code_id: 2002\n"
CORRECTION_NAME = 'name: "Correction {{ correction.period }}"'


def _contract_names(plan: dict[str, object]) -> dict[str, str]:
    changes = plan["changes"]
    assert isinstance(changes, list)
    return {c["address"]: c["after"]["contractName"] for c in changes if c["kind"] == "contract"}


@pytest.mark.parametrize(("extra", "prefix"), [("", ""), ("  vars: {contract_prefix: 'MS: '}\n", "MS: ")])
def test_inline_settings_get_the_shipped_defaults(tmp_path: Path, extra: str, prefix: str) -> None:
    """Only the required ids inline: the plan is the shipped settings' plan (``vars.contract_prefix`` is "")."""
    shipped = Workspace(tmp_path / "shipped")
    shipped.root.mkdir()
    inline = Workspace(tmp_path / "inline")
    inline.root.mkdir()
    (inline.root / "billsync.yaml").write_text("settings:\n" + REQUIRED + extra, encoding="utf-8")

    plan = inline.plan_json()
    assert plan["summary"] == plan_summary(add=70, adopt=6)
    expected = {a: prefix + name for a, name in _contract_names(shipped.plan_json()).items()}
    assert _contract_names(plan) == expected
    bundle = Bundle(EXAMPLE_BUNDLE)
    assert len(expected) == len(bundle.synced()) and all(n.startswith(prefix) for n in expected.values())


def test_validate_renders_every_template_so_an_undefined_variable_is_caught_before_any_plan(
    tmp_path: Path,
) -> None:
    """The correction template renders only when a report is revised: ``plan`` does not see a typo in it
    for months, ``validate`` does, naming the file, line, record and variable."""
    root = tmp_path / "ws"
    Workspace(tmp_path).run("init", str(root))
    workspace = Workspace(root)
    valid = workspace.run("validate").stdout
    assert valid == (
        "Valid: settings, 6 rule files, 19 subscriptions, 3 billing reports; every template rendered against "
        "every report (169 resources).\n"
    )
    rules = root / "rules" / "csp365.yaml"
    text = rules.read_text(encoding="utf-8")
    assert text.count(CORRECTION_NAME) == 1
    line = text[: text.index(CORRECTION_NAME)].count("\n") + 1
    rules.write_text(
        text.replace(CORRECTION_NAME, 'name: "Correction {{ correction.period }} {{ vars.team }}"'),
        encoding="utf-8",
    )
    assert json.loads(workspace.run("plan", "--json", "--as-of", AS_OF).stdout)["summary"] == plan_summary(
        add=70, adopt=6
    )  # nothing revised yet: the plan never renders the correction template

    refused = workspace.run("validate", expect=1)
    assert isinstance(refused.exception, RuleError)
    message = str(refused.exception)
    assert message.startswith(f"rules/csp365.yaml:{line} (subscription ")
    assert "undefined value in 'Correction {{ correction.period }} {{ vars.team }}'" in message
    assert "has no attribute 'team'" in message
