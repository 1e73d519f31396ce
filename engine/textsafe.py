"""Data shown on a terminal, in a log or in a message is text, never control sequences or secrets."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable

SECRET_VARIABLES = (
    "AUTOTASK_SECRET",
    "AUTOTASK_USERNAME",
    "CLOUDMORE_API_SECRET",
    "CLOUDMORE_PASSWORD",
)
"""Environment variables whose values never appear in an output."""

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_URL_PATH = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s]+)(?P<path>/[^\s?#]*)?(?P<query>\?\S*)?")


def printable(text: str) -> str:
    """``text`` with control and format characters shown as ``\\xNN`` / ``\\uNNNN`` escapes."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the credentials of URLs (``user:pass@``), the secret environment variables'
    values and ``secrets`` (e.g. notification URLs, whose paths often are the token)."""
    known = [s for s in secrets if s]
    known += [os.environ.get(name, "") for name in SECRET_VARIABLES]
    for secret in sorted({s for s in known if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", text)


def redact_url(url: str) -> str:
    """A notification URL as it may be logged: its scheme and host only."""
    match = _URL_PATH.match(url.strip())
    if not match:
        return "***"
    head = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", match.group("scheme"))
    return head + ("/***" if match.group("path") or match.group("query") else "")
