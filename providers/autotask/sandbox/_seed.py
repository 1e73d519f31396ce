"""The demo tenant a new sandbox starts with (and ``reset`` restores)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from providers.autotask.entities import (
    BILLING_CODES,
    COMPANIES,
    CONTRACTS,
    USE_TYPE_MATERIAL,
    USE_TYPE_RECURRING_SERVICE,
)

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
OWNER_RESOURCE_ID = 29682885
"""The API user's resource, owner of every seeded company (Companies.ownerResourceID is required)."""
ACTIVE_SLA_ID = 1
INACTIVE_SLA_ID = 2
SLAS = ((ACTIVE_SLA_ID, "Standard", True), (INACTIVE_SLA_ID, "Legacy SLA", False))
"""The tenant's SLA picklist: (id, name, active)."""
RECURRING_SERVICE_CODE_ID = 2001
MATERIAL_CODE_ID = 2002
INACTIVE_CODE_ID = 2003
WORK_TYPE_CODE_ID = 2004
SUBSCRIPTION_UDF = "Subscription ID"
"""The contract UDF billsync keys contracts on; a real tenant's administrator must create it."""


def demo_rows() -> dict[str, list[dict[str, Any]]]:
    """The seeded objects by entity name."""
    owner = {"phone": "+1 555 0100", "ownerResourceID": OWNER_RESOURCE_ID}
    companies: list[dict[str, Any]] = [
        {"id": OWNER_COMPANY_ID, "companyName": "Demo MSP (owner)", "companyNumber": "C-0", "companyType": 5}
    ]
    companies += [
        {"id": company_id, "companyName": name, "companyNumber": f"C-{company_id}", "companyType": 1}
        for company_id, name in CUSTOMER_COMPANIES.items()
    ]
    free = {"unitPrice": 0, "unitCost": 0}
    return {
        COMPANIES.name: [{**company, **owner} for company in companies],
        BILLING_CODES.name: [
            {
                "id": RECURRING_SERVICE_CODE_ID,
                "name": "Recurring Contract Services",
                "useType": USE_TYPE_RECURRING_SERVICE,
                "isActive": True,
                **free,
            },
            {
                "id": MATERIAL_CODE_ID,
                "name": "Cloud Products",
                "useType": USE_TYPE_MATERIAL,
                "isActive": True,
                **free,
            },
            {
                "id": INACTIVE_CODE_ID,
                "name": "Retired Code",
                "useType": USE_TYPE_RECURRING_SERVICE,
                "isActive": False,
                **free,
            },
            {"id": WORK_TYPE_CODE_ID, "name": "Remote Support", "useType": 1, "isActive": True, **free},
        ],
    }


def seed_demo_tenant(store: SandboxStore) -> None:
    """Insert the demo tenant into an empty store: its configuration, companies and billing codes."""
    with store.transaction():
        for sla_id, name, active in SLAS:
            store.tenant.set_sla(sla_id, name, active=active)
        store.tenant.add_udf(CONTRACTS.name, SUBSCRIPTION_UDF)
        for entity_name, rows in demo_rows().items():
            store.insert_many(entity_name, rows)


OLD_USE_TYPES = {3: USE_TYPE_MATERIAL, 4: USE_TYPE_RECURRING_SERVICE}
"""``useType`` numbers of databases written before the published numbering (A9.10): old → new."""


def upgrade_tenant(store: SandboxStore) -> None:
    """Bring a database written before the tenant's configuration had tables up to date: its SLAs
    (from the old ``ServiceLevelAgreements`` table when there is one, else the demo ones), the
    "Subscription ID" UDF, and the billing codes' use types in the published numbering."""
    conn = store.connection
    with store.transaction():
        old = conn.execute("SELECT name FROM sqlite_master WHERE name = 'ServiceLevelAgreements'").fetchone()
        rows = (
            [
                (int(i), str(n), bool(a))
                for i, n, a in conn.execute('SELECT id, name, isActive FROM "ServiceLevelAgreements"')
            ]
            if old
            else list(SLAS)
        )
        for sla_id, name, active in rows:
            store.tenant.set_sla(sla_id, name, active=active)
        store.tenant.add_udf(CONTRACTS.name, SUBSCRIPTION_UDF)
        for before, after in sorted(OLD_USE_TYPES.items(), reverse=True):  # 4→5 first, then 3→4
            conn.execute('UPDATE "BillingCodes" SET useType = ? WHERE useType = ?', (after, before))
