"""Azure, Marketplace and the other record types: D15 one product per kind, D16 monthly charge,
D17 one service per type."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from .._support import is_lease

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""


# -- D15 ----------------------------------------------------------------------------------------------


def test_d15_one_product_per_kind_created_once_reused_and_without_a_price(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    products = env.api.products()
    assert sorted((p["name"], sku) for sku, p in products.items()) == [
        ("Azure Classic", "billsync:azure-classic"),
        ("Azure Plan", "billsync:azure-plan"),
        ("Marketplace", "billsync:marketplace"),
    ]
    for product in products.values():
        assert (product["unitPrice"], product["unitCost"]) == (0, 0)
        assert (product["productBillingCodeID"], product["periodType"], product["isActive"]) == (
            2002,
            1,
            True,
        )
    assert (
        len([p for p in env.api.query("Products") if not is_lease(p)]) == 3
    )  # usage items never become products

    env.configure(november)
    env.apply("2026-11-25")

    assert env.api.products() == products
    ids = {sku: p["id"] for sku, p in products.items()}
    for n, sku in (
        ("11", "billsync:azure-plan"),
        ("12", "billsync:azure-plan"),
        ("13", "billsync:azure-classic"),
    ):
        contract = env.api.contract(f"{EX}{n}")["id"]
        # …11 has five usage lines in 2026-10: still one charge for the month.
        [charge] = env.api.charges(contract, "2026-10")
        assert charge["productID"] == ids[sku]


# -- D16 ----------------------------------------------------------------------------------------------


def test_d16_each_month_of_an_azure_or_marketplace_subscription_is_one_contract_charge(
    env: Env, october: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-07")
    products = {sku: p["id"] for sku, p in env.api.products().items()}

    contract = env.api.contract(f"{EX}14")["id"]
    [charge] = env.api.charges(contract)
    assert {k: v for k, v in charge.items() if k not in ("id", "createDate")} == {
        "contractID": contract,
        "name": "Nerdio Manager for Enterprise 2026-09",
        "description": f"Nerdio Manager for Enterprise 2026-09 ({EX}14)",
        "datePurchased": "2026-09-01T00:00:00",
        "unitQuantity": 50,
        "unitPrice": Decimal("4.56"),
        "unitCost": Decimal("4.104"),
        "productID": products["billsync:marketplace"],
        "billingCodeID": None,
        "chargeType": 1,  # the charge_type setting: required on create (A9.5)
        "status": 1,  # read-only: the tenant's default
        "isBillableToCompany": None,
        "isBilled": False,
        "purchaseOrderNumber": "billsync:2026-09",
        "internalPurchaseOrderNumber": None,
        "notes": None,
        "billableAmount": Decimal("228"),
        "extendedCost": Decimal("205.2"),
    }
    azure = env.api.contract(f"{EX}12")["id"]
    [usage] = env.api.charges(azure)
    assert (usage["name"], usage["description"]) == (
        "Azure Plan 2026-09",
        f"Azure Plan usage 2026-09 ({EX}12)",
    )
    assert (usage["unitQuantity"], usage["unitPrice"], usage["unitCost"]) == (
        1,
        Decimal("1619.06"),
        Decimal("1407.88"),
    )
    assert usage["productID"] == products["billsync:azure-plan"]
    assert env.api.billed(azure, "2026-09") == Decimal("1619.06")
    assert env.api.contract_services(azure) == []


def test_d16_a_charge_whose_unit_price_cannot_be_exact_still_bills_the_total_to_the_cent(
    env: Env, bundle: BundleWriter
) -> None:
    bundle.org("ORG-A", "Contoso Ltd", 101)
    bundle.sub("S-M", "ORG-A", "MP-1", "Backup for Microsoft 365", record_type="Marketplace", quantity=300)
    bundle.line("2026-09", "2026-10-06", "S-M", 300, "1000.00", "850.00")
    env.configure(bundle.write("marketplace"))

    env.apply("2026-10-07")

    contract = env.api.contract("S-M")["id"]
    charges = {c["purchaseOrderNumber"]: c for c in env.api.charges(contract)}
    assert sorted(charges) == ["billsync:2026-09", "billsync:2026-09/rounding"]
    usage, rounding = charges["billsync:2026-09"], charges["billsync:2026-09/rounding"]
    assert (usage["unitQuantity"], usage["unitPrice"], usage["billableAmount"]) == (
        300,
        Decimal("3.3333"),
        Decimal("999.99"),
    )
    assert (rounding["name"], rounding["unitQuantity"], rounding["unitPrice"]) == (
        "Rounding 2026-09",
        1,
        Decimal("0.01"),
    )
    assert env.api.billed(contract, "2026-09") == Decimal("1000.00")


# -- D17 ----------------------------------------------------------------------------------------------


def test_d17_one_service_per_type_created_once_and_reused_on_every_contract(
    env: Env, bundle: BundleWriter
) -> None:
    bundle.org("ORG-A", "Contoso Ltd", 101).org("ORG-B", "Fabrikam Inc", 102)
    reserved = "Reserved VM Instance, Standard_D4s_v5, US East 2, 1 Year"
    bundle.sub("S-RI-A", "ORG-A", "RI-1", reserved, record_type="ReservedInstance", quantity=2)
    bundle.sub("S-RI-B", "ORG-B", "RI-2", reserved, record_type="ReservedInstance", quantity=1)
    bundle.sub(
        "S-PL", "ORG-A", "PL-1", "SQL Server 2022 Standard", record_type="PerpetualLicense", quantity=4
    )
    bundle.sub(
        "S-SW", "ORG-B", "SW-1", "Windows Server 2022 RDS CAL", record_type="Subscription", quantity=20
    )
    for sub, quantity, sales, cost in (
        ("S-RI-A", 2, "280.32", "238.27"),
        ("S-RI-B", 1, "140.16", "119.14"),
        ("S-PL", 4, "7436.00", "6320.60"),
        ("S-SW", 20, "201.60", "171.36"),
    ):
        bundle.line("2026-09", "2026-10-06", sub, quantity, sales, cost)
    env.configure(bundle.write("september"))
    env.apply("2026-10-07")

    services = env.api.services()
    assert sorted((s["name"], sku) for sku, s in services.items()) == [
        ("Perpetual License", "billsync:perpetual-license"),
        ("Reserved Instance", "billsync:reserved-instance"),
        ("Subscription", "billsync:subscription"),
    ]
    assert {(s["unitPrice"], s["unitCost"], s["billingCodeID"]) for s in services.values()} == {(0, 0, 2001)}
    ri = services["billsync:reserved-instance"]["id"]
    for sub in ("S-RI-A", "S-RI-B"):
        [line] = env.api.contract_services(env.api.contract(sub)["id"])
        assert line["serviceID"] == ri
    [september] = env.api.units(env.api.contract("S-RI-A")["id"], "2026-09")
    assert (september["units"], september["price"], september["cost"]) == (
        2,
        Decimal("140.16"),
        Decimal("119.135"),
    )

    bundle.line("2026-10", "2026-11-06", "S-RI-A", 3, "420.48", "357.41")
    bundle.line("2026-10", "2026-11-06", "S-RI-B", 1, "140.16", "119.14")
    env.configure(bundle.write("october"))
    env.apply("2026-11-07")

    assert env.api.services() == services
    assert len(env.api.query("Services")) == 3
    [october_units] = env.api.units(env.api.contract("S-RI-A")["id"], "2026-10")
    assert (october_units["units"], october_units["price"]) == (3, Decimal("140.16"))
