"""The billing report as plain text, Markdown and CSV.

Names come from Cloudmore and are data, not markup: control characters are shown escaped (a name
cannot move the terminal's cursor or forge a line), Markdown cells escape ``|`` and HTML, and CSV
text cells that a spreadsheet would run as a formula are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from engine.plan_view import RULES_DOC
from engine.report.model import REASONS, BillingReport, Row, Totals
from engine.textsafe import visible

COLUMNS = ("Customer", "Month", "Sales", "Cost", "Billed", "Margin", "Unbilled", "Difference")


def money(value: Decimal) -> str:
    """An amount to the cent, as Autotask shows it (``1440.00``, ``-0.01``)."""
    return f"{value:.2f}"


def _amounts(t: Totals) -> list[str]:
    return [money(v) for v in (t.sales, t.cost, t.billed, t.margin, t.unbilled, t.difference)]


def _reasons(row: Row) -> str:
    return ", ".join(f"{r} {REASONS[r][0]}" for r in row.reasons)


def header_lines(report: BillingReport) -> list[str]:
    return [
        f"Billing report as of {report.as_of}: Autotask billing {report.basis}, in {report.currency}",
        f"Autotask: {visible(report.target)}   Cloudmore: {visible(report.source)}",
        f"Months: {', '.join(report.periods) or 'none available'}",
    ]


def verdict(report: BillingReport) -> str:
    flagged = report.flagged
    if not flagged:
        return "Every customer and month bills its Cloudmore report (difference 0.00)."
    return (
        f"{len(flagged)} customer month(s) differ from the Cloudmore report by "
        f"{money(sum((r.totals.difference for r in flagged), Decimal(0)))}: marked with '!'."
    )


# ---- text -----------------------------------------------------------------------------------------


def render_text(report: BillingReport) -> str:
    return "".join(line + "\n" for line in text_lines(report))


def text_lines(report: BillingReport) -> Iterator[str]:
    yield from header_lines(report)
    yield ""
    table: list[list[str]] = [[*COLUMNS, ""]]
    for row in report.rows:
        flag = "!" if row.flagged else ""
        note = _reasons(row)
        table.append([visible(row.customer), row.period, *_amounts(row.totals), f"{flag} {note}".strip()])
    for month, totals in report.month_totals.items():
        table.append(["Month total", month, *_amounts(totals), ""])
    table.append(["Total", "", *_amounts(report.total), ""])
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]
    for index, cells in enumerate(table):
        parts = [
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(cells[:-1])
        ]
        yield ("  ".join(parts) + ("  " + cells[-1] if cells[-1] else "")).rstrip()
        if index == 0 or index == len(report.rows):
            yield "  ".join("-" * w for w in widths)
    yield ""
    yield verdict(report)
    if report.unbilled:
        yield ""
        yield "Left unbilled on purpose:"
        for u in report.unbilled:
            yield (
                f"  {u.period}  {visible(u.customer)} ({visible(u.organization_id)})  "
                f"{money(u.amount)}  {u.rule}: {u.explanation}"
            )
        yield f"  The rules are explained in {RULES_DOC}."
    if report.corrections:
        yield ""
        yield "Corrections for revised months (D20):"
        for c in report.corrections:
            state = "planned" if c.planned else "in Autotask"
            yield (
                f"  {c.period}  {visible(c.customer)}  {visible(c.subscription_id)}  "
                f"revision of {c.revision}  {money(c.amount)}  {state}"
            )


# ---- Markdown -------------------------------------------------------------------------------------


def _md(text: str) -> str:
    cell = visible(text)
    for raw, escaped in (("\\", "\\\\"), ("|", "\\|"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        cell = cell.replace(raw, escaped)
    for raw in ("*", "_", "`", "[", "]"):
        cell = cell.replace(raw, "\\" + raw)
    return cell


def render_markdown(report: BillingReport) -> str:
    out = [f"# Billing report as of {report.as_of}", ""]
    out += [f"- {_md(line)}" for line in header_lines(report)[1:]]
    out += [f"- Billed: Autotask billing {report.basis}, in {report.currency}", ""]
    out += ["| " + " | ".join([*COLUMNS, "Check"]) + " |", "|" + "---|" * 2 + "---:|" * 6 + "---|"]
    for row in report.rows:
        check = ("**!** " if row.flagged else "") + _md(_reasons(row))
        out.append(
            f"| {_md(row.customer)} | {row.period} | " + " | ".join(_amounts(row.totals)) + f" | {check} |"
        )
    for month, totals in report.month_totals.items():
        out.append(f"| **Total {month}** | {month} | " + " | ".join(_amounts(totals)) + " |  |")
    out.append("| **Total** |  | " + " | ".join(_amounts(report.total)) + " |  |")
    out += ["", verdict(report)]
    if report.unbilled:
        out += ["", "## Left unbilled on purpose", "", "| Month | Customer | Amount | Rule | Why |"]
        out.append("|---|---|---:|---|---|")
        for u in report.unbilled:
            out.append(
                f"| {u.period} | {_md(u.customer)} ({_md(u.organization_id)}) | {money(u.amount)} "
                f"| {u.rule} | {u.explanation} |"
            )
    if report.corrections:
        out += [
            "",
            "## Corrections for revised months",
            "",
            "| Month | Customer | Subscription | Revision | Amount | State |",
        ]
        out.append("|---|---|---|---|---:|---|")
        for c in report.corrections:
            state = "planned" if c.planned else "in Autotask"
            out.append(
                f"| {c.period} | {_md(c.customer)} | {_md(c.subscription_id)} | {c.revision} "
                f"| {money(c.amount)} | {state} |"
            )
    return "\n".join(out) + "\n"


# ---- CSV ------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "record",
    "customer",
    "organization_id",
    "month",
    "sales",
    "cost",
    "billed",
    "margin",
    "unbilled",
    "difference",
    "flag",
    "note",
)


def _cell(text: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula."""
    cell = visible(text)
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def render_csv(report: BillingReport) -> str:
    """One record per line: ``row`` (customer × month), ``month`` and ``total`` totals, ``unbilled``
    and ``correction`` details; amounts to the cent with a decimal point."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            [
                "row",
                _cell(row.customer),
                _cell(row.organization_id),
                row.period,
                *_amounts(row.totals),
                "!" if row.flagged else "",
                _cell(_reasons(row)),
            ]
        )
    for month, totals in report.month_totals.items():
        writer.writerow(["month", "", "", month, *_amounts(totals), "", ""])
    writer.writerow(["total", "", "", "", *_amounts(report.total), "", ""])
    for u in report.unbilled:
        writer.writerow(
            [
                "unbilled",
                _cell(u.customer),
                _cell(u.organization_id),
                u.period,
                "",
                "",
                "",
                "",
                money(u.amount),
                "",
                u.rule,
                u.explanation,
            ]
        )
    for c in report.corrections:
        note = f"{c.subscription_id} revision of {c.revision} ({'planned' if c.planned else 'in Autotask'})"
        writer.writerow(
            [
                "correction",
                _cell(c.customer),
                "",
                c.period,
                "",
                "",
                money(c.amount),
                "",
                "",
                "",
                "",
                _cell(note),
            ]
        )
    return buffer.getvalue()
