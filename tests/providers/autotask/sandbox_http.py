"""What the sandbox's plain-HTTP tests share: a client on the app's WSGI transport with the sandbox's
credentials, a create that returns the new id, and the message of a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from providers.autotask.sandbox import BASE_PATH, SANDBOX_CREDENTIALS, SandboxApp


@contextmanager
def wsgi_client(app: SandboxApp) -> Iterator[httpx.Client]:
    """The REST API of ``app`` in process, as an API user with the sandbox's credentials sees it."""
    with httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as client:
        yield client


def create(client: httpx.Client, path: str, body: dict[str, Any]) -> int:
    """POST ``body`` to ``path``; the new object's id (the create must succeed)."""
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return int(response.json()["itemId"])


def refusal_of(response: httpx.Response) -> str:
    """The one message of a 500 ``errors`` answer (the create or update must have been refused)."""
    assert response.status_code == 500, response.text
    (message,) = response.json()["errors"]
    return str(message)
