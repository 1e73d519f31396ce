"""Companies and onboarding: D1 company link, D2 onboarding, D6 active services only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""


def _company(env: Env, name: str, number: str, active: bool = True) -> int:
    body = {
        "companyName": name,
        "companyNumber": number,
        "companyType": 1,
        "phone": "555-0100",
        "ownerResourceID": 29682885,
        "isActive": active,
    }
    company_id: int = env.api.create("Companies", body)
    return company_id


# -- D1 -----------------------------------------------------------------------------------------------


def test_d1_unlinked_org_is_skipped_with_a_warning_naming_the_unbilled_amount(
    env: Env, october: Path
) -> None:
    # A company with the very name of the unlinked organization must not tempt billsync to guess.
    _company(env, "Wingtip Toys", "C-1006")
    env.configure(october)
    warning = "organization ORG-1006 (Wingtip Toys) has no AutotaskCompanyID: 75.00 USD left unbilled (D1)"

    plan = env.plan("2026-10-07")
    assert {"severity": "warning", "code": "unlinked", "message": warning} in plan.diagnostics
    assert not [a for a in plan.addresses() if f"{EX}09" in a]
    assert f"Warning: {warning}" in env.plan_text("2026-10-07").splitlines()

    env.apply("2026-10-07")
    assert env.api.contracts_of(f"{EX}09") == []
    companies = {c["companyID"] for c in env.api.query("Contracts")}
    assert companies == {101, 102, 103, 105}


def test_d1_companies_yaml_links_an_unlinked_org_and_overrides_a_custom_property(
    env: Env, october: Path
) -> None:
    wingtip = _company(env, "Wingtip Toys", "C-1006")
    env.init()
    env.rule_file("companies.yaml").write_text(
        yaml.safe_dump({"companies": {"ORG-1006": wingtip, "ORG-1002": 105}}), "utf-8"
    )
    env.configure(october)

    plan = env.plan("2026-10-07")
    assert [d for d in plan.diagnostics if d["code"] == "unlinked"] == []
    env.apply("2026-10-07")

    assert env.api.contract(f"{EX}09")["companyID"] == wingtip
    # ORG-1002 (Fabrikam, AutotaskCompanyID 102) is billed to company 105 as the override says.
    for n in ("02", "06", "18", "20"):
        assert env.api.contract(f"{EX}{n}")["companyID"] == 105
    assert env.api.contract(f"{EX}01")["companyID"] == 101
    assert [c for c in env.api.query("Contracts") if c["companyID"] == 102] == []


# -- D2 -----------------------------------------------------------------------------------------------


def test_d2_companies_export_writes_the_cloudmore_bulk_import_file(env: Env, october: Path) -> None:
    litware = _company(env, "Litware, Inc.", "C-200")
    _company(env, "Old Customer", "C-201", active=False)
    env.configure(october)
    env.api.reset_counters()
    out = env.root / "organizations-import.csv"

    result = env.billsync("companies", "export", "--out", str(out))

    assert out.read_text("utf-8") == (
        "Organization Name,Customer Number,AutotaskCompanyID\n"
        "Contoso Ltd,C-101,101\n"
        "Fabrikam Inc,C-102,102\n"
        "Northwind Traders,C-103,103\n"
        "Tailspin Toys,C-104,104\n"
        "Adventure Works Cycles,C-105,105\n"
        f'"Litware, Inc.",C-200,{litware}\n'
    )
    assert f"Wrote 6 companies to {out}." in result.stdout
    assert env.api.writes() == {}


def _onboarding_bundle(bundle: BundleWriter) -> Path:
    bundle.price("P-1", "Microsoft 365 Business Basic", "5.1000", "6.0000")
    orgs = {
        "ORG-A": "  contoso   LTD ",  # exact name with case and spaces folded: Contoso Ltd (101)
        "ORG-B": "Fabrikam Incorporated",  # close to Fabrikam Inc, but not the same name
        "ORG-C": "Northwind Trader",  # one letter short of Northwind Traders
        "ORG-D": "litware",  # two companies carry this name
    }
    for n, (org_id, name) in enumerate(orgs.items(), start=1):
        bundle.org(org_id, name, None)
        bundle.sub(f"S-{n}", org_id, "P-1", "Microsoft 365 Business Basic", quantity=2)
        bundle.line("2026-09", "2026-10-06", f"S-{n}", 2, "12.00", "10.20")
    return bundle.write("onboarding")


def test_d2_companies_link_proposes_exact_folded_names_only_and_writes_them(
    env: Env, bundle: BundleWriter
) -> None:
    _company(env, "Litware", "C-300")
    _company(env, "LITWARE ", "C-301")
    env.init()
    env.configure(_onboarding_bundle(bundle))

    result = env.billsync("companies", "link", "--yes")

    lines = result.stdout.splitlines()
    assert any("ORG-A" in line and "101 Contoso Ltd" in line and "same name" in line for line in lines)
    assert any("ORG-B" in line and "no company with this name" in line for line in lines)
    assert any("ORG-C" in line and "no company with this name" in line for line in lines)
    assert any("ORG-D" in line and "2 companies with this name" in line for line in lines)
    links = yaml.safe_load(env.rule_file("companies.yaml").read_text("utf-8"))
    assert links == {"companies": {"ORG-A": 101}}

    plan = env.plan("2026-10-07")
    unlinked = sorted(d["message"].split(" ")[1] for d in plan.diagnostics if d["code"] == "unlinked")
    assert unlinked == ["ORG-B", "ORG-C", "ORG-D"]
    env.apply("2026-10-07")
    assert env.api.contract("S-1")["companyID"] == 101
    assert [sorted(env.api.marked_contracts())] == [["S-1"]]


def test_d2_companies_link_writes_nothing_unless_confirmed(env: Env, bundle: BundleWriter) -> None:
    env.init()
    env.configure(_onboarding_bundle(bundle))

    result = env.billsync("companies", "link", input="n\n", exit_code=1)

    assert "Write 1 link(s)" in result.stdout
    assert not env.rule_file("companies.yaml").exists()


# -- D6 -----------------------------------------------------------------------------------------------


def test_d6_org_without_an_active_csp_or_azure_service_is_not_synced(env: Env, october: Path) -> None:
    env.configure(october)
    warning = "organization ORG-1004 (Tailspin Toys) has no active CSP 365 or Azure service: 108.00 USD not synced (D6)"

    plan = env.plan("2026-10-07")
    assert {"severity": "warning", "code": "inactive", "message": warning} in plan.diagnostics
    env.apply("2026-10-07")

    assert env.api.contracts_of(f"{EX}10") == []
    assert env.api.contracts_of(f"{EX}19") == []
    assert [c for c in env.api.query("Contracts") if c["companyID"] == 104] == []
    # Exchange Online (Plan 2) (…19) is billed only to ORG-1004: its price-list product is not created.
    csp = sorted(sku for sku in env.api.services() if sku.startswith("billsync:csp365:"))
    assert csp == [
        f"billsync:csp365:CFQ7TTC0{product}"
        for product in (
            "HD32:0001",
            "LCHC:0002",
            "LDPB:0001",
            "LFLX:0001",
            "LH16:0001",
            "LH18:0001",
            "LHSF:0001",
            "MM8R:0002",
            "RM8K:0001",
        )
    ]


def test_d6_an_active_azure_service_alone_keeps_the_org_synced(env: Env, bundle: BundleWriter) -> None:
    bundle.price("P-1", "Microsoft 365 Business Basic", "5.1000", "6.0000")
    bundle.org(
        "ORG-A", "Contoso Ltd", 101, services={"Microsoft CSP 365": "Inactive", "Microsoft Azure": "Active"}
    )
    bundle.org(
        "ORG-B", "Fabrikam Inc", 102, services={"Microsoft CSP 365": "Inactive", "Datto Autotask": "Active"}
    )
    for org_id in ("ORG-A", "ORG-B"):
        bundle.sub(f"S-{org_id}", org_id, "P-1", "Microsoft 365 Business Basic", quantity=2)
        bundle.line("2026-09", "2026-10-06", f"S-{org_id}", 2, "12.00", "10.20")
    env.configure(bundle.write("services"))

    env.apply("2026-10-07")

    assert env.api.contract("S-ORG-A")["companyID"] == 101
    assert env.api.contracts_of("S-ORG-B") == []


def test_d6_when_the_service_is_removed_the_orgs_objects_stop_being_updated(
    env: Env, october: Path, edited_november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    contracts = {n: env.api.contract(f"{EX}{n}") for n in ("05", "08")}
    units = {n: env.api.units(c["id"]) for n, c in contracts.items()}
    charges = {n: env.api.charges(c["id"]) for n, c in contracts.items()}

    services = edited_november / "services.csv"
    text = services.read_text("utf-8")
    services.write_text(
        text.replace("ORG-1005,Microsoft CSP 365,Active", "ORG-1005,Microsoft CSP 365,Inactive")
    )
    env.configure(edited_november)
    plan = env.plan("2026-11-25")
    touched = [
        c
        for c in plan.changes()
        if c["action"] != "orphan" and any(f"{EX}{n}" in c["address"] for n in ("05", "08"))
    ]
    assert touched == []
    env.apply("2026-11-25")

    for n, contract in contracts.items():
        assert env.api.contract(f"{EX}{n}") == contract
        assert env.api.units(contract["id"]) == units[n]
        assert env.api.charges(contract["id"]) == charges[n]
    # …05 went from 20 to 25 seats in 2026-10 in Cloudmore, but its organization is no longer synced.
    assert [r["units"] for r in env.api.units(contracts["05"]["id"], "2026-10")] == [20]
