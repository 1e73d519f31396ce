"""Autotask's pace: how long the sandbox holds each request before answering.

A real Autotask is not instant: users report about 1 s per page of 500 records, and once a tenant
has used half of its hourly budget every call is slowed by another 0.5–1 s (usage-based latency,
API-FACTS A6). The sandbox reproduces both so that benchmarks see the wall time a real tenant
costs. The delay is chosen here, as a plain function of the settings and a random draw, and waited
by the app's injectable ``sleep``, so tests record the delays instead of waiting for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

WRITE_KINDS = frozenset({"create", "update", "delete"})
USAGE_DELAY = (0.5, 1.0)
"""Extra seconds per call once the hourly count passes half of the budget (A6, SINGLE-SOURCE)."""


@dataclass(frozen=True)
class Pace:
    """Seconds the sandbox waits per request. All zero (the default) is an instant sandbox."""

    latency: float = 0.0
    """Each read request (query page, count, get, entity information)."""
    write_latency: float | None = None
    """Each create or update; None waits ``latency``."""
    jitter: float = 0.0
    """Up to this many seconds more, drawn uniformly per request."""
    usage_latency: bool = False
    """Add 0.5–1 s per request once the hourly count passes half of the hourly limit."""

    def __post_init__(self) -> None:
        for name in ("latency", "write_latency", "jitter"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")

    @property
    def instant(self) -> bool:
        return not (self.latency or self.write_latency or self.jitter or self.usage_latency)


def request_delay(pace: Pace, kind: str, used: int, limit: int, draw: Callable[[], float]) -> float:
    """Seconds to hold one request of ``kind`` when ``used`` of the hourly ``limit`` are counted.

    ``draw`` returns a number in [0, 1); it is called once for jitter and once for usage latency,
    only when each applies.
    """
    base = pace.write_latency if kind in WRITE_KINDS and pace.write_latency is not None else pace.latency
    delay = base
    if pace.jitter:
        delay += pace.jitter * draw()
    if pace.usage_latency and used * 2 > limit:
        low, high = USAGE_DELAY
        delay += low + (high - low) * draw()
    return delay
