"""Running the emulator: as a real HTTP server, in a background thread for tests, or in process."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from providers.cloudmore.bundle import read_bundle

from ._app import EmulatorApp
from ._config import EmulatorConfig

__all__ = ["BackgroundServer", "make_app", "serve", "start_background_server"]


def make_app(bundle: Path, config: EmulatorConfig | None = None) -> EmulatorApp:
    """An emulator serving the export bundle in folder ``bundle`` (read and checked once, now)."""
    return EmulatorApp(read_bundle(bundle), config)


def serve(app: EmulatorApp, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Serve ``app`` over HTTP (threaded) until interrupted."""
    server = make_server(host, port, app, threaded=True)
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
    """An emulator served on a loopback port from a background thread."""

    app: EmulatorApp
    host: str
    port: int
    _server: BaseWSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:54321`` (what ``cloudmore.api.url`` takes)."""
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_background_server(app: EmulatorApp, *, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Serve ``app`` on ``host``; port 0 picks a free port."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="billsync-cloudmore-emulator",
        daemon=True,
    )
    thread.start()
    return BackgroundServer(app, host, server.server_port, server, thread)
