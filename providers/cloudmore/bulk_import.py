"""Cloudmore's organization bulk-import file (D2): the CSV a reseller uploads in the Cloudmore portal to
create organizations, here carrying each Autotask company's id as ``AutotaskCompanyID``.

Which companies get a row is billing policy and stays in the engine (:mod:`engine.onboarding`); the
columns and their order are Cloudmore's, so they live with the Cloudmore provider. The engine reaches
:func:`organization_import_csv` through the ``billsync.providers`` entry point
``cloudmore-organization-import`` and imports nothing from here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from engine.csvsafe import neutralise_row
from engine.onboarding import NewOrganization

__all__ = ["COLUMNS", "organization_import_csv"]

COLUMNS = ("Organization Name", "Customer Number", "AutotaskCompanyID")
"""Columns of Cloudmore's organization bulk-import file that billsync fills."""


def organization_import_csv(organizations: Iterable[NewOrganization]) -> str:
    """One row per organization, formula cells neutralised (a company name is Autotask data)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for new in organizations:
        writer.writerow(neutralise_row([new.name, new.customer_number, new.company_id]))
    return out.getvalue()
