"""Plumbing both emulators share: counting injected faults, and serving an app on loopback.

What a fault selects and does differs between the Autotask sandbox and the Cloudmore emulator, so each
defines its own fault model and decides when one applies; counting the requests a fault has seen
(fire on the ``nth`` for ``times`` in a row) and running a WSGI app on a loopback port are the same.

The server is waitress: HTTP/1.1 with keep-alive, as the real services answer, so a client's pool of
connections is used as it is in production (a server closing every connection, as werkzeug's
development server does, costs a new connection and a new thread per request). Its pool has more
threads than any client sends requests at once, so the emulators see every concurrent request and
refuse what goes over their limits, instead of a queue in the server hiding it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar
from wsgiref.types import WSGIApplication

from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server

__all__ = ["FaultInjector", "LoopbackServer", "serve_until_interrupted", "start_in_background"]

_THREADS = 32
"""Threads serving requests: above anything a client sends at once (3 per endpoint, D-limits), so a
request over the limit reaches the emulator and is refused there, never queued unseen."""


class _Counted(Protocol):
    @property
    def nth(self) -> int: ...

    @property
    def times(self) -> int: ...


FaultT = TypeVar("FaultT", bound=_Counted)
AppT = TypeVar("AppT", bound=WSGIApplication)
ServerT = TypeVar("ServerT", bound="LoopbackServer[Any]")


class FaultInjector(Generic[FaultT]):
    """The faults currently set and how many matching requests each has seen.

    A fault counts the requests it applies to from when it is set, and fires for the ``nth`` of them
    and the ``times - 1`` that follow. ``model`` builds a fault from keywords in :meth:`inject`.
    """

    def __init__(self, model: Callable[..., FaultT]) -> None:
        self._model = model
        self._lock = threading.Lock()
        self._faults: list[tuple[FaultT, list[int]]] = []

    def inject(self, fault: FaultT | None = None, **spec: Any) -> FaultT:
        """Set a fault (a model, or its fields as keywords); it counts requests from now."""
        chosen = fault if fault is not None else self._model(**spec)
        self.add(chosen)
        return chosen

    def add(self, fault: FaultT) -> None:
        with self._lock:
            self._faults.append((fault, [0]))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[FaultT]:
        with self._lock:
            return [fault for fault, _ in self._faults]

    def fire(self, applies: Callable[[FaultT], bool]) -> list[FaultT]:
        """Count this request against every fault it ``applies`` to; return those that fire for it."""
        firing: list[FaultT] = []
        with self._lock:
            for fault, seen in self._faults:
                if not applies(fault):
                    continue
                seen[0] += 1
                if fault.nth <= seen[0] < fault.nth + fault.times:
                    firing.append(fault)
        return firing


@dataclass
class LoopbackServer(Generic[AppT]):
    """An app served on a loopback port from a background thread, until :meth:`stop` or the ``with`` ends."""

    app: AppT
    host: str
    port: int
    _server: BaseWSGIServer
    _thread: threading.Thread
    _sockets: dict[int, Any] = field(default_factory=dict)
    """The server's socket map (listening socket and open connections), closed by :meth:`stop`."""

    @property
    def url(self) -> str:
        """The server root, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving: the serving thread closes every socket itself (closing them from here would
        pull them from under its ``select``), which ends its loop; then the request threads end."""
        self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._sockets))
        self._thread.join(timeout=10)
        self._server.task_dispatcher.shutdown()


def _server(app: WSGIApplication, host: str, port: int, sockets: dict[int, Any]) -> BaseWSGIServer:
    logging.getLogger("waitress").setLevel(logging.CRITICAL)  # an injected lost response is no news
    return create_server(app, map=sockets, host=host, port=port, threads=_THREADS, ident="")


def start_in_background(
    kind: type[ServerT], app: WSGIApplication, *, host: str, port: int, thread_name: str
) -> ServerT:
    """Serve ``app`` on ``host`` from a daemon thread named ``thread_name``; port 0 picks a free port."""
    sockets: dict[int, Any] = {}
    server = _server(app, host, port, sockets)
    thread = threading.Thread(target=server.run, name=thread_name, daemon=True)
    thread.start()
    return kind(app, host, int(server.effective_port), server, thread, sockets)


def serve_until_interrupted(app: WSGIApplication, host: str, port: int) -> None:
    """Serve ``app`` over HTTP/1.1 in this thread until interrupted (Ctrl-C)."""
    server = _server(app, host, port, {})
    try:
        server.run()  # ends on Ctrl-C, having shut its request threads down
    finally:
        server.close()
