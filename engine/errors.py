"""The billsync error tree.

Every error a user can meet derives from :class:`BillsyncError`; the CLI prints its message as
one paragraph and exits 1 (no traceback unless ``--debug``). Errors that come from a file carry
its location so the message can say where to look.
"""

from __future__ import annotations


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
