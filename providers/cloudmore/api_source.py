"""The Cloudmore API as a billsync source: the same source model an export bundle gives, read live.

:meth:`ApiSource.load` reads, in order: the organizations (with their services and the
``AutotaskCompanyID`` custom property), the service catalogue, every service's subscriptions and the
Azure subscriptions, the broker price list, the list of published monthly reports, and each
published report through the asynchronous report call. It checks what the export-bundle reader
checks (unique ids, known organizations, one row per organization service and report date), so a
plan sees the same data whichever way it arrived.

Order: organizations, price-list items, reports and billing lines keep the API's order; an
organization's services follow it. Subscriptions come from several lists (one per service), so they
are ordered by subscription id: the same subscriptions always give the same source model. A
subscription listed by two services is kept once when both copies agree.

Records of types billsync does not bill (subscriptions and lines of other services, such as a PSA
licence) are left out, as an export bundle leaves them out. A report's ``file`` is the name
``billsync export-bundle`` gives its billing file: ``billing/<period>.csv`` for the first
publication of a month, ``billing/<period>-rev<N>.csv`` for its Nth revision.

It is also an :class:`engine.provider.OrganizationDirectory` for onboarding (D2): it lists the
organizations alone, creates an organization carrying ``AutotaskCompanyID`` (one request, never sent
twice), and sets that custom property on an existing one (one request).
"""

from __future__ import annotations

from datetime import date

from engine.errors import SourceError
from engine.source import (
    BillingLine,
    Organization,
    OrganizationService,
    PriceListItem,
    Report,
    SourceData,
    Subscription,
)
from providers.cloudmore import api_mapping as m
from providers.cloudmore import api_paths as paths
from providers.cloudmore.api_client import CloudmoreClient

__all__ = ["ApiSource", "report_file_name"]


def report_file_name(period: str, revision: int) -> str:
    """The billing file of a month's publication in an export bundle: 0 is the original, N the Nth revision."""
    return f"billing/{period}.csv" if revision == 0 else f"billing/{period}-rev{revision}.csv"


class ApiSource:
    """A Cloudmore broker read through the API (implements :class:`engine.provider.Source` and
    :class:`engine.provider.OrganizationDirectory`)."""

    def __init__(self, client: CloudmoreClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"ApiSource({self.client!r})"

    def describe(self) -> str:
        config = self.client.config
        return f"Cloudmore API {config.base_url} (reseller {config.reseller_id})"

    def close(self) -> None:
        self.client.close()

    def load(self) -> SourceData:
        """Read everything (see the module docstring); the connections are closed when it is done."""
        reseller = self.client.config.reseller_id
        try:
            organizations, services = self._organizations(reseller)
            known = {organization.organization_id for organization in organizations}
            return SourceData(
                organizations=organizations,
                services=services,
                subscriptions=self._subscriptions(reseller, known),
                price_list=self._price_list(reseller),
                reports=self._reports(reseller, known),
                origin=self.describe(),
            )
        finally:
            self.client.close()

    def list_organizations(self) -> tuple[Organization, ...]:
        """Every organization, active or not, checked as :meth:`load` checks them; nothing else is read."""
        return self._organizations(self.client.config.reseller_id)[0]

    def create_organization(self, name: str, customer_number: str, autotask_company_id: int) -> str:
        """Create an organization linked to an Autotask company (D2); return the id Cloudmore gave it."""
        path = paths.organizations_path(self.client.config.reseller_id)
        answer = self.client.create(
            path,
            m.organization_request(name, customer_number, autotask_company_id),
            what=f"the creation of organization {name!r} (AutotaskCompanyID {autotask_company_id})",
        )
        return m.created_organization_id(answer)

    def set_company_link(self, organization_id: str, company_id: int) -> None:
        """Set the organization's ``AutotaskCompanyID`` custom property to ``company_id`` (D1)."""
        path = paths.organization_property_path(
            self.client.config.reseller_id, organization_id, m.AUTOTASK_COMPANY_PROPERTY
        )
        self.client.put(path, m.custom_property_request(str(company_id)))

    def _organizations(
        self, reseller: str
    ) -> tuple[tuple[Organization, ...], tuple[OrganizationService, ...]]:
        organizations: list[Organization] = []
        services: list[OrganizationService] = []
        seen: dict[str, str] = {}
        path = paths.organizations_path(reseller)
        for item in self.client.get_list(path, m.ORGANIZATIONS_QUERY):
            organization, own = m.organization_from_json(item)
            _unique(item, m.ORG_ID, organization.organization_id, seen, "organization")
            names: dict[str, str] = {}
            for service in own:
                if service.service_name in names:
                    raise SourceError(
                        f"the service {service.service_name!r} is listed twice for organization "
                        f"{organization.organization_id!r} (also at {names[service.service_name]})",
                        file=service.origin,
                    )
                names[service.service_name] = service.origin
            organizations.append(organization)
            services.extend(own)
        return tuple(organizations), tuple(services)

    def _subscriptions(self, reseller: str, known: set[str]) -> tuple[Subscription, ...]:
        lists = [
            paths.service_subscriptions_path(reseller, entry.service_id)
            for entry in map(m.service_from_json, self.client.get_list(paths.services_path(reseller)))
        ]
        lists.append(paths.azure_subscriptions_path(reseller))
        found: dict[str, Subscription] = {}
        for path in dict.fromkeys(lists):
            for item in self.client.get_list(path):
                subscription = m.subscription_from_json(item)
                if subscription is None:
                    continue
                _known(item, m.SUB_ORGANIZATION_ID, subscription.organization_id, known)
                earlier = found.get(subscription.subscription_id)
                if earlier is None:
                    found[subscription.subscription_id] = subscription
                elif earlier.model_copy(update={"origin": ""}) != subscription.model_copy(
                    update={"origin": ""}
                ):
                    raise item.error(
                        m.SUB_ID,
                        f"the subscription {subscription.subscription_id!r} is also listed at {earlier.origin} "
                        "with other values; billsync cannot tell which is right",
                    )
        return tuple(found[key] for key in sorted(found))

    def _price_list(self, reseller: str) -> tuple[PriceListItem, ...]:
        seen: dict[str, str] = {}
        result = []
        for item in self.client.get_list(paths.price_list_path(reseller)):
            price = m.price_from_json(item)
            _unique(item, m.PRICE_PRODUCT_ID, price.product_id, seen, "product")
            result.append(price)
        return tuple(result)

    def _reports(self, reseller: str, known: set[str]) -> tuple[Report, ...]:
        publications = [
            m.publication_from_json(item)
            for item in self.client.get_list(paths.published_reports_path(reseller))
        ]
        seen: set[tuple[str, date]] = set()
        revisions = _revision_numbers(publications)
        reports = []
        for publication in publications:
            key = (publication.period, publication.available_on)
            if key in seen:
                raise SourceError(
                    f"the {publication.period} report published on {publication.available_on.isoformat()} is "
                    "listed twice",
                    file=paths.published_reports_path(reseller),
                )
            seen.add(key)
            lines = self._lines(publication, known)
            reports.append(
                Report(
                    period=publication.period,
                    available_on=publication.available_on,
                    file=report_file_name(publication.period, revisions[key]),
                    lines=lines,
                    origin=f"{paths.published_reports_path(reseller)} {publication.period} "
                    f"published {publication.available_on.isoformat()}",
                )
            )
        return tuple(reports)

    def _lines(self, publication: m.Publication, known: set[str]) -> tuple[BillingLine, ...]:
        label = f"billing {publication.period} published {publication.available_on.isoformat()}"
        lines = []
        for item in self.client.run_report(publication):
            line = m.billing_line_from_json(item, f"{label} line {item.index}")
            if line is None:
                continue
            _known(item, m.LINE_ORGANIZATION_ID, line.organization_id, known)
            lines.append(line)
        return tuple(lines)


def _revision_numbers(publications: list[m.Publication]) -> dict[tuple[str, date], int]:
    """Per month, each publication's rank by date: 0 for the first, 1 for the first revision, …"""
    by_period: dict[str, list[date]] = {}
    for publication in publications:
        by_period.setdefault(publication.period, []).append(publication.available_on)
    return {
        (period, day): rank
        for period, days in by_period.items()
        for rank, day in enumerate(sorted(set(days)))
    }


def _unique(item: m.Item, name: str, value: str, seen: dict[str, str], what: str) -> None:
    if value in seen:
        raise item.error(name, f"duplicate {what} id {value!r}: it is already listed at {seen[value]}")
    seen[value] = item.origin


def _known(item: m.Item, name: str, organization_id: str, known: set[str]) -> None:
    if organization_id not in known:
        raise item.error(
            name,
            f"unknown organization {organization_id!r}: Cloudmore did not list it among the reseller's "
            "organizations",
        )
