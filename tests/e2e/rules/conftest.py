"""Fixtures for the business-rule tests (DOMAIN.md D1–D24).

Every test drives the real CLI on a temporary workspace and checks what landed in Autotask through
the sandbox's REST API, never through billsync's internals:

- ``env``: a workspace whose Autotask is a sandbox served on a loopback port (its request counters
  see every call the CLI makes); ``embedded_env``: a workspace on the embedded sandbox in
  ``.billsync/sandbox.db``.
- ``env.api``: a plain httpx client on the sandbox (WSGI transport, the sandbox credentials).
- ``bundle``: writes a small Cloudmore export bundle (DOMAIN.md format) for a test.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from engine.cli import cli
from providers.autotask.sandbox import BackgroundServer, SandboxApp, make_app, start_background_server
from providers.cloudmore.source import example_bundle_dir

from .._support import is_lease

SANDBOX_HEADERS = {
    "UserName": "sandbox@billsync.local",
    "Secret": "sandbox-secret",
    "ApiIntegrationCode": "BILLSYNC-SANDBOX",
}
API_BASE = "http://x/ATServicesRest/V1.0/"
CLI_ENV = {
    "AUTOTASK_USERNAME": SANDBOX_HEADERS["UserName"],
    "AUTOTASK_SECRET": SANDBOX_HEADERS["Secret"],
    "AUTOTASK_INTEGRATION_CODE": SANDBOX_HEADERS["ApiIntegrationCode"],
    "COLUMNS": "200",
}
"""The CLI's environment: the sandbox credentials, and tables wide enough not to wrap."""
ROOT = Path(__file__).resolve().parents[3]
SHIPPED_SETTINGS: dict[str, Any] = yaml.safe_load((ROOT / "rules" / "settings.yaml").read_text("utf-8"))
OCTOBER = example_bundle_dir("2026-10-07")
"""Example export of 2026-10-07: 2026-09 available 2026-10-06."""
NOVEMBER = example_bundle_dir("2026-11-07")
"""Example export of 2026-11-07: 2026-09, its revision of 2026-10-20, and 2026-10 (2026-11-06)."""
WRITE_KINDS = ("create", "update")
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    """Half up to the cent, as Autotask rounds what it bills."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


class Autotask:
    """Reads and a few writes through the sandbox REST API, as any Autotask client would."""

    def __init__(self, app: SandboxApp, sees_the_cli: bool) -> None:
        self.app = app
        self._sees_the_cli = sees_the_cli
        self.http = httpx.Client(
            transport=httpx.WSGITransport(app=app), base_url=API_BASE, headers=SANDBOX_HEADERS
        )

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return json.loads(response.text, parse_float=Decimal)

    def query(self, entity: str, *filters: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row of ``entity`` matching all ``filters`` (every row when none), following pages."""
        body = {"filter": list(filters) or [{"op": "gte", "field": "id", "value": 0}]}
        page = self._json(self.http.post(f"{entity}/query", json=body))
        rows = list(page["items"])
        while page["pageDetails"].get("nextPageUrl"):
            page = self._json(self.http.post(page["pageDetails"]["nextPageUrl"], json=body))  # A4
            rows.extend(page["items"])
        return rows

    def get(self, entity: str, object_id: int) -> dict[str, Any]:
        item: dict[str, Any] = self._json(self.http.get(f"{entity}/{object_id}"))["item"]
        return item

    def create(self, entity: str, body: Mapping[str, Any]) -> int:
        """Create an object as a person or another integration would (it carries no billsync marker)."""
        return int(self._json(self.http.post(entity, json=dict(body)))["itemId"])

    def bill_charge(self, charge_id: int) -> None:
        """What invoicing does in Autotask: the charge is billed and locked from then on."""
        self._json(self.http.post(f"http://x/_sandbox/charges/{charge_id}/bill"))

    # -- billsync's objects, found by their identity markers ------------------------------------------

    def contracts_of(self, subscription: str) -> list[dict[str, Any]]:
        """Contracts whose "Subscription ID" user-defined field is ``subscription``."""
        return self.query(
            "Contracts", {"op": "eq", "field": "Subscription ID", "udf": True, "value": subscription}
        )

    def contract(self, subscription: str) -> dict[str, Any]:
        """The one contract whose "Subscription ID" is ``subscription``."""
        found = self.contracts_of(subscription)
        assert len(found) == 1, f"{len(found)} contracts for subscription {subscription}"
        return found[0]

    def marked_contracts(self) -> dict[str, list[dict[str, Any]]]:
        """Contracts by their "Subscription ID" (only those that have one)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for row in self.query("Contracts", {"op": "exist", "field": "Subscription ID", "udf": True}):
            out.setdefault(udf(row, "Subscription ID") or "", []).append(row)
        return out

    def services(self) -> dict[str, dict[str, Any]]:
        """Services carrying a billsync marker, by marker."""
        rows = self.query("Services", {"op": "beginsWith", "field": "sku", "value": "billsync:"})
        assert len({r["sku"] for r in rows}) == len(rows), "two services carry one marker"
        return {r["sku"]: r for r in rows}

    def products(self) -> dict[str, dict[str, Any]]:
        """Products carrying a billsync marker, by marker."""
        rows = self.query("Products", {"op": "beginsWith", "field": "sku", "value": "billsync:"})
        assert len({r["sku"] for r in rows}) == len(rows), "two products carry one marker"
        return {r["sku"]: r for r in rows}

    def contract_services(self, contract_id: int) -> list[dict[str, Any]]:
        return self.query("ContractServices", {"op": "eq", "field": "contractID", "value": contract_id})

    def units(self, contract_id: int, period: str | None = None) -> list[dict[str, Any]]:
        """ContractServiceUnits rows of a contract (those starting in ``period``), oldest first."""
        rows = self.query("ContractServiceUnits", {"op": "eq", "field": "contractID", "value": contract_id})
        if period is not None:
            rows = [r for r in rows if str(r["startDate"])[:7] == period]
        return sorted(rows, key=lambda r: (str(r["startDate"]), r["id"]))

    def charges(self, contract_id: int, period: str | None = None) -> list[dict[str, Any]]:
        rows = self.query("ContractCharges", {"op": "eq", "field": "contractID", "value": contract_id})
        if period is not None:
            rows = [r for r in rows if str(r["datePurchased"])[:7] == period]
        return sorted(rows, key=lambda r: r["id"])

    def billed(self, contract_id: int, period: str) -> Decimal:
        """What Autotask bills a contract for a month: units × price per unit row, to the cent, plus charges."""
        total = sum(
            (_cents(Decimal(r["units"]) * Decimal(r["price"] or 0)) for r in self.units(contract_id, period)),
            Decimal(0),
        )
        return total + sum(
            (Decimal(c["billableAmount"]) for c in self.charges(contract_id, period)), Decimal(0)
        )

    def everything(self) -> dict[str, dict[int, dict[str, Any]]]:
        """Every stored object billsync could touch, by entity and id (for "nothing changed" checks)."""
        entities = ("Contracts", "Services", "Products", "ContractServices", "ContractCharges", "Companies")
        return {e: {int(r["id"]): r for r in self.query(e) if not is_lease(r)} for e in entities}

    # -- counters (a served sandbox sees every request of the CLI) ------------------------------------

    def writes(self) -> dict[str, int]:
        """Creates and updates per endpoint since the last :meth:`reset_counters`."""
        assert self._sees_the_cli, "the embedded sandbox runs inside the CLI: use the served `env` to count"
        stats = self.app.stats()
        out = {}
        for endpoint, endpoint_stats in stats.endpoints.items():
            count = sum(endpoint_stats.requests.get(kind, 0) for kind in WRITE_KINDS)
            if count:
                out[endpoint] = count
        return out

    def reset_counters(self) -> None:
        self.app.reset_stats()


def udf(row: Mapping[str, Any], name: str) -> str | None:
    for item in row.get("userDefinedFields") or []:
        if item.get("name") == name:
            value = item.get("value")
            return None if value is None else str(value)
    return None


class Env:
    """A billsync workspace in a temporary folder, the sandbox it writes to, and the CLI to drive it."""

    def __init__(self, root: Path, served: bool) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.served = served
        self.rules: str | None = None
        self._server: BackgroundServer | None = None
        if served:
            self._server = start_background_server(make_app(":memory:"))
            app = self._server.app
        else:
            app = make_app(self.root / ".billsync" / "sandbox.db")
        self.api = Autotask(app, sees_the_cli=served)
        self._runner = CliRunner()

    def close(self) -> None:
        self.api.close()
        if self._server is not None:
            self._server.stop()
        else:
            self.api.app.store.close()

    # -- workspace ------------------------------------------------------------------------------------

    def init(self) -> None:
        """``billsync init``: a workspace with an editable copy of the shipped rules."""
        result = self._runner.invoke(cli, ["init", str(self.root)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        self.rules = "./rules"

    def configure(
        self, bundle: Path | str, settings: Mapping[str, Any] | None = None, **overrides: Any
    ) -> None:
        """Write ``billsync.yaml``: the Cloudmore bundle, the sandbox, and settings (shipped + overrides)."""
        config: dict[str, Any] = {"cloudmore": {"bundle": str(bundle)}, "state": "state"}
        if self._server is not None:
            config["autotask"] = {"url": self._server.base_url}
        if self.rules is not None:
            config["rules"] = self.rules
            config["settings"] = "./rules/settings.yaml"
        if settings is not None or overrides:
            config["settings"] = {**SHIPPED_SETTINGS, **(settings or {}), **overrides}
        (self.root / "billsync.yaml").write_text(yaml.safe_dump(config, sort_keys=True), "utf-8")

    def rule_file(self, name: str) -> Path:
        assert self.rules is not None, "call env.init() first"
        return self.root / "rules" / name

    def edit_rule(self, name: str, old: str, new: str) -> None:
        """Replace exactly one occurrence of ``old`` in an editable rule file."""
        path = self.rule_file(name)
        text = path.read_text("utf-8")
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
        path.write_text(text.replace(old, new), "utf-8")

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    # -- the CLI --------------------------------------------------------------------------------------

    def billsync(self, *args: str, input: str | None = None, exit_code: int = 0) -> Result:
        """Run ``billsync --workspace ROOT ARGS`` in process and check its exit code."""
        result = self._runner.invoke(
            cli, ["--workspace", str(self.root), *args], input=input, env=CLI_ENV, catch_exceptions=True
        )
        detail = f"{result.output}\n{result.exception!r}"
        assert result.exit_code == exit_code, f"exit {result.exit_code} (expected {exit_code}): {detail}"
        return result

    def plan(self, as_of: str, *args: str) -> PlanDoc:
        """``billsync plan --json``: the plan document."""
        result = self.billsync("plan", "--json", "--as-of", as_of, *args)
        return PlanDoc(json.loads(result.stdout))

    def plan_text(self, as_of: str, *args: str) -> str:
        return self.billsync("plan", "--as-of", as_of, *args).stdout

    def apply(self, as_of: str, *args: str) -> str:
        return self.billsync("apply", "--auto-approve", "--as-of", as_of, *args).stdout

    def process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the installed ``billsync`` command (what a user sees, exit code and stderr included)."""
        exe = shutil.which("billsync", path=str(Path(sys.executable).parent)) or "billsync"
        return subprocess.run(
            [exe, "--workspace", str(self.root), *args],
            capture_output=True,
            text=True,
            env={"PATH": str(Path(sys.executable).parent), **CLI_ENV},
            timeout=120,
            check=False,
        )


@dataclass(frozen=True)
class PlanDoc:
    """A ``plan --json`` document with a few ways to look at its changes."""

    doc: dict[str, Any]

    def changes(self, action: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """The changes, optionally only those of one action and kind."""
        return [
            c
            for c in self.doc["changes"]
            if (action is None or c["action"] == action) and (kind is None or c["kind"] == kind)
        ]

    def addresses(self, action: str | None = None, kind: str | None = None) -> list[str]:
        return [c["address"] for c in self.changes(action, kind)]

    def change(self, address: str, action: str | None = None) -> dict[str, Any]:
        """The one change of ``address`` (of ``action``, when an address has an orphan and an update)."""
        found = [c for c in self.changes(action) if c["address"] == address]
        assert len(found) == 1, f"{len(found)} changes for {address}: {found}"
        return found[0]

    @property
    def summary(self) -> dict[str, int]:
        summary: dict[str, int] = self.doc["summary"]
        return summary

    @property
    def diagnostics(self) -> list[dict[str, str]]:
        found: list[dict[str, str]] = self.doc["diagnostics"]
        return found


# -- small bundles ------------------------------------------------------------------------------------

ORGANIZATION_HEADER = [
    "Organization ID",
    "Organization Name",
    "Customer Number",
    "AutotaskCompanyID",
    "Currency Code",
]
SERVICE_HEADER = ["Organization ID", "Service Name", "Status"]
SUBSCRIPTION_HEADER = [
    "Subscription ID",
    "Organization ID",
    "Record Type",
    "Product ID",
    "Item Code",
    "Product Name",
    "Quantity",
    "Start Date",
    "End Date",
    "Status",
    "Billing Frequency",
]
PRICE_HEADER = [
    "Product ID",
    "Item Code",
    "Product Name",
    "Unit Cost Price",
    "Unit Sales Price",
    "Currency Code",
    "Payment Frequency",
]
BILLING_HEADER = [
    "Billing Date",
    "Service Name",
    "Organization ID",
    "Organization Name",
    "Customer Number",
    "Product Name",
    "Item Code",
    "Product ID",
    "Quantity",
    "Unit Cost Price",
    "Unit Sales Price",
    "Total Cost",
    "Total Sales",
    "Currency Code",
    "Payment Frequency",
    "Subscription ID",
    "Subscription Name",
    "Record Type",
]
_SERVICE_OF_TYPE = {"CSP365": "Microsoft CSP 365"}


@dataclass
class _Org:
    name: str
    currency: str
    row: list[str]


@dataclass
class _Sub:
    org_id: str
    product_id: str
    name: str
    record_type: str
    row: list[str]


@dataclass
class BundleWriter:
    """A small Cloudmore export bundle, built row by row and written as CSV files."""

    root: Path
    organizations: dict[str, _Org] = field(default_factory=dict)
    services: list[list[str]] = field(default_factory=list)
    subscriptions: dict[str, _Sub] = field(default_factory=dict)
    prices: dict[str, list[str]] = field(default_factory=dict)
    reports: dict[tuple[str, str], list[list[str]]] = field(default_factory=dict)

    def org(
        self,
        org_id: str,
        name: str,
        company: int | None,
        *,
        currency: str = "USD",
        services: Mapping[str, str] | None = None,
    ) -> BundleWriter:
        """An organization with its services (default: CSP 365 and Azure, both active)."""
        row = [org_id, name, f"C-{org_id}", "" if company is None else str(company), currency]
        self.organizations[org_id] = _Org(name.strip(), currency, row)
        for service, status in (
            services or {"Microsoft CSP 365": "Active", "Microsoft Azure": "Active"}
        ).items():
            self.services.append([org_id, service, status])
        return self

    def price(self, product_id: str, name: str, cost: str, sales: str) -> BundleWriter:
        """A broker price-list row."""
        self.prices[product_id] = [product_id, f"{product_id}:P1Y", name, cost, sales, "USD", "Monthly"]
        return self

    def sub(
        self,
        sub_id: str,
        org_id: str,
        product_id: str,
        name: str,
        *,
        record_type: str = "CSP365",
        quantity: int = 1,
        start: str = "2026-01-01",
        end: str = "2026-12-31",
    ) -> BundleWriter:
        """A subscription (``end=""`` for an ongoing one)."""
        row = [sub_id, org_id, record_type, product_id, f"{product_id}:P1Y", name, str(quantity), start, end]
        self.subscriptions[sub_id] = _Sub(org_id, product_id, name, record_type, [*row, "Active", "Monthly"])
        return self

    def line(
        self,
        period: str,
        available_on: str,
        sub_id: str,
        quantity: int,
        sales: str,
        cost: str,
        *,
        currency: str | None = None,
    ) -> BundleWriter:
        """A billing line of ``sub_id`` in the report of ``period`` that is available on ``available_on``."""
        sub = self.subscriptions[sub_id]
        org = self.organizations[sub.org_id]
        unit_sales = "0" if quantity == 0 else f"{Decimal(sales) / quantity:.4f}"
        unit_cost = "0" if quantity == 0 else f"{Decimal(cost) / quantity:.4f}"
        self.reports.setdefault((period, available_on), []).append(
            [
                f"{period}-01",
                _SERVICE_OF_TYPE.get(sub.record_type, "Microsoft Azure"),
                sub.org_id,
                org.name,
                f"C-{sub.org_id}",
                sub.name,
                f"{sub.product_id}:P1Y",
                sub.product_id,
                str(quantity),
                unit_cost,
                unit_sales,
                cost,
                sales,
                currency or org.currency,
                "Monthly",
                sub_id,
                sub.name,
                sub.record_type,
            ]
        )
        return self

    def report(self, period: str, available_on: str) -> BundleWriter:
        """A report with no lines (yet)."""
        self.reports.setdefault((period, available_on), [])
        return self

    def write(self, name: str) -> Path:
        """Write the bundle to ``root/name`` and return the folder."""
        folder = self.root / name
        (folder / "billing").mkdir(parents=True, exist_ok=True)
        _write_csv(
            folder / "organizations.csv", ORGANIZATION_HEADER, [o.row for o in self.organizations.values()]
        )
        _write_csv(folder / "services.csv", SERVICE_HEADER, self.services)
        _write_csv(
            folder / "subscriptions.csv", SUBSCRIPTION_HEADER, [s.row for s in self.subscriptions.values()]
        )
        _write_csv(folder / "price-list.csv", PRICE_HEADER, list(self.prices.values()))
        report_rows = []
        for (period, available_on), lines in sorted(self.reports.items()):
            file = f"billing/{period}-{available_on}.csv"
            _write_csv(folder / file, BILLING_HEADER, lines)
            report_rows.append([period, available_on, file])
        _write_csv(folder / "reports.csv", ["Period", "Available On", "File"], report_rows)
        return folder


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def copy_bundle(source: Path, target: Path) -> Path:
    """A copy of an export folder that a test may edit."""
    shutil.copytree(source, target)
    return target


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A workspace on a sandbox served on loopback (request counters see the CLI's calls)."""
    workspace = Env(tmp_path / "ws", served=True)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def embedded_env(tmp_path: Path) -> Iterator[Env]:
    """A workspace on the embedded sandbox in ``.billsync/sandbox.db`` (billsync's default)."""
    workspace = Env(tmp_path / "ws", served=False)
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def bundle(tmp_path: Path) -> BundleWriter:
    return BundleWriter(tmp_path / "bundles")


@pytest.fixture
def october() -> Path:
    """The example export of 2026-10-07 (read only)."""
    return OCTOBER


@pytest.fixture
def november() -> Path:
    """The example export of 2026-11-07 (read only)."""
    return NOVEMBER


@pytest.fixture
def edited_october(tmp_path: Path) -> Path:
    """A copy of the example export of 2026-10-07 that the test may edit."""
    return copy_bundle(OCTOBER, tmp_path / "edited-2026-10-07")


@pytest.fixture
def edited_november(tmp_path: Path) -> Path:
    """A copy of the example export of 2026-11-07 that the test may edit."""
    return copy_bundle(NOVEMBER, tmp_path / "edited-2026-11-07")


@pytest.fixture
def env_factory() -> Callable[[Path, bool], Env]:
    """Make a workspace in a folder of the test's choosing (for one per generated example)."""
    return Env


@pytest.fixture
def bundle_factory() -> Callable[[Path], BundleWriter]:
    """Make a bundle writer in a folder of the test's choosing."""
    return BundleWriter
