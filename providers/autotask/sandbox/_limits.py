"""Autotask's request limits and the sandbox's request counters.

- Thread limit: at most N requests in flight per (integration code, endpoint); one more gets 429.
- Hourly budget: at most N requests in a rolling window (10,000 per 60 minutes by default).
- Counters per endpoint and kind of request, with the current and peak in-flight counts, so tests
  and benchmarks can read exactly what a run cost.
Each holds its own small lock and never sleeps while holding it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from pydantic import BaseModel, Field


class EndpointStats(BaseModel):
    """What one endpoint (entity) saw: requests per kind, 429s, in-flight now and at peak."""

    requests: dict[str, int] = Field(default_factory=dict)
    """Handled requests per kind: ``query``, ``count``, ``get``, ``create``, ``update``, ``info``."""
    throttled: int = 0
    """Requests refused with 429 by the thread limit."""
    in_flight: int = 0
    peak_in_flight: int = 0
    longest_chain: int = 0
    """Most pages read one after another through ``nextPageUrl`` links (1: no link followed)."""

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class SandboxStats(BaseModel):
    """Counters of every endpoint, plus the rolling-hour request count."""

    endpoints: dict[str, EndpointStats] = Field(default_factory=dict)
    hourly_request_count: int = 0
    hourly_limit_rejections: int = 0

    def count(self, endpoint: str, kind: str | None = None) -> int:
        """Handled requests to ``endpoint`` (of one ``kind`` when given); 0 if none."""
        stats = self.endpoints.get(endpoint)
        if stats is None:
            return 0
        return stats.total if kind is None else stats.requests.get(kind, 0)


class ThreadLimiter:
    """Admits at most ``limit`` concurrent requests per key and tracks the peak."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._in_flight: dict[tuple[str, str], int] = {}
        self._peak: dict[tuple[str, str], int] = {}

    def enter(self, key: tuple[str, str]) -> bool:
        """Admit one request for ``key``; False (and nothing recorded) when the limit is reached."""
        with self._lock:
            current = self._in_flight.get(key, 0)
            if current >= self.limit:
                return False
            self._in_flight[key] = current + 1
            self._peak[key] = max(self._peak.get(key, 0), current + 1)
            return True

    def leave(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._in_flight[key] -= 1

    def snapshot(self) -> dict[str, tuple[int, int]]:
        """(in flight, peak) per endpoint, summed over integration codes."""
        with self._lock:
            found: dict[str, tuple[int, int]] = {}
            for (code, endpoint), peak in self._peak.items():
                now, best = found.get(endpoint, (0, 0))
                found[endpoint] = (now + self._in_flight.get((code, endpoint), 0), max(best, peak))
            return found

    def reset_peaks(self) -> None:
        with self._lock:
            self._peak = {key: count for key, count in self._in_flight.items() if count}


class RequestBudget:
    """A rolling-window request allowance (Autotask: 10,000 per 60 minutes per tenant)."""

    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self.rejections = 0

    def consume(self) -> bool:
        """Count one request; False (not counted) when the window is already full."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            if len(self._times) >= self.limit:
                self.rejections += 1
                return False
            self._times.append(now)
            return True

    def used(self) -> int:
        """Requests counted in the current window."""
        with self._lock:
            self._expire(self._clock())
            return len(self._times)

    def _expire(self, now: float) -> None:
        while self._times and self._times[0] <= now - self.window_seconds:
            self._times.popleft()


class Counters:
    """Requests per endpoint and kind, and 429s from the thread limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, dict[str, int]] = {}
        self._throttled: dict[str, int] = {}
        self._chains: dict[str, int] = {}

    def chain(self, endpoint: str, depth: int) -> None:
        """A query page that is the ``depth``-th of its chain of linked pages."""
        with self._lock:
            self._chains[endpoint] = max(self._chains.get(endpoint, 0), depth)

    def count(self, endpoint: str, kind: str) -> None:
        with self._lock:
            kinds = self._requests.setdefault(endpoint, {})
            kinds[kind] = kinds.get(kind, 0) + 1

    def throttle(self, endpoint: str) -> None:
        with self._lock:
            self._throttled[endpoint] = self._throttled.get(endpoint, 0) + 1

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._throttled.clear()
            self._chains.clear()

    def stats(self, limiter: ThreadLimiter, budget: RequestBudget) -> SandboxStats:
        flights = limiter.snapshot()
        with self._lock:
            names = set(self._requests) | set(self._throttled) | set(flights)
            endpoints = {
                name: EndpointStats(
                    requests=dict(self._requests.get(name, {})),
                    throttled=self._throttled.get(name, 0),
                    in_flight=flights.get(name, (0, 0))[0],
                    peak_in_flight=flights.get(name, (0, 0))[1],
                    longest_chain=self._chains.get(name, 0),
                )
                for name in sorted(names)
            }
        return SandboxStats(
            endpoints=endpoints, hourly_request_count=budget.used(), hourly_limit_rejections=budget.rejections
        )
