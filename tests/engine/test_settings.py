"""Settings: required ids (D4), record types (D5), defaults, and errors that name the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import RuleError
from engine.settings import RecordTypes, Settings, load_settings, parse_settings
from engine.yamlfile import load_yaml_text

ROOT = Path(__file__).resolve().parents[2]
FILE = "rules/settings.yaml"
BASE = "currency: USD\nsla_id: 1\nservice_billing_code_id: 2001\nproduct_billing_code_id: 2002\n"


def parse(text: str) -> Settings:
    return parse_settings(load_yaml_text(text, FILE), FILE)


def test_defaults() -> None:
    settings = parse(BASE)
    assert (
        settings.currency,
        settings.sla_id,
        settings.service_billing_code_id,
        settings.product_billing_code_id,
    ) == (
        "USD",
        1,
        2001,
        2002,
    )
    assert settings.record_types == RecordTypes()
    assert (settings.contract_type, settings.ongoing_contract_years) == (7, 10)
    assert (settings.removal_policy, settings.rounding) == ("keep", "charge")
    assert settings.companies == {} and settings.vars == {"contract_prefix": ""}


def test_every_default_is_the_shipped_settings_file_value() -> None:
    """Settings given inline (only the required ids) equal the shipped file: no key the shipped rules use
    is missing (``vars.contract_prefix`` was, and every plan failed)."""
    shipped = load_settings(ROOT / "rules" / "settings.yaml", FILE)
    assert parse(BASE) == shipped
    assert parse(BASE + "vars: {team: ops}\n").vars == {"contract_prefix": "", "team": "ops"}
    assert parse(BASE + "vars: {contract_prefix: 'MS '}\n").vars == {"contract_prefix": "MS "}


def test_d5_record_types_can_be_turned_off() -> None:
    settings = parse(BASE + "record_types:\n  csp365: false\n  azure: no\n")
    assert [settings.record_types.enabled(n) for n in ("csp365", "azure", "marketplace")] == [
        False,
        False,
        True,
    ]
    assert not settings.record_types.enabled("office")


def test_shipped_settings_load() -> None:
    settings = load_settings(ROOT / "rules" / "settings.yaml", FILE)
    assert (
        settings.currency,
        settings.sla_id,
        settings.service_billing_code_id,
        settings.product_billing_code_id,
    ) == (
        "USD",
        1,
        2001,
        2002,
    )
    assert settings.vars == {"contract_prefix": ""}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace("sla_id: 1\n", ""), "rules/settings.yaml:1: setting 'sla_id': Field required"),
        (
            BASE + "record_types:\n  csp365: maybe\n",
            "rules/settings.yaml:6: setting 'record_types.csp365': Input should be a valid boolean, "
            "unable to interpret input",
        ),
        (
            BASE + "currancy: EUR\n",
            "rules/settings.yaml:5: setting 'currancy': Extra inputs are not permitted",
        ),
        (
            BASE.replace("USD", "usd"),
            "rules/settings.yaml:1: setting 'currency': String should match pattern '^[A-Z]{3}$'",
        ),
        (
            BASE + "ongoing_contract_years: 0\n",
            "rules/settings.yaml:5: setting 'ongoing_contract_years': Input should be greater than or equal to 1",
        ),
        (
            BASE + "companies:\n  ORG-1: abc\n",
            "rules/settings.yaml:6: setting 'companies.ORG-1': Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
        (
            BASE + "removal_policy: delete\n",
            "rules/settings.yaml:5: setting 'removal_policy': Input should be 'keep' or 'end'",
        ),
        ("- a\n", "rules/settings.yaml:1: settings must be a mapping of keys to values"),
    ],
)
def test_errors_name_the_file_line_and_setting(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse(text)
    assert caught.value.message == message
    assert caught.value.file == FILE


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"^rules/settings\.yaml: file not found$"):
        load_settings(tmp_path / "settings.yaml", FILE)
