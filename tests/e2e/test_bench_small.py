"""The benchmark at 1,000 subscriptions, as a functional test (``python -m bench.run`` runs it at scale).

It runs the benchmark's own scenario: the first plan, ``billsync apply`` over HTTP to the sandbox
in its own process, then the applied month planned again. The sandbox counts every request and
every object its queries return, so the test checks what Autotask would see: each plan's requests
are exactly the pages its records fill, the apply sends one write per planned change and never
more than 3 requests in flight per endpoint, and the plan after it writes nothing. The benchmark
also records durations; no test asserts one.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from providers.autotask.kinds import KINDS

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))  # the benchmark lives beside the packages, not inside them

from bench._scenario import run_size  # noqa: E402

pytestmark = pytest.mark.slow  # 1,000 subscriptions applied over HTTP

N = 1_000
PAGE = 500
ENTITY = {kind: spec.entity for kind, spec in KINDS.items()}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The benchmark's results, computed once per test run even when workers share the tests."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return run_size(N, tmp_path_factory.mktemp("bench") / f"n{N}", apply_max=N, seed=1)
    shared = tmp_path_factory.getbasetemp().parent  # one folder per run, common to its workers
    results = shared / f"bench-{N}.json"
    with FileLock(str(results) + ".lock"):
        if not results.is_file():
            found = run_size(N, shared / f"bench-{N}", apply_max=N, seed=1)
            results.write_text(json.dumps(found), encoding="utf-8")
        loaded: dict[str, Any] = json.loads(results.read_text(encoding="utf-8"))
        return loaded


def _pages(objects: int) -> int:
    return max(1, math.ceil(objects / PAGE))


METADATA = {
    entity: 1
    for entity in (
        "BillingCodes",
        "ContractCharges",
        "ContractServiceAdjustments",
        "ContractServices",
        "Contracts",
        "Products",
        "Services",
    )
}
"""One ``entityInformation/fields`` read per entity billsync creates, cached for the run: the tenant's
picklists for the settings check and its required fields (D4)."""


def _reads(requests: dict[str, int]) -> dict[str, int]:
    """Requests per endpoint without the metadata reads (an endpoint left with none is dropped)."""
    left = {endpoint: count - METADATA.get(endpoint, 0) for endpoint, count in requests.items()}
    return {endpoint: count for endpoint, count in left.items() if count}


@pytest.mark.parametrize("step", ["plan", "replan"])
def test_each_plan_reads_exactly_the_pages_its_records_fill(bench: dict[str, Any], step: str) -> None:
    objects: dict[str, int] = bench[step]["objects_read"]
    requests: dict[str, int] = bench[step]["requests"]
    # at 1,000 subscriptions every "in" list (companies, services) fits in one query
    assert _reads(requests) == {endpoint: _pages(count) for endpoint, count in objects.items()}


def test_the_first_plan_reads_an_empty_tenant_in_one_request_per_entity(bench: dict[str, Any]) -> None:
    plan = bench["plan"]
    companies = plan["objects_read"]["Companies"]  # those the contracts bill
    assert bench["organizations"] * 9 // 10 < companies <= bench["organizations"]
    assert plan["objects_read"] == {
        "BillingCodes": 4,  # the tenant's billing codes, for the settings check (D4)
        "Companies": companies,
        "Contracts": 0,
        "Products": 0,
        "Services": 0,
    }
    assert plan["requests_total"] == 5 + sum(METADATA.values())


def test_a_plan_needs_a_hundred_times_fewer_requests_than_one_get_per_object(bench: dict[str, Any]) -> None:
    replan = bench["replan"]
    objects = sum(replan["objects_read"].values())
    assert replan["objects_read"]["Contracts"] > N * 9 // 10
    assert replan["per_object_requests"] == replan["objects_read_total"] == objects
    assert replan["bulk_minimum"] == sum(math.ceil(count / PAGE) for count in replan["objects_read"].values())
    assert replan["requests_total"] <= 1.1 * replan["bulk_minimum"] + 10
    assert objects >= 100 * replan["requests_total"]


def test_apply_sends_exactly_one_write_request_per_planned_change(bench: dict[str, Any]) -> None:
    plan, apply = bench["plan"], bench["apply"]
    # an empty tenant: creates, and the months that change nothing, recorded without a write
    assert plan["changes"] == {"create": plan["writes_planned"], "adopt": 587}
    assert plan["writes_planned"] == 3_208
    creates = {
        endpoint: kinds["create"] for endpoint, kinds in apply["requests"].items() if "create" in kinds
    }
    # and the tenant's writer lease: one Product created, renewed and ended by updates, read back once
    lease = apply["requests"]["Products"]["update"]
    expected = Counter({ENTITY[kind]: count for kind, count in plan["writes_planned_by_kind"].items()})
    expected["Products"] += 1
    assert creates == dict(expected)
    assert all(
        set(kinds) <= {"query", "create", "info"} for e, kinds in apply["requests"].items() if e != "Products"
    )
    assert lease >= 1
    assert apply["writes"] == plan["writes_planned"] and apply["lease_writes"] == 1 + lease
    # before writing, apply plans again to check the saved plan is fresh, and once more under the
    # writer lease: the plan's bulk reads twice (the billing codes, read with the tenant's metadata,
    # once), and the leases read back once
    twice = {
        endpoint: count * (1 if endpoint == "BillingCodes" else 2)
        for endpoint, count in _reads(plan["requests"]).items()
    }
    reads = {endpoint: kinds["query"] for endpoint, kinds in apply["requests"].items() if "query" in kinds}
    assert reads == dict(Counter(twice) + Counter({"Products": 1}))
    metadata = {endpoint: kinds["info"] for endpoint, kinds in apply["requests"].items() if "info" in kinds}
    assert metadata == METADATA


def test_apply_keeps_at_most_three_requests_in_flight_per_endpoint(bench: dict[str, Any]) -> None:
    peaks: dict[str, int] = bench["apply"]["peak_in_flight"]
    assert set(peaks) == set(bench["apply"]["requests"])
    assert all(1 <= peak <= 3 for peak in peaks.values()), peaks
    assert bench["apply"]["throttled"] == {}


def test_a_plan_after_apply_plans_no_change_and_sends_no_write(bench: dict[str, Any]) -> None:
    replan = bench["replan"]
    assert replan["changes"] == {}
    assert replan["writes_planned"] == replan["write_requests"] == 0
    assert set(replan["requests"]) >= {
        "Contracts",
        "ContractServices",
        "ContractServiceUnits",
        "ContractCharges",
    }


def test_the_plan_after_apply_reads_no_chain_longer_than_a_third_of_its_pages_plus_one(
    bench: dict[str, Any],
) -> None:
    replan = bench["replan"]
    chains: dict[str, int] = replan["longest_chain"]
    assert set(chains) == set(replan["objects_read"])
    for endpoint, chain in chains.items():
        assert 1 <= chain <= -(-_pages(replan["objects_read"][endpoint]) // 3) + 1, (endpoint, chains)
    # 2 pages of contracts, cut at the recorded ids into two ranges of one page each
    assert _pages(replan["objects_read"]["Contracts"]) == 2
    assert chains["Contracts"] == 1


def test_writes_per_subscription_by_record_type_for_a_first_apply_and_a_steady_month(
    bench: dict[str, Any],
) -> None:
    """Exact counts for the seeded 1,000 subscriptions (two months): a first apply writes each
    subscription's contract, contract service and months; a steady month writes only the months whose
    units or price change, and each usage charge (Azure, Marketplace)."""
    per = {
        kind: (v["subscriptions"], v["first_apply"], v["steady_month"])
        for kind, v in bench["plan"]["writes_per_subscription"].items()
    }
    assert per == {
        "azure": (150, 2.947, 0.973),
        "csp365": (693, 3.316, 0.229),
        "marketplace": (50, 2.94, 0.96),
        "perpetual_licenses": (30, 3.633, 1.0),
        "reserved_instances": (40, 3.025, 0.025),
        "subscriptions": (30, 3.033, 0.0),
        "all": (993, 3.231, 0.387),
    }
    # before a month that changes nothing was recorded without a write: 3,795 writes, 0.38 h
    assert bench["plan"]["carried_months"] == 587
    assert bench["projected_apply_hours"] == 0.32
    assert bench["projected_apply_hours_before"] == {"writes": 3_795, "hours": 0.38}
