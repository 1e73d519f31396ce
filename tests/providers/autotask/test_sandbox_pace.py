"""Autotask's pace in the sandbox: which delay each request gets, and the longest chain of linked pages.

Delays are recorded by an injected ``sleep``, never waited for or timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import cycle

import httpx
import pytest
from click.testing import CliRunner

from providers.autotask.cli import serve_cmd
from providers.autotask.sandbox import (
    BASE_PATH,
    SANDBOX_CREDENTIALS,
    Pace,
    SandboxApp,
    SandboxConfig,
    make_app,
    request_delay,
    start_background_server,
)

ALL = {"filter": [{"op": "gte", "field": "id", "value": 0}]}


def _company(number: int) -> dict[str, object]:
    return {
        "companyName": f"Customer {number:04d}",
        "companyType": 1,
        "phone": "555-0100",
        "ownerResourceID": 1,
    }


def _paced(
    pace: Pace, *, hourly_limit: int = 10_000, draws: tuple[float, ...] = (0.0,)
) -> tuple[SandboxApp, list[float]]:
    slept: list[float] = []
    numbers = cycle(draws)
    config = SandboxConfig(
        sleep=slept.append, pace=pace, hourly_limit=hourly_limit, draw=lambda: next(numbers)
    )
    return make_app(":memory:", config), slept


@pytest.fixture
def http() -> Iterator[tuple[SandboxApp, list[float], httpx.Client]]:
    app, slept = _paced(Pace(latency=1.0, write_latency=0.3))
    with httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as client:
        yield app, slept, client


def test_reads_wait_the_read_latency_and_writes_the_write_latency(
    http: tuple[SandboxApp, list[float], httpx.Client],
) -> None:
    app, slept, client = http
    assert client.post("Companies", json=_company(1)).status_code == 200
    assert client.post("Companies/query", json=ALL).status_code == 200
    assert client.post("Companies/query/count", json=ALL).status_code == 200
    assert client.get("Companies/entityInformation/fields").status_code == 200
    # neither ThresholdInformation nor the sandbox's own control endpoints are held
    assert client.get("ThresholdInformation").status_code == 200
    assert client.get("http://sandbox/_sandbox/stats").status_code == 200
    assert slept == [0.3, 1.0, 1.0, 1.0]
    assert app.stats().endpoints["Companies"].requests == {"create": 1, "query": 1, "count": 1, "info": 1}


def test_an_instant_sandbox_never_sleeps() -> None:
    app, slept = _paced(Pace())
    with httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as client:
        assert client.post("Companies/query", json=ALL).status_code == 200
    assert slept == []


def test_usage_latency_starts_once_the_hourly_count_passes_half_of_the_budget() -> None:
    # budget 8: requests 1-4 are within half of it, from the 5th on each gets 0.5-1 s more
    app, slept = _paced(Pace(latency=0.25, usage_latency=True), hourly_limit=8, draws=(0.0, 1.0, 0.5))
    with httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as client:
        statuses = [client.post("Companies/query/count", json=ALL).status_code for _ in range(9)]
    assert statuses == [200] * 8 + [429]
    assert slept == [0.25, 0.25, 0.25, 0.25, 0.75, 1.25, 1.0, 0.75]


def test_jitter_adds_a_uniform_draw_to_each_request() -> None:
    pace = Pace(latency=1.0, jitter=0.5)
    assert [request_delay(pace, "query", 1, 10_000, lambda d=draw: d) for draw in (0.0, 0.5, 0.99)] == [
        1.0,
        1.25,
        1.495,
    ]
    assert (
        request_delay(Pace(latency=1.0), "update", 1, 10, lambda: 0.0) == 1.0
    )  # writes default to the read latency
    with pytest.raises(ValueError, match="latency must not be negative"):
        Pace(latency=-1)


def test_the_longest_chain_counts_pages_linked_by_next_page_url() -> None:
    app = make_app(":memory:")
    app.store.insert_many("Companies", [_company(n) for n in range(1600)])
    with httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="http://sandbox" + BASE_PATH,
        headers=SANDBOX_CREDENTIALS.headers(),
    ) as client:
        page = client.post("Companies/query", json=ALL).json()
        while page["pageDetails"]["nextPageUrl"]:
            page = client.post(page["pageDetails"]["nextPageUrl"], json=ALL).json()
        assert app.stats().endpoints["Companies"].longest_chain == 4  # 1,606 companies: 4 pages
        # two more short queries side by side do not lengthen the chain; an id-range query is its own chain
        for low in (0, 1000):
            ranged = {"filter": [{"op": "gt", "field": "id", "value": low}], "MaxRecords": 500}
            assert client.post("Companies/query", json=ranged).status_code == 200
        assert app.stats().endpoints["Companies"].longest_chain == 4
        app.reset_stats()
        assert app.stats().endpoints.get("Companies") is None
        client.post("Companies/query", json=ALL)
        assert app.stats().endpoints["Companies"].longest_chain == 1
        assert (
            client.get("http://sandbox/_sandbox/stats").json()["endpoints"]["Companies"]["longest_chain"] == 1
        )


def test_serve_takes_the_pace_options() -> None:
    result = CliRunner().invoke(serve_cmd, ["--latency", "-1"])
    assert result.exit_code == 2
    assert "-1" in result.output and "latency" in result.output
    help_text = CliRunner().invoke(serve_cmd, ["--help"]).output
    for option in ("--latency", "--write-latency", "--jitter", "--usage-latency"):
        assert option in help_text


def test_a_background_server_takes_a_pace_and_holds_requests_inside_the_thread_limit() -> None:
    pace = Pace(latency=0.0, write_latency=0.0, jitter=0.0)
    with start_background_server(pace=pace) as server:
        assert server.app.config.pace == pace
        with httpx.Client(
            base_url=server.base_url, headers=SANDBOX_CREDENTIALS.headers(), trust_env=False
        ) as client:
            assert client.post("Companies/query", json=ALL).status_code == 200
        assert server.app.stats().endpoints["Companies"].longest_chain == 1
    with pytest.raises(ValueError, match="pass pace to make_app"):
        start_background_server(make_app(":memory:"), pace=pace)
