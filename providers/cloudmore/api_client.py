"""The Cloudmore REST client: OAuth2 token cache, paging, retries and asynchronous reports.

This is the only place billsync speaks HTTP to Cloudmore. It knows the wire (token grant, bearer
header, page envelope, the report task, status codes) and nothing about billing: answers come back
as :class:`~providers.cloudmore.api_mapping.Item` objects for the mapping module to read. A
``recorder`` sees every answer as it arrives (``billsync cloudmore capture`` saves them).

A monthly report is one ``POST …/MonthlyBillingPerOrganizationAsync`` with the month's first and
last day, whose answer names the task (in its body, or in a ``Location`` header ending with the task
id), then ``GET …/MonthlyBillingPerOrganizationAsync/{taskId}`` until it returns the report: an HTTP
202 or a pending status means "still generating", and the wait is bounded (``report.max_wait``).

Reads and idempotent writes (``PUT``) are retried on HTTP 429, 5xx and connection failures. A write
that must not happen twice (``POST`` creating an organization) is retried only when Cloudmore surely
did not carry it out (HTTP 429, or no connection was made); any other failure after it was sent raises
:class:`~providers.cloudmore.api_errors.CloudmoreWriteUnknown`, and the caller reads back what exists
before anything is sent again.

The access token (24 hours, per Cloudmore's documentation) is fetched once and reused until
``token_refresh_margin`` before it expires; a token Cloudmore refuses anyway (HTTP 401) is replaced
once and the request sent again. JSON fractions are read as ``Decimal``, never ``float``. The API
secret, password and token are never logged, shown in a ``repr`` or put in an error.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import SecretStr

from engine.scrub import Scrubber
from providers._shared.http import limited_client
from providers._shared.retry import Retry, retry_loop
from providers._shared.wire import loads, retry_after_seconds
from providers.cloudmore import api_mapping as m
from providers.cloudmore import api_paths as paths
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials
from providers.cloudmore.api_errors import (
    CloudmoreError,
    CloudmoreReportNotReady,
    CloudmoreResponseError,
    error_for_changing_list,
    error_for_exhausted_retries,
    error_for_status,
    error_for_unsure_write,
)
from providers.cloudmore.api_names import Names
from providers.cloudmore.api_token import CLIENT_ID, DEFAULT_TOKEN_SECONDS, grant_request, read_grant

__all__ = ["CLIENT_ID", "DEFAULT_TOKEN_SECONDS", "ClientStats", "CloudmoreClient", "Recorder"]

Recorder = Callable[[str, str, Mapping[str, str], httpx.Response], None]
"""Called with method, path, query and answer of every API request (token grants excepted)."""

_log = logging.getLogger("billsync.cloudmore")
_RETRIED = frozenset({429, 500, 502, 503, 504})
_MAX_PAGES = 100_000
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures that happen before a request leaves: safe to retry even a create."""


@dataclass(frozen=True)
class ClientStats:
    """Requests sent so far: every attempt counts, keyed by ``METHOD path``; token grants apart."""

    requests: dict[str, int]
    token_requests: int

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class CloudmoreClient:
    """A client for one Cloudmore broker; safe to share between threads.

    Pass ``transport`` to swap the wire (``httpx.WSGITransport`` for the in-process emulator, a
    ``MockTransport`` in tests). ``sleep`` and ``clock`` are how the client waits and tells time
    (retries, report polling, token expiry); tests pass fakes so nothing really waits. ``names`` is
    the JSON mapping (the shipped one unless a workspace overrides it); ``max_pages`` stops every list
    after that many pages (a capture reads the first page only).
    """

    def __init__(
        self,
        credentials: ApiCredentials,
        config: ApiClientConfig,
        *,
        names: Names | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        recorder: Recorder | None = None,
        max_pages: int | None = None,
    ) -> None:
        self._credentials = credentials
        self.config = config
        self.names = names or Names()
        self._recorder = recorder
        self._max_pages = max_pages
        self._sleep = sleep
        self._clock = clock
        self._transport = transport
        self._http: httpx.Client | None = None
        self._http_lock = threading.Lock()
        self._token: SecretStr | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._requests: dict[str, int] = {}
        self._token_requests = 0
        self._scrubber = Scrubber(
            value.get_secret_value()
            for value in (credentials.api_secret, credentials.username, credentials.password)
        )

    def __repr__(self) -> str:
        return f"CloudmoreClient(base_url={self.config.base_url!r}, reseller_id={self.config.reseller_id!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections; a later request opens new ones (the token stays cached)."""
        with self._http_lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def _connection(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                self._http = limited_client(
                    self.config.http_limits,
                    base_url=self.config.base_url,
                    transport=self._transport,
                    timeout=self.config.timeout,
                )
            return self._http

    @property
    def credentials(self) -> ApiCredentials:
        """The API user (values hidden in every repr)."""
        return self._credentials

    def current_token(self) -> str | None:
        """The access token in use, if any: only to scrub it from a capture, never to show it."""
        with self._token_lock:
            return None if self._token is None else self._token.get_secret_value()

    def set_recorder(self, recorder: Recorder | None) -> None:
        """See every answer from now on (``None``: stop)."""
        self._recorder = recorder

    @property
    def stats(self) -> ClientStats:
        with self._stats_lock:
            return ClientStats(dict(self._requests), self._token_requests)

    # -- reads ----------------------------------------------------------------------------------------

    def get_list(self, path: str, params: Mapping[str, str] | None = None) -> list[m.Item]:
        """Every item of a list endpoint, following its pages; each item knows its 1-based position."""
        size = self.config.page_size
        paging = self.names.paging
        collected: list[Any] = []
        total: int | None = None
        previous: list[Any] | None = None
        last_page = min(_MAX_PAGES, self._max_pages or _MAX_PAGES)
        for page in range(1, last_page + 1):
            query = {**(params or {}), paging.page: str(page), paging.page_size: str(size)}
            payload = self._json("GET", path, params=query)
            if isinstance(payload, list) and page == 1:
                collected = payload
                break
            entries, page_total = _page(payload, path, paging.items, paging.total)
            if page > 1 and page_total != total:
                raise error_for_changing_list(path, "its item count changed between pages")
            total = page_total
            if total is None and previous is not None and entries == previous and entries:
                raise error_for_changing_list(path, "it returned the same page twice")
            collected.extend(entries)
            previous = entries
            done = len(collected) >= total if total is not None else len(entries) < size
            if not entries or done:
                break
        if total is not None and len(collected) != total and self._max_pages is None:
            raise error_for_changing_list(path, f"it announced {total} items but returned {len(collected)}")
        return [m.Item(entry, path, number) for number, entry in enumerate(collected, start=1)]

    def get_object(self, path: str) -> m.Item:
        """One JSON object (``GET``)."""
        return m.Item(self._json("GET", path), path, 1)

    def run_report(self, period: str) -> m.Item:
        """Generate the monthly billing report of ``period`` (``YYYY-MM``) and return it once it is done.

        The task is asked for every ``report.poll_interval`` seconds for at most ``report.max_wait``
        seconds; a report still being generated then raises :class:`CloudmoreReportNotReady` and
        nothing of it is read.
        """
        reseller = self.config.reseller_id
        names = self.names.report
        first = date.fromisoformat(f"{period}-01")
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        what = f"the {period} billing report"
        start = paths.report_start_path(reseller)
        started = self._authorised("POST", start, None, m.report_request(first, last, self.names))
        task_path = paths.report_task_path(reseller, _task_id(started, start, names.task_id))
        policy = self.config.report
        waited = 0.0
        while True:
            response = self._authorised("GET", task_path, None, None)
            payload = _loads(response, "GET", task_path)
            status = payload.get(names.status) if isinstance(payload, dict) else None
            if isinstance(status, str) and status in names.failed:
                message = payload.get(names.message) if isinstance(payload, dict) else None
                said = f": {str(message)[:300]}" if message else "."
                raise CloudmoreError(
                    f"Cloudmore could not generate {what}{said}",
                    method="GET",
                    path=task_path,
                    hint="Run again later; if it keeps failing, ask Cloudmore support about the report.",
                )
            pending = response.status_code == 202 or (isinstance(status, str) and status in names.pending)
            if not pending:
                if not isinstance(payload, dict) or names.organizations not in payload:
                    raise CloudmoreResponseError(
                        f"Cloudmore's answer for {what} ({task_path}) is neither the report (an object with "
                        f"{names.organizations!r}) nor a status billsync knows ({_shown(status)}).",
                        method="GET",
                        path=task_path,
                        status=response.status_code,
                        hint="Check the report names in the Cloudmore mapping (billsync cloudmore capture).",
                    )
                return m.Item(payload, task_path, 1)
            if waited + policy.poll_interval > policy.max_wait:
                raise CloudmoreReportNotReady(
                    f"Cloudmore was still generating {what} after {waited:g} s of waiting; billsync read none "
                    "of it.",
                    method="GET",
                    path=task_path,
                    hint="Run again later (Microsoft NCE data lands between the 6th and the 8th of the month).",
                )
            self._sleep(policy.poll_interval)
            waited += policy.poll_interval

    # -- writes ---------------------------------------------------------------------------------------

    def create(self, path: str, body: Any, *, what: str) -> m.Item:
        """``POST`` a new object and return Cloudmore's answer; never sent twice (see the module docstring).

        ``what`` names the write for the error raised when its outcome is unknown.
        """
        return m.Item(self._json("POST", path, body=body, once=what), path, 1)

    def put(self, path: str, body: Any) -> None:
        """``PUT`` a whole object: idempotent, so retried like a read."""
        self._json("PUT", path, body=body)

    # -- plumbing -------------------------------------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        once: str | None = None,
    ) -> Any:
        """Send an authorised request and return its JSON (fractions as Decimal); ``once``: see :meth:`create`."""
        return _loads(self._authorised(method, path, params, body, once), method, path)

    def _authorised(
        self, method: str, path: str, params: Mapping[str, str] | None, body: Any, once: str | None = None
    ) -> httpx.Response:
        """Send with the cached token; a refused token (nothing was done) is replaced once and the request
        sent again."""
        for renewed in (False, True):
            token = self._bearer()
            headers = {"Authorization": f"Bearer {token.get_secret_value()}", "Accept": "application/json"}
            response = self._send(method, path, params=params, json_body=body, headers=headers, once=once)
            if response.status_code == 401 and not renewed:
                self._forget(token)
                continue
            if self._recorder is not None:
                self._recorder(method, path, dict(params or {}), response)
            if response.status_code >= 300:
                raise error_for_status(
                    method,
                    path,
                    response.status_code,
                    self._scrubber.with_secrets([token.get_secret_value()])(
                        _message(response, self.names.error_message)
                    ),
                    reseller_id=self.config.reseller_id,
                )
            return response
        raise AssertionError("unreachable")

    def _bearer(self) -> SecretStr:
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires - self.config.token_refresh_margin:
                self._token, lifetime = self._grant()
                self._token_expires = self._clock() + lifetime
            return self._token

    def _forget(self, token: SecretStr) -> None:
        with self._token_lock:
            if self._token is token:
                self._token = None

    def _grant(self) -> tuple[SecretStr, float]:
        """Ask ``/connect/token`` for an access token (OAuth2 password grant)."""
        with self._stats_lock:
            self._token_requests += 1
        form, headers = grant_request(self._credentials)
        response = self._send("POST", paths.TOKEN_PATH, form=form, headers=headers)
        data = _json_object(response)
        if response.status_code >= 300:  # a refusal may echo the password or the Basic header back
            data = {k: self._scrubber(v) if isinstance(v, str) else v for k, v in data.items()}
        return read_grant(response.status_code, data)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str],
        once: str | None = None,
    ) -> httpx.Response:
        """One request with retries on 429/5xx and transport failures; the last answer is returned.

        With ``once`` (what the request does), only failures that prove nothing was done are retried.
        """
        retrying = retry_loop(self.config.retry, self._sleep, cap_retry_after=True)
        content = None if json_body is None else json.dumps(json_body).encode()
        request_headers = dict(headers)
        if content is not None:
            request_headers["Content-Type"] = "application/json"
        try:
            for attempt in retrying:
                with attempt:
                    response = self._attempt(method, path, params, content, form, request_headers, once)
                    if response.status_code in _RETRIED:
                        if once is not None and response.status_code != 429:
                            raise _Unsure(f"it answered HTTP {response.status_code}", response.status_code)
                        raise Retry(
                            response.status_code,
                            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                        )
                    return response
        except _Unsure as exc:
            raise error_for_unsure_write(str(once), exc.problem, method, path, exc.status) from None
        except Retry as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise error_for_exhausted_retries(
                self.config.base_url, method, path, exc.status, exc.detail, attempts
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
        once: str | None = None,
    ) -> httpx.Response:
        with self._stats_lock:
            key = f"{method} {path}"
            self._requests[key] = self._requests.get(key, 0) + 1
        try:
            response = self._connection().request(
                method, path, params=dict(params or {}), content=content, data=form, headers=dict(headers)
            )
        except httpx.TransportError as exc:
            _log.debug("%s %s failed: %s", method, path, type(exc).__name__)
            if once is not None and not isinstance(exc, _NOT_SENT):
                raise _Unsure(f"the connection failed ({type(exc).__name__})", None) from None
            raise Retry(None, detail=type(exc).__name__) from None
        _log.debug("%s %s -> %s", method, path, response.status_code)
        return response


class _Unsure(Exception):
    """A write that must not be repeated failed after it was sent: its outcome is unknown."""

    def __init__(self, problem: str, status: int | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status


def _page(payload: Any, path: str, items: str, count: str) -> tuple[list[Any], int | None]:
    """The items of one page and the total it announces (``None`` when it does not say)."""
    if not isinstance(payload, dict) or not isinstance(payload.get(items), list):
        raise CloudmoreResponseError(
            f"Cloudmore's answer to GET {path} is not a list of items (expected a JSON array or an object "
            f"with {items!r}).",
            method="GET",
            path=path,
            hint="Check the paging names in the Cloudmore mapping (billsync cloudmore capture).",
        )
    total = payload.get(count)
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise CloudmoreResponseError(
            f"Cloudmore's answer to GET {path} has a {count!r} that is not a count.",
            method="GET",
            path=path,
        )
    return list(payload[items]), total


def _loads(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's JSON (fractions as Decimal); an empty body is ``None``."""
    try:
        return loads(response.content or b"null")
    except ValueError:
        raise CloudmoreResponseError(
            f"Cloudmore answered {method} {path} with a body that is not JSON.",
            method=method,
            path=path,
            status=response.status_code,
        ) from None


def _task_id(response: httpx.Response, start: str, name: str) -> str:
    """The report task's id: in the answer's body (an object's ``name``, or a bare JSON string), else
    the last segment of a ``Location`` header that points below the start path."""
    payload = _loads(response, "POST", start)
    found = payload.get(name) if isinstance(payload, dict) else payload
    if isinstance(found, int) and not isinstance(found, bool):
        found = str(found)
    if isinstance(found, str) and found.strip() and "/" not in found:
        return found.strip()
    location = urlsplit(response.headers.get("Location", "")).path
    head, _, tail = location.rstrip("/").rpartition("/")
    if tail and head.lower().endswith(start.lower()):
        return unquote(tail)
    raise CloudmoreResponseError(
        f"Cloudmore started the billing report but its answer to POST {start} names no task: no "
        f"{name!r} in its body and no Location header ending with the task id.",
        method="POST",
        path=start,
        status=response.status_code,
        hint="Check report.task_id in the Cloudmore mapping (billsync cloudmore capture).",
    )


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value)[:60]


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = loads(response.content or b"null")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(response: httpx.Response, name: str) -> str:
    """Cloudmore's explanation in an error body, shortened; empty when it sent none."""
    data = _json_object(response)
    message = data.get(name) or data.get(m.TOKEN_ERROR_DESCRIPTION) or ""
    return str(message)[:300]
