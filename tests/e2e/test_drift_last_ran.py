"""``billsync drift`` records when it ran, and ``plan`` (text and ``--json``) says when that was, or
"never", at no cost in requests: objects of past months are checked only by drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ._support import AS_OF, SetupFactory

NOTE = "; hand edits to past months' adjustments and charges are found only by billsync drift"


def test_plan_says_when_drift_last_ran_without_reading_more(make_setup: SetupFactory) -> None:
    setup = make_setup("served")
    workspace = setup.workspace
    workspace.run("apply", "--auto-approve", "--as-of", AS_OF)

    setup.api.reset_stats()
    before = workspace.plan_json()
    never_reads = setup.api.stats()
    assert before["drift_last_ran"] == {"date": None, "days_ago": None}
    text = workspace.run("plan", "--as-of", AS_OF).stdout
    assert text.splitlines()[2] == "Drift last ran: never" + NOTE

    workspace.run("drift", "--as-of", AS_OF)
    recorded = json.loads((workspace.root / "state" / "drift.json").read_text(encoding="utf-8"))
    ran = datetime.strptime(recorded["last_ran"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - ran).total_seconds()) < 600

    (workspace.root / "state" / "drift.json").write_text(
        '{\n  "last_ran": "2026-11-18T08:00:00Z"\n}\n', encoding="utf-8"
    )
    setup.api.reset_stats()
    after = workspace.plan_json()
    assert setup.api.stats() == never_reads  # a local file: not one request more
    assert after["drift_last_ran"] == {"date": "2026-11-18", "days_ago": 7}
    text = workspace.run("plan", "--as-of", AS_OF).stdout
    assert text.splitlines()[2] == "Drift last ran: 2026-11-18 (7 days ago)" + NOTE
    assert {k: v for k, v in after.items() if k not in ("drift_last_ran", "seal")} == {
        k: v for k, v in before.items() if k not in ("drift_last_ran", "seal")
    }
