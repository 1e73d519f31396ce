"""Cloudmore API credentials and client settings.

Credentials come from the environment only (``CLOUDMORE_API_SECRET``, ``CLOUDMORE_USERNAME``,
``CLOUDMORE_PASSWORD``), never from billsync.yaml, and are held as :class:`~pydantic.SecretStr` so a
``repr``, a log line or an exception can never show them. The settings are small frozen values handed
to :class:`providers.cloudmore.api_client.CloudmoreClient`, so a test can change one knob alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from engine.workspace import HttpLimits
from providers._shared.env import require_env
from providers._shared.retry import Attempts, Budget, Delay
from providers._shared.retry import RetryPolicy as SharedRetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "ENV_API_SECRET",
    "ENV_PASSWORD",
    "ENV_USERNAME",
    "ApiClientConfig",
    "ApiCredentials",
    "ReportPolicy",
    "ReportSchedule",
    "RetryPolicy",
]

ENV_API_SECRET = "CLOUDMORE_API_SECRET"
ENV_USERNAME = "CLOUDMORE_USERNAME"
ENV_PASSWORD = "CLOUDMORE_PASSWORD"

DEFAULT_BASE_URL = "https://api.cloudmore.com"


class ApiCredentials(BaseModel):
    """A Cloudmore API user: the API secret Cloudmore issued, and the user's name and password.

    ``repr`` shows none of the three values (the username is hidden too: it names a person).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_secret: SecretStr
    username: SecretStr
    password: SecretStr

    @field_validator("api_secret", "username", "password")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("empty")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiCredentials:
        """Read the three values from the environment; every missing one is named in one :class:`ConfigError`."""
        env = require_env(
            environ,
            (ENV_API_SECRET, ENV_USERNAME, ENV_PASSWORD),
            what="Cloudmore API credentials",
            advice=f"Set {ENV_API_SECRET} (the API secret Cloudmore issued), {ENV_USERNAME} and {ENV_PASSWORD} "
            "(the Cloudmore API user) before reading Cloudmore through its API, or remove cloudmore.api "
            "from billsync.yaml to read an export bundle instead.",
        )
        return cls(
            api_secret=SecretStr(env[ENV_API_SECRET].strip()),
            username=SecretStr(env[ENV_USERNAME].strip()),
            password=SecretStr(env[ENV_PASSWORD]),
        )


class RetryPolicy(SharedRetryPolicy):
    """How long a request that Cloudmore throttled (429) or could not answer (5xx) is tried again.

    Waits grow exponentially from ``base_delay`` with full jitter, capped at ``max_delay``; a
    ``Retry-After`` header replaces the computed wait (and is capped at ``max_delay`` too). Retrying
    stops after ``max_attempts`` tries or before a wait would take the call past ``max_total_seconds``.
    """

    max_attempts: Attempts = 5
    base_delay: Delay = 1.0
    max_delay: Delay = 30.0
    max_total_seconds: Budget = 180.0


class ReportPolicy(BaseModel):
    """How an asynchronous billing report is waited for: a status poll every ``poll_interval`` seconds,
    for at most ``max_wait`` seconds, after which the report is reported as not ready (never half-read)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_interval: float = Field(default=5.0, gt=0)
    max_wait: float = Field(default=600.0, ge=0)


class ReportSchedule(BaseModel):
    """Which months' reports are requested, since Cloudmore lists no published reports.

    A month's report is taken as available on ``availability_day`` of the next month (default the
    8th: Cloudmore says Microsoft NCE data lands between the 6th and the 8th) and, as a bundle's
    report, is billed from the day after. Each run requests the latest available month and the
    ``months - 1`` before it (never one before ``first_period``), so a revision of a recent month is
    seen and a missed run is caught up.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    availability_day: int = Field(default=8, ge=1, le=28)
    months: int = Field(default=3, ge=1, le=36)
    first_period: str | None = Field(default=None, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class ApiClientConfig(BaseModel):
    """Connection settings for one Cloudmore broker (addressed by the API as a reseller).

    ``token_refresh_margin`` is how long before its stated expiry an access token is replaced, so a
    token never expires in the middle of a load.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    reseller_id: str = Field(min_length=1)
    page_size: int = Field(default=100, ge=1, le=1000)
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    token_refresh_margin: float = Field(default=300.0, ge=0)
    retry: RetryPolicy = RetryPolicy()
    report: ReportPolicy = ReportPolicy()
    http_limits: HttpLimits = HttpLimits()
    """A total deadline per request and a maximum answer size (``limits.http`` in billsync.yaml)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"the Cloudmore API URL must start with https:// or http://, got {value!r}")
        return value.rstrip("/")

    @field_validator("reseller_id")
    @classmethod
    def _plain_id(cls, value: str) -> str:
        if "/" in value or "?" in value or "#" in value or value != value.strip():
            raise ValueError(f"a reseller id has no '/', '?', '#' or surrounding spaces, got {value!r}")
        return value
