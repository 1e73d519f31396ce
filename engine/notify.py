"""Telling people how a ``run`` went: the summary after each run, the error when it fails.

The senders are apprise's (Slack, Microsoft Teams, e-mail over SMTP, generic JSON webhooks and
about a hundred more), configured as URLs in ``billsync.yaml`` under ``notify:``. ``${VAR}`` in a URL
is read from the environment, so tokens stay out of the file. URLs are never logged whole: only their
scheme and host (:func:`engine.textsafe.redact_url`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from engine.textsafe import redact_url, scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    failed: bool = False
    attachment: Path | None = None


def expand(urls: Sequence[str]) -> list[str]:
    """The URLs with ``${VAR}`` / ``$VAR`` taken from the environment."""
    return [os.path.expandvars(url) for url in urls]


def url_secrets(urls: Sequence[str]) -> list[str]:
    """The parts of the URLs that may be credentials (the password; path segments, query values and a
    token standing where the host would, of 8 characters or more), and each URL whole, so a log can
    scrub them even when a sender logs one part alone."""
    parts: list[str] = [*urls]
    for url in urls:
        split = urlsplit(url)
        parts.append(split.password or "")
        tokens = [segment for segment in split.path.split("/") if segment]
        tokens += [value for _key, value in parse_qsl(split.query)]
        if "@" not in split.netloc and split.scheme not in ("json", "xml", "form", "http", "https"):
            tokens.append(split.netloc.split(":")[0])  # slack://TOKEN/…: the "host" is a token
        parts += [t for t in tokens if len(t) >= 8]
    return sorted({p for p in parts if len(p) >= 4}, key=len, reverse=True)


def send(urls: Sequence[str], message: Message) -> list[str]:
    """Send ``message`` to every URL; return the problems (never raises: a run's outcome stands)."""
    if not urls:
        return []
    import apprise  # imported here: only a run with notifications needs it

    problems: list[str] = []
    targets = apprise.Apprise()
    for url in urls:
        if not targets.add(url):
            problems.append(f"notification URL {redact_url(url)} is not understood by apprise")
    if len(targets) == 0:
        return problems
    attach = None
    if message.attachment is not None and message.attachment.exists():
        attach = apprise.AppriseAttachment()
        attach.add(str(message.attachment))
    ok = targets.notify(
        title=scrub(message.title, url_secrets(urls)),
        body=scrub(message.body, url_secrets(urls)),
        notify_type=apprise.NotifyType.FAILURE if message.failed else apprise.NotifyType.SUCCESS,
        attach=attach,
    )
    sent_to = ", ".join(redact_url(u) for u in urls)
    if not ok:
        problems.append(f"a notification could not be delivered (to {sent_to})")
    log.info("notification %s to %s", "sent" if ok else "not delivered", sent_to)
    return problems
