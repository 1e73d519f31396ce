"""Running the emulator: as a real HTTP server, in a background thread for tests, or in process."""

from __future__ import annotations

from pathlib import Path

from providers._shared.emulation import LoopbackServer, serve_until_interrupted, start_in_background
from providers.cloudmore.api_names import Names
from providers.cloudmore.bundle import read_bundle

from ._app import EmulatorApp
from ._config import EmulatorConfig

__all__ = ["BackgroundServer", "make_app", "serve", "start_background_server"]


def make_app(bundle: Path, config: EmulatorConfig | None = None, names: Names | None = None) -> EmulatorApp:
    """An emulator serving the export bundle in folder ``bundle`` (read and checked once, now), with
    the JSON ``names`` given (default: the shipped mapping)."""
    return EmulatorApp(read_bundle(bundle), config, names)


def serve(app: EmulatorApp, host: str = "127.0.0.1", port: int = 8090) -> None:
    """Serve ``app`` over HTTP (threaded) until interrupted."""
    serve_until_interrupted(app, host, port)


class BackgroundServer(LoopbackServer[EmulatorApp]):
    """An emulator served on a loopback port from a background thread; its :attr:`url` is the API base URL
    (what ``cloudmore.api.url`` takes)."""


def start_background_server(app: EmulatorApp, *, host: str = "127.0.0.1", port: int = 0) -> BackgroundServer:
    """Serve ``app`` on ``host``; port 0 picks a free port."""
    return start_in_background(
        BackgroundServer, app, host=host, port=port, thread_name="billsync-cloudmore-emulator"
    )
