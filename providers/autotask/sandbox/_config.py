"""Sandbox settings: the credentials it accepts, its limits and its clocks."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ._pace import Pace


@dataclass(frozen=True)
class SandboxCredentials:
    """The one API user the sandbox knows. The secret never appears in a repr."""

    username: str = "sandbox@billsync.local"
    secret: str = field(default="sandbox-secret", repr=False)
    integration_code: str = field(default="BILLSYNC-SANDBOX", repr=False)

    def headers(self) -> dict[str, str]:
        """The three Autotask auth headers for these credentials."""
        return {"ApiIntegrationCode": self.integration_code, "UserName": self.username, "Secret": self.secret}


SANDBOX_CREDENTIALS = SandboxCredentials()
"""The documented defaults: ``sandbox@billsync.local`` / ``sandbox-secret`` / ``BILLSYNC-SANDBOX``."""


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class SandboxConfig:
    """How a sandbox app behaves; the defaults are Autotask's documented limits."""

    credentials: SandboxCredentials = SANDBOX_CREDENTIALS
    thread_limit: int = 3
    """Concurrent requests per (integration code, endpoint)."""
    hourly_limit: int = 10_000
    """Requests per rolling window."""
    window_seconds: float = 3600.0
    clock: Callable[[], datetime] = _utc_now
    """Wall clock for ``lastModifiedDateTime`` and ``createDate`` (UTC, naive)."""
    monotonic: Callable[[], float] = time.monotonic
    """Clock for the rolling request window."""
    sleep: Callable[[float], None] = time.sleep
    """How an injected delay waits."""
    pace: Pace = Pace()
    """How long each request is held: Autotask's read and write latency, jitter, usage latency."""
    draw: Callable[[], float] = field(default_factory=lambda: random.Random().random)
    """Random numbers in [0, 1) for jitter and usage latency; tests pass a fixed sequence."""
