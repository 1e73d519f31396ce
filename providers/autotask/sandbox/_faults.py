"""Fault injection: fail, delay or lose the response of chosen requests, for tests.

A fault targets the Nth request (counted from when the fault is set) to one endpoint, optionally
of one kind (``query``, ``count``, ``get``, ``create``, ``update``, ``info``), and keeps firing for
``times`` consecutive matching requests. ``delay`` holds the request in flight before it is handled;
``status`` answers 500/429/503 without executing; ``drop_response`` executes (and commits) the
request, then loses the response.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers._shared import emulation

FaultKind = Literal["query", "count", "get", "create", "update", "delete", "info"]


class Fault(BaseModel):
    """One injected fault; see the module docstring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str
    """Entity name the request resolves to (child paths count as the child entity)."""
    verb: FaultKind | None = None
    nth: int = Field(default=1, ge=1)
    times: int = Field(default=1, ge=1)
    status: Literal[429, 500, 503] | None = None
    delay: float | None = Field(default=None, ge=0, le=300)
    drop_response: bool = False
    message: str = "Injected fault."

    @model_validator(mode="after")
    def _needs_an_action(self) -> Fault:
        if self.status is None and self.delay is None and not self.drop_response:
            raise ValueError("a fault needs status, delay or drop_response")
        if self.status is not None and self.drop_response:
            raise ValueError("a fault cannot both fail and drop the response")
        return self


class FaultInjector(emulation.FaultInjector[Fault]):
    """The faults currently set, matched by endpoint (in any case) and, when a fault names one, kind."""

    def __init__(self) -> None:
        super().__init__(Fault)

    def match(self, endpoint: str, kind: str) -> list[Fault]:
        """Count this request against every matching fault; return those that fire for it."""
        wanted = endpoint.lower()
        return self.fire(
            lambda fault: fault.endpoint.lower() == wanted and (not fault.verb or fault.verb == kind)
        )
