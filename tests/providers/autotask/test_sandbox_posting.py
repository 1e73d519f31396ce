"""Approve & Post in the sandbox: posted unit rows, billed charges, and the writes a posted period refuses.

Probed the way a plain HTTP client sees the sandbox (status code and ``errors`` body); the REST error
text for a posted period is NOT FOUND (API-FACTS A10), so the sandbox takes the stricter 500 answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from engine.cli import cli
from providers.autotask.sandbox import (
    SANDBOX_CREDENTIALS,
    SandboxApp,
    SandboxConfig,
    SandboxStore,
    make_app,
    start_background_server,
)
from tests.providers.autotask.sandbox_http import create, refusal_of, wsgi_client

NOW = datetime(2026, 11, 5, 8, 0, 0)
NOVEMBER_CHARGE = {
    "name": "November",
    "datePurchased": "2026-11-01",
    "unitQuantity": 1,
    "unitPrice": "5",
    "billingCodeID": 2002,
    "chargeType": 1,
}
"""A charge of the month after the posted ones: open, so it may be changed or deleted."""


@pytest.fixture
def app() -> SandboxApp:
    return make_app(":memory:", SandboxConfig(clock=lambda: NOW))


@pytest.fixture
def client(app: SandboxApp) -> Iterator[httpx.Client]:
    with wsgi_client(app) as client:
        yield client


def _billing(client: httpx.Client) -> tuple[int, int, int]:
    """A monthly contract for 2026 with a service at 3 units from October, and a charge dated 2026-10-01."""
    contract = create(
        client,
        "Contracts",
        {
            "companyID": 101,
            "contractName": "Contoso M365",
            "contractType": 7,
            "timeReportingRequiresStartAndStopTimes": 0,
            "status": 1,
            "startDate": "2026-01-01",
            "endDate": "2026-12-31",
            "contractPeriodType": 1,
        },
    )
    service = create(
        client,
        "Services",
        {
            "name": "Microsoft 365 E3",
            "billingCodeID": 2001,
            "periodType": 1,
            "unitPrice": "10",
            "unitCost": "8",
        },
    )
    create(
        client,
        "ContractServiceAdjustments",
        {"contractID": contract, "serviceID": service, "effectiveDate": "2026-10-01", "unitChange": 3},
    )
    charge = create(
        client,
        f"Contracts/{contract}/Charges",
        {
            "name": "Rounding 2026-10",
            "datePurchased": "2026-10-01",
            "unitQuantity": 1,
            "unitPrice": "0.01",
            "unitCost": "0",
            "billingCodeID": 2002,
            "chargeType": 1,
        },
    )
    return contract, service, charge


def _posted(client: httpx.Client, contract: int) -> list[tuple[str, int, str | None]]:
    body = {
        "filter": [
            {"op": "eq", "field": "contractID", "value": contract},
            {"op": "gte", "field": "startDate", "value": "2026-09-01"},
        ],
        "IncludeFields": ["startDate", "units", "approveAndPostDate"],
    }
    response = client.post("ContractServiceUnits/query", json=body)
    assert response.status_code == 200, response.text
    return [(r["startDate"][:10], r["units"], r["approveAndPostDate"]) for r in response.json()["items"]]


def test_posting_stamps_the_periods_through_the_day_and_bills_the_charges_up_to_it(
    app: SandboxApp, client: httpx.Client
) -> None:
    contract, _service, charge = _billing(client)
    later = create(client, f"Contracts/{contract}/Charges", NOVEMBER_CHARGE)
    assert _posted(client, contract)[:3] == [
        ("2026-09-01", 0, None),
        ("2026-10-01", 3, None),
        ("2026-11-01", 3, None),
    ]

    response = client.post("http://sandbox/_sandbox/post", json={"through": "2026-10-31"})

    assert response.status_code == 200, response.text
    assert response.json() == {"through": "2026-10-31", "postedAt": "2026-11-05T08:00:00", "chargesBilled": 1}
    assert _posted(client, contract)[:3] == [
        ("2026-09-01", 0, "2026-11-05T08:00:00"),
        ("2026-10-01", 3, "2026-11-05T08:00:00"),
        ("2026-11-01", 3, None),
    ]
    assert client.get(f"ContractCharges/{charge}").json()["item"]["isBilled"] is True
    assert client.get(f"ContractCharges/{later}").json()["item"]["isBilled"] is False
    # a later posting keeps the first posting's date on the periods it already covered
    app.tenant.post(date(2026, 11, 30), at=datetime(2026, 12, 3, 7, 0, 0))
    assert _posted(client, contract)[1:3] == [
        ("2026-10-01", 3, "2026-11-05T08:00:00"),
        ("2026-11-01", 3, "2026-12-03T07:00:00"),
    ]


def test_only_periods_ending_by_the_day_are_posted(app: SandboxApp, client: httpx.Client) -> None:
    contract, _service, _charge = _billing(client)
    app.tenant.post(date(2026, 10, 30), at=NOW)  # October ends on the 31st: not posted
    assert [row[2] for row in _posted(client, contract)[:2]] == ["2026-11-05T08:00:00", None]
    # October is open, so an adjustment effective in it is accepted
    create(
        client,
        "ContractServiceAdjustments",
        {"contractID": contract, "serviceID": _service, "effectiveDate": "2026-10-15", "unitChange": 1},
    )


def test_an_adjustment_into_a_posted_period_is_refused_and_the_open_period_still_takes_one(
    app: SandboxApp, client: httpx.Client
) -> None:
    contract, service, _charge = _billing(client)
    app.tenant.post(date(2026, 10, 31), at=NOW)
    body = {"contractID": contract, "serviceID": service, "unitChange": 2}

    refusal = refusal_of(
        client.post("ContractServiceAdjustments", json={**body, "effectiveDate": "2026-10-01"})
    )

    assert refusal == (
        f"The billing period 2026-10-01 to 2026-10-31 of contract {contract} is approved and posted "
        "(approveAndPostDate 2026-11-05T08:00:00): a service adjustment effective 2026-10-01 would change "
        "it. Un-post the period first."
    )
    assert _posted(client, contract)[1] == ("2026-10-01", 3, "2026-11-05T08:00:00")
    create(client, "ContractServiceAdjustments", {**body, "effectiveDate": "2026-11-01"})
    assert _posted(client, contract)[1:3] == [
        ("2026-10-01", 3, "2026-11-05T08:00:00"),
        ("2026-11-01", 5, None),
    ]


def test_a_billed_charge_cannot_be_updated_and_an_end_date_cannot_move_into_a_posted_period(
    app: SandboxApp, client: httpx.Client
) -> None:
    contract, _service, charge = _billing(client)
    app.tenant.post(date(2026, 10, 31), at=NOW)

    update = client.patch(f"Contracts/{contract}/Charges", json={"id": charge, "unitPrice": "0.02"})
    shorten = client.patch("Contracts", json={"id": contract, "endDate": "2026-09-30"})

    assert refusal_of(update) == f"Contract charge {charge} is billed: a billed charge cannot be changed."
    assert refusal_of(shorten) == (
        f"Contract {contract} is approved and posted through 2026-10-31: its endDate cannot move to "
        "2026-09-30, inside a posted period. Un-post the periods first."
    )
    assert client.get(f"Contracts/{contract}").json()["item"]["endDate"] == "2026-12-31T00:00:00"
    # ending the contract after the posted periods is still allowed
    assert client.patch("Contracts", json={"id": contract, "endDate": "2026-10-31"}).status_code == 200


def test_a_post_needs_a_day(client: httpx.Client) -> None:
    response = client.post("http://sandbox/_sandbox/post", json={"through": "October"})
    assert refusal_of(response) == 'Post needs {"through": "YYYY-MM-DD"}.'


def test_a_served_sandbox_refuses_an_adjustment_into_a_posted_period_over_http() -> None:
    app = make_app(":memory:", SandboxConfig(clock=lambda: NOW))
    with (
        start_background_server(app) as server,
        httpx.Client(base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers()) as client,
    ):
        contract, service, charge = _billing(client)
        app.tenant.post(date(2026, 10, 31), at=NOW)
        adjustment = client.post(
            "ContractServiceAdjustments",
            json={
                "contractID": contract,
                "serviceID": service,
                "effectiveDate": "2026-10-20",
                "unitChange": 1,
            },
        )
        update = client.patch(f"Contracts/{contract}/Charges", json={"id": charge, "name": "renamed"})
    assert adjustment.status_code == 500
    assert "approved and posted" in refusal_of(adjustment)
    assert refusal_of(update) == f"Contract charge {charge} is billed: a billed charge cannot be changed."


def test_sandbox_post_on_a_named_database_and_its_refusals(tmp_path: Path) -> None:
    runner = CliRunner()
    db = tmp_path / "tenant.db"
    store = SandboxStore(db)
    store.close()

    posted = runner.invoke(cli, ["sandbox", "post", "--through", "2026-10-31", "--db", str(db)])
    (tmp_path / "none").mkdir()
    missing = runner.invoke(
        cli, ["--workspace", str(tmp_path / "none"), "sandbox", "post", "--through", "2026-10-31"]
    )
    (tmp_path / "remote").mkdir()
    (tmp_path / "remote" / "billsync.yaml").write_text(
        "autotask:\n  url: https://webservices2.autotask.net/ATServicesRest/V1.0\n", "utf-8"
    )
    remote = runner.invoke(
        cli, ["--workspace", str(tmp_path / "remote"), "sandbox", "post", "--through", "2026-10-31"]
    )
    bad_day = runner.invoke(cli, ["sandbox", "post", "--through", "October", "--db", str(db)])

    assert posted.exit_code == 0, posted.output
    assert posted.output.startswith(f"Approved and posted through 2026-10-31 in {db} (approveAndPostDate ")
    assert posted.output.endswith("); 0 charge(s) marked billed.\n")
    store = SandboxStore(db)
    assert store.tenant.postings().through == date(2026, 10, 31)
    store.close()
    assert missing.exit_code == 1
    assert (
        "no sandbox database at" in missing.output and "run a plan on the workspace first" in missing.output
    )
    assert remote.exit_code == 1
    assert "this workspace uses a configured Autotask, not the embedded sandbox" in remote.output
    assert bad_day.exit_code == 2
    assert "Invalid value for '--through'" in bad_day.output


def test_an_open_charge_can_be_deleted_under_its_contract_and_a_billed_one_cannot(
    app: SandboxApp, client: httpx.Client
) -> None:
    contract, _service, billed = _billing(client)
    open_charge = create(client, f"Contracts/{contract}/Charges", NOVEMBER_CHARGE)
    app.tenant.post(date(2026, 10, 31), at=NOW)

    refused = client.delete(f"Contracts/{contract}/Charges/{billed}")
    elsewhere = client.delete(f"Contracts/{contract + 1}/Charges/{open_charge}")
    deleted = client.delete(f"Contracts/{contract}/Charges/{open_charge}")
    at_root = client.delete(f"ContractCharges/{billed}")

    assert refusal_of(refused) == f"Contract charge {billed} is billed: a billed charge cannot be deleted."
    assert elsewhere.status_code == 404
    assert (deleted.status_code, deleted.json()) == (200, {"itemId": open_charge})
    assert client.get(f"ContractCharges/{open_charge}").status_code == 404
    assert client.get(f"ContractCharges/{billed}").json()["item"]["isBilled"] is True
    assert at_root.status_code == 405
    assert app.stats().endpoints["ContractCharges"].requests["delete"] == 3
