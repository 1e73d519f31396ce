"""One scrubber for every credential, applied to every message, log record and traceback billsync shows.

Credentials reach billsync only through environment variables, so the scrubber is built from them:
every variable whose name says it holds a credential (``*_SECRET``, ``*_PASSWORD``, ``*_TOKEN``,
``*_INTEGRATION_CODE``, ``*_API_KEY``). A server that echoes a credential back (an error message that
repeats the integration code, an OAuth ``error_description`` that quotes the password or the Basic
header) is masked as well: the value itself, its URL-encoded forms, any base64 text holding it (found
by the characters that encode only the credential, whatever came before it, as in a Basic header), and
whatever follows ``Bearer``, ``Secret:``, ``password=`` and the like.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import IO, Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "CREDENTIAL_SUFFIXES", "Scrubber", "scrubbed_output"]

MASK = "**********"
CREDENTIAL_SUFFIXES = ("_SECRET", "_PASSWORD", "_TOKEN", "_INTEGRATION_CODE", "_API_KEY")
"""Environment variables whose values are credentials, by the end of their name."""
_MIN_LENGTH = 4
"""Shorter values are not masked: masking every ``abc`` in the output would hide more than it protects."""
_LABELLED = re.compile(
    r"(?i)(\bbearer\s+|\b(?:secret|password|passwd|api[_-]?key|access_token|refresh_token|client_secret|"
    r"apiintegrationcode|integration[_ ]code)\b[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]+)"
)
_LABEL_WORDS = ("bearer", "secret", "passw", "api", "token", "integration")
"""Words one of which any labelled credential holds: the labelled pattern runs only where one is found."""
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


def _base64_cores(secret: str) -> set[str]:
    """The base64 text that any base64 encoding of a text holding ``secret`` must contain, wherever the
    secret starts in it (three alignments, standard and URL-safe alphabets): the characters that encode
    only the secret's own bytes."""
    raw = secret.encode()
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        first = 4 * ((shift + 2) // 3)  # the first group holding no padding byte
        last = 4 * ((shift + len(raw)) // 3)  # the end of the last group holding only secret bytes
        core = encoded[first:last]
        if len(core) >= 8:
            cores.update((core, core.replace("+", "-").replace("/", "_")))
    return cores


class Scrubber:
    """Masks a fixed set of credentials (and anything labelled as one) in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_LENGTH}
        self._secrets = tuple(sorted(values, key=len, reverse=True))
        forms: set[str] = set()
        self._cores: set[str] = set()
        for value in values:
            forms.update((value, quote(value, safe=""), quote_plus(value)))
            self._cores.update(_base64_cores(value))
        forms |= self._cores
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if forms else None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Scrubber:
        """The credentials in ``environ``, found by the names of their variables."""
        return cls(v.strip() for k, v in environ.items() if k.upper().endswith(CREDENTIAL_SUFFIXES))

    def with_secrets(self, extra: Iterable[str]) -> Scrubber:
        """This scrubber plus ``extra`` values (an access token issued during the run)."""
        return Scrubber([*self._secrets, *extra])

    def __call__(self, text: str) -> str:
        """``text`` with every credential replaced by ``**********``."""
        if not text:
            return text
        if self._pattern is not None and self._pattern.search(text) is not None:
            text = self._masked(text)
        lower = text.lower()
        if any(word in lower for word in _LABEL_WORDS):
            text = _LABELLED.sub(lambda m: m.group(1) + MASK, text)
        return text

    def _masked(self, text: str) -> str:
        """Each match masked; a base64 match together with the base64 text around it (which encodes the
        rest of what was encoded with the credential)."""
        assert self._pattern is not None
        out: list[str] = []
        end = 0
        for match in self._pattern.finditer(text):
            start, stop = match.span()
            if start < end:
                continue
            if match.group() in self._cores:
                while start > end and text[start - 1] in _BASE64_CHARS:
                    start -= 1
                while stop < len(text) and (text[stop] in _BASE64_CHARS or text[stop] == "="):
                    stop += 1
            out.append(text[end:start])
            out.append(MASK)
            end = stop
        out.append(text[end:])
        return "".join(out)


_STREAM_ATTRIBUTES = frozenset(
    {"isatty", "fileno", "encoding", "errors", "name", "mode", "closed", "writable", "readable", "seekable"}
)


class _ScrubbedStream:
    """A text stream that masks credentials before writing. Text is held until a flush (``click.echo``
    and ``input`` flush) or until 64 KiB of it has come, then masked whole lines at a time: a credential
    split over two writes is still found, and a plan of 200,000 lines is masked in a few large passes."""

    _CHUNK = 64 * 1024

    def __init__(self, stream: IO[str], scrub: Scrubber) -> None:
        self._stream = stream
        self._scrub = scrub
        self._pending: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # a text stream, as click checks by writing b"" to it
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._pending.append(text)
        self._size += len(text)
        if self._size >= self._CHUNK:
            held = "".join(self._pending)
            complete, newline, rest = held.rpartition("\n")
            if newline:
                self._stream.write(self._scrub(complete + newline))
                self._pending, self._size = [rest], len(rest)
        return len(text)

    def flush(self) -> None:
        if self._size:
            self._stream.write(self._scrub("".join(self._pending)))
            self._pending, self._size = [], 0
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        # what a text stream tells about itself; never its binary ``buffer``, which would bypass the mask
        if name not in _STREAM_ATTRIBUTES:
            raise AttributeError(name)
        return getattr(self._stream, name)


def _scrub_record(record: logging.LogRecord, scrub: Scrubber) -> None:
    record.msg = scrub(record.getMessage())
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


@contextmanager
def scrubbed_output(scrub: Scrubber) -> Iterator[None]:
    """For the duration: stdout and stderr masked, and every log record masked when it is made
    (so every handler, wherever it writes, gets the masked text)."""
    saved_out, saved_err = sys.stdout, sys.stderr
    saved_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = saved_factory(*args, **kwargs)
        _scrub_record(record, scrub)
        return record

    out, err = _ScrubbedStream(saved_out, scrub), _ScrubbedStream(saved_err, scrub)
    sys.stdout, sys.stderr = out, err
    logging.setLogRecordFactory(factory)
    try:
        yield
    finally:
        for stream in (out, err):
            with suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = saved_out, saved_err
        logging.setLogRecordFactory(saved_factory)
