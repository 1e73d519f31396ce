"""One JSON-lines log file per ``run`` under ``.billsync/logs/``, for whoever looks after the job.

Each line is an object with ``time`` (UTC), ``event`` and the event's fields; the requests billsync
makes are logged too (method, URL path, status). Every line is scrubbed of credentials before it is
written (:func:`engine.textsafe.scrub`), and logs older than the retention setting are removed when
a run starts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.textsafe import scrub

LOG_DIR = "logs"
LOGGERS = ("engine", "providers", "httpx", "apprise")
"""Loggers whose records go to the run log (request lines, notifications)."""


class RunLog:
    def __init__(self, data_dir: Path, keep_days: int, secrets: Sequence[str] = ()) -> None:
        self.dir = data_dir / LOG_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self.removed = prune(self.dir, keep_days)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        self.path = self.dir / f"run-{stamp}.jsonl"
        self.secrets = list(secrets)
        self._fh = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()  # the apply's worker threads log their requests here too

    def event(self, event: str, **fields: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), "event": event, **fields}
        line = scrub(json.dumps(record, default=str, ensure_ascii=False), self.secrets) + "\n"
        with self._lock:
            if not self._fh.closed:
                self._fh.write(line)
                self._fh.flush()

    def close(self) -> None:
        with self._lock:
            self._fh.close()

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """Route the loggers' records (INFO and up) into this log while the block runs."""
        handler = _Handler(self)
        saved = []
        for name in LOGGERS:
            logger = logging.getLogger(name)
            saved.append((logger, logger.level, logger.propagate))
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
            logger.addHandler(handler)
            if name == "apprise":
                logger.propagate = False  # its lines may name a URL: only the scrubbed log gets them
        try:
            yield
        finally:
            for logger, level, propagate in saved:
                logger.removeHandler(handler)
                logger.setLevel(level)
                logger.propagate = propagate


class _Handler(logging.Handler):
    def __init__(self, log: RunLog) -> None:
        super().__init__(logging.INFO)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.log.event("log", logger=record.name, level=record.levelname, message=record.getMessage())
        except Exception:  # noqa: BLE001 - a log line must never break a run
            self.handleError(record)


def prune(folder: Path, keep_days: int, now: float | None = None) -> list[Path]:
    """Remove ``run-*.jsonl`` files last written more than ``keep_days`` ago; return them."""
    limit = (time.time() if now is None else now) - keep_days * 86400
    removed = []
    for path in sorted(folder.glob("run-*.jsonl")):
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
