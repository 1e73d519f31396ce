"""The billsync error tree.

Every error a user can meet derives from :class:`BillsyncError`; the CLI prints its message as
one paragraph and exits 1 (no traceback unless ``--debug``). Errors that come from a file carry
its location so the message can say where to look.
"""

from __future__ import annotations

import decimal
import errno

__all__ = [
    "BillsyncError",
    "LocatedError",
    "SourceError",
    "RuleError",
    "ConfigError",
    "TargetError",
    "PlanError",
    "StalePlanError",
    "LockError",
    "WriterBusyError",
    "LimitError",
    "known_error",
]


class BillsyncError(Exception):
    """Root of every error billsync reports to a user."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class LocatedError(BillsyncError):
    """An error in an input file: ``file:line[:column]: message``."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        line: int | None = None,
        column: str | None = None,
        record: str | None = None,
        hint: str = "",
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.record = record
        where = file if line is None else f"{file}:{line}"
        if column:
            where += f" (column {column!r})"
        if record:
            where += f" ({record})"
        super().__init__(f"{where}: {message}", hint=hint)
        self.reason = message


class SourceError(LocatedError):
    """A malformed Cloudmore input: bad CSV value, unknown reference, missing column."""


class RuleError(LocatedError):
    """A rule file or settings problem: YAML syntax, Jinja error, bad value."""


class ConfigError(BillsyncError):
    """A workspace configuration problem (billsync.yaml, environment variables)."""


class TargetError(BillsyncError):
    """The target system refused or failed a request (carries the system's own message)."""


class PlanError(BillsyncError):
    """A plan cannot be built or applied."""


class StalePlanError(PlanError):
    """A saved plan no longer matches the snapshot or the actual objects it was computed from."""


class LockError(BillsyncError):
    """Another apply holds the workspace lock."""


class WriterBusyError(LockError):
    """Another apply, from any copy of the workspace, holds the tenant's writer lease (D26)."""


class LimitError(BillsyncError):
    """An input or an answer went past one of billsync's limits (size, depth, time); nothing was used."""


_OS_PROBLEMS = {
    errno.ENOSPC: ("the disk is full", "Free some space, then run the same command again."),
    errno.EDQUOT: ("the disk quota is used up", "Free some space, then run the same command again."),
    errno.EROFS: (
        "the file system is read-only",
        "Point billsync at a writable folder (state: in billsync.yaml).",
    ),
    errno.EACCES: ("permission denied", "Give the user running billsync write access to that folder."),
    errno.EPERM: ("operation not permitted", "Give the user running billsync write access to that folder."),
    errno.EISDIR: ("it is a folder, not a file", "Remove or rename the folder, or point billsync elsewhere."),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "Remove or rename that file."),
    errno.EEXIST: ("it already exists", "Remove it or choose another name."),
    errno.ELOOP: (
        "it is a symbolic link, which billsync does not follow",
        "Replace the link by the real file.",
    ),
}


def known_error(exc: BaseException) -> BillsyncError | None:
    """A user-level error for a failure of the machine rather than of billsync (a full disk, a
    read-only folder, a path that is a folder), naming the file; ``None`` when it is not one."""
    if isinstance(exc, OSError) and exc.errno in _OS_PROBLEMS:
        problem, hint = _OS_PROBLEMS[exc.errno]
        where = exc.filename if exc.filename is not None else "a file billsync writes"
        return BillsyncError(f"cannot use {where}: {problem}", hint=hint)
    if isinstance(exc, decimal.InvalidOperation):
        return LimitError(
            "an amount is too large (or too precise) to be computed exactly",
            hint="Check the amounts in the Cloudmore data: billsync computes money exactly to 28 digits.",
        )
    if isinstance(exc, MemoryError):
        return LimitError(
            "billsync ran out of memory",
            hint="An input is far larger than expected; check the files it reads.",
        )
    if isinstance(exc, RecursionError):
        return LimitError("an input is nested too deeply to be read", hint="Check the files billsync reads.")
    return None
