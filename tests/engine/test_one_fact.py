"""Each fact has one home: one diagnostic type, one record-type list, one drift rule."""

from __future__ import annotations

import ast
from pathlib import Path

import engine.context
import engine.plan
from engine.diagnostics import Diagnostic

ROOT = Path(__file__).resolve().parents[2]


def _classes_named(name: str) -> list[str]:
    found = []
    for package in ("engine", "providers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [
                str(path.relative_to(ROOT))
                for node in ast.walk(tree)
                if isinstance(node, ast.ClassDef) and node.name == name
            ]
    return found


def test_one_diagnostic_type_from_the_source_to_the_plan() -> None:
    assert _classes_named("Diagnostic") == ["engine/diagnostics.py"]
    assert engine.context.Diagnostic is Diagnostic
    assert engine.plan.Diagnostic is Diagnostic


def test_one_record_type_list_from_cloudmore_to_the_settings() -> None:
    from engine.settings import RecordTypes
    from engine.source import RECORD_TYPE_SETTING, RECORD_TYPES
    from engine.yamlfile import load_yaml
    from providers.cloudmore import bundle
    from providers.cloudmore.synthetic import RECORD_TYPE_SHARES

    assert RECORD_TYPES == (
        "CSP365",
        "Azure",
        "Marketplace",
        "ReservedInstance",
        "PerpetualLicense",
        "Subscription",
    )
    assert list(RECORD_TYPE_SETTING) == list(RECORD_TYPES)
    assert list(RECORD_TYPE_SETTING.values()) == [
        "csp365",
        "azure",
        "marketplace",
        "reserved_instance",
        "perpetual_license",
        "subscription",
    ]
    assert list(RecordTypes.model_fields) == list(RECORD_TYPE_SETTING.values())
    assert RecordTypes().model_dump() == dict.fromkeys(RECORD_TYPE_SETTING.values(), True)
    assert not hasattr(bundle, "RECORD_TYPES") or bundle.RECORD_TYPES is RECORD_TYPES
    shipped = load_yaml(ROOT / "rules" / "settings.yaml", "settings.yaml")
    assert list(shipped["record_types"]) == list(RECORD_TYPE_SETTING.values())
    assert sorted(kind for kind, _share in RECORD_TYPE_SHARES) == sorted(RECORD_TYPES)
