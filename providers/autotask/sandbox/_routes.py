"""URL routing: which operation on which entity a request path and verb stand for.

Paths are matched case-insensitively, as Autotask's are. Entity operations live under
``/ATServicesRest/V1.0/``; the sandbox's own control endpoints under ``/_sandbox/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.autotask.entities import Entity, find_child, find_entity

from ._errors import no_such_path, not_allowed

BASE_PATH = "/ATServicesRest/V1.0/"
"""Where the REST API is mounted, as on a real Autotask zone."""

ADMIN_PATH = "/_sandbox/"

DELETABLE = frozenset({"ContractCharges"})
"""Entities served a ``DELETE`` under their parent (``Contracts/{id}/Charges/{id}``, A9.5); every other
DELETE is a 405, as billsync never deletes."""

KIND_OF_OPERATION = {
    "query": "query",
    "next": "query",
    "children": "query",
    "count": "count",
    "get": "get",
    "create": "create",
    "update": "update",
    "delete": "delete",
    "info": "info",
    "fields": "info",
    "udfs": "info",
}
"""Counter kind (and fault ``verb``) of each entity operation."""


@dataclass(frozen=True)
class Route:
    """What a request asks for. ``entity`` is set for entity operations, ``admin`` for control ones."""

    operation: str
    entity: Entity | None = None
    object_id: int | None = None
    parent_id: int | None = None
    admin: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return KIND_OF_OPERATION.get(self.operation, self.operation)


def resolve(method: str, path: str) -> Route:
    """The route for ``method`` on ``path``.

    A path no route serves is IIS's HTML 404 (the ``ServiceLevelAgreements`` root, a query on
    ContractServiceAdjustments); a verb a route does not take is ASP.NET's 405 ``{"Message"}`` (a GET
    on a POST query's next page, a write to BillingCodes or ContractServiceUnits), as on Autotask (A2).
    """
    if path.lower().startswith(ADMIN_PATH):
        return Route("admin", admin=tuple(part for part in path[len(ADMIN_PATH) :].split("/") if part))
    if not path.lower().startswith(BASE_PATH.lower()):
        raise no_such_path(path)
    parts = [part for part in path[len(BASE_PATH) :].split("/") if part]
    if not parts:
        raise no_such_path(path)
    head = parts[0].lower()
    if head == "zoneinformation" and len(parts) == 1:
        return _only(method, "GET", Route("zone"))
    if head == "thresholdinformation" and len(parts) == 1:
        return _only(method, "GET", Route("threshold"))
    entity = find_entity(parts[0])
    if entity is None:
        raise no_such_path(path)
    return _entity_route(method, path, entity, parts[1:])


def _entity_route(method: str, path: str, entity: Entity, rest: list[str]) -> Route:
    lowered = [part.lower() for part in rest]
    if not rest:
        verbs = {"POST": "create" if entity.can_create and _root_writes(entity) else None}
        verbs["PATCH"] = "update" if entity.can_update and _root_writes(entity) else None
        operation = verbs.get(method)
        if operation is None:
            raise not_allowed(method)
        return Route(operation, entity)
    if lowered[0] == "entityinformation":
        info = {(): "info", ("fields",): "fields", ("userdefinedfields",): "udfs"}.get(tuple(lowered[1:]))
        if info is None:
            raise no_such_path(path)
        return _only(method, "GET", Route(info, entity))
    if not entity.can_query:
        raise no_such_path(path)
    if lowered == ["query"]:
        return _only(method, ("GET", "POST"), Route("query", entity))
    if lowered == ["query", "count"]:
        return _only(method, ("GET", "POST"), Route("count", entity))
    if lowered == ["query", "next"]:
        return _only(method, ("GET", "POST"), Route("next", entity))
    if len(rest) == 1 and _is_id(rest[0]):
        return _only(method, "GET", Route("get", entity, object_id=int(rest[0])))
    if len(rest) in (2, 3) and _is_id(rest[0]):
        child = find_child(entity.name, rest[1])
        if child is None:
            raise no_such_path(path)
        parent_id = int(rest[0])
        if len(rest) == 3:
            if not _is_id(rest[2]) or not child.can_query:
                raise no_such_path(path)
            if method == "DELETE" and child.name in DELETABLE:
                return Route("delete", child, object_id=int(rest[2]), parent_id=parent_id)
            return _only(method, "GET", Route("get", child, object_id=int(rest[2]), parent_id=parent_id))
        verbs = {
            "GET": "children" if child.can_query else None,
            "POST": "create" if child.can_create else None,
            "PATCH": "update" if child.can_update else None,
        }
        operation = verbs.get(method)
        if operation is None:
            raise not_allowed(method)
        return Route(operation, child, parent_id=parent_id)
    raise no_such_path(path)


def _root_writes(entity: Entity) -> bool:
    """Child entities are written under their parent, except adjustments, which have both (A2)."""
    return entity.parent is None or entity.name == "ContractServiceAdjustments"


def _only(method: str, allowed: str | tuple[str, ...], route: Route) -> Route:
    verbs = (allowed,) if isinstance(allowed, str) else allowed
    if method not in verbs:
        raise not_allowed(method)
    return route


def _is_id(text: str) -> bool:
    return text.isdigit()
