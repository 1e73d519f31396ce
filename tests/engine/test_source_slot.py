"""The source a plan renders from can be let go of once the rules have their render input, and is
loaded again if a posted month needs a second render (D27)."""

from __future__ import annotations

from engine.planner import SourceSlot
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
