"""billsync over the Cloudmore API end to end: the emulator on a loopback port, the real CLI.

The emulator serves the shipped example export; a workspace names it in ``billsync.yaml``
(``cloudmore.api``) with the API user in the ``CLOUDMORE_*`` variables, and another reads the same
export as a bundle. Both plan against their own fresh embedded Autotask sandbox.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
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
from providers.cloudmore.emulator import (
    EMULATOR_CREDENTIALS,
    EMULATOR_RESELLER_ID,
    BackgroundServer,
    make_app,
    start_background_server,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "providers" / "cloudmore" / "example" / "2026-11-07"
AS_OF = "2026-11-25"
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
ENV: dict[str, str | None] = {**EMULATOR_CREDENTIALS.environment(), **dict.fromkeys(PROXIES)}
"""The emulator's API user, and no proxy between billsync and the loopback emulator."""
BILLSYNC = Path(sys.executable).parent / "billsync"


@pytest.fixture
def emulator() -> Iterator[BackgroundServer]:
    server = start_background_server(make_app(EXAMPLE))
    yield server
    server.stop()


def _workspace(root: Path, *, api: str | None = None, bundle: Path | None = None) -> Path:
    root.mkdir()
    if api is not None:
        config = f"cloudmore:\n  api:\n    url: {json.dumps(api)}\n    reseller_id: {json.dumps(EMULATOR_RESELLER_ID)}\n"
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


def _plan(root: Path) -> str:
    return _run(root, "plan", "--json", "--as-of", AS_OF).stdout


def _without(plan: str, key: str) -> dict[str, Any]:
    document = json.loads(plan)
    document.pop(key)
    return document


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
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    from_bundle = _plan(_workspace(tmp_path / "bundle", bundle=EXAMPLE))
    from_api = _plan(_workspace(tmp_path / "api", api=emulator.url))
    assert from_api == from_bundle


def test_the_plan_from_the_api_differs_from_the_bundles_only_by_the_origins_in_its_digest(
    tmp_path: Path, emulator: BackgroundServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_bundle = _plan(_workspace(tmp_path / "bundle", bundle=EXAMPLE))
    api_root = _workspace(tmp_path / "api", api=emulator.url)
    from_api = _plan(api_root)
    assert _without(from_api, "inputs_digest") == _without(from_bundle, "inputs_digest")
    assert len(json.loads(from_api)["changes"]) > 50
    bundle_data = BundleSource(EXAMPLE).load()
    for name, value in ENV.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    api_data = make_source(open_workspace(api_root)).load()
    assert json.loads(from_bundle)["inputs_digest"] == digest_source(bundle_data)
    assert json.loads(from_api)["inputs_digest"] == digest_source(api_data)
    assert digest_source(_without_origins(api_data)) == digest_source(_without_origins(bundle_data))


def test_a_full_plan_asks_for_one_token(tmp_path: Path, emulator: BackgroundServer) -> None:
    _plan(_workspace(tmp_path / "api", api=emulator.url))
    stats = emulator.app.stats()
    assert (stats.token_requests, stats.tokens_issued) == (1, 1)
    assert stats.requests["report_start"] == 3 and stats.requests["report_lines"] == 3


def test_what_apply_wrote_from_the_api_is_what_the_bundle_wants(
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    root = _workspace(tmp_path / "ws", api=emulator.url)
    applied = _run(root, "apply", "--auto-approve", "--as-of", AS_OF)
    bundle_root = _workspace(tmp_path / "bundle", bundle=EXAMPLE)
    assert (
        applied.stdout.splitlines()[-1]
        == _run(bundle_root, "apply", "--auto-approve", "--as-of", AS_OF).stdout.splitlines()[-1]
    )
    assert applied.stdout.splitlines()[-1].startswith(
        "Apply complete: 76 written, 0 adopted, 0 failed, 0 skipped."
    )
    (root / "billsync.yaml").write_text(
        f"cloudmore:\n  bundle: {json.dumps(str(EXAMPLE))}\n", encoding="utf-8"
    )
    for period in ("2026-09", "2026-10"):
        again = _run(root, "plan", "--as-of", AS_OF, "--period", period).stdout.splitlines()
        assert "No changes. Autotask matches the billing reports and the rules." in again  # already applied
        assert again[-1] == "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."


def test_an_exported_bundle_plans_byte_for_byte_like_the_shipped_example(
    tmp_path: Path, emulator: BackgroundServer
) -> None:
    api_root = _workspace(tmp_path / "api", api=emulator.url)
    export = tmp_path / "export" / "2026-11-07"
    written = _run(api_root, "export-bundle", str(export))
    assert written.stdout == (
        f"Wrote 8 files to {export} from Cloudmore API {emulator.url} (reseller {EMULATOR_RESELLER_ID}): "
        "6 organizations, 19 subscriptions, 31 price-list items, 3 billing reports (79 lines).\n"
    )
    from_export = _plan(_workspace(tmp_path / "from-export", bundle=export))
    from_example = _plan(_workspace(tmp_path / "from-example", bundle=EXAMPLE))
    assert from_export == from_example


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
