"""The emulator WSGI application: token grant, bearer check, faults, then the answer.

A request goes through, in order: routing (404 for an unknown path, 405 for a wrong method), the
counters, injected faults, authentication (the token grant checks the Basic header, then the user;
every other route needs a live bearer token: 401 otherwise), the reseller check (404 for another
reseller id) and finally the answer. Lists are paged (see :mod:`._documents`).

Two routes write (onboarding, D2): creating an organization and setting one of its custom properties.
What they change is served from then on, and every write request is recorded with its JSON body
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
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from engine.source import SourceData
from providers._shared.wire import dumps, loads
from providers.cloudmore import api_mapping as m

from ._config import EmulatorConfig
from ._documents import Documents, build_documents
from ._faults import Fault, FaultInjector

__all__ = ["EmulatorApp", "EmulatorStats", "RecordedWrite"]

_CLIENT_ID = "ro.customer.client"
_ASYNC = "billing/reports/MonthlyBillingPerOrganizationAsync"
_ROUTES = Map(
    [
        Rule("/connect/token", endpoint="token", methods=["POST"]),
        Rule("/api/resellers/<reseller>/organizations", endpoint="organizations", methods=["GET"]),
        Rule("/api/resellers/<reseller>/organizations", endpoint="create_organization", methods=["POST"]),
        Rule(
            "/api/resellers/<reseller>/organizations/<organization>/customproperties/<name>",
            endpoint="set_custom_property",
            methods=["PUT"],
        ),
        Rule("/api/resellers/<reseller>/services", endpoint="services", methods=["GET"]),
        Rule(
            "/api/resellers/<reseller>/services/azure/subscriptions",
            endpoint="azure_subscriptions",
            methods=["GET"],
        ),
        Rule(
            "/api/resellers/<reseller>/services/<service>/subscriptions",
            endpoint="subscriptions",
            methods=["GET"],
        ),
        Rule("/api/resellers/<reseller>/pricelist", endpoint="price_list", methods=["GET"]),
        Rule("/api/resellers/<reseller>/billing/reports", endpoint="reports", methods=["GET"]),
        Rule(f"/api/resellers/<reseller>/{_ASYNC}", endpoint="report_start", methods=["POST"]),
        Rule(f"/api/resellers/<reseller>/{_ASYNC}/<task>", endpoint="report_status", methods=["GET"]),
        Rule(f"/api/resellers/<reseller>/{_ASYNC}/<task>/lines", endpoint="report_lines", methods=["GET"]),
    ],
    strict_slashes=False,
)
_WRITES = frozenset({"create_organization", "set_custom_property"})
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
        self.body = body if body is not None else {m.ERROR_MESSAGE: message}


@dataclass
class _Task:
    publication_id: str
    pending: int


class EmulatorApp:
    """The Cloudmore API emulator as a WSGI callable, plus an in-process control API for tests."""

    def __init__(self, data: SourceData, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.documents: Documents = build_documents(data)
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

    def set_report_polls(self, polls: int) -> None:
        """Reports started from now answer "still generating" this many times before they complete."""
        with self._lock:
            self._report_polls = polls

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
            response = _json(failure.status, failure.body)
            if failure.status == 429:
                response.headers["Retry-After"] = "0"
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        try:
            route, args = _ROUTES.bind_to_environ(request.environ).match()
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
        docs = self.documents
        if route == "organizations":
            with self._lock:
                organizations = list(docs.organizations)
            return _paged(request, organizations, self.config.max_page_size)
        if route == "create_organization":
            return self._create_organization(request)
        if route == "set_custom_property":
            return self._set_custom_property(request, args["organization"], args["name"])
        if route == "services":
            return _paged(request, docs.services, self.config.max_page_size)
        if route == "subscriptions":
            listed = docs.subscriptions.get(args["service"])
            if listed is None:
                raise _Failure(404, "Service not found.")
            return _paged(request, listed, self.config.max_page_size)
        if route == "azure_subscriptions":
            return _paged(request, docs.azure_subscriptions, self.config.max_page_size)
        if route == "price_list":
            return _paged(request, docs.price_list, self.config.max_page_size)
        if route == "reports":
            return _paged(request, docs.publications, self.config.max_page_size)
        if route == "report_start":
            return self._start_report(request)
        task_id = args["task"]
        if route == "report_status":
            return _json(200, self._poll(task_id))
        return self._lines(request, task_id)

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
        """A new organization from ``name``, ``customerNumber`` and ``customProperties``; 201 with it."""
        body = _body(request)
        if not isinstance(body, dict):
            raise _Failure(400, "Expected a JSON object describing the organization.")
        name = body.get(m.ORG_NAME)
        number = body.get(m.ORG_CUSTOMER_NUMBER) or ""
        properties = body.get(m.ORG_CUSTOM_PROPERTIES) or []
        if not isinstance(name, str) or not name.strip():
            raise _Failure(400, "The organization needs a name.")
        if not isinstance(number, str):
            raise _Failure(400, "customerNumber must be text.")
        if not isinstance(properties, list) or not all(_is_property(entry) for entry in properties):
            raise _Failure(400, "customProperties must be a list of {name, value} with text values.")
        with self._lock:
            organization_id = str(uuid.uuid5(_NEW_ORGANIZATIONS, str(next(self._organization_numbers))))
            document: dict[str, Any] = {
                m.ORG_ID: organization_id,
                m.ORG_NAME: name.strip(),
                m.ORG_CUSTOMER_NUMBER: number,
                m.ORG_CURRENCY: self.config.organization_currency,
                m.ORG_CUSTOM_PROPERTIES: [dict(entry) for entry in properties],
                m.ORG_SERVICES: [],
            }
            self.documents.organizations.append(document)
        return _json(201, document)

    def _set_custom_property(self, request: Request, organization_id: str, name: str) -> Response:
        """Set (or add) one custom property of an organization: body ``{"value": "<text>"}``."""
        body = _body(request)
        value = body.get(m.PROPERTY_VALUE) if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise _Failure(400, "Expected a JSON object with the property's text value.")
        entry = {m.CUSTOM_PROPERTY_NAME: name, m.CUSTOM_PROPERTY_VALUE: value}
        with self._lock:
            organizations = self.documents.organizations
            index = next((n for n, o in enumerate(organizations) if o[m.ORG_ID] == organization_id), None)
            if index is None:
                raise _Failure(404, "Organization not found.")
            old = organizations[index]
            kept = [p for p in old[m.ORG_CUSTOM_PROPERTIES] if p.get(m.CUSTOM_PROPERTY_NAME) != name]
            # a new dict, never an edit: a list being answered concurrently keeps the old one whole
            organizations[index] = {**old, m.ORG_CUSTOM_PROPERTIES: [*kept, entry]}
        return _json(200, entry)

    def _start_report(self, request: Request) -> Response:
        body = _body(request)
        if not isinstance(body, dict):
            raise _Failure(400, "Expected a JSON object naming the report.")
        publication_id = body.get(m.REQUEST_REPORT_ID)
        period = body.get(m.REQUEST_PERIOD)
        known = {p[m.PUBLICATION_ID]: p[m.PUBLICATION_PERIOD] for p in self.documents.publications}
        if publication_id not in known or known[publication_id] != period:
            raise _Failure(404, "No such published report for that period.")
        with self._lock:
            task_id = f"task-{next(self._task_numbers)}"
            task = self._tasks[task_id] = _Task(str(publication_id), self._report_polls)
        return _json(202, self._status(task_id, task))

    def _poll(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise _Failure(404, "No such report task.")
            return self._status(task_id, task)

    def _status(self, task_id: str, task: _Task) -> dict[str, Any]:
        """The task's status; each answer while it is pending uses up one of its pending polls."""
        if task.pending > 0:
            task.pending -= 1
            return {m.TASK_ID: task_id, m.TASK_STATUS: "Processing"}
        lines = self.documents.lines[task.publication_id]
        return {m.TASK_ID: task_id, m.TASK_STATUS: m.TASK_DONE, m.TASK_LINE_COUNT: len(lines)}

    def _lines(self, request: Request, task_id: str) -> Response:
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise _Failure(404, "No such report task.")
            if task.pending > 0:
                raise _Failure(409, "The report is still being generated.")
        return _paged(request, self.documents.lines[task.publication_id], self.config.max_page_size)


def _paged(request: Request, items: list[dict[str, Any]], max_size: int) -> Response:
    try:
        page = int(request.args.get(m.PAGE_PARAM, "1"))
        size = int(request.args.get(m.PAGE_SIZE_PARAM, "100"))
    except ValueError:
        raise _Failure(400, "page and pageSize must be whole numbers.") from None
    if page < 1 or not 1 <= size <= max_size:
        raise _Failure(400, f"page must be 1 or more and pageSize between 1 and {max_size}.")
    chunk = items[(page - 1) * size : page * size]
    return _json(200, {m.PAGE_ITEMS: chunk, "page": page, "pageSize": size, m.PAGE_TOTAL: len(items)})


def _body(request: Request) -> Any:
    """The request's JSON body (fractions as Decimal); ``None`` when it is empty or not JSON."""
    try:
        return loads(request.get_data() or b"null")
    except ValueError:
        return None


def _is_property(entry: Any) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get(m.CUSTOM_PROPERTY_NAME), str)
        and isinstance(entry.get(m.CUSTOM_PROPERTY_VALUE), str)
    )


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _json(status: int, body: Any) -> Response:
    """A JSON answer; a Decimal keeps its scale (``12.5000``), as .NET writers do (unverified)."""
    return Response(dumps(body), status=status, mimetype="application/json")
