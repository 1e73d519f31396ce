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
import tempfile
from pathlib import Path, PurePath

from engine.errors import LimitError, LocatedError

__all__ = ["FileRefused", "MiB", "TooLarge", "decode_utf8", "read_bounded", "read_inside", "write_atomic"]

MiB = 1024 * 1024


class FileRefused(LocatedError):
    """A file billsync will not read: missing, not a regular file, a link it must not follow, too large."""


_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def read_bounded(path: Path, display: str, max_bytes: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path`` (named ``display`` in errors), at most ``max_bytes``."""
    flags = _READ | (0 if follow_symlinks else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _refused(exc, display, link=not follow_symlinks and os.path.islink(path)) from None
    return _read_fd(fd, display, max_bytes)


def decode_utf8(data: bytes, display: str) -> str:
    """``data`` as UTF-8 text (a leading byte order mark dropped); bytes that are not UTF-8 are refused
    with the line they stand on, so the user can find them."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); save it as UTF-8",
            file=display,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None


def read_inside(root: Path, relative: str, display: str, max_bytes: int) -> bytes:
    """The bytes of the regular file ``relative`` inside the folder ``root``, reached without following
    a symbolic link at any step (each folder is opened relative to the one before, with ``O_NOFOLLOW``),
    so a link can never lead outside ``root``."""
    parts = PurePath(relative).parts
    if not parts or PurePath(relative).is_absolute() or ".." in parts:
        raise FileRefused("is not a path inside the folder", file=display)
    try:
        folder = os.open(root, os.O_RDONLY | _DIRECTORY)
    except OSError as exc:
        raise _refused(exc, display, link=False) from None
    try:
        for index, part in enumerate(parts[:-1]):
            try:
                inner = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=folder)
            except OSError as exc:
                link = os.path.islink(os.path.join(root, *parts[: index + 1]))
                raise _refused(exc, display, link=link) from None
            os.close(folder)
            folder = inner
        try:
            fd = os.open(parts[-1], _READ | _NOFOLLOW, dir_fd=folder)
        except OSError as exc:
            raise _refused(exc, display, link=os.path.islink(os.path.join(root, *parts))) from None
    finally:
        os.close(folder)
    return _read_fd(fd, display, max_bytes)


def _refused(exc: OSError, display: str, *, link: bool) -> FileRefused:
    if link or exc.errno == errno.ELOOP:
        return FileRefused(
            "is a symbolic link; billsync reads only regular files inside the folder it was given",
            file=display,
            hint="Copy the real file into the folder instead of linking to it.",
        )
    if isinstance(exc, FileNotFoundError):
        return FileRefused("file not found", file=display)
    if exc.errno == errno.EISDIR:
        return FileRefused("is a folder; expected a file", file=display)
    return FileRefused(f"cannot open the file: {exc.strerror or exc}", file=display)


def _read_fd(fd: int, display: str, max_bytes: int) -> bytes:
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a folder" if stat.S_ISDIR(mode) else "a device, pipe or socket"
        raise FileRefused(f"is {what}, not a regular file; billsync will not read it", file=display)
    with os.fdopen(fd, "rb", buffering=0) as handle:
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
            hint="Check that it is the right file.",
        )


def _size(count: int) -> str:
    return f"{count / MiB:g} MiB" if count >= MiB else f"{count:,} bytes"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a whole: into a new file beside it, then renamed over it. A rename
    replaces a symbolic link at ``path`` rather than writing through it, so the file a link points to
    is never touched, and a crash leaves the old file or the new one, never half of one."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        exc.filename = str(path.parent)  # the folder refused, not the random name tried in it
        raise
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a full disk says nothing of which file it was
        raise
