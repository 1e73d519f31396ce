"""One CSV file of a Cloudmore export bundle, read with an exact location for every error.

The bundle reader (``bundle.py``) knows what each file means; this module only knows CSV: the
encoding, the header, the field count, and how a single cell becomes a typed value. Every failure
is a :class:`~engine.errors.SourceError` naming the file (relative to the bundle), the physical line
(the header is line 1) and the column, so a user can open the file and fix exactly that cell.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

from engine.csvsafe import restore
from engine.errors import SourceError
from engine.safefile import FileRefused, MiB, TooLarge, decode_utf8, read_inside

_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_PERIOD = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_CURRENCY = re.compile(r"[A-Z]{3}")
_WHOLE = re.compile(r"[0-9]{1,10}")
_INT32_MAX = 2_147_483_647
"""Autotask stores quantities and ids as 32-bit integers; a larger value could never be written."""

_SHOWN = 40
"""How many characters of a bad value an error message quotes (fuzzed input can be huge)."""


def show(value: str) -> str:
    """Quote a found value for a message: escaped, shortened, and ``empty`` for nothing."""
    if not value:
        return "an empty value"
    if len(value) > _SHOWN:
        return repr(value[:_SHOWN]) + "…"
    return repr(value)


class _Parsed:
    """Values already parsed in one file: bundles repeat the same dates, prices, names and ids on many
    lines, and each is kept once (half the memory of 130,000 billing lines)."""

    __slots__ = ("amounts", "days", "texts")

    def __init__(self) -> None:
        self.amounts: dict[str, Decimal] = {}
        self.days: dict[str, date] = {}
        self.texts: dict[str, str] = {}


class Row:
    """One data record of a table: its cells, where it is, and typed accessors that fail precisely."""

    __slots__ = ("file", "line", "_cells", "_index", "_parsed")

    def __init__(
        self, file: str, line: int, cells: list[str], index: dict[str, int], parsed: _Parsed
    ) -> None:
        self.file = file
        self.line = line
        self._cells = cells
        self._index = index
        self._parsed = parsed

    @property
    def origin(self) -> str:
        """``file:line``, kept on every model so later errors can point back here."""
        return f"{self.file}:{self.line}"

    def error(self, column: str, message: str) -> SourceError:
        """A :class:`SourceError` located at this row and ``column``."""
        return SourceError(message, file=self.file, line=self.line, column=column)

    def text(self, column: str) -> str:
        """The cell as written, without surrounding spaces; may be empty. A quote billsync put before a
        formula-like value when it wrote the file (:mod:`engine.csvsafe`) is dropped."""
        value = restore(self._cells[self._index[column]].strip())
        return self._parsed.texts.setdefault(value, value)

    def required(self, column: str) -> str:
        """A cell that must not be empty (identifiers and names)."""
        value = self.text(column)
        if not value:
            raise self.error(column, "expected a value, found an empty cell")
        return value

    def decimal(self, column: str) -> Decimal:
        """An amount with ``.`` as the decimal point (negative allowed for credits)."""
        value = self.text(column)
        amount = self._parsed.amounts.get(value)
        if amount is None:
            if not _DECIMAL.fullmatch(value):
                raise self.error(
                    column,
                    f"expected an amount with '.' as the decimal point (like 12.50 or -3.2500), found {show(value)}",
                )
            whole, _, fraction = value.lstrip("+-").partition(".")
            if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS or len(fraction) > MAX_FRACTION_DIGITS:
                raise self.error(
                    column,
                    f"expected an amount of at most {MAX_WHOLE_DIGITS} digits before the decimal point and "
                    f"{MAX_FRACTION_DIGITS} after it, found {show(value)}",
                )
            amount = self._parsed.amounts[value] = Decimal(value)
        return amount

    def price(self, column: str) -> Decimal:
        """A price list amount: like :meth:`decimal`, but never negative."""
        amount = self.decimal(column)
        if amount < 0:
            raise self.error(column, f"expected a price of 0 or more, found {show(self.text(column))}")
        return amount

    def day(self, column: str) -> date:
        """A calendar date written ``YYYY-MM-DD`` and nothing else."""
        value = self.text(column)
        day = self._parsed.days.get(value)
        if day is not None:
            return day
        match = _DATE.fullmatch(value)
        if match:
            try:
                day = self._parsed.days[value] = date(int(match[1]), int(match[2]), int(match[3]))
                return day
            except ValueError:
                pass
        raise self.error(column, f"expected a date as YYYY-MM-DD (like 2026-10-01), found {show(value)}")

    def optional_day(self, column: str) -> date | None:
        """A date, or ``None`` for an empty cell."""
        return self.day(column) if self.text(column) else None

    def quantity(self, column: str) -> int:
        """A whole number of units, 0 or more (negative quantities are never valid, even on credits)."""
        value = self.text(column)
        if _WHOLE.fullmatch(value) and int(value) <= _INT32_MAX:
            return int(value)
        raise self.error(
            column, f"expected a whole number of units from 0 to {_INT32_MAX} (like 15), found {show(value)}"
        )

    def optional_id(self, column: str) -> int | None:
        """A positive whole-number id, or ``None`` for an empty cell."""
        value = self.text(column)
        if not value:
            return None
        if _WHOLE.fullmatch(value) and 0 < int(value) <= _INT32_MAX:
            return int(value)
        raise self.error(
            column,
            f"expected a whole-number id from 1 to {_INT32_MAX} (like 101) or nothing, found {show(value)}",
        )

    def currency(self, column: str) -> str:
        """An ISO 4217 code: three upper-case letters."""
        value = self.text(column)
        if not _CURRENCY.fullmatch(value):
            raise self.error(
                column,
                f"expected a currency code of three upper-case letters (like USD), found {show(value)}",
            )
        return value

    def period(self, column: str) -> str:
        """A billing month written ``YYYY-MM``."""
        value = self.text(column)
        if not _PERIOD.fullmatch(value):
            raise self.error(
                column, f"expected a billing month as YYYY-MM (like 2026-10), found {show(value)}"
            )
        return value

    def choice(self, column: str, allowed: Sequence[str]) -> str:
        """One of ``allowed``, spelled exactly."""
        value = self.text(column)
        if value not in allowed:
            expected = ", ".join(allowed[:-1]) + " or " + allowed[-1] if len(allowed) > 1 else allowed[0]
            raise self.error(column, f"expected {expected}, found {show(value)}")
        return value


MAX_WHOLE_DIGITS = 15
"""Digits an amount may have before its decimal point: Autotask stores money as a fixed-point decimal
whose exact size is not published, so billsync takes the strict choice of a trillion-scale bound that
also keeps every sum within exact decimal arithmetic (28 digits)."""
MAX_FRACTION_DIGITS = 10
MAX_FILE_BYTES = 512 * MiB
"""The largest bundle file read unless billsync.yaml says otherwise (``limits.bundle_file_mb``)."""


def read_table(
    root: Path, file: str, columns: Sequence[str], max_bytes: int = MAX_FILE_BYTES
) -> Iterator[Row]:
    """Yield the data rows of ``root/file``, checking the header names ``columns``.

    Extra columns are ignored; blank lines are skipped; a row with a different number of fields
    than the header, a broken quote, bytes that are not UTF-8 or a missing column is an error.
    """
    text = _read_text(root, file, max_bytes)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    index: dict[str, int] | None = None
    width = 0
    parsed = _Parsed()
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SourceError(
                f"malformed CSV ({exc}); check the quotes on this line: a value containing a comma, "
                "a quote or a line break must be enclosed in double quotes, with inner quotes doubled",
                file=file,
                line=start,
            ) from None
        if not "".join(cells).strip():
            continue
        if index is None:
            index = _header_index(file, start, cells, columns)
            width = len(cells)
            continue
        if len(cells) != width:
            raise SourceError(
                f"this line has {len(cells)} fields but the header has {width}; look for a missing or extra "
                "comma, or a value with a comma that is not enclosed in double quotes",
                file=file,
                line=start,
            )
        yield Row(file, start, cells, index, parsed)
    if index is None:
        raise SourceError(
            f"the file is empty; expected a header row naming the columns {', '.join(columns)}", file=file
        )


def _read_text(root: Path, file: str, max_bytes: int) -> str:
    """The file decoded as UTF-8 (a leading byte order mark is dropped): a regular file inside the
    bundle reached without following a symbolic link, at most ``max_bytes`` long."""
    try:
        data = read_inside(root, file, file, max_bytes)
    except FileRefused as exc:
        if exc.reason == "file not found":
            raise SourceError(
                f"missing file: the export bundle in {root} has no {file}; export the bundle again from "
                "Cloudmore or add the file",
                file=file,
            ) from None
        if isinstance(exc, TooLarge):
            hint = "Check that it is the right file; raise limits.bundle_file_mb in billsync.yaml if it is."
            raise SourceError(exc.reason, file=file, line=exc.line, hint=hint) from None
        raise SourceError(exc.reason, file=file, line=exc.line, hint=exc.hint) from None
    try:
        text = decode_utf8(data, file)
    except FileRefused as exc:
        raise SourceError(exc.reason, file=file, line=exc.line) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise SourceError(
            "the file contains a NUL character, so it is not a CSV text file; export it again",
            file=file,
            line=text.count("\n", 0, nul) + 1,
        )
    return text


def _header_index(file: str, line: int, cells: list[str], columns: Sequence[str]) -> dict[str, int]:
    """Map each required column to its position; names are compared after trimming spaces."""
    names = [cell.strip() for cell in cells]
    index: dict[str, int] = {}
    for column in columns:
        found = [position for position, name in enumerate(names) if name == column]
        if not found:
            raise SourceError(
                f"missing column {column!r}; the header row must name the columns {', '.join(columns)}",
                file=file,
                line=line,
                column=column,
            )
        if len(found) > 1:
            raise SourceError(
                f"the column {column!r} appears {len(found)} times in the header; keep one",
                file=file,
                line=line,
                column=column,
            )
        index[column] = found[0]
    return index
