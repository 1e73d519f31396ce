"""The Cloudmore API as a billsync source: the same source model an export bundle gives, read live.

:meth:`ApiSource.load` reads, in order: the organizations (with their services and the
``AutotaskCompanyID`` custom property), the service catalogue, every service's subscriptions and the
Azure subscriptions, every service's price list merged with the organizations' own prices, and the
monthly billing report of each month due (:class:`~providers.cloudmore.api_config.ReportSchedule`).
It checks what the export-bundle reader checks (unique ids, known organizations, one row per
organization service), so a plan sees the same data whichever way it arrived.

Cloudmore lists no published reports, so a month's report is dated ``availability_day`` of the next
month and named ``billing/<period>.csv`` as ``billsync export-bundle`` names a first publication. A
month whose report is still empty, or still being generated after the bounded wait, is left out with
a notice ("not yet available"), never billed as zero, and asked for again on the next run. A report
that changed since it was applied is told apart by the engine, by its content digest (D20).

Price lists: the broker prices of each service, in service order (a product listed by two services
must agree). An organization's own price for a broker product does not change the Autotask service,
which carries the broker price (D10; the month's amounts come from the report anyway): it is named in
a notice. A product only organizations price is added with the first organization's price.

Order: organizations, price-list items and report lines keep the API's order; subscriptions come
from several lists, so they are ordered by subscription id. Records of types billsync does not bill
are left out, as an export bundle leaves them out.

It is also an :class:`engine.provider.OrganizationDirectory` for onboarding (D2): it lists the
organizations alone, creates an organization carrying ``AutotaskCompanyID`` (``POST``, never sent
twice), and sets that custom property on an existing one (``GET`` it, then ``PUT`` it back whole).
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
from providers.cloudmore.api_config import ReportSchedule
from providers.cloudmore.api_errors import CloudmoreReportNotReady

__all__ = ["ApiSource", "availability_date", "due_months", "report_file_name"]

_SHOWN_PRODUCTS = 3


def report_file_name(period: str, revision: int) -> str:
    """The billing file of a month's publication in an export bundle: 0 is the original, N the Nth revision."""
    return f"billing/{period}.csv" if revision == 0 else f"billing/{period}-rev{revision}.csv"


def availability_date(period: str, day: int) -> date:
    """The day the report of ``period`` is taken as available: ``day`` of the next month."""
    year, month = int(period[:4]), int(period[5:7])
    return date(year + month // 12, month % 12 + 1, day)


def due_months(as_of: date, schedule: ReportSchedule) -> list[str]:
    """The months to request on ``as_of``, oldest first: the latest available one (available strictly
    before ``as_of``, D7) and the ``months - 1`` before it, none before ``first_period``."""
    year, month = as_of.year, as_of.month - 1  # the month before as_of's month is the latest candidate
    if as_of.day <= schedule.availability_day:
        month -= 1
    months = []
    for _ in range(schedule.months):
        while month < 1:
            year, month = year - 1, month + 12
        period = f"{year:04d}-{month:02d}"
        if schedule.first_period is not None and period < schedule.first_period:
            break
        months.append(period)
        month -= 1
    return sorted(months)


class ApiSource:
    """A Cloudmore broker read through the API (implements :class:`engine.provider.Source` and
    :class:`engine.provider.OrganizationDirectory`)."""

    def __init__(
        self, client: CloudmoreClient, currency: str, schedule: ReportSchedule | None = None
    ) -> None:
        self.client = client
        self.currency = currency
        self.schedule = schedule or ReportSchedule()

    def __repr__(self) -> str:
        return f"ApiSource({self.client!r})"

    def describe(self) -> str:
        config = self.client.config
        return f"Cloudmore API {config.base_url} (reseller {config.reseller_id})"

    def close(self) -> None:
        self.client.close()

    def load(self, as_of: date | None = None) -> SourceData:
        """Read everything due on ``as_of`` (default today; see the module docstring); the connections
        are closed when it is done."""
        reseller = self.client.config.reseller_id
        notices: list[str] = []
        try:
            organizations, services = self._organizations(reseller)
            known = {organization.organization_id for organization in organizations}
            catalogue = [
                m.service_from_json(item, self.client.names)
                for item in self.client.get_list(paths.services_path(reseller))
            ]
            subscriptions = self._subscriptions(reseller, catalogue, known)
            price_list = self._price_list(reseller, catalogue, organizations, services, notices)
            reports = self._reports(as_of or date.today(), known, notices)
            return SourceData(
                organizations=organizations,
                services=services,
                subscriptions=subscriptions,
                price_list=price_list,
                reports=reports,
                origin=self.describe(),
                notices=tuple(notices),
            )
        finally:
            self.client.close()

    def list_organizations(self) -> tuple[Organization, ...]:
        """Every organization, active or not, checked as :meth:`load` checks them; nothing else is read."""
        return self._organizations(self.client.config.reseller_id)[0]

    def create_organization(self, name: str, customer_number: str, autotask_company_id: int) -> str:
        """Create an organization linked to an Autotask company (D2); return the id Cloudmore gave it."""
        names = self.client.names
        path = paths.organizations_path(self.client.config.reseller_id)
        answer = self.client.create(
            path,
            m.organization_request(name, customer_number, autotask_company_id, names),
            what=f"the creation of organization {name!r} (AutotaskCompanyID {autotask_company_id})",
        )
        return m.created_organization_id(answer, names)

    def set_company_link(self, organization_id: str, company_id: int) -> None:
        """Set the organization's ``AutotaskCompanyID`` custom property to ``company_id`` (D1): the
        organization is read and written back whole, so its other fields keep their values."""
        path = paths.organization_path(self.client.config.reseller_id, organization_id)
        current = self.client.get_object(path)
        self.client.put(path, m.organization_update(current, company_id, self.client.names))

    def _organizations(
        self, reseller: str
    ) -> tuple[tuple[Organization, ...], tuple[OrganizationService, ...]]:
        organizations: list[Organization] = []
        services: list[OrganizationService] = []
        seen: dict[str, str] = {}
        names = self.client.names
        path = paths.organizations_path(reseller)
        for item in self.client.get_list(path, m.ORGANIZATIONS_QUERY):
            organization, own = m.organization_from_json(item, names)
            _unique(item, names.organization.id, organization.organization_id, seen, "organization")
            listed: dict[str, str] = {}
            for service in own:
                if service.service_name in listed:
                    raise SourceError(
                        f"the service {service.service_name!r} is listed twice for organization "
                        f"{organization.organization_id!r} (also at {listed[service.service_name]})",
                        file=service.origin,
                    )
                listed[service.service_name] = service.origin
            organizations.append(organization)
            services.extend(own)
        return tuple(organizations), tuple(services)

    def _subscriptions(
        self, reseller: str, catalogue: list[m.ServiceEntry], known: set[str]
    ) -> tuple[Subscription, ...]:
        names = self.client.names
        lists = [paths.service_subscriptions_path(reseller, entry.service_id) for entry in catalogue]
        lists.append(paths.azure_subscriptions_path(reseller))
        found: dict[str, Subscription] = {}
        for path in dict.fromkeys(lists):
            for item in self.client.get_list(path):
                subscription = m.subscription_from_json(item, names)
                if subscription is None:
                    continue
                _known(item, names.subscription.organization_id, subscription.organization_id, known)
                earlier = found.get(subscription.subscription_id)
                if earlier is None:
                    found[subscription.subscription_id] = subscription
                elif not _same(earlier, subscription):
                    raise item.error(
                        names.subscription.id,
                        f"the subscription {subscription.subscription_id!r} is also listed at {earlier.origin} "
                        "with other values; billsync cannot tell which is right",
                    )
        return tuple(found[key] for key in sorted(found))

    def _price_list(
        self,
        reseller: str,
        catalogue: list[m.ServiceEntry],
        organizations: tuple[Organization, ...],
        services: tuple[OrganizationService, ...],
        notices: list[str],
    ) -> tuple[PriceListItem, ...]:
        names = self.client.names
        query = {names.price.currency_param: self.currency}
        merged: dict[str, PriceListItem] = {}
        for entry in catalogue:
            for item in self.client.get_list(
                paths.service_price_list_path(reseller, entry.service_id), query
            ):
                price = m.price_from_json(item, names)
                earlier = merged.get(price.product_id)
                if earlier is not None and not _same(earlier, price):
                    raise item.error(
                        names.price.product_id,
                        f"duplicate product id {price.product_id!r} with other prices: it is already listed "
                        f"at {earlier.origin}",
                    )
                merged.setdefault(price.product_id, price)
        broker = set(merged)
        service_ids = {entry.name: entry.service_id for entry in catalogue}
        for organization in organizations:
            own: list[str] = []
            for service in services:
                service_id = service_ids.get(service.service_name)
                if service.organization_id != organization.organization_id or service_id is None:
                    continue
                path = paths.organization_price_list_path(reseller, organization.organization_id, service_id)
                for item in self.client.get_list(path, query):
                    price = m.price_from_json(item, names)
                    if price.product_id not in broker:
                        merged.setdefault(price.product_id, price)
                    elif _prices(price) != _prices(merged[price.product_id]):
                        own.append(price.product_id)
            if own:
                shown = ", ".join(own[:_SHOWN_PRODUCTS]) + (" …" if len(own) > _SHOWN_PRODUCTS else "")
                notices.append(
                    f"organization {organization.organization_id} has its own prices for {len(own)} "
                    f"product{'s' if len(own) != 1 else ''} ({shown}); the Autotask services keep the broker "
                    "prices (D10) and the months are billed at the billing report's amounts"
                )
        return tuple(merged.values())

    def _reports(self, as_of: date, known: set[str], notices: list[str]) -> tuple[Report, ...]:
        reports = []
        for period in due_months(as_of, self.schedule):
            try:
                answer = self.client.run_report(period)
            except CloudmoreReportNotReady:
                notices.append(
                    _not_yet(period, "Cloudmore was still generating it when billsync stopped waiting")
                )
                continue
            lines = self._lines(answer, period, known)
            if not lines:
                notices.append(_not_yet(period, "Cloudmore's report for it holds no billing line"))
                continue
            available_on = availability_date(period, self.schedule.availability_day)
            reports.append(
                Report(
                    period=period,
                    available_on=available_on,
                    file=report_file_name(period, 0),
                    lines=lines,
                    origin=f"{paths.report_start_path(self.client.config.reseller_id)} {period}",
                )
            )
        return tuple(reports)

    def _lines(self, answer: m.Item, period: str, known: set[str]) -> tuple[BillingLine, ...]:
        names = self.client.names
        lines = []
        for product, line in m.report_lines(answer, names, f"billing {period}"):
            _known(product, names.report_organization.id, line.organization_id, known)
            lines.append(line)
        return tuple(lines)


def _not_yet(period: str, why: str) -> str:
    return (
        f"the {period} billing report is not yet available ({why}); nothing of {period} is billed, and the "
        "next run asks for it again"
    )


def _same(first: Subscription | PriceListItem, second: Subscription | PriceListItem) -> bool:
    return first.model_copy(update={"origin": ""}) == second.model_copy(update={"origin": ""})


def _prices(price: PriceListItem) -> tuple[object, ...]:
    return (price.unit_cost_price, price.unit_sales_price, price.currency)


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
