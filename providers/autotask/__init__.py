"""Autotask PSA: REST client, resource kinds, target adapter and the sandbox emulator.

:func:`make_target` is the ``billsync.providers`` entry point: it connects to the Autotask named in
``billsync.yaml`` (credentials from the environment), or to the embedded sandbox in ``.billsync/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers._shared.http import check_url
from providers.autotask.client import AutotaskClient
from providers.autotask.config import SANDBOX_CREDENTIALS, ClientConfig, Credentials
from providers.autotask.target import AutotaskTarget

if TYPE_CHECKING:
    from engine.workspace import Workspace

__all__ = ["AutotaskTarget", "make_target", "SANDBOX_BASE_URL", "SANDBOX_DB"]

SANDBOX_BASE_URL = "http://sandbox.billsync.local/ATServicesRest/V1.0/"
"""The base URL the in-process sandbox answers on (no network involved)."""
SANDBOX_DB = "sandbox.db"


def make_target(workspace: Workspace) -> AutotaskTarget:
    """The Autotask target of a workspace: a configured tenant, or the embedded sandbox."""
    url = workspace.config.autotask.url
    if url is None and not workspace.config.autotask.zone_lookup:
        import httpx

        from providers.autotask.sandbox import make_app

        workspace.data_dir.mkdir(parents=True, exist_ok=True)
        app = make_app(db=workspace.data_dir / SANDBOX_DB)
        client = AutotaskClient(
            SANDBOX_CREDENTIALS,
            ClientConfig(base_url=SANDBOX_BASE_URL, http_limits=workspace.config.limits.http),
            transport=httpx.WSGITransport(app=app),
        )
        return AutotaskTarget(
            client,
            f"embedded Autotask sandbox ({workspace.display(workspace.data_dir / SANDBOX_DB)})",
            workspace.config.autotask.lease_seconds,
        )
    if url is not None:
        check_url(
            url,
            service="Autotask",
            setting="autotask.url",
            allow_insecure_http=workspace.config.allow_insecure_http,
        )
    credentials = Credentials.from_env()
    client = AutotaskClient(credentials, ClientConfig(base_url=url, http_limits=workspace.config.limits.http))
    return AutotaskTarget(client, url or "Autotask (zone lookup)", workspace.config.autotask.lease_seconds)
