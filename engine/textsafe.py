"""Text from data made safe for a terminal: every control character shown visibly, one line per value.

Organization names, product names and Autotask's own messages are written by other people. A newline
in one could forge a line of the plan (``Plan: 0 to add…``); an ANSI escape could recolour, hide or
rewrite what the terminal shows; a bidirectional override could reverse what is read. Every such
character is replaced by its escape (``\\n``, ``\\x1b``, ``\\u202e``) before it is printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from engine.scrub import MASK, Scrubber

__all__ = ["redact_url", "scrub", "visible", "visible_lines"]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 and C1 controls, DEL (ESC and CSI start every ANSI sequence)
    "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"  # bidi, zero-width, separators
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` on one line, with every control, bidi and invisible formatting character escaped."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)


def visible_lines(text: str) -> str:
    """Each line of a multi-line message made :func:`visible`; the line breaks themselves are kept."""
    return "\n".join(visible(line) for line in text.split("\n"))


_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_URL_PATH = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s]+)(?P<path>/[^\s?#]*)?(?P<query>\?\S*)?")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` through the one scrubber (every credential of the environment, and ``secrets`` such as
    notification URLs' tokens), with the credentials of URLs (``user:pass@``) masked too."""
    text = Scrubber.from_env(os.environ).with_secrets(secrets)(text)
    return _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + MASK + "@", text)


def redact_url(url: str) -> str:
    """A notification URL as it may be logged: its scheme and host only."""
    match = _URL_PATH.match(url.strip())
    if not match:
        return MASK
    head = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + MASK + "@", match.group("scheme"))
    return head + ("/" + MASK if match.group("path") or match.group("query") else "")
