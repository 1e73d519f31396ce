"""billsync over the Cloudmore API end to end: the emulator on a loopback port, the real CLI.

The emulator serves the shipped example export; a workspace names it in ``billsync.yaml``
(``cloudmore.api``) with the API user in the ``CLOUDMORE_*`` variables, and another reads the same
export as a bundle. Both plan against their own fresh embedded Autotask sandbox.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from engine.cli import cli
from engine.planner import digest_source
from engine.source import SourceData
from engine.workspace import open_workspace
from providers.cloudmore import BundleSource, make_source
from providers.cloudmore.api_names import Names
from providers.cloudmore.bundle import read_bundle
from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    BackgroundServer,
    make_app,
    start_background_server,
)

from ._support import read_state

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "providers" / "cloudmore" / "example"
EXAMPLE = EXAMPLES / "2026-11-07"
AS_OF = "2026-11-25"
SCHEDULE = {"availability_day": 6, "first_period": "2026-09"}
"""The example's reports are available on the 6th; it has none before 2026-09."""
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
ENV: dict[str, str | None] = {**EMULATOR_CREDENTIALS.environment(), **dict.fromkeys(PROXIES)}
"""The emulator's API user, and no proxy between billsync and the loopback emulator."""
BILLSYNC = Path(sys.executable).parent / "billsync"


@pytest.fixture
def latest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2026-11-07 example with each month's latest publication only: what the API serves, since
    Cloudmore keeps no earlier publication of a month."""
    folder = tmp_path_factory.mktemp("latest") / "2026-11-07"
    shutil.copytree(EXAMPLE, folder)
    (folder / "billing" / "2026-09-rev1.csv").replace(folder / "billing" / "2026-09.csv")
    (folder / "reports.csv").write_text(
        "Period,Available On,File\n2026-09,2026-10-06,billing/2026-09.csv\n2026-10,2026-11-06,billing/2026-10.csv\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def emulator(latest: Path) -> Iterator[BackgroundServer]:
    server = start_background_server(make_app(latest))
    yield server
    server.stop()


def _workspace(
    root: Path,
    *,
    api: str | None = None,
    bundle: Path | None = None,
    schedule: dict[str, Any] | None = None,
    mapping: str | None = None,
) -> Path:
    root.mkdir()
    if api is not None:
        config = f"cloudmore:\n  api:\n    url: {json.dumps(api)}\n    reseller_id: {json.dumps(EMULATOR_RESELLER_ID)}\n"
        for key, value in (SCHEDULE if schedule is None else schedule).items():
            config += f"    {key}: {json.dumps(value)}\n"
        if mapping is not None:
            (root / "mapping.yaml").write_text(mapping, encoding="utf-8")
            config += "  mapping: mapping.yaml\n"
        (root / "billsync.yaml").write_text(config, encoding="utf-8")
    if bundle is not None:
        (root / "billsync.yaml").write_text(
            f"cloudmore:\n  bundle: {json.dumps(str(bundle))}\n", encoding="utf-8"
        )
    return root


def _run(root: Path, *args: str, expect: int = 0, env: dict[str, str | None] | None = None) -> Result:
    result = CliRunner().invoke(cli, ["--workspace", str(root), *args], env=ENV if env is None else env)
    if result.exit_code != expect:
        trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
        raise AssertionError(f"billsync {' '.join(args)} exited {result.exit_code}\n{result.output}\n{trace}")
    return result


def _plan(root: Path, as_of: str = AS_OF) -> str:
    return _run(root, "plan", "--json", "--as-of", as_of).stdout


def _without(plan: str, key: str) -> dict[str, Any]:
    document = json.loads(plan)
    document.pop(key)
    return document


def _without_ids(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in change.items() if key != "target_id"} for change in changes]


def _without_origins(data: SourceData) -> SourceData:
    """The model with every ``origin`` emptied (the one thing that says which source it came from)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: ("" if key == "origin" else strip(item)) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [strip(item) for item in value]
        return value

    return SourceData.model_validate(strip(data.model_dump()))


def test_the_plan_is_byte_for_byte_the_same_from_the_bundle_and_the_api(
    tmp_path: Path, emulator: BackgroundServer, latest: Path
) -> None:
    from_bundle = _plan(_workspace(tmp_path / "bundle", bundle=latest))
    from_api = _plan(_workspace(tmp_path / "api", api=emulator.url))
    assert from_api == from_bundle
    assert [(p["period"], p["available_on"]) for p in json.loads(from_api)["periods"]] == [
        ("2026-09", "2026-10-06"),
        ("2026-10", "2026-11-06"),
    ]


def test_the_source_model_from_the_api_is_the_bundles_but_for_the_origins(
    tmp_path: Path, emulator: BackgroundServer, latest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_root = _workspace(tmp_path / "api", api=emulator.url)
    from_api = _plan(api_root)
    assert len(json.loads(from_api)["changes"]) > 50
    bundle_data = BundleSource(latest).load()
    for name, value in ENV.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    api_data = make_source(open_workspace(api_root)).load(date.fromisoformat(AS_OF))
    assert json.loads(from_api)["inputs_digest"] == digest_source(api_data) == digest_source(bundle_data)
    assert _without_origins(api_data) != bundle_data  # the origins differ …
    assert digest_source(_without_origins(api_data)) == digest_source(_without_origins(bundle_data))


def test_a_full_plan_asks_for_one_token_and_one_report_per_month(
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    _plan(_workspace(tmp_path / "api", api=emulator.url))
    stats = emulator.app.stats()
    assert (stats.token_requests, stats.tokens_issued) == (1, 1)
    assert (stats.requests["report_start"], stats.requests["report_task"]) == (2, 2)
    assert stats.requests["price_list"] == 3  # one per service
    assert stats.requests["organization_price_list"] == 14  # one per organization service


def test_what_apply_wrote_from_the_api_is_what_the_bundle_wants(
    tmp_path: Path, emulator: BackgroundServer, latest: Path
) -> None:
    root = _workspace(tmp_path / "ws", api=emulator.url)
    applied = _run(root, "apply", "--auto-approve", "--as-of", AS_OF)
    bundle_root = _workspace(tmp_path / "bundle", bundle=latest)
    assert (
        applied.stdout.splitlines()[-1]
        == _run(bundle_root, "apply", "--auto-approve", "--as-of", AS_OF).stdout.splitlines()[-1]
    )
    assert applied.stdout.splitlines()[-1].startswith(
        "Apply complete: 70 written, 6 adopted, 0 failed, 0 skipped."
    )
    assert _run(root, "plan", "--as-of", AS_OF).stdout.splitlines()[-1] == (
        "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
    )
    (root / "billsync.yaml").write_text(
        f"cloudmore:\n  bundle: {json.dumps(str(latest))}\n", encoding="utf-8"
    )
    for period in ("2026-09", "2026-10"):
        again = _run(root, "plan", "--as-of", AS_OF, "--period", period).stdout.splitlines()
        assert "No changes. Autotask matches the billing reports and the rules." in again  # already applied
        assert again[-1] == "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."


def test_a_month_not_yet_available_bills_nothing_says_so_and_is_billed_on_the_next_run(
    tmp_path: Path, emulator: BackgroundServer, latest: Path
) -> None:
    emulator.app.replace_data(read_bundle(EXAMPLES / "2026-10-07"))  # October's report is still empty
    root = _workspace(tmp_path / "api", api=emulator.url)
    first = json.loads(_plan(root))
    assert [p["period"] for p in first["periods"]] == ["2026-09"]
    notice = (
        "the 2026-10 billing report is not yet available (Cloudmore's report for it holds no billing line); "
        "nothing of 2026-10 is billed, and the next run asks for it again"
    )
    assert {"severity": "warning", "code": "source-notice", "message": notice} in first["diagnostics"]
    assert all("2026-10" not in json.dumps(c) for c in first["changes"] if c.get("period") == "2026-10")
    shown = _run(root, "run", "--auto-approve", "--as-of", AS_OF).stdout
    assert notice in " ".join(shown.split())  # the summary lists the warnings, folded to the screen
    assert read_state(root / "state")["applied_periods"] == {"2026-09": "2026-10-06"}
    emulator.app.replace_data(read_bundle(latest))  # October has landed (and September was revised)
    second = json.loads(_plan(root))
    assert [(p["period"], p["revision_of"]) for p in second["periods"]] == [
        ("2026-09", "2026-10-06"),
        ("2026-10", None),
    ]
    assert not [d for d in second["diagnostics"] if d["code"] == "source-notice"]


def test_a_revised_report_is_found_by_its_digest_and_gives_the_bundles_correction(
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    """The API applies September, Cloudmore revises it: the correction equals the one a bundle gives for
    the same revision, dated the day before the run that saw it instead of the bundle's publication."""
    original = EXAMPLES / "2026-10-07"
    emulator.app.replace_data(read_bundle(original))
    api_root = _workspace(tmp_path / "api", api=emulator.url)
    bundle_root = _workspace(tmp_path / "bundle", bundle=original)
    for root in (api_root, bundle_root):
        _run(root, "apply", "--auto-approve", "--as-of", "2026-10-25")
    snapshot = read_state(api_root / "state")
    assert list(snapshot["applied_digests"]) == ["2026-09"]
    assert _run(api_root, "plan", "--as-of", "2026-10-26").stdout.splitlines()[-1] == (
        "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
    )
    emulator.app.replace_data(read_bundle(EXAMPLE))
    (bundle_root / "billsync.yaml").write_text(f"cloudmore:\n  bundle: {json.dumps(str(EXAMPLE))}\n")
    from_api = json.loads(
        _run(api_root, "plan", "--json", "--as-of", "2026-10-30", "--period", "2026-09").stdout
    )
    from_bundle = json.loads(
        _run(bundle_root, "plan", "--json", "--as-of", "2026-10-30", "--period", "2026-09").stdout
    )
    assert from_api["periods"] == [
        {"period": "2026-09", "available_on": "2026-10-29", "revision_of": "2026-10-06", "applied": False}
    ]
    assert from_bundle["periods"][0]["available_on"] == "2026-10-20"
    redated = json.loads(json.dumps(from_api["changes"]).replace("2026-10-29", "2026-10-20"))
    assert _without_ids(redated) == _without_ids(from_bundle["changes"])  # each sandbox numbers its own
    assert any("correction" in json.dumps(c) for c in from_api["changes"])
    _run(api_root, "apply", "--auto-approve", "--as-of", "2026-10-30", "--period", "2026-09")
    snapshot = read_state(api_root / "state")
    assert snapshot["applied_periods"] == {"2026-09": "2026-10-29"}
    assert json.loads(_run(api_root, "plan", "--json", "--as-of", "2026-10-31").stdout)["periods"] == []


RENAMED = Names.model_validate(
    {
        "organization": {"id": "organizationId", "custom_properties": "customPropertyValues"},
        "subscription": {"quantity": "seats", "start_date": "startsOn"},
        "price": {"unit_sales": "salesPrice"},
        "report": {"organizations": "organizationBillings"},
        "report_item": {"products": "billingLines"},
        "report_product": {"total_sales": "totalSalesAmount", "quantity": "units"},
    }
)
MAPPING = """\
# what a real account was found to call these properties
organization: {id: organizationId, custom_properties: customPropertyValues}
subscription: {quantity: seats, start_date: startsOn}
price: {unit_sales: salesPrice}
report: {organizations: organizationBillings}
report_item: {products: billingLines}
report_product: {total_sales: totalSalesAmount, quantity: units}
"""


def test_an_account_with_other_names_plans_the_same_with_a_mapping_file_alone(
    tmp_path: Path, latest: Path
) -> None:
    server = start_background_server(make_app(latest, names=RENAMED))
    try:
        from_bundle = _plan(_workspace(tmp_path / "bundle", bundle=latest))
        unmapped = _run(_workspace(tmp_path / "plain", api=server.url), "plan", "--as-of", AS_OF, expect=1)
        assert "'id'" in str(unmapped.exception) and "expected a value, found nothing" in str(
            unmapped.exception
        )
        assert _plan(_workspace(tmp_path / "mapped", api=server.url, mapping=MAPPING)) == from_bundle
    finally:
        server.stop()


def test_an_exported_bundle_plans_byte_for_byte_like_the_api(
    tmp_path: Path, emulator: BackgroundServer, latest: Path
) -> None:
    api_root = _workspace(tmp_path / "api", api=emulator.url)
    export = tmp_path / "export" / "2026-11-07"
    written = _run(api_root, "export-bundle", str(export), "--as-of", AS_OF)
    assert written.stdout == (
        f"Wrote 7 files to {export} from Cloudmore API {emulator.url} (reseller {EMULATOR_RESELLER_ID}): "
        "6 organizations, 19 subscriptions, 31 price-list items, 2 billing reports (52 lines).\n"
    )
    from_export = _plan(_workspace(tmp_path / "from-export", bundle=export))
    assert from_export == _plan(_workspace(tmp_path / "from-latest", bundle=latest)) == _plan(api_root)


def test_export_bundle_refuses_a_folder_that_holds_anything(
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    api_root = _workspace(tmp_path / "api", api=emulator.url)
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("keep")
    result = _run(api_root, "export-bundle", str(target), expect=1)
    assert "already exists and is not an empty folder; nothing was written" in str(result.exception)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_an_unknown_reseller_stops_the_plan(tmp_path: Path, emulator: BackgroundServer) -> None:
    root = _workspace(tmp_path / "api", api=emulator.url)
    (root / "billsync.yaml").write_text(
        (root / "billsync.yaml").read_text().replace(EMULATOR_RESELLER_ID, "not-mine"), encoding="utf-8"
    )
    result = _run(root, "plan", "--as-of", AS_OF, expect=1)
    assert str(result.exception).startswith("Cloudmore does not know the reseller 'not-mine'")


def _subprocess_env(**change: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in PROXIES}
    env.update(EMULATOR_CREDENTIALS.environment())
    env.update(change)
    return env


@pytest.mark.slow  # a real billsync process
@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CLOUDMORE_PASSWORD", "Wr0ng-Passw0rd!", "Error: Cloudmore refused the API user name or password"),
        ("CLOUDMORE_API_SECRET", "Wr0ng-Secr3t!", "Error: Cloudmore refused the API secret"),
    ],
)
def test_bad_credentials_are_one_clear_error_exit_1_and_no_secret(
    tmp_path: Path, emulator: BackgroundServer, variable: str, value: str, message: str
) -> None:
    root = _workspace(tmp_path / "api", api=emulator.url)
    done = subprocess.run(
        [str(BILLSYNC), "--workspace", str(root), "plan", "--as-of", AS_OF],
        env=_subprocess_env(**{variable: value}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(message)
    assert variable in done.stderr
    assert "Traceback" not in done.stderr
    for secret in (value, EMULATOR_CREDENTIALS.api_secret, EMULATOR_CREDENTIALS.password):
        assert secret not in done.stderr


@pytest.mark.slow  # a real emulator process
def test_cloudmore_sandbox_serve_answers_on_its_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(BILLSYNC), "cloudmore-sandbox", "serve", "--port", str(port), "--bundle", str(EXAMPLE)],
        env=_subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        root = _workspace(tmp_path / "api", api=f"http://127.0.0.1:{port}")
        for _ in range(200):
            try:
                httpx.post(f"http://127.0.0.1:{port}/connect/token", timeout=1, trust_env=False)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert _plan(root) == _plan(_workspace(tmp_path / "again", api=f"http://127.0.0.1:{port}"))
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert output.startswith(
        f"Cloudmore emulator on http://127.0.0.1:{port} serving {EXAMPLE} as reseller {EMULATOR_RESELLER_ID}; "
        "Ctrl-C stops it.\nAPI user: the one in CLOUDMORE_API_SECRET, CLOUDMORE_USERNAME and CLOUDMORE_PASSWORD."
    )


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"poll_interval": 0}, "cloudmore.api.report.poll_interval: Input should be greater than 0"),
        ({"interval": 1}, "cloudmore.api.report.interval: Extra inputs are not permitted"),
    ],
)
def test_a_bad_report_wait_is_a_located_error(
    tmp_path: Path, emulator: BackgroundServer, report: dict[str, float], message: str
) -> None:
    root = _workspace(tmp_path / "api", api=emulator.url, schedule={**SCHEDULE, "report": report})
    result = _run(root, "plan", "--as-of", AS_OF, expect=1)
    assert str(result.exception) == f"billsync.yaml: {message}"


def test_capture_saves_the_answers_without_any_secret_and_finds_every_mapped_name(
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    organizations = emulator.app.documents.organizations
    organizations[0] = {
        **organizations[0],
        "notificationEmail": "billing@contoso.example",
        "contact": {"name": "Ann Smith", "email": "ann@contoso.example", "phone": "+46 70 123 45 67"},
        "vat": "SE556677889901",
    }
    emulator.app.set_report_polls(1)  # one "still generating" answer, asked again after 0.1 s
    root = _workspace(
        tmp_path / "api", api=emulator.url, schedule={**SCHEDULE, "report": {"poll_interval": 0.1}}
    )
    folder = tmp_path / "capture"
    result = _run(root, "cloudmore", "capture", str(folder), "--as-of", AS_OF)
    saved = sorted(p.name for p in folder.iterdir())
    assert saved == [
        "01-organizations.json",
        "02-organization.json",
        "03-error.json",
        "04-services.json",
        "05-subscriptions.json",
        "06-price-list.json",
        "07-subscriptions.json",
        "08-price-list.json",
        "09-subscriptions.json",
        "10-price-list.json",
        "11-azure-subscriptions.json",
        "12-organization-price-list.json",
        "13-report.json",
        "14-report.json",
        "15-report.json",
        "mapping-check.txt",
    ]
    text = "\n".join((folder / name).read_text(encoding="utf-8") for name in saved)
    tokens = emulator.app.issued_tokens()  # the bearer token billsync was given
    assert tokens
    for secret in (
        *tokens,
        EMULATOR_CREDENTIALS.api_secret,
        EMULATOR_CREDENTIALS.password,
        EMULATOR_CREDENTIALS.username,
    ):
        assert secret not in text and secret not in result.output
    for personal in ("billing@contoso.example", "Ann Smith", "ann@contoso.example", "+46 70 123 45 67"):
        assert personal not in text
    first = json.loads((folder / "01-organizations.json").read_text())
    assert first["request"] == {
        "method": "GET",
        "path": f"/api/resellers/{EMULATOR_RESELLER_ID}/Organizations",
        "query": {"showActive": "false", "page": "1", "pageSize": "100"},
    }
    contoso = first["body"]["items"][0]
    assert (contoso["notificationEmail"], contoso["contact"], contoso["vat"]) == (
        "[redacted]",
        "[redacted]",
        "SE556677889901",
    )
    assert json.loads((folder / "13-report.json").read_text())["headers"]["location"].endswith("/task-1")
    assert '"unitCostPrice": 5.1000,' in (folder / "06-price-list.json").read_text()  # the exact text
    assert json.loads((folder / "03-error.json").read_text())["status"] == 404
    lines = result.stdout.splitlines()
    assert lines[0] == f"Saved 16 files in {folder}:"
    assert {line.split()[0] for line in lines[1:-1]} == {"found", "sent"}
    assert [line for line in lines if line.startswith("sent")] == [
        "sent      paging.page: page",
        "sent      paging.page_size: pageSize",
        "sent      price.currency_param: currencyCode",
        "sent      report.start_date: startDate",
        "sent      report.end_date: endDate",
    ]
    assert lines[-1] == "58 mapped names found, 0 missing, 0 not seen."
    assert (folder / "mapping-check.txt").read_text().splitlines() == lines[1:]


def test_capture_names_what_an_account_calls_otherwise(tmp_path: Path, latest: Path) -> None:
    server = start_background_server(make_app(latest, names=RENAMED))
    try:
        root = _workspace(tmp_path / "plain", api=server.url)
        result = _run(root, "cloudmore", "capture", str(tmp_path / "capture"), "--as-of", AS_OF)
    finally:
        server.stop()
    missing = [line for line in result.stdout.splitlines() if line.startswith("missing")]
    assert missing == [
        "missing   organization.id: id",
        "missing   organization.custom_properties: customProperties",
        "missing   subscription.quantity: quantity",
        "missing   subscription.start_date: startDate",
        "missing   price.unit_sales: unitSalesPrice",
        "missing   report.organizations: organizations",
    ]
    assert result.stdout.splitlines()[-2].startswith(
        "Missing: organization.id, organization.custom_properties, "
    )
