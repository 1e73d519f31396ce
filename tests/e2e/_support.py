"""What the end-to-end tests share: a workspace driven through the real CLI, a plain REST view of
the Autotask sandbox, and expectations read straight from a Cloudmore bundle's CSV files.

The expectations are computed here from the DOMAIN.md rules, independently of billsync's own
reader and billing code, so a test compares two derivations of the same truth.
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from engine.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_BUNDLE = ROOT / "providers" / "cloudmore" / "example" / "2026-11-07"
"""The latest shipped example export, the embedded default's Cloudmore data."""
AS_OF = "2026-11-25"
"""Every test plans as of this date, never today."""
PAGE = 500
"""Autotask's page size and its limit on an ``in`` list."""
SANDBOX_ENV = {
    "AUTOTASK_USERNAME": "sandbox@billsync.local",
    "AUTOTASK_SECRET": "sandbox-secret",
    "AUTOTASK_INTEGRATION_CODE": "BILLSYNC-SANDBOX",
}
SANDBOX_HEADERS = {
    "UserName": "sandbox@billsync.local",
    "Secret": "sandbox-secret",
    "ApiIntegrationCode": "BILLSYNC-SANDBOX",
}
LEASE_WRITES = 2
"""What the writer lease of one apply that writes sends (D26): its create, and the update ending it."""
SYNCED_SERVICES = {"microsoft csp 365", "microsoft azure"}
CENT = Decimal("0.01")


# ---- the CLI --------------------------------------------------------------------------------------


@dataclass
class Workspace:
    """A billsync workspace folder and the environment its commands run with."""

    root: Path
    env: dict[str, str | None] = field(default_factory=dict)

    def run(self, *args: str, expect: int = 0) -> Result:
        """``billsync --workspace ROOT ARGS…`` through click's runner; asserts the exit code."""
        result = CliRunner().invoke(cli, ["--workspace", str(self.root), *args], env=self.env)
        if result.exit_code != expect:
            trace = "".join(traceback.format_exception(*result.exc_info)) if result.exc_info else ""
            raise AssertionError(
                f"billsync {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
                f"--- output ---\n{result.output[-4000:]}\n--- exception ---\n{trace[-4000:]}"
            )
        return result

    def plan_json(self, *args: str, expect: int = 0) -> dict[str, Any]:
        return json.loads(self.run("plan", "--as-of", AS_OF, "--json", *args, expect=expect).stdout)

    def configure(self, *, url: str | None = None, bundle: Path | None = None) -> None:
        """Write ``billsync.yaml`` naming a served sandbox and/or a bundle (absent: the defaults)."""
        lines = []
        if url is not None:
            lines.append(f"autotask: {{url: {json.dumps(url)}}}")
        if bundle is not None:
            lines.append(f"cloudmore: {{bundle: {json.dumps(str(bundle))}}}")
        (self.root / "billsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def is_lease(row: Mapping[str, Any]) -> bool:
    """A writer lease (an inactive Product whose SKU starts ``billsync-lease``, D26): coordination
    between applies, not billing."""
    return str(row.get("sku") or "").startswith("billsync-lease")


def plan_summary(**counts: int) -> dict[str, int]:
    """The ``summary`` of a JSON plan: the counts given, 0 for every other action."""
    actions = ("add", "adopt", "change", "destroy", "drift", "orphan")
    assert set(counts) <= set(actions)
    return {action: counts.get(action, 0) for action in actions}


def summary_line(output: str) -> str:
    """The plan's last ``Plan: …`` line."""
    return [line for line in output.splitlines() if line.startswith("Plan: ")][-1]


@dataclass
class Setup:
    """One workspace, the sandbox it talks to, and a REST view of that sandbox."""

    mode: str
    workspace: Workspace
    db: Path | str
    connect: Callable[[], SandboxApi]

    @cached_property
    def api(self) -> SandboxApi:
        """Opened on first use, so the CLI can be the one that creates an embedded sandbox."""
        return self.connect()


SetupFactory = Callable[..., Setup]


# ---- the sandbox, seen through its REST API -------------------------------------------------------


class SandboxApi:
    """The sandbox's REST API through plain httpx, the way any Autotask API user would look at it."""

    def __init__(self, client: httpx.Client, root: str) -> None:
        self.client = client
        self.root = root.rstrip("/")
        self.base = self.root + "/ATServicesRest/V1.0/"

    def query(self, entity: str, filters: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """Every object matching ``filters`` (all of them when empty), following ``nextPageUrl``."""
        body = {"filter": list(filters) or [{"op": "exist", "field": "id"}]}
        response = self.client.post(self.base + f"{entity}/query", json=body)
        items: list[dict[str, Any]] = []
        while True:
            assert response.status_code == 200, response.text
            page = response.json(parse_float=Decimal)
            items.extend(page["items"])
            next_url = page["pageDetails"]["nextPageUrl"]
            if not next_url:
                return items
            response = self.client.post(next_url, json=body)  # a POST query's next page (A4)

    def count(self, entity: str, filters: Sequence[Mapping[str, Any]] = ()) -> int:
        body = {"filter": list(filters) or [{"op": "exist", "field": "id"}]}
        response = self.client.post(self.base + f"{entity}/query/count", json=body)
        assert response.status_code == 200, response.text
        return int(response.json()["queryCount"])

    def chains(self) -> dict[str, int]:
        """The longest chain of pages read through ``nextPageUrl`` links, per endpoint that had queries."""
        response = self.client.get(self.root + "/_sandbox/stats")
        assert response.status_code == 200, response.text
        return {
            name: endpoint["longest_chain"]
            for name, endpoint in response.json()["endpoints"].items()
            if endpoint["longest_chain"]
        }

    def stats(self) -> dict[str, dict[str, int]]:
        """Handled requests per endpoint and kind (``query``, ``create``, ``update``…), non-empty only."""
        response = self.client.get(self.root + "/_sandbox/stats")
        assert response.status_code == 200, response.text
        return {
            name: dict(endpoint["requests"])
            for name, endpoint in response.json()["endpoints"].items()
            if endpoint["requests"]
        }

    def reset_stats(self) -> None:
        response = self.client.post(self.root + "/_sandbox/stats/reset")
        assert response.status_code == 200, response.text

    # -- what billsync wrote, by its identity markers (D24) --

    def contracts(self) -> dict[str, dict[str, Any]]:
        """Contracts carrying a "Subscription ID", by that id (asserting there is one per id)."""
        found: dict[str, dict[str, Any]] = {}
        for row in self.query("Contracts", [{"op": "exist", "field": "Subscription ID", "udf": True}]):
            subscription = udf(row, "Subscription ID")
            assert subscription not in found, f"two contracts for subscription {subscription}"
            found[subscription] = row
        return found

    def in_contracts(
        self, entity: str, contract_ids: Iterable[int], filters: Sequence[Mapping[str, Any]] = ()
    ) -> list[dict[str, Any]]:
        """Objects of ``entity`` under the given contracts (``in`` lists of at most 500 ids)."""
        ids = sorted(contract_ids)
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), PAGE):
            chunk = ids[start : start + PAGE]
            rows.extend(self.query(entity, [*filters, {"op": "in", "field": "contractID", "value": chunk}]))
        return rows

    def object_counts(self) -> dict[str, int]:
        """How many objects of each kind billsync manages the sandbox holds (adjustments show as units)."""
        contracts = self.contracts()
        ids = [c["id"] for c in contracts.values()]
        marked = [{"op": "beginsWith", "field": "sku", "value": "billsync:"}]
        return {
            "Contracts": len(contracts),
            "Services": self.count("Services", marked),
            "Products": self.count("Products", marked),
            "ContractServices": len(self.in_contracts("ContractServices", ids)),
            "ContractCharges": len(self.in_contracts("ContractCharges", ids)),
            "ContractServiceUnits": len(self.in_contracts("ContractServiceUnits", ids)),
        }


def udf(row: Mapping[str, Any], name: str) -> str:
    values = [item["value"] for item in row.get("userDefinedFields") or [] if item["name"] == name]
    assert len(values) == 1 and values[0], f"{name!r} missing on {row.get('id')}"
    return str(values[0])


def day(value: str) -> date:
    """A date from Autotask's ``YYYY-MM-DDT00:00:00``."""
    return date.fromisoformat(value[:10])


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def pages(records: int) -> int:
    """Requests one query needs for ``records`` results: pages of 500, and at least one request."""
    return max(1, math.ceil(records / PAGE))


def db_dump(path: Path) -> list[str]:
    """Every statement that would rebuild the sandbox database: equal dumps, equal data. The tenant
    number each database draws at random when created is left out, so two fresh databases compare equal."""
    connection = sqlite3.connect(path)
    try:
        return [
            line
            for line in connection.iterdump()
            if not line.startswith("INSERT INTO \"meta\" VALUES('tenant_ci'")
        ]
    finally:
        connection.close()


# ---- expectations from the bundle's CSV files -----------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    organization_id: str
    record_type: str
    product_name: str
    start: date
    end: date | None


@dataclass(frozen=True)
class Line:
    subscription_id: str
    quantity: int
    total_sales: Decimal


class Bundle:
    """A Cloudmore export bundle as of a date: who is synced, and what each month bills (DOMAIN.md)."""

    def __init__(self, folder: Path, as_of: str = AS_OF) -> None:
        self.folder = folder
        organizations = _rows(folder / "organizations.csv")
        self.org_names = {o["Organization ID"]: o["Organization Name"] for o in organizations}
        active = {
            s["Organization ID"]
            for s in _rows(folder / "services.csv")
            if s["Status"] == "Active" and s["Service Name"].strip().lower() in SYNCED_SERVICES
        }
        # D1 (linked) and D6 (an active CSP 365 or Azure service)
        self.synced_orgs = {
            o["Organization ID"] for o in organizations if o["AutotaskCompanyID"].strip()
        } & active
        self.subscriptions = {
            s["Subscription ID"]: Subscription(
                s["Subscription ID"],
                s["Organization ID"],
                s["Record Type"],
                s["Product Name"],
                date.fromisoformat(s["Start Date"]),
                date.fromisoformat(s["End Date"]) if s["End Date"] else None,
            )
            for s in _rows(folder / "subscriptions.csv")
        }
        # D7/D20: per month, the latest revision exported by the as-of date (available the day before)
        latest: dict[str, tuple[str, str]] = {}
        for report in _rows(folder / "reports.csv"):
            available, period = report["Available On"], report["Period"]
            if available < as_of and (period not in latest or available > latest[period][0]):
                latest[period] = (available, report["File"])
        self.periods = sorted(latest)
        self.lines: dict[tuple[str, str], list[Line]] = defaultdict(list)
        for period in self.periods:
            for row in _rows(folder / latest[period][1]):
                line = Line(row["Subscription ID"], int(row["Quantity"]), Decimal(row["Total Sales"]))
                self.lines[(line.subscription_id, period)].append(line)

    def synced(self, record_types: Iterable[str] | None = None) -> set[str]:
        """Subscriptions a first apply gives a contract: listed, of a synced organization, billed in a due month."""
        wanted = set(record_types) if record_types is not None else None
        return {
            sid
            for (sid, _period) in self.lines
            if sid in self.subscriptions
            and self.subscriptions[sid].organization_id in self.synced_orgs
            and (wanted is None or self.subscriptions[sid].record_type in wanted)
        }

    def quantity(self, subscription_id: str, period: str) -> int:
        """D8: the month's highest quantity (0 with no line, D14)."""
        return max((line.quantity for line in self.lines.get((subscription_id, period), [])), default=0)

    def sales(self, subscription_id: str, period: str) -> Decimal:
        """D8: the month's total sales."""
        return sum((line.total_sales for line in self.lines.get((subscription_id, period), [])), Decimal(0))

    def contract_dates(self, subscription_id: str, ongoing_years: int = 10) -> tuple[date, date]:
        """D13: first day of the start month; last day of the end month, or 31 December start year + 10."""
        sub = self.subscriptions[subscription_id]
        start = sub.start.replace(day=1)
        if sub.end is None:
            return start, date(sub.start.year + ongoing_years, 12, 31)
        following = date(sub.end.year + sub.end.month // 12, sub.end.month % 12 + 1, 1)
        return start, date.fromordinal(following.toordinal() - 1)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def month_bounds(period: str) -> tuple[date, date]:
    year, month = int(period[:4]), int(period[5:])
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), date.fromordinal(following.toordinal() - 1)


# ---- the snapshot on disk -------------------------------------------------------------------------


def read_state(folder: Path) -> dict[str, Any]:
    """The snapshot under ``folder`` as one document, read with plain JSON from ``state.json`` and the
    shards it lists: ``lineage``, ``serial``, ``applied_periods`` and every entry under ``resources``."""
    meta = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    resources: dict[str, Any] = {}
    for shard, count in meta["shards"].items():
        entries = json.loads((folder / shard).read_text(encoding="utf-8"))
        assert len(entries) == count and not set(entries) & set(resources), shard
        resources.update(entries)
    return {**{k: v for k, v in meta.items() if k != "shards"}, "resources": resources}
