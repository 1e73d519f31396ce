"""The error a request handler raises, and the three body shapes Autotask answers errors with.

- Validation and business-rule failures: HTTP 500 (or 401/404/429) with ``{"errors": [...]}`` (A5).
- A verb the route does not support: HTTP 405 with ASP.NET's ``{"Message": "..."}`` (A2, A4).
- A path with no REST surface at all: IIS's HTML "404 - File or directory not found." page (A2).
"""

from __future__ import annotations

from typing import Literal

Shape = Literal["errors", "message", "html"]

IIS_NOT_FOUND = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
    '<html xmlns="http://www.w3.org/1999/xhtml">\n<head>\n'
    '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>\n'
    "<title>404 - File or directory not found.</title>\n</head>\n<body>\n"
    '<div id="header"><h1>Server Error</h1></div>\n<div id="content">\n'
    ' <div class="content-container"><fieldset>\n'
    "  <h2>404 - File or directory not found.</h2>\n"
    "  <h3>The resource you are looking for might have been removed, had its name changed, "
    "or is temporarily unavailable.</h3>\n </fieldset></div>\n</div>\n</body>\n</html>\n"
)
"""The IIS page a path outside every REST route answers with (TCT fixture ``AUTOTASK_404_MESSAGE``)."""


class ApiError(Exception):
    """An Autotask-style failure: the status code, the messages and the body shape.

    Autotask answers validation and business-rule failures with HTTP 500 and readable text, so
    500 is the default status.
    """

    def __init__(self, message: str, status: int = 500, shape: Shape = "errors") -> None:
        super().__init__(message)
        self.status = status
        self.messages = [message]
        self.shape: Shape = shape


def not_found(message: str) -> ApiError:
    """A 404 with an ``errors`` body: the route exists, the object does not."""
    return ApiError(message, 404)


def no_such_path(path: str) -> ApiError:
    """A 404 IIS HTML page: nothing at all is served at ``path``."""
    return ApiError(f"No REST route at {path}.", 404, "html")


def not_allowed(method: str) -> ApiError:
    """ASP.NET's 405 for a verb the route does not support."""
    return ApiError(f"The requested resource does not support http method '{method}'.", 405, "message")


def throttled(message: str) -> ApiError:
    return ApiError(message, 429)
