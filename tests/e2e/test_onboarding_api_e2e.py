"""Onboarding through the Cloudmore API end to end (D2): the real CLI, the Cloudmore emulator and the
Autotask sandbox each served on a loopback port.

The emulator serves the shipped example export (organizations ORG-1001..1005 linked to the sandbox's
demo companies 101..105, ORG-1006 unlinked); a test removes or unlinks organizations, or adds Autotask
companies, to make something to onboard. What billsync sent is read from the emulator's record of
write requests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from engine.cli import cli
from providers.autotask.sandbox import SANDBOX_CREDENTIALS
from providers.autotask.sandbox import BackgroundServer as SandboxServer
from providers.autotask.sandbox import start_background_server as start_sandbox
from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    BackgroundServer,
    RecordedWrite,
    make_app,
    start_background_server,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "providers" / "cloudmore" / "example" / "2026-11-07"
ORGS = f"/api/resellers/{EMULATOR_RESELLER_ID}/Organizations"
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
AUTOTASK_ENV = {
    "AUTOTASK_USERNAME": "sandbox@billsync.local",
    "AUTOTASK_SECRET": "sandbox-secret",
    "AUTOTASK_INTEGRATION_CODE": "BILLSYNC-SANDBOX",
}
ENV: dict[str, str | None] = {
    **EMULATOR_CREDENTIALS.environment(),
    **AUTOTASK_ENV,
    "COLUMNS": "200",
    **dict.fromkeys(PROXIES),
}
"""Both API users, tables wide enough not to wrap, and no proxy between billsync and the loopback."""
SECRETS = (EMULATOR_CREDENTIALS.api_secret, EMULATOR_CREDENTIALS.password, AUTOTASK_ENV["AUTOTASK_SECRET"])
BILLSYNC = Path(sys.executable).parent / "billsync"


@pytest.fixture
def cloudmore() -> Iterator[BackgroundServer]:
    server = start_background_server(make_app(EXAMPLE))
    yield server
    server.stop()


@pytest.fixture
def autotask() -> Iterator[SandboxServer]:
    server = start_sandbox()
    yield server
    server.stop()


@pytest.fixture
def root(tmp_path: Path, cloudmore: BackgroundServer, autotask: SandboxServer) -> Path:
    """A workspace reading Cloudmore's API and writing the served sandbox."""
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "billsync.yaml").write_text(
        f"autotask:\n  url: {json.dumps(autotask.base_url)}\n"
        f"cloudmore:\n  api:\n    url: {json.dumps(cloudmore.url)}\n"
        f"    reseller_id: {json.dumps(EMULATOR_RESELLER_ID)}\n",
        encoding="utf-8",
    )
    return folder


def _run(root: Path, *args: str, expect: int = 0, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, ["--workspace", str(root), *args], env=ENV, input=input)
    if result.exit_code != expect:
        trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
        raise AssertionError(f"billsync {' '.join(args)} exited {result.exit_code}\n{result.output}\n{trace}")
    return result


def _add_company(autotask: SandboxServer, name: str, number: str, active: bool = True) -> int:
    """A company added in Autotask through its REST API, as a user would."""
    body = {
        "companyName": name,
        "companyNumber": number,
        "companyType": 1,
        "phone": "555-0100",
        "ownerResourceID": 29682885,
        "isActive": active,
    }
    with httpx.Client(
        transport=httpx.WSGITransport(app=autotask.app),
        base_url="http://sandbox/ATServicesRest/V1.0/",
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as http:
        answer = http.post("Companies", json=body)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["itemId"])


def _remove(cloudmore: BackgroundServer, *organization_ids: str) -> None:
    docs = cloudmore.app.documents
    docs.organizations = [o for o in docs.organizations if o["id"] not in organization_ids]


def _unlink(cloudmore: BackgroundServer, organization_id: str, name: str | None = None) -> None:
    docs = cloudmore.app.documents
    for index, organization in enumerate(docs.organizations):
        if organization["id"] == organization_id:
            renamed = {"name": name} if name is not None else {}
            docs.organizations[index] = {**organization, "customProperties": [], **renamed}


def _where(cloudmore: BackgroundServer) -> str:
    return f"Cloudmore API {cloudmore.url} (reseller {EMULATOR_RESELLER_ID})"


def _create(name: str, number: str, company_id: int) -> RecordedWrite:
    body = {
        "name": name,
        "customerNumber": number,
        "customProperties": [{"name": "AutotaskCompanyID", "value": str(company_id)}],
    }
    return RecordedWrite("POST", ORGS, body)


def _new_ids(cloudmore: BackgroundServer) -> list[str]:
    return [
        str(o["id"]) for o in cloudmore.app.documents.organizations if not str(o["id"]).startswith("ORG-")
    ]


def _links(cloudmore: BackgroundServer) -> dict[str, list[dict[str, Any]]]:
    return {str(o["id"]): o["customProperties"] for o in cloudmore.app.documents.organizations}


# -- companies export --to cloudmore --------------------------------------------------------------------


def test_the_example_organizations_leave_nothing_to_create(root: Path, cloudmore: BackgroundServer) -> None:
    result = _run(root, "companies", "export", "--to", "cloudmore")
    assert result.stdout == "No changes: every active Autotask company has a Cloudmore organization.\n"
    assert cloudmore.app.writes() == []


def test_export_plans_the_missing_organizations_creates_them_once_confirmed_and_a_rerun_plans_nothing(
    root: Path, cloudmore: BackgroundServer, autotask: SandboxServer
) -> None:
    _remove(cloudmore, "ORG-1002", "ORG-1005")
    litware = _add_company(autotask, "Litware, Inc.", "C-200")
    _add_company(autotask, "Old Customer", "C-201", active=False)

    result = _run(root, "companies", "export", "--to", "cloudmore", input="y\n")

    assert cloudmore.app.writes() == [
        _create("Fabrikam Inc", "C-102", 102),
        _create("Adventure Works Cycles", "C-105", 105),
        _create("Litware, Inc.", "C-200", litware),
    ]
    fabrikam, adventure, new_litware = _new_ids(cloudmore)
    assert result.stdout == (
        f"billsync will create these organizations in {_where(cloudmore)}:\n"
        "\n"
        '  + organization "Fabrikam Inc" (AutotaskCompanyID 102)\n'
        '  + organization "Adventure Works Cycles" (AutotaskCompanyID 105)\n'
        f'  + organization "Litware, Inc." (AutotaskCompanyID {litware})\n'
        "\n"
        "Plan: 3 organizations to create in Cloudmore.\n"
        "Create these organizations in Cloudmore? [y/N]: y\n"
        f"Created organization {fabrikam} for Autotask company 102 (Fabrikam Inc).\n"
        f"Created organization {adventure} for Autotask company 105 (Adventure Works Cycles).\n"
        f"Created organization {new_litware} for Autotask company {litware} (Litware, Inc.).\n"
        "Export complete: 3 organizations created in Cloudmore.\n"
    )

    cloudmore.app.reset_stats()
    again = _run(root, "companies", "export", "--to", "cloudmore")
    assert again.stdout == "No changes: every active Autotask company has a Cloudmore organization.\n"
    assert cloudmore.app.writes() == []


def test_export_with_auto_approve_creates_without_asking(root: Path, cloudmore: BackgroundServer) -> None:
    _remove(cloudmore, "ORG-1003")
    result = _run(root, "companies", "export", "--to", "cloudmore", "--auto-approve")
    assert "[y/N]" not in result.stdout
    assert result.stdout.endswith("Export complete: 1 organization created in Cloudmore.\n")
    assert cloudmore.app.writes() == [_create("Northwind Traders", "C-103", 103)]


def test_export_declined_writes_nothing(root: Path, cloudmore: BackgroundServer) -> None:
    _remove(cloudmore, "ORG-1003")
    result = _run(root, "companies", "export", "--to", "cloudmore", input="n\n", expect=1)
    assert result.stdout.endswith(
        "Plan: 1 organization to create in Cloudmore.\nCreate these organizations in Cloudmore? [y/N]: n\n"
    )
    assert cloudmore.app.writes() == []


def test_export_holds_back_a_company_an_unlinked_organization_is_named_after(
    root: Path, cloudmore: BackgroundServer, autotask: SandboxServer
) -> None:
    wingtip = _add_company(autotask, "Wingtip Toys", "C-1006")
    result = _run(root, "companies", "export", "--to", "cloudmore")
    assert result.stdout == (
        f'Not created: company {wingtip} "Wingtip Toys": Cloudmore organization ORG-1006 has this name and no '
        "AutotaskCompanyID; link it with `billsync companies link --to cloudmore`.\n"
        "\n"
        "Plan: 0 organizations to create in Cloudmore.\n"
    )
    assert cloudmore.app.writes() == []


def test_an_unconfirmed_create_stops_with_one_clear_error_and_a_rerun_creates_only_the_rest(
    root: Path, cloudmore: BackgroundServer
) -> None:
    _remove(cloudmore, "ORG-1002", "ORG-1005")
    cloudmore.app.inject_fault(route="create_organization", status=500, after=True)

    failed = _run(root, "companies", "export", "--to", "cloudmore", "--auto-approve", expect=1)

    assert str(failed.exception) == (
        "Cloudmore did not confirm the creation of organization 'Fabrikam Inc' (AutotaskCompanyID 102) (it "
        f"answered HTTP 500 for POST {ORGS}): it may or may not have been done, so billsync did not send it "
        "again. 0 of 2 organizations were created before it.\n"
        "Run the same command again: it reads back what Cloudmore holds first and sends only what is still missing."
    )
    assert cloudmore.app.writes() == [_create("Fabrikam Inc", "C-102", 102)]
    for secret in SECRETS:
        assert secret not in failed.output and secret not in str(failed.exception)

    cloudmore.app.reset_stats()
    again = _run(root, "companies", "export", "--to", "cloudmore", "--auto-approve")
    assert '"Fabrikam Inc"' not in again.stdout
    assert cloudmore.app.writes() == [_create("Adventure Works Cycles", "C-105", 105)]
    assert len(_new_ids(cloudmore)) == 2


# -- companies link --to cloudmore ----------------------------------------------------------------------


def test_link_writes_the_custom_property_once_per_confirmed_organization_and_never_on_a_fuzzy_match(
    root: Path, cloudmore: BackgroundServer, autotask: SandboxServer
) -> None:
    wingtip = _add_company(autotask, "Wingtip Toys", "C-1006")
    _unlink(cloudmore, "ORG-1003", "Northwind Trader")  # one letter short of Northwind Traders
    _unlink(cloudmore, "ORG-1004", "tailspin  TOYS")  # Tailspin Toys, case and spaces folded

    before = {o["id"]: o for o in cloudmore.app.documents.organizations}

    result = _run(root, "companies", "link", "--to", "cloudmore", input="y\n")

    def linked(organization_id: str, company_id: int) -> RecordedWrite:
        """The organization as it was, sent back whole with its AutotaskCompanyID set."""
        organization = before[organization_id]
        kept = [p for p in organization["customProperties"] if p["name"] != "AutotaskCompanyID"]
        link = {"name": "AutotaskCompanyID", "value": str(company_id)}
        return RecordedWrite(
            "PUT", f"{ORGS}/{organization_id}", {**organization, "customProperties": [*kept, link]}
        )

    assert cloudmore.app.writes() == [linked("ORG-1004", 104), linked("ORG-1006", wingtip)]
    assert cloudmore.app.writes()[0].body["services"] == [
        {"name": "Microsoft CSP 365", "status": "Inactive"},
        {"name": "Datto Autotask", "status": "Active"},
    ]
    lines = result.stdout.splitlines()
    assert any("ORG-1003" in line and "no company with this name" in line for line in lines)
    assert (
        f"Write 2 link(s) to the AutotaskCompanyID custom property in {_where(cloudmore)}? [y/N]: y" in lines
    )
    assert lines[-3:] == [
        "Linked ORG-1004 (tailspin  TOYS) to Autotask company 104.",
        f"Linked ORG-1006 (Wingtip Toys) to Autotask company {wingtip}.",
        "Wrote 2 link(s) to Cloudmore.",
    ]
    assert _links(cloudmore)["ORG-1003"] == []
    assert not (root / "rules" / "companies.yaml").exists()

    cloudmore.app.reset_stats()
    again = _run(root, "companies", "link", "--to", "cloudmore", "--yes")
    assert cloudmore.app.writes() == []
    assert again.stdout.splitlines()[-1] == (
        "No exact-name match: link these organizations in Cloudmore or in rules/companies.yaml."
    )


def test_a_linked_organization_is_billed_by_the_next_plan(
    root: Path, cloudmore: BackgroundServer, autotask: SandboxServer
) -> None:
    wingtip = _add_company(autotask, "Wingtip Toys", "C-1006")
    before = json.loads(_run(root, "plan", "--json", "--as-of", "2026-11-25").stdout)
    assert [d for d in before["diagnostics"] if d["code"] == "unlinked" and "ORG-1006" in d["message"]]

    _run(root, "companies", "link", "--to", "cloudmore", "--yes")

    after = json.loads(_run(root, "plan", "--json", "--as-of", "2026-11-25").stdout)
    assert [d for d in after["diagnostics"] if d["code"] == "unlinked"] == []
    wingtip_contracts = [
        c for c in after["changes"] if c["kind"] == "contract" and c["after"].get("companyID") == wingtip
    ]
    assert wingtip_contracts


# -- a bundle source cannot be written ------------------------------------------------------------------


@pytest.mark.slow  # a real billsync process
@pytest.mark.parametrize(
    ("command", "otherwise"),
    [
        ("export", "to write the bulk-import CSV instead"),
        ("link", "to write the links to rules/companies.yaml instead"),
    ],
)
def test_to_cloudmore_with_a_bundle_source_is_one_clear_error_exit_1(
    tmp_path: Path, command: str, otherwise: str
) -> None:
    (tmp_path / "billsync.yaml").write_text(f"cloudmore:\n  bundle: {json.dumps(str(EXAMPLE))}\n", "utf-8")
    done = subprocess.run(
        [str(BILLSYNC), "--workspace", str(tmp_path), "companies", command, "--to", "cloudmore"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"Error: `billsync companies {command} --to cloudmore` writes organizations through Cloudmore's API, "
        f"but this workspace reads Cloudmore from an export bundle ({EXAMPLE}), which cannot be written\n"
        "Configure the API source in billsync.yaml (cloudmore: {api: {url: ..., reseller_id: ...}}, with the "
        f"API user in the CLOUDMORE_* environment variables), or leave out --to cloudmore {otherwise}.\n"
    )
    assert not (tmp_path / ".billsync").exists()


def test_export_without_to_cloudmore_still_writes_the_csv(root: Path, cloudmore: BackgroundServer) -> None:
    result = _run(root, "companies", "export")
    assert result.stdout.splitlines()[:2] == [
        "Organization Name,Customer Number,AutotaskCompanyID",
        "Contoso Ltd,C-101,101",
    ]
    assert cloudmore.app.stats().requests == {}
