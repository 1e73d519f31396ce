"""The demo tenant a new sandbox starts with (and ``reset`` restores)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.autotask.entities import BILLING_CODES, COMPANIES, SERVICE_LEVEL_AGREEMENTS

if TYPE_CHECKING:
    from ._store import SandboxStore

OWNER_COMPANY_ID = 0
CUSTOMER_COMPANIES = {
    101: "Contoso Ltd",
    102: "Fabrikam Inc",
    103: "Northwind Traders",
    104: "Tailspin Toys",
    105: "Adventure Works Cycles",
}
ACTIVE_SLA_ID = 1
INACTIVE_SLA_ID = 2
RECURRING_SERVICE_CODE_ID = 2001
MATERIAL_CODE_ID = 2002
INACTIVE_CODE_ID = 2003


def demo_rows() -> dict[str, list[dict[str, Any]]]:
    """The seeded objects by entity name."""
    companies: list[dict[str, Any]] = [
        {"id": OWNER_COMPANY_ID, "companyName": "Demo MSP (owner)", "companyNumber": "C-0", "companyType": 5}
    ]
    companies += [
        {"id": company_id, "companyName": name, "companyNumber": f"C-{company_id}", "companyType": 1}
        for company_id, name in CUSTOMER_COMPANIES.items()
    ]
    return {
        COMPANIES.name: companies,
        SERVICE_LEVEL_AGREEMENTS.name: [
            {"id": ACTIVE_SLA_ID, "name": "Standard", "isActive": True},
            {"id": INACTIVE_SLA_ID, "name": "Legacy SLA", "isActive": False},
        ],
        BILLING_CODES.name: [
            {
                "id": RECURRING_SERVICE_CODE_ID,
                "name": "Recurring Contract Services",
                "useType": 4,
                "isActive": True,
            },
            {"id": MATERIAL_CODE_ID, "name": "Cloud Products", "useType": 3, "isActive": True},
            {"id": INACTIVE_CODE_ID, "name": "Retired Code", "useType": 4, "isActive": False},
        ],
    }


def seed_demo_tenant(store: SandboxStore) -> None:
    """Insert the demo tenant into an empty store."""
    with store.transaction():
        for entity_name, rows in demo_rows().items():
            store.insert_many(entity_name, rows)
