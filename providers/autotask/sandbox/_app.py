"""The sandbox WSGI application: auth, limits, faults, then the entity operation.

A request goes through, in order: routing (404/405), authentication (500 unknown user or
integration code, 401 wrong secret), the hourly budget (429), the per-endpoint thread limit (429),
the counters, injected faults, and finally the operation. ``ZoneInformation`` needs no auth;
``ThresholdInformation`` and ``/_sandbox/*`` need auth but are neither counted nor limited.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import httpx
from pydantic import ValidationError
from werkzeug.wrappers import Request, Response

from providers.autotask.entities import CONTRACT_CHARGES

from ._config import SandboxConfig
from ._errors import IIS_NOT_FOUND, ApiError, not_found, throttled
from ._faults import Fault, FaultInjector
from ._filters import too_deep
from ._info import entity_information, field_information, udf_information
from ._json import dumps, loads
from ._limits import Counters, RequestBudget, SandboxStats, ThreadLimiter
from ._pace import request_delay
from ._queries import parse_query, present, resume_query, run_count, run_query
from ._routes import BASE_PATH, Route, resolve
from ._store import SandboxStore
from ._tenant import Tenant
from ._writes import create_object, delete_object, update_object


class SandboxApp:
    """The Autotask emulator as a WSGI callable, plus an in-process control API for tests."""

    def __init__(self, store: SandboxStore, config: SandboxConfig | None = None) -> None:
        self.store = store
        self.config = config or SandboxConfig()
        self._limiter = ThreadLimiter(self.config.thread_limit)
        self._budget = RequestBudget(
            self.config.hourly_limit, self.config.window_seconds, self.config.monotonic
        )
        self._counters = Counters()
        self._faults = FaultInjector()

    def __repr__(self) -> str:
        return f"SandboxApp({self.store!r})"

    @property
    def tenant(self) -> Tenant:
        """The tenant's configuration (SLAs, UDFs, billing codes) for tests to change: :mod:`._tenant`."""
        return self.store.tenant

    # ---- in-process control ----------------------------------------------------------------------

    def stats(self) -> SandboxStats:
        """Request counters per endpoint and kind, with current and peak in-flight counts."""
        return self._counters.stats(self._limiter, self._budget)

    def reset_stats(self) -> None:
        """Zero the counters and peaks (the rolling hourly window is kept, as on Autotask)."""
        self._counters.reset()
        self._limiter.reset_peaks()

    def inject_fault(self, fault: Fault | None = None, **spec: Any) -> Fault:
        """Set a fault (a :class:`Fault`, or its fields as keywords); it counts requests from now."""
        return self._faults.inject(fault, **spec)

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[Fault]:
        return self._faults.active()

    def bill_charge(self, charge_id: int) -> None:
        """Mark a contract charge billed (what invoicing does in Autotask); it is locked from then on.

        Raises ``LookupError`` when there is no such charge.
        """
        with self.store.transaction():
            if self.store.get(CONTRACT_CHARGES, charge_id) is None:
                raise LookupError(f"ContractCharges {charge_id} does not exist.")
            self.store.update(CONTRACT_CHARGES, charge_id, {"isBilled": True})

    def reset(self) -> None:
        """Recreate the seeded demo tenant and forget counters and faults."""
        self.store.reset()
        self.reset_stats()
        self.clear_faults()

    def threshold_information(self) -> dict[str, int]:
        """What ``GET /ThresholdInformation`` answers."""
        return {
            "externalRequestThreshold": self._budget.limit,
            "requestThresholdTimeframe": int(self._budget.window_seconds // 60),
            "currentTimeframeRequestCount": self._budget.used(),
        }

    # ---- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._handle(request)
        except ApiError as error:
            response = _error(error)
        except _ResponseLost:
            return _lost_response(start_response)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        route = resolve(request.method, request.path)
        if route.operation == "zone":
            return self._zone(request)
        code = self._authenticate(request)
        if route.operation == "threshold":
            return _json(200, self.threshold_information())
        if route.operation == "admin":
            return self._admin(request, route)
        assert route.entity is not None
        endpoint = route.entity.name
        if not self._budget.consume():
            raise throttled(
                f"The limit of {self._budget.limit} requests per {int(self._budget.window_seconds // 60)} "
                "minutes has been reached; try again later."
            )
        key = (code, endpoint)
        if not self._limiter.enter(key):
            self._counters.throttle(endpoint)
            raise throttled(
                f"Thread limit exceeded: at most {self._limiter.limit} concurrent requests per endpoint "
                f"({endpoint})."
            )
        try:
            self._counters.count(endpoint, route.kind)
            self._hold(route.kind)
            fired = self._faults.match(endpoint, route.kind)
            for fault in fired:
                if fault.delay:
                    self.config.sleep(fault.delay)
            for fault in fired:
                if fault.status is not None:
                    raise ApiError(fault.message, fault.status)
            response = self._operate(request, route)
            if any(fault.drop_response for fault in fired):
                raise _ResponseLost
            return response
        finally:
            self._limiter.leave(key)

    def _hold(self, kind: str) -> None:
        """Wait as long as Autotask would take (:mod:`._pace`), inside the thread limit as there."""
        pace = self.config.pace
        if pace.instant:
            return
        delay = request_delay(pace, kind, self._budget.used(), self._budget.limit, self.config.draw)
        if delay > 0:
            self.config.sleep(delay)

    def _authenticate(self, request: Request) -> str:
        creds = self.config.credentials
        username = request.headers.get("UserName", "")
        code = request.headers.get("ApiIntegrationCode", "")
        secret = request.headers.get("Secret", "")
        if username.lower() != creds.username.lower():
            raise ApiError("Zone information could not be determined")
        if not hmac.compare_digest(code.encode(), creds.integration_code.encode()):
            raise ApiError("IntegrationCode is invalid.")
        if not hmac.compare_digest(secret.encode(), creds.secret.encode()):
            raise ApiError("Authentication failed: the secret does not match the user.", 401)
        return code

    def _zone(self, request: Request) -> Response:
        user = request.args.get("user", "")
        if user.lower() != self.config.credentials.username.lower():
            raise ApiError("Zone information could not be determined")
        root = request.url_root
        return _json(
            200,
            {
                "zoneName": "Sandbox",
                "url": f"{root}ATServicesRest/",
                "webUrl": root,
                "ci": self.store.tenant_ci(),
            },
        )

    def _operate(self, request: Request, route: Route) -> Response:
        assert route.entity is not None
        entity = self.store.tenant.entity(route.entity)
        base_url = request.url_root.rstrip("/") + BASE_PATH
        op = route.operation
        if op == "info":
            return _json(200, entity_information(entity))
        if op == "fields":
            return _json(200, field_information(entity))
        if op == "udfs":
            return _json(200, udf_information(entity))
        if op in ("query", "count"):
            body = _body(request) if request.method == "POST" else _search(request)
            spec = parse_query(entity, body, request.method)
            if op == "query":
                self._counters.chain(entity.name, spec.depth)
            return _json(
                200,
                run_query(self.store, spec, base_url=base_url)
                if op == "query"
                else run_count(self.store, spec),
            )
        if op == "next":
            body = _body(request) if request.method == "POST" else None
            view = self.store.tenant.entity
            spec, after, before = resume_query(request.args.get("paging", ""), view, request.method, body)
            if spec.entity.name != entity.name:
                raise ApiError("The paging token belongs to another entity.")
            self._counters.chain(entity.name, spec.depth)
            return _json(200, run_query(self.store, spec, base_url=base_url, after=after, before=before))
        if op == "children":
            assert route.parent_id is not None
            query = {"filter": [{"op": "eq", "field": "contractID", "value": route.parent_id}]}
            self._counters.chain(entity.name, 1)
            return _json(200, run_query(self.store, parse_query(entity, query, "GET"), base_url=base_url))
        if op == "get":
            assert route.object_id is not None
            row = self.store.get(entity, route.object_id)
            if row is None or (route.parent_id is not None and row.get("contractID") != route.parent_id):
                raise not_found(f"{entity.name} {route.object_id} does not exist.")
            return _json(200, {"item": present(entity, row)})
        if op == "delete":
            assert route.object_id is not None
            deleted = delete_object(self.store, entity, route.object_id, parent_id=route.parent_id)
            return _json(200, {"itemId": deleted})
        now = self.config.clock()
        if op == "create":
            item_id = create_object(self.store, entity, _body(request), now=now, parent_id=route.parent_id)
        else:
            item_id = update_object(self.store, entity, _body(request), now=now, parent_id=route.parent_id)
        return _json(200, {"itemId": item_id})

    def _admin(self, request: Request, route: Route) -> Response:
        parts, method = route.admin, request.method
        if parts == ("stats",) and method == "GET":
            return _json(200, self.stats().model_dump())
        if parts == ("stats", "reset") and method == "POST":
            self.reset_stats()
            return _json(200, self.stats().model_dump())
        if parts == ("faults",):
            if method == "POST":
                self._add_faults(_body(request))
            elif method == "DELETE":
                self.clear_faults()
            elif method != "GET":
                raise ApiError(f"{method} is not supported on /_sandbox/faults.", 405)
            return _json(200, {"faults": [fault.model_dump() for fault in self.faults()]})
        if len(parts) == 3 and parts[0] == "charges" and parts[2] == "bill" and parts[1].isdigit():
            if method != "POST":
                raise ApiError("Use POST to bill a charge.", 405)
            try:
                self.bill_charge(int(parts[1]))
            except LookupError as error:
                raise not_found(str(error)) from None
            return _json(200, {"itemId": int(parts[1])})
        if parts == ("post",) and method == "POST":
            return _json(200, self._post(_body(request)))
        if parts == ("reset",) and method == "POST":
            self.reset()
            return _json(200, {"reset": True})
        raise not_found(f"No sandbox control endpoint at {request.path}.")

    def _post(self, body: Any) -> dict[str, Any]:
        """``POST /_sandbox/post {"through": "YYYY-MM-DD"}``: approve and post through that day."""
        through = body.get("through") if isinstance(body, dict) else None
        try:
            day = date.fromisoformat(through) if isinstance(through, str) else None
        except ValueError:
            day = None
        if day is None:
            raise ApiError('Post needs {"through": "YYYY-MM-DD"}.')
        result = self.tenant.post(day, at=self.config.clock())
        return {
            "through": day.isoformat(),
            "postedAt": result.posted_at,
            "chargesBilled": result.charges_billed,
        }

    def _add_faults(self, body: Any) -> None:
        items = body if isinstance(body, list) else [body]
        try:
            faults = [Fault.model_validate(item) for item in items]
        except ValidationError as error:
            raise ApiError(f"Invalid fault: {error.errors(include_url=False)}") from None
        for fault in faults:
            self._faults.add(fault)


def _json(status: int, payload: Any) -> Response:
    return Response(dumps(payload), status=status, mimetype="application/json")


def _error(error: ApiError) -> Response:
    """The error in the shape Autotask answers it with (see :mod:`._errors`)."""
    if error.shape == "html":
        return Response(IIS_NOT_FOUND, status=error.status, mimetype="text/html")
    if error.shape == "message":
        return _json(error.status, {"Message": error.messages[0]})
    return _json(error.status, {"errors": error.messages})


def _body(request: Request) -> Any:
    data = request.get_data(cache=True)
    if not data.strip():
        raise ApiError("The request needs a JSON body.")
    try:
        return loads(data)
    except ValueError:
        raise ApiError("The request body is not valid JSON.") from None
    except RecursionError:
        raise too_deep() from None


def _search(request: Request) -> Any:
    search = request.args.get("search")
    if not search:
        raise ApiError("A GET query needs the search parameter holding the query JSON.")
    try:
        return loads(search)
    except ValueError:
        raise ApiError("The search parameter is not valid JSON.") from None
    except RecursionError:
        raise too_deep() from None


class _ResponseLost(Exception):  # noqa: N818 - an event, not an error of the sandbox
    """The request was executed and committed, and its response is lost on the way (a fault)."""


def _lost_response(start_response: Any) -> Iterator[bytes]:
    """Lose the response of a request that has been executed and committed.

    The status line and the first byte of the body go out, then the connection closes, so the client
    sees an answer cut off (``httpx.RemoteProtocolError``). Served, the server closes the connection
    when the body fails; in process the error itself reaches the caller, as httpx raises it on the wire.
    """
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "64")])
    yield b"{"
    raise httpx.RemoteProtocolError("Server disconnected before the response was complete (injected fault).")
