"""Onboarding (D2): Autotask companies → Cloudmore organizations, and linking by exact name.

Pure functions; the CLI reads companies from the target and writes the files. A link is only ever
proposed on an exact match of names with case and spaces folded — never on a fuzzy match.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.source import Organization

EXPORT_COLUMNS = ("Organization Name", "Customer Number", "AutotaskCompanyID")
"""Columns of Cloudmore's organization bulk-import file that billsync fills."""


def fold_name(name: str) -> str:
    """Case and spaces folded: ``"  Contoso   LTD "`` → ``"contoso ltd"``."""
    return " ".join(name.split()).casefold()


def export_companies_csv(companies: Iterable[Mapping[str, Any]]) -> str:
    """Active customer companies as a Cloudmore organization bulk-import CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for company in companies:
        if company.get("isActive") is False or int(company["id"]) == 0:
            continue
        writer.writerow(
            [company.get("companyName", ""), company.get("companyNumber") or "", int(company["id"])]
        )
    return out.getvalue()


@dataclass(frozen=True)
class LinkProposal:
    organization_id: str
    organization_name: str
    company_id: int | None
    company_name: str
    reason: str


def propose_links(
    organizations: Iterable[Organization],
    linked: Mapping[str, int],
    companies: Iterable[Mapping[str, Any]],
) -> list[LinkProposal]:
    """For every unlinked organization, the one company with the same folded name, if exactly one."""
    by_name: dict[str, list[Mapping[str, Any]]] = {}
    for company in companies:
        if int(company["id"]) == 0:
            continue
        by_name.setdefault(fold_name(str(company.get("companyName", ""))), []).append(company)
    proposals = []
    for org in sorted(organizations, key=lambda o: o.organization_id):
        if org.autotask_company_id is not None or org.organization_id in linked:
            continue
        matches = by_name.get(fold_name(org.name), [])
        if len(matches) == 1:
            company = matches[0]
            proposals.append(
                LinkProposal(
                    org.organization_id,
                    org.name,
                    int(company["id"]),
                    str(company["companyName"]),
                    "same name",
                )
            )
        else:
            reason = (
                "no company with this name" if not matches else f"{len(matches)} companies with this name"
            )
            proposals.append(LinkProposal(org.organization_id, org.name, None, "", reason))
    return proposals
