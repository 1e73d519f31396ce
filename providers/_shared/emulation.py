"""Plumbing both emulators share: counting injected faults, and serving an app on loopback.

What a fault selects and does differs between the Autotask sandbox and the Cloudmore emulator, so each
defines its own fault model and decides when one applies; counting the requests a fault has seen
(fire on the ``nth`` for ``times`` in a row) and running a WSGI app on a loopback port are the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar
from wsgiref.types import WSGIApplication

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["FaultInjector", "LoopbackServer", "serve_until_interrupted", "start_in_background"]


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
        """Stop serving and wait for the thread to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_in_background(
    kind: type[ServerT], app: WSGIApplication, *, host: str, port: int, thread_name: str
) -> ServerT:
    """Serve ``app`` on ``host`` from a daemon thread named ``thread_name``; port 0 picks a free port."""
    server = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=thread_name, daemon=True
    )
    thread.start()
    return kind(app, host, server.server_port, server, thread)


def serve_until_interrupted(app: WSGIApplication, host: str, port: int) -> None:
    """Serve ``app`` over HTTP (threaded) in this thread until interrupted (Ctrl-C)."""
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
