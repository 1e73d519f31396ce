"""Writing a source model as a Cloudmore export bundle: the CSV folder ``read_bundle`` reads back.

``billsync export-bundle`` uses it to keep what the API returned on a given day as a plain folder a
person can read, diff, archive, or plan from later. The folder is written beside its destination and
renamed into place at the end, so an interrupted export never leaves half a bundle. Amounts keep their
exact decimal text (``12.5000`` stays ``12.5000``); an empty cell stands for no value.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path, PurePosixPath

from engine.csvsafe import neutralise_row
from engine.errors import BillsyncError
from engine.source import BillingLine, SourceData
from providers.cloudmore.bundle import (
    BILLING_COLUMNS,
    ORGANIZATION_COLUMNS,
    PRICE_LIST_COLUMNS,
    REPORT_COLUMNS,
    SERVICE_COLUMNS,
    SUBSCRIPTION_COLUMNS,
)

__all__ = ["write_bundle"]


def write_bundle(data: SourceData, folder: Path) -> list[str]:
    """Write ``data`` as an export bundle in ``folder`` (which must not exist, or be empty).

    Returns the files written, relative to the folder. Raises :class:`BillsyncError` when the folder
    holds anything, or when two reports name the same billing file with different lines.
    """
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BillsyncError(
            f"{folder} already exists and is not an empty folder; nothing was written",
            hint="Name a new folder (for example one per export date, like cloudmore/2026-11-07).",
        )
    files = _files(data)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, text in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="")
        if folder.exists():
            folder.rmdir()
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return list(files)


def _files(data: SourceData) -> dict[str, str]:
    """File name → CSV text, in the order the files are listed in DOMAIN.md."""
    files = {
        "organizations.csv": _csv(
            ORGANIZATION_COLUMNS,
            (
                [o.organization_id, o.name, o.customer_number, _id(o.autotask_company_id), o.currency]
                for o in data.organizations
            ),
        ),
        "services.csv": _csv(
            SERVICE_COLUMNS,
            (
                [s.organization_id, s.service_name, "Active" if s.active else "Inactive"]
                for s in data.services
            ),
        ),
        "subscriptions.csv": _csv(
            SUBSCRIPTION_COLUMNS,
            (
                [
                    s.subscription_id,
                    s.organization_id,
                    s.record_type,
                    s.product_id,
                    s.item_code,
                    s.product_name,
                    str(s.quantity),
                    _day(s.start_date),
                    _day(s.end_date),
                    s.status,
                    s.billing_frequency,
                ]  # fmt: skip
                for s in data.subscriptions
            ),
        ),
        "price-list.csv": _csv(
            PRICE_LIST_COLUMNS,
            (
                [
                    p.product_id,
                    p.item_code,
                    p.product_name,
                    _amount(p.unit_cost_price),
                    _amount(p.unit_sales_price),
                    p.currency,
                    p.payment_frequency,
                ]  # fmt: skip
                for p in data.price_list
            ),
        ),
        "reports.csv": _csv(
            REPORT_COLUMNS, ([r.period, _day(r.available_on), _file_name(r.file)] for r in data.reports)
        ),
    }
    billing: dict[str, tuple[BillingLine, ...]] = {}
    for report in data.reports:
        name = _file_name(report.file)
        if name in files and name not in billing:
            raise BillsyncError(
                f"the {report.period} report's billing file {name!r} collides with a bundle file"
            )
        earlier = billing.get(name)
        if earlier is not None and _without_origin(earlier) != _without_origin(report.lines):
            raise BillsyncError(
                f"two reports name the billing file {name!r} with different lines; billsync cannot write both"
            )
        billing[name] = report.lines
    for name, lines in billing.items():
        files[name] = _csv(BILLING_COLUMNS, map(_billing_row, lines))
    return files


def _billing_row(line: BillingLine) -> list[str]:
    return [
        _day(line.billing_date), line.service_name, line.organization_id, line.organization_name,
        line.customer_number, line.product_name, line.item_code, line.product_id, str(line.quantity),
        _amount(line.unit_cost_price), _amount(line.unit_sales_price), _amount(line.total_cost),
        _amount(line.total_sales), line.currency, line.payment_frequency, line.subscription_id,
        line.subscription_name, line.record_type,
    ]  # fmt: skip


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(map(neutralise_row, rows))
    return buffer.getvalue()


def _file_name(file: str) -> str:
    """A report's billing file as a safe relative path inside the bundle (``billing/2026-10.csv``)."""
    path = PurePosixPath(file.replace("\\", "/"))
    if not file or path.is_absolute() or ".." in path.parts or path.suffix.lower() != ".csv":
        raise BillsyncError(
            f"a report names the billing file {file!r}, which cannot be written inside a bundle"
        )
    return str(path)


def _without_origin(lines: tuple[BillingLine, ...]) -> list[BillingLine]:
    return [line.model_copy(update={"origin": ""}) for line in lines]


def _amount(value: Decimal) -> str:
    """The exact decimal text, never in exponent form (which the reader does not accept)."""
    return format(value, "f")


def _day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def _id(value: int | None) -> str:
    return "" if value is None else str(value)
