"""Contract life: D18 renewal, D19 invoice description, D20 history is immutable, D21 removal."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import BundleWriter, Env

EX = "6f1c2d3e-0a1b-4c5d-8e9f-0000000000"
"""Example subscription ids: f"{EX}04" is …04 of providers/cloudmore/example/README.md."""
CSP_SUBSCRIPTIONS = ("01", "02", "03", "04", "05", "06", "07", "08", "18", "20")


def _without(
    rows: dict[str, dict[int, dict[str, Any]]], *fields: str
) -> dict[str, dict[int, dict[str, Any]]]:
    """Every object with ``fields`` (and the modification stamp) left out, for "nothing else changed"."""
    drop = {*fields, "lastModifiedDateTime", "lastModifiedDate"}
    return {
        e: {i: {k: v for k, v in r.items() if k not in drop} for i, r in by_id.items()}
        for e, by_id in rows.items()
    }


# -- D18 ----------------------------------------------------------------------------------------------


def test_d18_renewal_extends_the_existing_contract_to_the_new_end_month(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    renewed = env.api.contract(f"{EX}04")
    assert renewed["endDate"] == "2026-10-31T00:00:00"

    env.configure(november)
    plan = env.plan("2026-11-25")
    [update] = plan.changes("update", "contract")
    assert (update["address"], update["target_id"]) == (f'contract["{EX}04"]', renewed["id"])
    assert (update["before"], update["after"]) == ({"endDate": "2026-10-31"}, {"endDate": "2027-10-31"})
    assert plan.changes("create", "contract") == []
    env.apply("2026-11-25")

    after = env.api.contract(f"{EX}04")
    assert after["id"] == renewed["id"]
    assert after == {
        **renewed,
        "endDate": "2027-10-31T00:00:00",
        "lastModifiedDateTime": after["lastModifiedDateTime"],
    }
    assert len(env.api.marked_contracts()) == 17
    # The renewed contract goes on billing: 25 seats in 2026-10 and still there after the old end.
    assert [r["units"] for r in env.api.units(renewed["id"], "2026-11")] == [25]


# -- D19 ----------------------------------------------------------------------------------------------


def test_d19_editing_or_emptying_the_invoice_description_template_changes_exactly_those_fields(
    env: Env, october: Path
) -> None:
    env.init()
    env.configure(october)
    env.apply("2026-10-10")
    before = env.api.everything()
    env.edit_rule(
        "csp365.yaml",
        'invoiceDescription: "{{ product.product_name }} ({{ product.product_id }})"',
        'invoiceDescription: "{{ product.product_name }}"',
    )
    env.edit_rule(
        "csp365.yaml",
        'invoiceDescription: "{{ sub.product_name }} ({{ sub.product_id }})"',
        'invoiceDescription: ""',
    )

    plan = env.plan("2026-10-10", "--period", "2026-09")
    assert {c["action"] for c in plan.changes()} == {"update"}
    assert {tuple(c["after"]) for c in plan.changes()} == {("invoiceDescription",)}
    assert sorted(plan.addresses(kind="contract_service")) == [
        f'contract_service["{EX}{n}"]' for n in CSP_SUBSCRIPTIONS
    ]
    assert len(plan.addresses(kind="service")) == 9
    env.apply("2026-10-10", "--period", "2026-09")

    after = env.api.everything()
    assert _without(after, "invoiceDescription") == _without(before, "invoiceDescription")
    for sku, service in env.api.services().items():
        if sku.startswith("billsync:csp365:"):
            assert service["invoiceDescription"] == service["name"]
    lines = list(after["ContractServices"].values())
    csp = [cs for cs in lines if after["Services"][cs["serviceID"]]["sku"].startswith("billsync:csp365:")]
    assert len(csp) == 10
    assert {cs["invoiceDescription"] for cs in csp} == {""}
    assert {cs["invoiceDescription"] for cs in lines if cs not in csp} == {
        "Reserved VM Instance, Standard_D4s_v5, US East 2, 1 Year (DZH318Z0BQ3Q:00J6)",
        "SQL Server 2022 Standard - 2 Core License Pack (DG7GMGF0FKZV:0001)",
        "Windows Server 2022 Remote Desktop Services - 1 User CAL (DG7GMGF0PWHB:0002)",
    }


def test_d19_charge_descriptions_follow_the_edited_template(env: Env, october: Path) -> None:
    env.init()
    env.edit_rule(
        "azure.yaml",
        'description: "{{ sub.product_name }} usage {{ month.period }} ({{ sub.subscription_id }})"',
        'description: "Azure usage {{ month.period }}"',
    )
    env.edit_rule(
        "marketplace.yaml",
        'description: "{{ sub.product_name }} {{ month.period }} ({{ sub.subscription_id }})"',
        'description: ""',
    )
    env.configure(october)

    env.apply("2026-10-07")

    for n in ("11", "12", "13"):
        [charge] = env.api.charges(env.api.contract(f"{EX}{n}")["id"])
        assert charge["description"] == "Azure usage 2026-09"
    [marketplace] = env.api.charges(env.api.contract(f"{EX}14")["id"])
    assert (marketplace["name"], marketplace["description"]) == ("Nerdio Manager for Enterprise 2026-09", "")


# -- D20 ----------------------------------------------------------------------------------------------


def test_d20_a_revised_month_becomes_a_correction_and_what_was_applied_or_billed_is_untouched(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    contract = env.api.contract(f"{EX}07")["id"]
    september = env.api.units(contract, "2026-09")
    assert [(r["units"], r["price"]) for r in september] == [(12, Decimal("12.5"))]
    billed = [env.api.charges(env.api.contract(f"{EX}{n}")["id"], "2026-09")[0] for n in ("08", "14")]
    for charge in billed:
        env.api.bill_charge(charge["id"])
    billed = [env.api.get("ContractCharges", c["id"]) for c in billed]
    assert [c["isBilled"] for c in billed] == [True, True]

    env.configure(november)
    plan = env.plan("2026-11-25")
    assert plan.doc["periods"][0] == {
        "period": "2026-09",
        "available_on": "2026-10-20",
        "revision_of": "2026-10-06",
        "applied": False,
    }
    correction = f'charge["{EX}07"]["2026-09"]["correction-2026-10-20"]'
    assert [a for a in plan.addresses() if "correction" in a] == [correction]
    assert plan.change(correction)["after"] == {
        "billingCodeID": 2002,
        "datePurchased": "2026-09-01",
        "description": "Microsoft 365 Business Standard 2026-09: revised report of 2026-10-20",
        "name": "Correction 2026-09",
        "unitCost": "-21.2500",
        "unitPrice": "-25.0000",
        "unitQuantity": "1.0000",
    }
    assert [a for a in plan.addresses() if '["2026-09"]' in a and "correction" not in a] == []
    env.apply("2026-11-25")

    assert env.api.units(contract, "2026-09") == september
    [fix] = env.api.charges(contract, "2026-09")
    assert (fix["name"], fix["unitQuantity"], fix["unitPrice"], fix["unitCost"], fix["billableAmount"]) == (
        "Correction 2026-09",
        1,
        Decimal("-25"),
        Decimal("-21.25"),
        Decimal("-25"),
    )
    assert fix["purchaseOrderNumber"] == "billsync:2026-09/correction-2026-10-20"
    assert env.api.billed(contract, "2026-09") == Decimal("125.00")
    assert [env.api.get("ContractCharges", c["id"]) for c in billed] == billed


def test_d20_a_billed_charge_is_never_changed_even_when_its_rule_changes(env: Env, october: Path) -> None:
    env.init()
    env.configure(october)
    env.apply("2026-10-10")
    marketplace = env.api.charges(env.api.contract(f"{EX}14")["id"])[0]
    env.api.bill_charge(marketplace["id"])
    marketplace = env.api.get("ContractCharges", marketplace["id"])
    for rule in ("azure.yaml", "marketplace.yaml"):
        template = "usage {{ month.period }}" if rule == "azure.yaml" else "{{ month.period }}"
        env.edit_rule(
            rule,
            f'description: "{{{{ sub.product_name }}}} {template} ({{{{ sub.subscription_id }}}})"',
            'description: "Cloud usage {{ month.period }}"',
        )

    plan = env.plan("2026-10-10", "--period", "2026-09")
    assert sorted(plan.addresses("update", "charge")) == [
        f'charge["{EX}{n}"]["2026-09"]' for n in ("11", "12", "13")
    ]
    env.apply("2026-10-10", "--period", "2026-09")

    assert env.api.get("ContractCharges", marketplace["id"]) == marketplace
    assert env.api.charges(env.api.contract(f"{EX}11")["id"])[0]["description"] == "Cloud usage 2026-09"


def test_d20_a_revised_charge_month_adds_a_correction_charge_beside_the_billed_one(
    env: Env, bundle: BundleWriter
) -> None:
    bundle.org("ORG-A", "Contoso Ltd", 101)
    bundle.sub(
        "S-M", "ORG-A", "MP-1", "Nerdio Manager for Enterprise", record_type="Marketplace", quantity=50
    )
    bundle.line("2026-09", "2026-10-06", "S-M", 50, "228.00", "205.20")
    env.configure(bundle.write("original"))
    env.apply("2026-10-07")
    contract = env.api.contract("S-M")["id"]
    [original] = env.api.charges(contract)
    env.api.bill_charge(original["id"])
    original = env.api.get("ContractCharges", original["id"])

    bundle.line("2026-09", "2026-10-20", "S-M", 50, "228.00", "205.20")
    bundle.line("2026-09", "2026-10-20", "S-M", 5, "-22.80", "-20.52")
    env.configure(bundle.write("revised"))
    env.apply("2026-10-21")

    first, fix = env.api.charges(contract)
    assert first == original
    assert (fix["name"], fix["unitQuantity"], fix["unitPrice"], fix["unitCost"]) == (
        "Correction 2026-09",
        1,
        Decimal("-22.8"),
        Decimal("-20.52"),
    )
    # the month's charge is billed, so the month is posted: the correction goes to 2026-10 (D27)
    assert fix["datePurchased"] == "2026-10-01T00:00:00"
    assert env.api.billed(contract, "2026-09") + fix["billableAmount"] == Decimal("205.20")


# -- D21 ----------------------------------------------------------------------------------------------


def test_d21_a_disappeared_subscription_is_an_orphan_kept_as_is_by_default(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    contract = env.api.contract(f"{EX}06")
    units = env.api.units(contract["id"])
    before = env.api.everything()

    env.configure(november)
    plan = env.plan("2026-11-25")
    assert plan.change(f'contract["{EX}06"]') == {
        "action": "orphan",
        "address": f'contract["{EX}06"]',
        "kind": "contract",
        "policy": "keep",
        "reason": f"subscription {EX}06 is no longer in Cloudmore",
        "target_id": contract["id"],
    }
    assert (
        f'  ? contract["{EX}06"] is an orphan (id {contract["id"]}): subscription {EX}06 is no longer in '
        "Cloudmore; left as is"
    ) in env.plan_text("2026-11-25").splitlines()
    env.apply("2026-11-25")

    assert env.api.contract(f"{EX}06") == contract  # the contract is left as it is
    # but a month without a billing line bills nothing (D14): 2026-10 goes to 0 units, 2026-09 is untouched
    now = env.api.units(contract["id"])
    assert [r for r in now if not r["startDate"].startswith("2026-10")] == [
        r for r in units if not r["startDate"].startswith("2026-10")
    ]
    assert [(r["units"], r["price"], r["cost"]) for r in now if r["startDate"].startswith("2026-10")] == [
        (0, 0, 0)
    ]
    after = env.api.everything()
    for entity, rows in before.items():
        assert set(rows) <= set(after[entity]), f"{entity} lost objects"


def test_d21_policy_end_ends_the_contract_on_its_last_billed_month_and_deletes_nothing(
    env: Env, october: Path, edited_november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    # ORG-1005 (…05, …08) disappears from Cloudmore altogether; …06 was cancelled.
    for csv_file in edited_november.rglob("*.csv"):
        kept = [
            line for line in csv_file.read_text("utf-8").splitlines(keepends=True) if "ORG-1005" not in line
        ]
        csv_file.write_text("".join(kept), "utf-8")
    contracts = {n: env.api.contract(f"{EX}{n}") for n in ("05", "06", "08")}
    before = env.api.everything()

    env.configure(edited_november, removal_policy="end")
    plan = env.plan("2026-11-25")
    assert sorted(plan.addresses("orphan")) == [f'contract["{EX}{n}"]' for n in ("05", "06", "08")]
    assert {c["policy"] for c in plan.changes("orphan")} == {"end"}
    ends = {c["address"]: (c["before"], c["after"], c["reason"]) for c in plan.changes("update", "contract")}
    last_month = "removal policy end: last billed month 2026-09"
    assert ends == {
        f'contract["{EX}05"]': ({"endDate": "2027-01-31"}, {"endDate": "2026-09-30"}, last_month),
        f'contract["{EX}06"]': ({"endDate": "2026-10-31"}, {"endDate": "2026-09-30"}, last_month),
        f'contract["{EX}08"]': ({"endDate": "2026-12-31"}, {"endDate": "2026-09-30"}, last_month),
        f'contract["{EX}04"]': ({"endDate": "2026-10-31"}, {"endDate": "2027-10-31"}, ""),
    }
    env.apply("2026-11-25")

    for n, contract in contracts.items():
        after = env.api.contract(f"{EX}{n}")
        assert (after["id"], after["endDate"]) == (contract["id"], "2026-09-30T00:00:00")
        assert env.api.units(contract["id"], "2026-10") == []
        assert env.api.billed(contract["id"], "2026-10") == Decimal("0")
    after_all = env.api.everything()
    for entity, rows in before.items():
        assert set(rows) <= set(after_all[entity]), f"{entity} lost objects"
    again = env.plan("2026-11-25")
    assert sorted(again.addresses()) == [f'contract["{EX}{n}"]' for n in ("05", "06", "08")]
    assert {c["action"] for c in again.changes()} == {"orphan"}


def test_d21_d14_a_disappeared_subscription_bills_nothing_for_a_month_without_a_line(
    env: Env, october: Path, november: Path
) -> None:
    env.configure(october)
    env.apply("2026-10-10")
    env.configure(november)
    env.apply("2026-11-25")

    cancelled = env.api.contract(f"{EX}06")
    assert cancelled["endDate"] == "2026-10-31T00:00:00"  # kept as is (D21)
    fabrikam = [c["id"] for c in env.api.query("Contracts") if c["companyID"] == 102]
    october_total = sum((env.api.billed(c, "2026-10") for c in fabrikam), Decimal(0))
    assert (env.api.billed(cancelled["id"], "2026-10"), october_total) == (Decimal("0.00"), Decimal("296.00"))


# -- a moved start date (API-FACTS A9.1) --------------------------------------------------------------


def test_a_moved_start_date_is_a_warning_and_never_a_write(env: Env, edited_october: Path) -> None:
    """Autotask fixes a recurring contract's start date once it has services, as billsync's have from
    their first apply: when Cloudmore later gives a subscription another start month, the plan warns,
    names the field and writes nothing for it, and apply leaves the contract as it is."""
    env.configure(edited_october)
    env.apply("2026-10-07")
    subscriptions = edited_october / "subscriptions.csv"
    text = subscriptions.read_text("utf-8")
    assert text.count(f"{EX}01,ORG-1001,") == 1 and ",2025-03-01,2027-02-28," in text
    subscriptions.write_text(text.replace(",2025-03-01,2027-02-28,", ",2025-04-01,2027-02-28,"), "utf-8")
    before = env.api.contract(f"{EX}01")

    plan = env.plan("2026-10-07", "--period", "2026-09")

    assert plan.changes("update", "contract") == []
    assert [d for d in plan.diagnostics if d["code"] == "immutable-field"] == [
        {
            "severity": "warning",
            "code": "immutable-field",
            "message": f'contract["{EX}01"]: startDate is 2025-03-01 in the target and the rules now give '
            "2025-04-01, but it cannot be changed after create, so billsync leaves it: Autotask fixes a "
            "contract's type, period type and company when it is created, and its start date once it has "
            "services; keep the old setting, or end this contract (removal_policy: end) and bill a new "
            "subscription.",
        }
    ]
    env.api.reset_counters()
    env.apply("2026-10-07", "--period", "2026-09")
    assert "Contracts" not in env.api.writes()
    assert env.api.contract(f"{EX}01") == before
