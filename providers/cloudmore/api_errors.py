"""What can go wrong reading Cloudmore's API: one error family under :class:`engine.errors.BillsyncError`.

Every error names the HTTP method and URL path (never a query string, a header or a request body) and
Cloudmore's own message when it sent one, so printing or logging an error can never reveal the API
secret, the password or an access token. Malformed data inside a successful answer is a
:class:`~engine.errors.SourceError` instead (raised by :mod:`providers.cloudmore.api_mapping`).
"""

from __future__ import annotations

from engine.errors import BillsyncError

__all__ = [
    "CloudmoreAuthError",
    "CloudmoreError",
    "CloudmoreReportNotReady",
    "CloudmoreResponseError",
    "CloudmoreUnavailable",
    "CloudmoreUnknownReseller",
    "CloudmoreWriteUnknown",
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
