"""Storage: persistence across restarts, reset, bulk seeding at benchmark scale, entity information, routing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from providers.autotask.sandbox import (
    BASE_PATH,
    SANDBOX_CREDENTIALS,
    SandboxApp,
    SandboxStore,
    make_app,
    reset,
)

CONTRACT = {
    "companyID": 102,
    "contractName": "Fabrikam Azure",
    "contractType": 7,
    "timeReportingRequiresStartAndStopTimes": 0,
    "status": 1,
    "startDate": "2026-01-01",
    "endDate": "2026-12-31",
    "userDefinedFields": [{"name": "Subscription ID", "value": "AZ-1"}],
}
BY_SUBSCRIPTION = {"filter": [{"op": "eq", "field": "Subscription ID", "udf": True, "value": "AZ-1"}]}


def _client(app: SandboxApp) -> httpx.Client:
    return httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    )


def test_state_persists_across_an_app_restart_on_a_file_database(tmp_path: Path) -> None:
    db = tmp_path / ".billsync" / "sandbox.db"
    first = make_app(db)
    with _client(first) as client:
        contract = client.post("Contracts", json=CONTRACT).json()["itemId"]
        service = client.post(
            "Services", json={"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": "2.5"}
        ).json()["itemId"]
        client.post(
            f"Contracts/{contract}/ServiceAdjustments",
            json={"serviceID": service, "effectiveDate": "2026-06-01", "unitChange": 7},
        )
    first.store.close()

    second = make_app(db)
    with _client(second) as client:
        found = client.post("Contracts/query", json=BY_SUBSCRIPTION).json()["items"]
        units = client.post(
            "ContractServiceUnits/query",
            json={"filter": [{"op": "eq", "field": "startDate", "value": "2026-06-01"}]},
        )
        company = client.post(
            "Companies",
            json={
                "companyName": "After restart",
                "companyType": 1,
                "phone": "555-0100",
                "ownerResourceID": 29682885,
            },
        ).json()["itemId"]
        demo = client.post(
            "Companies/query/count", json={"filter": [{"op": "lt", "field": "id", "value": 1000}]}
        ).json()
    assert [c["id"] for c in found] == [contract]
    assert [(u["units"], u["price"]) for u in units.json()["items"]] == [(7, 2.5)]
    assert company == 30_000_005
    assert demo == {"queryCount": 6}
    second.store.close()


def test_reset_restores_the_seeded_demo_tenant(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    app = make_app(db)
    with _client(app) as client:
        client.post("Contracts", json=CONTRACT)
    app.store.close()
    reset(db)
    app = make_app(db)
    with _client(app) as client:
        assert client.post("Contracts/query", json=BY_SUBSCRIPTION).json()["items"] == []
        names = [
            c["companyName"]
            for c in client.post("Companies/query", json={"filter": [{"op": "exist", "field": "id"}]}).json()[
                "items"
            ]
        ]
        codes = client.post("BillingCodes/query", json={"filter": [{"op": "exist", "field": "id"}]}).json()[
            "items"
        ]
        fields = client.get("Contracts/entityInformation/fields").json()["fields"]
        (sla,) = [f for f in fields if f["name"] == "serviceLevelAgreementID"]
        assert client.post("Contracts", json=CONTRACT).json() == {"itemId": 30_000_001}
    assert names == [
        "Demo MSP (owner)",
        "Contoso Ltd",
        "Fabrikam Inc",
        "Northwind Traders",
        "Tailspin Toys",
        "Adventure Works Cycles",
    ]
    assert [(c["id"], c["name"], c["useType"], c["isActive"]) for c in codes] == [
        (2001, "Recurring Contract Services", 5, True),
        (2002, "Cloud Products", 4, True),
        (2003, "Retired Code", 5, False),
        (2004, "Remote Support", 1, True),
    ]
    # SLAs are the picklist of serviceLevelAgreementID, values as strings (A8, A9.9)
    assert [(v["value"], v["label"], v["isActive"]) for v in sla["picklistValues"]] == [
        ("1", "Standard", True),
        ("2", "Legacy SLA", False),
    ]
    app.store.close()


def test_reset_over_http_forgets_objects_counters_and_faults() -> None:
    app = make_app(":memory:")
    app.inject_fault(endpoint="Products", status=500)
    with _client(app) as client:
        client.post("Contracts", json=CONTRACT)
        assert client.post("http://sandbox/_sandbox/reset").json() == {"reset": True}
        assert client.post("Contracts/query", json=BY_SUBSCRIPTION).json()["items"] == []
    assert app.faults() == []
    assert app.stats().count("Contracts") == 1


@pytest.mark.slow  # 250,000 rows: 3 s of CPU
def test_bulk_seeding_250k_rows_and_an_in_query_of_500_ids() -> None:
    store = SandboxStore(":memory:")
    ids = store.insert_many(
        "ContractServices",
        (
            {"contractID": 40_000_000 + n // 5, "serviceID": 7 + n % 5, "unitPrice": Decimal("10.5")}
            for n in range(250_000)
        ),
    )
    assert len(ids) == 250_000
    assert ids[0] == 30_000_001
    assert ids[-1] == 30_250_000
    wanted = ids[::500]
    app = SandboxApp(store)
    with _client(app) as client:
        response = client.post(
            "ContractServices/query",
            json={"filter": [{"op": "in", "field": "id", "value": wanted}], "IncludeFields": ["contractID"]},
        )
        by_contract = client.post(
            "ContractServices/query/count",
            json={
                "filter": [
                    {
                        "op": "in",
                        "field": "contractID",
                        "value": [40_000_000 + n for n in range(0, 50_000, 100)],
                    }
                ]
            },
        )
    assert [(row["id"], row["contractID"]) for row in response.json()["items"]] == [
        (object_id, 40_000_000 + (object_id - 30_000_001) // 5) for object_id in wanted
    ]
    assert by_contract.json() == {"queryCount": 2500}
    assert store.allocate_id() == 30_250_001


def test_bulk_seeding_checks_rows_and_accepts_python_values() -> None:
    store = SandboxStore(":memory:", seed=False)
    store.tenant.add_udf("Contracts", "Subscription ID")  # an unseeded tenant has no UDF yet
    (contract,) = store.insert_many(
        "Contracts",
        [
            {
                "companyID": 1,
                "contractName": "Bulk",
                "contractType": 7,
                "timeReportingRequiresStartAndStopTimes": 0,
                "status": 1,
                "startDate": date(2026, 1, 1),
                "endDate": "2026-12-31",
                "userDefinedFields": [{"name": "Subscription ID", "value": "B-1"}],
            }
        ],
    )
    app = SandboxApp(store)
    with _client(app) as client:
        item = client.get(f"Contracts/{contract}").json()["item"]
    assert (item["startDate"], item["userDefinedFields"]) == (
        "2026-01-01T00:00:00",
        [{"name": "Subscription ID", "value": "B-1"}],
    )
    with pytest.raises(ValueError, match="row 2: Contracts has no field 'colour'"):
        store.insert_many("Contracts", [{"contractName": "ok"}, {"colour": "red"}])
    with pytest.raises(ValueError, match="row 1: Contracts.status must be an integer"):
        store.insert_many("Contracts", [{"status": "on"}])
    with pytest.raises(ValueError, match="ContractServiceUnits is computed"):
        store.insert_many("ContractServiceUnits", [])


def test_entity_information_describes_fields_picklists_and_udfs() -> None:
    with _client(make_app(":memory:")) as client:
        info = client.get("ContractServiceAdjustments/entityInformation").json()["info"]
        fields = {f["name"]: f for f in client.get("Contracts/entityInformation/fields").json()["fields"]}
        udfs = client.get("Contracts/entityInformation/userDefinedFields").json()
        none = client.get("Services/entityInformation/userDefinedFields").json()
    assert (info["canCreate"], info["canQuery"], info["canUpdate"], info["canDelete"]) == (
        True,
        False,
        False,
        False,
    )
    contract_type = fields["contractType"]
    assert (contract_type["dataType"], contract_type["isPickList"], contract_type["isRequired"]) == (
        "integer",
        True,
        True,
    )
    assert {
        "value": "7",
        "label": "Recurring Service",
        "isActive": True,
        "isDefaultValue": False,
        "sortOrder": 4,
        "parentValue": "",
        "isSystem": False,
    } in (contract_type["picklistValues"])
    assert [v["label"] for v in fields["contractPeriodType"]["picklistValues"]] == [
        "Monthly",
        "Quarterly",
        "Semi-Annually",
        "Yearly",
    ]
    assert (fields["companyID"]["isReference"], fields["companyID"]["referenceEntityType"]) == (
        True,
        "Companies",
    )
    assert fields["lastModifiedDateTime"]["isReadOnly"] is True
    assert [u["name"] for u in udfs["fields"]] == ["Subscription ID"]
    assert none == {"fields": []}


NOT_ALLOWED = "The requested resource does not support http method '{}'."


@pytest.mark.parametrize(
    ("method", "path", "status", "shape"),
    [
        ("GET", "Widgets/query", 404, "html"),
        ("GET", "Companies/999", 404, "errors"),
        ("PUT", "Companies", 405, "Message"),
        ("DELETE", "Companies", 405, "Message"),
        ("GET", "Companies", 405, "Message"),
        ("POST", "Companies/101", 405, "Message"),
        ("GET", "Contracts/1/Widgets", 404, "html"),
        ("POST", "BillingCodes", 405, "Message"),
        ("PATCH", "ServiceLevelAgreements", 404, "html"),
    ],
)
def test_unknown_paths_and_wrong_verbs(method: str, path: str, status: int, shape: str) -> None:
    """Autotask's three error shapes (A2): ``errors`` for a missing object, ASP.NET's ``Message`` for
    a verb the route does not take, IIS's HTML page for a path nothing serves."""
    with _client(make_app(":memory:")) as client:
        response = client.request(method, path, json={"companyName": "x", "id": 1})
    assert response.status_code == status
    if shape == "html":
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>404 - File or directory not found.</title>" in response.text
    elif shape == "Message":
        assert response.json() == {"Message": NOT_ALLOWED.format(method)}
    else:
        assert response.json() == {"errors": ["Companies 999 does not exist."]}


def test_paths_are_case_insensitive_and_children_are_reached_through_their_contract() -> None:
    with _client(make_app(":memory:")) as client:
        contract = client.post("contracts", json=CONTRACT).json()["itemId"]
        other = client.post("Contracts", json={**CONTRACT, "userDefinedFields": []}).json()["itemId"]
        service = client.post(
            "SERVICES", json={"name": "S", "billingCodeID": 2001, "periodType": 1, "unitPrice": 1}
        ).json()["itemId"]
        cs = client.post(f"Contracts/{contract}/services", json={"serviceID": service}).json()["itemId"]
        assert client.get(f"Contracts/{contract}/Services/{cs}").json()["item"]["id"] == cs
        assert client.get(f"Contracts/{other}/Services/{cs}").status_code == 404
        wrong_parent = client.patch(f"Contracts/{other}/Services", json={"id": cs, "invoiceDescription": "x"})
        assert wrong_parent.json() == {
            "errors": [f"ContractServices {cs} does not belong to contract {other}."]
        }


def test_the_public_surface_is_declared_in_all() -> None:
    import providers.autotask.sandbox as sandbox

    public = sorted(name for name in vars(sandbox) if not name.startswith("_"))
    assert public == sorted(sandbox.__all__)


def test_a_database_from_before_the_tenant_tables_is_upgraded_in_place(tmp_path: Path) -> None:
    """An embedded sandbox written by an older billsync keeps its objects and gains the tenant's
    configuration: SLAs from its old ServiceLevelAgreements table, the UDF, published use types."""
    db = tmp_path / "sandbox.db"
    store = SandboxStore(db)
    conn = store.connection
    conn.execute("DROP TABLE tenant_slas")
    conn.execute("DROP TABLE tenant_udfs")
    conn.execute(
        'CREATE TABLE "ServiceLevelAgreements" (id INTEGER PRIMARY KEY, name TEXT, isActive INTEGER)'
    )
    conn.execute("""INSERT INTO "ServiceLevelAgreements" VALUES (1, 'Standard', 1), (7, 'Gold', 0)""")
    conn.execute('UPDATE "BillingCodes" SET useType = 4 WHERE useType = 5')
    conn.execute('UPDATE "BillingCodes" SET useType = 3 WHERE id = 2002')
    store.close()

    upgraded = SandboxStore(db)
    assert [(s.id, s.name, s.is_active) for s in upgraded.tenant.slas()] == [
        (1, "Standard", True),
        (7, "Gold", False),
    ]
    assert [u.name for u in upgraded.tenant.udfs("Contracts")] == ["Subscription ID"]
    codes = upgraded.connection.execute('SELECT id, useType FROM "BillingCodes" ORDER BY id').fetchall()
    assert codes == [(2001, 5), (2002, 4), (2003, 5), (2004, 1)]
    upgraded.close()
