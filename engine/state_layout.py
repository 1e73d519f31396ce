"""The sharded layout of ``state/``: which file holds which entry, and the exact text of each file.

Reviewable in git at 50,000 subscriptions: every entry lives in one small file chosen from its kind,
its month (for objects of a month) and a stable hash of its address, so an object never moves between
files, an apply that touches a few objects changes a few files, and a month's files stop changing
once the month is done. Each file is ``json.dumps(indent=2, sort_keys=True)`` text plus a newline, so
the same snapshot always gives the same bytes and ``git diff`` shows one block per changed object.
``state.json`` holds the lineage, the serial, the applied months and every shard with its entry
count, so a missing or truncated shard is noticed rather than silently forgotten.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from engine.jsontext import indented_json, json_string

__all__ = ["BUCKETS", "META_FILE", "shard_name", "shard_pieces", "valid_shard_name"]

META_FILE = "state.json"
BUCKETS = 32
"""Files per kind (and month): about 1,600 entries (1 MB) each at 50,000 subscriptions; 10 MB is
reached near 400,000 subscriptions."""
T = TypeVar("T")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_PERIOD = re.compile(r"^\d{4}-\d{2}$")
_SHARD = re.compile(r"^[a-z][a-z0-9_]{0,40}/(?:\d{4}-\d{2}/)?[0-9a-f]{2}\.json$")


def shard_name(address: str, kind: str, period: str | None) -> str:
    """``contract/0f.json`` or ``adjustment/2026-09/0f.json``: where an entry is kept."""
    return _folder(kind, period) + _BUCKET_FILES[zlib.crc32(address.encode()) % BUCKETS]


_BUCKET_FILES = tuple(f"{bucket:02x}.json" for bucket in range(BUCKETS))


@functools.lru_cache(maxsize=4096)
def _folder(kind: str, period: str | None) -> str:
    """The folder of a kind (and month), checked once per pair: never a path outside ``state/``."""
    if not _KIND.match(kind):
        raise ValueError(f"kind {kind!r} cannot name a state folder")
    if period is None:
        return kind + "/"
    if not _PERIOD.match(period):
        raise ValueError(f"period {period!r} is not YYYY-MM")
    return f"{kind}/{period}/"


def valid_shard_name(name: str) -> bool:
    """A name :func:`shard_name` can give (never a path outside ``state/``)."""
    return bool(_SHARD.match(name))


def shard_pieces(entries: Mapping[str, T], to_json: Callable[[T], Any]) -> Iterator[str]:
    """The text of one shard, ``{address: to_json(entry)}`` as indented JSON with sorted keys, in
    pieces; each entry's JSON form lives only while its piece is made."""
    if not entries:
        yield "{}\n"
        return
    opening = "{"
    for address in sorted(entries):
        yield (
            opening + "\n  " + json_string(address) + ": " + indented_json(to_json(entries[address]), "\n  ")
        )
        opening = ","
    yield "\n}\n"
