"""The no-terminal progress line: what it says, computed from a clock the test controls."""

from __future__ import annotations

import io
import re
import time

from engine.progress import ProgressLine


def test_the_line_says_done_total_rate_eta_and_budget_left() -> None:
    now = [100.0]
    out = io.StringIO()
    line = ProgressLine(1000, out, budget_left=9000, interval=3600, clock=lambda: now[0])
    line.start()
    line.advance(250)
    now[0] = 150.0  # 250 changes in 50 s
    text = line.line()
    line.stop()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", text[:21])
    assert text[21:] == "Applying: 250/1000 (25%), 5.0 changes/s, ETA 2m30s, elapsed 50s, budget left 8750"
    assert out.getvalue().endswith(
        "Applying: 250/1000 (25%), 5.0 changes/s, ETA 2m30s, elapsed 50s, budget left 8750\n"
    )


def test_a_timer_writes_lines_while_nothing_advances() -> None:
    out = io.StringIO()
    line = ProgressLine(10, out, interval=0.01)
    line.start()
    while out.getvalue().count("\n") < 3:  # a stalled apply still shows it is alive
        time.sleep(0.005)
    line.stop()
    assert all(
        "Applying: 0/10 (0%), 0.0 changes/s, ETA unknown" in row for row in out.getvalue().splitlines()
    )
