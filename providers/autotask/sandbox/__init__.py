"""The Autotask sandbox: an emulator of the Autotask REST API over a local SQLite tenant.

It is billsync's embedded default Autotask and the test double for every test. Run it in process
through ``httpx.WSGITransport(app=make_app(":memory:"))`` or as a server with :func:`serve`.
Default credentials are :data:`SANDBOX_CREDENTIALS`. The sandbox follows AUTOTASK.md Part 1; its
billing conventions are documented in one place, :mod:`providers.autotask.sandbox._units`.
"""

from ._app import SandboxApp
from ._config import SANDBOX_CREDENTIALS, SandboxConfig, SandboxCredentials
from ._faults import Fault
from ._limits import EndpointStats, SandboxStats
from ._routes import BASE_PATH
from ._seed import demo_rows
from ._server import BackgroundServer, make_app, reset, serve, start_background_server
from ._store import DEFAULT_DB_PATH, SandboxStore

__all__ = [
    "BASE_PATH",
    "DEFAULT_DB_PATH",
    "SANDBOX_CREDENTIALS",
    "BackgroundServer",
    "EndpointStats",
    "Fault",
    "SandboxApp",
    "SandboxConfig",
    "SandboxCredentials",
    "SandboxStats",
    "SandboxStore",
    "demo_rows",
    "make_app",
    "reset",
    "serve",
    "start_background_server",
]
