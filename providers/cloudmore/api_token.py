"""Cloudmore's OAuth2 password grant: the request billsync sends for a token and how the answer is read.

Caching the token and sending the request stay with :class:`providers.cloudmore.api_client.CloudmoreClient`;
this module only builds and reads, so the API secret, user name and password pass through it and
never reach a log, a ``repr`` or an error.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from pydantic import SecretStr

from providers.cloudmore import api_mapping as m
from providers.cloudmore import api_paths as paths
from providers.cloudmore.api_config import ENV_API_SECRET, ENV_PASSWORD, ENV_USERNAME, ApiCredentials
from providers.cloudmore.api_errors import CloudmoreAuthError, CloudmoreResponseError

__all__ = ["CLIENT_ID", "DEFAULT_TOKEN_SECONDS", "grant_request", "read_grant"]

CLIENT_ID = "ro.customer.client"
"""The OAuth2 client id every Cloudmore API user authenticates with (documented)."""
DEFAULT_TOKEN_SECONDS = 24 * 3600
"""A token's life when the answer does not say (documented: 24 hours)."""


def grant_request(credentials: ApiCredentials) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a password grant: the API secret as Basic auth, the user in the form."""
    secret = credentials.api_secret.get_secret_value()
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    form = {
        "grant_type": "password",
        "username": credentials.username.get_secret_value(),
        "password": credentials.password.get_secret_value(),
        "scope": "api",
    }
    return form, {"Authorization": f"Basic {basic}", "Accept": "application/json"}


def read_grant(status: int, data: dict[str, Any]) -> tuple[SecretStr, float]:
    """The access token and its life in seconds from the grant's answer (``data``: its JSON object).

    A refusal raises :class:`CloudmoreAuthError` naming the environment variable to check; a success
    without a token raises :class:`CloudmoreResponseError`. A missing or senseless life counts as
    :data:`DEFAULT_TOKEN_SECONDS`.
    """
    if status >= 300:
        raise _token_refused(status, data)
    token = data.get(m.TOKEN_ACCESS)
    if not isinstance(token, str) or not token:
        raise CloudmoreResponseError(
            "Cloudmore's token answer holds no access token.", method="POST", path=paths.TOKEN_PATH
        )
    lifetime = data.get(m.TOKEN_EXPIRES_IN, DEFAULT_TOKEN_SECONDS)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | Decimal) or lifetime <= 0:
        lifetime = DEFAULT_TOKEN_SECONDS
    return SecretStr(token), float(lifetime)


def _token_refused(status: int, data: dict[str, Any]) -> CloudmoreAuthError:
    """The error for a refused token grant, naming the environment variable to check."""
    code = str(data.get(m.TOKEN_ERROR) or "")
    description = str(data.get(m.TOKEN_ERROR_DESCRIPTION) or "")
    said = f", {code}{': ' + description if description else ''}" if code else ""
    if code == "invalid_client" or (status == 401 and code != "invalid_grant"):
        hint = f"Check {ENV_API_SECRET}: it is the API secret Cloudmore issued for your account."
        what = "the API secret"
    elif code in ("invalid_grant", ""):
        hint = (
            f"Check {ENV_USERNAME} and {ENV_PASSWORD}: they are the Cloudmore API user's name and password."
        )
        what = "the API user name or password"
    else:
        hint = f"Check {ENV_API_SECRET}, {ENV_USERNAME} and {ENV_PASSWORD}."
        what = "the API credentials"
    return CloudmoreAuthError(
        f"Cloudmore refused {what} (HTTP {status}{said}).",
        method="POST",
        path=paths.TOKEN_PATH,
        status=status,
        hint=hint,
    )
