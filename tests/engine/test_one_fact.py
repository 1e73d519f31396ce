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
