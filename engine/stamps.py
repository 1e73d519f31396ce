"""UTC time stamps as billsync writes them, to the second (``2026-11-27T17:30:00Z``): in the drift
record, the progress lines of an apply without a terminal, and the writer lease kept in Autotask."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["parse_utc_stamp", "utc_stamp"]

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_stamp(moment: datetime) -> str:
    """``moment`` (aware) in UTC, to the second."""
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_utc_stamp(text: str) -> datetime:
    """The aware UTC moment a :func:`utc_stamp` text names; ``ValueError`` for any other text."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
