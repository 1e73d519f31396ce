"""Running the sandbox: as a real HTTP server, in a background thread for tests, or in process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from providers._shared.emulation import LoopbackServer, serve_until_interrupted, start_in_background

from ._app import SandboxApp
from ._config import SandboxConfig
from ._pace import Pace
from ._routes import BASE_PATH
from ._store import DEFAULT_DB_PATH, SandboxStore


def make_app(
    db: str | Path = DEFAULT_DB_PATH, config: SandboxConfig | None = None, *, pace: Pace | None = None
) -> SandboxApp:
    """A sandbox app over the database at ``db`` (``":memory:"`` for a throwaway tenant).

    ``pace`` (when given) replaces the config's: how long each request is held (:mod:`._pace`).
    """
    chosen = config or SandboxConfig()
    if pace is not None:
        chosen = dataclasses.replace(chosen, pace=pace)
    return SandboxApp(SandboxStore(db), chosen)


def reset(db: str | Path = DEFAULT_DB_PATH) -> None:
    """Recreate the seeded demo tenant in the database at ``db`` (everything else is dropped)."""
    store = SandboxStore(db, seed=False)
    try:
        store.reset()
    finally:
        store.close()


def serve(
    host: str = "127.0.0.1",
    port: int = 8080,
    db: str | Path = DEFAULT_DB_PATH,
    config: SandboxConfig | None = None,
    *,
    app: SandboxApp | None = None,
) -> None:
    """Serve the sandbox over HTTP (threaded) until interrupted."""
    serve_until_interrupted(app or make_app(db, config), host, port)


class BackgroundServer(LoopbackServer[SandboxApp]):
    """A sandbox served on a loopback port from a background thread."""

    @property
    def base_url(self) -> str:
        """The REST base, e.g. ``http://127.0.0.1:54321/ATServicesRest/V1.0/``."""
        return self.url + BASE_PATH


def start_background_server(
    app: SandboxApp | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    db: str | Path = ":memory:",
    pace: Pace | None = None,
) -> BackgroundServer:
    """Serve ``app`` (or a new in-memory sandbox at ``pace``) on ``host``; port 0 picks a free port."""
    if app is not None and pace is not None:
        raise ValueError("pass pace to make_app when passing an app")
    chosen = app or make_app(db, pace=pace)
    return start_in_background(BackgroundServer, chosen, host=host, port=port, thread_name="billsync-sandbox")
