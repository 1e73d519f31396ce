"""A first apply too large for one day, split into days (``run --budget pace``).

Autotask allows about 10,000 requests an hour per tenant, and billsync paces itself at half of that
(:data:`engine.budget.PACE_SHARE`), so a first apply of tens of thousands of writes cannot finish in
one run. Each paced run applies one day's part of the plan and stops; the next run plans again,
finds what the earlier days wrote in the snapshot, and continues, until the whole plan is applied
and its months are recorded. A day's part keeps every subscription whole — its contract, contract
service, months and charges go together — after the objects the subscriptions share (services,
products), so no day leaves a contract half built. Which day of how many a run is, is kept in
``.billsync/pace.json`` between runs (only for the summary: losing it costs no write).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine.budget import PACE_SHARE, Budget
from engine.plan import WRITES, Change, Plan
from engine.safefile import write_atomic

__all__ = [
    "DAY_HOURS",
    "PACE_FILE",
    "DayPart",
    "day_budget",
    "split_day",
    "read_days_done",
    "record_day",
]

DAY_HOURS = 8
"""Hours of writes at the paced rate one run may use by default: a night's run."""
PACE_FILE = "pace.json"


@dataclass(frozen=True)
class DayPart:
    """The part of a plan one paced run applies."""

    plan: Plan
    """The changes of this day (the whole plan on the last day, which then records its months)."""
    writes: int
    """Write requests of this day."""
    writes_left: int
    """Write requests left for the following days."""
    day: int
    days: int

    @property
    def last(self) -> bool:
        return self.writes_left == 0

    def describe(self) -> str:
        tail = (
            "the plan is complete"
            if self.last
            else f"{self.writes_left} left for the next run{'s' if self.days - self.day > 1 else ''}"
        )
        return f"Paced apply: day {self.day} of {self.days}: {self.writes} writes today, {tail}."

    def to_json(self) -> dict[str, int | bool]:
        return {
            "day": self.day,
            "days": self.days,
            "writes_today": self.writes,
            "writes_left": self.writes_left,
            "complete": self.last,
        }


def day_budget(budget: Budget, hours: float = DAY_HOURS) -> int:
    """Writes one paced run may send: ``hours`` at half the hourly budget (at least one)."""
    windows = hours * 3600 / budget.window_seconds
    return max(1, int(budget.limit * PACE_SHARE * windows))


def _writes(change: Change) -> int:
    return 1 if change.action in WRITES or getattr(change, "stamp_marker", False) else 0


def _group(change: Change) -> str:
    """The subscription a change belongs to ('' for shared objects: services, products)."""
    source = getattr(change, "source", None) or {}
    return str(source.get("subscription_id", ""))


def split_day(plan: Plan, capacity: int, days_done: int = 0) -> DayPart:
    """The changes of the next day: the shared objects, then whole subscriptions in plan order,
    while their writes fit in ``capacity``. A subscription larger than a whole day goes alone.
    The plan itself when it fits."""
    total = plan.writes
    if total <= capacity:
        return DayPart(plan, total, 0, days_done + 1, days_done + 1)
    groups: dict[str, list[Change]] = {}
    for change in plan.changes:
        groups.setdefault(_group(change), []).append(change)
    chosen: list[Change] = []
    used = 0
    for name, changes in sorted(groups.items(), key=lambda item: item[0] != ""):
        cost = sum(_writes(c) for c in changes)
        if name == "":
            for change in changes:  # shared objects are independent: as many as fit
                if used + _writes(change) > capacity:
                    break
                chosen.append(change)
                used += _writes(change)
            continue
        if used + cost > capacity and used > 0:
            continue
        chosen.extend(changes)
        used += cost
        if used >= capacity:
            break
    keep = {id(c) for c in chosen}
    ordered = [c for c in plan.changes if id(c) in keep]
    left = total - used
    part = replace(plan, changes=tuple(ordered), targeted=True)
    return DayPart(part, used, left, days_done + 1, days_done + 1 + math.ceil(left / capacity))


def read_days_done(data_dir: Path) -> int:
    """Days of a paced apply already run (0 when none is under way, or its record is unreadable)."""
    try:
        raw = json.loads((data_dir / PACE_FILE).read_text(encoding="utf-8"))
        days = raw.get("days_done", 0) if isinstance(raw, dict) else 0
        return days if isinstance(days, int) and days >= 0 else 0
    except (OSError, ValueError):
        return 0


def record_day(data_dir: Path, part: DayPart, months: Sequence[str]) -> None:
    """Remember a finished day for the next run's summary; forget it when the plan is complete."""
    path = data_dir / PACE_FILE
    if part.last:
        path.unlink(missing_ok=True)
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"days_done": part.day, "months": list(months), "writes_left": part.writes_left})
    write_atomic(path, text + "\n")
