"""Emulator settings: the API user and reseller it accepts, token life, paging and its clocks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["EMULATOR_CREDENTIALS", "EMULATOR_RESELLER_ID", "EmulatorConfig", "EmulatorCredentials"]

EMULATOR_RESELLER_ID = "3c9e1a52-7d4b-4f0e-9a61-000000000001"
"""The reseller (broker) id the emulator serves by default."""


@dataclass(frozen=True)
class EmulatorCredentials:
    """The one API user the emulator knows; no value appears in a repr (they are fake, but habits matter)."""

    api_secret: str = field(default="emulator-api-secret", repr=False)
    username: str = field(default="api@billsync.local", repr=False)
    password: str = field(default="emulator-password", repr=False)

    def environment(self) -> dict[str, str]:
        """The ``CLOUDMORE_*`` variables that make billsync log in as this user."""
        return {
            "CLOUDMORE_API_SECRET": self.api_secret,
            "CLOUDMORE_USERNAME": self.username,
            "CLOUDMORE_PASSWORD": self.password,
        }


EMULATOR_CREDENTIALS = EmulatorCredentials()
"""The documented defaults: ``emulator-api-secret`` / ``api@billsync.local`` / ``emulator-password``."""


@dataclass(frozen=True)
class EmulatorConfig:
    """How an emulator app behaves."""

    credentials: EmulatorCredentials = EMULATOR_CREDENTIALS
    reseller_id: str = EMULATOR_RESELLER_ID
    token_seconds: int = 24 * 3600
    """An access token's life (Cloudmore documents 24 hours)."""
    max_page_size: int = 1000
    report_polls: int = 0
    """How many answers to a report task say the report is still being generated."""
    organization_currency: str = "USD"
    """The currency an organization created through the API gets (Cloudmore gives it the reseller's)."""
    task_id_in: Literal["body", "header", "both"] = "both"
    """Where the answer to a report request names the task: its JSON body, its ``Location`` header, or both."""
    clock: Callable[[], float] = time.monotonic
    """Clock for token expiry."""
    sleep: Callable[[float], None] = time.sleep
    """How an injected delay waits."""
