"""Retrying a request: the policy both clients are configured with, and the loop built from it.

Each provider subclasses :class:`RetryPolicy` with its own defaults (its service's limits differ);
what a policy means, and how the waits are drawn from it, is the same for both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    stop_before_delay,
    wait_random_exponential,
)

__all__ = ["Attempts", "Budget", "Delay", "Retry", "RetryPolicy", "retry_loop"]

Attempts = Annotated[int, Field(ge=1)]
"""How many tries a request gets, the first included."""
Delay = Annotated[float, Field(ge=0)]
"""Seconds of one wait between tries."""
Budget = Annotated[float, Field(gt=0)]
"""Seconds all tries of one request may take together."""


class RetryPolicy(BaseModel):
    """How long a client keeps trying a request its service throttled or could not answer.

    Waits grow exponentially from ``base_delay`` with full jitter, capped at ``max_delay``; a
    ``Retry-After`` header replaces the computed wait. Retrying stops after ``max_attempts`` tries or
    before a wait would take the whole call past ``max_total_seconds``, whichever comes first.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: Attempts
    base_delay: Delay
    max_delay: Delay
    max_total_seconds: Budget


class Retry(Exception):
    """An attempt worth repeating: throttled, unavailable, or the connection failed.

    ``status`` is the HTTP status (``None`` when no answer came), ``retry_after`` the seconds the
    service asked to wait, ``detail`` what went wrong when there was no answer.
    """

    def __init__(self, status: int | None, *, retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(f"HTTP {status}" if status is not None else detail)
        self.status = status
        self.retry_after = retry_after
        self.detail = detail


def retry_loop(
    policy: RetryPolicy, sleep: Callable[[float], None], *, cap_retry_after: bool = False
) -> Retrying:
    """A tenacity loop repeating attempts that raise :class:`Retry`, by ``policy``; ``sleep`` waits.

    When it gives up, the last :class:`Retry` is raised again. ``cap_retry_after`` holds a
    ``Retry-After`` to ``max_delay`` too; without it the service's wait is honoured as asked (and the
    time budget stops the loop if it is too long).
    """
    return Retrying(
        stop=stop_any(stop_after_attempt(policy.max_attempts), stop_before_delay(policy.max_total_seconds)),
        wait=_backoff(policy, cap_retry_after),
        retry=retry_if_exception_type(Retry),
        sleep=sleep,
        reraise=True,
    )


def _backoff(policy: RetryPolicy, cap_retry_after: bool) -> Callable[[RetryCallState], float]:
    """Full-jitter exponential waits, replaced by the server's ``Retry-After`` when it sent one."""
    jitter = wait_random_exponential(multiplier=policy.base_delay, max=policy.max_delay)

    def wait(state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        if isinstance(failure, Retry) and failure.retry_after is not None:
            return min(failure.retry_after, policy.max_delay) if cap_retry_after else failure.retry_after
        return float(jitter(state))

    return wait
