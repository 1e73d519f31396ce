"""The API source over the in-process emulator: the same source model as the bundle, checked the same way."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import ConfigError, SourceError
from engine.source import Report, SourceData
from engine.workspace import open_workspace
from providers.cloudmore import ApiSource, BundleSource, make_source
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials, ReportPolicy, ReportSchedule
from providers.cloudmore.api_source import availability_date, due_months, report_file_name
from providers.cloudmore.bundle import read_bundle
from providers.cloudmore.emulator import EMULATOR_CREDENTIALS, EMULATOR_RESELLER_ID, EmulatorApp
from providers.cloudmore.emulator._documents import service_id_of

EXAMPLES = Path(__file__).parents[3] / "providers" / "cloudmore" / "example"
CREDENTIALS = ApiCredentials.from_env(EMULATOR_CREDENTIALS.environment())


AS_OF = date(2026, 11, 25)
SCHEDULE = ReportSchedule(availability_day=6, first_period="2026-09")
TASKS = f"/api/resellers/{EMULATOR_RESELLER_ID}/billing/reports/MonthlyBillingPerOrganizationAsync"


def _source(
    app: EmulatorApp, sleeps: list[float] | None = None, schedule: ReportSchedule = SCHEDULE
) -> ApiSource:
    config = ApiClientConfig(
        base_url="http://cloudmore.test",
        reseller_id=EMULATOR_RESELLER_ID,
        report=ReportPolicy(poll_interval=5, max_wait=20),
    )
    recorded = [] if sleeps is None else sleeps
    client = CloudmoreClient(
        CREDENTIALS, config, transport=httpx.WSGITransport(app=app), sleep=recorded.append
    )
    return ApiSource(client, "USD", schedule)


def _latest_only(data: SourceData) -> SourceData:
    """The bundle as the API gives it: each month's latest publication, dated the 6th of the next month."""
    latest: dict[str, Report] = {}
    for report in data.reports:
        if report.period not in latest or report.available_on > latest[report.period].available_on:
            latest[report.period] = report
    reports = tuple(
        report.model_copy(
            update={"available_on": availability_date(month, 6), "file": report_file_name(month, 0)}
        )
        for month, report in sorted(latest.items())
    )
    return data.model_copy(update={"reports": reports})


def _without_origins(data: SourceData) -> Any:
    """The model as JSON values (Decimals as their exact text) with every ``origin`` left out, and the
    lines of each report in one order (the nested report groups them by organization)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key != "origin"}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    document = strip(data.model_dump(mode="json"))
    for report in document["reports"]:
        report["lines"].sort(key=repr)
    return document


@pytest.mark.parametrize("folder", ["2026-10-07", "2026-11-07"])
def test_the_api_gives_the_bundles_source_model(folder: str) -> None:
    bundle = read_bundle(EXAMPLES / folder)
    api = _source(EmulatorApp(bundle)).load(AS_OF if folder == "2026-11-07" else date(2026, 10, 25))
    assert _without_origins(api) == _without_origins(_latest_only(bundle))
    assert str(api.price_list[6].unit_cost_price) == "7.0125"
    assert "93.75" in {str(line.total_sales) for report in api.reports for line in report.lines}


def test_every_model_says_where_in_the_api_it_came_from() -> None:
    api = _source(EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))).load(AS_OF)
    orgs = f"/api/resellers/{EMULATOR_RESELLER_ID}/Organizations"
    assert api.origin == f"Cloudmore API http://cloudmore.test (reseller {EMULATOR_RESELLER_ID})"
    assert [o.origin for o in api.organizations[:2]] == [f"{orgs}#1", f"{orgs}#2"]
    assert api.services[1].origin == f"{orgs}#1.services#2"
    assert api.reports[1].lines[23].origin == "billing 2026-10 line 24"
    assert [(r.period, r.available_on, r.file) for r in api.reports] == [
        ("2026-09", date(2026, 10, 6), "billing/2026-09.csv"),
        ("2026-10", date(2026, 11, 6), "billing/2026-10.csv"),
    ]
    assert api.reports[0].origin == f"{TASKS} 2026-09"


def test_a_full_load_makes_one_request_per_list_price_list_and_month() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    _source(app).load(AS_OF)
    assert app.stats().requests == {
        "token": 1,
        "organizations": 1,
        "services": 1,
        "subscriptions": 3,
        "azure_subscriptions": 1,
        "price_list": 3,
        "organization_price_list": 14,
        "report_start": 2,
        "report_task": 2,
    }
    assert app.stats().token_requests == 1


@pytest.mark.parametrize(
    ("as_of", "months"),
    [
        (date(2026, 11, 6), ["2026-09"]),  # October's report is available on the 6th, billed from the 7th
        (date(2026, 11, 7), ["2026-09", "2026-10"]),
        (date(2027, 1, 31), ["2026-10", "2026-11", "2026-12"]),  # three months back
    ],
)
def test_the_months_requested_follow_as_of_the_availability_day_and_the_window(
    as_of: date, months: list[str]
) -> None:
    assert due_months(as_of, SCHEDULE) == months
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    _source(app).load(as_of)
    bodies = [w for w in app.writes() if w.method == "POST"]
    assert bodies == []  # a report request is not a write
    assert app.stats().requests["report_start"] == len(months)


def test_the_default_schedule_takes_the_8th_and_three_months() -> None:
    assert due_months(date(2026, 11, 8), ReportSchedule()) == ["2026-07", "2026-08", "2026-09"]
    assert due_months(date(2026, 11, 9), ReportSchedule()) == ["2026-08", "2026-09", "2026-10"]
    assert due_months(date(2026, 1, 9), ReportSchedule(months=2)) == ["2025-11", "2025-12"]


def test_an_empty_month_is_not_yet_available_and_not_a_report() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-10-07"))
    data = _source(app).load(AS_OF)
    assert [r.period for r in data.reports] == ["2026-09"]
    assert data.notices == (
        "the 2026-10 billing report is not yet available (Cloudmore's report for it holds no billing line); "
        "nothing of 2026-10 is billed, and the next run asks for it again",
    )


def test_reports_still_being_generated_are_waited_for_within_the_bound() -> None:
    bundle = read_bundle(EXAMPLES / "2026-11-07")
    app = EmulatorApp(bundle)
    app.set_report_polls(4)
    sleeps: list[float] = []
    data = _source(app, sleeps).load(AS_OF)
    assert _without_origins(data) == _without_origins(_latest_only(bundle))
    assert sleeps == [5] * 8
    assert app.stats().requests["report_task"] == 10


def test_a_report_not_ready_within_the_bound_is_not_yet_available_and_the_rest_is_read() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.set_report_polls(5)
    sleeps: list[float] = []
    data = _source(app, sleeps).load(AS_OF)
    assert data.reports == ()
    assert sleeps == [5, 5, 5, 5] * 2
    assert data.notices == tuple(
        f"the {month} billing report is not yet available (Cloudmore was still generating it when billsync "
        f"stopped waiting); nothing of {month} is billed, and the next run asks for it again"
        for month in ("2026-09", "2026-10")
    )
    assert len(data.subscriptions) == 19


def test_a_token_refused_in_the_middle_of_a_load_is_renewed_once() -> None:
    bundle = read_bundle(EXAMPLES / "2026-11-07")
    app = EmulatorApp(bundle)
    app.inject_fault(route="price_list", status=401)
    assert _without_origins(_source(app).load(AS_OF)) == _without_origins(_latest_only(bundle))
    assert (app.stats().token_requests, app.stats().tokens_issued, app.stats().requests["price_list"]) == (
        2,
        2,
        4,
    )


def test_subscriptions_from_several_lists_are_ordered_by_id() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    for listed in app.documents.subscriptions.values():
        listed.reverse()
    app.documents.azure_subscriptions.reverse()
    ids = [s.subscription_id for s in _source(app).load(AS_OF).subscriptions]
    assert ids == sorted(ids) and len(ids) == 19


def test_a_subscription_listed_twice_alike_is_kept_once() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.azure_subscriptions.append(dict(next(iter(app.documents.subscriptions.values()))[0]))
    assert len(_source(app).load(AS_OF).subscriptions) == 19


def test_a_subscription_listed_twice_with_other_values_is_an_error() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    copy = dict(next(iter(app.documents.subscriptions.values()))[0], quantity=99)
    app.documents.azure_subscriptions.append(copy)
    with pytest.raises(
        SourceError, match=r"'6f1c2d3e-0a1b-4c5d-8e9f-000000000001' is also listed at .* other values"
    ):
        _source(app).load(AS_OF)


def test_records_of_other_services_are_left_out() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    other = dict(
        app.documents.azure_subscriptions[0], id="other-1", recordType="DattoBackup", productName="Backup"
    )
    app.documents.azure_subscriptions.append(other)
    items = app.documents.reports["2026-09"][0]["services"][0]["items"]
    items.append(dict(items[0], recordType="DattoBackup"))
    data = _source(app).load(AS_OF)
    assert len(data.subscriptions) == 19 and "other-1" not in {s.subscription_id for s in data.subscriptions}
    assert len(data.reports[0].lines) == 28  # the revised September's, without the other service's


def test_organization_prices_merge_into_the_broker_price_list() -> None:
    bundle = read_bundle(EXAMPLES / "2026-11-07")
    app = EmulatorApp(bundle)
    broker = bundle.price_list[0]
    own = broker.model_copy(update={"unit_sales_price": Decimal("1.0000")})
    extra = broker.model_copy(update={"product_id": "CUSTOM:1", "product_name": "Backup seat"})
    app.set_organization_prices("ORG-1001", "Microsoft CSP 365", [own, extra])
    data = _source(app).load(AS_OF)
    assert data.price_list[0] == broker.model_copy(update={"origin": data.price_list[0].origin})  # kept
    assert data.price_list[-1].product_id == "CUSTOM:1" and len(data.price_list) == 32
    assert data.price_list[-1].origin == (
        f"/api/resellers/{EMULATOR_RESELLER_ID}/organizations/ORG-1001/services/"
        f"{service_id_of('Microsoft CSP 365')}/pricelist#2"
    )
    assert data.notices == (
        f"organization ORG-1001 has its own prices for 1 product ({broker.product_id}); the Autotask services "
        "keep the broker prices (D10) and the months are billed at the billing report's amounts",
    )


def test_an_unknown_organization_is_an_error_naming_the_item() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.azure_subscriptions[0]["organizationId"] = "ORG-9999"
    with pytest.raises(SourceError) as caught:
        _source(app).load(AS_OF)
    assert str(caught.value) == (
        f"/api/resellers/{EMULATOR_RESELLER_ID}/services/azure/Subscriptions (item 1, property 'organizationId'): "
        "unknown organization 'ORG-9999': Cloudmore did not list it among the reseller's organizations"
    )


def test_a_duplicate_organization_is_an_error() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.organizations.append(dict(app.documents.organizations[0]))
    with pytest.raises(
        SourceError, match=r"\(item 7, property 'id'\): duplicate organization id 'ORG-1001': .*#1"
    ):
        _source(app).load(AS_OF)


def test_a_billing_line_of_an_unknown_organization_is_an_error() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.reports["2026-10"][1]["organizationId"] = "ORG-0000"
    with pytest.raises(SourceError) as caught:
        _source(app).load(AS_OF)
    assert str(caught.value) == (
        f"{TASKS}/task-2#1.organizations#2.services#1.items#1.products (item 1, property 'organizationId'): "
        "unknown organization 'ORG-0000': Cloudmore did not list it among the reseller's organizations"
    )


def test_report_file_names_follow_the_export_convention() -> None:
    assert [report_file_name("2026-09", n) for n in (0, 1, 2)] == [
        "billing/2026-09.csv",
        "billing/2026-09-rev1.csv",
        "billing/2026-09-rev2.csv",
    ]


# ---- choosing the source from billsync.yaml ----------------------------------------------------------


def _workspace(tmp_path: Path, config: str) -> Path:
    (tmp_path / "billsync.yaml").write_text(config, encoding="utf-8")
    return tmp_path


API_CONFIG = "cloudmore:\n  api:\n    url: http://127.0.0.1:8090/\n    reseller_id: R-1\n"


def test_the_bundle_stays_the_default(tmp_path: Path) -> None:
    source = make_source(open_workspace(tmp_path))
    assert isinstance(source, BundleSource) and source.folder.name == "2026-11-07"


def test_cloudmore_api_selects_the_api_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EMULATOR_CREDENTIALS.environment().items():
        monkeypatch.setenv(name, value)
    source = make_source(open_workspace(_workspace(tmp_path, API_CONFIG)))
    assert isinstance(source, ApiSource)
    assert source.describe() == "Cloudmore API http://127.0.0.1:8090 (reseller R-1)"
    assert EMULATOR_CREDENTIALS.password not in repr(source)


def test_missing_credentials_name_every_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDMORE_API_SECRET", "x")
    monkeypatch.delenv("CLOUDMORE_USERNAME", raising=False)
    monkeypatch.delenv("CLOUDMORE_PASSWORD", raising=False)
    with pytest.raises(
        ConfigError, match="environment variable CLOUDMORE_USERNAME, CLOUDMORE_PASSWORD are not set"
    ):
        make_source(open_workspace(_workspace(tmp_path, API_CONFIG)))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (API_CONFIG + "  bundle: ./cloudmore\n", "cloudmore names both a bundle and an api"),
        (
            API_CONFIG.replace("http://", "ftp://"),
            "cloudmore.api: the Cloudmore API URL must start with https://",
        ),
        (API_CONFIG.replace("R-1", "R/1"), "cloudmore.api: a reseller id has no '/'"),
        (
            API_CONFIG + "    availability_day: 31\n",
            "cloudmore.api.availability_day: Input should be less than",
        ),
        (
            API_CONFIG + "    first_period: 2026-9\n",
            "cloudmore.api.first_period: String should match pattern",
        ),
        (API_CONFIG + "  mapping: nowhere.yaml\n", "nowhere.yaml: cannot read the Cloudmore mapping file"),
    ],
)
def test_bad_api_configuration_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, message: str
) -> None:
    for name, value in EMULATOR_CREDENTIALS.environment().items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        make_source(open_workspace(_workspace(tmp_path, config)))


def test_a_second_load_reuses_the_token_over_new_connections() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    source = _source(app)
    first, second = source.load(AS_OF), source.load(AS_OF)
    assert first == second
    assert (app.stats().token_requests, app.stats().requests["organizations"]) == (1, 2)
