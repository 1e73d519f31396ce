"""CSV cells that a spreadsheet will not run: the OWASP CSV-injection rule.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or their full-width
forms, which some spreadsheets also accept) is a formula to Excel and LibreOffice: ``=HYPERLINK(…)``
can send a cell's neighbours to another site. Such a cell is written with a leading single quote,
which spreadsheets show as text. A plain number such as ``-12.50`` is no formula and is written as is,
so amounts stay amounts. Files billsync reads back get the quote removed by :func:`restore`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["FORMULA_STARTS", "neutralise", "neutralise_row", "restore"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text, never runs it."""
    if cell.startswith(FORMULA_STARTS) and _NUMBER.fullmatch(cell) is None:
        return "'" + cell
    return cell


def neutralise_row(cells: Iterable[object]) -> list[object]:
    """Every text cell of a row :func:`neutralise`-d; numbers and empty cells unchanged."""
    return [neutralise(c) if isinstance(c, str) else c for c in cells]


def restore(cell: str) -> str:
    """The value :func:`neutralise` was given: a quote before a formula start is dropped."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) and _NUMBER.fullmatch(cell[1:]) is None:
        return cell[1:]
    return cell
