"""Without a terminal, a long apply writes a progress line at a steady pace: done/total, rate, ETA and
the request budget left, every few seconds, so a watcher (or cron mail) always sees a recent one."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # the benchmark helpers live beside the packages

from bench._workspace import make_workspace  # noqa: E402

from ._report_support import expected_rows, read_csv  # noqa: E402

LINE = re.compile(
    r"^(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) Applying: (?P<done>\d+)/(?P<total>\d+) \((?P<pct>\d+)%\), "
    r"(?P<rate>\d+\.\d) changes/s, ETA (?P<eta>\S+), elapsed (?P<elapsed>\S+), budget left (?P<budget>-?\d+)$"
)


@pytest.mark.slow
def test_an_apply_of_1000_subscriptions_without_a_terminal_prints_a_line_at_least_every_10_s(
    tmp_path: Path,
) -> None:
    workspace = make_workspace(tmp_path / "ws", 1000)
    script = Path(sys.executable).with_name("billsync")
    completed = subprocess.run(
        [
            str(script),
            "-w",
            str(workspace.root),
            "apply",
            "--auto-approve",
            "--as-of",
            workspace.as_of.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        stdin=subprocess.DEVNULL,
    )
    ended = datetime.now().astimezone()
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Apply complete: 3208 written, 587 adopted, 0 failed, 0 skipped." in completed.stdout
    lines = [LINE.match(line) for line in completed.stderr.splitlines() if "Applying:" in line]
    assert lines and all(lines), completed.stderr[-3000:]
    matches = [m for m in lines if m is not None]
    stamps = [datetime.fromisoformat(m["stamp"].replace("Z", "+00:00")) for m in matches]
    # steady: between lines, and from the last line to the end, never more than 10 s (the stamps have
    # whole seconds: one more is allowed); before the first line the command plans, which is not the apply
    edges = [*stamps, ended]
    gaps = [(b - a).total_seconds() for a, b in zip(edges, edges[1:], strict=False)]
    assert max(gaps) <= 11, gaps
    done = [int(m["done"]) for m in matches]
    assert done == sorted(done) and done[-1] == 3795
    assert {int(m["total"]) for m in matches} == {3795}
    assert matches[-1]["pct"] == "100" and matches[-1]["eta"] == "0s"
    budgets = [int(m["budget"]) for m in matches]
    assert budgets == sorted(budgets, reverse=True) and budgets[0] - budgets[-1] == done[-1] - done[0]

    # what was applied bills, per customer and month, each synthetic report's total to the cent
    report = subprocess.run(
        [str(script), "-w", str(workspace.root), "report", "--actual", "--format", "csv"]
        + ["--as-of", workspace.as_of.isoformat(), "--detailed-exitcode"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    rows, total, _records = read_csv(report.stdout)
    expected = expected_rows(workspace.bundle.path, workspace.as_of.isoformat())
    assert {k: (r["sales"], r["cost"]) for k, r in rows.items()} == {
        k: (r["sales"], r["cost"]) for k, r in expected.items()
    }
    assert all(r["difference"] == 0 for r in rows.values())
    assert total["billed"] == sum(r["sales"] - r["unbilled"] for r in expected.values())
