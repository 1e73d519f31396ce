"""``drift`` records when it ran in ``state/drift.json`` (byte-stable), and every plan says how long ago
that was, or that it never ran, in its text and its JSON (a saved plan keeps it under its seal)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from engine.drift_runs import DRIFT_FILE, last_drift_run, record_drift_run
from engine.plan import DriftCheck, Plan, plan_from_json, plan_to_json
from engine.plan_view import render_plan_text
from providers.autotask.kinds import KINDS

NOTE = "; hand edits to past months' adjustments and charges are found only by billsync drift"


def test_drift_records_its_run_time_as_one_stable_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert last_drift_run(state) is None
    record_drift_run(state, datetime(2026, 11, 20, 23, 30, tzinfo=timezone(timedelta(hours=-5))))
    assert (state / DRIFT_FILE).read_bytes() == b'{\n  "last_ran": "2026-11-21T04:30:00Z"\n}\n'
    assert last_drift_run(state) == date(2026, 11, 21)
    record_drift_run(state, datetime(2026, 11, 21, 4, 30, tzinfo=UTC))
    assert (state / DRIFT_FILE).read_bytes() == b'{\n  "last_ran": "2026-11-21T04:30:00Z"\n}\n'


def test_an_unreadable_record_counts_as_never(tmp_path: Path) -> None:
    (tmp_path / DRIFT_FILE).write_text('{"last_ran": "yesterday"}', encoding="utf-8")
    assert last_drift_run(tmp_path) is None
    (tmp_path / DRIFT_FILE).write_bytes(b"\xff" * 10_000)  # over the size read, and not JSON
    assert last_drift_run(tmp_path) is None


def test_the_plan_text_says_when_drift_last_ran() -> None:
    def line(drift: DriftCheck) -> str:
        return render_plan_text(Plan(changes=(), as_of=date(2026, 11, 25), drift=drift)).splitlines()[1]

    assert line(DriftCheck(None)) == "Drift last ran: never" + NOTE
    assert line(DriftCheck("2026-11-18")) == "Drift last ran: 2026-11-18 (7 days ago)" + NOTE
    assert line(DriftCheck("2026-11-24")) == "Drift last ran: 2026-11-24 (1 day ago)" + NOTE
    assert line(DriftCheck("2026-11-27")) == "Drift last ran: 2026-11-27 (after this plan's date)" + NOTE
    assert "Drift" not in render_plan_text(Plan(changes=(), as_of=date(2026, 11, 25)))  # not known: not shown


def test_the_plan_json_says_when_drift_last_ran_and_keeps_it_sealed() -> None:
    for drift, shown in (
        (DriftCheck("2026-11-18"), {"date": "2026-11-18", "days_ago": 7}),
        (DriftCheck(None), {"date": None, "days_ago": None}),
    ):
        plan = Plan(changes=(), as_of=date(2026, 11, 25), drift=drift)
        text = plan_to_json(plan)
        assert json.loads(text)["drift_last_ran"] == shown
        assert plan_from_json(text, KINDS).drift == drift
    assert "drift_last_ran" not in json.loads(plan_to_json(Plan(changes=(), as_of=date(2026, 11, 25))))
