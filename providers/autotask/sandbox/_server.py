"""Running the sandbox: as a real HTTP server, in a background thread for tests, or in process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ._app import SandboxApp
from ._config import SandboxConfig
from ._routes import BASE_PATH
from ._store import DEFAULT_DB_PATH, SandboxStore


def make_app(db: str | Path = DEFAULT_DB_PATH, config: SandboxConfig | None = None) -> SandboxApp:
    """A sandbox app over the database at ``db`` (``":memory:"`` for a throwaway tenant)."""
    return SandboxApp(SandboxStore(db), config)


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
    server = make_server(host, port, app or make_app(db, config), threaded=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's signature
        """Stay silent: tests read the counters, not the access log."""


@dataclass
class BackgroundServer:
    """A sandbox served on a loopback port from a background thread."""

    app: SandboxApp
    host: str
    port: int
    _server: BaseWSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The REST base, e.g. ``http://127.0.0.1:54321/ATServicesRest/V1.0/``."""
        return self.url + BASE_PATH

    def __enter__(self) -> BackgroundServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_background_server(
    app: SandboxApp | None = None, *, host: str = "127.0.0.1", port: int = 0, db: str | Path = ":memory:"
) -> BackgroundServer:
    """Serve ``app`` (or a new in-memory sandbox) on ``host``; port 0 picks a free port."""
    chosen = app or make_app(db)
    server = make_server(host, port, chosen, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="billsync-sandbox", daemon=True
    )
    thread.start()
    return BackgroundServer(chosen, host, server.server_port, server, thread)
