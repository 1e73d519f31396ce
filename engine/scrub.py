"""One scrubber for every credential, applied to every message, log record and traceback billsync shows.

Credentials reach billsync only through environment variables, so the scrubber is built from them:
every variable whose name says it holds a credential (``*_SECRET``, ``*_PASSWORD``, ``*_TOKEN``,
``*_INTEGRATION_CODE``, ``*_API_KEY``). A server that echoes a credential back (an error message that
repeats the integration code, an OAuth ``error_description`` that quotes the password or the Basic
header) is masked as well: the value itself, its URL-encoded forms, any base64 text that decodes to
something holding it, and whatever follows ``Basic``, ``Bearer``, ``Secret:`` or ``password=``.
"""

from __future__ import annotations

import base64
import binascii
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
    r"(?i)(\b(?:basic|bearer)\s+|\b(?:secret|password|passwd|api[_-]?key|access_token|refresh_token|"
    r"client_secret|apiintegrationcode|integration[_ ]code)\b[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;]+)"
)
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")


class Scrubber:
    """Masks a fixed set of credentials (and anything labelled as one) in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_LENGTH}
        self._secrets = tuple(sorted(values, key=len, reverse=True))
        forms: set[str] = set()
        for value in values:
            forms.update((value, quote(value, safe=""), quote_plus(value)))
        self._pattern = (
            re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))
            if forms
            else None
        )

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
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = _LABELLED.sub(lambda m: m.group(1) + MASK, text)
        if self._secrets:
            text = _BASE64.sub(self._decoded, text)
        return text

    def _decoded(self, match: re.Match[str]) -> str:
        blob = match.group()
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                raw = decode(blob + "=" * (-len(blob) % 4)).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
            if any(secret in raw for secret in self._secrets):
                return MASK
        return blob


class _ScrubbedStream:
    """A text stream that masks credentials before writing; whole lines at a time, so a credential
    split over two writes is still found."""

    def __init__(self, stream: IO[str], scrub: Scrubber) -> None:
        self._stream = stream
        self._scrub = scrub
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        if "\n" in self._pending:
            complete, _, self._pending = self._pending.rpartition("\n")
            self._stream.write(self._scrub(complete + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._scrub(self._pending))
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # isatty, encoding, fileno…: those of the real stream
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
