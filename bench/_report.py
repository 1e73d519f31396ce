"""The benchmark's markdown tables: one per profile, one column per size, one row per measure."""

from __future__ import annotations

from typing import Any


def render_markdown(document: dict[str, Any]) -> str:
    """One table per profile (a column per size), then what and where it was measured."""
    m = document["machine"]
    lines: list[str] = []
    profiles: dict[str, dict[str, Any]] = document.get("profiles") or {}
    for name, profile in profiles.items():
        sizes = [{**s, **s["profiles"][name]} for s in document["sizes"] if name in s.get("profiles", {})]
        lines += [f"### Profile {name}: {profile['pace']}", ""]
        lines += _table(sizes, document.get("baseline"))
        lines.append("")
    if not profiles:  # one profile, steps at the top level
        lines += [*_table(document["sizes"], document.get("baseline")), ""]
    if document.get("baseline"):
        base = document["baseline"]
        lines.append(
            f"Baseline: `{base['ref']}` (commit {base['commit'][:12]}), run by the same Python on the same "
            "data and sandbox right after each plan after apply; a ratio below 1 means this commit needs less."
        )
        lines.append("")
    lines.append(
        f"Measured {document['generated']} on {m['nproc']} × {m['cpu']}, {m.get('memory_gb')} GB, "
        f"Python {m['python']} ({m['platform']}); `{document['command'].strip()}` took "
        f"{document['duration_s']:,} s."
    )
    if m.get("load"):
        lines.append("")
        lines.append(
            f"The machine is shared: load average {m['load']} at the start. Absolute times vary with it; "
            "request counts, page chains and writes do not, and the baseline ratios are measured side by side."
        )
    return "\n".join(lines) + "\n"


def _table(sizes: list[dict[str, Any]], baseline: dict[str, Any] | None) -> list[str]:
    header = "| | " + " | ".join(f"N = {s['subscriptions']:,}" for s in sizes) + " |"
    lines = [header, "|---|" + "---|" * len(sizes)]

    def row(label: str, render: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(_cell(render, s) for s in sizes) + " |")

    row("billing lines · organizations", lambda s: f"{s['billing_lines']:,} · {s['organizations']:,}")
    row("**plan** (empty tenant): wall · CPU · peak RSS", lambda s: _cost(s["plan"]))
    row("plan: changes planned (writes)", lambda s: f"{s['plan']['writes_planned']:,}")
    row("plan: Autotask requests", lambda s: _by_endpoint(s["plan"]["requests"]))
    row("plan: longest page chain", lambda s: _chain(s["plan"]))
    row("**apply**: wall · CPU · peak RSS", lambda s: _cost(s["apply"]) if "wall_s" in s["apply"] else "—")
    row("apply: requests by endpoint and verb", lambda s: _by_verb(s["apply"]))
    row("apply: write requests per planned change", lambda s: _per_change(s["apply"]))
    row("apply: peak requests in flight per endpoint", lambda s: _peak(s["apply"]))
    row("**plan after apply** (`--period` last month): wall · CPU · peak RSS", lambda s: _cost(s["replan"]))
    if baseline and any("baseline" in s.get("replan", {}) for s in sizes):
        row(
            f"plan after apply with `{baseline['ref']}`: wall · CPU · peak RSS",
            lambda s: _cost(s["replan"]["baseline"]),
        )
        row("plan after apply: ratio to the baseline (wall · CPU · peak RSS)", lambda s: _ratios(s["replan"]))
    row("plan after apply: Autotask requests", lambda s: _by_endpoint(s["replan"]["requests"]))
    row("plan after apply: longest page chain", lambda s: _chain(s["replan"]))
    row("plan after apply: writes planned · write requests", lambda s: _zero(s["replan"]))
    row("plan after apply: objects read · Σ⌈objects/500⌉", lambda s: _objects(s["replan"]))
    row("plan after apply: read requests ÷ Σ⌈objects/500⌉", lambda s: _read_ratio(s["replan"]))
    row("per-object reads (one GET per object) · ratio", lambda s: _ratio(s["replan"]))
    row("projected apply time at 10,000 requests/hour", lambda s: _hours(s))
    row("writes per subscription: first apply · steady month", lambda s: _per_subscription(s["plan"]))
    return lines


def _cell(render: Any, size: dict[str, Any]) -> str:
    try:
        return str(render(size))
    except (KeyError, TypeError, ZeroDivisionError):
        return "—"


def _ratios(step: dict[str, Any]) -> str:
    base = step["baseline"]
    return " · ".join(f"{step[k] / base[k]:.2f}" for k in ("wall_s", "cpu_s", "peak_rss_mb"))


def _read_ratio(step: dict[str, Any]) -> str:
    reads = step["requests_total"] - step.get("metadata_requests", 0)
    return f"{reads / step['bulk_minimum']:.2f} ({reads:,} ÷ {step['bulk_minimum']:,})"


def _cost(step: dict[str, Any]) -> str:
    return f"{step['wall_s']:.1f} s · {step['cpu_s']:.1f} s · {step['peak_rss_mb']:,.0f} MB"


def _by_endpoint(requests: dict[str, int]) -> str:
    total = sum(requests.values())
    parts = ", ".join(f"{name} {count:,}" for name, count in requests.items())
    return f"**{total:,}**: {parts}"


def _by_verb(apply: dict[str, Any]) -> str:
    if apply.get("shared"):
        return f"{apply['writes']:,} writes: the {apply['shared']} profile's apply"
    if "requests" not in apply:
        return f"{apply['writes']:,} writes seeded in process"
    parts = []
    for name, kinds in apply["requests"].items():
        parts.append(f"{name} " + "/".join(f"{kind} {count:,}" for kind, count in kinds.items()))
    return f"**{apply['requests_total']:,}**: " + ", ".join(parts)


def _per_change(apply: dict[str, Any]) -> str:
    if apply.get("writes_per_change") is None:
        return "—"
    return f"{apply['writes_per_change']:.3f} ({apply['writes']:,} writes)"


def _peak(apply: dict[str, Any]) -> str:
    peaks = apply["peak_in_flight"]
    return f"max {max(peaks.values())}: " + ", ".join(f"{n} {p}" for n, p in peaks.items())


def _chain(step: dict[str, Any]) -> str:
    chains: dict[str, int] = step["longest_chain"]
    worst = max(chains.values(), default=0)
    return f"**{worst}**: " + ", ".join(f"{name} {pages}" for name, pages in chains.items())


def _zero(step: dict[str, Any]) -> str:
    return f"{step['writes_planned']} · {step['write_requests']}"


def _objects(step: dict[str, Any]) -> str:
    return f"{step['objects_read_total']:,} · {step['bulk_minimum']:,}"


def _ratio(step: dict[str, Any]) -> str:
    return f"{step['per_object_requests']:,} · **{step['per_object_ratio']:,.0f}×**"


def _hours(size: dict[str, Any]) -> str:
    hours = size["projected_apply_hours"]
    now = f"{hours:,.2f} h ({size['apply']['writes']:,} writes)"
    before = size.get("projected_apply_hours_before")
    if not before:
        return now
    return f"{now}; {before['hours']:,.2f} h ({before['writes']:,}) when unchanged months were written"


def _per_subscription(plan: dict[str, Any]) -> str:
    """``**3.21 · 0.96**`` for all, then each record type (csp365 4.12 · 1.01, …)."""
    by_type: dict[str, dict[str, float]] = plan["writes_per_subscription"]
    cells = [
        f"{name} {v['first_apply']:.2f} · {v['steady_month']:.2f}"
        for name, v in by_type.items()
        if name != "all"
    ]
    whole = by_type["all"]
    return f"**{whole['first_apply']:.2f} · {whole['steady_month']:.2f}**: " + ", ".join(cells)
