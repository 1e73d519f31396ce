"""The older one-file snapshot layout (``state/snapshot.json``, format 1): read to migrate it.

One JSON document with every entry, keys sorted, two-space indent; at 50,000 subscriptions it is
160 MB, which is why :mod:`engine.snapshot` shards it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from engine.errors import BillsyncError
from engine.jsontext import indented_json, json_string
from engine.resources import KindSpec
from engine.snapshot_model import Entry, Snapshot, entry_from_json, entry_or_object, entry_to_json

__all__ = ["LEGACY_VERSION", "snapshot_from_json", "snapshot_pieces", "snapshot_to_json"]

LEGACY_VERSION = 1


def snapshot_to_json(snapshot: Snapshot) -> str:
    return "".join(snapshot_pieces(snapshot))


def snapshot_pieces(snapshot: Snapshot) -> Iterator[str]:
    """The text of ``json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)`` plus a newline,
    one resource at a time, so writing 200,000 resources never holds the whole text or document."""
    head: dict[str, Any] = {
        "format_version": LEGACY_VERSION,
        "lineage": snapshot.lineage,
        "serial": snapshot.serial,
        "applied_periods": dict(sorted(snapshot.applied_periods.items())),
        "resources": {},
    }
    if snapshot.applied_digests:
        head["applied_digests"] = dict(sorted(snapshot.applied_digests.items()))
    for index, key in enumerate(sorted(head)):
        yield ("{" if index == 0 else ",") + "\n  " + json_string(key) + ": "
        if key != "resources" or not snapshot.resources:
            yield indented_json(head[key], "\n  ")
            continue
        opening = "{"
        for address in sorted(snapshot.resources):
            entry = entry_to_json(snapshot.resources[address])
            yield opening + "\n    " + json_string(address) + ": " + indented_json(entry, "\n    ")
            opening = ","
        yield "\n  }"
    yield "\n}\n"


def snapshot_from_json(text: str, kinds: Mapping[str, KindSpec], file: str) -> Snapshot:
    try:
        shared: dict[Any, Any] = {}
        doc = json.loads(text, object_hook=lambda obj: entry_or_object(obj, kinds, shared))
        if doc.get("format_version") != LEGACY_VERSION:
            raise BillsyncError(
                f"{file}: snapshot format {doc.get('format_version')!r} is not supported (expected {LEGACY_VERSION})"
            )
        return Snapshot(
            lineage=str(doc["lineage"]),
            serial=int(doc["serial"]),
            applied_periods={str(k): str(v) for k, v in doc.get("applied_periods", {}).items()},
            applied_digests={str(k): str(v) for k, v in doc.get("applied_digests", {}).items()},
            resources={
                str(a): e if isinstance(e, Entry) else entry_from_json(e, kinds)
                for a, e in doc.get("resources", {}).items()
            },
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BillsyncError(
            f"{file}: the snapshot is not valid ({type(exc).__name__}: {exc})",
            hint="Restore it from git (git checkout -- state/), or delete it: the next plan adopts "
            "existing objects through their identity markers.",
        ) from None
