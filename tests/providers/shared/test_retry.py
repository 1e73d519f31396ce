"""The retry loop both clients build from their policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from providers._shared.retry import Attempts, Budget, Delay, Retry, RetryPolicy, retry_loop


class _Policy(RetryPolicy):
    max_attempts: Attempts = 3
    base_delay: Delay = 0.0
    max_delay: Delay = 2.0
    max_total_seconds: Budget = 60.0


def _run(policy: RetryPolicy, failures: list[Retry], *, cap_retry_after: bool = False) -> list[float]:
    """Run a loop whose attempts raise ``failures`` in turn, then succeed; return the waits."""
    sleeps: list[float] = []
    pending = list(failures)
    for attempt in retry_loop(policy, sleeps.append, cap_retry_after=cap_retry_after):
        with attempt:
            if pending:
                raise pending.pop(0)
    return sleeps


def test_a_retry_after_is_waited_as_asked_unless_capped() -> None:
    throttled = [Retry(429, retry_after=7.0), Retry(429, retry_after=1.5)]
    assert _run(_Policy(), list(throttled)) == [7.0, 1.5]
    assert _run(_Policy(), list(throttled), cap_retry_after=True) == [2.0, 1.5]


def test_the_last_retry_is_raised_when_the_attempts_run_out() -> None:
    last = Retry(None, detail="ConnectError")
    with pytest.raises(Retry) as raised:
        _run(_Policy(), [Retry(503), Retry(503), last])
    assert raised.value is last
    assert (str(raised.value), raised.value.status) == ("ConnectError", None)


def test_a_retry_after_beyond_the_time_budget_stops_the_loop() -> None:
    with pytest.raises(Retry) as raised:
        _run(_Policy(max_total_seconds=5), [Retry(429, retry_after=10.0)])
    assert raised.value.status == 429


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(ValidationError):
        _Policy(max_attempts=0)
    with pytest.raises(ValidationError):
        _Policy(max_total_seconds=0)
    with pytest.raises(ValidationError):
        _Policy(jitter=True)  # type: ignore[call-arg]
