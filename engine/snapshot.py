"""The state snapshot: what billsync last wrote, per address, kept in git.

One JSON document (``state/snapshot.json``): keys sorted, two-space indent, Decimals as strings,
a lineage (uuid) and a serial incremented per apply, so ``git diff state/`` shows exactly what an
apply changed. During an apply every successful write is appended to ``snapshot.journal``
(flushed and fsynced) before the next one starts; the document itself is replaced atomically
(write a temporary file, then rename) at the end and every few seconds. Loading replays a left-over
journal, so a killed apply loses no write. No secrets are ever stored here.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from engine.errors import BillsyncError
from engine.jsontext import indented_json, json_string
from engine.resources import KindSpec, decode_attributes, encode_attributes
from engine.safefile import FileRefused, MiB, read_bounded
from engine.types import Address, Attributes

FORMAT_VERSION = 1
SNAPSHOT_FILE = "snapshot.json"
JOURNAL_FILE = "snapshot.journal"


@dataclass(frozen=True, slots=True)
class Entry:
    """One managed object as last written: its target id, attributes, references and source identity."""

    kind: str
    target_id: int
    attributes: Attributes
    refs: dict[str, Address] = field(default_factory=dict)
    source: dict[str, str] = field(default_factory=dict)
    period: str | None = None


@dataclass(frozen=True)
class Snapshot:
    lineage: str
    serial: int = 0
    resources: dict[Address, Entry] = field(default_factory=dict)
    applied_periods: dict[str, str] = field(default_factory=dict)
    """Month → ``available_on`` of the report revision last applied in full (D7, D20)."""

    @staticmethod
    def empty() -> Snapshot:
        """No snapshot yet: no lineage until the first apply gives it one."""
        return Snapshot(lineage="")

    def recorded_months(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(subscription, month) → total sales and cost as applied, from the month's resources (D20)."""
        months: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        corrections: dict[tuple[str, str, str], tuple[Decimal, Decimal]] = {}
        for entry in self.resources.values():
            src = entry.source
            if "total_sales" not in src or "subscription_id" not in src or "period" not in src:
                continue
            amounts = (Decimal(src["total_sales"]), Decimal(src.get("total_cost", "0")))
            if "correction" in src:  # a correction already applied adds its difference
                corrections[(src["subscription_id"], src["period"], src["correction"])] = amounts
            else:  # every resource of the month records the same month totals
                months[(src["subscription_id"], src["period"])] = amounts
        for (sub, period, _revision), (sales, cost) in corrections.items():
            base_sales, base_cost = months.get((sub, period), (Decimal(0), Decimal(0)))
            months[(sub, period)] = (base_sales + sales, base_cost + cost)
        return months

    def managed_subscriptions(self) -> set[str]:
        return {e.source["subscription_id"] for e in self.resources.values() if "subscription_id" in e.source}


def entry_to_json(entry: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": entry.kind,
        "target_id": entry.target_id,
        "attributes": encode_attributes(entry.attributes),
    }
    if entry.refs:
        out["refs"] = dict(sorted(entry.refs.items()))
    if entry.source:
        out["source"] = dict(sorted(entry.source.items()))
    if entry.period:
        out["period"] = entry.period
    return out


def entry_from_json(
    raw: Mapping[str, Any], kinds: Mapping[str, KindSpec], shared: dict[Any, Any] | None = None
) -> Entry:
    """An entry from its JSON form; with ``shared``, equal values of all entries read with the same
    dict are one object: reference and source strings, and each attribute decoded once per written
    text (addresses, ids, names, dates and amounts repeat across 200,000 entries)."""
    kind = str(raw["kind"])
    spec = kinds.get(kind)
    period = raw.get("period")
    if shared is None:
        attributes = decode_attributes(spec, dict(raw.get("attributes", {})))
        refs = dict(raw.get("refs", {}))
        source = dict(raw.get("source", {}))
    else:
        kind, period = shared.setdefault(kind, kind), shared.setdefault(period, period)
        attributes = {
            name: _decoded(shared, spec, name, value) for name, value in raw.get("attributes", {}).items()
        }
        refs = {name: shared.setdefault(value, value) for name, value in raw.get("refs", {}).items()}
        source = {name: shared.setdefault(value, value) for name, value in raw.get("source", {}).items()}
    return Entry(
        kind=kind,
        target_id=int(raw["target_id"]),
        attributes=attributes,
        refs=refs,
        source=source,
        period=period,
    )


def _decoded(shared: dict[Any, Any], spec: KindSpec | None, name: str, value: Any) -> Any:
    """One attribute as :func:`decode_attributes` decodes it, once per (field type, written value)."""
    if isinstance(value, list | dict):
        return decode_attributes(spec, {name: value})[name]
    key = (spec.fields.get(name) if spec else None, type(value), value)  # 1, 1.0 and True stay apart
    found = shared.get(key, _MISSING)
    if found is _MISSING:
        found = shared[key] = decode_attributes(spec, {name: value})[name]
    return found


_MISSING = object()


def snapshot_to_json(snapshot: Snapshot) -> str:
    return "".join(_snapshot_pieces(snapshot))


def _snapshot_pieces(snapshot: Snapshot) -> Iterator[str]:
    """The text of ``json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)`` plus a newline,
    one resource at a time, so writing 200,000 resources never holds the whole text or document."""
    head: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "lineage": snapshot.lineage,
        "serial": snapshot.serial,
        "applied_periods": dict(sorted(snapshot.applied_periods.items())),
        "resources": {},
    }
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


_ENTRY_KEYS = frozenset({"kind", "target_id", "attributes", "refs", "source", "period"})


def _entry_or_object(obj: dict[str, Any], kinds: Mapping[str, KindSpec], shared: dict[Any, Any]) -> Any:
    """An entry becomes an :class:`Entry` as soon as its JSON object is parsed, so 200,000 of them are
    never held twice (as parsed dicts and as entries), and their equal values are shared."""
    if "target_id" in obj and "kind" in obj and obj.keys() <= _ENTRY_KEYS:
        return entry_from_json(obj, kinds, shared)
    return obj


def snapshot_from_json(text: str, kinds: Mapping[str, KindSpec], file: str) -> Snapshot:
    try:
        shared: dict[Any, Any] = {}
        doc = json.loads(text, object_hook=lambda obj: _entry_or_object(obj, kinds, shared))
        if doc.get("format_version") != FORMAT_VERSION:
            raise BillsyncError(
                f"{file}: snapshot format {doc.get('format_version')!r} is not supported (expected {FORMAT_VERSION})"
            )
        return Snapshot(
            lineage=str(doc["lineage"]),
            serial=int(doc["serial"]),
            applied_periods={str(k): str(v) for k, v in doc.get("applied_periods", {}).items()},
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


_STATE_BYTES = 4096 * MiB
"""The largest snapshot or journal read (a snapshot of 100,000 resources is about 100 MB)."""


def _read_state(path: Path) -> str:
    """A state file's text: a regular file (never through a symbolic link), within :data:`_STATE_BYTES`."""
    try:
        data = read_bounded(path, str(path), _STATE_BYTES, follow_symlinks=False)
    except FileRefused as exc:
        raise BillsyncError(
            str(exc.message), hint=exc.hint or "Point state: in billsync.yaml at a folder of files."
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise BillsyncError(
            f"{path}: the file is not UTF-8 text, so it is not a billsync state file",
            hint="Restore it from git (git checkout -- state/), or delete it: the next plan adopts existing "
            "objects through their identity markers.",
        ) from None


def _open_journal(path: Path, mode: str) -> IO[str]:
    """The journal opened for appending without following a symbolic link (``O_NOFOLLOW``)."""
    flags = (
        os.O_CREAT | os.O_APPEND | (os.O_RDWR if "+" in mode else os.O_WRONLY) | getattr(os, "O_NOFOLLOW", 0)
    )
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BillsyncError(
                f"{path} is a symbolic link; billsync writes its journal only as a regular file",
                hint="Remove the link.",
            ) from None
        raise
    return os.fdopen(fd, mode, encoding="utf-8")


class SnapshotStore:
    """Reads and writes the snapshot of one workspace (the only module touching ``state/`` files)."""

    def __init__(self, folder: Path, kinds: Mapping[str, KindSpec]) -> None:
        self.folder = folder
        self.kinds = kinds
        self.path = folder / SNAPSHOT_FILE
        self.journal_path = folder / JOURNAL_FILE

    def load(self) -> Snapshot:
        """The last snapshot, with any journal of an interrupted apply replayed on top."""
        if self.path.exists() or self.path.is_symlink():
            snapshot = snapshot_from_json(_read_state(self.path), self.kinds, str(self.path))
        else:
            snapshot = Snapshot.empty()
        if self.journal_path.exists() or self.journal_path.is_symlink():
            snapshot = self._replay(snapshot)
        return snapshot

    def write(self, snapshot: Snapshot) -> None:
        """Replace the snapshot atomically and drop the journal it now contains."""
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".snapshot.", suffix=".tmp")
        except OSError as exc:
            exc.filename = str(self.folder)  # the folder refused, not the random name tried in it
            raise
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for piece in _snapshot_pieces(snapshot):
                    fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.filename is None:
                exc.filename = str(self.path)  # a full disk says nothing of which file it was
            raise
        self.journal_path.unlink(missing_ok=True)

    def _replay(self, snapshot: Snapshot) -> Snapshot:
        resources = dict(snapshot.resources)
        for number, line in enumerate(_read_state(self.journal_path).splitlines(), start=1):
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn line: the write it describes did not finish recording
            if not isinstance(record, dict) or record.get("lineage") != snapshot.lineage:
                continue
            try:
                resources[str(record["address"])] = entry_from_json(record["entry"], self.kinds)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BillsyncError(
                    f"{self.journal_path}:{number}: the journal line is not valid ({type(exc).__name__}: {exc})",
                    hint="The journal records the writes of an interrupted apply. Restore it from a backup, or "
                    "delete it: the next plan finds the objects it recorded through their identity markers.",
                ) from None
        return replace(snapshot, resources=resources)


class Journal:
    """Append-only record of the writes of one apply; flushed to disk after each write."""

    def __init__(self, store: SnapshotStore, snapshot: Snapshot, flush_every: float = 2.0) -> None:
        if not snapshot.lineage:
            # the first apply of a workspace: give it a lineage on disk before any write, so a
            # journal left by a crash is replayed onto the right snapshot
            snapshot = replace(snapshot, lineage=str(uuid.uuid4()))
            store.write(snapshot)
        self.store = store
        self.snapshot = snapshot
        self.resources = dict(snapshot.resources)
        self.flush_every = flush_every
        self._last_flush = time.monotonic()
        self._flush_seconds = 0.0
        self._lock = threading.Lock()
        store.folder.mkdir(parents=True, exist_ok=True)
        self._fh = _open_journal(store.journal_path, "a+")
        self._fh.seek(0, os.SEEK_END)
        if self._fh.tell() > 0:
            self._fh.seek(self._fh.tell() - 1)
            if self._fh.read(1) != "\n":
                self._fh.write("\n")  # end a line torn by a crash before appending

    def record(self, address: Address, entry: Entry) -> None:
        """Remember one successful write durably before anything else happens (thread-safe)."""
        with self._lock:
            self._record(address, entry)

    def _record(self, address: Address, entry: Entry) -> None:
        self.resources[address] = entry
        line = json.dumps(
            {"lineage": self.snapshot.lineage, "address": address, "entry": entry_to_json(entry)},
            sort_keys=True,
        )
        try:
            self._fh.write(line + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            if exc.filename is None:
                exc.filename = str(self.store.journal_path)
            raise
        # Rewriting the snapshot takes seconds at 100,000 resources: wait ten times as long as the last
        # rewrite took, so it never costs more than a tenth of the apply (the journal holds every write).
        if time.monotonic() - self._last_flush > max(self.flush_every, 10 * self._flush_seconds):
            started = time.monotonic()
            self.store.write(replace(self.snapshot, resources=dict(self.resources)))
            self._fh.close()
            self._fh = _open_journal(self.store.journal_path, "a")
            self._last_flush = time.monotonic()
            self._flush_seconds = self._last_flush - started

    def close(self, applied_periods: Mapping[str, str] | None = None) -> Snapshot:
        """Write the final snapshot (serial + 1) and remove the journal."""
        with self._lock:
            self._fh.close()
        periods = dict(self.snapshot.applied_periods)
        periods.update(applied_periods or {})
        final = Snapshot(
            lineage=self.snapshot.lineage,
            serial=self.snapshot.serial + 1,
            resources=dict(self.resources),
            applied_periods=periods,
        )
        self.store.write(final)
        return final
