"""The Autotask REST client: bulk reads, writes through parent contracts, throttling and retries.

This is the only place billsync speaks HTTP to Autotask. It knows the wire (headers, query bodies,
paging, response shapes, status codes) and nothing about billing. It is safe to share between the
threads of the apply executor: the zone lookup happens once under a lock, each endpoint has its own
bounded semaphore, and the statistics are updated under a lock.

Bodies are written and read by :mod:`providers.autotask.bodies`: JSON fractions arrive as
:class:`~decimal.Decimal`, and Decimal and ``date`` values in request bodies and filters leave as exact
JSON numbers and ``YYYY-MM-DDT00:00:00`` strings.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Self

import httpx

from engine.scrub import Scrubber
from providers._shared.http import limited_client
from providers._shared.retry import Retry, retry_loop
from providers._shared.wire import retry_after_seconds
from providers.autotask import paths, split
from providers.autotask.bodies import encode_body, error_messages, field_of, json_object, list_of, union
from providers.autotask.config import ClientConfig, Credentials
from providers.autotask.errors import (
    UNAVAILABLE_STATUSES,
    AutotaskAuthError,
    AutotaskError,
    AutotaskNotFound,
    AutotaskOutcomeUnknown,
    AutotaskValidationError,
    error_for_broken_write,
    error_for_exhausted_retries,
    error_for_status,
)
from providers.autotask.filters import MAX_IN_VALUES, F, Filter, FilterValue
from providers.autotask.responses import ClientStats, StatsRecorder, ThresholdInfo, ZoneInfo

__all__ = [
    "MAX_IN_VALUES",
    "AutotaskClient",
    "ClientStats",
    "F",
    "Filter",
    "FilterValue",
    "ThresholdInfo",
    "ZoneInfo",
]


_log = logging.getLogger("billsync.autotask")
_ZONE_ENDPOINT = "ZoneInformation"
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures before any byte left: safe to repeat even for a write."""
_UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout)
"""No connection could be made: the host is wrong, down or unreachable."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a connection: an unreachable Autotask is reported within 10 s."""


class AutotaskClient:
    """A thread-safe client for one Autotask tenant.

    Pass ``http`` to reuse an :class:`httpx.Client` (it is then never closed here) or ``transport`` to
    swap the wire (a ``MockTransport`` in tests, a ``WSGITransport`` for the in-process sandbox).
    ``sleep`` is how the client waits between retries; tests pass a recorder so nothing really waits.
    """

    def __init__(
        self,
        credentials: Credentials,
        config: ClientConfig | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("pass either http or transport, not both")
        self._credentials = credentials
        self._config = config or ClientConfig()
        self._timeout = httpx.Timeout(
            self._config.timeout, connect=min(CONNECT_TIMEOUT, self._config.timeout)
        )
        self._sleep = sleep
        self._owns_http = http is None
        self._http = (
            http if http is not None else limited_client(self._config.http_limits, transport=transport)
        )
        self._base_url = _normalised_base(self._config.base_url) if self._config.base_url else None
        self._zone: ZoneInfo | None = None
        self._zone_lock = threading.Lock()
        self._limits: dict[str, threading.BoundedSemaphore] = {}
        self._limits_lock = threading.Lock()
        self._stats = StatsRecorder()
        self._scrubber = Scrubber([credentials.secret.get_secret_value(), credentials.integration_code])

    def __repr__(self) -> str:
        return f"AutotaskClient(username={self._credentials.username!r}, base_url={self._base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections, unless the caller lent us its own client."""
        if self._owns_http:
            self._http.close()

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the request counters."""
        return self._stats.snapshot()

    @property
    def base_url(self) -> str:
        """The REST root ending in ``V1.0/``: configured, or found through the zone lookup on first use."""
        if self._base_url is None:
            with self._zone_lock:
                if self._base_url is None:
                    self._base_url = _normalised_base(self._lookup_zone().url)
        return self._base_url

    # -- reads ------------------------------------------------------------------------------------

    def zone(self) -> ZoneInfo:
        """The API user's zone (looked up once, then remembered)."""
        with self._zone_lock:
            return self._lookup_zone()

    def tenant_zone(self) -> ZoneInfo:
        """The zone answer that names the tenant (its ``ci``), looked up once. With a configured base
        URL it is asked of that host's own ``V1.0/ZoneInformation`` (every zone host serves the
        lookup, A1), so a sandbox or a test server answers for itself; else the zone lookup serves."""
        with self._zone_lock:
            if self._zone is None and self._base_url is not None and self._config.base_url is not None:
                self._zone = self._zone_answer(self._base_url + _ZONE_ENDPOINT, lookup_service=False)
            return self._lookup_zone()

    def query(
        self,
        entity: str,
        filters: Sequence[Filter] = (),
        *,
        include_fields: Sequence[str] | None = None,
        max_records: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every object of ``entity`` matching all ``filters``, following every page, each object once.

        With no filter, every object is returned. ``include_fields`` always gains ``id``, which Autotask
        needs to page past 500 records. ``max_records`` (1–500) caps the result. The query is a POST,
        and so is each next page: the same body, sent to ``pageDetails.nextPageUrl``.
        """
        if isinstance(filters, dict):
            raise TypeError("filters is a sequence of filters: wrap a single filter in a list")
        if max_records is not None and not 1 <= max_records <= MAX_IN_VALUES:
            raise ValueError(f"max_records must be between 1 and {MAX_IN_VALUES}, got {max_records}")
        body: dict[str, Any] = {"filter": list(filters) or [F.exist("id")]}
        if include_fields is not None:
            body["IncludeFields"] = list(dict.fromkeys(["id", *include_fields]))
        if max_records is not None:
            body["MaxRecords"] = max_records
        url = self._url(paths.query_path(entity))
        return self._follow(entity, body, url, self._read("POST", entity, url, body), max_records)

    def query_split(
        self,
        entity: str,
        filters: Sequence[Filter] = (),
        *,
        include_fields: Sequence[str] | None = None,
        known_ids: Sequence[int] = (),
        expect: int | None = None,
    ) -> list[dict[str, Any]]:
        """What :meth:`query` returns, read as up to ``max_in_flight_per_endpoint`` id ranges side by side.

        A long result is not one chain of pages: the ranges are cut on page boundaries of
        ``known_ids`` (the ids the snapshot recorded) when there are any; otherwise the first page is
        read and, if more follow, a count of the result gives cuts estimated from that page's ids
        (:mod:`providers.autotask.split`). A result of one page costs one request either way; when
        the caller ``expect``-s at most two pages, it is one plain chain (a count cannot shorten it).
        """
        if isinstance(filters, dict):
            raise TypeError("filters is a sequence of filters: wrap a single filter in a list")
        ways = self._config.max_in_flight_per_endpoint
        if not known_ids and expect is not None and expect <= 2 * split.PAGE:
            return self.query(entity, filters, include_fields=include_fields)
        if len(set(known_ids)) > split.PAGE and ways > 1:
            return self._ranges(
                entity, filters, include_fields, split.id_ranges(split.cuts_from_ids(known_ids, ways))
            )
        body: dict[str, Any] = {"filter": list(filters) or [F.exist("id")]}
        if include_fields is not None:
            body["IncludeFields"] = list(dict.fromkeys(["id", *include_fields]))
        url = self._url(paths.query_path(entity))
        first = self._read("POST", entity, url, body)
        items = list_of(first, "items", "POST", url)
        if not (first.get("pageDetails") or {}).get("nextPageUrl") or ways == 1 or not items:
            return self._follow(entity, body, url, first, None)
        ids = [int(item["id"]) for item in items]
        total = self.count(entity, filters)
        cuts = split.cuts_from_estimate(min(ids), max(ids), len(items), total, ways)
        rest = self._ranges(entity, filters, include_fields, split.id_ranges(cuts, above=max(ids)))
        return union([items, rest])

    def _ranges(
        self,
        entity: str,
        filters: Sequence[Filter],
        include_fields: Sequence[str] | None,
        ranges: list[list[Filter]],
    ) -> list[dict[str, Any]]:
        """Each id range's query, run side by side (the endpoint's semaphore keeps the thread limit)."""

        def run(limits: list[Filter]) -> list[dict[str, Any]]:
            return self.query(entity, [*filters, *limits], include_fields=include_fields)

        if len(ranges) == 1:
            return run(ranges[0])
        with ThreadPoolExecutor(max_workers=len(ranges), thread_name_prefix="autotask-range") as pool:
            return union(pool.map(run, ranges))

    def _follow(
        self, entity: str, body: dict[str, Any], url: str, page: dict[str, Any], max_records: int | None
    ) -> list[dict[str, Any]]:
        """The items of ``page`` and of every page linked after it."""
        method = "POST"
        pages: list[list[dict[str, Any]]] = []
        visited: set[str] = set()
        while True:
            pages.append(list_of(page, "items", method, url))
            next_url = (page.get("pageDetails") or {}).get("nextPageUrl")
            if not next_url or (max_records is not None and sum(map(len, pages)) >= max_records):
                break
            # the next page of a POST query is POSTed with the same body; a GET there is a 405 (A4)
            url = self._page_url(str(next_url), visited)
            page = self._read(method, entity, url, body)
        return union(pages)[:max_records]

    def query_in(
        self,
        entity: str,
        field: str,
        values: Iterable[FilterValue],
        *,
        filters: Sequence[Filter] = (),
        include_fields: Sequence[str] | None = None,
        known_ids: Sequence[int] = (),
        expect: int | None = None,
    ) -> list[dict[str, Any]]:
        """Objects whose ``field`` is one of ``values``: ``in`` chunks of 500, run side by side, merged by id.

        Each chunk is read by :meth:`query_split` (``known_ids``, ``expect`` as there), so a long chunk
        is id ranges."""
        unique = list(dict.fromkeys(values))
        chunks = [unique[i : i + MAX_IN_VALUES] for i in range(0, len(unique), MAX_IN_VALUES)]

        def run(chunk: list[FilterValue]) -> list[dict[str, Any]]:
            chunk_filters = [*filters, F.in_(field, chunk)]
            return self.query_split(
                entity, chunk_filters, include_fields=include_fields, known_ids=known_ids, expect=expect
            )

        if len(chunks) <= 1:
            return union(map(run, chunks))
        workers = min(len(chunks), self._config.max_in_flight_per_endpoint)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="autotask-query") as pool:
            return union(pool.map(run, chunks))

    def count(self, entity: str, filters: Sequence[Filter] = ()) -> int:
        """How many objects of ``entity`` match ``filters``, without reading them."""
        body = {"filter": list(filters) or [F.exist("id")]}
        url = self._url(paths.count_path(entity))
        return int(field_of(self._read("POST", entity, url, body), "queryCount", "POST", url))

    def get(self, entity: str, object_id: int) -> dict[str, Any] | None:
        """One object by id, or ``None`` when Autotask does not have it. Use :meth:`query` for many."""
        try:
            payload = self._read("GET", entity, self._url(paths.item_path(entity, object_id)))
        except AutotaskNotFound:
            return None
        item = payload.get("item")
        return dict(item) if isinstance(item, dict) else None

    def threshold(self) -> ThresholdInfo:
        """The tenant's hourly request budget and how much of it is used."""
        url = self._url(paths.THRESHOLD_PATH)
        payload = self._read("GET", paths.THRESHOLD_PATH, url)
        return ThresholdInfo.model_validate(payload.get("item", payload))

    def field_info(self, entity: str) -> list[dict[str, Any]]:
        """Field metadata of ``entity`` (required, read-only, picklist values), from ``entityInformation``."""
        url = self._url(paths.fields_path(entity))
        return list_of(self._read("GET", entity, url), "fields", "GET", url)

    # -- writes -----------------------------------------------------------------------------------

    def create(self, entity: str, body: dict[str, Any], *, parent_id: int | None = None) -> int:
        """Create one object and return its id.

        On :class:`AutotaskOutcomeUnknown` the object may exist: look it up by its identity marker
        before creating it again. Any other error means nothing was created.
        """
        return self._write("POST", entity, body, parent_id)

    def update(self, entity: str, body: dict[str, Any], *, parent_id: int | None = None) -> int:
        """Change the fields in ``body`` (which must hold ``id``) of one object; return its id.

        On :class:`AutotaskOutcomeUnknown` the change may or may not be in place: read the object back.
        Any other error means nothing was changed.
        """
        if "id" not in body:
            raise ValueError(f"an update of {entity} needs the object's id in the body")
        return self._write("PATCH", entity, body, parent_id)

    # -- plumbing ---------------------------------------------------------------------------------

    def _write(self, method: str, entity: str, body: dict[str, Any], parent_id: int | None) -> int:
        url = self._url(paths.write_path(entity, parent_id))
        response = self._call(method, entity, url, body=body, write=True)
        try:
            return int(json_object(response)["itemId"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AutotaskOutcomeUnknown(
                f"Autotask accepted {method} {response.url.path} (HTTP {response.status_code}) but did not "
                "return the new object's id, so billsync cannot tell which object it wrote.",
                method=method,
                path=response.url.path,
                status=response.status_code,
                hint="Run plan again: it finds the object through its identity marker.",
            ) from exc

    def _read(self, method: str, endpoint: str, url: str, body: Any = None) -> dict[str, Any]:
        response = self._call(method, endpoint, url, body=body, write=False)
        try:
            return json_object(response)
        except ValueError as exc:
            raise AutotaskError(
                f"Autotask answered {method} {response.url.path} with a body that is not a JSON object.",
                method=method,
                path=response.url.path,
                status=response.status_code,
            ) from exc

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _page_url(self, next_url: str, visited: set[str]) -> str:
        """Resolve a ``nextPageUrl``, refusing other hosts (they would receive the secret) and loops."""
        base = httpx.URL(self.base_url)
        url = base.join(next_url)
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port) or str(url) in visited:
            raise AutotaskError(
                f"Autotask returned a next-page link billsync will not follow ({url.host}{url.path}): it "
                "points to another host or back to a page already read.",
                method="POST",
                path=url.path,
            )
        visited.add(str(url))
        return str(url)

    def _lookup_zone(self) -> ZoneInfo:
        """Ask Autotask's zone service for the user's zone; the caller holds ``_zone_lock``."""
        if self._zone is None:
            self._zone = self._zone_answer(self._config.zone_lookup_url)
        return self._zone

    def _zone_answer(self, lookup_url: str, *, lookup_service: bool = True) -> ZoneInfo:
        """One ``ZoneInformation`` answer. From the zone lookup service an unknown user is an
        authentication error (A1); from a configured host every error stays Autotask's own (a 404:
        the URL is not Autotask's)."""
        url = httpx.URL(lookup_url, params={"user": self._credentials.username})
        try:
            payload = self._read("GET", _ZONE_ENDPOINT, str(url))
            return ZoneInfo.model_validate(payload)
        except (AutotaskAuthError, AutotaskNotFound, AutotaskValidationError, ValueError) as exc:
            if not lookup_service:
                raise
            raise AutotaskAuthError(
                f"Autotask's zone lookup does not know the API user {self._credentials.username!r}.",
                method="GET",
                path=url.path,
                status=getattr(exc, "status", None),
                hint="Check AUTOTASK_USERNAME, or set the tenant's base URL in billsync.yaml.",
            ) from exc

    def _call(self, method: str, endpoint: str, url: str, *, body: Any, write: bool) -> httpx.Response:
        """Send one request with retries; return a 2xx response or raise the matching AutotaskError."""
        content = None if body is None else encode_body(body)
        retrying = retry_loop(self._config.retry, self._sleep)
        try:
            for attempt in retrying:
                with attempt:
                    response = self._attempt(method, endpoint, url, content, write)
                    self._check(response, endpoint, method, write)
                    return response
        except Retry as exc:
            target = httpx.URL(url).copy_with(query=None)
            raise error_for_exhausted_retries(
                method,
                str(target),
                target.path,
                status=exc.status,
                attempts=retrying.statistics.get("attempt_number", 1),
                detail=exc.detail,
                retry_after=exc.retry_after,
            ) from exc.__cause__
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _attempt(
        self, method: str, endpoint: str, url: str, content: bytes | None, write: bool
    ) -> httpx.Response:
        """One HTTP exchange inside the endpoint's thread limit; transport failures become retries or errors."""
        path = httpx.URL(url).path
        limit = self._limit(endpoint) if endpoint != _ZONE_ENDPOINT else None
        if limit is not None:
            limit.acquire()
        started = time.perf_counter()
        self._stats.enter(endpoint, method)
        try:
            response = self._http.request(
                method, url, content=content, headers=self._headers(endpoint), timeout=self._timeout
            )
        except httpx.TransportError as exc:
            _log.debug("%s %s failed after %.1f ms: %s", method, path, _ms(started), type(exc).__name__)
            if isinstance(exc, _UNREACHABLE):
                # no connection at all (refused, unknown host, connect timeout): retrying for minutes
                # only hides it; fail at once, naming the host, and let the next run try again
                target = httpx.URL(url).copy_with(query=None)
                raise error_for_exhausted_retries(
                    method, str(target), path, status=None, attempts=1, detail=str(exc) or type(exc).__name__
                ) from exc
            if write and not isinstance(exc, _NOT_SENT):
                raise error_for_broken_write(method, path, type(exc).__name__) from exc
            raise Retry(None, detail=str(exc) or type(exc).__name__) from exc
        finally:
            self._stats.leave(endpoint)
            if limit is not None:
                limit.release()
        _log.debug("%s %s -> %s in %.1f ms", method, path, response.status_code, _ms(started))
        return response

    def _check(self, response: httpx.Response, endpoint: str, method: str, write: bool) -> None:
        """Raise for anything but success: a retry for throttling (and gateway errors on reads), else an error."""
        status = response.status_code
        if status < 300:
            return
        if status == 429:
            self._stats.throttled(endpoint)
            raise Retry(status, retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        if status in UNAVAILABLE_STATUSES and not write:
            raise Retry(status)
        path = response.url.path
        messages = [self._scrub(message) for message in error_messages(response)]
        if messages:
            _log.debug("%s %s -> %s: %s", method, path, status, " | ".join(messages))
        username = self._credentials.username
        raise error_for_status(method, path, status, messages, username=username, write=write)

    def _limit(self, endpoint: str) -> threading.BoundedSemaphore:
        with self._limits_lock:
            limit = self._limits.get(endpoint)
            if limit is None:
                limit = threading.BoundedSemaphore(self._config.max_in_flight_per_endpoint)
                self._limits[endpoint] = limit
            return limit

    def _headers(self, endpoint: str) -> dict[str, str]:
        """Auth headers; the zone lookup is anonymous, so the secret never goes to the shared zone host."""
        headers = {
            "ApiIntegrationCode": self._credentials.integration_code,
            "UserName": self._credentials.username,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        if endpoint != _ZONE_ENDPOINT:
            headers["Secret"] = self._credentials.secret.get_secret_value()
        return headers

    def _scrub(self, text: str) -> str:
        """Mask the secret and the integration code should Autotask ever echo them back in a message."""
        return self._scrubber(text)


def _normalised_base(url: str) -> str:
    """``…/ATServicesRest`` or ``…/ATServicesRest/V1.0`` → ``…/ATServicesRest/V1.0/``."""
    trimmed = url.rstrip("/")
    return trimmed + "/" if trimmed.lower().endswith("/v1.0") else trimmed + "/V1.0/"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
