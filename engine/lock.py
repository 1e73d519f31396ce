"""One apply at a time per workspace: a file lock plus a note of who holds it and since when."""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import LockError
from engine.safefile import FileRefused, read_bounded, write_atomic

LOCK_FILE = "apply.lock"
INFO_FILE = "apply.lock.json"
_NOTE_BYTES = 64 * 1024


@contextmanager
def workspace_lock(data_dir: Path, operation: str) -> Iterator[str]:
    """Hold the workspace lock for ``operation``; fail at once, naming the holder, if it is taken."""
    from filelock import FileLock, Timeout  # imported here: only the commands that write take the lock

    data_dir.mkdir(parents=True, exist_ok=True)
    info_path = data_dir / INFO_FILE
    lock = FileLock(str(data_dir / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockError(_held_message(info_path), hint=_HINT) from None
    if info_path.exists():
        # a crashed holder never cleaned up; the OS lock is ours, but say nothing was forced
        pass
    lock_id = str(uuid.uuid4())
    info = {
        "id": lock_id,
        "operation": operation,
        "who": f"{os.environ.get('USER', 'unknown')}@{socket.gethostname()}",
        "pid": os.getpid(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_atomic(info_path, json.dumps(info, indent=2) + "\n")
    try:
        yield lock_id
    finally:
        info_path.unlink(missing_ok=True)
        lock.release()


def force_unlock(data_dir: Path, lock_id: str) -> None:
    """Remove the lock of ``lock_id``, as Terraform's force-unlock does: the caller vouches that its
    holder is stuck. A holder that died already released the system lock; this is for a hung one."""
    info_path = data_dir / INFO_FILE
    if not info_path.exists() and not info_path.is_symlink():
        raise LockError("the workspace is not locked")
    info = _read_note(info_path)
    if info is None:
        raise LockError(
            f"the lock note {info_path} is not valid, so billsync cannot check the lock id",
            hint=f"If no billsync apply is running on this workspace, delete {info_path} and {data_dir / LOCK_FILE}.",
        )
    if info.get("id") != lock_id:
        raise LockError(f"the lock id is {info.get('id')}, not {lock_id}")
    info_path.unlink()
    (data_dir / LOCK_FILE).unlink(missing_ok=True)


def _read_note(info_path: Path) -> dict[str, Any] | None:
    """The lock note, or ``None`` when it is missing, not a regular file, too large or not a JSON object."""
    try:
        info = json.loads(read_bounded(info_path, str(info_path), _NOTE_BYTES, follow_symlinks=False))
    except (FileRefused, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _held_message(info_path: Path) -> str:
    info = _read_note(info_path)
    if info is None:
        return "another billsync apply holds the workspace lock"
    return (
        f"the workspace is locked by {info.get('operation', 'an apply')} of {info.get('who')} "
        f"(pid {info.get('pid')}) since {info.get('since')}, lock id {info.get('id')}"
    )


_HINT = "Wait for it to finish. If that process is gone, run: billsync force-unlock LOCK_ID"
