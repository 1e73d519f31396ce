"""Reading a file someone else wrote: a regular file only, a bounded number of bytes, and (for files
inside a folder billsync was pointed at) no symbolic links.

A FIFO would block a read forever, ``/dev/zero`` would fill memory, and a symbolic link inside an
export bundle could make billsync read any file its user can. The file is opened without blocking and,
where asked, with ``O_NOFOLLOW``; it is then checked to be a regular file through the open descriptor
(so it cannot be swapped in between), and read up to its limit plus one byte.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from engine.errors import LimitError, LocatedError

__all__ = ["FileRefused", "MiB", "TooLarge", "read_bounded"]

MiB = 1024 * 1024


class FileRefused(LocatedError):
    """A file billsync will not read: missing, not a regular file, a link it must not follow, too large."""


def read_bounded(path: Path, display: str, max_bytes: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path`` (named ``display`` in errors), at most ``max_bytes``."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise FileRefused("file not found", file=display) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP or (not follow_symlinks and os.path.islink(path)):
            raise FileRefused(
                "is a symbolic link; billsync reads only regular files inside the folder it was given",
                file=display,
                hint="Copy the real file into the folder instead of linking to it.",
            ) from None
        if exc.errno == errno.EISDIR:
            raise FileRefused("is a folder; expected a file", file=display) from None
        raise FileRefused(f"cannot open the file: {exc.strerror or exc}", file=display) from None
    with os.fdopen(fd, "rb", buffering=0) as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a folder" if stat.S_ISDIR(mode) else "a device, pipe or socket"
            raise FileRefused(f"is {what}, not a regular file; billsync will not read it", file=display)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = handle.read(min(MiB, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    data = b"".join(chunks)
    if size > max_bytes:
        raise TooLarge(display, max_bytes, data.count(b"\n", 0, max_bytes) + 1)
    return data


class TooLarge(FileRefused, LimitError):
    """A file larger than billsync's limit for it."""

    def __init__(self, display: str, max_bytes: int, line: int) -> None:
        super().__init__(
            f"the file is larger than {_size(max_bytes)}, billsync's limit for it; nothing of it was used",
            file=display,
            line=line,
            hint="Check that it is the right file; a larger one needs a higher limit (see README, Safety).",
        )


def _size(count: int) -> str:
    return f"{count / MiB:g} MiB" if count >= MiB else f"{count:,} bytes"
