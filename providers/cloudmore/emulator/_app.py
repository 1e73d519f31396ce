"""The emulator WSGI application: token grant, bearer check, faults, then the answer.

It serves only paths of Cloudmore's published API (swagger v1.07.0), with the literal segments
matched case-insensitively as ASP.NET routing matches them (``Organizations`` or ``organizations``);
every other path is 404 and a known path with another verb is 405 (so the broker-wide ``…/pricelist``,
a ``…/billing/reports`` listing, ``…/{taskId}/lines`` and ``…/customproperties/{name}`` are refused).

A request goes through, in order: routing, the counters, injected faults, authentication (the token
grant checks the Basic header, then the user; every other route needs a live bearer token: 401
otherwise), the reseller check (404 for another reseller id) and finally the answer. Lists are paged
(see :mod:`._documents`). Where Cloudmore's behaviour is not published the emulator takes the stricter
choice: a price list needs its ``currencyCode``, a report request must cover exactly one calendar
month, and ``PUT …/Organizations/{id}`` replaces the organization (a field left out is gone).

Two routes write (onboarding, D2): creating an organization and replacing one. What they change is
served from then on, and every write request is recorded with its JSON body
(:meth:`EmulatorApp.writes`) so tests can assert exactly what billsync sent.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from engine.source import PriceListItem, SourceData
from providers._shared.wire import dumps, loads
from providers.cloudmore import api_mapping as m
from providers.cloudmore.api_names import Names

from ._config import EmulatorConfig
from ._documents import Documents, build_documents, price_document, service_id_of
from ._faults import Fault, FaultInjector
from ._routes import ROUTES, month_end, normalised, parse_day

__all__ = ["EmulatorApp", "EmulatorStats", "RecordedWrite"]

_CLIENT_ID = "ro.customer.client"
_WRITES = frozenset({"create_organization", "update_organization"})
_NEW_ORGANIZATIONS = uuid.UUID("0b7d5c3e-1f2a-4c6b-8d9e-4a5b6c7d8e9f")
"""Created organizations get ids derived from this and a counter: GUIDs like Cloudmore's, the same each run."""


@dataclass(frozen=True)
class EmulatorStats:
    """Requests per route (every request that matched one, the token grant included) and token grants."""

    requests: dict[str, int]
    token_requests: int
    tokens_issued: int

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass(frozen=True)
class RecordedWrite:
    """One write request as the emulator received it: method, path and JSON body (``None`` if not JSON)."""

    method: str
    path: str
    body: Any


class _Failure(Exception):
    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass
class _Task:
    period: str
    first: date
    last: date
    pending: int


class EmulatorApp:
    """The Cloudmore API emulator as a WSGI callable, plus an in-process control API for tests."""

    def __init__(
        self, data: SourceData, config: EmulatorConfig | None = None, names: Names | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        self.names = names or Names()
        self.documents: Documents = build_documents(data, self.names)
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._tasks: dict[str, _Task] = {}
        self._task_numbers = itertools.count(1)
        self._requests: dict[str, int] = {}
        self._writes: list[RecordedWrite] = []
        self._organization_numbers = itertools.count(1)
        self._token_requests = 0
        self._tokens_issued = 0
        self._report_polls = self.config.report_polls
        self._faults = FaultInjector()

    def __repr__(self) -> str:
        return f"EmulatorApp(reseller_id={self.config.reseller_id!r})"

    # ---- in-process control ----------------------------------------------------------------------

    def stats(self) -> EmulatorStats:
        with self._lock:
            return EmulatorStats(dict(self._requests), self._token_requests, self._tokens_issued)

    def writes(self) -> list[RecordedWrite]:
        """Every write request received since the start or :meth:`reset_stats`, in order (faulted ones too)."""
        with self._lock:
            return list(self._writes)

    def reset_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            self._writes.clear()
            self._token_requests = 0
            self._tokens_issued = 0

    def inject_fault(self, fault: Fault | None = None, **spec: Any) -> Fault:
        """Set a fault (a :class:`Fault`, or its fields as keywords); it counts requests from now."""
        return self._faults.inject(fault, **spec)

    def clear_faults(self) -> None:
        self._faults.clear()

    def replace_data(self, data: SourceData) -> None:
        """Serve ``data`` from now on, as when Cloudmore's data moved on (issued tokens stay valid)."""
        documents = build_documents(data, self.names)
        with self._lock:
            self.documents = documents

    def set_organization_prices(
        self, organization_id: str, service_name: str, prices: Iterable[PriceListItem]
    ) -> None:
        """Give an organization its own prices for a service's products (they override the broker's)."""
        rows = [price_document(price, self.names) for price in prices]
        with self._lock:
            self.documents.organization_prices[(organization_id, service_id_of(service_name))] = rows

    def set_report_polls(self, polls: int) -> None:
        """Reports started from now answer "still generating" this many times before they complete."""
        with self._lock:
            self._report_polls = polls

    def issued_tokens(self) -> list[str]:
        """The access tokens still valid (to check that none leaks into an output)."""
        with self._lock:
            return list(self._tokens)

    def revoke_tokens(self) -> None:
        """Forget every issued token, as when they expire on Cloudmore's side."""
        with self._lock:
            self._tokens.clear()

    # ---- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except _Failure as failure:
            body = failure.body if failure.body is not None else self._error(str(failure))
            response = _json(failure.status, body)
            if failure.status == 429:
                response.headers["Retry-After"] = "0"
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        try:
            route, args = ROUTES.bind("emulator").match(normalised(request.path), method=request.method)
        except MethodNotAllowed:
            raise _Failure(405, f"{request.method} is not allowed on {request.path}.") from None
        except (NotFound, HTTPException):
            raise _Failure(404, f"No resource at {request.path}.") from None
        with self._lock:
            self._requests[str(route)] = self._requests.get(str(route), 0) + 1
            if route == "token":
                self._token_requests += 1
            if route in _WRITES:
                self._writes.append(RecordedWrite(request.method, request.path, _body(request)))
        lost: Fault | None = None
        for fault in self._faults.match(str(route)):
            if fault.delay:
                self.config.sleep(fault.delay)
            if fault.status is not None and fault.after:
                lost = lost or fault
            elif fault.status is not None:
                raise _Failure(fault.status, fault.message)
        response = self._route(request, str(route), args)
        if lost is not None and lost.status is not None:
            raise _Failure(lost.status, lost.message)
        return response

    def _route(self, request: Request, route: str, args: Mapping[str, Any]) -> Response:
        if route == "token":
            return self._token(request)
        self._authorise(request)
        if args["reseller"] != self.config.reseller_id:
            raise _Failure(404, "Reseller not found.")
        with self._lock:
            docs = self.documents
        paged = self._paged
        if route == "organizations":
            with self._lock:
                organizations = list(docs.organizations)
            return paged(request, organizations)
        if route == "create_organization":
            return self._create_organization(request)
        if route == "organization":
            return _json(200, self._find_organization(args["organization"])[1])
        if route == "update_organization":
            return self._update_organization(request, args["organization"])
        if route == "services":
            return paged(request, docs.services)
        if route == "subscriptions":
            return paged(request, self._of_service(docs.subscriptions, args["service"]))
        if route == "azure_subscriptions":
            return paged(request, docs.azure_subscriptions)
        if route == "price_list":
            rows = self._of_service(docs.price_lists, args["service"])
            return paged(request, self._in_currency(request, rows, required=True))
        if route == "organization_price_list":
            self._find_organization(args["organization"])
            self._of_service(docs.price_lists, args["service"])
            rows = docs.organization_prices.get((args["organization"], args["service"]), [])
            return paged(request, self._in_currency(request, rows, required=False))
        if route == "report_start":
            return self._start_report(request, args["reseller"])
        return self._report(args["task"])

    def _of_service(self, lists: Mapping[str, list[dict[str, Any]]], service_id: str) -> list[dict[str, Any]]:
        listed = lists.get(service_id)
        if listed is None:
            raise _Failure(404, "Service not found.")
        return listed

    def _in_currency(
        self, request: Request, rows: list[dict[str, Any]], *, required: bool
    ) -> list[dict[str, Any]]:
        """The rows priced in the requested ``currencyCode`` (required on the broker's price list)."""
        currency = request.args.get(self.names.price.currency_param)
        if currency is None:
            if required:
                raise _Failure(400, f"The query parameter {self.names.price.currency_param} is required.")
            return rows
        return [row for row in rows if row.get(self.names.price.currency) == currency]

    def _error(self, message: str) -> dict[str, Any]:
        return {self.names.error_message: message}

    def _paged(self, request: Request, items: list[dict[str, Any]]) -> Response:
        return _paged(request, items, self.config.max_page_size, self.names)

    def _token(self, request: Request) -> Response:
        creds = self.config.credentials
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        if scheme != "Basic" or client_id != _CLIENT_ID or not _same(secret, creds.api_secret):
            raise _Failure(400, "invalid_client", {m.TOKEN_ERROR: "invalid_client"})
        form = request.form
        if form.get("grant_type") != "password" or form.get("scope") != "api":
            raise _Failure(400, "unsupported_grant_type", {m.TOKEN_ERROR: "unsupported_grant_type"})
        if not (
            _same(form.get("username", ""), creds.username)
            and _same(form.get("password", ""), creds.password)
        ):
            raise _Failure(
                400,
                "invalid_grant",
                {m.TOKEN_ERROR: "invalid_grant", m.TOKEN_ERROR_DESCRIPTION: "invalid_username_or_password"},
            )
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.config.clock() + self.config.token_seconds
            self._tokens_issued += 1
        return _json(
            200,
            {
                m.TOKEN_ACCESS: token,
                m.TOKEN_EXPIRES_IN: self.config.token_seconds,
                "token_type": "Bearer",
                "scope": "api",
            },
        )

    def _authorise(self, request: Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token) if scheme == "Bearer" else None
            if expires is not None and self.config.clock() >= expires:
                del self._tokens[token]
                expires = None
        if expires is None:
            raise _Failure(401, "The access token is missing, invalid or expired.")

    def _create_organization(self, request: Request) -> Response:
        """A new organization from its name, customer number and custom properties; 201 with it."""
        body = self._organization_body(request)
        o = self.names.organization
        with self._lock:
            organization_id = str(uuid.uuid5(_NEW_ORGANIZATIONS, str(next(self._organization_numbers))))
            document: dict[str, Any] = {
                o.id: organization_id,
                o.name: body[o.name].strip(),
                o.customer_number: body.get(o.customer_number) or "",
                o.currency: self.config.organization_currency,
                o.custom_properties: [dict(entry) for entry in body.get(o.custom_properties) or []],
                o.services: [],
            }
            self.documents.organizations.append(document)
        return _json(201, document)

    def _update_organization(self, request: Request, organization_id: str) -> Response:
        """Replace an organization by the body (its id and services stay); 200 with it."""
        body = self._organization_body(request)
        o = self.names.organization
        index, old = self._find_organization(organization_id)
        document = {**body, o.id: old[o.id], o.services: old.get(o.services, [])}
        with self._lock:
            # a new dict, never an edit: a list being answered concurrently keeps the old one whole
            self.documents.organizations[index] = document
        return _json(200, document)

    def _organization_body(self, request: Request) -> dict[str, Any]:
        o = self.names.organization
        body = _body(request)
        if not isinstance(body, dict):
            raise _Failure(400, "Expected a JSON object describing the organization.")
        name = body.get(o.name)
        number = body.get(o.customer_number)
        properties = body.get(o.custom_properties) or []
        if not isinstance(name, str) or not name.strip():
            raise _Failure(400, "The organization needs a name.")
        if number is not None and not isinstance(number, str):
            raise _Failure(400, f"{o.customer_number} must be text.")
        if not isinstance(properties, list) or not all(self._is_property(entry) for entry in properties):
            raise _Failure(
                400, f"{o.custom_properties} must be a list of objects with a text name and value."
            )
        return body

    def _is_property(self, entry: Any) -> bool:
        p = self.names.custom_property
        return (
            isinstance(entry, dict)
            and isinstance(entry.get(p.name), str)
            and isinstance(entry.get(p.value), str)
        )

    def _find_organization(self, organization_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            for index, organization in enumerate(self.documents.organizations):
                if organization.get(self.names.organization.id) == organization_id:
                    return index, organization
        raise _Failure(404, "Organization not found.")

    def _start_report(self, request: Request, reseller: str) -> Response:
        """Start a report of one calendar month: 202 with the task id in the body and/or ``Location``."""
        r = self.names.report
        body = _body(request)
        first = parse_day(body.get(r.start_date)) if isinstance(body, dict) else None
        last = parse_day(body.get(r.end_date)) if isinstance(body, dict) else None
        if first is None or last is None or first.day != 1 or last != month_end(first):
            raise _Failure(
                400, f"Expected {r.start_date} and {r.end_date}: the first and last day of one month."
            )
        with self._lock:
            task_id = f"task-{next(self._task_numbers)}"
            self._tasks[task_id] = _Task(first.isoformat()[:7], first, last, self._report_polls)
        answer: dict[str, Any] = {r.task_id: task_id} if self.config.task_id_in != "header" else {}
        response = _json(202, answer)
        if self.config.task_id_in != "body":
            response.headers["Location"] = (
                f"/api/resellers/{reseller}/billing/reports/MonthlyBillingPerOrganizationAsync/{task_id}"
            )
        return response

    def _report(self, task_id: str) -> Response:
        """202 while the task is pending (each answer uses up one pending poll), then the report."""
        r = self.names.report
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise _Failure(404, "No such report task.")
            if task.pending > 0:
                task.pending -= 1
                return _json(
                    202,
                    {r.task_id: task_id, r.status: "Processing", r.message: "The report is being generated."},
                )
            organizations = self.documents.reports.get(task.period, [])
        return _json(
            200,
            {
                r.start_date: f"{task.first.isoformat()}T00:00:00",
                r.end_date: f"{task.last.isoformat()}T00:00:00",
                r.organizations: organizations,
            },
        )


def _paged(request: Request, items: list[dict[str, Any]], max_size: int, names: Names) -> Response:
    paging = names.paging
    try:
        page = int(request.args.get(paging.page, "1"))
        size = int(request.args.get(paging.page_size, "100"))
    except ValueError:
        raise _Failure(400, "page and pageSize must be whole numbers.") from None
    if page < 1 or not 1 <= size <= max_size:
        raise _Failure(400, f"page must be 1 or more and pageSize between 1 and {max_size}.")
    chunk = items[(page - 1) * size : page * size]
    return _json(200, {paging.items: chunk, "page": page, "pageSize": size, paging.total: len(items)})


def _body(request: Request) -> Any:
    """The request's JSON body (fractions as Decimal); ``None`` when it is empty or not JSON."""
    try:
        return loads(request.get_data() or b"null")
    except ValueError:
        return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _json(status: int, body: Any) -> Response:
    """A JSON answer; a Decimal keeps its scale (``12.5000``), as .NET writers do (unverified)."""
    return Response(dumps(body), status=status, mimetype="application/json")
