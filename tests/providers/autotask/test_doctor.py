"""``billsync doctor`` against the sandbox: ready on the seeded tenant, one named line per problem otherwise.

The tenant's state (UDF, SLAs, billing codes) is changed through the sandbox's Python tenant API on
the embedded sandbox's database, then the real command runs on that workspace.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.cli import cli
from engine.errors import ConfigError
from providers.autotask.doctor import UDF_HOW_TO
from providers.autotask.sandbox import SandboxApp, make_app, start_background_server
from providers.autotask.sandbox._tenant import Tenant
from rules import default_rules_dir

SANDBOX_ENV = {
    "AUTOTASK_USERNAME": "sandbox@billsync.local",
    "AUTOTASK_SECRET": "sandbox-secret",
    "AUTOTASK_INTEGRATION_CODE": "BILLSYNC-SANDBOX",
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder: the embedded sandbox and the shipped settings."""
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def own_settings(workspace: Path) -> Path:
    """Give the workspace its own copy of the shipped settings file; return its path."""
    path = workspace / "settings.yaml"
    shutil.copy(default_rules_dir() / "settings.yaml", path)
    (workspace / "billsync.yaml").write_text("settings: ./settings.yaml\n", encoding="utf-8")
    return path


@pytest.fixture
def tenant(workspace: Path) -> Iterator[Callable[[Callable[[Tenant], None]], None]]:
    """Change the embedded sandbox's tenant (seeding it first) before the command runs."""
    apps: list[SandboxApp] = []

    def change(edit: Callable[[Tenant], None]) -> None:
        app = make_app(workspace / ".billsync" / "sandbox.db")
        apps.append(app)
        edit(app.tenant)

    yield change
    for app in apps:
        app.store.close()


def _doctor(workspace: Path, *args: str, env: dict[str, str | None] | None = None) -> Result:
    runner = CliRunner()
    return runner.invoke(
        cli, ["-w", str(workspace), "doctor", *args], env=env or {k: None for k in SANDBOX_ENV}
    )


def _problems(result: Result) -> list[str]:
    """The lines after "Not ready" on stderr: one per problem."""
    lines = result.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("Not ready:")), None)
    return [] if start is None else lines[start + 1 :]


@pytest.fixture
def baseline(tmp_path: Path) -> list[str]:
    """The problems the seeded tenant has (none once billsync fits the sandbox: see the first test)."""
    root = tmp_path / "baseline"
    root.mkdir()
    return _problems(_doctor(root))


def _new_problems(result: Result, baseline: list[str]) -> list[str]:
    problems = _problems(result)
    assert set(baseline) <= set(problems)
    return [line for line in problems if line not in baseline]


def test_the_seeded_tenant_is_ready(workspace: Path) -> None:
    result = _doctor(workspace)

    assert _problems(result) == []
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ok   zone lookup: the API user is in zone Sandbox" in out
    assert "ok   credentials: accepted" in out
    assert re.search(
        r"ok   request budget: \d+ of 10,000 requests used in the last 60 minutes, [\d,]+ left", out
    )
    for entity, verbs in (
        ("Contracts", "query, create, update"),
        ("ContractServiceAdjustments", "create"),
        ("ContractServiceUnits", "query"),
        ("BillingCodes", "query"),
    ):
        assert f"ok   entity {entity}: {verbs}\n" in out
    assert "ok   contract field 'Subscription ID': present" in out
    assert (
        "ok   settings: the SLA, billing codes and picklist values exist on this tenant and are active" in out
    )
    for line in (
        "sla_id: 1  # Standard",
        "service_billing_code_id: 2001  # Recurring Contract Services",
        "product_billing_code_id: 2002  # Cloud Products",
        "contract_type: 7  # Recurring Service",
        "contract_period_type: 1  # Monthly",
        "service_period_type: 1  # Monthly",
        "# Service Level Agreement: 1 Standard",
        "#   useType 5 (Recurring Contract Service Code): 2001 Recurring Contract Services",
    ):
        assert line in out.splitlines()
    assert "Ready: billsync can plan against this Autotask tenant." in out


def test_a_missing_subscription_udf_is_named_with_how_to_create_it(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None], baseline: list[str]
) -> None:
    tenant(lambda t: t.remove_udf("Contracts", "Subscription ID"))

    result = _doctor(workspace)

    assert result.exit_code == 1
    assert _new_problems(result, baseline) == [f"contract field 'Subscription ID' is missing: {UDF_HOW_TO}"]
    assert "Admin > Extensions & Integrations" in UDF_HOW_TO and 'Name "Subscription ID"' in UDF_HOW_TO


def test_an_unknown_sla_is_named_with_the_tenants_choices(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None], baseline: list[str]
) -> None:
    def edit(t: Tenant) -> None:
        t.remove_sla(1)
        t.set_sla(3, "Premium")

    tenant(edit)

    result = _doctor(workspace)

    assert result.exit_code == 1
    assert _new_problems(result, baseline) == [
        "settings: sla_id 1: no such Service Level Agreement on this tenant; valid choices: 3 (Premium)"
    ]
    assert "sla_id: 3  # Premium" in result.stdout.splitlines()


def test_an_inactive_billing_code_is_named(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None], baseline: list[str]
) -> None:
    tenant(lambda t: t.deactivate_billing_code(2001))

    result = _doctor(workspace)

    assert result.exit_code == 1
    assert _new_problems(result, baseline) == [
        "settings: service_billing_code_id 2001: the billing code 'Recurring Contract Services' is inactive; "
        "valid choices: none"
    ]
    assert "# service_billing_code_id: (no valid choice on this tenant)" in result.stdout.splitlines()


def test_a_billing_code_of_the_wrong_use_type_is_named(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None], baseline: list[str]
) -> None:
    tenant(lambda t: t.set_billing_code_use_type(2002, 1))

    result = _doctor(workspace)

    assert result.exit_code == 1
    assert _new_problems(result, baseline) == [
        "settings: product_billing_code_id 2002: the billing code 'Cloud Products' has use type 1 "
        "(General Allocation Code), not a material (product) code; valid choices: none"
    ]


def test_every_problem_gets_its_own_line(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None], baseline: list[str]
) -> None:
    def edit(t: Tenant) -> None:
        t.remove_udf("Contracts", "Subscription ID")
        t.remove_sla(1)
        t.deactivate_billing_code(2001)
        t.set_billing_code_use_type(2002, 5)

    tenant(edit)

    result = _doctor(workspace)

    assert result.exit_code == 1
    assert _new_problems(result, baseline) == [
        f"contract field 'Subscription ID' is missing: {UDF_HOW_TO}",
        "settings: sla_id 1: no such Service Level Agreement on this tenant; valid choices: none",
        "settings: service_billing_code_id 2001: the billing code 'Recurring Contract Services' is inactive; "
        "valid choices: 2002 (Cloud Products)",
        "settings: product_billing_code_id 2002: the billing code 'Cloud Products' has use type 5 (Recurring "
        "Contract Service Code), not a material (product) code; valid choices: none",
    ]
    assert f"Not ready: {len(_problems(result))} problem(s)." in result.stderr


def test_doctor_changes_nothing_in_autotask(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None]
) -> None:
    tenant(lambda t: None)  # seed the database
    db = workspace / ".billsync" / "sandbox.db"
    before = _entity_rows(db)

    _doctor(workspace)

    assert _entity_rows(db) == before


def test_write_puts_the_choices_into_settings_yaml_keeping_the_rest(
    workspace: Path,
    own_settings: Path,
    tenant: Callable[[Callable[[Tenant], None]], None],
    baseline: list[str],
) -> None:
    tenant(lambda t: t.set_sla(5, "Gold"))
    original = own_settings.read_text(encoding="utf-8")
    broken = original.replace("sla_id: 1\n", "sla_id: 42\n").replace(
        "contract_type: 7          # Recurring Service", "contract_type: 99         # Unknown"
    )
    assert broken.count("42") == 1 and "# Unknown" in broken
    own_settings.write_text(broken, encoding="utf-8")

    result = _doctor(workspace, "--write")

    assert "Wrote sla_id, contract_type to settings.yaml." in result.stdout
    assert own_settings.read_text(encoding="utf-8") == original
    assert _problems(result) == baseline  # the settings problems are gone after the write


def test_write_with_nothing_to_change_leaves_the_file_alone(workspace: Path, own_settings: Path) -> None:
    original = own_settings.read_bytes()

    result = _doctor(workspace, "--write")

    assert "settings.yaml already holds these values; nothing was written." in result.stdout
    assert own_settings.read_bytes() == original


def test_write_refuses_the_shipped_settings(workspace: Path) -> None:
    shipped = (default_rules_dir() / "settings.yaml").read_bytes()

    result = _doctor(workspace, "--write")

    assert isinstance(result.exception, ConfigError)
    assert "shipped settings" in str(result.exception)
    assert (default_rules_dir() / "settings.yaml").read_bytes() == shipped


def test_a_hostile_sla_name_cannot_reach_the_terminal_raw(
    workspace: Path, tenant: Callable[[Callable[[Tenant], None]], None]
) -> None:
    tenant(lambda t: t.set_sla(1, "Std\x1b[2J\x1b]0;owned\x07\nsla_id: 666"))

    result = _doctor(workspace)

    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "sla_id: 666" not in result.stdout.splitlines()
    assert [line for line in result.stdout.splitlines() if line.startswith("sla_id:")] == [
        "sla_id: 1  # Std [2J ]0;owned  sla_id: 666"
    ]


def test_wrong_credentials_stop_at_the_first_check_without_showing_the_secret(workspace: Path) -> None:
    with start_background_server() as server:
        (workspace / "billsync.yaml").write_text(f"autotask:\n  url: {server.base_url}\n", encoding="utf-8")
        env: dict[str, str | None] = {**SANDBOX_ENV, "AUTOTASK_SECRET": "wrong-Secret-5150"}

        result = _doctor(workspace, env=env)

    assert result.exit_code == 1
    assert f"ok   zone lookup: not needed, billsync.yaml names {server.base_url}" in result.stdout
    problems = _problems(result)
    assert len(problems) == 1 and problems[0].startswith("credentials: ")
    assert "wrong-Secret-5150" not in result.output
    assert "Settings for this tenant" not in result.stdout


def test_a_served_sandbox_with_the_right_credentials_is_checked_like_a_tenant(
    workspace: Path, tmp_path: Path
) -> None:
    embedded_root = tmp_path / "embedded"
    embedded_root.mkdir()
    with start_background_server() as server:
        (workspace / "billsync.yaml").write_text(f"autotask:\n  url: {server.base_url}\n", encoding="utf-8")

        served = _doctor(workspace, env=dict(SANDBOX_ENV))

    embedded = _doctor(embedded_root)
    assert "ok   credentials: accepted" in served.stdout
    assert _problems(served) == _problems(embedded)
    assert served.exit_code == embedded.exit_code


def _entity_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table except the sandbox's request counters."""
    with sqlite3.connect(db) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
            if "request" not in table.lower() and "budget" not in table.lower()
        }


def test_write_with_wrong_credentials_writes_nothing(workspace: Path, own_settings: Path) -> None:
    original = own_settings.read_bytes()
    with start_background_server() as server:
        (workspace / "billsync.yaml").write_text(
            f"autotask:\n  url: {server.base_url}\nsettings: ./settings.yaml\n", encoding="utf-8"
        )

        result = _doctor(workspace, "--write", env={**SANDBOX_ENV, "AUTOTASK_SECRET": "wrong"})

    assert result.exit_code == 1
    assert "Nothing was written: the tenant's choices could not be read." in result.stdout
    assert own_settings.read_bytes() == original
