"""The benchmark's one run: several profiles on the same data, and a previous commit beside this one.

At 120 subscriptions: two profiles (the instant one and a paced one, 10 ms a request) plan the same
empty tenant, each applies over HTTP to a tenant of its own, and each plan after apply is run again
by the billsync of another source tree (``--baseline``: here this very commit, exported with
``git archive``), which must send the same requests. The report shows one table per profile with
the baseline's row and the ratio. No duration is asserted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))  # the benchmark lives beside the packages, not inside them

from bench._report import render_markdown  # noqa: E402
from bench._scenario import Profile, run_size  # noqa: E402
from bench.baseline import export_commit  # noqa: E402
from providers.autotask.sandbox import Pace  # noqa: E402

pytestmark = pytest.mark.slow  # a dozen billsync processes

N = 120


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("profiles")
    head = _git("rev-parse", "HEAD").decode().strip()
    tree, commit = export_commit(head, work / "baseline-src")
    profiles = {"instant": Profile(Pace(), N), "paced": Profile(Pace(latency=0.01, write_latency=0.01), N)}
    result = run_size(N, work / f"n{N}", seed=3, profiles=profiles, baseline=tree)
    return {"result": result, "work": work, "tree": tree, "commit": commit, "head": head}


def _git(*args: str) -> bytes:
    return subprocess.run(["git", "-C", str(_ROOT), *args], check=True, capture_output=True).stdout


def test_the_baseline_is_the_tree_of_the_commit_named(run: dict[str, Any]) -> None:
    assert run["commit"] == run["head"]
    shown = _git("show", f"{run['head']}:engine/planner.py")
    assert (run["tree"] / "engine" / "planner.py").read_bytes() == shown
    assert not (run["tree"] / ".git").exists()  # exported, not a worktree of the repository


def test_every_profile_plans_applies_and_plans_again_on_a_tenant_of_its_own(run: dict[str, Any]) -> None:
    result = run["result"]
    assert set(result["profiles"]) == {"instant", "paced"}
    instant, paced = result["profiles"]["instant"], result["profiles"]["paced"]
    assert instant["plan"]["writes_planned"] == paced["plan"]["writes_planned"] > 3 * N
    assert instant["plan"]["requests"] == paced["plan"]["requests"]
    for step in (instant, paced):
        assert step["apply"]["mode"] == "billsync apply over HTTP"
        lease = step["apply"]["requests"]["Products"]["update"]  # the writer lease: created, then ended
        assert step["apply"]["writes"] == step["plan"]["writes_planned"]
        assert step["apply"]["lease_writes"] == 1 + lease
        assert step["replan"]["changes"] == {}  # each tenant applied exactly once
        assert step["replan"]["write_requests"] == 0
        assert step["projected_apply_hours"] == round(step["apply"]["writes"] / 10_000, 2)
    assert (run["work"] / f"n{N}" / "paced-tenant" / ".billsync" / "sandbox.db").is_file()


def test_the_baseline_plans_the_same_tenant_with_the_same_requests(run: dict[str, Any]) -> None:
    for step in run["result"]["profiles"].values():
        replan = step["replan"]
        assert set(replan["baseline"]) == {"wall_s", "cpu_s", "peak_rss_mb", "requests_total"}
        assert replan["baseline"]["requests_total"] == replan["requests_total"]
        assert replan["baseline"]["peak_rss_mb"] > 0


def test_a_size_too_large_to_apply_shares_one_seeded_tenant(tmp_path: Path) -> None:
    profiles = {"instant": Profile(Pace(), 0), "paced": Profile(Pace(latency=0.01), 0)}
    result = run_size(40, tmp_path / "n40", seed=5, profiles=profiles)
    instant, paced = result["profiles"]["instant"], result["profiles"]["paced"]
    assert instant["apply"]["mode"] == paced["apply"]["mode"] == "in process, no HTTP (not measured)"
    assert instant["apply"]["writes"] == paced["apply"]["writes"] == instant["plan"]["writes_planned"]
    assert instant["replan"]["changes"] == paced["replan"]["changes"] == {}
    assert not (tmp_path / "n40" / "paced-tenant").exists()


def test_the_report_has_a_table_per_profile_with_the_baseline_and_its_ratio(run: dict[str, Any]) -> None:
    document = {
        "generated": "2026-11-27T14:00:00+00:00",
        "command": "python -m bench.run --sizes 120 --baseline HEAD",
        "machine": {"nproc": 2, "cpu": "test", "memory_gb": 1, "python": "3", "platform": "p", "load": "4.0"},
        "profiles": {"instant": {"pace": "the sandbox answers at once"}, "paced": {"pace": "10 ms"}},
        "baseline": {"ref": "HEAD", "commit": run["commit"]},
        "duration_s": 1.0,
        "sizes": [run["result"]],
    }
    text = render_markdown(document)
    assert text.count("| N = 120 |") == 2
    assert "### Profile instant: the sandbox answers at once" in text
    assert "### Profile paced: 10 ms" in text
    assert text.count("| plan after apply with `HEAD`: wall · CPU · peak RSS |") == 2
    assert text.count("| plan after apply: ratio to the baseline (wall · CPU · peak RSS) |") == 2
    assert f"commit {run['commit'][:12]}" in text
    assert "load average 4.0" in text
    per = run["result"]["profiles"]["instant"]["plan"]["writes_per_subscription"]["all"]
    row = f"| writes per subscription: first apply · steady month | **{per['first_apply']:.2f} · "
    assert text.count(row) == 2
