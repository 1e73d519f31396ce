"""A progress line for applies that run without a terminal (cron, CI, a service).

A bar that redraws itself is useless in a log file; instead one plain line is written at a steady
pace — by a timer, so a line comes even while a write waits on a slow Autotask — with what is done,
the rate, the time left and what is left of the hourly request budget.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from engine.stamps import utc_stamp

DEFAULT_INTERVAL = 5.0
"""Seconds between lines: well within the 10 s a watcher may wait for a sign of life."""


class ProgressLine:
    """``start()``, ``advance()`` per change, ``stop()``; a line every ``interval`` seconds in between."""

    def __init__(
        self,
        total: int,
        out: TextIO,
        budget_left: int | None = None,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.out = out
        self.budget_left = budget_left
        self.interval = interval
        self.clock = clock
        self.done = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = clock()

    def start(self) -> None:
        self._started = self.clock()
        self._thread = threading.Thread(target=self._tick, name="progress-line", daemon=True)
        self._thread.start()

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.write()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.write()

    def line(self) -> str:
        with self._lock:
            done = self.done
        elapsed = max(self.clock() - self._started, 1e-9)
        rate = done / elapsed
        left = self.total - done
        eta = _duration(left / rate) if rate > 0 else "unknown"
        percent = 100 * done // self.total if self.total else 100
        budget = f", budget left {self.budget_left - done}" if self.budget_left is not None else ""
        stamp = utc_stamp(datetime.now(UTC))
        return (
            f"{stamp} Applying: {done}/{self.total} ({percent}%), {rate:.1f} changes/s, "
            f"ETA {eta}, elapsed {_duration(elapsed)}{budget}"
        )

    def write(self) -> None:
        self.out.write(self.line() + "\n")
        self.out.flush()


def _duration(seconds: float) -> str:
    whole = int(round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
