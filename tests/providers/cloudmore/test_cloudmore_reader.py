"""The export-bundle reader: parsing, every kind of bad input, and where each error points."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from engine.errors import SourceError
from providers.cloudmore.bundle import read_bundle

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-10-07"
SUB1 = "6f1c2d3e-0a1b-4c5d-8e9f-000000000001"


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    """A writable copy of the first example export."""
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, target)
    return target


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell, addressed like an error: physical line (header is 1) and column name."""
    rows = _rows(path)
    rows[line - 1][rows[0].index(column)] = value
    _write_rows(path, rows)


def _error(bundle: Path) -> SourceError:
    with pytest.raises(SourceError) as caught:
        read_bundle(bundle)
    return caught.value


def _where(error: SourceError) -> tuple[str, int | None, str | None]:
    return error.file, error.line, error.column


def test_reads_every_file_with_typed_values_and_origins(bundle: Path) -> None:
    data = read_bundle(bundle)
    assert data.origin == str(bundle)
    contoso = data.organizations[0]
    assert (contoso.organization_id, contoso.name, contoso.customer_number) == (
        "ORG-1001",
        "Contoso Ltd",
        "C-1001",
    )
    assert contoso.autotask_company_id == 101
    assert contoso.currency == "USD"
    assert contoso.origin == "organizations.csv:2"
    assert data.organizations[5].autotask_company_id is None
    tailspin_csp = data.services[8]
    assert (tailspin_csp.organization_id, tailspin_csp.service_name, tailspin_csp.active) == (
        "ORG-1004",
        "Microsoft CSP 365",
        False,
    )
    first = data.subscriptions[0]
    assert first.subscription_id == SUB1
    assert first.record_type == "CSP365"
    assert (first.quantity, first.start_date, first.end_date) == (15, date(2025, 3, 1), date(2027, 2, 28))
    assert first.origin == "subscriptions.csv:2"
    azure = data.subscriptions[10]
    assert (azure.product_name, azure.end_date) == ("Azure Plan", None)
    price = data.price_list[6]
    assert (price.product_name, price.unit_cost_price, price.unit_sales_price) == (
        "Microsoft 365 Apps for business",
        Decimal("7.0125"),
        Decimal("8.2500"),
    )
    (report,) = data.reports
    assert (report.period, report.available_on, report.file, report.origin) == (
        "2026-09",
        date(2026, 10, 6),
        "billing/2026-09.csv",
        "reports.csv:2",
    )
    line = report.lines[1]
    assert line.origin == "billing/2026-09.csv:3"
    assert (line.billing_date, line.quantity, line.total_cost, line.total_sales) == (
        date(2026, 9, 16),
        15,
        Decimal("79.69"),
        Decimal("93.75"),
    )
    assert line.total_sales.as_tuple().exponent == -2


def test_models_are_exactly_what_validation_would_build(bundle: Path) -> None:
    """The reader skips pydantic validation for speed; this proves nothing is lost by it."""
    data = read_bundle(bundle)
    models: list[BaseModel] = [*data.organizations, *data.services, *data.subscriptions, *data.price_list]
    models += [line for report in data.reports for line in report.lines]
    for model in models:
        assert type(model).model_validate(model.model_dump()) == model
    assert type(data).model_validate(data.model_dump()) == data


def test_bom_crlf_spaced_headers_reordered_and_extra_columns_are_accepted(bundle: Path) -> None:
    path = bundle / "organizations.csv"
    rows = _rows(path)
    order = [4, 0, 3, 2, 1]
    header = [" " + rows[0][index] + " " for index in order] + ["Region"]
    body = [[row[index] for index in order] + ["EMEA"] for row in rows[1:]]
    text = "\r\n".join(",".join(row) for row in [header, *body]) + "\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    data = read_bundle(bundle)
    assert [organization.autotask_company_id for organization in data.organizations] == [
        101,
        102,
        103,
        104,
        105,
        None,
    ]
    assert data.organizations[2].origin == "organizations.csv:4"


def test_blank_lines_are_skipped_and_line_numbers_stay_physical(bundle: Path) -> None:
    path = bundle / "subscriptions.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(2, "\n")
    lines.insert(3, ",,,,,,,,,,\n")
    path.write_text("".join(lines))
    data = read_bundle(bundle)
    assert len(data.subscriptions) == 20
    assert data.subscriptions[1].origin == "subscriptions.csv:5"
    _set_cell(path, 6, "Quantity", "x")
    assert _where(_error(bundle)) == ("subscriptions.csv", 6, "Quantity")


def test_a_quoted_value_spanning_two_lines_keeps_later_line_numbers_physical(bundle: Path) -> None:
    path = bundle / "price-list.csv"
    _set_cell(path, 2, "Product Name", "Microsoft 365\nBusiness Basic")
    _set_cell(path, 4, "Unit Sales Price", "twelve")
    error = _error(bundle)
    assert _where(error) == ("price-list.csv", 5, "Unit Sales Price")


def test_empty_optional_values(bundle: Path) -> None:
    _set_cell(bundle / "organizations.csv", 2, "AutotaskCompanyID", "  ")
    _set_cell(bundle / "subscriptions.csv", 2, "End Date", "")
    _set_cell(bundle / "subscriptions.csv", 2, "Item Code", "")
    data = read_bundle(bundle)
    assert data.organizations[0].autotask_company_id is None
    assert (data.subscriptions[0].end_date, data.subscriptions[0].item_code) == (None, "")


def test_a_billing_line_for_a_subscription_no_longer_listed_is_kept(bundle: Path) -> None:
    path = bundle / "subscriptions.csv"
    rows = _rows(path)
    _write_rows(path, [row for row in rows if row[0] != SUB1])
    data = read_bundle(bundle)
    assert SUB1 not in {subscription.subscription_id for subscription in data.subscriptions}
    billed = [line for line in data.reports[0].lines if line.subscription_id == SUB1]
    assert [line.quantity for line in billed] == [10, 15]


def test_credits_are_negative_amounts(bundle: Path) -> None:
    _set_cell(bundle / "billing/2026-09.csv", 2, "Total Sales", "-62.50")
    assert read_bundle(bundle).reports[0].lines[0].total_sales == Decimal("-62.50")


@pytest.mark.parametrize(
    ("file", "line", "column", "value", "reason"),
    [
        (
            "billing/2026-09.csv",
            4,
            "Total Sales",
            "1,5",
            "expected an amount with '.' as the decimal point (like 12.50 or -3.2500), found '1,5'",
        ),
        ("billing/2026-09.csv", 4, "Total Cost", "NaN", None),
        ("billing/2026-09.csv", 4, "Unit Cost Price", "Infinity", None),
        (
            "billing/2026-09.csv",
            4,
            "Unit Sales Price",
            "",
            "expected an amount with '.' as the decimal point (like 12.50 or -3.2500), found an empty value",
        ),
        ("billing/2026-09.csv", 4, "Total Sales", "1e3", None),
        ("billing/2026-09.csv", 4, "Total Sales", "+5.00", None),
        ("billing/2026-09.csv", 4, "Total Sales", ".50", None),
        ("billing/2026-09.csv", 4, "Total Sales", "٣.٠٠", None),
        (
            "billing/2026-09.csv",
            5,
            "Quantity",
            "-3",
            "expected a whole number of units from 0 to 2147483647 (like 15), found '-3'",
        ),
        ("billing/2026-09.csv", 5, "Quantity", "1.5", None),
        ("billing/2026-09.csv", 5, "Quantity", "99999999999", None),
        ("billing/2026-09.csv", 5, "Quantity", "2147483648", None),
        (
            "billing/2026-09.csv",
            6,
            "Billing Date",
            "2026/09/01",
            "expected a date as YYYY-MM-DD (like 2026-10-01), found '2026/09/01'",
        ),
        ("billing/2026-09.csv", 6, "Billing Date", "2026-02-30", None),
        ("billing/2026-09.csv", 6, "Billing Date", "20260901", None),
        ("billing/2026-09.csv", 6, "Billing Date", "2026-W36-2", None),
        ("billing/2026-09.csv", 7, "Record Type", "Csp365", None),
        (
            "billing/2026-09.csv",
            7,
            "Currency Code",
            "usd",
            "expected a currency code of three upper-case letters (like USD), found 'usd'",
        ),
        ("billing/2026-09.csv", 8, "Subscription ID", "", "expected a value, found an empty cell"),
        ("subscriptions.csv", 3, "Start Date", "", None),
        ("subscriptions.csv", 3, "End Date", "2027-9-14", None),
        ("subscriptions.csv", 3, "Quantity", "-1", None),
        (
            "subscriptions.csv",
            3,
            "Record Type",
            "Office",
            "expected CSP365, Azure, Marketplace, ReservedInstance, PerpetualLicense or Subscription, found 'Office'",
        ),
        (
            "subscriptions.csv",
            12,
            "Product Name",
            "Azure plan",
            "an Azure subscription names its kind in Product Name: expected 'Azure Plan' or 'Azure Classic', "
            "found 'Azure plan'",
        ),
        (
            "subscriptions.csv",
            3,
            "End Date",
            "2026-09-14",
            "the End Date 2026-09-14 is before the Start Date 2026-09-15",
        ),
        ("services.csv", 2, "Status", "active", "expected Active or Inactive, found 'active'"),
        (
            "organizations.csv",
            3,
            "AutotaskCompanyID",
            "abc",
            "expected a whole-number id from 1 to 2147483647 (like 101) or nothing, found 'abc'",
        ),
        ("organizations.csv", 3, "AutotaskCompanyID", "0", None),
        ("organizations.csv", 3, "Currency Code", "US", None),
        ("organizations.csv", 3, "Organization Name", "", None),
        ("price-list.csv", 3, "Unit Cost Price", "-1.0000", "expected a price of 0 or more, found '-1.0000'"),
        ("price-list.csv", 3, "Currency Code", "EURO", None),
        (
            "reports.csv",
            2,
            "Period",
            "2026-13",
            "expected a billing month as YYYY-MM (like 2026-10), found '2026-13'",
        ),
        ("reports.csv", 2, "Period", "2026-9", None),
        ("reports.csv", 2, "Available On", "06.10.2026", None),
    ],
)
def test_bad_values_name_file_line_and_column(
    bundle: Path, file: str, line: int, column: str, value: str, reason: str | None
) -> None:
    _set_cell(bundle / file, line, column, value)
    error = _error(bundle)
    assert _where(error) == (file, line, column)
    if reason is not None:
        assert error.reason == reason
        assert str(error) == f"{file}:{line} (column {column!r}): {reason}"


def test_a_long_bad_value_is_quoted_shortened(bundle: Path) -> None:
    _set_cell(bundle / "billing/2026-09.csv", 2, "Quantity", "9" * 30 + "x" * 30)
    error = _error(bundle)
    assert (
        error.reason
        == "expected a whole number of units from 0 to 2147483647 (like 15), found '"
        + "9" * 30
        + "x" * 10
        + "'…"
    )


@pytest.mark.parametrize(
    ("file", "line", "column"),
    [
        ("services.csv", 4, "Organization ID"),
        ("subscriptions.csv", 5, "Organization ID"),
        ("billing/2026-09.csv", 9, "Organization ID"),
    ],
)
def test_unknown_organization_is_an_error(bundle: Path, file: str, line: int, column: str) -> None:
    _set_cell(bundle / file, line, column, "ORG-9999")
    error = _error(bundle)
    assert _where(error) == (file, line, column)
    assert error.reason == (
        "unknown organization 'ORG-9999': it is not listed in organizations.csv; add the organization there "
        "or export the bundle again"
    )


@pytest.mark.parametrize(
    ("file", "line", "column", "value", "reason"),
    [
        (
            "organizations.csv",
            4,
            "Organization ID",
            "ORG-1001",
            "duplicate Organization ID 'ORG-1001': the organization is already listed on line 2",
        ),
        (
            "subscriptions.csv",
            21,
            "Subscription ID",
            SUB1,
            f"duplicate Subscription ID {SUB1!r}: the subscription is already listed on line 2",
        ),
        (
            "price-list.csv",
            32,
            "Product ID",
            "CFQ7TTC0LH18:0001",
            "duplicate Product ID 'CFQ7TTC0LH18:0001': the product is already listed on line 2",
        ),
    ],
)
def test_duplicate_ids_are_errors(
    bundle: Path, file: str, line: int, column: str, value: str, reason: str
) -> None:
    _set_cell(bundle / file, line, column, value)
    error = _error(bundle)
    assert _where(error) == (file, line, column)
    assert error.reason == reason


def test_a_service_listed_twice_is_an_error(bundle: Path) -> None:
    path = bundle / "services.csv"
    rows = _rows(path)
    _write_rows(path, [*rows, ["ORG-1002", "Microsoft CSP 365", "Inactive"]])
    error = _error(bundle)
    assert _where(error) == ("services.csv", 16, "Service Name")


def test_a_duplicate_report_row_is_an_error(bundle: Path) -> None:
    path = bundle / "reports.csv"
    _write_rows(path, [*_rows(path), ["2026-09", "2026-10-06", "billing/2026-09.csv"]])
    error = _error(bundle)
    assert _where(error) == ("reports.csv", 3, "Available On")


def test_two_report_rows_may_name_the_same_file(bundle: Path) -> None:
    path = bundle / "reports.csv"
    _write_rows(path, [*_rows(path), ["2026-09", "2026-10-20", "billing/2026-09.csv"]])
    original, revision = read_bundle(bundle).reports
    assert revision.lines == original.lines
    assert revision.origin == "reports.csv:3"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (
            "billing/2026-10.csv",
            "the billing file 'billing/2026-10.csv' does not exist in {root}; add it or correct the path",
        ),
        ("billing", "the billing file 'billing' does not exist in {root}; add it or correct the path"),
        (
            "/etc/passwd",
            "expected a path inside the bundle folder (like billing/2026-10.csv), found '/etc/passwd'",
        ),
        (
            "../2026-10-07/billing/2026-09.csv",
            "expected a path inside the bundle folder (like billing/2026-10.csv), found "
            "'../2026-10-07/billing/2026-09.csv'",
        ),
    ],
)
def test_a_report_file_must_exist_inside_the_bundle(bundle: Path, value: str, reason: str) -> None:
    _set_cell(bundle / "reports.csv", 2, "File", value)
    error = _error(bundle)
    assert _where(error) == ("reports.csv", 2, "File")
    assert error.reason == reason.format(root=bundle)


def test_a_missing_column_names_file_and_column(bundle: Path) -> None:
    path = bundle / "billing/2026-09.csv"
    rows = _rows(path)
    drop = rows[0].index("Total Sales")
    _write_rows(path, [row[:drop] + row[drop + 1 :] for row in rows])
    error = _error(bundle)
    assert _where(error) == ("billing/2026-09.csv", 1, "Total Sales")
    assert error.reason.startswith(
        "missing column 'Total Sales'; the header row must name the columns Billing Date,"
    )


def test_a_column_named_twice_is_an_error(bundle: Path) -> None:
    path = bundle / "services.csv"
    rows = _rows(path)
    _write_rows(path, [[*rows[0], "Status"]] + [[*row, "Active"] for row in rows[1:]])
    assert _where(_error(bundle)) == ("services.csv", 1, "Status")


@pytest.mark.parametrize(
    "name", ["organizations.csv", "services.csv", "subscriptions.csv", "price-list.csv", "reports.csv"]
)
def test_a_missing_file_is_named(bundle: Path, name: str) -> None:
    (bundle / name).unlink()
    error = _error(bundle)
    assert _where(error) == (name, None, None)
    assert error.reason == (
        f"missing file: the export bundle in {bundle} has no {name}; export the bundle again from Cloudmore "
        "or add the file"
    )


def test_a_missing_bundle_folder_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(SourceError) as caught:
        read_bundle(missing)
    assert caught.value.file == str(missing)
    assert str(caught.value) == (
        f"{missing}: there is no folder here to read a Cloudmore export bundle from; check the path to the bundle"
    )


def test_an_empty_file_is_an_error(bundle: Path) -> None:
    (bundle / "services.csv").write_bytes(b"\xef\xbb\xbf\n\n")
    error = _error(bundle)
    assert _where(error) == ("services.csv", None, None)
    assert (
        error.reason
        == "the file is empty; expected a header row naming the columns Organization ID, Service Name, Status"
    )


def test_an_unbalanced_quote_points_at_the_line_where_it_opens(bundle: Path) -> None:
    path = bundle / "subscriptions.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[19] = lines[19].replace(",Active,", ',"Active,', 1)
    path.write_text("".join(lines))
    error = _error(bundle)
    assert _where(error) == ("subscriptions.csv", 20, None)
    assert error.reason.startswith("malformed CSV (unexpected end of data); check the quotes on this line")


def test_text_after_a_closing_quote_is_malformed(bundle: Path) -> None:
    path = bundle / "organizations.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("Fabrikam Inc", '"Fabrikam" Inc')
    path.write_text("".join(lines))
    assert _where(_error(bundle)) == ("organizations.csv", 3, None)


def test_a_wrong_number_of_fields_names_the_line(bundle: Path) -> None:
    path = bundle / "billing/2026-09.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[9] = lines[9].rstrip("\n") + ",extra\n"
    path.write_text("".join(lines))
    error = _error(bundle)
    assert _where(error) == ("billing/2026-09.csv", 10, None)
    assert error.reason.startswith("this line has 20 fields but the header has 19;")


def test_bytes_that_are_not_utf8_name_the_line(bundle: Path) -> None:
    path = bundle / "organizations.csv"
    path.write_bytes(path.read_bytes().replace(b"Northwind", b"N\xf6rthwind"))
    error = _error(bundle)
    assert _where(error) == ("organizations.csv", 4, None)
    assert error.reason == "the file is not UTF-8 text (byte 0xf6 cannot be decoded); save it as UTF-8"


def test_a_nul_character_is_an_error(bundle: Path) -> None:
    path = bundle / "services.csv"
    path.write_bytes(path.read_bytes().replace(b"Datto", b"Da\x00tto", 1))
    assert _where(_error(bundle)) == ("services.csv", 4, None)


def test_quantity_and_company_id_bounds_are_accepted(bundle: Path) -> None:
    _set_cell(bundle / "billing/2026-09.csv", 2, "Quantity", "0")
    _set_cell(bundle / "billing/2026-09.csv", 3, "Quantity", "2147483647")
    _set_cell(bundle / "organizations.csv", 2, "AutotaskCompanyID", "2147483647")
    data = read_bundle(bundle)
    assert [line.quantity for line in data.reports[0].lines[:2]] == [0, 2147483647]
    assert data.organizations[0].autotask_company_id == 2147483647
