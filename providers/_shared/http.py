"""The HTTP client both providers use: a total deadline per request and a cap on each answer's size,
and the rule that credentials travel over TLS unless the server is on this machine.

httpx's timeouts apply to each network operation: a server that sends one byte every few seconds
never trips a 60-second read timeout and can hold a request for ever, and an endless body is read
into memory until it runs out. Here every socket read and write of a request is given at most what
is left of the request's deadline (connecting, sending, the headers and the body together), and the
body is counted as it arrives. Either limit raises :class:`HttpLimitError`, which is not retried: a
server that trickles or floods is broken, not busy.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx

from engine.errors import ConfigError, LimitError
from engine.workspace import HttpLimits

__all__ = ["HttpLimitError", "HttpLimits", "check_url", "limited_client"]

_log = logging.getLogger("billsync.http")
_MiB = 1024 * 1024


class HttpLimitError(LimitError):
    """An answer that took longer than the request deadline or was larger than the size cap."""


class _Deadlines(threading.local):
    """The deadline of the request each thread is sending (httpx's sync client keeps a request,
    its headers and its body in the thread that sent it)."""

    at: float | None = None
    what: str = ""


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadlines: _Deadlines, limits: HttpLimits) -> None:
        self._inner = inner
        self._deadlines = deadlines
        self._limits = limits

    def _timeout(self, timeout: float | None) -> float | None:
        return _capped(self._deadlines, self._limits, timeout)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._inner.read(max_bytes, self._timeout(timeout))
        except httpcore.ReadTimeout:
            self._timeout(None)  # past the deadline: say so rather than "read timeout"
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._inner.write(buffer, self._timeout(timeout))
        except httpcore.WriteTimeout:
            self._timeout(None)
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, self._timeout(timeout)),
            self._deadlines,
            self._limits,
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _capped(deadlines: _Deadlines, limits: HttpLimits, timeout: float | None) -> float | None:
    """``timeout`` for one socket operation, cut to what is left of the request's deadline."""
    deadline = deadlines.at
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise _overdue(deadlines.what, limits)
    return left if timeout is None else min(timeout, left)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadlines: _Deadlines, limits: HttpLimits) -> None:
        self._inner = inner
        self._deadlines = deadlines
        self._limits = limits

    def connect_tcp(  # type: ignore[override]
        self, host: str, port: int, timeout: float | None = None, **options: Any
    ) -> Any:
        try:
            inner = self._inner.connect_tcp(
                host, port, _capped(self._deadlines, self._limits, timeout), **options
            )
        except httpcore.ConnectTimeout:
            _capped(self._deadlines, self._limits, None)  # past the deadline: say so
            raise
        stream = _DeadlineStream(inner, self._deadlines, self._limits)
        stream._timeout(None)  # a connect that outlived the deadline
        return stream

    def connect_unix_socket(  # type: ignore[override]
        self, path: str, timeout: float | None = None, **options: Any
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, timeout, **options), self._deadlines, self._limits
        )

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _LimitedBody(httpx.SyncByteStream):
    def __init__(
        self, inner: Any, limits: HttpLimits, deadlines: _Deadlines, deadline: float, what: str
    ) -> None:
        self._inner = inner
        self._limits = limits
        self._deadlines = deadlines
        self._deadline = deadline
        self._what = what

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        cap = int(self._limits.max_response_mb * _MiB)
        self._deadlines.at, self._deadlines.what = self._deadline, self._what
        try:
            for chunk in self._inner:
                size += len(chunk)
                if size > cap:
                    raise _too_large(self._what, self._limits)
                if time.monotonic() > self._deadline:
                    raise _overdue(self._what, self._limits)
                yield chunk
        finally:
            self._deadlines.at = None

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class _LimitedTransport(httpx.BaseTransport):
    """Any transport, its requests held to a deadline and its answers to a size."""

    def __init__(self, inner: httpx.BaseTransport, limits: HttpLimits, deadlines: _Deadlines) -> None:
        self._inner = inner
        self._limits = limits
        self._deadlines = deadlines
        pool = getattr(inner, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None:  # a real network transport: bound every socket operation too
            pool._network_backend = _DeadlineBackend(backend, deadlines, limits)  # type: ignore[union-attr]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        what = f"{request.method} {request.url.copy_with(query=None, fragment=None, username=None, password=None)}"
        deadline = time.monotonic() + self._limits.deadline_seconds
        self._deadlines.at, self._deadlines.what = deadline, what
        try:
            response = self._inner.handle_request(request)
        finally:
            self._deadlines.at = None
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self._limits.max_response_mb * _MiB:
            response.close()
            raise _too_large(what, self._limits)
        response.stream = _LimitedBody(response.stream, self._limits, self._deadlines, deadline, what)
        return response

    def close(self) -> None:
        self._inner.close()


class _LimitedClient(httpx.Client):
    def __init__(self, limits: HttpLimits, **options: Any) -> None:
        self._billsync_limits = limits
        self._billsync_deadlines = _Deadlines()
        super().__init__(**options)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx.BaseTransport:
        inner = super()._init_transport(*args, **kwargs)
        return _LimitedTransport(inner, self._billsync_limits, self._billsync_deadlines)

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx.BaseTransport:
        inner = super()._init_proxy_transport(*args, **kwargs)
        return _LimitedTransport(inner, self._billsync_limits, self._billsync_deadlines)


def limited_client(limits: HttpLimits | None = None, **options: Any) -> httpx.Client:
    """An :class:`httpx.Client` (``options`` as for httpx) whose every request, through any transport
    or proxy, is held to ``limits``: a total deadline and a maximum answer size."""
    return _LimitedClient(limits or HttpLimits(), **options)


def check_url(url: str, *, service: str, setting: str, allow_insecure_http: bool) -> None:
    """Refuse ``http://`` to any host but this machine's loopback: the credentials would cross the
    network in clear text. ``allow_insecure_http`` lets it through, with a warning on every run."""
    parsed = httpx.URL(url)
    if parsed.scheme != "http" or _is_loopback(parsed.host):
        return
    if not allow_insecure_http:
        raise ConfigError(
            f"billsync.yaml: {setting} is {url}: plain http:// to {parsed.host}, which is not this machine; "
            f"the {service} credentials would be sent unencrypted",
            hint="Use https://. Only for a test server you trust, set allow_insecure_http: true in billsync.yaml.",
        )
    _log.warning(
        "INSECURE: %s is reached over plain http:// at %s (allow_insecure_http: true); its credentials "
        "cross the network unencrypted.",
        service,
        parsed.host,
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _overdue(what: str, limits: HttpLimits) -> HttpLimitError:
    return HttpLimitError(
        f"no complete answer to {what} within {limits.deadline_seconds:g} s (the deadline for one request, "
        "headers and body together); billsync stopped waiting",
        hint="The server is too slow or is trickling its answer. Check the URL and the server; raise "
        "limits.http.deadline_seconds in billsync.yaml only if it is genuinely that slow. If it was a write, "
        "run plan again: billsync finds what was written.",
    )


def _too_large(what: str, limits: HttpLimits) -> HttpLimitError:
    return HttpLimitError(
        f"the answer to {what} is larger than {limits.max_response_mb:g} MiB, billsync's limit; it was not read",
        hint="Check the URL and the server; raise limits.http.max_response_mb in billsync.yaml only if such an "
        "answer is expected.",
    )
