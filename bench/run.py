"""The benchmark command: ``python -m bench.run`` (``--help`` for options).

For each size it generates a synthetic Cloudmore bundle, runs billsync against the Autotask sandbox
served from its own process, prints a markdown table and writes ``bench/results/latest.json`` and
``bench/results/latest.md``. The default sizes are 1,000, 10,000 and 50,000 subscriptions; the
apply goes over HTTP up to 10,000 and is run in process above that (see :mod:`bench._scenario`).
``--profile latency`` serves the sandbox at Autotask's pace (1 s per read, 0.3 s per write), applies
over HTTP only up to 1,000 and writes ``latency.json``/``latency.md`` instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from providers.autotask.sandbox import Pace

from ._report import render_markdown
from ._scenario import PROFILES, run_size

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    memory_gb = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


LATENCY_APPLY_MAX = 1_000
"""An apply at Autotask's pace is 0.3 s a write: only the smallest size is applied over HTTP."""


def _describe(pace: Pace) -> str:
    if pace.instant:
        return "the sandbox answers at once"
    return f"{pace.latency:g} s per read request, {pace.write_latency:g} s per write"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000,10000,50000",
        help="Comma-separated subscription counts (default: %(default)s).",
    )
    parser.add_argument(
        "--apply-max",
        type=int,
        default=10_000,
        help="Largest size whose apply goes over HTTP and is measured (default: %(default)s).",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="instant",
        help="The sandbox's pace: instant, or latency (1 s per read page, 0.3 s per write, as Autotask); "
        "the latency profile applies only up to N = 1,000 and writes latency.json/latency.md "
        "(default: %(default)s).",
    )
    parser.add_argument("--seed", type=int, default=1, help="Synthetic data seed (default: %(default)s).")
    parser.add_argument("--workdir", type=Path, help="Where workspaces go (default: a new temporary folder).")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Results folder (default: bench/results).")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="billsync-bench-"))
    started = time.perf_counter()
    pace = PROFILES[args.profile]
    apply_max = args.apply_max if args.profile == "instant" else min(args.apply_max, LATENCY_APPLY_MAX)
    results = []
    for size in sizes:
        print(f"# {size:,} subscriptions ({workdir / f'n{size}'})", file=sys.stderr, flush=True)
        results.append(run_size(size, workdir / f"n{size}", apply_max=apply_max, seed=args.seed, pace=pace))
    document = {
        "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "seed": args.seed,
        "profile": args.profile,
        "pace": _describe(pace),
        "duration_s": round(time.perf_counter() - started, 1),
        "sizes": results,
    }
    table = render_markdown(document)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "latest" if args.profile == "instant" else args.profile
    (args.out / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{name}.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
