"""The billing report as one self-contained HTML page: no network, sortable tables, a bar chart of
sales and margin per month (inline SVG) and a drill-down from each customer month to its
subscription lines.

The page is rendered with Jinja's autoescaping, so names from Cloudmore are text, never markup; no
data is put inside the script, which only reads the page. The script sorts a table when a heading
is clicked (or as the URL's ``#sort=column:desc`` says) and checks in the browser that the rows add
up to the totals shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files

from jinja2 import Environment, StrictUndefined

from engine.report.model import REASONS, BillingReport, Totals
from engine.report.views import money
from engine.textsafe import visible

CHART_HEIGHT = 180
BAR_WIDTH = 22


@dataclass(frozen=True)
class Bar:
    x: int
    y: float
    height: float
    label: str
    value: str
    kind: str


def chart_bars(report: BillingReport) -> tuple[list[Bar], int, float]:
    """Bars of sales and margin per month, scaled to the chart; and the chart's width and baseline."""
    values = [abs(v) for t in report.month_totals.values() for v in (t.sales, t.margin)]
    top = max(values, default=Decimal(0)) or Decimal(1)
    negative = any(t.margin < 0 for t in report.month_totals.values())
    baseline = CHART_HEIGHT * (0.7 if negative else 1.0)
    scale = float(baseline if not negative else CHART_HEIGHT * 0.7) / float(top)
    bars: list[Bar] = []
    for index, (month, totals) in enumerate(report.month_totals.items()):
        x = 40 + index * (BAR_WIDTH * 2 + 30)
        for offset, kind, value in ((0, "sales", totals.sales), (BAR_WIDTH, "margin", totals.margin)):
            height = abs(float(value)) * scale
            y = baseline - height if value >= 0 else baseline
            bars.append(Bar(x + offset, round(y, 1), round(height, 1), month, money(value), kind))
    width = 60 + len(report.month_totals) * (BAR_WIDTH * 2 + 30)
    return bars, width, baseline


def render_html(report: BillingReport) -> str:
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = money
    env.filters["printable"] = visible
    template = env.from_string(files("engine.report").joinpath("report.html.j2").read_text("utf-8"))
    bars, width, baseline = chart_bars(report)
    return template.render(
        report=report,
        total=report.total,
        reasons=REASONS,
        bars=bars,
        chart_width=width,
        chart_height=CHART_HEIGHT + 30,
        baseline=baseline,
        amounts=_amount_fields(),
    )


def _amount_fields() -> list[tuple[str, str]]:
    """(heading, attribute of :class:`Totals`) for every amount column."""
    names = ("sales", "cost", "billed", "margin", "unbilled", "difference")
    assert all(hasattr(Totals(), n) for n in names)
    return [(n.capitalize(), n) for n in names]
