"""Planning the same loaded inputs again, as apply does under the writer lease (D26): the rendering
is reused, and Autotask is read again, so what another writer did in between is still seen."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from engine import planner
from engine.planner import load_inputs, make_plan, render_inputs
from engine.provider import Target
from engine.wiring import make_source, make_target
from engine.workspace import Workspace, open_workspace

from ._support import AS_OF, SANDBOX_ENV, Setup, SetupFactory

DAY = date.fromisoformat(AS_OF)


def _queries(setup: Setup) -> dict[str, int]:
    """Query requests per endpoint the sandbox has answered so far."""
    endpoints = setup.api.client.get(setup.api.root + "/_sandbox/stats").json()["endpoints"]
    return {name: e["requests"]["query"] for name, e in endpoints.items() if e["requests"].get("query")}


@dataclass(frozen=True)
class Served:
    """A served sandbox with the example workspace (no snapshot yet) and its Autotask target."""

    setup: Setup
    workspace: Workspace
    target: Target


@pytest.fixture
def served(make_setup: SetupFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    setup = make_setup("served")  # no snapshot yet: a plan recovers the history from Autotask first
    for key, value in SANDBOX_ENV.items():
        monkeypatch.setenv(key, value)
    workspace = open_workspace(setup.workspace.root)
    target = make_target(workspace)
    try:
        yield Served(setup, workspace, target)
    finally:
        target.close()


def test_planning_the_same_inputs_again_reuses_the_rendering_and_reads_autotask_again(served: Served) -> None:
    setup, workspace, target = served.setup, served.workspace, served.target  # each plan recovers first
    inputs = load_inputs(workspace, make_source(workspace), target, DAY)
    first = make_plan(inputs, target, DAY)
    once = _queries(setup)
    again = make_plan(inputs, target, DAY, earlier=first)
    twice = _queries(setup)
    # every object read again; the tenant's billing codes are a lookup each target reads once
    assert {name: twice[name] - n for name, n in once.items()} == {**once, "BillingCodes": 0}
    assert set(once) == {"BillingCodes", "Companies", "Contracts", "Products", "Services"}
    assert [r is f for r, f in zip(again.renderings, first.renderings, strict=True)] == [True]
    assert again.plan.changes == first.plan.changes and again.plan.has_changes

    reloaded = load_inputs(workspace, make_source(workspace), target, DAY)  # inputs loaded anew
    fresh = make_plan(reloaded, target, DAY, earlier=first)
    assert fresh.renderings[0] is not first.renderings[0]
    assert fresh.renderings[0].desired == first.renderings[0].desired
    assert fresh.plan.changes == first.plan.changes

    later = make_plan(inputs, target, date(2026, 11, 30), earlier=first)  # another day: rendered again
    assert later.renderings[0] is not first.renderings[0]


def test_the_reads_start_once_the_export_is_released_or_first_when_history_is_recovered(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup, workspace, target = served.setup, served.workspace, served.target
    released_at_start: list[bool] = []
    inputs = None

    def prefetching(request: Any) -> Any:
        assert inputs is not None
        released_at_start.append(inputs.loaded.released)
        return type(target).prefetching(target, request)

    monkeypatch.setattr(target, "prefetching", prefetching)
    # no snapshot: the history is recovered from the reads before anything renders
    inputs = load_inputs(workspace, make_source(workspace), target, DAY)
    make_plan(inputs, target, DAY, release_source=True)
    setup.workspace.run("apply", "--auto-approve", "--as-of", AS_OF)
    # a snapshot: the reads start once the rules have their render input and the export is let go
    inputs = load_inputs(workspace, make_source(workspace), target, DAY)
    assert not inputs.loaded.released
    after = make_plan(inputs, target, DAY, release_source=True)
    assert inputs.loaded.released and not after.plan.has_changes
    assert released_at_start == [False, True]


def test_the_source_is_digested_once_and_only_for_a_plan(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace, target = served.workspace, served.target
    digested: list[str] = []
    digest = planner.digest_source
    monkeypatch.setattr(planner, "digest_source", lambda source: digested.append("digest") or digest(source))
    rendered_only = load_inputs(workspace, make_source(workspace), target, DAY, digest=False)
    assert digested == [] and render_inputs(rendered_only, target, DAY, None)[0].resources
    assert digested == []
    inputs = load_inputs(workspace, make_source(workspace), target, DAY)
    assert digested == ["digest"]  # taken before the snapshot loaded, and once
    make_plan(inputs, target, DAY)
    assert digested == ["digest"]
