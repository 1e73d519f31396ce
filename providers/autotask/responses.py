"""Plain data the Autotask client returns: the request budget, the zone, and its request counters."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ClientStats", "StatsRecorder", "ThresholdInfo", "ZoneInfo"]


class ThresholdInfo(BaseModel):
    """The tenant's hourly request budget, as ``ThresholdInformation`` reports it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    external_request_threshold: int = Field(validation_alias="externalRequestThreshold")
    request_threshold_timeframe: int = Field(validation_alias="requestThresholdTimeframe")
    current_timeframe_request_count: int = Field(validation_alias="currentTimeframeRequestCount")

    @property
    def remaining(self) -> int:
        """Requests still allowed in the current timeframe."""
        return max(0, self.external_request_threshold - self.current_timeframe_request_count)

    @property
    def used_fraction(self) -> float:
        """Share of the budget used so far; Autotask slows every call down from 0.5 on."""
        if self.external_request_threshold <= 0:
            return 1.0
        return self.current_timeframe_request_count / self.external_request_threshold


class ZoneInfo(BaseModel):
    """Where an API user's tenant lives, as ``ZoneInformation`` reports it."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    zone_name: str = Field(default="", validation_alias="zoneName")
    url: str
    web_url: str = Field(default="", validation_alias="webUrl")
    ci: int | None = None


@dataclass(frozen=True)
class ClientStats:
    """Requests sent so far (every attempt counts), keyed by endpoint (the entity name) and verb."""

    requests: dict[str, dict[str, int]]
    peak_in_flight: dict[str, int]
    throttled: dict[str, int]

    @property
    def total(self) -> int:
        return sum(sum(verbs.values()) for verbs in self.requests.values())

    def count(self, endpoint: str, verb: str | None = None) -> int:
        """Requests to one endpoint, optionally of one verb."""
        verbs = self.requests.get(endpoint, {})
        return sum(verbs.values()) if verb is None else verbs.get(verb, 0)


class StatsRecorder:
    """Thread-safe counters behind :attr:`AutotaskClient.stats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[str, dict[str, int]] = {}
        self._in_flight: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._throttled: dict[str, int] = {}

    def enter(self, endpoint: str, verb: str) -> None:
        with self._lock:
            verbs = self._requests.setdefault(endpoint, {})
            verbs[verb] = verbs.get(verb, 0) + 1
            now = self._in_flight.get(endpoint, 0) + 1
            self._in_flight[endpoint] = now
            self._peak[endpoint] = max(self._peak.get(endpoint, 0), now)

    def leave(self, endpoint: str) -> None:
        with self._lock:
            self._in_flight[endpoint] -= 1

    def throttled(self, endpoint: str) -> None:
        with self._lock:
            self._throttled[endpoint] = self._throttled.get(endpoint, 0) + 1

    def snapshot(self) -> ClientStats:
        with self._lock:
            return ClientStats(
                requests={endpoint: dict(verbs) for endpoint, verbs in self._requests.items()},
                peak_in_flight=dict(self._peak),
                throttled=dict(self._throttled),
            )
