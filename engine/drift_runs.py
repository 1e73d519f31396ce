"""When ``billsync drift`` last ran, kept in ``state/drift.json`` so every plan can say so.

A plan reads the objects not bound to a month (contracts, services, products, contract services) on
every run, but objects of past months (adjustments, charges) only for the months it bills; a hand edit
to one of those is found by ``drift`` alone, whose cost grows with history. So ``drift`` records when it
ran, and the plan shows "Drift last ran: <date> (N days ago)" or "never" at no cost in requests.
The file is ``{"last_ran": "<UTC time>"}`` as sorted, two-space-indented JSON plus a newline, like
every file of ``state/``, so it diffs as one line in git.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

from engine.jsontext import indented_json
from engine.safefile import FileRefused, read_bounded, write_atomic
from engine.stamps import parse_utc_stamp, utc_stamp

__all__ = ["DRIFT_FILE", "last_drift_run", "record_drift_run"]

DRIFT_FILE = "drift.json"
_MAX_BYTES = 4096


def record_drift_run(state_dir: Path, when: datetime) -> None:
    """Record that ``drift`` ran at ``when`` (replacing the previous record atomically)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp(when)
    write_atomic(state_dir / DRIFT_FILE, indented_json({"last_ran": stamp}) + "\n")


def last_drift_run(state_dir: Path) -> date | None:
    """The UTC day ``drift`` last ran, or None when it never did. An unreadable record (edited by
    hand) counts as never: the plan then says drift never ran, which asks for a run."""
    path = state_dir / DRIFT_FILE
    if not path.is_file():
        return None
    try:
        document = json.loads(read_bounded(path, str(path), _MAX_BYTES))
        return parse_utc_stamp(str(document["last_ran"])).date()
    except (FileRefused, ValueError, KeyError, TypeError):
        return None
