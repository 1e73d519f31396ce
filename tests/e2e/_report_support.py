"""Reading a billing report back from each of its formats, and what the example's reports say.

The expectations are summed here straight from the bundle's CSV files, independently of billsync's
reader and billing code.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

from ._support import AS_OF, SYNCED_SERVICES

Amounts = dict[str, Decimal]
"""sales, cost, billed, margin, unbilled, difference of one row."""
NAMES = ("sales", "cost", "billed", "margin", "unbilled", "difference")


def expected_rows(bundle: Path, as_of: str = AS_OF) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(customer, month) → sales, cost, and the part billsync leaves out on purpose (D1, D6, gone)."""

    def rows(name: str) -> list[dict[str, str]]:
        with (bundle / name).open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    linked = {o["Organization ID"] for o in rows("organizations.csv") if o["AutotaskCompanyID"].strip()}
    active = {
        s["Organization ID"]
        for s in rows("services.csv")
        if s["Status"] == "Active" and s["Service Name"].strip().lower() in SYNCED_SERVICES
    }
    listed = {s["Subscription ID"] for s in rows("subscriptions.csv")}
    latest: dict[str, tuple[str, str]] = {}
    for report in rows("reports.csv"):
        if report["Available On"] < as_of and report["Available On"] > latest.get(report["Period"], ("",))[0]:
            latest[report["Period"]] = (report["Available On"], report["File"])
    out: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: {"sales": Decimal(0), "cost": Decimal(0), "unbilled": Decimal(0)}
    )
    for period, (_day, file) in sorted(latest.items()):
        for line in rows(file):
            row = out[(line["Organization Name"], period)]
            row["sales"] += Decimal(line["Total Sales"])
            row["cost"] += Decimal(line["Total Cost"])
            org = line["Organization ID"]
            if org not in linked or org not in active or line["Subscription ID"] not in listed:
                row["unbilled"] += Decimal(line["Total Sales"])
    return dict(out)


def _amounts(cells: list[str]) -> Amounts:
    return {name: Decimal(value) for name, value in zip(NAMES, cells, strict=True)}


def read_text(text: str) -> tuple[dict[tuple[str, str], Amounts], Amounts]:
    rows: dict[tuple[str, str], Amounts] = {}
    total: Amounts = {}
    number = r"(-?\d+\.\d\d)"
    for line in text.splitlines():
        match = re.match(r"^(.+?)\s+(\d{4}-\d\d)?\s+" + r"\s+".join([number] * 6) + r"(\s.*)?$", line)
        if not match:
            continue
        name, month = match.group(1).strip(), match.group(2)
        if name == "Total":
            total = _amounts(list(match.groups()[2:8]))
        elif name != "Month total":
            rows[(name, month)] = _amounts(list(match.groups()[2:8]))
    return rows, total


def read_markdown(text: str) -> tuple[dict[tuple[str, str], Amounts], Amounts]:
    rows: dict[tuple[str, str], Amounts] = {}
    total: Amounts = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or not re.fullmatch(r"-?\d+\.\d\d", cells[2]):
            continue
        if cells[0] == "**Total**":
            total = _amounts(cells[2:8])
        elif not cells[0].startswith("**"):
            rows[(cells[0], cells[1])] = _amounts(cells[2:8])
    return rows, total


def read_csv(text: str) -> tuple[dict[tuple[str, str], Amounts], Amounts, list[dict[str, str]]]:
    records = list(csv.DictReader(io.StringIO(text)))
    rows = {
        (r["customer"], r["month"]): _amounts([r[n] for n in NAMES]) for r in records if r["record"] == "row"
    }
    total = next(_amounts([r[n] for n in NAMES]) for r in records if r["record"] == "total")
    return rows, total, records


class _Cells(HTMLParser):
    """The customer rows (``tr.row`` of ``#rows``) and the total cards of the HTML report, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], Amounts] = {}
        self.total: Amounts = {}
        self._row: tuple[str, str] | None = None
        self._cell: str | None = None
        self._text = ""
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "tr" and "row" in classes:
            self._row = (a["data-customer"] or "", a["data-month"] or "")
            self.rows[self._row] = {}
        elif tag == "td" and self._row is not None and set(classes) & set(NAMES) and "num" in classes:
            self._cell = next(c for c in classes if c in NAMES)
            self._text = ""
        elif tag == "div" and (a.get("id") or "").startswith("total-"):
            self._cell = "total:" + (a["id"] or "")[6:]
            self._text = ""
        elif tag == "table" and self._row is not None:
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._depth:
            self._depth -= 1
        elif tag in ("td", "div") and self._cell is not None:
            if self._cell.startswith("total:"):
                self.total[self._cell[6:]] = Decimal(self._text.strip())
            elif self._depth == 0 and self._row is not None:
                self.rows[self._row][self._cell] = Decimal(self._text.strip())
            self._cell = None
        elif tag == "tr" and self._depth == 0:
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text += data


def read_html(text: str) -> tuple[dict[tuple[str, str], Amounts], Amounts]:
    parser = _Cells()
    parser.feed(text)
    return parser.rows, parser.total
