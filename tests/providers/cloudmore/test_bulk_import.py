"""Cloudmore's organization bulk-import file, written by the Cloudmore provider and found by the engine
through its entry point."""

from __future__ import annotations

from engine.onboarding import NewOrganization, exported_companies
from engine.provider import Company
from engine.wiring import organization_import_csv
from providers.cloudmore import bulk_import


def test_the_file_has_cloudmores_columns_and_one_row_per_organization() -> None:
    text = bulk_import.organization_import_csv(
        [NewOrganization(29683001, "Contoso, Ltd", "C-1"), NewOrganization(29683002, "=HYPERLINK(1)", "")]
    )
    assert text == (
        "Organization Name,Customer Number,AutotaskCompanyID\n"
        '"Contoso, Ltd",C-1,29683001\n'
        "'=HYPERLINK(1),,29683002\n"
    )


def test_the_engine_reaches_the_writer_through_the_entry_point() -> None:
    rows = exported_companies(
        [Company(0, "Owner company"), Company(7, "Fabrikam"), Company(8, "Gone", active=False)]
    )
    assert rows == [NewOrganization(7, "Fabrikam", "")]
    assert (
        organization_import_csv(rows) == "Organization Name,Customer Number,AutotaskCompanyID\nFabrikam,,7\n"
    )
