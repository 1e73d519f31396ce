"""The default mapping rules shipped with billsync (YAML + Jinja), one file per record type."""

from __future__ import annotations

from pathlib import Path


def default_rules_dir() -> Path:
    """The folder holding the shipped rule files (also inside an installed wheel)."""
    return Path(__file__).resolve().parent
