"""Fixtures of the end-to-end tests: a fresh workspace and sandbox per test, embedded or served.

- ``embedded``: no ``autotask`` key in the workspace, so the CLI runs the in-process sandbox over
  ``.billsync/sandbox.db``; the tests read the same database through the sandbox's REST API mounted
  on an httpx WSGI transport.
- ``served``: the sandbox served on a loopback port by ``start_background_server``; the workspace
  names it in ``billsync.yaml`` (``autotask.url``) with the credentials in the ``AUTOTASK_*`` variables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from providers.autotask.sandbox import BackgroundServer, SandboxApp, make_app, start_background_server

from ._support import SANDBOX_ENV, SANDBOX_HEADERS, SandboxApi, Setup, SetupFactory, Workspace

MODES = ("embedded", "served")


@pytest.fixture
def make_setup(tmp_path: Path) -> Iterator[SetupFactory]:
    """Build a workspace over a new sandbox: ``make_setup(mode, bundle=None, companies=(), db=None)``."""
    servers: list[BackgroundServer] = []
    apps: list[SandboxApp] = []
    clients: list[httpx.Client] = []

    def make(
        mode: str,
        *,
        bundle: Path | None = None,
        companies: Sequence[tuple[int, str]] = (),
        db: str | None = None,
    ) -> Setup:
        root = tmp_path / "ws"
        root.mkdir()
        workspace = Workspace(root, env={key: None for key in SANDBOX_ENV})
        if mode == "embedded":
            path: Path | str = root / ".billsync" / "sandbox.db"
            if companies:
                _seed(apps, path, companies)
            if bundle is not None:
                workspace.configure(bundle=bundle)

            def embedded_api() -> SandboxApi:
                app = make_app(path)
                apps.append(app)
                client = httpx.Client(transport=httpx.WSGITransport(app=app), headers=SANDBOX_HEADERS)
                clients.append(client)
                return SandboxApi(client, "http://sandbox.local")

            return Setup(mode, workspace, path, embedded_api)
        path = db or tmp_path / "sandbox.db"
        app = _seed(apps, path, companies)
        server = start_background_server(app=app, port=0)
        servers.append(server)
        workspace.configure(url=server.base_url.rstrip("/"), bundle=bundle)
        workspace.env = dict(SANDBOX_ENV)
        client = httpx.Client(headers=SANDBOX_HEADERS, timeout=60)
        clients.append(client)
        api = SandboxApi(client, server.url)
        return Setup(mode, workspace, path, lambda: api)

    yield make
    for client in clients:
        client.close()
    for server in servers:
        server.stop()
    for app in apps:
        app.store.close()


def _seed(apps: list[SandboxApp], path: Path | str, companies: Sequence[tuple[int, str]]) -> SandboxApp:
    """A sandbox app over ``path`` holding the demo tenant plus ``companies`` (id, name)."""
    app = make_app(path)
    apps.append(app)
    if companies:
        app.store.insert_many(
            "Companies", [{"id": i, "companyName": n, "companyType": 1} for i, n in companies]
        )
    return app


@pytest.fixture(params=MODES)
def sandbox_setup(request: pytest.FixtureRequest, make_setup: SetupFactory) -> Setup:
    """The embedded default workspace (no billsync.yaml) or one pointing at a served sandbox."""
    return make_setup(request.param)
