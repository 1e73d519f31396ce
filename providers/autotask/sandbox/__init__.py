"""The Autotask sandbox: an emulator of the Autotask REST API over a local SQLite tenant.

It is billsync's embedded default Autotask and the test double for every test. It holds billsync to
the published API: each behaviour, its source and the assumptions taken where nothing is published
are listed in ``FIDELITY.md`` next to this file. The tenant's configuration (SLAs, UDFs, billing
codes) is changed from tests through ``app.tenant`` (:mod:`._tenant`). One app, three ways to run it::

    app = make_app(":memory:")                      # or a file, default .billsync/sandbox.db
    httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://sandbox" + BASE_PATH,
                 headers=SANDBOX_CREDENTIALS.headers())
    with start_background_server(app) as server:    # loopback, port 0 picks a free port
        ...server.base_url...
    serve(port=8080, db=".billsync/sandbox.db")     # blocking, threaded

Control endpoints (same auth headers; neither counted nor limited): ``GET /_sandbox/stats``,
``POST /_sandbox/stats/reset``, ``GET|POST|DELETE /_sandbox/faults`` (a :class:`Fault` as JSON),
``POST /_sandbox/charges/{id}/bill``, ``POST /_sandbox/post`` (``{"through": "YYYY-MM-DD"}``: approve
and post, :mod:`._posting`), ``POST /_sandbox/reset``. In process, the same are
:meth:`SandboxApp.stats`, :meth:`~SandboxApp.reset_stats`, :meth:`~SandboxApp.inject_fault`,
:meth:`~SandboxApp.clear_faults`, :meth:`~SandboxApp.bill_charge`, ``app.tenant.post`` and
:meth:`~SandboxApp.reset`.
Autotask's pace (read and write latency, jitter, usage-based latency) is a :class:`Pace` passed to
``make_app``/``start_background_server``; each entity's stats record the longest chain of pages read
through ``nextPageUrl`` links. Benchmarks seed large tenants with :meth:`SandboxStore.insert_many`.

The billing conventions (ContractServiceUnits rows, charge totals) are documented in one place,
:mod:`providers.autotask.sandbox._billing`; entity fields and picklists in
:mod:`providers.autotask.entities`.
"""

from ._app import SandboxApp
from ._config import SANDBOX_CREDENTIALS, SandboxConfig, SandboxCredentials
from ._faults import Fault
from ._limits import EndpointStats, SandboxStats
from ._pace import Pace, request_delay
from ._routes import BASE_PATH
from ._seed import demo_rows
from ._server import BackgroundServer, make_app, reset, serve, start_background_server
from ._store import DEFAULT_DB_PATH, SandboxStore
from ._tenant import Sla, Tenant

__all__ = [
    "BASE_PATH",
    "DEFAULT_DB_PATH",
    "SANDBOX_CREDENTIALS",
    "BackgroundServer",
    "EndpointStats",
    "Fault",
    "Pace",
    "SandboxApp",
    "SandboxConfig",
    "SandboxCredentials",
    "SandboxStats",
    "SandboxStore",
    "Sla",
    "Tenant",
    "demo_rows",
    "make_app",
    "request_delay",
    "reset",
    "serve",
    "start_background_server",
]
