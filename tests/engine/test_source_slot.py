"""The source a plan renders from can be let go of once the rules have their render input, and is
loaded again if a posted month needs a second render (D27)."""

from __future__ import annotations

import pytest

from engine.errors import PlanError
from engine.planner import SourceSlot, digest_source
from engine.source import SourceData


def test_released_source_is_loaded_again_when_asked_for() -> None:
    loads: list[str] = []

    def load() -> SourceData:
        loads.append("load")
        return SourceData(origin="/bundle", notices=("again",))

    slot = SourceSlot(SourceData(origin="/bundle", notices=("first",)), load)
    assert slot.data.notices == ("first",) and not slot.released
    slot.release()
    assert slot.released and slot.origin == "/bundle" and loads == []
    assert slot.data.notices == ("again",)
    assert slot.data.notices == ("again",) and loads == ["load"] and not slot.released


def test_a_source_that_cannot_be_loaded_again_is_kept() -> None:
    slot = SourceSlot(SourceData(origin="/api", notices=("only",)))
    slot.release()
    assert not slot.released and slot.data.notices == ("only",)


def test_the_digest_is_taken_once_and_a_reload_must_match_it() -> None:
    first = SourceData(origin="/bundle", notices=("first",))
    reloads = iter([first, SourceData(origin="/bundle", notices=("edited meanwhile",))])
    slot = SourceSlot(first, lambda: next(reloads))
    taken = slot.digest()
    assert taken == digest_source(first) and slot.digest() is taken
    slot.release()
    assert slot.data is first and slot.digest() is taken  # the same data: accepted
    slot.release()
    with pytest.raises(PlanError, match="the Cloudmore data changed while the plan was made"):
        slot.data  # noqa: B018 - the property loads
