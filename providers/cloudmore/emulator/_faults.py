"""Fault injection: fail or delay chosen requests to the emulator, for tests.

A fault targets the Nth request (counted from when the fault is set) to one route (``token``,
``organizations``, ``services``, ``subscriptions``, ``azure_subscriptions``, ``price_list``,
``reports``, ``report_start``, ``report_status``, ``report_lines``, ``create_organization``,
``set_custom_property``; ``None`` for every route) and keeps firing for ``times`` consecutive matching
requests. ``delay`` holds the request before it is handled; ``status`` answers with that HTTP status
(and a ``Retry-After`` of 0 for a 429) without handling it, or, with ``after``, once it was handled (a
write done whose answer is lost on the way back).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers._shared import emulation

__all__ = ["Fault", "FaultInjector"]


class Fault(BaseModel):
    """One injected fault; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: str | None = None
    nth: int = Field(default=1, ge=1)
    times: int = Field(default=1, ge=1)
    status: int | None = Field(default=None, ge=400, le=599)
    delay: float | None = Field(default=None, ge=0, le=300)
    after: bool = False
    message: str = "Injected fault."

    @model_validator(mode="after")
    def _needs_an_action(self) -> Fault:
        if self.status is None and self.delay is None:
            raise ValueError("a fault needs a status or a delay")
        if self.after and self.status is None:
            raise ValueError("a fault answering after the request was handled needs a status")
        return self


class FaultInjector(emulation.FaultInjector[Fault]):
    """The faults currently set, matched by route (a fault without one matches every route)."""

    def __init__(self) -> None:
        super().__init__(Fault)

    def match(self, route: str) -> list[Fault]:
        """Count this request against every matching fault; return those that fire for it."""
        return self.fire(lambda fault: fault.route is None or fault.route == route)
