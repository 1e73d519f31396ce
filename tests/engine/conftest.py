"""Shared fixtures for engine tests: the shipped settings and rules, the example bundles, the Autotask kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.resources import KindSpec
from engine.rules import RuleFile, load_rules
from engine.settings import Settings
from engine.source import SourceData
from providers.autotask.kinds import KINDS
from providers.cloudmore.bundle import read_bundle
from providers.cloudmore.source import example_bundle_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kinds() -> dict[str, KindSpec]:
    return KINDS


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The ids of the shipped ``rules/settings.yaml`` (USD, SLA 1, billing codes 2001/2002), defaults otherwise."""
    return Settings(
        currency="USD",
        sla_id=1,
        service_billing_code_id=2001,
        product_billing_code_id=2002,
        vars={"contract_prefix": ""},
    )


@pytest.fixture(scope="session")
def shipped_rules() -> list[RuleFile]:
    return load_rules(ROOT / "rules", set(KINDS), display_root=ROOT)


@pytest.fixture(scope="session")
def october() -> SourceData:
    """The example export of 2026-10-07: report 2026-09 available 2026-10-06."""
    return read_bundle(example_bundle_dir("2026-10-07"))


@pytest.fixture(scope="session")
def november() -> SourceData:
    """The example export of 2026-11-07: 2026-09, its revision of 2026-10-20, and 2026-10."""
    return read_bundle(example_bundle_dir("2026-11-07"))
