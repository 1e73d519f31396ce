"""What can go wrong talking to Autotask: one error family under :class:`engine.errors.TargetError`,
and the functions that turn an HTTP outcome into the right member of it.

Every error carries the HTTP method, the URL path (never its query string), the status when there
was a response, and Autotask's own messages. None of them ever holds a header value, so printing or
logging one cannot leak the API secret.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import TargetError

__all__ = [
    "UNAVAILABLE_STATUSES",
    "AutotaskAuthError",
    "AutotaskError",
    "AutotaskNotFound",
    "AutotaskOutcomeUnknown",
    "AutotaskRateLimited",
    "AutotaskUnreachable",
    "AutotaskValidationError",
    "error_for_broken_write",
    "error_for_exhausted_retries",
    "error_for_status",
]


class AutotaskError(TargetError):
    """Autotask refused or failed a request; the root of every Autotask error."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        messages: Sequence[str] = (),
        hint: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.method = method
        self.path = path
        self.status = status
        self.messages: tuple[str, ...] = tuple(messages)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(method={self.method!r}, path={self.path!r}, status={self.status!r})"


class AutotaskAuthError(AutotaskError):
    """Autotask did not accept the API user: wrong secret, unknown user or integration code, or no permission."""


class AutotaskValidationError(AutotaskError):
    """Autotask refused a request's content (HTTP 500 with ``errors``); sending it again would fail again."""


class AutotaskNotFound(AutotaskError):
    """The object or endpoint does not exist (HTTP 404)."""


class AutotaskRateLimited(AutotaskError):
    """Autotask kept answering HTTP 429 until the retry budget ran out; nothing was executed."""


class AutotaskOutcomeUnknown(AutotaskError):
    """A write was sent but its answer was lost; it may or may not have been executed.

    The client never sends such a write again. The caller must look the object up by its identity
    marker and create it only if it is not there.
    """


class AutotaskUnreachable(AutotaskError):
    """Autotask could not be reached or stayed unavailable until the retry budget ran out."""


_LOOK_AGAIN = "Run plan again: it finds anything already written through its identity marker."
_AUTH_WORDS = ("integrationcode", "integration code", "tracking identifier", "username", "user name",
               "api user", "authenticat", "unauthori", "credential",
               "zone information could not be determined")  # fmt: skip
"""Words of Autotask's 500s for bad credentials: an unknown user gets "Zone information could not be
determined", a wrong integration code "IntegrationCode is invalid." (A1)."""
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})
"""Gateway answers: the request may not have reached Autotask, so a read is worth repeating."""


def error_for_status(
    method: str, path: str, status: int, messages: Sequence[str], *, username: str, write: bool
) -> AutotaskError:
    """The error for a final (not retried) HTTP failure.

    Autotask reports validation failures as HTTP 500 with ``errors``; a 5xx without them, or a
    gateway error, says nothing about whether a write ran, so writes get :class:`AutotaskOutcomeUnknown`.
    """
    said = f": {' '.join(messages)}" if messages else "."

    def error(kind: type[AutotaskError], message: str, hint: str = "") -> AutotaskError:
        return kind(message, method=method, path=path, status=status, messages=messages, hint=hint)

    if status in UNAVAILABLE_STATUSES or (status >= 500 and not messages):
        if write:
            return error(
                AutotaskOutcomeUnknown,
                f"Autotask answered {method} {path} with HTTP {status}{said} It may or may not have "
                "executed the write, so billsync did not send it again.",
                _LOOK_AGAIN,
            )
        return error(AutotaskError, f"Autotask failed {method} {path} with HTTP {status}{said}")
    if status == 401:
        return error(
            AutotaskAuthError,
            f"Autotask refused the API user {username!r} (HTTP 401): the secret is wrong.",
            "Check AUTOTASK_SECRET.",
        )
    if status == 403:
        return error(
            AutotaskAuthError,
            f"Autotask does not allow the API user {username!r} to {method} {path} (HTTP 403){said}",
            "Give the API user's security level access to this entity in Autotask.",
        )
    if status == 404:
        return error(AutotaskNotFound, f"Autotask has nothing at {method} {path} (HTTP 404){said}")
    if messages and any(word in " ".join(messages).lower() for word in _AUTH_WORDS):
        return error(
            AutotaskAuthError,
            f"Autotask refused the API credentials of {username!r} (HTTP {status}){said}",
            "Check AUTOTASK_USERNAME and AUTOTASK_INTEGRATION_CODE.",
        )
    if messages:
        return error(AutotaskValidationError, f"Autotask rejected {method} {path} (HTTP {status}){said}")
    return error(AutotaskError, f"Autotask answered {method} {path} with unexpected HTTP {status}.")


def error_for_broken_write(method: str, path: str, failure: str) -> AutotaskOutcomeUnknown:
    """A write whose connection broke after it was sent: it may have run, so it is never re-sent."""
    return AutotaskOutcomeUnknown(
        f"The connection broke during {method} {path} ({failure}); Autotask may or may not have "
        "executed it, so billsync did not send it again.",
        method=method,
        path=path,
        hint=_LOOK_AGAIN,
    )


def error_for_exhausted_retries(
    method: str,
    url: str,
    path: str,
    *,
    status: int | None,
    attempts: int,
    detail: str = "",
    retry_after: float | None = None,
) -> AutotaskError:
    """The error for a request still throttled (429) or unavailable when the retry budget ran out.

    ``url`` is the request URL without its query string; it is named so the user can check it.
    """
    tried = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    if status == 429:
        asked = f"; it last asked to wait {retry_after:g} s" if retry_after is not None else ""
        return AutotaskRateLimited(
            f"Autotask kept refusing {method} {path} with HTTP 429 (too many requests) {tried}{asked}.",
            method=method,
            path=path,
            status=status,
            hint="The thread limit or the tenant's hourly request budget is used up, possibly by another "
            "integration; wait a while and run again.",
        )
    problem = f"it answered HTTP {status}" if status is not None else f"the connection failed ({detail})"
    return AutotaskUnreachable(
        f"Cannot reach Autotask at {url}: {problem} {tried}.",
        method=method,
        path=path,
        status=status,
        hint="Check the base URL (or the zone lookup URL) in billsync.yaml, the network connection and any "
        "proxy, and Autotask's status page; then run again.",
    )
