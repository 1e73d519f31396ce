"""Onboarding through the Cloudmore API (D2) over the in-process emulator: the plan of organizations to
create, the exact requests an apply sends, re-runs that send nothing, links written to the
``AutotaskCompanyID`` custom property, and writes that are never sent twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import BillsyncError
from engine.onboarding import (
    HeldCompany,
    NewOrganization,
    OrganizationPlan,
    create_organizations,
    organization_plan_text,
    plan_organizations,
    propose_links,
    write_links,
)
from engine.provider import Company, OrganizationDirectory
from providers.cloudmore import ApiSource, BundleSource
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials
from providers.cloudmore.api_errors import CloudmoreError, CloudmoreWriteUnknown
from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    EmulatorApp,
    RecordedWrite,
    make_app,
)

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-11-07"
CREDENTIALS = ApiCredentials.from_env(EMULATOR_CREDENTIALS.environment())
ORGS = f"/api/resellers/{EMULATOR_RESELLER_ID}/Organizations"
WHERE = f"Cloudmore API http://cloudmore.test (reseller {EMULATOR_RESELLER_ID})"
DEMO = {
    101: "Contoso Ltd",
    102: "Fabrikam Inc",
    103: "Northwind Traders",
    104: "Tailspin Toys",
    105: "Adventure Works Cycles",
}
"""The Autotask sandbox's demo customer companies; the example organizations ORG-1001..1005 link them."""
SECRETS = (EMULATOR_CREDENTIALS.api_secret, EMULATOR_CREDENTIALS.password, EMULATOR_CREDENTIALS.username)


def _company(company_id: int, name: str, number: str | None = None, active: bool = True) -> Company:
    """A company as the Autotask target lists it."""
    return Company(company_id, name, number or "", active)


def _companies(*extra: Company) -> list[Company]:
    owner = _company(0, "Demo MSP (owner)", "C-0")
    return [owner, *(_company(i, name, f"C-{i}") for i, name in DEMO.items()), *extra]


class _LoseAnswer(httpx.BaseTransport):
    """The wire drops the connection after a create reached the emulator (its answer is lost)."""

    def __init__(self, app: EmulatorApp) -> None:
        self.inner = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (request.method, request.url.path) == ("POST", ORGS):
            raise httpx.ReadError("connection reset", request=request)
        return response


class _RefuseConnection(httpx.BaseTransport):
    """The first connection for a create is refused before anything is sent."""

    def __init__(self, app: EmulatorApp) -> None:
        self.inner = httpx.WSGITransport(app=app)
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if (request.method, request.url.path) == ("POST", ORGS) and not self.refused:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return self.inner.handle_request(request)


def _source(app: EmulatorApp, transport: httpx.BaseTransport | None = None) -> ApiSource:
    config = ApiClientConfig(base_url="http://cloudmore.test", reseller_id=EMULATOR_RESELLER_ID)
    wire = transport if transport is not None else httpx.WSGITransport(app=app)
    return ApiSource(CloudmoreClient(CREDENTIALS, config, transport=wire, sleep=lambda _s: None), "USD")


def _without(app: EmulatorApp, *organization_ids: str) -> EmulatorApp:
    """The emulator with these example organizations gone from Cloudmore."""
    docs = app.documents
    docs.organizations = [o for o in docs.organizations if o["id"] not in organization_ids]
    return app


def _unlinked(app: EmulatorApp, organization_id: str, name: str | None = None) -> None:
    """Clear an organization's custom properties (and rename it), as if it were never linked."""
    docs = app.documents
    for index, organization in enumerate(docs.organizations):
        if organization["id"] == organization_id:
            renamed = {"name": name} if name is not None else {}
            docs.organizations[index] = {**organization, "customProperties": [], **renamed}


def _created(app: EmulatorApp) -> list[dict[str, Any]]:
    """The organizations the emulator holds beyond the example's six."""
    return [o for o in app.documents.organizations if not str(o["id"]).startswith("ORG-")]


def _create_request(name: str, number: str, company_id: int) -> RecordedWrite:
    body = {
        "name": name,
        "customerNumber": number,
        "customProperties": [{"name": "AutotaskCompanyID", "value": str(company_id)}],
    }
    return RecordedWrite("POST", ORGS, body)


def _link_request(app: EmulatorApp, organization_id: str, company_id: int) -> RecordedWrite:
    """The PUT of the organization as the emulator holds it now, with only its link changed."""
    [organization] = [o for o in app.documents.organizations if o["id"] == organization_id]
    kept = [p for p in organization["customProperties"] if p["name"] != "AutotaskCompanyID"]
    link = {"name": "AutotaskCompanyID", "value": str(company_id)}
    return RecordedWrite(
        "PUT", f"{ORGS}/{organization_id}", {**organization, "customProperties": [*kept, link]}
    )


def _plan(
    source: ApiSource, companies: list[Company], linked: dict[str, int] | None = None
) -> OrganizationPlan:
    return plan_organizations(companies, source.list_organizations(), linked or {})


# -- the protocol ---------------------------------------------------------------------------------------


def test_the_api_source_is_an_organization_directory_and_a_bundle_is_not() -> None:
    assert isinstance(_source(make_app(EXAMPLE)), OrganizationDirectory)
    assert not isinstance(BundleSource(EXAMPLE), OrganizationDirectory)


def test_listing_organizations_reads_only_the_organizations() -> None:
    app = make_app(EXAMPLE)
    organizations = _source(app).list_organizations()
    assert [(o.organization_id, o.autotask_company_id) for o in organizations] == [
        ("ORG-1001", 101),
        ("ORG-1002", 102),
        ("ORG-1003", 103),
        ("ORG-1004", 104),
        ("ORG-1005", 105),
        ("ORG-1006", None),
    ]
    assert app.stats().requests == {"token": 1, "organizations": 1}


# -- the plan -------------------------------------------------------------------------------------------


def test_the_example_organizations_cover_every_demo_company() -> None:
    plan = _plan(_source(make_app(EXAMPLE)), _companies())
    assert plan == OrganizationPlan((), ())
    assert organization_plan_text(plan, WHERE) == (
        "No changes: every active Autotask company has a Cloudmore organization.\n"
    )


def test_the_plan_lists_each_company_without_an_organization_skipping_the_owner_and_inactive_ones() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1002", "ORG-1005")
    companies = _companies(
        _company(106, "Litware, Inc.", "C-106"), _company(107, "Old Customer", "C-107", active=False)
    )
    plan = _plan(_source(app), companies)
    assert plan.create == (
        NewOrganization(102, "Fabrikam Inc", "C-102"),
        NewOrganization(105, "Adventure Works Cycles", "C-105"),
        NewOrganization(106, "Litware, Inc.", "C-106"),
    )
    assert organization_plan_text(plan, WHERE) == (
        f"billsync will create these organizations in {WHERE}:\n"
        "\n"
        '  + organization "Fabrikam Inc" (AutotaskCompanyID 102)\n'
        '  + organization "Adventure Works Cycles" (AutotaskCompanyID 105)\n'
        '  + organization "Litware, Inc." (AutotaskCompanyID 106)\n'
        "\n"
        "Plan: 3 organizations to create in Cloudmore.\n"
    )
    assert app.writes() == []


def test_an_inactive_organization_still_counts_as_the_companys_organization() -> None:
    app = make_app(EXAMPLE)
    app.documents.organizations[1] = {**app.documents.organizations[1], "services": []}
    assert _plan(_source(app), _companies()).create == ()


def test_links_in_companies_yaml_count_unless_they_name_no_organization() -> None:
    source = _source(make_app(EXAMPLE))
    wingtip = _company(106, "Wingtip Toys Holding", "C-106")
    assert _plan(source, _companies(wingtip), {"ORG-1006": 106}).create == ()
    assert _plan(source, _companies(wingtip), {"ORG-GONE": 106}).create == (
        NewOrganization(106, "Wingtip Toys Holding", "C-106"),
    )


def test_a_company_whose_name_an_unlinked_organization_carries_is_held_for_linking() -> None:
    plan = _plan(_source(make_app(EXAMPLE)), _companies(_company(106, "  wingtip   TOYS ", "C-106")))
    reason = (
        "Cloudmore organization ORG-1006 has this name and no AutotaskCompanyID; link it with "
        "`billsync companies link --to cloudmore`"
    )
    assert plan == OrganizationPlan((), (HeldCompany(106, "wingtip   TOYS", reason),))
    assert organization_plan_text(plan, WHERE) == (
        f'Not created: company 106 "wingtip   TOYS": {reason}.\n\nPlan: 0 organizations to create in Cloudmore.\n'
    )


# -- apply ----------------------------------------------------------------------------------------------


def test_apply_sends_one_create_per_planned_organization_and_a_rerun_sends_nothing() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1002", "ORG-1005")
    source = _source(app)
    companies = _companies(_company(106, 'Litware "Labs"', None))
    heard: list[tuple[int, str]] = []

    count = create_organizations(
        source, _plan(source, companies), lambda new, oid: heard.append((new.company_id, oid))
    )

    assert count == 3
    assert app.writes() == [
        _create_request("Fabrikam Inc", "C-102", 102),
        _create_request("Adventure Works Cycles", "C-105", 105),
        _create_request('Litware "Labs"', "", 106),
    ]
    assert heard == [
        (102, _created(app)[0]["id"]),
        (105, _created(app)[1]["id"]),
        (106, _created(app)[2]["id"]),
    ]
    read_back = {
        o.autotask_company_id: o
        for o in source.list_organizations()
        if not o.organization_id.startswith("ORG-")
    }
    assert [
        (i, o.name, o.customer_number, o.currency)
        for i, o in sorted(read_back.items(), key=lambda kv: kv[0] or 0)
    ] == [
        (102, "Fabrikam Inc", "C-102", "USD"),
        (105, "Adventure Works Cycles", "C-105", "USD"),
        (106, 'Litware "Labs"', "", "USD"),
    ]

    app.reset_stats()
    again = _plan(source, companies)
    assert again == OrganizationPlan((), ())
    assert create_organizations(source, again, lambda new, oid: heard.append((new.company_id, oid))) == 0
    assert app.writes() == []
    assert app.stats().requests == {"organizations": 1}


def test_a_create_answered_with_a_server_error_is_not_sent_again() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1005")
    source = _source(app)
    app.inject_fault(route="create_organization", status=500)

    with pytest.raises(BillsyncError) as raised:
        create_organizations(source, _plan(source, _companies()), lambda _new, _oid: None)

    assert str(raised.value) == (
        "Cloudmore did not confirm the creation of organization 'Adventure Works Cycles' (AutotaskCompanyID 105) "
        f"(it answered HTTP 500 for POST {ORGS}): it may or may not have been done, so billsync did not send it "
        "again. 0 of 1 organizations were created before it.\n"
        "Run the same command again: it reads back what Cloudmore holds first and sends only what is still missing."
    )
    assert isinstance(raised.value.__cause__, CloudmoreWriteUnknown)
    assert app.stats().requests["create_organization"] == 1
    assert _created(app) == []
    for secret in SECRETS:
        assert secret not in str(raised.value) and secret not in repr(raised.value.__cause__)


def test_a_create_whose_answer_is_lost_is_found_by_its_link_and_not_planned_again() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1002", "ORG-1005")
    source = _source(app)
    app.inject_fault(route="create_organization", nth=2, status=502, after=True)

    with pytest.raises(BillsyncError, match=r"1 of 2 organizations were created before it\."):
        create_organizations(source, _plan(source, _companies()), lambda _new, _oid: None)

    assert len(app.writes()) == 2 and [o["name"] for o in _created(app)] == [
        "Fabrikam Inc",
        "Adventure Works Cycles",
    ]
    assert _plan(source, _companies()) == OrganizationPlan((), ())


def test_a_create_whose_connection_drops_after_sending_is_not_sent_again() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1005")
    source = _source(app, _LoseAnswer(app))

    with pytest.raises(CloudmoreWriteUnknown, match=r"\(the connection failed \(ReadError\) for POST "):
        source.create_organization("Adventure Works Cycles", "C-105", 105)

    assert app.writes() == [_create_request("Adventure Works Cycles", "C-105", 105)]


def test_a_throttled_create_is_retried_and_made_once() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1005")
    app.inject_fault(route="create_organization", status=429)

    organization_id = _source(app).create_organization("Adventure Works Cycles", "C-105", 105)

    assert [o["id"] for o in _created(app)] == [organization_id]
    assert app.writes() == [_create_request("Adventure Works Cycles", "C-105", 105)] * 2


def test_a_create_whose_connection_was_refused_is_retried_and_made_once() -> None:
    app = _without(make_app(EXAMPLE), "ORG-1005")
    transport = _RefuseConnection(app)

    organization_id = _source(app, transport).create_organization("Adventure Works Cycles", "C-105", 105)

    assert transport.refused == 1
    assert [o["id"] for o in _created(app)] == [organization_id]
    assert app.writes() == [_create_request("Adventure Works Cycles", "C-105", 105)]


# -- links ----------------------------------------------------------------------------------------------


def test_a_link_sets_the_custom_property_with_one_request_and_keeps_the_others() -> None:
    app = make_app(EXAMPLE)
    wingtip = app.documents.organizations[5]
    app.documents.organizations[5] = {**wingtip, "customProperties": [{"name": "Region", "value": "EU"}]}
    source = _source(app)
    expected = _link_request(app, "ORG-1006", 106)

    source.set_company_link("ORG-1006", 106)

    assert app.writes() == [expected]
    assert expected.body == {
        "id": "ORG-1006",
        "name": "Wingtip Toys",
        "customerNumber": "C-1006",
        "currencyCode": "USD",
        "customProperties": [
            {"name": "Region", "value": "EU"},
            {"name": "AutotaskCompanyID", "value": "106"},
        ],
        "services": wingtip["services"],
    }
    assert app.documents.organizations[5] == expected.body
    assert app.stats().requests["organization"] == 1  # read first, so every other field is sent back
    assert source.list_organizations()[5].autotask_company_id == 106


def test_a_link_is_idempotent_so_a_server_error_is_retried() -> None:
    app = make_app(EXAMPLE)
    app.inject_fault(route="update_organization", status=503)
    expected = _link_request(app, "ORG-1006", 106)

    _source(app).set_company_link("ORG-1006", 106)

    assert app.writes() == [expected] * 2
    assert _source(app).list_organizations()[5].autotask_company_id == 106


def test_links_are_written_only_for_exact_name_matches_once_each() -> None:
    app = make_app(EXAMPLE)
    _unlinked(app, "ORG-1003", "Northwind Trader")  # one letter short: never linked
    _unlinked(app, "ORG-1004", " TAILSPIN  toys")  # the same name, case and spaces folded
    source = _source(app)
    companies = _companies(_company(106, "Wingtip Toys", "C-106"))
    proposals = propose_links(source.list_organizations(), {}, companies)
    written: list[str] = []
    expected = [_link_request(app, "ORG-1004", 104), _link_request(app, "ORG-1006", 106)]

    assert write_links(source, proposals, lambda p: written.append(p.organization_id)) == 2

    assert app.writes() == expected
    assert written == ["ORG-1004", "ORG-1006"]
    linked = {o.organization_id: o.autotask_company_id for o in source.list_organizations()}
    assert linked == {
        "ORG-1001": 101,
        "ORG-1002": 102,
        "ORG-1003": None,
        "ORG-1004": 104,
        "ORG-1005": 105,
        "ORG-1006": 106,
    }


def test_a_link_to_an_organization_cloudmore_does_not_know_is_one_clear_error() -> None:
    app = make_app(EXAMPLE)
    with pytest.raises(CloudmoreError) as raised:
        _source(app).set_company_link("ORG-9999", 106)
    path = f"{ORGS}/ORG-9999"
    assert raised.value.message == f"Cloudmore answered GET {path} with HTTP 404: Organization not found."
    assert app.stats().requests["organization"] == 1 and app.writes() == []


def test_an_error_part_way_through_the_links_says_how_far_they_got() -> None:
    app = make_app(EXAMPLE)
    _unlinked(app, "ORG-1004")
    source = _source(app)
    proposals = propose_links(
        source.list_organizations(), {}, _companies(_company(106, "Wingtip Toys", "C-106"))
    )
    app.inject_fault(route="update_organization", nth=2, status=403, message="Not allowed.")

    with pytest.raises(BillsyncError) as raised:
        write_links(source, proposals, lambda _p: None)

    assert raised.value.message == (
        f"The Cloudmore API user may not PUT {ORGS}/ORG-1006 (HTTP 403): "
        "Not allowed. 1 of 2 links were written before it."
    )
    assert (
        raised.value.hint
        == "Give the API user a role that can create organizations and edit their custom properties."
    )


# -- the emulator's write routes ------------------------------------------------------------------------


def test_the_emulator_refuses_writes_without_a_token_or_a_name() -> None:
    app = make_app(EXAMPLE)
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://emulator") as http:
        assert http.post(ORGS, json={"name": "X"}).status_code == 401
        assert http.put(f"{ORGS}/ORG-1006", json={"name": "Wingtip Toys"}).status_code == 401
    source = _source(app)
    with pytest.raises(CloudmoreError, match=r"HTTP 400: The organization needs a name\."):
        source.create_organization("  ", "C-1", 1)
    assert _created(app) == [] and len(app.documents.organizations) == 6
