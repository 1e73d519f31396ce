"""Snapshot load and save time at N subscriptions, on a synthetic snapshot (no sandbox needed).

The snapshot is loaded on every plan, so its load time is part of every plan's time. Each subscription
gets what the shipped CSP 365 rules record for it: a contract, a contract service, one adjustment per
month and a rounding charge every fourth month; one service per 250 subscriptions. Run:

    python -m bench.snapshot_load --subscriptions 50000 --months 2

It prints, for the one-file layout billsync used before (its exact load and save code) and for the
sharded one, the median of interleaved loads and saves (wall and CPU seconds), and the file sizes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.snapshot import (
    Entry,
    Snapshot,
    SnapshotStore,
    entry_from_json,
    snapshot_from_json,
)
from engine.snapshot_v1 import snapshot_pieces
from engine.state_layout import shard_name
from providers.autotask.kinds import KINDS


def synthetic(subscriptions: int, months: int) -> Snapshot:
    """A snapshot shaped like the one the shipped rules write, ``subscriptions`` × ``months``."""
    resources: dict[str, Entry] = {}
    shared: dict[Any, Any] = {}
    periods = [f"2026-{m:02d}" for m in range(1, months + 1)]
    next_id = iter(range(30_000_000, 40_000_000))
    services = max(1, subscriptions // 250)
    for s in range(services):
        resources[f'service["csp365:P{s:05d}"]'] = entry_from_json(
            {
                "kind": "service",
                "target_id": next(next_id),
                "attributes": {
                    "billingCodeID": 2001,
                    "description": f"Microsoft CSP 365: Product {s} (P{s:05d})",
                    "invoiceDescription": f"Product {s} (P{s:05d})",
                    "name": f"Product {s}",
                    "periodType": 1,
                    "unitCost": "12.7500",
                    "unitPrice": "15.0000",
                },
                "source": {"product_id": f"P{s:05d}"},
            },
            KINDS,
            shared,
        )
    for n in range(subscriptions):
        sid = f"6f1c2d3e-0a1b-4c5d-8e9f-{n:012d}"
        org = f"ORG-{n // 5:06d}"
        service = f'service["csp365:P{n % services:05d}"]'
        contract = f'contract["{sid}"]'
        cs = f'contract_service["{sid}"]'
        source = {"organization_id": org, "subscription_id": sid}
        resources[contract] = entry_from_json(
            {
                "kind": "contract",
                "target_id": next(next_id),
                "attributes": {
                    "companyID": 100 + n // 5,
                    "contractName": f"Organization {n // 5} - Microsoft 365 Business Standard",
                    "contractPeriodType": 1,
                    "contractType": 7,
                    "description": f"Cloudmore subscription {sid}",
                    "endDate": "2027-02-28",
                    "serviceLevelAgreementID": 1,
                    "startDate": "2025-03-01",
                    "status": 1,
                },
                "source": source,
            },
            KINDS,
            shared,
        )
        resources[cs] = entry_from_json(
            {
                "kind": "contract_service",
                "target_id": next(next_id),
                "attributes": {
                    "invoiceDescription": "Microsoft 365 Business Standard (CFQ7TTC0LDPB:0001)",
                    "unitCost": "10.6250",
                    "unitPrice": "12.5000",
                },
                "refs": {"contractID": contract, "serviceID": service},
                "source": source,
            },
            KINDS,
            shared,
        )
        for index, period in enumerate(periods):
            month = {**source, "period": period, "total_cost": "132.82", "total_sales": "156.25"}
            resources[f'adjustment["{sid}"]["{period}"]'] = entry_from_json(
                {
                    "kind": "adjustment",
                    "target_id": next(next_id),
                    "period": period,
                    "attributes": {
                        "effectiveDate": f"{period}-01",
                        "unitCost": "8.8547",
                        "unitPrice": "10.4167",
                        "units": 15,
                    },
                    "refs": {"contractID": contract, "contractServiceID": cs, "serviceID": service},
                    "source": month,
                },
                KINDS,
                shared,
            )
            if (n + index) % 4 == 0:
                resources[f'charge["{sid}"]["{period}"]["rounding"]'] = entry_from_json(
                    {
                        "kind": "charge",
                        "target_id": next(next_id),
                        "period": period,
                        "attributes": {
                            "billingCodeID": 2002,
                            "datePurchased": f"{period}-01",
                            "description": f"Microsoft 365 Business Standard {period}: rounding to the report total",
                            "name": f"Rounding {period}",
                            "unitCost": "0.0100",
                            "unitPrice": "0.0100",
                            "unitQuantity": "1.0000",
                        },
                        "refs": {"contractID": contract},
                        "source": month,
                    },
                    KINDS,
                    shared,
                )
    return Snapshot(
        lineage="00000000-0000-4000-8000-000000000000",
        serial=7,
        resources=resources,
        applied_periods={p: f"{p}-28" for p in periods},
    )


def _one_file_load(path: Path) -> Snapshot:
    """What loading cost before the sharded layout: the whole ``snapshot.json`` in one parse."""
    return snapshot_from_json(path.read_text(encoding="utf-8"), KINDS, str(path))


def _one_file_save(path: Path, snapshot: Snapshot) -> None:
    """What saving cost before: the one document written piece by piece, fsynced, renamed."""
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for piece in snapshot_pieces(snapshot):
            fh.write(piece)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _measure(action: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    del result
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    snapshot = synthetic(args.subscriptions, args.months)
    print(f"{args.subscriptions} subscriptions x {args.months} months: {len(snapshot.resources)} resources")
    runs: dict[str, list[tuple[float, float]]] = {
        k: [] for k in ("old save", "new save", "old load", "new load", "old month", "new month")
    }
    with tempfile.TemporaryDirectory() as tmp:
        legacy = Path(tmp) / "snapshot.json"
        store = SnapshotStore(Path(tmp) / "state", KINDS)
        for _ in range(args.repeat):  # interleaved, so a busy machine weighs on both layouts alike
            runs["old save"].append(_measure(lambda: _one_file_save(legacy, snapshot)))
            runs["new save"].append(_measure(lambda: store.write(snapshot)))
            runs["old load"].append(_measure(lambda: _one_file_load(legacy)))
            runs["new load"].append(_measure(store.load))
        assert _one_file_load(legacy).resources == snapshot.resources == store.load().resources
        # the save that ends an apply of one more month: before, the whole document again; now the
        # month's new shards and state.json (what Journal.close writes)
        month = f"2026-{args.months + 1:02d}"
        later = synthetic(args.subscriptions, args.months + 1).resources
        added = {a: e for a, e in later.items() if e.period == month}
        grown = replace(snapshot, resources={**snapshot.resources, **added}, serial=snapshot.serial + 1)
        new_shards = {shard_name(a, e.kind, e.period) for a, e in added.items()}
        for _ in range(args.repeat):
            store.write(snapshot)
            runs["old month"].append(_measure(lambda: _one_file_save(legacy, grown)))
            runs["new month"].append(_measure(lambda: store.write(grown, new_shards)))
        assert store.load().resources == grown.resources
        old_size = legacy.stat().st_size
        sizes = [p.stat().st_size for p in store.folder.rglob("*") if p.is_file()]

    def median(name: str, index: int) -> str:
        return f"{statistics.median(r[index] for r in runs[name]):.2f}"

    for layout, files in (
        ("old", f"1 file, {old_size / 1e6:.1f} MB"),
        ("new", f"{len(sizes)} files, largest {max(sizes) / 1e6:.2f} MB, total {sum(sizes) / 1e6:.1f} MB"),
    ):
        label = "one file (before)" if layout == "old" else "sharded (after)  "
        print(
            f"  {label}: load {median(f'{layout} load', 0)} s wall, {median(f'{layout} load', 1)} s CPU; "
            f"save {median(f'{layout} save', 0)} s wall, {median(f'{layout} save', 1)} s CPU; "
            f"save after a month's apply {median(f'{layout} month', 0)} s wall, "
            f"{median(f'{layout} month', 1)} s CPU; {files}"
        )


if __name__ == "__main__":
    main()
