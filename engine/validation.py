"""``billsync validate``: every rule template rendered against the data, without reading the target.

A plan renders only the months that are due, and a correction charge only when a report is revised,
so a typo in a template (an undefined variable, a bad filter) would otherwise first fail a plan, maybe
months later. Validation renders every rule over every billing report of the source (every revision),
once as a first apply renders it and once as a revision of an applied month (so correction templates
render too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engine.context import build_render_input
from engine.periods import DueReport
from engine.render import render_desired
from engine.resources import KindSpec
from engine.rules import RuleFile
from engine.settings import Settings
from engine.snapshot import Snapshot
from engine.source import SourceData

__all__ = ["Rendered", "render_every_template"]

_APPLIED_BEFORE = "0001-01-01"
"""A revision date older than any report: every month renders as revised, with its corrections."""


@dataclass(frozen=True)
class Rendered:
    reports: int
    resources: int


def render_every_template(
    source: SourceData,
    settings: Settings,
    rules: list[RuleFile],
    snapshot: Snapshot,
    kinds: Mapping[str, KindSpec],
    as_of: date,
) -> Rendered:
    """Render each billing report of the source alone (every revision; memory stays that of one month),
    first as billed, then as revising a month recorded with a total of zero; raise the first
    :class:`~engine.errors.RuleError`."""
    managed = snapshot.managed_subscriptions()
    reports = sorted(source.reports, key=lambda r: (r.period, r.available_on))
    rendered = 0
    if not reports:  # the subscriptions billsync manages still render their own objects
        rendered += _render(source, settings, rules, kinds, [], managed, {}, as_of)
    for report in reports:
        rendered += _render(
            source, settings, rules, kinds, [DueReport(report.period, report)], managed, {}, as_of
        )
        zero = {(line.subscription_id, report.period): (Decimal(0), Decimal(0)) for line in report.lines}
        revised = [DueReport(report.period, report, revision_of=_APPLIED_BEFORE)]
        _render(source, settings, rules, kinds, revised, managed, zero, as_of)
    return Rendered(len(reports), rendered)


def _render(
    source: SourceData,
    settings: Settings,
    rules: list[RuleFile],
    kinds: Mapping[str, KindSpec],
    due: list[DueReport],
    managed: set[str],
    recorded: dict[tuple[str, str], tuple[Decimal, Decimal]],
    as_of: date,
) -> int:
    render_input = build_render_input(source, settings, due, managed, recorded, as_of)
    return len(render_desired(rules, render_input, settings, kinds).resources)
