"""Hypothesis profiles for the whole suite, chosen by ``HYPOTHESIS_PROFILE``.

``ci`` (the default) runs each property test with its fixed CI count of examples (see
:func:`tests.hypothesis_examples.examples`); ``nightly`` runs ten times as many. No deadline in
either: the machines running the suite are shared, and a timing is not a property.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.hypothesis_examples import CI_EXAMPLES

settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, print_blob=True)
settings.register_profile("nightly", max_examples=10 * CI_EXAMPLES, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def _shared_bytecode_for_child_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """With ``PYTHONDONTWRITEBYTECODE`` set, every ``billsync`` process a test starts would compile all
    of billsync again (a quarter of a second each); instead they share one bytecode cache in this
    run's temporary folder (``PYTHONPYCACHEPREFIX``), and the source tree stays free of ``.pyc`` files."""
    if not sys.flags.dont_write_bytecode or os.environ.get("PYTHONPYCACHEPREFIX"):
        yield
        return
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "pycache"
    shared.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
        patch.setenv("PYTHONPYCACHEPREFIX", str(shared))
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first. The workers take one module at a time (``--dist loadscope``, so a module's
    fixtures are made once) in the order its first test is collected: the modules holding the long
    tests start early and the short ones fill in around them, instead of one worker finishing alone
    with a long test at the end. The order within each part is the collection's."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
