"""URL routing: which operation on which entity a request path and verb stand for.

Paths are matched case-insensitively, as Autotask's are. Entity operations live under
``/ATServicesRest/V1.0/``; the sandbox's own control endpoints under ``/_sandbox/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from providers.autotask.entities import Entity, find_child, find_entity

from ._errors import not_allowed, not_found

BASE_PATH = "/ATServicesRest/V1.0/"
"""Where the REST API is mounted, as on a real Autotask zone."""

ADMIN_PATH = "/_sandbox/"

KIND_OF_OPERATION = {
    "query": "query",
    "next": "query",
    "count": "count",
    "get": "get",
    "create": "create",
    "update": "update",
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
    """The route for ``method`` on ``path``; raises 404 for unknown paths and 405 for wrong verbs."""
    if path.lower().startswith(ADMIN_PATH):
        return Route("admin", admin=tuple(part for part in path[len(ADMIN_PATH) :].split("/") if part))
    if not path.lower().startswith(BASE_PATH.lower()):
        raise not_found(f"No API at {path}; the REST API lives under {BASE_PATH}.")
    parts = [part for part in path[len(BASE_PATH) :].split("/") if part]
    if not parts:
        raise not_found(f"No API at {path}.")
    head = parts[0].lower()
    if head == "zoneinformation" and len(parts) == 1:
        return _only(method, "GET", Route("zone"))
    if head == "thresholdinformation" and len(parts) == 1:
        return _only(method, "GET", Route("threshold"))
    entity = find_entity(parts[0])
    if entity is None:
        raise not_found(f"Unknown entity {parts[0]!r}.")
    return _entity_route(method, entity, parts[1:])


def _entity_route(method: str, entity: Entity, rest: list[str]) -> Route:
    lowered = [part.lower() for part in rest]
    if not rest:
        operation = {"POST": "create", "PATCH": "update"}.get(method)
        if operation is None:
            raise not_allowed(
                f"{method} is not supported on {entity.name}; use POST to create or PATCH to update."
            )
        return Route(operation, entity)
    if lowered == ["query"]:
        return _only(method, ("GET", "POST"), Route("query", entity))
    if lowered == ["query", "count"]:
        return _only(method, ("GET", "POST"), Route("count", entity))
    if lowered == ["query", "next"]:
        return _only(method, "GET", Route("next", entity))
    if lowered == ["entityinformation"]:
        return _only(method, "GET", Route("info", entity))
    if lowered == ["entityinformation", "fields"]:
        return _only(method, "GET", Route("fields", entity))
    if lowered == ["entityinformation", "userdefinedfields"]:
        return _only(method, "GET", Route("udfs", entity))
    if len(rest) == 1 and _is_id(rest[0]):
        return _only(method, "GET", Route("get", entity, object_id=int(rest[0])))
    if len(rest) in (2, 3) and _is_id(rest[0]):
        child = find_child(entity.name, rest[1])
        if child is None:
            raise not_found(f"{entity.name} has no child collection {rest[1]!r}.")
        parent_id = int(rest[0])
        if len(rest) == 3:
            if not _is_id(rest[2]):
                raise not_found(f"{rest[2]!r} is not an id.")
            return _only(method, "GET", Route("get", child, object_id=int(rest[2]), parent_id=parent_id))
        operation = {"POST": "create", "PATCH": "update"}.get(method)
        if operation is None:
            raise not_allowed(f"{method} is not supported on {entity.name}/{{id}}/{child.child_path}.")
        return Route(operation, child, parent_id=parent_id)
    raise not_found(f"No {entity.name} API at {'/'.join(rest)!r}.")


def _only(method: str, allowed: str | tuple[str, ...], route: Route) -> Route:
    verbs = (allowed,) if isinstance(allowed, str) else allowed
    if method not in verbs:
        raise not_allowed(f"{method} is not supported here; use {' or '.join(verbs)}.")
    return route


def _is_id(text: str) -> bool:
    return text.isdigit()
