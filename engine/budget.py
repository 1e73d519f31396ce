"""The target's hourly request budget, consulted before an apply (Autotask: 10,000 an hour per tenant).

An apply that would not fit in what is left of the budget is refused up front, or paced so that its
writes spread over time, as the user chooses. Pacing never lets an apply use more than half of the
hourly budget, since Autotask slows every integration of the tenant down past 50 %.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from engine.errors import PlanError

__all__ = [
    "BudgetMode",
    "PACE_SHARE",
    "Budget",
    "check_budget",
    "Pacer",
]

BudgetMode = Literal["refuse", "pace"]
PACE_SHARE = 0.5
"""Share of the hourly budget a paced apply may use."""


@dataclass(frozen=True)
class Budget:
    remaining: int
    limit: int
    window_seconds: int = 3600


def check_budget(writes: int, budget: Budget, mode: BudgetMode) -> float:
    """Seconds to wait between writes (0 when the apply fits); raise when it cannot run as asked."""
    if writes <= 0:
        return 0.0
    if writes <= budget.remaining and mode == "refuse":
        return 0.0
    if mode == "refuse":
        raise PlanError(
            f"the apply needs {writes} write requests but only {budget.remaining} of the target's "
            f"{budget.limit} requests per hour are left",
            hint="Run it later, apply part of it with --target, or pace it with --budget pace.",
        )
    if writes <= budget.remaining and writes <= budget.limit * PACE_SHARE:
        return 0.0
    return budget.window_seconds / (budget.limit * PACE_SHARE)


@dataclass
class Pacer:
    """Spaces calls at least ``interval`` seconds apart across threads."""

    interval: float
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _next: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> None:
        if self.interval <= 0:
            return
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self.sleep(start - now)
