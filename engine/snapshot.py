"""The state snapshot: what billsync last wrote, per address, kept in git.

Sharded files under ``state/`` (see :mod:`engine.state_layout`): ``state.json`` with the lineage (a
uuid), the serial incremented per apply, the applied months and the list of shards; one small file per
kind, month and hash bucket with its entries. Keys sorted, two-space indent, Decimals as strings, so
``git diff state/`` shows exactly the objects an apply changed. During an apply every successful write
(and every ``state rm``/``state mv``) is appended to ``snapshot.journal`` (flushed and fsynced) before
the next one starts; the shards it touched are replaced atomically (write a temporary file, then
rename) every few seconds and at the end, ``state.json`` last, and only then is the journal dropped.
Loading replays a left-over journal, so a killed apply loses no write. A snapshot of the older layout
(one ``snapshot.json``) is migrated on first use. No secrets are ever stored here.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from engine.errors import BillsyncError
from engine.jsontext import indented_json
from engine.resources import KindSpec
from engine.safefile import FileRefused, MiB, read_bounded
from engine.snapshot_model import IMPORTED, Entry, Snapshot, entry_from_json, entry_or_object, entry_to_json
from engine.snapshot_v1 import LEGACY_VERSION, snapshot_from_json, snapshot_to_json
from engine.state_layout import META_FILE, shard_name, shard_pieces, valid_shard_name
from engine.tenant import TenantIdentity
from engine.types import Address

__all__ = [
    "FORMAT_VERSION",
    "IMPORTED",
    "JOURNAL_FILE",
    "LEGACY_VERSION",
    "SNAPSHOT_FILE",
    "Entry",
    "Journal",
    "Snapshot",
    "SnapshotStore",
    "entry_from_json",
    "entry_to_json",
    "snapshot_from_json",
    "snapshot_to_json",
]

FORMAT_VERSION = 2
"""Of ``state.json``, the sharded layout."""
SNAPSHOT_FILE = "snapshot.json"
JOURNAL_FILE = "snapshot.journal"


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
        self.meta_path = folder / META_FILE
        self.legacy_path = folder / SNAPSHOT_FILE
        self.journal_path = folder / JOURNAL_FILE
        self.on_disk: tuple[str, int] | None = None
        """(lineage, serial) of the snapshot the shards on disk hold exactly, once loaded or written."""

    def load(self) -> Snapshot:
        """The last snapshot, with any journal of an interrupted apply replayed on top; a snapshot of
        the older one-file layout is rewritten in the sharded layout first."""
        self.on_disk = None
        journal = self.journal_path.exists() or self.journal_path.is_symlink()
        if self.meta_path.exists() or self.meta_path.is_symlink():
            snapshot = self._load_shards(interrupted=journal)
        elif self.legacy_path.exists() or self.legacy_path.is_symlink():
            snapshot = snapshot_from_json(_read_state(self.legacy_path), self.kinds, str(self.legacy_path))
            if journal:
                snapshot = self._replay(snapshot)
            self.write(snapshot)  # migrated: the shards, state.json, then the old file and journal go
            return snapshot
        else:
            snapshot = Snapshot.empty()
        if journal:
            return self._replay(snapshot)
        if snapshot.lineage:
            self.on_disk = (snapshot.lineage, snapshot.serial)
        return snapshot

    def _load_shards(self, interrupted: bool) -> Snapshot:
        """``state.json`` and every shard it lists. A shard missing or holding another number of entries
        than listed is an error, unless a journal says a write of the shards was interrupted."""
        name = str(self.meta_path)
        try:
            meta = json.loads(_read_state(self.meta_path))
            if meta.get("format_version") != FORMAT_VERSION:
                raise BillsyncError(
                    f"{name}: snapshot format {meta.get('format_version')!r} is not supported "
                    f"(expected {FORMAT_VERSION})"
                )
            shards = {str(k): int(v) for k, v in meta["shards"].items()}
            lineage, serial = str(meta["lineage"]), int(meta["serial"])
            periods = {str(k): str(v) for k, v in meta.get("applied_periods", {}).items()}
            digests = {str(k): str(v) for k, v in meta.get("applied_digests", {}).items()}
            tenant = TenantIdentity.from_json(meta["tenant"]) if meta.get("tenant") is not None else None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise _invalid(name, exc) from None
        shared: dict[Any, Any] = {}
        resources: dict[Address, Entry] = {}
        for shard, count in sorted(shards.items()):
            path = self.folder / shard
            if not valid_shard_name(shard):
                raise _invalid(name, ValueError(f"{shard!r} is not a shard of state/"))
            if not path.exists() and not path.is_symlink():
                if interrupted:
                    continue
                raise BillsyncError(
                    f"{path}: missing, but {name} lists it with {count} entries",
                    hint="Restore state/ from git (git checkout -- state/).",
                )
            try:
                doc = json.loads(
                    _read_state(path),
                    object_hook=lambda obj: entry_or_object(obj, self.kinds, shared),
                )
                entries = {
                    sys.intern(str(a)): e if isinstance(e, Entry) else entry_from_json(e, self.kinds)
                    for a, e in doc.items()
                }
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise _invalid(str(path), exc) from None
            if len(entries) != count and not interrupted:
                raise BillsyncError(
                    f"{path}: holds {len(entries)} entries, but {name} lists {count}",
                    hint="Restore state/ from git (git checkout -- state/); never edit state files by hand.",
                )
            resources.update(entries)
        if len(resources) != sum(shards.values()) and not interrupted:
            raise BillsyncError(
                f"{name}: an address is in two shards",
                hint="Restore state/ from git (git checkout -- state/); never edit state files by hand.",
            )
        return Snapshot(
            lineage=lineage,
            serial=serial,
            resources=resources,
            applied_periods=periods,
            applied_digests=digests,
            tenant=tenant,
        )

    def write(self, snapshot: Snapshot, dirty: Collection[str] | None = None) -> None:
        """Write the shards named in ``dirty`` (every shard when None), then ``state.json``, each
        replaced atomically; then drop the journal the files now contain and any older layout."""
        self.folder.mkdir(parents=True, exist_ok=True)
        groups: dict[str, dict[Address, Entry]] = defaultdict(dict)
        for address, entry in snapshot.resources.items():
            groups[shard_name(address, entry.kind, entry.period)][address] = entry
        written: list[tuple[Path, Path]] = []
        folders: set[Path] = set()
        try:
            for shard in sorted(groups if dirty is None else dirty):
                path = self.folder / shard
                entries = groups.get(shard)
                if not entries:
                    path.unlink(missing_ok=True)
                    continue
                if path.parent not in folders:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    folders.add(path.parent)
                written.append((_temporary(path, "".join(shard_pieces(entries, entry_to_json))), path))
            with ThreadPoolExecutor(max_workers=8) as pool:  # fsync waits on the disk, not the CPU
                list(pool.map(_fsync, [tmp for tmp, _path in written]))
        except BaseException:
            for tmp, _path in written:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, path in written:
            os.replace(tmp, path)
        if dirty is None:
            self._remove_other_shards(set(groups))
        meta = {
            "format_version": FORMAT_VERSION,
            "lineage": snapshot.lineage,
            "serial": snapshot.serial,
            **({"tenant": snapshot.tenant.to_json()} if snapshot.tenant is not None else {}),
            "applied_periods": dict(sorted(snapshot.applied_periods.items())),
            **(
                {"applied_digests": dict(sorted(snapshot.applied_digests.items()))}
                if snapshot.applied_digests
                else {}
            ),
            "shards": {shard: len(groups[shard]) for shard in sorted(groups)},
        }
        _replace(self.meta_path, indented_json(meta) + "\n")
        self.legacy_path.unlink(missing_ok=True)
        self.journal_path.unlink(missing_ok=True)
        self.on_disk = (snapshot.lineage, snapshot.serial)

    def _remove_other_shards(self, keep: set[str]) -> None:
        for path in sorted(self.folder.rglob("*.json"), reverse=True):
            shard = path.relative_to(self.folder).as_posix()
            if valid_shard_name(shard) and shard not in keep:
                path.unlink()
        for folder in sorted((p for p in self.folder.rglob("*") if p.is_dir()), reverse=True):
            if not any(folder.iterdir()):
                folder.rmdir()

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
                if record.get("removed"):
                    resources.pop(str(record["address"]), None)
                else:
                    resources[str(record["address"])] = entry_from_json(record["entry"], self.kinds)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BillsyncError(
                    f"{self.journal_path}:{number}: the journal line is not valid ({type(exc).__name__}: {exc})",
                    hint="The journal records the writes of an interrupted apply. Restore it from a backup, or "
                    "delete it: the next plan finds the objects it recorded through their identity markers.",
                ) from None
        return replace(snapshot, resources=resources)


def _invalid(file: str, exc: Exception) -> BillsyncError:
    return BillsyncError(
        f"{file}: the snapshot is not valid ({type(exc).__name__}: {exc})",
        hint="Restore it from git (git checkout -- state/), or delete state/: the next plan adopts "
        "existing objects through their identity markers.",
    )


def _temporary(path: Path, text: str) -> Path:
    """``text`` in a temporary file beside ``path`` (named for this process), to be renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
    except BaseException as exc:
        with suppress(OSError):  # a read-only file system refuses even this
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp)):
            # name what refused: the folder when it cannot take a new file, else the state file (a full
            # disk names none), never the temporary name tried
            refused = exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
            exc.filename = str(path.parent if refused else path)
        raise
    return tmp


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(path: Path, text: str) -> None:
    """Write a file atomically: a temporary file, fsynced, then renamed over it."""
    tmp = _temporary(path, text)
    try:
        _fsync(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


class Journal:
    """Append-only record of the writes of one apply (or one state command); flushed to disk after each."""

    def __init__(
        self,
        store: SnapshotStore,
        snapshot: Snapshot,
        flush_every: float = 2.0,
        tenant: TenantIdentity | None = None,
    ) -> None:
        if not snapshot.lineage or (tenant is not None and snapshot.tenant != tenant):
            # the first apply of a workspace: give it a lineage on disk before any write, so a
            # journal left by a crash is replayed onto the right snapshot; bind it to the tenant
            # written to (D25) before the first write, so a crash cannot leave it unbound
            snapshot = replace(
                snapshot, lineage=snapshot.lineage or str(uuid.uuid4()), tenant=tenant or snapshot.tenant
            )
            store.write(snapshot)
        self.store = store
        self.snapshot = snapshot
        self.resources = dict(snapshot.resources)
        self.flush_every = flush_every
        self._whole = store.on_disk != (snapshot.lineage, snapshot.serial)
        """The shards on disk may not hold ``snapshot`` (a replayed journal): the first write is whole."""
        self._dirty: set[str] = set()
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
            self._touch(address)
            self.resources[address] = entry
            self._touch(address)
            self._append(
                {"lineage": self.snapshot.lineage, "address": address, "entry": entry_to_json(entry)}
            )

    def remove(self, address: Address) -> Entry:
        """Forget one address (``state rm``, the first half of ``state mv``), durably."""
        with self._lock:
            self._touch(address)
            entry = self.resources.pop(address)
            self._append({"lineage": self.snapshot.lineage, "address": address, "removed": True})
            return entry

    def _touch(self, address: Address) -> None:
        entry = self.resources.get(address)
        if entry is not None:
            self._dirty.add(shard_name(address, entry.kind, entry.period))

    def _append(self, record: dict[str, Any]) -> None:
        try:
            self._fh.write(json.dumps(record, sort_keys=True) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            if exc.filename is None:
                exc.filename = str(self.store.journal_path)
            raise
        # Rewriting the touched shards takes time at 100,000 resources: wait ten times as long as the
        # last rewrite took, so it never costs more than a tenth of the apply (the journal holds every write).
        if time.monotonic() - self._last_flush > max(self.flush_every, 10 * self._flush_seconds):
            started = time.monotonic()
            self._write(replace(self.snapshot, resources=dict(self.resources)))
            self._fh.close()
            self._fh = _open_journal(self.store.journal_path, "a")
            self._last_flush = time.monotonic()
            self._flush_seconds = self._last_flush - started

    def _write(self, snapshot: Snapshot) -> None:
        self.store.write(snapshot, None if self._whole else self._dirty)
        self._whole, self._dirty = False, set()

    def close(
        self,
        applied_periods: Mapping[str, str] | None = None,
        applied_digests: Mapping[str, str] | None = None,
    ) -> Snapshot:
        """Write the final snapshot (serial + 1) and remove the journal."""
        with self._lock:
            self._fh.close()
            periods = dict(self.snapshot.applied_periods)
            periods.update(applied_periods or {})
            digests = dict(self.snapshot.applied_digests)
            digests.update(applied_digests or {})
            final = Snapshot(
                lineage=self.snapshot.lineage,
                serial=self.snapshot.serial + 1,
                resources=dict(self.resources),
                applied_periods=periods,
                applied_digests=digests,
                tenant=self.snapshot.tenant,
            )
            self._write(final)
        return final
