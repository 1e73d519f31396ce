"""One benchmark size, end to end, per profile (the sandbox's pace): plan, apply (or seed), plan
again, and what each cost.

1. ``billsync plan --out PROFILE-plan-1.json`` on the empty tenant (the first plan of a new
   workspace), once per profile;
2. ``billsync apply`` of that plan over HTTP to the sandbox process, for the profiles whose
   ``apply_max`` reaches the size (each on its own copy of the empty tenant); for the others the
   same apply run in process without HTTP (:mod:`bench._seed`), not measured, or another profile's;
3. ``billsync plan --period LAST --out PROFILE-plan-2.json``: the month just applied, planned
   again. It reads every object of that month and must plan no write;
4. the objects that plan read, and what a per-object read strategy (one GET per object, as a
   Terraform refresh does) would have cost for the same plan.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.plan import WRITES
from providers.autotask.sandbox import Pace

from ._measure import CliRun, run_billsync
from ._seed import seed_applied
from ._server import SandboxProcess
from ._workspace import BenchWorkspace, copy_workspace, make_workspace

PAGE = 500
"""Records per Autotask page (and ids per ``in`` list)."""
HOURLY_BUDGET = 10_000
"""Autotask's requests per rolling hour per tenant."""


@dataclass(frozen=True)
class Profile:
    """How the sandbox answers, and up to which size an apply goes over HTTP at that pace."""

    pace: Pace
    apply_max: int


PROFILES = {"instant": Pace(), "latency": Pace(latency=1.0, write_latency=0.3)}
"""The sandbox's pace per benchmark profile: instant, or Autotask's (about 1 s a page, 0.3 s a write)."""


def run_size(
    subscriptions: int,
    workdir: Path,
    *,
    apply_max: int = 0,
    seed: int = 1,
    pace: Pace | None = None,
    profiles: Mapping[str, Profile] | None = None,
    baseline: Path | None = None,
    baseline_profiles: set[str] | None = None,
) -> dict[str, Any]:
    """Benchmark one size in ``workdir`` (created, left behind for inspection), once per profile
    (default: one profile at ``pace`` applying up to ``apply_max``), on the same data.

    Every profile plans the same empty tenant, then one apply (or seeding) serves every profile that
    does not apply over HTTP itself; a profile that does applies to its own copy of the workspace, so
    each plan after apply reads exactly one applied tenant. With ``baseline`` (a source tree,
    :mod:`bench.baseline`), the billsync of that tree makes each plan after apply too (of the
    ``baseline_profiles`` only, when given), right after this one, on the same tenant and sandbox."""
    workdir = workdir.resolve()
    chosen = dict(profiles or {"instant": Profile(pace or Pace(), apply_max)})
    workspace = make_workspace(workdir, subscriptions, seed)
    result: dict[str, Any] = {
        "subscriptions": subscriptions,
        "billing_lines": workspace.bundle.billing_lines,
        "organizations": len(workspace.bundle.companies),
        "periods": list(workspace.bundle.periods),
        "as_of": workspace.as_of.isoformat(),
        "profiles": {name: {} for name in chosen},
    }
    plan_args = ["plan", "--as-of", workspace.as_of.isoformat()]
    for name, profile in chosen.items():
        step = result["profiles"][name]
        with SandboxProcess(workspace.db, profile.pace) as sandbox:
            step["plan"] = _measured_plan(workspace, sandbox, plan_args, workdir / f"{name}-plan-1", None)
    plan_file = workdir / f"{next(iter(chosen))}-plan-1.json"
    appliers = [name for name, profile in chosen.items() if subscriptions <= profile.apply_max]
    tenants = {name: workspace for name in chosen}
    for name in appliers[1:]:  # a tenant of its own, copied while still empty
        tenants[name] = copy_workspace(workspace, workdir / f"{name}-tenant")
    for name in appliers:
        step, tenant = result["profiles"][name], tenants[name]
        with SandboxProcess(tenant.db, chosen[name].pace) as sandbox:
            tenant.connect(sandbox.base_url)
            sandbox.reset()
            applied = run_billsync(tenant.root, ["apply", str(plan_file)], workdir / f"{name}-apply.txt")
            step["apply"] = _apply_result(applied, sandbox.stats(), step["plan"])
    if len(appliers) < len(chosen):
        seeded = {"mode": "in process, no HTTP (not measured)", "writes": 0}
        if not appliers:
            seeded["writes"] = seed_applied(workspace.root, workspace.db, plan_file)
        else:
            seeded = {"mode": f"the {appliers[0]} profile's apply", "writes": 0, "shared": appliers[0]}
        for name in chosen:
            result["profiles"][name].setdefault("apply", dict(seeded))
    replan_args = ["plan", "--period", workspace.last_period, "--detailed-exitcode"]
    for name, profile in chosen.items():
        step, tenant = result["profiles"][name], tenants[name]
        with SandboxProcess(tenant.db, profile.pace) as sandbox:
            step["replan"] = _measured_plan(
                tenant,
                sandbox,
                replan_args,
                workdir / f"{name}-plan-2",
                baseline if baseline_profiles is None or name in baseline_profiles else None,
                replan=True,
            )
    for step in result["profiles"].values():
        shared = step["apply"].get("shared")
        writes = result["profiles"][shared]["apply"]["writes"] if shared else step["apply"]["writes"]
        step["apply"]["writes"] = writes
        step["projected_apply_hours"] = round(writes / HOURLY_BUDGET, 2)
        # before a month that changes nothing was recorded without a write, each one was a write
        before = step["plan"]["writes_planned"] + step["plan"]["carried_months"]
        step["projected_apply_hours_before"] = {"writes": before, "hours": round(before / HOURLY_BUDGET, 2)}
    for tenant in {id(t): t for t in tenants.values()}.values():
        tenant.connect(None)  # left on the embedded sandbox, to be planned again by hand
    if profiles is None:  # one profile: its steps at the top level, as before
        result.update(result.pop("profiles")[next(iter(chosen))])
    return result


def _measured_plan(
    workspace: BenchWorkspace,
    sandbox: SandboxProcess,
    args: list[str],
    stem: Path,
    baseline: Path | None,
    replan: bool = False,
) -> dict[str, Any]:
    """One plan of this billsync (and of the ``baseline`` tree's, after it) with its counters."""
    workspace.connect(sandbox.base_url)
    measured: dict[str, Any] = {}
    for label, tree in [("", None), ("baseline", baseline)]:
        if label and tree is None:
            continue
        out = stem.with_name(stem.name + (f"-{label}" if label else ""))
        sandbox.reset()
        run = run_billsync(
            workspace.root,
            [*args, "--out", str(out.with_suffix(".json"))],
            out.with_suffix(".txt"),
            allowed=(0, 2) if replan else (0,),
            tree=tree,
        )
        stats = sandbox.stats()
        found = (_replan_result if replan else _plan_result)(run, stats, out.with_suffix(".json"))
        if not label:
            measured = found
        else:
            measured["baseline"] = {k: found[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "requests_total")}
    return measured


def _plan_result(run: CliRun, stats: dict[str, Any], plan_file: Path) -> dict[str, Any]:
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    actions = Counter(change["action"] for change in plan["changes"])
    by_kind = Counter(change["kind"] for change in plan["changes"] if change["action"] in WRITES)
    return {
        **_run(run),
        "requests": _requests(stats),
        "requests_total": sum(_requests(stats).values()),
        "longest_chain": _chains(stats),
        "objects_read": stats["objects_read"],
        "metadata_requests": sum(e["requests"].get("info", 0) for e in stats["endpoints"].values()),
        "write_requests": _write_requests(stats),
        "changes": dict(sorted(actions.items())),
        "writes_planned": sum(actions[a] for a in WRITES),
        "writes_planned_by_kind": dict(sorted(by_kind.items())),
        "carried_months": sum(1 for change in plan["changes"] if change.get("carried_by")),
        "writes_per_subscription": writes_per_subscription(
            plan["changes"], max(plan_periods(plan), default="")
        ),
    }


def plan_periods(plan: dict[str, Any]) -> list[str]:
    return [p["period"] for p in plan.get("periods", [])]


def writes_per_subscription(changes: list[dict[str, Any]], last: str) -> dict[str, dict[str, float]]:
    """Per record type (the rule file), write requests per subscription: for the whole plan (on an
    empty tenant: the first apply) and for its last month alone (a steady month: the month's
    adjustments and charges once contracts exist). A subscription is a contract of that type."""
    subscriptions: Counter[str] = Counter()
    first: Counter[str] = Counter()
    steady: Counter[str] = Counter()
    for change in changes:
        kind = record_type(change.get("rule", ""))
        if change["kind"] == "contract" and change["action"] in ("create", "adopt"):
            subscriptions[kind] += 1
        if change["action"] in WRITES or change.get("stamp_marker"):
            first[kind] += 1
            steady[kind] += change.get("period") == last
    out = {}
    for kind, count in sorted(subscriptions.items()):
        out[kind] = {
            "subscriptions": count,
            "first_apply": round(first[kind] / count, 3),
            "steady_month": round(steady[kind] / count, 3),
        }
    total = sum(subscriptions.values())
    if total:
        out["all"] = {
            "subscriptions": total,
            "first_apply": round(sum(first.values()) / total, 3),
            "steady_month": round(sum(steady.values()) / total, 3),
        }
    return out


def record_type(rule: str) -> str:
    """``rules/csp365.yaml:51`` → ``csp365``."""
    return Path(rule.split(":", 1)[0]).stem or "other"


def _apply_result(run: CliRun, stats: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    by_verb = {
        name: dict(sorted(e["requests"].items())) for name, e in stats["endpoints"].items() if e["requests"]
    }
    products = by_verb.get("Products", {})
    lease_writes = (
        products.get("create", 0)
        + products.get("update", 0)
        - plan["writes_planned_by_kind"].get("product", 0)
    )
    writes = _write_requests(stats) - lease_writes
    return {
        "mode": "billsync apply over HTTP",
        **_run(run),
        "requests": by_verb,
        "requests_total": sum(sum(kinds.values()) for kinds in by_verb.values()),
        "writes": writes,
        "lease_writes": lease_writes,  # the writer lease (D26, an inactive Product): created, ended
        "writes_per_change": round(writes / plan["writes_planned"], 4) if plan["writes_planned"] else None,
        "peak_in_flight": {
            name: e["peak_in_flight"] for name, e in stats["endpoints"].items() if e["requests"]
        },
        "throttled": {name: e["throttled"] for name, e in stats["endpoints"].items() if e["throttled"]},
    }


def _replan_result(run: CliRun, stats: dict[str, Any], plan_file: Path) -> dict[str, Any]:
    base = _plan_result(run, stats, plan_file)
    objects: dict[str, int] = stats["objects_read"]
    pages = {name: math.ceil(count / PAGE) for name, count in objects.items()}
    per_object = sum(objects.values())
    base.update(
        objects_read_total=per_object,
        bulk_minimum=sum(pages.values()),
        per_object_requests=per_object,
        per_object_ratio=round(per_object / base["requests_total"], 1) if base["requests_total"] else None,
    )
    return base


def _run(run: CliRun) -> dict[str, Any]:
    return {
        "command": "billsync " + " ".join(run.args),
        "exit_code": run.exit_code,
        "wall_s": round(run.wall_seconds, 2),
        "cpu_s": round(run.cpu_seconds, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
    }


def _requests(stats: dict[str, Any]) -> dict[str, int]:
    return {
        name: sum(e["requests"].values()) for name, e in sorted(stats["endpoints"].items()) if e["requests"]
    }


def _chains(stats: dict[str, Any]) -> dict[str, int]:
    """The longest chain of pages linked by ``nextPageUrl`` per endpoint: what latency adds up along."""
    return {
        name: e["longest_chain"] for name, e in sorted(stats["endpoints"].items()) if e.get("longest_chain")
    }


def _write_requests(stats: dict[str, Any]) -> int:
    return sum(e["requests"].get(k, 0) for e in stats["endpoints"].values() for k in ("create", "update"))


__all__ = ["PROFILES", "BenchWorkspace", "Profile", "run_size"]
