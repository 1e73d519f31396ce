"""The Cloudmore emulator: Cloudmore's REST API serving the data of an export bundle.

It is the test double for billsync's API source and a local stand-in for a broker's Cloudmore
account. Run it in process through ``httpx.WSGITransport(app=make_app(bundle))`` or as a server with
:func:`serve` (``billsync cloudmore-sandbox serve``). It accepts one API user
(:data:`EMULATOR_CREDENTIALS`) and one reseller (:data:`EMULATOR_RESELLER_ID`), on the paths of
Cloudmore's published API only; the JSON shapes it answers with are documented in
:mod:`providers.cloudmore.emulator._documents`, with the shipped names or any other
:class:`~providers.cloudmore.api_names.Names` (an account that spells them otherwise). Tests can
also swap its data (:meth:`EmulatorApp.replace_data`) and give organizations their own prices. Tests steer it with
faults (fail or delay the Nth request, or lose its answer), reports that stay "generating" for K
polls, token revocation, and read its request and token counters and the write requests it received.
"""

from ._app import EmulatorApp, EmulatorStats, RecordedWrite
from ._config import EMULATOR_CREDENTIALS, EMULATOR_RESELLER_ID, EmulatorConfig, EmulatorCredentials
from ._documents import Documents, build_documents
from ._faults import Fault
from ._server import BackgroundServer, make_app, serve, start_background_server

__all__ = [
    "EMULATOR_CREDENTIALS",
    "EMULATOR_RESELLER_ID",
    "BackgroundServer",
    "Documents",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorCredentials",
    "EmulatorStats",
    "Fault",
    "RecordedWrite",
    "build_documents",
    "make_app",
    "serve",
    "start_background_server",
]
