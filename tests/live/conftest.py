"""Live contract tests against a real Autotask tenant: opt-in, never part of the default run.

``pytest -m live`` with ``BILLSYNC_LIVE=1`` and the ``AUTOTASK_*`` credentials set runs the read
paths and ``doctor``; ``BILLSYNC_LIVE_WRITE=1`` adds the create/read/update round trip (meant for an
Autotask *sandbox* tenant). Without them every test here is skipped with one line saying how to run
them, so the default run never touches the network.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from providers.autotask.client import AutotaskClient
from providers.autotask.config import ClientConfig, Credentials
from providers.autotask.metadata import TenantMetadata

HOW_TO_RUN = (
    "live Autotask tests: set BILLSYNC_LIVE=1, AUTOTASK_USERNAME, AUTOTASK_SECRET, AUTOTASK_INTEGRATION_CODE "
    "(optional AUTOTASK_URL; BILLSYNC_LIVE_WRITE=1 for the write round trip on a sandbox tenant) and run pytest -m live"
)
_CREDENTIALS = ("AUTOTASK_USERNAME", "AUTOTASK_SECRET", "AUTOTASK_INTEGRATION_CODE")


def live_enabled() -> bool:
    return os.environ.get("BILLSYNC_LIVE") == "1" and all(os.environ.get(name) for name in _CREDENTIALS)


def writes_enabled() -> bool:
    return live_enabled() and os.environ.get("BILLSYNC_LIVE_WRITE") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test of this folder, with one reason saying how to run them, unless enabled."""
    if live_enabled():
        return
    skip = pytest.mark.skip(reason=HOW_TO_RUN)
    for item in items:
        if item.get_closest_marker("live") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def live_url() -> str | None:
    """``AUTOTASK_URL`` (the REST root), or None: the zone lookup finds it."""
    return os.environ.get("AUTOTASK_URL") or None


@pytest.fixture(scope="session")
def live_client(live_url: str | None) -> Iterator[AutotaskClient]:
    with AutotaskClient(Credentials.from_env(), ClientConfig(base_url=live_url)) as client:
        yield client


@pytest.fixture(scope="session")
def live_meta(live_client: AutotaskClient) -> TenantMetadata:
    return TenantMetadata(live_client)
