"""D25 as a property: whatever happens to ``state/`` between applies of the two-month example, the
next plan and apply never change what any subscription-month is billed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.rules.conftest import NOVEMBER, OCTOBER
from tests.hypothesis_examples import examples

if TYPE_CHECKING:
    from tests.e2e.rules.conftest import Env

MONTHS = ("2026-09", "2026-10")
APPLIES = {"october": (OCTOBER, "2026-10-10"), "november": (NOVEMBER, "2026-11-25")}

_HISTORIES = st.sampled_from([("october",), ("november",), ("october", "november")])
_DAMAGE = st.sampled_from(["delete", "empty", "first-serial"])


def _billed(env: Env) -> dict[tuple[str, str], Decimal]:
    """What Autotask bills per subscription and month, to the cent."""
    return {
        (subscription, month): env.api.billed(int(rows[0]["id"]), month)
        for subscription, rows in env.api.marked_contracts().items()
        for month in MONTHS
    }


@pytest.mark.slow
@settings(
    max_examples=examples(5), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=_HISTORIES, damage=_DAMAGE)
def test_d25_damaged_state_never_changes_a_billed_month(
    env_factory: Callable[[Path, bool], Env], history: tuple[str, ...], damage: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        env = env_factory(Path(folder) / "ws", True)
        try:
            first_state = Path(folder) / "state-after-first-apply"
            for step in history:
                bundle, as_of = APPLIES[step]
                env.configure(bundle)
                env.apply(as_of)
                if not first_state.exists():
                    shutil.copytree(env.state_dir, first_state)
            as_of = APPLIES[history[-1]][1]
            billed = _billed(env)
            objects = env.api.everything()
            shutil.rmtree(env.state_dir)
            if damage == "empty":
                env.state_dir.mkdir()
            elif damage == "first-serial":
                shutil.copytree(first_state, env.state_dir)

            plan = env.plan(as_of)
            assert plan.changes("create") == []
            assert plan.changes("update") == []
            env.api.reset_counters()
            env.apply(as_of)

            assert env.api.writes() == {}
            assert env.api.everything() == objects
            assert _billed(env) == billed
        finally:
            env.close()
