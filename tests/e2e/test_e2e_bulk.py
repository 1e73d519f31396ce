"""Reads are bulk: a plan's requests grow with ⌈records/500⌉ per endpoint, never with the subscriptions.

A generated bundle is applied to a sandbox served on loopback; then the sandbox's request counters
are compared, endpoint by endpoint, with what bulk reading costs: one request per page of 500
records (at least one per query), and one query per 500 ids of an ``in`` list (here every list
fits in one).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import generate_bundle

from ._support import AS_OF, PAGE, Bundle, SandboxApi, SetupFactory, month_bounds, pages, summary_line

PERIOD = "2026-10"


@pytest.mark.slow  # 500 subscriptions planned and applied: 6 s of CPU, the costliest test of the inner loop
@pytest.mark.parametrize("subscriptions", [500, 2000])
def test_plan_reads_in_pages_of_500_and_an_apply_without_changes_writes_nothing(
    subscriptions: int, make_setup: SetupFactory, tmp_path: Path
) -> None:
    generated = generate_bundle(tmp_path / "bundle", subscriptions=subscriptions, seed=3, periods=(PERIOD,))
    setup = make_setup("served", bundle=generated.path, companies=generated.companies, db=":memory:")
    workspace, api = setup.workspace, setup.api
    applied = workspace.run("apply", "--auto-approve", "--as-of", AS_OF).stdout
    planned = re.fullmatch(
        r"Plan: (\d+) to add, 0 to change, 0 to adopt, 0 to destroy\.", summary_line(applied)
    )
    assert planned is not None, applied
    creates = int(planned[1])
    assert applied.splitlines()[-1] == (
        f"Apply complete: {creates} written, 0 adopted, 0 failed, 0 skipped. Snapshot serial 1."
    )

    contracts = api.contracts()
    assert set(contracts) == Bundle(generated.path).synced()
    assert len(contracts) > subscriptions * 9 // 10
    reads = _bulk_reads(api, list(contracts.values()), None)
    month_reads = _bulk_reads(api, list(contracts.values()), PERIOD)
    # full pages: fewer requests than one per 500 contracts wherever the records are fewer
    chunks = -(-len(contracts) // PAGE)
    assert chunks == subscriptions // PAGE
    assert reads["Contracts"] == {"query": chunks, "info": 1}
    assert month_reads["ContractCharges"]["query"] < chunks or chunks == 1

    api.reset_stats()
    replanned = workspace.run("plan", "--as-of", AS_OF, "--period", PERIOD).stdout
    assert summary_line(replanned) == "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
    assert api.stats() == month_reads
    chains = api.chains()
    for endpoint, kinds in month_reads.items():  # no chain of pages longer than a third, plus one
        assert chains.get(endpoint, 0) <= -(-kinds.get("query", 0) // 3) + 1, (endpoint, chains)
    assert chains["Contracts"] == -(-chunks // 3)

    api.reset_stats()
    again = workspace.run("apply", "--auto-approve", "--as-of", AS_OF).stdout
    assert summary_line(again) == "Plan: 0 to add, 0 to change, 0 to adopt, 0 to destroy."
    assert api.stats() == reads  # the same bulk reads, and no POST or PATCH


def _bulk_reads(
    api: SandboxApi, contracts: list[dict[str, Any]], period: str | None
) -> dict[str, dict[str, int]]:
    """The requests a plan needs per endpoint for the records the sandbox holds now.

    Settings checks (D4) read the field metadata of each entity billsync creates (the SLA picklist,
    picklist settings, required fields) and the billing codes; services and products are read by their
    marker, contracts by their "Subscription ID"; contract services and ``period``'s unit rows by
    ``serviceID in`` billsync's services (fewer than 500 here; unit rows overlapping the month, as
    they follow the contract's billing periods), and ``period``'s charges by their
    marker, when a month is planned. A result longer than a page is read as id ranges side by side,
    cut on page boundaries of the ids the snapshot recorded, so it costs no extra page; unit rows
    are not recorded, so their cuts come from one count query.
    """
    marked = [{"op": "beginsWith", "field": "sku", "value": "billsync:"}]
    services = [s["id"] for s in api.query("Services", marked)]
    assert 0 < len(services) <= PAGE
    by_service = [{"op": "in", "field": "serviceID", "value": services}]
    companies = {c["companyID"] for c in contracts}
    reads = {
        "BillingCodes": 1,
        "Companies": pages(len(companies)),
        "Services": pages(len(services)),
        "Products": pages(api.count("Products", marked)),
        "Contracts": pages(len(contracts)),
        "ContractServices": pages(api.count("ContractServices", by_service)),
    }
    if period is not None:
        first, last = (f"{d.isoformat()}T00:00:00" for d in month_bounds(period))
        starting = [
            {"op": "gte", "field": "endDate", "value": first},
            {"op": "lte", "field": "startDate", "value": last},
        ]
        reads["ContractServiceUnits"] = pages(api.count("ContractServiceUnits", [*by_service, *starting]))
        reads["ContractCharges"] = pages(
            api.count(
                "ContractCharges",
                [
                    {"op": "beginsWith", "field": "purchaseOrderNumber", "value": "billsync:"},
                    {"op": "gte", "field": "datePurchased", "value": first},
                    {"op": "lte", "field": "datePurchased", "value": last},
                ],
            )
        )
    found: dict[str, dict[str, int]] = {endpoint: {"query": count} for endpoint, count in reads.items()}
    if reads.get("ContractServiceUnits", 1) > 1:  # no recorded ids: a count gives the id ranges' cuts
        found["ContractServiceUnits"]["count"] = 1
    for entity in METADATA:
        found.setdefault(entity, {})["info"] = 1
    return found


METADATA = (
    "BillingCodes",
    "ContractCharges",
    "ContractServiceAdjustments",
    "ContractServices",
    "Contracts",
    "Products",
    "Services",
)
"""Entities whose ``entityInformation/fields`` a plan reads once (D4 against the tenant's metadata)."""
