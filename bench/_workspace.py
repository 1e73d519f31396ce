"""A benchmark workspace: a synthetic Cloudmore bundle, a sandbox tenant with its companies, billsync.yaml."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

from bench.synthetic import GeneratedBundle, generate_bundle
from providers.autotask.sandbox import SandboxStore

DB_FILE = Path(".billsync") / "sandbox.db"


@dataclass(frozen=True)
class BenchWorkspace:
    """A workspace folder ready for ``billsync -w ROOT …``."""

    root: Path
    bundle: GeneratedBundle
    as_of: date
    """The day after the last report became available: every month of the bundle is due."""

    @property
    def db(self) -> Path:
        return self.root / DB_FILE

    @property
    def last_period(self) -> str:
        return self.bundle.periods[-1]

    def connect(self, base_url: str | None) -> None:
        """Point the workspace at a served sandbox (``None``: the embedded one on the same database)."""
        lines = ["cloudmore:", "  bundle: ./cloudmore"]
        if base_url is not None:
            lines += ["autotask:", f"  url: {base_url}"]
        (self.root / "billsync.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_workspace(root: Path, subscriptions: int, seed: int = 1) -> BenchWorkspace:
    """Generate the bundle and a sandbox tenant holding the demo settings and every linked company."""
    root.mkdir(parents=True, exist_ok=True)
    bundle = generate_bundle(root / "cloudmore", subscriptions=subscriptions, seed=seed)
    store = SandboxStore(root / DB_FILE)
    try:
        store.insert_many(
            "Companies",
            (
                {"id": company, "companyName": name, "companyNumber": f"C-{company}", "companyType": 1}
                for company, name in bundle.companies
            ),
        )
    finally:
        store.close()
    workspace = BenchWorkspace(root, bundle, _as_of(bundle.path))
    workspace.connect(None)
    return workspace


def copy_workspace(workspace: BenchWorkspace, root: Path) -> BenchWorkspace:
    """The same workspace, bundle and sandbox tenant in a second folder: a tenant of its own."""
    shutil.copytree(workspace.root, root)
    copied = BenchWorkspace(root, replace(workspace.bundle, path=root / "cloudmore"), workspace.as_of)
    copied.connect(None)
    return copied


def _as_of(bundle: Path) -> date:
    with (bundle / "reports.csv").open(encoding="utf-8", newline="") as fh:
        latest = max(date.fromisoformat(row["Available On"]) for row in csv.DictReader(fh))
    return latest + timedelta(days=1)
