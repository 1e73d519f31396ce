"""Running the ``billsync`` command line as a child process and measuring only that process.

Wall time comes from the clock around the child; CPU time (user + system) and peak memory (the
largest resident set size) come from ``os.wait4``, which reports the resources of that one child,
the same figures ``/usr/bin/time -v`` prints. The child is started by a small launcher
(:mod:`bench._launch`), never by the benchmark itself: Linux would count the benchmark's own peak
memory as the child's. The Autotask sandbox runs in another process, so none of its work is counted
here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from providers.autotask.config import ENV_INTEGRATION_CODE, ENV_SECRET, ENV_USERNAME, SANDBOX_CREDENTIALS


@dataclass(frozen=True)
class CliRun:
    """One finished ``billsync`` process."""

    args: tuple[str, ...]
    exit_code: int
    wall_seconds: float
    cpu_seconds: float
    """User plus system CPU time of the billsync process (all its threads)."""
    peak_rss_mb: float
    output: Path
    """Where its standard output went (the plan text, or the apply summary)."""


def billsync_command() -> list[str]:
    """The ``billsync`` console script of this Python environment."""
    beside = Path(sys.executable).with_name("billsync")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("billsync")
    if found is None:
        raise RuntimeError("the billsync command is not installed (pip install -e .)")
    return [found]


def source_command(tree: Path) -> tuple[list[str], dict[str, str]]:
    """The ``billsync`` of another source tree (a previous commit, :mod:`bench.baseline`), run by this
    Python with that tree first on the import path: the same dependencies, that commit's code."""
    command = [
        sys.executable,
        "-P",
        "-c",
        "import sys; from engine.cli import main; sys.argv[0] = 'billsync'; main()",
    ]
    return command, {"PYTHONPATH": str(tree)}


def run_billsync(
    workspace: Path,
    args: list[str],
    output: Path,
    *,
    allowed: tuple[int, ...] = (0,),
    tree: Path | None = None,
) -> CliRun:
    """Run ``billsync -w WORKSPACE ARGS…`` with the sandbox credentials; stdout to ``output``. With
    ``tree``, the billsync of that source tree (:func:`source_command`) instead of this one."""
    env = {
        **os.environ,
        ENV_USERNAME: SANDBOX_CREDENTIALS.username,
        ENV_SECRET: SANDBOX_CREDENTIALS.secret.get_secret_value(),
        ENV_INTEGRATION_CODE: SANDBOX_CREDENTIALS.integration_code,
    }
    program = billsync_command()
    if tree is not None:
        program, extra = source_command(tree)
        env.update(extra)
    command = [*program, "-w", str(workspace), *args]
    errors = output.with_suffix(".err")
    report = output.with_suffix(".usage.json")
    launcher = [sys.executable, str(Path(__file__).with_name("_launch.py")), str(report)]  # stdlib only
    with output.open("wb") as out, errors.open("wb") as err:
        started = time.perf_counter()
        subprocess.run(
            [*launcher, *command], stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL, check=False
        )
        wall = time.perf_counter() - started
    usage = json.loads(report.read_text(encoding="utf-8"))
    code = int(usage["exit_code"])
    if code not in allowed:
        raise RuntimeError(
            f"billsync {' '.join(args)} exited with {code}:\n{errors.read_text(encoding='utf-8')[-3000:]}"
        )
    return CliRun(
        args=tuple(args),
        exit_code=code,
        wall_seconds=wall,
        cpu_seconds=float(usage["cpu_seconds"]),
        peak_rss_mb=float(usage["peak_rss_kb"]) / 1024,
        output=output,
    )
