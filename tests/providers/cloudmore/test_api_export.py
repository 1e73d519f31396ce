"""Writing a source model as an export bundle: exact CSV text, and a lossless round trip through the reader."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import BillsyncError
from engine.source import (
    BillingLine,
    Organization,
    OrganizationService,
    PriceListItem,
    Report,
    SourceData,
    Subscription,
)
from providers.cloudmore import ApiSource
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials, ReportSchedule
from providers.cloudmore.bundle import read_bundle
from providers.cloudmore.bundle_writer import write_bundle
from providers.cloudmore.emulator import EMULATOR_CREDENTIALS, EMULATOR_RESELLER_ID, EmulatorApp

EXAMPLE = Path(__file__).parents[3] / "providers" / "cloudmore" / "example" / "2026-11-07"


def _without_origins(data: SourceData) -> Any:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key != "origin"}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return strip(data.model_dump(mode="json"))


def test_what_the_api_returned_reads_back_as_the_same_source_model(tmp_path: Path) -> None:
    original = read_bundle(EXAMPLE)
    config = ApiClientConfig(base_url="http://cloudmore.test", reseller_id=EMULATOR_RESELLER_ID)
    credentials = ApiCredentials.from_env(EMULATOR_CREDENTIALS.environment())
    api = ApiSource(
        CloudmoreClient(credentials, config, transport=httpx.WSGITransport(app=EmulatorApp(original))),
        "USD",
        ReportSchedule(availability_day=6, first_period="2026-09"),
    )
    from_api = api.load(date(2026, 11, 25))
    files = write_bundle(from_api, tmp_path / "export")
    assert files == [
        "organizations.csv",
        "services.csv",
        "subscriptions.csv",
        "price-list.csv",
        "reports.csv",
        "billing/2026-09.csv",
        "billing/2026-10.csv",
    ]
    again = read_bundle(tmp_path / "export")
    assert _without_origins(again) == _without_origins(from_api)
    assert _without_origins(again)["organizations"] == _without_origins(original)["organizations"]
    assert [(r.period, r.available_on, len(r.lines)) for r in again.reports] == [
        ("2026-09", date(2026, 10, 6), 28),  # the revised September: the one Cloudmore holds now
        ("2026-10", date(2026, 11, 6), 24),
    ]
    assert [o.origin for o in again.organizations[:1]] == ["organizations.csv:2"]
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def _line(**change: Any) -> BillingLine:
    values: dict[str, Any] = {
        "billing_date": date(2026, 10, 1),
        "service_name": "Microsoft CSP 365",
        "organization_id": "ORG-1",
        "organization_name": 'Smith, "Jones" & Co',
        "product_name": "E3",
        "product_id": "P-1",
        "quantity": 3,
        "unit_cost_price": Decimal("1E-7"),
        "unit_sales_price": Decimal("12.5000"),
        "total_cost": Decimal("-0.30"),
        "total_sales": Decimal("37.50"),
        "currency": "USD",
        "subscription_id": "S-1",
        "record_type": "CSP365",
    }
    values.update(change)
    return BillingLine(**values)


SMALL = SourceData(
    organizations=(Organization(organization_id="ORG-1", name="Smith, Jones & Co", currency="USD"),),
    services=(OrganizationService(organization_id="ORG-1", service_name="Microsoft CSP 365", active=False),),
    subscriptions=(
        Subscription(
            subscription_id="S-1",
            organization_id="ORG-1",
            record_type="Azure",
            product_id="A",
            product_name="Azure Plan",
            quantity=1,
            start_date=date(2026, 1, 1),
        ),
    ),  # fmt: skip
    price_list=(
        PriceListItem(
            product_id="P-1",
            product_name="E3",
            unit_cost_price=Decimal("30.6000"),
            unit_sales_price=Decimal("36"),
            currency="USD",
        ),
    ),  # fmt: skip
    reports=(
        Report(
            period="2026-10", available_on=date(2026, 11, 6), file="billing/2026-10.csv", lines=(_line(),)
        ),
    ),
)


def test_exact_csv_text(tmp_path: Path) -> None:
    folder = tmp_path / "small"
    folder.mkdir()
    write_bundle(SMALL, folder)
    assert (folder / "organizations.csv").read_text() == (
        "Organization ID,Organization Name,Customer Number,AutotaskCompanyID,Currency Code\n"
        'ORG-1,"Smith, Jones & Co",,,USD\n'
    )
    assert (
        folder / "services.csv"
    ).read_text() == "Organization ID,Service Name,Status\nORG-1,Microsoft CSP 365,Inactive\n"
    assert (folder / "subscriptions.csv").read_text().splitlines()[
        1
    ] == "S-1,ORG-1,Azure,A,,Azure Plan,1,2026-01-01,,Active,Monthly"
    assert (folder / "price-list.csv").read_text().splitlines()[1] == "P-1,,E3,30.6000,36,USD,Monthly"
    assert (
        folder / "reports.csv"
    ).read_text() == "Period,Available On,File\n2026-10,2026-11-06,billing/2026-10.csv\n"
    assert (folder / "billing" / "2026-10.csv").read_text().splitlines()[1] == (
        '2026-10-01,Microsoft CSP 365,ORG-1,"Smith, ""Jones"" & Co",,E3,,P-1,3,0.0000001,12.5000,-0.30,37.50,USD,Monthly,'
        "S-1,,CSP365"
    )
    assert read_bundle(folder).reports[0].lines[0].unit_cost_price == Decimal("1E-7")


def test_an_existing_folder_with_anything_in_it_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(BillsyncError, match="already exists and is not an empty folder; nothing was written"):
        write_bundle(SMALL, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_reports_sharing_a_billing_file_are_written_once_when_alike(tmp_path: Path) -> None:
    revision = Report(
        period="2026-10", available_on=date(2026, 11, 9), file="billing/2026-10.csv", lines=(_line(),)
    )
    files = write_bundle(SMALL.model_copy(update={"reports": (*SMALL.reports, revision)}), tmp_path / "a")
    assert files[-1:] == ["billing/2026-10.csv"] and len(files) == 6
    other = revision.model_copy(update={"lines": (_line(quantity=4),)})
    with pytest.raises(
        BillsyncError, match="name the billing file 'billing/2026-10.csv' with different lines"
    ):
        write_bundle(SMALL.model_copy(update={"reports": (*SMALL.reports, other)}), tmp_path / "b")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("file", ["../2026-10.csv", "/tmp/x.csv", "billing/2026-10.txt", "organizations.csv"])
def test_unsafe_billing_file_names_are_refused(tmp_path: Path, file: str) -> None:
    report = SMALL.reports[0].model_copy(update={"file": file})
    with pytest.raises(BillsyncError, match="billing file"):
        write_bundle(SMALL.model_copy(update={"reports": (report,)}), tmp_path / "x")
    assert list(tmp_path.iterdir()) == []
