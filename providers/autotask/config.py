"""Autotask credentials and client settings.

Credentials come from the environment only (never from a file that could be committed); the
settings are small frozen values handed to :class:`providers.autotask.client.AutotaskClient` so a
test or a benchmark can change one knob without touching the client.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from engine.workspace import HttpLimits
from providers._shared.env import require_env
from providers._shared.retry import Attempts, Budget, Delay
from providers._shared.retry import RetryPolicy as SharedRetryPolicy

__all__ = [
    "DEFAULT_ZONE_LOOKUP_URL",
    "ENV_INTEGRATION_CODE",
    "ENV_SECRET",
    "ENV_USERNAME",
    "SANDBOX_CREDENTIALS",
    "ClientConfig",
    "Credentials",
    "RetryPolicy",
]

ENV_USERNAME = "AUTOTASK_USERNAME"
ENV_SECRET = "AUTOTASK_SECRET"
ENV_INTEGRATION_CODE = "AUTOTASK_INTEGRATION_CODE"

DEFAULT_ZONE_LOOKUP_URL = "https://webservices.autotask.net/ATServicesRest/V1.0/ZoneInformation"


class Credentials(BaseModel):
    """An Autotask API user: the three values sent as headers on every request.

    ``secret`` is a :class:`~pydantic.SecretStr`, so ``repr``, ``str`` and JSON dumps show
    ``**********`` instead of the value; call ``secret.get_secret_value()`` only where the header is built.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str = Field(min_length=1)
    secret: SecretStr
    integration_code: str = Field(min_length=1)

    @field_validator("secret")
    @classmethod
    def _secret_not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("the Autotask secret is empty")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read the credentials from ``AUTOTASK_USERNAME``, ``AUTOTASK_SECRET``, ``AUTOTASK_INTEGRATION_CODE``.

        Every missing (or empty) variable is named in one :class:`ConfigError`, so a user fixes them
        all in one go.
        """
        env = require_env(
            environ,
            (ENV_USERNAME, ENV_SECRET, ENV_INTEGRATION_CODE),
            what="Autotask credentials",
            advice=f"Set {ENV_USERNAME} (the API user's username), {ENV_SECRET} (its secret) and "
            f"{ENV_INTEGRATION_CODE} (the API tracking identifier) before running billsync against Autotask, "
            "or remove the autotask connection from billsync.yaml to use the built-in sandbox.",
        )
        return cls(
            username=env[ENV_USERNAME].strip(),
            secret=SecretStr(env[ENV_SECRET].strip()),
            integration_code=env[ENV_INTEGRATION_CODE].strip(),
        )


SANDBOX_CREDENTIALS = Credentials(
    username="sandbox@billsync.local",
    secret=SecretStr("sandbox-secret"),
    integration_code="BILLSYNC-SANDBOX",
)
"""The API user the embedded sandbox accepts (not a secret: the sandbox is local and fake)."""


class RetryPolicy(SharedRetryPolicy):
    """How long the client keeps trying a request that Autotask throttled or could not answer.

    Waits grow exponentially from ``base_delay`` with full jitter, capped at ``max_delay``; a
    ``Retry-After`` header replaces the computed wait. Retrying stops after ``max_attempts`` tries or
    before a wait would take the whole call past ``max_total_seconds``, whichever comes first.
    """

    max_attempts: Attempts = 6
    base_delay: Delay = 1.0
    max_delay: Delay = 60.0
    max_total_seconds: Budget = 300.0


class ClientConfig(BaseModel):
    """Connection settings for one Autotask tenant.

    ``base_url`` is the REST root ending in ``V1.0/`` (for example
    ``https://webservices5.autotask.net/ATServicesRest/V1.0/``); when it is ``None`` the client asks
    ``zone_lookup_url`` for the user's zone once, on first use. ``max_in_flight_per_endpoint`` is
    Autotask's thread limit (3 for integrations created since 2023.1).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    zone_lookup_url: str = DEFAULT_ZONE_LOOKUP_URL
    max_in_flight_per_endpoint: int = Field(default=3, ge=1)
    timeout: float = Field(default=60.0, gt=0, description="seconds per request")
    retry: RetryPolicy = RetryPolicy()
    http_limits: HttpLimits = HttpLimits()
    """A total deadline per request and a maximum answer size (``limits.http`` in billsync.yaml)."""

    @model_validator(mode="after")
    def _urls_are_http(self) -> ClientConfig:
        for name, url in (("base_url", self.base_url), ("zone_lookup_url", self.zone_lookup_url)):
            if url is not None and not url.startswith(("https://", "http://")):
                raise ValueError(f"{name} must start with https:// or http://, got {url!r}")
        return self
