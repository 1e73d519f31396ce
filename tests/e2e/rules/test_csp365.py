"""CSP 365: D10 services from the price list, D11 only billed products, D12 contract per subscription,
D13 month boundaries, D14 monthly adjustment."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""
STANDARD = "billsync:csp365:CFQ7TTC0LDPB:0001"
"""The marker of the Microsoft 365 Business Standard service."""


def _units(env: Env, n: str, period: str) -> list[tuple[Any, ...]]:
    """(units, price, cost) of each ContractServiceUnits row of the month."""
    contract = env.api.contract(f"{EX}{n}")["id"]
    return [(r["units"], r["price"], r["cost"]) for r in env.api.units(contract, period)]


# -- D10 ----------------------------------------------------------------------------------------------


def test_d10_each_billed_csp_product_becomes_a_service_priced_from_the_price_list(
    env: Env, october: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-07")

    services = env.api.services()
    standard = services[STANDARD]
    volatile = ("id", "lastModifiedDate", "createDate")
    assert {k: v for k, v in standard.items() if k not in volatile} == {
        "name": "Microsoft 365 Business Standard",
        "description": "Microsoft CSP 365: Microsoft 365 Business Standard (CFQ7TTC0LDPB:0001)",
        "invoiceDescription": "Microsoft 365 Business Standard (CFQ7TTC0LDPB:0001)",
        "unitPrice": Decimal("12.5"),
        "unitCost": Decimal("10.625"),
        "markupRate": None,
        "billingCodeID": 2001,
        "periodType": 1,
        "isActive": True,
        "serviceLevelAgreementID": None,
        "sku": STANDARD,
        "vendorCompanyID": None,
        "userDefinedFields": [],
    }
    defender = services["billsync:csp365:CFQ7TTC0LHSF:0001"]
    assert (defender["unitPrice"], defender["unitCost"]) == (Decimal("3.3333"), Decimal("2.8333"))
    # …01 and …07 (and the unlinked …09) bill Business Standard: one service for all of them.
    contracts = [env.api.contract(f"{EX}{n}")["id"] for n in ("01", "07")]
    assert {cs["serviceID"] for c in contracts for cs in env.api.contract_services(c)} == {standard["id"]}


def test_d10_a_price_list_change_updates_the_service(env: Env, october: Path, edited_november: Path) -> None:
    prices = edited_november / "price-list.csv"
    text = prices.read_text("utf-8")
    old = "CFQ7TTC0LDPB:0001,CFQ7TTC0LDPB:0001:P1Y,Microsoft 365 Business Standard,10.6250,12.5000,"
    assert old in text
    prices.write_text(text.replace(old, old.replace("10.6250,12.5000", "11.0500,13.0000")), "utf-8")
    env.configure(october)
    env.apply("2026-10-10")
    service_id = env.api.services()[STANDARD]["id"]

    env.configure(edited_november)
    plan = env.plan("2026-11-25")
    change = plan.change('service["csp365:CFQ7TTC0LDPB:0001"]')
    assert (change["action"], change["target_id"]) == ("update", service_id)
    assert change["before"] == {"unitCost": "10.6250", "unitPrice": "12.5000"}
    assert change["after"] == {"unitCost": "11.0500", "unitPrice": "13.0000"}
    assert [c["address"] for c in plan.changes("update", "service")] == [change["address"]]
    env.apply("2026-11-25")

    service = env.api.services()[STANDARD]
    assert (service["id"], service["unitPrice"], service["unitCost"]) == (service_id, 13, Decimal("11.05"))


# -- D11 ----------------------------------------------------------------------------------------------


def test_d11_only_products_billed_in_the_month_are_created_or_updated(env: Env, bundle: BundleWriter) -> None:
    bundle.price("P-A", "Microsoft 365 E3", "30.6000", "36.0000")
    bundle.price("P-B", "Visio Plan 2", "12.7500", "15.0000")
    bundle.price("P-C", "Microsoft 365 E5", "48.4500", "57.0000")  # never billed
    bundle.price("P-D", "Project Plan 3", "25.5000", "30.0000")  # billed only to an unlinked organization
    bundle.org("ORG-A", "Contoso Ltd", 101)
    bundle.org("ORG-X", "Unlinked Inc", None)
    bundle.sub("S-A", "ORG-A", "P-A", "Microsoft 365 E3", quantity=2)
    bundle.sub("S-B", "ORG-A", "P-B", "Visio Plan 2", quantity=1)
    bundle.sub("S-D", "ORG-X", "P-D", "Project Plan 3", quantity=1)
    bundle.line("2026-09", "2026-10-06", "S-A", 2, "72.00", "61.20")
    bundle.line("2026-09", "2026-10-06", "S-B", 1, "15.00", "12.75")
    bundle.line("2026-09", "2026-10-06", "S-D", 1, "30.00", "25.50")
    env.configure(bundle.write("september"))
    env.apply("2026-10-07")
    assert sorted(env.api.services()) == ["billsync:csp365:P-A", "billsync:csp365:P-B"]
    visio = env.api.services()["billsync:csp365:P-B"]

    # October bills only P-A; every price changes.
    bundle.price("P-A", "Microsoft 365 E3", "31.0000", "37.0000")
    bundle.price("P-B", "Visio Plan 2", "13.0000", "16.0000")
    bundle.price("P-C", "Microsoft 365 E5", "49.0000", "58.0000")
    bundle.line("2026-10", "2026-11-06", "S-A", 2, "74.00", "62.00")
    env.configure(bundle.write("october"))
    plan = env.plan("2026-11-07")
    assert plan.addresses(kind="service") == ['service["csp365:P-A"]']
    env.apply("2026-11-07")

    services = env.api.services()
    assert sorted(services) == ["billsync:csp365:P-A", "billsync:csp365:P-B"]
    assert (services["billsync:csp365:P-A"]["unitPrice"], services["billsync:csp365:P-A"]["unitCost"]) == (
        37,
        31,
    )
    assert services["billsync:csp365:P-B"] == visio


# -- D12 ----------------------------------------------------------------------------------------------


def test_d12_every_subscription_has_its_own_recurring_service_contract(env: Env, october: Path) -> None:
    env.configure(october, vars={"contract_prefix": "CM - "})
    env.apply("2026-10-07")

    contract = env.api.contract(f"{EX}03")
    assert {k: v for k, v in contract.items() if k not in ("id", "lastModifiedDateTime")} == {
        "companyID": 103,
        "contractName": "CM - Northwind Traders - Microsoft 365 E3",
        "contractNumber": None,
        "contractType": 7,
        "timeReportingRequiresStartAndStopTimes": 0,
        "status": 1,
        "startDate": "2025-09-01T00:00:00",
        "endDate": "2027-09-30T00:00:00",
        "serviceLevelAgreementID": 1,
        "contractPeriodType": 1,
        "contractCategory": None,
        "description": f"Cloudmore subscription {EX}03",
        "purchaseOrderNumber": None,
        "userDefinedFields": [{"name": "Subscription ID", "value": f"{EX}03"}],
    }
    contracts = env.api.marked_contracts()
    synced = (
        "01",
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
        "08",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "20",
    )
    assert sorted(contracts) == [f"{EX}{n}" for n in synced]
    assert all(len(rows) == 1 for rows in contracts.values())
    assert {row["contractType"] for [row] in contracts.values()} == {7}
    assert {row["serviceLevelAgreementID"] for [row] in contracts.values()} == {1}
    # Two CSP subscriptions of one organization (…01, …04): two contracts, each with its own service line.
    first, fourth = env.api.contract(f"{EX}01"), env.api.contract(f"{EX}04")
    assert first["id"] != fourth["id"]
    assert len(env.api.contract_services(first["id"])) == len(env.api.contract_services(fourth["id"])) == 1


# -- D13 ----------------------------------------------------------------------------------------------


def test_d13_contracts_run_from_the_first_of_the_start_month_to_the_end_of_the_end_month(
    embedded_env: Env, october: Path
) -> None:
    env = embedded_env  # billsync's default Autotask: the sandbox in .billsync/sandbox.db
    env.configure(october)
    env.apply("2026-10-07")

    def dates(n: str) -> tuple[str, str]:
        contract = env.api.contract(f"{EX}{n}")
        return contract["startDate"][:10], contract["endDate"][:10]

    assert dates("02") == ("2026-09-01", "2027-09-30")  # 2026-09-15 .. 2027-09-14
    assert dates("14") == ("2026-01-01", "2027-01-31")  # 2026-01-15 .. 2027-01-14
    assert dates("11") == ("2024-04-01", "2034-12-31")  # Azure plan, no End Date: ten years on
    assert dates("16") == ("2026-09-01", "2036-12-31")  # perpetual license from 2026-09-12, no End Date

    env.configure(october, ongoing_contract_years=3)
    plan = env.plan("2026-10-07", "--period", "2026-09")
    assert sorted(plan.addresses("update")) == [f'contract["{EX}{n}"]' for n in ("11", "12", "13", "16")]
    env.apply("2026-10-07", "--period", "2026-09")
    assert dates("11") == ("2024-04-01", "2027-12-31")
    # 2019 + 3 ended before the as-of date: an ongoing contract rolls on 3 years at a time (2025, 2028)
    assert dates("13") == ("2019-06-01", "2028-12-31")


# -- D14 ----------------------------------------------------------------------------------------------


def test_d14_each_month_sets_units_and_price_and_a_month_without_a_line_goes_to_zero(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    assert _units(env, "05", "2026-09") == [(20, 6, Decimal("5.1"))]

    env.configure(november)
    plan = env.plan("2026-11-25")
    payloads = {c["address"]: c["payload"] for c in plan.changes("create", "adjustment")}
    assert payloads[f'adjustment["{EX}05"]["2026-10"]'] == {
        "effectiveDate": "2026-10-01",
        "unitChange": 5,
        "adjustedUnitPrice": "6.0000",
        "adjustedUnitCost": "5.1000",
    }
    assert payloads[f'adjustment["{EX}18"]["2026-10"]']["unitChange"] == -3
    assert payloads[f'adjustment["{EX}16"]["2026-10"]']["unitChange"] == -4
    env.apply("2026-11-25")

    assert _units(env, "05", "2026-09") == [(20, 6, Decimal("5.1"))]
    assert _units(env, "05", "2026-10") == [(25, 6, Decimal("5.1"))]
    # Visio Plan 2 (…18) is still listed but has no 2026-10 line; the perpetual license (…16) was billed once.
    assert _units(env, "18", "2026-09") == [(3, 15, Decimal("12.75"))]
    assert [u[0] for u in _units(env, "18", "2026-10")] == [0]
    assert _units(env, "16", "2026-09") == [(4, 1859, 1672)]
    assert [u[0] for u in _units(env, "16", "2026-10")] == [0]
    for n, october_total in (("05", "150.00"), ("18", "0.00"), ("16", "0.00")):
        assert env.api.billed(env.api.contract(f"{EX}{n}")["id"], "2026-10") == Decimal(october_total)


def test_d14_cents_a_unit_price_cannot_carry_are_billed_as_a_rounding_charge(env: Env, october: Path) -> None:
    env.configure(october)
    plan = env.plan("2026-10-07")
    assert plan.addresses(kind="charge") == [
        f'charge["{EX}08"]["2026-09"]["rounding"]',
        *(f'charge["{EX}{n}"]["2026-09"]' for n in ("11", "12", "13", "14")),
    ]
    env.apply("2026-10-07")

    contract = env.api.contract(f"{EX}08")["id"]
    assert _units(env, "08", "2026-09") == [(300, Decimal("3.3333"), Decimal("2.8333"))]  # 999.99 / 849.99
    [rounding] = env.api.charges(contract)
    assert {k: v for k, v in rounding.items() if k not in ("id", "createDate")} == {
        "contractID": contract,
        "name": "Rounding 2026-09",
        "description": "Microsoft Defender for Office 365 (Plan 1) 2026-09: rounding to the report total",
        "datePurchased": "2026-09-01T00:00:00",
        "unitQuantity": 1,
        "unitPrice": Decimal("0.01"),
        "unitCost": Decimal("0.01"),
        "productID": None,
        "billingCodeID": 2002,
        "chargeType": 1,
        "status": 1,
        "isBillableToCompany": None,
        "isBilled": False,
        "purchaseOrderNumber": "billsync:2026-09/rounding",
        "internalPurchaseOrderNumber": None,
        "notes": None,
        "billableAmount": Decimal("0.01"),
        "extendedCost": Decimal("0.01"),
    }
    assert env.api.billed(contract, "2026-09") == Decimal("1000.00")


def test_d14_rounding_none_leaves_the_cents_out(env: Env, october: Path) -> None:
    env.configure(october, rounding="none")
    env.apply("2026-10-07")

    contract = env.api.contract(f"{EX}08")["id"]
    assert env.api.charges(contract) == []
    assert env.api.billed(contract, "2026-09") == Decimal("999.99")
