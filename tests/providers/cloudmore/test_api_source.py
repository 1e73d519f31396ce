"""The API source over the in-process emulator: the same source model as the bundle, checked the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.errors import ConfigError, SourceError
from engine.source import SourceData
from engine.workspace import open_workspace
from providers.cloudmore import ApiSource, BundleSource, make_source
from providers.cloudmore.api_client import CloudmoreClient
from providers.cloudmore.api_config import ApiClientConfig, ApiCredentials, ReportPolicy
from providers.cloudmore.api_errors import CloudmoreReportNotReady
from providers.cloudmore.api_source import report_file_name
from providers.cloudmore.bundle import read_bundle
from providers.cloudmore.emulator import EMULATOR_CREDENTIALS, EMULATOR_RESELLER_ID, EmulatorApp

EXAMPLES = Path(__file__).parents[3] / "providers" / "cloudmore" / "example"
CREDENTIALS = ApiCredentials.from_env(EMULATOR_CREDENTIALS.environment())


def _source(app: EmulatorApp, sleeps: list[float] | None = None) -> ApiSource:
    config = ApiClientConfig(
        base_url="http://cloudmore.test",
        reseller_id=EMULATOR_RESELLER_ID,
        report=ReportPolicy(poll_interval=5, max_wait=20),
    )
    recorded = [] if sleeps is None else sleeps
    client = CloudmoreClient(
        CREDENTIALS, config, transport=httpx.WSGITransport(app=app), sleep=recorded.append
    )
    return ApiSource(client)


def _without_origins(data: SourceData) -> Any:
    """The model as JSON values (Decimals as their exact text) with every ``origin`` left out."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key != "origin"}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return strip(data.model_dump(mode="json"))


@pytest.mark.parametrize("folder", ["2026-10-07", "2026-11-07"])
def test_the_api_gives_the_bundles_source_model(folder: str) -> None:
    bundle = read_bundle(EXAMPLES / folder)
    api = _source(EmulatorApp(bundle)).load()
    assert _without_origins(api) == _without_origins(bundle)
    assert (
        str(api.reports[0].lines[1].total_sales) == "93.75"
        and str(api.price_list[6].unit_cost_price) == "7.0125"
    )


def test_every_model_says_where_in_the_api_it_came_from() -> None:
    api = _source(EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))).load()
    orgs = f"/api/resellers/{EMULATOR_RESELLER_ID}/organizations"
    assert api.origin == f"Cloudmore API http://cloudmore.test (reseller {EMULATOR_RESELLER_ID})"
    assert [o.origin for o in api.organizations[:2]] == [f"{orgs}#1", f"{orgs}#2"]
    assert api.services[1].origin == f"{orgs}#1.services#2"
    assert api.reports[1].lines[27].origin == "billing 2026-09 published 2026-10-20 line 28"
    assert [r.file for r in api.reports] == [
        "billing/2026-09.csv",
        "billing/2026-09-rev1.csv",
        "billing/2026-10.csv",
    ]


def test_a_full_load_makes_one_request_per_list_and_report() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    _source(app).load()
    assert app.stats().requests == {
        "token": 1,
        "organizations": 1,
        "services": 1,
        "subscriptions": 3,
        "azure_subscriptions": 1,
        "price_list": 1,
        "reports": 1,
        "report_start": 3,
        "report_lines": 3,
    }
    assert app.stats().token_requests == 1


def test_reports_still_being_generated_are_waited_for_within_the_bound() -> None:
    bundle = read_bundle(EXAMPLES / "2026-11-07")
    app = EmulatorApp(bundle)
    app.set_report_polls(4)
    sleeps: list[float] = []
    assert _without_origins(_source(app, sleeps).load()) == _without_origins(bundle)
    assert sleeps == [5] * 12
    assert (app.stats().requests["report_status"], app.stats().requests["report_lines"]) == (12, 3)


def test_a_report_not_ready_within_the_bound_stops_the_load_before_any_line_is_read() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.set_report_polls(5)
    sleeps: list[float] = []
    with pytest.raises(
        CloudmoreReportNotReady, match="still generating the 2026-09 billing report .* after 20 s"
    ):
        _source(app, sleeps).load()
    assert sleeps == [5, 5, 5, 5]
    assert "report_lines" not in app.stats().requests
    assert app.stats().requests["report_start"] == 1


def test_a_token_refused_in_the_middle_of_a_load_is_renewed_once() -> None:
    bundle = read_bundle(EXAMPLES / "2026-11-07")
    app = EmulatorApp(bundle)
    app.inject_fault(route="price_list", status=401)
    assert _without_origins(_source(app).load()) == _without_origins(bundle)
    assert (app.stats().token_requests, app.stats().tokens_issued, app.stats().requests["price_list"]) == (
        2,
        2,
        2,
    )


def test_subscriptions_from_several_lists_are_ordered_by_id() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    for listed in app.documents.subscriptions.values():
        listed.reverse()
    app.documents.azure_subscriptions.reverse()
    ids = [s.subscription_id for s in _source(app).load().subscriptions]
    assert ids == sorted(ids) and len(ids) == 19


def test_a_subscription_listed_twice_alike_is_kept_once() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.azure_subscriptions.append(dict(next(iter(app.documents.subscriptions.values()))[0]))
    assert len(_source(app).load().subscriptions) == 19


def test_a_subscription_listed_twice_with_other_values_is_an_error() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    copy = dict(next(iter(app.documents.subscriptions.values()))[0], quantity=99)
    app.documents.azure_subscriptions.append(copy)
    with pytest.raises(
        SourceError, match=r"'6f1c2d3e-0a1b-4c5d-8e9f-000000000001' is also listed at .* other values"
    ):
        _source(app).load()


def test_records_of_other_services_are_left_out() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    other = dict(
        app.documents.azure_subscriptions[0], id="other-1", recordType="DattoBackup", productName="Backup"
    )
    app.documents.azure_subscriptions.append(other)
    first_report = app.documents.publications[0]["id"]
    app.documents.lines[first_report].append(
        dict(app.documents.lines[first_report][0], recordType="DattoBackup")
    )
    data = _source(app).load()
    assert len(data.subscriptions) == 19 and "other-1" not in {s.subscription_id for s in data.subscriptions}
    assert len(data.reports[0].lines) == 27


def test_an_unknown_organization_is_an_error_naming_the_item() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.azure_subscriptions[0]["organizationId"] = "ORG-9999"
    with pytest.raises(SourceError) as caught:
        _source(app).load()
    assert str(caught.value) == (
        f"/api/resellers/{EMULATOR_RESELLER_ID}/services/azure/subscriptions (item 1, property 'organizationId'): "
        "unknown organization 'ORG-9999': Cloudmore did not list it among the reseller's organizations"
    )


def test_a_duplicate_organization_is_an_error() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.organizations.append(dict(app.documents.organizations[0]))
    with pytest.raises(
        SourceError, match=r"\(item 7, property 'id'\): duplicate organization id 'ORG-1001': .*#1"
    ):
        _source(app).load()


def test_a_billing_line_of_an_unknown_organization_is_an_error() -> None:
    app = EmulatorApp(read_bundle(EXAMPLES / "2026-11-07"))
    app.documents.lines["report-3"][4]["organizationId"] = "ORG-0000"
    with pytest.raises(
        SourceError, match=r"/task-3/lines \(item 5, property 'organizationId'\): unknown organization"
    ):
        _source(app).load()


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
    first, second = source.load(), source.load()
    assert first == second
    assert (app.stats().token_requests, app.stats().requests["organizations"]) == (1, 2)
