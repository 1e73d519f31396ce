"""What can go wrong reading Cloudmore's API: one error family under :class:`engine.errors.BillsyncError`.

Every error names the HTTP method and URL path (never a query string, a header or a request body) and
Cloudmore's own message when it sent one, so printing or logging an error can never reveal the API
secret, the password or an access token. Malformed data inside a successful answer is a
:class:`~engine.errors.SourceError` instead (raised by :mod:`providers.cloudmore.api_mapping`).
"""

from __future__ import annotations

from engine.errors import BillsyncError
from providers.cloudmore.api_config import ENV_USERNAME
from providers.cloudmore.api_paths import organizations_path

__all__ = [
    "CloudmoreAuthError",
    "CloudmoreError",
    "CloudmoreReportNotReady",
    "CloudmoreResponseError",
    "CloudmoreUnavailable",
    "CloudmoreUnknownReseller",
    "CloudmoreWriteUnknown",
    "error_for_changing_list",
    "error_for_exhausted_retries",
    "error_for_status",
    "error_for_unsure_write",
]


class CloudmoreError(BillsyncError):
    """Cloudmore refused or failed a request; the root of every Cloudmore API error."""

    def __init__(
        self, message: str, *, method: str = "", path: str = "", status: int | None = None, hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.method = method
        self.path = path
        self.status = status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(method={self.method!r}, path={self.path!r}, status={self.status!r})"


class CloudmoreAuthError(CloudmoreError):
    """Cloudmore did not accept the API secret, the API user or its password, or the token it issued."""


class CloudmoreUnknownReseller(CloudmoreError):
    """The reseller id in billsync.yaml does not exist or the API user may not read it."""


class CloudmoreUnavailable(CloudmoreError):
    """Cloudmore could not be reached, or kept answering 429/5xx until the retry budget ran out."""


class CloudmoreResponseError(CloudmoreError):
    """Cloudmore answered with something billsync cannot use: not JSON, no list, or pages that disagree."""


class CloudmoreReportNotReady(CloudmoreError):
    """A billing report was still being generated when the bounded wait ran out; nothing of it was read."""


class CloudmoreWriteUnknown(CloudmoreError):
    """A write that must not be sent twice got no clear answer (HTTP 5xx, or the connection dropped after
    it was sent): Cloudmore may or may not have carried it out, so billsync did not send it again."""


def error_for_status(
    method: str, path: str, status: int, message: str, *, reseller_id: str
) -> CloudmoreError:
    """The error for an answer other than success once retries are spent; ``message`` is Cloudmore's own."""
    said = f": {message}" if message else "."
    if status == 401:
        return CloudmoreAuthError(
            f"Cloudmore refused the access token it had just issued for {method} {path} (HTTP 401){said}",
            method=method,
            path=path,
            status=status,
            hint=f"Check that the API user ({ENV_USERNAME}) may use the API, then run again.",
        )
    if status in (403, 404) and path == organizations_path(reseller_id):
        return CloudmoreUnknownReseller(
            f"Cloudmore does not know the reseller {reseller_id!r}, or the API user may not read it "
            f"(HTTP {status} for {method} {path}){said}",
            method=method,
            path=path,
            status=status,
            hint="Check cloudmore.api.reseller_id in billsync.yaml: it is the reseller id Cloudmore sent "
            "with the API secret.",
        )
    if status == 403:
        return CloudmoreAuthError(
            f"The Cloudmore API user may not {method} {path} (HTTP 403){said}",
            method=method,
            path=path,
            status=status,
            hint="Give the API user a role that can read organizations, subscriptions and billing."
            if method == "GET"
            else "Give the API user a role that can create organizations and edit their custom properties.",
        )
    return CloudmoreError(
        f"Cloudmore answered {method} {path} with HTTP {status}{said}",
        method=method,
        path=path,
        status=status,
        hint="The path is in Cloudmore's published API (providers/cloudmore/api_paths.py): a 404 usually "
        "means Cloudmore does not know the id in it."
        if status == 404
        else "",
    )


def error_for_unsure_write(
    what: str, problem: str, method: str, path: str, status: int | None
) -> CloudmoreWriteUnknown:
    """The error for a write (``what`` it does) that failed after it was sent: ``problem`` says how."""
    return CloudmoreWriteUnknown(
        f"Cloudmore did not confirm {what} ({problem} for {method} {path}): it may or may not "
        "have been done, so billsync did not send it again.",
        method=method,
        path=path,
        status=status,
        hint="Run the same command again: it reads back what Cloudmore holds first and sends only what "
        "is still missing.",
    )


def error_for_exhausted_retries(
    base_url: str, method: str, path: str, status: int | None, detail: str, attempts: int
) -> CloudmoreUnavailable:
    """The error for a request still throttled, unavailable or unconnected when the retries ran out."""
    problem = f"it answered HTTP {status}" if status else f"the connection failed ({detail})"
    return CloudmoreUnavailable(
        f"Cannot read Cloudmore at {base_url}: {problem} for {method} {path} after {attempts} "
        f"attempt{'s' if attempts != 1 else ''}.",
        method=method,
        path=path,
        status=status,
        hint="Check cloudmore.api.url in billsync.yaml, the network connection and Cloudmore's status; "
        "then run again.",
    )


def error_for_changing_list(path: str, what: str) -> CloudmoreResponseError:
    """The error for a list whose pages do not add up (``what`` says how): it changed while being read."""
    return CloudmoreResponseError(
        f"Cloudmore's list at GET {path} cannot be read consistently: {what}.",
        method="GET",
        path=path,
        hint="The data probably changed while billsync read it; run again.",
    )
