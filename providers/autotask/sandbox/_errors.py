"""The error a request handler raises to answer with ``{"errors": [...]}`` and an HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """An Autotask-style failure: the status code and the messages for the ``errors`` list.

    Autotask answers validation and business-rule failures with HTTP 500 and readable text, so
    500 is the default status.
    """

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status
        self.messages = [message]


def not_found(message: str) -> ApiError:
    return ApiError(message, 404)


def not_allowed(message: str) -> ApiError:
    return ApiError(message, 405)


def throttled(message: str) -> ApiError:
    return ApiError(message, 429)
