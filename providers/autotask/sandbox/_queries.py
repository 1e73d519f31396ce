"""Query requests: body parsing, keyset pages with ``nextPageUrl``/``prevPageUrl``, item shaping.

Pages hold 500 items (or ``MaxRecords``), sorted by id. A page link (``…/{E}/query/next?paging=…``)
carries an opaque token with the query, the verb it was made with and the id it continues from
(``id > last`` forward, ``id < first`` back), so following links is stable while data changes and
needs no server-side state. As on Autotask (A4), the next page of a POST query is fetched by POSTing
the same body to the link, and a GET there is refused; a GET query's link is followed with GET.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote as url_quote

from providers.autotask.entities import Entity, find_entity

from ._errors import ApiError, not_allowed
from ._filters import Group, parse_filter
from ._json import dumps, loads
from ._store import Row, SandboxStore

PAGE_SIZE = 500
"""Autotask returns at most 500 items per page."""


@dataclass(frozen=True)
class QuerySpec:
    """A checked query: the entity, its filter, the fields to return and the page size."""

    entity: Entity
    raw_filter: list[Any]
    where: Group
    include: frozenset[str] | None
    include_udfs: frozenset[str] | None
    """UDFs to return: None for all, empty for none."""
    max_records: int | None
    raw_include: list[str] | None = None
    via: str = "POST"
    """The verb the query was asked with; its page links must be followed with the same one."""
    depth: int = 1
    """Which page of its chain this request reads: 1 for the query, n + 1 for a link from page n."""

    @property
    def page_size(self) -> int:
        return self.max_records or PAGE_SIZE


def parse_query(entity: Entity, body: Any, via: str = "POST") -> QuerySpec:
    """Check a query body ``{"filter", "IncludeFields", "MaxRecords"}`` (keys case-insensitive)."""
    if not isinstance(body, Mapping):
        raise ApiError("A query body must be a JSON object with a filter list.")
    keys = {str(key).lower(): value for key, value in body.items()}
    raw_filter = keys.get("filter")
    where = parse_filter(entity, raw_filter)
    max_records = keys.get("maxrecords")
    if max_records is not None and (
        isinstance(max_records, bool) or not isinstance(max_records, int) or not 1 <= max_records <= PAGE_SIZE
    ):
        raise ApiError(f"MaxRecords must be an integer from 1 to {PAGE_SIZE}, not {max_records!r}.")
    include, include_udfs = _include_fields(entity, keys.get("includefields"))
    assert isinstance(raw_filter, list)
    raw_include = keys.get("includefields") or None
    return QuerySpec(entity, raw_filter, where, include, include_udfs, max_records, raw_include, via)


def run_query(
    store: SandboxStore,
    spec: QuerySpec,
    *,
    base_url: str,
    after: int | None = None,
    before: int | None = None,
) -> dict[str, Any]:
    """One page of results as ``{"items", "pageDetails"}``."""
    size = spec.page_size
    entity = spec.entity
    if before is not None:
        rows = store.select(entity, spec.where, before=before, limit=size + 1, descending=True)
        has_prev = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_next = bool(rows) and bool(store.select(entity, spec.where, after=rows[-1]["id"], limit=1))
    else:
        rows = store.select(entity, spec.where, after=after, limit=size + 1)
        has_next = len(rows) > size
        rows = rows[:size]
        has_prev = (
            after is not None
            and bool(rows)
            and bool(store.select(entity, spec.where, before=rows[0]["id"], limit=1, descending=True))
        )
    return {
        "items": [present(entity, row, spec) for row in rows],
        "pageDetails": {
            "count": len(rows),
            "requestCount": size,
            "prevPageUrl": _page_url(base_url, spec, before=rows[0]["id"]) if has_prev else None,
            "nextPageUrl": _page_url(base_url, spec, after=rows[-1]["id"]) if has_next else None,
        },
    }


def run_count(store: SandboxStore, spec: QuerySpec) -> dict[str, Any]:
    """``{"queryCount": n}`` for the query's filter."""
    return {"queryCount": store.count(spec.entity, spec.where)}


def resume_query(
    token: str, view: Callable[[Entity], Entity], method: str, body: Any
) -> tuple[QuerySpec, int | None, int | None]:
    """The query, ``after`` and ``before`` ids a page link stands for, followed with ``method``.

    ``body`` is the request's JSON (None for a GET). A POST query's link needs a POST repeating the
    query's body; a GET on it is ASP.NET's 405, a different body a 500. ``view`` gives the entity as
    the tenant has it now.
    """
    try:
        data = loads(zlib.decompress(base64.urlsafe_b64decode(token.encode("ascii") + b"==")))
    except (ValueError, binascii.Error, zlib.error, UnicodeError):
        raise ApiError("The paging token is not valid; start the query again.") from None
    if not isinstance(data, dict) or not isinstance(data.get("e"), str):
        raise ApiError("The paging token is not valid; start the query again.")
    entity = find_entity(data["e"])
    if entity is None:
        raise ApiError("The paging token is not valid; start the query again.")
    via = data.get("v", "GET")
    if method != via:
        raise not_allowed(method)
    query: dict[str, Any] = {"filter": data.get("f")}
    if data.get("i") is not None:
        query["IncludeFields"] = data["i"]
    if data.get("m") is not None:
        query["MaxRecords"] = data["m"]
    spec = parse_query(view(entity), query, via)
    if via == "POST":
        sent = parse_query(view(entity), body, via)
        if (sent.raw_filter, sent.raw_include, sent.max_records) != (
            spec.raw_filter,
            spec.raw_include,
            spec.max_records,
        ):
            raise ApiError("The body of a next-page request must repeat the query that returned the link.")
    depth = data.get("d", 2)
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 2:
        raise ApiError("The paging token is not valid; start the query again.")
    return replace(spec, depth=depth), data.get("a"), data.get("b")


def present(entity: Entity, row: Row, spec: QuerySpec | None = None) -> dict[str, Any]:
    """An object as Autotask returns it, limited to the query's IncludeFields."""
    include = spec.include if spec else None
    item = {f.name: row.get(f.name) for f in entity.fields if include is None or f.name in include}
    wanted = spec.include_udfs if spec else None
    if entity.has_udfs:  # rows carry the list even when no UDF was asked for (A3)
        item["userDefinedFields"] = [
            udf for udf in row.get("userDefinedFields", []) if wanted is None or udf["name"] in wanted
        ]
    return item


def _include_fields(entity: Entity, raw: Any) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    if raw is None or raw == []:
        return None, None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise ApiError("IncludeFields must be a list of field names.")
    fields = {"id"}
    udfs: set[str] = set()
    every_udf = False
    for name in raw:
        field = entity.field(name)
        udf = entity.udf(name)
        if field is not None:
            fields.add(field.name)
        elif udf is not None:
            udfs.add(udf.name)
        elif name.lower() == "userdefinedfields":
            every_udf = True
        else:
            raise ApiError(f"Unknown field {name!r} in IncludeFields for {entity.name}.")
    return frozenset(fields), None if every_udf else frozenset(udfs)


def _page_url(base_url: str, spec: QuerySpec, *, after: int | None = None, before: int | None = None) -> str:
    data = {
        "e": spec.entity.name,
        "f": spec.raw_filter,
        "i": spec.raw_include,
        "m": spec.max_records,
        "a": after,
        "b": before,
        "v": spec.via,
        "d": spec.depth + 1,
    }
    token = base64.urlsafe_b64encode(zlib.compress(dumps(data).encode("utf-8"))).decode("ascii").rstrip("=")
    return f"{base_url}{spec.entity.path}/query/next?paging={url_quote(token)}"
