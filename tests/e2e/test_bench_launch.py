"""The benchmark's launcher: a measured command's peak memory is its own, however large the benchmark.

Linux counts the peak resident set of the process a program was started from into the program's
own (``ru_maxrss``), so a child started straight from a process holding 160 MB reports at least
160 MB. Started through ``bench/_launch.py`` it reports what it used itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[2] / "bench" / "_launch.py"
HELD = 160 * 2**20


def _hold() -> bytearray:
    held = bytearray(HELD)
    for offset in range(0, HELD, 4096):
        held[offset] = 1  # touched, so resident
    return held


def test_a_child_started_directly_reports_its_parents_peak_memory() -> None:
    held = _hold()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    _pid, _status, usage = os.wait4(child.pid, 0)
    child.returncode = 0
    assert usage.ru_maxrss * 1024 >= HELD  # the reason for the launcher
    del held


def test_the_launcher_reports_the_commands_own_exit_cpu_and_peak_memory(tmp_path: Path) -> None:
    held = _hold()
    report = tmp_path / "usage.json"
    command = [sys.executable, "-c", "import sys; x = bytearray(40 * 2**20); sys.exit(3)"]
    subprocess.run([sys.executable, str(LAUNCHER), str(report), *command], check=True)
    usage = json.loads(report.read_text(encoding="utf-8"))
    assert usage["exit_code"] == 3
    assert usage["cpu_seconds"] > 0
    assert 40 * 1024 <= usage["peak_rss_kb"] < HELD // 1024  # its own 40 MB and Python, not ours
    del held
