"""Onboarding (D2): Autotask companies → Cloudmore organizations, and linking by exact name.

The CLI reads companies from the target and writes the files, or, with the Cloudmore API source,
writes Cloudmore itself through :class:`~engine.provider.OrganizationDirectory`. A link is only ever
proposed on an exact match of names with case and spaces folded — never on a fuzzy match.

Creating organizations is planned like everything else: :func:`plan_organizations` lists the active
customer companies no organization is linked to, :func:`organization_plan_text` shows them, and
:func:`create_organizations` creates exactly those. The link (``AutotaskCompanyID``) is each created
organization's identity, so a re-run after an apply, even an interrupted one, plans only what is missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from engine.errors import BillsyncError
from engine.provider import Company, OrganizationDirectory
from engine.source import Organization
from engine.textsafe import visible

__all__ = [
    "HeldCompany",
    "LinkProposal",
    "NewOrganization",
    "OrganizationPlan",
    "create_organizations",
    "exported_companies",
    "fold_name",
    "organization_plan_text",
    "plan_organizations",
    "propose_links",
    "write_links",
]


def fold_name(name: str) -> str:
    """Case and spaces folded: ``"  Contoso   LTD "`` → ``"contoso ltd"``."""
    return " ".join(name.split()).casefold()


def _exported(company: Company) -> bool:
    """An active customer company: not the owner company (id 0), not inactive."""
    return company.active and company.id != 0


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
    companies: Iterable[Company],
) -> list[LinkProposal]:
    """For every unlinked organization, the one company with the same folded name, if exactly one."""
    by_name: dict[str, list[Company]] = {}
    for company in companies:
        if company.id == 0:
            continue
        by_name.setdefault(fold_name(company.name), []).append(company)
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
                    company.id,
                    company.name,
                    "same name",
                )
            )
        else:
            reason = (
                "no company with this name" if not matches else f"{len(matches)} companies with this name"
            )
            proposals.append(LinkProposal(org.organization_id, org.name, None, "", reason))
    return proposals


@dataclass(frozen=True)
class NewOrganization:
    """An organization to create in Cloudmore for an Autotask company."""

    company_id: int
    name: str
    customer_number: str


def exported_companies(companies: Iterable[Company]) -> list[NewOrganization]:
    """The rows of the organization bulk-import file: every active customer company, in Autotask's order,
    its name and number as Autotask holds them (the file is for a person to review before uploading)."""
    return [
        NewOrganization(company.id, company.name, company.number)
        for company in companies
        if _exported(company)
    ]


@dataclass(frozen=True)
class HeldCompany:
    """An unlinked company billsync will not create an organization for, and why."""

    company_id: int
    company_name: str
    reason: str


@dataclass(frozen=True)
class OrganizationPlan:
    create: tuple[NewOrganization, ...]
    held: tuple[HeldCompany, ...]


def plan_organizations(
    companies: Iterable[Company],
    organizations: Iterable[Organization],
    linked: Mapping[str, int],
) -> OrganizationPlan:
    """The organizations to create: one per active customer company that no organization is linked to.

    An organization, active or not, is linked to a company by its ``AutotaskCompanyID`` or by ``linked``
    (the links of rules/companies.yaml; a link naming no listed organization counts for nothing). A company whose exact (folded) name an unlinked organization
    already carries is held back: creating a second organization would duplicate that customer in
    Cloudmore, so it is pointed to ``companies link`` instead.
    """
    known = list(organizations)
    ids = {o.organization_id for o in known}
    covered = {o.autotask_company_id for o in known if o.autotask_company_id is not None}
    covered |= {company_id for org_id, company_id in linked.items() if org_id in ids}
    unlinked_names: dict[str, list[str]] = {}
    for org in known:
        if org.autotask_company_id is None and org.organization_id not in linked:
            unlinked_names.setdefault(fold_name(org.name), []).append(org.organization_id)
    create: list[NewOrganization] = []
    held: list[HeldCompany] = []
    for company in sorted(companies, key=lambda c: c.id):
        company_id = company.id
        if not _exported(company) or company_id in covered:
            continue
        name = company.name.strip()
        namesakes = unlinked_names.get(fold_name(name), [])
        if not name:
            held.append(HeldCompany(company_id, name, "it has no name in Autotask"))
        elif namesakes:
            which = ", ".join(sorted(namesakes))
            one = len(namesakes) == 1
            held.append(
                HeldCompany(
                    company_id,
                    name,
                    f"Cloudmore organization{'' if one else 's'} {which} {'has' if one else 'have'} this name "
                    "and no AutotaskCompanyID; link it with `billsync companies link --to cloudmore`",
                )
            )
        else:
            create.append(NewOrganization(company_id, name, company.number.strip()))
    return OrganizationPlan(tuple(create), tuple(held))


def organization_plan_text(plan: OrganizationPlan, where: str) -> str:
    """The plan as text: one ``+ organization`` line per organization to create, then a summary."""
    lines: list[str] = []
    if plan.create:
        lines += [f"billsync will create these organizations in {where}:", ""]
        lines += [
            f"  + organization {_quoted(new.name)} (AutotaskCompanyID {new.company_id})"
            for new in plan.create
        ]
        lines.append("")
    for company in plan.held:
        lines.append(
            f"Not created: company {company.company_id} {_quoted(company.company_name)}: {company.reason}."
        )
    if plan.held:
        lines.append("")
    if not plan.create and not plan.held:
        lines.append("No changes: every active Autotask company has a Cloudmore organization.")
    else:
        count = len(plan.create)
        lines.append(f"Plan: {count} organization{'' if count == 1 else 's'} to create in Cloudmore.")
    return "".join(visible(line) + "\n" for line in lines)


def create_organizations(
    directory: OrganizationDirectory,
    plan: OrganizationPlan,
    created: Callable[[NewOrganization, str], None],
) -> int:
    """Create the planned organizations in order; ``created`` hears of each (with its new id) at once.

    On an error, the ones created before it stay (they carry their link, so a re-plan skips them) and
    the error says how many there were.
    """
    for done, new in enumerate(plan.create):
        try:
            organization_id = directory.create_organization(new.name, new.customer_number, new.company_id)
        except BillsyncError as exc:
            raise _stopped(exc, done, len(plan.create), "organizations were created") from exc
        created(new, organization_id)
    return len(plan.create)


def write_links(
    directory: OrganizationDirectory,
    proposals: Iterable[LinkProposal],
    written: Callable[[LinkProposal], None],
) -> int:
    """Set ``AutotaskCompanyID`` on each organization an exact-name proposal links (one request each)."""
    confirmed = [(p, p.company_id) for p in proposals if p.company_id is not None]
    for done, (proposal, company_id) in enumerate(confirmed):
        try:
            directory.set_company_link(proposal.organization_id, company_id)
        except BillsyncError as exc:
            raise _stopped(exc, done, len(confirmed), "links were written") from exc
        written(proposal)
    return len(confirmed)


def _stopped(exc: BillsyncError, done: int, total: int, what: str) -> BillsyncError:
    """The error with how far the writes got, as one paragraph (the hint stays last)."""
    message = exc.message.rstrip()
    ended = message if message.endswith(".") else message + "."
    return BillsyncError(f"{ended} {done} of {total} {what} before it.", hint=exc.hint)


def _quoted(name: str) -> str:
    """A name in double quotes, with any quote inside escaped: ``"Contoso Ltd"``."""
    return json.dumps(name, ensure_ascii=False)
