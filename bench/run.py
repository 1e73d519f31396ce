"""The benchmark command: ``python -m bench.run`` (``--help`` for options).

For each size it generates a synthetic Cloudmore bundle, runs billsync against the Autotask sandbox
served from its own process in each profile, prints markdown tables and writes
``bench/results/latest.json`` and ``bench/results/latest.md``. The default sizes are 1,000, 10,000,
50,000 and 100,000 subscriptions and the default profiles both: ``instant`` (the sandbox answers at
once; the apply goes over HTTP up to 10,000 and is run in process above that) and ``latency``
(Autotask's pace, 1 s per read and 0.3 s per write; the apply goes over HTTP only at 1,000), see
:mod:`bench._scenario`. ``--sizes 1000 --profiles instant`` runs a quick part; ``--baseline REF``
runs each plan with the billsync of commit REF too (:mod:`bench.baseline`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from providers.autotask.sandbox import Pace

from ._report import render_markdown
from ._scenario import PROFILES, Profile, run_size
from .baseline import export_commit

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
        "load": " ".join(f"{load:.1f}" for load in os.getloadavg()),
    }


LATENCY_APPLY_MAX = 1_000
"""An apply at Autotask's pace is 0.3 s a write: only the smallest size is applied over HTTP."""


def _describe(pace: Pace) -> str:
    if pace.instant:
        return "the sandbox answers at once"
    return f"{pace.latency:g} s per read request, {pace.write_latency:g} s per write"


def _numbers(text: str) -> list[int]:
    return [int(s.strip().replace("_", "").replace(",", "")) for s in text.split("+") if s.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="1000+10000+50000+100000",
        help="Subscription counts, joined by + (default: %(default)s).",
    )
    parser.add_argument(
        "--profiles",
        default="instant+latency",
        help="The sandbox's paces, joined by +: instant, and latency (1 s per read page, 0.3 s per write, "
        "as Autotask) (default: %(default)s).",
    )
    parser.add_argument(
        "--apply-max",
        type=int,
        default=10_000,
        help="Largest size whose apply goes over HTTP in the instant profile (default: %(default)s).",
    )
    parser.add_argument(
        "--latency-apply-max",
        type=int,
        default=LATENCY_APPLY_MAX,
        help="Largest size whose apply goes over HTTP in the latency profile (default: %(default)s).",
    )
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="Also run each plan after apply with the billsync of git commit REF, on the same data and "
        "sandbox, and show both with the ratio.",
    )
    parser.add_argument(
        "--baseline-profiles",
        metavar="NAMES",
        help="The profiles (joined by +) whose plans after apply the baseline runs too (default: all).",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="Sizes measured side by side (each measure is of its own billsync process; default: %(default)s).",
    )
    parser.add_argument("--seed", type=int, default=1, help="Synthetic data seed (default: %(default)s).")
    parser.add_argument("--workdir", type=Path, help="Where workspaces go (default: a new temporary folder).")
    parser.add_argument("--out", type=Path, default=RESULTS, help="Results folder (default: bench/results).")
    args = parser.parse_args(argv)
    sizes = _numbers(args.sizes.replace(",", "+"))
    names = [name.strip() for name in args.profiles.replace(",", "+").split("+") if name.strip()]
    unknown = sorted(set(names) - set(PROFILES))
    if unknown or not names:
        parser.error(f"unknown profile {', '.join(unknown)}: choose among {', '.join(sorted(PROFILES))}")
    apply_max = {"instant": args.apply_max, "latency": args.latency_apply_max}
    profiles = {name: Profile(PROFILES[name], apply_max[name]) for name in names}
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="billsync-bench-"))).resolve()
    started = time.perf_counter()
    baseline = None
    if args.baseline:
        tree, commit = export_commit(args.baseline, workdir / "baseline-src")
        baseline = {"ref": args.baseline, "commit": commit}
    machine_info = machine()  # the load when the run starts
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    done: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    table = ""

    def measure(size: int) -> None:
        nonlocal table
        print(f"# {size:,} subscriptions ({workdir / f'n{size}'})", file=sys.stderr, flush=True)
        found = run_size(
            size,
            workdir / f"n{size}",
            seed=args.seed,
            profiles=profiles,
            baseline=tree if baseline else None,
            baseline_profiles=set(args.baseline_profiles.split("+")) if args.baseline_profiles else None,
        )
        with lock:  # written after every size, so a run stopped early keeps the sizes it finished
            done[size] = found
            document = {
                "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
                "command": command,
                "machine": machine_info,
                "seed": args.seed,
                "jobs": args.jobs,
                "profiles": {
                    name: {"pace": _describe(profile.pace), "apply_max": profile.apply_max}
                    for name, profile in profiles.items()
                },
                "baseline": baseline,
                "duration_s": round(time.perf_counter() - started, 1),
                "sizes": [done[n] for n in sizes if n in done],
            }
            table = render_markdown(document)
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "latest.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            (args.out / "latest.md").write_text(table, encoding="utf-8")

    # the largest size first: with --jobs 2 it runs beside all the smaller ones
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for future in [pool.submit(measure, size) for size in sorted(sizes, reverse=args.jobs > 1)]:
            future.result()
    print(table)


if __name__ == "__main__":
    main()
